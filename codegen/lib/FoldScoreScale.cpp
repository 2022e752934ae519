//===- FoldScoreScale.cpp - -attn-fold-score-scale ------------------------===//
//
// A score map that only scales (x * c, c a positive constant: the variant's
// scale times log2(e) after -attn-lean-maps) costs a multiply per element
// and a tile of its own, read by the row max and by the numerator's
// exp2(s - m). Since c > 0 and rounding is monotone, max(x * c) is
// max(x) * c exactly (NaN and -inf included), so the max is taken over the
// unscaled tile and scaled per row, and each consuming map multiplies the
// element itself: exp2(x * c - m), which the CUDA compiler contracts into
// one FFMA. FlashAttention-2's softmax does the same (scale_log2 in the
// exp2 argument). Kernels whose score map does more (a mask, a bias, a score
// region) keep it.
//
//===----------------------------------------------------------------------===//

#include "CascadeUtils.h"
#include "attn/Codegen/Schedule.h"
#include "attn/Dialect/Cascade.h"
#include "attn/Dialect/KernelAttrs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"

namespace attn::codegen {
#define GEN_PASS_DEF_ATTNFOLDSCORESCALE
#include "attn/Codegen/Passes.h.inc"
} // namespace attn::codegen

using namespace mlir;
using namespace attn;

namespace {

/// The multiply of `map` when its body is exactly `x * c` of its one input,
/// c a positive finite constant (either operand order), with that constant.
std::optional<std::pair<arith::MulFOp, Value>> positiveScale(MapOp map) {
  // Captures may be there (the mask's, unused once the tile is full): the
  // body below reads none of them.
  if (map.getInputs().size() != 1)
    return std::nullopt;
  Equation eq = equationOf(map);
  if (eq.inputs[0] != eq.output)
    return std::nullopt;
  Block &body = map.getBody().front();
  Value x = body.getArgument(eq.output.size());
  auto mul = body.getTerminator()->getOperand(0).getDefiningOp<arith::MulFOp>();
  if (!mul)
    return std::nullopt;
  for (Operation &op : body)
    if (&op != mul && &op != body.getTerminator() &&
        !isa<arith::ConstantOp>(op))
      return std::nullopt;
  for (unsigned s = 0; s < 2; ++s) {
    FloatAttr c;
    if (mul->getOperand(1 - s) != x ||
        !matchPattern(mul->getOperand(s), m_Constant(&c)))
      continue;
    const APFloat &v = c.getValue();
    if (v.isFinite() && !v.isZero() && !v.isNegative())
      return std::make_pair(mul, mul->getOperand(s));
  }
  return std::nullopt;
}

/// Folds `map` (x * c) into its consumers when they are max reductions and
/// maps, at least one of each kind.
void foldInto(MapOp map) {
  auto scale = positiveScale(map);
  if (!scale)
    return;
  bool maxUser = false, mapUser = false;
  for (Operation *user : map.getResult().getUsers()) {
    if (auto reduce = dyn_cast<ReduceOp>(user);
        reduce && reduce.getKind() == ReduceKind::Max)
      maxUser = true;
    else if (isa<MapOp>(user))
      mapUser = true;
    else
      return;
  }
  if (!maxUser || !mapUser)
    return;
  auto [mul, constant] = *scale;
  FloatAttr c;
  matchPattern(constant, m_Constant(&c));
  Value unscaled = map.getInputs()[0];
  arith::FastMathFlags flags = mul.getFastmath();
  for (Operation *user : llvm::to_vector(map.getResult().getUsers())) {
    if (auto reduce = dyn_cast<ReduceOp>(user)) {
      // max(x * c) = max(x) * c, per row.
      OpBuilder b(reduce);
      reduce.getInputMutable().assign(unscaled);
      b.setInsertionPointAfter(reduce);
      std::string term = equationOf(reduce).output;
      MapOp rowScale = buildMap(
          b, reduce.getLoc(), term + "->" + term, reduce.getResult(), {},
          cast<RankedTensorType>(reduce.getResult().getType()),
          [&](OpBuilder &bb, Location loc, ValueRange, ValueRange m,
              ValueRange) -> Value {
            Value k = arith::ConstantOp::create(bb, loc, c);
            return arith::MulFOp::create(bb, loc, m[0], k, flags);
          });
      reduce.getResult().replaceAllUsesExcept(rowScale.getResult(),
                                              rowScale);
      continue;
    }
    // The consumer scales the element itself.
    auto consumer = cast<MapOp>(user);
    Block &body = consumer.getBody().front();
    unsigned rank = equationOf(consumer).output.size();
    OpBuilder b = OpBuilder::atBlockBegin(&body);
    Value k = arith::ConstantOp::create(b, mul.getLoc(), c);
    for (OpOperand &in : consumer.getInputsMutable()) {
      if (in.get() != map.getResult())
        continue;
      BlockArgument arg = body.getArgument(rank + in.getOperandNumber() -
                                           consumer.getInputs().getBeginOperandIndex());
      auto scaled = arith::MulFOp::create(b, mul.getLoc(), arg, k, flags);
      arg.replaceAllUsesExcept(scaled.getResult(), scaled);
      in.set(unscaled);
    }
  }
  map->erase();
}

} // namespace

void attn::codegen::foldScoreScale(func::FuncOp func) {
  ScheduleAttr schedule = decidedSchedule(func);
  if (!schedule || schedule.getPath() != KernelPath::Mma)
    return;
  for (scf::ForOp loop : codegen::kvLoopsOf(func)) {
    SmallVector<MapOp> maps;
    loop.walk([&](MapOp map) { maps.push_back(map); });
    for (MapOp map : maps)
      foldInto(map);
  }
}

namespace {
struct AttnFoldScoreScalePass
    : attn::codegen::impl::AttnFoldScoreScaleBase<AttnFoldScoreScalePass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      attn::codegen::foldScoreScale(func);
  }
};
} // namespace
