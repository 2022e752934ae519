//===- KernelAttrs.cpp - accessors of the kernel IR's annotations ---------===//

#include "attn/Dialect/KernelAttrs.h"

using namespace mlir;
using namespace attn;

/// The dialect instance that owns the attribute names.
static AttnDialect *dialectOf(Operation *op) {
  return op->getContext()->getOrLoadDialect<AttnDialect>();
}

GridAttr attn::getGrid(Operation *op) {
  return dialectOf(op)->getGridAttrHelper().getAttr(op);
}

void attn::setGrid(Operation *op, char letter, GridRole role) {
  MLIRContext *ctx = op->getContext();
  dialectOf(op)->getGridAttrHelper().setAttr(
      op, GridAttr::get(ctx, StringAttr::get(ctx, std::string(1, letter)),
                        role));
}

char attn::gridLetter(Operation *op) {
  GridAttr grid = getGrid(op);
  return grid ? grid.getLetter().getValue()[0] : 0;
}

bool attn::isKvLoop(Operation *op) {
  return dialectOf(op)->getKvLoopAttrHelper().isAttrPresent(op);
}

void attn::setKvLoop(Operation *op) {
  dialectOf(op)->getKvLoopAttrHelper().setAttr(op,
                                               UnitAttr::get(op->getContext()));
}

std::optional<TileBranchKind> attn::getTileBranch(Operation *op) {
  if (TileBranchAttr attr = dialectOf(op)->getTileBranchAttrHelper().getAttr(op))
    return attr.getKind();
  return std::nullopt;
}

void attn::setTileBranch(Operation *op, TileBranchKind kind) {
  dialectOf(op)->getTileBranchAttrHelper().setAttr(
      op, TileBranchAttr::get(op->getContext(), kind));
}

ScheduleAttr attn::getSchedule(Operation *op) {
  return dialectOf(op)->getScheduleAttrHelper().getAttr(op);
}

void attn::setSchedule(Operation *op, ScheduleAttr schedule) {
  dialectOf(op)->getScheduleAttrHelper().setAttr(op, schedule);
}

FlatSymbolRefAttr attn::getSplitKvPlan(Operation *op) {
  return dialectOf(op)->getSplitKvPlanAttrHelper().getAttr(op);
}

void attn::setSplitKvPlan(Operation *op, llvm::StringRef plan) {
  dialectOf(op)->getSplitKvPlanAttrHelper().setAttr(
      op, FlatSymbolRefAttr::get(op->getContext(), plan));
}

FlatSymbolRefAttr attn::getMaskFunction(Operation *op) {
  return dialectOf(op)->getMaskAttrHelper().getAttr(op);
}

void attn::setMaskFunction(Operation *op, llvm::StringRef function) {
  dialectOf(op)->getMaskAttrHelper().setAttr(
      op, FlatSymbolRefAttr::get(op->getContext(), function));
}

std::optional<SparsityKind> attn::getSparsity(Operation *op) {
  if (SparsityKindAttr attr = dialectOf(op)->getSparsityAttrHelper().getAttr(op))
    return attr.getValue();
  return std::nullopt;
}

void attn::setSparsity(Operation *op, SparsityKind kind) {
  dialectOf(op)->getSparsityAttrHelper().setAttr(
      op, SparsityKindAttr::get(op->getContext(), kind));
}

TargetAttr attn::getTarget(Operation *module) {
  return dialectOf(module)->getTargetAttrHelper().getAttr(module);
}

void attn::setTarget(Operation *module, llvm::StringRef arch, KernelPath path) {
  dialectOf(module)->getTargetAttrHelper().setAttr(
      module, TargetAttr::get(module->getContext(), arch, path));
}

bool attn::isAccumulated(Operation *contract) {
  return dialectOf(contract)->getAccumulateAttrHelper().isAttrPresent(contract);
}

void attn::setAccumulated(Operation *contract) {
  dialectOf(contract)->getAccumulateAttrHelper().setAttr(
      contract, UnitAttr::get(contract->getContext()));
}

bool attn::isRangeScaled(Operation *contract) {
  return dialectOf(contract)->getRangeScaleAttrHelper().isAttrPresent(
      contract);
}

void attn::setRangeScaled(Operation *contract) {
  dialectOf(contract)->getRangeScaleAttrHelper().setAttr(
      contract, UnitAttr::get(contract->getContext()));
}

bool attn::isKvOffset(Operation *op) {
  return dialectOf(op)->getKvOffsetAttrHelper().isAttrPresent(op);
}

void attn::setKvOffset(Operation *op) {
  dialectOf(op)->getKvOffsetAttrHelper().setAttr(
      op, UnitAttr::get(op->getContext()));
}

void attn::clearKvOffset(Operation *op) {
  dialectOf(op)->getKvOffsetAttrHelper().removeAttr(op);
}

llvm::SmallVector<int64_t> attn::getGradientsOf(Operation *fn) {
  if (auto attr = dialectOf(fn)->getGradientsAttrHelper().getAttr(fn))
    return llvm::SmallVector<int64_t>(attr.asArrayRef());
  return {};
}

void attn::setGradientsOf(Operation *fn, llvm::ArrayRef<int64_t> args) {
  dialectOf(fn)->getGradientsAttrHelper().setAttr(
      fn, DenseI64ArrayAttr::get(fn->getContext(), args));
}

bool attn::isLanePartial(Operation *reduce) {
  return dialectOf(reduce)->getLanePartialAttrHelper().isAttrPresent(reduce);
}

void attn::setLanePartial(Operation *reduce) {
  dialectOf(reduce)->getLanePartialAttrHelper().setAttr(
      reduce, UnitAttr::get(reduce->getContext()));
}

llvm::SmallVector<int64_t> attn::getLanePartialResults(Operation *loop) {
  if (auto attr = dialectOf(loop)->getLanePartialResultsAttrHelper().getAttr(loop))
    return llvm::SmallVector<int64_t>(attr.asArrayRef());
  return {};
}

void attn::setLanePartialResults(Operation *loop,
                                 llvm::ArrayRef<int64_t> positions) {
  dialectOf(loop)->getLanePartialResultsAttrHelper().setAttr(
      loop, DenseI64ArrayAttr::get(loop->getContext(), positions));
}
