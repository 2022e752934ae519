//===- IfConvert.cpp - -attn-if-convert: branches in regions to selects ---===//
//
// Score, mask and map regions may branch with scf.if; the rest of attn
// (mask analysis, key ranges, interpreter, emitter, derivative rules) reads
// straight-line code. Each scf.if becomes both of its branches, evaluated
// before it, and an arith.select per result: if-conversion, what a GPU
// compiler would do to a short branch anyway. An op that could trap or read
// out of bounds where its branch is not taken gets a safe operand there
// (regionops::speculationGuard), so the converted code is defined wherever
// the branching code was.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/RegionOps.h"
#include "attn/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

namespace attn {
#define GEN_PASS_DEF_ATTNIFCONVERT
#include "attn/Passes/Passes.h.inc"
} // namespace attn

using namespace mlir;
using namespace attn;
using regionops::SpeculationGuard;

/// True when `op` sits in the region of an attn op, through scf.ifs only.
static bool inAttnRegion(scf::IfOp op) {
  Operation *parent = op->getParentOp();
  while (isa_and_nonnull<scf::IfOp>(parent))
    parent = parent->getParentOp();
  return parent && isa_and_nonnull<AttnDialect>(parent->getDialect());
}

/// Whether operand `i` of `op` is a constant that is safe already: a
/// divisor other than 0 and -1, a shift amount below the width, an index
/// inside a static dimension.
static bool safeConstant(Operation *op, unsigned i, SpeculationGuard guard) {
  Value value = op->getOperand(i);
  APInt c;
  if (!matchPattern(value, m_ConstantInt(&c)))
    return false;
  switch (guard) {
  case SpeculationGuard::Divisor:
    return !c.isZero() && !c.isAllOnes();
  case SpeculationGuard::ShiftAmount:
    return c.ult(value.getType().isIndex()
                     ? 64
                     : value.getType().getIntOrFloatBitWidth());
  case SpeculationGuard::Indices: {
    auto type = cast<RankedTensorType>(op->getOperand(0).getType());
    // tensor.extract's index i reads dimension i - 1; tensor.dim's index
    // names a dimension of the rank.
    int64_t bound = isa<tensor::DimOp>(op) ? type.getRank()
                                           : type.getDimSize(i - 1);
    return !ShapedType::isDynamic(bound) && !c.isNegative() &&
           c.slt(bound);
  }
  default:
    return false;
  }
}

/// The value that is safe in place of an operand of type `type` for `guard`.
static Value safeValue(OpBuilder &b, Location loc, Type type,
                       SpeculationGuard guard) {
  if (guard == SpeculationGuard::FloatSource)
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, 0.0));
  int64_t value = guard == SpeculationGuard::Divisor ? 1 : 0;
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, value));
}

/// The operands of `op` that must be made safe where its branch is not
/// taken (none when they are safe constants already).
static SmallVector<unsigned> unsafeOperands(Operation *op) {
  SpeculationGuard guard = regionops::speculationGuard(op);
  SmallVector<unsigned> operands;
  switch (guard) {
  case SpeculationGuard::None:
    return {};
  case SpeculationGuard::Divisor:
  case SpeculationGuard::ShiftAmount:
    operands = {1};
    break;
  case SpeculationGuard::FloatSource:
    operands = {0};
    break;
  case SpeculationGuard::Indices:
    for (unsigned i = 1; i < op->getNumOperands(); ++i)
      operands.push_back(i);
    break;
  }
  llvm::erase_if(operands, [&](unsigned i) {
    return safeConstant(op, i, guard);
  });
  return operands;
}

/// Makes the clone `op` of an op from a branch taken when `taken` safe to
/// run where it is not: its unsafe operands become select(taken, x, safe).
static void guardOperands(OpBuilder &b, Operation *op, Value taken) {
  SpeculationGuard guard = regionops::speculationGuard(op);
  for (unsigned i : unsafeOperands(op)) {
    Value x = op->getOperand(i);
    Value safe = safeValue(b, op->getLoc(), x.getType(), guard);
    op->setOperand(i, arith::SelectOp::create(b, op->getLoc(), taken, x, safe));
  }
}

/// Clones the ops of `branch` (straight-line by now) before the if at `b`,
/// guarded by `taken`; returns what its scf.yield yields.
static SmallVector<Value> hoistBranch(OpBuilder &b, Block &branch,
                                      llvm::function_ref<Value()> taken) {
  IRMapping map;
  for (Operation &op : branch.without_terminator()) {
    Operation *clone = b.clone(op, map);
    if (unsafeOperands(clone).empty())
      continue;
    // The guards' selects go before the clone, which reads them.
    OpBuilder::InsertionGuard after(b);
    b.setInsertionPoint(clone);
    guardOperands(b, clone, taken());
  }
  SmallVector<Value> yielded;
  for (Value v : branch.getTerminator()->getOperands())
    yielded.push_back(map.lookupOrDefault(v));
  return yielded;
}

static void convertIf(scf::IfOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value cond = op.getCondition();
  SmallVector<Value> thenValues =
      hoistBranch(b, op.getThenRegion().front(), [&] { return cond; });
  SmallVector<Value> elseValues;
  if (!op.getElseRegion().empty()) {
    Block &branch = op.getElseRegion().front();
    // The else branch's guards read !cond, made once before its first op.
    Value notCond;
    if (llvm::any_of(branch.without_terminator(), [](Operation &o) {
          return !unsafeOperands(&o).empty();
        })) {
      Value one = arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
      notCond = arith::XOrIOp::create(b, loc, cond, one);
    }
    elseValues = hoistBranch(b, branch, [&] { return notCond; });
  }
  SmallVector<Value> results;
  for (auto [t, e] : llvm::zip_equal(thenValues, elseValues))
    results.push_back(t == e ? t : arith::SelectOp::create(b, loc, cond, t, e));
  op->replaceAllUsesWith(results);
  op->erase();
}

void attn::convertRegionIfs(Operation *root) {
  // Post-order: an inner if is straight-line code before its outer one is
  // hoisted (its guards then nest: select(outer, select(inner, x, s), s)).
  SmallVector<scf::IfOp> ifs;
  root->walk<WalkOrder::PostOrder>([&](scf::IfOp op) {
    if (inAttnRegion(op))
      ifs.push_back(op);
  });
  for (scf::IfOp op : ifs)
    convertIf(op);
}

namespace {
struct IfConvertPass : attn::impl::AttnIfConvertBase<IfConvertPass> {
  void runOnOperation() override { convertRegionIfs(getOperation()); }
};
} // namespace
