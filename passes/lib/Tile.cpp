//===- Tile.cpp - -attn-tile: the cascade over the kernel grid ------------===//
//
// Wraps a decomposed cascade in one loop per grid letter (batch, heads, Q
// tiles). The loops are the kernel's grid: each iteration is one CTA's
// work, on slices of the inputs, with results inserted into the outputs.
//
//===----------------------------------------------------------------------===//

#include "CascadeUtils.h"
#include "attn/Dialect/Cascade.h"
#include "attn/Dialect/KernelAttrs.h"
#include "attn/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace attn {
#define GEN_PASS_DEF_ATTNTILE
#include "attn/Passes/Passes.h.inc"
} // namespace attn

using namespace mlir;
using namespace attn;

namespace {

/// Tiles the cascade of one block.
class GridTiler {
public:
  GridTiler(Block &block, int64_t blockM) : block(block), blockM(blockM) {}

  /// Finds the cascade, its grid letters and its outputs; `why` on refusal.
  LogicalResult analyze();
  void rewrite(int64_t warps, int64_t stages);
  std::string why;

private:
  LogicalResult refuse(const Twine &reason) {
    why = reason.str();
    return failure();
  }

  Block &block;
  int64_t blockM;
  SmallVector<Operation *> ops;
  /// Grid letters, outermost first; `rowLetter` is tiled by blockM, the
  /// others by 1.
  std::string grid;
  char rowLetter = 0;
  /// Results used outside the cascade, with their terms.
  SmallVector<mlir::Value> outputs;
  SmallVector<std::string> outputTerms;
};

} // namespace

LogicalResult GridTiler::analyze() {
  for (Operation &op : block)
    if (isCascadeOp(&op))
      ops.push_back(&op);
  if (ops.empty())
    return refuse("no cascade");
  // The P·V contraction: the last contraction reducing a letter that a
  // cascade op produces. Its output keeps the grid letters of the scores.
  std::string produced;
  for (Operation *op : ops)
    produced += equationOf(op).output;
  ContractOp pv;
  for (Operation *op : ops)
    if (auto c = dyn_cast<ContractOp>(op))
      for (char r : equationOf(op).reducedLetters())
        if (hasLetter(produced, r))
          pv = c;
  if (!pv)
    return refuse("no contraction over a produced letter (no P·V)");
  Equation pvEq = equationOf(pv);
  llvm::SmallPtrSet<Operation *, 16> inCascade(ops.begin(), ops.end());
  std::string scoresTerm, valueTerm;
  for (auto [term, value] : llvm::zip(pvEq.inputs, pv.getInputs()))
    (inCascade.contains(value.getDefiningOp()) ? scoresTerm : valueTerm) =
        term;
  if (scoresTerm.empty() || valueTerm.empty())
    return refuse("P·V does not combine scores with an input");
  for (char c : pvEq.output)
    if (hasLetter(scoresTerm, c)) {
      grid.push_back(c);
      if (!hasLetter(valueTerm, c))
        rowLetter = c;
    }
  if (!rowLetter)
    return refuse("no query-row letter in the grid");
  // One grid and one KV loop serve every cascade of the block (several
  // attention ops fuse into one kernel): the inputs must agree on the
  // query rows and on the keys P·V reduces, or the loops sized by one
  // input would read another out of its bounds.
  std::string letters(1, rowLetter);
  for (char r : pvEq.reducedLetters())
    if (hasLetter(produced, r))
      letters.push_back(r);
  for (char c : letters) {
    std::string disagree;
    if (!letterSizesAgree(ops, c, disagree))
      return refuse(disagree);
  }
  // Every op must carry all grid letters in its output, or none of the
  // tiled ones it reads would line up.
  for (Operation *op : ops) {
    Equation eq = equationOf(op);
    for (char c : grid)
      if (!hasLetter(eq.output, c))
        return refuse("'" + op->getName().getStringRef() + "' with output '" +
                      eq.output + "' does not keep grid letter '" +
                      std::string(1, c) + "'");
  }
  for (Operation *op : ops)
    for (mlir::Value r : op->getResults())
      if (llvm::any_of(r.getUsers(), [&](Operation *user) {
            return !inCascade.contains(user);
          })) {
        outputs.push_back(r);
        outputTerms.push_back(equationOf(op).output);
      }
  hoistInvariantOps(ops);
  // Inputs from outside must be available before the cascade starts.
  for (Operation *op : ops)
    for (mlir::Value v : op->getOperands())
      if (Operation *def = v.getDefiningOp())
        if (!inCascade.contains(def) && !def->isBeforeInBlock(ops.front()))
          return refuse("an input of the cascade is defined inside it");
  return success();
}

