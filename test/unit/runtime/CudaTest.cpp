//===- CudaTest.cpp - the cuda device through the driver API --------------===//
//
// Runs only where libcuda.so.1 loads and sees a GPU; elsewhere the tests
// skip with the driver's reason. What can be checked without a GPU is: no
// driver and a stub driver are clear errors, never crashes.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestSupport.h"

#include "CudaDriver.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

using namespace attn;
using namespace attn::test;

namespace {

/// Skips the test with the reason when no GPU is usable.
#define SKIP_WITHOUT_GPU()                                                     \
  do {                                                                         \
    const attn::jit::cuda::GpuInfo *gpu = nullptr;                             \
    std::string why;                                                           \
    if (!attn::jit::cuda::loadDriver(&gpu, &why))                              \
      GTEST_SKIP() << "no usable CUDA GPU here: " << why;                      \
  } while (0)

TEST(CudaTest, WithoutAGpuDeviceCudaIsAClearError) {
  const attn::jit::cuda::GpuInfo *gpu = nullptr;
  std::string why;
  if (attn::jit::cuda::loadDriver(&gpu, &why))
    GTEST_SKIP() << "a GPU is visible (" << gpu->name << ")";
  Runtime rt(testConfig(""));
  auto device = rt.resolveDevice(DeviceKind::Cuda);
  ASSERT_FALSE(device);
  EXPECT_EQ(device.message().rfind("device cuda: ", 0), 0u) << device.message();
  CompileOptions options;
  options.device = DeviceKind::Cuda;
  auto plan =
      rt.compileFile(std::string(ATTN_EXAMPLES_DIR) + "/causal.mlir", options);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.message(), device.message());
  auto buffer = rt.allocate(DeviceKind::Cuda, 16);
  EXPECT_FALSE(buffer);
}

