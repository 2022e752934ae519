//===- KernelLibraryTest.cpp - CUDA sources built into dlopen'ed kernels ----===//

#include "attn/emu/KernelLibrary.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <vector>

using namespace attn::emu;

namespace {

struct SaxpyParams { // as in kernels/saxpy.cu
  const float *x;
  float *y;
  long long n;
  float a;
};

TEST(KernelLibraryTest, CompileLoadAndLaunch) {
  std::string error;
  auto library = KernelLibrary::compile(ATTN_TEST_KERNEL_DIR "/saxpy.cu",
                                        HostCompileOptions(), &error);
  ASSERT_TRUE(library) << error;
  ASSERT_NE(library->lookup("saxpy"), nullptr);
  EXPECT_EQ(library->lookup("nonexistent"), nullptr);

  const long long n = 1000;
  std::vector<float> x(n), y(n);
  for (long long i = 0; i < n; ++i) {
    x[i] = static_cast<float>(i);
    y[i] = 1.0f;
  }
  SaxpyParams params{x.data(), y.data(), n, 2.0f};
  auto result = library->launch("saxpy", &params,
                                LaunchConfig("", (n + 127) / 128, 128));
  ASSERT_TRUE(result.ok()) << result.message();
  for (long long i = 0; i < n; ++i)
    ASSERT_EQ(y[i], 2.0f * i + 1.0f) << i;

  auto missing = library->launch("nope", &params, LaunchConfig("", 1, 32));
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("ATTN_KERNEL_ENTRY"), std::string::npos);
}

TEST(KernelLibraryTest, CompilesWithGxxToo) {
  HostCompileOptions options;
  options.compiler = "g++";
  std::string error;
  auto library = KernelLibrary::compile(ATTN_TEST_KERNEL_DIR "/saxpy.cu",
                                        options, &error);
  ASSERT_TRUE(library) << error;
  std::vector<float> x(100, 1.0f), y(100, 2.0f);
  SaxpyParams params{x.data(), y.data(), 100, 3.0f};
  auto result = library->launch("saxpy", &params, LaunchConfig("", 1, 128));
  ASSERT_TRUE(result.ok()) << result.message();
  EXPECT_EQ(y[99], 5.0f);
}

TEST(KernelLibraryTest, CompileErrorCarriesCompilerOutput) {
  std::string path = ::testing::TempDir() + "attn_broken_kernel.cu";
  {
    std::ofstream out(path);
    out << "extern \"C\" __global__ void broken(int p) { undeclaredThing(p); }\n";
  }
  std::string error;
  HostCompileOptions options;
  options.flags = {"-std=c++17", "-O0"}; // fail fast
  auto library = KernelLibrary::compile(path, options, &error);
  std::remove(path.c_str());
  EXPECT_EQ(library, nullptr);
  EXPECT_NE(error.find("failed"), std::string::npos) << error;
  EXPECT_NE(error.find("undeclaredThing"), std::string::npos) << error;
  EXPECT_NE(error.find("clang++-22"), std::string::npos) << error;
}

TEST(KernelLibraryTest, MissingCompilerIsAClearError) {
  HostCompileOptions options;
  options.compiler = "no-such-compiler-attn";
  std::string error;
  auto library = KernelLibrary::compile(ATTN_TEST_KERNEL_DIR "/saxpy.cu",
                                        options, &error);
  EXPECT_EQ(library, nullptr);
  EXPECT_NE(error.find("cannot run 'no-such-compiler-attn'"), std::string::npos)
      << error;
}

} // namespace
