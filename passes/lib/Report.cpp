//===- Report.cpp - -attn-report: tile counts and pass count as JSON -------===//
//
// Binds concrete sizes and a tile shape, classifies every tile of every
// attention's mask with the mask analysis, and prints what a kernel would
// do: the KV loop's iterations (the tiles of each Q tile's closed-form key
// range, as -attn-fuse bounds the loop), tiles visited, tiles that evaluate
// the mask, and the FuseMax pass count of the variant's cascade.
//
//===----------------------------------------------------------------------===//

#include "attn/Analysis/MaskAnalysis.h"
#include "attn/Dialect/RegionOps.h"
#include "attn/Passes/KeyRange.h"
#include "attn/Passes/PassCount.h"
#include "attn/Passes/Passes.h"
#include "attn/Passes/TileReport.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

namespace attn {
#define GEN_PASS_DEF_ATTNREPORT
#include "attn/Passes/Passes.h.inc"
} // namespace attn

using namespace mlir;
using namespace attn;

namespace {

/// The closed-form key range of a mask (attn/Passes/KeyRange.h, the IR
/// -attn-fuse bounds the KV loop with), built once as a function of (b, h,
/// i0, iLast, nq, nk, captures...) and evaluated per Q tile with the region
/// ops' own scalar semantics (regionops::Rule::evaluate).
class KeyRangeProgram {
public:
  explicit KeyRangeProgram(AttentionOp op) {
    MLIRContext *ctx = op.getContext();
    OpBuilder b(ctx);
    Location loc = op.getLoc();
    module = ModuleOp::create(loc);
    b.setInsertionPointToEnd(module->getBody());
    // The mask region as the function emitKeyRange reads.
    Block &region = op.getMask().front();
    auto maskType = b.getFunctionType(region.getArgumentTypes(),
                                      {b.getI1Type()});
    auto mask = func::FuncOp::create(b, loc, "mask", maskType);
    Block *maskBody = mask.addEntryBlock();
    IRMapping mapping;
    mapping.map(region.getArguments(), maskBody->getArguments());
    OpBuilder mb = OpBuilder::atBlockEnd(maskBody);
    for (Operation &inner : region.without_terminator())
      mb.clone(inner, mapping);
    func::ReturnOp::create(
        mb, loc, mapping.lookup(region.getTerminator()->getOperand(0)));
    // range(b, h, i0, iLast, nq, nk, captures...) -> (lo0, hi0, lo1, ...).
    SmallVector<Type> args(6, b.getIndexType());
    for (BlockArgument arg : region.getArguments().drop_front(6))
      args.push_back(arg.getType());
    range = func::FuncOp::create(b, loc, "range", b.getFunctionType(args, {}));
    Block *body = range.addEntryBlock();
    OpBuilder rb = OpBuilder::atBlockEnd(body);
    ValueRange a = body->getArguments();
    KeySet keys = emitKeySet(rb, loc, mask, a[0], a[1], a[2], a[3], a[4],
                             a[5], a.drop_front(6));
    SmallVector<mlir::Value> bounds;
    for (const KeyRange &r : keys.parts)
      bounds.append({r.lo, r.hi});
    func::ReturnOp::create(rb, loc, bounds);
  }

  /// The ranges [lo, hi] for the rows [i0, iLast] of slice (b, h), or none
  /// when they depend on what the report does not know (a captured tensor,
  /// a scalar capture not given).
  std::optional<SmallVector<std::pair<int64_t, int64_t>>>
  evaluate(ArrayRef<std::optional<double>> argValues) {
    DenseMap<Value, double> values;
    Block &body = range.getBody().front();
    for (auto [arg, v] : llvm::zip(body.getArguments(), argValues))
      if (v)
        values[arg] = *v;
    for (Operation &inner : body) {
      if (auto ret = dyn_cast<func::ReturnOp>(inner)) {
        SmallVector<std::pair<int64_t, int64_t>> parts;
        for (unsigned k = 0; k + 1 < ret.getNumOperands(); k += 2) {
          auto lo = values.find(ret.getOperand(k));
          auto hi = values.find(ret.getOperand(k + 1));
          if (lo == values.end() || hi == values.end())
            return std::nullopt;
          parts.push_back({static_cast<int64_t>(lo->second),
                           static_cast<int64_t>(hi->second)});
        }
        return parts;
      }
      const regionops::Rule *rule = regionops::lookup(&inner);
      if (!rule || !rule->evaluate || inner.getNumResults() != 1)
        continue; // Unknown: whatever reads it is unknown too.
      SmallVector<double> in;
      for (Value operand : inner.getOperands()) {
        auto it = values.find(operand);
        if (it == values.end())
          break;
        in.push_back(it->second);
      }
      if (in.size() != inner.getNumOperands())
        continue;
      regionops::EvalResult r = rule->evaluate(&inner, in.data());
      if (!r.error)
        values[inner.getResult(0)] = r.value;
    }
    return std::nullopt;
  }

private:
  OwningOpRef<ModuleOp> module;
  func::FuncOp range;
};

} // namespace

