//===- Fuse.cpp - -attn-fuse: tile classification in the KV loop ----------===//
//
// Puts the mask analysis into the kernel: every KV tile is classified once
// (attn.tile_class) and the loop body branches on the class, so empty tiles
// cost one scalar test, full tiles carry no mask code, and only partial
// tiles evaluate the mask per element.
//
//===----------------------------------------------------------------------===//

#include "CascadeUtils.h"
#include "attn/Dialect/KernelAttrs.h"
#include "attn/Passes/KeyRange.h"
#include "attn/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

namespace attn {
#define GEN_PASS_DEF_ATTNFUSE
#include "attn/Passes/Passes.h.inc"
} // namespace attn

using namespace mlir;
using namespace attn;

namespace {

/// The select that applies the mask in a KV loop's scores map, if any.
arith::SelectOp findMaskSelect(Block &body, MapOp &map) {
  arith::SelectOp found;
  for (Operation &op : body) {
    auto m = dyn_cast<MapOp>(op);
    if (!m)
      continue;
    m.getBody().walk([&](arith::SelectOp select) {
      if (getMaskFunction(select)) {
        found = select;
        map = m;
      }
    });
  }
  return found;
}

/// Removes the mask from a cloned scores map: the select yields the score,
/// and the mask computation, now unused, is erased.
void dropMask(MapOp map) {
  map.getBody().walk([&](arith::SelectOp select) {
    if (!getMaskFunction(select))
      return;
    select.getResult().replaceAllUsesWith(select.getTrueValue());
    select->erase();
  });
  Block &body = map.getBody().front();
  bool erased = true;
  while (erased) {
    erased = false;
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
      if (!op.hasTrait<OpTrait::IsTerminator>() && op.use_empty() &&
          isMemoryEffectFree(&op)) {
        op.erase();
        erased = true;
      }
  }
}

/// Makes `loop` iterate the KV tiles of the union of `parts` (key ranges,
/// overlapping or not, in any order) inside its bounds, gaps skipped:
/// before the loop, the parts are widened to whole tiles, sorted by start
/// and made disjoint; the loop then counts u over their concatenated tiles
/// and the body reads the key offset kv(u) = u + (start of u's part - tiles
/// before it), which replaces the induction variable everywhere in the body
/// (the prefetch of a later pass recomputes it for the next u). Returns kv.
mlir::Value iterateUnion(OpBuilder &pre, Location loc, scf::ForOp loop,
                         ArrayRef<KeyRange> parts) {
  auto cst = [&](int64_t v) {
    return arith::ConstantIndexOp::create(pre, loc, v).getResult();
  };
  auto max = [&](mlir::Value a, mlir::Value b) {
    return arith::MaxSIOp::create(pre, loc, a, b).getResult();
  };
  auto min = [&](mlir::Value a, mlir::Value b) {
    return arith::MinSIOp::create(pre, loc, a, b).getResult();
  };
  mlir::Value step = loop.getStep(), lb = loop.getLowerBound(),
              ub = loop.getUpperBound();
  // [a, e): whole tiles, inside the loop's bounds, e >= a.
  SmallVector<std::pair<mlir::Value, mlir::Value>> tiles;
  for (const KeyRange &r : parts) {
    mlir::Value a = max(lb, arith::MulIOp::create(
                                pre, loc,
                                arith::FloorDivSIOp::create(pre, loc, r.lo, step),
                                step));
    mlir::Value past = arith::MulIOp::create(
        pre, loc,
        arith::CeilDivSIOp::create(
            pre, loc, arith::AddIOp::create(pre, loc, r.hi, cst(1)), step),
        step);
    tiles.push_back({a, max(a, min(ub, past))});
  }
  // Sorted by start (a compare-and-swap network: at most four parts).
  for (size_t n = tiles.size(); n > 1; --n)
    for (size_t k = 0; k + 1 < n; ++k) {
      auto &[a0, e0] = tiles[k];
      auto &[a1, e1] = tiles[k + 1];
      mlir::Value swap = arith::CmpIOp::create(
          pre, loc, arith::CmpIPredicate::sgt, a0, a1);
      auto pick = [&](mlir::Value x, mlir::Value y) {
        return arith::SelectOp::create(pre, loc, swap, x, y).getResult();
      };
      mlir::Value na0 = pick(a1, a0), ne0 = pick(e1, e0), na1 = pick(a0, a1),
                  ne1 = pick(e0, e1);
      a0 = na0, e0 = ne0, a1 = na1, e1 = ne1;
    }
  // Disjoint: each part starts where the ones before it end, at the
  // earliest; its counter span is its tiles (only the part ending at the
  // loop's bound can end inside a tile).
  mlir::Value covered = tiles.front().first, before = cst(0);
  SmallVector<mlir::Value> offsets, ends;
  for (auto &[a, e] : tiles) {
    mlir::Value start = max(a, covered);
    mlir::Value end = max(e, start);
    covered = end;
    mlir::Value span = arith::MulIOp::create(
        pre, loc,
        arith::CeilDivSIOp::create(
            pre, loc, arith::SubIOp::create(pre, loc, end, start), step),
        step);
    offsets.push_back(arith::SubIOp::create(pre, loc, start, before));
    before = arith::AddIOp::create(pre, loc, before, span);
    ends.push_back(before);
  }
  loop.setLowerBound(cst(0));
  loop.setUpperBound(before);

  // kv(u) at the top of the body.
  mlir::Value iv = loop.getInductionVar();
  OpBuilder b(loop.getBody(), loop.getBody()->begin());
  SmallPtrSet<Operation *, 8> readsU;
  mlir::Value offset = offsets.back();
  for (size_t k = offsets.size() - 1; k-- > 0;) {
    auto inPart =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, iv, ends[k]);
    readsU.insert(inPart);
    offset = arith::SelectOp::create(b, loc, inPart, offsets[k], offset);
  }
  auto kv = arith::AddIOp::create(b, loc, iv, offset);
  setKvOffset(kv);
  readsU.insert(kv);
  iv.replaceAllUsesExcept(kv, readsU);
  return kv;
}

