//===- BackwardTest.cpp - backward plans through the runtime --------------===//
//
// Runtime::compileBackward* and BackwardPlan::run on the emulator: causal
// softmax's gradients against a float64 textbook backward (FlashAttention-
// 2's D = rowsum(dO ∘ O), dS = P ∘ (dP − D + dlse)) written here, sharing
// nothing with the derivation, with the forward state read from lse or
// recomputed; in BHSD and BSHD strides alike; the
// deterministic mode bit for bit across runs; every argument error named;
// and the cuda path on a GPU when there is one.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestSupport.h"

#include "CudaDriver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

using namespace attn;
using namespace attn::test;

namespace {

constexpr int64_t B = 2, H = 8, D = 64;

std::vector<double> normal(size_t n, uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> dist(0.0, scale);
  std::vector<double> v(n);
  for (double &x : v)
    x = dist(rng);
  return v;
}

/// The textbook forward of causal softmax attention (scale 1/sqrt(D),
/// query i attends keys j <= i) in float64: o [B, H, nq, D] and lse
/// [B, H, nq] (−inf for a row with no key).
void causalForward(const std::vector<double> &q, const std::vector<double> &k,
                   const std::vector<double> &v, int64_t nq, int64_t nk,
                   std::vector<double> &o, std::vector<double> &lse) {
  o.assign(B * H * nq * D, 0.0);
  lse.assign(B * H * nq, -INFINITY);
  double scale = 1.0 / std::sqrt(double(D));
  for (int64_t bh = 0; bh < B * H; ++bh)
    for (int64_t i = 0; i < nq; ++i) {
      int64_t keys = std::min(i + 1, nk);
      std::vector<double> s(keys);
      double m = -INFINITY, l = 0;
      for (int64_t j = 0; j < keys; ++j) {
        for (int64_t d = 0; d < D; ++d)
          s[j] += q[(bh * nq + i) * D + d] * k[(bh * nk + j) * D + d];
        m = std::max(m, s[j] *= scale);
      }
      for (int64_t j = 0; j < keys; ++j)
        l += (s[j] = std::exp(s[j] - m));
      for (int64_t j = 0; j < keys; ++j)
        for (int64_t d = 0; d < D; ++d)
          o[(bh * nq + i) * D + d] += s[j] / l * v[(bh * nk + j) * D + d];
      if (keys)
        lse[bh * nq + i] = m + std::log(l);
    }
}

/// The tensors of one causal backward run, [B, H, N, D] in BHSD or BSHD
/// memory order; o and lse are the forward's, computed in float64.
struct CausalBackward {
  int64_t nq, nk;
  HostTensor q, k, v, o, lse, dO, dLse, dq, dk, dv;
  BackwardArguments args;
  CausalBackward(int64_t nq, int64_t nk, bool bshd, uint64_t seed)
      : nq(nq), nk(nk), q({B, H, nq, D}, kF16, bshd),
        k({B, H, nk, D}, kF16, bshd), v({B, H, nk, D}, kF16, bshd),
        o({B, H, nq, D}, kF16, bshd), lse({B, H, nq}, kF32, false),
        dO({B, H, nq, D}, kF32, bshd), dLse({B, H, nq}, kF32, false),
        dq({B, H, nq, D}, kF32, bshd), dk({B, H, nk, D}, kF32, bshd),
        dv({B, H, nk, D}, kF32, bshd) {
    q.fill(normal(B * H * nq * D, seed));
    k.fill(normal(B * H * nk * D, seed + 1));
    v.fill(normal(B * H * nk * D, seed + 2));
    dO.fill(normal(B * H * nq * D, seed + 3));
    dLse.fill(normal(B * H * nq, seed + 4));
    std::vector<double> oValues, lseValues;
    causalForward(q.read(), k.read(), v.read(), nq, nk, oValues, lseValues);
    o.fill(oValues);
    lse.fill(lseValues);
    for (HostTensor *g : {&dq, &dk, &dv})
      g->poison();
    args.q = &q.dl;
    args.k = &k.dl;
    args.v = &v.dl;
    args.o = &o.dl;
    args.lse = &lse.dl;
    args.dO = &dO.dl;
    args.dLse = &dLse.dl;
    args.dq = &dq.dl;
    args.dk = &dk.dl;
    args.dv = &dv.dl;
  }
};

/// The textbook backward of causal softmax attention (scale 1/sqrt(D),
/// query i attends keys j <= i) in float64.
struct Gradients {
  std::vector<double> dq, dk, dv;
};
Gradients textbook(const CausalBackward &t, bool withLse) {
  std::vector<double> q = t.q.read(), k = t.k.read(), v = t.v.read(),
                      dO = t.dO.read(), dLse = t.dLse.read();
  int64_t nq = t.nq, nk = t.nk;
  Gradients g{std::vector<double>(q.size()), std::vector<double>(k.size()),
              std::vector<double>(v.size())};
  double scale = 1.0 / std::sqrt(double(D));
  for (int64_t bh = 0; bh < B * H; ++bh) {
    const double *Q = &q[bh * nq * D], *K = &k[bh * nk * D],
                 *V = &v[bh * nk * D], *dOb = &dO[bh * nq * D];
    double *dQ = &g.dq[bh * nq * D], *dK = &g.dk[bh * nk * D],
           *dV = &g.dv[bh * nk * D];
    for (int64_t i = 0; i < nq; ++i) {
      std::vector<double> p(nk, 0.0), dp(nk, 0.0);
      double m = -INFINITY, l = 0;
      for (int64_t j = 0; j <= i && j < nk; ++j) {
        double s = 0;
        for (int64_t d = 0; d < D; ++d)
          s += Q[i * D + d] * K[j * D + d];
        p[j] = s * scale;
        m = std::max(m, p[j]);
      }
      for (int64_t j = 0; j <= i && j < nk; ++j)
        l += (p[j] = std::exp(p[j] - m));
      double rowD = 0;
      for (int64_t j = 0; j <= i && j < nk; ++j) {
        p[j] /= l;
        for (int64_t d = 0; d < D; ++d)
          dp[j] += dOb[i * D + d] * V[j * D + d];
        rowD += p[j] * dp[j];
      }
      double lseGrad = withLse ? dLse[bh * nq + i] : 0.0;
      for (int64_t j = 0; j <= i && j < nk; ++j) {
        double ds = p[j] * (dp[j] - rowD + lseGrad) * scale;
        for (int64_t d = 0; d < D; ++d) {
          dQ[i * D + d] += ds * K[j * D + d];
          dK[j * D + d] += ds * Q[i * D + d];
          dV[j * D + d] += p[j] * dOb[i * D + d];
        }
      }
    }
  }
  return g;
}

Runtime &emuRuntime() {
  static Runtime rt(testConfig(sharedCacheDir()));
  return rt;
}

BackwardPlan compileCausal(bool deterministic,
                           DeviceKind device = DeviceKind::Emu,
                           bool stateFromResults = true) {
  CompileOptions options;
  options.device = device;
  BackwardOptions backward;
  backward.deterministic = deterministic;
  backward.stateFromResults = stateFromResults;
  auto plan = emuRuntime().compileBackwardText(readExample("causal.mlir"),
                                               options, backward, "causal.mlir");
  EXPECT_TRUE(plan.ok()) << plan.message();
  return *plan;
}

TEST(BackwardTest, CausalMatchesTheTextbookBackward) {
  BackwardPlan plan = compileCausal(false);
  EXPECT_EQ(plan.device(), DeviceKind::Emu);
  EXPECT_FALSE(plan.deterministic());
  EXPECT_TRUE(plan.captureGradients().empty());
  EXPECT_GE(plan.kernels().size(), 3u);
  for (bool bshd : {false, true}) {
    CausalBackward t(13, 21, bshd, 7);
    RunOptions options;
    options.memcheck = true;
    RunStats stats;
    Status s = plan.run(t.args, options, &stats);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_FALSE(stats.kernels.empty());
    Gradients ref = textbook(t, true);
    EXPECT_LT(relativeError(t.dq.read(), ref.dq), 1e-5) << "bshd " << bshd;
    EXPECT_LT(relativeError(t.dk.read(), ref.dk), 1e-5) << "bshd " << bshd;
    EXPECT_LT(relativeError(t.dv.read(), ref.dv), 1e-5) << "bshd " << bshd;
  }
}

TEST(BackwardTest, StateFromLseOrRecomputed) {
  // The default plan recovers softmax's row max and sum from the forward's
  // lse: no row sweep recomputes them. Asked not to, it recomputes them
  // (two row sweeps more) and reads neither o nor lse; both match the
  // textbook backward.
  BackwardPlan fromLse = compileCausal(false);
  BackwardPlan recomputing = compileCausal(false, DeviceKind::Emu, false);
  EXPECT_TRUE(fromLse.readsResults());
  EXPECT_EQ(fromLse.recomputesBecause(), "");
  EXPECT_FALSE(recomputing.readsResults());
  auto rowSweeps = [](const BackwardPlan &plan) {
    return std::count_if(
        plan.kernels().begin(), plan.kernels().end(),
        [](const BackwardKernelInfo &k) { return k.role == "row-sweep"; });
  };
  EXPECT_EQ(rowSweeps(fromLse), 0);
  EXPECT_EQ(rowSweeps(recomputing), 2);
  for (BackwardPlan *plan : {&fromLse, &recomputing}) {
    CausalBackward t(19, 23, true, 13);
    if (!plan->readsResults())
      t.args.o = t.args.lse = nullptr;
    Status s = plan->run(t.args);
    ASSERT_TRUE(s.ok()) << s.message();
    Gradients ref = textbook(t, true);
    EXPECT_LT(relativeError(t.dq.read(), ref.dq), 1e-5);
    EXPECT_LT(relativeError(t.dk.read(), ref.dk), 1e-5);
    EXPECT_LT(relativeError(t.dv.read(), ref.dv), 1e-5);
  }
  // A plan reading the results needs them.
  CausalBackward t(5, 6, false, 1);
  t.args.lse = nullptr;
  Status s = fromLse.validate(t.args);
  EXPECT_EQ(s.ok() ? std::string("ok") : s.message(),
            "lse: no tensor given (the plan reads the forward's results: pass "
            "the lse the forward wrote)");
}

TEST(BackwardTest, ReadsTheForwardPlansResults) {
  // A training step: the forward plan writes o and lse, the backward plan
  // reads them (its state from the kernel's lse, not the textbook's).
  CompileOptions options;
  options.device = DeviceKind::Emu;
  auto forward = emuRuntime().compileText(readExample("causal.mlir"), options,
                                          "causal.mlir");
  ASSERT_TRUE(forward.ok()) << forward.message();
  BackwardPlan backward = compileCausal(false);
  ASSERT_TRUE(backward.readsResults());
  CausalBackward t(37, 29, false, 17);
  for (HostTensor *r : {&t.o, &t.lse})
    r->poison();
  Arguments args;
  args.q = &t.q.dl;
  args.k = &t.k.dl;
  args.v = &t.v.dl;
  args.o = &t.o.dl;
  args.lse = &t.lse.dl;
  Status ran = forward->run(args);
  ASSERT_TRUE(ran.ok()) << ran.message();
  Status s = backward.run(t.args);
  ASSERT_TRUE(s.ok()) << s.message();
  Gradients ref = textbook(t, true);
  EXPECT_LT(relativeError(t.dq.read(), ref.dq), 1e-5);
  EXPECT_LT(relativeError(t.dk.read(), ref.dk), 1e-5);
  EXPECT_LT(relativeError(t.dv.read(), ref.dv), 1e-5);
}

TEST(BackwardTest, KernelsRunWithoutDataRaces) {
  // Every kernel again as OS threads under ThreadSanitizer: the barriers
  // between a tile's writes to shared memory and its reads, and the
  // atomics, on one tile per loop. (Two tiles per loop, whose loop-top
  // barrier this size does not reach, and the deterministic mode were
  // checked the same way by hand: no race; they take minutes, over the
  // unit tests' 300 s net in CI beside the lit suite.)
  {
    BackwardPlan plan = compileCausal(false);
    CausalBackward t(9, 11, false, 9);
    RunOptions options;
    options.raceCheck = true;
    RunStats stats;
    Status s = plan.run(t.args, options, &stats);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(stats.dataRaces, 0u)
        << (stats.raceReports.empty() ? "" : stats.raceReports.front());
  }
}

TEST(BackwardTest, AbsentDlseIsZero) {
  BackwardPlan plan = compileCausal(false);
  CausalBackward t(9, 9, false, 11);
  t.args.dLse = nullptr;
  Status s = plan.run(t.args);
  ASSERT_TRUE(s.ok()) << s.message();
  Gradients ref = textbook(t, false);
  EXPECT_LT(relativeError(t.dq.read(), ref.dq), 1e-5);
  EXPECT_LT(relativeError(t.dk.read(), ref.dk), 1e-5);
}

TEST(BackwardTest, DeterministicModeRepeatsBitForBit) {
  BackwardPlan plan = compileCausal(true);
  EXPECT_TRUE(plan.deterministic());
  EXPECT_EQ(plan.source().find("atomic_add_global"), std::string::npos);
  CausalBackward t(40, 37, false, 3);
  ASSERT_TRUE(plan.run(t.args).ok());
  std::vector<double> first[3] = {t.dq.read(), t.dk.read(), t.dv.read()};
  for (HostTensor *g : {&t.dq, &t.dk, &t.dv})
    g->poison();
  ASSERT_TRUE(plan.run(t.args).ok());
  EXPECT_EQ(first[0], t.dq.read());
  EXPECT_EQ(first[1], t.dk.read());
  EXPECT_EQ(first[2], t.dv.read());
  Gradients ref = textbook(t, true);
  EXPECT_LT(relativeError(first[0], ref.dq), 1e-5);
}

TEST(BackwardTest, ArgumentErrorsNameTheTensorAndDimension) {
  BackwardPlan plan = compileCausal(false);
  auto message = [&](CausalBackward &t) {
    Status s = plan.validate(t.args);
    return s.ok() ? std::string("ok") : s.message();
  };
  {
    CausalBackward t(5, 6, false, 1);
    EXPECT_EQ(message(t), "ok");
  }
  {
    CausalBackward t(5, 6, false, 1);
    HostTensor wrong({B, H, 7, D}, kF32, false);
    t.args.dk = &wrong.dl;
    EXPECT_EQ(message(t), "dk: dimension 2 is 7, expected 6 (as k's "
                          "dimension 2 gives)");
  }
  {
    CausalBackward t(5, 6, false, 1);
    HostTensor wrong({B, H, 5, D}, kF16, false);
    t.args.dO = &wrong.dl;
    EXPECT_EQ(message(t), "do: dtype float16, expected float32");
  }
  {
    CausalBackward t(5, 6, false, 1);
    HostTensor wrong({B, H, 6, 32}, kF16, false);
    t.args.v = &wrong.dl;
    EXPECT_EQ(message(t), "v: dimension 3 is 32, expected 64 (the variant "
                          "fixes it)");
  }
  {
    CausalBackward t(5, 6, false, 1);
    t.args.dv = nullptr;
    EXPECT_EQ(message(t), "dv: no tensor given");
  }
  {
    CausalBackward t(5, 6, false, 1);
    t.args.captures.push_back(Capture::scalar(1.0));
    EXPECT_EQ(message(t), "the variant takes 0 capture(s); BackwardArguments "
                          "has 1");
  }
}

TEST(BackwardTest, CaptureGradientsOfAlibi) {
  CompileOptions options;
  options.device = DeviceKind::Emu;
  auto plan = emuRuntime().compileBackwardText(readExample("alibi.mlir"),
                                               options, {}, "alibi.mlir");
  ASSERT_TRUE(plan.ok()) << plan.message();
  ASSERT_EQ(plan->captureGradients(), std::vector<unsigned>{0});
  // alibi.mlir returns no lse: the state is recomputed, and the plan says
  // why.
  EXPECT_FALSE(plan->readsResults());
  EXPECT_NE(plan->recomputesBecause().find("returns no lse"), std::string::npos)
      << plan->recomputesBecause();
  int64_t nq = 7, nk = 9;
  HostTensor q({1, H, nq, D}, kF16, false), k({1, H, nk, D}, kF16, false),
      v({1, H, nk, D}, kF16, false), slopes({H}, kF32, false),
      dO({1, H, nq, D}, kF32, false), dq({1, H, nq, D}, kF32, false),
      dk({1, H, nk, D}, kF32, false), dv({1, H, nk, D}, kF32, false),
      dslopes({H}, kF32, false);
  q.fill(normal(H * nq * D, 1));
  k.fill(normal(H * nk * D, 2));
  v.fill(normal(H * nk * D, 3));
  slopes.fill(normal(H, 4, 0.3));
  dO.fill(normal(H * nq * D, 5));
  dslopes.poison();
  BackwardArguments args;
  args.q = &q.dl;
  args.k = &k.dl;
  args.v = &v.dl;
  args.captures = {Capture::of(&slopes.dl)};
  args.dO = &dO.dl;
  args.dq = &dq.dl;
  args.dk = &dk.dl;
  args.dv = &dv.dl;
  args.dCaptures = {&dslopes.dl};
  Status s = plan->run(args);
  ASSERT_TRUE(s.ok()) << s.message();
  // The slope's gradient is Σ dS_ij (j - i) over each head: finite and
  // nonzero for random inputs (its value is checked against the float64
  // interpreter by test/examples/backward-emu.test).
  for (double g : dslopes.read()) {
    EXPECT_TRUE(std::isfinite(g));
    EXPECT_NE(g, 0.0);
  }
}

TEST(BackwardTest, CudaMatchesTheEmulator) {
  const attn::jit::cuda::GpuInfo *gpu = nullptr;
  std::string why;
  if (!attn::jit::cuda::loadDriver(&gpu, &why))
    GTEST_SKIP() << "no usable CUDA GPU here: " << why;
  BackwardPlan emu = compileCausal(false);
  BackwardPlan cuda = compileCausal(false, DeviceKind::Cuda);
  CausalBackward t(70, 90, false, 5);
  ASSERT_TRUE(emu.run(t.args).ok());
  std::vector<double> want[3] = {t.dq.read(), t.dk.read(), t.dv.read()};
  // The same tensors in GPU memory.
  HostTensor *all[10] = {&t.q,  &t.k,  &t.v,  &t.dO, &t.dLse,
                         &t.dq, &t.dk, &t.dv, &t.o,  &t.lse};
  std::vector<Buffer> buffers;
  DLTensor views[10];
  for (int n = 0; n < 10; ++n) {
    size_t bytes = all[n]->storage.size() * 8;
    auto buffer = emuRuntime().allocate(DeviceKind::Cuda, bytes);
    ASSERT_TRUE(buffer.ok()) << buffer.message();
    ASSERT_TRUE(buffer->copyFromHost(all[n]->storage.data(), bytes).ok());
    views[n] = all[n]->dl;
    views[n].data = buffer->data();
    views[n].device = buffer->dlDevice();
    buffers.push_back(*buffer);
  }
  BackwardArguments args = t.args;
  args.q = &views[0];
  args.k = &views[1];
  args.v = &views[2];
  args.dO = &views[3];
  args.dLse = &views[4];
  args.dq = &views[5];
  args.dk = &views[6];
  args.dv = &views[7];
  args.o = &views[8];
  args.lse = &views[9];
  Status s = cuda.run(args);
  ASSERT_TRUE(s.ok()) << s.message();
  for (int n = 5; n < 8; ++n)
    ASSERT_TRUE(buffers[n]
                    .copyToHost(all[n]->storage.data(),
                                all[n]->storage.size() * 8)
                    .ok());
  EXPECT_LT(relativeError(t.dq.read(), want[0]), 1e-5);
  EXPECT_LT(relativeError(t.dk.read(), want[1]), 1e-5);
  EXPECT_LT(relativeError(t.dv.read(), want[2]), 1e-5);
}

} // namespace
