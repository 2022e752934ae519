//===- DiskCache.h - the runtime's on-disk cache ----------------*- C++ -*-===//
//
// Entries live under <root>/v1/<kind>/<key><ext>. Every entry is its payload
// followed by a fixed 48-byte trailer: the key, the payload length, an
// xxHash64 checksum of the payload, a format version and a magic. A torn,
// truncated or corrupt entry fails the check and is rebuilt. Writes go to a
// unique temporary file in the same directory and are renamed into place,
// so readers never see a partial entry and processes racing on one key
// leave one valid entry (the last rename).
//
// Trust. Code loaded from the cache runs in this process, so the cache is
// used only when no other user can change it (attn/emu/PrivateFiles.h): the
// root and every directory below it owned by the effective user and
// writable by nobody else, every directory above it owned by root or the
// user and sticky where others may write. Otherwise the cache is refused --
// no reads, no writes, one warning -- and the runtime caches in memory
// only. Directories are opened from `/` one component at a time with
// O_NOFOLLOW and entries with openat() relative to the checked directory
// descriptors, so a symbolic link anywhere inside the cache is never
// followed. An entry is opened once (non-blocking, so a FIFO cannot hang
// it), must be a regular file owned by the user and no larger than the
// entry bound, and its bytes are checked and returned in memory: callers
// load exactly those bytes, never the file again.
//
// Availability. Anything wrong with one entry (not a regular file, too
// large, corrupt, a directory in its place) is that entry's problem alone:
// it reads as Corrupt and is rebuilt; only a directory that cannot be
// created or written stops the writes (memory only, one warning), and
// reads of what exists go on.
//
// Eviction. After each write the cache is trimmed to its byte bound
// (ATTN_CACHE_MAX_BYTES, 2 GiB by default), least recently used entries
// first: each hit sets the entry's access time (futimens, since many file
// systems are mounted noatime or relatime). Temporary files older than an
// hour (left by killed processes) are removed in the same pass. Another
// process may be reading an entry that is being evicted: it holds it open,
// and unlinking never disturbs an open file; one that opens it afterwards
// misses and rebuilds it.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_JIT_DISKCACHE_H
#define ATTN_RUNTIME_JIT_DISKCACHE_H

#include "Hash.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace attn::jit {

/// Size of an entry's trailer.
inline constexpr std::size_t kTrailerBytes = 48;

/// The default bound of the cache's size (ATTN_CACHE_MAX_BYTES).
inline constexpr uint64_t kDefaultCacheMaxBytes = uint64_t(2) << 30;

/// The largest entry read or written (the bound is lowered to the cache's
/// own bound when that is smaller): larger files at an entry's path are
/// never read into memory.
inline constexpr uint64_t kMaxEntryBytes = uint64_t(256) << 20;

/// Temporary files older than this many seconds belong to a dead process.
inline constexpr int64_t kStaleTemporarySeconds = 3600;

/// The trailer of an entry with `key` and `payload`.
std::string makeTrailer(const Digest &key, std::string_view payload);

/// What a lookup found.
enum class CacheRead {
  /// A valid entry; the payload was returned.
  Hit,
  /// No entry (or no usable cache).
  Miss,
  /// Something that is not a valid entry of the key: truncated, corrupt,
  /// another key, not a regular file, larger than the entry bound, or not
  /// owned by the user. Rebuilding replaces it.
  Corrupt,
};

/// Checks a whole entry file's bytes against `key`; on success sets
/// `*payloadSize` to the payload's length.
bool checkEntry(std::string_view file, const Digest &key,
                std::size_t *payloadSize);

/// The on-disk cache. Thread-safe.
class DiskCache {
public:
  /// A cache rooted at `root` holding at most `maxBytes` bytes of entries;
  /// `enabled` false (or an empty root) makes it a no-op. `warn` receives
  /// the single warning when the cache is refused or degrades.
  DiskCache(std::string root, bool enabled,
            std::function<void(const std::string &)> warn,
            uint64_t maxBytes = kDefaultCacheMaxBytes);
  ~DiskCache();
  DiskCache(const DiskCache &) = delete;
  DiskCache &operator=(const DiskCache &) = delete;

  /// True while entries may be written (before the first use: while no
  /// problem is known).
  bool writable() const { return canWrite.load(); }
  /// True when the cache is configured at all.
  bool enabled() const { return on; }
  /// The root directory, as configured.
  const std::string &root() const { return rootDir; }
  /// The bound of the entries' total size.
  uint64_t maxBytes() const { return limit; }

  /// The path of entry `key` of `kind` (a subdirectory: "plan", "emu",
  /// "cuda", "tools") with extension `ext`, for messages and tests.
  std::string entryPath(std::string_view kind, const Digest &key,
                        std::string_view ext) const;

  /// Reads and checks the entry; on Hit sets `*payload` and marks the entry
  /// used (its access time).
  CacheRead read(std::string_view kind, const Digest &key,
                 std::string_view ext, std::string *payload);

  /// Writes `payload` (plus trailer) as the entry, atomically, then trims
  /// the cache to its bound. False when the cache is not writable (warned
  /// once), the payload exceeds the entry bound, or something other than a
  /// file occupies the entry's path (that entry only: nothing is warned and
  /// other entries are still written).
  bool write(std::string_view kind, const Digest &key, std::string_view ext,
             std::string_view payload);

  /// Removes least recently used entries until the total is within the
  /// bound, and temporary files older than kStaleTemporarySeconds.
  void trim();

private:
  /// Opens (once) and checks the root and v1; false when unusable.
  bool open();
  /// The checked directory of `kind`, opened (and with `create`, made)
  /// on first use; -1 when there is none.
  int kindDirectory(std::string_view kind, bool create);
  /// Stops the cache: reads and writes (untrusted) or writes only.
  void refuse(const std::string &problem);
  void degrade(const std::string &problem);
  /// The effective per-entry bound.
  uint64_t entryLimit() const;

  std::string rootDir;
  bool on;
  uint64_t limit;
  std::atomic<bool> canWrite;
  /// False once the cache is refused (or cannot be opened): no reads.
  std::atomic<bool> canRead;
  std::once_flag warned;
  std::function<void(const std::string &)> warn;
  std::mutex mutex;
  bool opened = false;
  int v1Fd = -1;
  std::map<std::string, int, std::less<>> kindFds;
};

/// Reads the whole regular file at `path`; false when it cannot be read.
bool readFile(const std::string &path, std::string *contents);

/// Creates `dir` and its parents; 0 or the errno of the failure.
int makeDirectories(const std::string &dir);

/// Parses a byte count with an optional K, M, G or T suffix (powers of
/// 1024); false when `text` is not a positive count.
bool parseByteCount(std::string_view text, uint64_t *bytes);

} // namespace attn::jit

#endif // ATTN_RUNTIME_JIT_DISKCACHE_H
