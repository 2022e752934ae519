//===- BarrierErrorTest.cpp - emulator: unreachable barriers are errors -----===//
//
// A barrier or warp collective that not every thread reaches must come back
// as an error naming the kernel, the CTA and the barrier's source location --
// quickly, never as a hang (ctest's TIMEOUT is only a net).
//
//===----------------------------------------------------------------------===//

#include "attn/device/attn_device.h"
#include "attn/emu/Emulator.h"

#include <gtest/gtest.h>

#include <chrono>

using namespace attn::device;
using attn::emu::LaunchConfig;
using attn::emu::LaunchResult;

namespace {

/// Launches `kernel` and checks it fails within a second.
template <typename... Params, typename... Args>
LaunchResult launchExpectingError(const LaunchConfig &config,
                                  void (*kernel)(Params...), Args... args) {
  auto start = std::chrono::steady_clock::now();
  LaunchResult result = attn::emu::launch(config, kernel, args...);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(1));
  EXPECT_FALSE(result.ok());
  return result;
}

void expectContains(const LaunchResult &result, const std::string &text) {
  EXPECT_NE(result.message().find(text), std::string::npos)
      << "expected '" << text << "' in:\n"
      << result.message();
}

unsigned gEarlyReturnLine;

__global__ void earlyReturn(float *out) {
  if (threadIdx.x < 10)
    return; // these threads never reach the barrier
  out[threadIdx.x] = 1.0f;
  gEarlyReturnLine = __LINE__ + 1;
  __syncthreads();
}

TEST(BarrierErrorTest, EarlyReturnBeforeSyncthreads) {
  float out[64];
  LaunchConfig config("earlyReturn", dim3(4, 2), 64);
  config.numWorkers = 1; // one CTA at a time: exactly one reaches the error
  LaunchResult result = launchExpectingError(config, earlyReturn, out);
  expectContains(result, "kernel 'earlyReturn' CTA (0,0,0)");
  expectContains(result, "__syncthreads at ");
  expectContains(result, "BarrierErrorTest.cpp:" +
                             std::to_string(gEarlyReturnLine));
  expectContains(result, "10 of 64 threads exited");
  // The launch stops at the first broken CTA instead of repeating the error.
  EXPECT_EQ(result.errorCount, 1u) << result.message();
}

unsigned gThenLine, gElseLine;

__global__ void divergentBarrier(int *out) {
  if (threadIdx.x % 2) {
    gThenLine = __LINE__ + 1;
    __syncthreads();
  } else {
    gElseLine = __LINE__ + 1;
    __syncthreads();
  }
  out[threadIdx.x] = 1;
}

TEST(BarrierErrorTest, DivergentSyncthreads) {
  int out[32];
  LaunchResult result = launchExpectingError(
      LaunchConfig("divergent", 3, 32), divergentBarrier, out);
  expectContains(result, "kernel 'divergent' CTA (");
  expectContains(result, "divergent __syncthreads");
  expectContains(result, "BarrierErrorTest.cpp:" + std::to_string(gThenLine));
  expectContains(result, "BarrierErrorTest.cpp:" + std::to_string(gElseLine));
}

__global__ void shuffleAfterExit(float *out) {
  if (threadIdx.x == 31)
    return;
  out[threadIdx.x] = warp_reduce_sum(1.0f);
}

TEST(BarrierErrorTest, ShuffleWithExitedLane) {
  float out[32];
  LaunchResult result = launchExpectingError(
      LaunchConfig("shuffleAfterExit", 1, 32), shuffleAfterExit, out);
  expectContains(result, "kernel 'shuffleAfterExit' CTA (0,0,0)");
  expectContains(result, "__shfl_xor_sync at ");
  expectContains(result, "warp.h:");
  expectContains(result, "lane 31 of warp 0 exited");
}

__global__ void crossedBarriers(float *out) {
  // Warp 0 waits for its lanes in a shuffle while warp 1 waits at the CTA
  // barrier: neither can complete.
  if (threadIdx.x < 32)
    out[threadIdx.x] = __shfl_sync(0xffffffff, 1.0f, 0);
  else
    __syncthreads();
  __syncthreads();
}

TEST(BarrierErrorTest, ShuffleAgainstBarrierDeadlock) {
  float out[64];
  LaunchResult result = launchExpectingError(
      LaunchConfig("crossed", 1, 64), crossedBarriers, out);
  expectContains(result, "kernel 'crossed' CTA (0,0,0)");
  // Warp 0 finishes its shuffle, then reaches the *second* barrier while
  // warp 1 waits at the first.
  expectContains(result, "divergent __syncthreads");
}

__global__ void halfWarpShuffle(float *out) {
  if (threadIdx.x < 16)
    out[threadIdx.x] = __shfl_xor_sync(0xffffffff, 1.0f, 1);
  else
    out[threadIdx.x] = __shfl_down_sync(0xffffffff, 2.0f, 1);
}

TEST(BarrierErrorTest, DivergentWarpCollectives) {
  float out[32];
  LaunchResult result = launchExpectingError(
      LaunchConfig("halfWarp", 1, 32), halfWarpShuffle, out);
  expectContains(result, "divergent warp collectives in warp 0");
  expectContains(result, "__shfl_xor_sync");
  expectContains(result, "__shfl_down_sync");
}

__global__ void warpWaitsForever(float *out) {
  // Lanes 0-15 wait in a warp sync that lanes 16-31 never reach because they
  // wait at __syncthreads: a pure deadlock (nobody exited, no site clash).
  if (threadIdx.x < 16)
    __syncwarp();
  else
    __syncthreads();
  out[threadIdx.x] = 0;
}

TEST(BarrierErrorTest, DeadlockIsDiagnosed) {
  float out[32];
  LaunchResult result = launchExpectingError(
      LaunchConfig("deadlock", 1, 32), warpWaitsForever, out);
  expectContains(result, "kernel 'deadlock' CTA (0,0,0): deadlock");
  expectContains(result, "16 of 32 threads wait at __syncthreads");
  expectContains(result, "lanes 0-15 wait at __syncwarp");
}

__global__ void fine(float *out) {
  __syncthreads();
  out[threadIdx.x] = 2.0f;
}

TEST(BarrierErrorTest, EmulatorIsReusableAfterAnError) {
  float out[32];
  launchExpectingError(LaunchConfig("deadlock", 1, 32), warpWaitsForever, out);
  auto result = attn::emu::launch(LaunchConfig("fine", 1, 32), fine, out);
  EXPECT_TRUE(result.ok()) << result.message();
  EXPECT_EQ(out[31], 2.0f);
}

} // namespace
