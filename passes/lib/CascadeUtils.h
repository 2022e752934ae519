//===- CascadeUtils.h - queries on cascade ops (internal) ---------*- C++ -*-===//
//
// Small helpers shared by the passes that restructure einsum cascades
// (-attn-online, -attn-tile, -attn-fuse).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PASSES_CASCADEUTILS_H
#define ATTN_PASSES_CASCADEUTILS_H

#include "attn/Dialect/Cascade.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

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

/// Moves the pure ops lying between `ops` (cascade ops of one block, in
/// order) that read only values defined before the first of them to just
/// before it, in order: the sizes attn-decompose reads for each attention
/// of a function with several, which would otherwise interleave the
/// cascades that one grid and one KV loop serve.
void hoistInvariantOps(llvm::ArrayRef<mlir::Operation *> ops);

/// What the compiler knows of dimension `dim` of `value`'s size: "=N" for a
/// static N, "$sym" for the size symbol (b, hq, hkv, nq, nk) the function's
/// signature binds it to (q, k, v by position, other arguments through
/// `attn.dims`, which the runtime and attn-run check at launch), traced
/// through tensor.expand_shape's 1:1 dimensions. Empty when unknown.
std::string sizeKey(mlir::Value value, int64_t dim);

/// Whether every input of `ops` produced outside them and indexed by
/// `letter` provably has the same size for it (one input, or equal
/// sizeKeys). Otherwise `why` names two inputs whose sizes may differ: a
/// loop over `letter` sized by one of them would read the other out of its
/// bounds or stop short.
bool letterSizesAgree(llvm::ArrayRef<mlir::Operation *> ops, char letter,
                      std::string &why);

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

/// The einsum term "abc…" of a tensor of `rank` (at most 26) dimensions.
inline std::string plainTerm(int64_t rank) {
  return std::string("abcdefghijklmnopqrstuvwxyz").substr(0, rank);
}

/// Erases, last to first, the ops of `block` whose results nothing reads
/// and that have no effect.
void eraseDeadOps(mlir::Block &block);

/// A new, empty `<name>_gradients(types…)` with `backward`'s results and
/// attn.gradients (`backward` is `<name>_backward`), inserted after it under
/// a name the symbol table makes unique, its entry block created and its
/// arguments given `argAttrs`.
mlir::func::FuncOp
createGradientsFunction(mlir::func::FuncOp backward, mlir::TypeRange types,
                        llvm::ArrayRef<mlir::DictionaryAttr> argAttrs);

} // namespace attn

#endif // ATTN_PASSES_CASCADEUTILS_H
