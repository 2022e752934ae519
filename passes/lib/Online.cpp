//===- Online.cpp - -attn-online: the FuseMax one-pass rewrite ------------===//
//
// Turns a cascade whose pass-count analysis reaches one pass into an scf.for
// over KV tiles carrying a running value per reduction over the KV letter.
// Nothing here knows about softmax: the running max, the correction factor
// (the exp map's own body evaluated at the old and new max), the running
// sums and the deferred scale maps all come from the cascade's ops.
//
//===----------------------------------------------------------------------===//

#include "CascadeUtils.h"
#include "attn/Dialect/Equation.h"
#include "attn/Dialect/KernelAttrs.h"
#include "attn/Passes/PassCount.h"
#include "attn/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"

#include <limits>

namespace attn {
#define GEN_PASS_DEF_ATTNONLINE
#include "attn/Passes/Passes.h.inc"
} // namespace attn

using namespace mlir;
using namespace attn;

namespace {

using attn::equationOf;
using attn::inputsOf;

bool has(const std::string &term, char c) { return hasLetter(term, c); }

/// How a reduction over the KV letter becomes a running value.
struct Running {
  Operation *op;
  bool isMax;
  /// For a max: the map consuming it through exp(x - max).
  MapOp expMap;
  /// For a sum: the max whose changes rescale it (null if none).
  Operation *correctedBy = nullptr;
  /// For a sum: the deferred scale map feeding it (null if none).
  MapOp deferred;
  /// Position among the loop's iter_args.
  unsigned iterIndex = 0;
};

/// Rewrites one function's cascade; `why` explains a refusal.
class OnlineRewriter {
public:
  OnlineRewriter(Block &block, char kv, int64_t tileN)
      : block(block), kv(kv), tileN(tileN) {}

  LogicalResult analyze();
  void rewrite();
  std::string why;

private:
  LogicalResult refuse(const Twine &reason) {
    why = reason.str();
    return failure();
  }
  bool isScaleMap(MapOp map, unsigned scaleInput) const;
  /// True when `v` is a per-row value the loop's final values determine:
  /// computed, outside the cascade's KV ops, from running values and from
  /// values defined before the loop (the softmax denominator with a sink
  /// logit, D = l + e^(σ − m)).
  bool isAfterLoopValue(mlir::Value v);
  /// Defers `map`, a scale map (isScaleMap), past the sums that consume it;
  /// refuses when another op consumes it.
  LogicalResult deferScaleMap(MapOp map);
  OpFoldResult letterSize(OpBuilder &b, char letter);
  mlir::Value rowMap(OpBuilder &b, Location loc, const std::string &eq,
                     ValueRange inputs, ValueRange captures, Type type,
                     MapBodyFn fill);
  mlir::Value cloneBodyAt(OpBuilder &b, Location loc, MapOp source,
                          const std::string &outTerm,
                          ArrayRef<std::string> inputTerms,
                          ArrayRef<std::pair<unsigned, unsigned>> inputMap,
                          ValueRange inputs, Type type);
  Operation *cloneIntoTile(OpBuilder &b, Operation *op, IRMapping &mapping,
                           mlir::Value tileStart);

  Block &block;
  char kv;
  int64_t tileN;
  llvm::SetVector<Operation *> kvOps;
  SmallVector<Running> running;
  llvm::DenseMap<Operation *, unsigned> runningIndex;
  /// The scale maps deferred past the sums that consume them.
  llvm::DenseSet<Operation *> deferredMaps;
  llvm::DenseMap<char, OpFoldResult> sizes;
  /// Memo of isAfterLoopValue.
  llvm::DenseMap<mlir::Value, bool> afterLoop;
};

} // namespace

