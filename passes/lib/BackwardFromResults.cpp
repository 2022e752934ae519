//===- BackwardFromResults.cpp - a backward that reads the forward's lse --===//
//
// attn::buildResultReadingBackward: the derived backward with its forward
// state recovered from the forward's results instead of recomputed, as
// FlashAttention-2's backward reads the lse its forward stored. No
// normalizer is named: the recovery is proven on the decomposed forward.
//
// A state made of a row maximum m that only stabilises (every result is
// the same whatever constant t is added to it: ShiftDependence.h) and a sum
// l that scales with it (l(m + t) = l(m)·e^(a·t), a ≠ 0) can be replaced by
// any other point (m + t, l·e^(a·t)) of that orbit: the backward is the
// derivative with m held fixed, correct at every m since the results do not
// depend on it. The point with l = 1 is m' = m − log(l)/a. If a result R of
// the forward is a map of (m, l) whose body yields m at l = 1 (softmax's
// lse = m + log l, guarded for l = 0), then R = body(m', 1) = m' — so the
// backward reads (R, 1) for (m, l) and no pass over the keys recomputes the
// state. The body is checked symbolically: l := 1, m := x, constants folded
// (log 1 = 0, x + 0 = x, guards on constants decided, `x == c ? c : x` is x).
//
//===----------------------------------------------------------------------===//

#include "CascadeUtils.h"
#include "ShiftDependence.h"
#include "attn/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Verifier.h"

#include <cmath>

using namespace mlir;
using namespace attn;

