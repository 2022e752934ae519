//===- PassCount.h - FuseMax pass-count analysis of a cascade ---*- C++ -*-===//
//
// How many passes over K/V an einsum cascade (attn.contract / attn.map /
// attn.reduce) needs as written and after the online rewrite, computed from
// the dependences between the cascade ops. Used by `-attn-analyze` to report
// remarks; exposed so that the online rewrite and the tiler can ask the same
// question instead of re-deriving it from normalizer names.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PASSES_PASSCOUNT_H
#define ATTN_PASSES_PASSCOUNT_H

#include "mlir/IR/Operation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/SmallVector.h"

#include <string>

namespace attn {

/// One dependence "KV reduction R → later op C iterating over KV": C cannot
/// start before R has seen the whole K/V row unless the online rewrite can
/// correct C's partial results when R changes.
struct PassCountEdge {
  /// The op producing the KV reduction (attn.reduce or attn.contract).
  mlir::Operation *reduction = nullptr;
  /// The KV-iterating op that consumes it (directly or through ops that do
  /// not iterate over KV).
  mlir::Operation *consumer = nullptr;
  /// True when the online rewrite removes the edge (running-value correction).
  bool correctable = false;
  /// One-line explanation, e.g. "'attn.reduce' max over 'j' feeds
  /// 'attn.map' through exp(x - max): corrected online".
  std::string reason;
};

/// The analysis result for one function.
struct PassCount {
  /// False when the function holds no attn.contract / attn.map / attn.reduce.
  bool hasCascade = false;
  /// The key/value letter; 0 when no contraction on the path to the first
  /// result reduces a letter (the function has no K/V loop).
  char kvLetter = 0;
  /// Passes over K/V of the cascade as written (≥ 1 when kvLetter is set).
  unsigned asWritten = 0;
  /// Passes over K/V after the online rewrite (≤ asWritten).
  unsigned online = 0;
  /// Every reduction → consumer dependence, in program order.
  llvm::SmallVector<PassCountEdge> edges;

  /// The remark text: "pass count: N as written, M after the online rewrite
  /// (KV letter 'j'); <reason>; <reason>...".
  std::string str() const;
};

/// Runs the pass-count analysis on `func`. Values flow through non-cascade
/// ops (tensor.expand_shape, tensor.collapse_shape, ...) as if those ops
/// were transparent.
PassCount analyzePassCount(mlir::FunctionOpInterface func);

} // namespace attn

#endif // ATTN_PASSES_PASSCOUNT_H