/// A map that multiplies or divides a KV value by a row value (and maybe
/// guards a zero row value with a constant): linear in the KV value, so it
/// commutes with a later sum over KV.
bool OnlineRewriter::isScaleMap(MapOp map, unsigned scaleInput) const {
  Block &body = map.getBody().front();
  unsigned rank = map.getResult().getType().getRank();
  if (map.getInputs().size() != 2)
    return false;
  for (unsigned d = 0; d < rank; ++d)
    if (!body.getArgument(d).use_empty())
      return false;
  mlir::Value x = body.getArgument(rank + (1 - scaleInput));
  mlir::Value l = body.getArgument(rank + scaleInput);
  mlir::Value result = body.getTerminator()->getOperand(0);
  if (auto sel = result.getDefiningOp<arith::SelectOp>()) {
    // select(cond(l), constant, scaled): the guard of an empty row.
    if (!matchPattern(sel.getTrueValue(), m_Constant()))
      return false;
    Operation *cond = sel.getCondition().getDefiningOp();
    if (!cond || !llvm::all_of(cond->getOperands(), [&](mlir::Value v) {
          return v == l || matchPattern(v, m_Constant());
        }))
      return false;
    result = sel.getFalseValue();
  }
  Operation *def = result.getDefiningOp();
  if (auto div = dyn_cast_or_null<arith::DivFOp>(def))
    return div.getLhs() == x && div.getRhs() == l && x.hasOneUse();
  if (auto mul = dyn_cast_or_null<arith::MulFOp>(def))
    return ((mul.getLhs() == x && mul.getRhs() == l) ||
            (mul.getLhs() == l && mul.getRhs() == x)) &&
           x.hasOneUse();
  return false;
}

bool OnlineRewriter::isAfterLoopValue(mlir::Value v) {
  auto known = afterLoop.find(v);
  if (known != afterLoop.end())
    return known->second;
  Operation *def = v.getDefiningOp();
  bool result = false;
  if (!def || def->getBlock() != &block || def->isBeforeInBlock(kvOps.front()))
    result = true; // Exists before the loop starts.
  else if (runningIndex.count(def))
    result = true; // A running value: final after the loop.
  else if (!kvOps.contains(def) &&
           (def->getNumRegions() == 0 || isa<MapOp>(def)))
    result = llvm::all_of(def->getOperands(), [&](mlir::Value operand) {
      return isAfterLoopValue(operand);
    });
  afterLoop[v] = result;
  return result;
}

LogicalResult OnlineRewriter::deferScaleMap(MapOp map) {
  for (Operation *consumer : map.getResult().getUsers()) {
    auto it = runningIndex.find(consumer);
    if (it == runningIndex.end() || running[it->second].isMax)
      return refuse("a scaled value is used by an op other than a sum "
                    "over the KV letter");
    if (running[it->second].deferred &&
        running[it->second].deferred != map)
      return refuse("a sum over the KV letter takes two deferred maps");
    running[it->second].deferred = map;
  }
  deferredMaps.insert(map);
  return success();
}

