//===- DiskCacheTest.cpp - the on-disk cache's entries --------------------===//

#include "DiskCache.h"
#include "RuntimeTestSupport.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

using namespace attn::jit;
using attn::test::TempDir;

namespace {

std::string readAll(const std::string &path) {
  std::string s;
  EXPECT_TRUE(readFile(path, &s)) << path;
  return s;
}

void overwrite(const std::string &path, const std::string &bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(DiskCacheTest, RoundTrip) {
  TempDir dir;
  DiskCache cache(dir.path(), true, nullptr);
  Digest key = digestOf("key");
  std::string path = cache.entryPath("plan", key, ".plan");
  EXPECT_EQ(path, dir.path() + "/v1/plan/" + key.hex() + ".plan");
  std::string payload("binary\0payload", 14), read;
  EXPECT_EQ(cache.read(path, key, &read), CacheRead::Miss);
  ASSERT_TRUE(cache.write(path, key, payload));
  ASSERT_EQ(cache.read(path, key, &read), CacheRead::Hit);
  EXPECT_EQ(read, payload);
  // The entry is the payload followed by the trailer.
  EXPECT_EQ(readAll(path).size(), payload.size() + kTrailerBytes);
  EXPECT_EQ(readAll(path).substr(0, payload.size()), payload);
  // No temporary file is left behind.
  EXPECT_TRUE(attn::test::filesUnder(dir.path(), "").size() == 1);
}

TEST(DiskCacheTest, CorruptAndTruncatedEntriesAreDetected) {
  TempDir dir;
  DiskCache cache(dir.path(), true, nullptr);
  Digest key = digestOf("key");
  std::string path = cache.entryPath("emu", key, ".so");
  std::string payload(4096, 'x'), read;
  ASSERT_TRUE(cache.write(path, key, payload));
  std::string good = readAll(path);

  std::string flipped = good;
  flipped[100] ^= 1; // one payload bit
  overwrite(path, flipped);
  EXPECT_EQ(cache.read(path, key, &read), CacheRead::Corrupt);

  overwrite(path, good.substr(0, good.size() - 1)); // torn write
  EXPECT_EQ(cache.read(path, key, &read), CacheRead::Corrupt);
  overwrite(path, good.substr(0, 10));
  EXPECT_EQ(cache.read(path, key, &read), CacheRead::Corrupt);
  overwrite(path, "");
  EXPECT_EQ(cache.read(path, key, &read), CacheRead::Corrupt);

  overwrite(path, good); // a valid entry of another key (misplaced file)
  EXPECT_EQ(cache.read(path, digestOf("other"), &read), CacheRead::Corrupt);

  // Rewriting repairs it.
  ASSERT_TRUE(cache.write(path, key, payload));
  EXPECT_EQ(cache.read(path, key, &read), CacheRead::Hit);
}

TEST(DiskCacheTest, UnwritableDirectoryDegradesWithOneWarning) {
  TempDir dir;
  // A regular file where a directory must go: fails even for root.
  std::string blocker = dir.path() + "/not-a-directory";
  overwrite(blocker, "x");
  std::vector<std::string> warnings;
  DiskCache cache(blocker + "/cache", true,
                  [&](const std::string &w) { warnings.push_back(w); });
  EXPECT_TRUE(cache.writable());
  Digest key = digestOf("key");
  std::string path = cache.entryPath("plan", key, ".plan"), read;
  EXPECT_FALSE(cache.write(path, key, "payload"));
  EXPECT_FALSE(cache.writable());
  EXPECT_FALSE(cache.write(path, key, "payload"));
  EXPECT_EQ(cache.read(path, key, &read), CacheRead::Miss);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("cannot write the cache directory"),
            std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[0].find("caching in memory only"), std::string::npos);
}

TEST(DiskCacheTest, RacingProcessesLeaveOneValidEntry) {
  TempDir dir;
  Digest key = digestOf("raced key");
  // Payloads differ in content but all are valid for the key, as two
  // compiles of one key may differ in irrelevant bytes.
  constexpr int kProcesses = 8, kRounds = 25;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      DiskCache cache(dir.path(), true, nullptr);
      std::string path = cache.entryPath("emu", key, ".so");
      bool ok = true;
      for (int r = 0; r < kRounds; ++r)
        ok &= cache.write(path, key, std::string(64 * 1024 + p, char('a' + p)));
      _exit(ok ? 0 : 1);
    }
    children.push_back(pid);
  }
  // Readers meanwhile never see a partial entry.
  DiskCache reader(dir.path(), true, nullptr);
  std::string path = reader.entryPath("emu", key, ".so"), read;
  for (int i = 0; i < 200; ++i)
    EXPECT_NE(reader.read(path, key, &read), CacheRead::Corrupt);
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  ASSERT_EQ(reader.read(path, key, &read), CacheRead::Hit);
  EXPECT_EQ(read.size() - 64 * 1024, static_cast<size_t>(read[0] - 'a'));
  // Exactly one file: the entry; every temporary was renamed or removed.
  EXPECT_EQ(attn::test::filesUnder(dir.path(), "").size(), 1u);
}

} // namespace
