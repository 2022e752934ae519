//===- ScopedEnvironment.h - $TMPDIR and the working directory in a test -*- C++ -*-===//
//
// Tests of where kernels are built and what they may include point $TMPDIR
// and the working directory at directories of their own for one scope.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TEST_UNIT_SCOPEDENVIRONMENT_H
#define ATTN_TEST_UNIT_SCOPEDENVIRONMENT_H

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace attn::test {

/// Sets $TMPDIR to `tmp` and changes to `cwd`; restores both on
/// destruction.
class ScopedEnvironment {
public:
  ScopedEnvironment(const std::string &tmp, const std::string &cwd) {
    const char *t = std::getenv("TMPDIR");
    hadTmp = t != nullptr;
    oldTmp = t ? t : "";
    char buffer[4096];
    oldCwd = ::getcwd(buffer, sizeof buffer) ? buffer : "/";
    ::setenv("TMPDIR", tmp.c_str(), 1);
    EXPECT_EQ(::chdir(cwd.c_str()), 0) << cwd;
  }
  ~ScopedEnvironment() {
    if (hadTmp)
      ::setenv("TMPDIR", oldTmp.c_str(), 1);
    else
      ::unsetenv("TMPDIR");
    EXPECT_EQ(::chdir(oldCwd.c_str()), 0) << oldCwd;
  }
  ScopedEnvironment(const ScopedEnvironment &) = delete;
  ScopedEnvironment &operator=(const ScopedEnvironment &) = delete;

private:
  std::string oldTmp, oldCwd;
  bool hadTmp;
};

} // namespace attn::test

#endif // ATTN_TEST_UNIT_SCOPEDENVIRONMENT_H