void GridTiler::rewrite(int64_t warps, int64_t stages) {
  Location loc = ops.front()->getLoc();
  OpBuilder b(ops.front());
  llvm::SmallPtrSet<Operation *, 16> inCascade(ops.begin(), ops.end());

  // Full-size destinations of the outputs.
  std::map<char, OpFoldResult> sizes;
  auto sizeOf = [&](char c) {
    auto it = sizes.find(c);
    if (it == sizes.end())
      it = sizes.emplace(c, letterSizeFromInputs(b, ops, c)).first;
    return it->second;
  };
  SmallVector<mlir::Value> dests;
  for (auto [out, term] : llvm::zip(outputs, outputTerms)) {
    SmallVector<OpFoldResult> shape;
    for (char c : term)
      shape.push_back(sizeOf(c));
    auto type = cast<RankedTensorType>(out.getType());
    dests.push_back(tensor::EmptyOp::create(b, loc, shape,
                                            type.getElementType()));
  }
  for (char c : grid)
    (void)sizeOf(c);

  // One loop per grid letter; the innermost body holds one CTA's work.
  std::map<char, mlir::Value> offset, length;
  SmallVector<scf::ForOp> loops;
  SmallVector<mlir::Value> carried(dests);
  auto zero = arith::ConstantIndexOp::create(b, loc, 0);
  for (char c : grid) {
    mlir::Value ub = getValueOrCreateConstantIndexOp(b, loc, sizes[c]);
    auto step = arith::ConstantIndexOp::create(b, loc, c == rowLetter ? blockM : 1);
    auto loop = scf::ForOp::create(b, loc, zero, ub, step, carried);
    setGrid(loop, c, c == rowLetter ? GridRole::Rows : GridRole::Slice);
    if (!loops.empty()) {
      scf::YieldOp::create(b, loc, loop.getResults());
    }
    loops.push_back(loop);
    b.setInsertionPointToStart(loop.getBody());
    offset[c] = loop.getInductionVar();
    if (c == rowLetter) {
      auto left = arith::SubIOp::create(b, loc, ub, loop.getInductionVar());
      length[c] = arith::MinSIOp::create(b, loc, step, left);
    } else {
      length[c] = arith::ConstantIndexOp::create(b, loc, 1);
    }
    carried.assign(loop.getRegionIterArgs().begin(),
                   loop.getRegionIterArgs().end());
  }
  setSchedule(loops.front(),
              ScheduleAttr::get(b.getContext(), blockM, warps, stages));

  // Slice every outside input to the tile.
  IRMapping mapping;
  for (Operation *op : ops) {
    Equation eq = equationOf(op);
    for (auto [term, value] : llvm::zip(eq.inputs, inputsOf(op))) {
      if (inCascade.contains(value.getDefiningOp()) || mapping.contains(value))
        continue;
      auto type = cast<RankedTensorType>(value.getType());
      SmallVector<OpFoldResult> offs, lens, strides;
      for (auto [d, letter] : llvm::enumerate(term)) {
        strides.push_back(b.getIndexAttr(1));
        if (hasLetter(grid, letter)) {
          offs.push_back(offset[letter]);
          lens.push_back(letter == rowLetter
                             ? OpFoldResult(length[letter])
                             : OpFoldResult(b.getIndexAttr(1)));
        } else {
          offs.push_back(b.getIndexAttr(0));
          lens.push_back(tensor::getMixedSize(b, loc, value, d));
        }
      }
      (void)type;
      mapping.map(value, tensor::ExtractSliceOp::create(b, loc, value, offs,
                                                        lens, strides));
    }
  }

  // The cascade on the tile: grid letters take the tile's sizes, and map
  // bodies that read a grid index see the tile offset added.
  for (Operation *op : ops) {
    Operation *clone = b.clone(*op, mapping);
    Equation eq = equationOf(op);
    auto type = cast<RankedTensorType>(clone->getResult(0).getType());
    SmallVector<int64_t> shape(type.getShape());
    for (auto [d, letter] : llvm::enumerate(eq.output))
      if (hasLetter(grid, letter))
        shape[d] = letter == rowLetter ? ShapedType::kDynamic : 1;
    clone->getResult(0).setType(type.clone(shape));
    if (auto map = dyn_cast<MapOp>(clone)) {
      SmallVector<std::pair<unsigned, char>> readIndices;
      for (auto [d, letter] : llvm::enumerate(eq.output))
        if (hasLetter(grid, letter) &&
            !map.getBody().front().getArgument(d).use_empty())
          readIndices.push_back({static_cast<unsigned>(d), letter});
      if (!readIndices.empty()) {
        SmallVector<mlir::Value> extra, added;
        for (auto [d, letter] : readIndices)
          extra.push_back(offset[letter]);
        map = appendCaptures(b, map, extra, added);
        Block &body = map.getBody().front();
        OpBuilder bb = OpBuilder::atBlockBegin(&body);
        for (auto [k, entry] : llvm::enumerate(readIndices)) {
          mlir::Value local = body.getArgument(entry.first);
          auto global = arith::AddIOp::create(bb, loc, local, added[k]);
          local.replaceAllUsesExcept(global, global);
        }
        clone = map;
      }
    }
    mapping.map(op->getResult(0), clone->getResult(0));
  }

  // Insert the tile's outputs into the destinations.
  SmallVector<mlir::Value> updated;
  for (auto [k, out] : llvm::enumerate(outputs)) {
    mlir::Value tile = mapping.lookup(out);
    SmallVector<OpFoldResult> offs, lens, strides;
    for (auto [d, letter] : llvm::enumerate(outputTerms[k])) {
      strides.push_back(b.getIndexAttr(1));
      offs.push_back(hasLetter(grid, letter) ? OpFoldResult(offset[letter])
                                             : OpFoldResult(b.getIndexAttr(0)));
      lens.push_back(tensor::getMixedSize(b, loc, tile, d));
    }
    updated.push_back(tensor::InsertSliceOp::create(b, loc, tile, carried[k],
                                                    offs, lens, strides));
  }
  scf::YieldOp::create(b, loc, updated);

  for (auto [out, result] : llvm::zip(outputs, loops.front().getResults())) {
    mlir::Value replacement = result;
    if (replacement.getType() != out.getType()) {
      OpBuilder after(loops.front());
      after.setInsertionPointAfter(loops.front());
      replacement =
          tensor::CastOp::create(after, loc, out.getType(), replacement);
    }
    out.replaceUsesWithIf(replacement, [&](OpOperand &use) {
      return !inCascade.contains(use.getOwner());
    });
  }
  for (Operation *op : llvm::reverse(ops))
    op->erase();
}

