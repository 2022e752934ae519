//===- Cascade.cpp - what the einsum ops of a cascade have in common ------===//

#include "attn/Dialect/Cascade.h"

using namespace mlir;
using namespace attn;

Equation attn::equationOf(Operation *op) {
  if (auto c = dyn_cast<ContractOp>(op))
    return c.getEquation().getValue();
  if (auto m = dyn_cast<MapOp>(op))
    return m.getEquation().getValue();
  return cast<ReduceOp>(op).getEquation().getValue();
}

OperandRange attn::inputsOf(Operation *op) {
  if (auto c = dyn_cast<ContractOp>(op))
    return c.getInputs();
  if (auto m = dyn_cast<MapOp>(op))
    return m.getInputs();
  return cast<ReduceOp>(op)->getOperands();
}

std::optional<std::string> attn::termOfUse(OpOperand &use) {
  Operation *user = use.getOwner();
  if (!isCascadeOp(user))
    return std::nullopt;
  OperandRange inputs = inputsOf(user);
  unsigned k = use.getOperandNumber(), begin = inputs.getBeginOperandIndex();
  if (k < begin || k >= begin + inputs.size())
    return std::nullopt;
  return equationOf(user).inputs[k - begin];
}
