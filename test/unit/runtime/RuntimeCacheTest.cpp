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
#include "EmbeddedHeaders.h"
#include "Keys.h"

#include <cstring>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>

using namespace attn;
using namespace attn::test;

namespace {

const std::string kCausal = std::string(ATTN_EXAMPLES_DIR) + "/causal.mlir";

/// The emulator, with the Q tile fixed: one plan per variant whatever the
/// lengths (a 128-row plan's 64-row plan for short Nq is LaunchPlanTest's),
/// so that the counts below are the cache's alone.
CompileOptions emuOptions() {
  CompileOptions o;
  o.device = DeviceKind::Emu;
  o.blockM = 64;
  return o;
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
    expectCausalRunsCorrectly(*plan);

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
    expectCausalRunsCorrectly(*plan);
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
    expectCausalRunsCorrectly(*compiled);
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
  expectCausalRunsCorrectly(*plan);
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
  expectCausalRunsCorrectly(*plan);
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

//===----------------------------------------------------------------------===//
// One bad entry is rebuilt alone
//===----------------------------------------------------------------------===//

/// What causal.mlir compiles to on the emulator: the kernel .so's key.
attn::jit::Digest causalSoKey() {
  Runtime rt(testConfig(sharedCacheDir()));
  auto plan = rt.compileFile(kCausal, emuOptions());
  EXPECT_TRUE(plan) << plan.message();
  std::string hex = plan ? plan->kernel().cacheKey : std::string(32, '0');
  return {std::strtoull(hex.substr(0, 16).c_str(), nullptr, 16),
          std::strtoull(hex.substr(16).c_str(), nullptr, 16)};
}

/// The path of `key`'s kernel .so in the cache at `dir`, with the plan's
/// entry copied from the shared cache: a compile in `dir` then reads the
/// plan and the kernel .so, and writes only the kernel .so (an 8 GiB file
/// evicted by an earlier write would be a miss, not a test).
std::string soEntry(const std::string &dir, const attn::jit::Digest &key) {
  for (const char *kind : {"/v1/emu", "/v1/plan"})
    EXPECT_EQ(attn::jit::makeDirectories(dir + kind), 0);
  // causalSoKey() compiled the plan into the shared cache.
  attn::jit::Digest planKey = attn::jit::planKey(
      readExample("causal.mlir"),
      attn::jit::frontendOptions(emuOptions(), attn::jit::Target()),
      attn::jit::compilerFingerprint(), attn::jit::embeddedHeadersDigest());
  std::string name = "/v1/plan/" + planKey.hex() + ".plan", plan;
  EXPECT_TRUE(attn::jit::readFile(sharedCacheDir() + name, &plan));
  replaceFile(dir + name, plan);
  return dir + "/v1/emu/" + key.hex() + ".so";
}

/// Compiles causal.mlir in a fresh runtime on `dir` (in a child killed
/// after a minute, so that an open that blocks fails the test instead of
/// hanging it) and checks what the runtime counted.
void expectRebuilt(const std::string &dir, uint64_t corrupt) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(60);
    std::vector<std::string> lines;
    Runtime rt(testConfig(dir, &lines));
    auto plan = rt.compileFile(kCausal, emuOptions());
    RuntimeStats s = rt.stats();
    if (!plan) {
      std::fprintf(stderr, "%s\n", plan.message().c_str());
      _exit(1);
    }
    bool ok = s.corruptEntries == corrupt && s.hostCompilerRuns == 1 &&
              s.planDiskHits == 1 && lines.empty() && rt.diskCacheUsable();
    if (!ok)
      std::fprintf(stderr,
                   "corrupt entries %llu, plans read %llu, host compiles "
                   "%llu, usable %d, %s\n",
                   (unsigned long long)s.corruptEntries,
                   (unsigned long long)s.planDiskHits,
                   (unsigned long long)s.hostCompilerRuns,
                   rt.diskCacheUsable(),
                   lines.empty() ? "no warning" : lines[0].c_str());
    _exit(ok ? 0 : 2);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  // The next process finds the rebuilt entry and runs it.
  Runtime rt(testConfig(dir));
  auto plan = rt.compileFile(kCausal, emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  RuntimeStats s = rt.stats();
  EXPECT_EQ(s.corruptEntries, 0u);
  EXPECT_EQ(s.artifactDiskHits, 1u);
  EXPECT_EQ(s.hostCompilerRuns, 0u);
  expectCausalRunsCorrectly(*plan);
}

TEST(RuntimeCacheTest, ForgedKernelEntriesWithValidTrailersAreRebuilt) {
  attn::jit::Digest key = causalSoKey();
  // Not a shared object at all, with a trailer that checks.
  {
    TempDir cache;
    std::string junk(5000, 'j');
    replaceFile(soEntry(cache.path(), key),
                junk + attn::jit::makeTrailer(key, junk));
    expectRebuilt(cache.path(), 1);
  }
  // A real kernel library, of another variant: it loads, but the plan's
  // kernels are not in it ("kernel not found" on every run before).
  {
    Runtime shared(testConfig(sharedCacheDir()));
    auto gqa = shared.compileFile(std::string(ATTN_EXAMPLES_DIR) + "/gqa.mlir",
                                  emuOptions());
    ASSERT_TRUE(gqa) << gqa.message();
    std::string other;
    ASSERT_TRUE(attn::jit::readFile(sharedCacheDir() + "/v1/emu/" +
                                        gqa->kernel().cacheKey + ".so",
                                    &other));
    other.resize(other.size() - attn::jit::kTrailerBytes);
    TempDir cache;
    replaceFile(soEntry(cache.path(), key),
                other + attn::jit::makeTrailer(key, other));
    expectRebuilt(cache.path(), 1);
  }
}

TEST(RuntimeCacheTest, ForgedPlanEntryWithAValidTrailerIsRebuilt) {
  TempDir cache;
  {
    Runtime rt(testConfig(cache.path()));
    ASSERT_TRUE(rt.compileFile(kCausal, emuOptions()));
  }
  // A plan whose kernel source names a kernel that is not the plan's: its
  // artifact builds but lacks the kernel, so the plan itself is rebuilt.
  std::string planPath = entries(cache.path(), ".plan")[0];
  std::string bytes;
  ASSERT_TRUE(attn::jit::readFile(planPath, &bytes));
  std::string payload = bytes.substr(0, bytes.size() - attn::jit::kTrailerBytes);
  std::string trailer = bytes.substr(payload.size());
  size_t at = payload.find("ATTN_KERNEL_ENTRY(attn_causal)");
  ASSERT_NE(at, std::string::npos);
  payload.replace(at, 30, "ATTN_KERNEL_ENTRY(attn_casual)");
  attn::jit::Digest key{0, 0};
  std::memcpy(&key.hi, trailer.data(), 8);
  std::memcpy(&key.lo, trailer.data() + 8, 8);
  replaceFile(planPath, payload + attn::jit::makeTrailer(key, payload));
  Runtime rt(testConfig(cache.path()));
  auto plan = rt.compileFile(kCausal, emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  RuntimeStats s = rt.stats();
  EXPECT_EQ(s.planDiskHits, 1u);
  EXPECT_EQ(s.frontendRuns, 1u) << "the plan was rebuilt from the MLIR";
  EXPECT_EQ(s.corruptEntries, 1u);
  expectCausalRunsCorrectly(*plan);
  Runtime again(testConfig(cache.path()));
  ASSERT_TRUE(again.compileFile(kCausal, emuOptions()));
  EXPECT_EQ(again.stats().frontendRuns, 0u);
  EXPECT_EQ(again.stats().corruptEntries, 0u);
  EXPECT_EQ(again.stats().hostCompilerRuns, 0u);
}

TEST(RuntimeCacheTest, FifoOrHugeFileAtTheKernelsPathIsReplaced) {
  attn::jit::Digest key = causalSoKey();
  {
    TempDir cache;
    std::string path = soEntry(cache.path(), key);
    ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
    expectRebuilt(cache.path(), 1);
  }
  {
    TempDir cache;
    std::string path = soEntry(cache.path(), key);
    replaceFile(path, "x");
    ASSERT_EQ(::truncate(path.c_str(), off_t(8) << 30), 0);
    expectRebuilt(cache.path(), 1);
  }
}

TEST(RuntimeCacheTest, DirectoryAtTheKernelsPathSpoilsThatEntryOnly) {
  attn::jit::Digest key = causalSoKey();
  TempDir cache;
  std::string path = cache.path() + "/v1/emu/" + key.hex() + ".so";
  ASSERT_EQ(attn::jit::makeDirectories(path), 0);
  ASSERT_EQ(::mkdir((path + "/x").c_str(), 0700), 0);
  for (int process = 0; process < 2; ++process) {
    std::vector<std::string> lines;
    Runtime rt(testConfig(cache.path(), &lines));
    auto plan = rt.compileFile(kCausal, emuOptions());
    ASSERT_TRUE(plan) << plan.message();
    RuntimeStats s = rt.stats();
    // The plan is written and read back; the .so is rebuilt each time, and
    // nothing else is disturbed: no warning, the cache stays writable.
    EXPECT_EQ(s.planDiskHits, process == 0 ? 0u : 1u);
    EXPECT_EQ(s.hostCompilerRuns, 1u);
    EXPECT_EQ(s.diskWriteFailures, 1u);
    EXPECT_TRUE(rt.diskCacheUsable());
    EXPECT_TRUE(lines.empty()) << lines[0];
    expectCausalRunsCorrectly(*plan);
  }
}

TEST(RuntimeCacheTest, MemoryCacheKeepsTheMostRecentlyUsedPlans) {
  // kvSplits (the most splits a launch may use) is part of the memory key
  // only, since each plan keeps its own; the plain plan's disk entries are
  // shared, so these are three plans that compile from disk.
  RuntimeConfig config = testConfig(sharedCacheDir());
  config.memoryCachePlans = 2;
  Runtime rt(config);
  auto options = [](int64_t splits) {
    CompileOptions o = emuOptions();
    o.kvSplits = splits;
    return o;
  };
  auto compile = [&](int64_t splits) {
    auto plan = rt.compileFile(kCausal, options(splits));
    EXPECT_TRUE(plan) << plan.message();
  };
  compile(2);
  compile(3);
  compile(2); // 2 is now the most recently used
  EXPECT_EQ(rt.stats().memoryHits, 1u);
  compile(5); // drops 3
  compile(2);
  EXPECT_EQ(rt.stats().memoryHits, 2u);
  compile(3);
  EXPECT_EQ(rt.stats().memoryHits, 2u) << "3 was dropped";
  EXPECT_EQ(rt.stats().compiles, 6u);
}

TEST(RuntimeCacheTest, CacheBoundFromTheEnvironment) {
  const char *saved = std::getenv("ATTN_CACHE_MAX_BYTES");
  std::string savedValue = saved ? saved : "";
  unsetenv("ATTN_CACHE_MAX_BYTES");
  EXPECT_EQ(RuntimeConfig::fromEnvironment().cacheMaxBytes, uint64_t(2) << 30);
  setenv("ATTN_CACHE_MAX_BYTES", "300M", 1);
  EXPECT_EQ(RuntimeConfig::fromEnvironment().cacheMaxBytes,
            uint64_t(300) << 20);
  setenv("ATTN_CACHE_MAX_BYTES", "lots", 1);
  EXPECT_EQ(RuntimeConfig::fromEnvironment().cacheMaxBytes, uint64_t(2) << 30);
  if (saved)
    setenv("ATTN_CACHE_MAX_BYTES", savedValue.c_str(), 1);
  else
    unsetenv("ATTN_CACHE_MAX_BYTES");

  // A runtime with a bound its entries exceed keeps the newest only.
  TempDir cache;
  RuntimeConfig config = testConfig(cache.path());
  config.cacheMaxBytes = 64 << 10;
  Runtime rt(config);
  auto plan = rt.compileFile(kCausal, emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  uint64_t total = 0;
  for (const std::string &file : filesUnder(cache.path(), "")) {
    struct stat st;
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    total += static_cast<uint64_t>(st.st_size);
  }
  EXPECT_LE(total, uint64_t(64) << 10);
  expectCausalRunsCorrectly(*plan);
}

} // namespace
