//===- PrivateFiles.cpp - directories no other user can change ------------===//
//
// The directory rule and private temporary directories. See PrivateFiles.h.
//
//===----------------------------------------------------------------------===//

#include "attn/emu/PrivateFiles.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

namespace attn::emu {

namespace {

std::string octal(mode_t mode) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%04o",
                static_cast<unsigned>(mode & 07777));
  return buffer;
}

/// `path` made absolute, with its existing part resolved by realpath (the
/// missing tail is appended as written; ".." in it is refused).
bool canonicalPath(const std::string &path, std::string *out,
                   std::string *problem) {
  std::string head = path;
  if (head.empty() || head[0] != '/') {
    char cwd[PATH_MAX];
    if (!::getcwd(cwd, sizeof cwd)) {
      *problem = std::string("cannot read the working directory: ") +
                 std::strerror(errno);
      return false;
    }
    head = std::string(cwd) + "/" + head;
  }
  std::vector<std::string> missing;
  while (true) {
    char resolved[PATH_MAX];
    if (::realpath(head.c_str(), resolved)) {
      std::string result = resolved;
      for (auto it = missing.rbegin(); it != missing.rend(); ++it)
        result += (result == "/" ? "" : "/") + *it;
      *out = result;
      return true;
    }
    if (errno != ENOENT) {
      *problem = "cannot resolve '" + head + "': " + std::strerror(errno);
      return false;
    }
    while (head.size() > 1 && head.back() == '/')
      head.pop_back();
    size_t slash = head.rfind('/');
    std::string last = head.substr(slash + 1);
    head = slash == 0 ? "/" : head.substr(0, slash);
    if (last == "..") {
      *problem = "'" + path + "' has '..' below a directory that does not exist";
      return false;
    }
    if (!last.empty() && last != ".")
      missing.push_back(last);
  }
}

OpenedDirectory failure(int error, std::string problem) {
  OpenedDirectory d;
  d.error = error;
  d.problem = std::move(problem);
  return d;
}

OpenedDirectory untrusted(std::string problem) {
  OpenedDirectory d;
  d.untrusted = true;
  d.problem = std::move(problem);
  return d;
}

/// Checks the open directory `fd` against `rule`; closes it on failure.
OpenedDirectory checked(int fd, DirectoryRule rule, const std::string &path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int error = errno;
    ::close(fd);
    return failure(error, "cannot stat '" + path + "': " + std::strerror(error));
  }
  std::string problem = directoryProblem(st, rule, path);
  if (!problem.empty()) {
    ::close(fd);
    return untrusted(problem);
  }
  OpenedDirectory d;
  d.fd = fd;
  return d;
}

/// Opens `name` in `parentFd` as a directory, never through a link; makes
/// it (0700) first when missing and `create`.
int openDirectoryAt(int parentFd, const std::string &name, bool create) {
  const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  int fd = ::openat(parentFd, name.c_str(), flags);
  if (fd < 0 && errno == ENOENT && create) {
    if (::mkdirat(parentFd, name.c_str(), 0700) != 0 && errno != EEXIST)
      return -1;
    fd = ::openat(parentFd, name.c_str(), flags);
  }
  return fd;
}

std::string openProblem(const std::string &path, int error) {
  if (error == ELOOP)
    return "'" + path + "' is a symbolic link";
  if (error == ENOTDIR)
    return "'" + path + "' is not a directory";
  return "cannot open '" + path + "': " + std::strerror(error);
}

/// A failed open of `name` in `parentFd` (`path`): a link where a
/// directory belongs could lead anywhere (untrusted); anything else is in
/// the way or an error. (O_NOFOLLOW | O_DIRECTORY fails on a link with
/// ENOTDIR or ELOOP, so the entry itself says which.)
OpenedDirectory openFailure(int parentFd, const std::string &name,
                            const std::string &path, int error) {
  struct stat st;
  if (error == ELOOP ||
      (error == ENOTDIR &&
       ::fstatat(parentFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
       S_ISLNK(st.st_mode)))
    return untrusted(openProblem(path, ELOOP));
  return failure(error, openProblem(path, error));
}

} // namespace

std::string directoryProblem(const struct stat &st, DirectoryRule rule,
                             const std::string &path) {
  uid_t me = ::geteuid();
  if (!S_ISDIR(st.st_mode))
    return "'" + path + "' is not a directory";
  bool othersWrite = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  if (rule == DirectoryRule::Owned) {
    if (st.st_uid != me)
      return "'" + path + "' is owned by uid " + std::to_string(st.st_uid) +
             ", not by this user (uid " + std::to_string(me) + ")";
    if (othersWrite)
      return "'" + path + "' is writable by group or others (mode " +
             octal(st.st_mode) + ")";
    return "";
  }
  if (st.st_uid != 0 && st.st_uid != me)
    return "'" + path + "' is owned by uid " + std::to_string(st.st_uid) +
           ", neither root nor this user (uid " + std::to_string(me) + ")";
  if (othersWrite && !(st.st_mode & S_ISVTX))
    return "'" + path + "' is writable by group or others and not sticky " +
           "(mode " + octal(st.st_mode) + ")";
  return "";
}

