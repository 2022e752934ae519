//===- SplitKV.cpp - -attn-split-kv: split-KV launch plan -----------------===//
//
// Turns each grid tile's KV loop into a loop over KV splits (a grid
// dimension) writing partial running values to a workspace, followed by a
// merge built from the online rewrite's own pieces: partial maxima merge by
// max, and every sum is rescaled by the correction map evaluated at (split
// max, total max) before it is added up.
//
//===----------------------------------------------------------------------===//

#include "CascadeUtils.h"
#include "attn/Dialect/KernelAttrs.h"
#include "attn/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

namespace attn {
#define GEN_PASS_DEF_ATTNSPLITKV
#include "attn/Passes/Passes.h.inc"
} // namespace attn

using namespace mlir;
using namespace attn;

namespace {

/// The role of one running value of the KV loop.
struct RunningValue {
  bool isMax = false;
  /// The value's letters (the update map's output term).
  std::string term;
  /// For a max: the correction map (old max, new max) -> factor.
  MapOp correction;
  /// For a sum: the max whose correction rescales it (-1: none).
  int correctedBy = -1;
};

/// True when `map` yields arith.maximumf of its two inputs.
bool isMaxMap(MapOp map) {
  if (map.getInputs().size() != 2)
    return false;
  auto yield = map.getBody().front().getTerminator();
  auto max = yield->getOperand(0).getDefiningOp<arith::MaximumFOp>();
  return max && isa<BlockArgument>(max.getLhs()) &&
         isa<BlockArgument>(max.getRhs());
}

/// Recognises the running values of a KV loop made by -attn-online.
LogicalResult classify(scf::ForOp loop, SmallVectorImpl<RunningValue> &values,
                       std::string &why) {
  Block &body = *loop.getBody();
  Operation *yield = body.getTerminator();
  llvm::DenseMap<Operation *, int> maxOfCorrection;
  values.resize(loop.getNumRegionIterArgs());
  // Maxima first: their correction maps identify the corrected sums.
  for (auto [k, arg] : llvm::enumerate(loop.getRegionIterArgs())) {
    auto map = yield->getOperand(k).getDefiningOp<MapOp>();
    if (!map || !isMaxMap(map) || map.getInputs()[0] != arg)
      continue;
    values[k].isMax = true;
    values[k].term = equationOf(map).output;
    for (Operation *user : arg.getUsers())
      if (auto c = dyn_cast<MapOp>(user);
          c && c != map && c.getInputs().size() == 2 &&
          c.getInputs()[0] == arg && c.getInputs()[1] == map.getResult()) {
        values[k].correction = c;
        maxOfCorrection[c] = k;
      }
    if (!values[k].correction) {
      why = "a running max without its correction map";
      return failure();
    }
  }
  for (auto [k, arg] : llvm::enumerate(loop.getRegionIterArgs())) {
    if (values[k].isMax)
      continue;
    auto update = yield->getOperand(k).getDefiningOp<MapOp>();
    if (!update || update.getInputs().empty() ||
        update.getInputs()[0] != arg ||
        (update.getInputs().size() != 2 && update.getInputs().size() != 3)) {
      why = "a running value that is neither a max nor a sum update";
      return failure();
    }
    values[k].term = equationOf(update).output;
    if (update.getInputs().size() == 3) {
      Operation *c = update.getInputs()[1].getDefiningOp();
      auto it = maxOfCorrection.find(c);
      if (it == maxOfCorrection.end()) {
        why = "a sum rescaled by something other than a correction map";
        return failure();
      }
      values[k].correctedBy = it->second;
    }
  }
  return success();
}

/// A letter no equation of `func` uses, for the split index.
char freshLetter(Operation *root) {
  std::string used;
  root->walk([&](Operation *op) {
    if (isCascadeOp(op)) {
      Equation eq = equationOf(op);
      used += eq.output + eq.allInputLetters();
    }
  });
  for (char c : std::string("stuvwxyz"))
    if (!hasLetter(used, c))
      return c;
  return 0;
}

/// Rewrites one KV loop into splits + merge.
/// `splits` 0: the count is attn.kv_splits, chosen at launch.
LogicalResult splitLoop(scf::ForOp loop, int64_t splits, char s,
                        std::string &why) {
  SmallVector<RunningValue> values;
  if (failed(classify(loop, values, why)))
    return failure();
  Location loc = loop.getLoc();
  OpBuilder b(loop);
  // Whole KV tiles per split: chunk = ceil(ceil(nk / S) / step) · step.
  mlir::Value lb = loop.getLowerBound(), ub = loop.getUpperBound(),
              step = loop.getStep();
  // A launch-time split count (splits = 0) is attn.kv_splits: the grid and
  // the workspaces follow it, the kernel reads it as a parameter.
  mlir::Value nS;
  if (splits > 0)
    nS = arith::ConstantIndexOp::create(b, loc, splits);
  else
    nS = KvSplitsOp::create(b, loc, b.getIndexType());
  auto span = arith::SubIOp::create(b, loc, ub, lb);
  auto perSplit = arith::CeilDivSIOp::create(b, loc, span, nS);
  auto tiles = arith::CeilDivSIOp::create(b, loc, perSplit, step);
  auto chunk = arith::MulIOp::create(b, loc, tiles, step);

  // One workspace per running value: [S, <the value's tile shape>].
  SmallVector<mlir::Value> workspaces;
  for (mlir::Value init : loop.getInitArgs()) {
    auto type = cast<RankedTensorType>(init.getType());
    SmallVector<OpFoldResult> shape{getAsOpFoldResult(nS)};
    for (int64_t d = 0; d < type.getRank(); ++d)
      shape.push_back(tensor::getMixedSize(b, loc, init, d));
    workspaces.push_back(
        tensor::EmptyOp::create(b, loc, shape, type.getElementType()));
  }
  auto zero = arith::ConstantIndexOp::create(b, loc, 0);
  auto one = arith::ConstantIndexOp::create(b, loc, 1);
  auto splitLoop = scf::ForOp::create(
      b, loc, zero, nS, one, workspaces,
      [&](OpBuilder &sb, Location loc, mlir::Value split, ValueRange ws) {
        auto begin = arith::AddIOp::create(
            sb, loc, lb, arith::MulIOp::create(sb, loc, split, chunk));
        auto end = arith::MinSIOp::create(
            sb, loc, arith::AddIOp::create(sb, loc, begin, chunk), ub);
        auto part = cast<scf::ForOp>(sb.clone(*loop));
        part.setLowerBound(begin);
        part.setUpperBound(end);
        SmallVector<mlir::Value> updated;
        for (auto [k, result] : llvm::enumerate(part.getResults())) {
          auto type = cast<RankedTensorType>(result.getType());
          SmallVector<OpFoldResult> offs{split}, lens{sb.getIndexAttr(1)},
              strides{sb.getIndexAttr(1)};
          for (int64_t d = 0; d < type.getRank(); ++d) {
            offs.push_back(sb.getIndexAttr(0));
            lens.push_back(tensor::getMixedSize(sb, loc, result, d));
            strides.push_back(sb.getIndexAttr(1));
          }
          updated.push_back(tensor::InsertSliceOp::create(
              sb, loc, result, ws[k], offs, lens, strides));
        }
        scf::YieldOp::create(sb, loc, updated);
      });
  setGrid(splitLoop, s, GridRole::Split);

  // The merge: max of the maxima; corrections at (split max, total max);
  // rescaled sums added over the splits.
  std::string sp(1, s);
  SmallVector<mlir::Value> merged(values.size()), factors(values.size());
  for (auto [k, v] : llvm::enumerate(values)) {
    if (!v.isMax)
      continue;
    mlir::Value ws = splitLoop.getResult(k);
    merged[k] = ReduceOp::create(b, loc, loop.getResult(k).getType(),
                                 ReduceKind::Max,
                                 EinsumAttr::fromText(b.getContext(), sp + v.term + "->" + v.term),
                                 ws);
    MapOp corr = v.correction;
    Block &src = corr.getBody().front();
    unsigned srcRank = v.term.size();
    factors[k] = buildMap(
        b, loc, sp + v.term + "," + v.term + "->" + sp + v.term,
        ValueRange{ws, merged[k]}, corr.getCaptures(),
        cast<RankedTensorType>(ws.getType()),
        [&](OpBuilder &bb, Location, ValueRange idx, ValueRange in,
            ValueRange caps) -> mlir::Value {
          IRMapping mapping;
          for (unsigned d = 0; d < srcRank; ++d)
            mapping.map(src.getArgument(d), idx[d + 1]);
          mapping.map(src.getArgument(srcRank), in[0]);
          mapping.map(src.getArgument(srcRank + 1), in[1]);
          mapping.map(src.getArguments().take_back(caps.size()), caps);
          for (Operation &op : src.without_terminator())
            bb.clone(op, mapping);
          return mapping.lookup(src.getTerminator()->getOperand(0));
        });
  }
  for (auto [k, v] : llvm::enumerate(values)) {
    if (v.isMax)
      continue;
    mlir::Value ws = splitLoop.getResult(k);
    Type type = loop.getResult(k).getType();
    if (v.correctedBy >= 0) {
      const std::string &cTerm = values[v.correctedBy].term;
      merged[k] = ContractOp::create(
          b, loc, type,
          EinsumAttr::fromText(b.getContext(), sp + v.term + "," + sp + cTerm + "->" + v.term),
          CombineKind::Mul, ReduceKind::Add,
          ValueRange{ws, factors[v.correctedBy]});
    } else {
      merged[k] = ReduceOp::create(b, loc, type, ReduceKind::Add,
                                   EinsumAttr::fromText(b.getContext(), sp + v.term + "->" + v.term),
                                   ws);
    }
  }
  for (auto [result, value] : llvm::zip(loop.getResults(), merged))
    result.replaceAllUsesWith(value);
  loop->erase();
  return success();
}

struct AttnSplitKVPass : attn::impl::AttnSplitKVBase<AttnSplitKVPass> {
  using AttnSplitKVBase::AttnSplitKVBase;

