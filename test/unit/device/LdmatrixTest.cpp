//===- LdmatrixTest.cpp - emulated ldmatrix vs the documented layout
//-------===//
//
// Fills a padded shared-memory tile with distinct 16-bit values, lets every
// lane supply a row address as ldmatrix requires, and checks each lane's
// registers against the PTX ISA layout: lane 4g+t holds elements
// [g][2t..2t+1] of matrix i in register i ([2t..2t+1][g] with .trans).
// Lanes that supply no address for x1/x2 pass null, which must not be read.
// The paired B-fragment helpers (one x4 for two n-tiles) must give what two
// single ones give.
//
//===----------------------------------------------------------------------===//

#include "attn/device/attn_device.h"
#include "attn/device/fragment.h"
#include "attn/emu/Emulator.h"

#include <gtest/gtest.h>

using namespace attn::device;

namespace {

constexpr int kRows = 32, kStride = 24, kColumn = 8; // 48-byte rows
constexpr int kVariants = 6; // x1, x2, x4, then the .trans forms

/// Element [r][c] of matrix i as the lanes address it: rows 8i..8i+7 of the
/// tile, starting at column kColumn.
uint16_t tileValue(int row, int col) {
  return static_cast<uint16_t>(row * 256 + col);
}
uint16_t matrixValue(int i, int r, int c) {
  return tileValue(8 * i + r, kColumn + c);
}

/// The warp copies `elements` of `tile` into shared `s` (lane `lane`).
__device__ void tileToShared(uint16_t *s, const uint16_t *tile, int elements,
                             unsigned lane) {
  for (int i = lane; i < elements; i += 32)
    s[i] = ld_global(tile, i, elements);
  __syncwarp();
}

__global__ void ldmatrixKernel(const uint16_t *tile, uint32_t *out) {
  ATTN_SHARED(uint16_t, s, kRows * kStride);
  unsigned lane = threadIdx.x;
  tileToShared(s, tile, kRows * kStride, lane);
  const void *row = &s[lane * kStride + kColumn];
  uint32_t d1[1], d2[2], d4[4], t1[1], t2[2], t4[4];
  ldmatrix_x1(d1, lane < 8 ? row : nullptr);
  ldmatrix_x2(d2, lane < 16 ? row : nullptr);
  ldmatrix_x4(d4, row);
  ldmatrix_x1_trans(t1, lane < 8 ? row : nullptr);
  ldmatrix_x2_trans(t2, lane < 16 ? row : nullptr);
  ldmatrix_x4_trans(t4, row);
  const uint32_t *results[kVariants] = {d1, d2, d4, t1, t2, t4};
  const int counts[kVariants] = {1, 2, 4, 1, 2, 4};
  for (int v = 0; v < kVariants; ++v)
    for (int r = 0; r < counts[v]; ++r)
      st_global(out, (v * 32 + lane) * 4 + r, kVariants * 32 * 4,
                results[v][r]);
}

TEST(LdmatrixTest, MatchesDocumentedLayout) {
  std::vector<uint16_t> tile(kRows * kStride);
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < kStride; ++c)
      tile[r * kStride + c] = tileValue(r, c);
  std::vector<uint32_t> out(kVariants * 32 * 4, 0);
  auto result = attn::emu::launch(attn::emu::LaunchConfig("ldmatrix", 1, 32),
                                  ldmatrixKernel, tile.data(), out.data());
  ASSERT_TRUE(result.ok()) << result.message();

  const int counts[kVariants] = {1, 2, 4, 1, 2, 4};
  for (int v = 0; v < kVariants; ++v) {
    bool trans = v >= 3;
    for (int lane = 0; lane < 32; ++lane) {
      int g = lane / 4, t = lane % 4;
      for (int i = 0; i < counts[v]; ++i) {
        uint16_t lo = trans ? matrixValue(i, 2 * t, g) : matrixValue(i, g, 2 * t);
        uint16_t hi =
            trans ? matrixValue(i, 2 * t + 1, g) : matrixValue(i, g, 2 * t + 1);
        EXPECT_EQ(out[(v * 32 + lane) * 4 + i], lo | (uint32_t(hi) << 16))
            << "variant " << v << " lane " << lane << " register " << i;
      }
    }
  }
}

