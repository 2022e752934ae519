//===- StageKv.cpp - -attn-stage-kv: K/V tiles through shared memory ------===//
//
// Rewrites each KV loop of a tensor-core kernel into a software pipeline of
// `stages` stages. Before the loop: a barrier (an earlier loop may still read
// the buffers), one shared buffer per K/V operand, and the copies of the first
// stages - 1 tiles, each classified first and copied only when not skipped.
// In the loop: the copy of the tile stages - 1 ahead (classified, likewise),
// a commit, a wait that lands this iteration's tile, a barrier, the body
// reading the staged tiles, and a barrier before the next iteration reuses a
// stage. The classes of the tiles in flight travel as iter_args, so each tile
// is classified exactly once. After the loop, a wait for everything.
// When the schedule stages the Q tile (`q_staged`), the loop's row operands
// are copied into a buffer of their own before the K/V prologue (the first
// commit group) and the contractions read them from it, with ldmatrix, on
// every KV tile instead of holding their fragments in registers.
//
//===----------------------------------------------------------------------===//

#include "attn/Codegen/Schedule.h"
#include "attn/Dialect/KernelAttrs.h"
#include "attn/Passes/KeyRange.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/SetVector.h"

namespace attn::codegen {
#define GEN_PASS_DEF_ATTNSTAGEKV
#include "attn/Codegen/Passes.h.inc"
} // namespace attn::codegen

using namespace mlir;
using namespace attn;

namespace {

/// A K/V operand a KV loop reads at its induction variable: the tensor the
/// slices are taken from (defined outside the loop) and the slices.
struct StagedSource {
  Value source;
  /// The slices' row (KV) and column (feature) dimensions: the last two.
  int64_t kvDim = 0, featDim = 0;
  int64_t cols = 0;
  Type elem;
  SmallVector<tensor::ExtractSliceOp> slices;
  Value buffer;
};

/// The dimension at which `slice` is offset by `iv`, or -1.
int64_t ivDimension(tensor::ExtractSliceOp slice, Value iv) {
  for (auto [d, offset] : llvm::enumerate(slice.getMixedOffsets()))
    if (auto v = dyn_cast<Value>(offset); v && v == iv)
      return static_cast<int64_t>(d);
  return -1;
}

/// The K/V operands of `loop`'s contractions: slices at the induction
/// variable of tensors defined outside the loop, unit dimensions then rows
/// then a static number of columns.
SmallVector<StagedSource> stagedSources(scf::ForOp loop) {
  SmallVector<StagedSource> sources;
  Value iv = kvOffsetOf(loop);
  loop.getBody()->walk([&](tensor::ExtractSliceOp slice) {
    if (!loop.isDefinedOutsideOfLoop(slice.getSource()) ||
        llvm::none_of(slice->getUsers(),
                      [](Operation *u) { return isa<ContractOp>(u); }))
      return;
    RankedTensorType type = slice.getResultType();
    int64_t rank = type.getRank(), kvDim = ivDimension(slice, iv);
    if (rank < 2 || kvDim != rank - 2 || type.isDynamicDim(rank - 1) ||
        type.getRank() != slice.getSourceType().getRank())
      return;
    for (int64_t d = 0; d + 2 < rank; ++d)
      if (type.getDimSize(d) != 1)
        return;
    auto it = llvm::find_if(sources, [&](const StagedSource &s) {
      return s.source == slice.getSource();
    });
    if (it == sources.end()) {
      StagedSource s;
      s.source = slice.getSource();
      s.kvDim = rank - 2;
      s.featDim = rank - 1;
      s.cols = type.getDimSize(rank - 1);
      s.elem = type.getElementType();
      sources.push_back(s);
      it = std::prev(sources.end());
    }
    it->slices.push_back(slice);
  });
  return sources;
}

/// The loop-invariant row operands (the Q tile, over letter `row`) of
/// `loop`'s contractions that can be staged: f16/bf16 slices of kernel
/// arguments, unit dimensions then rows then a static number of columns.
SmallVector<Value> stageableRowOperands(scf::ForOp loop, char row) {
  SmallVector<Value> found;
  loop.getBody()->walk([&](ContractOp op) {
    Equation eq = op.getEquation().getValue();
    for (auto [k, input] : llvm::enumerate(op.getInputs())) {
      auto slice = input.getDefiningOp<tensor::ExtractSliceOp>();
      auto type = cast<RankedTensorType>(input.getType());
      int64_t rank = type.getRank();
      Type elem = type.getElementType();
      if (!slice || !loop.isDefinedOutsideOfLoop(input) || rank < 2 ||
          eq.inputs[k].size() != size_t(rank) || eq.inputs[k][rank - 2] != row ||
          type.isDynamicDim(rank - 1) || !(elem.isF16() || elem.isBF16()) ||
          type.getRank() != slice.getSourceType().getRank() ||
          llvm::is_contained(found, input))
        continue;
      bool unitLeading = true;
      for (int64_t d = 0; d + 2 < rank; ++d)
        unitLeading &= type.getDimSize(d) == 1;
      if (unitLeading)
        found.push_back(input);
    }
  });
  return found;
}

/// Clones the classification of tile `t`: the loop body's attn.tile_class
/// and the index arithmetic it reads, with the induction variable bound to
/// `t`. Fails when that arithmetic depends on anything else carried by the
/// loop.
FailureOr<Value> classifyTileAt(OpBuilder &b, scf::ForOp loop,
                                TileClassOp cls, Value t) {
  Block *body = loop.getBody();
  llvm::SetVector<Operation *> slice;
  SmallVector<Value> work(cls->getOperands().begin(), cls->getOperands().end());
  while (!work.empty()) {
    Value v = work.pop_back_val();
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      if (arg.getOwner() == body && arg != loop.getInductionVar())
        return failure();
      continue;
    }
    Operation *def = v.getDefiningOp();
    if (def->getBlock() != body || slice.contains(def))
      continue;
    if (def->getNumRegions() || !isPure(def))
      return failure();
    slice.insert(def);
    work.append(def->getOperands().begin(), def->getOperands().end());
  }
  IRMapping mapping;
  mapping.map(loop.getInductionVar(), t);
  for (Operation &op : *body)
    if (slice.contains(&op))
      clearKvOffset(b.clone(op, mapping)); // not this tile's offset
  return b.clone(*cls, mapping)->getResult(0);
}

