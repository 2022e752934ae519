//===- NarrowIndices.cpp - -attn-narrow-indices ---------------------------===//
//
// A map body runs once per element of a tile: on the tensor-core path once
// per fragment element of fully unrolled loops, so each of its index values
// is 32 to 128 copies in registers and instructions. Index arithmetic is 64
// bits in C++ (`long long`): twice the registers and two or more
// instructions per add, compare and division (NATTEN's window of a 32-wide
// feature map, i / 32 and i % 32 of key and query coordinates, made ptxas
// spill at the default tile).
//
// The values a mask or a score region computes from indices are small: the
// element's local index in the tile, the tile's origin, the sequence lengths,
// constants. Integer range analysis (upstream's, over the whole kernel, with
// every extent of a kernel argument bounded by abi::kMaxExtent, which the
// runtime's packer enforces) gives each index value of a map body a range;
// an add, subtract, multiply, division, remainder, min, max or select whose
// result and operands all lie in [-2^31, 2^31) is computed in i32 instead,
// and so is a compare of two such values (an unsigned compare too: sign
// extension keeps the unsigned order of values in that range). Unsigned
// division, remainder, min and max need operands known to be non-negative.
// A value the analysis cannot bound -- a captured scalar, an element read
// from a tensor, a product that may overflow -- stays 64-bit, and so does
// everything computed from it. The i32 results re-enter 64-bit code through
// a sign-extending index_cast, and sitofp of a narrowed value converts the
// 32-bit one (the same integer, so the same float).
//
//===----------------------------------------------------------------------===//

#include "attn/Codegen/Schedule.h"
#include "attn/Dialect/AttnDialect.h"
#include "attn/Support/KernelAbi.h"

#include "mlir/Analysis/DataFlow/ConstantPropagationAnalysis.h"
#include "mlir/Analysis/DataFlow/DeadCodeAnalysis.h"
#include "mlir/Analysis/DataFlow/IntegerRangeAnalysis.h"
#include "mlir/Analysis/DataFlowFramework.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace attn::codegen {
#define GEN_PASS_DEF_ATTNNARROWINDICES
#include "attn/Codegen/Passes.h.inc"
} // namespace attn::codegen

using namespace mlir;
using namespace attn;

namespace {

/// The range of a value in [lo, hi], as the analysis's lattices hold it.
ConstantIntRanges indexRange(int64_t lo, int64_t hi) {
  unsigned width = IndexType::kInternalStorageBitWidth;
  return ConstantIntRanges::fromSigned(APInt(width, lo, /*isSigned=*/true),
                                       APInt(width, hi, /*isSigned=*/true));
}

/// Upstream integer range analysis, told what the kernels' contract says:
/// a kernel argument's extents are at most abi::kMaxExtent, and a map body's
/// block arguments are its element's local indices (below the output's
/// static extent, or kMaxExtent: a tile is a block of such a tensor), its
/// inputs' elements (unknown) and its captures (their values outside).
class KernelRangeAnalysis : public dataflow::IntegerRangeAnalysis {
public:
  using IntegerRangeAnalysis::IntegerRangeAnalysis;

  LogicalResult visitOperation(
      Operation *op,
      ArrayRef<const dataflow::IntegerValueRangeLattice *> operands,
      ArrayRef<dataflow::IntegerValueRangeLattice *> results) override {
    if (auto dim = dyn_cast<tensor::DimOp>(op);
        dim && isKernelArgument(dim.getSource())) {
      dataflow::IntegerValueRangeLattice *r = results.front();
      propagateIfChanged(
          r, r->join(IntegerValueRange(indexRange(0, abi::kMaxExtent))));
      return success();
    }
    return IntegerRangeAnalysis::visitOperation(op, operands, results);
  }

  /// Whether `v` is an argument of the kernel function: a tensor whose sizes
  /// the packer binds and bounds (not one an op derives, which may be
  /// larger: G query heads packed into one row dimension).
  static bool isKernelArgument(Value v) {
    auto arg = dyn_cast<BlockArgument>(v);
    return arg && arg.getOwner()->isEntryBlock() &&
           isa<FunctionOpInterface>(arg.getOwner()->getParentOp());
  }

