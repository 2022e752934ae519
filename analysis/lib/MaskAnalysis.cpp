//===- MaskAnalysis.cpp - compile-time classification of mask tiles -------===//
//
// Abstract interpretation of a mask region over one tile, in the domain of
// attn/device/tile_class.h (the same transfer functions the kernels run):
// integer values are affine forms in (i, j) with exact ranges over the tile,
// or intervals once the arithmetic leaves the affine world; i1 values are
// true, false or unknown. Every transfer function over-approximates the
// registry's float64 semantics, which the exhaustive tests check against
// element-wise evaluation.
//
//===----------------------------------------------------------------------===//

#include "attn/Analysis/MaskAnalysis.h"
#include "attn/Dialect/RegionOps.h"
#include "attn/device/tile_class.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Block.h"
#include "llvm/ADT/DenseMap.h"

#include <algorithm>
#include <limits>

using namespace mlir;
using namespace attn;
namespace tc = attn::device::tc;

const char *attn::stringifyTileClass(TileClass c) {
  switch (c) {
  case TileClass::Full: return "full";
  case TileClass::Empty: return "empty";
  case TileClass::Partial: return "partial";
  }
  return "?";
}

namespace {

/// Evaluates a mask region abstractly over one tile, in the mask domain of
/// attn/device/tile_class.h: each op's transfer function is the one the
/// region-op registry names for it, the very function the emitted kernels
/// call. Reads of captured tensors whose contents are known are the range
/// of the tensor over the box of index ranges.
class TileEvaluator {
public:
  TileEvaluator(const MaskContext &ctx, const Tile &tile)
      : ctx(ctx), tile{tile.i0, tile.i1, tile.j0, tile.j1} {}

  int run(Block &block);

private:
  tc::Val transfer(Operation &op);
  tc::Val extract(tensor::ExtractOp op);

  const MaskContext &ctx;
  tc::Tile tile;
  llvm::DenseMap<mlir::Value, tc::Val> values;
  llvm::DenseMap<mlir::Value, const TensorView *> tensors;
};

} // namespace

/// An extraction from a captured integer tensor whose contents are known:
/// the range of the tensor over the box of index ranges (bounded in size, as
/// a kernel's per-tile summary would be).
tc::Val TileEvaluator::extract(tensor::ExtractOp op) {
  const TensorView *view = tensors.lookup(op.getTensor());
  if (!view || !op.getType().isIntOrIndex() || op.getType().isInteger(1))
    return tc::unknown();
  size_t rank = view->shape.size();
  SmallVector<int64_t> lo(rank), hi(rank);
  int64_t boxSize = 1;
  for (size_t d = 0; d < rank; ++d) {
    tc::Val index = values.lookup(op.getIndices()[d]);
    if (!index.known || view->shape[d] == 0)
      return tc::unknown();
    // Out-of-range indices fail at run time; the classes only have to be
    // right for the elements that exist.
    lo[d] = std::clamp<int64_t>(index.lo, 0, view->shape[d] - 1);
    hi[d] = std::clamp<int64_t>(index.hi, 0, view->shape[d] - 1);
    if (lo[d] > hi[d])
      return tc::unknown();
    boxSize *= hi[d] - lo[d] + 1;
    if (boxSize > (int64_t(1) << 16))
      return tc::unknown();
  }
  SmallVector<int64_t> at(lo);
  double mn = std::numeric_limits<double>::infinity(), mx = -mn;
  for (int64_t k = 0; k < boxSize; ++k) {
    int64_t offset = 0;
    for (size_t d = 0; d < rank; ++d)
      offset = offset * view->shape[d] + at[d];
    mn = std::min(mn, view->data[offset]);
    mx = std::max(mx, view->data[offset]);
    for (int d = static_cast<int>(rank) - 1; d >= 0; --d) {
      if (++at[d] <= hi[d])
        break;
      at[d] = lo[d];
    }
  }
  return tc::interval(tile, static_cast<int64_t>(mn), static_cast<int64_t>(mx));
}

/// The transfer function of one op, from the region-op registry.
tc::Val TileEvaluator::transfer(Operation &op) {
  if (auto e = dyn_cast<tensor::ExtractOp>(op))
    return extract(e);
  const regionops::Rule *rule = regionops::lookup(&op);
  if (!rule || !rule->transfer)
    return tc::unknown();
  regionops::TcCall call = rule->transfer(&op);
  tc::Val in[3] = {tc::unknown(), tc::unknown(), tc::unknown()};
  for (unsigned k = 0; k < op.getNumOperands() && k < 3; ++k)
    in[k] = values.lookup(op.getOperand(k));
  return tc::apply(tile, call.op, call.imm[0], call.imm[1], call.imm[2], in[0],
                   in[1], in[2]);
}

int TileEvaluator::run(Block &block) {
  // Block arguments: b, h, i, j, nq, nk, captures…
  int64_t fixed[] = {ctx.b, ctx.h, 0, 0, ctx.nq, ctx.nk};
  for (auto [idx, arg] : llvm::enumerate(block.getArguments())) {
    if (idx == 2)
      values[arg] = tc::rowIndex(tile);
    else if (idx == 3)
      values[arg] = tc::colIndex(tile);
    else if (idx < 6)
      values[arg] = tc::constant(tile, fixed[idx]);
    else if (idx - 6 < ctx.captureScalars.size() &&
             ctx.captureScalars[idx - 6] && arg.getType().isIntOrIndex())
      values[arg] = tc::constant(tile, *ctx.captureScalars[idx - 6]);
    else
      values[arg] = tc::unknown();
    if (idx >= 6 && idx - 6 < ctx.captureTensors.size() &&
        ctx.captureTensors[idx - 6])
      tensors[arg] = &*ctx.captureTensors[idx - 6];
  }
  for (Operation &op : block) {
    if (op.hasTrait<OpTrait::IsTerminator>())
      return tc::classify(values.lookup(op.getOperand(0)));
    if (op.getNumResults() == 1)
      values[op.getResult(0)] = transfer(op);
  }
  return tc::kPartial;
}

/// True when the registry gives `op` a transfer function (anything else is
/// unknown, which only makes tiles partial).
static bool isModelled(Operation &op) {
  const regionops::Rule *rule = regionops::lookup(&op);
  return rule && rule->transfer &&
         rule->transfer(&op).op != tc::kOpUnknown;
}

MaskAnalysis::MaskAnalysis(Region &mask) : region(&mask) {
  for (Operation &op : mask.front()) {
    if (isa<tensor::ExtractOp>(op)) {
      readsTensors = true;
      continue;
    }
    if (!isModelled(op) && !op.hasTrait<OpTrait::IsTerminator>() &&
        unmodelled.empty())
      unmodelled = op.getName().getStringRef().str();
  }
}

TileClass MaskAnalysis::classify(const MaskContext &context,
                                 const Tile &tile) const {
  TileEvaluator evaluator(context, tile);
  switch (evaluator.run(region->front())) {
  case tc::kFull: return TileClass::Full;
  case tc::kEmpty: return TileClass::Empty;
  default: return TileClass::Partial;
  }
}
