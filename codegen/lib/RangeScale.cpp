//===- RangeScale.cpp - f16 range scaling of tiles packed for an mma ------===//
//
// On the tensor-core path a tile computed in f32 (the weights P of P·V) is
// rounded to the mma's element type. bf16 has f32's exponent range; f16 has
// five exponent bits, so a row whose values all lie below 2^-14 loses
// precision and below 2^-24 vanishes, while its f32 row sum (a deferred
// normalisation) keeps them: the output loses up to all of its value.
//
// Whether a tile can be rounded as it is follows from the IR: a tile computed
// relative to a running maximum of its own input, f(x, m) with m ≥ every x of
// the row and f(m, m) in f16's normal range (exp(x − m): 1), has the row's
// largest weight at f(m, m); what f16 loses below it is negligible next to
// it (FlashAttention's argument). Any other tile — σ(s + bias), softplus(s),
// the raw scores — is range-scaled: packed as x · 2^-e per row with e the
// row's running largest exponent (attn/device/fragment.h). The accumulator
// the contraction adds onto is then held in units of 2^-e (moved along when
// e grows, by exact powers of two) and brought back after the KV loop.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"
#include "attn/Dialect/KernelAttrs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

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

Value KernelEmitter::rowOperand(ContractOp op) const {
  std::optional<Equation> eq = op.getEquation().getValue();
  if (eq->inputs.size() != 2)
    return {};
  unsigned a = eq->inputs[0].find(rowLetter) != std::string::npos ? 0 : 1;
  return op.getInputs()[a];
}

bool KernelEmitter::needsRangeScale(ContractOp op) const {
  if (!mma || mmaElem != "f16")
    return false;
  Value a = rowOperand(op);
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

std::optional<unsigned>
KernelEmitter::rangeScaledAccumulator(MapOp map, ContractOp op) const {
  auto loop = dyn_cast<scf::ForOp>(map->getParentOp());
  if (!loop || !isKvLoop(loop))
    return std::nullopt;
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  Block &body = map.getBody().front();
  auto add = cast<YieldOp>(body.getTerminator())
                 .getOperand(0)
                 .getDefiningOp<arith::AddFOp>();
  unsigned firstInput = body.getNumArguments() - map.getInputs().size() -
                        map.getCaptures().size();
  for (OpOperand &use : map.getResult().getUses()) {
    if (use.getOwner() != yield)
      continue;
    unsigned k = use.getOperandNumber();
    BlockArgument carried = loop.getRegionIterArgs()[k];
    // The map reads the carried value once; the other side of its x + c is
    // linear in it (O · correction), so O may be held in any units.
    auto inputs = map.getInputs();
    auto it = llvm::find(inputs, carried);
    if (it == inputs.end() || llvm::count(inputs, carried) != 1)
      continue;
    BlockArgument arg = body.getArgument(firstInput + (it - inputs.begin()));
    auto contractArg = body.getArgument(
        firstInput + (llvm::find(inputs, op.getResult()) - inputs.begin()));
    Value other = add.getLhs() == contractArg ? add.getRhs() : add.getLhs();
    if (scalesWith(other, arg))
      return k;
  }
  return std::nullopt;
}

void KernelEmitter::declareRangeScales(scf::ForOp loop) {
  loop.walk([&](ContractOp op) {
    if (!needsRangeScale(op))
      return;
    MapOp map = accumulatingMap(op);
    if (!map)
      return; // scaled per tile (emitMmaContract)
    std::string e = fresh("rowExp");
    w.line("// Running exponents of the range-scaled weights of each row "
           "(RangeScale.cpp).");
    w.linef("int {}[2] = {{kNoExponent, kNoExponent}};", e);
    rangeScales[op] = {e, *rangeScaledAccumulator(map, op)};
  });
}

void KernelEmitter::finishRangeScales(scf::ForOp loop) {
  loop.walk([&](ContractOp op) {
    auto it = rangeScales.find(op);
    if (it == rangeScales.end())
      return;
    w.line("// Back from range-scaled units.");
    w.linef("unscale_fragment_rows({}, {});",
            tiles[loop.getResult(it->second.second)].var, it->second.first);
    rangeScales.erase(it);
  });
}

std::pair<std::string, std::string>
KernelEmitter::emitRangeScaleUpdate(ContractOp op, const Tile &p,
                                    const Tile &t, bool accumulate) {
  std::string e, scale = fresh("rowScale"), rescale = fresh("rowRescale");
  if (accumulate) {
    e = rangeScales.lookup(op).first;
  } else {
    e = fresh("rowExp");
    w.linef("int {}[2] = {{kNoExponent, kNoExponent}};", e);
  }
  w.line("// The weights in f16 range: scaled per row by a power of two.");
  w.linef("float {}[2], {}[2];", scale, rescale);
  w.linef("range_scale_update<{}>({}, {}, mLane, {}, {}, {});",
          p.caps[p.colDim] / 8, p.var, p.sizes[p.colDim], e, scale, rescale);
  if (accumulate)
    w.linef("scale_fragment_rows({}, {});", t.var, rescale);
  return {scale, e};
}

} // namespace attn::codegen::detail
