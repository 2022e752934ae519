//===- Backward.cpp - the backward cascade of a variant -------------------===//
//
// -attn-derive-backward: for every function holding attn.attention ops,
// builds `<name>_backward`, the reverse-mode derivative of its einsum
// cascade, and `<name>_forward`, which also returns the forward state. The
// forward is decomposed (the 3-pass cascade of -attn-decompose, whose
// normalizers are defined by their cascades) and the backward
// differentiates that cascade op by op, so a new normalizer, score region
// or capture needs no backward code of its own:
//  - attn.contract (mul/add): each input's gradient is the contraction of
//    the result's gradient with the other inputs (the einsum transposed); a
//    one-input sum broadcasts it back;
//  - attn.reduce: add broadcasts the gradient back; max shares it among the
//    elements equal to the maximum;
//  - attn.map: the body is differentiated in forward mode with the region-op
//    registry's derivative rules (attn/Dialect/RegionOps.h), once per input
//    and once per float tensor.extract of a capture; an input's gradient is
//    the result's gradient times that tangent, summed over the letters the
//    input is broadcast along, and a capture's gradient is an
//    attn.scatter_add of the same products at the positions the forward
//    read;
//  - tensor.expand_shape / collapse_shape / cast: the inverse reshape.
// Values that do not depend on a float tensor argument carry no gradient
// (integers, mask decisions, lengths): a capture read only by the mask, or
// only through integer arithmetic, gets none.
//
// The backward recomputes the forward's element-wise values (as
// FlashAttention's backward recomputes P); the forward's reductions it reads
// (the forward state: softmax's row max and sum) are arguments instead,
// returned by `<name>_forward`.
//
//===----------------------------------------------------------------------===//

#include "CascadeUtils.h"
#include "ShiftDependence.h"
#include "attn/Dialect/KernelAttrs.h"
#include "attn/Dialect/RegionOps.h"
#include "attn/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/IR/Verifier.h"

namespace attn {
#define GEN_PASS_DEF_ATTNDERIVEBACKWARD
#include "attn/Passes/Passes.h.inc"
} // namespace attn

using namespace mlir;
using namespace attn;

namespace {

/// `type` with f32 elements: gradients are f32 whatever the primal's type.
RankedTensorType gradientType(Type type) {
  auto t = cast<RankedTensorType>(type);
  return RankedTensorType::get(t.getShape(), Float32Type::get(t.getContext()));
}

bool isFloatTensor(Type type) {
  auto t = dyn_cast<RankedTensorType>(type);
  return t && isa<FloatType>(t.getElementType());
}

/// The result of cloning a map body with a tangent: the clone's yielded
/// values and the tangent of the first (null when it does not depend on the
/// seed).
struct TangentClone {
  SmallVector<Value> yielded;
  Value tangent;
  /// The clone of each op of the body, for reading a seeded extract's
  /// indices.
  IRMapping mapping;
};

/// Clones `body` at `b` with its block arguments bound to `args` and builds
/// the tangent of its first yielded value with respect to `seed` (a block
/// argument or an op result of `body`), with the registry's derivative
/// rules. The tangent is converted to f32.
FailureOr<TangentClone> cloneWithTangent(OpBuilder &b, Block &body,
                                         ValueRange args, Value seed) {
  TangentClone out;
  DenseMap<Value, Value> tangents;
  auto one = [&](Value v) -> Value {
    return arith::ConstantOp::create(b, v.getLoc(),
                                     b.getFloatAttr(v.getType(), 1.0));
  };
  out.mapping.map(body.getArguments(), args);
  if (isa<BlockArgument>(seed))
    tangents[out.mapping.lookup(seed)] = one(out.mapping.lookup(seed));
  for (Operation &op : body.without_terminator()) {
    Operation *clone = b.clone(op, out.mapping);
    if (op.getNumResults() == 1 && op.getResult(0) == seed) {
      tangents[clone->getResult(0)] = one(clone->getResult(0));
      continue;
    }
    SmallVector<Value> dx;
    for (Value operand : clone->getOperands())
      dx.push_back(tangents.lookup(operand));
    FailureOr<Value> t = regionops::tangent(b, clone, dx);
    if (failed(t))
      return failure();
    if (*t)
      tangents[clone->getResult(0)] = *t;
  }
  for (Value v : body.getTerminator()->getOperands())
    out.yielded.push_back(out.mapping.lookupOrDefault(v));
  out.tangent = tangents.lookup(out.yielded.front());
  if (out.tangent && !out.tangent.getType().isF32()) {
    Location loc = out.tangent.getLoc();
    auto f32 = b.getF32Type();
    out.tangent =
        out.tangent.getType().getIntOrFloatBitWidth() < 32
            ? Value(arith::ExtFOp::create(b, loc, f32, out.tangent))
            : Value(arith::TruncFOp::create(b, loc, f32, out.tangent));
  }
  return out;
}

/// g · t, and 0 where either is 0: a key the forward masked passes no
/// gradient even where the other factor is not finite there (the local
/// derivative of σ(−inf), or an upstream gradient computed through it).
Value scaled(OpBuilder &b, Location loc, Value g, Value t) {
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
  auto isZero = [&](Value x) -> Value {
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, x, zero);
  };
  Value either = arith::OrIOp::create(b, loc, isZero(g), isZero(t));
  Value product = arith::MulFOp::create(b, loc, g, t);
  return arith::SelectOp::create(b, loc, either, zero, product);
}

