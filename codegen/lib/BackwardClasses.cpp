//===- BackwardClasses.cpp - dimension classes and sweeps -------------------===//
//
// The backward emitter's analysis (BackwardEmitter.h): the dimensions of
// every tensor unified into classes through einsum letters and reshapes, the
// key, row and grid classes read from Q·Kᵀ, and every reduction over keys or
// rows placed in a sweep at the level after what it reads.
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
// Dimension classes
//===----------------------------------------------------------------------===//

unsigned Emitter::node(Value v, unsigned d) {
  auto [it, inserted] = nodes.try_emplace({v, d}, parent.size());
  if (inserted)
    parent.push_back(parent.size());
  return it->second;
}

unsigned Emitter::find(unsigned n) {
  while (parent[n] != n)
    n = parent[n] = parent[parent[n]];
  return n;
}

void Emitter::unite(unsigned a, unsigned b) { parent[find(a)] = find(b); }

Equation equationOf(Operation *op) {
  if (auto m = dyn_cast<MapOp>(op))
    return m.getEquation().getValue();
  if (auto c = dyn_cast<ContractOp>(op))
    return c.getEquation().getValue();
  if (auto r = dyn_cast<ReduceOp>(op))
    return r.getEquation().getValue();
  return cast<ScatterAddOp>(op).getEquation().getValue();
}

/// The tensors an op's equation indexes, with their terms (the result last
/// unless it is a scatter's, which is shaped like its table).
SmallVector<std::pair<Value, std::string>> termsOf(Operation *op) {
  Equation eq = equationOf(op);
  SmallVector<std::pair<Value, std::string>> terms;
  SmallVector<Value> inputs;
  if (auto m = dyn_cast<MapOp>(op))
    inputs.assign(m.getInputs().begin(), m.getInputs().end());
  else if (auto c = dyn_cast<ContractOp>(op))
    inputs.assign(c.getInputs().begin(), c.getInputs().end());
  else if (auto r = dyn_cast<ReduceOp>(op))
    inputs.push_back(r.getInput());
  else
    inputs.assign(cast<ScatterAddOp>(op).getInputs().begin(),
                  cast<ScatterAddOp>(op).getInputs().end());
  for (auto [v, term] : llvm::zip(inputs, eq.inputs))
    terms.push_back({v, term});
  if (!isa<ScatterAddOp>(op))
    terms.push_back({op->getResult(0), eq.output});
  return terms;
}

LogicalResult Emitter::unify() {
  Block &body = fn.getBody().front();
  for (BlockArgument arg : body.getArguments())
    if (auto t = dyn_cast<RankedTensorType>(arg.getType()))
      for (int64_t d = 0; d < t.getRank(); ++d)
        node(arg, d);
  for (Operation &op : body.without_terminator()) {
    for (Value r : op.getResults())
      if (auto t = dyn_cast<RankedTensorType>(r.getType()))
        for (int64_t d = 0; d < t.getRank(); ++d)
          node(r, d);
    if (isa<MapOp, ContractOp, ReduceOp, ScatterAddOp>(op)) {
      std::map<char, unsigned> first;
      for (auto [v, term] : termsOf(&op))
        for (auto [d, letter] : llvm::enumerate(term)) {
          unsigned n = node(v, d);
          auto [it, inserted] = first.try_emplace(letter, n);
          if (!inserted)
            unite(n, it->second);
        }
      if (auto s = dyn_cast<ScatterAddOp>(op))
        for (int64_t d = 0; d < s.getType().getRank(); ++d)
          unite(node(s.getResult(), d), node(s.getLike(), d));
      continue;
    }
    if (auto cast = dyn_cast<tensor::CastOp>(op)) {
      for (int64_t d = 0; d < cast.getType().getRank(); ++d)
        unite(node(cast.getResult(), d), node(cast.getSource(), d));
      continue;
    }
    auto reshape = [&](Value collapsed, Value expanded,
                       SmallVector<ReassociationIndices> groups) {
      for (auto [c, group] : llvm::enumerate(groups)) {
        if (group.size() == 1) {
          unite(node(collapsed, c), node(expanded, group[0]));
          continue;
        }
        SmallVector<unsigned> members;
        for (int64_t e : group)
          members.push_back(node(expanded, e));
        compositeNodes.push_back({node(collapsed, c), members});
      }
    };
    if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
      reshape(expand.getSrc(), expand.getResult(),
              expand.getReassociationIndices());
      continue;
    }
    if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
      reshape(collapse.getResult(), collapse.getSrc(),
              collapse.getReassociationIndices());
      continue;
    }
    if (isa<tensor::DimOp, arith::ConstantOp>(op) ||
        (op.getNumResults() == 1 && op.getResult(0).getType().isIntOrIndex() &&
         regionops::lookup(&op)))
      continue;
    return op.emitError("backward kernels: unsupported op '")
           << op.getName() << "' in @" << fn.getName();
  }
  return success();
}

