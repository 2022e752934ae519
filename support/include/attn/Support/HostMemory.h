//===- HostMemory.h - how much host memory a run may still use --*- C++ -*-===//
//
// attn-run and the runtime compute what a run will allocate on the host
// before allocating it, and refuse with the figures when it exceeds what the
// machine can give: otherwise a size under every element-count limit but
// beyond memory ends in `LLVM ERROR: out of memory` or the OOM killer. What
// the machine can give is MemAvailable, or less when the process's cgroup
// (v2 memory.max or v1 memory.limit_in_bytes, at any level of its hierarchy)
// leaves less. Plain C++: the runtime links it too.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SUPPORT_HOSTMEMORY_H
#define ATTN_SUPPORT_HOSTMEMORY_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace attn {

/// An amount of host memory and what it comes from.
struct HostMemoryLimit {
  /// Bytes; UINT64_MAX when nothing limits it (or nothing could be read).
  uint64_t bytes = UINT64_MAX;
  /// Where the figure comes from, for messages: "MemAvailable in
  /// /proc/meminfo", "the cgroup limit of /sys/fs/cgroup/... (memory.max
  /// minus the memory the cgroup uses)", "--max-memory".
  std::string source;
};

/// The host memory this process can still allocate: the least of
/// MemAvailable and, for each memory cgroup level above the process, its
/// limit minus its usage (reclaimable inactive file pages not counted as
/// used). `root` prefixes the /proc and /sys paths (for tests).
HostMemoryLimit availableHostMemory(const std::string &root = "");

/// Parses a size such as "8G", "512M", "1.5T", "64KiB", "100000" (bytes):
/// K, M, G, T are powers of 1024, an "i" and a "B" after them optional,
/// any case. nullopt for anything else, a negative or an overflowing size.
std::optional<uint64_t> parseByteSize(std::string_view text);

/// `bytes` for people: "512 bytes", "1.5 KiB", "23.8 GiB".
std::string formatBytes(uint64_t bytes);

/// a + b and a * b of byte counts, saturating at UINT64_MAX (which no
/// limit admits) instead of wrapping.
uint64_t addBytes(uint64_t a, uint64_t b);
uint64_t mulBytes(uint64_t a, uint64_t b);

} // namespace attn

#endif // ATTN_SUPPORT_HOSTMEMORY_H
