//===- DiskCacheTest.cpp - the on-disk cache's entries --------------------===//

#include "DiskCache.h"
#include "LruMap.h"
#include "RuntimeTestSupport.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

bool exists(const std::string &path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

/// Sets the access time of `path` to `seconds` after the epoch.
void setAccessTime(const std::string &path, time_t seconds) {
  struct timespec times[2] = {{seconds, 0}, {0, UTIME_OMIT}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

/// Runs `body` in a child process that SIGALRM kills after `seconds`, and
/// returns its exit status (-signal when killed): a test of something that
/// must not block cannot hang the suite.
int inChild(unsigned seconds, const std::function<int()> &body) {
  pid_t pid = fork();
  if (pid == 0) {
    alarm(seconds);
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

TEST(DiskCacheTest, RoundTrip) {
  TempDir dir;
  DiskCache cache(dir.path(), true, nullptr);
  Digest key = digestOf("key");
  std::string path = cache.entryPath("plan", key, ".plan");
  EXPECT_EQ(path, dir.path() + "/v1/plan/" + key.hex() + ".plan");
  std::string payload("binary\0payload", 14), read;
  EXPECT_EQ(cache.read("plan", key, ".plan", &read), CacheRead::Miss);
  ASSERT_TRUE(cache.write("plan", key, ".plan", payload));
  ASSERT_EQ(cache.read("plan", key, ".plan", &read), CacheRead::Hit);
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
  ASSERT_TRUE(cache.write("emu", key, ".so", payload));
  std::string good = readAll(path);

  std::string flipped = good;
  flipped[100] ^= 1; // one payload bit
  overwrite(path, flipped);
  EXPECT_EQ(cache.read("emu", key, ".so", &read), CacheRead::Corrupt);

  overwrite(path, good.substr(0, good.size() - 1)); // torn write
  EXPECT_EQ(cache.read("emu", key, ".so", &read), CacheRead::Corrupt);
  overwrite(path, good.substr(0, 10));
  EXPECT_EQ(cache.read("emu", key, ".so", &read), CacheRead::Corrupt);
  overwrite(path, "");
  EXPECT_EQ(cache.read("emu", key, ".so", &read), CacheRead::Corrupt);

  // A valid entry of another key (a misplaced file).
  std::string otherPath = cache.entryPath("emu", digestOf("other"), ".so");
  overwrite(otherPath, good);
  EXPECT_EQ(cache.read("emu", digestOf("other"), ".so", &read),
            CacheRead::Corrupt);

  // Rewriting repairs it.
  ASSERT_TRUE(cache.write("emu", key, ".so", payload));
  EXPECT_EQ(cache.read("emu", key, ".so", &read), CacheRead::Hit);
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
  std::string read;
  EXPECT_FALSE(cache.write("plan", key, ".plan", "payload"));
  EXPECT_FALSE(cache.writable());
  EXPECT_FALSE(cache.write("plan", key, ".plan", "payload"));
  EXPECT_EQ(cache.read("plan", key, ".plan", &read), CacheRead::Miss);
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
      bool ok = true;
      for (int r = 0; r < kRounds; ++r)
        ok &= cache.write("emu", key, ".so",
                          std::string(64 * 1024 + p, char('a' + p)));
      _exit(ok ? 0 : 1);
    }
    children.push_back(pid);
  }
  // Readers meanwhile never see a partial entry.
  DiskCache reader(dir.path(), true, nullptr);
  std::string read;
  for (int i = 0; i < 200; ++i)
    EXPECT_NE(reader.read("emu", key, ".so", &read), CacheRead::Corrupt);
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  ASSERT_EQ(reader.read("emu", key, ".so", &read), CacheRead::Hit);
  EXPECT_EQ(read.size() - 64 * 1024, static_cast<size_t>(read[0] - 'a'));
  // Exactly one file: the entry; every temporary was renamed or removed.
  EXPECT_EQ(attn::test::filesUnder(dir.path(), "").size(), 1u);
}

TEST(DiskCacheTest, FifoAtAnEntryPathNeitherBlocksNorStays) {
  TempDir dir;
  Digest key = digestOf("fifo");
  {
    DiskCache cache(dir.path(), true, nullptr);
    ASSERT_TRUE(cache.write("plan", digestOf("other"), ".plan", "x"));
  }
  std::string path = dir.path() + "/v1/plan/" + key.hex() + ".plan";
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  // No writer ever opens the FIFO: a blocking open would hang for good.
  int status = inChild(20, [&] {
    DiskCache cache(dir.path(), true, nullptr);
    std::string read;
    if (cache.read("plan", key, ".plan", &read) != CacheRead::Corrupt)
      return 1;
    if (!cache.write("plan", key, ".plan", "rebuilt"))
      return 2;
    return cache.read("plan", key, ".plan", &read) == CacheRead::Hit &&
                   read == "rebuilt"
               ? 0
               : 3;
  });
  EXPECT_EQ(status, 0) << "negative: killed by that signal (SIGALRM: blocked)";
  struct stat st;
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode)) << "the entry replaced the FIFO";
}

TEST(DiskCacheTest, HugeFileAtAnEntryPathIsNeverRead) {
  TempDir dir;
  Digest key = digestOf("huge");
  DiskCache cache(dir.path(), true, nullptr);
  ASSERT_TRUE(cache.write("emu", key, ".so", "small"));
  std::string path = cache.entryPath("emu", key, ".so");
  // 8 GiB, sparse: reading it would need 8 GiB of memory.
  ASSERT_EQ(::truncate(path.c_str(), off_t(8) << 30), 0);
  // Address space for what the process has plus 256 MiB: an attempt to
  // read the file into memory fails (bad_alloc: the child dies).
  int status = inChild(60, [&] {
    long pages = 0, resident = 0;
    if (FILE *f = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2)
        pages = 0;
      std::fclose(f);
    }
    rlim_t bytes = static_cast<rlim_t>(pages) * ::sysconf(_SC_PAGESIZE) +
                   (rlim_t(256) << 20);
    struct rlimit limit = {bytes, bytes};
    if (pages == 0 || ::setrlimit(RLIMIT_AS, &limit) != 0)
      return 4;
    DiskCache child(dir.path(), true, nullptr);
    std::string read;
    if (child.read("emu", key, ".so", &read) != CacheRead::Corrupt)
      return 1;
    if (!child.write("emu", key, ".so", "rebuilt"))
      return 2;
    return child.read("emu", key, ".so", &read) == CacheRead::Hit ? 0 : 3;
  });
  EXPECT_EQ(status, 0);
}

