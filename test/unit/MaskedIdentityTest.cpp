//===- MaskedIdentityTest.cpp - attn::whyNotIdentityWhereMasked ------------===//
//
// The proof a backward sweep needs before it skips masked tiles, on small
// hand-written cascades: what softmax's guards make exact (a masked weight
// is 0 whether the row maximum is finite or -inf) is proven, and what is not
// exact -- an unguarded exp(s - m) on a row whose every key is masked, a
// tie count against the row maximum, the scores summed themselves, a
// product with a factor that may be infinite, another mask -- is refused.
//
//===----------------------------------------------------------------------===//

#include "attn/Passes/MaskedIdentity.h"

#include "attn/Dialect/AttnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <string>

using namespace mlir;

namespace {

/// A causal mask, the masked scores %s [2,3,5,7] (b, h, i, j) of %qk, and
/// the row maximum %m; `body` continues the function (it may read %s, %m,
/// %l (a row sum: an argument), %v [2,3,7,4] and the index %nk) and returns
/// nothing.
std::string cascade(const std::string &body) {
  return R"mlir(
func.func private @mask(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index) -> i1 {
  %c = arith.cmpi ule, %j, %i : index
  return %c : i1
}
func.func private @other(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index) -> i1 {
  %c = arith.cmpi uge, %j, %i : index
  return %c : i1
}
func.func @f(%qk: tensor<2x3x5x7xf32>, %l: tensor<2x3x5xf32>, %v: tensor<2x3x7x4xf32>, %nk: index) {
  %s = attn.map "bhij->bhij" ins(%qk : tensor<2x3x5x7xf32>) -> tensor<2x3x5x7xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32):
    %c = arith.cmpi ule, %j, %i : index
    %ninf = arith.constant 0xFF800000 : f32
    %r = arith.select %c, %x, %ninf {attn.mask = @mask} : f32
    attn.yield %r : f32
  }
  %m = attn.reduce max "bhij->bhi" %s : tensor<2x3x5x7xf32> -> tensor<2x3x5xf32>
)mlir" + body + R"mlir(
  return
}
)mlir";
}

/// softmax's weights, guarded against a row maximum of -inf.
const char *kGuardedWeights = R"mlir(
  %p = attn.map "bhij,bhi->bhij" ins(%s, %m : tensor<2x3x5x7xf32>, tensor<2x3x5xf32>) -> tensor<2x3x5x7xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32, %y: f32):
    %ninf = arith.constant 0xFF800000 : f32
    %zero = arith.constant 0.0 : f32
    %empty = arith.cmpf oeq, %y, %ninf : f32
    %d = arith.subf %x, %y : f32
    %e = math.exp %d : f32
    %r = arith.select %empty, %zero, %e : f32
    attn.yield %r : f32
  }
)mlir";

class MaskedIdentityTest : public ::testing::Test {
protected:
  MaskedIdentityTest() {
    ctx.loadDialect<attn::AttnDialect, func::FuncDialect,
                    arith::ArithDialect, math::MathDialect>();
  }

  /// The verdict on the last reduction of `cascade(body)`, with mask @mask
  /// (and @other if `bothMasks`); %nk is a positive size if `positive`.
  std::optional<std::string> verdict(const std::string &body,
                                     bool bothMasks = false,
                                     bool positive = false) {
    std::string source = cascade(body);
    module = parseSourceString<ModuleOp>(source, &ctx);
    EXPECT_TRUE(module) << source;
    if (!module)
      return std::string("parse error");
    Operation *reduction = nullptr;
    module->walk([&](Operation *op) {
      if (isa<attn::ReduceOp, attn::ContractOp>(op))
        reduction = op;
    });
    EXPECT_TRUE(reduction);
    if (!reduction)
      return std::string("no such reduction");
    auto isMask = [&](StringRef f) {
      return f == "mask" || (bothMasks && f == "other");
    };
    auto perElement = [](Value v) {
      auto t = dyn_cast<RankedTensorType>(v.getType());
      return t && t.getShape() == ArrayRef<int64_t>{2, 3, 5, 7};
    };
    auto isPositive = [&](Value v) {
      return positive && isa<BlockArgument>(v) && v.getType().isIndex();
    };
    return attn::whyNotIdentityWhereMasked(reduction, isMask, perElement,
                                           isPositive);
  }

  MLIRContext ctx;
  OwningOpRef<ModuleOp> module;
};

TEST_F(MaskedIdentityTest, RowMaximumOfMaskedScores) {
  // A masked score is -inf: the maximum's identity.
  EXPECT_EQ(verdict(""), std::nullopt);
}

