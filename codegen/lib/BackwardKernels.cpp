//===- BackwardKernels.cpp - CUDA kernels of a derived backward -----------===//
//
// See attn/Codegen/BackwardKernels.h for what is emitted. The emitter works
// on the backward function as -attn-derive-backward builds it (top-level
// attn.map / contract / reduce / scatter_add, reshapes, tensor.dim) in three
// steps: unify dimensions into classes, place every reduction in a sweep
// (row or column, ordered by what it reads), then print each kernel by
// evaluating the values it needs element by element: an element-wise value
// is recomputed from its operands where it is read (map bodies through the
// region-op registry, contractions over head dimensions as inline loops),
// a value another kernel computed is a load from its workspace.
//
//===----------------------------------------------------------------------===//

#include "attn/Codegen/BackwardKernels.h"
#include "attn/Dialect/AttnDialect.h"
#include "attn/Dialect/Equation.h"
#include "attn/Dialect/KernelAttrs.h"
#include "attn/Dialect/RegionOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Error.h"

#include <map>
#include <set>

using namespace mlir;
using namespace attn;
using namespace attn::codegen;

namespace {

using ClassSet = std::set<unsigned>;
/// Class -> the C++ expression of its index in the current element.
using Env = std::map<unsigned, std::string>;

/// Indented C++ text.
struct Code {
  std::string text;
  int depth = 0;
  void line(const std::string &s) {
    text.append(2 * depth, ' ');
    text += s;
    text += '\n';
  }
  void open(const std::string &s) {
    line(s + " {");
    ++depth;
  }
  void close(const std::string &tail = "") {
    --depth;
    line("}" + tail);
  }
};

/// The storage type of a tensor element in global memory.
std::optional<std::string> storageType(Type t) {
  if (t.isF16())
    return std::string("f16");
  if (t.isBF16())
    return std::string("bf16");
  if (t.isF32())
    return std::string("float");
  if (t.isInteger(1) || t.isInteger(8))
    return std::string("signed char");
  if (t.isInteger(32))
    return std::string("int");
  if (t.isInteger(64) || t.isIndex())
    return std::string("long long");
  if (t.isInteger(16))
    return std::string("short");
  return std::nullopt;
}

/// A reduction placed in a sweep.
struct Sweep {
  Operation *op;
  bool overKeys;
  /// The output class a CTA owns a block of, the reduced class a tile
  /// covers a block of, and the reduced classes looped over whole.
  unsigned tiledOut, tiledReduced;
  SmallVector<unsigned> loopReduced;
  /// Output classes a CTA owns one value of, and those its threads cover
  /// whole (head dimensions: static).
  SmallVector<unsigned> outer, heads;
  unsigned level = 0;
  /// Default mode: accumulated into a zeroed workspace by the column sweep
  /// with atomics (dQ), instead of a row sweep of its own.
  bool atomic = false;
};

class Emitter {
public:
  Emitter(func::FuncOp fn, const BackwardEmitOptions &options)
      : fn(fn), options(options) {}
  FailureOr<BackwardKernels> run();

private:
  // Dimension classes.
  unsigned node(Value v, unsigned d);
  unsigned find(unsigned n);
  void unite(unsigned a, unsigned b);
  LogicalResult unify();
  LogicalResult buildClasses();
  unsigned classOf(Value v, unsigned d) {
    return classOfNode[find(node(v, d))];
  }
  ClassSet classSet(Value v);
  /// Letter -> class of an op with an equation (inputs and output).
  std::map<char, unsigned> lettersOf(Operation *op);
  std::string sizeExpr(unsigned c);
  std::optional<int64_t> staticSizeOf(unsigned c);
  /// The index of class `c` in `env`: bound, a composite of bound classes,
  /// or a part of a bound composite; an error at `loc` otherwise.
  FailureOr<std::string> indexOf(unsigned c, const Env &env, Location loc);
  std::optional<std::string> tryIndexOf(unsigned c, const Env &env);

  // Analysis.
  LogicalResult findScoreClasses();
  LogicalResult placeReductions();

  // Evaluation.
  std::string fresh(const char *prefix) {
    return prefix + std::to_string(counter++);
  }
  FailureOr<std::string> eval(Value v, const Env &env);
  FailureOr<std::string> evalMapLike(Operation *op, const Env &env,
                                     SmallVectorImpl<std::string> *yields);
  FailureOr<std::string> evalInlineReduction(Operation *op, const Env &env);
  FailureOr<std::string> evalScalar(Value v, const Env &env);
  FailureOr<std::string> loadTensor(unsigned slot, Value v, const Env &env,
                                    Location loc);
  FailureOr<std::string> offsetOf(unsigned slot, Value v, const Env &env,
                                  Location loc);
  /// The argument and workspace tensors `v` is computed from element by
  /// element.
  void collectLeaves(Value v, llvm::SetVector<Value> &leaves,
                     llvm::DenseSet<Value> &seen);
  /// Emits the copy of staged leaf `v` into shared memory (`count` rows of
  /// its tiled class from `base`).
  LogicalResult emitStaging(Value v, const Env &env, const std::string &count);
  void pushScope() { memo.emplace_back(); }
  void popScope() { memo.pop_back(); }

