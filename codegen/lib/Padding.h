//===- Padding.h - what a map yields at a ragged tile's padding -*- C++ -*-===//
//
// On the tensor-core path a tile over (row, key) whose keys run past Nk holds
// padding in its last columns. Reductions over the keys and the P operand of
// P·V must see their identity there (-inf for max, 0 for a sum or a product
// with the zero-filled V). The emitter can force a map's padding to a
// constant with a per-element select, or guard every consumer; better, it
// proves what a map yields at the padding from what its inputs hold there:
// exp2(s - m) with s = -inf is 0 for every row maximum m, so the softmax
// numerator needs neither a select nor guarded consumers.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CODEGEN_PADDING_H
#define ATTN_CODEGEN_PADDING_H

#include "attn/Dialect/AttnDialect.h"

#include "llvm/ADT/ArrayRef.h"

namespace attn::codegen::detail {

/// What every padded column of a tile holds.
enum class Pad { Unknown, Zero, NegInf };

/// The padding a reduction of `kind` over the columns ignores (its identity):
/// -inf for max, 0 for add, Unknown for the others.
Pad identityPad(ReduceKind kind);

/// The value `map` yields at padded columns, given what each input holds
/// there (`inputPads[k]`; an input without the column letter is a per-row
/// value and passes std::nullopt). Proven by interval arithmetic over the
/// region, with per-row values and float captures unknown. A NaN per-row
/// value is allowed to make the padding NaN only where it makes every element
/// of the row NaN (then no padding changes the row's result). Unknown when
/// it cannot be shown.
Pad padOfMap(MapOp map, llvm::ArrayRef<std::optional<Pad>> inputPads);

} // namespace attn::codegen::detail

#endif // ATTN_CODEGEN_PADDING_H
