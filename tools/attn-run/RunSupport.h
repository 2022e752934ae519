//===- RunSupport.h - small helpers shared by attn-run's files ----*- C++ -*-===//

#ifndef ATTN_TOOLS_ATTN_RUN_RUNSUPPORT_H
#define ATTN_TOOLS_ATTN_RUN_RUNSUPPORT_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

namespace attn::run {

/// An llvm::Error carrying `message`.
inline llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// `dir/stem.npy`.
inline std::string npyPath(llvm::StringRef dir, llvm::StringRef stem) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, stem + ".npy");
  return std::string(path);
}

/// "[1,8,128,64]".
inline std::string shapeString(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

/// `x` as a JSON number with `digits` significant digits, or `null` when
/// it is not finite (JSON has no NaN or infinity).
inline void jsonNumber(llvm::json::OStream &j, double x, int digits = 17) {
  if (!std::isfinite(x)) {
    j.value(nullptr);
    return;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*g", digits, x);
  j.rawValue(buf);
}

/// `key`: `x` as jsonNumber writes it.
inline void jsonNumberAttribute(llvm::json::OStream &j, llvm::StringRef key,
                                double x, int digits = 17) {
  j.attributeBegin(key);
  jsonNumber(j, x, digits);
  j.attributeEnd();
}

} // namespace attn::run

#endif // ATTN_TOOLS_ATTN_RUN_RUNSUPPORT_H