/// Drops the inputs of a gradient map or scatter that its body does not
/// read once the dead ops of the cloned forward body are gone (the f16
/// output's truncf map: its tangent needs no input), so the forward values
/// only they read are not recomputed.
template <typename OpT>
OpT pruneInputs(OpBuilder &b, OpT op) {
  Block &body = op.getBody().front();
  eraseDeadOps(body);
  Equation eq = op.getEquation().getValue();
  unsigned rank = eq.output.size();
  SmallVector<Value> inputs;
  SmallVector<unsigned> dropped;
  std::string text;
  for (auto [k, in] : llvm::enumerate(op.getInputs())) {
    if (body.getArgument(rank + k).use_empty()) {
      dropped.push_back(rank + k);
      continue;
    }
    inputs.push_back(in);
    text += (text.empty() ? "" : ",") + eq.inputs[k];
  }
  // The gradient input (the output's term) is always read: every letter
  // keeps an input.
  if (dropped.empty() || inputs.empty())
    return op;
  text += "->" + eq.output;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(op);
  auto equation = EinsumAttr::fromText(b.getContext(), text);
  OpT fresh;
  if constexpr (std::is_same_v<OpT, ScatterAddOp>)
    fresh = ScatterAddOp::create(b, op.getLoc(), op.getResult().getType(),
                                 equation, inputs, op.getCaptures(),
                                 op.getLike());
  else
    fresh = MapOp::create(b, op.getLoc(), op.getResult().getType(), equation,
                          inputs, op.getCaptures());
  fresh.getBody().takeBody(op.getBody());
  for (unsigned a : llvm::reverse(dropped))
    fresh.getBody().front().eraseArgument(a);
  op.getResult().replaceAllUsesWith(fresh.getResult());
  op.erase();
  return fresh;
}

/// Builds the backward function of one forward function.
class BackwardBuilder {
public:
  explicit BackwardBuilder(func::FuncOp fn) : fn(fn), b(fn.getContext()) {}

  /// Differentiates `fn` (decomposed already) in place: adds the forward
  /// state's arguments and one cotangent argument per float tensor result,
  /// and returns the gradients of the float tensor arguments that receive
  /// one.
  LogicalResult build();

