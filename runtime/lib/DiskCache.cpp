//===- DiskCache.cpp - the runtime's on-disk cache ------------------------===//

#include "DiskCache.h"

#include "attn/emu/PrivateFiles.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

using namespace attn::jit;
using attn::emu::OpenedDirectory;

namespace {
constexpr char kMagic[8] = {'A', 'T', 'T', 'N', 'J', 'I', 'T', '1'};
constexpr uint32_t kFormatVersion = 1;

void put64(char *at, uint64_t v) { std::memcpy(at, &v, 8); }
void put32(char *at, uint32_t v) { std::memcpy(at, &v, 4); }
uint64_t get64(const char *at) {
  uint64_t v;
  std::memcpy(&v, at, 8);
  return v;
}
uint32_t get32(const char *at) {
  uint32_t v;
  std::memcpy(&v, at, 4);
  return v;
}

/// A rename that fails because of what sits at the entry's path (a
/// directory, say) rather than because the directory cannot be written.
bool entryLocalError(int error) {
  return error == EISDIR || error == ENOTEMPTY || error == EEXIST ||
         error == EBUSY || error == ENOTDIR;
}

/// One regular file of the cache, as trim() sees it.
struct Listed {
  int dirFd;
  std::string name;
  uint64_t bytes;
  struct timespec used;
};
} // namespace

std::string attn::jit::makeTrailer(const Digest &key,
                                   std::string_view payload) {
  std::string t(kTrailerBytes, '\0');
  put64(&t[0], key.hi);
  put64(&t[8], key.lo);
  put64(&t[16], payload.size());
  put64(&t[24], xxh64(payload));
  put32(&t[32], kFormatVersion);
  put32(&t[36], static_cast<uint32_t>(kTrailerBytes));
  std::memcpy(&t[40], kMagic, 8);
  return t;
}

bool attn::jit::checkEntry(std::string_view file, const Digest &key,
                           std::size_t *payloadSize) {
  if (file.size() < kTrailerBytes)
    return false;
  const char *t = file.data() + file.size() - kTrailerBytes;
  if (std::memcmp(t + 40, kMagic, 8) != 0 || get32(t + 32) != kFormatVersion ||
      get32(t + 36) != kTrailerBytes)
    return false;
  uint64_t length = get64(t + 16);
  if (length != file.size() - kTrailerBytes)
    return false;
  if (get64(t) != key.hi || get64(t + 8) != key.lo)
    return false;
  if (xxh64(file.substr(0, length)) != get64(t + 24))
    return false;
  *payloadSize = length;
  return true;
}

bool attn::jit::readFile(const std::string &path, std::string *contents) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  struct stat st;
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    ::close(fd);
    errno = EISDIR;
    return false;
  }
  contents->clear();
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    // One read for the common case (a variant's text).
    bool ok = attn::emu::readExactly(fd, static_cast<size_t>(st.st_size),
                                     contents);
    ::close(fd);
    return ok;
  }
  // Until the end: /proc files and pipes report no size.
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    contents->append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

int attn::jit::makeDirectories(const std::string &dir) {
  if (dir.empty())
    return ENOENT;
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0)
    return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
  size_t slash = dir.rfind('/');
  if (slash != std::string::npos && slash > 0)
    if (int err = makeDirectories(dir.substr(0, slash)))
      return err;
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return errno;
  return 0;
}

bool attn::jit::parseByteCount(std::string_view text, uint64_t *bytes) {
  uint64_t value = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (value > (UINT64_MAX - 9) / 10)
      return false;
    value = value * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  if (i == 0)
    return false;
  int shift = 0;
  if (i + 1 == text.size()) {
    switch (text[i]) {
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    case 't': case 'T': shift = 40; break;
    default: return false;
    }
  } else if (i != text.size()) {
    return false;
  }
  if (value == 0 || value > (UINT64_MAX >> shift))
    return false;
  *bytes = value << shift;
  return true;
}