OpenedDirectory openDirectoryChain(const std::string &path, DirectoryRule rule,
                                   bool create) {
  std::string canonical, problem;
  if (!canonicalPath(path, &canonical, &problem))
    return failure(errno, problem);
  int fd = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return failure(errno, openProblem("/", errno));
  std::string walked = "/";
  size_t start = 1;
  while (start < canonical.size()) {
    size_t end = canonical.find('/', start);
    if (end == std::string::npos)
      end = canonical.size();
    std::string name = canonical.substr(start, end - start);
    start = end + 1;
    if (name.empty())
      continue;
    // The directory walked so far lies above `path`.
    OpenedDirectory parent = checked(fd, DirectoryRule::Ancestor, walked);
    if (parent.fd < 0)
      return parent;
    walked += (walked == "/" ? "" : "/") + name;
    int next = openDirectoryAt(fd, name, create);
    if (next < 0) {
      int error = errno;
      OpenedDirectory failed = openFailure(fd, name, walked, error);
      ::close(fd);
      return failed;
    }
    ::close(fd);
    fd = next;
  }
  return checked(fd, rule, walked);
}

OpenedDirectory openSubdirectory(int parentFd, const std::string &name,
                                 bool create, const std::string &path) {
  int fd = openDirectoryAt(parentFd, name, create);
  if (fd < 0) {
    int error = errno;
    return openFailure(parentFd, name, path, error);
  }
  return checked(fd, DirectoryRule::Owned, path);
}

std::string temporaryRoot() {
  const char *tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? tmp : "/tmp";
}

PrivateDirectory::PrivateDirectory(const std::string &prefix,
                                   std::string *error) {
  std::string root = temporaryRoot();
  OpenedDirectory parent =
      openDirectoryChain(root, DirectoryRule::Ancestor, false);
  if (parent.fd < 0) {
    *error = "cannot use the temporary directory '" + root +
             "' ($TMPDIR): " + parent.problem;
    return;
  }
  ::close(parent.fd);
  std::string pattern = root + "/" + prefix + "-XXXXXX";
  if (!::mkdtemp(pattern.data())) {
    *error = "cannot create a directory in '" + root +
             "' ($TMPDIR): " + std::strerror(errno);
    return;
  }
  dir = pattern;
}

PrivateDirectory::~PrivateDirectory() { remove(); }

void PrivateDirectory::remove() {
  if (!dir.empty())
    removeTree(dir);
  dir.clear();
}

bool PrivateDirectory::writeFile(const std::string &name,
                                 std::string_view contents,
                                 std::string *error) const {
  std::string path = dir + "/" + name;
  for (size_t slash = name.find('/'); slash != std::string::npos;
       slash = name.find('/', slash + 1))
    ::mkdir((dir + "/" + name.substr(0, slash)).c_str(), 0700);
  int fd = ::open(path.c_str(),
                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && writeAll(fd, contents);
  int saved = errno;
  if (fd >= 0 && ::close(fd) != 0 && ok) {
    ok = false;
    saved = errno;
  }
  if (!ok)
    *error = "cannot write '" + path + "': " + std::strerror(saved);
  return ok;
}

bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

namespace {
/// Creates a fresh temporary file `<name>.tmp-XXXXXX` in `dirFd` (mkstemp
/// has no *at form); -1 with errno on failure.
int createTemporary(int dirFd, const std::string &name, std::string *temp) {
  static const char kLetters[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  for (int attempt = 0; attempt < 100; ++attempt) {
    unsigned char random[6];
    if (getrandom(random, sizeof random, 0) != sizeof random)
      for (unsigned char &r : random)
        r = static_cast<unsigned char>(std::rand());
    *temp = name + std::string(kTemporaryMarker);
    for (unsigned char r : random)
      *temp += kLetters[r % (sizeof kLetters - 1)];
    int fd = ::openat(dirFd, temp->c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      0600);
    if (fd >= 0 || errno != EEXIST)
      return fd;
  }
  errno = EEXIST;
  return -1;
}
} // namespace

bool writeFileAtomically(int dirFd, const std::string &name,
                         std::initializer_list<std::string_view> parts) {
  std::string temp;
  int fd = createTemporary(dirFd, name, &temp);
  if (fd < 0)
    return false;
  bool ok = true;
  for (std::string_view part : parts)
    ok = ok && writeAll(fd, part);
  int error = ok ? 0 : (errno ? errno : EIO);
  if (::close(fd) != 0 && ok) {
    ok = false;
    error = errno;
  }
  if (ok && ::renameat(dirFd, temp.c_str(), dirFd, name.c_str()) == 0)
    return true;
  if (ok)
    error = errno;
  ::unlinkat(dirFd, temp.c_str(), 0);
  errno = error;
  return false;
}

bool readRegularFile(const std::string &path, std::size_t limit,
                     std::string *contents, std::string *error) {
  // O_NONBLOCK: a FIFO put where a file belongs must not block the open.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot open '" + path + "': " + std::strerror(errno);
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0)
    *error = "cannot stat '" + path + "': " + std::strerror(errno);
  else if (!S_ISREG(st.st_mode))
    *error = "'" + path + "' is not a regular file";
  else if (static_cast<std::size_t>(st.st_size) > limit)
    *error = "'" + path + "' has " + std::to_string(st.st_size) +
             " bytes, more than " + std::to_string(limit);
  else if (!readExactly(fd, static_cast<std::size_t>(st.st_size), contents))
    *error = "cannot read '" + path + "': " + std::strerror(errno);
  else {
    ::close(fd);
    return true;
  }
  ::close(fd);
  return false;
}

bool readExactly(int fd, std::size_t size, std::string *contents) {
  contents->resize(size);
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, &(*contents)[done], size - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return false;
    if (n == 0) { // the file shrank meanwhile
      errno = EIO;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void removeTree(const std::string &path) {
  // remove_all removes a symbolic link itself, never what it points to;
  // the trees removed here are private (0700), so no other user can put
  // one there meanwhile.
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

} // namespace attn::emu