  /// The forward state: the ordinals, among the forward's attn.reduce ops,
  /// of those whose results the backward reads (its arguments after the
  /// primal ones, in this order).
  SmallVector<unsigned> stateOrdinals;

private:
  LogicalResult differentiate(Operation *op);
  LogicalResult contract(ContractOp op, Value g);
  LogicalResult reduce(ReduceOp op, Value g);
  LogicalResult map(MapOp op, Value g);
  LogicalResult reshape(Operation *op, Value g);
  /// Adds `g` to the gradient of `v`.
  void accumulate(Value v, Value g);
  bool isActive(Value v) const { return active.contains(v); }

  func::FuncOp fn;
  OpBuilder b;
  DenseSet<Value> active;
  DenseMap<Value, Value> gradient;
  /// Row maxima no result depends on (isShiftInvariant): no gradient.
  DenseSet<Operation *> stabilizers;
};

} // namespace

void BackwardBuilder::accumulate(Value v, Value g) {
  RankedTensorType want = gradientType(v.getType());
  if (g.getType() != want)
    g = tensor::CastOp::create(b, g.getLoc(), want, g);
  auto [it, inserted] = gradient.try_emplace(v, g);
  if (inserted)
    return;
  std::string term = plainTerm(want.getRank());
  it->second = buildMap(b, g.getLoc(), term + "," + term + "->" + term,
                        ValueRange{it->second, g}, {}, want,
                        [](OpBuilder &bb, Location loc, ValueRange,
                           ValueRange in, ValueRange) -> Value {
                          return arith::AddFOp::create(bb, loc, in[0], in[1]);
                        })
                   .getResult();
}

LogicalResult BackwardBuilder::contract(ContractOp op, Value g) {
  if (op.getCombine() != CombineKind::Mul || op.getReduce() != ReduceKind::Add)
    return op.emitOpError()
           << "has no derivative: the backward differentiates contractions "
              "that combine by mul and reduce by add";
  Equation eq = op.getEquation().getValue();
  if (op.getInputs().size() == 1) {
    // A sum over letters of one input: its gradient broadcasts back.
    Value input = op.getInputs()[0];
    if (!isActive(input))
      return success();
    std::string in = eq.inputs[0];
    accumulate(input,
               buildMap(b, op.getLoc(), in + "," + eq.output + "->" + in,
                        ValueRange{input, g}, {}, gradientType(input.getType()),
                        [](OpBuilder &, Location, ValueRange, ValueRange el,
                           ValueRange) -> Value { return el[1]; })
                   .getResult());
    return success();
  }
  for (auto [k, input] : llvm::enumerate(op.getInputs())) {
    if (!isActive(input))
      continue;
    // d in_k = Σ g · Π_{l≠k} in_l over the letters in_k does not have.
    std::string text = eq.output;
    SmallVector<Value> operands{g};
    std::string covered = eq.output;
    for (auto [l, other] : llvm::enumerate(op.getInputs())) {
      if (l == k)
        continue;
      text += "," + eq.inputs[l];
      covered += eq.inputs[l];
      operands.push_back(other);
    }
    for (char letter : eq.inputs[k])
      if (!hasLetter(covered, letter))
        return op.emitOpError()
               << "has no derivative: letter '" << letter << "' of input " << k
               << " is reduced by that input alone";
    text += "->" + eq.inputs[k];
    auto grad = ContractOp::create(
        b, op.getLoc(), gradientType(input.getType()),
        EinsumAttr::fromText(b.getContext(), text), CombineKind::Mul,
        ReduceKind::Add, operands);
    accumulate(input, grad);
  }
  return success();
}

