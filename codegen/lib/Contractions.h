//===- Contractions.h - how the tensor-core path treats a contraction -*- C++ -*-===//
//
// Private to codegen/lib: the analyses behind -attn-mark-accumulate, which
// records their answers in the kernel IR (attn.accumulate,
// attn.range_scale) for the tensor-core printer.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CODEGEN_LIB_CONTRACTIONS_H
#define ATTN_CODEGEN_LIB_CONTRACTIONS_H

#include "attn/Dialect/AttnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <optional>

namespace attn::codegen::detail {

/// The operand of a two-input contraction over the query-row letter.
mlir::Value rowOperand(ContractOp op, char rowLetter);

/// Whether the output columns of a contraction with equation `eq` are the
/// columns of its operand without the query-row letter (O of P·V, whose
/// columns are V's), not that operand's rows (S of Q·Kᵀ): the tiles
/// col_groups warps split.
bool keepsOperandColumns(const Equation &eq, char rowLetter);

/// Whether the row operand of `op` (f16 kernels only) must be range-scaled
/// per row before it is rounded for the mma: it is computed in f32 and not
/// relative to a running maximum of its own input.
bool needsRangeScale(ContractOp op, char rowLetter);

/// The map that consumes `op` as `yield x + c`, c being the contraction's
/// element, so that the contraction can accumulate onto x in the map's own
/// tile (the mma's C operand); null when there is none (or when a
/// range-scaled contraction's x cannot be held in scaled units).
MapOp accumulatingMap(ContractOp op, char rowLetter);

/// For a range-scaled `op` accumulating onto `map` in a KV loop: the index of
/// the loop result that holds the accumulator (which is then kept in the
/// row's scaled units), when the map's other term is linear in it.
std::optional<unsigned> rangeScaledAccumulator(MapOp map, ContractOp op);

} // namespace attn::codegen::detail

#endif // ATTN_CODEGEN_LIB_CONTRACTIONS_H
