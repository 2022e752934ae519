//===- EmuRunTest.cpp - end to end through the runtime on the emulator ----===//
//
// Variants compiled by the runtime and run with DLPack tensors in BHSD and
// BSHD memory order, ragged lengths (Nq = Nk = 333, not a multiple of any
// tile), checked against the float64 interpreter. Outputs are poisoned with
// NaN first so an unwritten element fails.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestSupport.h"

#include "attn/RuntimeMLIR.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace attn;
using namespace attn::test;

namespace {

/// f16 inputs, f32 arithmetic: attn-run's emu tolerance.
constexpr double kTolF16 = 2e-3;

struct Case {
  std::string example;
  bool bshd;
  bool compact; // strides == NULL
  uint64_t seed;
};

void runCase(const Case &c) {
  SCOPED_TRACE(c.example + (c.bshd ? " bshd" : " bhsd"));
  Reference ref = makeReference(readExample(c.example), 333, 333, c.seed);
  ASSERT_FALSE(ref.results.empty());
  Runtime rt(testConfig(sharedCacheDir()));
  CompileOptions options;
  options.device = DeviceKind::Emu;
  auto plan = rt.compileText(readExample(c.example), options, c.example);
  ASSERT_TRUE(plan) << plan.message();

  const Signature &sig = plan->signature();
  std::vector<std::unique_ptr<HostTensor>> tensors;
  auto tensorFor = [&](const ArgumentSignature &a,
                       const attn::interp::Tensor &value, bool layout) {
    tensors.push_back(std::make_unique<HostTensor>(
        value.shape, a.dtype, layout && c.bshd, c.compact && !c.bshd));
    tensors.back()->fill(value.data);
    return tensors.back().get();
  };
  Arguments args;
  args.q = &tensorFor(sig.inputs[0], ref.inputs[0], true)->dl;
  args.k = &tensorFor(sig.inputs[1], ref.inputs[1], true)->dl;
  args.v = &tensorFor(sig.inputs[2], ref.inputs[2], true)->dl;
  for (size_t i = 3; i < sig.inputs.size(); ++i) {
    if (sig.inputs[i].isTensor)
      args.captures.push_back(
          Capture::of(&tensorFor(sig.inputs[i], ref.inputs[i], false)->dl));
    else
      args.captures.push_back(Capture::scalar(ref.inputs[i].data[0]));
  }
  HostTensor *o = tensorFor(sig.outputs[0], ref.results[0], true);
  o->poison();
  args.o = &o->dl;
  HostTensor *lse = nullptr;
  if (sig.hasLse()) {
    lse = tensorFor(sig.outputs[1], ref.results[1], false);
    lse->poison();
    args.lse = &lse->dl;
  }
  RunStats stats;
  RunOptions runOptions;
  runOptions.countGlobalAccesses = true;
  Status s = plan->run(args, runOptions, &stats);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(stats.device, DeviceKind::Emu);
  EXPECT_GT(stats.globalBytesRead, 0u);
  EXPECT_GT(stats.globalBytesWritten, 0u);
  EXPECT_LT(relativeError(o->read(), ref.results[0].data), kTolF16);
  if (lse)
    EXPECT_LT(relativeError(lse->read(), ref.results[1].data), 1e-5);
}

TEST(EmuRunTest, CausalBhsd) { runCase({"causal.mlir", false, false, 11}); }
TEST(EmuRunTest, CausalBshd) { runCase({"causal.mlir", true, false, 12}); }
TEST(EmuRunTest, GqaBshd) { runCase({"gqa.mlir", true, false, 13}); }
TEST(EmuRunTest, AlibiCaptureCompact) {
  runCase({"alibi.mlir", false, true, 14});
}

/// q, k and v of `ref` as f16 tensors in BHSD order, and arguments that
/// point at them (o and lse to be set).
struct Inputs {
  std::unique_ptr<HostTensor> q, k, v;
  Arguments args;
};
Inputs f16Inputs(const Reference &ref) {
  Inputs in;
  std::unique_ptr<HostTensor> *slots[] = {&in.q, &in.k, &in.v};
  const DLTensor **args[] = {&in.args.q, &in.args.k, &in.args.v};
  for (int i = 0; i < 3; ++i) {
    *slots[i] = std::make_unique<HostTensor>(ref.inputs[i].shape, kF16, false);
    (*slots[i])->fill(ref.inputs[i].data);
    *args[i] = &(*slots[i])->dl;
  }
  return in;
}

/// The example `name` compiled by `rt` for the emulator.
Expected<Plan> emuPlanOf(Runtime &rt, const std::string &name) {
  CompileOptions options;
  options.device = DeviceKind::Emu;
  return rt.compileText(readExample(name), options);
}

TEST(EmuRunTest, LseWorkspaceWhenTheCallerPassesNone) {
  Reference ref = makeReference(readExample("causal.mlir"), 70, 70, 15);
  Runtime rt(testConfig(sharedCacheDir()));
  auto plan = emuPlanOf(rt, "causal.mlir");
  ASSERT_TRUE(plan) << plan.message();
  Inputs in = f16Inputs(ref);
  HostTensor o(ref.results[0].shape, kF16, false);
  o.poison();
  Arguments args = in.args;
  args.o = &o.dl;
  Status s = plan->run(args);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_LT(relativeError(o.read(), ref.results[0].data), kTolF16);
}

// What a tool asks of an emu run beyond the result: KV tiles per class,
// memcheck findings as data, a ThreadSanitizer pass, and the split count of
// a plan whose count is chosen at launch.
TEST(EmuRunTest, RunOptionsCountCheckAndFixTheSplitCount) {
  Reference ref = makeReference(readExample("causal.mlir"), 200, 200, 17);
  Runtime rt(testConfig(sharedCacheDir()));
  auto plan = emuPlanOf(rt, "causal.mlir");
  ASSERT_TRUE(plan) << plan.message();
  Inputs in = f16Inputs(ref);
  HostTensor o(ref.results[0].shape, kF16, false);
  o.poison();
  Arguments args = in.args;
  args.o = &o.dl;
  RunOptions run;
  run.countTiles = true;
  run.memcheck = true;
  run.memcheckReports = true;
  run.raceCheck = true;
  run.splitKv = SplitKvMode::Always;
  run.kvSplits = 3;
  RunStats stats;
  Status s = plan->run(args, run, &stats);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(stats.splitKv);
  EXPECT_EQ(stats.splits, 3) << stats.planReason;
  EXPECT_NE(stats.planReason.find("3 splits (RunOptions::kvSplits)"),
            std::string::npos)
      << stats.planReason;
  EXPECT_GT(stats.tilesFull, 0u);
  EXPECT_GT(stats.tilesPartial, 0u);
  EXPECT_EQ(stats.memoryViolationCount, 0u);
  EXPECT_TRUE(stats.memoryViolations.empty());
  EXPECT_TRUE(stats.raceReports.empty()) << stats.raceReports.front();
  EXPECT_EQ(stats.dataRaces, 0u);
  EXPECT_GT(stats.raceSeconds, 0);
  EXPECT_LT(relativeError(o.read(), ref.results[0].data), kTolF16);

  // A count the merge kernel cannot hold, and a negative one, are errors.
  run.raceCheck = false;
  for (int64_t splits : {int64_t(1000), int64_t(-2)}) {
    run.kvSplits = splits;
    s = plan->run(args, run, &stats);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("RunOptions::kvSplits is " +
                               std::to_string(splits)),
              std::string::npos)
        << s.message();
  }
}