LogicalResult OnlineRewriter::analyze() {
  for (Operation &op : block) {
    if (!isa<ContractOp, MapOp, ReduceOp>(op))
      continue;
    Equation eq = equationOf(&op);
    if (has(eq.output, kv) || has(eq.allInputLetters(), kv))
      kvOps.insert(&op);
  }
  if (kvOps.empty())
    return refuse("no op iterates over the KV letter");
  hoistInvariantOps(kvOps.getArrayRef());
  Operation *first = kvOps.front();

  // Reductions over KV become running values.
  for (Operation *op : kvOps) {
    Equation eq = equationOf(op);
    if (!has(eq.allInputLetters(), kv) || has(eq.output, kv))
      continue;
    bool isMax;
    if (auto r = dyn_cast<ReduceOp>(op)) {
      isMax = r.getKind() == ReduceKind::Max;
    } else if (auto c = dyn_cast<ContractOp>(op)) {
      if (c.getReduce() != ReduceKind::Add || c.getCombine() != CombineKind::Mul)
        return refuse("a contraction over the KV letter that is not a sum of "
                      "products");
      isMax = false;
    } else {
      return refuse("a map reduces the KV letter");
    }
    runningIndex[op] = running.size();
    Running r{};
    r.op = op;
    r.isMax = isMax;
    running.push_back(r);
  }

  // Inputs from outside the cascade must exist before the loop starts, or
  // be per-row factors the final running values determine, applied after
  // the loop like a running sum's deferred scale.
  for (Operation *op : kvOps)
    for (auto [k, v] : llvm::enumerate(op->getOperands())) {
      Operation *def = v.getDefiningOp();
      if (!def || kvOps.contains(def) || def->getBlock() != &block ||
          def->isBeforeInBlock(first))
        continue;
      auto map = dyn_cast<MapOp>(op);
      if (!map || !isAfterLoopValue(v) || k >= map.getInputs().size() ||
          !isScaleMap(map, k))
        return refuse("'" + def->getName().getStringRef() +
                      "' defines an input of the cascade after it starts");
      if (failed(deferScaleMap(map)))
        return failure();
    }

  // Every use of a running value inside the loop must be one the rewrite
  // can correct: exp(x - max) for a max, a deferred scale for a sum.
  for (Running &r : running) {
    for (Operation *user : r.op->getResult(0).getUsers()) {
      if (!kvOps.contains(user))
        continue; // After the loop: sees the final value.
      auto map = dyn_cast<MapOp>(user);
      unsigned pos = 0;
      if (map)
        for (auto [k, in] : llvm::enumerate(map.getInputs()))
          if (in == r.op->getResult(0))
            pos = k;
      if (r.isMax) {
        if (!map || map.getInputs().size() != 2 || r.expMap)
          return refuse("the running max feeds an op other than one "
                        "exp(x - max) map");
        r.expMap = map;
        // The correction evaluates the exp map on row values: it must not
        // read the KV index.
        Equation eq = equationOf(map);
        for (auto [d, letter] : llvm::enumerate(eq.output))
          if (letter == kv &&
              !map.getBody().front().getArgument(d).use_empty())
            return refuse("the exp map reads the KV index");
        continue;
      }
      if (!map || !isScaleMap(map, pos))
        return refuse("a sum over the KV letter feeds a later op over it "
                      "other than as a scale factor: needs a complete row");
      if (failed(deferScaleMap(map)))
        return failure();
    }
  }

  // Which max corrects each sum: follow the dependences through the loop.
  llvm::DenseMap<Operation *, Operation *> dependsOnMax;
  for (Operation *op : kvOps) {
    Operation *dep = nullptr;
    for (Running &r : running)
      if (r.isMax && r.expMap == op)
        dep = r.op;
    for (mlir::Value v : op->getOperands()) {
      Operation *def = v.getDefiningOp();
      auto it = dependsOnMax.find(def);
      if (it == dependsOnMax.end() || !it->second ||
          (runningIndex.count(def) && !deferredMaps.contains(op)))
        continue;
      if (dep && dep != it->second)
        return refuse("an op depends on two running maxima");
      dep = it->second;
    }
    dependsOnMax[op] = dep;
    auto ri = runningIndex.find(op);
    if (ri != runningIndex.end() && !running[ri->second].isMax)
      running[ri->second].correctedBy = dep;
  }
  for (Running &r : running)
    if (r.isMax && !r.expMap)
      return refuse("a running max no exp map consumes");
  return success();
}

OpFoldResult OnlineRewriter::letterSize(OpBuilder &b, char letter) {
  auto it = sizes.find(letter);
  if (it != sizes.end())
    return it->second;
  OpFoldResult size =
      letterSizeFromInputs(b, SmallVector<Operation *>(kvOps.getArrayRef()),
                           letter);
  assert(size && "every output letter appears in an input");
  sizes[letter] = size;
  return size;
}

mlir::Value OnlineRewriter::rowMap(OpBuilder &b, Location loc,
                                   const std::string &eq, ValueRange inputs,
                                   ValueRange captures, Type type,
                                   MapBodyFn fill) {
  return buildMap(b, loc, eq, inputs, captures, cast<RankedTensorType>(type),
                  fill)
      .getResult();
}

/// A new map over `outTerm` whose inputs (`inputs`, indexed by
/// `inputTerms`) feed `source`'s body: source input k reads new input
/// inputMap[k].second; index arguments are matched by letter (the analysis
/// checked that letters absent from outTerm are unused).
mlir::Value OnlineRewriter::cloneBodyAt(
    OpBuilder &b, Location loc, MapOp source, const std::string &outTerm,
    ArrayRef<std::string> inputTerms,
    ArrayRef<std::pair<unsigned, unsigned>> inputMap, ValueRange inputs,
    Type type) {
  Equation srcEq = equationOf(source);
  Equation eq;
  eq.inputs.assign(inputTerms.begin(), inputTerms.end());
  eq.output = outTerm;
  Block &src = source.getBody().front();
  unsigned srcRank = srcEq.output.size();
  return rowMap(
      b, loc, eq.str(), inputs, source.getCaptures(), type,
      [&](OpBuilder &bb, Location, ValueRange idx, ValueRange in,
          ValueRange caps) -> mlir::Value {
        IRMapping mapping;
        for (auto [d, letter] : llvm::enumerate(srcEq.output)) {
          size_t pos = outTerm.find(letter);
          if (pos != std::string::npos)
            mapping.map(src.getArgument(d), idx[pos]);
        }
        for (auto [k, target] : inputMap)
          mapping.map(src.getArgument(srcRank + k), in[target]);
        mapping.map(src.getArguments().take_back(caps.size()), caps);
        for (Operation &op : src.without_terminator())
          bb.clone(op, mapping);
        return mapping.lookup(src.getTerminator()->getOperand(0));
      });
}