/// The KV loop's trip count for the Q tile at row `i0` (-attn-fuse's
/// bounds: the tiles of the key ranges' union, clipped to [0, nk)), or
/// every tile when the ranges are not known here.
static int64_t loopIterations(KeyRangeProgram &keyRange,
                              const MaskContext &context, int64_t i0,
                              int64_t kTiles,
                              const TileReportOptions &options) {
  int64_t keys = options.keyLength(), nq = options.nq;
  int64_t blockN = options.blockN;
  SmallVector<std::optional<double>> args = {
      double(context.b), double(context.h), double(i0),
      double(std::min(i0 + options.blockM, nq) - 1), double(nq),
      double(keys)};
  for (std::optional<int64_t> s : context.captureScalars)
    args.push_back(s ? std::optional<double>(double(*s)) : std::nullopt);
  auto parts = keyRange.evaluate(args);
  if (!parts)
    return kTiles;
  // The tiles of the union of the ranges, each widened to whole tiles.
  std::vector<bool> visited(kTiles, false);
  for (auto [lo, hi] : *parts) {
    int64_t first = std::max<int64_t>(0, llvm::divideFloorSigned(lo, blockN));
    int64_t past =
        std::min(kTiles, llvm::divideCeilSigned(hi + 1, blockN));
    for (int64_t t = first; t < past; ++t)
      visited[t] = true;
  }
  return llvm::count(visited, true);
}

FailureOr<TileCounts> attn::countTiles(AttentionOp op,
                                       const TileReportOptions &options) {
  if (options.blockM <= 0 || options.blockN <= 0 || options.nq < 0)
    return op.emitOpError()
           << "tile report: needs positive block-m, block-n and nq >= 0";
  TileCounts c;
  int64_t keys = options.keyLength(), nq = options.nq;
  int64_t blockM = options.blockM, blockN = options.blockN;
  int64_t qTiles = (nq + blockM - 1) / blockM;
  int64_t kTiles = (keys + blockN - 1) / blockN;
  c.qTiles = qTiles;
  c.total = qTiles * kTiles;
  if (op.getMask().empty()) {
    c.visited = c.full = c.iterations = c.total;
    c.maxIterations = qTiles > 0 ? kTiles : 0;
    if (options.tileMap)
      c.tileMap.assign(qTiles, std::string(kTiles, 'F'));
    return c;
  }
  Block &mask = op.getMask().front();
  MaskContext context{0, 0, nq, keys, {}, {}};
  unsigned nextCapture = 0;
  for (mlir::Value capture : op.getCaptures()) {
    std::optional<int64_t> value;
    if (capture.getType().isIntOrIndex()) {
      if (nextCapture < options.captures.size())
        value = options.captures[nextCapture];
      ++nextCapture;
    }
    context.captureScalars.push_back(value);
  }
  // Count every (b, h) slice when the mask reads b or h; else one slice.
  int64_t batches = 1, heads = 1;
  if (!mask.getArgument(0).use_empty()) {
    int64_t b = op.getQ().getType().getDimSize(0);
    batches = ShapedType::isDynamic(b) ? options.batch : b;
  }
  if (!mask.getArgument(1).use_empty()) {
    int64_t h = op.getQ().getType().getDimSize(1);
    if (ShapedType::isDynamic(h))
      return op.emitOpError() << "tile report: needs a static head count "
                                 "for a mask that reads the head index";
    heads = h;
  }
  MaskAnalysis analysis(op.getMask());
  KeyRangeProgram keyRange(op);
  c = TileCounts();
  c.slices = batches * heads;
  c.qTiles = qTiles;
  for (int64_t b = 0; b < batches; ++b)
    for (int64_t h = 0; h < heads; ++h) {
      context.b = b;
      context.h = h;
      for (int64_t i0 = 0; i0 < nq; i0 += blockM) {
        int64_t trips = loopIterations(keyRange, context, i0, kTiles, options);
        c.iterations += trips;
        c.maxIterations = std::max(c.maxIterations, trips);
        bool mapped = options.tileMap && b == 0 && h == 0;
        if (mapped)
          c.tileMap.emplace_back();
        for (int64_t j0 = 0; j0 < keys; j0 += blockN) {
          Tile tile{i0, std::min(i0 + blockM, nq), j0,
                    std::min(j0 + blockN, keys)};
          TileClass cls = analysis.classify(context, tile);
          ++c.total;
          c.visited += cls != TileClass::Empty;
          c.partial += cls == TileClass::Partial;
          c.full += cls == TileClass::Full;
          if (mapped)
            c.tileMap.back() += cls == TileClass::Empty  ? '.'
                                : cls == TileClass::Full ? 'F'
                                                         : 'P';
        }
      }
    }
  return c;
}