namespace {

/// A scalar of the symbolic check: the row maximum's stand-in x, a float or
/// i1 constant, or anything else.
struct Symbol {
  enum Kind { X, Float, Bool, Unknown } kind = Unknown;
  double value = 0;
  Value cmpOf;
  static Symbol x() { return {X, 0, {}}; }
  static Symbol number(double v) { return {Float, v, {}}; }
  static Symbol truth(bool v) { return {Bool, v ? 1.0 : 0.0, {}}; }
  bool is(double v) const { return kind == Float && value == v; }
  bool sameAs(const Symbol &o) const {
    return kind == o.kind && kind != Unknown &&
           (kind == X || value == o.value ||
            (std::isnan(value) && std::isnan(o.value)));
  }
};

/// The symbol of one body op's result from its operands' (`of`).
Symbol evaluate(Operation &op, llvm::function_ref<Symbol(Value)> of) {
  auto arg = [&](unsigned k) { return of(op.getOperand(k)); };
  if (auto c = dyn_cast<arith::ConstantOp>(op)) {
    if (auto f = dyn_cast<FloatAttr>(c.getValue()))
      return Symbol::number(f.getValueAsDouble());
    if (auto i = dyn_cast<IntegerAttr>(c.getValue());
        i && i.getType().isInteger(1))
      return Symbol::truth(i.getValue().getBoolValue());
    return {};
  }
  if (auto cmp = dyn_cast<arith::CmpFOp>(op)) {
    Symbol a = arg(0), b = arg(1);
    if (a.kind == Symbol::Float && b.kind == Symbol::Float)
      return Symbol::truth(arith::applyCmpPredicate(
          cmp.getPredicate(), APFloat(a.value), APFloat(b.value)));
    Symbol undecided;
    undecided.cmpOf = cmp.getResult();
    return undecided;
  }
  if (isa<arith::AndIOp, arith::OrIOp, arith::XOrIOp>(op)) {
    Symbol a = arg(0), b = arg(1);
    if (a.kind != Symbol::Bool || b.kind != Symbol::Bool)
      return {};
    bool x = a.value != 0, y = b.value != 0;
    return Symbol::truth(isa<arith::AndIOp>(op)  ? x && y
                         : isa<arith::OrIOp>(op) ? x || y
                                                 : x != y);
  }
  if (auto select = dyn_cast<arith::SelectOp>(op)) {
    Symbol c = arg(0), t = arg(1), f = arg(2);
    if (c.kind == Symbol::Bool)
      return c.value != 0 ? t : f;
    if (t.sameAs(f))
      return t;
    // `x == k ? k : x` and `x != k ? x : k` are x.
    if (auto cmp = c.cmpOf ? c.cmpOf.getDefiningOp<arith::CmpFOp>()
                           : arith::CmpFOp()) {
      Symbol l = of(cmp.getLhs()), r = of(cmp.getRhs());
      if (l.kind != Symbol::X)
        std::swap(l, r);
      bool eq = cmp.getPredicate() == arith::CmpFPredicate::OEQ ||
                cmp.getPredicate() == arith::CmpFPredicate::UEQ;
      bool ne = cmp.getPredicate() == arith::CmpFPredicate::ONE ||
                cmp.getPredicate() == arith::CmpFPredicate::UNE;
      if (l.kind == Symbol::X && r.kind == Symbol::Float &&
          ((eq && t.sameAs(r) && f.kind == Symbol::X) ||
           (ne && f.sameAs(r) && t.kind == Symbol::X)))
        return Symbol::x();
    }
    return {};
  }
  if (isa<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::DivFOp>(op)) {
    Symbol a = arg(0), b = arg(1);
    if (a.kind == Symbol::Float && b.kind == Symbol::Float) {
      double v = isa<arith::AddFOp>(op)   ? a.value + b.value
                 : isa<arith::SubFOp>(op) ? a.value - b.value
                 : isa<arith::MulFOp>(op) ? a.value * b.value
                                          : a.value / b.value;
      return Symbol::number(v);
    }
    // x + 0, x − 0, x·1, x/1 and 0 + x, 1·x: x (up to the sign of a zero).
    if (a.kind == Symbol::X &&
        (isa<arith::AddFOp, arith::SubFOp>(op) ? b.is(0) : b.is(1)))
      return a;
    if (b.kind == Symbol::X && ((isa<arith::AddFOp>(op) && a.is(0)) ||
                                (isa<arith::MulFOp>(op) && a.is(1))))
      return b;
    return {};
  }
  if (isa<math::LogOp, math::ExpOp, arith::NegFOp>(op)) {
    Symbol a = arg(0);
    if (a.kind != Symbol::Float)
      return {};
    return Symbol::number(isa<math::LogOp>(op)   ? std::log(a.value)
                          : isa<math::ExpOp>(op) ? std::exp(a.value)
                                                 : -a.value);
  }
  return {};
}

/// True when `map`'s body yields its input `m` (an input index) wherever
/// its input `l` is 1, for every value of m.
bool yieldsMaxAtUnitSum(MapOp map, unsigned m, unsigned l) {
  Block &body = map.getBody().front();
  unsigned numIndices = map.getResult().getType().getRank();
  DenseMap<Value, Symbol> symbols;
  symbols[body.getArgument(numIndices + m)] = Symbol::x();
  symbols[body.getArgument(numIndices + l)] = Symbol::number(1.0);
  auto of = [&](Value v) { return symbols.lookup(v); };
  for (Operation &op : body.without_terminator()) {
    if (op.getNumResults() != 1 || op.getNumRegions() != 0)
      return false;
    symbols[op.getResult(0)] = evaluate(op, of);
  }
  return of(body.getTerminator()->getOperand(0)).kind == Symbol::X;
}

/// The map `result` is, under reshapes (collapse, expand, cast), and those
/// reshapes, outermost first.
MapOp underReshapes(Value result, SmallVectorImpl<Operation *> &reshapes) {
  Operation *op = result.getDefiningOp();
  while (
      op &&
      isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tensor::CastOp>(op)) {
    reshapes.push_back(op);
    op = op->getOperand(0).getDefiningOp();
  }
  return dyn_cast_or_null<MapOp>(op);
}

/// `v` (a value shaped like the outermost of `reshapes`' results) taken
/// back through them: the value shaped like the innermost's source.
Value undoReshapes(OpBuilder &b, Location loc, Value v,
                   ArrayRef<Operation *> reshapes) {
  for (Operation *op : reshapes) {
    Type source = op->getOperand(0).getType();
    if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op))
      v = tensor::ExpandShapeOp::create(b, loc, source, v,
                                        collapse.getReassociationIndices());
    else if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op))
      v = tensor::CollapseShapeOp::create(b, loc, source, v,
                                          expand.getReassociationIndices());
    else
      v = tensor::CastOp::create(b, loc, source, v);
  }
  return v;
}

