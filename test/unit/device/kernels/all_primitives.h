//===- all_primitives.h - Parameters of the all_primitives test kernel -*- C++ -*-===//
//
// Shared by the kernel source (compiled by NVRTC and, as host C++, by the
// emulator) and the host tests that launch it.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TEST_ALL_PRIMITIVES_H
#define ATTN_TEST_ALL_PRIMITIVES_H

#include "attn/device/attn_device.h"

/// Inputs and outputs of one warp's 16x8 score tile, computed twice.
struct AllPrimitivesParams {
  const attn::device::f16 *q;   ///< 16x16 row-major
  const attn::device::f16 *k;   ///< 8x16 row-major (8 keys)
  const attn::device::bf16 *qb; ///< 16x16 row-major
  const attn::device::bf16 *vb; ///< 16x8 row-major (k x n, as V is stored)
  /// [0,128): softmax(scale·q·kᵀ) rows; [128,256): softmax(scale·qb·vb)
  /// rows; [256]: sum of all 32 softmax rows (= 32); [257]: a checksum.
  float *out;
  unsigned *outPacked; ///< 64 words: the first result as packed f16 pairs
  float scale;
};

#endif // ATTN_TEST_ALL_PRIMITIVES_H