/// Clones a cascade op for one KV tile: its KV dimension becomes the tile's
/// (dynamic) length and a map that reads the KV index sees tileStart + u.
Operation *OnlineRewriter::cloneIntoTile(OpBuilder &b, Operation *op,
                                         IRMapping &mapping,
                                         mlir::Value tileStart) {
  Operation *clone = b.clone(*op, mapping);
  Equation eq = equationOf(op);
  size_t pos = eq.output.find(kv);
  auto type = cast<RankedTensorType>(clone->getResult(0).getType());
  if (pos != std::string::npos) {
    SmallVector<int64_t> shape(type.getShape());
    shape[pos] = ShapedType::kDynamic;
    clone->getResult(0).setType(type.clone(shape));
  }
  auto map = dyn_cast<MapOp>(clone);
  if (!map || pos == std::string::npos ||
      map.getBody().front().getArgument(pos).use_empty())
    return clone;
  // The body reads the KV index: pass the tile start as a new capture and
  // add it to the local index.
  SmallVector<mlir::Value> added;
  MapOp wider = appendCaptures(b, map, tileStart, added);
  Block &body = wider.getBody().front();
  mlir::Value local = body.getArgument(pos);
  OpBuilder bb = OpBuilder::atBlockBegin(&body);
  auto global = arith::AddIOp::create(bb, wider.getLoc(), local, added[0]);
  local.replaceAllUsesExcept(global, global);
  return wider;
}

