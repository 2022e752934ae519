//===- ElementwiseToMap.cpp - -attn-elementwise-to-map --------------------===//
//
// A variant may combine tensors with upstream element-wise ops at the
// function level (differential attention's `arith.subf %o1, %o2` on
// tensors, `math.exp` of a gate). attn reads element-wise work as attn.map:
// the interpreter runs it, attn-tile fuses it into the kernel's epilogue.
// Each such op becomes a map whose body is the op on scalars; a
// `tensor.splat` operand becomes a capture, a splat constant a constant in
// the body.
//
//===----------------------------------------------------------------------===//

#include "CascadeUtils.h"
#include "attn/Dialect/RegionOps.h"
#include "attn/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace attn {
#define GEN_PASS_DEF_ATTNELEMENTWISETOMAP
#include "attn/Passes/Passes.h.inc"
} // namespace attn

using namespace mlir;
using namespace attn;

namespace {

/// How one operand of an element-wise op reaches the map.
struct Operand {
  enum Kind { Input, Capture, Constant } kind;
  /// The tensor (Input), the scalar (Capture) or the splat constant's
  /// scalar attribute (Constant).
  Value value;
  TypedAttr constant;
};

/// The operand `v` of an element-wise op over tensors of type `shape`.
std::optional<Operand> classify(Value v, RankedTensorType shape) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || type.getShape() != shape.getShape())
    return std::nullopt;
  if (auto splat = v.getDefiningOp<tensor::SplatOp>())
    return Operand{Operand::Capture, splat.getInput(), {}};
  DenseElementsAttr dense;
  if (auto constant = v.getDefiningOp<arith::ConstantOp>())
    dense = dyn_cast<DenseElementsAttr>(constant.getValue());
  if (dense && dense.isSplat())
    return Operand{Operand::Constant, {},
                   cast<TypedAttr>(dense.getSplatValue<Attribute>())};
  // A constant of several values stays a tensor op: no kernel reads one.
  if (v.getDefiningOp<arith::ConstantOp>())
    return std::nullopt;
  return Operand{Operand::Input, v, {}};
}

/// The element-wise op `op` (a region op over ranked tensors of one shape)
/// as an attn.map; false when it is not one. `epilogue`: its result does
/// not feed an attention op, so a rank-4 operand is laid out as the
/// attention's o, [B, H, Nq, D], and takes o's letters b, h, i (which
/// attn-tile's grid keeps) and d.
bool convert(Operation *op, bool epilogue) {
  const regionops::Rule *rule = regionops::lookup(op);
  if (!rule || rule->isTensorRead || isa<arith::ConstantOp>(op) ||
      op->getNumResults() != 1 || op->getNumRegions() != 0)
    return false;
  auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!type || type.getRank() > 8)
    return false;
  SmallVector<Operand> operands;
  for (Value v : op->getOperands()) {
    std::optional<Operand> o = classify(v, type);
    if (!o)
      return false;
    operands.push_back(*o);
  }
  SmallVector<Value> inputs, captures;
  for (const Operand &o : operands) {
    if (o.kind == Operand::Input)
      inputs.push_back(o.value);
    if (o.kind == Operand::Capture)
      captures.push_back(o.value);
  }
  // Other maps take letters that are none of attn-decompose's and
  // attn-split-kv's (b, h, k, g, i, j, d, f, s): attn-tile then does not
  // mistake them for its grid.
  std::string term = epilogue && type.getRank() == 4
                         ? std::string("bhid")
                         : std::string("acelmnop").substr(0, type.getRank());
  std::string eq;
  for (size_t k = 0; k < inputs.size(); ++k)
    eq += (k ? "," : "") + term;
  eq += "->" + term;
  OpBuilder b(op);
  MapOp map = buildMap(
      b, op->getLoc(), eq, inputs, captures, type,
      [&](OpBuilder &bb, Location loc, ValueRange, ValueRange elements,
          ValueRange scalars) -> Value {
        IRMapping mapping;
        unsigned nextInput = 0, nextCapture = 0;
        for (auto [k, o] : llvm::enumerate(operands))
          mapping.map(op->getOperand(k),
                      o.kind == Operand::Input     ? elements[nextInput++]
                      : o.kind == Operand::Capture ? scalars[nextCapture++]
                                                   : Value(arith::ConstantOp::create(
                                                         bb, loc, o.constant)));
        Operation *scalar = bb.clone(*op, mapping);
        scalar->getResult(0).setType(type.getElementType());
        return scalar->getResult(0);
      });
  op->replaceAllUsesWith(map);
  op->erase();
  return true;
}

} // namespace

void attn::convertElementwiseTensorOps(Operation *root) {
  // Called outside a pass too (attn-run, the runtime): the maps need it.
  root->getContext()->getOrLoadDialect<AttnDialect>();
  SmallVector<Operation *> ops;
  root->walk([&](func::FuncOp func) {
    for (Operation &op : func.getBody().getOps())
      ops.push_back(&op);
  });
  // What feeds an attention op (its q, k, v or captures, through anything)
  // is not an epilogue.
  llvm::SmallPtrSet<Operation *, 16> feedsAttention;
  SmallVector<Operation *> work;
  root->walk([&](AttentionOp op) { work.push_back(op); });
  while (!work.empty()) {
    Operation *op = work.pop_back_val();
    for (Value v : op->getOperands())
      if (Operation *def = v.getDefiningOp())
        if (feedsAttention.insert(def).second)
          work.push_back(def);
  }
  // Splat tensors and constants, which the maps may leave unused (never
  // converted themselves, so still alive after the loop below).
  SmallVector<Operation *> splats;
  for (Operation *op : ops)
    if (isa<tensor::SplatOp, arith::ConstantOp>(op) &&
        isa<RankedTensorType>(op->getResult(0).getType()))
      splats.push_back(op);
  for (Operation *op : ops)
    convert(op, !feedsAttention.contains(op));
  for (Operation *op : llvm::reverse(splats))
    if (op->use_empty())
      op->erase();
}

namespace {
struct ElementwiseToMapPass
    : attn::impl::AttnElementwiseToMapBase<ElementwiseToMapPass> {
  void runOnOperation() override {
    convertElementwiseTensorOps(getOperation());
  }
};
} // namespace
