//===- LeanMaps.cpp - -attn-lean-maps: cheaper map bodies -----------------===//
//
// Rewrites the scalar bodies of attn.map so that the code run for every
// element of a tile costs fewer instructions, without changing what it
// computes beyond one rounding of a folded constant:
//  - a multiply by a constant moves through a select with a constant arm
//    (select(c, a, K1) * K2 = select(c, a * K2, K1 * K2): exact);
//  - two multiplies by constants become one (x * K1 * K2 = x * (K1 * K2):
//    one rounding fewer or more, marked `reassoc`);
//  - exp2(x - r), where the map's row operand r is provably at least the
//    element x (r is a NaN-propagating max over x, directly or through
//    maximumf maps), is a weight relative to a running maximum: it lies in
//    [0, 1], so it is marked `afn` (the hardware's ex2.approx.ftz), and
//    select(r == -inf, 0, exp2(x - r)) becomes exp2(x - select(r == -inf,
//    0, r)) — the -inf test moves from every element to its row (the same
//    value: r = -inf means every x is -inf, whose exp2 is 0);
//  - an f32 division a / b whose divisor b is a map input over fewer letters
//    than the map (the normalizer's O / l: l per row, O per row and column)
//    becomes a * r1 * s with s a power of two and r1 = 1 / (b * s), both
//    computed once per element of b by new maps: one IEEE division per row
//    instead of one per element. s is 2^100 when |b| < 2^-100, 2^-100 when
//    |b| > 2^100, else 1, so r1 never overflows or loses bits to a
//    subnormal, and the multiply by s is exact. The reciprocal is marked
//    `afn` (the hardware's rcp.approx, 1 ulp, is exact enough on that
//    range): within 2.5 ulp of a / b, with the same zeros, infinities and
//    NaNs.
//
//===----------------------------------------------------------------------===//

#include "CascadeUtils.h"
#include "attn/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace attn {
#define GEN_PASS_DEF_ATTNLEANMAPS
#include "attn/Passes/Passes.h.inc"
} // namespace attn

using namespace mlir;
using namespace attn;

namespace {

/// The float constant `v` is, if it is one.
std::optional<APFloat> floatConstant(Value v) {
  FloatAttr attr;
  if (matchPattern(v, m_Constant(&attr)))
    return attr.getValue();
  return std::nullopt;
}

Value floatConstantOp(OpBuilder &b, Location loc, Type type, APFloat value) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, value));
}

/// The product of two constants of `type`, rounded as the multiply would.
APFloat multiply(APFloat a, const APFloat &b) {
  a.multiply(b, APFloat::rmNearestTiesToEven);
  return a;
}

/// select(c, a, K1) * K2 -> select(c, a * K2, K1 * K2).
bool pushMultiplyIntoSelect(arith::MulFOp mul) {
  for (unsigned s = 0; s < 2; ++s) {
    auto select = mul->getOperand(s).getDefiningOp<arith::SelectOp>();
    std::optional<APFloat> k2 = floatConstant(mul->getOperand(1 - s));
    if (!select || !k2 || !select->hasOneUse())
      continue;
    for (unsigned arm = 1; arm < 3; ++arm) {
      std::optional<APFloat> k1 = floatConstant(select->getOperand(arm));
      if (!k1)
        continue;
      OpBuilder b(mul);
      Location loc = mul.getLoc();
      Value other = select->getOperand(3 - arm);
      Value scaled = arith::MulFOp::create(b, loc, other, mul->getOperand(1 - s));
      Value folded =
          floatConstantOp(b, loc, mul.getType(), multiply(*k1, *k2));
      Value t = arm == 1 ? folded : scaled, f = arm == 1 ? scaled : folded;
      auto fresh = arith::SelectOp::create(b, loc, select.getCondition(), t, f);
      fresh->setAttrs(select->getAttrs());
      mul.replaceAllUsesWith(fresh.getResult());
      mul.erase();
      select.erase();
      return true;
    }
  }
  return false;
}

/// (x * K1) * K2 -> x * (K1 * K2).
bool foldConstantMultiplies(arith::MulFOp mul) {
  for (unsigned s = 0; s < 2; ++s) {
    auto inner = mul->getOperand(s).getDefiningOp<arith::MulFOp>();
    std::optional<APFloat> k2 = floatConstant(mul->getOperand(1 - s));
    if (!inner || !k2 || !inner->hasOneUse())
      continue;
    for (unsigned t = 0; t < 2; ++t) {
      std::optional<APFloat> k1 = floatConstant(inner->getOperand(t));
      if (!k1)
        continue;
      OpBuilder b(mul);
      Value k = floatConstantOp(b, mul.getLoc(), mul.getType(),
                                multiply(*k1, *k2));
      auto fused = arith::MulFOp::create(b, mul.getLoc(),
                                         inner->getOperand(1 - t), k,
                                         arith::FastMathFlags::reassoc);
      mul.replaceAllUsesWith(fused.getResult());
      mul.erase();
      inner.erase();
      return true;
    }
  }
  return false;
}

