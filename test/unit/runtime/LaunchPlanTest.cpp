//===- LaunchPlanTest.cpp - plans of several kernels through the runtime --===//
//
// The runtime launches whole launch plans: the tile-summaries kernel before
// a document mask's main kernel, and the split-KV plan (partials + merge,
// with their workspaces), a second lowering of the variant compiled on the
// first run that picks it, and the 64-row plan of a 128-row plan for short
// Nq, compiled likewise. Which plan runs is chosen per run from the
// lengths (or forced); results are checked against the float64
// interpreter. Also: plans of several kernels round-trip through the disk
// cache, and plan entries of the previous format are rebuilt, not misread.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestSupport.h"

#include "DiskCache.h"
#include "EmbeddedHeaders.h"
#include "Keys.h"
#include "PlanSpec.h"

#include "attn/Passes/Passes.h"
#include "attn/RuntimeMLIR.h"
#include "attn/Support/KvSplits.h"
#include "attn/Support/TuningDb.h"
#include "attn/Passes/Fingerprint.h"

#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <cstring>

using namespace attn;
using namespace attn::test;

namespace {

/// f16 inputs, f32 arithmetic: attn-run's emu tolerance.
constexpr double kTolF16 = 2e-3;

/// Host tensors for one run of a variant, filled from a reference.
struct Problem {
  Reference ref;
  std::vector<std::unique_ptr<HostTensor>> tensors;
  Arguments args;
  HostTensor *o = nullptr, *lse = nullptr;

  /// q, k, v and o in BSHD memory order (else BHSD).
  bool bshd = false;

  Problem(const std::string &example, int64_t nq, int64_t nk, uint64_t seed)
      : ref(makeReference(readExample(example), nq, nk, seed)) {}
  /// A variant given as text.
  struct Text {
    std::string text;
  };
  Problem(const Text &variant, int64_t nq, int64_t nk, uint64_t seed)
      : ref(makeReference(variant.text, nq, nk, seed)) {}

  /// Binds the tensors for `plan` (outputs poisoned with NaN).
  void bind(const Plan &plan) {
    const Signature &sig = plan.signature();
    auto make = [&](const ArgumentSignature &a,
                    const attn::interp::Tensor &value) {
      tensors.push_back(std::make_unique<HostTensor>(
          value.shape, a.dtype, bshd && value.shape.size() == 4));
      tensors.back()->fill(value.data);
      return tensors.back().get();
    };
    args = Arguments();
    args.q = &make(sig.inputs[0], ref.inputs[0])->dl;
    args.k = &make(sig.inputs[1], ref.inputs[1])->dl;
    args.v = &make(sig.inputs[2], ref.inputs[2])->dl;
    for (size_t i = 3; i < sig.inputs.size(); ++i)
      args.captures.push_back(
          sig.inputs[i].isTensor
              ? Capture::of(&make(sig.inputs[i], ref.inputs[i])->dl)
              : Capture::scalar(ref.inputs[i].data[0]));
    o = make(sig.outputs[0], ref.results[0]);
    o->poison();
    args.o = &o->dl;
    lse = nullptr;
    if (sig.hasLse()) {
      lse = make(sig.outputs[1], ref.results[1]);
      lse->poison();
      args.lse = &lse->dl;
    }
  }