LogicalResult Emitter::buildClasses() {
  classOfNode.assign(parent.size(), ~0u);
  for (unsigned n = 0; n < parent.size(); ++n) {
    unsigned root = find(n);
    if (classOfNode[root] == ~0u)
      classOfNode[root] = numClasses++;
    classOfNode[n] = classOfNode[root];
  }
  parts.assign(numClasses, {});
  for (auto &[composite, members] : compositeNodes) {
    SmallVector<unsigned> cls;
    for (unsigned m : members)
      cls.push_back(classOfNode[m]);
    unsigned c = classOfNode[composite];
    if (!parts[c].empty() && parts[c] != cls)
      return fn.emitError("backward kernels: one dimension is reshaped two "
                          "ways");
    parts[c] = cls;
  }
  // Sizes: a static size, else an argument's dimension, else a product.
  out.dims.assign(numClasses, {});
  for (auto &[key, n] : nodes) {
    auto [v, d] = key;
    unsigned c = classOfNode[n];
    auto t = cast<RankedTensorType>(v.getType());
    if (!t.isDynamicDim(d))
      out.dims[c].staticSize = t.getDimSize(d);
  }
  for (BlockArgument arg : fn.getArguments()) {
    auto t = dyn_cast<RankedTensorType>(arg.getType());
    if (!t)
      continue;
    for (int64_t d = 0; d < t.getRank(); ++d) {
      BackwardDim &dim = out.dims[classOf(arg, d)];
      if (dim.staticSize < 0 && dim.arg < 0) {
        dim.arg = arg.getArgNumber();
        dim.dim = d;
      }
    }
  }
  // A composite is the product of its parts; a part is the whole divided
  // by its other parts (a dynamic query-head count split into the KV heads
  // and the group), whichever is known first.
  std::vector<bool> known(numClasses);
  for (unsigned c = 0; c < numClasses; ++c)
    known[c] = out.dims[c].staticSize >= 0 || out.dims[c].arg >= 0;
  for (bool changed = true; changed;) {
    changed = false;
    for (unsigned w = 0; w < numClasses; ++w) {
      if (parts[w].empty())
        continue;
      if (!known[w] && llvm::all_of(parts[w], [&](unsigned p) {
            return known[p];
          })) {
        out.dims[w].productOf.assign(parts[w].begin(), parts[w].end());
        known[w] = changed = true;
      }
      if (!known[w])
        continue;
      for (unsigned p : parts[w]) {
        if (known[p] || llvm::any_of(parts[w], [&](unsigned o) {
              return o != p && !known[o];
            }))
          continue;
        out.dims[p].quotientOf = w;
        for (unsigned o : parts[w])
          if (o != p)
            out.dims[p].quotientBy.push_back(o);
        known[p] = changed = true;
      }
    }
  }
  for (unsigned c = 0; c < numClasses; ++c)
    if (!known[c])
      return fn.emitError("backward kernels: no argument sizes dimension "
                          "class ")
             << c << " (a reshape of a dynamic size into dynamic parts)";
  return success();
}

ClassSet Emitter::classSet(Value v) {
  ClassSet s;
  if (auto t = dyn_cast<RankedTensorType>(v.getType()))
    for (int64_t d = 0; d < t.getRank(); ++d)
      s.insert(classOf(v, d));
  return s;
}

std::map<char, unsigned> Emitter::lettersOf(Operation *op) {
  std::map<char, unsigned> letters;
  for (auto [v, term] : termsOf(op))
    for (auto [d, letter] : llvm::enumerate(term))
      letters.try_emplace(letter, classOf(v, d));
  return letters;
}

std::optional<int64_t> Emitter::staticSizeOf(unsigned c) {
  const BackwardDim &d = out.dims[c];
  if (d.staticSize >= 0)
    return d.staticSize;
  if (d.productOf.empty())
    return std::nullopt;
  int64_t n = 1;
  for (unsigned p : d.productOf) {
    auto s = staticSizeOf(p);
    if (!s)
      return std::nullopt;
    n *= *s;
  }
  return n;
}