  // Kernels.
  unsigned addWorkspace(Value v, std::string what);
  std::string kernelHeader(const std::string &name);
  void decodeDomain(ArrayRef<unsigned> classes, const std::string &linear,
                    Env &env);
  LogicalResult emitSweepKernel(ArrayRef<Sweep *> group,
                                ArrayRef<Sweep *> atomics);
  LogicalResult emitScatterKernel(ScatterAddOp op);
  LogicalResult emitResultKernel(unsigned result, Value value);

  func::FuncOp fn;
  BackwardEmitOptions options;
  BackwardKernels out;
  Code code;
  unsigned counter = 0;

  llvm::DenseMap<std::pair<Value, unsigned>, unsigned> nodes;
  std::vector<unsigned> parent;
  /// Composite dims: node -> its parts (row-major), from reshapes.
  std::vector<std::pair<unsigned, SmallVector<unsigned>>> compositeNodes;
  std::vector<unsigned> classOfNode;
  unsigned numClasses = 0;
  std::vector<SmallVector<unsigned>> parts;   // per class
  std::vector<std::string> classNames;        // per class (comments)

  ClassSet keyClasses, rowClasses, gridClasses;
  unsigned queryClass = ~0u;

  /// Values another kernel computes: their tensor slot.
  llvm::DenseMap<Value, unsigned> stored;
  llvm::DenseMap<Value, std::set<Operation *>> opDeps;
  std::vector<Sweep> sweeps;
  llvm::DenseMap<Operation *, unsigned> level;
  std::vector<llvm::DenseMap<Value, std::string>> memo;
  llvm::DenseMap<unsigned, unsigned> argSlot, scalarSlot;

