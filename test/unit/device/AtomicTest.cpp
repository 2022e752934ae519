//===- AtomicTest.cpp - atomic_add_global in the emulator -----------------===//
//
// The backward kernels' atomic accumulator (dQ, capture gradients): adds
// from every thread of many CTAs, run on several worker threads, all land
// (integer-valued floats sum exactly in any order); the counters see one
// 4-byte load and one 4-byte store per add; an index outside the extent is
// a reported out-of-bounds violation that adds nothing; memcheck refuses an
// add into a read-only buffer.
//
//===----------------------------------------------------------------------===//

#include "attn/device/attn_device.h"
#include "attn/emu/Emulator.h"

#include <gtest/gtest.h>

#include <vector>

using namespace attn::device;

namespace {

__global__ void addKernel(float *sums, int64_t extent, int64_t badIndex) {
  int64_t thread = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  atomic_add_global(sums, thread % 4, extent, float(thread % 7));
  if (thread == 0 && badIndex >= 0)
    atomic_add_global(sums, badIndex, extent, 1000.0f);
}

TEST(AtomicTest, EveryAddLandsAndIsCounted) {
  std::vector<float> sums(4, 0.0f);
  attn::emu::LaunchConfig config("atomicAdd", 64, 128);
  config.numWorkers = 4;
  config.countGlobalAccesses = true;
  auto result = attn::emu::launch(config, addKernel, sums.data(), int64_t(4),
                                  int64_t(-1));
  ASSERT_TRUE(result.ok()) << result.message();
  std::vector<double> want(4, 0.0);
  for (int64_t t = 0; t < 64 * 128; ++t)
    want[t % 4] += double(t % 7);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(double(sums[i]), want[i]) << "address " << i;
  EXPECT_EQ(result.globalBytesRead, uint64_t(64 * 128 * 4));
  EXPECT_EQ(result.globalBytesWritten, uint64_t(64 * 128 * 4));
}

TEST(AtomicTest, OutOfBoundsIsReportedAndDropped) {
  std::vector<float> sums(8, 0.0f);
  auto result = attn::emu::launch(attn::emu::LaunchConfig("atomicAdd", 1, 32),
                                  addKernel, sums.data(), int64_t(4),
                                  int64_t(4));
  EXPECT_FALSE(result.ok());
  ASSERT_EQ(result.memoryViolationCount, 1u);
  EXPECT_EQ(result.memoryViolations[0].accessor, "atomic_add_global");
  EXPECT_EQ(result.memoryViolations[0].index, 4);
  EXPECT_EQ(sums[4], 0.0f);
}

TEST(AtomicTest, MemcheckRefusesAReadOnlyBuffer) {
  std::vector<float> sums(4, 0.0f);
  attn::emu::LaunchConfig config("atomicAdd", 1, 32);
  config.memcheck = true;
  config.buffers = {{"sums", sums.data(), sums.size() * 4, false}};
  auto result = attn::emu::launch(config, addKernel, sums.data(), int64_t(4),
                                  int64_t(-1));
  EXPECT_FALSE(result.ok());
  ASSERT_GT(result.memoryViolationCount, 0u);
  EXPECT_EQ(result.memoryViolations[0].kind,
            attn::emu::MemoryViolation::Kind::ReadOnlyStore);
}

} // namespace
