//===- OnlineSoftmaxTest.cpp - online-softmax update vs the 3-pass formula ---===//
//
// Runs the device library's online update over a row split into ragged tiles
// (including fully masked tiles and a fully masked row) and compares
// softmax(x)·v with the 3-pass reference computed in double.
//
//===----------------------------------------------------------------------===//

#include "attn/device/online_softmax.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace attn::device;

namespace {

/// softmax(scale * x) · v in double, three passes (max, sum, weighted sum).
double threePass(const std::vector<float> &x, const std::vector<float> &v,
                 double scale) {
  double m = -std::numeric_limits<double>::infinity();
  for (float s : x)
    m = std::max(m, scale * s);
  if (std::isinf(m))
    return 0.0; // fully masked row: the kernel's convention is 0
  double l = 0, o = 0;
  for (float s : x)
    l += std::exp(scale * s - m);
  for (size_t i = 0; i < x.size(); ++i)
    o += std::exp(scale * x[i] - m) / l * v[i];
  return o;
}

/// The same through online_softmax_* with tiles of the given sizes.
double online(const std::vector<float> &x, const std::vector<float> &v,
              float scale, const std::vector<size_t> &tiles) {
  float scaleLog2 = scale * kLog2e;
  OnlineSoftmaxRow row = online_softmax_init();
  float acc = 0;
  size_t start = 0;
  for (size_t size : tiles) {
    float tileMax = neg_inf();
    for (size_t i = start; i < start + size; ++i)
      tileMax = std::max(tileMax, x[i]);
    float maxScaled;
    float correction = online_softmax_update(row, tileMax, scaleLog2, maxScaled);
    acc *= correction;
    for (size_t i = start; i < start + size; ++i) {
      float p = online_softmax_prob(x[i], scaleLog2, maxScaled);
      row.rowSum += p;
      acc += p * v[i];
    }
    start += size;
  }
  return acc * online_softmax_inv_sum(row.rowSum);
}

TEST(OnlineSoftmaxTest, MatchesThreePassOnRaggedTiles) {
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> value(-4.0f, 4.0f);
  std::uniform_int_distribution<size_t> tileSize(1, 24);
  std::bernoulli_distribution masked(0.2);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<size_t> tiles;
    size_t n = 0;
    for (int t = 0; t < 1 + trial % 7; ++t)
      n += tiles.emplace_back(tileSize(rng));
    std::vector<float> x(n), v(n);
    for (size_t i = 0; i < n; ++i) {
      x[i] = masked(rng) ? -std::numeric_limits<float>::infinity() : value(rng);
      v[i] = value(rng);
    }
    // A fully masked first tile exercises the -inf running max.
    if (trial % 3 == 0)
      for (size_t i = 0; i < tiles[0]; ++i)
        x[i] = -std::numeric_limits<float>::infinity();
    float scale = 0.125f + 0.1f * (trial % 5);
    double expected = threePass(x, v, scale);
    double got = online(x, v, scale, tiles);
    ASSERT_NEAR(got, expected, 1e-5 * (1 + std::abs(expected)))
        << "trial " << trial;
  }
}

TEST(OnlineSoftmaxTest, FullyMaskedRowGivesZeroNotNan) {
  std::vector<float> x(10, -std::numeric_limits<float>::infinity());
  std::vector<float> v(10, 1.0f);
  double got = online(x, v, 0.5f, {3, 7});
  EXPECT_EQ(got, 0.0);
}

TEST(OnlineSoftmaxTest, CorrectionRescalesTheSum) {
  OnlineSoftmaxRow row = online_softmax_init();
  float maxScaled;
  EXPECT_EQ(online_softmax_update(row, 1.0f, 1.0f, maxScaled), 0.0f);
  EXPECT_EQ(maxScaled, 1.0f);
  row.rowSum = 3.0f;
  float c = online_softmax_update(row, 3.0f, 1.0f, maxScaled);
  EXPECT_FLOAT_EQ(c, 0.25f); // exp2(1 - 3)
  EXPECT_FLOAT_EQ(row.rowSum, 0.75f);
  EXPECT_EQ(row.rowMax, 3.0f);
}

} // namespace
