//===- FoldExp2.cpp - -attn-fold-exp2: exp over scores becomes exp2 -------===//
//
// Scales the scores by log2(e) once, after the score region and the mask,
// and rewrites exp(a - b) over scaled values into exp2(a' - b'). Scaling is
// propagated only through max reductions (max(c·x) = c·max(x) for c > 0);
// every other reader of a scaled value gets it unscaled, so the rewrite can
// never change a result.
//
//===----------------------------------------------------------------------===//

#include "CascadeUtils.h"
#include "attn/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/DenseSet.h"

#include <cmath>

namespace attn {
#define GEN_PASS_DEF_ATTNFOLDEXP2
#include "attn/Passes/Passes.h.inc"
} // namespace attn

using namespace mlir;
using namespace attn;

static constexpr double kLog2e = 1.4426950408889634;

/// True when `v` (a scaled block argument) is used only as either operand
/// of subtractions of two scaled arguments that feed math.exp alone, or
/// compared for equality/order with -inf or +inf (unchanged by scaling).
static bool onlyInExpDifferences(mlir::Value v,
                                 const llvm::DenseSet<mlir::Value> &scaled) {
  for (Operation *user : v.getUsers()) {
    if (auto sub = dyn_cast<arith::SubFOp>(user)) {
      if (!scaled.contains(sub.getLhs()) || !scaled.contains(sub.getRhs()))
        return false;
      if (!llvm::all_of(sub->getUsers(),
                        [](Operation *u) { return isa<math::ExpOp>(u); }))
        return false;
      continue;
    }
    if (auto cmp = dyn_cast<arith::CmpFOp>(user)) {
      mlir::Value other = cmp.getLhs() == v ? cmp.getRhs() : cmp.getLhs();
      FloatAttr c;
      auto constant = other.getDefiningOp<arith::ConstantOp>();
      if (constant && (c = dyn_cast<FloatAttr>(constant.getValue())) &&
          std::isinf(c.getValueAsDouble()))
        continue;
      return false;
    }
    return false;
  }
  return true;
}

/// The body arguments of `map` that carry scaled values.
static llvm::DenseSet<mlir::Value>
scaledArgs(MapOp map, const llvm::DenseSet<mlir::Value> &scaledValues) {
  Block &body = map.getBody().front();
  unsigned rank = map.getResult().getType().getRank();
  llvm::DenseSet<mlir::Value> args;
  for (auto [k, in] : llvm::enumerate(map.getInputs()))
    if (scaledValues.contains(in))
      args.insert(body.getArgument(rank + k));
  return args;
}

/// True when the map reads its scaled arguments only as exp(a - b).
static bool readsOnlyExpDifferences(const llvm::DenseSet<mlir::Value> &args) {
  return !args.empty() && llvm::all_of(args, [&](mlir::Value a) {
    return onlyInExpDifferences(a, args);
  });
}

/// Rewrites one map reading scaled values: exp(a - b) becomes exp2(a' - b')
/// when that is the only way it reads them; otherwise they are unscaled on
/// entry.
static void rewriteReader(MapOp map,
                          const llvm::DenseSet<mlir::Value> &scaledValues) {
  Block &body = map.getBody().front();
  llvm::DenseSet<mlir::Value> args = scaledArgs(map, scaledValues);
  bool allExp = readsOnlyExpDifferences(args);
  OpBuilder b = OpBuilder::atBlockBegin(&body);
  if (allExp) {
    SmallVector<math::ExpOp> exps;
    body.walk([&](math::ExpOp e) {
      if (auto sub = e.getOperand().getDefiningOp<arith::SubFOp>())
        if (args.contains(sub.getLhs()))
          exps.push_back(e);
    });
    for (math::ExpOp e : exps) {
      b.setInsertionPoint(e);
      auto e2 = math::Exp2Op::create(b, e.getLoc(), e.getOperand());
      e.getResult().replaceAllUsesWith(e2.getResult());
      e->erase();
    }
    return;
  }
  // General reader: undo the scaling on entry.
  for (mlir::Value a : args) {
    auto c = arith::ConstantOp::create(
        b, map.getLoc(), b.getFloatAttr(a.getType(), 1.0 / kLog2e));
    auto unscaled = arith::MulFOp::create(b, map.getLoc(), a, c);
    a.replaceAllUsesExcept(unscaled, unscaled);
  }
}

