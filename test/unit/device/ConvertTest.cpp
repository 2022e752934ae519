//===- ConvertTest.cpp - f16/bf16 conversions of the device library ---------===//
//
// The emulator's conversions against hand-checked bit patterns at the edges
// (ties, subnormals, overflow, inf, NaN) and against an exhaustive
// round-trip: every f16/bf16 value converts to float and back unchanged, and
// every float halfway between two neighbours rounds to the even one.
//
//===----------------------------------------------------------------------===//

#include "attn/device/convert.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

using namespace attn::device;

namespace {

float fromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t h(float x) { return f16_as_bits(to_f16(x)); }
uint16_t b(float x) { return bf16_as_bits(to_bf16(x)); }

TEST(ConvertTest, F16Edges) {
  EXPECT_EQ(h(0.0f), 0x0000);
  EXPECT_EQ(h(-0.0f), 0x8000);
  EXPECT_EQ(h(1.0f), 0x3c00);
  EXPECT_EQ(h(-2.0f), 0xc000);
  EXPECT_EQ(h(65504.0f), 0x7bff); // largest finite
  EXPECT_EQ(h(65519.99f), 0x7bff); // below the tie to 65536
  EXPECT_EQ(h(65520.0f), 0x7c00);  // tie rounds to even: inf
  EXPECT_EQ(h(1e9f), 0x7c00);
  EXPECT_EQ(h(INFINITY), 0x7c00);
  EXPECT_EQ(h(-INFINITY), 0xfc00);
  EXPECT_TRUE(std::isnan(to_float(to_f16(NAN))));
  EXPECT_EQ(h(NAN) & 0x7fff, 0x7fff); // CUDA's canonical NaN
  // Ties: 1 + 2^-11 is halfway between 1 and 1 + 2^-10 -> even (1).
  EXPECT_EQ(h(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  // 1 + 3*2^-11 is halfway between 1+2^-10 (odd) and 1+2^-9 -> 1+2^-9.
  EXPECT_EQ(h(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  // Just above a tie rounds up.
  EXPECT_EQ(h(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)), 0x3c01);
  // Subnormals: 2^-24 is the smallest, 2^-25 ties to 0, just above rounds up.
  EXPECT_EQ(h(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(h(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(h(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(h(3 * std::ldexp(1.0f, -25)), 0x0002); // 1.5 ulp ties to 2
  EXPECT_EQ(h(-std::ldexp(1.0f, -24)), 0x8001);
  EXPECT_EQ(h(std::ldexp(1023.0f, -24)), 0x03ff); // largest subnormal
  EXPECT_EQ(h(std::ldexp(1023.5f, -24)), 0x0400); // rounds into normals
  EXPECT_EQ(h(std::ldexp(1.0f, -14)), 0x0400);    // smallest normal
  EXPECT_EQ(h(fromBits(0x00000001)), 0x0000);     // f32 subnormal
}

TEST(ConvertTest, Bf16Edges) {
  EXPECT_EQ(b(1.0f), 0x3f80);
  EXPECT_EQ(b(-0.0f), 0x8000);
  EXPECT_EQ(b(fromBits(0x3f808000)), 0x3f80); // tie, even stays
  EXPECT_EQ(b(fromBits(0x3f818000)), 0x3f82); // tie, odd rounds up
  EXPECT_EQ(b(fromBits(0x3f808001)), 0x3f81); // above the tie
  EXPECT_EQ(b(fromBits(0x7f7fffff)), 0x7f80); // FLT_MAX rounds to inf
  EXPECT_EQ(b(INFINITY), 0x7f80);
  EXPECT_EQ(b(-INFINITY), 0xff80);
  EXPECT_TRUE(std::isnan(to_float(to_bf16(NAN))));
  EXPECT_EQ(b(fromBits(0x7f800001)) & 0x7fff, 0x7fff); // signalling NaN stays NaN
  EXPECT_EQ(b(fromBits(0x00008000)), 0x0000); // subnormal tie -> even 0
  EXPECT_EQ(b(fromBits(0x00018000)), 0x0002); // subnormal tie -> even 2
  EXPECT_EQ(b(fromBits(0x00010000)), 0x0001); // subnormal exact
}

TEST(ConvertTest, F16ExhaustiveRoundTripAndTies) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    uint16_t x = static_cast<uint16_t>(bits);
    float f = to_float(f16_from_bits(x));
    if (std::isnan(f)) {
      EXPECT_TRUE((x & 0x7c00) == 0x7c00 && (x & 0x3ff)) << bits;
      continue;
    }
    ASSERT_EQ(h(f), x) << "round trip of f16 bits " << bits;
    // The midpoint to the next larger magnitude ties to the even neighbour.
    if ((x & 0x7fff) >= 0x7bff)
      continue;
    float next = to_float(f16_from_bits(static_cast<uint16_t>(x + 1)));
    float mid = static_cast<float>((static_cast<double>(f) + next) / 2);
    uint16_t even = (x & 1) ? static_cast<uint16_t>(x + 1) : x;
    ASSERT_EQ(h(mid), even) << "tie above f16 bits " << bits;
  }
}

TEST(ConvertTest, Bf16ExhaustiveRoundTrip) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    uint16_t x = static_cast<uint16_t>(bits);
    float f = to_float(bf16_from_bits(x));
    if (std::isnan(f))
      continue;
    ASSERT_EQ(b(f), x) << "round trip of bf16 bits " << bits;
  }
}

TEST(ConvertTest, PackingPutsLowerIndexInLowBits) {
  EXPECT_EQ(pack_f16x2(1.0f, -2.0f), 0xc0003c00u);
  EXPECT_EQ(pack_bf16x2(1.0f, -2.0f), 0xc0003f80u);
  EXPECT_EQ(unpack_f16(0xc0003c00u, false), 1.0f);
  EXPECT_EQ(unpack_f16(0xc0003c00u, true), -2.0f);
  EXPECT_EQ(unpack_bf16(0xc0003f80u, true), -2.0f);
  EXPECT_EQ(pack_x2<f16>(0.5f, 0.25f), pack_f16x2(0.5f, 0.25f));
  EXPECT_EQ(f16_as_bits(from_float<f16>(3.0f)), 0x4200);
  EXPECT_EQ(bf16_as_bits(from_float<bf16>(3.0f)), 0x4040);
}

} // namespace
