//===- BackwardEval.cpp - element-wise evaluation ---------------------------===//
//
// The backward emitter's printing of values (BackwardEmitter.h): a value at
// one element of the index space as C++ statements -- map bodies through the
// region-op registry, head-dimension contractions as inline loops, values
// another kernel computed as loads of their workspaces, leaves staged in
// shared memory as reads of it.
//
//===----------------------------------------------------------------------===//

#include "BackwardEmitter.h"

#include "attn/Dialect/RegionOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace attn;
using namespace attn::codegen;
using namespace attn::codegen::backward;

namespace attn::codegen::backward {

//===----------------------------------------------------------------------===//
// Evaluation
//===----------------------------------------------------------------------===//

FailureOr<std::string> Emitter::offsetOf(unsigned slot, Value v,
                                         const Env &env, Location loc) {
  auto t = cast<RankedTensorType>(v.getType());
  std::string s = "0LL";
  for (int64_t d = 0; d < t.getRank(); ++d) {
    auto i = indexOf(classOf(v, d), env, loc);
    if (failed(i))
      return failure();
    s += " + " + *i + " * p.t[" + std::to_string(slot) + "].stride[" +
         std::to_string(d) + "]";
  }
  return s;
}

FailureOr<std::string> Emitter::loadTensor(unsigned slot, Value v,
                                           const Env &env, Location loc) {
  auto t = cast<RankedTensorType>(v.getType());
  auto storage = storageType(t.getElementType());
  auto reg = regionops::cppType(t.getElementType());
  if (!storage || !reg)
    return emitError(loc, "backward kernels: unsupported element type ")
           << t.getElementType();
  auto off = offsetOf(slot, v, env, loc);
  if (failed(off))
    return failure();
  std::string var = fresh("v");
  std::string ptr = "static_cast<const " + *storage + " *>(p.t[" +
                    std::to_string(slot) + "].data)";
  std::string load = "ld_global(" + ptr + ", " + *off + ", p.t[" +
                     std::to_string(slot) + "].extent)";
  if (*storage == "f16" || *storage == "bf16")
    load = "to_float(" + load + ")";
  code.line("const " + *reg + " " + var + " = " + load + ";");
  return var;
}

FailureOr<std::string> Emitter::evalScalar(Value v, const Env &env) {
  for (auto it = memo.rbegin(); it != memo.rend(); ++it)
    if (auto f = it->find(v); f != it->end())
      return f->second;
  std::string expr;
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    auto reg = regionops::cppType(v.getType());
    if (!reg || !scalarSlot.count(arg.getArgNumber()))
      return emitError(v.getLoc(), "backward kernels: unsupported scalar "
                                   "argument type ")
             << v.getType();
    expr = "static_cast<" + *reg + ">(p.s[" +
           std::to_string(scalarSlot.lookup(arg.getArgNumber())) + "])";
  } else if (auto dim = v.getDefiningOp<tensor::DimOp>()) {
    auto index = getConstantIntValue(dim.getIndex());
    if (!index)
      return dim.emitError("backward kernels: tensor.dim needs a constant "
                           "index");
    expr = sizeExpr(classOf(dim.getSource(), *index));
  } else {
    Operation *op = v.getDefiningOp();
    const regionops::Rule *rule = op ? regionops::lookup(op) : nullptr;
    if (!rule || !rule->emitCuda || op->getNumResults() != 1)
      return emitError(v.getLoc(), "backward kernels: unsupported scalar");
    SmallVector<std::string> in;
    for (Value operand : op->getOperands()) {
      auto s = evalScalar(operand, env);
      if (failed(s))
        return failure();
      in.push_back(*s);
    }
    auto e = rule->emitCuda(op, in);
    auto reg = regionops::cppType(v.getType());
    if (!e || !reg)
      return op->emitError("backward kernels: unsupported scalar op");
    if (isa<arith::ConstantOp>(op)) {
      expr = *e;
    } else {
      expr = fresh("s");
      code.line("const " + *reg + " " + expr + " = " + *e + ";");
    }
  }
  memo.back()[v] = expr;
  return expr;
}

