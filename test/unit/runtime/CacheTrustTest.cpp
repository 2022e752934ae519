//===- CacheTrustTest.cpp - no other user gets code into the process ------===//
//
// The disk cache is used only when no other user can change it: the root
// and every directory below it owned by this user and writable by no one
// else, no symbolic link inside it, every directory above it owned by root
// or this user and sticky where others may write. Otherwise it is refused
// with one warning and nothing is read from it. Kernels are built against
// the embedded headers only (nothing a cache, $TMPDIR or the working
// directory holds is ever included) and loaded from the checked bytes, not
// from a cache file.
//
// The ownership cases need a second uid: as root (CI) directories are
// given to uid 65534 (nobody) and the attacker is a child that drops to it
// with setresuid; other users skip those cases, saying so.
//
//===----------------------------------------------------------------------===//

#include "../ScopedEnvironment.h"
#include "RuntimeTestSupport.h"

#include "DiskCache.h"
#include "EmbeddedHeaders.h"
#include "Keys.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

using namespace attn;
using namespace attn::jit;
using namespace attn::test;

namespace {

/// The second uid (nobody's on Debian; it needs no passwd entry to own a
/// file).
constexpr uid_t kOtherUid = 65534;

#define REQUIRE_ROOT()                                                         \
  if (::geteuid() != 0)                                                        \
  GTEST_SKIP() << "giving a directory to another uid needs root (running as "  \
                  "uid "                                                       \
               << ::geteuid() << ")"

/// A DiskCache collecting its warnings.
struct Watched {
  std::vector<std::string> warnings;
  DiskCache cache;
  explicit Watched(const std::string &root)
      : cache(root, true,
              [this](const std::string &w) { warnings.push_back(w); }) {}
};

const Digest kKey = digestOf("planted");

/// Writes a valid entry of kKey in `root` while it is still trusted, so
/// that a refusal is told apart from a miss.
void plantEntry(const std::string &root) {
  DiskCache cache(root, true, nullptr);
  ASSERT_TRUE(cache.write("plan", kKey, ".plan", "planted"));
}

void writeText(const std::string &path, const std::string &text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

void makeDirs(const std::string &dir) {
  ASSERT_EQ(makeDirectories(dir), 0) << dir;
}

/// Expects `root` to be refused: nothing read, nothing written, exactly one
/// warning that names `problem`.
void expectRefused(const std::string &root, const std::string &problem) {
  Watched w(root);
  std::string read;
  EXPECT_EQ(w.cache.read("plan", kKey, ".plan", &read), CacheRead::Miss)
      << "an entry of a refused cache was read";
  EXPECT_FALSE(w.cache.write("plan", digestOf("new"), ".plan", "x"));
  EXPECT_EQ(w.cache.read("plan", kKey, ".plan", &read), CacheRead::Miss);
  EXPECT_FALSE(w.cache.writable());
  ASSERT_EQ(w.warnings.size(), 1u) << "exactly one warning";
  EXPECT_NE(w.warnings[0].find("not using the cache directory '" + root),
            std::string::npos)
      << w.warnings[0];
  EXPECT_NE(w.warnings[0].find(problem), std::string::npos) << w.warnings[0];
  EXPECT_NE(w.warnings[0].find("caching in memory only"), std::string::npos);
}

/// Expects `root` to be used: the planted entry is read.
void expectTrusted(const std::string &root) {
  Watched w(root);
  std::string read;
  EXPECT_EQ(w.cache.read("plan", kKey, ".plan", &read), CacheRead::Hit);
  EXPECT_TRUE(w.cache.write("plan", digestOf("new"), ".plan", "x"));
  EXPECT_TRUE(w.warnings.empty()) << w.warnings[0];
}

TEST(CacheTrustTest, CacheOwnedByAnotherUserIsRefused) {
  if (::geteuid() != 0) {
    // Not root: a directory root owns is another user's.
    Watched w("/");
    std::string read;
    EXPECT_EQ(w.cache.read("plan", kKey, ".plan", &read), CacheRead::Miss);
    EXPECT_FALSE(w.cache.write("plan", kKey, ".plan", "x"));
    ASSERT_EQ(w.warnings.size(), 1u);
    EXPECT_NE(w.warnings[0].find("'/' is owned by uid 0, not by this user"),
              std::string::npos)
        << w.warnings[0];
    return;
  }
  TempDir dir;
  plantEntry(dir.path());
  ASSERT_EQ(::chown(dir.path().c_str(), kOtherUid, kOtherUid), 0);
  expectRefused(dir.path(), "is owned by uid 65534, not by this user");
}

TEST(CacheTrustTest, DirectoriesBelowTheRootOwnedByAnotherUserAreRefused) {
  REQUIRE_ROOT();
  for (const char *below : {"/v1", "/v1/plan"}) {
    TempDir dir;
    plantEntry(dir.path());
    std::string path = dir.path() + below;
    ASSERT_EQ(::chown(path.c_str(), kOtherUid, kOtherUid), 0);
    SCOPED_TRACE(below);
    expectRefused(dir.path(), "'" + path + "' is owned by uid 65534");
  }
}

TEST(CacheTrustTest, EntryOwnedByAnotherUserIsRebuilt) {
  REQUIRE_ROOT();
  TempDir dir;
  plantEntry(dir.path());
  DiskCache cache(dir.path(), true, nullptr);
  std::string path = cache.entryPath("plan", kKey, ".plan"), read;
  ASSERT_EQ(::chown(path.c_str(), kOtherUid, kOtherUid), 0);
  EXPECT_EQ(cache.read("plan", kKey, ".plan", &read), CacheRead::Corrupt);
  ASSERT_TRUE(cache.write("plan", kKey, ".plan", "rebuilt"));
  ASSERT_EQ(cache.read("plan", kKey, ".plan", &read), CacheRead::Hit);
  EXPECT_EQ(read, "rebuilt");
}

TEST(CacheTrustTest, CacheWritableByGroupOrOthersIsRefused) {
  for (mode_t mode : {0777, 0770, 0722}) {
    for (const char *below : {"", "/v1", "/v1/plan"}) {
      TempDir dir;
      plantEntry(dir.path());
      std::string path = dir.path() + below;
      ASSERT_EQ(::chmod(path.c_str(), mode), 0);
      SCOPED_TRACE(path);
      expectRefused(dir.path(), "'" + path +
                                    "' is writable by group or others");
    }
  }
}

TEST(CacheTrustTest, SymbolicLinksInsideTheCacheAreNeverFollowed) {
  // v1/plan -> a directory elsewhere holding what would be a valid entry.
  TempDir dir, elsewhere;
  plantEntry(elsewhere.path());
  std::string target = elsewhere.path() + "/v1/plan";
  makeDirs(dir.path() + "/v1");
  ASSERT_EQ(::symlink(target.c_str(), (dir.path() + "/v1/plan").c_str()), 0);
  expectRefused(dir.path(), "'" + dir.path() + "/v1/plan' is a symbolic link");
  // Nothing was written through the link.
  EXPECT_EQ(filesUnder(elsewhere.path(), "").size(), 1u);

  // An entry that is a link to a valid entry elsewhere is no entry; the
  // rebuilt one replaces the link, not its target.
  TempDir linked;
  DiskCache cache(linked.path(), true, nullptr);
  ASSERT_TRUE(cache.write("emu", digestOf("other"), ".so", "x"));
  std::string entry = cache.entryPath("plan", kKey, ".plan");
  makeDirs(linked.path() + "/v1/plan");
  std::string planted = elsewhere.path() + "/v1/plan/" + kKey.hex() + ".plan";
  ASSERT_EQ(::symlink(planted.c_str(), entry.c_str()), 0);
  std::string read;
  EXPECT_EQ(cache.read("plan", kKey, ".plan", &read), CacheRead::Corrupt);
  ASSERT_TRUE(cache.write("plan", kKey, ".plan", "rebuilt"));
  struct stat st;
  ASSERT_EQ(::lstat(entry.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  ASSERT_TRUE(readFile(planted, &read));
  EXPECT_NE(read.find("planted"), std::string::npos) << "target unchanged";
}

TEST(CacheTrustTest, ARootReachedThroughALinkIsTheDirectoryItNames) {
  // $HOME/.cache -> /data/cache is common: the link is resolved, and the
  // directory it names is what must be trusted.
  TempDir dir, real;
  plantEntry(real.path());
  std::string link = dir.path() + "/cache";
  ASSERT_EQ(::symlink(real.path().c_str(), link.c_str()), 0);
  expectTrusted(link);
  ASSERT_EQ(::chmod(real.path().c_str(), 0777), 0);
  expectRefused(link, "'" + real.path() + "' is writable by group or others");
}

TEST(CacheTrustTest, DirectoriesAboveTheRoot) {
  // Writable by others and not sticky: another user could rename the
  // cache away and put theirs in its place.
  TempDir dir;
  std::string parent = dir.path() + "/shared", root = parent + "/cache";
  makeDirs(root);
  plantEntry(root);
  ASSERT_EQ(::chmod(parent.c_str(), 0777), 0);
  expectRefused(root, "'" + parent +
                          "' is writable by group or others and not sticky");
  // Sticky, like /tmp: others may add names but never move ours.
  ASSERT_EQ(::chmod(parent.c_str(), 01777), 0);
  expectTrusted(root);
  // A missing root is created (0700) below a trusted parent.
  std::string fresh = parent + "/new/cache";
  Watched w(fresh);
  EXPECT_TRUE(w.cache.write("plan", kKey, ".plan", "x"));
  struct stat st;
  ASSERT_EQ(::stat(fresh.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_TRUE(w.warnings.empty());
}

TEST(CacheTrustTest, DirectoryAboveTheRootOwnedByAnotherUserIsRefused) {
  REQUIRE_ROOT();
  TempDir dir;
  std::string parent = dir.path() + "/theirs", root = parent + "/cache";
  makeDirs(root);
  plantEntry(root);
  ASSERT_EQ(::chown(parent.c_str(), kOtherUid, kOtherUid), 0);
  expectRefused(root, "'" + parent +
                          "' is owned by uid 65534, neither root nor this "
                          "user");
}

//===----------------------------------------------------------------------===//
// Through the runtime
//===----------------------------------------------------------------------===//

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

/// Compiles causal.mlir with `rt` and checks a run against the interpreter.
void compileAndRun(Runtime &rt) {
  auto plan = rt.compileFile(kCausal, emuOptions());
  ASSERT_TRUE(plan) << plan.message();
  expectCausalRunsCorrectly(*plan);
}

/// The disk key of causal.mlir's plan on the emulator.
Digest causalPlanKey() {
  FrontendOptions front = frontendOptions(emuOptions(), Target());
  return planKey(readExample("causal.mlir"), front, compilerFingerprint(),
                 embeddedHeadersDigest());
}

TEST(CacheTrustTest, AnotherUserCannotPlantCodeInAWorldWritableCache) {
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0777), 0);
  // The attacker computes the victim's key (keys do not depend on the user)
  // and plants a plan whose kernel would not even compile, plus a system
  // header where the old runtime put the cache on the include path.
  std::string planDir = dir.path() + "/v1/plan";
  std::string headerDir = dir.path() + "/v1/include/" +
                          embeddedHeadersDigest().hex();
  Digest key = causalPlanKey();
  std::string payload = "#error planted plan\n";
  std::string entry = payload + makeTrailer(key, payload);
  auto plant = [&] {
    if (makeDirectories(planDir) != 0 || makeDirectories(headerDir) != 0)
      return 1;
    writeText(planDir + "/" + key.hex() + ".plan", entry);
    writeText(headerDir + "/cstdint", "#error planted header\n");
    return 0;
  };
  if (::geteuid() == 0) {
    // As another user: a child that drops to uid 65534.
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::umask(0);
      if (::setresgid(kOtherUid, kOtherUid, kOtherUid) != 0 ||
          ::setresuid(kOtherUid, kOtherUid, kOtherUid) != 0)
        _exit(2);
      _exit(plant());
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct stat st;
    ASSERT_EQ(::stat(planDir.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, kOtherUid);
  } else {
    // The mode alone refuses the cache, whoever planted.
    ASSERT_EQ(plant(), 0);
  }
  std::vector<std::string> lines;
  Runtime rt(testConfig(dir.path(), &lines));
  compileAndRun(rt);
  RuntimeStats s = rt.stats();
  EXPECT_EQ(s.planDiskHits, 0u);
  EXPECT_EQ(s.frontendRuns, 1u);
  EXPECT_EQ(s.hostCompilerRuns, 1u);
  EXPECT_FALSE(rt.diskCacheUsable());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("is writable by group or others (mode 0777)"),
            std::string::npos)
      << lines[0];
  // Nothing was written for the next victim either.
  EXPECT_EQ(filesUnder(dir.path() + "/v1", ".so").size(), 0u);
}

TEST(CacheTrustTest, PlantedHeadersAreNeverIncluded) {
  // Everywhere a header could be looked up before the embedded ones or the
  // system's: the cache's old include directory, beside the kernel source
  // in the cache, $TMPDIR (where the source is compiled) and the working
  // directory (where a relative -include is looked up first).
  TempDir cache, tmp, cwd;
  std::string digest = embeddedHeadersDigest().hex();
  for (const std::string &root :
       {cache.path() + "/v1/include/" + digest, cache.path() + "/v1/emu",
        tmp.path(), cwd.path()}) {
    makeDirs(root + "/attn/device");
    makeDirs(root + "/attn/emu");
    for (const char *header :
         {"cstdint", "cmath", "atomic", "attn/device/attn_device.h",
          "attn/device/config.h", "attn/emu/cuda_emu.h"})
      writeText(root + "/" + header, "#error planted " + root + "\n");
  }
  ScopedEnvironment scope(tmp.path(), cwd.path());
  Runtime rt(testConfig(cache.path()));
  compileAndRun(rt);
  EXPECT_EQ(rt.stats().hostCompilerRuns, 1u);
  // The compile's private directory is gone; only the planted files stay.
  EXPECT_EQ(filesUnder(tmp.path(), "").size(), 6u);
}

TEST(CacheTrustTest, KernelsAreLoadedFromTheCheckedBytesNotFromTheCache) {
  TempDir cache;
  {
    Runtime cold(testConfig(cache.path()));
    compileAndRun(cold);
  }
  Runtime warm(testConfig(cache.path()));
  compileAndRun(warm);
  ASSERT_EQ(warm.stats().artifactDiskHits, 1u);
  // No mapping of this process comes from the cache: the .so was loaded
  // from a sealed memfd holding the bytes whose checksum was checked.
  std::string maps;
  ASSERT_TRUE(readFile("/proc/self/maps", &maps));
  EXPECT_EQ(maps.find(cache.path()), std::string::npos) << maps;
  EXPECT_NE(maps.find("memfd:attn-kernel:attn_causal.cu"), std::string::npos)
      << maps;
}

} // namespace