  /// Runs `plan` and checks o (and lse) against the interpreter.
  RunStats runAndCheck(const Plan &plan, SplitKvMode mode) {
    bind(plan);
    RunOptions options;
    options.splitKv = mode;
    RunStats stats;
    Status s = plan.run(args, options, &stats);
    EXPECT_TRUE(s.ok()) << s.message();
    EXPECT_LT(relativeError(o->read(), ref.results[0].data), kTolF16);
    if (lse)
      EXPECT_LT(relativeError(lse->read(), ref.results[1].data), 1e-5);
    return stats;
  }
};

CompileOptions emuOptions() {
  CompileOptions o;
  o.device = DeviceKind::Emu;
  return o;
}

std::vector<std::string> names(const std::vector<KernelInfo> &kernels) {
  std::vector<std::string> out;
  for (const KernelInfo &k : kernels)
    out.push_back(k.name);
  return out;
}

using Names = std::vector<std::string>;

TEST(LaunchPlanTest, DecodingPicksTheSplitKvPlan) {
  Runtime rt(testConfig(sharedCacheDir()));
  auto plan =
      rt.compileText(readExample("causal_bottom_right.mlir"), emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  EXPECT_EQ(names(plan->kernels()), Names{"attn_causal_bottom_right"});
  EXPECT_EQ(rt.stats().splitKvCompiles, 0u) << "compiled on first use only";
  // B = 1, Hq = 8, one query: 8 CTAs for the emulator's 132 "SMs"; 1000
  // keys are 16 64-key tiles, two per split for 8 splits (64 CTAs).
  Problem p("causal_bottom_right.mlir", 1, 1000, 31);
  RunStats stats = p.runAndCheck(*plan, SplitKvMode::Default);
  EXPECT_TRUE(stats.splitKv) << stats.planReason;
  EXPECT_EQ(stats.splits, 8) << stats.planReason;
  EXPECT_EQ(stats.kernels, (Names{"attn_causal_bottom_right_partials",
                                  "attn_causal_bottom_right_merge"}));
  // One query: the 16-row plan (one warp), split.
  EXPECT_EQ(stats.blockM, 16);
  EXPECT_EQ(stats.planReason.rfind("16 rows: Nq = 1 <= 16; auto: split-KV: "
                                   "the plain grid has 8 CTAs for 132 SMs; 8 "
                                   "splits of 2 of 16 KV tiles: 64 CTAs",
                                   0),
            0u)
      << stats.planReason;
  EXPECT_EQ(rt.stats().splitKvCompiles, 1u);
  EXPECT_EQ(rt.stats().shortRowsCompiles, 1u);

  // Other lengths, other split counts: the same compiled plan (the count
  // is a launch parameter). 300 keys: 5 tiles, 2 splits.
  Problem fewKeys("causal_bottom_right.mlir", 1, 300, 35);
  stats = fewKeys.runAndCheck(*plan, SplitKvMode::Default);
  EXPECT_EQ(stats.splits, 2) << stats.planReason;
  EXPECT_EQ(rt.stats().splitKvCompiles, 1u) << "no split count compiles";
  // 200 queries of 8 heads with 4000 keys: the 64-row plan (four tiles per
  // head: 32 CTAs) and its own split-KV plan; 4 splits would make 128 CTAs
  // (SMs left idle), 7 make 224.
  Problem rows("causal_bottom_right.mlir", 200, 4000, 36);
  stats = rows.runAndCheck(*plan, SplitKvMode::Default);
  EXPECT_EQ(stats.blockM, 64);
  EXPECT_EQ(stats.splits, 7) << stats.planReason;
  EXPECT_EQ(rt.stats().splitKvCompiles, 2u) << "one per Q-tile rows";

  // Forced plain, the same shape: the plain kernel alone.
  stats = p.runAndCheck(*plan, SplitKvMode::Never);
  EXPECT_FALSE(stats.splitKv);
  EXPECT_EQ(stats.kernels, Names{"attn_causal_bottom_right"});
  EXPECT_EQ(stats.planReason, "16 rows: Nq = 1 <= 16; split-KV never (forced)");
  EXPECT_EQ(rt.stats().splitKvCompiles, 2u) << "the split plan is cached";

  auto split = plan->splitKvKernels();
  ASSERT_TRUE(split) << split.message();
  ASSERT_EQ(split->size(), 2u);
  EXPECT_EQ((*split)[0].role, KernelRole::SplitPartials);
  EXPECT_EQ((*split)[0].splits, 0) << "chosen at launch";
  EXPECT_EQ((*split)[0].maxSplits, 64);
  EXPECT_EQ((*split)[1].role, KernelRole::SplitMerge);
  EXPECT_EQ((*split)[0].cacheKey, (*split)[1].cacheKey) << "one artifact";
}

/// GQA (8 query heads on 2 KV heads) whose score and mask read every index
/// packing recomputes: an ALiBi bias with a per-head slope over the
/// bottom-right distance (h, i, nq, nk), a bottom-right causal window of 100
/// keys, and lse.
constexpr const char *kGqaAlibiWindow = R"mlir(
func.func @gqa_alibi_window(%q: tensor<?x8x?x64xf16>, %k: tensor<?x2x?x64xf16>,
    %v: tensor<?x2x?x64xf16>,
    %slopes: tensor<8xf32> {attn.gen = #attn.gen<uniform, 0.0039, 1.0>})
    -> (tensor<?x8x?x64xf16>, tensor<?x8x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v captures(%slopes : tensor<8xf32>)
      {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16>
      -> tensor<?x8x?x64xf16>, tensor<?x8x?xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index,
           %nk: index, %sl: tensor<8xf32>):
        %slope = tensor.extract %sl[%h] : tensor<8xf32>
        %row = arith.addi %i, %nk : index
        %col = arith.addi %j, %nq : index
        %ii = arith.index_cast %row : index to i64
        %jj = arith.index_cast %col : index to i64
        %d = arith.subi %jj, %ii : i64
        %df = arith.sitofp %d : i64 to f32
        %bias = arith.mulf %slope, %df : f32
        %r = arith.addf %s, %bias : f32
        attn.yield %r : f32
      }
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index,
           %sl: tensor<8xf32>):
        %w = arith.constant 100 : index
        %row = arith.addi %i, %nk : index
        %col = arith.addi %j, %nq : index
        %causal = arith.cmpi ule, %col, %row : index
        %far = arith.addi %col, %w : index
        %near = arith.cmpi ugt, %far, %row : index
        %attend = arith.andi %causal, %near : i1
        attn.yield %attend : i1
      }
  return %o, %lse : tensor<?x8x?x64xf16>, tensor<?x8x?xf32>
}
)mlir";