TEST(CudaTest, StubDriverIsAClearError) {
  const char *stub = "/usr/local/cuda/lib64/stubs/libcuda.so";
  if (access(stub, R_OK) != 0)
    GTEST_SKIP() << "no CUDA stub library at " << stub;
  // In a child: the stub stays out of this process.
  int pipeFds[2];
  ASSERT_EQ(pipe(pipeFds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(pipeFds[0]);
    attn::jit::cuda::DriverApi api{};
    attn::jit::cuda::GpuInfo gpu;
    std::string why;
    bool loaded = attn::jit::cuda::openDriver(stub, api, gpu, &why);
    (void)!write(pipeFds[1], why.data(), why.size());
    _exit(loaded ? 1 : 0);
  }
  close(pipeFds[1]);
  std::string why;
  char buffer[512];
  ssize_t n;
  while ((n = read(pipeFds[0], buffer, sizeof buffer)) > 0)
    why.append(buffer, static_cast<size_t>(n));
  close(pipeFds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "loading the stub driver crashed";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the stub must not count as a driver";
  EXPECT_NE(why.find("failed"), std::string::npos) << why;
  std::cout << "the stub driver says: " << why << "\n";
}

TEST(CudaTest, CausalMatchesTheInterpreter) {
  SKIP_WITHOUT_GPU();
  Reference ref = makeReference(readExample("causal.mlir"), 333, 333, 21);
  TempDir cache;
  Runtime rt(testConfig(cache.path()));
  CompileOptions options;
  options.device = DeviceKind::Cuda;
  auto plan = rt.compileText(readExample("causal.mlir"), options);
  ASSERT_TRUE(plan) << plan.message();
  EXPECT_EQ(rt.stats().nvrtcRuns, 1u);
  DLDataType f16{kDLFloat, 16, 1}, f32{kDLFloat, 32, 1};
  // Host tensors staged into device buffers of the same layout.
  HostTensor hq(ref.inputs[0].shape, f16, true),
      hk(ref.inputs[1].shape, f16, true), hv(ref.inputs[2].shape, f16, true),
      ho(ref.results[0].shape, f16, true), hl(ref.results[1].shape, f32, false);
  hq.fill(ref.inputs[0].data);
  hk.fill(ref.inputs[1].data);
  hv.fill(ref.inputs[2].data);
  ho.poison();
  hl.poison();
  std::vector<Buffer> buffers;
  std::vector<DLTensor> device;
  for (HostTensor *t : {&hq, &hk, &hv, &ho, &hl}) {
    size_t bytes = t->storage.size() * 8;
    auto b = rt.allocate(DeviceKind::Cuda, bytes);
    ASSERT_TRUE(b) << b.message();
    ASSERT_TRUE(b->copyFromHost(t->storage.data(), bytes).ok());
    DLTensor d = t->dl;
    d.data = b->data();
    d.device = b->dlDevice();
    buffers.push_back(*b);
    device.push_back(d);
  }
  Arguments args;
  args.q = &device[0];
  args.k = &device[1];
  args.v = &device[2];
  args.o = &device[3];
  args.lse = &device[4];
  Status s = plan->run(args);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(
      buffers[3].copyToHost(ho.storage.data(), ho.storage.size() * 8).ok());
  ASSERT_TRUE(
      buffers[4].copyToHost(hl.storage.data(), hl.storage.size() * 8).ok());
  EXPECT_LT(relativeError(ho.read(), ref.results[0].data), 2e-3);
  EXPECT_LT(relativeError(hl.read(), ref.results[1].data), 1e-5);
  auto bench = plan->benchmark(args, 5);
  ASSERT_TRUE(bench) << bench.message();
  EXPECT_GT(bench->medianMs, 0);

  // A second runtime finds the cubin on disk: no NVRTC.
  Runtime warm(testConfig(cache.path()));
  auto again = warm.compileText(readExample("causal.mlir"), options);
  ASSERT_TRUE(again) << again.message();
  EXPECT_EQ(warm.stats().nvrtcRuns, 0u);
  EXPECT_EQ(warm.stats().artifactDiskHits, 1u);
}

/// Runs `example` at (nq, nk) on the GPU with every tensor staged into
/// device memory, checks o (and lse) against the interpreter and returns
/// what ran.
RunStats runOnGpu(Runtime &rt, const std::string &example, int64_t nq,
                  int64_t nk, SplitKvMode mode) {
  Reference ref = makeReference(readExample(example), nq, nk, 41);
  CompileOptions options;
  options.device = DeviceKind::Cuda;
  auto plan = rt.compileText(readExample(example), options);
  EXPECT_TRUE(plan) << plan.message();
  if (!plan)
    return {};
  const Signature &sig = plan->signature();
  std::vector<std::unique_ptr<HostTensor>> host;
  std::vector<Buffer> buffers;
  std::vector<std::unique_ptr<DLTensor>> device;
  auto stage = [&](const ArgumentSignature &a,
                   const attn::interp::Tensor &value, bool output) {
    host.push_back(std::make_unique<HostTensor>(value.shape, a.dtype, false));
    HostTensor &t = *host.back();
    t.fill(value.data);
    if (output)
      t.poison();
    size_t bytes = t.storage.size() * 8;
    auto b = rt.allocate(DeviceKind::Cuda, bytes);
    EXPECT_TRUE(b) << b.message();
    if (!b)
      return static_cast<DLTensor *>(nullptr);
    EXPECT_TRUE(b->copyFromHost(t.storage.data(), bytes).ok());
    buffers.push_back(*b);
    device.push_back(std::make_unique<DLTensor>(t.dl));
    device.back()->data = b->data();
    device.back()->device = b->dlDevice();
    return device.back().get();
  };
  Arguments args;
  args.q = stage(sig.inputs[0], ref.inputs[0], false);
  args.k = stage(sig.inputs[1], ref.inputs[1], false);
  args.v = stage(sig.inputs[2], ref.inputs[2], false);
  for (size_t i = 3; i < sig.inputs.size(); ++i)
    args.captures.push_back(
        sig.inputs[i].isTensor
            ? Capture::of(stage(sig.inputs[i], ref.inputs[i], false))
            : Capture::scalar(ref.inputs[i].data[0]));
  args.o = stage(sig.outputs[0], ref.results[0], true);
  if (sig.hasLse())
    args.lse = stage(sig.outputs[1], ref.results[1], true);
  RunOptions run;
  run.splitKv = mode;
  RunStats stats;
  Status s = plan->run(args, run, &stats);
  EXPECT_TRUE(s.ok()) << s.message();
  // Outputs are the last one or two buffers staged.
  size_t outputs = sig.hasLse() ? 2 : 1;
  for (size_t r = 0; r < outputs; ++r) {
    size_t at = host.size() - outputs + r;
    HostTensor &t = *host[at];
    EXPECT_TRUE(
        buffers[at].copyToHost(t.storage.data(), t.storage.size() * 8).ok());
    EXPECT_LT(relativeError(t.read(), ref.results[r].data),
              r == 0 ? 2e-3 : 1e-5)
        << example << " result " << r << " (" << stats.planReason << ")";
  }
  return stats;
}

TEST(CudaTest, PlansOfSeveralKernelsMatchTheInterpreter) {
  SKIP_WITHOUT_GPU();
  TempDir cache;
  Runtime rt(testConfig(cache.path()));
  // Decoding: 8 CTAs leave a GPU's SMs idle; 1000 keys split 4 ways.
  RunStats stats =
      runOnGpu(rt, "causal_bottom_right.mlir", 1, 1000, SplitKvMode::Auto);
  EXPECT_TRUE(stats.splitKv) << stats.planReason;
  EXPECT_EQ(stats.kernels.size(), 2u);
  stats = runOnGpu(rt, "causal_bottom_right.mlir", 1, 1000, SplitKvMode::Never);
  EXPECT_FALSE(stats.splitKv);
  // A document mask: the summaries kernel first, with and without split.
  stats = runOnGpu(rt, "document.mlir", 200, 200, SplitKvMode::Never);
  EXPECT_EQ(stats.kernels.size(), 2u);
  stats = runOnGpu(rt, "document.mlir", 200, 200, SplitKvMode::Always);
  EXPECT_EQ(stats.kernels.size(), 3u);
}

} // namespace
