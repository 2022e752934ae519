//===- ShiftDependence.cpp - how a cascade depends on a row max -----------===//
//
// See ShiftDependence.h.
//
//===----------------------------------------------------------------------===//

#include "ShiftDependence.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

using namespace mlir;
using namespace attn;

namespace {

/// True if `c` is a float constant equal to `value`.
bool isConstant(Value c, double value) {
  FloatAttr attr;
  return matchPattern(c, m_Constant(&attr)) && attr.getValueAsDouble() == value;
}

/// The dependence of one scalar op's result given its operands'.
ShiftDependence scalarDependence(Operation *op, ArrayRef<ShiftDependence> in) {
  if (llvm::all_of(in, [](const ShiftDependence &d) { return d.isFree(); }))
    return ShiftDependence::free();
  using D = ShiftDependence;
  auto same = [&](D x, D y) -> D {
    if (x == y)
      return x;
    return D::unknown();
  };
  if (isa<arith::AddFOp, arith::SubFOp>(op)) {
    int64_t sign = isa<arith::SubFOp>(op) ? -1 : 1;
    D x = in[0], y = in[1];
    bool xs = x.kind == D::Shift || x.isFree(),
         ys = y.kind == D::Shift || y.isFree();
    if (xs && ys)
      return D::shift(x.a + sign * y.a);
    return same(x, y);
  }
  if (isa<arith::MulFOp, arith::DivFOp>(op)) {
    D x = in[0], y = in[1];
    bool xs = x.kind == D::Scale || x.isFree(),
         ys = y.kind == D::Scale || y.isFree();
    if (xs && ys)
      return D::scale(isa<arith::MulFOp>(op) ? x.a + y.a : x.a - y.a);
    return D::unknown();
  }
  if (isa<arith::NegFOp>(op)) {
    D x = in[0];
    return x.kind == D::Shift ? D::shift(-x.a) : x;
  }
  if (isa<math::ExpOp>(op))
    return in[0].kind == D::Shift ? D::scale(in[0].a) : D::unknown();
  if (isa<math::LogOp>(op))
    return in[0].kind == D::Scale ? D::shift(in[0].a) : D::unknown();
  if (isa<arith::MaximumFOp, arith::MinimumFOp, arith::MaxNumFOp,
          arith::MinNumFOp>(op))
    return in[0].kind == D::Shift || in[0].kind == D::Scale ? same(in[0], in[1])
                                                            : D::unknown();
  if (auto cmp = dyn_cast<arith::CmpFOp>(op)) {
    // A shifted value against ±inf, a scaled one against 0: the same
    // answer for every finite t.
    for (int k = 0; k < 2; ++k) {
      Value other = op->getOperand(1 - k);
      if (!in[1 - k].isFree())
        continue;
      if (in[k].kind == D::Shift &&
          (isConstant(other, INFINITY) || isConstant(other, -INFINITY)))
        return D::free();
      if (in[k].kind == D::Scale && isConstant(other, 0.0))
        return D::free();
    }
    return D::unknown();
  }
  if (isa<arith::SelectOp>(op)) {
    if (!in[0].isFree())
      return D::unknown();
    // A constant branch that the shift leaves alone: 0 for a scaled value,
    // ±inf for a shifted one.
    D x = in[1], y = in[2];
    Value xv = op->getOperand(1), yv = op->getOperand(2);
    auto absorbs = [&](Value c, D other) {
      if (other.kind == D::Scale)
        return isConstant(c, 0.0);
      if (other.kind == D::Shift)
        return isConstant(c, INFINITY) || isConstant(c, -INFINITY);
      return false;
    };
    if (x.isFree() && absorbs(xv, y))
      return y;
    if (y.isFree() && absorbs(yv, x))
      return x;
    return same(x, y);
  }
  return D::unknown();
}

/// True when `max` (a maximum or minimum in a map body) only stabilises:
/// the body's results are the same whatever constant is added to it, its
/// operands and everything else held fixed (lse with a sink logit,
/// M + log(l·e^(m − M) + e^(σ − M)) for M = max(m, σ), is log(l·e^m + e^σ)
/// for any M). Its value may then be taken as independent of any shift of
/// its operands.
bool onlyStabilizes(Block &body, Operation *max) {
  using D = ShiftDependence;
  DenseMap<Value, D> local;
  for (Operation &inner : body.without_terminator()) {
    if (&inner == max) {
      local[inner.getResult(0)] = D::shift(1);
      continue;
    }
    SmallVector<D> in;
    for (Value operand : inner.getOperands())
      in.push_back(local.lookup(operand));
    for (Value r : inner.getResults())
      local[r] = scalarDependence(&inner, in);
  }
  return llvm::all_of(body.getTerminator()->getOperands(),
                      [&](Value v) { return local.lookup(v).isFree(); });
}

} // namespace

