//===- KernelLibraryTest.cpp - CUDA sources built into dlopen'ed kernels ----===//

#include "attn/emu/KernelLibrary.h"
#include "attn/emu/PrivateFiles.h"

#include "../ScopedEnvironment.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
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

//===----------------------------------------------------------------------===//
// Where kernels are built and what they include
//===----------------------------------------------------------------------===//

/// A scratch directory (mkdtemp under the test's temporary directory),
/// removed with its contents.
struct Scratch {
  std::string path;
  Scratch() {
    std::string pattern = ::testing::TempDir() + "attn-kl-test-XXXXXX";
    if (char *made = mkdtemp(pattern.data()))
      path = made;
  }
  ~Scratch() { removeTree(path); }
  void write(const std::string &name, const std::string &text) const {
    std::string file = path + "/" + name;
    for (size_t slash = name.find('/'); slash != std::string::npos;
         slash = name.find('/', slash + 1))
      mkdir((path + "/" + name.substr(0, slash)).c_str(), 0700);
    std::ofstream(file) << text;
  }
  std::string read(const std::string &name) const {
    std::ifstream in(path + "/" + name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  size_t entries() const {
    size_t n = 0;
    if (DIR *d = opendir(path.c_str())) {
      while (dirent *e = readdir(d))
        n += e->d_name[0] != '.';
      closedir(d);
    }
    return n;
  }
};

std::string saxpySource() {
  std::ifstream in(ATTN_TEST_KERNEL_DIR "/saxpy.cu");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Runs saxpy from `library` on a few elements; true when y = a x + y.
bool saxpyWorks(const KernelLibrary &library, const char *name = "saxpy") {
  std::vector<float> x(50, 2.0f), y(50, 1.0f);
  SaxpyParams params{x.data(), y.data(), 50, 3.0f};
  auto result = library.launch(name, &params, LaunchConfig("", 1, 64));
  return result.ok() && y[0] == 7.0f && y[49] == 7.0f;
}

TEST(KernelLibraryTest, BuildsUnderTmpdirAndLeavesNothing) {
  Scratch tmp, tools;
  // A compiler that records its command line.
  tools.write("cxx", "#!/bin/sh\necho \"$@\" > " + tools.path +
                         "/args\nexec clang++-22 \"$@\"\n");
  ASSERT_EQ(chmod((tools.path + "/cxx").c_str(), 0755), 0);
  HostCompileOptions options;
  options.compiler = tools.path + "/cxx";
  attn::test::ScopedEnvironment scope(tmp.path, tmp.path);
  std::string error, image;
  auto library =
      KernelLibrary::compileSource(saxpySource(), "saxpy.cu", options, &error,
                                   &image);
  ASSERT_TRUE(library) << error;
  EXPECT_TRUE(saxpyWorks(*library));
  EXPECT_EQ(image.substr(0, 4), "\x7f" "ELF");
  // Built in a private directory under $TMPDIR, gone before the kernel can
  // run: a kernel that crashes the process leaves no file behind.
  EXPECT_EQ(tmp.entries(), 0u);
  std::string args = tools.read("args");
  EXPECT_NE(args.find("-iquote " + tmp.path + "/attn-emu-"), std::string::npos)
      << args;
  EXPECT_NE(args.find("-include " + tmp.path + "/attn-emu-"),
            std::string::npos)
      << args;
  // No directory is searched for <...> headers before the system's.
  EXPECT_EQ(args.find(" -I"), std::string::npos) << args;
}

TEST(KernelLibraryTest, TmpdirOthersCanWriteIsRefused) {
  Scratch tmp;
  ASSERT_EQ(chmod(tmp.path.c_str(), 0777), 0);
  attn::test::ScopedEnvironment scope(tmp.path, tmp.path);
  std::string error;
  auto library = KernelLibrary::compileSource(saxpySource(), "saxpy.cu",
                                              HostCompileOptions(), &error);
  EXPECT_EQ(library, nullptr);
  EXPECT_NE(error.find("cannot use the temporary directory '" + tmp.path +
                       "' ($TMPDIR): '" + tmp.path +
                       "' is writable by group or others and not sticky"),
            std::string::npos)
      << error;
  EXPECT_EQ(tmp.entries(), 0u);
}

TEST(KernelLibraryTest, HeadersBesideTheSourceOrInTheWorkingDirectoryAreIgnored) {
  Scratch sources, cwd, tmp;
  for (const Scratch *dir : {&sources, &cwd, &tmp})
    for (const char *header :
         {"attn/device/attn_device.h", "attn/device/config.h",
          "attn/emu/cuda_emu.h", "cstdint", "cmath"})
      dir->write(header, "#error planted\n");
  // A header of the file's own, beside it, still resolves (after the
  // embedded device headers).
  sources.write("own.h", "#define OWN_HEADER_SEEN 1\n");
  sources.write("saxpy.cu", "#include \"own.h\"\n"
                            "static_assert(OWN_HEADER_SEEN, \"own.h\");\n" +
                                saxpySource());
  attn::test::ScopedEnvironment scope(tmp.path, cwd.path);
  std::string error;
  auto library = KernelLibrary::compile(sources.path + "/saxpy.cu",
                                        HostCompileOptions(), &error);
  ASSERT_TRUE(library) << error;
  EXPECT_TRUE(saxpyWorks(*library));
}

TEST(KernelLibraryTest, DiagnosticsNameTheSourceAsTheCallerDoes) {
  std::string error;
  HostCompileOptions options;
  options.flags = {"-std=c++17", "-O0"};
  auto library = KernelLibrary::compileSource(
      "\n\nextern \"C\" __global__ void k(int p) { nothing(p); }\n",
      "my/kernel.cu", options, &error);
  EXPECT_EQ(library, nullptr);
  EXPECT_NE(error.find("my/kernel.cu:3:"), std::string::npos) << error;
}

TEST(KernelLibraryTest, LoadedLibrariesNeverAlias) {
  // Two libraries with different kernels, each loaded from memory after
  // the other is gone: a library is found by name in the loader, and the
  // memfd names (/proc/self/fd/N) repeat.
  std::string error, first, second;
  std::string renamed = saxpySource();
  for (std::string from : {"void saxpy(", "ATTN_KERNEL_ENTRY(saxpy)"}) {
    size_t at = renamed.find(from);
    ASSERT_NE(at, std::string::npos);
    renamed.replace(at, from.size(),
                    from.find('(') + 1 == from.size()
                        ? "void axpy2("
                        : "ATTN_KERNEL_ENTRY(axpy2)");
  }
  ASSERT_TRUE(KernelLibrary::compileSource(saxpySource(), "a.cu",
                                           HostCompileOptions(), &error,
                                           &first))
      << error;
  ASSERT_TRUE(KernelLibrary::compileSource(renamed, "b.cu",
                                           HostCompileOptions(), &error,
                                           &second))
      << error;
  for (int round = 0; round < 3; ++round) {
    auto a = KernelLibrary::loadImage(first, "a.cu", &error);
    ASSERT_TRUE(a) << error;
    EXPECT_TRUE(saxpyWorks(*a));
    EXPECT_EQ(a->lookup("axpy2"), nullptr);
    a.reset();
    auto b = KernelLibrary::loadImage(second, "b.cu", &error);
    ASSERT_TRUE(b) << error;
    EXPECT_TRUE(saxpyWorks(*b, "axpy2"));
    EXPECT_EQ(b->lookup("saxpy"), nullptr);
  }
  auto junk = KernelLibrary::loadImage("not an ELF file", "junk.so", &error);
  EXPECT_EQ(junk, nullptr);
  EXPECT_NE(error.find("cannot load kernel library 'junk.so'"),
            std::string::npos)
      << error;
}

} // namespace
