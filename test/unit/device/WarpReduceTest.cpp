//===- WarpReduceTest.cpp - quad and warp reductions in the emulator -------===//

#include "attn/device/attn_device.h"
#include "attn/emu/Emulator.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

using namespace attn::device;

namespace {

constexpr int kThreads = 64; // two warps: reductions must not cross them

__global__ void reduceKernel(const float *in, float *out) {
  unsigned i = threadIdx.x;
  float x = ld_global(in, i, kThreads);
  st_global(out, 0 * kThreads + i, 4 * kThreads, warp_reduce_max_quad(x));
  st_global(out, 1 * kThreads + i, 4 * kThreads, warp_reduce_sum_quad(x));
  st_global(out, 2 * kThreads + i, 4 * kThreads, warp_reduce_max(x));
  st_global(out, 3 * kThreads + i, 4 * kThreads, warp_reduce_sum(x));
}

TEST(WarpReduceTest, QuadAndWarpReductions) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> value(-10.0f, 10.0f);
  std::vector<float> in(kThreads), out(4 * kThreads, 0);
  for (float &x : in)
    x = value(rng);
  auto result = attn::emu::launch(attn::emu::LaunchConfig("reduce", 1, kThreads),
                                  reduceKernel, in.data(), out.data());
  ASSERT_TRUE(result.ok()) << result.message();
  for (int i = 0; i < kThreads; ++i) {
    int quad = i / 4 * 4, warp = i / 32 * 32;
    float qmax = in[quad], wmax = in[warp];
    double qsum = 0, wsum = 0, wabs = 0;
    for (int j = quad; j < quad + 4; ++j) {
      qmax = std::max(qmax, in[j]);
      qsum += in[j];
    }
    for (int j = warp; j < warp + 32; ++j) {
      wmax = std::max(wmax, in[j]);
      wsum += in[j];
      wabs += std::abs(in[j]);
    }
    EXPECT_EQ(out[i], qmax) << i;
    EXPECT_NEAR(out[kThreads + i], qsum, 1e-5) << i;
    EXPECT_EQ(out[2 * kThreads + i], wmax) << i;
    EXPECT_NEAR(out[3 * kThreads + i], wsum, 1e-6 * wabs) << i;
    // Every lane of a warp ends with the same butterfly result.
    EXPECT_EQ(out[3 * kThreads + i], out[3 * kThreads + warp]) << i;
  }
}

} // namespace
