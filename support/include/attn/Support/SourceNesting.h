//===- SourceNesting.h - bounding the nesting of MLIR source text -*- C++ -*-===//
//
// MLIR's parser, verifier, printer, passes and even the destruction of a
// module recurse once per level of nesting, so input nested thousands of
// levels deep (20,000 `tensor<`, 10,000 regions) overflows the stack: a crash
// instead of a diagnostic. Every attn entry point that reads MLIR text (attn-
// opt, attn-run, the runtime's compile from text or file) first scans it with
// findDeepNesting and refuses what nests deeper than kMaxSourceNesting, with
// the line and column, and then parses it on a thread whose stack is
// kCompilerStackBytes, so that what the scan cannot see (recursion inside
// a nesting level) still has room. Plain C++: the runtime uses it too.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SUPPORT_SOURCENESTING_H
#define ATTN_SUPPORT_SOURCENESTING_H

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace attn {

/// The deepest nesting attn accepts. Real variants nest 4 levels, their
/// kernel IR (grid loops, KV loop, tile branches) 12; at 256 levels the
/// recursion MLIR does per level needs about 1 MB of stack.
constexpr unsigned kMaxSourceNesting = 256;

/// The stack the tools and the runtime parse and compile on (virtual memory,
/// committed as used): far more than kMaxSourceNesting levels need.
constexpr unsigned kCompilerStackBytes = 64u << 20;

/// Where and why source text nests too deeply.
struct DeepNesting {
  /// 1-based line and column (in bytes) of the opening that goes too deep.
  unsigned line = 0, column = 0;
  /// What is wrong, without the location.
  std::string message;
};

/// Scans MLIR source text for nesting deeper than `limit`. Nesting counts
/// open brackets ({, (, [ and the < of types and attributes; not -> or <=
/// or >=), attribute and type aliases at the depth of their definitions
/// (a chain `#a1 = [#a0]`, `#a2 = [#a1]`, ... nests like brackets), and
/// runs of unary minus (which the affine-expression parser recurses on).
/// Strings and comments are skipped; a `// -----` line (the
/// --split-input-file marker) starts afresh. Returns the first excess.
std::optional<DeepNesting> findDeepNesting(std::string_view text,
                                           unsigned limit = kMaxSourceNesting);

/// "NAME:LINE:COL: error: MESSAGE", the form of a compiler diagnostic.
std::string formatDeepNesting(std::string_view bufferName,
                              const DeepNesting &nesting);

} // namespace attn

#endif // ATTN_SUPPORT_SOURCENESTING_H
