//===- SpecializeInterior.cpp - -attn-specialize-interior -----------------===//
//
// Most KV tiles of a long sequence are interior: fully attended, with a Q
// tile of block_m rows and a KV tile of block_n keys. Their code needs no
// per-element guard (every fragment element is inside both lengths) and no
// mask. This pass gives them code of their own: in the KV loop, the tile's
// computation (from its first contraction to the yield) is versioned on
//
//   class == full && rows == block_m && keys == block_n
//
// The interior version is a clone in which the tiles have static shapes
// (tensor.cast of what flows in; every map, reduction and contraction
// re-typed from its inputs) and the full branch of the tile-class branch is
// inlined; the other version is the computation as it was (ragged edges and
// partial tiles). The printer omits a guard when a tile's size is a
// constant covering its storage, so the interior version is straight-line
// arithmetic. The reference interpreter checks each tensor.cast against
// the sizes it actually sees.
//
//===----------------------------------------------------------------------===//

#include "attn/Codegen/Schedule.h"
#include "attn/Dialect/Cascade.h"
#include "attn/Dialect/KernelAttrs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"

namespace attn::codegen {
#define GEN_PASS_DEF_ATTNSPECIALIZEINTERIOR
#include "attn/Codegen/Passes.h.inc"
} // namespace attn::codegen

using namespace mlir;
using namespace attn;

namespace {

/// The static sizes an interior tile has, per letter.
using LetterSizes = llvm::SmallDenseMap<char, int64_t, 4>;

/// `type` with the dims whose letters have an interior size made static.
RankedTensorType refined(RankedTensorType type, StringRef term,
                         const LetterSizes &sizes) {
  SmallVector<int64_t> shape(type.getShape());
  for (auto [d, c] : llvm::enumerate(term))
    if (ShapedType::isDynamic(shape[d]))
      if (auto it = sizes.find(c); it != sizes.end())
        shape[d] = it->second;
  return RankedTensorType::get(shape, type.getElementType(),
                               type.getEncoding());
}

/// Re-types a cloned cascade op's result from its (refined) inputs.
void refineResult(Operation *op) {
  if (!isCascadeOp(op))
    return;
  Equation eq = equationOf(op);
  LetterSizes sizes;
  for (auto [in, term] : llvm::zip(inputsOf(op), eq.inputs)) {
    auto type = cast<RankedTensorType>(in.getType());
    for (auto [d, c] : llvm::enumerate(term))
      if (!type.isDynamicDim(d))
        sizes[c] = type.getDimSize(d);
  }
  Value result = op->getResult(0);
  result.setType(
      refined(cast<RankedTensorType>(result.getType()), eq.output, sizes));
}

/// After cloning with refined types: wherever a region yields a value whose
/// type is now more static than its parent's result, cast it back.
void castYieldsBack(Block &block) {
  block.walk([](scf::YieldOp yield) {
    Operation *parent = yield->getParentOp();
    for (auto [k, v] : llvm::enumerate(yield.getOperands())) {
      Type want = parent->getResult(k).getType();
      if (v.getType() == want)
        continue;
      OpBuilder b(yield);
      yield->setOperand(k, tensor::CastOp::create(b, yield.getLoc(), want, v));
    }
  });
}

/// Makes `v` available before `point` (cloning pure ops of the same block
/// that define it at or after `point`), or fails.
FailureOr<Value> hoistBefore(Value v, Operation *point, unsigned depth = 0) {
  Operation *def = v.getDefiningOp();
  if (!def || def->getBlock() != point->getBlock() ||
      def->isBeforeInBlock(point))
    return v;
  if (depth > 4 || def->getNumRegions() != 0 || !isMemoryEffectFree(def))
    return failure();
  IRMapping map;
  for (Value operand : def->getOperands()) {
    FailureOr<Value> h = hoistBefore(operand, point, depth + 1);
    if (failed(h))
      return failure();
    map.map(operand, *h);
  }
  OpBuilder b(point);
  Operation *copy = b.clone(*def, map);
  return copy->getResult(cast<OpResult>(v).getResultNumber());
}

/// Versions the computation of one KV tile: `block` holds it, from its
/// first cascade op `first` on; `branch` is its full/partial tile branch
/// (null for a variant without a mask, whose tiles are all full).
void specialize(Block *block, Operation *first, scf::IfOp branch,
                scf::ForOp kvLoop, char rowLetter, int64_t blockM) {
  if (branch && (branch->getBlock() != block || branch->isBeforeInBlock(first)))
    return;
  Operation *terminator = block->getTerminator();
  SmallVector<Operation *> range;
  for (Operation *op = first; op != terminator; op = op->getNextNode())
    range.push_back(op);
  auto inRange = [&](Operation *op) {
    return llvm::any_of(range, [&](Operation *r) { return r->isAncestor(op); });
  };

  // What flows in, and under which letters it is read.
  llvm::SetVector<Value> incoming;
  for (Operation *op : range)
    op->walk([&](Operation *inner) {
      for (Value v : inner->getOperands()) {
        Operation *def = v.getDefiningOp();
        if (!def)
          def = cast<BlockArgument>(v).getOwner()->getParentOp();
        bool inside = inRange(def);
        if (!inside && isa<RankedTensorType>(v.getType()))
          incoming.insert(v);
      }
    });
  llvm::DenseMap<Value, std::string> terms;
  for (Value v : incoming)
    for (OpOperand &use : v.getUses())
      if (inRange(use.getOwner()))
        if (std::optional<std::string> t = termOfUse(use)) {
          terms[v] = *t;
          break;
        }

  // The interior sizes: block_m rows, and the KV letter (the staged K/V
  // tiles' rows) at the loop's step.
  std::optional<int64_t> step = getConstantIntValue(kvLoop.getStep());
  if (!step)
    return;
  LetterSizes sizes{{rowLetter, blockM}};
  for (Value v : incoming)
    if (auto read = v.getDefiningOp<ReadStageOp>(); read && terms.count(v)) {
      StringRef t = terms[v];
      for (auto [d, c] : llvm::enumerate(t))
        if (read.getType().isDynamicDim(d) && c != rowLetter)
          sizes[c] = *step; // a staged Q tile's rows are block_m's
    }

  // The condition: a full tile, and every dynamic size that matters at its
  // interior value (tested once per letter).
  OpBuilder b(first);
  Location loc = first->getLoc();
  Value interior;
  if (branch) {
    FailureOr<Value> isFull = hoistBefore(branch.getCondition(), first);
    if (failed(isFull))
      return;
    interior = *isFull;
  }
  llvm::SmallDenseSet<char, 4> tested;
  for (Value v : incoming) {
    auto it = terms.find(v);
    if (it == terms.end())
      continue;
    auto type = cast<RankedTensorType>(v.getType());
    for (auto [d, c] : llvm::enumerate(it->second)) {
      auto size = sizes.find(c);
      if (!type.isDynamicDim(d) || size == sizes.end() || !tested.insert(c).second)
        continue;
      Value dim = tensor::DimOp::create(b, loc, v, d);
      Value want = arith::ConstantIndexOp::create(b, loc, size->second);
      Value same = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                         dim, want);
      interior =
          interior ? arith::AndIOp::create(b, loc, interior, same) : same;
    }
  }
  if (tested.empty())
    return;