// O rows one element longer than the head dim (a pitch of 65 f16, so no row
// starts 16-byte aligned): the epilogue's 16-byte row stores cannot apply
// and store_tile writes element by element. The pitch's extra element keeps
// its poison: nothing is written past a row.
TEST(EmuRunTest, OutputRowsNotSixteenByteAligned) {
  Reference ref = makeReference(readExample("causal.mlir"), 150, 170, 16);
  Runtime rt(testConfig(sharedCacheDir()));
  CompileOptions options;
  options.device = DeviceKind::Emu;
  auto plan = rt.compileText(readExample("causal.mlir"), options);
  ASSERT_TRUE(plan) << plan.message();
  Inputs in = f16Inputs(ref);
  std::vector<int64_t> shape = ref.results[0].shape, padded = shape;
  int64_t d = shape[3];
  padded[3] = d + 1;
  HostTensor storage(padded, kF16, false);
  storage.poison();
  DLTensor o = storage.dl;
  o.shape = shape.data(); // the padded tensor's strides, the real shape
  Arguments args = in.args;
  args.o = &o;
  RunStats stats;
  RunOptions runOptions;
  runOptions.countGlobalAccesses = true;
  Status s = plan->run(args, runOptions, &stats);
  ASSERT_TRUE(s.ok()) << s.message();
  // One 2-byte store per element of o, one 4-byte store per lse row.
  int64_t elements = shape[0] * shape[1] * shape[2] * d;
  EXPECT_EQ(stats.globalStores,
            static_cast<uint64_t>(elements + shape[0] * shape[1] * shape[2]));
  std::vector<double> all = storage.read(), written;
  size_t pads = 0, nonFinitePads = 0;
  for (size_t e = 0; e < all.size(); ++e) {
    if (static_cast<int64_t>(e % (d + 1)) < d) {
      written.push_back(all[e]);
    } else {
      ++pads;
      nonFinitePads += !std::isfinite(all[e]);
    }
  }
  EXPECT_LT(relativeError(written, ref.results[0].data), kTolF16);
  EXPECT_EQ(nonFinitePads, pads);
}

