//===- Sm90SyncTest.cpp - mbarriers, named barriers, elect, setmaxnreg ----===//
//
// The sm_90 synchronisation primitives in the emulator: a producer warp and
// a consumer warpgroup hand tiles through a two-stage mbarrier pipeline (the
// shape of FlashAttention-3's main loop, with transaction bytes standing in
// for TMA); named barriers order a subset of the CTA; and every misuse the
// hardware would hang or misbehave on comes back as an error naming the
// source line, quickly, never as a hang.
//
//===----------------------------------------------------------------------===//

#include "attn/device/attn_device.h"
#include "attn/device/sm90.h"
#include "attn/emu/Emulator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

using namespace attn::device;
using attn::emu::LaunchConfig;
using attn::emu::LaunchResult;

namespace {

template <typename... Params, typename... Args>
LaunchResult launchTimed(const LaunchConfig &config, void (*kernel)(Params...),
                         Args... args) {
  auto start = std::chrono::steady_clock::now();
  LaunchResult result = attn::emu::launch(config, kernel, args...);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  return result;
}

void expectContains(const LaunchResult &result, const std::string &text) {
  EXPECT_FALSE(result.ok());
  EXPECT_NE(result.message().find(text), std::string::npos)
      << "expected '" << text << "' in:\n"
      << result.message();
}

//===----------------------------------------------------------------------===//
// mbarrier pipeline
//===----------------------------------------------------------------------===//

struct PipelineParams {
  const float *in; // tiles x 128
  float *out;      // 128: column sums
  int tiles;
};

constexpr int kStages = 2;

__global__ void pipelineKernel(PipelineParams p) {
  ATTN_SHARED(float, stage, kStages * 128);
  ATTN_SHARED(mbarrier_t, full, kStages);
  ATTN_SHARED(mbarrier_t, empty, kStages);
  if (threadIdx.x == 0)
    for (int s = 0; s < kStages; ++s) {
      mbarrier_init(&full[s], 1);
      mbarrier_init(&empty[s], 128);
    }
  __syncthreads();
  if (warpgroup_index() == 0) {
    if (threadIdx.x >= 32)
      return; // one producer warp, as FlashAttention-3's
    for (int t = 0; t < p.tiles; ++t) {
      int s = t % kStages;
      unsigned phase = (t / kStages) & 1;
      // The first round waits for the phase before phase 0: already over.
      mbarrier_wait_parity(&empty[s], phase ^ 1);
      if (elect_one_sync()) {
        mbarrier_arrive_expect_tx(&full[s], 128 * sizeof(float));
        for (int i = 0; i < 128; ++i)
          stage[s * 128 + i] = p.in[t * 128 + i];
        mbarrier_complete_tx(&full[s], 128 * sizeof(float));
      }
      __syncwarp();
    }
    return;
  }
  unsigned column = threadIdx.x - 128;
  float sum = 0;
  for (int t = 0; t < p.tiles; ++t) {
    int s = t % kStages;
    mbarrier_wait_parity(&full[s], (t / kStages) & 1);
    sum += stage[s * 128 + column];
    mbarrier_arrive(&empty[s]);
  }
  p.out[column] = sum;
}

TEST(MbarrierTest, ProducerConsumerPipeline) {
  const int tiles = 7; // odd: both stages wrap, phases flip several times
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> in(tiles * 128), out(128, 0.0f);
  for (float &x : in)
    x = dist(rng);
  LaunchResult result =
      launchTimed(LaunchConfig("pipelineKernel", 3, 256), pipelineKernel,
                  PipelineParams{in.data(), out.data(), tiles});
  ASSERT_TRUE(result.ok()) << result.message();
  for (int c = 0; c < 128; ++c) {
    float expected = 0;
    for (int t = 0; t < tiles; ++t)
      expected += in[t * 128 + c];
    EXPECT_FLOAT_EQ(out[c], expected) << "column " << c;
  }
}

enum class BarrierMisuse {
  NeverArrives,
  Uninitialised,
  OverArrival,
  TxOverflow
};

unsigned gMisuseLine;

__global__ void mbarrierMisuseKernel(BarrierMisuse misuse) {
  ATTN_SHARED(mbarrier_t, bar, 1);
  if (misuse != BarrierMisuse::Uninitialised && threadIdx.x == 0)
    mbarrier_init(bar, 1);
  __syncthreads();
  if (threadIdx.x != 0)
    return;
  switch (misuse) {
  case BarrierMisuse::NeverArrives:
    gMisuseLine = __LINE__ + 1;
    mbarrier_wait_parity(bar, 0);
    break;
  case BarrierMisuse::Uninitialised:
    gMisuseLine = __LINE__ + 1;
    mbarrier_arrive(bar);
    break;
  case BarrierMisuse::OverArrival:
    mbarrier_arrive_expect_tx(bar, 16); // arrivals done, bytes pending
    gMisuseLine = __LINE__ + 1;
    mbarrier_arrive(bar);
    break;
  case BarrierMisuse::TxOverflow:
    gMisuseLine = __LINE__ + 1;
    mbarrier_expect_tx(bar, 1u << 20);
    break;
  }
}

std::string misuseSite() {
  return "Sm90SyncTest.cpp:" + std::to_string(gMisuseLine);
}

TEST(MbarrierTest, WaitThatCanNeverCompleteIsADeadlock) {
  LaunchResult result =
      launchTimed(LaunchConfig("mbarrierMisuseKernel", 1, 64),
                  mbarrierMisuseKernel, BarrierMisuse::NeverArrives);
  expectContains(result, "deadlock");
  expectContains(result, "spin on mbarrier phases that never complete");
  expectContains(result, misuseSite() + " for parity 0");
}

TEST(MbarrierTest, MisusesAreReported) {
  LaunchConfig config("mbarrierMisuseKernel", 1, 64);
  expectContains(
      launchTimed(config, mbarrierMisuseKernel, BarrierMisuse::Uninitialised),
      misuseSite() + ": the mbarrier was never initialised");
  expectContains(
      launchTimed(config, mbarrierMisuseKernel, BarrierMisuse::OverArrival),
      misuseSite() + ": more arrivals than the 1 the phase expects");
  expectContains(
      launchTimed(config, mbarrierMisuseKernel, BarrierMisuse::TxOverflow),
      misuseSite() + ": pending transaction bytes leave the hardware's range");
}

//===----------------------------------------------------------------------===//
// Named barriers
//===----------------------------------------------------------------------===//

enum class NamedUse { ProducerConsumer, CountMismatch, TooFewArrive };

struct NamedParams {
  NamedUse use;
  float *out; // 128
};

__global__ void namedBarrierKernel(NamedParams p) {
  ATTN_SHARED(float, data, 128);
  unsigned group = warpgroup_index(), t = threadIdx.x % 128;
  switch (p.use) {
  case NamedUse::ProducerConsumer:
    // Two rounds through one barrier id: it resets after each completion.
    for (int round = 0; round < 2; ++round) {
      if (group == 0) {
        if (round)
          named_barrier_sync(2, 256); // consumers have read round 0
        data[t] = static_cast<float>(t * (round + 1));
        named_barrier_arrive(1, 256);
      } else {
        named_barrier_sync(1, 256);
        p.out[t] += data[(t + 1) % 128];
        if (!round)
          named_barrier_arrive(2, 256);
      }
    }
    break;
  case NamedUse::CountMismatch:
    named_barrier_sync(3, group == 0 ? 256 : 128);
    break;
  case NamedUse::TooFewArrive:
    if (group == 0)
      named_barrier_sync(4, 256);
    break;
  }
}

TEST(NamedBarrierTest, OrdersProducerAndConsumerWarpgroups) {
  std::vector<float> out(128, 0.0f);
  LaunchResult result = launchTimed(
      LaunchConfig("namedBarrierKernel", 1, 256), namedBarrierKernel,
      NamedParams{NamedUse::ProducerConsumer, out.data()});
  ASSERT_TRUE(result.ok()) << result.message();
  for (int t = 0; t < 128; ++t) // round 0 adds 1x, round 1 2x
    EXPECT_EQ(out[t], 3.0f * ((t + 1) % 128)) << t;
}

TEST(NamedBarrierTest, MisusesAreReported) {
  std::vector<float> out(128, 0.0f);
  LaunchConfig config("namedBarrierKernel", 1, 256);
  expectContains(launchTimed(config, namedBarrierKernel,
                             NamedParams{NamedUse::CountMismatch, out.data()}),
                 "named barrier 3 expects");
  LaunchResult result =
      launchTimed(config, namedBarrierKernel,
                  NamedParams{NamedUse::TooFewArrive, out.data()});
  expectContains(result, "deadlock");
  expectContains(result, "128 of 256 threads at named barrier 4");
}

//===----------------------------------------------------------------------===//
// elect.sync and setmaxnreg
//===----------------------------------------------------------------------===//

__global__ void electKernel(int *out) { out[threadIdx.x] = elect_one_sync(); }

TEST(WarpgroupTest, ElectOneSyncElectsTheLowestLane) {
  std::vector<int> out(96, -1);
  LaunchResult result =
      launchTimed(LaunchConfig("electKernel", 1, 96), electKernel, out.data());
  ASSERT_TRUE(result.ok()) << result.message();
  for (int t = 0; t < 96; ++t)
    EXPECT_EQ(out[t], t % 32 == 0) << "thread " << t;
}

__global__ void setmaxnregKernel(int) {
  if (warpgroup_index() == 0)
    setmaxnreg_dec<40>();
  else
    setmaxnreg_inc<232>();
}

TEST(WarpgroupTest, SetmaxnregNeedsWholeWarpgroups) {
  EXPECT_TRUE(
      launchTimed(LaunchConfig("setmaxnregKernel", 1, 256), setmaxnregKernel, 0)
          .ok());
  expectContains(
      launchTimed(LaunchConfig("setmaxnregKernel", 1, 96), setmaxnregKernel, 0),
      "the block is not made of whole warpgroups");
}

} // namespace