/// The Q-tile rows of `func` when none were asked for (block-m 0): 128 when
/// every contraction operand read from the function's inputs (Q, K, V: not
/// computed by the cascade, as P is) is f16 or bf16 and every static
/// feature dimension (the last of each operand and result) is at most 128 —
/// the tensor-core kernel then runs 4 warps of 32 rows, FlashAttention-2's
/// tile — else 64 (f32 runs on the SIMT path; larger head dims need the
/// registers and shared memory of a smaller Q tile).
static int64_t defaultBlockM(func::FuncOp func) {
  constexpr int64_t kWide = 128, kNarrow = 64;
  bool wide = true, any = false;
  func.walk([&](ContractOp op) {
    any = true;
    auto check = [&](Value v, bool input) {
      auto type = dyn_cast<RankedTensorType>(v.getType());
      if (!type || type.getRank() == 0)
        return;
      Type elem = type.getElementType();
      Operation *def = v.getDefiningOp();
      bool fromInputs = input && !(def && isCascadeOp(def));
      int64_t last = type.getShape().back();
      if ((fromInputs && !elem.isF16() && !elem.isBF16()) ||
          (!ShapedType::isDynamic(last) && last > kWide))
        wide = false;
    };
    for (Value in : op->getOperands())
      check(in, /*input=*/true);
    check(op->getResult(0), /*input=*/false);
  });
  return any && wide ? kWide : kNarrow;
}

namespace {
struct AttnTilePass : attn::impl::AttnTileBase<AttnTilePass> {
  using AttnTileBase::AttnTileBase;
  void runOnOperation() override {
    if (blockM < 0 || warps < 0 || stages <= 0) {
      getOperation()->emitError()
          << "-attn-tile needs a non-negative block-m (0: its choice), "
             "positive stages and a non-negative warps (0: the schedule's "
             "choice)";
      return signalPassFailure();
    }
    getOperation()->walk([&](func::FuncOp func) {
      if (func.isExternal())
        return;
      GridTiler tiler(func.getBody().front(),
                      blockM > 0 ? int64_t(blockM) : defaultBlockM(func));
      if (failed(tiler.analyze())) {
        if (tiler.why != "no cascade")
          func.emitRemark() << "not tiled: " << tiler.why;
        return;
      }
      tiler.rewrite(warps, stages);
    });
  }
};
} // namespace
