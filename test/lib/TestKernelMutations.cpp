//===- TestKernelMutations.cpp - deliberate miscompilations ---------------===//
//
// Each pass rewrites kernel IR (after attn-fuse) into a subtly or grossly
// wrong kernel; the tests run the result against the reference and expect
// the check to fail.
//
//===----------------------------------------------------------------------===//

#include "TestPasses.h"

#include "attn/Dialect/AttnDialect.h"
#include "attn/Dialect/KernelAttrs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;
using namespace attn;

namespace {

/// Every tile classification answers `class`: 0 skips every tile (a wrongly
/// skipped tile), 1 runs every tile without its mask (a missing mask), 2
/// evaluates the mask everywhere (correct, only slower).
struct ForceTileClass
    : public PassWrapper<ForceTileClass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ForceTileClass)
  ForceTileClass() = default;
  ForceTileClass(const ForceTileClass &other) : PassWrapper(other) {}
  StringRef getArgument() const final { return "test-attn-force-tile-class"; }
  StringRef getDescription() const final {
    return "Testing only: replace every attn.tile_class by a constant class";
  }
  Option<int64_t> tileClass{*this, "class",
                            llvm::cl::desc("0 empty, 1 full, 2 partial"),
                            llvm::cl::init(2)};
  void runOnOperation() final {
    getOperation().walk([&](TileClassOp op) {
      OpBuilder b(op);
      op.replaceAllUsesWith(
          arith::ConstantIndexOp::create(b, op.getLoc(), tileClass).getResult());
      op.erase();
    });
  }
};

/// Moves the bounds of every KV loop by whole tiles: `lower-tiles` = 1
/// starts one tile late, `upper-tiles` = 1 stops one tile early.
struct ShiftKvBounds
    : public PassWrapper<ShiftKvBounds, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ShiftKvBounds)
  ShiftKvBounds() = default;
  ShiftKvBounds(const ShiftKvBounds &other) : PassWrapper(other) {}
  StringRef getArgument() const final { return "test-attn-shift-kv-bounds"; }
  StringRef getDescription() const final {
    return "Testing only: move every KV loop's bounds by whole tiles";
  }
  Option<int64_t> lowerTiles{*this, "lower-tiles",
                             llvm::cl::desc("tiles the loop starts late"),
                             llvm::cl::init(0)};
  Option<int64_t> upperTiles{*this, "upper-tiles",
                             llvm::cl::desc("tiles the loop stops early"),
                             llvm::cl::init(0)};
  void runOnOperation() final {
    getOperation().walk([&](scf::ForOp loop) {
      if (!isKvLoop(loop))
        return;
      OpBuilder b(loop);
      Location loc = loop.getLoc();
      auto moved = [&](Value bound, int64_t tiles) -> Value {
        if (tiles == 0)
          return bound;
        auto n = arith::ConstantIndexOp::create(b, loc, tiles);
        auto delta = arith::MulIOp::create(b, loc, n, loop.getStep());
        return arith::AddIOp::create(b, loc, bound, delta);
      };
      loop.setLowerBound(moved(loop.getLowerBound(), lowerTiles));
      loop.setUpperBound(moved(loop.getUpperBound(), -upperTiles));
    });
  }
};

/// The one tile whose rows start at `row` and keys at `col` gets class
/// `class`; every other tile keeps its own.
struct MisclassifyTile
    : public PassWrapper<MisclassifyTile, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(MisclassifyTile)
  MisclassifyTile() = default;
  MisclassifyTile(const MisclassifyTile &other) : PassWrapper(other) {}
  StringRef getArgument() const final { return "test-attn-misclassify-tile"; }
  StringRef getDescription() const final {
    return "Testing only: give one (Q tile, KV tile) pair a wrong class";
  }
  Option<int64_t> row{*this, "row", llvm::cl::desc("first row of the tile"),
                      llvm::cl::init(0)};
  Option<int64_t> col{*this, "col", llvm::cl::desc("first key of the tile"),
                      llvm::cl::init(0)};
  Option<int64_t> tileClass{*this, "class", llvm::cl::desc("its class"),
                            llvm::cl::init(1)};
  void runOnOperation() final {
    getOperation().walk([&](TileClassOp op) {
      OpBuilder b(op);
      b.setInsertionPointAfter(op);
      Location loc = op.getLoc();
      auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
      auto atRow = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                         op.getI0(), c(row));
      auto atCol = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                         op.getJ0(), c(col));
      auto here = arith::AndIOp::create(b, loc, atRow, atCol);
      auto wrong = arith::SelectOp::create(b, loc, here, c(tileClass), op);
      op.getResult().replaceAllUsesExcept(wrong, wrong);
    });
  }
};

} // namespace

void attn::test::registerTestPasses() {
  PassRegistration<ForceTileClass>();
  PassRegistration<ShiftKvBounds>();
  PassRegistration<MisclassifyTile>();
  registerInteriorOnlyPass();
}
