//===- SequencesTest.cpp - varlen batches and paged KV caches -------------===//
//
// A varlen run (Arguments::cuSeqlensQ/K) and a run over a paged KV cache
// (blockTable, seqLensK) are checked before any launch -- every message
// names the argument and what is wrong. Each sequence of a varlen run
// computes exactly what a dense run of that sequence alone computes (the
// same kernel body, rebased on the sequence: the same bits), and a paged
// run over shuffled pages of 1, 16 and 64 keys (decoding, split-KV,
// prefill) what the float64 interpreter computes.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestSupport.h"

#include "Validate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

using namespace attn;
using namespace attn::jit;
using namespace attn::test;

namespace {

std::vector<double> offsetsOf(const std::vector<int64_t> &lengths) {
  std::vector<double> out{0};
  for (int64_t n : lengths)
    out.push_back(out.back() + static_cast<double>(n));
  return out;
}

int64_t sum(const std::vector<int64_t> &v) {
  int64_t s = 0;
  for (int64_t n : v)
    s += n;
  return s;
}

/// Packed tensors of a varlen batch of `q`/`k` lengths (8 heads, d 64);
/// each test breaks one thing.
struct Batch {
  std::vector<int64_t> qLengths, kLengths;
  HostTensor q, k, v, o, lse, cuQ, cuK;
  Arguments args;
  Batch(std::vector<int64_t> qs, std::vector<int64_t> ks)
      : qLengths(qs), kLengths(ks), q({sum(qs), 8, 64}, kF16, false),
        k({sum(ks), 8, 64}, kF16, false), v({sum(ks), 8, 64}, kF16, false),
        o({sum(qs), 8, 64}, kF16, false), lse({8, sum(qs)}, kF32, false),
        cuQ({int64_t(qs.size()) + 1}, kI32, false),
        cuK({int64_t(ks.size()) + 1}, kI32, false) {
    cuQ.fill(offsetsOf(qs));
    cuK.fill(offsetsOf(ks));
    args.q = &q.dl;
    args.k = &k.dl;
    args.v = &v.dl;
    args.o = &o.dl;
    args.lse = &lse.dl;
    args.cuSeqlensQ = &cuQ.dl;
    args.cuSeqlensK = &cuK.dl;
    for (int64_t n : qs)
      args.maxSeqlenQ = std::max(args.maxSeqlenQ, n);
    for (int64_t n : ks)
      args.maxSeqlenK = std::max(args.maxSeqlenK, n);
  }
};

std::string check(const Signature &sig, const Arguments &args) {
  BoundSizes sizes;
  SequenceViews views;
  Status s =
      validateSequenceArguments(sig, args, DeviceKind::Emu, 0, &sizes, views);
  return s.ok() ? "ok" : s.message();
}

TEST(VarlenTest, AcceptsPackedTensorsAndBindsTheLongestSequence) {
  Signature sig = exampleSignature("causal.mlir");
  Batch batch({0, 1, 77}, {0, 5, 130});
  BoundSizes sizes;
  SequenceViews views;
  ASSERT_TRUE(validateSequenceArguments(sig, batch.args, DeviceKind::Emu, 0,
                                      &sizes, views)
                  .ok());
  EXPECT_EQ(sizes.at("b"), 3);
  EXPECT_EQ(sizes.at("nq"), 77);
  EXPECT_EQ(sizes.at("nk"), 130);
  EXPECT_EQ(views.totalQ, 78);
  EXPECT_EQ(views.totalK, 135);
  // q [78, 8, 64] is bound as [1, 8, 78, 64] with a batch stride of 0.
  const DLTensor &q = *views.args.q;
  ASSERT_EQ(q.ndim, 4);
  EXPECT_EQ(q.shape[0], 1);
  EXPECT_EQ(q.shape[2], 78);
  EXPECT_EQ(q.strides[0], 0);
  EXPECT_EQ(q.strides[1], 64);
  EXPECT_EQ(q.strides[2], 8 * 64);
  // lse [8, 78] as [1, 8, 78].
  EXPECT_EQ(views.args.lse->shape[1], 8);
  EXPECT_EQ(views.args.lse->strides[2], 1);
}

TEST(VarlenTest, OffsetArrays) {
  Signature sig = exampleSignature("causal.mlir");
  Batch batch({3, 4}, {3, 4});
  Arguments args = batch.args;
  args.cuSeqlensK = nullptr;
  EXPECT_EQ(check(sig, args),
            "Arguments::cuSeqlensK: missing (null DLTensor); a varlen run "
            "takes both cuSeqlensQ and cuSeqlensK (or seqLensK with a paged "
            "KV cache)");
  HostTensor f32({3}, kF32, false);
  args = batch.args;
  args.cuSeqlensQ = &f32.dl;
  EXPECT_EQ(check(sig, args), "Arguments::cuSeqlensQ: dtype is float32 but "
                              "it holds int32 offsets [B + 1]");
  HostTensor longer({4}, kI32, false);
  longer.fill({0, 3, 7, 7});
  args = batch.args;
  args.cuSeqlensK = &longer.dl;
  EXPECT_EQ(check(sig, args),
            "Arguments::cuSeqlensK: has 4 entries but cuSeqlensQ has 3 (one "
            "more than the sequences, both)");
  batch.cuQ.fill({0, 5, 2});
  batch.args.maxSeqlenQ = 9;
  EXPECT_EQ(check(sig, batch.args),
            "Arguments::cuSeqlensQ decreases: entry 2 is 2 after 5");
  batch.cuQ.fill({0, 3, 9});
  batch.args.maxSeqlenQ = 6;
  EXPECT_EQ(check(sig, batch.args),
            "Arguments::cuSeqlensQ[2] is 9 but q has 7 rows");
  batch.cuQ.fill({0, 3, 7});
  batch.args.maxSeqlenQ = 3;
  EXPECT_EQ(check(sig, batch.args),
            "Arguments::cuSeqlensQ: sequence 1 has 4 rows but maxSeqlenQ is 3 "
            "(its rows past it would not be computed)");
}

TEST(VarlenTest, PackedShapes) {
  Signature sig = exampleSignature("causal.mlir");
  Batch batch({3, 4}, {3, 4});
  HostTensor dense({1, 8, 7, 64}, kF16, false);
  batch.args.q = &dense.dl;
  EXPECT_EQ(check(sig, batch.args),
            "q: rank is 4 but the variant expects 3 dimensions [total_q, 8, "
            "64]");
  Batch other({3, 4}, {3, 4});
  HostTensor o({8, 64, 8}, kF16, false);
  other.args.o = &o.dl;
  EXPECT_EQ(check(sig, other.args),
            "o: dimension 0 (packed query rows) is 8 but q's dimension 0 "
            "(packed query rows) is 7");
}

TEST(VarlenTest, PerSequenceCapturesHoldTheLongestSequence) {
  // document.mlir's ids are [b, nk]: one row per sequence.
  Signature sig = exampleSignature("document.mlir");
  Batch batch({3, 4}, {5, 9});
  batch.args.lse = nullptr;
  HostTensor ids({2, 8}, kI32, false);
  batch.args.captures = {Capture::of(&ids.dl)};
  EXPECT_EQ(check(sig, batch.args),
            "c0 (capture 0): dimension 1 (key length, at least maxSeqlenK) "
            "is 8 but Arguments::maxSeqlenK is 9");
  HostTensor rows({3, 9}, kI32, false);
  batch.args.captures = {Capture::of(&rows.dl)};
  EXPECT_EQ(check(sig, batch.args),
            "c0 (capture 0): dimension 0 (batch) is 3 but the sequences "
            "(cuSeqlensQ's entries - 1) is 2");
  HostTensor padded({2, 12}, kI32, false);
  batch.args.captures = {Capture::of(&padded.dl)};
  EXPECT_EQ(check(sig, batch.args), "ok");
}

/// Runs `example`'s varlen plan on sequences of `qs` query and `ks` key
/// rows, and each sequence alone through the dense plan; expects the same
/// bits and the interpreter's values.
void expectSequencesRunAlone(const std::string &example,
                             const std::vector<int64_t> &qs,
                             const std::vector<int64_t> &ks, uint64_t seed) {
  SCOPED_TRACE(example);
  Runtime rt(testConfig(sharedCacheDir()));
  CompileOptions options;
  options.device = DeviceKind::Emu;
  // The dense runs take the plan the varlen one derives from: these rows,
  // never split (a split or smaller tile computes in another order).
  options.blockM = 128;
  RunOptions plainOnly;
  plainOnly.splitKv = SplitKvMode::Never;
  std::string text = readExample(example);
  auto plan = rt.compileText(text, options, example);
  ASSERT_TRUE(plan) << plan.message();
  const Signature &sig = plan->signature();
  size_t sequences = qs.size();
  std::vector<Reference> refs;
  std::vector<RunOutputs> alone;
  for (size_t s = 0; s < sequences; ++s) {
    // An empty sequence has no dense problem of its own.
    if (qs[s] == 0 && ks[s] == 0) {
      refs.emplace_back();
      alone.emplace_back();
      continue;
    }
    refs.push_back(makeReference(text, qs[s], ks[s], seed + s, /*b=*/1));
    alone.push_back(runOnReference(*plan, refs.back(), kF16, plainOnly));
    ASSERT_TRUE(alone.back().status.ok()) << alone.back().status.message();
  }
  // Pack: q, k, v by rows; a [b, ...] capture one row per sequence.
  int64_t totalQ = sum(qs), totalK = sum(ks), maxK = 0;
  for (int64_t n : ks)
    maxK = std::max(maxK, n);
  std::vector<double> q(totalQ * 8 * 64), k(totalK * 8 * 64),
      v(totalK * 8 * 64);
  std::vector<double> startsQ = offsetsOf(qs), startsK = offsetsOf(ks);
  auto pack = [](std::vector<double> &dst, const std::vector<double> &src,
                 int64_t rows, int64_t first) {
    for (int64_t h = 0; h < 8; ++h)
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t d = 0; d < 64; ++d)
          dst[((first + i) * 8 + h) * 64 + d] = src[(h * rows + i) * 64 + d];
  };
  for (size_t s = 0; s < sequences; ++s) {
    if (refs[s].inputs.empty())
      continue;
    pack(q, refs[s].inputs[0].data, qs[s], int64_t(startsQ[s]));
    pack(k, refs[s].inputs[1].data, ks[s], int64_t(startsK[s]));
    pack(v, refs[s].inputs[2].data, ks[s], int64_t(startsK[s]));
  }
  Batch batch(qs, ks);
  batch.q.fill(q);
  batch.k.fill(k);
  batch.v.fill(v);
  batch.o.poison();
  batch.lse.poison();
  if (!sig.hasLse())
    batch.args.lse = nullptr;
  std::unique_ptr<HostTensor> capture;
  if (sig.inputs.size() > 3) {
    capture = std::make_unique<HostTensor>(
        std::vector<int64_t>{int64_t(sequences), maxK}, sig.inputs[3].dtype,
        false);
    std::vector<double> rows(sequences * maxK, 0);
    for (size_t s = 0; s < sequences; ++s)
      for (int64_t j = 0; j < ks[s] && !refs[s].inputs.empty(); ++j)
        rows[s * maxK + j] = refs[s].inputs[3].data[j];
    capture->fill(rows);
    batch.args.captures = {Capture::of(&capture->dl)};
  }
  RunOptions run;
  run.memcheck = true;
  RunStats stats;
  Status ran = plan->run(batch.args, run, &stats);
  ASSERT_TRUE(ran.ok()) << ran.message();
  EXPECT_NE(stats.planReason.find("varlen: "), std::string::npos)
      << stats.planReason;
  std::vector<double> o = batch.o.read(), lse = batch.lse.read();
  for (size_t s = 0; s < sequences; ++s) {
    if (refs[s].inputs.empty())
      continue;
    SCOPED_TRACE("sequence " + std::to_string(s));
    std::vector<double> mine(qs[s] * 8 * 64), myLse(qs[s] * 8);
    for (int64_t h = 0; h < 8; ++h)
      for (int64_t i = 0; i < qs[s]; ++i) {
        int64_t row = int64_t(startsQ[s]) + i;
        for (int64_t d = 0; d < 64; ++d)
          mine[(h * qs[s] + i) * 64 + d] = o[(row * 8 + h) * 64 + d];
        myLse[h * qs[s] + i] = lse[h * totalQ + row];
      }
    EXPECT_EQ(mine, alone[s].o);
    EXPECT_LT(relativeError(mine, refs[s].results[0].data), 2e-3);
    if (sig.hasLse()) {
      EXPECT_EQ(myLse, alone[s].lse);
      EXPECT_LT(relativeError(myLse, refs[s].results[1].data), 1e-5);
    }
  }
}

