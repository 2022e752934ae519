//===- Padding.cpp - what a map yields at a ragged tile's padding --------===//
//
// Two small abstract interpretations of a map region, evaluated once per map
// when its kernel is emitted:
//  - values: each f32 as the set of what it may hold, -inf, +inf, NaN and a
//    hull [lo, hi] of finite values. An op is evaluated on the candidates of
//    its operands (the infinities, the hull's ends and 0 inside it), which
//    bounds add, sub, mul, max, min and the monotone exp/exp2 exactly. A
//    select whose condition compares a value with an infinity sees the value
//    without that infinity in its other arm (select(m == -inf, 0, m)). Per-row
//    inputs and float captures may hold anything but NaN here; other ops give
//    the whole set.
//  - NaN strictness: for each per-row input k, whether the value is NaN
//    whenever k is NaN, for every value of the padded input. Arithmetic
//    propagates NaN; an ordered comparison with a NaN is false and an
//    unordered one true, which picks a select's arm.
// A map yields a constant c at the padding when the first says exactly {c}
// and every per-row input it depends on is strict: a NaN per-row value then
// makes every element of that row NaN, valid or not, so the padding cannot
// change the row's result.
//
//===----------------------------------------------------------------------===//

#include "Padding.h"

#include "attn/Dialect/Equation.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/DenseMap.h"

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>

using namespace mlir;

namespace attn::codegen::detail {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

/// The set of f32 values an SSA value may hold.
struct Values {
  bool negInf = false, posInf = false, nan = false, finite = false;
  double lo = 0, hi = 0;

  static Values anything() {
    Values v;
    v.negInf = v.posInf = v.nan = v.finite = true;
    v.lo = -FLT_MAX;
    v.hi = FLT_MAX;
    return v;
  }
  /// Any value but NaN (a per-row value, a float capture).
  static Values anyNumber() {
    Values v = anything();
    v.nan = false;
    return v;
  }
  static Values of(double x) {
    Values v;
    v.add(x);
    return v;
  }
  /// Adds `x` (rounded to f32's range: beyond it is an infinity).
  void add(double x) {
    if (std::isnan(x)) {
      nan = true;
    } else if (x > FLT_MAX) {
      posInf = true;
    } else if (x < -FLT_MAX) {
      negInf = true;
    } else if (!finite) {
      finite = true;
      lo = hi = x;
    } else {
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
  }
  /// The values an op is evaluated on: the infinities, the hull's ends, and
  /// 0 inside it.
  SmallVector<double> candidates() const {
    SmallVector<double> c;
    if (negInf)
      c.push_back(-kInf);
    if (posInf)
      c.push_back(kInf);
    if (nan)
      c.push_back(std::numeric_limits<double>::quiet_NaN());
    if (finite) {
      c.push_back(lo);
      if (hi != lo)
        c.push_back(hi);
      if (lo < 0 && hi > 0)
        c.push_back(0);
    }
    return c;
  }
  /// Exactly the one value `x`.
  bool isExactly(double x) const {
    if (std::isinf(x))
      return !finite && !nan && (x < 0 ? negInf && !posInf : posInf && !negInf);
    return finite && lo == x && hi == x && !negInf && !posInf && !nan;
  }
  Values join(const Values &o) const {
    Values v = *this;
    v.negInf |= o.negInf;
    v.posInf |= o.posInf;
    v.nan |= o.nan;
    if (o.finite) {
      v.lo = finite ? std::min(lo, o.lo) : o.lo;
      v.hi = finite ? std::max(hi, o.hi) : o.hi;
      v.finite = true;
    }
    return v;
  }
};

/// NaN-propagating max/min (arith.maximumf / minimumf).
double nanMax(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? std::nan("") : std::max(a, b);
}
double nanMin(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? std::nan("") : std::min(a, b);
}

/// What is known of an i1 (a comparison) and, per per-row input k, what it
/// is when k is NaN.
struct Truth {
  bool canTrue = true, canFalse = true;
  uint64_t trueIfNaN = 0, falseIfNaN = 0;
};

/// Per-row inputs the value depends on, and those whose NaN makes it NaN.
struct Strictness {
  uint64_t depends = 0, strict = 0;
};

class Evaluator {
public:
  explicit Evaluator(MapOp map) : map(map) {}

