//===- CascadeUtils.cpp - queries on cascade ops --------------------------===//

#include "CascadeUtils.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;
using namespace attn;

OpFoldResult attn::letterSizeFromInputs(OpBuilder &b, ArrayRef<Operation *> ops,
                                        char letter) {
  llvm::SmallPtrSet<Operation *, 16> inSet(ops.begin(), ops.end());
  for (Operation *op : ops) {
    Equation eq = equationOf(op);
    for (auto [term, value] : llvm::zip(eq.inputs, inputsOf(op))) {
      if (inSet.contains(value.getDefiningOp()) || !hasLetter(term, letter))
        continue;
      return tensor::getMixedSize(b, value.getLoc(), value, term.find(letter));
    }
  }
  return {};
}

MapOp attn::appendCaptures(OpBuilder &b, MapOp map, ValueRange extra,
                           SmallVectorImpl<mlir::Value> &newArgs) {
  SmallVector<mlir::Value> captures(map.getCaptures());
  captures.append(extra.begin(), extra.end());
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(map);
  auto wider = MapOp::create(b, map.getLoc(), map.getResult().getType(),
                             map.getEquationAttr(), map.getInputs(), captures);
  wider.getBody().takeBody(map.getBody());
  for (mlir::Value v : extra)
    newArgs.push_back(
        wider.getBody().front().addArgument(v.getType(), map.getLoc()));
  map.getResult().replaceAllUsesWith(wider.getResult());
  map->erase();
  return wider;
}

MapOp attn::buildMap(OpBuilder &b, Location loc, StringRef eq,
                     ValueRange inputs, ValueRange captures,
                     RankedTensorType type, MapBodyFn fill) {
  auto map = MapOp::create(b, loc, type, EinsumAttr::fromText(b.getContext(), eq), inputs,
                           captures);
  Block *body = new Block();
  map.getBody().push_back(body);
  unsigned rank = type.getRank();
  for (unsigned d = 0; d < rank; ++d)
    body->addArgument(b.getIndexType(), loc);
  for (mlir::Value in : inputs)
    body->addArgument(cast<RankedTensorType>(in.getType()).getElementType(),
                      loc);
  for (mlir::Value c : captures)
    body->addArgument(c.getType(), loc);
  OpBuilder bb = OpBuilder::atBlockEnd(body);
  auto args = body->getArguments();
  mlir::Value result =
      fill(bb, loc, args.take_front(rank), args.slice(rank, inputs.size()),
           args.drop_front(rank + inputs.size()));
  YieldOp::create(bb, loc, result);
  return map;
}

MapOp attn::appendInput(MapOp map, Value extra, StringRef term, Value &arg) {
  Equation eq = equationOf(map);
  eq.inputs.push_back(term.str());
  SmallVector<Value> inputs(map.getInputs());
  inputs.push_back(extra);
  OpBuilder b(map);
  auto wider = MapOp::create(b, map.getLoc(), map.getResult().getType(),
                             EinsumAttr::fromText(b.getContext(), eq.str()),
                             inputs, map.getCaptures());
  wider.getBody().takeBody(map.getBody());
  Block &body = wider.getBody().front();
  unsigned position = map.getResult().getType().getRank() + inputs.size() - 1;
  arg = body.insertArgument(
      position, cast<RankedTensorType>(extra.getType()).getElementType(),
      map.getLoc());
  map.getResult().replaceAllUsesWith(wider.getResult());
  map->erase();
  return wider;
}
