//===- ShiftDependence.h - how a cascade depends on a row max (internal) -===//
//
// The analysis the backward derivation uses to find row maxima that only
// stabilise (softmax's: shifting m leaves P, O and lse unchanged), and that
// the result-reading backward uses to recover the forward state from lse:
// a constant t added to one row maximum m is propagated through the cascade
// (exp turns a shift into a scale, log back; sums and products keep scales,
// quotients cancel them; guards against ±inf and 0 are left alone).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PASSES_SHIFTDEPENDENCE_H
#define ATTN_PASSES_SHIFTDEPENDENCE_H

#include "attn/Dialect/AttnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"

namespace attn {

/// How a value depends on a shift t of one row maximum m (m -> m + t): not
/// at all, shifted (x + a·t), scaled (x · e^(a·t)), or otherwise.
struct ShiftDependence {
  enum Kind { Free, Shift, Scale, Unknown } kind = Free;
  int64_t a = 0;
  static ShiftDependence free() { return {}; }
  static ShiftDependence shift(int64_t a) {
    return a ? ShiftDependence{Shift, a} : free();
  }
  static ShiftDependence scale(int64_t a) {
    return a ? ShiftDependence{Scale, a} : free();
  }
  static ShiftDependence unknown() { return {Unknown, 0}; }
  bool isFree() const { return kind == Free; }
  bool operator==(const ShiftDependence &o) const {
    return kind == o.kind && a == o.a;
  }
};

/// The dependence of every value of `fn`'s body (one block, decomposed) on
/// a shift of the row maximum `max`.
llvm::DenseMap<mlir::Value, ShiftDependence>
shiftDependences(ReduceOp max, mlir::func::FuncOp fn);

/// True when the first `numResults` operands of `fn`'s return (all of them
/// when negative) are the same whatever constant is added to the row
/// maximum `max` (softmax's: exp(s − m) / Σ exp(s − m) and lse = m + log Σ
/// exp(s − m) do not depend on m).
bool isShiftInvariant(ReduceOp max, mlir::func::FuncOp fn,
                      int64_t numResults = -1);

} // namespace attn

#endif // ATTN_PASSES_SHIFTDEPENDENCE_H