LogicalResult BackwardBuilder::reduce(ReduceOp op, Value g) {
  Value input = op.getInput();
  if (!isActive(input) || stabilizers.contains(op))
    return success();
  Equation eq = op.getEquation().getValue();
  std::string inTerm = eq.inputs[0], outTerm = eq.output;
  RankedTensorType type = gradientType(input.getType());
  Value grad;
  if (op.getKind() == ReduceKind::Add) {
    // Every element of the sum gets the gradient of the sum.
    grad = buildMap(b, op.getLoc(), inTerm + "," + outTerm + "->" + inTerm,
                    ValueRange{input, g}, {}, type,
                    [](OpBuilder &, Location, ValueRange, ValueRange in,
                       ValueRange) -> Value { return in[1]; })
               .getResult();
  } else {
    // The maximum's gradient is shared by the elements equal to it (a
    // subgradient: k ties get g / k each).
    auto f32 = b.getF32Type();
    auto asF32 = [&](OpBuilder &bb, Location loc, Value x) -> Value {
      return x.getType() == f32 ? x : arith::ExtFOp::create(bb, loc, f32, x);
    };
    auto isMax = [&](OpBuilder &bb, Location loc, ValueRange in) -> Value {
      return arith::CmpFOp::create(bb, loc, arith::CmpFPredicate::OEQ,
                                   asF32(bb, loc, in[0]),
                                   asF32(bb, loc, in[1]));
    };
    Value ties = buildMap(b, op.getLoc(), inTerm + "," + outTerm + "->" + inTerm,
                          ValueRange{input, op.getResult()}, {}, type,
                          [&](OpBuilder &bb, Location loc, ValueRange,
                              ValueRange in, ValueRange) -> Value {
                            Value one = arith::ConstantOp::create(
                                bb, loc, bb.getF32FloatAttr(1.0));
                            Value zero = arith::ConstantOp::create(
                                bb, loc, bb.getF32FloatAttr(0.0));
                            return arith::SelectOp::create(
                                bb, loc, isMax(bb, loc, in), one, zero);
                          })
                     .getResult();
    Value count = ContractOp::create(
        b, op.getLoc(), gradientType(op.getResult().getType()),
        EinsumAttr::fromText(b.getContext(), inTerm + "->" + outTerm),
        CombineKind::Mul, ReduceKind::Add, ValueRange{ties});
    grad = buildMap(b, op.getLoc(),
                    inTerm + "," + outTerm + "," + outTerm + "," + outTerm +
                        "->" + inTerm,
                    ValueRange{input, op.getResult(), g, count}, {}, type,
                    [&](OpBuilder &bb, Location loc, ValueRange, ValueRange in,
                        ValueRange) -> Value {
                      Value zero = arith::ConstantOp::create(
                          bb, loc, bb.getF32FloatAttr(0.0));
                      Value share = arith::DivFOp::create(bb, loc, in[2], in[3]);
                      return arith::SelectOp::create(bb, loc, isMax(bb, loc, in),
                                                     share, zero);
                    })
               .getResult();
  }
  accumulate(input, grad);
  return success();
}

