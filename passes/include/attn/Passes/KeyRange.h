//===- KeyRange.h - per-Q-tile key range of a mask ----------------*- C++ -*-===//
//
// Emits, as index arithmetic, a range [lo, hi] of key indices containing
// every key that any row of a Q tile attends to — the closed-form KV loop
// bounds of band masks (causal, windows, prefix-LM, chunks, neighborhoods),
// so a kernel visits only the KV tiles of its band without metadata.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PASSES_KEYRANGE_H
#define ATTN_PASSES_KEYRANGE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace attn {

/// The inclusive range of attended keys (empty when lo > hi).
struct KeyRange {
  mlir::Value lo, hi;
};

/// Emits at `b` the key range of `mask` (a function (b, h, i, j, nq, nk,
/// captures…) -> i1) over the rows [i0, iLast] of one (b, h) slice. Sound:
/// every attended key lies in the range; where the mask's arithmetic is not
/// understood the range is the whole [0, nk - 1].
KeyRange emitKeyRange(mlir::OpBuilder &b, mlir::Location loc,
                      mlir::func::FuncOp mask, mlir::Value batch,
                      mlir::Value head, mlir::Value i0, mlir::Value iLast,
                      mlir::Value nq, mlir::Value nk,
                      mlir::ValueRange captures);

} // namespace attn

#endif // ATTN_PASSES_KEYRANGE_H
