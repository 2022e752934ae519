//===- Interpreter.h - the float64 reference interpreter ----------*- C++ -*-===//
//
// Executes attn programs on host buffers in float64: Level 1 (attn.attention,
// computed directly from the formulas of the design), Level 2 (attn.contract,
// attn.map, attn.reduce, scf.for with iter_args) and the scalar bodies of
// score/mask/map regions (arith, math, tensor.extract/dim on captures). It is
// the oracle every pass and kernel is checked against. An op it cannot
// execute is reported by name, never guessed.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_INTERPRETER_INTERPRETER_H
#define ATTN_INTERPRETER_INTERPRETER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace attn::interp {

/// A host value: a row-major contiguous tensor of `shape`, or a scalar (empty
/// shape, one element). Elements are stored as double whatever the MLIR
/// element type; integer and index values are exact up to 2^53.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<double> data;

  /// A scalar value.
  static Tensor scalar(double v) { return Tensor{{}, {v}}; }
  /// A tensor of `shape` filled with `fill`.
  static Tensor filled(std::vector<int64_t> shape, double fill);
  /// Number of elements (1 for a scalar).
  int64_t numElements() const;
  /// Row-major linear offset of `index` (one entry per dimension).
  int64_t offset(const int64_t *index) const;
};

/// What the interpreter saw while running kernel IR: every attn.tile_class
/// it executed, by result. (Counts of the tiles a kernel visits and of those
/// that evaluate the mask, measured by running it.)
struct Counters {
  int64_t tilesEmpty = 0, tilesFull = 0, tilesPartial = 0;
};

/// The split count attn.kv_splits takes when a caller does not choose one.
inline constexpr int64_t kDefaultKvSplits = 4;

/// Runs `func` on `args` (one per function argument; tensor arguments must
/// have shapes compatible with their types) and returns its results. When
/// `counters` is given, it accumulates what the run did. `kvSplits` is the
/// value of attn.kv_splits (a split-KV plan's launch-time split count, ≥ 1).
llvm::Expected<std::vector<Tensor>>
runFunction(mlir::func::FuncOp func, llvm::ArrayRef<Tensor> args,
            Counters *counters = nullptr,
            int64_t kvSplits = kDefaultKvSplits);

/// `v` as an int64, defined for every double: truncated toward zero,
/// saturated at the int64 limits, NaN as 0. Integer values held in a Tensor
/// are converted with it, so that a value out of range is never undefined
/// behaviour (the inputs are checked to be exact integers beforehand:
/// checkIntegerValues in Inputs.h).
int64_t toInt64(double v);

/// Rounds `v` to the nearest value representable in `type` (f16, bf16, f32 or
/// f64; integers are left as they are).
double roundToType(double v, mlir::Type type);

} // namespace attn::interp

#endif // ATTN_INTERPRETER_INTERPRETER_H
