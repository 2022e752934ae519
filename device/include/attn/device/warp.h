//===- warp.h - Device library: lane id and warp reductions -*- C++ -*-===//
//
// Reductions over the 4 lanes of a quad (the lanes that share one row of an
// mma C fragment: lanes 4g..4g+3) and over a full warp, as xor butterflies so
// that every participating lane ends with the result. Written once on top of
// __shfl_xor_sync, which cuda_emu.h provides in the emulator.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DEVICE_WARP_H
#define ATTN_DEVICE_WARP_H

#include "attn/device/config.h"

namespace attn::device {

/// Mask of all 32 lanes.
constexpr unsigned kFullWarpMask = 0xffffffffu;

/// The calling thread's lane (0..31) within its warp.
ATTN_DEVICE_FN unsigned lane_id() {
#if ATTN_DEVICE_CUDA
  unsigned lane;
  asm("mov.u32 %0, %%laneid;" : "=r"(lane));
  return lane;
#else
  return emu::detail::self().laneId;
#endif
}

/// Maximum of `x` over the caller's quad (lanes 4g..4g+3).
ATTN_DEVICE_FN float warp_reduce_max_quad(float x) {
  x = fmaxf(x, __shfl_xor_sync(kFullWarpMask, x, 1));
  x = fmaxf(x, __shfl_xor_sync(kFullWarpMask, x, 2));
  return x;
}
/// Sum of `x` over the caller's quad (lanes 4g..4g+3).
ATTN_DEVICE_FN float warp_reduce_sum_quad(float x) {
  x += __shfl_xor_sync(kFullWarpMask, x, 1);
  x += __shfl_xor_sync(kFullWarpMask, x, 2);
  return x;
}
/// Maximum of `x` over all 32 lanes.
ATTN_DEVICE_FN float warp_reduce_max(float x) {
ATTN_UNROLL
  for (int offset = 16; offset > 0; offset /= 2)
    x = fmaxf(x, __shfl_xor_sync(kFullWarpMask, x, offset));
  return x;
}
/// Sum of `x` over all 32 lanes.
ATTN_DEVICE_FN float warp_reduce_sum(float x) {
ATTN_UNROLL
  for (int offset = 16; offset > 0; offset /= 2)
    x += __shfl_xor_sync(kFullWarpMask, x, offset);
  return x;
}

} // namespace attn::device

#endif // ATTN_DEVICE_WARP_H
