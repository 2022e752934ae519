//===- swizzle.h - Device library: shared-memory swizzles ------*- C++ -*-===//
//
// The 16-byte-chunk swizzles of Hopper's TMA boxes and wgmma descriptors
// (CuTe's Swizzle<B,4,3>): within each 8-row repeat of `rowBytes`-byte rows,
// chunk j of row r moves to chunk j ^ (r % 8 restricted to B bits), with
// B = log2(rowBytes / 16). Both the emitter's swizzled K/V buffers
// (fragment.h's staged_offset) and wgmma's descriptor addressing (wgmma.h)
// use this one function.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DEVICE_SWIZZLE_H
#define ATTN_DEVICE_SWIZZLE_H

#include "attn/device/config.h"

namespace attn::device {

/// The byte address a (shared-window) byte address maps to under the swizzle
/// of `rowBytes`-byte rows (128, 64, 32; 16 or 0: none). The swizzle acts on
/// address bits 4..6 from bits 7..9, so a swizzled tile must start on its
/// 8-row repeat (8 * rowBytes bytes).
ATTN_HOST_DEVICE_FN unsigned swizzle_address(unsigned address,
                                             unsigned rowBytes) {
  unsigned bits = rowBytes == 128  ? 3u
                  : rowBytes == 64 ? 2u
                  : rowBytes == 32 ? 1u
                                   : 0u;
  unsigned mask = ((1u << bits) - 1u) << 4;
  return address ^ ((address >> 3) & mask);
}

} // namespace attn::device

#endif // ATTN_DEVICE_SWIZZLE_H