/// Fuses classification into one KV loop; `why` explains a refusal.
struct LoopFuser {
  scf::ForOp loop;
  /// Narrow the KV loop to the key range of the tile's rows.
  bool boundKeys;
  std::string why;

  LogicalResult run();
};

} // namespace

LogicalResult LoopFuser::run() {
  Block &body = *loop.getBody();
  MapOp scores;
  arith::SelectOp select = findMaskSelect(body, scores);
  if (!select)
    return success(); // No mask: every tile is full.
  FlatSymbolRefAttr symbol = getMaskFunction(select);
  auto fn = symbol ? SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
                         loop, symbol)
                   : func::FuncOp();
  if (!fn) {
    why = "the mask function named by 'attn.mask' is missing";
    return failure();
  }
  // The grid around the loop: offsets of b, h (or KV head and group
  // member), and the row tile.
  std::map<char, scf::ForOp> grid;
  for (Operation *p = loop->getParentOp(); p; p = p->getParentOp())
    if (auto g = dyn_cast<scf::ForOp>(p))
      if (char letter = gridLetter(g))
        grid[letter] = g;
  if (!grid.count('i')) {
    why = "no Q-tile grid loop around the KV loop (run -attn-tile first)";
    return failure();
  }

  // The tile's slice and rows are fixed for the whole KV loop: computed
  // once before it, with the key range they allow.
  OpBuilder pre(loop);
  Location loc = loop.getLoc();
  auto ivOr0 = [&](char letter) -> mlir::Value {
    if (grid.count(letter))
      return grid[letter].getInductionVar();
    return arith::ConstantIndexOp::create(pre, loc, 0);
  };
  auto tileEnd = [&](OpBuilder &at, scf::ForOp l) -> mlir::Value {
    auto end = arith::AddIOp::create(at, loc, l.getInductionVar(), l.getStep());
    return arith::MinSIOp::create(at, loc, end, l.getUpperBound());
  };
  mlir::Value h;
  if (grid.count('k') && grid.count('g')) {
    auto kg = arith::MulIOp::create(pre, loc, grid['k'].getInductionVar(),
                                    grid['g'].getUpperBound());
    h = arith::AddIOp::create(pre, loc, kg, grid['g'].getInductionVar());
  } else {
    h = ivOr0('h');
  }
  mlir::Value batch = ivOr0('b'), i0 = grid['i'].getInductionVar();
  mlir::Value i1 = tileEnd(pre, grid['i']);
  // Scores map captures: nq, nk, the variant's captures, then offsets.
  ValueRange caps = scores.getCaptures();
  unsigned numUser = fn.getNumArguments() - 6;
  if (caps.size() < 2 + numUser) {
    why = "the scores map does not carry the mask's captures";
    return failure();
  }
  // The key offset of the loop's tile, and where the tile ends.
  mlir::Value kv = loop.getInductionVar();
  mlir::Value keyBound = loop.getUpperBound();
  KeySet keySet;
  if (boundKeys) {
    mlir::Value iLast = arith::SubIOp::create(
        pre, loc, i1, arith::ConstantIndexOp::create(pre, loc, 1));
    keySet = emitKeySet(pre, loc, fn, batch, h, i0, iLast, caps[0], caps[1],
                        caps.slice(2, numUser));
  }
  if (keySet.parts.size() > 1) {
    // Visit only the KV tiles of the keys the tile's rows can attend to,
    // several bands of them: the gaps are never visited.
    kv = iterateUnion(pre, loc, loop, keySet.parts);
  } else if (boundKeys) {
    // Visit only the KV tiles of the keys the tile's rows can attend to:
    // [lo, hi] from the mask's arithmetic, widened to whole tiles.
    KeyRange keys = keySet.parts.front();
    mlir::Value step = loop.getStep();
    auto one = arith::ConstantIndexOp::create(pre, loc, 1);
    auto firstTile = arith::MulIOp::create(
        pre, loc, arith::FloorDivSIOp::create(pre, loc, keys.lo, step), step);
    auto pastLast = arith::MulIOp::create(
        pre, loc,
        arith::CeilDivSIOp::create(
            pre, loc, arith::AddIOp::create(pre, loc, keys.hi, one), step),
        step);
    auto lb = arith::MaxSIOp::create(pre, loc, loop.getLowerBound(), firstTile);
    auto ub = arith::MinSIOp::create(pre, loc, loop.getUpperBound(), pastLast);
    loop.setLowerBound(lb);
    loop.setUpperBound(ub);
    keyBound = ub;
  }
  OpBuilder b(&body, body.begin());
  if (kv != loop.getInductionVar())
    b.setInsertionPointAfterValue(kv);
  auto end = arith::MinSIOp::create(
      b, loc, arith::AddIOp::create(b, loc, kv, loop.getStep()), keyBound);
  auto cls = TileClassOp::create(b, loc, b.getIndexType(), batch, h, i0, i1,
                                 kv, end, caps[0], caps[1],
                                 caps.slice(2, numUser));
  {
    Block *mask = new Block();
    cls.getMask().push_back(mask);
    for (Type t : fn.getArgumentTypes())
      mask->addArgument(t, loc);
    OpBuilder mb = OpBuilder::atBlockEnd(mask);
    IRMapping mapping;
    Block &src = fn.getBody().front();
    mapping.map(src.getArguments(), mask->getArguments());
    for (Operation &op : src.without_terminator())
      mb.clone(op, mapping);
    YieldOp::create(mb, loc,
                    mapping.lookup(src.getTerminator()->getOperand(0)));
  }

  // Everything after the classification moves into the branches.
  Operation *terminator = body.getTerminator();
  SmallVector<Operation *> work;
  for (Operation *op = cls->getNextNode(); op != terminator;
       op = op->getNextNode())
    work.push_back(op);
  mlir::Value tileClass = cls;

  TypeRange types = loop.getResultTypes();
  auto cEmpty = arith::ConstantIndexOp::create(b, loc, TileClassOp::kEmpty);
  auto cFull = arith::ConstantIndexOp::create(b, loc, TileClassOp::kFull);
  auto isEmpty = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                       tileClass, cEmpty);
  auto skip = scf::IfOp::create(b, loc, types, isEmpty, /*withElse=*/true);
  {
    OpBuilder tb = skip.getThenBodyBuilder();
    scf::YieldOp::create(tb, loc, loop.getRegionIterArgs());
  }
  // Only the score map differs between full and partial tiles (the mask
  // code), so only it is in the two branches: the contraction before it and
  // the online update after it exist once, which halves the kernel's code.
  OpBuilder eb = skip.getElseBodyBuilder();
  IRMapping mapping;
  for (Operation *op : work) {
    if (op != scores.getOperation()) {
      eb.clone(*op, mapping);
      continue;
    }
    auto isFull = arith::CmpIOp::create(eb, loc, arith::CmpIPredicate::eq,
                                        tileClass, cFull);
    auto branch = scf::IfOp::create(eb, loc, scores->getResultTypes(), isFull,
                                    /*withElse=*/true);
    for (bool full : {true, false}) {
      OpBuilder bb = full ? branch.getThenBodyBuilder()
                          : branch.getElseBodyBuilder();
      // Each copy maps the map's own region afresh.
      IRMapping branchMapping = mapping;
      Operation *clone = bb.clone(*op, branchMapping);
      if (full)
        dropMask(cast<MapOp>(clone));
      scf::YieldOp::create(bb, loc, clone->getResults());
    }
    setTileBranch(branch, TileBranchKind::FullOrPartial);
    mapping.map(op->getResults(), branch.getResults());
  }
  SmallVector<mlir::Value> yields;
  for (mlir::Value v : terminator->getOperands())
    yields.push_back(mapping.lookupOrDefault(v));
  scf::YieldOp::create(eb, loc, yields);
  terminator->setOperands(skip.getResults());
  for (Operation *op : llvm::reverse(work))
    op->erase();
  return success();
}

namespace {
struct AttnFusePass : attn::impl::AttnFuseBase<AttnFusePass> {
  using AttnFuseBase::AttnFuseBase;
  void runOnOperation() override {
    SmallVector<scf::ForOp> loops;
    getOperation()->walk([&](scf::ForOp loop) {
      if (isKvLoop(loop))
        loops.push_back(loop);
    });
    for (scf::ForOp loop : loops) {
      LoopFuser fuser{loop, keyBounds, {}};
      if (failed(fuser.run())) {
        loop.emitError() << "-attn-fuse: " << fuser.why;
        return signalPassFailure();
      }
    }
  }
};
} // namespace