FailureOr<std::string>
Emitter::readArgument(tensor::ExtractOp extract, Value tensor,
                      ArrayRef<std::string> indices) {
  auto arg = dyn_cast_or_null<BlockArgument>(tensor);
  if (!arg || !argSlot.count(arg.getArgNumber()))
    return extract.emitError("backward kernels: a read of a tensor that is "
                             "not an argument");
  unsigned slot = argSlot.lookup(arg.getArgNumber());
  std::string off = "0LL";
  for (auto [d, idx] : llvm::enumerate(indices))
    off += " + " + idx + " * p.t[" + std::to_string(slot) + "].stride[" +
           std::to_string(d) + "]";
  auto ty = extract.getType();
  auto storage = storageType(ty);
  auto reg = regionops::cppType(ty);
  if (!storage || !reg)
    return extract.emitError("backward kernels: unsupported element type");
  std::string load = "ld_global(static_cast<const " + *storage + " *>(p.t[" +
                     std::to_string(slot) + "].data), " + off + ", p.t[" +
                     std::to_string(slot) + "].extent)";
  if (*storage == "f16" || *storage == "bf16")
    load = "to_float(" + load + ")";
  std::string var = fresh("x");
  code.line("const " + *reg + " " + var + " = " + load + ";");
  return var;
}

LogicalResult
Emitter::printScalarOp(Operation &op, DenseMap<Value, std::string> &local,
                       const DenseMap<Value, Value> &tensorOf) {
  if (auto extract = dyn_cast<tensor::ExtractOp>(op)) {
    SmallVector<std::string> indices;
    for (Value idx : extract.getIndices())
      indices.push_back(local.lookup(idx));
    auto x =
        readArgument(extract, tensorOf.lookup(extract.getTensor()), indices);
    if (failed(x))
      return failure();
    local[extract.getResult()] = *x;
    return success();
  }
  if (auto dim = dyn_cast<tensor::DimOp>(op)) {
    Value t = tensorOf.lookup(dim.getSource());
    auto index = getConstantIntValue(dim.getIndex());
    if (!t || !index)
      return op.emitError("backward kernels: unsupported tensor.dim");
    local[dim.getResult()] = sizeExpr(classOf(t, *index));
    return success();
  }
  const regionops::Rule *rule = regionops::lookup(&op);
  if (!rule || !rule->emitCuda || op.getNumResults() != 1)
    return op.emitError("backward kernels: unsupported op '")
           << op.getName() << "'";
  SmallVector<std::string> in;
  for (Value operand : op.getOperands()) {
    auto it = local.find(operand);
    if (it == local.end())
      return op.emitError("backward kernels: operand defined outside the "
                          "body");
    in.push_back(it->second);
  }
  auto e = rule->emitCuda(&op, in);
  auto reg = regionops::cppType(op.getResult(0).getType());
  if (!e || !reg)
    return op.emitError("backward kernels: unsupported op '")
           << op.getName() << "'";
  if (isa<arith::ConstantOp>(op)) {
    local[op.getResult(0)] = *e;
    return success();
  }
  std::string var = fresh("x");
  code.line("const " + *reg + " " + var + " = " + *e + ";");
  local[op.getResult(0)] = var;
  return success();
}