  // What the range yields to the block's terminator.
  SmallVector<Value> produced;
  SmallVector<unsigned> producedAt;
  for (auto [k, v] : llvm::enumerate(terminator->getOperands()))
    if (Operation *def = v.getDefiningOp(); def && inRange(def)) {
      produced.push_back(v);
      producedAt.push_back(k);
    }
  auto versioned = scf::IfOp::create(b, loc, ValueRange(produced).getTypes(),
                                     interior, /*withElseRegion=*/true);
  setTileBranch(versioned, TileBranchKind::InteriorOrEdge);

  // The interior version: static tiles, the full branch inlined.
  OpBuilder tb = OpBuilder::atBlockBegin(versioned.thenBlock());
  IRMapping map;
  for (Value v : incoming) {
    auto it = terms.find(v);
    if (it == terms.end())
      continue;
    auto type = cast<RankedTensorType>(v.getType());
    RankedTensorType want = refined(type, it->second, sizes);
    if (want != type)
      map.map(v, tensor::CastOp::create(tb, loc, want, v));
  }
  for (Operation *op : range) {
    if (branch && op == branch.getOperation()) {
      Block *full = branch.thenBlock();
      for (Operation &inner : full->without_terminator())
        refineResult(tb.clone(inner, map));
      for (auto [res, y] : llvm::zip(branch.getResults(),
                                     full->getTerminator()->getOperands()))
        map.map(res, map.lookupOrDefault(y));
      continue;
    }
    refineResult(tb.clone(*op, map));
  }
  SmallVector<Value> results;
  for (Value v : produced) {
    Value m = map.lookupOrDefault(v);
    if (m.getType() != v.getType())
      m = tensor::CastOp::create(tb, loc, v.getType(), m);
    results.push_back(m);
  }
  scf::YieldOp::create(tb, loc, results);
  castYieldsBack(*versioned.thenBlock());
  // The inlined branch's condition (and anything else only it read) is dead.
  for (Operation &op :
       llvm::make_early_inc_range(llvm::reverse(*versioned.thenBlock())))
    if (isOpTriviallyDead(&op))
      op.erase();

  // The edge version: the computation as it was.
  Block *edge = versioned.elseBlock();
  for (Operation *op : range)
    op->moveBefore(edge, edge->end());
  OpBuilder eb = OpBuilder::atBlockEnd(edge);
  scf::YieldOp::create(eb, loc, produced);
  for (auto [k, at] : llvm::enumerate(producedAt))
    terminator->setOperand(at, versioned.getResult(k));
}

} // namespace

void attn::codegen::specializeInterior(func::FuncOp func) {
  ScheduleAttr schedule = decidedSchedule(func);
  char row = rowLetterOf(func);
  if (!schedule || schedule.getPath() != KernelPath::Mma || !row)
    return;
  SmallVector<scf::ForOp> loops = codegen::kvLoopsOf(func);
  for (scf::ForOp loop : loops) {
    // The tile's computation: the block of the loop's first contraction.
    ContractOp first;
    loop.walk([&](ContractOp op) {
      if (!first)
        first = op;
    });
    if (!first)
      continue;
    Block *block = first->getBlock();
    scf::IfOp branch;
    for (auto op : block->getOps<scf::IfOp>())
      if (getTileBranch(op) == TileBranchKind::FullOrPartial)
        branch = op;
    // Already versioned (the pass ran before): leave it.
    if (auto parent = dyn_cast<scf::IfOp>(block->getParentOp());
        parent && getTileBranch(parent) == TileBranchKind::InteriorOrEdge)
      continue;
    Operation *start = first;
    for (Operation &op : *block)
      if (isCascadeOp(&op)) {
        start = &op;
        break;
      }
    specialize(block, start, branch, loop, row, schedule.getBlockM());
  }
}

namespace {
struct AttnSpecializeInteriorPass
    : attn::codegen::impl::AttnSpecializeInteriorBase<
          AttnSpecializeInteriorPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      attn::codegen::specializeInterior(func);
  }
};
} // namespace