  std::optional<Pad> run(ArrayRef<std::optional<Pad>> inputPads) {
    Block &body = map.getBody().front();
    unsigned rank = map.getResult().getType().getRank();
    unsigned numInputs = map.getInputs().size();
    // One bit per block argument in the strictness masks.
    if (inputPads.size() != numInputs || body.getNumArguments() > 64)
      return std::nullopt;
    for (auto [k, arg] : llvm::enumerate(body.getArguments())) {
      if (!isa<FloatType>(arg.getType()))
        continue; // indices and integer captures: unknown integers
      bool isInput = k >= rank && k < rank + numInputs;
      if (isInput && inputPads[k - rank]) {
        Pad pad = *inputPads[k - rank];
        values[arg] = pad == Pad::Zero     ? Values::of(0)
                      : pad == Pad::NegInf ? Values::of(-kInf)
                                           : Values::anything();
        continue;
      }
      // A per-row input or a float capture: one value per row, unknown.
      values[arg] = Values::anyNumber();
      strictness[arg] = {uint64_t(1) << k, uint64_t(1) << k};
    }
    for (Operation &op : body) {
      if (auto yield = dyn_cast<YieldOp>(op)) {
        Value v = yield->getOperand(0);
        const Values &result = valuesOf(v);
        Strictness s = strictnessOf(v);
        if ((s.depends & ~s.strict) != 0)
          return std::nullopt;
        if (result.isExactly(0))
          return Pad::Zero;
        if (result.isExactly(-kInf))
          return Pad::NegInf;
        return std::nullopt;
      }
      visit(op);
    }
    return std::nullopt;
  }

private:
  MapOp map;
  llvm::DenseMap<Value, Values> values;
  llvm::DenseMap<Value, Strictness> strictness;
  llvm::DenseMap<Value, Truth> truths;

  Values valuesOf(Value v) {
    auto it = values.find(v);
    return it == values.end() ? Values::anything() : it->second;
  }
  Strictness strictnessOf(Value v) {
    auto it = strictness.find(v);
    return it == strictness.end() ? Strictness() : it->second;
  }
  Truth truthOf(Value v) {
    auto it = truths.find(v);
    return it == truths.end() ? Truth() : it->second;
  }

  /// Every per-row input the operands depend on.
  uint64_t dependsOf(Operation &op) {
    uint64_t d = 0;
    for (Value v : op.getOperands())
      d |= strictnessOf(v).depends;
    return d;
  }

  template <typename F> Values unary(Value a, F f) {
    Values r;
    for (double x : valuesOf(a).candidates())
      r.add(f(x));
    return r;
  }
  template <typename F> Values binary(Value a, Value b, F f) {
    Values r;
    SmallVector<double> cb = valuesOf(b).candidates();
    for (double x : valuesOf(a).candidates())
      for (double y : cb)
        r.add(f(x, y));
    return r;
  }

  /// `v` as seen in a select arm where `cond` is `holds`: without the
  /// infinity `cond` compares it (un)equal to.
  Values refined(Value v, Value cond, bool holds) {
    Values r = valuesOf(v);
    auto cmp = cond.getDefiningOp<arith::CmpFOp>();
    if (!cmp)
      return r;
    bool eq = cmp.getPredicate() == arith::CmpFPredicate::OEQ;
    bool ne = cmp.getPredicate() == arith::CmpFPredicate::UNE;
    if (!(eq && !holds) && !(ne && holds))
      return r;
    Value other = cmp.getLhs() == v ? cmp.getRhs()
                  : cmp.getRhs() == v ? cmp.getLhs()
                                      : Value();
    if (!other)
      return r;
    Values c = valuesOf(other);
    if (c.isExactly(-kInf))
      r.negInf = false;
    else if (c.isExactly(kInf))
      r.posInf = false;
    return r;
  }

  void visitCompare(arith::CmpFOp cmp) {
    using P = arith::CmpFPredicate;
    P pred = cmp.getPredicate();
    Truth t;
    // Known only between single values (a hull may hold any value between
    // its ends, so equality inside it is never ruled out).
    auto single = [](const Values &v) {
      return v.candidates().size() == 1 && (!v.finite || v.lo == v.hi);
    };
    Values a = valuesOf(cmp.getLhs()), b = valuesOf(cmp.getRhs());
    if (single(a) && single(b)) {
      bool r = arith::applyCmpPredicate(
          pred, APFloat(a.candidates()[0]), APFloat(b.candidates()[0]));
      t.canTrue = r;
      t.canFalse = !r;
    }
    uint64_t nanOperands =
        strictnessOf(cmp.getLhs()).strict | strictnessOf(cmp.getRhs()).strict;
    bool unordered = pred == P::UEQ || pred == P::UGT || pred == P::UGE ||
                     pred == P::ULT || pred == P::ULE || pred == P::UNE ||
                     pred == P::UNO || pred == P::AlwaysTrue;
    (unordered ? t.trueIfNaN : t.falseIfNaN) = nanOperands;
    truths[cmp.getResult()] = t;
    strictness[cmp.getResult()] = {dependsOf(*cmp), 0};
  }

