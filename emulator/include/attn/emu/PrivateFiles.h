//===- PrivateFiles.h - directories no other user can change ----*- C++ -*-===//
//
// Files the runtime compiles or loads code from must be out of every other
// user's reach, or another user gets code into this process. The rule is
// the one ssh, ccache and pip apply:
//
//  - a directory that holds such files (the disk cache's root and the
//    directories below it) is owned by the effective user and writable by
//    nobody else, and is never reached through a symbolic link;
//  - every directory above it, up to `/`, is owned by root or the effective
//    user and is writable by group or others only when it is sticky (like
//    /tmp: others may add names there but never rename or remove ours).
//
// Directories are opened one component at a time from `/` with O_NOFOLLOW,
// and what is checked is the fstat of the descriptor that is then used, so
// nothing is re-resolved by path after the check. Private temporary
// directories (mkdtemp, 0700, under a $TMPDIR that passes the rule for
// directories above) hold kernel sources, headers and objects while a
// compiler runs.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_EMU_PRIVATEFILES_H
#define ATTN_EMU_PRIVATEFILES_H

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

struct stat;

namespace attn::emu {

/// What a directory must satisfy.
enum class DirectoryRule {
  /// Owned by the effective user, writable by no one else.
  Owned,
  /// Above an Owned directory: owned by root or the effective user;
  /// writable by group or others only when sticky.
  Ancestor,
};

/// Why the directory described by `st` (named `path` in the message) breaks
/// `rule`; empty when it satisfies it.
std::string directoryProblem(const struct stat &st, DirectoryRule rule,
                             const std::string &path);

/// Outcome of opening a directory chain.
struct OpenedDirectory {
  /// The directory (O_DIRECTORY | O_CLOEXEC), or -1.
  int fd = -1;
  /// True when the failure is a broken rule (untrusted), false when an
  /// operation failed (`error` holds its errno).
  bool untrusted = false;
  int error = 0;
  /// What went wrong, naming the directory.
  std::string problem;
};

/// Opens the directory `path` (relative paths from the working directory):
/// every directory above it must satisfy DirectoryRule::Ancestor and the
/// directory itself `rule`. Symbolic links above it are resolved first
/// (realpath); the walk then refuses any link it meets. `create`: missing
/// directories are made with mode 0700.
OpenedDirectory openDirectoryChain(const std::string &path, DirectoryRule rule,
                                   bool create);

/// Opens the subdirectory `name` of the directory `parentFd` without
/// following a symbolic link, creating it (0700) when `create`; it must
/// satisfy DirectoryRule::Owned. `path` names it in messages.
OpenedDirectory openSubdirectory(int parentFd, const std::string &name,
                                 bool create, const std::string &path);

/// $TMPDIR when set and not empty, else /tmp.
std::string temporaryRoot();

/// A fresh directory only this user can reach: `<tmp>/<prefix>-XXXXXX`
/// (mkdtemp, 0700) under temporaryRoot(), which must satisfy
/// DirectoryRule::Ancestor. Removed with its contents on destruction.
class PrivateDirectory {
public:
  /// Creates the directory; on failure path() is empty and `*error` says
  /// why.
  PrivateDirectory(const std::string &prefix, std::string *error);
  ~PrivateDirectory();
  PrivateDirectory(const PrivateDirectory &) = delete;
  PrivateDirectory &operator=(const PrivateDirectory &) = delete;

  /// The directory; empty when it could not be created.
  const std::string &path() const { return dir; }
  /// Writes `contents` to `name` (relative; parent directories created).
  bool writeFile(const std::string &name, std::string_view contents,
                 std::string *error) const;
  /// Removes the directory and its contents now.
  void remove();

private:
  std::string dir;
};

/// Writes all of `data` to `fd`; false on an error.
bool writeAll(int fd, std::string_view data);

/// What marks a temporary file of writeFileAtomically: `<name>.tmp-XXXXXX`.
inline constexpr std::string_view kTemporaryMarker = ".tmp-";

/// Writes `parts`, one after the other, to the file `name` in the directory
/// `dirFd` through a fresh temporary file there (`<name>.tmp-XXXXXX`, mode
/// 0600, never through a symbolic link) and a rename: a reader sees the old
/// file or the whole new one, never a part. False with errno set on any
/// failure, the temporary file removed.
bool writeFileAtomically(int dirFd, const std::string &name,
                         std::initializer_list<std::string_view> parts);

/// Reads exactly `size` bytes from `fd` into `*contents`; false (errno
/// set) on an error or when the file ends first.
bool readExactly(int fd, std::size_t size, std::string *contents);

/// Reads the regular file `path` (at most `limit` bytes; larger files
/// fail); false with `*error` when it cannot.
bool readRegularFile(const std::string &path, std::size_t limit,
                     std::string *contents, std::string *error);

/// Removes `path` and everything below it, never following a symbolic link.
void removeTree(const std::string &path);

} // namespace attn::emu

#endif // ATTN_EMU_PRIVATEFILES_H
