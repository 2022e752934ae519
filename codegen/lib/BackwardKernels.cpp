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

#include "BackwardEmitter.h"

#include "attn/Passes/KeyRange.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace attn;
using namespace attn::codegen;
using namespace attn::codegen::backward;

namespace attn::codegen::backward {

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

std::string Emitter::openPointwiseKernel(const BackwardKernel &k,
                                         ArrayRef<unsigned> domain) {
  std::string total = "1LL";
  for (unsigned c : domain)
    total += " * " + sizeExpr(c);
  code.line("");
  code.line("// " + k.summary);
  code.open(kernelHeader(k.name));
  code.line("const long long e = (long long)blockIdx.x * blockDim.x + "
            "threadIdx.x;");
  return total;
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
  BackwardKernel k;
  k.role = rows ? BackwardKernelRole::RowSweep : BackwardKernelRole::ColumnSweep;
  k.name = "attn_" + fn.getName().str() + "_k" +
           std::to_string(out.kernels.size()) +
           (rows ? "_rows" : "_columns");
  k.productClasses.assign(lead.outer.begin(), lead.outer.end());
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
  // Tiles a mask removes are left out where that provably changes nothing.
  std::string noSkip;
  std::optional<TileSkip> skip = findTileSkip(all, lead, noSkip);
  if (skip)
    k.summary += "; visits only the tiles mask @" +
                 skip->mask.getName().str() + " admits";

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
  // Leaves read per row of a tiled class (Q, dO, K, V, the forward state,
  // earlier sweeps' row values) go through shared memory: a block of rows
  // with their whole head dimensions, copied once per CTA (rows of the
  // CTA's own class) or per tile, so each is read from global memory once
  // per (row block, key block) pair, not once per score element. The CTA's
  // block is options.block rows or keys, halved (not below options.tile)
  // while a leaf would not fit beside the others: a sweep reads the other
  // class's rows (K and V, or Q and dO, and adds dQ) once per (block, tile)
  // pair, so wider blocks read less; an unstaged leaf would be read once
  // per score element.
  int64_t block = options.block, bo = 0, br = options.tile, floats = 0;
  SmallVector<int64_t> accOffset;
  for (bool fitted = false; !fitted;) {
    bo = block;
    floats = static_cast<int64_t>(tileValues.size()) * bo * br;
    accOffset.clear();
    for (Sweep *s : all) {
      accOffset.push_back(floats);
      if (!s->atomic)
        floats += bo * headCount(*s);
    }
    staged.clear();
    // The last try keeps what fits and reads the rest from global memory.
    bool lastTry = block <= options.tile || block % 2, overBudget = false;
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
      // Staging stops where the CTA would need more than 96 KB (what every
      // arch from sm_80 gives one CTA, sm_86 and sm_89 included).
      constexpr int64_t kMaxStagedFloats = 96 * 1024 / 4;
      int64_t stagedFloats = floats;
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
        if (stagedFloats + st.rows * st.headCount > kMaxStagedFloats) {
          overBudget = true;
          continue;
        }
        st.base = st.tiled == lead.tiledOut ? "o0" : "r0";
        stagedFloats += st.rows * st.headCount;
        staged[leaf] = st;
      }
      if ((overBudget || stagedFloats > kMaxStagedFloats) && !lastTry) {
        block /= 2;
        continue;
      }
      fitted = true;
      int64_t offset = floats;
      for (auto &[leaf, st] : staged) {
        st.array = "(smem + " + std::to_string(offset) + ")";
        offset += st.rows * st.headCount;
      }
      floats = offset;
    }
  }
  k.blockedClasses.push_back({lead.tiledOut, bo});
  // The tile ranges of a mask with several bands (64-bit, aligned).
  int64_t rangesOffset = (floats + 1) / 2 * 2;
  if (skip)
    floats = rangesOffset + 4 * kMaxKeyIntervals;
  k.dynamicSmemBytes = floats * 4;
  // The tiles and accumulators alone: more than an H100 gives a CTA (227
  // KB) cannot launch anywhere.
  constexpr int64_t kMaxSmemBytes = 227 * 1024;
  if (k.dynamicSmemBytes > kMaxSmemBytes)
    return lead.op->emitError("backward kernels: the sweep computing ")
           << valueName(lead.op->getResult(0)) << " needs "
           << k.dynamicSmemBytes / 1024
           << " KB of shared memory per CTA, over the 227 KB of any GPU "
              "(head dimensions too large for its smallest block)";

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
  if (!skip)
    code.line("// Every tile: " + noSkip + ".");
  unsigned tileLoops = 0;
  if (failed(openTileLoop(skip, lead, env, br, rangesOffset, tileLoops)))
    return failure();
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
    bindHeads(s->heads, heads, elem);
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
  for (unsigned l = 0; l < tileLoops; ++l)
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
    bindHeads(s->heads, heads, elem);
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
  std::string total = openPointwiseKernel(k, domain);
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
  std::string total = openPointwiseKernel(k, domain);
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
  if (options.block < 1 || options.tile < 1 || options.threads < 32 ||
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

} // namespace attn::codegen::backward

FailureOr<BackwardKernels>
attn::codegen::emitBackwardKernels(func::FuncOp backward,
                                   const BackwardEmitOptions &options) {
  return Emitter(backward, options).run();
}