  /// A leaf tensor a sweep reads through shared memory: its rows of class
  /// `tiled` from `base` (a block), the whole of its `heads` (static, row-
  /// major), as f32.
  struct Staged {
    std::string array;
    unsigned tiled = 0;
    std::string base;
    int64_t rows = 0;
    SmallVector<unsigned> heads;
    int64_t headCount = 1;
    bool perIteration = false;
  };
  /// The current sweep's staged leaves.
  llvm::MapVector<Value, Staged> staged;
};

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

static Equation equationOf(Operation *op) {
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
static SmallVector<std::pair<Value, std::string>> termsOf(Operation *op) {
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
  classNames.resize(numClasses);
  for (unsigned c = 0; c < numClasses; ++c)
    classNames[c] = "c" + std::to_string(c);
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
  for (Operation &inner : body.without_terminator()) {
    if (auto extract = dyn_cast<tensor::ExtractOp>(inner)) {
      Value t = tensorOf.lookup(extract.getTensor());
      auto arg = dyn_cast_or_null<BlockArgument>(t);
      if (!arg || !argSlot.count(arg.getArgNumber()))
        return inner.emitError("backward kernels: a read of a tensor that is "
                               "not an argument");
      unsigned slot = argSlot.lookup(arg.getArgNumber());
      std::string off = "0LL";
      for (auto [d, idx] : llvm::enumerate(extract.getIndices()))
        off += " + " + local.lookup(idx) + " * p.t[" + std::to_string(slot) +
               "].stride[" + std::to_string(d) + "]";
      auto ty = extract.getType();
      auto storage = storageType(ty);
      auto reg = regionops::cppType(ty);
      if (!storage || !reg)
        return inner.emitError("backward kernels: unsupported element type");
      std::string load = "ld_global(static_cast<const " + *storage +
                         " *>(p.t[" + std::to_string(slot) + "].data), " +
                         off + ", p.t[" + std::to_string(slot) + "].extent)";
      if (*storage == "f16" || *storage == "bf16")
        load = "to_float(" + load + ")";
      std::string var = fresh("x");
      code.line("const " + *reg + " " + var + " = " + load + ";");
      local[extract.getResult()] = var;
      continue;
    }
    if (auto dim = dyn_cast<tensor::DimOp>(inner)) {
      Value t = tensorOf.lookup(dim.getSource());
      auto index = getConstantIntValue(dim.getIndex());
      if (!t || !index)
        return inner.emitError("backward kernels: unsupported tensor.dim");
      local[dim.getResult()] = sizeExpr(classOf(t, *index));
      continue;
    }
    const regionops::Rule *rule = regionops::lookup(&inner);
    if (!rule || !rule->emitCuda || inner.getNumResults() != 1)
      return inner.emitError("backward kernels: unsupported op '")
             << inner.getName() << "'";
    SmallVector<std::string> in;
    for (Value operand : inner.getOperands()) {
      auto it = local.find(operand);
      if (it == local.end())
        return inner.emitError("backward kernels: operand defined outside the "
                               "body");
      in.push_back(it->second);
    }
    auto e = rule->emitCuda(&inner, in);
    auto reg = regionops::cppType(inner.getResult(0).getType());
    if (!e || !reg)
      return inner.emitError("backward kernels: unsupported op '")
             << inner.getName() << "'";
    if (isa<arith::ConstantOp>(inner)) {
      local[inner.getResult(0)] = *e;
      continue;
    }
    std::string var = fresh("x");
    code.line("const " + *reg + " " + var + " = " + *e + ";");
    local[inner.getResult(0)] = var;
  }
  Operation *term = body.getTerminator();
  if (yields)
    for (Value y : term->getOperands())
      yields->push_back(local.lookup(y));
  return local.lookup(term->getOperand(0));
}

/// The fold of a contraction's or reduction's inputs into `acc`.
static std::string foldInto(Operation *op, const std::string &acc,
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

static std::string identityOf(Operation *op) {
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

LogicalResult Emitter::emitStaging(Value v, const Env &env,
                                   const std::string &count) {
  const Staged &t = staged.lookup(v);
  code.open("for (int e = tid; e < " + std::to_string(t.rows * t.headCount) +
            "; e += blockDim.x)");
  code.line("const int row = e / " + std::to_string(t.headCount) + ";");
  Env at = env;
  std::string rest = "(e % " + std::to_string(t.headCount) + ")";
  for (unsigned h : llvm::reverse(t.heads)) {
    std::string var = fresh("h");
    code.line("const long long " + var + " = " + rest + " % " + sizeExpr(h) +
              ";");
    rest = "(" + rest + " / " + sizeExpr(h) + ")";
    at[h] = var;
  }
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

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

unsigned Emitter::addWorkspace(Value v, std::string what) {
  BackwardTensor t;
  t.kind = BackwardTensor::Kind::Workspace;
  t.index = llvm::count_if(out.tensors, [](const BackwardTensor &x) {
    return x.kind == BackwardTensor::Kind::Workspace;
  });
  t.name = "w" + std::to_string(t.index) + " (" + what + ")";
  if (v)
    for (int64_t d = 0; d < cast<RankedTensorType>(v.getType()).getRank(); ++d)
      t.dims.push_back({static_cast<int>(classOf(v, d)), -1});
  out.tensors.push_back(t);
  return out.tensors.size() - 1;
}

std::string Emitter::kernelHeader(const std::string &name) {
  return "extern \"C\" __global__ void __launch_bounds__(" +
         std::to_string(options.threads) + ") " + name +
         "(const attn_bwd_params p)";
}

/// Binds each of `classes` to its index in the row-major linear `linear`.
void Emitter::decodeDomain(ArrayRef<unsigned> classes,
                           const std::string &linear, Env &env) {
  std::string rest = fresh("rest");
  code.line("long long " + rest + " = " + linear + ";");
  for (unsigned c : llvm::reverse(classes)) {
    std::string var = fresh("i");
    code.line("const long long " + var + " = " + rest + " % " + sizeExpr(c) +
              "; " + rest + " /= " + sizeExpr(c) + ";");
    env[c] = var;
  }
}

static std::string valueName(Value v) {
  std::string s;
  llvm::raw_string_ostream os(s);
  OpPrintingFlags flags;
  v.printAsOperand(os, flags);
  return s;
}

LogicalResult Emitter::emitSweepKernel(ArrayRef<Sweep *> group,
                                       ArrayRef<Sweep *> atomics) {
  const Sweep &lead = *group.front();
  bool rows = lead.overKeys;
  int64_t bo = rows ? options.blockM : options.blockN;
  int64_t br = rows ? options.blockN : options.blockM;
  BackwardKernel k;
  k.role = rows ? BackwardKernelRole::RowSweep : BackwardKernelRole::ColumnSweep;
  k.name = "attn_" + fn.getName().str() + "_k" +
           std::to_string(out.kernels.size()) +
           (rows ? "_rows" : "_columns");
  k.productClasses.assign(lead.outer.begin(), lead.outer.end());
  k.blockedClasses.push_back({lead.tiledOut, bo});
  k.threads = options.threads;

  // Workspaces of the results; atomic ones (dQ) are summed into zeroed ones.
  SmallVector<Sweep *> all(group.begin(), group.end());
  all.append(atomics.begin(), atomics.end());
  std::string summary;
  for (Sweep *s : all)
    summary += (summary.empty() ? "" : ", ") +
               valueName(s->op->getResult(0)) +
               (s->atomic ? " (atomic, over its keys)" : "");
  k.summary = std::string(rows ? "row sweep (over keys): " : "column sweep "
                                 "(over query rows): ") + summary;

  // The tile operands: inputs varying along both tiled classes.
  SmallVector<Value> tileValues;
  for (Sweep *s : all)
    for (Value in : s->op->getOperands()) {
      ClassSet cs = classSet(in);
      if (cs.count(s->tiledOut) && cs.count(s->tiledReduced) &&
          !llvm::is_contained(tileValues, in))
        tileValues.push_back(in);
    }
  // Shared memory: one [bo x br] tile per operand and one accumulator
  // [bo x heads] per owned result (an atomic one sums in registers).
  auto headCount = [&](const Sweep &s) {
    int64_t n = 1;
    for (unsigned h : s.heads)
      n *= *staticSizeOf(h);
    return n;
  };
  int64_t floats = static_cast<int64_t>(tileValues.size()) * bo * br;
  SmallVector<int64_t> accOffset;
  for (Sweep *s : all) {
    accOffset.push_back(floats);
    if (!s->atomic)
      floats += bo * headCount(*s);
  }
  // Leaves read per row of a tiled class (Q, dO, K, V, the forward state,
  // earlier sweeps' row values) go through shared memory: a block of rows
  // with their whole head dimensions, copied once per CTA (rows of the
  // CTA's own class) or per tile, so each is read from global memory once
  // per (row block, key block) pair, not once per score element.
  staged.clear();
  {
    llvm::SetVector<Value> leaves;
    llvm::DenseSet<Value> seen;
    for (Sweep *s : all)
      for (Value in : s->op->getOperands())
        collectLeaves(in, leaves, seen);
    Env outerEnv, loopEnv;
    for (unsigned c : lead.outer)
      outerEnv[c] = loopEnv[c] = "_";
    for (unsigned c : lead.loopReduced)
      loopEnv[c] = "_";
    constexpr int64_t kMaxStagedFloats = 16384; // 64 KB
    int64_t stagedFloats = 0;
    for (Value leaf : leaves) {
      auto t = cast<RankedTensorType>(leaf.getType());
      if (!isa<FloatType>(t.getElementType()))
        continue;
      int tiledDim = -1;
      for (int64_t d = 0; d < t.getRank(); ++d) {
        unsigned c = classOf(leaf, d);
        if (c == lead.tiledOut || c == lead.tiledReduced) {
          tiledDim = tiledDim < 0 ? static_cast<int>(d) : -2;
        }
      }
      if (tiledDim < 0)
        continue;
      Staged st;
      st.tiled = classOf(leaf, tiledDim);
      st.perIteration = st.tiled == lead.tiledReduced;
      bool ok = true;
      for (int pass = 0; pass < 2 && ok; ++pass) {
        // Per CTA when every other dimension is fixed by the CTA or is a
        // head; else per tile, where the loop classes are bound too.
        st.heads.clear();
        st.headCount = 1;
        const Env &at = st.perIteration ? loopEnv : outerEnv;
        bool fits = true;
        for (int64_t d = 0; d < t.getRank() && fits; ++d) {
          unsigned c = classOf(leaf, d);
          if (static_cast<int>(d) == tiledDim || tryIndexOf(c, at))
            continue;
          std::optional<int64_t> n = staticSizeOf(c);
          if (!n || c == lead.tiledOut || c == lead.tiledReduced) {
            fits = false;
            continue;
          }
          st.heads.push_back(c);
          st.headCount *= *n;
        }
        if (fits)
          break;
        if (st.perIteration || pass == 1)
          ok = false;
        st.perIteration = true;
      }
      if (!ok)
        continue;
      st.rows = st.tiled == lead.tiledOut ? bo : br;
      if (stagedFloats + st.rows * st.headCount > kMaxStagedFloats)
        continue;
      st.base = st.tiled == lead.tiledOut ? "o0" : "r0";
      stagedFloats += st.rows * st.headCount;
      staged[leaf] = st;
    }
    int64_t offset = floats;
    for (auto &[leaf, st] : staged) {
      st.array = "(smem + " + std::to_string(offset) + ")";
      offset += st.rows * st.headCount;
    }
    floats = offset;
  }
  k.dynamicSmemBytes = floats * 4;

  code.line("");
  code.line("// " + k.summary);
  code.open(kernelHeader(k.name));
  code.line("ATTN_DYNAMIC_SHARED(float, smem);");
  code.line("const int tid = threadIdx.x;");
  Env env;
  std::string nb = "((" + sizeExpr(lead.tiledOut) + " + " +
                   std::to_string(bo - 1) + ") / " + std::to_string(bo) + ")";
  code.line("const long long ob = (long long)blockIdx.x % " + nb + ";");
  decodeDomain(lead.outer, "(long long)blockIdx.x / " + nb, env);
  code.line("const long long o0 = ob * " + std::to_string(bo) + ";");
  code.line("const long long nO = " + sizeExpr(lead.tiledOut) +
            " - o0 < " + std::to_string(bo) + "LL ? " +
            sizeExpr(lead.tiledOut) + " - o0 : " + std::to_string(bo) +
            "LL;");
  for (auto [t, v] : llvm::enumerate(tileValues))
    code.line("float *const sh" + std::to_string(t) + " = smem + " +
              std::to_string(t * bo * br) + ";");
  for (auto [m, s] : llvm::enumerate(all)) {
    if (s->atomic)
      continue;
    code.line("float *const acc" + std::to_string(m) + " = smem + " +
              std::to_string(accOffset[m]) + ";");
    code.line("for (int e = tid; e < " +
                std::to_string(bo * headCount(*s)) +
                "; e += blockDim.x) acc" + std::to_string(m) + "[e] = " +
                identityOf(s->op) + ";");
  }
  for (auto &[leaf, st] : staged)
    if (!st.perIteration && failed(emitStaging(leaf, env, "nO")))
      return failure();
  // Loops over the reduced classes: whole ones, then the tiled one.
  for (unsigned c : lead.loopReduced) {
    std::string var = fresh("l");
    code.open("for (long long " + var + " = 0; " + var + " < " +
              sizeExpr(c) + "; ++" + var + ")");
    env[c] = var;
  }
  code.open("for (long long r0 = 0; r0 < " + sizeExpr(lead.tiledReduced) +
            "; r0 += " + std::to_string(br) + ")");
  code.line("const long long nR = " + sizeExpr(lead.tiledReduced) +
            " - r0 < " + std::to_string(br) + "LL ? " +
            sizeExpr(lead.tiledReduced) + " - r0 : " + std::to_string(br) +
            "LL;");
  code.line("__syncthreads();");
  bool perTile = false;
  for (auto &[leaf, st] : staged)
    if (st.perIteration) {
      if (failed(emitStaging(leaf, env, st.tiled == lead.tiledOut ? "nO"
                                                                   : "nR")))
        return failure();
      perTile = true;
    }
  if (perTile)
    code.line("__syncthreads();");
  // The tile's element-wise values, once for every reduction of the kernel.
  code.open("for (int e = tid; e < " + std::to_string(bo * br) +
            "; e += blockDim.x)");
  code.line("const int o = e / " + std::to_string(br) + ", r = e % " +
            std::to_string(br) + ";");
  for (size_t t = 0; t < tileValues.size(); ++t)
    code.line("float t" + std::to_string(t) + " = 0.0f;");
  code.open("if (o < nO && r < nR)");
  {
    Env tile = env;
    tile[lead.tiledOut] = "(o0 + o)";
    tile[lead.tiledReduced] = "(r0 + r)";
    pushScope();
    for (auto [t, v] : llvm::enumerate(tileValues)) {
      auto x = eval(v, tile);
      if (failed(x))
        return failure();
      code.line("t" + std::to_string(t) + " = " + *x + ";");
    }
    popScope();
  }
  code.close();
  for (size_t t = 0; t < tileValues.size(); ++t)
    code.line("sh" + std::to_string(t) + "[e] = t" + std::to_string(t) + ";");
  code.close();
  code.line("__syncthreads();");

  // Each reduction: a thread per (owned row, head element), a loop over the
  // tile's reduced block. An atomic one (dQ in a column sweep) is owned the
  // other way round: per (reduced row, head element), a loop over the
  // CTA's keys, then one atomic add per element and tile.
  for (auto [m, s] : llvm::enumerate(all)) {
    int64_t heads = headCount(*s);
    bool atomic = s->atomic;
    int64_t owned = atomic ? br : bo;
    std::string accName = "acc" + std::to_string(m);
    code.open("for (int e = tid; e < " + std::to_string(owned * heads) +
              "; e += blockDim.x)");
    code.line("const int q = e / " + std::to_string(heads) + ";");
    Env elem = env;
    std::string rest = "(e % " + std::to_string(heads) + ")";
    for (unsigned h : llvm::reverse(s->heads)) {
      std::string var = fresh("h");
      code.line("const long long " + var + " = " + rest + " % " +
                sizeExpr(h) + ";");
      rest = "(" + rest + " / " + sizeExpr(h) + ")";
      elem[h] = var;
    }
    code.open(std::string("if (q < ") + (atomic ? "nR" : "nO") + ")");
    code.line("float a = " + std::string(atomic ? "0.0f" : accName + "[e]") +
              ";");
    code.open(std::string("for (int u = 0; u < ") + (atomic ? "nO" : "nR") +
              "; ++u)");
    elem[lead.tiledOut] = atomic ? "(o0 + u)" : "(o0 + q)";
    elem[lead.tiledReduced] = atomic ? "(r0 + q)" : "(r0 + u)";
    pushScope();
    for (auto [t, v] : llvm::enumerate(tileValues))
      memo.back()[v] = "sh" + std::to_string(t) + "[" +
                       (atomic ? "u * " + std::to_string(br) + " + q"
                               : "q * " + std::to_string(br) + " + u") +
                       "]";
    SmallVector<std::string> in;
    for (Value v : s->op->getOperands()) {
      auto x = eval(v, elem);
      if (failed(x))
        return failure();
      in.push_back(*x);
    }
    code.line(foldInto(s->op, "a", in));
    popScope();
    code.close();
    if (atomic) {
      Value r = s->op->getResult(0);
      unsigned slot = stored[r];
      pushScope();
      auto off = offsetOf(slot, r, elem, s->op->getLoc());
      popScope();
      if (failed(off))
        return failure();
      code.line("atomic_add_global(static_cast<float *>(p.t[" +
                std::to_string(slot) + "].data), " + *off + ", p.t[" +
                std::to_string(slot) + "].extent, a);");
    } else {
      code.line(accName + "[e] = a;");
    }
    code.close();
    code.close();
  }
  code.close(); // r0
  for (size_t l = 0; l < lead.loopReduced.size(); ++l)
    code.close();
  code.line("__syncthreads();");
  // Owned results to their workspaces.
  for (auto [m, s] : llvm::enumerate(all)) {
    if (s->atomic)
      continue;
    int64_t heads = headCount(*s);
    code.open("for (int e = tid; e < " + std::to_string(bo * heads) +
              "; e += blockDim.x)");
    code.line("const int q = e / " + std::to_string(heads) + ";");
    code.open("if (q < nO)");
    Env elem = env;
    std::string rest = "(e % " + std::to_string(heads) + ")";
    for (unsigned h : llvm::reverse(s->heads)) {
      std::string var = fresh("h");
      code.line("const long long " + var + " = " + rest + " % " +
                sizeExpr(h) + ";");
      rest = "(" + rest + " / " + sizeExpr(h) + ")";
      elem[h] = var;
    }
    elem[lead.tiledOut] = "(o0 + q)";
    Value r = s->op->getResult(0);
    unsigned slot = stored[r];
    auto off = offsetOf(slot, r, elem, s->op->getLoc());
    if (failed(off))
      return failure();
    code.line("st_global(static_cast<float *>(p.t[" + std::to_string(slot) +
              "].data), " + *off + ", p.t[" + std::to_string(slot) +
              "].extent, acc" + std::to_string(m) + "[e]);");
    code.close();
    code.close();
  }
  code.close();
  code.line("ATTN_KERNEL_ENTRY(" + k.name + ")");
  out.kernels.push_back(k);
  staged.clear();
  return success();
}

LogicalResult Emitter::emitScatterKernel(ScatterAddOp op) {
  Equation eq = op.getEquation().getValue();
  std::map<char, unsigned> letters = lettersOf(op);
  SmallVector<unsigned> domain;
  for (char c : eq.output)
    domain.push_back(letters.at(c));
  unsigned target = stored[op.getResult()];
  BackwardKernel k;
  k.role = BackwardKernelRole::Pointwise;
  k.name = "attn_" + fn.getName().str() + "_k" +
           std::to_string(out.kernels.size()) + "_scatter";
  k.productClasses.assign(domain.begin(), domain.end());
  k.productDivisor = options.threads;
  k.threads = options.threads;
  k.summary = "gradient of a captured table: " + valueName(op.getResult());
  unsigned partials = 0;
  if (options.deterministic) {
    partials = addWorkspace(Value(), "per-CTA partials of " +
                                         valueName(op.getResult()));
    out.tensors[partials].dims.push_back(
        {-1, static_cast<int>(out.kernels.size())});
    for (int64_t d = 0; d < op.getType().getRank(); ++d)
      out.tensors[partials].dims.push_back(
          {static_cast<int>(classOf(op.getResult(), d)), -1});
    k.dynamicSmemBytes = options.threads * 12;
  }
  std::string total = "1LL";
  for (unsigned c : domain)
    total += " * " + sizeExpr(c);
  code.line("");
  code.line("// " + k.summary);
  code.open(kernelHeader(k.name));
  code.line("const long long e = (long long)blockIdx.x * blockDim.x + "
            "threadIdx.x;");
  code.line("const bool valid = e < " + total + ";");
  std::string ts = std::to_string(target);
  if (options.deterministic) {
    code.line("ATTN_DYNAMIC_SHARED(long long, pos);");
    code.line("float *const val = reinterpret_cast<float *>(pos + "
              "blockDim.x);");
    code.line("pos[threadIdx.x] = -1;");
  }
  code.open("if (valid)");
  Env env;
  decodeDomain(domain, "e", env);
  pushScope();
  SmallVector<std::string> yields;
  if (failed(evalMapLike(op, env, &yields)))
    return failure();
  popScope();
  std::string off = "0LL", ok = "true";
  for (int64_t d = 0; d < op.getType().getRank(); ++d) {
    off += " + " + yields[d] + " * p.t[" + ts + "].stride[" +
           std::to_string(d) + "]";
    ok += " && " + yields[d] + " >= 0 && " + yields[d] + " < p.t[" + ts +
          "].size[" + std::to_string(d) + "]";
  }
  std::string value = yields.back();
  // A position outside the table is an error: reported by the emulator's
  // bounds check (index -1), skipped on a GPU.
  code.line("const bool inTable = " + ok + ";");
  if (options.deterministic) {
    code.line("pos[threadIdx.x] = inTable ? " + off + " : -2;");
    code.line("val[threadIdx.x] = " + value + ";");
  } else {
    code.line("#if ATTN_DEVICE_CUDA");
    code.line("if (inTable)");
    code.line("#endif");
    code.line("atomic_add_global(static_cast<float *>(p.t[" + ts +
              "].data), inTable ? " + off + " : -1LL, p.t[" + ts +
              "].extent, " + value + ");");
  }
  code.close();
  if (options.deterministic) {
    // One thread adds the CTA's values in thread order into the CTA's own
    // partial table: no atomics, the same sums on every run.
    std::string ps = std::to_string(partials);
    code.line("__syncthreads();");
    code.open("if (threadIdx.x == 0)");
    code.line("float *const part = static_cast<float *>(p.t[" + ps + "].data);");
    code.line("const long long base = (long long)blockIdx.x * p.t[" + ts +
              "].extent;");
    code.open("for (int t = 0; t < (int)blockDim.x; ++t)");
    code.line("const long long at = pos[t];");
    code.line("if (at == -1) continue;");
    code.line("#if ATTN_DEVICE_CUDA");
    code.line("if (at < 0) continue;");
    code.line("#endif");
    code.line("const long long i = at < 0 ? -1LL : base + at;");
    code.line("st_global(part, i, p.t[" + ps + "].extent, ld_global(part, i, "
              "p.t[" + ps + "].extent) + val[t]);");
    code.close();
    code.close();
  }
  code.close();
  code.line("ATTN_KERNEL_ENTRY(" + k.name + ")");
  out.kernels.push_back(k);

  if (options.deterministic) {
    // The partials summed in CTA order.
    BackwardKernel sum;
    sum.role = BackwardKernelRole::SumPartials;
    sum.name = "attn_" + fn.getName().str() + "_k" +
               std::to_string(out.kernels.size()) + "_sum";
    for (int64_t d = 0; d < op.getType().getRank(); ++d)
      sum.productClasses.push_back(classOf(op.getResult(), d));
    sum.productDivisor = options.threads;
    sum.threads = options.threads;
    sum.summary = "sums the per-CTA partials of " + valueName(op.getResult());
    std::string ps = std::to_string(partials);
    code.line("");
    code.line("// " + sum.summary);
    code.open(kernelHeader(sum.name));
    code.line("const long long e = (long long)blockIdx.x * blockDim.x + "
              "threadIdx.x;");
    code.line("if (e >= p.t[" + ts + "].extent) return;");
    code.line("float s = 0.0f;");
    code.open("for (long long c = 0; c < p.t[" + ps + "].size[0]; ++c)");
    code.line("s += ld_global(static_cast<const float *>(p.t[" + ps +
              "].data), c * p.t[" + ts + "].extent + e, p.t[" + ps +
              "].extent);");
    code.close();
    code.line("st_global(static_cast<float *>(p.t[" + ts + "].data), e, p.t[" +
              ts + "].extent, s);");
    code.close();
    code.line("ATTN_KERNEL_ENTRY(" + sum.name + ")");
    out.kernels.push_back(sum);
  }
  return success();
}

LogicalResult Emitter::emitResultKernel(unsigned result, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<unsigned> domain;
  for (int64_t d = 0; d < type.getRank(); ++d)
    domain.push_back(classOf(value, d));
  unsigned slot = ~0u;
  for (auto [s, t] : llvm::enumerate(out.tensors))
    if (t.kind == BackwardTensor::Kind::Gradient && t.index == result)
      slot = s;
  BackwardKernel k;
  k.role = BackwardKernelRole::Pointwise;
  k.name = "attn_" + fn.getName().str() + "_k" +
           std::to_string(out.kernels.size()) + "_result" +
           std::to_string(result);
  k.productClasses.assign(domain.begin(), domain.end());
  k.productDivisor = options.threads;
  k.threads = options.threads;
  k.summary = "writes gradient " + std::to_string(result) + " (" +
              valueName(value) + ")";
  std::string total = "1LL";
  for (unsigned c : domain)
    total += " * " + sizeExpr(c);
  code.line("");
  code.line("// " + k.summary);
  code.open(kernelHeader(k.name));
  code.line("const long long e = (long long)blockIdx.x * blockDim.x + "
            "threadIdx.x;");
  code.line("if (e >= " + total + ") return;");
  Env env;
  decodeDomain(domain, "e", env);
  pushScope();
  auto x = eval(value, env);
  popScope();
  if (failed(x))
    return failure();
  auto off = offsetOf(slot, value, env, value.getLoc());
  if (failed(off))
    return failure();
  code.line("st_global(static_cast<float *>(p.t[" + std::to_string(slot) +
            "].data), " + *off + ", p.t[" + std::to_string(slot) +
            "].extent, " + *x + ");");
  code.close();
  code.line("ATTN_KERNEL_ENTRY(" + k.name + ")");
  out.kernels.push_back(k);
  return success();
}

FailureOr<BackwardKernels> Emitter::run() {
  out.function = fn.getName().str();
  out.deterministic = options.deterministic;
  if (!fn.getBody().hasOneBlock())
    return fn.emitError("backward kernels: expected one block");
  if (options.blockM < 1 || options.blockN < 1 || options.threads < 32 ||
      options.threads % 32)
    return fn.emitError("backward kernels: bad tile options");
  if (failed(unify()) || failed(buildClasses()))
    return failure();
  // Tensors: arguments, gradients (results), then workspaces.
  for (BlockArgument arg : fn.getArguments()) {
    if (isa<RankedTensorType>(arg.getType())) {
      if (cast<RankedTensorType>(arg.getType()).getRank() > kBackwardMaxRank)
        return fn.emitError("backward kernels: rank over ")
               << kBackwardMaxRank;
      argSlot[arg.getArgNumber()] = out.tensors.size();
      out.tensors.push_back({BackwardTensor::Kind::Argument,
                             arg.getArgNumber(),
                             "a" + std::to_string(arg.getArgNumber()),
                             {}});
    } else {
      scalarSlot[arg.getArgNumber()] = out.scalarArgs.size();
      out.scalarArgs.push_back(arg.getArgNumber());
    }
  }
  auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
  for (auto [r, v] : llvm::enumerate(ret.getOperands())) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t || !t.getElementType().isF32())
      return fn.emitError("backward kernels: result ")
             << r << " is not an f32 tensor";
    out.tensors.push_back({BackwardTensor::Kind::Gradient,
                           static_cast<unsigned>(r),
                           "g" + std::to_string(r), {}});
  }
  if (failed(findScoreClasses()) || failed(placeReductions()))
    return failure();
  for (BlockArgument arg : fn.getArguments()) {
    out.argClasses.emplace_back();
    if (auto t = dyn_cast<RankedTensorType>(arg.getType()))
      for (int64_t d = 0; d < t.getRank(); ++d)
        out.argClasses.back().push_back(classOf(arg, d));
  }
  for (Value v : ret.getOperands()) {
    out.resultClasses.emplace_back();
    for (int64_t d = 0; d < cast<RankedTensorType>(v.getType()).getRank(); ++d)
      out.resultClasses.back().push_back(classOf(v, d));
  }
  for (Sweep &s : sweeps)
    stored[s.op->getResult(0)] =
        addWorkspace(s.op->getResult(0), valueName(s.op->getResult(0)));
  fn.getBody().front().walk([&](ScatterAddOp op) {
    stored[op.getResult()] =
        addWorkspace(op.getResult(), valueName(op.getResult()));
  });

  // Kernels by level: sweeps (grouped by shape), then scatters; results
  // last.
  unsigned maxLevel = 0;
  for (auto &[op, l] : level)
    maxLevel = std::max(maxLevel, l);
  for (unsigned l = 1; l <= maxLevel; ++l) {
    // Group this level's sweeps by their loop structure.
    std::vector<SmallVector<Sweep *>> groups;
    for (Sweep &s : sweeps) {
      if (s.level != l)
        continue;
      auto same = [&](Sweep *g) {
        return g->overKeys == s.overKeys && g->tiledOut == s.tiledOut &&
               g->tiledReduced == s.tiledReduced &&
               g->loopReduced == s.loopReduced && g->outer == s.outer;
      };
      auto it = llvm::find_if(groups, [&](auto &g) { return same(g[0]); });
      if (it == groups.end())
        groups.push_back({&s});
      else
        it->push_back(&s);
    }
    // Default mode: a row sweep's reduction joins a column sweep of its
    // level that covers the same tiles (dQ with dK and dV) and accumulates
    // with atomics, saving its own sweep over every tile.
    std::vector<SmallVector<Sweep *>> atomics(groups.size());
    if (!options.deterministic)
      for (auto &g : groups) {
        if (!g[0]->overKeys)
          continue;
        SmallVector<Sweep *> kept;
        for (Sweep *s : g) {
          auto host = llvm::find_if(groups, [&](auto &c) {
            const Sweep &col = *c[0];
            return !col.overKeys && col.tiledOut == s->tiledReduced &&
                   col.tiledReduced == s->tiledOut &&
                   llvm::all_of(s->outer, [&](unsigned o) {
                     return llvm::is_contained(col.outer, o) ||
                            llvm::is_contained(col.loopReduced, o);
                   });
          });
          if (host == groups.end()) {
            kept.push_back(s);
            continue;
          }
          s->atomic = true;
          atomics[host - groups.begin()].push_back(s);
        }
        g = kept;
      }
    for (auto [g, group] : llvm::enumerate(groups))
      if (!group.empty() && failed(emitSweepKernel(group, atomics[g])))
        return failure();
    for (Operation &op : fn.getBody().front().without_terminator())
      if (auto scatter = dyn_cast<ScatterAddOp>(op))
        if (level.lookup(&op) == l && failed(emitScatterKernel(scatter)))
          return failure();
  }
  for (auto [r, v] : llvm::enumerate(ret.getOperands()))
    if (failed(emitResultKernel(r, v)))
      return failure();
  // The header last: kernels add workspaces (per-CTA partials) as they go.
  std::string kernelText = std::move(code.text);
  code.text.clear();
  code.line("// Generated by attn's backward emitter from @" + out.function +
            (options.deterministic ? " (deterministic mode)." : "."));
  code.line("#include \"attn/device/attn_device.h\"");
  code.line("#include \"attn/device/scalar.h\"");
  code.line("");
  code.line("using namespace attn::device;");
  code.line("namespace sc = attn::device::sc;");
  code.line("");
  code.line("/// One tensor: data, elements reachable, sizes, strides (in "
            "elements).");
  code.line("struct attn_bwd_tensor {");
  code.line("  void *data;");
  code.line("  long long extent;");
  code.line("  long long size[" + std::to_string(kBackwardMaxRank) + "];");
  code.line("  long long stride[" + std::to_string(kBackwardMaxRank) + "];");
  code.line("};");
  code.line("/// Every kernel's parameters: the tensors, then the scalar "
            "arguments.");
  code.line("struct attn_bwd_params {");
  code.line("  attn_bwd_tensor t[" + std::to_string(out.tensors.size()) +
            "];");
  code.line("  double s[" +
            std::to_string(std::max<size_t>(1, out.scalarArgs.size())) +
            "];");
  code.line("};");
  for (auto [s, t] : llvm::enumerate(out.tensors))
    code.line("// t[" + std::to_string(s) + "]: " + t.name);

  out.source = std::move(code.text) + kernelText;
  return std::move(out);
}

} // namespace

FailureOr<BackwardKernels>
attn::codegen::emitBackwardKernels(func::FuncOp backward,
                                   const BackwardEmitOptions &options) {
  return Emitter(backward, options).run();
}