TEST(DiskCacheTest, DirectoryAtAnEntryPathSpoilsThatEntryOnly) {
  TempDir dir;
  std::vector<std::string> warnings;
  DiskCache cache(dir.path(), true,
                  [&](const std::string &w) { warnings.push_back(w); });
  Digest blocked = digestOf("blocked"), other = digestOf("other");
  ASSERT_TRUE(cache.write("emu", other, ".so", "first"));
  std::string path = cache.entryPath("emu", blocked, ".so");
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((path + "/inside").c_str(), 0700), 0); // not removable
  std::string read;
  EXPECT_EQ(cache.read("emu", blocked, ".so", &read), CacheRead::Corrupt);
  EXPECT_FALSE(cache.write("emu", blocked, ".so", "payload"));
  // Every other entry is still written and read; nothing was warned.
  EXPECT_TRUE(cache.writable());
  EXPECT_TRUE(cache.write("emu", other, ".so", "second"));
  EXPECT_TRUE(cache.write("plan", other, ".plan", "third"));
  ASSERT_EQ(cache.read("emu", other, ".so", &read), CacheRead::Hit);
  EXPECT_EQ(read, "second");
  EXPECT_TRUE(warnings.empty()) << warnings[0];
  // No temporary file is left next to the directory.
  for (const std::string &file : attn::test::filesUnder(dir.path(), ""))
    EXPECT_EQ(file.find(".tmp-"), std::string::npos) << file;
}

TEST(DiskCacheTest, StaleTemporaryFilesAreRemoved) {
  TempDir dir;
  DiskCache cache(dir.path(), true, nullptr);
  ASSERT_TRUE(cache.write("emu", digestOf("a"), ".so", "a"));
  // One left by a process killed two hours ago, one of a write in flight.
  std::string stale = dir.path() + "/v1/emu/x.so.tmp-AAAAAA";
  std::string fresh = dir.path() + "/v1/emu/y.so.tmp-BBBBBB";
  overwrite(stale, "partial");
  overwrite(fresh, "partial");
  struct timespec old[2] = {{time(nullptr) - 7200, 0},
                            {time(nullptr) - 7200, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, stale.c_str(), old, 0), 0);
  ASSERT_TRUE(cache.write("emu", digestOf("b"), ".so", "b"));
  EXPECT_FALSE(exists(stale));
  EXPECT_TRUE(exists(fresh));
}

