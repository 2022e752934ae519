//===- PaddingTest.cpp - what a map yields at a ragged tile's padding ------===//
//
// padOfMap (codegen/lib/Padding.h) lets the tensor-core emitter drop the
// key guards of reductions and of P·V. A wrong "Zero" or "NegInf" is a wrong
// result at ragged lengths, so each case here is a region the proof must
// accept or must refuse: the anchored softmax numerator is 0 at -inf scores
// for every row maximum; the same numerator without the row's -inf test is
// NaN for an empty row; a region that turns a NaN row value into a finite
// weight is refused; products of 0 with an unknown value are refused.
//
//===----------------------------------------------------------------------===//

#include "Padding.h"

#include "attn/Dialect/AttnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace attn;
using attn::codegen::detail::Pad;
using attn::codegen::detail::padOfMap;

namespace {

class PaddingTest : public ::testing::Test {
protected:
  PaddingTest() {
    ctx.loadDialect<AttnDialect, mlir::func::FuncDialect,
                    mlir::arith::ArithDialect, mlir::math::MathDialect>();
  }

  /// The padding of a map "bhij,bhi->bhij" over a score tile %x (whose
  /// padding is `xPad`) and a per-row value %r, with the body `body`
  /// yielding %y.
  Pad padOf(llvm::StringRef body, Pad xPad) {
    std::string source =
        "func.func @f(%s: tensor<1x1x16x16xf32>, %m: tensor<1x1x16xf32>) "
        "-> tensor<1x1x16x16xf32> {\n"
        "  %p = attn.map \"bhij,bhi->bhij\" ins(%s, %m : "
        "tensor<1x1x16x16xf32>, tensor<1x1x16xf32>) -> "
        "tensor<1x1x16x16xf32> {\n"
        "  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32, "
        "%r: f32):\n" +
        body.str() +
        "\n    attn.yield %y : f32\n  }\n"
        "  return %p : tensor<1x1x16x16xf32>\n}\n";
    module = mlir::parseSourceString<mlir::ModuleOp>(source, &ctx);
    EXPECT_TRUE(module) << source;
    if (!module)
      return Pad::Unknown;
    MapOp map;
    module->walk([&](MapOp m) { map = m; });
    std::optional<Pad> pads[] = {xPad, std::nullopt};
    return padOfMap(map, pads);
  }

  mlir::MLIRContext ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
};

// exp2(x - select(r == -inf, 0, r)) with x = -inf: 0 for every r, and NaN
// only where r is NaN, which makes every element of the row NaN.
TEST_F(PaddingTest, AnchoredExp2IsZeroAtNegInf) {
  const char *body = R"(
    %ninf = arith.constant 0xFF800000 : f32
    %zero = arith.constant 0.0 : f32
    %empty = arith.cmpf oeq, %r, %ninf : f32
    %r0 = arith.select %empty, %zero, %r : f32
    %d = arith.subf %x, %r0 : f32
    %y = math.exp2 %d fastmath<afn> : f32)";
  EXPECT_EQ(padOf(body, Pad::NegInf), Pad::Zero);
  // Garbage padding gives nothing.
  EXPECT_EQ(padOf(body, Pad::Unknown), Pad::Unknown);
}

// Without the row's test, an empty row (r = -inf) gives exp2(-inf + inf):
// NaN at the padding while the valid elements are 0 after the select.
TEST_F(PaddingTest, UnanchoredExp2IsRefused) {
  const char *body = R"(
    %ninf = arith.constant 0xFF800000 : f32
    %zero = arith.constant 0.0 : f32
    %d = arith.subf %x, %r : f32
    %e = math.exp2 %d : f32
    %empty = arith.cmpf oeq, %r, %ninf : f32
    %y = arith.select %empty, %zero, %e : f32)";
  EXPECT_EQ(padOf(body, Pad::NegInf), Pad::Unknown);
}

// A NaN row value that picks a finite weight for every element would put a
// weight at the padding: refused, though it is 0 for every non-NaN r.
TEST_F(PaddingTest, NaNRowValueMustPoisonTheRow) {
  const char *body = R"(
    %ninf = arith.constant 0xFF800000 : f32
    %zero = arith.constant 0.0 : f32
    %half = arith.constant 0.5 : f32
    %empty = arith.cmpf oeq, %r, %ninf : f32
    %r0 = arith.select %empty, %zero, %r : f32
    %d = arith.subf %x, %r0 : f32
    %e = math.exp2 %d : f32
    %isnan = arith.cmpf uno, %r, %r : f32
    %y = arith.select %isnan, %half, %e : f32)";
  EXPECT_EQ(padOf(body, Pad::NegInf), Pad::Unknown);
}

// A positive scale keeps -inf; a product of the zero padding with a row
// value is refused (0 * inf); with a constant it stays 0.
TEST_F(PaddingTest, ProductsAndScales) {
  EXPECT_EQ(padOf(R"(
    %c = arith.constant 0.125 : f32
    %y = arith.mulf %x, %c : f32)",
                  Pad::NegInf),
            Pad::NegInf);
  EXPECT_EQ(padOf(R"(
    %c = arith.constant -2.0 : f32
    %y = arith.mulf %x, %c : f32)",
                  Pad::NegInf),
            Pad::Unknown); // +inf
  EXPECT_EQ(padOf(R"(%y = arith.mulf %x, %r : f32)", Pad::Zero),
            Pad::Unknown);
  EXPECT_EQ(padOf(R"(
    %c = arith.constant 3.0 : f32
    %z = arith.constant 0.0 : f32
    %p = arith.mulf %x, %c : f32
    %y = arith.addf %p, %z : f32)",
                  Pad::Zero),
            Pad::Zero);
  // -inf + r: NaN for r = +inf, which is not NaN-poisoning of the row.
  EXPECT_EQ(padOf(R"(%y = arith.addf %x, %r : f32)", Pad::NegInf),
            Pad::Unknown);
  // max(x, r) is r at the padding, not a constant.
  EXPECT_EQ(padOf(R"(%y = arith.maximumf %x, %r : f32)", Pad::NegInf),
            Pad::Unknown);
}

// Sigmoid (1 / (1 + exp(-x))) is 0 at -inf, but division is not evaluated:
// the emitter forces the padding with a select instead.
TEST_F(PaddingTest, UnevaluatedOpsGiveNothing) {
  EXPECT_EQ(padOf(R"(
    %one = arith.constant 1.0 : f32
    %n = arith.negf %x : f32
    %e = math.exp %n : f32
    %den = arith.addf %one, %e : f32
    %y = arith.divf %one, %den : f32)",
                  Pad::NegInf),
            Pad::Unknown);
}

} // namespace
