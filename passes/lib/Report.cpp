//===- Report.cpp - -attn-report: tile counts and pass count as JSON -------===//
//
// Binds concrete sizes and a tile shape, classifies every tile of every
// attention's mask with the mask analysis, and prints what a kernel would
// do: tiles visited, tiles that evaluate the mask, and the FuseMax pass count
// of the variant's cascade.
//
//===----------------------------------------------------------------------===//

#include "attn/Analysis/MaskAnalysis.h"
#include "attn/Passes/PassCount.h"
#include "attn/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/raw_ostream.h"

namespace attn {
#define GEN_PASS_DEF_ATTNREPORT
#include "attn/Passes/Passes.h.inc"
} // namespace attn

using namespace mlir;
using namespace attn;

namespace {

/// Tile counts of one attention op.
struct TileCounts {
  int64_t slices = 1, qTiles = 0, total = 0, visited = 0, partial = 0,
          full = 0;
};

struct AttnReportPass : attn::impl::AttnReportBase<AttnReportPass> {
  using AttnReportBase::AttnReportBase;

  void runOnOperation() override {
    if (blockM <= 0 || blockN <= 0 || nq < 0) {
      getOperation()->emitError()
          << "-attn-report needs positive block-m, block-n and nq >= 0";
      return signalPassFailure();
    }
    std::string json;
    llvm::raw_string_ostream os(json);
    os << "{\"kernels\": [";
    bool first = true;
    WalkResult walk = getOperation()->walk([&](AttentionOp op) {
      FailureOr<TileCounts> counts = countTiles(op);
      if (failed(counts))
        return WalkResult::interrupt();
      os << (first ? "" : ", ");
      first = false;
      printKernel(os, op, *counts);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
    os << "]}\n";
    llvm::outs() << json;
    llvm::outs().flush();
  }

  int64_t keyLength() const { return nk < 0 ? nq : nk; }

  FailureOr<TileCounts> countTiles(AttentionOp op) {
    TileCounts c;
    int64_t keys = keyLength();
    int64_t qTiles = (nq + blockM - 1) / blockM;
    int64_t kTiles = (keys + blockN - 1) / blockN;
    c.qTiles = qTiles;
    c.total = qTiles * kTiles;
    if (op.getMask().empty()) {
      c.visited = c.full = c.total;
      return c;
    }
    Block &mask = op.getMask().front();
    MaskContext context{0, 0, nq, keys, {}, {}};
    unsigned nextCapture = 0;
    for (mlir::Value capture : op.getCaptures()) {
      std::optional<int64_t> value;
      if (capture.getType().isIntOrIndex()) {
        if (nextCapture < captures.size())
          value = captures[nextCapture];
        ++nextCapture;
      }
      context.captureScalars.push_back(value);
    }
    // Count every (b, h) slice when the mask reads b or h; else one slice.
    int64_t batches = 1, heads = 1;
    if (!mask.getArgument(0).use_empty()) {
      int64_t b = op.getQ().getType().getDimSize(0);
      batches = ShapedType::isDynamic(b) ? batch : b;
    }
    if (!mask.getArgument(1).use_empty()) {
      int64_t h = op.getQ().getType().getDimSize(1);
      if (ShapedType::isDynamic(h))
        return op.emitOpError() << "-attn-report needs a static head count "
                                   "for a mask that reads the head index";
      heads = h;
    }
    MaskAnalysis analysis(op.getMask());
    c = TileCounts{batches * heads, qTiles, 0, 0, 0, 0};
    for (int64_t b = 0; b < batches; ++b)
      for (int64_t h = 0; h < heads; ++h) {
        context.b = b;
        context.h = h;
        for (int64_t i0 = 0; i0 < nq; i0 += blockM)
          for (int64_t j0 = 0; j0 < keys; j0 += blockN) {
            Tile tile{i0, std::min(i0 + blockM, int64_t(nq)), j0,
                      std::min(j0 + blockN, keys)};
            TileClass cls = analysis.classify(context, tile);
            ++c.total;
            c.visited += cls != TileClass::Empty;
            c.partial += cls == TileClass::Partial;
            c.full += cls == TileClass::Full;
          }
      }
    return c;
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

  void printKernel(llvm::raw_ostream &os, AttentionOp op,
                   const TileCounts &c) {
    auto func = op->getParentOfType<func::FuncOp>();
    SparsityKind kind = SparsityKind::Dense;
    if (!op.getMask().empty())
      kind = MaskAnalysis(op.getMask()).readsCapturedTensors()
                 ? SparsityKind::Runtime
                 : SparsityKind::Static;
    PassCount passes = passCount(op);
    os << "{\"function\": \"" << (func ? func.getName() : "") << "\""
       << ", \"normalizer\": \""
       << stringifyNormalizerKind(op.getNormalizer().getKind()) << "\""
       << ", \"sink_logits\": " << (op.getSinkLogits() ? "true" : "false")
       << ", \"sparsity\": \"" << stringifySparsityKind(kind) << "\""
       << ", \"nq\": " << nq << ", \"nk\": " << keyLength()
       << ", \"block_m\": " << blockM << ", \"block_n\": " << blockN
       << ", \"slices\": " << c.slices << ", \"q_tiles\": " << c.qTiles
       << ", \"kv_tiles_total\": " << c.total
       << ", \"kv_tiles_visited\": " << c.visited
       << ", \"mask_tiles\": " << c.partial << ", \"full_tiles\": " << c.full
       << ", \"pass_count\": {\"as_written\": " << passes.asWritten
       << ", \"online\": " << passes.online << "}}";
  }
};

} // namespace
