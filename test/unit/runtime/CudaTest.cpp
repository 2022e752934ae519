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

} // namespace
