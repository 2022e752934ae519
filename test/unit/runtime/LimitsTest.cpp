//===- LimitsTest.cpp - compile-time limits through the runtime -----------===//
//
// Tile sizes and head dims the kernels cannot take are compile errors with a
// message that names the limit, never a crash inside Plan::run: per-thread
// arrays beyond a thread's 512 KB of local memory (which used to overflow
// the emulator's fiber stacks), tensor-core tile sizes, and static sizes of
// 2^31 or more. A kernel just inside the array limit runs in the emulator.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestSupport.h"

#include <gtest/gtest.h>

using namespace attn;
using namespace attn::test;

namespace {

/// examples/causal.mlir with one head and the element type and head dim
/// given (f32 takes the SIMT path).
std::string causal(const std::string &elem, const std::string &headDim) {
  std::string text = readExample("causal.mlir");
  auto replaceAll = [&](const std::string &from, const std::string &to) {
    for (size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size()))
      text.replace(at, from.size(), to);
  };
  replaceAll("?x8x?x64xf16", "1x1x?x" + headDim + "x" + elem);
  replaceAll("?x8x?xf32", "1x1x?xf32");
  return text;
}

/// The message of compiling `text` with `options` on the emulator, which
/// must fail.
std::string compileError(const std::string &text, CompileOptions options) {
  Runtime rt(testConfig(sharedCacheDir()));
  options.device = DeviceKind::Emu;
  auto plan = rt.compileText(text, options, "limits");
  EXPECT_FALSE(plan) << "compiled, but should not have";
  return plan ? std::string() : plan.message();
}

TEST(LimitsTest, SimtArraysBeyondLocalMemoryAreACompileError) {
  // Five float[block-n] arrays per thread: 27000 keys is 540 KB.
  CompileOptions options;
  options.blockN = 27000;
  std::string message = compileError(causal("f32", "64"), options);
  EXPECT_NE(message.find("per-thread arrays take"), std::string::npos)
      << message;
  EXPECT_NE(message.find("block-n"), std::string::npos) << message;
  // A head dim of 100,000 held per thread (Dv) likewise.
  std::string wide = compileError(causal("f32", "100000"), CompileOptions());
  EXPECT_NE(wide.find("float[100000]"), std::string::npos) << wide;
}

TEST(LimitsTest, ArraysJustInsideTheLimitRunInTheEmulator) {
  // 26000 keys: 520,000 bytes of arrays, within 512 KiB; the emulator's fiber
  // stacks must hold them (it used to crash from about 22,000 keys).
  std::string text = causal("f32", "64");
  Reference ref = makeReference(text, 37, 50, 21);
  Runtime rt(testConfig(sharedCacheDir()));
  CompileOptions options;
  options.device = DeviceKind::Emu;
  options.blockN = 26000;
  auto plan = rt.compileText(text, options, "limits");
  ASSERT_TRUE(plan) << plan.message();
  RunOptions run;
  run.splitKv = SplitKvMode::Never;
  RunOutputs out = runOnReference(*plan, ref, DLDataType{kDLFloat, 32, 1}, run);
  ASSERT_TRUE(out.status.ok()) << out.status.message();
  EXPECT_LT(relativeError(out.o, ref.results[0].data), 1e-5);
  EXPECT_LT(relativeError(out.lse, ref.results[1].data), 1e-5);
}

TEST(LimitsTest, TensorCoreTileSizesAreChecked) {
  CompileOptions options;
  options.kernelPath = "mma";
  options.blockN = 512;
  std::string n = compileError(causal("f16", "64"), options);
  EXPECT_NE(n.find("block-n"), std::string::npos) << n;
  EXPECT_NE(n.find("from 16 to 256"), std::string::npos) << n;
  options.blockN = 0;
  options.blockM = 256;
  std::string m = compileError(causal("f16", "64"), options);
  EXPECT_NE(m.find("block-m = 256"), std::string::npos) << m;
}

TEST(LimitsTest, StaticSizesOf2To31AreACompileError) {
  std::string message =
      compileError(causal("f32", "2147483648"), CompileOptions());
  EXPECT_NE(message.find("dimension 3 of 'q' is 2147483648"),
            std::string::npos)
      << message;
}

} // namespace