DiskCache::DiskCache(std::string root, bool enabled,
                     std::function<void(const std::string &)> warn,
                     uint64_t maxBytes)
    : rootDir(std::move(root)), on(enabled && !rootDir.empty()),
      limit(maxBytes), canWrite(on), canRead(on), warn(std::move(warn)) {}

DiskCache::~DiskCache() {
  for (auto &[kind, fd] : kindFds)
    if (fd >= 0)
      ::close(fd);
  if (v1Fd >= 0)
    ::close(v1Fd);
}

std::string DiskCache::entryPath(std::string_view kind, const Digest &key,
                                 std::string_view ext) const {
  std::string path = rootDir + "/v1/";
  path.append(kind);
  path += "/" + key.hex();
  path.append(ext);
  return path;
}

uint64_t DiskCache::entryLimit() const {
  return std::min(kMaxEntryBytes, limit);
}

void DiskCache::refuse(const std::string &problem) {
  canRead = false;
  canWrite = false;
  std::call_once(warned, [&] {
    if (warn)
      warn("attn: warning: not using the cache directory '" + rootDir +
           "': " + problem + "; caching in memory only");
  });
}

void DiskCache::degrade(const std::string &problem) {
  canWrite = false;
  std::call_once(warned, [&] {
    if (warn)
      warn("attn: warning: cannot write the cache directory '" + rootDir +
           "' (" + problem + "); caching in memory only");
  });
}

bool DiskCache::open() {
  // Called with `mutex` held.
  if (opened)
    return v1Fd >= 0;
  opened = true;
  OpenedDirectory root = attn::emu::openDirectoryChain(
      rootDir, attn::emu::DirectoryRule::Owned, /*create=*/true);
  if (root.fd < 0) {
    if (root.untrusted)
      refuse(root.problem);
    else {
      // Nothing to read either: the root does not exist.
      canRead = false;
      degrade(root.problem);
    }
    return false;
  }
  OpenedDirectory v1 = attn::emu::openSubdirectory(root.fd, "v1", canWrite,
                                                   rootDir + "/v1");
  ::close(root.fd);
  if (v1.fd < 0) {
    if (v1.untrusted)
      refuse(v1.problem);
    else {
      canRead = false;
      degrade(v1.problem);
    }
    return false;
  }
  v1Fd = v1.fd;
  return true;
}

int DiskCache::kindDirectory(std::string_view kind, bool create) {
  // Called with `mutex` held.
  if (!open() || !canRead)
    return -1;
  if (auto it = kindFds.find(kind); it != kindFds.end())
    return it->second;
  std::string path = rootDir + "/v1/" + std::string(kind);
  OpenedDirectory dir = attn::emu::openSubdirectory(
      v1Fd, std::string(kind), create && canWrite, path);
  if (dir.fd < 0) {
    if (dir.untrusted)
      refuse(dir.problem);
    else if (create && canWrite)
      degrade(dir.problem);
    // Missing and not created: a miss; looked up again next time (another
    // process may create it).
    return -1;
  }
  kindFds[std::string(kind)] = dir.fd;
  return dir.fd;
}

