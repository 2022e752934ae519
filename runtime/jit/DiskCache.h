//===- DiskCache.h - the runtime's on-disk cache ----------------*- C++ -*-===//
//
// Entries live under <root>/v1/<kind>/<key>.<ext>. Every entry is its payload
// followed by a fixed 48-byte trailer: the key, the payload length, an
// xxHash64 checksum of the payload, a format version and a magic. A trailer
// rather than a header so that a kernel shared object is a valid ELF file
// as it lies in the cache and can be dlopen'ed in place (the loader ignores
// trailing bytes); a torn, truncated or corrupt entry fails the check and is
// rebuilt. Writes go to a unique temporary file in the same directory and
// are renamed into place, so readers never see a partial entry and
// processes racing on one key leave one valid entry (the last rename).
//
// When the root cannot be created or written, the cache warns once and
// degrades to memory only: reads of existing entries continue, writes stop.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_JIT_DISKCACHE_H
#define ATTN_RUNTIME_JIT_DISKCACHE_H

#include "Hash.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace attn::jit {

/// Size of an entry's trailer.
inline constexpr std::size_t kTrailerBytes = 48;

/// The trailer of an entry with `key` and `payload`.
std::string makeTrailer(const Digest &key, std::string_view payload);

/// What a lookup found.
enum class CacheRead {
  /// A valid entry; the payload was returned.
  Hit,
  /// No entry.
  Miss,
  /// An entry that failed its check (truncated, corrupt, another key).
  Corrupt,
};

/// Checks a whole entry file's bytes against `key`; on success sets
/// `*payloadSize` to the payload's length.
bool checkEntry(std::string_view file, const Digest &key,
                std::size_t *payloadSize);

/// The on-disk cache.
class DiskCache {
public:
  /// A cache rooted at `root`; `enabled` false (or an empty root) makes it a
  /// no-op. `warn` receives the single degradation warning.
  DiskCache(std::string root, bool enabled,
            std::function<void(const std::string &)> warn);

  /// True while entries can be written.
  bool writable() const { return canWrite.load(); }
  /// True when the cache is configured at all.
  bool enabled() const { return on; }
  /// The root directory.
  const std::string &root() const { return rootDir; }

  /// The path of entry `key` of `kind` (a subdirectory: "plan", "emu",
  /// "cuda", "tools") with extension `ext`.
  std::string entryPath(std::string_view kind, const Digest &key,
                        std::string_view ext) const;

  /// Reads and checks the entry at `path`; on Hit sets `*payload`.
  CacheRead read(const std::string &path, const Digest &key,
                 std::string *payload) const;

  /// Writes `payload` (plus trailer) as the entry at `path`, atomically.
  /// False when the cache is not writable or the write failed (warned).
  bool write(const std::string &path, const Digest &key,
             std::string_view payload);

  /// A fresh temporary path in `path`'s directory (created), for a file
  /// a tool writes (a compiled .so) before commitFile; empty when not
  /// writable.
  std::string temporaryPath(const std::string &path);

  /// Appends the trailer to the finished file `temp` and renames it to
  /// `path`. False (temp removed) on failure.
  bool commitFile(const std::string &temp, const std::string &path,
                  const Digest &key);

  /// Makes sure `dir` exists (creating parents). False, and the cache
  /// degrades to memory with a warning, when it cannot be created.
  bool ensureDirectory(const std::string &dir);

private:
  void degrade(const std::string &what, int error);

  std::string rootDir;
  bool on;
  std::atomic<bool> canWrite;
  std::once_flag warned;
  std::function<void(const std::string &)> warn;
};

/// Reads the whole file at `path`; false when it cannot be read.
bool readFile(const std::string &path, std::string *contents);

/// Creates `dir` and its parents; 0 or the errno of the failure.
int makeDirectories(const std::string &dir);

} // namespace attn::jit

#endif // ATTN_RUNTIME_JIT_DISKCACHE_H
