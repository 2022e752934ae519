//===- NvrtcEmitTest.cpp - emitted kernels compile under NVRTC -------------===//
//
// Every example, compiled to kernel IR and emitted as CUDA, must compile with
// NVRTC (loaded with dlopen; no GPU needed) to a cubin for sm_80 and sm_90
// with no register spills in ptxas' -v report. Prints registers, stack frame
// and compile time per kernel. Skipped only when libnvrtc cannot be loaded.
//
//===----------------------------------------------------------------------===//

#include "ExampleKernels.h"

#include "attn/Codegen/CudaEmitter.h"
#include "attn/Codegen/Nvrtc.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using attn::test::exampleNames;

class NvrtcEmitTest : public ::testing::TestWithParam<std::string> {};

TEST_P(NvrtcEmitTest, CompilesWithoutSpills) {
  attn::test::LoweredExample example = attn::test::lowerExample(GetParam());
  ASSERT_TRUE(example.func) << GetParam() << " did not parse and lower";
  mlir::func::FuncOp func = example.func;
  auto kernel = attn::codegen::emitCudaKernel(func);
  ASSERT_TRUE(mlir::succeeded(kernel));
  for (const char *archName : {"sm_80", "sm_90"}) {
    std::optional<attn::codegen::CudaArch> arch =
        attn::codegen::lookupCudaArch(archName);
    ASSERT_TRUE(arch);
    auto out = attn::codegen::compileWithNvrtc(kernel->source, GetParam(),
                                               *arch,
                                               attn::codegen::NvrtcTarget::Cubin);
    if (!out) {
      std::string error = llvm::toString(out.takeError());
      if (error.find("cannot load libnvrtc") != std::string::npos)
        GTEST_SKIP() << error;
      FAIL() << archName << ":\n" << error;
    }
    ASSERT_FALSE(out->kernels.empty()) << out->log;
    for (const attn::codegen::KernelResources &k : out->kernels) {
      EXPECT_EQ(k.spillStoreBytes, 0) << archName << " spills:\n" << out->log;
      EXPECT_EQ(k.spillLoadBytes, 0) << archName << " spills:\n" << out->log;
      std::printf("  %-22s %s: %3lld registers, %5lld bytes stack, %.2f s\n",
                  GetParam().c_str(), archName, (long long)k.registers,
                  (long long)k.stackFrameBytes, out->compileMs / 1000.0);
      RecordProperty(std::string(archName) + "_registers",
                     std::to_string(k.registers));
    }
  }
}

/// sm_90a's kernel (the wgmma schedule): 0 spills, and the wgmmas issue
/// without ptxas serialising them or injecting fences of its own (a
/// register they read changed after the wgmma_fence).
TEST_P(NvrtcEmitTest, WgmmaKernelCompilesWithoutSpillsForSm90a) {
  attn::AttnPipelineOptions options;
  options.arch = "sm_90a";
  attn::test::LoweredExample example =
      attn::test::lowerExample(GetParam(), options);
  ASSERT_TRUE(example.func) << GetParam() << " did not parse and lower";
  attn::codegen::CudaEmitOptions emit;
  emit.maxSmemBytes = attn::codegen::lookupCudaArch("sm_90a")->maxSmemPerBlock;
  auto kernel = attn::codegen::emitCudaKernel(example.func, emit);
  ASSERT_TRUE(mlir::succeeded(kernel));
  ASSERT_TRUE(kernel->wgmma) << GetParam() << " is not on the wgmma schedule";
  EXPECT_TRUE(kernel->tma) << GetParam() << " does not stage K/V by TMA";
  auto out = attn::codegen::compileWithNvrtc(
      kernel->source, GetParam(), *attn::codegen::lookupCudaArch("sm_90a"),
      attn::codegen::NvrtcTarget::Cubin);
  if (!out) {
    std::string error = llvm::toString(out.takeError());
    if (error.find("cannot load libnvrtc") != std::string::npos)
      GTEST_SKIP() << error;
    FAIL() << error;
  }
  ASSERT_FALSE(out->kernels.empty()) << out->log;
  for (const attn::codegen::KernelResources &k : out->kernels) {
    EXPECT_EQ(k.spillStoreBytes + k.spillLoadBytes, 0) << out->log;
    std::printf("  %-22s sm_90a: %3lld registers, %5lld bytes stack\n",
                GetParam().c_str(), (long long)k.registers,
                (long long)k.stackFrameBytes);
  }
  EXPECT_EQ(out->log.find("Potential Performance Loss"), std::string::npos)
      << out->log;
  EXPECT_EQ(out->log.find("warpgroup.arrive is injected"), std::string::npos)
      << out->log;
}

INSTANTIATE_TEST_SUITE_P(Examples, NvrtcEmitTest,
                         ::testing::ValuesIn(exampleNames()),
                         [](const ::testing::TestParamInfo<std::string> &info) {
                           return info.param;
                         });

} // namespace