CacheRead DiskCache::read(std::string_view kind, const Digest &key,
                          std::string_view ext, std::string *payload) {
  if (!on || !canRead)
    return CacheRead::Miss;
  int dirFd;
  {
    std::lock_guard<std::mutex> lock(mutex);
    dirFd = kindDirectory(kind, false);
  }
  if (dirFd < 0)
    return CacheRead::Miss;
  std::string name = key.hex() + std::string(ext);
  // Opened once, never through a link, never blocking (a FIFO); what is
  // checked below is what this descriptor reads.
  int fd = ::openat(dirFd, name.c_str(),
                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? CacheRead::Miss : CacheRead::Corrupt;
  struct stat st;
  std::string file;
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
            st.st_uid == ::geteuid() &&
            (st.st_mode & (S_IWGRP | S_IWOTH)) == 0 &&
            static_cast<uint64_t>(st.st_size) <= entryLimit() + kTrailerBytes &&
            attn::emu::readExactly(fd, static_cast<size_t>(st.st_size), &file);
  size_t size = 0;
  ok = ok && checkEntry(file, key, &size);
  if (ok) {
    // Least recently used goes first: the access time says when.
    struct timespec times[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    ::futimens(fd, times);
  }
  ::close(fd);
  if (!ok)
    return CacheRead::Corrupt;
  file.resize(size);
  *payload = std::move(file);
  return CacheRead::Hit;
}

bool DiskCache::write(std::string_view kind, const Digest &key,
                      std::string_view ext, std::string_view payload) {
  if (!on || !writable())
    return false;
  if (payload.size() > entryLimit())
    return false;
  int dirFd;
  {
    std::lock_guard<std::mutex> lock(mutex);
    dirFd = kindDirectory(kind, true);
  }
  if (dirFd < 0)
    return false;
  std::string name = key.hex() + std::string(ext);
  std::string trailer = makeTrailer(key, payload);
  if (attn::emu::writeFileAtomically(dirFd, name, {payload, trailer})) {
    trim();
    return true;
  }
  // Something other than a file in the entry's place spoils that entry
  // only; a directory that cannot take files spoils every write.
  int err = errno;
  if (!entryLocalError(err))
    degrade("writing '" + entryPath(kind, key, ext) +
            "': " + std::strerror(err ? err : EIO));
  return false;
}

void DiskCache::trim() {
  std::lock_guard<std::mutex> lock(mutex);
  if (!open() || !canRead)
    return;
  // Every kind directory present, not only those this process opened.
  std::vector<std::string> kinds;
  if (DIR *d = ::fdopendir(::dup(v1Fd))) {
    ::rewinddir(d);
    while (dirent *e = ::readdir(d)) {
      // Directories only: a link or a stray file in v1 is nobody's entry.
      struct stat st;
      if (e->d_name[0] != '.' &&
          ::fstatat(v1Fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISDIR(st.st_mode))
        kinds.push_back(e->d_name);
    }
    ::closedir(d);
  }
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  std::vector<Listed> files;
  uint64_t total = 0;
  for (const std::string &kind : kinds) {
    int dirFd = kindDirectory(kind, false);
    if (dirFd < 0)
      continue;
    DIR *d = ::fdopendir(::dup(dirFd));
    if (!d)
      continue;
    ::rewinddir(d);
    while (dirent *e = ::readdir(d)) {
      struct stat st;
      if (e->d_name[0] == '.' ||
          ::fstatat(dirFd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
          !S_ISREG(st.st_mode))
        continue;
      std::string_view name = e->d_name;
      if (name.find(attn::emu::kTemporaryMarker) != std::string_view::npos) {
        // Another process's write in flight, unless it is long dead.
        if (now.tv_sec - st.st_mtim.tv_sec > kStaleTemporarySeconds)
          ::unlinkat(dirFd, e->d_name, 0);
        continue;
      }
      files.push_back({dirFd, e->d_name, static_cast<uint64_t>(st.st_size),
                       st.st_atim});
      total += static_cast<uint64_t>(st.st_size);
    }
    ::closedir(d);
  }
  if (total <= limit)
    return;
  std::sort(files.begin(), files.end(), [](const Listed &a, const Listed &b) {
    return a.used.tv_sec != b.used.tv_sec ? a.used.tv_sec < b.used.tv_sec
                                          : a.used.tv_nsec < b.used.tv_nsec;
  });
  for (const Listed &f : files) {
    if (total <= limit)
      break;
    // ENOENT: another process evicted or replaced it first.
    ::unlinkat(f.dirFd, f.name.c_str(), 0);
    total -= f.bytes;
  }
}
