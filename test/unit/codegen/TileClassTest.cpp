//===- TileClassTest.cpp - the mask domain of attn/device/tile_class.h -----===//
//
// attn/device/tile_class.h is the one definition of the mask domain: the
// compiler's MaskAnalysis (whose soundness against element-wise evaluation
// MaskAnalysisTest checks exhaustively) and the kernels' tile classification
// both call tc::apply with the transfer function the region-op registry
// names. Here: every transfer the registry names is dispatched by apply, and
// the domain's casts are sound.
//
//===----------------------------------------------------------------------===//

#include "attn/device/tile_class.h"

#include "attn/Dialect/AttnDialect.h"
#include "attn/Dialect/RegionOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace attn;
namespace tc = attn::device::tc;

namespace {

// Every op number below kOpSelectBool reaches its own transfer function:
// with known operands, apply() never falls through to "unknown".
TEST(TileClassApply, EveryOpIsDispatched) {
  tc::Tile t{0, 16, 0, 16};
  tc::Val a = tc::constant(t, 12), b = tc::constant(t, 5);
  tc::Val yes = tc::boolean(tc::kTrue), no = tc::boolean(tc::kFalse);
  for (int op = tc::kOpConstant; op <= tc::kOpSelectBool; ++op) {
    bool boolIn = op == tc::kOpCmpiBool || op == tc::kOpAndBool ||
                  op == tc::kOpOrBool || op == tc::kOpXorBool ||
                  op == tc::kOpExtBool;
    int64_t imm0 = op == tc::kOpCast ? 64 : op == tc::kOpBoolConstant ? 1 : 0;
    int64_t imm1 = op == tc::kOpCast ? 64 : 0;
    tc::Val r = op == tc::kOpSelect       ? tc::apply(t, op, 0, 0, 0, yes, a, b)
                : op == tc::kOpSelectBool ? tc::apply(t, op, 0, 0, 0, yes, no, yes)
                : boolIn ? tc::apply(t, op, imm0, imm1, 0, yes, no)
                         : tc::apply(t, op, imm0, imm1, 0, a, b);
    EXPECT_TRUE(r.known) << "op " << op;
    EXPECT_STRNE(tc::opName(op), "kOpUnknown") << "op " << op;
  }
  EXPECT_FALSE(tc::apply(t, tc::kOpUnknown, 0, 0, 0, a, b).known);
}

// The registry names a transfer for exactly the integer ops of the mask
// domain, and for no float op (float math is unknown: tiles stay partial).
TEST(TileClassApply, RegistryTransfersAreIntegerOps) {
  mlir::MLIRContext ctx;
  ctx.loadDialect<mlir::arith::ArithDialect, mlir::math::MathDialect>();
  mlir::OpBuilder b(&ctx);
  auto loc = b.getUnknownLoc();
  auto i64 = mlir::arith::ConstantIndexOp::create(b, loc, 3);
  auto f32 = mlir::arith::ConstantFloatOp::create(
      b, loc, b.getF32Type(), llvm::APFloat(1.5f));
  auto add = mlir::arith::AddIOp::create(b, loc, i64, i64);
  auto addf = mlir::arith::AddFOp::create(b, loc, f32, f32);
  const regionops::Rule *addRule = regionops::lookup(add);
  const regionops::Rule *addfRule = regionops::lookup(addf);
  ASSERT_TRUE(addRule && addfRule);
  ASSERT_TRUE(addRule->transfer);
  EXPECT_EQ(addRule->transfer(add).op, tc::kOpAddi);
  EXPECT_EQ(addfRule->transfer, nullptr);
  add->erase();
  addf->erase();
  i64->erase();
  f32->erase();
}

// Casts of values read from captured tensors: a zero extension of a range
// that may be negative (an i8 200 read as -56), or a narrowing that does not
// fit, must not keep the range -- a tile would be skipped or run mask-free
// on the wrong values.
TEST(TileClassCast, UnsafeCastsAreUnknown) {
  tc::Tile t{0, 16, 0, 16};
  tc::Val negative = tc::interval(t, -56, 10);
  EXPECT_FALSE(tc::cast(negative, 8, 64, /*isUnsigned=*/true).known);
  tc::Val kept = tc::cast(negative, 8, 64, /*isUnsigned=*/false);
  EXPECT_TRUE(kept.known);
  EXPECT_EQ(kept.lo, -56);
  EXPECT_EQ(kept.hi, 10);
  tc::Val wide = tc::interval(t, 0, 300);
  EXPECT_FALSE(tc::cast(wide, 64, 8, false).known);
  EXPECT_TRUE(tc::cast(wide, 64, 16, false).known);
  tc::Val row = tc::rowIndex(t);
  tc::Val zext = tc::cast(row, 32, 64, true);
  EXPECT_TRUE(zext.known && zext.affine); // i in [0, 16): unchanged
}

} // namespace
