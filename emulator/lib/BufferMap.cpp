//===- BufferMap.cpp - Address lookup in a launch's buffers ---------------===//

#include "BufferMap.h"

#include <algorithm>

namespace attn::emu {

BufferMap::BufferMap(const std::vector<GlobalBuffer> &buffers) {
  for (const GlobalBuffer &b : buffers)
    if (b.data && b.bytes) {
      auto begin = reinterpret_cast<std::uintptr_t>(b.data);
      ranges.push_back({begin, begin + b.bytes, &b});
    }
  std::sort(ranges.begin(), ranges.end(),
            [](const Range &a, const Range &b) { return a.begin < b.begin; });
}

const GlobalBuffer *BufferMap::containing(const void *address,
                                          std::size_t bytes) const {
  auto p = reinterpret_cast<std::uintptr_t>(address);
  // The last range starting at or before p is the only candidate (buffers do
  // not overlap).
  auto it = std::upper_bound(
      ranges.begin(), ranges.end(), p,
      [](std::uintptr_t value, const Range &r) { return value < r.begin; });
  if (it == ranges.begin())
    return nullptr;
  --it;
  return p + bytes <= it->end ? it->buffer : nullptr;
}

} // namespace attn::emu