  void visitNonControlFlowArguments(
      Operation *op, const RegionSuccessor &successor,
      ArrayRef<dataflow::IntegerValueRangeLattice *> argLattices,
      unsigned firstIndex) override {
    auto map = dyn_cast<MapOp>(op);
    if (!map)
      return IntegerRangeAnalysis::visitNonControlFlowArguments(
          op, successor, argLattices, firstIndex);
    auto type = cast<RankedTensorType>(map.getResult().getType());
    unsigned rank = type.getRank(), inputs = map.getInputs().size();
    for (auto [k, lattice] : llvm::enumerate(argLattices)) {
      IntegerValueRange range =
          IntegerValueRange::getMaxRange(lattice->getAnchor());
      if (k < rank) {
        int64_t extent =
            type.isDynamicDim(k) ? abi::kMaxExtent : type.getDimSize(k);
        range =
            IntegerValueRange(indexRange(0, std::max<int64_t>(extent, 1) - 1));
      } else if (k >= rank + inputs) {
        Value capture = map.getCaptures()[k - rank - inputs];
        const dataflow::IntegerValueRangeLattice *outside =
            getLatticeElementFor(getProgramPointAfter(op), capture);
        if (outside->getValue().isUninitialized())
          continue; // Visited again once the capture's range is known.
        range = outside->getValue();
      }
      propagateIfChanged(lattice, lattice->join(range));
    }
  }
};

/// Whether `r` lies in [-2^31, 2^31).
bool fitsI32(const ConstantIntRanges &r) {
  return r.smin().getSExtValue() >= INT32_MIN &&
         r.smax().getSExtValue() <= INT32_MAX;
}

/// Rewrites one map body's index arithmetic to i32 where the ranges allow.
class BodyNarrower {
public:
  BodyNarrower(Block &body, DataFlowSolver &solver)
      : body(body), solver(solver), b(body.getParentOp()->getContext()),
        i32(b.getI32Type()) {}

  void run() {
    for (Operation &op : llvm::make_early_inc_range(body)) {
      if (isa<arith::CmpIOp>(op))
        narrowCompare(cast<arith::CmpIOp>(op));
      else if (isa<arith::IndexCastOp>(op))
        narrowCast(cast<arith::IndexCastOp>(op));
      else if (isa<arith::SIToFPOp>(op))
        narrowConversion(cast<arith::SIToFPOp>(op));
      else if (op.getNumResults() == 1 && op.getResult(0).getType().isIndex())
        narrowArithmetic(op);
    }
    // Users left on a narrowed op's index result read it sign-extended; the
    // index ops then die.
    for (Operation *op : narrowedOps) {
      Value wide = op->getResult(0);
      if (!wide.use_empty()) {
        b.setInsertionPointAfterValue(narrow[wide]);
        wide.replaceAllUsesWith(arith::IndexCastOp::create(
            b, op->getLoc(), b.getIndexType(), narrow[wide]));
      }
    }
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
      if (op.use_empty() && !op.hasTrait<OpTrait::IsTerminator>() &&
          isPure(&op))
        op.erase();
  }

private:
  /// The analysis's range of an index value of the original body.
  std::optional<ConstantIntRanges> rangeOf(Value v) const {
    auto *lattice = solver.lookupState<dataflow::IntegerValueRangeLattice>(v);
    if (!lattice || lattice->getValue().isUninitialized())
      return std::nullopt;
    return lattice->getValue().getValue();
  }
  bool fits(Value v) const {
    auto r = v.getType().isIndex() ? rangeOf(v) : std::nullopt;
    return r && fitsI32(*r);
  }
  bool nonNegative(Value v) const {
    auto r = rangeOf(v);
    return r && !r->smin().isNegative();
  }

  /// The i32 value of index value `v`: its narrowed op, an i32 constant, or
  /// a truncating cast (exact: its range fits); null when it does not fit.
  Value narrowed(Value v) {
    if (auto it = narrow.find(v); it != narrow.end())
      return it->second;
    if (!fits(v))
      return {};
    b.setInsertionPointAfterValue(v);
    llvm::APInt constant;
    Value n =
        matchPattern(v, m_ConstantInt(&constant))
            ? arith::ConstantIntOp::create(b, v.getLoc(), i32,
                                           constant.getSExtValue())
                  .getResult()
            : arith::IndexCastOp::create(b, v.getLoc(), i32, v).getResult();
    narrow[v] = n;
    return n;
  }

