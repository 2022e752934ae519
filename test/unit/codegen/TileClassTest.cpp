//===- TileClassTest.cpp - device tile classification == MaskAnalysis ------===//
//
// attn/device/tile_class.h is what emitted kernels call to classify tiles;
// MaskAnalysis is what the compiler and the interpreter use. On the masks of
// MaskAnalysisTest's corpus (copied below) and many tiles, evaluating the
// mask region op by op with the header's functions (the same dispatch as the
// emitter's) must give exactly MaskAnalysis::classify's class.
//
//===----------------------------------------------------------------------===//

#include "attn/device/tile_class.h"

#include "attn/Analysis/MaskAnalysis.h"
#include "attn/Dialect/AttnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/DenseMap.h"

#include <gtest/gtest.h>

#include "../MaskCorpus.h"

using namespace attn;
namespace tc = attn::device::tc;
using attn::test::MaskCase;
using attn::test::kCorpus;

namespace {


/// Evaluates `block` (b, h, i, j, nq, nk, captures) on `tile` with the
/// header's functions, one call per op, as the emitted kernel does.
int deviceClass(mlir::Block &block, const tc::Tile &t, int64_t b, int64_t h,
                int64_t nq, int64_t nk, std::optional<int64_t> capture) {
  using namespace mlir;
  llvm::DenseMap<Value, tc::Val> v;
  int64_t fixed[] = {b, h, 0, 0, nq, nk};
  for (auto [k, arg] : llvm::enumerate(block.getArguments())) {
    if (k == 2)
      v[arg] = tc::rowIndex(t);
    else if (k == 3)
      v[arg] = tc::colIndex(t);
    else if (k < 6)
      v[arg] = tc::constant(t, fixed[k]);
    else
      v[arg] = capture && arg.getType().isIntOrIndex()
                   ? tc::constant(t, *capture)
                   : tc::unknown();
  }
  for (Operation &op : block) {
    if (op.hasTrait<OpTrait::IsTerminator>())
      return tc::classify(v.lookup(op.getOperand(0)));
    if (op.getNumResults() != 1)
      continue;
    auto in = [&](unsigned k) { return v.lookup(op.getOperand(k)); };
    bool isBool = op.getResult(0).getType().isInteger(1);
    tc::Val unknown = isBool ? tc::boolean(tc::kUnknown) : tc::unknown();
    tc::Val r = unknown;
    if (auto c = dyn_cast<arith::ConstantOp>(op)) {
      if (auto i = dyn_cast<IntegerAttr>(c.getValue()))
        r = isBool ? tc::boolean(i.getValue().getBoolValue() ? tc::kTrue
                                                             : tc::kFalse)
                   : tc::constant(t, i.getValue().getSExtValue());
    } else if (isa<arith::AddIOp>(op)) r = tc::addi(t, in(0), in(1));
    else if (isa<arith::SubIOp>(op)) r = tc::subi(t, in(0), in(1));
    else if (isa<arith::MulIOp>(op)) r = tc::muli(t, in(0), in(1));
    else if (isa<arith::FloorDivSIOp>(op)) r = tc::floordivsi(t, in(0), in(1));
    else if (isa<arith::DivSIOp>(op)) r = tc::divsi(t, in(0), in(1));
    else if (isa<arith::DivUIOp>(op)) r = tc::divui(t, in(0), in(1));
    else if (isa<arith::CeilDivSIOp>(op)) r = tc::ceildivsi(t, in(0), in(1));
    else if (isa<arith::RemSIOp>(op)) r = tc::remsi(t, in(0), in(1));
    else if (isa<arith::RemUIOp>(op)) r = tc::remui(t, in(0), in(1));
    else if (isa<math::AbsIOp>(op)) r = tc::absi(t, in(0));
    else if (isa<arith::MaxSIOp>(op)) r = tc::maxsi(t, in(0), in(1));
    else if (isa<arith::MinSIOp>(op)) r = tc::minsi(t, in(0), in(1));
    else if (isa<arith::MaxUIOp>(op)) r = tc::maxui(t, in(0), in(1));
    else if (isa<arith::MinUIOp>(op)) r = tc::minui(t, in(0), in(1));
    else if (isa<arith::IndexCastOp, arith::IndexCastUIOp, arith::ExtSIOp,
                 arith::ExtUIOp, arith::TruncIOp>(op)) {
      if (op.getOperand(0).getType().isInteger(1))
        r = tc::extBool(t, in(0), isa<arith::ExtSIOp>(op));
      else if (!isBool) {
        auto bits = [](Type type) {
          return type.isIndex() ? 64
                                : static_cast<int>(type.getIntOrFloatBitWidth());
        };
        r = tc::cast(in(0), bits(op.getOperand(0).getType()),
                     bits(op.getResult(0).getType()),
                     isa<arith::ExtUIOp, arith::IndexCastUIOp>(op));
      }
    } else if (auto c = dyn_cast<arith::CmpIOp>(op)) {
      int p = static_cast<int>(c.getPredicate());
      r = op.getOperand(0).getType().isInteger(1)
              ? tc::cmpiBool(p, in(0), in(1))
              : tc::cmpi(t, p, in(0), in(1));
    } else if (isa<arith::AndIOp, arith::OrIOp, arith::XOrIOp>(op)) {
      int kind = isa<arith::AndIOp>(op) ? 0 : isa<arith::OrIOp>(op) ? 1 : 2;
      if (!isBool)
        r = tc::bitwise(t, kind, in(0), in(1));
      else
        r = kind == 0 ? tc::andBool(in(0), in(1))
            : kind == 1 ? tc::orBool(in(0), in(1))
                        : tc::xorBool(in(0), in(1));
    } else if (isa<arith::SelectOp>(op)) {
      r = tc::select(t, in(0), in(1), in(2), isBool);
    }
    v[op.getResult(0)] = r;
  }
  return tc::kPartial;
}

class TileClassTest : public ::testing::TestWithParam<MaskCase> {
protected:
  TileClassTest() {
    ctx.loadDialect<AttnDialect, mlir::func::FuncDialect,
                    mlir::math::MathDialect, mlir::arith::ArithDialect,
                    mlir::tensor::TensorDialect>();
  }
  mlir::Region *parseMask(const MaskCase &c) {
    return test::parseMaskVariant(c, ctx, module);
  }
  mlir::MLIRContext ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
};

TEST_P(TileClassTest, HeaderMatchesMaskAnalysis) {
  const MaskCase &c = GetParam();
  mlir::Region *mask = parseMask(c);
  ASSERT_TRUE(mask);
  MaskAnalysis analysis(*mask);
  const int64_t lengths[] = {1, 33, 100, 131};
  const std::pair<int64_t, int64_t> tiles[] = {{16, 16}, {64, 64}, {13, 7}};
  std::vector<int64_t> captures =
      c.usesCapture ? std::vector<int64_t>{0, 5, 40} : std::vector<int64_t>{0};
  int64_t checked = 0;
  for (int64_t nq : lengths)
    for (int64_t nk : lengths)
      for (auto [bm, bn] : tiles)
        for (int64_t p : captures) {
          MaskContext context{0, 0, nq, nk, {}, {}};
          if (c.usesCapture)
            context.captureScalars.push_back(p);
          for (int64_t i0 = 0; i0 < nq; i0 += bm)
            for (int64_t j0 = 0; j0 < nk; j0 += bn) {
              Tile tile{i0, std::min(i0 + bm, nq), j0, std::min(j0 + bn, nk)};
              TileClass expected = analysis.classify(context, tile);
              int want = expected == TileClass::Empty  ? tc::kEmpty
                         : expected == TileClass::Full ? tc::kFull
                                                       : tc::kPartial;
              int got = deviceClass(
                  mask->front(), tc::Tile{tile.i0, tile.i1, tile.j0, tile.j1},
                  0, 0, nq, nk,
                  c.usesCapture ? std::optional<int64_t>(p) : std::nullopt);
              ASSERT_EQ(got, want)
                  << c.name << ": nq=" << nq << " nk=" << nk << " p=" << p
                  << " tile [" << tile.i0 << "," << tile.i1 << ")x["
                  << tile.j0 << "," << tile.j1 << ")";
              ++checked;
            }
        }
  EXPECT_GT(checked, 100);
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

INSTANTIATE_TEST_SUITE_P(Corpus, TileClassTest, ::testing::ValuesIn(kCorpus),
                         [](const ::testing::TestParamInfo<MaskCase> &info) {
                           return std::string(info.param.name);
                         });

} // namespace