/// A map's or scatter's body at one element: `yields` receives every
/// yielded value; returns the first.
FailureOr<std::string>
Emitter::evalMapLike(Operation *op, const Env &env,
                     SmallVectorImpl<std::string> *yields) {
  Equation eq = equationOf(op);
  std::map<char, unsigned> letters = lettersOf(op);
  Region &region = op->getRegion(0);
  Block &body = region.front();
  SmallVector<Value> inputs, captures;
  if (auto m = dyn_cast<MapOp>(op)) {
    inputs.assign(m.getInputs().begin(), m.getInputs().end());
    captures.assign(m.getCaptures().begin(), m.getCaptures().end());
  } else {
    auto s = cast<ScatterAddOp>(op);
    inputs.assign(s.getInputs().begin(), s.getInputs().end());
    captures.assign(s.getCaptures().begin(), s.getCaptures().end());
  }
  DenseMap<Value, std::string> local;
  DenseMap<Value, Value> tensorOf;
  unsigned a = 0;
  for (char letter : eq.output) {
    auto i = indexOf(letters.at(letter), env, op->getLoc());
    if (failed(i))
      return failure();
    local[body.getArgument(a++)] = *i;
  }
  for (Value in : inputs) {
    auto x = eval(in, env);
    if (failed(x))
      return failure();
    local[body.getArgument(a++)] = *x;
  }
  for (Value cap : captures) {
    BlockArgument barg = body.getArgument(a++);
    if (isa<RankedTensorType>(cap.getType())) {
      tensorOf[barg] = cap;
      continue;
    }
    auto x = evalScalar(cap, env);
    if (failed(x))
      return failure();
    local[barg] = *x;
  }
  for (Operation &inner : body.without_terminator())
    if (failed(printScalarOp(inner, local, tensorOf)))
      return failure();
  Operation *term = body.getTerminator();
  if (yields)
    for (Value y : term->getOperands())
      yields->push_back(local.lookup(y));
  return local.lookup(term->getOperand(0));
}

/// The fold of a contraction's or reduction's inputs into `acc`.
std::string foldInto(Operation *op, const std::string &acc,
                     ArrayRef<std::string> in) {
  std::string combined;
  if (auto c = dyn_cast<ContractOp>(op)) {
    const char *sep = c.getCombine() == CombineKind::Mul ? " * " : " + ";
    for (auto [k, x] : llvm::enumerate(in))
      combined += (k ? sep : "") + x;
    if (c.getReduce() == ReduceKind::Max)
      return acc + " = sc::maximumf(" + acc + ", " + combined + ");";
    return acc + " += " + combined + ";";
  }
  auto r = cast<ReduceOp>(op);
  if (r.getKind() == ReduceKind::Max)
    return acc + " = sc::maximumf(" + acc + ", " + in[0] + ");";
  return acc + " += " + in[0] + ";";
}

std::string identityOf(Operation *op) {
  bool isMax = isa<ContractOp>(op)
                   ? cast<ContractOp>(op).getReduce() == ReduceKind::Max
                   : cast<ReduceOp>(op).getKind() == ReduceKind::Max;
  return isMax ? "sc::f32_bits(0xff800000u)" : "0.0f";
}

FailureOr<std::string> Emitter::evalInlineReduction(Operation *op,
                                                    const Env &env) {
  ClassSet o = classSet(op->getResult(0)), reduced;
  for (Value v : op->getOperands())
    for (unsigned c : classSet(v))
      if (!o.count(c))
        reduced.insert(c);
  std::string acc = fresh("a");
  code.line("float " + acc + " = " + identityOf(op) + ";");
  Env inner = env;
  for (unsigned c : reduced) {
    if (keyClasses.count(c) || rowClasses.count(c))
      return op->emitError("backward kernels: internal error: a sweep "
                           "reduction evaluated in place");
    std::string i = fresh("r");
    code.open("for (long long " + i + " = 0; " + i + " < " + sizeExpr(c) +
              "; ++" + i + ")");
    inner[c] = i;
  }
  pushScope();
  SmallVector<std::string> in;
  for (Value v : op->getOperands()) {
    auto x = eval(v, inner);
    if (failed(x))
      return failure();
    in.push_back(*x);
  }
  code.line(foldInto(op, acc, in));
  popScope();
  for (size_t k = 0; k < reduced.size(); ++k)
    code.close();
  return acc;
}

