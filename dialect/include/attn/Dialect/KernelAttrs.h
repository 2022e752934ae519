//===- KernelAttrs.h - accessors of the kernel IR's annotations -*- C++ -*-===//
//
// Level 3 (kernel IR) is upstream scf/tensor ops plus the cascade ops, with
// attn's meaning carried by discardable attributes that the dialect defines
// once in ODS (AttnDialect.td's discardableAttrs) and verifies
// (AttnDialect::verifyOperationAttribute). These accessors are the only way
// the passes, the interpreter and the emitter read or write them: no
// attribute name is spelled anywhere else.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_KERNELATTRS_H
#define ATTN_DIALECT_KERNELATTRS_H

#include "attn/Dialect/AttnDialect.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Operation.h"

namespace attn {

/// The grid dimension an scf.for stands for (`attn.grid`), or null.
GridAttr getGrid(mlir::Operation *op);
/// Marks `op` (an scf.for) as the grid dimension of `letter` with `role`.
void setGrid(mlir::Operation *op, char letter, GridRole role);
/// The index letter of a grid loop; 0 when `op` is none.
char gridLetter(mlir::Operation *op);

/// True for the KV loop of the online rewrite (`attn.kv_loop`).
bool isKvLoop(mlir::Operation *op);
void setKvLoop(mlir::Operation *op);

/// The kind of tile branch an scf.if is (`attn.tile_branch`), if any.
std::optional<TileBranchKind> getTileBranch(mlir::Operation *op);
void setTileBranch(mlir::Operation *op, TileBranchKind kind);

/// The launch schedule on a kernel's outermost grid loop (`attn.schedule`),
/// or null.
ScheduleAttr getSchedule(mlir::Operation *op);
void setSchedule(mlir::Operation *op, ScheduleAttr schedule);

/// The split-KV plan of a variant's function (`attn.split_kv_plan`), or null.
mlir::FlatSymbolRefAttr getSplitKvPlan(mlir::Operation *op);
void setSplitKvPlan(mlir::Operation *op, llvm::StringRef plan);

/// The private mask function a masking arith.select applies (`attn.mask`),
/// or null.
mlir::FlatSymbolRefAttr getMaskFunction(mlir::Operation *op);
void setMaskFunction(mlir::Operation *op, llvm::StringRef function);

/// What -attn-sparsify found out about an attention op's mask
/// (`attn.sparsity`), if it ran.
std::optional<SparsityKind> getSparsity(mlir::Operation *op);
void setSparsity(mlir::Operation *op, SparsityKind kind);

/// The code-generation target of a module (`attn.target`), or null.
TargetAttr getTarget(mlir::Operation *module);
void setTarget(mlir::Operation *module, llvm::StringRef arch, KernelPath path);

/// A contraction the tensor-core kernel accumulates onto its consumer map's
/// tile (`attn.accumulate`).
bool isAccumulated(mlir::Operation *contract);
void setAccumulated(mlir::Operation *contract);

/// A contraction whose f16 row operand is range-scaled per row
/// (`attn.range_scale`).
bool isRangeScaled(mlir::Operation *contract);
void setRangeScaled(mlir::Operation *contract);

/// The op of a KV loop's body that computes its tile's key offset from the
/// loop's counter, when the loop counts the tiles of a union of key ranges
/// (`attn.kv_offset`, set by -attn-fuse).
bool isKvOffset(mlir::Operation *op);
void setKvOffset(mlir::Operation *op);
void clearKvOffset(mlir::Operation *op);

/// A row-sum reduction of a tensor-core KV loop that each lane of a quad
/// leaves partial (`attn.lane_partial`, set by -attn-defer-row-sums).
bool isLanePartial(mlir::Operation *reduce);
void setLanePartial(mlir::Operation *reduce);

/// The results of a KV loop that hold per-lane partial sums, completed
/// across the quad after the loop (`attn.lane_partial_results`).
llvm::SmallVector<int64_t> getLanePartialResults(mlir::Operation *loop);
void setLanePartialResults(mlir::Operation *loop,
                           llvm::ArrayRef<int64_t> positions);

/// A backward function's results: the index of the argument each is the
/// gradient of (`attn.gradients`, set by -attn-derive-backward). Empty when
/// `fn` is not a backward.
llvm::SmallVector<int64_t> getGradientsOf(mlir::Operation *fn);
void setGradientsOf(mlir::Operation *fn, llvm::ArrayRef<int64_t> args);

} // namespace attn

#endif // ATTN_DIALECT_KERNELATTRS_H
