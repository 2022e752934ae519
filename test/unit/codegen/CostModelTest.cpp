//===- CostModelTest.cpp - the static cost model --------------------------===//
//
// The PTX classifier on hand-written PTX; synthetic kernels with a known
// bound (mma only, exp-heavy, a DRAM copy, shared-memory heavy), compiled by
// NVRTC and measured as attn's kernels are (the loop body x1 and x2), each
// attributed to the right bound on both targets; and the model's occupancy
// and latency arithmetic.
//
//===----------------------------------------------------------------------===//

#include "attn/Codegen/CostModel.h"
#include "attn/Codegen/Nvrtc.h"

#include <gtest/gtest.h>

#include <string>

using namespace attn::codegen;

namespace {

TEST(CostModelTest, ClassifiesPtx) {
  const char *ptx = R"(
.version 8.0
.target sm_80
.visible .entry other(.param .u64 p) { ret; }
.visible .entry k(
  .param .u64 k_param_0
)
{
  .reg .b32 %r<9>;
  ld.param.u64 %rd1, [k_param_0];   // param: other
$L__BB0_1:
  mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%f1,%f2,%f3,%f4}, {%r1,%r2,%r3,%r4}, {%r5,%r6}, {%f1,%f2,%f3,%f4};
  ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%r1,%r2,%r3,%r4}, [%r7];
  ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%r1,%r2}, [%r7];
  ex2.approx.ftz.f32 %f5, %f6;
  shfl.sync.bfly.b32 %r1, %r2, 1, 31, -1;
  bar.sync 0;
  cp.async.cg.shared.global [%r1], [%rd2], 16, %r3;
  cp.async.wait_group 1;
  ld.shared.v4.b32 {%r1,%r2,%r3,%r4}, [%r8];
  st.shared.b16 [%r8], %rs1;
  ld.global.nc.v2.f32 {%f1,%f2}, [%rd3];
  st.global.b16 [%rd3], %rs1;
  { .reg .pred p; setp.ne.b32 p, %r1, 0; }
  @%p1 bra $L__BB0_1;
  ret;
}
)";
  llvm::Expected<InstructionMix> mix = countPtxInstructions(ptx, "k");
  ASSERT_TRUE(bool(mix)) << llvm::toString(mix.takeError());
  EXPECT_EQ(mix->mma, 1);
  EXPECT_EQ(mix->ldmatrix, 2);
  EXPECT_EQ(mix->mufu, 1);
  EXPECT_EQ(mix->shuffle, 1);
  EXPECT_EQ(mix->barrier, 2); // bar.sync, cp.async.wait_group
  // ldmatrix x4 and x2, ld.shared.v4.b32 (512 B: 4 wavefronts), the 2-byte
  // store (1).
  EXPECT_EQ(mix->sharedAccesses, 4);
  EXPECT_EQ(mix->sharedWavefronts, 4 + 2 + 4 + 1);
  // cp.async (16 B per lane), ld.global.v2.f32 (8 B), st.global.b16 (2 B).
  EXPECT_EQ(mix->globalAccesses, 3);
  EXPECT_EQ(mix->globalBytes, 32 * (16 + 8 + 2));
  // ld.param, setp, bra, ret.
  EXPECT_EQ(mix->other, 4);
  EXPECT_EQ(mix->total, 16);
  EXPECT_FALSE(bool(countPtxInstructions(ptx, "missing")))
      << "an absent entry is an error";
  llvm::consumeError(countPtxInstructions(ptx, "missing").takeError());
}

TEST(CostModelTest, CountsAWarpsShareOfWgmma) {
  // m64n64k16 is a warpgroup's: each warp's share is 16 x 64 x 16 MACs,
  // eight m16n8k16's worth; the rs form's A registers are an operand vector.
  const char *ptx = R"(
.visible .entry k()
{
  wgmma.fence.sync.aligned;
  wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {%f1,%f2,%f3,%f4,%f5,%f6,%f7,%f8,%f9,%f10,%f11,%f12,%f13,%f14,%f15,%f16,%f17,%f18,%f19,%f20,%f21,%f22,%f23,%f24,%f25,%f26,%f27,%f28,%f29,%f30,%f31,%f32}, {%r1,%r2,%r3,%r4}, %rd1, p, 1, 1, 1;
  wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {%f1}, %rd2, %rd1, p, 1, 1, 0, 0;
  wgmma.commit_group.sync.aligned;
  wgmma.wait_group.sync.aligned 0;
  ret;
}
)";
  llvm::Expected<InstructionMix> mix = countPtxInstructions(ptx, "k");
  ASSERT_TRUE(bool(mix)) << llvm::toString(mix.takeError());
  EXPECT_EQ(mix->mma, 8 + 16);
  EXPECT_EQ(mix->total, 6);
}

