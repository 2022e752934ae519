//===- ExchangeTest.cpp - a row group's warps sharing a fragment tile -----===//
//
// With col_groups > 1 the warps of a row group each compute some n-tiles of
// S and share the whole tile through shared memory
// (fragment_columns_to_shared, a barrier, fragment_from_shared). Here four
// warps each hold one n-tile (the mma C layout, as the PTX ISA documents
// it) of a 16 x 32 tile at their column offset; after the exchange every
// lane of every warp must hold the whole tile in its layout, assigned or
// added onto what it held.
//
//===----------------------------------------------------------------------===//

#include "attn/device/attn_device.h"
#include "attn/device/fragment.h"
#include "attn/emu/Emulator.h"

#include <gtest/gtest.h>

using namespace attn::device;

namespace {

constexpr int kWarps = 4, kCols = 32, kPitch = kCols + 4;
constexpr int kTiles = kCols / 8, kLocal = kTiles / kWarps;

/// The tile's element (r, c): distinct, non-zero.
float element(int r, int c) { return 1.0f + r * 64 + c; }

/// Row and column of accumulator element `e` of `lane` in n-tile `nt`.
int rowOf(int lane, int e) { return lane / 4 + 8 * (e >> 1); }
int colOf(int lane, int nt, int e) { return 8 * nt + 2 * (lane % 4) + (e & 1); }

__global__ void exchangeKernel(float *out) {
  ATTN_SHARED(float, s, 16 * kPitch);
  int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float part[kLocal][4], assigned[kTiles][4], added[kTiles][4];
  for (int j = 0; j < kLocal; ++j)
    for (int e = 0; e < 4; ++e)
      part[j][e] = element(rowOf(lane, e), colOf(lane, warp * kLocal + j, e));
  for (int nt = 0; nt < kTiles; ++nt)
    for (int e = 0; e < 4; ++e)
      added[nt][e] = 0.5f;
  fragment_columns_to_shared<kPitch>(s, part, 0, 8 * kLocal * warp, lane);
  __syncthreads();
  fragment_from_shared<kPitch, false>(assigned, s, 0, lane);
  fragment_from_shared<kPitch, true>(added, s, 0, lane);
  int n = kWarps * 32 * kTiles * 4 * 2;
  for (int nt = 0; nt < kTiles; ++nt)
    for (int e = 0; e < 4; ++e) {
      int at = ((threadIdx.x * kTiles + nt) * 4 + e) * 2;
      st_global(out, at, n, assigned[nt][e]);
      st_global(out, at + 1, n, added[nt][e]);
    }
}

TEST(ExchangeTest, EveryWarpOfTheRowGroupGetsTheWholeTile) {
  std::vector<float> out(kWarps * 32 * kTiles * 4 * 2, 0.0f);
  auto result = attn::emu::launch(
      attn::emu::LaunchConfig("exchange", 1, 32 * kWarps), exchangeKernel,
      out.data());
  ASSERT_TRUE(result.ok()) << result.message();
  for (int thread = 0; thread < 32 * kWarps; ++thread) {
    int lane = thread % 32;
    for (int nt = 0; nt < kTiles; ++nt)
      for (int e = 0; e < 4; ++e) {
        float want = element(rowOf(lane, e), colOf(lane, nt, e));
        int at = ((thread * kTiles + nt) * 4 + e) * 2;
        EXPECT_EQ(out[at], want) << "thread " << thread << " n-tile " << nt;
        EXPECT_EQ(out[at + 1], want + 0.5f)
            << "thread " << thread << " n-tile " << nt;
      }
  }
}

} // namespace
