//===- DiskCache.cpp - the runtime's on-disk cache ------------------------===//

#include "DiskCache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace attn::jit;

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

std::string directoryOf(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

/// Writes all of `data` to `fd`.
bool writeAll(int fd, const char *data, size_t size) {
  while (size) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}
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
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    return false;
  }
  contents->resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < contents->size()) {
    ssize_t n = ::read(fd, &(*contents)[done], contents->size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  contents->resize(done);
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

DiskCache::DiskCache(std::string root, bool enabled,
                     std::function<void(const std::string &)> warn)
    : rootDir(std::move(root)), on(enabled && !rootDir.empty()), canWrite(on),
      warn(std::move(warn)) {}

std::string DiskCache::entryPath(std::string_view kind, const Digest &key,
                                 std::string_view ext) const {
  std::string path = rootDir + "/v1/";
  path.append(kind);
  path += "/" + key.hex();
  path.append(ext);
  return path;
}

void DiskCache::degrade(const std::string &what, int error) {
  canWrite = false;
  std::call_once(warned, [&] {
    if (warn)
      warn("attn: warning: cannot write the cache directory '" + rootDir +
           "' (" + what + ": " + std::strerror(error) +
           "); caching in memory only");
  });
}

bool DiskCache::ensureDirectory(const std::string &dir) {
  if (!writable())
    return false;
  if (int err = makeDirectories(dir)) {
    degrade("creating '" + dir + "'", err);
    return false;
  }
  return true;
}

CacheRead DiskCache::read(const std::string &path, const Digest &key,
                          std::string *payload) const {
  if (!on)
    return CacheRead::Miss;
  std::string file;
  if (!readFile(path, &file))
    return CacheRead::Miss;
  size_t size = 0;
  if (!checkEntry(file, key, &size))
    return CacheRead::Corrupt;
  file.resize(size);
  *payload = std::move(file);
  return CacheRead::Hit;
}

std::string DiskCache::temporaryPath(const std::string &path) {
  std::string dir = directoryOf(path);
  if (!ensureDirectory(dir))
    return "";
  // mkstemp gives a name no other process or thread uses.
  std::string pattern = path + ".tmp-XXXXXX";
  int fd = ::mkstemp(pattern.data());
  if (fd < 0) {
    degrade("creating a file in '" + dir + "'", errno);
    return "";
  }
  ::close(fd);
  return pattern;
}

bool DiskCache::commitFile(const std::string &temp, const std::string &path,
                           const Digest &key) {
  std::string payload;
  bool ok = readFile(temp, &payload);
  if (ok) {
    std::string trailer = makeTrailer(key, payload);
    int fd = ::open(temp.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    ok = fd >= 0 && writeAll(fd, trailer.data(), trailer.size());
    if (fd >= 0)
      ok = (::close(fd) == 0) && ok;
  }
  if (ok && ::rename(temp.c_str(), path.c_str()) == 0)
    return true;
  int err = errno;
  ::unlink(temp.c_str());
  degrade("writing '" + path + "'", err ? err : EIO);
  return false;
}

bool DiskCache::write(const std::string &path, const Digest &key,
                      std::string_view payload) {
  if (!writable())
    return false;
  std::string temp = temporaryPath(path);
  if (temp.empty())
    return false;
  int fd = ::open(temp.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  std::string trailer = makeTrailer(key, payload);
  bool ok = fd >= 0 && writeAll(fd, payload.data(), payload.size()) &&
            writeAll(fd, trailer.data(), trailer.size());
  int err = errno;
  if (fd >= 0 && ::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && ::rename(temp.c_str(), path.c_str()) == 0)
    return true;
  if (ok)
    err = errno;
  ::unlink(temp.c_str());
  degrade("writing '" + path + "'", err ? err : EIO);
  return false;
}