/// Pitch of the staged tile the fragment helpers read (a K/V stage's layout:
/// 40 elements = 32 columns + kSmemPad).
constexpr int kPitch = 40, kTileRows = 32;
/// (n0, k0) pairs the paired helpers are compared at.
constexpr int kSteps = 4;
constexpr int kN0[kSteps] = {0, 16, 0, 16}, kK0[kSteps] = {0, 0, 16, 16};

__global__ void pairedFragmentsKernel(const uint16_t *tile, uint32_t *out) {
  ATTN_SHARED(uint16_t, s, kTileRows * kPitch);
  unsigned lane = threadIdx.x;
  tileToShared(s, tile, kTileRows * kPitch, lane);
  // Per step: the x2 pair (8 words), then the single fragments (8 words).
  for (int step = 0; step < kSteps; ++step) {
    int n0 = kN0[step], k0 = kK0[step];
    uint32_t nPair[2][2], kPair[2][2], n[2][2], k[2][2];
    b_fragments_n_major_x2<kPitch>(nPair, s, n0, k0, lane);
    b_fragments_k_major_x2<kPitch>(kPair, s, n0, k0, lane);
    for (int h = 0; h < 2; ++h) {
      b_fragment_n_major<kPitch>(n[h], s, n0 + 8 * h, k0, lane);
      b_fragment_k_major<kPitch>(k[h], s, n0 + 8 * h, k0, lane);
    }
    const uint32_t words[16] = {
        nPair[0][0], nPair[0][1], nPair[1][0], nPair[1][1],
        kPair[0][0], kPair[0][1], kPair[1][0], kPair[1][1],
        n[0][0],     n[0][1],     n[1][0],     n[1][1],
        k[0][0],     k[0][1],     k[1][0],     k[1][1]};
    for (int w = 0; w < 16; ++w)
      st_global(out, (step * 32 + lane) * 16 + w, kSteps * 32 * 16, words[w]);
  }
}

// One ldmatrix.x4 for two n-tiles must give each lane exactly what two
// ldmatrix.x2 loads give it, for the plain (K) and the transposed (V) read.
TEST(LdmatrixTest, PairedBFragmentsMatchTwoSingleOnes) {
  std::vector<uint16_t> tile(kTileRows * kPitch);
  for (int r = 0; r < kTileRows; ++r)
    for (int c = 0; c < kPitch; ++c)
      tile[r * kPitch + c] = tileValue(r, c);
  std::vector<uint32_t> out(kSteps * 32 * 16, 0);
  auto result =
      attn::emu::launch(attn::emu::LaunchConfig("paired", 1, 32),
                        pairedFragmentsKernel, tile.data(), out.data());
  ASSERT_TRUE(result.ok()) << result.message();
  for (int step = 0; step < kSteps; ++step)
    for (int lane = 0; lane < 32; ++lane) {
      const uint32_t *w = &out[(step * 32 + lane) * 16];
      for (int i = 0; i < 8; ++i)
        EXPECT_EQ(w[i], w[8 + i])
            << "step " << step << " lane " << lane
            << (i < 4 ? " n-major" : " k-major") << " word " << i % 4;
      // Not vacuous: the two n-tiles' fragments differ.
      EXPECT_NE(w[0], w[2]) << "step " << step << " lane " << lane;
    }
}

__global__ void misalignedKernel(uint32_t *out) {
  ATTN_SHARED(uint16_t, s, 64 * 8 + 8);
  for (int i = threadIdx.x; i < 64 * 8 + 8; i += 32)
    s[i] = 0;
  __syncwarp();
  uint32_t d[1];
  ldmatrix_x1(d, &s[threadIdx.x % 8 * 8 + 1]); // 2-byte offset: misaligned
  st_global(out, threadIdx.x, 32, d[0]);
}

TEST(LdmatrixTest, MisalignedRowAddressIsReported) {
  std::vector<uint32_t> out(32);
  auto result = attn::emu::launch(attn::emu::LaunchConfig("misaligned", 1, 32),
                                  misalignedKernel, out.data());
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.message().find("not 16-byte aligned"), std::string::npos)
      << result.message();
}

} // namespace