std::string Emitter::sizeExpr(unsigned c) {
  const BackwardDim &d = out.dims[c];
  if (d.staticSize >= 0)
    return std::to_string(d.staticSize) + "LL";
  if (d.arg >= 0)
    return "p.t[" + std::to_string(argSlot.lookup(d.arg)) + "].size[" +
           std::to_string(d.dim) + "]";
  if (d.quotientOf >= 0) {
    std::string s = "(" + sizeExpr(d.quotientOf);
    for (unsigned o : d.quotientBy)
      s += " / " + sizeExpr(o);
    return s + ")";
  }
  std::string s = "(";
  for (auto [k, p] : llvm::enumerate(d.productOf))
    s += (k ? " * " : "") + sizeExpr(p);
  return s + ")";
}

FailureOr<std::string> Emitter::indexOf(unsigned c, const Env &env,
                                        Location loc) {
  if (std::optional<std::string> i = tryIndexOf(c, env))
    return *i;
  return emitError(loc, "backward kernels: internal error: dimension class ")
         << c << " is not bound where it is read";
}

std::optional<std::string> Emitter::tryIndexOf(unsigned c, const Env &env) {
  if (auto it = env.find(c); it != env.end())
    return it->second;
  // A composite of bound classes: linearise.
  if (!parts[c].empty()) {
    std::string s;
    bool ok = true;
    for (unsigned p : parts[c]) {
      std::optional<std::string> i = tryIndexOf(p, env);
      if (!i) {
        ok = false;
        break;
      }
      s = s.empty() ? *i : "(" + s + " * " + sizeExpr(p) + " + " + *i + ")";
    }
    if (ok)
      return s;
  }
  // A part of a bound composite: delinearise.
  for (auto [whole, ps] : llvm::enumerate(parts)) {
    auto pos = llvm::find(ps, c);
    if (pos == ps.end() || !env.count(whole))
      continue;
    std::string stride;
    for (auto it = std::next(pos); it != ps.end(); ++it)
      stride += " / " + sizeExpr(*it);
    return "((" + env.at(whole) + stride + ") % " + sizeExpr(c) + ")";
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Analysis
//===----------------------------------------------------------------------===//

/// True if `v` is a function argument, maybe reshaped.
static bool isArgument(Value v) {
  while (Operation *op = v.getDefiningOp()) {
    if (auto e = dyn_cast<tensor::ExpandShapeOp>(op))
      v = e.getSrc();
    else if (auto c = dyn_cast<tensor::CollapseShapeOp>(op))
      v = c.getSrc();
    else if (auto c = dyn_cast<tensor::CastOp>(op))
      v = c.getSource();
    else
      return false;
  }
  return isa<BlockArgument>(v);
}

/// Score contractions (Q·Kᵀ: two arguments contracted over a head dimension
/// into a larger tensor) name the classes: the keys are what only the
/// second operand brings to the result, the query rows what only the first
/// does, the grid (batch, heads) what both do.
LogicalResult Emitter::findScoreClasses() {
  for (Operation &op : fn.getBody().front().without_terminator()) {
    auto c = dyn_cast<ContractOp>(op);
    if (!c || c.getInputs().size() != 2 || !isArgument(c.getInputs()[0]) ||
        !isArgument(c.getInputs()[1]))
      continue;
    ClassSet a = classSet(c.getInputs()[0]), b = classSet(c.getInputs()[1]),
             o = classSet(c.getResult());
    ClassSet onlyA, onlyB, both;
    for (unsigned x : o) {
      bool inA = a.count(x), inB = b.count(x);
      if (inA && !inB)
        onlyA.insert(x);
      else if (inB && !inA)
        onlyB.insert(x);
      else if (inA && inB)
        both.insert(x);
    }
    bool reduces = llvm::any_of(a, [&](unsigned x) { return !o.count(x); });
    if (onlyA.empty() || onlyB.empty() || !reduces)
      continue;
    rowClasses.insert(onlyA.begin(), onlyA.end());
    keyClasses.insert(onlyB.begin(), onlyB.end());
    gridClasses.insert(both.begin(), both.end());
    // The query rows: the last row class of the score, dynamic if any is.
    for (int64_t d = 0; d < c.getType().getRank(); ++d) {
      unsigned x = classOf(c.getResult(), d);
      if (onlyA.count(x) && (queryClass == ~0u || !staticSizeOf(x) ||
                             staticSizeOf(queryClass)))
        queryClass = x;
    }
  }
  if (keyClasses.empty() || queryClass == ~0u)
    return fn.emitError("backward kernels: @")
           << fn.getName()
           << " has no score contraction (a contraction of query-side and "
              "key-side tensors over a head dimension)";
  for (unsigned k : keyClasses)
    if (rowClasses.count(k))
      return fn.emitError("backward kernels: a dimension is both a key and a "
                          "query row");
  return success();
}

/// The stored values (sweep and scatter results) `v` is computed from, when
/// evaluated element by element.
static void collectStored(Value v, const llvm::DenseMap<Value, unsigned> &stored,
                          llvm::DenseMap<Value, std::set<Operation *>> &cache,
                          std::set<Operation *> &outSet) {
  if (stored.count(v)) {
    outSet.insert(v.getDefiningOp());
    return;
  }
  if (auto it = cache.find(v); it != cache.end()) {
    outSet.insert(it->second.begin(), it->second.end());
    return;
  }
  std::set<Operation *> mine;
  if (Operation *op = v.getDefiningOp())
    for (Value operand : op->getOperands())
      collectStored(operand, stored, cache, mine);
  outSet.insert(mine.begin(), mine.end());
  cache[v] = std::move(mine);
}

LogicalResult Emitter::placeReductions() {
  Block &body = fn.getBody().front();
  // Which ops are sweeps, and their shape.
  for (Operation &op : body.without_terminator()) {
    if (!isa<ContractOp, ReduceOp>(op))
      continue;
    ClassSet in, o = classSet(op.getResult(0));
    for (Value v : op.getOperands())
      for (unsigned c : classSet(v))
        in.insert(c);
    ClassSet reduced;
    for (unsigned c : in)
      if (!o.count(c))
        reduced.insert(c);
    bool overKeys = llvm::any_of(reduced, [&](unsigned c) {
      return keyClasses.count(c);
    });
    bool overRows = llvm::any_of(reduced, [&](unsigned c) {
      return rowClasses.count(c);
    });
    if (!overKeys && !overRows)
      continue; // element-wise (over head dimensions): inline
    if (overKeys && overRows)
      return op.emitError("backward kernels: a reduction over both the keys "
                          "and the query rows is not supported");
    Sweep s;
    s.op = &op;
    s.overKeys = overKeys;
    if (overKeys) {
      if (reduced.size() != 1)
        return op.emitError("backward kernels: a reduction over the keys and "
                            "other dimensions is not supported");
      s.tiledReduced = *reduced.begin();
      s.tiledOut = ~0u;
      for (int64_t d = 0; d < cast<RankedTensorType>(op.getResult(0).getType())
                                  .getRank();
           ++d) {
        unsigned c = classOf(op.getResult(0), d);
        if (rowClasses.count(c) && (s.tiledOut == ~0u || c == queryClass))
          s.tiledOut = c;
      }
      if (s.tiledOut == ~0u)
        return op.emitError("backward kernels: a reduction over the keys "
                            "whose result has no query row is not supported");
    } else {
      s.tiledOut = ~0u;
      for (unsigned c : o)
        if (keyClasses.count(c)) {
          if (s.tiledOut != ~0u)
            return op.emitError("backward kernels: a reduction over the query "
                                "rows with two key dimensions");
          s.tiledOut = c;
        }
      if (s.tiledOut == ~0u)
        return op.emitError("backward kernels: a reduction over the query rows "
                            "whose result has no key is not supported");
      s.tiledReduced = reduced.count(queryClass) ? queryClass : ~0u;
      for (unsigned c : reduced)
        if (rowClasses.count(c) && s.tiledReduced == ~0u)
          s.tiledReduced = c;
      for (unsigned c : reduced)
        if (c != s.tiledReduced)
          s.loopReduced.push_back(c);
    }
    for (int64_t d = 0;
         d < cast<RankedTensorType>(op.getResult(0).getType()).getRank(); ++d) {
      unsigned c = classOf(op.getResult(0), d);
      if (c == s.tiledOut)
        continue;
      if (keyClasses.count(c) || rowClasses.count(c) || gridClasses.count(c)) {
        s.outer.push_back(c);
        continue;
      }
      if (!staticSizeOf(c))
        return op.emitError("backward kernels: the result's dimension ")
               << d << " has a dynamic size (head dimensions must be static)";
      s.heads.push_back(c);
    }
    sweeps.push_back(s);
  }
  for (Sweep &s : sweeps)
    stored[s.op->getResult(0)] = 0;
  for (Operation &op : body.without_terminator())
    if (isa<ScatterAddOp>(op))
      stored[op.getResult(0)] = 0;

  // Levels: one more than the deepest stored value read.
  for (Operation &op : body.without_terminator()) {
    if (!stored.count(op.getResult(0)))
      continue;
    std::set<Operation *> deps;
    for (Value operand : op.getOperands())
      collectStored(operand, stored, opDeps, deps);
    unsigned l = 1;
    for (Operation *d : deps)
      l = std::max(l, level.lookup(d) + 1);
    level[&op] = l;
  }
  for (Sweep &s : sweeps)
    s.level = level.lookup(s.op);
  return success();
}

} // namespace attn::codegen::backward