TEST(LaunchPlanTest, DecodingPacksTheQueryHeadsOfAGqaGroup) {
  Runtime rt(testConfig(sharedCacheDir()));
  auto plan = rt.compileText(readExample("gqa.mlir"), emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  // 8 query heads on 2 KV heads: a Q tile of one KV head holds the rows of
  // its 4 query heads, so K/V are read once per KV head: 16 rows (one warp)
  // while the group's rows fit, else 64 (16 queries: 64 rows).
  for (int64_t nq : {1, 3, 16}) {
    SCOPED_TRACE("nq = " + std::to_string(nq));
    int64_t rows = nq * 4 <= 16 ? 16 : 64;
    Problem p("gqa.mlir", nq, 333, 70 + nq);
    RunStats stats = p.runAndCheck(*plan, SplitKvMode::Default);
    EXPECT_EQ(stats.packedGroup, 4);
    EXPECT_EQ(stats.blockM, rows);
    EXPECT_EQ(stats.planReason.rfind(
                  std::to_string(rows) +
                      " rows, 4 query heads per KV head packed into them (" +
                      std::to_string(4 * nq) + " rows): Nq = " +
                      std::to_string(nq) + " <= 16; ",
                  0),
              0u)
        << stats.planReason;
    EXPECT_EQ(p.runAndCheck(*plan, SplitKvMode::Never).packedGroup, 4);
    EXPECT_TRUE(p.runAndCheck(*plan, SplitKvMode::Always).splitKv);
  }
  EXPECT_EQ(rt.stats().packedCompiles, 2u) << "16 and 64 rows, then cached";
  EXPECT_EQ(rt.stats().packedUnavailable, 0u);

  // Counted bytes: the mask is top-left causal, so one query attends key 0
  // only: the first 64-key tile of K and V once per KV head (Hkv 2, f16,
  // 64 + 64 features), and Q once; no split (no workspace). Memcheck: every
  // access within the caller's tensors (through the packed views).
  Problem counted("gqa.mlir", 1, 333, 90);
  counted.bind(*plan);
  RunOptions options;
  options.splitKv = SplitKvMode::Never;
  options.countGlobalAccesses = true;
  options.memcheck = true;
  RunStats stats;
  Status ran = plan->run(counted.args, options, &stats);
  ASSERT_TRUE(ran.ok()) << ran.message();
  uint64_t kv = 2 * 64 * (64 + 64) * 2, q = 8 * 64 * 2;
  EXPECT_EQ(stats.globalBytesRead, kv + q);

  // 17 queries are not decoding.
  Problem longer("gqa.mlir", 17, 333, 91);
  EXPECT_EQ(longer.runAndCheck(*plan, SplitKvMode::Default).packedGroup, 1);
  // BSHD: one query per head is one row per head, packed; with three the
  // heads' rows interleave and the unpacked 16-row plan runs.
  Problem one("gqa.mlir", 1, 333, 92);
  one.bshd = true;
  EXPECT_EQ(one.runAndCheck(*plan, SplitKvMode::Default).packedGroup, 4);
  Problem three("gqa.mlir", 3, 333, 93);
  three.bshd = true;
  stats = three.runAndCheck(*plan, SplitKvMode::Default);
  EXPECT_EQ(stats.packedGroup, 1);
  EXPECT_EQ(stats.blockM, 16);
  EXPECT_NE(stats.planReason.find("(GQA not packed: q's query heads do not "
                                  "follow one another"),
            std::string::npos)
      << stats.planReason;
}

TEST(LaunchPlanTest, PackedRegionsSeeTheirOwnHeadsRowsAndLengths) {
  Runtime rt(testConfig(sharedCacheDir()));
  auto plan = rt.compileText(kGqaAlibiWindow, emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  for (int64_t nq : {1, 5, 16})
    for (int64_t nk : {1, 333}) {
      SCOPED_TRACE("nq = " + std::to_string(nq) + ", nk = " +
                   std::to_string(nk));
      Problem p(Problem::Text{kGqaAlibiWindow}, nq, nk, 100 + nq + nk);
      RunStats stats = p.runAndCheck(*plan, SplitKvMode::Default);
      EXPECT_EQ(stats.packedGroup, 4) << stats.planReason;
      EXPECT_EQ(p.runAndCheck(*plan, SplitKvMode::Always).packedGroup, 4);
    }
}

TEST(LaunchPlanTest, SinkLogitsFollowThePackedRows) {
  // gpt-oss's shape of attention: 64 query heads on 8 KV heads, one learned
  // sink logit per query head; packed, each row reads its own head's.
  Runtime rt(testConfig(sharedCacheDir()));
  auto plan = rt.compileText(readExample("sink_logits.mlir"), emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  for (int64_t nq : {1, 2}) {
    Problem p("sink_logits.mlir", nq, 200, 120 + nq);
    RunStats stats = p.runAndCheck(*plan, SplitKvMode::Default);
    EXPECT_EQ(stats.packedGroup, 8) << stats.planReason;
    EXPECT_EQ(p.runAndCheck(*plan, SplitKvMode::Never).packedGroup, 8);
  }
}

/// GQA with a bias per query row, sized by nq: packing would hand it the
/// packed row count.
constexpr const char *kRowBias = R"mlir(
func.func @row_bias(%q: tensor<?x8x?x64xf16>, %k: tensor<?x2x?x64xf16>,
    %v: tensor<?x2x?x64xf16>, %bias: tensor<?xf32> {attn.dims = ["nq"]})
    -> tensor<?x8x?x64xf16> {
  %o = attn.attention %q, %k, %v captures(%bias : tensor<?xf32>)
      {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16>
      -> tensor<?x8x?x64xf16>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index,
           %nk: index, %bb: tensor<?xf32>):
        %x = tensor.extract %bb[%i] : tensor<?xf32>
        %r = arith.addf %s, %x : f32
        attn.yield %r : f32
      }
  return %o : tensor<?x8x?x64xf16>
}
)mlir";

TEST(LaunchPlanTest, VariantsPackingRefusesRunUnpacked) {
  // The unpacked 16-row plan runs, and says why.
  Runtime rt(testConfig(sharedCacheDir()));
  auto plan = rt.compileText(kRowBias, emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  Problem p(Problem::Text{kRowBias}, 2, 200, 130);
  RunStats stats = p.runAndCheck(*plan, SplitKvMode::Default);
  EXPECT_EQ(stats.packedGroup, 1);
  EXPECT_EQ(stats.blockM, 16);
  EXPECT_NE(stats.planReason.find("(GQA not packed: GQA packing: capture "
                                  "argument 3 has a dimension bound to nq)"),
            std::string::npos)
      << stats.planReason;
  EXPECT_EQ(rt.stats().packedUnavailable, 1u);
}

TEST(LaunchPlanTest, SixteenQueriesOfSoftmaxSplitToo) {
  Runtime rt(testConfig(sharedCacheDir()));
  auto plan = rt.compileText(readExample("softmax.mlir"), emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  Problem p("softmax.mlir", 16, 1000, 32);
  RunStats stats = p.runAndCheck(*plan, SplitKvMode::Auto);
  EXPECT_TRUE(stats.splitKv) << stats.planReason;
  EXPECT_EQ(stats.kernels,
            (Names{"attn_softmax_partials", "attn_softmax_merge"}));
}

TEST(LaunchPlanTest, FullGridsAndShortKeysPickThePlainPlan) {
  // 8 "SMs": Nq = 128 makes 1 x 8 = 8 CTAs of 128 rows, which fill them.
  RuntimeConfig config = testConfig(sharedCacheDir());
  config.emuMultiprocessors = 8;
  Runtime rt(config);
  auto plan =
      rt.compileText(readExample("causal_bottom_right.mlir"), emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  Problem longQ("causal_bottom_right.mlir", 128, 1000, 33);
  RunStats stats = longQ.runAndCheck(*plan, SplitKvMode::Auto);
  EXPECT_FALSE(stats.splitKv);
  EXPECT_EQ(stats.kernels, Names{"attn_causal_bottom_right"});
  EXPECT_EQ(stats.blockM, 128);
  EXPECT_EQ(stats.planReason, "128 rows: the 128-row grid has 8 CTAs for 8 "
                              "SMs; auto: plain: the plain grid has 8 CTAs "
                              "for 8 SMs (>= 80%)");
  // Forced split on the same shape: partials and merge, same result.
  stats = longQ.runAndCheck(*plan, SplitKvMode::Always);
  EXPECT_TRUE(stats.splitKv);
  EXPECT_EQ(stats.splits, 2);
  EXPECT_EQ(stats.planReason.rfind("128 rows: the 128-row grid has 8 CTAs for "
                                   "8 SMs; split-KV always (forced): ",
                                   0),
            0u)
      << stats.planReason;

  // One query but 100 keys: with the emulator's 132 "SMs" for 8 CTAs, a
  // split would still get less than two 64-key tiles.
  Runtime defaults(testConfig(sharedCacheDir()));
  auto plain = defaults.compileText(readExample("causal_bottom_right.mlir"),
                                    emuOptions());
  ASSERT_TRUE(plain) << plain.message();
  Problem shortK("causal_bottom_right.mlir", 1, 100, 34);
  stats = shortK.runAndCheck(*plain, SplitKvMode::Auto);
  EXPECT_FALSE(stats.splitKv);
  EXPECT_EQ(stats.planReason, "16 rows: Nq = 1 <= 16; auto: plain: the plain "
                              "grid has 8 CTAs for 132 SMs, but 2 KV tiles "
                              "(two per split) and 32 splits at most");
}

TEST(LaunchPlanTest, EachPlanKeepsItsMostSplits) {
  // Compiled with kvSplits 32, then 2: the second plan's launches use at
  // most 2 splits though both share the compiled kernels (disk entries).
  Runtime rt(testConfig(sharedCacheDir()));
  auto wide = rt.compileText(readExample("causal_bottom_right.mlir"),
                             emuOptions());
  ASSERT_TRUE(wide) << wide.message();
  CompileOptions two = emuOptions();
  two.kvSplits = 2;
  auto narrow = rt.compileText(readExample("causal_bottom_right.mlir"), two);
  ASSERT_TRUE(narrow) << narrow.message();
  Problem p("causal_bottom_right.mlir", 1, 1000, 43);
  EXPECT_EQ(p.runAndCheck(*wide, SplitKvMode::Auto).splits, 8);
  RunStats stats = p.runAndCheck(*narrow, SplitKvMode::Auto);
  EXPECT_EQ(stats.splits, 2) << stats.planReason;
}

TEST(LaunchPlanTest, SplitCountHeuristic) {
  // A full grid never splits; a forced split takes 2 at least.
  EXPECT_EQ(chooseKvSplits(132, 128, 132, 32).splits, 1);
  EXPECT_EQ(chooseKvSplits(106, 128, 132, 32).splits, 1); // >= 80%
  EXPECT_EQ(chooseKvSplits(132, 128, 132, 32, /*force=*/true).splits, 2);
  // Llama-3-8B decode without GQA packing: 32 CTAs, 128 KV tiles; 4 splits
  // make 128 CTAs of 132 (0.97 of a wave) but leave 4 SMs idle: 7 splits
  // (224 CTAs, 0.85 of two waves, within 85% of the best) give every SM one.
  KvSplitChoice llama = chooseKvSplits(32, 128, 132, 32);
  EXPECT_EQ(llama.splits, 7);
  EXPECT_EQ(llama.reason, "the plain grid has 32 CTAs for 132 SMs; 7 splits "
                          "of 19 of 128 KV tiles: 224 CTAs, last wave 0.85 "
                          "full (at most 32 splits) (4 would leave SMs "
                          "without a CTA)");
  // Packed (8 CTAs, one per KV head): 15 splits fill 0.91 of a wave with
  // 120 CTAs; 32 (256 CTAs) is the first as good that fills every SM.
  EXPECT_EQ(chooseKvSplits(8, 128, 132, 32).splits, 32);
  // One CTA (B = 1, one KV head packed): as many splits as SMs allow, the
  // cap and two tiles per split.
  EXPECT_EQ(chooseKvSplits(1, 128, 132, 32).splits, 32);
  EXPECT_EQ(chooseKvSplits(1, 128, 132, 64).splits, 64);
  EXPECT_EQ(chooseKvSplits(1, 20, 132, 64).splits, 10);
  // Counts that give every split as many tiles as one split fewer are
  // skipped: 10 tiles over 4 or 5 splits are 3 and 2 per split; 8 CTAs on
  // 20 SMs: 2 splits fill 0.8, the 0.85 x best bar is met first by 5.
  EXPECT_EQ(chooseKvSplits(8, 10, 20, 5).splits, 5);
  EXPECT_EQ(chooseKvSplits(8, 2, 132, 32).splits, 1);
}

TEST(LaunchPlanTest, TheRuntimeSettingAndTheEnvironment) {
  RuntimeConfig config = testConfig(sharedCacheDir());
  config.splitKv = SplitKvMode::Never;
  Runtime rt(config);
  auto plan =
      rt.compileText(readExample("causal_bottom_right.mlir"), emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  Problem p("causal_bottom_right.mlir", 1, 1000, 35);
  EXPECT_FALSE(p.runAndCheck(*plan, SplitKvMode::Default).splitKv);
  EXPECT_TRUE(p.runAndCheck(*plan, SplitKvMode::Auto).splitKv)
      << "RunOptions overrides the runtime's setting";

  const char *saved = std::getenv("ATTN_SPLIT_KV");
  std::string savedValue = saved ? saved : "";
  for (auto [text, mode] : {std::pair{"always", SplitKvMode::Always},
                            std::pair{"never", SplitKvMode::Never},
                            std::pair{"auto", SplitKvMode::Auto},
                            std::pair{"sometimes", SplitKvMode::Auto}}) {
    setenv("ATTN_SPLIT_KV", text, 1);
    EXPECT_EQ(RuntimeConfig::fromEnvironment().splitKv, mode) << text;
  }
  if (saved)
    setenv("ATTN_SPLIT_KV", savedValue.c_str(), 1);
  else
    unsetenv("ATTN_SPLIT_KV");
}

TEST(LaunchPlanTest, VariantsWithoutASplitPlanRunThePlainOne) {
  Runtime rt(testConfig(sharedCacheDir()));
  // kvSplits < 2: no split-KV plan at all, even when forced.
  CompileOptions none = emuOptions();
  none.kvSplits = 1;
  auto plan = rt.compileText(readExample("causal_bottom_right.mlir"), none);
  ASSERT_TRUE(plan) << plan.message();
  Problem p("causal_bottom_right.mlir", 1, 1000, 36);
  RunStats stats = p.runAndCheck(*plan, SplitKvMode::Always);
  EXPECT_FALSE(stats.splitKv);
  EXPECT_EQ(stats.planReason, "16 rows: Nq = 1 <= 16; no split-KV plan: "
                              "CompileOptions::kvSplits is 1");
  EXPECT_FALSE(plan->splitKvKernels());
}

TEST(LaunchPlanTest, KernelIrHasNoSplitPlan) {
  // The split-KV plan is a lowering of Level 1 IR; a variant the host has
  // lowered to kernel IR already runs its own plan, silently, and the
  // reason is available.
  Problem p("causal_bottom_right.mlir", 1, 1000, 40);
  ASSERT_TRUE(p.ref.module);
  mlir::PassManager pm(p.ref.ctx.get());
  pm.addPass(attn::createAttnDecompose());
  pm.addPass(attn::createAttnTile());
  pm.addPass(attn::createAttnOnline());
  pm.addPass(attn::createAttnFuse());
  ASSERT_TRUE(mlir::succeeded(pm.run(*p.ref.module)));
  Runtime rt(testConfig(sharedCacheDir()));
  auto plan = compileModule(rt, *p.ref.module, emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  RunStats stats = p.runAndCheck(*plan, SplitKvMode::Always);
  EXPECT_FALSE(stats.splitKv);
  EXPECT_NE(stats.planReason.find("no split-KV plan: the variant is lowered "
                                  "already"),
            std::string::npos)
      << stats.planReason;
  auto split = plan->splitKvKernels();
  ASSERT_FALSE(split);
  EXPECT_NE(split.message().find("Level 1"), std::string::npos)
      << split.message();
}

TEST(LaunchPlanTest, DocumentMaskRunsTheSummariesKernelFirst) {
  Runtime rt(testConfig(sharedCacheDir()));
  auto plan = rt.compileText(readExample("document.mlir"), emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  ASSERT_EQ(plan->kernels().size(), 2u);
  EXPECT_EQ(plan->kernels()[0].role, KernelRole::TileSummaries);
  EXPECT_GT(plan->kernels()[0].fixedGridX, 0);
  EXPECT_EQ(plan->kernel().name, "attn_document") << "the main kernel";
  Problem p("document.mlir", 200, 200, 37);
  RunStats stats = p.runAndCheck(*plan, SplitKvMode::Never);
  EXPECT_FALSE(stats.splitKv);
  EXPECT_EQ(stats.kernels, (Names{"attn_document_summaries", "attn_document"}));

  // Its split-KV plan: summaries, partials, merge.
  stats = p.runAndCheck(*plan, SplitKvMode::Always);
  EXPECT_TRUE(stats.splitKv);
  EXPECT_EQ(stats.kernels,
            (Names{"attn_document_summaries", "attn_document_partials",
                   "attn_document_merge"}));
}

TEST(LaunchPlanTest, SplitPlansComeFromDiskInAWarmRuntime) {
  Problem p("document.mlir", 3, 1000, 38);
  {
    Runtime rt(testConfig(sharedCacheDir()));
    auto plan = rt.compileText(readExample("document.mlir"), emuOptions());
    ASSERT_TRUE(plan) << plan.message();
    EXPECT_TRUE(p.runAndCheck(*plan, SplitKvMode::Auto).splitKv);
  }
  // A fresh runtime finds both plans and both kernel .so files on disk.
  Runtime rt(testConfig(sharedCacheDir()));
  auto plan = rt.compileText(readExample("document.mlir"), emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  RunStats stats = p.runAndCheck(*plan, SplitKvMode::Auto);
  EXPECT_TRUE(stats.splitKv);
  EXPECT_EQ(stats.kernels.size(), 3u);
  RuntimeStats s = rt.stats();
  EXPECT_EQ(s.frontendRuns, 0u);
  EXPECT_EQ(s.hostCompilerRuns, 0u);
  // The 128-row plan, its 64-row plan (3 queries) and that one's split.
  EXPECT_EQ(s.planDiskHits, 3u);
  EXPECT_EQ(s.artifactDiskHits, 3u);
  EXPECT_EQ(s.shortRowsCompiles, 1u);
  EXPECT_EQ(s.splitKvCompiles, 1u);
}

TEST(LaunchPlanTest, ShortQueriesRunThe64RowPlan) {
  // f16 at head dim 64: attn-tile's 128-row Q tiles (4 warps of 32 rows).
  Runtime rt(testConfig(sharedCacheDir()));
  auto plan = rt.compileText(readExample("causal.mlir"), emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  EXPECT_EQ(plan->kernel().blockM, 128);
  EXPECT_EQ(plan->kernel().threads, 128);
  // 40 queries, 8 heads: 8 CTAs for 132 "SMs" -> the 64-row plan, built on
  // this first run and reused by the next.
  Problem shortQ("causal.mlir", 40, 90, 41);
  RunStats stats = shortQ.runAndCheck(*plan, SplitKvMode::Never);
  EXPECT_EQ(stats.blockM, 64);
  EXPECT_EQ(stats.planReason, "64 rows: the 128-row grid has 8 CTAs for 132 "
                              "SMs; split-KV never (forced)");
  EXPECT_EQ(shortQ.runAndCheck(*plan, SplitKvMode::Never).blockM, 64);
  EXPECT_EQ(rt.stats().shortRowsCompiles, 1u) << "built once, then cached";

  // 8 "SMs": the 128-row grid fills them.
  RuntimeConfig eight = testConfig(sharedCacheDir());
  eight.emuMultiprocessors = 8;
  Runtime full(eight);
  auto wide = full.compileText(readExample("causal.mlir"), emuOptions());
  ASSERT_TRUE(wide) << wide.message();
  Problem longQ("causal.mlir", 130, 150, 42);
  stats = longQ.runAndCheck(*wide, SplitKvMode::Never);
  EXPECT_EQ(stats.blockM, 128);
  EXPECT_EQ(full.stats().shortRowsCompiles, 0u);

  // Rows asked for are kept: no 64-row plan, no rows in the reason.
  CompileOptions asked = emuOptions();
  asked.blockM = 128;
  auto fixed = rt.compileText(readExample("causal.mlir"), asked);
  ASSERT_TRUE(fixed) << fixed.message();
  stats = shortQ.runAndCheck(*fixed, SplitKvMode::Never);
  EXPECT_EQ(stats.blockM, 128);
  EXPECT_EQ(stats.planReason, "split-KV never (forced)");
}

/// A spec with every field set, as a document mask's split-KV plan has.
attn::jit::PlanSpec multiKernelSpec() {
  attn::jit::PlanSpec spec;
  spec.signature.function = "f";
  for (const char *name : {"q", "k", "v", "c0"}) {
    ArgumentSignature a;
    a.name = name;
    a.dtype = {kDLFloat, 16, 1};
    a.dims = {{-1, "b"}, {8, "hq"}, {-1, "nq"}, {64, "d"}};
    spec.signature.inputs.push_back(a);
  }
  spec.signature.inputs[3].dtype = {kDLInt, 32, 1};
  spec.signature.inputs[3].dims = {{-1, "b"}, {-1, "nk"}};
  spec.signature.outputs.push_back(spec.signature.inputs[0]);
  spec.signature.outputs[0].name = "o";
  KernelRole roles[] = {KernelRole::TileSummaries, KernelRole::SplitPartials,
                        KernelRole::SplitMerge};
  for (int i = 0; i < 3; ++i) {
    KernelInfo k;
    k.name = "kernel" + std::to_string(i);
    k.source = "// source " + std::to_string(i) + "\n";
    k.role = roles[i];
    k.blockM = 64;
    k.threads = 128 + i;
    k.dynamicSmemBytes = 1000 * i;
    k.path = i == 1 ? "mma" : "simt";
    k.fallbackReason = i == 2 ? "merge" : "";
    k.splits = i == 1 ? 4 : 1;
    k.fixedGridX = i == 0 ? 132 : 0;
    spec.kernels.push_back(k);
  }
  using namespace attn::abi;
  spec.params = {
      {"q", FieldType::Pointer, FieldRole::Data, BufferKind::Input, 0, 0},
      {"ws0_extent", FieldType::Int64, FieldRole::Extent, BufferKind::Workspace,
       0, 0},
      {"c1_s2", FieldType::Int64, FieldRole::Stride, BufferKind::Input, 4, 2},
      {"c2", FieldType::Float64, FieldRole::Scalar, BufferKind::None, 5, 0},
      {"Nk", FieldType::Int64, FieldRole::Problem, BufferKind::None, 0,
       int32_t(ProblemSize::Nk)},
      {"k_map", FieldType::TensorMap, FieldRole::TensorMap, BufferKind::Input,
       1, 0, TensorMapShape{{3, 2, 1, 0}, {64, 128, 1, 1}, 2, 128}}};
  spec.workspaceElementsPerCta = {256, 16384};
  spec.summarizedCaptures = {0};
  spec.kvTile = 64;
  return spec;
}

TEST(LaunchPlanTest, MultiKernelSpecsRoundTripThroughTheDiskCache) {
  using namespace attn::jit;
  TempDir dir;
  DiskCache cache(dir.path(), true, nullptr);
  PlanSpec spec = multiKernelSpec();
  Digest key = digestOf("multi-kernel plan");
  std::string payload;
  ASSERT_TRUE(cache.write("plan", key, ".plan", serializePlanSpec(spec)));
  ASSERT_EQ(cache.read("plan", key, ".plan", &payload), CacheRead::Hit);
  PlanSpec back;
  ASSERT_EQ(deserializePlanSpec(payload, &back), PlanDecode::Ok);
  ASSERT_EQ(back.kernels.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const KernelInfo &a = spec.kernels[i], &b = back.kernels[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.source, b.source);
    EXPECT_EQ(a.role, b.role);
    EXPECT_EQ(a.blockM, b.blockM);
    EXPECT_EQ(a.threads, b.threads);
    EXPECT_EQ(a.dynamicSmemBytes, b.dynamicSmemBytes);
    EXPECT_EQ(a.path, b.path);
    EXPECT_EQ(a.fallbackReason, b.fallbackReason);
    EXPECT_EQ(a.splits, b.splits);
    EXPECT_EQ(a.fixedGridX, b.fixedGridX);
  }
  ASSERT_EQ(back.params.size(), spec.params.size());
  for (size_t i = 0; i < spec.params.size(); ++i) {
    EXPECT_EQ(back.params[i].name, spec.params[i].name);
    EXPECT_TRUE(back.params[i] == spec.params[i])
        << describe(spec.params[i]) << " came back as "
        << describe(back.params[i]);
  }
  EXPECT_EQ(back.workspaceElementsPerCta, spec.workspaceElementsPerCta);
  EXPECT_EQ(back.summarizedCaptures, spec.summarizedCaptures);
  EXPECT_EQ(back.kvTile, 64);
  EXPECT_EQ(back.mainIndex(), 1u);
  EXPECT_TRUE(back.isSplitKv());
  EXPECT_EQ(back.source(), "// source 0\n// source 1\n// source 2\n");
  EXPECT_EQ(back.signature.inputs[3].dims[1].symbol, "nk");
  EXPECT_EQ(serializePlanSpec(back), serializePlanSpec(spec));

  // A declined split-KV request is a spec too: no kernels, the reason.
  PlanSpec declined = spec;
  declined.kernels.clear();
  declined.unavailable = "attn-split-kv: not split";
  ASSERT_EQ(deserializePlanSpec(serializePlanSpec(declined), &back),
            PlanDecode::Ok);
  EXPECT_TRUE(back.kernels.empty());
  EXPECT_EQ(back.unavailable, declined.unavailable);
  // Kernels and a reason, or neither, is malformed; so is every truncation.
  declined.kernels = spec.kernels;
  EXPECT_EQ(deserializePlanSpec(serializePlanSpec(declined), &back),
            PlanDecode::Malformed);
  std::string bytes = serializePlanSpec(spec);
  for (size_t n = 0; n < bytes.size(); n += 7)
    EXPECT_NE(deserializePlanSpec(bytes.substr(0, n), &back), PlanDecode::Ok)
        << n;
}

/// A plan entry as the previous runtime wrote it (format 1: one kernel,
/// no roles, workspaces or summaries).
std::string formatOneEntry(const attn::jit::PlanSpec &spec) {
  std::string out;
  auto u64 = [&](uint64_t v) { out.append(reinterpret_cast<char *>(&v), 8); };
  auto str = [&](const std::string &s) {
    u64(s.size());
    out += s;
  };
  auto argument = [&](const ArgumentSignature &a) {
    str(a.name);
    u64(a.isTensor);
    u64(uint64_t(a.dtype.code) | uint64_t(a.dtype.bits) << 8 |
        uint64_t(a.dtype.lanes) << 16);
    u64(a.dims.size());
    for (const DimSignature &d : a.dims) {
      u64(static_cast<uint64_t>(d.size));
      str(d.symbol);
    }
  };
  out += "ANTPLNP1";
  str(spec.signature.function);
  u64(spec.signature.inputs.size());
  for (const ArgumentSignature &a : spec.signature.inputs)
    argument(a);
  u64(spec.signature.outputs.size());
  for (const ArgumentSignature &a : spec.signature.outputs)
    argument(a);
  const KernelInfo &k = spec.kernels[0];
  str(k.name);
  str(k.source);
  u64(k.blockM);
  u64(k.threads);
  u64(k.dynamicSmemBytes);
  str(k.path);
  str(k.fallbackReason);
  u64(spec.params.size());
  for (const attn::abi::Field &p : spec.params) {
    str(p.name); // Format 1: a name and a kind only.
    u64(static_cast<uint64_t>(p.type));
  }
  return out;
}

TEST(LaunchPlanTest, PlanEntriesOfTheOldFormatAreRebuilt) {
  using namespace attn::jit;
  TempDir dir;
  std::string text = readExample("causal.mlir");
  // The entry the runtime will look up for this text and these options.
  FrontendOptions front = frontendOptions(emuOptions(), Target());
  Digest key =
      planKey(text, front, compilerFingerprint(), embeddedHeadersDigest());
  DiskCache cache(dir.path(), true, nullptr);
  // A well-formed format-1 entry (with a kernel that would not compile, so
  // that misreading it could not pass unnoticed).
  PlanSpec old;
  old.signature.function = "causal";
  for (const char *name : {"q", "k", "v"}) {
    ArgumentSignature a;
    a.name = name;
    a.dtype = {kDLFloat, 16, 1};
    old.signature.inputs.push_back(a);
  }
  old.signature.outputs.push_back(old.signature.inputs[0]);
  KernelInfo k;
  k.name = "attn_causal";
  k.source = "#error this entry must not be read\n";
  k.blockM = 64;
  k.threads = 64;
  old.kernels.push_back(k);
  std::string payload = formatOneEntry(old);
  PlanSpec decoded;
  EXPECT_EQ(deserializePlanSpec(payload, &decoded), PlanDecode::OtherVersion);
  ASSERT_TRUE(cache.write("plan", key, ".plan", payload));

  Runtime rt(testConfig(dir.path()));
  auto plan = rt.compileText(text, emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  RuntimeStats s = rt.stats();
  EXPECT_EQ(s.staleEntries, 1u);
  EXPECT_EQ(s.corruptEntries, 0u);
  EXPECT_EQ(s.planDiskHits, 0u);
  EXPECT_EQ(s.frontendRuns, 1u);
  EXPECT_EQ(plan->kernel().name, "attn_causal");
  // The entry was rewritten in the current format.
  std::string rewritten;
  ASSERT_EQ(cache.read("plan", key, ".plan", &rewritten), CacheRead::Hit);
  EXPECT_EQ(deserializePlanSpec(rewritten, &decoded), PlanDecode::Ok);
  EXPECT_EQ(rewritten.substr(0, 7), "ANTPLNP");
  EXPECT_EQ(rewritten[7], kPlanFormatVersion);
  Problem p("causal.mlir", 37, 37, 39);
  p.runAndCheck(*plan, SplitKvMode::Auto);
}

} // namespace

namespace {

/// A tuning database at a test-private path with one f16 entry of the
/// variant `hash` at `bucket`, removed at the end.
struct TuningFile {
  std::string path;
  TuningFile(const std::string &hash, const TuningBucket &bucket,
             const std::string &name) {
    path = ::testing::TempDir() + "attn-tuning-" + name + ".jsonl";
    std::ofstream out(path);
    out << "{\"attn_tuning_db\": 1}\n"
        << "{\"ir_hash\": \"" << hash
        << "\", \"function\": \"causal\", \"dtype\": \"f16\", \"arch\": "
           "\"sm_80\", \"bucket\": ["
        << bucket[0] << ", " << bucket[1] << ", " << bucket[2]
        << "], \"score_us\": 12.5, \"source\": \"modelled\", \"schedule\": "
           "{\"block_m\": 16, \"block_n\": 32, \"warps\": 1, \"stages\": 2, "
           "\"path\": \"mma\", \"split_kv\": \"never\"}}\n";
  }
  ~TuningFile() { std::remove(path.c_str()); }
};

} // namespace

TEST(LaunchPlanTest, ATuningDatabaseEntrySetsTheScheduleAtLaunch) {
  Problem p("causal.mlir", 100, 130, 17);
  auto func = p.ref.module->lookupSymbol<mlir::func::FuncOp>("causal");
  ASSERT_TRUE(func);
  TuningFile db(attn::variantFingerprint(func), tuningBucket(100, 130, 8),
                "entry");
  RuntimeConfig config = testConfig(sharedCacheDir());
  config.tuningDb = db.path;
  Runtime rt(config);
  auto plan = rt.compileText(readExample("causal.mlir"), emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  EXPECT_EQ(plan->kernel().blockM, 128) << "attn-tile's choice until a run";
  // The heuristic would run the 64-row plan here (8 CTAs of 128 rows for
  // 132 SMs); the entry says 16 rows.
  RunStats stats = p.runAndCheck(*plan, SplitKvMode::Default);
  EXPECT_EQ(stats.blockM, 16) << stats.planReason;
  EXPECT_FALSE(stats.splitKv) << stats.planReason;
  EXPECT_EQ(stats.planReason.rfind("tuning DB entry " + db.path +
                                       ":2 (sm_80, bucket [7, 8, 3] at "
                                       "distance 0, 12.5 us modelled): "
                                       "block-m=16 block-n=32 warps=1 "
                                       "split-kv=never; ",
                                   0),
            0u)
      << stats.planReason;
  EXPECT_EQ(rt.stats().tunedCompiles, 1u);
  // The tuned plan is compiled once; a run of another bucket of the same
  // variant takes the nearest entry too.
  Problem longer("causal.mlir", 300, 300, 18);
  stats = longer.runAndCheck(*plan, SplitKvMode::Default);
  EXPECT_EQ(stats.blockM, 16) << stats.planReason;
  EXPECT_NE(stats.planReason.find("at distance 3"), std::string::npos)
      << stats.planReason;
  EXPECT_EQ(rt.stats().tunedCompiles, 1u);

  // A schedule the host chose is kept.
  CompileOptions fixed = emuOptions();
  fixed.blockM = 128;
  auto fixedPlan = rt.compileText(readExample("causal.mlir"), fixed);
  ASSERT_TRUE(fixedPlan) << fixedPlan.message();
  stats = p.runAndCheck(*fixedPlan, SplitKvMode::Default);
  EXPECT_EQ(stats.blockM, 128);
  EXPECT_EQ(stats.planReason.find("tuning"), std::string::npos)
      << stats.planReason;

  // Another variant has no entry: the default heuristic, said so.
  auto other = rt.compileText(readExample("sliding_window.mlir"), emuOptions());
  ASSERT_TRUE(other) << other.message();
  Problem window("sliding_window.mlir", 100, 130, 19);
  stats = window.runAndCheck(*other, SplitKvMode::Default);
  EXPECT_EQ(stats.planReason.rfind("tuning DB " + db.path +
                                       ": no entry for this variant, f16; "
                                       "default heuristic: ",
                                   0),
            0u)
      << stats.planReason;
}

TEST(LaunchPlanTest, AnUnreadableTuningDatabaseIsAWarning) {
  std::vector<std::string> lines;
  RuntimeConfig config = testConfig(sharedCacheDir(), &lines);
  config.tuningDb = "/nonexistent/tuning.jsonl";
  Runtime rt(config);
  auto plan = rt.compileText(readExample("causal.mlir"), emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  Problem p("causal.mlir", 100, 130, 20);
  RunStats stats = p.runAndCheck(*plan, SplitKvMode::Default);
  EXPECT_EQ(stats.planReason.find("tuning"), std::string::npos)
      << stats.planReason;
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.back().find("the tuning database is not used: "
                              "/nonexistent/tuning.jsonl: cannot read"),
            std::string::npos)
      << lines.back();
}