TEST_F(MaskedIdentityTest, SumOfMaskedScoresIsRefused) {
  EXPECT_NE(verdict(R"mlir(
  %sum = attn.reduce add "bhij->bhi" %s : tensor<2x3x5x7xf32> -> tensor<2x3x5xf32>
)mlir"), std::nullopt);
}

TEST_F(MaskedIdentityTest, GuardedSoftmaxWeights) {
  // exp(-inf - m) = 0 for a finite m; the guard gives 0 for m = -inf.
  EXPECT_EQ(verdict(std::string(kGuardedWeights) + R"mlir(
  %sum = attn.reduce add "bhij->bhi" %p : tensor<2x3x5x7xf32> -> tensor<2x3x5xf32>
)mlir"), std::nullopt);
  EXPECT_EQ(verdict(std::string(kGuardedWeights) + R"mlir(
  %pv = attn.contract "bhij,bhjd->bhid" combine(mul) reduce(add) %p, %v : tensor<2x3x5x7xf32>, tensor<2x3x7x4xf32> -> tensor<2x3x5x4xf32>
)mlir"), std::nullopt);
}

TEST_F(MaskedIdentityTest, UnguardedExpIsRefused) {
  // A row whose every key is masked has m = -inf: exp(-inf - -inf) is NaN.
  EXPECT_NE(verdict(R"mlir(
  %p = attn.map "bhij,bhi->bhij" ins(%s, %m : tensor<2x3x5x7xf32>, tensor<2x3x5xf32>) -> tensor<2x3x5x7xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32, %y: f32):
    %d = arith.subf %x, %y : f32
    %e = math.exp %d : f32
    attn.yield %e : f32
  }
  %sum = attn.reduce add "bhij->bhi" %p : tensor<2x3x5x7xf32> -> tensor<2x3x5xf32>
)mlir"), std::nullopt);
}

TEST_F(MaskedIdentityTest, TieCountIsRefused) {
  // s = m at a masked element when m = -inf: the count is not 0 there.
  EXPECT_NE(verdict(R"mlir(
  %t = attn.map "bhij,bhi->bhij" ins(%s, %m : tensor<2x3x5x7xf32>, tensor<2x3x5xf32>) -> tensor<2x3x5x7xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32, %y: f32):
    %one = arith.constant 1.0 : f32
    %zero = arith.constant 0.0 : f32
    %eq = arith.cmpf oeq, %x, %y : f32
    %r = arith.select %eq, %one, %zero : f32
    attn.yield %r : f32
  }
  %ties = attn.contract "bhij->bhi" combine(mul) reduce(add) %t : tensor<2x3x5x7xf32> -> tensor<2x3x5xf32>
)mlir"), std::nullopt);
}

TEST_F(MaskedIdentityTest, ProductWithAnInfiniteFactorIsRefused) {
  // p is exactly 0 at a masked element, but 1 / (p · l) may be inf there:
  // 0 × inf is NaN.
  EXPECT_NE(verdict(std::string(kGuardedWeights) + R"mlir(
  %inv = attn.map "bhij,bhi->bhij" ins(%p, %l : tensor<2x3x5x7xf32>, tensor<2x3x5xf32>) -> tensor<2x3x5x7xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32, %y: f32):
    %one = arith.constant 1.0 : f32
    %xy = arith.mulf %x, %y : f32
    %r = arith.divf %one, %xy : f32
    attn.yield %r : f32
  }
  %dot = attn.contract "bhij,bhij->bhi" combine(mul) reduce(add) %p, %inv : tensor<2x3x5x7xf32>, tensor<2x3x5x7xf32> -> tensor<2x3x5xf32>
)mlir"), std::nullopt);
}

TEST_F(MaskedIdentityTest, AnotherMaskIsNotThisOne) {
  // Weights masked by @other: zero where @other removes the element, not
  // where @mask does -- unless the two are known to be the same.
  std::string other = std::string(kGuardedWeights) + R"mlir(
  %w = attn.map "bhij->bhij" ins(%p : tensor<2x3x5x7xf32>) -> tensor<2x3x5x7xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32):
    // The weight itself is dropped: only @other's select decides.
    %c = arith.cmpi uge, %j, %i : index
    %zero = arith.constant 0.0 : f32
    %one = arith.constant 1.0 : f32
    %g = arith.select %c, %one, %zero {attn.mask = @other} : f32
    attn.yield %g : f32
  }
  %sum = attn.reduce add "bhij->bhi" %w : tensor<2x3x5x7xf32> -> tensor<2x3x5xf32>
)mlir";
  EXPECT_NE(verdict(other), std::nullopt);
  EXPECT_EQ(verdict(other, /*bothMasks=*/true), std::nullopt);
}

TEST_F(MaskedIdentityTest, SizesOfTheElementsDimensionsArePositive) {
  // Sigmoid with SigmoidAttn's bias: 1 / (1 + exp(-(s - log nk))). At a
  // masked s = -inf it is 0 when log nk is finite (nk >= 1: a dimension
  // the element lies in), NaN for nk = 0 (-inf - -inf).
  std::string sigmoid = R"mlir(
  %p = attn.map "bhij->bhij" ins(%s : tensor<2x3x5x7xf32>) captures(%nk : index) -> tensor<2x3x5x7xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32, %n: index):
    %one = arith.constant 1.0 : f32
    %ni = arith.index_cast %n : index to i64
    %nf = arith.sitofp %ni : i64 to f32
    %log = math.log %nf : f32
    %biased = arith.subf %x, %log : f32
    %neg = arith.negf %biased : f32
    %e = math.exp %neg : f32
    %d = arith.addf %one, %e : f32
    %r = arith.divf %one, %d : f32
    attn.yield %r : f32
  }
  %pv = attn.contract "bhij,bhjd->bhid" combine(mul) reduce(add) %p, %v : tensor<2x3x5x7xf32>, tensor<2x3x7x4xf32> -> tensor<2x3x5x4xf32>
)mlir";
  EXPECT_NE(verdict(sigmoid), std::nullopt);
  EXPECT_EQ(verdict(sigmoid, /*bothMasks=*/false, /*positive=*/true),
            std::nullopt);
}

} // namespace