LogicalResult BackwardBuilder::map(MapOp op, Value g) {
  Equation eq = op.getEquation().getValue();
  Block &body = op.getBody().front();
  Location loc = op.getLoc();
  unsigned rank = eq.output.size(), numIn = op.getInputs().size();
  // The gradient maps read the primal's inputs and its gradient g.
  SmallVector<Value> inputs(op.getInputs());
  inputs.push_back(g);
  std::string text;
  for (const std::string &term : eq.inputs)
    text += term + ",";
  text += eq.output + "->" + eq.output;
  RankedTensorType domainType = gradientType(op.getResult().getType());

  // Creates a map or scatter body: the primal body cloned with a tangent for
  // `seed`; `finish` yields from it. Fails when a derivative is missing.
  auto fillBody = [&](Block *newBody, Value seed,
                      llvm::function_ref<void(OpBuilder &, TangentClone &,
                                              Value gElement)>
                          finish) -> FailureOr<bool> {
    for (unsigned d = 0; d < rank; ++d)
      newBody->addArgument(b.getIndexType(), loc);
    for (Value in : inputs)
      newBody->addArgument(cast<RankedTensorType>(in.getType()).getElementType(),
                           loc);
    for (Value c : op.getCaptures())
      newBody->addArgument(c.getType(), loc);
    auto args = newBody->getArguments();
    SmallVector<Value> primalArgs(args.take_front(rank + numIn));
    llvm::append_range(primalArgs, args.drop_front(rank + numIn + 1));
    OpBuilder bb = OpBuilder::atBlockEnd(newBody);
    FailureOr<TangentClone> clone =
        cloneWithTangent(bb, body, primalArgs, seed);
    if (failed(clone))
      return failure();
    if (!clone->tangent)
      return false;
    finish(bb, *clone, args[rank + numIn]);
    return true;
  };

  // Gives a new gradient map or scatter `op` its body (fillBody); returns
  // it with the inputs it does not read dropped, null (`op` erased) when no
  // derivative flows, failure when one is missing.
  auto complete = [&](auto op, Value seed,
                      llvm::function_ref<void(OpBuilder &, TangentClone &,
                                              Value)>
                          finish) -> FailureOr<decltype(op)> {
    Block *newBody = new Block();
    op.getBody().push_back(newBody);
    FailureOr<bool> flows = fillBody(newBody, seed, finish);
    if (failed(flows))
      return failure();
    if (!*flows) {
      op->erase();
      return decltype(op)();
    }
    return pruneInputs(b, op);
  };

  // Inputs: g · ∂body/∂in_k, summed over the letters in_k is broadcast along.
  for (auto [k, input] : llvm::enumerate(op.getInputs())) {
    if (!isActive(input))
      continue;
    auto grad = MapOp::create(b, loc, domainType,
                              EinsumAttr::fromText(b.getContext(), text),
                              inputs, op.getCaptures());
    FailureOr<MapOp> built = complete(
        grad, body.getArgument(rank + k),
        [&](OpBuilder &bb, TangentClone &clone, Value gElement) {
          YieldOp::create(bb, loc,
                          scaled(bb, loc, gElement, clone.tangent));
        });
    if (failed(built))
      return failure();
    if (!*built)
      continue;
    Value result = built->getResult();
    if (eq.inputs[k] != eq.output)
      result = ContractOp::create(
          b, loc, gradientType(input.getType()),
          EinsumAttr::fromText(b.getContext(), eq.output + "->" + eq.inputs[k]),
          CombineKind::Mul, ReduceKind::Add, ValueRange{result});
    accumulate(input, result);
  }

  // Captured tensors read by a float tensor.extract: their entries receive
  // g · ∂body/∂entry at the positions read.
  for (Operation &inner : body.without_terminator()) {
    auto extract = dyn_cast<tensor::ExtractOp>(inner);
    if (!extract || !isa<FloatType>(extract.getType()))
      continue;
    auto arg = dyn_cast<BlockArgument>(extract.getTensor());
    if (!arg || arg.getArgNumber() < rank + numIn)
      continue;
    Value capture = op.getCaptures()[arg.getArgNumber() - rank - numIn];
    if (!isActive(capture))
      continue;
    RankedTensorType type = gradientType(capture.getType());
    auto scatter = ScatterAddOp::create(
        b, loc, type, EinsumAttr::fromText(b.getContext(), text), inputs,
        op.getCaptures(), capture);
    FailureOr<ScatterAddOp> built = complete(
        scatter, extract.getResult(),
        [&](OpBuilder &bb, TangentClone &clone, Value gElement) {
          SmallVector<Value> yielded;
          for (Value index : extract.getIndices())
            yielded.push_back(clone.mapping.lookupOrDefault(index));
          yielded.push_back(scaled(bb, loc, gElement, clone.tangent));
          YieldOp::create(bb, loc, yielded);
        });
    if (failed(built))
      return failure();
    if (*built)
      accumulate(capture, built->getResult());
  }
  return success();
}