  void narrowArithmetic(Operation &op) {
    bool isUnsigned = isa<arith::DivUIOp, arith::RemUIOp, arith::MinUIOp,
                          arith::MaxUIOp, arith::CeilDivUIOp>(op);
    bool binary = isUnsigned ||
                  isa<arith::AddIOp, arith::SubIOp, arith::MulIOp,
                      arith::DivSIOp, arith::RemSIOp, arith::FloorDivSIOp,
                      arith::CeilDivSIOp, arith::MinSIOp, arith::MaxSIOp>(op);
    bool select = isa<arith::SelectOp>(op);
    if ((!binary && !select) || !fits(op.getResult(0)))
      return;
    SmallVector<Value> operands;
    for (Value v : op.getOperands()) {
      if (!v.getType().isIndex()) {
        operands.push_back(v); // The select's condition.
        continue;
      }
      if (isUnsigned && !nonNegative(v))
        return;
      Value n = narrowed(v);
      if (!n)
        return;
      operands.push_back(n);
    }
    b.setInsertionPoint(&op);
    OperationState state(op.getLoc(), op.getName().getStringRef(), operands,
                         TypeRange{i32}, op.getAttrs());
    narrow[op.getResult(0)] = b.create(state)->getResult(0);
    narrowedOps.push_back(&op);
  }

  void narrowCompare(arith::CmpIOp cmp) {
    if (!cmp.getLhs().getType().isIndex())
      return;
    Value lhs = narrowed(cmp.getLhs()),
          rhs = lhs ? narrowed(cmp.getRhs()) : Value();
    if (!lhs || !rhs)
      return;
    b.setInsertionPoint(cmp);
    cmp.replaceAllUsesWith(
        arith::CmpIOp::create(b, cmp.getLoc(), cmp.getPredicate(), lhs, rhs)
            .getResult());
    cmp.erase();
  }

  /// index_cast of a narrowed value to i32 (itself) or i64 (extended).
  void narrowCast(arith::IndexCastOp cast) {
    auto to = dyn_cast<IntegerType>(cast.getType());
    if (!cast.getIn().getType().isIndex() || !to || to.getWidth() < 32)
      return;
    Value n = narrowed(cast.getIn());
    if (!n)
      return;
    b.setInsertionPoint(cast);
    Value replacement =
        to.getWidth() == 32
            ? n
            : arith::ExtSIOp::create(b, cast.getLoc(), to, n).getResult();
    cast.replaceAllUsesWith(replacement);
    cast.erase();
  }

  /// sitofp(extsi(x : i32)) as sitofp(x): the same integer, rounded alike.
  void narrowConversion(arith::SIToFPOp conversion) {
    auto ext = conversion.getIn().getDefiningOp<arith::ExtSIOp>();
    if (!ext || !ext.getIn().getType().isInteger(32))
      return;
    conversion.getInMutable().assign(ext.getIn());
  }

  Block &body;
  DataFlowSolver &solver;
  OpBuilder b;
  Type i32;
  /// Index values of the body and their i32 equivalents.
  DenseMap<Value, Value> narrow;
  /// Index ops with an i32 equivalent, in body order.
  SmallVector<Operation *> narrowedOps;
};

struct AttnNarrowIndicesPass
    : attn::codegen::impl::AttnNarrowIndicesBase<AttnNarrowIndicesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    DataFlowSolver solver;
    solver.load<dataflow::DeadCodeAnalysis>();
    solver.load<dataflow::SparseConstantPropagation>();
    solver.load<KernelRangeAnalysis>();
    if (failed(solver.initializeAndRun(module)))
      return signalPassFailure();
    SmallVector<MapOp> maps;
    module.walk([&](MapOp map) { maps.push_back(map); });
    for (MapOp map : maps)
      BodyNarrower(map.getBody().front(), solver).run();
  }
};

} // namespace