/// Erases pure ops of `block` whose results became unused.
void eraseDeadPureOps(Block &block) {
  bool erased = true;
  while (erased) {
    erased = false;
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(block)))
      if (op.use_empty() && isPure(&op) && !op.hasTrait<OpTrait::IsTerminator>()) {
        op.erase();
        erased = true;
      }
  }
}

/// The swizzle (bytes) of a wgmma operand buffer with rows of `rowBytes`:
/// the widest of 128, 64 and 32 that divides them (the fewest bank
/// conflicts), or 0 for rows that are not whole 32-byte blocks.
int64_t wgmmaSwizzleFor(int64_t rowBytes) {
  for (int64_t s : {128, 64, 32})
    if (rowBytes % s == 0)
      return s;
  return 0;
}

/// Stages one KV loop (on a wgmma schedule, into swizzled buffers).
LogicalResult stageLoop(scf::ForOp loop, int64_t stages, int64_t pad,
                        int64_t blockM, char stagedRow, bool wgmma) {
  Location loc = loop.getLoc();
  std::optional<int64_t> step = getConstantIntValue(loop.getStep());
  if (!step || *step <= 0)
    return loop.emitError("-attn-stage-kv: the KV loop needs a constant step");
  SmallVector<StagedSource> sources = stagedSources(loop);
  if (sources.empty())
    return success();
  TileClassOp cls;
  for (Operation &op : *loop.getBody())
    if ((cls = dyn_cast<TileClassOp>(op)))
      break;

  MLIRContext *ctx = loop.getContext();
  OpBuilder b(loop);
  auto cst = [&](OpBuilder &at, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(at, loc, v);
  };
  BarrierOp::create(b, loc); // an earlier loop may still read the buffers
  int64_t offset = 0;
  // A buffer of `count` stages of `rows` x `cols`: rows padded by `pad`
  // (ldmatrix without bank conflicts), or on a wgmma schedule unpadded and
  // swizzled as wgmma's descriptors read them, each stage on its swizzle's
  // 8-row repeat.
  auto createBuffer = [&](int64_t count, int64_t rows, int64_t cols,
                          Type elem) -> Value {
    int64_t bytes = elem.getIntOrFloatBitWidth() / 8;
    int64_t swizzle =
        wgmma && rows % 8 == 0 ? wgmmaSwizzleFor(cols * bytes) : 0;
    int64_t pitch = swizzle ? cols : cols + pad;
    if (swizzle)
      offset = (offset + 8 * swizzle - 1) / (8 * swizzle) * (8 * swizzle);
    auto layout =
        StridedLayoutAttr::get(ctx, 0, {rows * pitch, pitch, int64_t(1)});
    auto type = MemRefType::get({count, rows, cols}, elem, layout,
                                b.getI64IntegerAttr(3));
    auto buffer = SharedBufferOp::create(
        b, loc, type, b.getI64IntegerAttr(offset), IntegerAttr());
    if (swizzle)
      buffer.setSwizzleAttr(b.getI64IntegerAttr(swizzle));
    offset += (count * rows * pitch * bytes + 15) / 16 * 16;
    return buffer;
  };
  for (StagedSource &s : sources)
    s.buffer = createBuffer(stages, *step, s.cols, s.elem);
  // The staged row operands: one stage of block_m rows each, copied before
  // the K/V tiles (so the first wait in the loop lands them too).
  struct StagedRows {
    Value tile, buffer, rows;
  };
  SmallVector<StagedRows> stagedRows;
  if (stagedRow)
    for (Value q : stageableRowOperands(loop, stagedRow)) {
      auto type = cast<RankedTensorType>(q.getType());
      int64_t rank = type.getRank(), cols = type.getDimSize(rank - 1);
      StagedRows r;
      r.tile = q;
      r.buffer = createBuffer(1, blockM, cols, type.getElementType());
      r.rows = tensor::DimOp::create(b, loc, q, rank - 2);
      AsyncCopyOp::create(b, loc, q, r.buffer, cst(b, 0), r.rows);
      stagedRows.push_back(r);
    }
  if (!stagedRows.empty())
    AsyncCommitOp::create(b, loc);

  Value ub = loop.getUpperBound(), stepValue = loop.getStep();
  // The loop whose body classifies tiles (the staged loop, once built).
  scf::ForOp current = loop;
  // The class of tile `t`: its attn.tile_class when `t` is in the loop's
  // range, else 0 (skipped); dense loops have no classes (every tile full).
  auto classOf = [&](OpBuilder &at, Value t) -> FailureOr<Value> {
    Value inRange =
        arith::CmpIOp::create(at, loc, arith::CmpIPredicate::slt, t, ub);
    if (!cls)
      return arith::SelectOp::create(at, loc, inRange, cst(at, 1), cst(at, 0))
          .getResult();
    auto branch = scf::IfOp::create(at, loc, TypeRange{at.getIndexType()},
                                    inRange, /*withElseRegion=*/true);
    OpBuilder thenB = branch.getThenBodyBuilder();
    FailureOr<Value> c = classifyTileAt(thenB, current, cls, t);
    if (failed(c))
      return failure();
    scf::YieldOp::create(thenB, loc, *c);
    OpBuilder elseB = branch.getElseBodyBuilder();
    scf::YieldOp::create(elseB, loc, cst(elseB, TileClassOp::kEmpty));
    return branch.getResult(0);
  };
  // The copies of tile `t` into stage `stage` when `when` holds.
  auto copyTile = [&](OpBuilder &at, Value t, Value stage, Value when) {
    auto branch = scf::IfOp::create(at, loc, when, /*withElseRegion=*/false);
    OpBuilder tb = branch.getThenBodyBuilder();
    // The tile's keys (the counter itself unless the loop counts the tiles
    // of a union of key ranges).
    Value key = kvOffsetAt(tb, current, t);
    for (StagedSource &s : sources) {
      tensor::ExtractSliceOp like = s.slices.front();
      Value n = tensor::DimOp::create(tb, loc, s.source, s.kvDim);
      Value len = arith::MinSIOp::create(
          tb, loc, stepValue, arith::SubIOp::create(tb, loc, n, key));
      SmallVector<OpFoldResult> offsets = like.getMixedOffsets();
      SmallVector<OpFoldResult> sizes = like.getMixedSizes();
      offsets[s.kvDim] = key;
      sizes[s.kvDim] = len;
      auto slice = tensor::ExtractSliceOp::create(
          tb, loc, s.source, offsets, sizes, like.getMixedStrides());
      AsyncCopyOp::create(tb, loc, slice, s.buffer, stage, len);
    }
  };
  auto notSkipped = [&](OpBuilder &at, Value c) -> Value {
    return arith::CmpIOp::create(at, loc, arith::CmpIPredicate::ne, c,
                                 cst(at, TileClassOp::kEmpty));
  };

  // The first stages - 1 tiles, one commit group each.
  SmallVector<Value> inits = {cst(b, 0)};
  for (int64_t p = 0; p + 1 < stages; ++p) {
    Value t = arith::AddIOp::create(b, loc, loop.getLowerBound(),
                                    cst(b, p * *step));
    FailureOr<Value> c = classOf(b, t);
    if (failed(c))
      return loop.emitError("-attn-stage-kv: the tile classification depends "
                            "on values the loop carries");
    copyTile(b, t, cst(b, p), notSkipped(b, *c));
    AsyncCommitOp::create(b, loc);
    inits.push_back(*c);
  }

  // The loop carries the stage of its tile and the classes of the tiles in
  // flight (this one first).
  IRRewriter rewriter(b);
  NamedAttrList discardable(loop->getDiscardableAttrDictionary());
  auto replaced = loop.replaceWithAdditionalYields(
      rewriter, inits, /*replaceInitOperandUsesInLoop=*/false,
      [](OpBuilder &, Location, ArrayRef<BlockArgument> args) {
        return SmallVector<Value>(args.begin(), args.end());
      });
  if (failed(replaced))
    return loop.emitError("-attn-stage-kv: cannot add the pipeline's iter_args");
  auto staged = cast<scf::ForOp>(replaced->getOperation());
  staged->setDiscardableAttrs(discardable.getDictionary(ctx));
  current = staged;
  Block *body = staged.getBody();
  ArrayRef<BlockArgument> args = body->getArguments().take_back(inits.size());
  Value stage = args[0];
  Value iv = staged.getInductionVar();
  auto stageAfter = [&](OpBuilder &at, Value s, int64_t by) -> Value {
    return arith::RemUIOp::create(
        at, loc, arith::AddIOp::create(at, loc, s, cst(at, by)),
        cst(at, stages));
  };

  OpBuilder top = OpBuilder::atBlockBegin(body);
  TileClassOp bodyClass;
  for (Operation &op : *body)
    if ((bodyClass = dyn_cast<TileClassOp>(op)))
      break;
  Value nextClass;
  if (stages >= 2) {
    // The tile stages - 1 ahead: classified, copied unless skipped.
    Value next = arith::AddIOp::create(top, loc, iv,
                                       cst(top, (stages - 1) * *step));
    FailureOr<Value> c = classOf(top, next);
    if (failed(c))
      return staged.emitError("-attn-stage-kv: the tile classification "
                              "depends on values the loop carries");
    nextClass = *c;
    copyTile(top, next, stageAfter(top, stage, stages - 1),
             notSkipped(top, nextClass));
  } else {
    // One stage: this iteration's own tile, once it is classified.
    if (bodyClass)
      top.setInsertionPointAfter(bodyClass);
    Value when = bodyClass ? notSkipped(top, bodyClass.getResult())
                           : arith::ConstantIntOp::create(top, loc, 1, 1)
                                 .getResult();
    copyTile(top, iv, stage, when);
  }
  AsyncCommitOp::create(top, loc);
  AsyncWaitOp::create(top, loc, top.getI64IntegerAttr(stages - 1));
  BarrierOp::create(top, loc);
  // The contractions read the staged row operands, after the barrier.
  for (StagedRows &r : stagedRows) {
    auto read = ReadStageOp::create(top, loc, r.tile.getType(), r.buffer,
                                    cst(top, 0), r.rows);
    r.tile.replaceUsesWithIf(read.getResult(), [&](OpOperand &use) {
      return staged->isAncestor(use.getOwner());
    });
  }

  // The body reads this tile's class and its staged tiles.
  if (stages >= 2 && bodyClass) {
    bodyClass.getResult().replaceAllUsesWith(args[1]);
    bodyClass.erase();
  }
  for (StagedSource &s : sources)
    for (tensor::ExtractSliceOp slice : s.slices) {
      OpBuilder at(slice);
      Value rows = getValueOrCreateConstantIndexOp(
          at, loc, slice.getMixedSizes()[s.kvDim]);
      auto read = ReadStageOp::create(at, loc, slice.getResultType(),
                                      s.buffer, stage, rows);
      slice.getResult().replaceAllUsesWith(read.getResult());
      slice.erase();
    }
  eraseDeadPureOps(*body);

  // Every warp is done with this stage before a later copy reuses it.
  auto yield = cast<scf::YieldOp>(body->getTerminator());
  OpBuilder end(yield);
  BarrierOp::create(end, loc);
  unsigned first = yield.getNumOperands() - inits.size();
  yield->setOperand(first, stageAfter(end, stage, 1));
  for (size_t k = 1; k + 1 < inits.size(); ++k)
    yield->setOperand(first + k, args[k + 1]);
  if (stages >= 2)
    yield->setOperand(first + inits.size() - 1, nextClass);

  OpBuilder after(staged);
  after.setInsertionPointAfter(staged);
  AsyncWaitOp::create(after, loc, after.getI64IntegerAttr(0));
  return success();
}

struct AttnStageKvPass
    : attn::codegen::impl::AttnStageKvBase<AttnStageKvPass> {
  using AttnStageKvBase::AttnStageKvBase;
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (failed(attn::codegen::stageKvLoops(func, pad)))
        return signalPassFailure();
  }
};

} // namespace

LogicalResult attn::codegen::stageKvLoops(func::FuncOp func, int64_t pad) {
  ScheduleAttr schedule = decidedSchedule(func);
  if (!schedule || schedule.getPath() != KernelPath::Mma)
    return success();
  if (pad < 0)
    return func.emitError("-attn-stage-kv: pad must be non-negative");
  SmallVector<scf::ForOp> loops = codegen::kvLoopsOf(func);
  char stagedRow = schedule.getQStaged() ? rowLetterOf(func) : 0;
  for (scf::ForOp loop : loops)
    if (failed(stageLoop(loop, schedule.getStages(), pad, schedule.getBlockM(),
                         stagedRow, schedule.getWgmma())))
      return failure();
  return success();
}
