//===- BufferMap.h - Address lookup in a launch's buffers -----*- C++ -*-===//
//
// Internal to AttnEmulator. Memcheck asks, for every global access, which of
// the launch's buffers holds it; a sorted array answers in O(log n) without
// allocating on the hot path.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_EMULATOR_BUFFERMAP_H
#define ATTN_EMULATOR_BUFFERMAP_H

#include "attn/emu/Emulator.h"

#include <cstdint>
#include <vector>

namespace attn::emu {

/// The non-empty buffers of a launch, sorted by address.
class BufferMap {
public:
  explicit BufferMap(const std::vector<GlobalBuffer> &buffers);

  /// The buffer holding all of [address, address + bytes), or null.
  const GlobalBuffer *containing(const void *address, std::size_t bytes) const;
  /// The buffer holding `address` (a tensor base pointer), or null.
  const GlobalBuffer *owner(const void *address) const {
    return containing(address, 1);
  }
  bool empty() const { return ranges.empty(); }

private:
  struct Range {
    std::uintptr_t begin, end;
    const GlobalBuffer *buffer;
  };
  std::vector<Range> ranges;
};

} // namespace attn::emu

#endif // ATTN_EMULATOR_BUFFERMAP_H