/// A synthetic kernel: `body` (CUDA statements) inside a `#pragma unroll 1`
/// loop of n trips, written `copies` times per trip.
std::string syntheticKernel(const std::string &prologue,
                            const std::string &body,
                            const std::string &epilogue, int copies) {
  std::string source = "extern \"C\" __global__ void k(float *out, const "
                       "float4 *in, int n) {\n" +
                       prologue + "\n#pragma unroll 1\nfor (int it = 0; it < "
                                  "n; ++it) {\n";
  for (int c = 0; c < copies; ++c)
    source += body + "\n";
  return source + "}\n" + epilogue + "\n}\n";
}

/// One loop iteration of the synthetic kernel, measured as attn's KV loops
/// are: the x2 and x1 PTX mixes and cubins' .text, subtracted. Skips when
/// NVRTC is not there.
struct Measured {
  LoopFacts facts;
  KernelResources resources;
};

std::optional<Measured> measure(const std::string &prologue,
                                const std::string &body,
                                const std::string &epilogue,
                                const std::string &archName) {
  std::optional<CudaArch> arch = lookupCudaArch(archName);
  Measured m;
  InstructionMix mixes[2];
  int64_t texts[2] = {0, 0};
  for (int copies = 1; copies <= 2; ++copies) {
    std::string source = syntheticKernel(prologue, body, epilogue, copies);
    auto ptx = compileWithNvrtc(source, "synthetic.cu", *arch, NvrtcTarget::Ptx);
    if (!ptx) {
      ADD_FAILURE() << llvm::toString(ptx.takeError());
      return std::nullopt;
    }
    auto mix = countPtxInstructions(ptx->binary, "k");
    auto cubin =
        compileWithNvrtc(source, "synthetic.cu", *arch, NvrtcTarget::Cubin);
    if (!mix || !cubin) {
      ADD_FAILURE() << "synthetic kernel did not compile or count";
      return std::nullopt;
    }
    auto text = cubinTextBytes(cubin->binary, "k");
    if (!text) {
      ADD_FAILURE() << llvm::toString(text.takeError());
      return std::nullopt;
    }
    mixes[copies - 1] = *mix;
    texts[copies - 1] = *text;
    if (copies == 1 && !cubin->kernels.empty())
      m.resources = cubin->kernels.front();
  }
  m.facts.mix = mixes[1] - mixes[0];
  m.facts.sassSlots =
      double(texts[1] - texts[0]) / double(kSassInstructionBytes);
  return m;
}

/// A launch of the synthetic kernel: 4 warps per CTA, 8 CTAs per SM's worth
/// of CTAs, 1000 iterations each, reading `bytes` per iteration per CTA
/// (each byte once).
KernelWork launch(const Measured &m, const GpuTarget &t, double bytes) {
  KernelWork w;
  w.name = "k";
  w.threads = 128;
  w.registers = m.resources.registers;
  w.smemBytes = 16 * 1024;
  w.loop = m.facts;
  w.ctas = 8 * t.multiprocessors;
  w.iterations = w.ctas * 1000;
  w.maxIterationsPerCta = 1000;
  w.loadBytesPerIteration = bytes;
  w.kvBytesPerSlice = bytes * 1000;
  w.kvSlices = w.ctas;
  return w;
}

class SyntheticBound : public ::testing::TestWithParam<const char *> {};