LogicalResult BackwardBuilder::reshape(Operation *op, Value g) {
  Value source = op->getOperand(0);
  if (!isActive(source))
    return success();
  Location loc = op->getLoc();
  RankedTensorType type = gradientType(source.getType());
  Value grad;
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
    grad = tensor::CollapseShapeOp::create(b, loc, type, g,
                                           expand.getReassociationIndices());
  } else if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
    // The sizes from `g` where each group has one dynamic size at most, so
    // that no forward value (O = P·V) stays alive for its tensor.dim.
    SmallVector<ReassociationIndices> groups =
        collapse.getReassociationIndices();
    bool inferable =
        llvm::all_of(groups, [&](const ReassociationIndices &group) {
          return llvm::count_if(group, [&](int64_t d) {
                   return type.isDynamicDim(d);
                 }) <= 1;
        });
    grad = inferable ? tensor::ExpandShapeOp::create(b, loc, type, g, groups)
                     : tensor::ExpandShapeOp::create(
                           b, loc, type, g, groups,
                           tensor::getMixedSizes(b, loc, source));
  } else {
    grad = tensor::CastOp::create(b, loc, type, g);
  }
  accumulate(source, grad);
  return success();
}

LogicalResult BackwardBuilder::differentiate(Operation *op) {
  if (llvm::none_of(op->getResults(),
                    [&](Value r) { return gradient.contains(r); }))
    return success();
  Value g = op->getNumResults() == 1 ? gradient.lookup(op->getResult(0))
                                     : Value();
  if (!g)
    return op->emitOpError()
           << "has no derivative: the backward differentiates ops of one "
              "result (attn.contract, attn.map, attn.reduce, reshapes)";
  if (auto c = dyn_cast<ContractOp>(op))
    return contract(c, g);
  if (auto r = dyn_cast<ReduceOp>(op))
    return reduce(r, g);
  if (auto m = dyn_cast<MapOp>(op))
    return map(m, g);
  if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp, tensor::CastOp>(op))
    return reshape(op, g);
  return op->emitOpError()
         << "has no derivative: the backward differentiates attn.contract, "
            "attn.map, attn.reduce and reshapes";
}

LogicalResult BackwardBuilder::build() {
  Block &block = fn.getBody().front();
  auto ret = cast<func::ReturnOp>(block.getTerminator());

  // Row maxima that only stabilise (softmax's): their gradient is zero,
  // exactly; differentiating the maximum as a function of the scores would
  // add terms that only cancel in exact arithmetic, and a pass over the keys
  // to compute them.
  for (auto max : block.getOps<ReduceOp>())
    if (max.getKind() == ReduceKind::Max && isShiftInvariant(max, fn))
      stabilizers.insert(max);

  // Activity: the values that depend on a float tensor argument.
  for (BlockArgument arg : block.getArguments())
    if (isFloatTensor(arg.getType()))
      active.insert(arg);
  SmallVector<Operation *> ops;
  for (Operation &op : block.without_terminator()) {
    ops.push_back(&op);
    bool reads = llvm::any_of(op.getOperands(),
                              [&](Value v) { return isActive(v); });
    if (!reads)
      continue;
    for (Value r : op.getResults()) {
      if (isFloatTensor(r.getType())) {
        active.insert(r);
        continue;
      }
      // A float outside a tensor (an element extracted and captured)
      // would carry the gradient past every rule: refused, not dropped.
      if (isa<FloatType, UnrankedTensorType>(r.getType()) && !r.use_empty())
        return op.emitOpError()
               << "computes a float that is not a ranked tensor from an "
                  "argument; the backward differentiates tensors of the "
                  "cascade only (capture the tensor itself)";
    }
  }

  // One cotangent argument per float tensor result, in order.
  b.setInsertionPoint(ret);
  for (Value v : ret.getOperands()) {
    if (!isFloatTensor(v.getType()))
      continue;
    BlockArgument cotangent =
        block.addArgument(gradientType(v.getType()), ret.getLoc());
    if (isActive(v))
      accumulate(v, cotangent);
  }
  for (Operation *op : llvm::reverse(ops))
    if (failed(differentiate(op)))
      return failure();

  // The gradients of the float tensor arguments that receive one: the
  // new return, before anything reads what the forward returned.
  unsigned numPrimal = fn.getNumArguments();
  SmallVector<Value> results;
  SmallVector<int64_t> of;
  for (BlockArgument arg : block.getArguments().take_front(numPrimal))
    if (Value g = gradient.lookup(arg)) {
      results.push_back(g);
      of.push_back(arg.getArgNumber());
    }
  func::ReturnOp::create(b, ret.getLoc(), results);
  ret->erase();

  // The forward state: the reductions of the forward the gradients read
  // (softmax: the row max and sum; softplus: the row sum; sigmoid: none).
  // They become arguments, which the forward returns, so the backward
  // recomputes element-wise values only, never a reduction over keys.
  DenseSet<Operation *> primal(ops.begin(), ops.end());
  unsigned ordinal = 0, position = numPrimal;
  for (Operation *op : ops) {
    auto reduce = dyn_cast<ReduceOp>(op);
    if (!reduce)
      continue;
    unsigned index = ordinal++;
    if (llvm::all_of(reduce->getUsers(),
                     [&](Operation *user) { return primal.contains(user); }))
      continue;
    BlockArgument arg = block.insertArgument(
        position++, reduce.getResult().getType(), reduce.getLoc());
    reduce.getResult().replaceAllUsesWith(arg);
    stateOrdinals.push_back(index);
  }
  // What nothing reads any more: the forward's results (O = P·V, lse), the
  // state's reductions, the primal ops only they read.
  eraseDeadOps(block);

  SmallVector<Type> argTypes(block.getArgumentTypes());
  fn.setFunctionType(
      FunctionType::get(fn.getContext(), argTypes, ValueRange(results).getTypes()));
  // Argument attributes (attn.gen) stay on the primal arguments.
  SmallVector<DictionaryAttr> argAttrs;
  fn.getAllArgAttrs(argAttrs);
  argAttrs.resize(argTypes.size(), DictionaryAttr::get(fn.getContext()));
  fn.setAllArgAttrs(argAttrs);
  fn.setAllResultAttrs(SmallVector<DictionaryAttr>(
      results.size(), DictionaryAttr::get(fn.getContext())));
  setGradientsOf(fn, of);
  return success();
}

