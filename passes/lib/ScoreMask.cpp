//===- ScoreMask.cpp - -attn-score-mask: -inf scores as a mask ------------===//
//
// Users write masks in the score region too: FlexAttention's score_mod
// idiom `where(q_idx >= kv_idx, score, -inf)`. For every normalizer whose
// weight of a -inf score is 0 (softmax, sigmoid, softplus) that is exactly a
// mask, but the mask analysis reads only the mask region, so such a variant
// used to visit every tile. This pass moves the condition over: the
// region's yielded `select(c, x, -inf)` becomes `x`, and `c` (index
// arithmetic and captures, not the score) is and-ed into the mask region,
// which is created when there is none.
//
//===----------------------------------------------------------------------===//

#include "attn/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace attn {
#define GEN_PASS_DEF_ATTNSCOREMASK
#include "attn/Passes/Passes.h.inc"
} // namespace attn

using namespace mlir;
using namespace attn;

namespace {

/// Whether `v` is the f32 constant -inf.
bool isNegInf(Value v) {
  auto c = v.getDefiningOp<arith::ConstantOp>();
  auto f = c ? dyn_cast<FloatAttr>(c.getValue()) : FloatAttr();
  return f && f.getValue().isInfinity() && f.getValue().isNegative();
}

/// The ops of `block` that `v` depends on, in block order, when none of
/// them reads `score` (and all are pure); else failure.
FailureOr<SmallVector<Operation *>> scoreFreeSlice(Block &block, Value v,
                                                   Value score) {
  llvm::SetVector<Operation *> slice;
  SmallVector<Value> work{v};
  while (!work.empty()) {
    Value x = work.pop_back_val();
    if (x == score)
      return failure();
    Operation *def = x.getDefiningOp();
    if (!def || def->getBlock() != &block || slice.contains(def))
      continue;
    if (def->getNumRegions() || !isPure(def))
      return failure();
    slice.insert(def);
    work.append(def->getOperands().begin(), def->getOperands().end());
  }
  SmallVector<Operation *> ordered;
  for (Operation &op : block)
    if (slice.contains(&op))
      ordered.push_back(&op);
  return ordered;
}

/// Moves the -inf guard of `op`'s score region into its mask region.
void moveGuard(AttentionOp op) {
  if (op.getNormalizer().getKind() == NormalizerKind::None ||
      op.getScore().empty())
    return;
  Block &score = op.getScore().front();
  Operation *yield = score.getTerminator();
  auto select = yield->getOperand(0).getDefiningOp<arith::SelectOp>();
  if (!select || select->getBlock() != &score)
    return;
  bool keepIfTrue = isNegInf(select.getFalseValue());
  if (!keepIfTrue && !isNegInf(select.getTrueValue()))
    return;
  Value cond = select.getCondition();
  FailureOr<SmallVector<Operation *>> slice =
      scoreFreeSlice(score, cond, score.getArgument(0));
  if (failed(slice))
    return;

  // The mask region: (b, h, i, j, nq, nk, captures...) = the score's
  // arguments after s.
  OpBuilder b(op.getContext());
  Location loc = select.getLoc();
  bool created = op.getMask().empty();
  if (created) {
    Block *mask = new Block();
    op.getMask().push_back(mask);
    for (BlockArgument arg : score.getArguments().drop_front())
      mask->addArgument(arg.getType(), arg.getLoc());
    b.setInsertionPointToEnd(mask);
    Value all = arith::ConstantIntOp::create(b, loc, 1, 1);
    YieldOp::create(b, loc, all);
  }
  Block &mask = op.getMask().front();
  Operation *maskYield = mask.getTerminator();
  b.setInsertionPoint(maskYield);
  IRMapping mapping;
  for (auto [from, to] :
       llvm::zip(score.getArguments().drop_front(), mask.getArguments()))
    mapping.map(from, to);
  for (Operation *inner : *slice)
    b.clone(*inner, mapping);
  Value attend = mapping.lookupOrDefault(cond);
  if (!keepIfTrue)
    attend = arith::XOrIOp::create(
        b, loc, attend, arith::ConstantIntOp::create(b, loc, 1, 1));
  Value previous = maskYield->getOperand(0);
  if (created) {
    maskYield->setOperand(0, attend);
    previous.getDefiningOp()->erase();
  } else {
    maskYield->setOperand(
        0, arith::AndIOp::create(b, loc, previous, attend).getResult());
  }

  // The score region yields the kept value; what only fed the guard goes.
  yield->setOperand(0, keepIfTrue ? select.getTrueValue()
                                  : select.getFalseValue());
  SmallVector<Operation *> body;
  for (Operation &inner : score.without_terminator())
    body.push_back(&inner);
  for (Operation *inner : llvm::reverse(body)) // users before their operands
    if (inner->use_empty() && isPure(inner))
      inner->erase();
  // A region left yielding the score itself is no score region.
  if (score.getOperations().size() == 1 &&
      yield->getOperand(0) == score.getArgument(0))
    op.getScore().getBlocks().clear();
}

struct AttnScoreMaskPass : attn::impl::AttnScoreMaskBase<AttnScoreMaskPass> {
  void runOnOperation() override {
    SmallVector<AttentionOp> ops;
    getOperation().walk([&](AttentionOp op) { ops.push_back(op); });
    for (AttentionOp op : ops)
      moveGuard(op);
  }
};

} // namespace
