//===- Cascade.h - what the einsum ops of a cascade have in common -*- C++ -*-===//
//
// attn.contract, attn.map and attn.reduce are the cascade's ops: each has an
// einsum equation and tensor inputs named by its terms. Passes and the
// emitter ask these questions of any of them.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_CASCADE_H
#define ATTN_DIALECT_CASCADE_H

#include "attn/Dialect/AttnDialect.h"
#include "attn/Dialect/Equation.h"

namespace attn {

/// True for attn.contract, attn.map and attn.reduce.
inline bool isCascadeOp(mlir::Operation *op) {
  return mlir::isa<ContractOp, MapOp, ReduceOp>(op);
}

/// The (verified) equation of a cascade op.
Equation equationOf(mlir::Operation *op);

/// The tensor inputs of a cascade op, in equation order.
mlir::OperandRange inputsOf(mlir::Operation *op);

/// The term under which a cascade op reads the operand `use`, or none when
/// the operand is not one of its tensor inputs (a map's capture).
std::optional<std::string> termOfUse(mlir::OpOperand &use);

} // namespace attn

#endif // ATTN_DIALECT_CASCADE_H
