//===- convert.h - Device library: f16/bf16 types, conversion, packing -*- C++ -*-===//
//
// `attn::device::f16` / `bf16` are CUDA's `__half` / `__nv_bfloat16` on the GPU
// and 16-bit storage structs in the emulator, where cuda_fp16.h cannot be used
// without nvcc. The emulator's conversions are bit-exact integer
// implementations of round-to-nearest-even (independent of the host's FP
// environment, so FTZ/DAZ or -ffast-math cannot change them); they match
// `cvt.rn.f16.f32` / `cvt.rn.bf16.f32` including subnormals, infinities and
// NaN (canonical NaN 0x7fff, as CUDA's __float2half / __float2bfloat16).
//
// Packed pairs follow the mma register convention: the element with the lower
// index sits in the low 16 bits.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DEVICE_CONVERT_H
#define ATTN_DEVICE_CONVERT_H

#include "attn/device/config.h"

namespace attn::device {

#if ATTN_DEVICE_CUDA

/// IEEE binary16.
using f16 = __half;
/// bfloat16 (the upper half of a binary32).
using bf16 = __nv_bfloat16;

/// float -> f16, round to nearest even.
ATTN_DEVICE_FN f16 to_f16(float x) { return __float2half_rn(x); }
/// float -> bf16, round to nearest even.
ATTN_DEVICE_FN bf16 to_bf16(float x) { return __float2bfloat16_rn(x); }
/// f16 -> float (exact).
ATTN_DEVICE_FN float to_float(f16 x) { return __half2float(x); }
/// bf16 -> float (exact).
ATTN_DEVICE_FN float to_float(bf16 x) { return __bfloat162float(x); }
/// The bit pattern of an f16.
ATTN_DEVICE_FN uint16_t f16_as_bits(f16 x) { return __half_as_ushort(x); }
/// The f16 with bit pattern `bits`.
ATTN_DEVICE_FN f16 f16_from_bits(uint16_t bits) { return __ushort_as_half(bits); }
/// The bit pattern of a bf16.
ATTN_DEVICE_FN uint16_t bf16_as_bits(bf16 x) { return __bfloat16_as_ushort(x); }
/// The bf16 with bit pattern `bits`.
ATTN_DEVICE_FN bf16 bf16_from_bits(uint16_t bits) {
  return __ushort_as_bfloat16(bits);
}
/// Two floats rounded to f16 in one register; `lo` in bits 0..15.
ATTN_DEVICE_FN uint32_t pack_f16x2(float lo, float hi) {
  __half2 h = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<const uint32_t *>(&h);
}
/// Two floats rounded to bf16 in one register; `lo` in bits 0..15.
ATTN_DEVICE_FN uint32_t pack_bf16x2(float lo, float hi) {
  __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t *>(&h);
}

#else

/// IEEE binary16 storage (no arithmetic: convert with to_float).
struct f16 {
  uint16_t bits;
};
/// bfloat16 storage (no arithmetic: convert with to_float).
struct bf16 {
  uint16_t bits;
};

namespace detail {
inline uint32_t floatBits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}
inline float bitsFloat(uint32_t u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}
/// Shifts `value` right by `shift` bits, rounding to nearest, ties to even.
inline uint32_t shiftRightRne(uint32_t value, unsigned shift) {
  uint32_t q = value >> shift;
  uint32_t rem = value & ((1u << shift) - 1);
  uint32_t half = 1u << (shift - 1);
  return q + (rem > half || (rem == half && (q & 1)));
}
/// binary32 -> binary16 bits, round to nearest even.
inline uint16_t floatToHalfBits(float x) {
  uint32_t u = floatBits(x);
  uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000);
  uint32_t mag = u & 0x7fffffff;
  if (mag > 0x7f800000)
    return sign | 0x7fff; // NaN -> canonical NaN
  if (mag >= 0x47800000)
    return sign | 0x7c00; // >= 2^16 (and inf): overflow
  if (mag >= 0x38800000)  // >= 2^-14: normal range; carries into inf are right
    return sign | static_cast<uint16_t>(shiftRightRne(mag - 0x38000000, 13));
  unsigned exponent = mag >> 23;
  if (exponent < 102) // < 2^-25: rounds to zero
    return sign;
  // Subnormal: the value in units of 2^-24 is mantissa * 2^(exponent - 126).
  uint32_t mantissa = (mag & 0x7fffff) | 0x800000;
  return sign | static_cast<uint16_t>(shiftRightRne(mantissa, 126 - exponent));
}
/// binary16 bits -> binary32 (exact).
inline float halfBitsToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  if (exponent == 0) { // zero or subnormal: mantissa * 2^-24 is exact in f32
    float mag = static_cast<float>(mantissa) * 5.9604644775390625e-8f;
    return sign ? -mag : mag;
  }
  if (exponent == 31)
    return bitsFloat(sign | 0x7f800000 | (mantissa << 13));
  return bitsFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
}
/// binary32 -> bfloat16 bits, round to nearest even.
inline uint16_t floatToBf16Bits(float x) {
  uint32_t u = floatBits(x);
  if ((u & 0x7fffffff) > 0x7f800000)
    return static_cast<uint16_t>(((u >> 16) & 0x8000) | 0x7fff);
  return static_cast<uint16_t>((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}
} // namespace detail

/// float -> f16, round to nearest even.
ATTN_DEVICE_FN f16 to_f16(float x) { return {detail::floatToHalfBits(x)}; }
/// float -> bf16, round to nearest even.
ATTN_DEVICE_FN bf16 to_bf16(float x) { return {detail::floatToBf16Bits(x)}; }
/// f16 -> float (exact).
ATTN_DEVICE_FN float to_float(f16 x) { return detail::halfBitsToFloat(x.bits); }
/// bf16 -> float (exact).
ATTN_DEVICE_FN float to_float(bf16 x) {
  return detail::bitsFloat(static_cast<uint32_t>(x.bits) << 16);
}
/// The bit pattern of an f16.
ATTN_DEVICE_FN uint16_t f16_as_bits(f16 x) { return x.bits; }
/// The f16 with bit pattern `bits`.
ATTN_DEVICE_FN f16 f16_from_bits(uint16_t bits) { return {bits}; }
/// The bit pattern of a bf16.
ATTN_DEVICE_FN uint16_t bf16_as_bits(bf16 x) { return x.bits; }
/// The bf16 with bit pattern `bits`.
ATTN_DEVICE_FN bf16 bf16_from_bits(uint16_t bits) { return {bits}; }
/// Two floats rounded to f16 in one register; `lo` in bits 0..15.
ATTN_DEVICE_FN uint32_t pack_f16x2(float lo, float hi) {
  return detail::floatToHalfBits(lo) |
         (static_cast<uint32_t>(detail::floatToHalfBits(hi)) << 16);
}
/// Two floats rounded to bf16 in one register; `lo` in bits 0..15.
ATTN_DEVICE_FN uint32_t pack_bf16x2(float lo, float hi) {
  return detail::floatToBf16Bits(lo) |
         (static_cast<uint32_t>(detail::floatToBf16Bits(hi)) << 16);
}

#endif

/// One half of a packed f16 pair (`high`: bits 16..31) as float.
ATTN_DEVICE_FN float unpack_f16(uint32_t pair, bool high) {
  return to_float(f16_from_bits(static_cast<uint16_t>(high ? pair >> 16 : pair)));
}
/// One half of a packed bf16 pair (`high`: bits 16..31) as float.
ATTN_DEVICE_FN float unpack_bf16(uint32_t pair, bool high) {
  return to_float(bf16_from_bits(static_cast<uint16_t>(high ? pair >> 16 : pair)));
}
/// Identity, so that generic code can call to_float on any element type.
ATTN_DEVICE_FN float to_float(float x) { return x; }

/// float -> T (float, f16 or bf16) with round to nearest even; lets generated
/// code convert to a template element type.
template <typename T> ATTN_DEVICE_FN T from_float(float x);
template <> ATTN_DEVICE_FN float from_float<float>(float x) { return x; }
template <> ATTN_DEVICE_FN f16 from_float<f16>(float x) { return to_f16(x); }
template <> ATTN_DEVICE_FN bf16 from_float<bf16>(float x) { return to_bf16(x); }

/// Two floats packed as a T pair (T = f16 or bf16), lower index low.
template <typename T> ATTN_DEVICE_FN uint32_t pack_x2(float lo, float hi);
template <> ATTN_DEVICE_FN uint32_t pack_x2<f16>(float lo, float hi) {
  return pack_f16x2(lo, hi);
}
template <> ATTN_DEVICE_FN uint32_t pack_x2<bf16>(float lo, float hi) {
  return pack_bf16x2(lo, hi);
}

} // namespace attn::device

#endif // ATTN_DEVICE_CONVERT_H