TEST(VarlenTest, EachSequenceComputesWhatItComputesAlone) {
  // An empty sequence, one row, an odd length, more than one Q tile (128
  // rows) and KV tile; keys longer than queries (bottom-right causal).
  std::mt19937_64 rng(std::random_device{}());
  expectSequencesRunAlone("causal_bottom_right.mlir", {1, 0, 77, 131},
                          {5, 0, 77, 200}, rng());
  // Per-sequence captured ids (summarised tiles) of different lengths.
  expectSequencesRunAlone("document.mlir", {33, 130}, {33, 130}, rng());
}

} // namespace

namespace {

/// Runs causal_bottom_right.mlir on dense queries (`nq` per sequence) over
/// a paged KV cache of `pageSize`-key pages handed out in a shuffled order,
/// sequence s holding ks[s] keys; expects each sequence to match the
/// interpreter and returns the run's stats.
RunStats expectPagedRunsCorrectly(int64_t nq, const std::vector<int64_t> &ks,
                                  int64_t pageSize, SplitKvMode split,
                                  uint64_t seed) {
  SCOPED_TRACE("pages of " + std::to_string(pageSize));
  Runtime rt(testConfig(sharedCacheDir()));
  CompileOptions options;
  options.device = DeviceKind::Emu;
  std::string text = readExample("causal_bottom_right.mlir");
  auto plan = rt.compileText(text, options, "causal_bottom_right.mlir");
  EXPECT_TRUE(plan) << plan.message();
  if (!plan)
    return {};
  int64_t sequences = ks.size(), pages = 0, maxPages = 0;
  std::vector<Reference> refs;
  for (int64_t s = 0; s < sequences; ++s) {
    refs.push_back(makeReference(text, nq, ks[s], seed + s, /*b=*/1));
    pages += (ks[s] + pageSize - 1) / pageSize;
    maxPages = std::max(maxPages, (ks[s] + pageSize - 1) / pageSize);
  }
  std::vector<int> order(pages);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
  std::vector<double> table(sequences * maxPages, -1), lens;
  std::vector<double> q(sequences * 8 * nq * 64), k(pages * pageSize * 8 * 64),
      v(k.size());
  int next = 0;
  for (int64_t s = 0; s < sequences; ++s) {
    lens.push_back(double(ks[s]));
    std::copy(refs[s].inputs[0].data.begin(), refs[s].inputs[0].data.end(),
              q.begin() + s * 8 * nq * 64);
    for (int64_t p = 0; p < (ks[s] + pageSize - 1) / pageSize; ++p)
      table[s * maxPages + p] = order[next++];
    // Key j of head h: page table[j / P], slot j % P, [pages, P, H, D].
    for (int64_t h = 0; h < 8; ++h)
      for (int64_t j = 0; j < ks[s]; ++j)
        for (int64_t d = 0; d < 64; ++d) {
          int64_t page = int64_t(table[s * maxPages + j / pageSize]);
          int64_t at = ((page * pageSize + j % pageSize) * 8 + h) * 64 + d;
          int64_t from = (h * ks[s] + j) * 64 + d;
          k[at] = refs[s].inputs[1].data[from];
          v[at] = refs[s].inputs[2].data[from];
        }
  }
  HostTensor qt({sequences, 8, nq, 64}, kF16, false),
      kt({pages, pageSize, 8, 64}, kF16, false),
      vt({pages, pageSize, 8, 64}, kF16, false),
      ot({sequences, 8, nq, 64}, kF16, false),
      lset({sequences, 8, nq}, kF32, false),
      tablet({sequences, maxPages}, kI32, false), lenst({sequences}, kI32, false);
  qt.fill(q);
  kt.fill(k);
  vt.fill(v);
  ot.poison();
  lset.poison();
  tablet.fill(table);
  lenst.fill(lens);
  Arguments args;
  args.q = &qt.dl;
  args.k = &kt.dl;
  args.v = &vt.dl;
  args.o = &ot.dl;
  args.lse = &lset.dl;
  args.blockTable = &tablet.dl;
  args.seqLensK = &lenst.dl;
  RunOptions run;
  run.memcheck = true;
  run.splitKv = split;
  RunStats stats;
  Status ran = plan->run(args, run, &stats);
  EXPECT_TRUE(ran.ok()) << ran.message();
  std::vector<double> o = ot.read(), lse = lset.read();
  for (int64_t s = 0; s < sequences; ++s) {
    SCOPED_TRACE("sequence " + std::to_string(s));
    std::vector<double> mine(o.begin() + s * 8 * nq * 64,
                             o.begin() + (s + 1) * 8 * nq * 64),
        myLse(lse.begin() + s * 8 * nq, lse.begin() + (s + 1) * 8 * nq);
    EXPECT_LT(relativeError(mine, refs[s].results[0].data), 2e-3);
    EXPECT_LT(relativeError(myLse, refs[s].results[1].data), 1e-5);
  }
  return stats;
}

TEST(PagedKvTest, DecodingAndPrefillOverShuffledPages) {
  std::mt19937_64 rng(std::random_device{}());
  // Decoding (one query per sequence; the 16-row plan), pages of 1, 16 and
  // 64 keys: a tile spans many pages, a few, or sits in one.
  for (int64_t pageSize : {1, 16, 64}) {
    RunStats stats = expectPagedRunsCorrectly(1, {100, 1, 300}, pageSize,
                                              SplitKvMode::Never, rng());
    EXPECT_NE(stats.planReason.find("paged-KV: 3 sequences"),
              std::string::npos)
        << stats.planReason;
    EXPECT_EQ(stats.blockM, 16);
    EXPECT_FALSE(stats.splitKv);
  }
  // Split-KV over pages (dense queries may split).
  RunStats split = expectPagedRunsCorrectly(1, {700, 33, 1000}, 16,
                                            SplitKvMode::Always, rng());
  EXPECT_TRUE(split.splitKv) << split.planReason;
  EXPECT_GT(split.splits, 1);
  // Prefill: 70 queries per sequence (bottom-right causal over the keys).
  expectPagedRunsCorrectly(70, {70, 150, 200}, 16, SplitKvMode::Never, rng());
}

TEST(PagedKvTest, PagesAndTablesAreChecked) {
  Signature sig = exampleSignature("causal.mlir");
  HostTensor q({2, 8, 1, 64}, kF16, false), k({6, 16, 8, 64}, kF16, false),
      v({6, 16, 8, 64}, kF16, false), o({2, 8, 1, 64}, kF16, false),
      table({2, 3}, kI32, false), lens({2}, kI32, false);
  table.fill({0, 1, 2, 3, 4, -1});
  lens.fill({40, 20});
  Arguments args;
  args.q = &q.dl;
  args.k = &k.dl;
  args.v = &v.dl;
  args.o = &o.dl;
  args.blockTable = &table.dl;
  args.seqLensK = &lens.dl;
  EXPECT_EQ(check(sig, args), "ok");
  // Sequence 1's 20 keys read two pages: entry [1][1] is page 4.
  lens.fill({40, 33});
  EXPECT_EQ(check(sig, args),
            "Arguments::blockTable[1][2] is -1 but the cache has 6 pages "
            "(sequence 1 reads it)");
  lens.fill({49, 20});
  EXPECT_EQ(check(sig, args),
            "Arguments::seqLensK[0] is 49 but sequence 0's row of the block "
            "table holds 3 pages of 16 keys");
  lens.fill({40, 20});
  args.maxSeqlenK = 30;
  EXPECT_EQ(check(sig, args),
            "Arguments::seqLensK[0] is 40 but maxSeqlenK is 30");
  args.maxSeqlenK = 0;
  HostTensor odd({6, 12, 8, 64}, kF16, false);
  args.k = &odd.dl;
  args.v = &odd.dl;
  EXPECT_EQ(check(sig, args), "k: dimension 1 (page size) is 12; pages hold a "
                              "power-of-two number of keys");
  args.v = &v.dl;
  EXPECT_EQ(check(sig, args), "v: dimension 1 (page size) is 16 but k's "
                              "dimension 1 (page size) is 12");
  args.k = &k.dl;
  args.seqLensK = nullptr;
  EXPECT_EQ(check(sig, args), "Arguments::seqLensK: missing (null DLTensor); "
                              "a paged KV cache takes blockTable and "
                              "seqLensK");
  HostTensor three({3}, kI32, false);
  args.seqLensK = &three.dl;
  EXPECT_EQ(check(sig, args), "Arguments::seqLensK: dimension 0 is 3 but q's "
                              "batch is 2");
}

} // namespace
