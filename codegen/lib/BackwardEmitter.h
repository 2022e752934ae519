//===- BackwardEmitter.h - the backward kernels' emitter, inside -*- C++ -*-===//
//
// The emitter of attn/Codegen/BackwardKernels.h, one class over three files:
// BackwardClasses.cpp (dimension classes, the placement of reductions in
// sweeps), BackwardEval.cpp (element-wise evaluation, shared-memory
// staging) and BackwardKernels.cpp (the kernels and their launch
// description).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CODEGEN_LIB_BACKWARDEMITTER_H
#define ATTN_CODEGEN_LIB_BACKWARDEMITTER_H

#include "attn/Codegen/BackwardKernels.h"
#include "attn/Dialect/AttnDialect.h"
#include "attn/Dialect/Equation.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace attn::codegen::backward {

using namespace mlir;


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
inline std::optional<std::string> storageType(Type t) {
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
  /// Prints one op of a map body (or of tile ranges): its C++ value into
  /// `local` (constants inline, others as a variable), reads of the
  /// captured tensors `tensorOf` maps block arguments to included.
  LogicalResult printScalarOp(Operation &op,
                              DenseMap<Value, std::string> &local,
                              const DenseMap<Value, Value> &tensorOf);
  /// Emits the read of `tensor` (an argument) at `indices` that `extract`
  /// makes; returns the variable holding it.
  FailureOr<std::string> readArgument(tensor::ExtractOp extract, Value tensor,
                                      ArrayRef<std::string> indices);
  FailureOr<std::string> offsetOf(unsigned slot, Value v, const Env &env,
                                  Location loc);
  /// The argument and workspace tensors `v` is computed from element by
  /// element.
  void collectLeaves(Value v, llvm::SetVector<Value> &leaves,
                     llvm::DenseSet<Value> &seen);
  /// Emits the copy of staged leaf `v` into shared memory (`count` rows of
  /// its tiled class from `base`).
  LogicalResult emitStaging(Value v, const Env &env, const std::string &count);
  /// Binds each of `heads` (static classes, row-major) to its index in
  /// `e % count`, the loop variable of a thread's elements.
  void bindHeads(ArrayRef<unsigned> heads, int64_t count, Env &env);
  /// Opens a point-wise kernel over `domain` (`e`: one element per thread)
  /// after its comment; returns the domain's element count.
  std::string openPointwiseKernel(const BackwardKernel &k,
                                  ArrayRef<unsigned> domain);
  void pushScope() { memo.emplace_back(); }
  void popScope() { memo.pop_back(); }

  // Kernels.
  unsigned addWorkspace(Value v, std::string what);
  std::string kernelHeader(const std::string &name);
  void decodeDomain(ArrayRef<unsigned> classes, const std::string &linear,
                    Env &env);
  LogicalResult emitSweepKernel(ArrayRef<Sweep *> group,
                                ArrayRef<Sweep *> atomics);

  // Tile skipping (BackwardSkip.cpp).
  /// A mask whose removed tiles a sweep leaves out, and a map applying it
  /// (the scores: its dimensions name the mask's batch, head, row, key).
  struct TileSkip {
    func::FuncOp mask;
    MapOp scores;
  };
  /// The mask of `all` (a sweep kernel's reductions, `lead` first) whose
  /// removed elements contribute the identity to every one of them, proven
  /// (attn/Passes/MaskedIdentity.h); else std::nullopt and `why`.
  std::optional<TileSkip> findTileSkip(ArrayRef<Sweep *> all,
                                       const Sweep &lead, std::string &why);
  /// The query head of `scores`' element in `env` (for GQA the composite
  /// class of (kv head, group member)), if bound.
  std::optional<std::string> headIndexOf(MapOp scores, const Env &env);
  /// The first op of the tile ranges `ranges` (over `scores`' captures)
  /// the emitter cannot print, if any.
  std::optional<std::string> unprintedOp(Block &ranges, MapOp scores);
  /// Opens the loop over the reduced class's tiles (`r0`, `br` at a time):
  /// every tile, or with `skip` only those of the ranges the mask admits
  /// for the CTA's block (sorted; overlaps visited once), several ranges
  /// through the 2 × kMaxKeyIntervals 64-bit values at float offset
  /// `rangesOffset` of the dynamic shared memory; `opened` receives the
  /// number of braces to close.
  LogicalResult openTileLoop(const std::optional<TileSkip> &skip,
                             const Sweep &lead, const Env &env, int64_t br,
                             int64_t rangesOffset, unsigned &opened);
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

/// The equation of an attn.map, contract, reduce or scatter_add.
Equation equationOf(Operation *op);
/// The tensors an op's equation indexes, with their terms (the result last
/// unless it is a scatter's, which is shaped like its table).
SmallVector<std::pair<Value, std::string>> termsOf(Operation *op);
/// The statement folding a contraction's or reduction's inputs `in` into
/// `acc`.
std::string foldInto(Operation *op, const std::string &acc,
                     ArrayRef<std::string> in);
/// The identity of a contraction's or reduction's fold.
std::string identityOf(Operation *op);

} // namespace attn::codegen::backward

#endif // ATTN_CODEGEN_LIB_BACKWARDEMITTER_H
