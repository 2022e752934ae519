//===- HostMemoryTest.cpp - the host memory a run may use ------------------===//
//
// availableHostMemory reads MemAvailable and the memory cgroups of the
// process (v2 and v1, every level up to the mount); each case builds a fake
// /proc and /sys/fs/cgroup under a temporary root.
//
//===----------------------------------------------------------------------===//

#include "attn/Support/HostMemory.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using namespace attn;

namespace {

/// A fake filesystem root, removed at the end.
struct FakeRoot {
  llvm::SmallString<128> path;
  FakeRoot() {
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("hostmem", path));
  }
  ~FakeRoot() { llvm::sys::fs::remove_directories(path); }
  void write(const std::string &relative, const std::string &contents) {
    llvm::SmallString<256> file(path);
    llvm::sys::path::append(file, relative);
    llvm::sys::fs::create_directories(llvm::sys::path::parent_path(file));
    std::error_code ec;
    llvm::raw_fd_ostream os(file, ec);
    EXPECT_FALSE(ec) << file.str().str();
    os << contents;
  }
  std::string root() const { return path.str().str(); }
};

constexpr uint64_t kGiB = uint64_t(1) << 30;

void meminfo(FakeRoot &r, uint64_t availableKiB) {
  r.write("proc/meminfo", "MemTotal:       32000000 kB\n"
                          "MemFree:         1000000 kB\n"
                          "MemAvailable:   " +
                              std::to_string(availableKiB) + " kB\n");
}

} // namespace

TEST(HostMemory, MemAvailableWithoutALimitingCgroup) {
  FakeRoot r;
  meminfo(r, 8 * 1024 * 1024);
  r.write("proc/self/cgroup", "0::/user.slice\n");
  r.write("sys/fs/cgroup/user.slice/memory.max", "max\n");
  HostMemoryLimit limit = availableHostMemory(r.root());
  EXPECT_EQ(limit.bytes, 8 * kGiB);
  EXPECT_EQ(limit.source, "MemAvailable in /proc/meminfo");
}

// cgroup v2: the least that any level leaves (limit - usage + inactive
// file pages), here the parent's.
TEST(HostMemory, CgroupV2LimitsAtEveryLevel) {
  FakeRoot r;
  meminfo(r, 30 * 1024 * 1024);
  r.write("proc/self/cgroup", "0::/box/job\n");
  r.write("sys/fs/cgroup/box/job/memory.max", std::to_string(8 * kGiB));
  r.write("sys/fs/cgroup/box/job/memory.current", std::to_string(kGiB));
  r.write("sys/fs/cgroup/box/memory.max", std::to_string(4 * kGiB));
  r.write("sys/fs/cgroup/box/memory.current", std::to_string(2 * kGiB));
  r.write("sys/fs/cgroup/box/memory.stat",
          "anon 1073741824\ninactive_file " + std::to_string(kGiB) + "\n");
  HostMemoryLimit limit = availableHostMemory(r.root());
  EXPECT_EQ(limit.bytes, 3 * kGiB); // 4 - (2 - 1)
  EXPECT_EQ(limit.source, "the cgroup limit of " + r.root() +
                              "/sys/fs/cgroup/box (memory.max 4.0 GiB, less "
                              "what the cgroup uses)");
}

// cgroup v1: "no limit" is a page-rounded 2^63; a namespaced path that does
// not exist under the mount means the mount is the process's cgroup.
TEST(HostMemory, CgroupV1AndNamespacedPaths) {
  FakeRoot r;
  meminfo(r, 30 * 1024 * 1024);
  r.write("proc/self/cgroup", "5:cpu,cpuacct:/x\n4:memory:/docker/abc\n");
  r.write("sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes",
          "9223372036854771712\n");
  r.write("sys/fs/cgroup/memory/docker/memory.limit_in_bytes",
          std::to_string(2 * kGiB) + "\n");
  r.write("sys/fs/cgroup/memory/docker/memory.usage_in_bytes",
          std::to_string(kGiB / 2) + "\n");
  EXPECT_EQ(availableHostMemory(r.root()).bytes, 3 * kGiB / 2);

  FakeRoot ns;
  meminfo(ns, 30 * 1024 * 1024);
  ns.write("proc/self/cgroup", "0::/not/visible/here\n");
  ns.write("sys/fs/cgroup/memory.max", std::to_string(kGiB));
  ns.write("sys/fs/cgroup/memory.current", "0");
  EXPECT_EQ(availableHostMemory(ns.root()).bytes, kGiB);
}

TEST(HostMemory, NothingReadableMeansNoLimit) {
  FakeRoot r;
  EXPECT_EQ(availableHostMemory(r.root()).bytes, UINT64_MAX);
}

TEST(HostMemory, ParsesAndFormatsSizes) {
  EXPECT_EQ(parseByteSize("8G"), 8 * kGiB);
  EXPECT_EQ(parseByteSize("8gib"), 8 * kGiB);
  EXPECT_EQ(parseByteSize("512M"), uint64_t(512) << 20);
  EXPECT_EQ(parseByteSize("1.5T"), uint64_t(3) << 39);
  EXPECT_EQ(parseByteSize("64KB"), uint64_t(64) << 10);
  EXPECT_EQ(parseByteSize("100000"), 100000u);
  EXPECT_EQ(parseByteSize("7b"), 7u);
  for (const char *bad : {"", "G", "-1G", "1.2.3", "12X", "8 G", "1e3",
                          "99999999999999999999T"})
    EXPECT_FALSE(parseByteSize(bad)) << bad;
  EXPECT_EQ(formatBytes(512), "512 bytes");
  EXPECT_EQ(formatBytes(1536), "1.5 KiB");
  EXPECT_EQ(formatBytes(uint64_t(25600000000)), "23.8 GiB");
  EXPECT_EQ(addBytes(UINT64_MAX - 1, 5), UINT64_MAX);
  EXPECT_EQ(mulBytes(uint64_t(1) << 40, uint64_t(1) << 30), UINT64_MAX);
}
