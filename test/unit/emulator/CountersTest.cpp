//===- CountersTest.cpp - emulator: work counters from the primitives -----===//
//
// The counters attn-run --counters reports come from the device library:
// global bytes from the memory accessors, KV tiles from count_tile. A
// hand-written tiled kernel (the call pattern generated kernels follow: every
// thread calls count_tile at the top of each tile it processes) must count
// each CTA-tile once, whatever the block size, and nothing unless asked.
//
//===----------------------------------------------------------------------===//

#include "attn/device/attn_device.h"
#include "attn/emu/Emulator.h"

#include <gtest/gtest.h>

#include <vector>

using namespace attn::device;
using attn::emu::LaunchConfig;
using attn::emu::LaunchResult;

namespace {

constexpr int kTile = 16;

/// Row sums of a lower-triangular n x n matrix, one CTA per 16 rows and one
/// thread per row (threads past the 16th have none), 16-column tiles: tiles
/// above the diagonal are skipped, tiles on it run the mask (partial), tiles
/// below it do not (full).
__global__ void causalRowSums(const float *a, int64_t n, float *out) {
  int64_t rowBase = static_cast<int64_t>(blockIdx.x) * kTile;
  int64_t row = threadIdx.x < kTile ? rowBase + threadIdx.x : n;
  float sum = 0.0f;
  for (int64_t col0 = 0; col0 < n; col0 += kTile) {
    if (col0 > rowBase + kTile - 1)
      break; // every later tile is above the diagonal: skipped
    bool diagonal = col0 + kTile - 1 > rowBase;
    count_tile(diagonal ? kTilePartial : kTileFull);
    for (int64_t c = col0; c < col0 + kTile && c < n && row < n; ++c)
      if (!diagonal || c <= row)
        sum += ld_global(a, row * n + c, n * n);
  }
  if (row < n)
    st_global(out, row, n, sum);
}

TEST(CountersTest, TilesAndBytesComeFromThePrimitives) {
  const int64_t n = 70; // 5 row blocks, the last one ragged
  std::vector<float> a(n * n, 1.0f), out(n, 0.0f);
  LaunchConfig config("causalRowSums", (n + kTile - 1) / kTile, kTile);
  config.countGlobalAccesses = true;
  config.countTiles = true;
  LaunchResult result =
      attn::emu::launch(config, causalRowSums, a.data(), n, out.data());
  ASSERT_TRUE(result.ok()) << result.message();
  // Row block r visits tiles 0..r: r full ones and the diagonal.
  EXPECT_EQ(result.tilesPartial, 5u);
  EXPECT_EQ(result.tilesFull, 0u + 1 + 2 + 3 + 4);
  // Row i reads i + 1 elements; each of the n rows writes one.
  EXPECT_EQ(result.globalBytesRead, sizeof(float) * n * (n + 1) / 2);
  EXPECT_EQ(result.globalBytesWritten, sizeof(float) * n);
  EXPECT_EQ(result.globalLoads, static_cast<uint64_t>(n * (n + 1) / 2));
  EXPECT_EQ(out[n - 1], static_cast<float>(n));
}

TEST(CountersTest, OneCountPerCtaTileWhateverTheBlockSize) {
  const int64_t n = 64;
  std::vector<float> a(n * n, 1.0f), out(n, 0.0f);
  for (unsigned threads : {16u, 64u, 96u}) {
    LaunchConfig config("blockSize", n / kTile, threads);
    config.countTiles = true;
    LaunchResult result =
        attn::emu::launch(config, causalRowSums, a.data(), n, out.data());
    ASSERT_TRUE(result.ok()) << result.message();
    EXPECT_EQ(result.tilesPartial, 4u) << threads << " threads";
    EXPECT_EQ(result.tilesFull, 0u + 1 + 2 + 3) << threads << " threads";
  }
}

TEST(CountersTest, NothingIsCountedUnlessAsked) {
  const int64_t n = 32;
  std::vector<float> a(n * n, 1.0f), out(n, 0.0f);
  LaunchResult result =
      attn::emu::launch(LaunchConfig("quiet", n / kTile, kTile), causalRowSums,
                        a.data(), n, out.data());
  ASSERT_TRUE(result.ok()) << result.message();
  EXPECT_EQ(result.tilesFull + result.tilesPartial, 0u);
  EXPECT_EQ(result.globalBytesRead + result.globalBytesWritten, 0u);
}

} // namespace
