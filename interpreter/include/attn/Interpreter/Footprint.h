//===- Footprint.h - the host memory the interpreter will use ---*- C++ -*-===//
//
// An upper bound on the memory runFunction holds at its peak, derived from
// what it allocates for the IR at hand and the argument shapes, before it
// runs: attn-run refuses a run whose reference would not fit (the decomposed
// cascade of a 20,000-key softmax holds score tensors of 8 x 20,000^2
// doubles, 23.8 GiB each) instead of dying of `LLVM ERROR: out of memory`.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_INTERPRETER_FOOTPRINT_H
#define ATTN_INTERPRETER_FOOTPRINT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attn::interp {

/// What the interpreter holds at its peak running a function.
struct Footprint {
  /// Bytes, an upper bound (saturating).
  uint64_t bytes = 0;
  /// The largest single value it holds, described ("'attn.contract' at
  /// f.mlir:7:10, [1, 8, 20000, 20000]"), and its bytes.
  std::string largest;
  uint64_t largestBytes = 0;
};

/// The memory runFunction(func, args) will hold at its peak, for arguments
/// of `argShapes` (one per function argument; empty for a scalar). Every
/// tensor value is held as float64 until the function returns; it counts
/// each one at its largest possible shape (sizes computed from the IR's
/// index arithmetic as intervals, loop bodies once), the copies the
/// interpreter makes of loop-carried values, slices and results, and the
/// per-row scratch of Level 1. A size the IR computes from data it cannot
/// see (a value read from a capture) is taken as the largest argument
/// dimension.
Footprint interpreterFootprint(mlir::func::FuncOp func,
                               const std::vector<std::vector<int64_t>> &argShapes);

} // namespace attn::interp

#endif // ATTN_INTERPRETER_FOOTPRINT_H