namespace {

struct AttnReportPass : attn::impl::AttnReportBase<AttnReportPass> {
  using AttnReportBase::AttnReportBase;

  void runOnOperation() override {
    TileReportOptions options;
    options.nq = nq;
    options.nk = nk;
    options.batch = batch;
    options.blockM = blockM;
    options.blockN = blockN;
    options.captures.assign(captures.begin(), captures.end());
    options.tileMap = tileMap;
    if (blockM <= 0 || blockN <= 0 || nq < 0) {
      getOperation()->emitError()
          << "-attn-report needs positive block-m, block-n and nq >= 0";
      return signalPassFailure();
    }
    std::string json;
    llvm::raw_string_ostream os(json);
    llvm::json::OStream j(os);
    bool failed = false;
    j.object([&] {
      j.attributeArray("kernels", [&] {
        getOperation()->walk([&](AttentionOp op) {
          FailureOr<TileCounts> counts = countTiles(op, options);
          if (mlir::failed(counts)) {
            failed = true;
            return WalkResult::interrupt();
          }
          printKernel(j, op, *counts, options.keyLength());
          return WalkResult::advance();
        });
      });
    });
    if (failed)
      return signalPassFailure();
    os << "\n";
    llvm::outs() << json;
    llvm::outs().flush();
  }

  /// Pass count of the function holding `op`, on a decomposed copy.
  PassCount passCount(AttentionOp op) {
    auto func = op->getParentOfType<func::FuncOp>();
    if (!func)
      return PassCount();
    OwningOpRef<func::FuncOp> copy = func.clone();
    bool ok = true;
    copy->walk([&](AttentionOp inner) {
      ok = ok && succeeded(decomposeAttention(inner));
    });
    return ok ? analyzePassCount(*copy) : PassCount();
  }

  void printKernel(llvm::json::OStream &j, AttentionOp op, const TileCounts &c,
                   int64_t keyLength) {
    auto func = op->getParentOfType<func::FuncOp>();
    SparsityKind kind = SparsityKind::Dense;
    if (!op.getMask().empty())
      kind = MaskAnalysis(op.getMask()).readsCapturedTensors()
                 ? SparsityKind::Runtime
                 : SparsityKind::Static;
    PassCount passes = passCount(op);
    j.object([&] {
      j.attribute("function", func ? func.getName() : "");
      j.attribute("normalizer",
                  stringifyNormalizerKind(op.getNormalizer().getKind()));
      j.attribute("sink_logits", bool(op.getSinkLogits()));
      j.attribute("sparsity", stringifySparsityKind(kind));
      j.attribute("nq", int64_t(nq));
      j.attribute("nk", keyLength);
      j.attribute("block_m", int64_t(blockM));
      j.attribute("block_n", int64_t(blockN));
      j.attribute("slices", c.slices);
      j.attribute("q_tiles", c.qTiles);
      j.attribute("kv_tiles_total", c.total);
      j.attribute("kv_loop_iterations", c.iterations);
      j.attribute("kv_tiles_visited", c.visited);
      j.attribute("mask_tiles", c.partial);
      j.attribute("full_tiles", c.full);
      j.attributeObject("pass_count", [&] {
        j.attribute("as_written", passes.asWritten);
        j.attribute("online", passes.online);
      });
      if (!c.tileMap.empty() || tileMap)
        j.attributeArray("tile_map", [&] {
          for (const std::string &row : c.tileMap)
            j.value(row);
        });
    });
  }
};

} // namespace