TEST_P(SyntheticBound, AttributedToTheRightBound) {
  std::string archName = GetParam();
  std::vector<const GpuTarget *> targets = gpuTargetsForArch(archName);
  ASSERT_EQ(targets.size(), 1u);
  const GpuTarget &t = *targets.front();
  {
    auto probe = compileWithNvrtc("extern \"C\" __global__ void k() {}",
                                  "probe.cu", *lookupCudaArch(archName),
                                  NvrtcTarget::Ptx);
    if (!probe)
      GTEST_SKIP() << "NVRTC is not available: "
                   << llvm::toString(probe.takeError());
  }
  // Independent accumulators: nothing serialises the operations.
  std::string mmaPrologue =
      "unsigned a0 = threadIdx.x, a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3, "
      "b0 = a0 ^ 5, b1 = a0 ^ 7;\nfloat c[8][4] = {};";
  std::string mmaBody;
  for (int r = 0; r < 8; ++r)
    mmaBody += "asm volatile(\"mma.sync.aligned.m16n8k16.row.col.f32.f16.f16."
               "f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\" : "
               "\"+f\"(c[" + std::to_string(r) + "][0]), \"+f\"(c[" +
               std::to_string(r) + "][1]), \"+f\"(c[" + std::to_string(r) +
               "][2]), \"+f\"(c[" + std::to_string(r) +
               "][3]) : \"r\"(a0), \"r\"(a1), \"r\"(a2), \"r\"(a3), "
               "\"r\"(b0), \"r\"(b1));\n";
  std::string mmaEpilogue = "float s = 0; for (int r = 0; r < 8; ++r) s += "
                            "c[r][0] + c[r][3]; out[threadIdx.x] = s;";
  std::string expPrologue = "float x[16]; for (int r = 0; r < 16; ++r) x[r] "
                            "= threadIdx.x * 0.001f + r;";
  std::string expBody;
  for (int r = 0; r < 16; ++r)
    expBody += "asm volatile(\"ex2.approx.ftz.f32 %0, %0;\" : \"+f\"(x[" +
               std::to_string(r) + "]));\n";
  std::string expEpilogue = "float s = 0; for (int r = 0; r < 16; ++r) s += "
                            "x[r]; out[threadIdx.x] = s;";
  std::string copyPrologue = "float4 acc = make_float4(0, 0, 0, 0);\n"
                             "size_t at = blockIdx.x * blockDim.x + "
                             "threadIdx.x;";
  std::string copyBody = "{ float4 v = in[at]; acc.x += v.x; acc.y += v.w; "
                         "at += gridDim.x * blockDim.x; }";
  std::string copyEpilogue = "out[threadIdx.x] = acc.x + acc.y;";
  std::string sharedPrologue =
      "__shared__ float4 tile[1024]; tile[threadIdx.x] = in[threadIdx.x]; "
      "__syncthreads(); float4 acc = make_float4(0, 0, 0, 0); "
      "unsigned at = threadIdx.x;";
  std::string sharedBody;
  for (int r = 0; r < 16; ++r)
    sharedBody += "{ float4 v; asm volatile(\"ld.shared.v4.f32 {%0,%1,%2,%3}, "
                  "[%4];\" : \"=f\"(v.x), \"=f\"(v.y), \"=f\"(v.z), "
                  "\"=f\"(v.w) : \"r\"((unsigned)__cvta_generic_to_shared("
                  "&tile[(at + " + std::to_string(r * 32) +
                  ") & 1023]))); acc.x += v.x; acc.y += v.w; }\n";
  std::string sharedEpilogue = "out[threadIdx.x] = acc.x + acc.y;";

  struct Case {
    const char *name;
    std::string prologue, body, epilogue;
    double bytes;
    const char *bound;
  } cases[] = {
      {"mma only", mmaPrologue, mmaBody, mmaEpilogue, 0, "tensor"},
      {"exp-heavy", expPrologue, expBody, expEpilogue, 0, "mufu"},
      // 128 threads x 16 B per iteration, each byte read once.
      {"DRAM copy", copyPrologue, copyBody, copyEpilogue, 128 * 16, "dram"},
      {"shared-memory heavy", sharedPrologue, sharedBody, sharedEpilogue, 0,
       "shared"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    std::optional<Measured> m = measure(c.prologue, c.body, c.epilogue,
                                        archName);
    ASSERT_TRUE(m.has_value());
    EXPECT_GT(m->facts.sassSlots, 0) << "the loop body shows in the .text";
    CostEstimate e = estimateCost(launch(*m, t, c.bytes), t);
    EXPECT_EQ(e.bound, c.bound)
        << "issue " << e.issueUs << " tensor " << e.tensorUs << " mufu "
        << e.mufuUs << " shared " << e.sharedUs << " l2 " << e.l2Us
        << " dram " << e.dramUs << " latency " << e.latencyUs;
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, SyntheticBound,
                         ::testing::Values("sm_80", "sm_90"));

TEST(CostModelTest, Occupancy) {
  const GpuTarget &a100 = *gpuTargetsForArch("sm_80").front();
  // 255 registers x 128 threads: 2 CTAs of the register file's 65536.
  EXPECT_EQ(residentCtasPerSm(a100, 128, 255, 0), 2);
  // 55 KB + 1 KB reserved per CTA of 164 KB: 2 CTAs.
  EXPECT_EQ(residentCtasPerSm(a100, 128, 64, 55 * 1024), 2);
  // 2048 threads per SM.
  EXPECT_EQ(residentCtasPerSm(a100, 1024, 32, 0), 2);
}

TEST(CostModelTest, FewCtasAreLatencyBound) {
  // One CTA of one warp with a long loop: it runs alone on its SM and one
  // warp issues at most one instruction per clock.
  const GpuTarget &h100 = *gpuTargetsForArch("sm_90").front();
  KernelWork w;
  w.threads = 32;
  w.registers = 64;
  w.loop = LoopFacts{InstructionMix(), 100};
  w.loop->mix.total = 100;
  w.ctas = 1;
  w.iterations = w.maxIterationsPerCta = 10000;
  CostEstimate e = estimateCost(w, h100);
  EXPECT_EQ(e.bound, "latency");
  EXPECT_NEAR(e.latencyUs, 10000 * 100 / (h100.clockGhz * 1e3), 1e-6);
  // The same work over 132 CTAs of 1/132 the loop each is 132 times faster.
  KernelWork split = w;
  split.ctas = h100.multiprocessors;
  split.maxIterationsPerCta = (w.iterations + split.ctas - 1) / split.ctas;
  CostEstimate s = estimateCost(split, h100);
  EXPECT_LT(s.predictedUs, e.predictedUs / 50);
}

TEST(CostModelTest, WgmmaReachesTheWholeTensorPeak) {
  // The same tensor work costs mma.sync's share of H100's peak (0.625) or,
  // on wgmma, the whole of it.
  ASSERT_FALSE(gpuTargetsForArch("sm_90a").empty());
  const GpuTarget &h100 = *gpuTargetsForArch("sm_90a").front();
  KernelWork w;
  w.threads = 256;
  w.registers = 128;
  w.loop = LoopFacts{InstructionMix(), 0};
  w.loop->mix.mma = 128;
  w.loop->mix.total = 100;
  w.ctas = 132;
  w.iterations = w.maxIterationsPerCta = 100;
  CostEstimate sync = estimateCost(w, h100);
  w.wgmma = true;
  CostEstimate async = estimateCost(w, h100);
  EXPECT_NEAR(async.tensorCycles, sync.tensorCycles * h100.mmaSyncFraction,
              1e-9 * sync.tensorCycles);
  EXPECT_GT(h100.mmaSyncFraction, 0);
  EXPECT_LT(h100.mmaSyncFraction, 1);
}

TEST(CostModelTest, SumOfAPlan) {
  const GpuTarget &a100 = *gpuTargetsForArch("sm_80").front();
  KernelWork w;
  w.threads = 128;
  w.registers = 128;
  w.ctas = 1000;
  w.otherDramBytes = 1e9;
  CostEstimate one = estimateCost(w, a100);
  EXPECT_EQ(one.bound, "dram");
  EXPECT_NEAR(one.dramUs, 1e9 / (2039 * 1e3), 1e-3);
  CostEstimate both = sumCosts({one, one});
  EXPECT_DOUBLE_EQ(both.predictedUs, 2 * one.predictedUs);
  EXPECT_EQ(both.bound, "dram");
}

} // namespace
