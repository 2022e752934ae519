//===- HostInfo.h - tool and machine identities in keys ---------*- C++ -*-===//
//
// A cached artifact is only as valid as the tools that built it, so their
// identities are part of the artifact keys. Finding them must not cost a
// warm start a process launch: the host compiler's `--version` banner is
// itself cached (on disk, keyed by the compiler's resolved path, size and
// modification time), NVRTC is identified by its library file the same way,
// and the CPU by its /proc/cpuinfo model and feature flags.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_JIT_HOSTINFO_H
#define ATTN_RUNTIME_JIT_HOSTINFO_H

#include "DiskCache.h"

#include <string>

namespace attn::jit {

/// `name` resolved through $PATH (or itself when it holds a '/'), with
/// symlinks resolved; empty when not found.
std::string resolveExecutable(const std::string &name);

/// "<resolved path>\n<first line of `compiler --version`>", cached in memory
/// and in `cache`'s "tools" entries; empty with `*error` when the compiler
/// cannot be found or run.
std::string hostCompilerIdentity(const std::string &compiler, DiskCache &cache,
                                 std::string *error);

/// The host CPU's model and feature flags (what -march=native depends on).
const std::string &cpuIdentity();

/// Path, size and modification time of the libnvrtc attn's NVRTC wrapper
/// loads, or "nvrtc: not found".
const std::string &nvrtcIdentity();

} // namespace attn::jit

#endif // ATTN_RUNTIME_JIT_HOSTINFO_H
