//===- Compare.h - attn-run's comparison of results with the reference -*- C++ -*-===//
//
// --check: the normwise relative error of each result against the
// interpreter, with the non-finite semantics of README "Non-finite values":
// equal non-finite elements (NaN where the reference is NaN, the same
// infinity) match; an element that is non-finite only in the run is a
// failure, except where it can only be a weight-0 key's non-finite V spread
// by the kernel's P·V (0 x NaN): such rows are counted and reported apart.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TOOLS_ATTNRUN_COMPARE_H
#define ATTN_TOOLS_ATTNRUN_COMPARE_H

#include "attn/Interpreter/Interpreter.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attn::run {

/// L2 norm over the finite elements, and counts of NaN and infinite ones.
struct Stats {
  double l2 = 0;
  int64_t nanCount = 0, infCount = 0;
};

/// The statistics of `value`.
Stats statsOf(const attn::interp::Tensor &value);

/// Result of comparing one output with the reference.
struct Comparison {
  std::string name;
  /// ‖a − b‖₂ / ‖b‖₂ over the elements that are finite in both (absolute
  /// when ‖b‖ = 0); NaN or infinity when they disagree on a non-finite one.
  double relErr = 0;
  bool pass = false;
  /// Rows (and their elements) non-finite only in the run, where V holds a
  /// non-finite value in that feature at a key of weight 0: left out of
  /// relErr and reported.
  int64_t spreadRows = 0, spreadElements = 0;
};

/// Compares every result with its reference. `v` is the V input
/// [B, Hkv, Nk, Dv] the outputs o [B, Hq, Nq, Dv] (result 0) were computed
/// from; `name` gives each result's name.
std::vector<Comparison>
compareResults(llvm::ArrayRef<attn::interp::Tensor> results,
               llvm::ArrayRef<attn::interp::Tensor> reference,
               const attn::interp::Tensor &v, double tol,
               llvm::function_ref<std::string(unsigned)> name);

} // namespace attn::run

#endif // ATTN_TOOLS_ATTNRUN_COMPARE_H