  /// Splits every KV loop in `func`; false (with a remark) on refusal.
  bool splitFunction(func::FuncOp func) {
    SmallVector<scf::ForOp> loops;
    func.walk([&](scf::ForOp loop) {
      if (isKvLoop(loop))
        loops.push_back(loop);
    });
    char s = freshLetter(func);
    for (scf::ForOp loop : loops) {
      if (llvm::any_of(loop.getBody()->getOperations(), [](Operation &op) {
            return isa<TileClassOp, scf::IfOp>(op);
          })) {
        func.emitRemark() << "not split: run -attn-split-kv before -attn-fuse";
        return false;
      }
      std::string why;
      if (!s || failed(splitLoop(loop, splits, s, why))) {
        func.emitRemark() << "not split: "
                          << (s ? why : "no free letter for the split index");
        return false;
      }
    }
    return !loops.empty();
  }

  void runOnOperation() override {
    if (splits < 0) {
      getOperation()->emitError()
          << "-attn-split-kv needs splits >= 0 (0: chosen at launch)";
      return signalPassFailure();
    }
    SmallVector<func::FuncOp> funcs;
    getOperation()->walk([&](func::FuncOp f) {
      if (!f.isExternal())
        funcs.push_back(f);
    });
    for (func::FuncOp func : funcs) {
      if (inPlace) {
        splitFunction(func);
        continue;
      }
      bool hasKvLoop = false;
      func.walk([&](scf::ForOp l) { hasKvLoop |= isKvLoop(l); });
      if (!hasKvLoop)
        continue;
      OpBuilder b(func);
      b.setInsertionPointAfter(func);
      auto plan = cast<func::FuncOp>(b.clone(*func));
      plan.setSymName((func.getName() + "_split_kv").str());
      plan.setPrivate();
      if (auto module = func->getParentOfType<ModuleOp>())
        SymbolTable(module).insert(plan); // Renames on a clash.
      if (!splitFunction(plan)) {
        plan->erase();
        continue;
      }
      setSplitKvPlan(func, plan.getSymName());
    }
  }
};

} // namespace
