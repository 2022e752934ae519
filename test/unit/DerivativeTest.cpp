//===- DerivativeTest.cpp - the registry's derivative rules ---------------===//
//
// Every float op of the region-op registry with a derivative rule: its
// tangent, built by the rule and evaluated by the reference interpreter,
// against central differences of the op's own float64 evaluation, at random
// points of the op's domain, for each operand.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/AttnDialect.h"
#include "attn/Dialect/RegionOps.h"
#include "attn/Interpreter/Interpreter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

using namespace mlir;
using attn::interp::Tensor;

namespace {

/// An op under test and the interval its operands are drawn from (one where
/// it is smooth: log of positives, atan2 away from the origin).
struct Case {
  const char *name;
  unsigned arity;
  double lo, hi;
};

const Case kCases[] = {
    {"arith.addf", 2, -3, 3},     {"arith.subf", 2, -3, 3},
    {"arith.mulf", 2, -3, 3},     {"arith.divf", 2, 0.5, 3},
    {"arith.remf", 2, 0.3, 5},    {"arith.negf", 1, -3, 3},
    {"arith.maximumf", 2, -3, 3}, {"arith.minimumf", 2, -3, 3},
    {"arith.maxnumf", 2, -3, 3},  {"arith.minnumf", 2, -3, 3},
    {"math.exp", 1, -3, 3},       {"math.exp2", 1, -3, 3},
    {"math.expm1", 1, -3, 3},     {"math.log", 1, 0.2, 4},
    {"math.log2", 1, 0.2, 4},     {"math.log10", 1, 0.2, 4},
    {"math.log1p", 1, -0.5, 4},   {"math.tanh", 1, -2, 2},
    {"math.sqrt", 1, 0.2, 4},     {"math.rsqrt", 1, 0.2, 4},
    {"math.absf", 1, -3, 3},      {"math.sin", 1, -3, 3},
    {"math.cos", 1, -3, 3},       {"math.tan", 1, -1.2, 1.2},
    {"math.atan", 1, -3, 3},      {"math.atan2", 2, 0.3, 3},
    {"math.erf", 1, -2, 2},       {"math.powf", 2, 0.3, 2.5},
    {"math.floor", 1, -3, 3},     {"math.ceil", 1, -3, 3},
    {"math.round", 1, -3, 3},     {"math.copysign", 2, -3, 3},
};

class DerivativeTest : public ::testing::Test {
protected:
  DerivativeTest() {
    ctx.loadDialect<attn::AttnDialect, func::FuncDialect, arith::ArithDialect,
                    math::MathDialect>();
  }

  /// `@f(%a, %b: f32) -> f32` applying `name` to its first `arity`
  /// arguments; with `seed` ≥ 0, returns instead the tangent of the result
  /// with respect to argument `seed`, built by the op's derivative rule.
  func::FuncOp build(const Case &c, int seed) {
    OpBuilder b(&ctx);
    Location loc = b.getUnknownLoc();
    module = ModuleOp::create(loc);
    b.setInsertionPointToEnd(module->getBody());
    Type f32 = b.getF32Type();
    auto fn = func::FuncOp::create(b, loc, "f",
                                   b.getFunctionType({f32, f32}, {f32}));
    Block *body = fn.addEntryBlock();
    b.setInsertionPointToEnd(body);
    OperationState state(loc, c.name);
    state.addOperands(body->getArguments().take_front(c.arity));
    state.addTypes(f32);
    Operation *op = b.create(state);
    Value result = op->getResult(0);
    if (seed >= 0) {
      SmallVector<Value> dx(c.arity);
      dx[seed] = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0));
      FailureOr<Value> t = attn::regionops::tangent(b, op, dx);
      EXPECT_TRUE(succeeded(t)) << c.name;
      result = succeeded(t) && *t
                   ? *t
                   : arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0))
                         .getResult();
    }
    func::ReturnOp::create(b, loc, result);
    return fn;
  }

  double run(func::FuncOp fn, double a, double b) {
    auto out = attn::interp::runFunction(
        fn, {Tensor::scalar(a), Tensor::scalar(b)});
    EXPECT_TRUE(bool(out)) << llvm::toString(out.takeError());
    return out ? (*out)[0].data[0] : NAN;
  }

  MLIRContext ctx;
  OwningOpRef<ModuleOp> module;
};

TEST_F(DerivativeTest, RulesMatchCentralDifferences) {
  std::mt19937_64 rng(7);
  for (const Case &c : kCases) {
    std::uniform_real_distribution<double> draw(c.lo, c.hi);
    for (unsigned seed = 0; seed < c.arity; ++seed) {
      for (int trial = 0; trial < 8; ++trial) {
        double x[2] = {draw(rng), draw(rng)};
        double tangent = run(build(c, seed), x[0], x[1]);
        func::FuncOp primal = build(c, -1);
        const double h = 1e-6;
        double up[2] = {x[0], x[1]}, down[2] = {x[0], x[1]};
        up[seed] += h;
        down[seed] -= h;
        double fd = (run(primal, up[0], up[1]) - run(primal, down[0], down[1])) /
                    (2 * h);
        EXPECT_NEAR(tangent, fd, 1e-6 * std::max(1.0, std::fabs(fd)))
            << c.name << " d/dx" << seed << " at (" << x[0] << ", " << x[1]
            << ")";
      }
    }
  }
}

/// powf at a = 0: finite tangents where the derivative is (0·inf would be
/// NaN): d(0^2)/da = 0, d(0^b)/db = 0 for b > 0, d(a^0)/da = 0.
TEST_F(DerivativeTest, PowAtZeroIsFinite) {
  const Case pow = {"math.powf", 2, 0, 0};
  EXPECT_EQ(run(build(pow, 0), 0.0, 2.0), 0.0);
  EXPECT_EQ(run(build(pow, 1), 0.0, 2.0), 0.0);
  EXPECT_EQ(run(build(pow, 0), 0.0, 0.0), 0.0);
  EXPECT_EQ(run(build(pow, 0), 3.0, 0.0), 0.0);
}

/// Every derivative rule of the registry is among the cases above (a new
/// rule needs a case), and the common ops have one.
TEST_F(DerivativeTest, EveryRuleIsTested) {
  std::set<std::string> covered;
  for (const Case &c : kCases)
    covered.insert(c.name);
  // Casts and select have tangents too; they are checked end to end (the
  // backward of every example).
  for (const char *other : {"arith.select", "arith.extf", "arith.truncf"})
    covered.insert(other);
  for (const attn::regionops::Rule &rule : attn::regionops::allRules()) {
    if (!rule.derivative)
      continue;
    EXPECT_TRUE(covered.count(rule.name.str())) << rule.name.str() << " untested";
  }
  for (const char *name : {"arith.addf", "math.exp", "math.powf",
                           "arith.select", "arith.truncf"})
    EXPECT_NE(attn::regionops::lookup(name)->derivative, nullptr) << name;
}

} // namespace