void OnlineRewriter::rewrite() {
  Operation *first = kvOps.front();
  Location loc = first->getLoc();
  OpBuilder b(first);
  double negInf = -std::numeric_limits<double>::infinity();

  // The KV length, and the initial running values.
  OpFoldResult kvSize = letterSize(b, kv);
  mlir::Value nk = getValueOrCreateConstantIndexOp(b, loc, kvSize);
  SmallVector<mlir::Value> inits;
  for (auto [k, r] : llvm::enumerate(running)) {
    r.iterIndex = k;
    Equation eq = equationOf(r.op);
    SmallVector<OpFoldResult> shape;
    for (char c : eq.output)
      shape.push_back(letterSize(b, c));
    auto init = arith::ConstantOp::create(
        b, loc, b.getF32FloatAttr(r.isMax ? negInf : 0.0));
    inits.push_back(tensor::SplatOp::create(b, loc, init, shape));
  }
  // External inputs indexed by the KV letter are sliced per tile.
  llvm::SetVector<mlir::Value> kvInputs;
  for (Operation *op : kvOps) {
    Equation eq = equationOf(op);
    for (auto [term, value] : llvm::zip(eq.inputs, inputsOf(op)))
      if (!kvOps.contains(value.getDefiningOp()) && has(term, kv))
        kvInputs.insert(value);
  }

  auto zero = arith::ConstantIndexOp::create(b, loc, 0);
  auto step = arith::ConstantIndexOp::create(b, loc, tileN);
  scf::ForOp loop = scf::ForOp::create(
      b, loc, zero, nk, step, inits,
      [&](OpBuilder &lb, Location loc, mlir::Value t, ValueRange iters) {
        auto left = arith::SubIOp::create(lb, loc, nk, t);
        auto len = arith::MinSIOp::create(lb, loc, step, left);
        IRMapping mapping;
        for (mlir::Value in : kvInputs) {
          auto type = cast<RankedTensorType>(in.getType());
          size_t pos = 0;
          for (Operation *op : kvOps) {
            Equation eq = equationOf(op);
            for (auto [term, value] : llvm::zip(eq.inputs, inputsOf(op)))
              if (value == in)
                pos = term.find(kv);
          }
          SmallVector<OpFoldResult> offsets(type.getRank(), lb.getIndexAttr(0));
          SmallVector<OpFoldResult> strides(type.getRank(), lb.getIndexAttr(1));
          SmallVector<OpFoldResult> lengths;
          for (int64_t d = 0; d < type.getRank(); ++d)
            lengths.push_back(tensor::getMixedSize(lb, loc, in, d));
          offsets[pos] = t;
          lengths[pos] = len.getResult();
          mapping.map(in, tensor::ExtractSliceOp::create(lb, loc, in, offsets,
                                                         lengths, strides));
        }
        SmallVector<mlir::Value> yields(running.size());
        llvm::DenseMap<Operation *, mlir::Value> correction;
        for (Operation *op : kvOps) {
          if (auto map = dyn_cast<MapOp>(op); map && deferredMaps.contains(op)) {
            // Deferred past the sum: the loop sums the unscaled value (the
            // input indexed by the KV letter).
            for (auto [term, in] :
                 llvm::zip(equationOf(op).inputs, map.getInputs()))
              if (has(term, kv))
                mapping.map(map.getResult(), mapping.lookupOrDefault(in));
            continue;
          }
          Operation *tile = cloneIntoTile(lb, op, mapping, t);
          auto ri = runningIndex.find(op);
          if (ri == runningIndex.end()) {
            mapping.map(op->getResult(0), tile->getResult(0));
            continue;
          }
          Running &r = running[ri->second];
          mlir::Value old = iters[r.iterIndex];
          std::string term = equationOf(op).output;
          Type type = old.getType();
          if (r.isMax) {
            // m' = max(m, tile max); correction c = expMap(m, m').
            mlir::Value m = rowMap(
                lb, loc, term + "," + term + "->" + term,
                ValueRange{old, tile->getResult(0)}, {}, type,
                [&](OpBuilder &bb, Location loc, ValueRange, ValueRange in,
                    ValueRange) -> mlir::Value {
                  return arith::MaximumFOp::create(bb, loc, in[0], in[1]);
                });
            mapping.map(op->getResult(0), m);
            unsigned maxPos = r.expMap.getInputs()[1] == op->getResult(0);
            std::pair<unsigned, unsigned> inputMap[] = {{1 - maxPos, 0},
                                                        {maxPos, 1}};
            std::string terms[] = {term, term};
            correction[op] = cloneBodyAt(lb, loc, r.expMap, term, terms,
                                         inputMap, ValueRange{old, m}, type);
            yields[r.iterIndex] = m;
            continue;
          }
          // acc' = acc · c + tile sum (c only if a running max feeds it).
          mlir::Value sum = tile->getResult(0);
          if (r.correctedBy) {
            mlir::Value c = correction.lookup(r.correctedBy);
            std::string cTerm = equationOf(r.correctedBy).output;
            yields[r.iterIndex] = rowMap(
                lb, loc, term + "," + cTerm + "," + term + "->" + term,
                ValueRange{old, c, sum}, {}, type,
                [&](OpBuilder &bb, Location loc, ValueRange, ValueRange in,
                    ValueRange) -> mlir::Value {
                  auto scaled = arith::MulFOp::create(bb, loc, in[0], in[1]);
                  return arith::AddFOp::create(bb, loc, scaled, in[2]);
                });
          } else {
            yields[r.iterIndex] = rowMap(
                lb, loc, term + "," + term + "->" + term,
                ValueRange{old, sum}, {}, type,
                [&](OpBuilder &bb, Location loc, ValueRange, ValueRange in,
                    ValueRange) -> mlir::Value {
                  return arith::AddFOp::create(bb, loc, in[0], in[1]);
                });
          }
        }
        scf::YieldOp::create(lb, loc, yields);
      });

  // Later passes (-attn-fuse) find the KV loop by this tag.
  setKvLoop(loop);

  // After the loop: final values, deferred scale maps applied once.
  b.setInsertionPointAfter(loop);
  SmallVector<mlir::Value> finals(loop.getResults());
  for (Running &r : running) {
    if (!r.deferred)
      continue;
    MapOp d = r.deferred;
    Equation dEq = equationOf(d);
    unsigned scalePos = has(dEq.inputs[0], kv) ? 1 : 0;
    // The scale is a running value's final value, or a per-row value
    // computed from those after the loop (then applied after it).
    mlir::Value scale = d.getInputs()[scalePos];
    OpBuilder::InsertionGuard guard(b);
    auto scaleRunning = runningIndex.find(scale.getDefiningOp());
    if (scaleRunning != runningIndex.end())
      scale = loop.getResult(running[scaleRunning->second].iterIndex);
    else if (Operation *def = scale.getDefiningOp();
             def && def->getBlock() == loop->getBlock() &&
             loop->isBeforeInBlock(def))
      b.setInsertionPointAfter(def);
    std::string term = equationOf(r.op).output;
    std::string terms[] = {term, dEq.inputs[scalePos]};
    mlir::Value acc = loop.getResult(r.iterIndex);
    std::pair<unsigned, unsigned> inputMap[] = {{1 - scalePos, 0},
                                                {scalePos, 1}};
    finals[r.iterIndex] = cloneBodyAt(b, loc, d, term, terms, inputMap,
                                      ValueRange{acc, scale}, acc.getType());
  }
  for (Running &r : running) {
    mlir::Value result = r.op->getResult(0), replacement = finals[r.iterIndex];
    if (replacement.getType() != result.getType())
      replacement = tensor::CastOp::create(b, loc, result.getType(),
                                           replacement);
    result.replaceUsesWithIf(replacement, [&](OpOperand &use) {
      return !kvOps.contains(use.getOwner());
    });
  }
  for (Operation *op : llvm::reverse(kvOps))
    op->erase();
}

