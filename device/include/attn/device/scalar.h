//===- scalar.h - Device library: scalar semantics of arith/math ops -*- C++ -*-===//
//
// The scalar functions the CUDA emitter calls for the bodies of attn.map and
// the index arithmetic of kernels, where C++ operators do not already have
// MLIR's semantics: NaN-propagating maximumf/minimumf, floor/ceil division,
// unsigned compares of index values, f16/bf16 rounding of f32 values, float
// constants from bit patterns, and the math functions (CUDA's libdevice
// functions under NVRTC, <cmath> in the emulator).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DEVICE_SCALAR_H
#define ATTN_DEVICE_SCALAR_H

#include "attn/device/config.h"
#include "attn/device/convert.h"
#include "attn/device/fast_math.h"

namespace attn::device::sc {

/// The float with IEEE bit pattern `bits` (infinities, NaNs, exact values).
ATTN_DEVICE_FN float f32_bits(uint32_t bits) {
#if ATTN_DEVICE_CUDA
  return __uint_as_float(bits);
#else
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
#endif
}

/// The IEEE bit pattern of `x`.
ATTN_DEVICE_FN uint32_t bits_f32(float x) {
#if ATTN_DEVICE_CUDA
  return __float_as_uint(x);
#else
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
#endif
}

/// 2^n for n in [-126, 127] (a normal float, built from its bits); 0 below.
ATTN_DEVICE_FN float pow2i(int n) {
  return n < -126 ? 0.0f : f32_bits(static_cast<uint32_t>(n + 127) << 23);
}

/// arith.maximumf / minimumf: NaN if either side is NaN. From sm_80 on one
/// instruction (`max.NaN.f32`); before, and in the emulator, the comparisons
/// below. (Only the sign of a zero result could tell the two apart, and no
/// attention result depends on it.)
ATTN_DEVICE_FN float maximumf(float a, float b) {
#if ATTN_DEVICE_CUDA && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  float d;
  asm("max.NaN.f32 %0, %1, %2;" : "=f"(d) : "f"(a), "f"(b));
  return d;
#else
  if (a != a || b != b)
    return a + b;
  // Equal zeros: +0 unless both are -0, which is what the sum gives.
  return a > b ? a : (b > a ? b : (a == 0.0f ? a + b : a));
#endif
}
ATTN_DEVICE_FN float minimumf(float a, float b) {
#if ATTN_DEVICE_CUDA && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  float d;
  asm("min.NaN.f32 %0, %1, %2;" : "=f"(d) : "f"(a), "f"(b));
  return d;
#else
  if (a != a || b != b)
    return a + b;
  return a < b ? a : (b < a ? b : (a == 0.0f ? -(-a - b) : a));
#endif
}
/// arith.maxnumf / minnumf: the number if one side is NaN.
ATTN_DEVICE_FN float maxnumf(float a, float b) {
  return a != a ? b : (b != b ? a : maximumf(a, b));
}
ATTN_DEVICE_FN float minnumf(float a, float b) {
  return a != a ? b : (b != b ? a : minimumf(a, b));
}

/// arith.floordivsi / ceildivsi.
ATTN_DEVICE_FN int64_t floordivsi(int64_t a, int64_t b) {
  int64_t q = a / b, r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? q - 1 : q;
}
ATTN_DEVICE_FN int64_t ceildivsi(int64_t a, int64_t b) {
  int64_t q = a / b, r = a % b;
  return (r != 0 && ((r < 0) == (b < 0))) ? q + 1 : q;
}

/// arith.truncf f32 -> f16 / bf16, kept in a float register.
ATTN_DEVICE_FN float round_f16(float x) { return to_float(to_f16(x)); }
ATTN_DEVICE_FN float round_bf16(float x) { return to_float(to_bf16(x)); }

/// math.exp2 with `fastmath<afn>`, which attn's passes put only where the
/// argument is at most 0 (a weight relative to a running maximum): the
/// hardware's ex2.approx.ftz (2 ulp; results below 2^-126 of the row's
/// largest weight flush to 0). The emulator computes it exactly.
ATTN_DEVICE_FN float exp2_approx(float x) { return fast_exp2(x); }

/// f32 arith.divf with `fastmath<afn>`: a times the hardware's
/// rcp.approx.ftz (1 ulp; a subnormal divisor flushes to 0, giving inf).
/// -attn-lean-maps marks the reciprocal of a divisor it scaled into
/// [2^-100, 2^100], where that cannot happen; a region written with `afn`
/// asks for the approximation itself. The emulator divides exactly.
ATTN_DEVICE_FN float div_approx(float a, float b) { return a * fast_rcp(b); }

#if ATTN_DEVICE_CUDA
ATTN_DEVICE_FN float exp(float x) { return expf(x); }
ATTN_DEVICE_FN float exp2(float x) { return exp2f(x); }
ATTN_DEVICE_FN float expm1(float x) { return expm1f(x); }
ATTN_DEVICE_FN float log(float x) { return logf(x); }
ATTN_DEVICE_FN float log2(float x) { return log2f(x); }
ATTN_DEVICE_FN float log10(float x) { return log10f(x); }
ATTN_DEVICE_FN float log1p(float x) { return log1pf(x); }
ATTN_DEVICE_FN float tanh(float x) { return tanhf(x); }
ATTN_DEVICE_FN float sqrt(float x) { return sqrtf(x); }
ATTN_DEVICE_FN float rsqrt(float x) { return rsqrtf(x); }
ATTN_DEVICE_FN float abs(float x) { return fabsf(x); }
ATTN_DEVICE_FN float sin(float x) { return sinf(x); }
ATTN_DEVICE_FN float cos(float x) { return cosf(x); }
ATTN_DEVICE_FN float tan(float x) { return tanf(x); }
ATTN_DEVICE_FN float atan(float x) { return atanf(x); }
ATTN_DEVICE_FN float atan2(float y, float x) { return atan2f(y, x); }
ATTN_DEVICE_FN float erf(float x) { return erff(x); }
ATTN_DEVICE_FN float pow(float x, float y) { return powf(x, y); }
ATTN_DEVICE_FN float floor(float x) { return floorf(x); }
ATTN_DEVICE_FN float ceil(float x) { return ceilf(x); }
ATTN_DEVICE_FN float round(float x) { return roundf(x); }
ATTN_DEVICE_FN float copysign(float x, float y) { return copysignf(x, y); }
ATTN_DEVICE_FN float rem(float x, float y) { return fmodf(x, y); }
#else
ATTN_DEVICE_FN float exp(float x) { return std::exp(x); }
ATTN_DEVICE_FN float exp2(float x) { return std::exp2(x); }
ATTN_DEVICE_FN float expm1(float x) { return std::expm1(x); }
ATTN_DEVICE_FN float log(float x) { return std::log(x); }
ATTN_DEVICE_FN float log2(float x) { return std::log2(x); }
ATTN_DEVICE_FN float log10(float x) { return std::log10(x); }
ATTN_DEVICE_FN float log1p(float x) { return std::log1p(x); }
ATTN_DEVICE_FN float tanh(float x) { return std::tanh(x); }
ATTN_DEVICE_FN float sqrt(float x) { return std::sqrt(x); }
ATTN_DEVICE_FN float rsqrt(float x) { return 1.0f / std::sqrt(x); }
ATTN_DEVICE_FN float abs(float x) { return std::fabs(x); }
ATTN_DEVICE_FN float sin(float x) { return std::sin(x); }
ATTN_DEVICE_FN float cos(float x) { return std::cos(x); }
ATTN_DEVICE_FN float tan(float x) { return std::tan(x); }
ATTN_DEVICE_FN float atan(float x) { return std::atan(x); }
ATTN_DEVICE_FN float atan2(float y, float x) { return std::atan2(y, x); }
ATTN_DEVICE_FN float erf(float x) { return std::erf(x); }
ATTN_DEVICE_FN float pow(float x, float y) { return std::pow(x, y); }
ATTN_DEVICE_FN float floor(float x) { return std::floor(x); }
ATTN_DEVICE_FN float ceil(float x) { return std::ceil(x); }
ATTN_DEVICE_FN float round(float x) { return std::round(x); }
ATTN_DEVICE_FN float copysign(float x, float y) { return std::copysign(x, y); }
ATTN_DEVICE_FN float rem(float x, float y) { return std::fmod(x, y); }
#endif

} // namespace attn::device::sc

#endif // ATTN_DEVICE_SCALAR_H
