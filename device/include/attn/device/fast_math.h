//===- fast_math.h - Device library: fast transcendental functions -*- C++ -*-===//
//
// The approximate hardware instructions softmax needs (ex2.approx, rcp.approx)
// and their exact C++ stand-ins in the emulator. Tests compare against the
// emulator within float tolerance, so the GPU's ~2 ulp approximation error is
// inside what they accept.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DEVICE_FAST_MATH_H
#define ATTN_DEVICE_FAST_MATH_H

#include "attn/device/config.h"

namespace attn::device {

/// 2^x (ex2.approx.ftz on the GPU); fast_exp2(-inf) == 0.
ATTN_DEVICE_FN float fast_exp2(float x) {
#if ATTN_DEVICE_CUDA
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
#else
  return std::exp2(x);
#endif
}

/// 1/x (rcp.approx.ftz on the GPU).
ATTN_DEVICE_FN float fast_rcp(float x) {
#if ATTN_DEVICE_CUDA
  float y;
  asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
#else
  return 1.0f / x;
#endif
}

/// -infinity, spelled portably (NVRTC has no <limits>).
ATTN_DEVICE_FN float neg_inf() {
#if ATTN_DEVICE_CUDA
  return __int_as_float(0xff800000u);
#else
  return -std::numeric_limits<float>::infinity();
#endif
}

/// log2(e): multiply a natural-log-scale score by it before fast_exp2.
constexpr float kLog2e = 1.4426950408889634f;

} // namespace attn::device

#endif // ATTN_DEVICE_FAST_MATH_H