/// How one entry of the forward state is recovered: the row maximum from
/// result `result` (through `reshapes` undone), its sum as 1.
struct Recovery {
  enum Kind { Max, Sum } kind = Max;
  unsigned result = 0;
  SmallVector<Operation *> reshapes;
};

/// "attn.reduce max "bhij->bhi"" for messages.
std::string describe(ReduceOp reduce) {
  return "attn.reduce " + stringifyReduceKind(reduce.getKind()).str() + " \"" +
         reduce.getEquation().str() + "\"";
}

/// The recovery of every state entry of `fns` from the forward's first
/// `numResults` results; std::nullopt and `why` when one has none.
std::optional<SmallVector<Recovery>> planRecovery(const BackwardFunctions &fns,
                                                  unsigned numResults,
                                                  std::string &why) {
  func::FuncOp forward = fns.forward;
  Block &block = forward.getBody().front();
  auto ret = cast<func::ReturnOp>(block.getTerminator());
  SmallVector<ReduceOp> state(fns.state);
  SmallVector<Recovery> plan(state.size());
  SmallVector<bool> covered(state.size(), false);
  SmallVector<std::string> reason(state.size());
  for (auto [k, max] : llvm::enumerate(state)) {
    if (max.getKind() != ReduceKind::Max)
      continue;
    if (!isShiftInvariant(max, forward, numResults)) {
      reason[k] = "a result depends on the row maximum " + describe(max);
      continue;
    }
    // The sum that scales with this maximum.
    DenseMap<Value, ShiftDependence> dep = shiftDependences(max, forward);
    std::optional<unsigned> sum;
    for (auto [j, other] : llvm::enumerate(state)) {
      ShiftDependence d = dep.lookup(other.getResult());
      if (j == k || other.getKind() != ReduceKind::Add ||
          d.kind != ShiftDependence::Scale)
        continue;
      if (sum) {
        why = "two row sums scale with the row maximum " + describe(max);
        return std::nullopt;
      }
      sum = j;
    }
    if (!sum) {
      reason[k] = "no row sum scales with the row maximum " + describe(max);
      continue;
    }
    Value m = max.getResult(), l = state[*sum].getResult();
    // A result that is m at l = 1 (lse).
    for (unsigned r = 0; r < numResults; ++r) {
      SmallVector<Operation *> reshapes;
      MapOp map = underReshapes(ret.getOperand(r), reshapes);
      if (!map || !map.getCaptures().empty() || map.getInputs().size() != 2 ||
          map.getResult().getType() != m.getType())
        continue;
      ValueRange in = map.getInputs();
      unsigned mi = in[0] == m ? 0 : 1;
      if (in[mi] != m || in[1 - mi] != l ||
          !yieldsMaxAtUnitSum(map, mi, 1 - mi))
        continue;
      plan[k] = {Recovery::Max, r, reshapes};
      plan[*sum] = {Recovery::Sum, r, reshapes};
      covered[k] = covered[*sum] = true;
      break;
    }
    if (!covered[k])
      reason[k] = reason[*sum] =
          "the variant returns no lse (a result that is the row maximum "
          "where the row sum is 1)";
  }
  for (auto [k, reduce] : llvm::enumerate(state))
    if (!covered[k]) {
      why = reason[k].empty()
                ? "the forward state's " + describe(reduce) +
                      " is neither a stabilising row maximum nor a sum "
                      "scaling with one"
                : reason[k];
      return std::nullopt;
    }
  return plan;
}

} // namespace

