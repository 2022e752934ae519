//===- CascadeUtils.cpp - queries on cascade ops --------------------------===//

#include "CascadeUtils.h"
#include "attn/Dialect/KernelAttrs.h"
#include "attn/Dialect/VariantSignature.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;
using namespace attn;

void attn::hoistInvariantOps(ArrayRef<Operation *> ops) {
  if (ops.empty())
    return;
  llvm::SmallPtrSet<Operation *, 16> inSet(ops.begin(), ops.end());
  Operation *first = ops.front();
  for (Operation &op : llvm::make_early_inc_range(llvm::make_range(
           first->getIterator(), ops.back()->getIterator())))
    if (!inSet.contains(&op) && isPure(&op) &&
        llvm::all_of(op.getOperands(), [&](mlir::Value v) {
          Operation *def = v.getDefiningOp();
          return !def || def->getBlock() != first->getBlock() ||
                 def->isBeforeInBlock(first);
        }))
      op.moveBefore(first);
}

std::string attn::sizeKey(mlir::Value value, int64_t dim) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || dim < 0 || dim >= type.getRank())
    return "";
  if (!type.isDynamicDim(dim))
    return "=" + std::to_string(type.getDimSize(dim));
  if (auto expand = value.getDefiningOp<tensor::ExpandShapeOp>()) {
    for (auto [source, group] :
         llvm::enumerate(expand.getReassociationIndices()))
      if (group.size() == 1 && group[0] == dim)
        return sizeKey(expand.getSrc(), source);
    return "";
  }
  auto arg = dyn_cast<BlockArgument>(value);
  auto func = arg ? dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp())
                  : func::FuncOp();
  if (!func || arg.getOwner() != &func.getBody().front())
    return "";
  unsigned index = arg.getArgNumber();
  if (auto dims = func.getArgAttrOfType<ArrayAttr>(index, "attn.dims")) {
    if (dim >= static_cast<int64_t>(dims.size()))
      return "";
    if (auto sym = dyn_cast<StringAttr>(dims[dim]))
      return "$" + sym.getValue().str();
    if (auto size = dyn_cast<IntegerAttr>(dims[dim]))
      return "=" + std::to_string(size.getInt());
    return "";
  }
  // q, k and v by position.
  if (index < 3 && type.getRank() == 4 && dim < 3)
    return std::string("$") + kQkvDimSymbols[index][dim];
  return "";
}

bool attn::letterSizesAgree(ArrayRef<Operation *> ops, char letter,
                            std::string &why) {
  llvm::SmallPtrSet<Operation *, 16> inSet(ops.begin(), ops.end());
  std::optional<std::pair<mlir::Value, int64_t>> first;
  std::string firstKey;
  for (Operation *op : ops) {
    Equation eq = equationOf(op);
    for (auto [term, value] : llvm::zip(eq.inputs, inputsOf(op))) {
      if (inSet.contains(value.getDefiningOp()) || !hasLetter(term, letter))
        continue;
      int64_t dim = term.find(letter);
      if (!first) {
        first = {value, dim};
        firstKey = sizeKey(value, dim);
        continue;
      }
      if (first->first == value && first->second == dim)
        continue;
      std::string key = sizeKey(value, dim);
      if (!key.empty() && key == firstKey)
        continue;
      auto describe = [](mlir::Value v, int64_t d, const std::string &k) {
        std::string text;
        llvm::raw_string_ostream os(text);
        if (auto arg = dyn_cast<BlockArgument>(v))
          os << "argument " << arg.getArgNumber();
        else
          os << "'" << v.getDefiningOp()->getName() << "' result";
        os << " (dimension " << d << ": "
           << (k.empty() ? std::string("unknown") : k.substr(1)) << ")";
        return text;
      };
      why = "letter '" + std::string(1, letter) + "' is indexed by " +
            describe(first->first, first->second, firstKey) + " and " +
            describe(value, dim, key) +
            ", whose sizes may differ (bind them to the same size symbol "
            "with attn.dims)";
      return false;
    }
  }
  return true;
}

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

void attn::eraseDeadOps(Block &block) {
  Operation *op = block.empty() ? nullptr : &block.back();
  while (op) {
    Operation *prev = op->getPrevNode();
    if (!op->hasTrait<OpTrait::IsTerminator>() && op->use_empty() &&
        isMemoryEffectFree(op))
      op->erase();
    op = prev;
  }
}

func::FuncOp attn::createGradientsFunction(func::FuncOp backward,
                                           TypeRange types,
                                           ArrayRef<DictionaryAttr> argAttrs) {
  // Created detached, then inserted after the backward under a name the
  // symbol table makes unique.
  MLIRContext *ctx = backward.getContext();
  OpBuilder b(ctx);
  StringRef base = backward.getName();
  base.consume_back("_backward");
  auto fn = func::FuncOp::create(
      b, backward.getLoc(), (base + "_gradients").str(),
      FunctionType::get(ctx, types, backward.getResultTypes()));
  SymbolTable(backward->getParentOfType<ModuleOp>())
      .insert(fn, std::next(Block::iterator(backward)));
  fn.addEntryBlock();
  fn.setAllArgAttrs(argAttrs);
  setGradientsOf(fn, getGradientsOf(backward));
  return fn;
}