FailureOr<std::string> Emitter::eval(Value v, const Env &env) {
  if (!isa<RankedTensorType>(v.getType()))
    return evalScalar(v, env);
  for (auto it = memo.rbegin(); it != memo.rend(); ++it)
    if (auto f = it->find(v); f != it->end())
      return f->second;
  FailureOr<std::string> expr = failure();
  Location loc = v.getLoc();
  if (auto st = staged.find(v); st != staged.end()) {
    const Staged &t = st->second;
    auto row = indexOf(t.tiled, env, loc);
    if (failed(row))
      return failure();
    std::string lin = "0LL";
    for (unsigned h : t.heads) {
      auto i = indexOf(h, env, loc);
      if (failed(i))
        return failure();
      lin = "(" + lin + " * " + sizeExpr(h) + " + " + *i + ")";
    }
    expr = t.array + "[(" + *row + " - " + t.base + ") * " +
           std::to_string(t.headCount) + " + " + lin + "]";
  } else if (auto it = stored.find(v); it != stored.end()) {
    expr = loadTensor(it->second, v, env, loc);
  } else if (auto arg = dyn_cast<BlockArgument>(v)) {
    expr = loadTensor(argSlot.lookup(arg.getArgNumber()), v, env, loc);
  } else {
    Operation *op = v.getDefiningOp();
    if (auto e = dyn_cast<tensor::ExpandShapeOp>(op))
      expr = eval(e.getSrc(), env);
    else if (auto c = dyn_cast<tensor::CollapseShapeOp>(op))
      expr = eval(c.getSrc(), env);
    else if (auto c = dyn_cast<tensor::CastOp>(op))
      expr = eval(c.getSource(), env);
    else if (isa<MapOp>(op))
      expr = evalMapLike(op, env, nullptr);
    else if (isa<ContractOp, ReduceOp>(op))
      expr = evalInlineReduction(op, env);
    else
      return op->emitError("backward kernels: cannot evaluate '")
             << op->getName() << "' element-wise";
  }
  if (failed(expr))
    return failure();
  memo.back()[v] = *expr;
  return expr;
}

void Emitter::collectLeaves(Value v, llvm::SetVector<Value> &leaves,
                            llvm::DenseSet<Value> &seen) {
  if (!isa<RankedTensorType>(v.getType()) || !seen.insert(v).second)
    return;
  if (stored.count(v) || isa<BlockArgument>(v)) {
    leaves.insert(v);
    return;
  }
  Operation *op = v.getDefiningOp();
  if (auto e = dyn_cast<tensor::ExpandShapeOp>(op))
    return collectLeaves(e.getSrc(), leaves, seen);
  if (auto c = dyn_cast<tensor::CollapseShapeOp>(op))
    return collectLeaves(c.getSrc(), leaves, seen);
  if (auto c = dyn_cast<tensor::CastOp>(op))
    return collectLeaves(c.getSource(), leaves, seen);
  if (auto m = dyn_cast<MapOp>(op)) {
    // Captured tensors are read at computed positions: not staged.
    for (Value in : m.getInputs())
      collectLeaves(in, leaves, seen);
    return;
  }
  if (isa<ContractOp, ReduceOp>(op))
    for (Value in : op->getOperands())
      collectLeaves(in, leaves, seen);
}

void Emitter::bindHeads(ArrayRef<unsigned> heads, int64_t count, Env &env) {
  std::string rest = "(e % " + std::to_string(count) + ")";
  for (unsigned h : llvm::reverse(heads)) {
    std::string var = fresh("h");
    code.line("const long long " + var + " = " + rest + " % " + sizeExpr(h) +
              ";");
    rest = "(" + rest + " / " + sizeExpr(h) + ")";
    env[h] = var;
  }
}

LogicalResult Emitter::emitStaging(Value v, const Env &env,
                                   const std::string &count) {
  const Staged &t = staged.lookup(v);
  code.open("for (int e = tid; e < " + std::to_string(t.rows * t.headCount) +
            "; e += blockDim.x)");
  code.line("const int row = e / " + std::to_string(t.headCount) + ";");
  Env at = env;
  bindHeads(t.heads, t.headCount, at);
  at[t.tiled] = "(" + t.base + " + row)";
  code.line("float x = 0.0f;");
  code.open("if (row < " + count + ")");
  pushScope();
  unsigned slot = stored.count(v)
                      ? stored.lookup(v)
                      : argSlot.lookup(cast<BlockArgument>(v).getArgNumber());
  auto x = loadTensor(slot, v, at, v.getLoc());
  popScope();
  if (failed(x))
    return failure();
  code.line("x = " + *x + ";");
  code.close();
  code.line(t.array + "[e] = x;");
  code.close();
  return success();
}

} // namespace attn::codegen::backward
