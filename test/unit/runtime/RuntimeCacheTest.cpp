//===- RuntimeCacheTest.cpp - the runtime's memory and disk caches --------===//
//
// Compiles examples/causal.mlir for the emulator with private cache
// directories and checks, through the runtime's counters, which steps ran:
// the MLIR compiler ("frontend") and the host compiler must run only on a
// miss; a corrupt or truncated entry is rebuilt; a warm process (forked, or a
// fresh Runtime) finds everything on disk.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestSupport.h"

#include "DiskCache.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

using namespace attn;
using namespace attn::test;

namespace {

const std::string kCausal = std::string(ATTN_EXAMPLES_DIR) + "/causal.mlir";

CompileOptions emuOptions() {
  CompileOptions o;
  o.device = DeviceKind::Emu;
  return o;
}

/// Runs `plan` on a small causal problem and checks o against the
/// interpreter (a loaded artifact must be a working one).
void expectRunsCorrectly(const Plan &plan) {
  static Reference ref = makeReference(readExample("causal.mlir"), 37, 37, 7);
  ASSERT_EQ(ref.results.size(), 2u);
  DLDataType f16{kDLFloat, 16, 1}, f32{kDLFloat, 32, 1};
  HostTensor q(ref.inputs[0].shape, f16, false),
      k(ref.inputs[1].shape, f16, false), v(ref.inputs[2].shape, f16, false),
      o(ref.results[0].shape, f16, false),
      lse(ref.results[1].shape, f32, false);
  q.fill(ref.inputs[0].data);
  k.fill(ref.inputs[1].data);
  v.fill(ref.inputs[2].data);
  o.poison();
  lse.poison();
  Arguments args;
  args.q = &q.dl;
  args.k = &k.dl;
  args.v = &v.dl;
  args.o = &o.dl;
  args.lse = &lse.dl;
  Status s = plan.run(args);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_LT(relativeError(o.read(), ref.results[0].data), 2e-3);
  EXPECT_LT(relativeError(lse.read(), ref.results[1].data), 1e-5);
}

std::vector<std::string> entries(const std::string &dir,
                                 const std::string &suffix) {
  return filesUnder(dir + "/v1", suffix);
}

/// Replaces `path` by `bytes` through a new file (the old inode, which this
/// process may still have mapped, stays intact).
void replaceFile(const std::string &path, const std::string &bytes) {
  std::string temp = path + ".replace";
  FILE *f = std::fopen(temp.c_str(), "wb");
  ASSERT_TRUE(f);
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  ASSERT_EQ(std::rename(temp.c_str(), path.c_str()), 0);
}

TEST(RuntimeCacheTest, ColdWarmCorruptedAndForkedProcess) {
  TempDir cache, dump;
  {
    RuntimeConfig config = testConfig(cache.path());
    config.dumpDir = dump.path();
    Runtime rt(config);
    auto plan = rt.compileFile(kCausal, emuOptions());
    ASSERT_TRUE(plan) << plan.message();
    RuntimeStats s = rt.stats();
    EXPECT_EQ(s.frontendRuns, 1u);
    EXPECT_EQ(s.hostCompilerRuns, 1u);
    EXPECT_EQ(s.memoryHits, 0u);
    EXPECT_EQ(plan->device(), DeviceKind::Emu);
    EXPECT_EQ(plan->kernel().name, "attn_causal");
    EXPECT_EQ(plan->kernel().artifact, "so");
    EXPECT_EQ(plan->signature().function, "causal");
    EXPECT_TRUE(plan->signature().hasLse());

    // Repeated compiles are answered from memory: nothing runs again.
    for (int i = 0; i < 100; ++i) {
      auto again = rt.compileFile(kCausal, emuOptions());
      ASSERT_TRUE(again) << again.message();
      EXPECT_EQ(&again->kernel(), &plan->kernel()) << "the same plan";
    }
    s = rt.stats();
    EXPECT_EQ(s.compiles, 101u);
    EXPECT_EQ(s.memoryHits, 100u);
    EXPECT_EQ(s.frontendRuns, 1u);
    EXPECT_EQ(s.hostCompilerRuns, 1u);
    expectRunsCorrectly(*plan);

    // ATTN_DUMP_DIR (RuntimeConfig::dumpDir) got the generated source.
    auto dumped = filesUnder(dump.path(), ".cu");
    ASSERT_EQ(dumped.size(), 1u);
    EXPECT_NE(dumped[0].find("attn_causal-"), std::string::npos);
  }
  ASSERT_EQ(entries(cache.path(), ".plan").size(), 1u);
  ASSERT_EQ(entries(cache.path(), ".so").size(), 1u);

  // A fresh runtime: the plan and the kernel .so come from disk.
  {
    Runtime rt(testConfig(cache.path()));
    auto plan = rt.compileFile(kCausal, emuOptions());
    ASSERT_TRUE(plan) << plan.message();
    RuntimeStats s = rt.stats();
    EXPECT_EQ(s.planDiskHits, 1u);
    EXPECT_EQ(s.artifactDiskHits, 1u);
    EXPECT_EQ(s.frontendRuns, 0u);
    EXPECT_EQ(s.hostCompilerRuns, 0u);
    expectRunsCorrectly(*plan);
  }

  // A second process, the same.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    Runtime rt(testConfig(cache.path()));
    auto plan = rt.compileFile(kCausal, emuOptions());
    RuntimeStats s = rt.stats();
    _exit(plan && s.planDiskHits == 1 && s.artifactDiskHits == 1 &&
                  s.frontendRuns == 0 && s.hostCompilerRuns == 0
              ? 0
              : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "a warm process must compile nothing";

  // Corrupt the kernel .so (one bit) and truncate the plan: both are
  // detected and rebuilt.
  std::string so = entries(cache.path(), ".so")[0];
  std::string plan = entries(cache.path(), ".plan")[0];
  std::string bytes;
  ASSERT_TRUE(attn::jit::readFile(so, &bytes));
  bytes[bytes.size() / 2] ^= 0x10;
  replaceFile(so, bytes);
  ASSERT_TRUE(attn::jit::readFile(plan, &bytes));
  replaceFile(plan, bytes.substr(0, bytes.size() / 2));
  {
    Runtime rt(testConfig(cache.path()));
    auto compiled = rt.compileFile(kCausal, emuOptions());
    ASSERT_TRUE(compiled) << compiled.message();
    RuntimeStats s = rt.stats();
    EXPECT_EQ(s.corruptEntries, 2u);
    EXPECT_EQ(s.frontendRuns, 1u);
    EXPECT_EQ(s.hostCompilerRuns, 1u);
    expectRunsCorrectly(*compiled);
  }
  {
    Runtime rt(testConfig(cache.path()));
    auto compiled = rt.compileFile(kCausal, emuOptions());
    ASSERT_TRUE(compiled) << compiled.message();
    RuntimeStats s = rt.stats();
    EXPECT_EQ(s.corruptEntries, 0u);
    EXPECT_EQ(s.planDiskHits, 1u);
    EXPECT_EQ(s.artifactDiskHits, 1u);
  }
}

TEST(RuntimeCacheTest, RacingProcessesLeaveOneValidEntry) {
  TempDir cache;
  std::vector<pid_t> children;
  for (int p = 0; p < 2; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      Runtime rt(testConfig(cache.path()));
      auto plan = rt.compileFile(kCausal, emuOptions());
      _exit(plan ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(entries(cache.path(), ".plan").size(), 1u);
  EXPECT_EQ(entries(cache.path(), ".so").size(), 1u);
  for (const std::string &file : filesUnder(cache.path(), ""))
    EXPECT_EQ(file.find(".tmp-"), std::string::npos)
        << "a temporary file was left: " << file;
  Runtime rt(testConfig(cache.path()));
  auto plan = rt.compileFile(kCausal, emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  RuntimeStats s = rt.stats();
  EXPECT_EQ(s.corruptEntries, 0u);
  EXPECT_EQ(s.frontendRuns, 0u);
  EXPECT_EQ(s.hostCompilerRuns, 0u);
  expectRunsCorrectly(*plan);
}

TEST(RuntimeCacheTest, UnwritableCacheDirectoryDegradesToMemory) {
  TempDir dir;
  std::string blocker = dir.path() + "/file";
  FILE *f = std::fopen(blocker.c_str(), "w");
  ASSERT_TRUE(f);
  std::fclose(f);
  std::vector<std::string> lines;
  Runtime rt(testConfig(blocker + "/cache", &lines));
  auto plan = rt.compileFile(kCausal, emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  EXPECT_FALSE(rt.diskCacheUsable());
  auto again = rt.compileFile(kCausal, emuOptions());
  ASSERT_TRUE(again);
  EXPECT_EQ(rt.stats().memoryHits, 1u);
  ASSERT_EQ(lines.size(), 1u) << "exactly one warning";
  EXPECT_NE(lines[0].find("caching in memory only"), std::string::npos)
      << lines[0];
  expectRunsCorrectly(*plan);
}

TEST(RuntimeCacheTest, CompileErrorsAreValues) {
  TempDir cache;
  Runtime rt(testConfig(cache.path()));
  auto missing = rt.compileFile(cache.path() + "/missing.mlir", emuOptions());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.message().find("cannot read"), std::string::npos);
  auto garbage = rt.compileText("garbage {{{", emuOptions(), "bad.mlir");
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.message().find("bad.mlir:1:1: error"), std::string::npos)
      << garbage.message();
  CompileOptions badPath = emuOptions();
  badPath.kernelPath = "tensor-cores";
  auto path = rt.compileFile(kCausal, badPath);
  ASSERT_FALSE(path);
  EXPECT_NE(path.message().find("unknown kernel path"), std::string::npos);
  EXPECT_EQ(rt.stats().hostCompilerRuns, 0u);
}

} // namespace
