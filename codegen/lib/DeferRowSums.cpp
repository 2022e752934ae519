//===- DeferRowSums.cpp - -attn-defer-row-sums ----------------------------===//
//
// On the tensor-core path a row of a fragment tile is spread over the four
// lanes of a quad, so a row sum is each lane's partial sum plus two
// shuffles. A running sum that only ever grows as `l' = l·c + Σ_j x` (c per
// row: the online softmax's correction; softplus: no c) is linear in the
// partial sums, so each lane can carry its own partial running sum through
// the KV loop and the quad adds them once after it, as FlashAttention-2
// does: two shuffles and two adds per row and KV tile fewer.
//
// The pass proves that shape on the IR and records it: attn.lane_partial on
// each reduction whose cross-lane step is left out, and
// attn.lane_partial_results on the KV loop, naming the results the printer
// completes after the loop. Everything else that reads the running sum
// inside the loop, an initial value other than zero, or a use of the
// reduction elsewhere leaves the sum as it is.
//
//===----------------------------------------------------------------------===//

#include "attn/Codegen/Schedule.h"
#include "attn/Dialect/KernelAttrs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

namespace attn::codegen {
#define GEN_PASS_DEF_ATTNDEFERROWSUMS
#include "attn/Codegen/Passes.h.inc"
} // namespace attn::codegen

using namespace mlir;
using namespace attn;

namespace {

/// Whether `v` is a tensor of zeros (a splat of 0.0).
bool isZeroTensor(Value v) {
  if (auto cast = v.getDefiningOp<tensor::CastOp>())
    return isZeroTensor(cast.getSource());
  if (auto splat = v.getDefiningOp<tensor::SplatOp>())
    return matchPattern(splat.getInput(), m_AnyZeroFloat());
  return matchPattern(v, m_AnyZeroFloat());
}

/// For a map whose body is `x + r` or `x·c + r` (c·x too; x, c and r block
/// arguments of distinct inputs) with input x the value `sum`, the input
/// position of r; none otherwise.
std::optional<unsigned> linearUpdate(MapOp map, Value sum) {
  Block &body = map.getBody().front();
  unsigned firstInput = map.getResult().getType().getRank();
  unsigned numInputs = map.getInputs().size();
  auto inputOf = [&](Value v) -> std::optional<unsigned> {
    auto arg = dyn_cast<BlockArgument>(v);
    if (!arg || arg.getOwner() != &body || arg.getArgNumber() < firstInput ||
        arg.getArgNumber() >= firstInput + numInputs)
      return std::nullopt;
    return arg.getArgNumber() - firstInput;
  };
  auto isSum = [&](std::optional<unsigned> in) {
    return in && map.getInputs()[*in] == sum;
  };
  auto yield = cast<YieldOp>(body.getTerminator());
  auto add = yield.getValues().front().getDefiningOp<arith::AddFOp>();
  if (!add || llvm::range_size(body.without_terminator()) > 2)
    return std::nullopt;
  for (auto [xSide, rSide] : {std::pair(add.getLhs(), add.getRhs()),
                              std::pair(add.getRhs(), add.getLhs())}) {
    std::optional<unsigned> r = inputOf(rSide);
    if (!r || isSum(r))
      continue;
    if (isSum(inputOf(xSide)))
      return r;
    auto mul = xSide.getDefiningOp<arith::MulFOp>();
    if (!mul)
      continue;
    std::optional<unsigned> a = inputOf(mul.getLhs()), c = inputOf(mul.getRhs());
    if (a && c && isSum(a) != isSum(c) && *a != *r && *c != *r)
      return r;
  }
  return std::nullopt;
}

/// The reductions feeding iter_arg `k` of `loop` as `l' = l·c + Σ`, or none
/// when the running sum is read any other way.
std::optional<SmallVector<ReduceOp>> deferrable(scf::ForOp loop, unsigned k) {
  if (!isZeroTensor(loop.getInitArgs()[k]))
    return std::nullopt;
  SmallVector<ReduceOp> reductions;
  SmallVector<Value> work{loop.getRegionIterArgs()[k]};
  DenseSet<Value> seen;
  while (!work.empty()) {
    Value v = work.pop_back_val();
    if (!seen.insert(v).second)
      continue;
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (auto cast = dyn_cast<tensor::CastOp>(user)) {
        work.push_back(cast.getResult());
        continue;
      }
      if (auto yield = dyn_cast<scf::YieldOp>(user)) {
        Operation *parent = yield->getParentOp();
        if (parent == loop.getOperation() && use.getOperandNumber() == k)
          continue;
        if (auto branch = dyn_cast<scf::IfOp>(parent)) {
          work.push_back(branch.getResult(use.getOperandNumber()));
          continue;
        }
        return std::nullopt;
      }
      // A map updating the sum linearly, reading it once, as its x.
      auto map = dyn_cast<MapOp>(user);
      std::optional<unsigned> r = map ? linearUpdate(map, v) : std::nullopt;
      if (!r || llvm::count(map.getInputs(), v) != 1)
        return std::nullopt;
      auto reduce = map.getInputs()[*r].getDefiningOp<ReduceOp>();
      if (!reduce || reduce.getKind() != ReduceKind::Add ||
          !reduce.getResult().hasOneUse())
        return std::nullopt;
      reductions.push_back(reduce);
      work.push_back(map.getResult());
    }
  }
  if (reductions.empty())
    return std::nullopt;
  return reductions;
}

} // namespace

void attn::codegen::deferRowSums(func::FuncOp func) {
  ScheduleAttr schedule = decidedSchedule(func);
  if (!schedule || schedule.getPath() != KernelPath::Mma)
    return;
  func.walk([&](scf::ForOp loop) {
    if (!isKvLoop(loop))
      return;
    SmallVector<int64_t> positions;
    for (unsigned k = 0; k < loop.getNumRegionIterArgs(); ++k) {
      if (!isa<RankedTensorType>(loop.getInitArgs()[k].getType()))
        continue;
      std::optional<SmallVector<ReduceOp>> reductions = deferrable(loop, k);
      if (!reductions)
        continue;
      for (ReduceOp reduce : *reductions)
        setLanePartial(reduce);
      positions.push_back(k);
    }
    if (!positions.empty())
      setLanePartialResults(loop, positions);
  });
}

namespace {
struct AttnDeferRowSumsPass
    : attn::codegen::impl::AttnDeferRowSumsBase<AttnDeferRowSumsPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      attn::codegen::deferRowSums(func);
  }
};
} // namespace
