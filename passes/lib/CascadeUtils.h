//===- CascadeUtils.h - queries on cascade ops (internal) ---------*- C++ -*-===//
//
// Small helpers shared by the passes that restructure einsum cascades
// (-attn-online, -attn-tile, -attn-fuse).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PASSES_CASCADEUTILS_H
#define ATTN_PASSES_CASCADEUTILS_H

#include "attn/Dialect/Cascade.h"

namespace attn {

/// True when `term` contains `letter`.
inline bool hasLetter(const std::string &term, char letter) {
  return term.find(letter) != std::string::npos;
}

/// The size of `letter`, read from the first input of the cascade ops in
/// `ops` that is not produced by one of them and is indexed by the letter
/// (a constant when static, else a tensor.dim created at `b`'s insertion
/// point). Returns null if no such input exists.
mlir::OpFoldResult letterSizeFromInputs(mlir::OpBuilder &b,
                                        llvm::ArrayRef<mlir::Operation *> ops,
                                        char letter);

/// Fills the body of a new attn.map: receives the index arguments, the input
/// elements and the captures, returns the element to yield.
using MapBodyFn = llvm::function_ref<mlir::Value(
    mlir::OpBuilder &, mlir::Location, mlir::ValueRange indices,
    mlir::ValueRange inputs, mlir::ValueRange captures)>;

/// Creates an attn.map with equation `eq` over `inputs` and `captures`,
/// result `type`, and the body built by `fill`.
MapOp buildMap(mlir::OpBuilder &b, mlir::Location loc, llvm::StringRef eq,
               mlir::ValueRange inputs, mlir::ValueRange captures,
               mlir::RankedTensorType type, MapBodyFn fill);

/// Rebuilds `map` with `extra` (indexed by `term`) appended to its inputs;
/// returns the new map (the old one is erased) and, in `arg`, the block
/// argument added for it.
MapOp appendInput(MapOp map, mlir::Value extra, llvm::StringRef term,
                  mlir::Value &arg);

/// Clones `map` with `extra` appended to its captures, and returns the new
/// map (the old one is erased) and the block arguments added for them.
MapOp appendCaptures(mlir::OpBuilder &b, MapOp map, mlir::ValueRange extra,
                     llvm::SmallVectorImpl<mlir::Value> &newArgs);

} // namespace attn

#endif // ATTN_PASSES_CASCADEUTILS_H
