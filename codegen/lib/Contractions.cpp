//===- Contractions.cpp - how the tensor-core path treats a contraction ---===//
//
// Two questions about an attn.contract in a KV loop that -attn-mark-accumulate
// answers (and records in the IR) for the tensor-core printer:
//  - does it accumulate onto its consumer map's tile (the mma's C operand)?
//  - must its f16 row operand be range-scaled before the mma?
// RangeScale.cpp explains the second.
//
//===----------------------------------------------------------------------===//

#include "Contractions.h"
#include "attn/Dialect/KernelAttrs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <functional>

using namespace mlir;
using namespace attn;

namespace attn::codegen::detail {

/// The value of the scalar body of `map` at block arguments `args` (indices,
/// inputs), by folding its ops on a detached copy (folding may reorder the
/// operands of commutative ops in place); none when an op does not fold.
static std::optional<double> foldMapAt(MapOp map, ArrayRef<Attribute> args) {
  Operation *copy = map->clone();
  Block &body = cast<MapOp>(copy).getBody().front();
  std::optional<double> result;
  DenseMap<Value, Attribute> known;
  for (auto [arg, value] : llvm::zip(body.getArguments(), args))
    known[arg] = value;
  bool ok = body.getNumArguments() == args.size();
  for (Operation &op : body.without_terminator()) {
    if (!ok)
      break;
    SmallVector<Attribute> operands;
    for (Value v : op.getOperands())
      operands.push_back(known.lookup(v));
    SmallVector<OpFoldResult> folded;
    if (op.getNumRegions() || op.getNumResults() != 1 ||
        failed(op.fold(operands, folded)) || folded.size() != 1) {
      ok = false;
      break;
    }
    Attribute a = isa<Attribute>(folded[0])
                      ? cast<Attribute>(folded[0])
                      : known.lookup(cast<Value>(folded[0]));
    known[op.getResult(0)] = a;
    ok = static_cast<bool>(a);
  }
  if (ok)
    if (auto f = dyn_cast_or_null<FloatAttr>(
            known.lookup(body.getTerminator()->getOperand(0))))
      result = f.getValueAsDouble();
  copy->erase();
  return result;
}

/// Whether the tile `p` is f(x, m) of a tile x and a running maximum m of x
/// (m = max(m_old, max-reduction of x)) with f(c, c) in f16's normal range
/// and f(c − 40, c) in [0, f(c, c)] at a few c: the row's largest value is
/// f(m, m) and nothing exceeds it.
static bool relativeToRunningMax(Value p) {
  auto map = p.getDefiningOp<MapOp>();
  if (!map || map.getInputs().size() != 2 || !map.getCaptures().empty())
    return false;
  std::optional<Equation> eq = map.getEquation().getValue();
  // x over the output's letters, m over all of them but one.
  int xi = eq->inputs[0] == eq->output ? 0 : 1, mi = 1 - xi;
  if (eq->inputs[xi] != eq->output ||
      eq->inputs[mi].size() + 1 != eq->output.size())
    return false;
  Value x = map.getInputs()[xi], m = map.getInputs()[mi];
  auto maxMap = m.getDefiningOp<MapOp>();
  if (!maxMap || maxMap.getInputs().size() != 2)
    return false;
  Block &maxBody = maxMap.getBody().front();
  Operation *yielded = maxBody.getTerminator()->getOperand(0).getDefiningOp();
  if (!isa_and_nonnull<arith::MaximumFOp, arith::MaxNumFOp>(yielded))
    return false;
  unsigned firstInput = maxBody.getNumArguments() -
                        maxMap.getInputs().size() - maxMap.getCaptures().size();
  bool readsReduction = false;
  for (Value operand : yielded->getOperands()) {
    auto arg = dyn_cast<BlockArgument>(operand);
    if (!arg || arg.getOwner() != &maxBody || arg.getArgNumber() < firstInput ||
        arg.getArgNumber() >= firstInput + maxMap.getInputs().size())
      return false;
    Value in = maxMap.getInputs()[arg.getArgNumber() - firstInput];
    if (auto r = in.getDefiningOp<ReduceOp>())
      readsReduction |= r.getKind() == ReduceKind::Max && r.getInput() == x;
  }
  if (!readsReduction)
    return false;
  // f at the maximum and 40 below it.
  Builder b(map.getContext());
  for (double c : {0.0, 1.0, -3.0}) {
    auto at = [&](double xv) {
      SmallVector<Attribute> args(eq->output.size(), b.getIndexAttr(0));
      SmallVector<Attribute> ins(2);
      ins[xi] = b.getF32FloatAttr(xv);
      ins[mi] = b.getF32FloatAttr(c);
      args.append(ins);
      return foldMapAt(map, args);
    };
    std::optional<double> top = at(c), below = at(c - 40.0);
    if (!top || !below || !(*top >= 0x1p-14 && *top <= 65504.0) ||
        !(*below >= 0.0 && *below <= *top))
      return false;
  }
  return true;
}

Value rowOperand(ContractOp op, char rowLetter) {
  std::optional<Equation> eq = op.getEquation().getValue();
  if (eq->inputs.size() != 2)
    return {};
  unsigned a = eq->inputs[0].find(rowLetter) != std::string::npos ? 0 : 1;
  return op.getInputs()[a];
}

bool keepsOperandColumns(const Equation &eq, char rowLetter) {
  if (eq.output.empty() || eq.output.back() == rowLetter)
    return false;
  return llvm::any_of(eq.inputs, [&](const std::string &term) {
    return !term.empty() && term.find(rowLetter) == std::string::npos &&
           term.back() == eq.output.back();
  });
}

bool needsRangeScale(ContractOp op, char rowLetter) {
  auto func = op->getParentOfType<func::FuncOp>();
  if (!func || func.getNumArguments() < 1 ||
      !cast<ShapedType>(func.getArgument(0).getType()).getElementType().isF16())
    return false;
  Value a = rowOperand(op, rowLetter);
  if (!a || !isa_and_nonnull<MapOp, ReduceOp, ContractOp, scf::IfOp>(
                a.getDefiningOp()))
    return false; // a global operand: already of the mma's type
  return !relativeToRunningMax(a);
}

/// Whether `v` is linear in `arg` alone: arg, or products and quotients of
/// it with values that do not depend on it.
static bool scalesWith(Value v, BlockArgument arg) {
  std::function<bool(Value)> dependsOnArg = [&](Value u) {
    if (u == arg)
      return true;
    Operation *def = u.getDefiningOp();
    return def && def->getBlock() == arg.getOwner() &&
           llvm::any_of(def->getOperands(), dependsOnArg);
  };
  if (v == arg)
    return true;
  Operation *def = v.getDefiningOp();
  if (!def || def->getBlock() != arg.getOwner())
    return false;
  if (auto neg = dyn_cast<arith::NegFOp>(def))
    return scalesWith(neg.getOperand(), arg);
  if (auto mul = dyn_cast<arith::MulFOp>(def))
    return (scalesWith(mul.getLhs(), arg) && !dependsOnArg(mul.getRhs())) ||
           (scalesWith(mul.getRhs(), arg) && !dependsOnArg(mul.getLhs()));
  if (auto div = dyn_cast<arith::DivFOp>(def))
    return scalesWith(div.getLhs(), arg) && !dependsOnArg(div.getRhs());
  return false;
}

/// `v` without the tensor.casts around it (the interior version's static
/// views of loop-carried tiles).
static Value stripCasts(Value v) {
  while (auto cast = v.getDefiningOp<tensor::CastOp>())
    v = cast.getSource();
  return v;
}

/// The iter_arg numbers of `loop` that `v` is yielded as, directly or
/// through tensor.casts and the yields of scf.ifs (the tile-class and
/// interior/edge versions) in the loop's body.
static void yieldedAs(Value v, scf::ForOp loop,
                      SmallVectorImpl<unsigned> &numbers) {
  for (OpOperand &use : v.getUses()) {
    Operation *owner = use.getOwner();
    if (auto cast = dyn_cast<tensor::CastOp>(owner)) {
      yieldedAs(cast.getResult(), loop, numbers);
    } else if (isa<scf::YieldOp>(owner)) {
      Operation *parent = owner->getParentOp();
      if (parent == loop.getOperation())
        numbers.push_back(use.getOperandNumber());
      else if (isa<scf::IfOp>(parent))
        yieldedAs(parent->getResult(use.getOperandNumber()), loop, numbers);
    }
  }
}

std::optional<unsigned> rangeScaledAccumulator(MapOp map, ContractOp op) {
  // The KV loop around the map, with only scf.ifs in between.
  Operation *parent = map->getParentOp();
  while (isa_and_nonnull<scf::IfOp>(parent))
    parent = parent->getParentOp();
  auto loop = dyn_cast_or_null<scf::ForOp>(parent);
  if (!loop || !isKvLoop(loop))
    return std::nullopt;
  Block &body = map.getBody().front();
  auto add = cast<YieldOp>(body.getTerminator())
                 .getOperand(0)
                 .getDefiningOp<arith::AddFOp>();
  unsigned firstInput = body.getNumArguments() - map.getInputs().size() -
                        map.getCaptures().size();
  SmallVector<unsigned> numbers;
  yieldedAs(map.getResult(), loop, numbers);
  for (unsigned k : numbers) {
    BlockArgument carried = loop.getRegionIterArgs()[k];
    // The map reads the carried value once; the other side of its x + c is
    // linear in it (O · correction), so O may be held in any units.
    SmallVector<Value> inputs;
    for (Value in : map.getInputs())
      inputs.push_back(stripCasts(in));
    auto it = llvm::find(inputs, Value(carried));
    if (it == inputs.end() || llvm::count(inputs, Value(carried)) != 1)
      continue;
    BlockArgument arg = body.getArgument(firstInput + (it - inputs.begin()));
    auto contractArg = body.getArgument(
        firstInput +
        (llvm::find(map.getInputs(), op.getResult()) - map.getInputs().begin()));
    Value other = add.getLhs() == contractArg ? add.getRhs() : add.getLhs();
    if (scalesWith(other, arg))
      return k;
  }
  return std::nullopt;
}

MapOp accumulatingMap(ContractOp op, char rowLetter) {
  if (!op->hasOneUse())
    return {};
  auto map = dyn_cast<MapOp>(*op->user_begin());
  if (!map || map->getBlock() != op->getBlock())
    return {};
  std::optional<Equation> mapEq = map.getEquation().getValue();
  std::optional<Equation> eq = op.getEquation().getValue();
  if (!mapEq || !eq || mapEq->output != eq->output)
    return {};
  auto inputs = map.getInputs();
  auto it = llvm::find(inputs, op.getResult());
  unsigned k = it - inputs.begin();
  if (mapEq->inputs[k] != mapEq->output)
    return {};
  Block &body = map.getBody().front();
  BlockArgument arg = body.getArgument(mapEq->output.size() + k);
  auto yield = cast<YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || !arg.hasOneUse() || add->getBlock() != &body ||
      !add.getResult().hasOneUse() ||
      (add.getLhs() != arg && add.getRhs() != arg))
    return {};
  // A range-scaled contraction adds onto its map only when the map's value
  // can be held in scaled units across the KV loop; else it gets a tile.
  if (needsRangeScale(op, rowLetter) && !rangeScaledAccumulator(map, op))
    return {};
  return map;
}

} // namespace attn::codegen::detail