TEST(DiskCacheTest, EvictsTheLeastRecentlyUsedBeyondTheBound) {
  TempDir dir;
  const size_t payloadBytes = 10000, entryBytes = payloadBytes + kTrailerBytes;
  DiskCache cache(dir.path(), true, nullptr, 3 * entryBytes);
  std::string payload(payloadBytes, 'p'), read;
  Digest a = digestOf("a"), b = digestOf("b"), c = digestOf("c"),
         d = digestOf("d");
  // a, b, c in different kinds (the bound is over the whole cache), last
  // used in that order, long ago (no clock granularity involved).
  ASSERT_TRUE(cache.write("plan", a, ".plan", payload));
  ASSERT_TRUE(cache.write("emu", b, ".so", payload));
  ASSERT_TRUE(cache.write("cuda", c, ".cubin", payload));
  setAccessTime(cache.entryPath("plan", a, ".plan"), 1000);
  setAccessTime(cache.entryPath("emu", b, ".so"), 2000);
  setAccessTime(cache.entryPath("cuda", c, ".cubin"), 3000);
  // A hit makes a the most recently used (its access time is set even on
  // a noatime mount) ...
  ASSERT_EQ(cache.read("plan", a, ".plan", &read), CacheRead::Hit);
  // ... so a fourth entry evicts b, the least recently used.
  ASSERT_TRUE(cache.write("emu", d, ".so", payload));
  EXPECT_TRUE(exists(cache.entryPath("plan", a, ".plan")));
  EXPECT_FALSE(exists(cache.entryPath("emu", b, ".so")));
  EXPECT_TRUE(exists(cache.entryPath("cuda", c, ".cubin")));
  EXPECT_TRUE(exists(cache.entryPath("emu", d, ".so")));
  EXPECT_EQ(cache.read("emu", b, ".so", &read), CacheRead::Miss);
  // An entry larger than the whole bound is not kept at all.
  EXPECT_FALSE(cache.write("emu", digestOf("big"), ".so",
                           std::string(4 * entryBytes, 'x')));
  EXPECT_TRUE(cache.writable());
}

TEST(DiskCacheTest, EvictionRacingReadersAndWriters) {
  TempDir dir;
  constexpr int kWriters = 4, kEntries = 40;
  constexpr size_t kPayload = 4096, kBound = 10 * (kPayload + kTrailerBytes);
  auto keyOf = [](int w, int i) {
    return digestOf("w" + std::to_string(w) + "e" + std::to_string(i));
  };
  std::vector<pid_t> children;
  for (int w = 0; w < kWriters; ++w) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      DiskCache cache(dir.path(), true, nullptr, kBound);
      bool ok = true;
      for (int i = 0; i < kEntries; ++i)
        ok &= cache.write("emu", keyOf(w, i), ".so",
                          std::string(kPayload, char('a' + w)));
      _exit(ok ? 0 : 1);
    }
    children.push_back(pid);
  }
  // Entries vanish under the reader (evicted by another process) but it
  // never reads a broken one.
  DiskCache reader(dir.path(), true, nullptr, kBound);
  std::string read;
  for (int round = 0; round < 20; ++round)
    for (int w = 0; w < kWriters; ++w)
      for (int i = 0; i < kEntries; ++i) {
        CacheRead r = reader.read("emu", keyOf(w, i), ".so", &read);
        ASSERT_NE(r, CacheRead::Corrupt);
        if (r == CacheRead::Hit)
          ASSERT_EQ(read, std::string(kPayload, char('a' + w)));
      }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  // Each writer trims after its own write; what another renamed in after
  // the last scan may still be there, one entry per writer at most.
  uint64_t total = 0;
  for (const std::string &file : attn::test::filesUnder(dir.path(), "")) {
    struct stat st;
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(file.find(".tmp-"), std::string::npos) << file;
    total += static_cast<uint64_t>(st.st_size);
  }
  EXPECT_LE(total, kBound + kWriters * (kPayload + kTrailerBytes));
  EXPECT_GT(total, 0u);
}

TEST(DiskCacheTest, ByteCounts) {
  uint64_t bytes = 0;
  ASSERT_TRUE(parseByteCount("2G", &bytes));
  EXPECT_EQ(bytes, uint64_t(2) << 30);
  ASSERT_TRUE(parseByteCount("500m", &bytes));
  EXPECT_EQ(bytes, uint64_t(500) << 20);
  ASSERT_TRUE(parseByteCount("12345", &bytes));
  EXPECT_EQ(bytes, 12345u);
  ASSERT_TRUE(parseByteCount("1T", &bytes));
  EXPECT_EQ(bytes, uint64_t(1) << 40);
  for (const char *bad : {"", "0", "-1", "1.5G", "G", "12X", "2GB",
                          "99999999999999999999", "17179869184T"})
    EXPECT_FALSE(parseByteCount(bad, &bytes)) << bad;
}

TEST(LruMapTest, KeepsTheMostRecentlyUsed) {
  LruMap<int, std::shared_ptr<int>, std::hash<int>> map(2);
  map.insert(1, std::make_shared<int>(10));
  map.insert(2, std::make_shared<int>(20));
  ASSERT_TRUE(map.find(1)); // 1 is now more recent than 2
  map.insert(3, std::make_shared<int>(30));
  EXPECT_EQ(map.size(), 2u);
  EXPECT_FALSE(map.find(2));
  ASSERT_TRUE(map.find(1));
  EXPECT_EQ(*map.find(1), 10);
  EXPECT_EQ(*map.find(3), 30);
  map.insert(3, std::make_shared<int>(31)); // replaces, evicts nothing
  EXPECT_EQ(map.size(), 2u);
  EXPECT_EQ(*map.find(3), 31);
  EXPECT_TRUE(map.find(1));
}

} // namespace
