//===- CacheKeyTest.cpp - what the runtime's cache keys depend on ---------===//
//
// A cached artifact must never be served for inputs it was not built from:
// every input named in DESIGN.md's key (source, the device headers'
// contents, options, arch, NVRTC; host compiler, flags, emulator, CPU)
// changes the key, and nothing else does.
//
//===----------------------------------------------------------------------===//

#include "EmbeddedHeaders.h"
#include "Hash.h"
#include "HostInfo.h"
#include "Keys.h"

#include <gtest/gtest.h>

#include <unistd.h>

using namespace attn;
using namespace attn::jit;

namespace {

TEST(CacheKeyTest, EmbeddedHeadersAreTheDeviceLibrary) {
  const auto &headers = embeddedHeaders();
  auto has = [&](const std::string &name) {
    for (const HeaderFile &h : headers)
      if (h.name == name)
        return !h.contents.empty();
    return false;
  };
  EXPECT_TRUE(has("attn/device/attn_device.h"));
  EXPECT_TRUE(has("attn/device/memory.h"));
  EXPECT_TRUE(has("attn/emu/cuda_emu.h"));
  EXPECT_EQ(embeddedHeadersDigest(), digestHeaders(headers));
  EXPECT_EQ(std::string(compilerFingerprint()).size(), 64u);
}

TEST(CacheKeyTest, HeaderContentChangesEveryArtifactKey) {
  std::vector<HeaderFile> changed = embeddedHeaders();
  ASSERT_FALSE(changed.empty());
  changed.back().contents += "\n// one more line\n";
  Digest before = embeddedHeadersDigest(), after = digestHeaders(changed);
  EXPECT_NE(before, after);

  CudaKeyInputs cuda{"kernel source", before, "sm_90", true, "opts", "nvrtc"};
  Digest cudaKey = cudaArtifactKey(cuda);
  cuda.headersDigest = after;
  EXPECT_NE(cudaKey, cudaArtifactKey(cuda));

  EmuKeyInputs emu{"kernel source", before, "clang 22", "-O2", "emu", "cpu"};
  Digest emuKey = emuArtifactKey(emu);
  emu.headersDigest = after;
  EXPECT_NE(emuKey, emuArtifactKey(emu));

  FrontendOptions f;
  EXPECT_NE(planKey("text", f, "fp", before), planKey("text", f, "fp", after));
}

TEST(CacheKeyTest, RenamingAHeaderChangesTheDigest) {
  std::vector<HeaderFile> renamed = embeddedHeaders();
  renamed.front().name += ".old";
  EXPECT_NE(embeddedHeadersDigest(), digestHeaders(renamed));
}

TEST(CacheKeyTest, CudaKeyDependsOnEachInput) {
  CudaKeyInputs base{"src", digestOf("h"), "sm_90", true, "opts", "nvrtc 13.0"};
  Digest key = cudaArtifactKey(base);
  EXPECT_EQ(key, cudaArtifactKey(base)) << "keys must be deterministic";
  auto differs = [&](auto mutate) {
    CudaKeyInputs in = base;
    mutate(in);
    return cudaArtifactKey(in) != key;
  };
  EXPECT_TRUE(differs([](CudaKeyInputs &in) { in.source = "src2"; }));
  EXPECT_TRUE(differs([](CudaKeyInputs &in) { in.arch = "sm_80"; }));
  EXPECT_TRUE(differs([](CudaKeyInputs &in) { in.cubin = false; }));
  EXPECT_TRUE(differs([](CudaKeyInputs &in) { in.options = "-G"; }));
  EXPECT_TRUE(differs([](CudaKeyInputs &in) { in.nvrtc = "nvrtc 13.1"; }));
}

TEST(CacheKeyTest, EmuKeyDependsOnEachInput) {
  EmuKeyInputs base{"src", digestOf("h"), "clang++-22 22.1",
                    "-O2", "emu",         "avx2"};
  Digest key = emuArtifactKey(base);
  auto differs = [&](auto mutate) {
    EmuKeyInputs in = base;
    mutate(in);
    return emuArtifactKey(in) != key;
  };
  EXPECT_TRUE(differs([](EmuKeyInputs &in) { in.source = "src2"; }));
  EXPECT_TRUE(differs([](EmuKeyInputs &in) { in.compiler = "g++ 12"; }));
  EXPECT_TRUE(differs([](EmuKeyInputs &in) { in.flags = "-O3"; }));
  EXPECT_TRUE(differs([](EmuKeyInputs &in) { in.emulator = "emu2"; }));
  EXPECT_TRUE(differs([](EmuKeyInputs &in) { in.cpu = "avx512"; }));
}

TEST(CacheKeyTest, CpuIdentityNamesTheHostsFeatures) {
  // -march=native code is only for CPUs with the same features: the emu
  // key must see them (/proc/cpuinfo reports no size, so it is read to
  // its end).
  if (::access("/proc/cpuinfo", R_OK) != 0)
    GTEST_SKIP() << "no /proc/cpuinfo here";
  const std::string &cpu = cpuIdentity();
  EXPECT_NE(cpu, "cpu: unknown");
  EXPECT_TRUE(cpu.find("flags") != std::string::npos ||
              cpu.find("Features") != std::string::npos)
      << cpu;
}

TEST(CacheKeyTest, MemoryAndPlanKeysDependOnOptionsAndTarget) {
  CompileOptions options;
  Target emu;
  Target sm90{DeviceKind::Cuda, "sm_90", true};
  Target sm80{DeviceKind::Cuda, "sm_80", true};
  Digest key = memoryKey("text", options, emu);
  EXPECT_EQ(key, memoryKey("text", options, emu));
  EXPECT_NE(key, memoryKey("text2", options, emu));
  EXPECT_NE(key, memoryKey("text", options, sm90));
  EXPECT_NE(memoryKey("text", options, sm90), memoryKey("text", options, sm80));
  Target ptx = sm90;
  ptx.cubin = false;
  EXPECT_NE(memoryKey("text", options, sm90), memoryKey("text", options, ptx));
  for (auto mutate : std::vector<std::function<void(CompileOptions &)>>{
           [](CompileOptions &o) { o.blockM = 32; },
           [](CompileOptions &o) { o.blockN = 32; },
           [](CompileOptions &o) { o.dtype = "bf16"; },
           [](CompileOptions &o) { o.kernelPath = "simt"; },
           [](CompileOptions &o) { o.entry = "other"; }}) {
    CompileOptions changed = options;
    mutate(changed);
    EXPECT_NE(key, memoryKey("text", changed, emu));
    EXPECT_NE(planKey("text", frontendOptions(options, emu), "fp", {}),
              planKey("text", frontendOptions(changed, emu), "fp", {}));
  }
  // The plan is per arch on cuda (shared-memory limits), and per compiler.
  EXPECT_NE(planKey("text", frontendOptions(options, sm90), "fp", {}),
            planKey("text", frontendOptions(options, sm80), "fp", {}));
  EXPECT_NE(planKey("text", frontendOptions(options, emu), "fp", {}),
            planKey("text", frontendOptions(options, emu), "fp2", {}));
}

TEST(CacheKeyTest, DigestsOfFieldsAreUnambiguous) {
  Digest ab = KeyBuilder().add("x", "ab").add("y", "c").finish();
  Digest a = KeyBuilder().add("x", "a").add("y", "bc").finish();
  EXPECT_NE(ab, a);
  EXPECT_EQ(digestOf("").hex().size(), 32u);
}

TEST(CacheKeyTest, XxHash64MatchesTheReference) {
  // Reference values of XXH64 (seed 0) from the xxHash test suite.
  EXPECT_EQ(xxh64("", 0), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(xxh64("a", 0), 0xD24EC4F1A98C6E5BULL);
  EXPECT_EQ(xxh64("abc", 0), 0x44BC2CF5AD770999ULL);
  EXPECT_EQ(xxh64("Nobody inspects the spammish repetition", 0),
            0xFBCEA83C8A378BF1ULL);
}

} // namespace