/// A copy of `fn` named `<fn>_<suffix>` beside `after`, with its attention
/// ops decomposed; null (the copy erased) when one cannot be.
static func::FuncOp decomposedCopy(func::FuncOp fn, Operation *after,
                                   StringRef suffix) {
  // Detached until the symbol table places it: a clash with an existing
  // name renames the copy.
  func::FuncOp copy = fn.clone();
  copy.setSymName((fn.getName() + "_" + suffix).str());
  SymbolTable(fn->getParentOfType<ModuleOp>())
      .insert(copy, std::next(after->getIterator()));
  SmallVector<AttentionOp> ops;
  copy.walk([&](AttentionOp op) { ops.push_back(op); });
  for (AttentionOp op : ops)
    if (failed(decomposeAttention(op))) {
      copy.erase();
      return {};
    }
  return copy;
}

FailureOr<BackwardFunctions> attn::deriveBackward(func::FuncOp forward) {
  if (!forward->getParentOfType<ModuleOp>())
    return forward.emitOpError() << "must be in a module to derive a backward";
  if (forward.getBody().getBlocks().size() != 1)
    return forward.emitOpError() << "must have one block to derive a backward";
  func::FuncOp backward = decomposedCopy(forward, forward, "backward");
  if (!backward)
    return failure();
  BackwardBuilder builder(backward);
  if (failed(builder.build())) {
    backward.erase();
    return failure();
  }
  // The forward that also returns the state: the same decomposition, so
  // its attn.reduce ops come in the same order.
  func::FuncOp withState = decomposedCopy(forward, forward, "forward");
  if (!withState) {
    backward.erase();
    return failure();
  }
  SmallVector<ReduceOp> reductions(
      withState.getBody().front().getOps<ReduceOp>());
  auto ret = cast<func::ReturnOp>(withState.getBody().front().getTerminator());
  SmallVector<Value> results(ret.getOperands());
  BackwardFunctions out{withState, backward, {}};
  for (unsigned ordinal : builder.stateOrdinals) {
    ReduceOp reduce = reductions[ordinal];
    results.push_back(reduce.getResult());
    out.state.push_back(reduce);
  }
  OpBuilder rb(ret);
  func::ReturnOp::create(rb, ret.getLoc(), results);
  ret->erase();
  withState.setFunctionType(FunctionType::get(
      forward.getContext(), withState.getArgumentTypes(),
      ValueRange(results).getTypes()));
  SmallVector<DictionaryAttr> resultAttrs;
  withState.getAllResultAttrs(resultAttrs);
  resultAttrs.resize(results.size(), DictionaryAttr::get(forward.getContext()));
  withState.setAllResultAttrs(resultAttrs);
  // What the derivation built must be valid IR before anyone runs it.
  if (failed(verify(withState)) || failed(verify(backward))) {
    withState.erase();
    backward.erase();
    return forward.emitOpError()
           << "internal error: the derived forward or backward does not "
              "verify (the diagnostic above says where)";
  }
  return out;
}

