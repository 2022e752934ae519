//===- sm90_primitives.h - Parameters of the sm90_primitives kernel -*- C++
//-*-===//
//
// Shared by the kernel source (compiled by NVRTC for sm_90a and, as host C++,
// by the emulator) and Sm90KernelTest, which launches it.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TEST_SM90_PRIMITIVES_H
#define ATTN_TEST_SM90_PRIMITIVES_H

#include "attn/device/attn_device.h"
#include "attn/device/sm90.h"

/// One 64-row query tile against two 64-key tiles: O = sum over tiles of
/// f16(Q·Kᵀ)·V, all f16, every operand moved by TMA.
struct Sm90PrimitivesParams {
  attn::device::TensorMap q; ///< Q [64, 64]: box 64 x 64, 128-byte swizzle
  attn::device::TensorMap k; ///< K [128, 64]: box 64 x 64, 128-byte swizzle
  attn::device::TensorMap v; ///< V [128, 64]: box 64 x 64, 128-byte swizzle
  attn::device::TensorMap o; ///< O [64, 64]: box 64 x 64, no swizzle
};

/// Dynamic shared memory: Q, two K and two V stages, O (8 KB each), then
/// five mbarriers.
inline constexpr unsigned kSm90PrimitivesSmemBytes = 6 * 8192 + 64;

#endif // ATTN_TEST_SM90_PRIMITIVES_H
