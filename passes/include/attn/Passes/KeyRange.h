//===- KeyRange.h - per-Q-tile key range of a mask ----------------*- C++ -*-===//
//
// Emits, as index arithmetic, a union of ranges [lo, hi] of key indices
// containing every key that any row of a Q tile attends to (and, transposed,
// of the rows attending any key of a KV tile, for a backward) — the
// closed-form KV loop bounds of band masks (causal, windows, prefix-LM,
// chunks, neighborhoods) and of unions of bands (a window and sink tokens,
// block diffusion's three parts), so a kernel visits only the KV tiles of
// its bands without metadata.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PASSES_KEYRANGE_H
#define ATTN_PASSES_KEYRANGE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/SmallVector.h"

namespace attn {

/// The inclusive range of attended keys (empty when lo > hi).
struct KeyRange {
  mlir::Value lo, hi;
};

/// The most intervals a key set keeps (more are merged into a hull).
constexpr unsigned kMaxKeyIntervals = 4;

/// A union of key ranges (they may overlap, in any order; an empty one has
/// lo > hi). Never empty of parts.
struct KeySet {
  llvm::SmallVector<KeyRange, kMaxKeyIntervals> parts;
};

/// Emits at `b` the keys of `mask` (a function (b, h, i, j, nq, nk,
/// captures…) -> i1) over the rows [i0, iLast] of one (b, h) slice as a
/// union of at most kMaxKeyIntervals ranges. Sound: every attended key lies
/// in one of them; where the mask's arithmetic is not understood, one range
/// is the whole [0, nk - 1].
KeySet emitKeySet(mlir::OpBuilder &b, mlir::Location loc,
                  mlir::func::FuncOp mask, mlir::Value batch,
                  mlir::Value head, mlir::Value i0, mlir::Value iLast,
                  mlir::Value nq, mlir::Value nk, mlir::ValueRange captures);

/// The transposed question, for the KV-parallel loops of a backward: emits
/// at `b` the rows of `mask` that attend any key of [j0, jLast] of one
/// (b, h) slice, as a union of at most kMaxKeyIntervals ranges of row
/// indices. Sound: every row attending a key of the tile lies in one of
/// them; where the arithmetic is not understood, one range is [0, nq - 1].
/// It is emitKeySet on the mask with rows and keys (and nq, nk) exchanged.
KeySet emitQuerySet(mlir::OpBuilder &b, mlir::Location loc,
                    mlir::func::FuncOp mask, mlir::Value batch,
                    mlir::Value head, mlir::Value j0, mlir::Value jLast,
                    mlir::Value nq, mlir::Value nk, mlir::ValueRange captures);

/// The hull of emitKeySet's ranges: emits at `b` the key range of `mask` (a
/// function (b, h, i, j, nq, nk, captures…) -> i1) over the rows
/// [i0, iLast] of one (b, h) slice. Sound:
/// every attended key lies in the range; where the mask's arithmetic is not
/// understood the range is the whole [0, nk - 1].
KeyRange emitKeyRange(mlir::OpBuilder &b, mlir::Location loc,
                      mlir::func::FuncOp mask, mlir::Value batch,
                      mlir::Value head, mlir::Value i0, mlir::Value iLast,
                      mlir::Value nq, mlir::Value nk,
                      mlir::ValueRange captures);

/// The key offset of the tile of KV loop `loop`: the op marked attn.kv_offset's (isKvOffset)
/// result, else the induction variable itself.
mlir::Value kvOffsetOf(mlir::scf::ForOp loop);

/// The key offset of the tile at counter `t` of `loop`, emitted at `b`: the
/// attn.kv_offset op and the arithmetic it reads, cloned with the induction
/// variable bound to `t`; else `t` itself.
mlir::Value kvOffsetAt(mlir::OpBuilder &b, mlir::scf::ForOp loop,
                       mlir::Value t);

} // namespace attn

#endif // ATTN_PASSES_KEYRANGE_H