DenseMap<Value, ShiftDependence> attn::shiftDependences(ReduceOp max,
                                                        func::FuncOp fn) {
  using D = ShiftDependence;
  DenseMap<Value, D> dep;
  auto of = [&](Value v) { return dep.lookup(v); };
  Block &block = fn.getBody().front();
  for (Operation &op : block.without_terminator()) {
    if (&op == max.getOperation()) {
      dep[max.getResult()] = D::shift(1);
      continue;
    }
    D result = D::free();
    if (auto map = dyn_cast<MapOp>(op)) {
      Block &body = map.getBody().front();
      DenseMap<Value, D> local;
      unsigned numIndices = map.getEquation().getValue().output.size();
      for (auto [k, in] : llvm::enumerate(map.getInputs()))
        local[body.getArgument(numIndices + k)] = of(in);
      unsigned capture = numIndices + map.getInputs().size();
      for (Value c : map.getCaptures())
        local[body.getArgument(capture++)] = of(c);
      for (Operation &inner : body.without_terminator()) {
        SmallVector<D> in;
        for (Value operand : inner.getOperands())
          in.push_back(local.lookup(operand));
        for (Value r : inner.getResults())
          local[r] = scalarDependence(&inner, in);
        // A maximum of a shifted and a fixed value is no shift of either,
        // but one that only stabilises the body may be held fixed.
        if (isa<arith::MaximumFOp, arith::MinimumFOp, arith::MaxNumFOp,
                arith::MinNumFOp>(inner) &&
            local[inner.getResult(0)].kind == D::Unknown &&
            onlyStabilizes(body, &inner))
          local[inner.getResult(0)] = D::free();
      }
      result = local.lookup(body.getTerminator()->getOperand(0));
    } else if (auto contract = dyn_cast<ContractOp>(op)) {
      bool product = contract.getCombine() == CombineKind::Mul;
      int64_t a = 0;
      for (Value in : contract.getInputs()) {
        D d = of(in);
        if (d.kind == D::Shift || d.kind == D::Unknown ||
            (!product && !d.isFree())) {
          result = D::unknown();
          break;
        }
        a += d.a;
      }
      if (result.kind != D::Unknown)
        result = D::scale(a);
    } else if (auto reduce = dyn_cast<ReduceOp>(op)) {
      D d = of(reduce.getInput());
      // A sum keeps a scale; a maximum keeps a shift or a (positive) scale.
      if (reduce.getKind() == ReduceKind::Add && d.kind == D::Shift)
        result = D::unknown();
      else
        result = d;
    } else if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp,
                   tensor::CastOp>(op)) {
      result = of(op.getOperand(0));
    } else {
      for (Value operand : op.getOperands())
        if (!of(operand).isFree())
          result = D::unknown();
    }
    for (Value r : op.getResults())
      dep[r] = result;
  }
  return dep;
}

bool attn::isShiftInvariant(ReduceOp max, func::FuncOp fn, int64_t numResults) {
  DenseMap<Value, ShiftDependence> dep = shiftDependences(max, fn);
  OperandRange results = fn.getBody().front().getTerminator()->getOperands();
  if (numResults >= 0)
    results = results.take_front(numResults);
  return llvm::all_of(results, [&](Value v) { return dep.lookup(v).isFree(); });
}