/// Applies the two multiply rewrites to a map body until none applies.
void foldMultiplies(Block &body) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (auto mul : llvm::to_vector(body.getOps<arith::MulFOp>()))
      if (pushMultiplyIntoSelect(mul) || foldConstantMultiplies(mul)) {
        changed = true;
        break;
      }
  }
}

/// The equation term of the value a map's input block argument binds, and
/// the input.
struct BoundInput {
  Value tensor;
  std::string term;
};

std::optional<BoundInput> boundInput(MapOp map, Value arg) {
  auto barg = dyn_cast<BlockArgument>(arg);
  if (!barg || barg.getOwner() != &map.getBody().front())
    return std::nullopt;
  unsigned rank = map.getResult().getType().getRank();
  unsigned k = barg.getArgNumber();
  if (k < rank || k >= rank + map.getInputs().size())
    return std::nullopt;
  Equation eq = equationOf(map);
  return BoundInput{map.getInputs()[k - rank], eq.inputs[k - rank]};
}

/// True when every element of `r` (term `rTerm`) is at least every element
/// of `x` (term `xTerm`) that shares its letters, with NaN propagated: `r`
/// is a max reduction of `x`, or a map yielding maximumf of inputs one of
/// which is such a value.
bool isRunningMaxOf(Value r, StringRef rTerm, Value x, StringRef xTerm,
                    unsigned depth = 0) {
  if (depth > 8)
    return false;
  if (r == x)
    return rTerm == xTerm;
  if (auto reduce = r.getDefiningOp<ReduceOp>()) {
    Equation eq = equationOf(reduce);
    return reduce.getKind() == ReduceKind::Max && reduce.getInput() == x &&
           eq.output == rTerm && eq.inputs[0] == xTerm;
  }
  auto map = r.getDefiningOp<MapOp>();
  if (!map || equationOf(map).output != rTerm)
    return false;
  Value yielded = map.getBody().front().getTerminator()->getOperand(0);
  auto max = yielded.getDefiningOp<arith::MaximumFOp>();
  if (!max)
    return false;
  for (Value operand : max->getOperands()) {
    std::optional<BoundInput> in = boundInput(map, operand);
    if (in && in->term == rTerm &&
        isRunningMaxOf(in->tensor, in->term, x, xTerm, depth + 1))
      return true;
  }
  return false;
}

bool isNegInfinity(Value v) {
  std::optional<APFloat> c = floatConstant(v);
  return c && c->isInfinity() && c->isNegative();
}

bool isPositiveZero(Value v) {
  std::optional<APFloat> c = floatConstant(v);
  return c && c->isPosZero();
}

/// exp2(x - r) with r a running max of x: marks it `afn` and moves a
/// select(r == -inf, 0, ·) around it onto r.
void anchorExp2(MapOp map, math::Exp2Op exp) {
  auto sub = exp.getOperand().getDefiningOp<arith::SubFOp>();
  if (!sub)
    return;
  std::optional<BoundInput> x = boundInput(map, sub.getLhs());
  std::optional<BoundInput> r = boundInput(map, sub.getRhs());
  if (!x || !r || !isRunningMaxOf(r->tensor, r->term, x->tensor, x->term))
    return;
  exp.setFastmath(exp.getFastmath() | arith::FastMathFlags::afn);
  if (!exp->hasOneUse())
    return;
  auto select = dyn_cast<arith::SelectOp>(*exp->getUsers().begin());
  if (!select || select.getFalseValue() != exp.getResult() ||
      !isPositiveZero(select.getTrueValue()))
    return;
  auto cmp = select.getCondition().getDefiningOp<arith::CmpFOp>();
  if (!cmp || cmp.getPredicate() != arith::CmpFPredicate::OEQ)
    return;
  Value rArg = sub.getRhs();
  bool testsR = (cmp.getLhs() == rArg && isNegInfinity(cmp.getRhs())) ||
                (cmp.getRhs() == rArg && isNegInfinity(cmp.getLhs()));
  if (!testsR)
    return;
  // Built afresh before the subtraction, which the old test may follow.
  OpBuilder b(sub);
  Location loc = select.getLoc();
  Type type = rArg.getType();
  Value negInf = floatConstantOp(
      b, loc, type,
      APFloat::getInf(cast<FloatType>(type).getFloatSemantics(), true));
  Value isEmpty = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                        rArg, negInf);
  Value zero = floatConstantOp(
      b, loc, type, APFloat::getZero(cast<FloatType>(type).getFloatSemantics()));
  auto rowSafe = arith::SelectOp::create(b, loc, isEmpty, zero, rArg);
  sub.getRhsMutable().assign(rowSafe);
  select.replaceAllUsesWith(exp.getResult());
  select.erase();
  if (cmp->use_empty())
    cmp.erase();
}