/// Folds log2(e) into the cascade of `block`, unless there is nothing to
/// gain (no exp over differences of scores).
static void foldBlock(Block &block) {
  // The scores map: the map reading the first contraction (q·k).
  ContractOp qk;
  for (Operation &op : block)
    if ((qk = dyn_cast<ContractOp>(op)))
      break;
  if (!qk)
    return;
  MapOp scores;
  for (Operation *user : qk.getResult().getUsers())
    if (auto m = dyn_cast<MapOp>(user); m && m.getInputs().size() == 1)
      scores = m;
  if (!scores)
    return;
  // Scaled values: the scores and their max reductions.
  llvm::DenseSet<mlir::Value> scaledValues{scores.getResult()};
  for (Operation &op : block)
    if (auto r = dyn_cast<ReduceOp>(op))
      if (r.getKind() == ReduceKind::Max && scaledValues.contains(r.getInput()))
        scaledValues.insert(r.getResult());
  // Worth it only if some reader takes exp of a difference of them (the
  // softmax numerator); sigmoid or softplus would only pay for unscaling.
  bool hasExpReader = false;
  for (mlir::Value v : scaledValues)
    for (Operation *user : v.getUsers())
      if (auto m = dyn_cast<MapOp>(user); m && m != scores)
        hasExpReader |= readsOnlyExpDifferences(scaledArgs(m, scaledValues));
  if (!hasExpReader)
    return;

  // Scale at the end of the scores map (after score region and mask).
  Block &sb = scores.getBody().front();
  Operation *yield = sb.getTerminator();
  OpBuilder b(yield);
  mlir::Value y = yield->getOperand(0);
  auto c = arith::ConstantOp::create(b, scores.getLoc(),
                                     b.getFloatAttr(y.getType(), kLog2e));
  auto scaled = arith::MulFOp::create(b, scores.getLoc(), y, c);
  yield->setOperand(0, scaled);

  for (Operation &op : block) {
    auto map = dyn_cast<MapOp>(op);
    if (!map || map == scores)
      continue;
    if (llvm::any_of(map.getInputs(), [&](mlir::Value in) {
          return scaledValues.contains(in);
        }))
      rewriteReader(map, scaledValues);
  }
  // Non-map readers of scaled values outside the recognised reductions
  // (contractions, returns) would see scaled numbers: unscale them there.
  for (mlir::Value v : scaledValues)
    for (OpOperand &use : llvm::make_early_inc_range(v.getUses())) {
      Operation *user = use.getOwner();
      if (isa<MapOp>(user) ||
          (isa<ReduceOp>(user) && scaledValues.contains(user->getResult(0))))
        continue;
      OpBuilder ub(user);
      auto type = cast<RankedTensorType>(v.getType());
      std::string term = equationOf(v.getDefiningOp()).output;
      MapOp unscale = buildMap(
          ub, user->getLoc(), term + "->" + term, ValueRange{v}, {}, type,
          [&](OpBuilder &bb, Location loc, ValueRange, ValueRange in,
              ValueRange) -> mlir::Value {
            auto k = arith::ConstantOp::create(
                bb, loc, bb.getFloatAttr(in[0].getType(), 1.0 / kLog2e));
            return arith::MulFOp::create(bb, loc, in[0], k);
          });
      use.set(unscale.getResult());
    }
}

namespace {
struct AttnFoldExp2Pass : attn::impl::AttnFoldExp2Base<AttnFoldExp2Pass> {
  void runOnOperation() override {
    getOperation()->walk([&](func::FuncOp func) {
      if (!func.isExternal())
        foldBlock(func.getBody().front());
    });
  }
};
} // namespace
