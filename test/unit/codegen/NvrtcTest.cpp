//===- NvrtcTest.cpp - the NVRTC wrapper: logs, errors, compiles ----------===//
//
// parsePtxasLog on canned ptxas -v reports (entry functions only, smem and
// spills picked up), formatCompileErrors pointing at the generated source's
// lines, and compileWithNvrtc end to end: PTX and cubin of a small kernel,
// and a compile error whose message shows the offending source line. The
// compiles are skipped only when libnvrtc cannot be loaded.
//
//===----------------------------------------------------------------------===//

#include "attn/Codegen/Nvrtc.h"

#include <gtest/gtest.h>

#include <string>

using namespace attn::codegen;

namespace {

TEST(NvrtcTest, ArchTable) {
  ASSERT_TRUE(lookupCudaArch("sm_90a"));
  EXPECT_EQ(lookupCudaArch("sm_90")->maxSmemPerBlock, 227 * 1024);
  EXPECT_EQ(lookupCudaArch("sm_86")->maxSmemPerBlock, 99 * 1024);
  EXPECT_FALSE(lookupCudaArch("sm_70"));
  EXPECT_FALSE(lookupCudaArch("compute_80"));
  EXPECT_EQ(supportedCudaArchs(), "sm_80, sm_86, sm_89, sm_90, sm_90a");
}

TEST(NvrtcTest, ParsesPtxasLog) {
  // Two kernels and a non-inlined device function whose properties must not
  // be mistaken for a kernel's.
  const char *log =
      "k.cu(66): warning #177-D: variable \"x4\" was declared but never "
      "referenced\n"
      "ptxas info    : 8 bytes gmem\n"
      "ptxas info    : Function properties for helper\n"
      "ptxas         .     64 bytes stack frame, 8 bytes spill stores, 8 "
      "bytes spill loads\n"
      "ptxas info    : Compiling entry function 'attn_a' for 'sm_90'\n"
      "ptxas info    : Function properties for attn_a\n"
      "ptxas         .     3328 bytes stack frame, 0 bytes spill stores, 0 "
      "bytes spill loads\n"
      "ptxas info    : Used 32 registers, used 0 barriers, 3328 bytes "
      "cumulative stack size\n"
      "ptxas info    : Compiling entry function 'attn_b' for 'sm_90'\n"
      "ptxas info    : Function properties for attn_b\n"
      "ptxas         .     0 bytes stack frame, 12 bytes spill stores, 20 "
      "bytes spill loads\n"
      "ptxas info    : Used 255 registers, used 1 barriers, 16384 bytes smem, "
      "400 bytes cmem[0]\n"
      "ptxas info    : Compile time = 69.614 ms\n";
  std::vector<KernelResources> kernels = parsePtxasLog(log);
  ASSERT_EQ(kernels.size(), 2u);
  EXPECT_EQ(kernels[0].name, "attn_a");
  EXPECT_EQ(kernels[0].registers, 32);
  EXPECT_EQ(kernels[0].staticSmemBytes, 0);
  EXPECT_EQ(kernels[0].stackFrameBytes, 3328);
  EXPECT_EQ(kernels[0].spillStoreBytes, 0);
  EXPECT_EQ(kernels[0].spillLoadBytes, 0);
  EXPECT_EQ(kernels[1].name, "attn_b");
  EXPECT_EQ(kernels[1].registers, 255);
  EXPECT_EQ(kernels[1].staticSmemBytes, 16384);
  EXPECT_EQ(kernels[1].stackFrameBytes, 0);
  EXPECT_EQ(kernels[1].spillStoreBytes, 12);
  EXPECT_EQ(kernels[1].spillLoadBytes, 20);
  EXPECT_TRUE(parsePtxasLog("").empty());
}

TEST(NvrtcTest, FormatsErrorsWithSourceLines) {
  const char *source = "line one\n"
                       "  int x = undefined_thing;\n"
                       "line three\n";
  const char *log = "k.cu(2): error: identifier \"undefined_thing\" is "
                    "undefined\n"
                    "k.cu(3): warning #177-D: a warning is not an error\n"
                    "/inc/attn/device/x.h(7): error: in a header\n"
                    "k.cu(9): error: past the end\n"
                    "3 errors detected in the compilation of \"k.cu\".\n";
  std::string text = formatCompileErrors(log, source, "k.cu");
  // The whole log first, then the located source lines.
  EXPECT_EQ(text.find(log), 0u) << text;
  EXPECT_NE(text.find("generated source at the errors:\n"
                      "k.cu(2): error: identifier \"undefined_thing\" is "
                      "undefined\n"
                      "  k.cu:2:   int x = undefined_thing;\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  k.cu:9: <no such line in the generated source>"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("k.cu:3:"), std::string::npos) << text;
  EXPECT_EQ(text.find("x.h:7:"), std::string::npos) << text;
  // No errors: the log alone.
  EXPECT_EQ(formatCompileErrors("all good\n", source, "k.cu"), "all good\n");
}

/// Skips the calling test when libnvrtc is not there.
#define SKIP_WITHOUT_NVRTC(result)                                             \
  if (!(result)) {                                                             \
    std::string why = llvm::toString((result).takeError());                    \
    if (why.rfind("cannot load libnvrtc", 0) == 0)                             \
      GTEST_SKIP() << why;                                                     \
    FAIL() << why;                                                             \
  }

const char *const kKernel = "extern \"C\" __global__ void add_one(float *x) {\n"
                            "  x[threadIdx.x] += 1.0f;\n"
                            "}\n";

TEST(NvrtcTest, CompilesPtxAndCubin) {
  auto ptx = compileWithNvrtc(kKernel, "add_one.cu", *lookupCudaArch("sm_80"),
                              NvrtcTarget::Ptx);
  SKIP_WITHOUT_NVRTC(ptx);
  EXPECT_NE(ptx->binary.find(".entry add_one"), std::string::npos);
  EXPECT_NE(ptx->binary.find(".target sm_80"), std::string::npos);
  EXPECT_TRUE(ptx->kernels.empty()); // ptxas did not run.
  EXPECT_GT(ptx->compileMs, 0);

  auto cubin = compileWithNvrtc(kKernel, "add_one.cu", *lookupCudaArch("sm_90"),
                                NvrtcTarget::Cubin);
  SKIP_WITHOUT_NVRTC(cubin);
  ASSERT_GE(cubin->binary.size(), 4u);
  EXPECT_EQ(cubin->binary.substr(0, 4), "\x7f"
                                        "ELF");
  ASSERT_EQ(cubin->kernels.size(), 1u) << cubin->log;
  EXPECT_EQ(cubin->kernels[0].name, "add_one");
  EXPECT_GT(cubin->kernels[0].registers, 0);
  EXPECT_EQ(cubin->kernels[0].spillStoreBytes, 0);
}

TEST(NvrtcTest, CompileErrorShowsSourceLine) {
  const char *bad = "extern \"C\" __global__ void broken(float *x) {\n"
                    "  x[0] = undefined_thing;\n"
                    "}\n";
  auto out = compileWithNvrtc(bad, "broken.cu", *lookupCudaArch("sm_90"),
                              NvrtcTarget::Cubin);
  ASSERT_FALSE(out);
  std::string why = llvm::toString(out.takeError());
  if (why.rfind("cannot load libnvrtc", 0) == 0)
    GTEST_SKIP() << why;
  EXPECT_NE(why.find("nvrtcCompileProgram failed: compilation error in "
                     "'broken.cu' for sm_90"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("broken.cu(2): error: identifier \"undefined_thing\""),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("  broken.cu:2:   x[0] = undefined_thing;"),
            std::string::npos)
      << why;
}

} // namespace