/// The KV letter of the cascade directly in `block`: the letter folded by
/// the last contraction that reduces a letter some cascade op produces (P·V
/// reduces the key letter of the scores; q·k reduces the head dim, which no
/// op produces). 0 if there is none.
static char kvLetterOf(Block &block) {
  std::string produced;
  char kv = 0;
  for (Operation &op : block)
    if (isa<ContractOp, MapOp, ReduceOp>(op))
      produced += equationOf(&op).output;
  for (Operation &op : block)
    if (isa<ContractOp>(op))
      for (char c : equationOf(&op).reducedLetters())
        if (has(produced, c))
          kv = c;
  return kv;
}

/// The KV tile of a cascade when tile-n is not given: 64 keys, or 32 when
/// an operand of a contraction has a static dimension over 128 (a head
/// dimension of 256: two stages of 64-row K and V tiles would take 135 KB).
static int64_t defaultTileN(Block &block) {
  int64_t widest = 0;
  for (auto contract : block.getOps<ContractOp>())
    for (Value input : contract.getInputs())
      for (int64_t size : cast<ShapedType>(input.getType()).getShape())
        if (!ShapedType::isDynamic(size))
          widest = std::max(widest, size);
  return widest > 128 ? 32 : 64;
}

/// The KV tile of a cascade when tile-n is not given on a wgmma target: 128
/// keys when every contraction reads an f16/bf16 tensor and the static
/// innermost dimensions (the head dimensions) are multiples of 16 up to 128:
/// those wgmma's swizzled stages take, so the schedule does not fall back to
/// mma.sync, where 128 keys would spill. Else defaultTileN's.
static int64_t wgmmaTileN(Block &block) {
  for (auto contract : block.getOps<ContractOp>()) {
    // P may be f32 here (it is rounded to V's type on the tensor cores).
    bool halfOperand = false;
    for (Value input : contract.getInputs()) {
      auto type = cast<ShapedType>(input.getType());
      halfOperand |=
          type.getElementType().isF16() || type.getElementType().isBF16();
      int64_t inner = type.getRank() ? type.getShape().back() : 1;
      if (!ShapedType::isDynamic(inner) && (inner % 16 != 0 || inner > 128))
        return defaultTileN(block);
    }
    if (!halfOperand)
      return defaultTileN(block);
  }
  return 128;
}

namespace {
struct AttnOnlinePass : attn::impl::AttnOnlineBase<AttnOnlinePass> {
  using AttnOnlineBase::AttnOnlineBase;
  void runOnOperation() override {
    if (tileN < 0) {
      getOperation()->emitError() << "-attn-online needs tile-n >= 0";
      return signalPassFailure();
    }
    getOperation()->walk([&](func::FuncOp func) {
      PassCount count = analyzePassCount(func);
      if (count.hasCascade && count.online > 1) {
        func.emitRemark() << "not rewritten: the cascade needs "
                          << count.online << " passes over K/V even online";
        return;
      }
      // The cascade sits in the function body, or in the body of the grid
      // loops of -attn-tile: rewrite every block that holds one.
      SmallVector<Block *> blocks;
      func.walk([&](Block *block) {
        if (llvm::any_of(*block, [](Operation &op) {
              return isa<ContractOp>(op);
            }))
          blocks.push_back(block);
      });
      for (Block *block : blocks) {
        char kv = kvLetterOf(*block);
        if (!kv)
          continue;
        OnlineRewriter rewriter(*block, kv,
                                tileN > 0    ? tileN
                                : wgmmaTiles ? wgmmaTileN(*block)
                                             : defaultTileN(*block));
        if (failed(rewriter.analyze())) {
          func.emitRemark() << "not rewritten: " << rewriter.why;
          continue;
        }
        rewriter.rewrite();
      }
    });
  }
};
} // namespace