/// A map over `in` (term `term`) yielding, per element x, the value `fill`
/// builds from x.
Value perElementMap(OpBuilder &b, Location loc, Value in, StringRef term,
                    function_ref<Value(OpBuilder &, Location, Value)> fill) {
  auto type = cast<RankedTensorType>(in.getType());
  std::string eq = (term + "->" + term).str();
  return buildMap(b, loc, eq, in, {}, type,
                  [&](OpBuilder &bb, Location l, ValueRange, ValueRange xs,
                      ValueRange) { return fill(bb, l, xs[0]); })
      .getResult();
}

/// The first f32 division in `map` whose divisor is an input over fewer
/// letters than the map's output, with that input.
std::pair<arith::DivFOp, std::optional<BoundInput>>
broadcastDivision(MapOp map) {
  std::string out = equationOf(map).output;
  for (auto div : map.getBody().front().getOps<arith::DivFOp>()) {
    if (!div.getType().isF32())
      continue;
    std::optional<BoundInput> in = boundInput(map, div.getRhs());
    if (in && in->term.size() < out.size() &&
        llvm::all_of(in->term, [&](char c) { return out.find(c) !=
                                                    std::string::npos; }))
      return {div, in};
  }
  return {arith::DivFOp(), std::nullopt};
}

/// a / b with b over fewer letters -> a * r1 * s, r1 and s computed per
/// element of b by two new maps (see the file comment for the ranges).
MapOp hoistBroadcastDivisions(MapOp map) {
  while (true) {
    auto [div, in] = broadcastDivision(map);
    if (!div)
      return map;
    OpBuilder b(map);
    Location loc = div.getLoc();
    auto f32 = [&](OpBuilder &bb, Location l, double v) -> Value {
      return arith::ConstantOp::create(bb, l, bb.getF32FloatAttr(v));
    };
    // The power of two s = 2^100 (|x| < 2^-100), 2^-100 (|x| > 2^100) or
    // 1: x * s lies within [2^-100, 2^100] (or is 0, inf or NaN), and
    // a / b = a * (1 / (b * s)) * s.
    auto scale = [&](OpBuilder &bb, Location l, Value x) -> Value {
      Value mag = math::AbsFOp::create(bb, l, x);
      Value tiny = arith::CmpFOp::create(bb, l, arith::CmpFPredicate::OLT,
                                         mag, f32(bb, l, 0x1p-100));
      Value huge = arith::CmpFOp::create(bb, l, arith::CmpFPredicate::OGT,
                                         mag, f32(bb, l, 0x1p100));
      Value notTiny = arith::SelectOp::create(bb, l, huge, f32(bb, l, 0x1p-100),
                                              f32(bb, l, 1.0));
      return arith::SelectOp::create(bb, l, tiny, f32(bb, l, 0x1p100),
                                     notTiny);
    };
    Value r1 = perElementMap(b, loc, in->tensor, in->term,
                             [&](OpBuilder &bb, Location l, Value x) -> Value {
                               Value scaled = arith::MulFOp::create(
                                   bb, l, x, scale(bb, l, x));
                               return arith::DivFOp::create(
                                   bb, l, f32(bb, l, 1.0), scaled,
                                   arith::FastMathFlags::afn);
                             });
    Value s = perElementMap(b, loc, in->tensor, in->term, scale);
    Value r1Arg, sArg;
    map = appendInput(map, r1, in->term, r1Arg);
    map = appendInput(map, s, in->term, sArg);
    OpBuilder at(div);
    Value product = arith::MulFOp::create(at, loc, div.getLhs(), r1Arg);
    Value quotient = arith::MulFOp::create(at, loc, product, sArg);
    div.replaceAllUsesWith(quotient);
    div.erase();
  }
}

void leanMap(MapOp map) {
  map = hoistBroadcastDivisions(map);
  Block &body = map.getBody().front();
  foldMultiplies(body);
  for (auto exp : llvm::to_vector(body.getOps<math::Exp2Op>()))
    anchorExp2(map, exp);
  // The constants and tests the rewrites left without a use.
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
    if (isOpTriviallyDead(&op))
      op.erase();
}

struct AttnLeanMapsPass : attn::impl::AttnLeanMapsBase<AttnLeanMapsPass> {
  void runOnOperation() override {
    SmallVector<MapOp> maps;
    getOperation()->walk([&](MapOp map) { maps.push_back(map); });
    for (MapOp map : maps)
      leanMap(map);
  }
};

} // namespace
