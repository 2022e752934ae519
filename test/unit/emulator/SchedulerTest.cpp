//===- SchedulerTest.cpp - emulator: barriers, shared memory, shuffles ------===//

#include "attn/device/attn_device.h"
#include "attn/emu/Emulator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

using namespace attn::device;
using attn::emu::LaunchConfig;

namespace {

constexpr int kBlock = 256;

/// Classic shared-memory tree reduction: one partial sum per CTA.
__global__ void blockSum(const float *in, int64_t n, float *out) {
  ATTN_SHARED(float, partial, kBlock);
  unsigned t = threadIdx.x;
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + t;
  partial[t] = ld_global_or(in, i, n, 0.0f);
  __syncthreads();
  for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (t < stride)
      partial[t] += partial[t + stride];
    __syncthreads();
  }
  if (t == 0)
    st_global(out, blockIdx.x, gridDim.x, partial[0]);
}

TEST(SchedulerTest, SharedMemoryReductionOverManyCtas) {
  const int64_t n = 300 * kBlock - 77; // ragged last CTA
  const unsigned ctas = (n + kBlock - 1) / kBlock;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> value(-1, 1);
  std::vector<float> in(n), out(ctas, NAN);
  for (float &x : in)
    x = value(rng);
  LaunchConfig config("blockSum", ctas, kBlock);
  config.countGlobalAccesses = true;
  auto result = attn::emu::launch(config, blockSum, in.data(), n, out.data());
  ASSERT_TRUE(result.ok()) << result.message();
  EXPECT_EQ(result.ctasCompleted, ctas);
  EXPECT_EQ(result.globalBytesRead, n * sizeof(float));
  EXPECT_EQ(result.globalBytesWritten, ctas * sizeof(float));
  for (unsigned c = 0; c < ctas; ++c) {
    double ref = 0, abs = 0;
    for (int64_t i = c * kBlock; i < std::min<int64_t>(n, (c + 1) * kBlock); ++i) {
      ref += in[i];
      abs += std::abs(in[i]);
    }
    ASSERT_NEAR(out[c], ref, 1e-6 * abs) << "CTA " << c;
  }
}

/// Multi-dimensional indices: every thread of a 3-D grid writes its identity.
__global__ void indices(unsigned *out) {
  unsigned cta = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  unsigned tid = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  unsigned threads = blockDim.x * blockDim.y * blockDim.z;
  unsigned total = threads * gridDim.x * gridDim.y * gridDim.z;
  st_global(out, cta * threads + tid, total, cta * 1000 + tid);
}

TEST(SchedulerTest, ThreeDimensionalIndices) {
  dim3 grid(3, 2, 2), block(4, 3, 5);
  std::vector<unsigned> out(12 * 60, ~0u);
  auto result = attn::emu::launch(indices, grid, block, 0, out.data());
  ASSERT_TRUE(result.ok()) << result.message();
  for (unsigned cta = 0; cta < 12; ++cta)
    for (unsigned t = 0; t < 60; ++t)
      ASSERT_EQ(out[cta * 60 + t], cta * 1000 + t);
}

__global__ void shuffles(int *out) {
  int lane = threadIdx.x % 32;
  int warp = threadIdx.x / 32;
  int *o = out + threadIdx.x * 6;
  o[0] = __shfl_sync(0xffffffff, lane * 10 + warp, 5);          // broadcast
  o[1] = __shfl_xor_sync(0xffffffff, lane, 3);                   // butterfly
  o[2] = __shfl_down_sync(0xffffffff, lane, 2, 16);              // segments
  o[3] = __shfl_up_sync(0xffffffff, lane, 1);
  o[4] = static_cast<int>(__ballot_sync(0xffffffff, lane % 3 == 0));
  double wide = __shfl_sync(0xffffffff, 0.5 + lane, 31);        // 8 bytes
  o[5] = static_cast<int>(wide * 2);
}

TEST(SchedulerTest, Shuffles) {
  std::vector<int> out(64 * 6, -1);
  auto result = attn::emu::launch(LaunchConfig("shuffles", 1, 64), shuffles,
                                  out.data());
  ASSERT_TRUE(result.ok()) << result.message();
  unsigned ballot = 0;
  for (int l = 0; l < 32; l += 3)
    ballot |= 1u << l;
  for (int t = 0; t < 64; ++t) {
    int lane = t % 32, warp = t / 32;
    const int *o = &out[t * 6];
    EXPECT_EQ(o[0], 50 + warp);
    EXPECT_EQ(o[1], lane ^ 3);
    EXPECT_EQ(o[2], lane % 16 + 2 < 16 ? lane + 2 : lane);
    EXPECT_EQ(o[3], lane >= 1 ? lane - 1 : lane);
    EXPECT_EQ(static_cast<unsigned>(o[4]), ballot);
    EXPECT_EQ(o[5], 63);
  }
}

/// Reads shared memory nobody wrote: it must be poisoned (NaN / 0xFF bytes),
/// in static and dynamic shared memory, in every CTA.
__global__ void readsUninitialised(uint32_t *out) {
  ATTN_SHARED(float, s, 32);
  ATTN_DYNAMIC_SHARED(uint32_t, d);
  unsigned t = threadIdx.x, base = blockIdx.x * 64;
  uint32_t bits;
  std::memcpy(&bits, &s[t], 4);
  st_global(out, base + t, 64 * gridDim.x, bits);
  st_global(out, base + 32 + t, 64 * gridDim.x, d[t]);
  __syncthreads();
  s[t] = 1.0f; // dirty it: the next CTA must see poison again
  d[t] = 7;
}

TEST(SchedulerTest, SharedMemoryIsPoisonedPerCta) {
  std::vector<uint32_t> out(64 * 8, 0);
  LaunchConfig config("poison", 8, 32, 32 * sizeof(uint32_t));
  config.numWorkers = 1; // CTAs reuse one worker's buffers
  auto result = attn::emu::launch(config, readsUninitialised, out.data());
  ASSERT_TRUE(result.ok()) << result.message();
  for (uint32_t word : out)
    ASSERT_EQ(word, 0xffffffffu);
  float f;
  std::memcpy(&f, &out[0], 4);
  EXPECT_TRUE(std::isnan(f));
}

__global__ void outOfBounds(float *data, int64_t n) {
  float x = ld_global(data, threadIdx.x + 30, n); // threads 2, 3 are outside
  st_global(data, threadIdx.x, n, x);
}

TEST(SchedulerTest, OutOfBoundsGlobalAccessIsReported) {
  std::vector<float> data(32, 1.0f);
  auto result = attn::emu::launch(LaunchConfig("oob", 1, 4), outOfBounds,
                                  data.data(), int64_t{32});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.errorCount, 2u);
  EXPECT_NE(result.errors[0].find("ld_global out of bounds"), std::string::npos)
      << result.message();
  EXPECT_NE(result.errors[0].find("index 32, extent 32"), std::string::npos)
      << result.message();
  EXPECT_NE(result.errors[0].find("SchedulerTest.cpp"), std::string::npos)
      << result.message();
}

TEST(SchedulerTest, InvalidLaunchIsReported) {
  auto result = attn::emu::launch(LaunchConfig("big", 1, 2048), outOfBounds,
                                  nullptr, int64_t{0});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.message().find("at most 1024 threads"), std::string::npos);
}

} // namespace