func::FuncOp attn::buildRecomputingBackward(const BackwardFunctions &fns) {
  func::FuncOp forward = fns.forward, backward = fns.backward;
  unsigned numPrimal = forward.getNumArguments();
  unsigned numState = fns.state.size();
  SmallVector<Type> types(backward.getArgumentTypes().take_front(numPrimal));
  for (Type t : backward.getArgumentTypes().drop_front(numPrimal + numState))
    types.push_back(t);
  SmallVector<DictionaryAttr> argAttrs;
  backward.getAllArgAttrs(argAttrs);
  argAttrs.erase(argAttrs.begin() + numPrimal,
                 argAttrs.begin() + numPrimal + numState);
  func::FuncOp fn = createGradientsFunction(backward, types, argAttrs);
  Block *block = &fn.getBody().front();

  // The forward up to its state (what the backward does not read is
  // erased below), then the backward reading it.
  OpBuilder ib = OpBuilder::atBlockEnd(block);
  IRMapping fm;
  fm.map(forward.getArguments(), block->getArguments().take_front(numPrimal));
  for (Operation &op : forward.getBody().front().without_terminator())
    ib.clone(op, fm);
  IRMapping bm;
  for (unsigned a = 0; a < backward.getNumArguments(); ++a) {
    Value to = a < numPrimal ? block->getArgument(a)
               : a < numPrimal + numState
                   ? fm.lookup(ReduceOp(fns.state[a - numPrimal]).getResult())
                   : block->getArgument(a - numState);
    bm.map(backward.getArgument(a), to);
  }
  for (Operation &op : backward.getBody().front())
    ib.clone(op, bm);
  eraseDeadOps(*block);
  return fn;
}

namespace {
struct AttnDeriveBackwardPass
    : attn::impl::AttnDeriveBackwardBase<AttnDeriveBackwardPass> {
  void runOnOperation() override {
    SmallVector<func::FuncOp> forwards;
    for (auto fn : getOperation().getOps<func::FuncOp>())
      if (!fn.isExternal() && !fn.isPrivate() &&
          !fn.getBody().getOps<AttentionOp>().empty())
        forwards.push_back(fn);
    for (func::FuncOp fn : forwards) {
      FailureOr<BackwardFunctions> derived = deriveBackward(fn);
      if (failed(derived))
        return signalPassFailure();
      InFlightDiagnostic remark = fn.emitRemark();
      remark << "the backward (@" << derived->backward.getName() << ") reads "
             << derived->state.size() << " value(s) of the forward";
      for (auto [k, reduce] : llvm::enumerate(derived->state))
        remark << (k ? ", " : ": ") << "attn.reduce "
               << stringifyReduceKind(reduce.getKind()) << " \""
               << reduce.getEquation().str() << "\"";
      remark << " (@" << derived->forward.getName() << " returns "
             << (derived->state.empty() ? "the results only" : "them last")
             << ")";
    }
  }
};
} // namespace