  void visitSelect(arith::SelectOp select) {
    Value c = select.getCondition();
    Value a = select.getTrueValue(), b = select.getFalseValue();
    Truth t = truthOf(c);
    Values r;
    bool first = true;
    auto take = [&](Values v) {
      r = first ? v : r.join(v);
      first = false;
    };
    if (t.canTrue)
      take(refined(a, c, true));
    if (t.canFalse)
      take(refined(b, c, false));
    values[select.getResult()] = r;
    // Per per-row input: the arm a NaN there picks, or both arms.
    uint64_t sa = strictnessOf(a).strict, sb = strictnessOf(b).strict;
    uint64_t open = ~(t.trueIfNaN | t.falseIfNaN);
    strictness[select.getResult()] = {
        dependsOf(*select), (t.trueIfNaN & sa) | (t.falseIfNaN & sb) |
                                (open & sa & sb)};
  }

  void visit(Operation &op) {
    if (op.getNumResults() != 1)
      return;
    Value result = op.getResult(0);
    if (auto cmp = dyn_cast<arith::CmpFOp>(op))
      return visitCompare(cmp);
    if (auto select = dyn_cast<arith::SelectOp>(op))
      return visitSelect(select);
    // NaN in, NaN out: every float op below, and every math op.
    uint64_t strict = 0;
    for (Value v : op.getOperands())
      strict |= strictnessOf(v).strict;
    bool propagates = isa<math::MathDialect>(op.getDialect()) ||
                      isa<arith::AddFOp, arith::SubFOp, arith::MulFOp,
                          arith::DivFOp, arith::NegFOp, arith::MaximumFOp,
                          arith::MinimumFOp, arith::ExtFOp, arith::TruncFOp>(op);
    strictness[result] = {dependsOf(op), propagates ? strict : 0};
    if (!isa<FloatType>(result.getType()))
      return;
    Values r = Values::anything();
    if (auto c = dyn_cast<arith::ConstantOp>(op)) {
      if (auto f = dyn_cast<FloatAttr>(c.getValue()))
        r = Values::of(f.getValueAsDouble());
    } else if (isa<arith::AddFOp>(op)) {
      r = binary(op.getOperand(0), op.getOperand(1),
                 [](double x, double y) { return x + y; });
    } else if (isa<arith::SubFOp>(op)) {
      r = binary(op.getOperand(0), op.getOperand(1),
                 [](double x, double y) { return x - y; });
    } else if (isa<arith::MulFOp>(op)) {
      r = binary(op.getOperand(0), op.getOperand(1),
                 [](double x, double y) { return x * y; });
    } else if (isa<arith::MaximumFOp>(op)) {
      r = binary(op.getOperand(0), op.getOperand(1), nanMax);
    } else if (isa<arith::MinimumFOp>(op)) {
      r = binary(op.getOperand(0), op.getOperand(1), nanMin);
    } else if (isa<arith::NegFOp>(op)) {
      r = unary(op.getOperand(0), [](double x) { return -x; });
    } else if (isa<math::Exp2Op>(op)) {
      r = unary(op.getOperand(0), [](double x) { return std::exp2(x); });
    } else if (isa<math::ExpOp>(op)) {
      r = unary(op.getOperand(0), [](double x) { return std::exp(x); });
    }
    values[result] = r;
  }
};

} // namespace

Pad identityPad(ReduceKind kind) {
  return kind == ReduceKind::Max   ? Pad::NegInf
         : kind == ReduceKind::Add ? Pad::Zero
                                   : Pad::Unknown;
}

Pad padOfMap(MapOp map, ArrayRef<std::optional<Pad>> inputPads) {
  return Evaluator(map).run(inputPads).value_or(Pad::Unknown);
}

} // namespace attn::codegen::detail