// sm_90a: the wgmma kernel stages K and V by TMA, each tensor only when
// TMA can address it (tma_view_ok; the packer zeroes the map otherwise):
// K with 130-byte rows and V 2 bytes past a 16-byte boundary take cp.async
// (its scalar path) in the same kernel, and both runs match the reference.
TEST(EmuRunTest, Sm90aStagesByTmaWhereTheTensorsAllowIt) {
  Reference ref = makeReference(readExample("causal.mlir"), 150, 170, 21);
  Runtime rt(testConfig(sharedCacheDir()));
  CompileOptions options;
  options.device = DeviceKind::Emu;
  options.arch = "sm_90a";
  auto plan = rt.compileText(readExample("causal.mlir"), options);
  ASSERT_TRUE(plan) << plan.message();
  const std::string &source = plan->kernel().source;
  EXPECT_NE(source.find("tma_load_4d("), std::string::npos);
  EXPECT_NE(source.find("TensorMap k_map;"), std::string::npos);

  Inputs in = f16Inputs(ref);
  auto run = [&](const Arguments &args) {
    HostTensor o(ref.results[0].shape, kF16, false);
    o.poison();
    Arguments withO = args;
    withO.o = &o.dl;
    Status s = plan->run(withO, RunOptions(), nullptr);
    EXPECT_TRUE(s.ok()) << s.message();
    EXPECT_LT(relativeError(o.read(), ref.results[0].data), kTolF16);
  };
  run(in.args);

  // K's rows 65 elements apart; V one element into its storage.
  std::vector<int64_t> shape = ref.inputs[1].shape, padded = shape;
  int64_t d = shape[3], rows = shape[0] * shape[1] * shape[2];
  padded[3] = d + 1;
  HostTensor kStorage(padded, kF16, false);
  std::vector<double> kValues, vValues = {1.0};
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < d; ++c)
      kValues.push_back(ref.inputs[1].data[r * d + c]);
    kValues.push_back(1e4); // never read
  }
  kStorage.fill(kValues);
  DLTensor k = kStorage.dl;
  k.shape = shape.data();
  vValues.insert(vValues.end(), ref.inputs[2].data.begin(),
                 ref.inputs[2].data.end());
  HostTensor vStorage({static_cast<int64_t>(vValues.size())}, kF16, false);
  vStorage.fill(vValues);
  DLTensor v = vStorage.dl;
  v.ndim = 4;
  v.shape = shape.data();
  v.strides = nullptr;
  v.byte_offset = 2;
  Arguments unaligned = in.args;
  unaligned.k = &k;
  unaligned.v = &v;
  run(unaligned);
}

TEST(EmuRunTest, AutoFallsBackToTheEmulatorWithANotice) {
  std::vector<std::string> lines;
  Runtime rt(testConfig(sharedCacheDir(), &lines));
  auto device = rt.resolveDevice(DeviceKind::Auto);
  ASSERT_TRUE(device);
  if (*device == DeviceKind::Cuda)
    GTEST_SKIP() << "a GPU is visible: auto resolves to cuda here";
  EXPECT_EQ(*device, DeviceKind::Emu);
  // The notice is once per process (another test may have triggered it).
  ASSERT_LE(lines.size(), 1u);
  if (!lines.empty())
    EXPECT_NE(lines[0].find("device auto runs on the CPU emulator"),
              std::string::npos)
        << lines[0];
  auto buffer = rt.allocate(DeviceKind::Auto, 1000);
  ASSERT_TRUE(buffer) << buffer.message();
  EXPECT_EQ(buffer->dlDevice().device_type, kDLCPU);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer->data()) % 256, 0u);
  std::vector<char> bytes(1000, 7), back(1000, 0);
  EXPECT_TRUE(buffer->copyFromHost(bytes.data(), bytes.size()).ok());
  EXPECT_TRUE(buffer->copyToHost(back.data(), back.size()).ok());
  EXPECT_EQ(bytes, back);
  EXPECT_FALSE(buffer->copyToHost(back.data(), 10, 995).ok());
}

} // namespace

namespace {

TEST(EmuRunTest, CompileAnInMemoryModule) {
  Reference ref = makeReference(readExample("causal.mlir"), 45, 45, 16);
  ASSERT_TRUE(ref.module);
  Runtime rt(testConfig(sharedCacheDir()));
  CompileOptions options;
  options.device = DeviceKind::Emu;
  auto plan = compileModule(rt, *ref.module, options);
  ASSERT_TRUE(plan) << plan.message();
  auto again = compileModule(rt, *ref.module, options);
  ASSERT_TRUE(again) << again.message();
  EXPECT_EQ(rt.stats().memoryHits, 1u) << "keyed by the printed module";
  EXPECT_LE(rt.stats().frontendRuns, 1u);
  DLDataType f16{kDLFloat, 16, 1};
  HostTensor q(ref.inputs[0].shape, f16, true), k(ref.inputs[1].shape, f16,
                                                  true),
      v(ref.inputs[2].shape, f16, true), o(ref.results[0].shape, f16, true);
  q.fill(ref.inputs[0].data);
  k.fill(ref.inputs[1].data);
  v.fill(ref.inputs[2].data);
  o.poison();
  Arguments args;
  args.q = &q.dl;
  args.k = &k.dl;
  args.v = &v.dl;
  args.o = &o.dl;
  Status s = plan->run(args);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_LT(relativeError(o.read(), ref.results[0].data), kTolF16);
}

} // namespace