func::FuncOp attn::buildResultReadingBackward(const BackwardFunctions &fns,
                                              std::string &why) {
  func::FuncOp forward = fns.forward, backward = fns.backward;
  unsigned numPrimal = forward.getNumArguments();
  unsigned numState = fns.state.size();
  unsigned numResults = forward.getNumResults() - numState;
  std::optional<SmallVector<Recovery>> plan =
      planRecovery(fns, numResults, why);
  if (!plan)
    return {};

  MLIRContext *ctx = backward.getContext();
  SmallVector<Type> types(backward.getArgumentTypes().take_front(numPrimal));
  llvm::append_range(types, forward.getResultTypes().take_front(numResults));
  llvm::append_range(
      types, backward.getArgumentTypes().drop_front(numPrimal + numState));
  SmallVector<DictionaryAttr> argAttrs, backwardAttrs;
  backward.getAllArgAttrs(backwardAttrs);
  argAttrs.append(backwardAttrs.begin(), backwardAttrs.begin() + numPrimal);
  argAttrs.append(numResults, DictionaryAttr::get(ctx));
  argAttrs.append(backwardAttrs.begin() + numPrimal + numState,
                  backwardAttrs.end());
  func::FuncOp fn = createGradientsFunction(backward, types, argAttrs);
  Block *block = &fn.getBody().front();

  // The state from the results, then the backward reading it.
  OpBuilder ib = OpBuilder::atBlockEnd(block);
  IRMapping bm;
  for (unsigned a = 0; a < numPrimal; ++a)
    bm.map(backward.getArgument(a), block->getArgument(a));
  for (unsigned a = numPrimal + numState; a < backward.getNumArguments(); ++a)
    bm.map(backward.getArgument(a),
           block->getArgument(a - numState + numResults));
  SmallVector<ReduceOp> state(fns.state);
  DenseMap<unsigned, Value> maxOf;
  for (auto [k, recovery] : llvm::enumerate(*plan)) {
    if (recovery.kind != Recovery::Max)
      continue;
    Location loc = state[k].getLoc();
    maxOf[recovery.result] =
        undoReshapes(ib, loc, block->getArgument(numPrimal + recovery.result),
                     recovery.reshapes);
    bm.map(backward.getArgument(numPrimal + k), maxOf[recovery.result]);
  }
  for (auto [k, recovery] : llvm::enumerate(*plan)) {
    if (recovery.kind != Recovery::Sum)
      continue;
    auto type = cast<RankedTensorType>(state[k].getResult().getType());
    std::string term = plainTerm(type.getRank());
    Value one =
        buildMap(ib, state[k].getLoc(), term + "->" + term,
                 ValueRange{maxOf.lookup(recovery.result)}, {}, type,
                 [&](OpBuilder &bb, Location loc, ValueRange, ValueRange,
                     ValueRange) -> Value {
                   return arith::ConstantOp::create(
                       bb, loc, bb.getFloatAttr(type.getElementType(), 1.0));
                 })
            .getResult();
    bm.map(backward.getArgument(numPrimal + k), one);
  }
  for (Operation &op : backward.getBody().front())
    ib.clone(op, bm);
  eraseDeadOps(*block);
  if (failed(verify(fn))) {
    fn.erase();
    why = "internal error: the result-reading backward does not verify";
    return {};
  }
  return fn;
}

func::FuncOp attn::buildKernelBackward(const BackwardFunctions &fns,
                                       bool readResults, bool &readsResults,
                                       std::string &why) {
  why.clear();
  readsResults = false;
  // No state (sigmoid, none): nothing to read or recompute.
  if (readResults && !fns.state.empty())
    if (func::FuncOp fn = buildResultReadingBackward(fns, why)) {
      readsResults = true;
      return fn;
    }
  return buildRecomputingBackward(fns);
}
