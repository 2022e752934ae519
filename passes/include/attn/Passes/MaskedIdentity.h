//===- MaskedIdentity.h - what a masked element adds to a reduction -*- C++ -*-===//
//
// Whether a reduction of a cascade (the derived backward's dQ, dK, dV, row
// sums and maxima) may skip the elements a mask removes: proven by an
// abstract evaluation of the element-wise chain feeding it at such an
// element, over IEEE value classes, so that a kernel can leave out the tiles
// the mask's key ranges exclude without changing a single bit of the result.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PASSES_MASKEDIDENTITY_H
#define ATTN_PASSES_MASKEDIDENTITY_H

#include "mlir/IR/Operation.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace attn {

/// Proves that at every element where the mask function is false,
/// each contribution of `reduction` (an attn.reduce, or an attn.contract
/// combining by product) to its accumulator is its fold's identity: 0 for
/// a sum (a product with an exact 0 factor), -inf for a maximum. The
/// element-wise values `perElement` accepts (those varying along both the
/// rows and the keys of the sweep) are evaluated through their attn.map
/// bodies; an `arith.select` whose `attn.mask` names a function `isMask`
/// accepts (the mask, or one computing the same) takes its false operand
/// there. Every other value (row state, cotangents, head-dimension
/// products, captures) is free: each is tried in each IEEE class (-inf,
/// negative, zero, positive, +inf), consistently where it is read twice.
/// Integers are tracked by sign; an index capture `isPositive` accepts is
/// at least 1 (the size of a dimension the element lies in: sigmoid's
/// -log(nk) is finite).
/// NaN is not among them: a masked key does not contribute, whatever a NaN
/// elsewhere in its row holds (README, "Non-finite values"), as the forward
/// kernels already treat it. K, V and other leaves multiplying an exact zero
/// are not looked at, for the same reason.
/// Returns std::nullopt when proven, else why not.
std::optional<std::string>
whyNotIdentityWhereMasked(mlir::Operation *reduction,
                          llvm::function_ref<bool(llvm::StringRef)> isMask,
                          llvm::function_ref<bool(mlir::Value)> perElement,
                          llvm::function_ref<bool(mlir::Value)> isPositive);

} // namespace attn

#endif // ATTN_PASSES_MASKEDIDENTITY_H
