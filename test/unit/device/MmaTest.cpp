//===- MmaTest.cpp - emulated mma.sync m16n8k16 vs a dense reference -------===//
//
// Packs random non-zero matrices into per-lane fragments with a host-side
// layout, runs mma_m16n8k16 in the emulator (one warp), unpacks D with the
// same layout and compares with a double-precision matmul of the rounded
// inputs. The check is a helper taking the layout, so the tests can show it
// is sensitive: a permuted fragment index gives O(1) error.
//
//===----------------------------------------------------------------------===//

#include "attn/device/attn_device.h"
#include "attn/emu/Emulator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <utility>

using namespace attn::device;

namespace {

/// (row, col) of half `half` of register `reg` of `lane`, or of accumulator
/// element `reg` for D (half unused).
using ElementPosition = std::pair<int, int> (*)(int lane, int reg, int half);

/// A host-side description of the fragment layouts.
struct FragmentLayout {
  ElementPosition a, b, d;
};

// The layouts as the PTX ISA documents them (lane = 4g + t).
std::pair<int, int> docA(int lane, int reg, int half) {
  int g = lane / 4, t = lane % 4;
  return {g + 8 * (reg & 1), 2 * t + half + 8 * (reg >> 1)};
}
std::pair<int, int> docB(int lane, int reg, int half) {
  int g = lane / 4, t = lane % 4;
  return {2 * t + half + 8 * reg, g};
}
std::pair<int, int> docD(int lane, int reg, int) {
  int g = lane / 4, t = lane % 4;
  return {g + 8 * (reg >> 1), 2 * t + (reg & 1)};
}
// Deliberately wrong variants: a1 and a2 swapped, b halves swapped, d1/d2
// swapped.
std::pair<int, int> swappedA(int lane, int reg, int half) {
  int g = lane / 4, t = lane % 4;
  return {g + 8 * (reg >> 1), 2 * t + half + 8 * (reg & 1)};
}
std::pair<int, int> swappedB(int lane, int reg, int half) {
  int g = lane / 4, t = lane % 4;
  return {2 * t + (1 - half) + 8 * reg, g};
}
std::pair<int, int> swappedD(int lane, int reg, int) {
  int g = lane / 4, t = lane % 4;
  int r = reg == 1 ? 2 : reg == 2 ? 1 : reg;
  return {g + 8 * (r >> 1), 2 * t + (r & 1)};
}

struct MmaParams {
  const uint32_t *a; // 32 lanes x 4 registers
  const uint32_t *b; // 32 lanes x 2 registers
  const float *c;    // 32 lanes x 4 accumulators
  float *d;          // 32 lanes x 4 results
  bool bf16;
};

__global__ void mmaKernel(MmaParams p) {
  unsigned lane = threadIdx.x;
  uint32_t a[4], b[2];
  float acc[4];
  for (int r = 0; r < 4; ++r) {
    a[r] = ld_global(p.a, lane * 4 + r, 128);
    acc[r] = ld_global(p.c, lane * 4 + r, 128);
  }
  for (int r = 0; r < 2; ++r)
    b[r] = ld_global(p.b, lane * 2 + r, 64);
  // In place (D aliases C), the way generated kernels accumulate.
  if (p.bf16)
    mma_m16n8k16_bf16(acc, a, b, acc);
  else
    mma_m16n8k16_f16(acc, a, b, acc);
  for (int r = 0; r < 4; ++r)
    st_global(p.d, lane * 4 + r, 128, acc[r]);
}

/// Largest |D - (A·B + C)| relative to sum |A||B| + |C| over the 16x8 tile,
/// with the fragments packed and unpacked through `layout`.
double mmaError(const FragmentLayout &layout, bool bf16, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> magnitude(0.25f, 1.0f);
  std::bernoulli_distribution negative(0.5);
  auto nonZero = [&] { return negative(rng) ? -magnitude(rng) : magnitude(rng); };
  auto round = [&](float x) {
    return bf16 ? to_float(to_bf16(x)) : to_float(to_f16(x));
  };
  float A[16][16], B[16][8], C[16][8];
  for (auto &row : A)
    for (float &x : row)
      x = round(nonZero());
  for (auto &row : B)
    for (float &x : row)
      x = round(nonZero());
  for (auto &row : C)
    for (float &x : row)
      x = nonZero();

  uint32_t a[128], b[64];
  float c[128], d[128];
  auto pack = [&](float lo, float hi) {
    return bf16 ? pack_bf16x2(lo, hi) : pack_f16x2(lo, hi);
  };
  for (int lane = 0; lane < 32; ++lane) {
    for (int reg = 0; reg < 4; ++reg) {
      auto [r0, c0] = layout.a(lane, reg, 0);
      auto [r1, c1] = layout.a(lane, reg, 1);
      a[lane * 4 + reg] = pack(A[r0][c0], A[r1][c1]);
      auto [rd, cd] = layout.d(lane, reg, 0);
      c[lane * 4 + reg] = C[rd][cd];
    }
    for (int reg = 0; reg < 2; ++reg) {
      auto [r0, c0] = layout.b(lane, reg, 0);
      auto [r1, c1] = layout.b(lane, reg, 1);
      b[lane * 2 + reg] = pack(B[r0][c0], B[r1][c1]);
    }
  }
  MmaParams params{a, b, c, d, bf16};
  attn::emu::LaunchResult result = attn::emu::launch(
      attn::emu::LaunchConfig("mmaKernel", 1, 32), mmaKernel, params);
  EXPECT_TRUE(result.ok()) << result.message();

  double worst = 0;
  for (int lane = 0; lane < 32; ++lane)
    for (int reg = 0; reg < 4; ++reg) {
      auto [i, j] = layout.d(lane, reg, 0);
      double ref = C[i][j], scale = std::abs(C[i][j]);
      for (int k = 0; k < 16; ++k) {
        ref += static_cast<double>(A[i][k]) * B[k][j];
        scale += std::abs(static_cast<double>(A[i][k]) * B[k][j]);
      }
      worst = std::max(worst, std::abs(d[lane * 4 + reg] - ref) / scale);
    }
  return worst;
}

const FragmentLayout kDocumented{docA, docB, docD};

TEST(MmaTest, F16MatchesDenseReference) {
  for (unsigned seed = 1; seed <= 3; ++seed)
    EXPECT_LT(mmaError(kDocumented, /*bf16=*/false, seed), 1e-6);
}

TEST(MmaTest, Bf16MatchesDenseReference) {
  for (unsigned seed = 1; seed <= 3; ++seed)
    EXPECT_LT(mmaError(kDocumented, /*bf16=*/true, seed), 1e-6);
}

// The check above would catch a layout bug: each single permuted fragment
// index yields an O(1) error.
TEST(MmaTest, PermutedFragmentIndexIsCaught) {
  EXPECT_GT(mmaError({swappedA, docB, docD}, false, 7), 0.05);
  EXPECT_GT(mmaError({docA, swappedB, docD}, false, 7), 0.05);
  EXPECT_GT(mmaError({docA, docB, swappedD}, false, 7), 0.05);
  EXPECT_GT(mmaError({swappedA, docB, docD}, true, 7), 0.05);
}

} // namespace
