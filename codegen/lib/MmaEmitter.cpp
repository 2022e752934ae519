//===- MmaEmitter.cpp - the emitter's tensor-core path -----------------------===//
//
// The KernelEmitter members that differ on the tensor-core path. The CTA is
// blockM / 16 warps; warp w owns query rows [16w, 16w + 16) of the Q tile.
// Tiles keep the mma accumulator layout (attn/device/fragment.h): a tile over
// (row, X) is float[X / 8][4] per thread, a per-row tile float[2]. So the
// kernel IR's ops map one to one:
//  - attn.contract over one reduced letter, with one operand over (row, r)
//    and the other a K/V slice of the KV loop: mma.sync m16n8k16, the A
//    fragments read from global memory (hoisted out of the KV loop when the
//    operand is loop-invariant: the Q tile) or packed from a fragment tile
//    (P), the B fragments ldmatrix'ed from the staged K/V tile;
//  - attn.map: the scalar region per fragment element, with the element's
//    (row, column) as its indices: the fused score/mask epilogue on S;
//  - attn.reduce over the fragment columns: per-thread partials and a quad
//    all-reduce (the four lanes that share a row);
//  - the KV loop: K/V slices at the loop's induction variable are staged in
//    shared memory by the whole CTA, two stages, the next tile's cp.async
//    copies in flight while the current one is used.
// Elements outside the tile's valid rows or columns are computed as zeros and
// left out of reductions and stores, so ragged tails need no other care.
// Anything else is a located error; KernelPath::Auto then falls back to SIMT.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace attn;

namespace attn::codegen::detail {

static bool isGridLetter(StringRef gridLetters, char c) {
  return gridLetters.find(c) != StringRef::npos;
}

LogicalResult KernelEmitter::checkMmaTypes() {
  Type elem;
  for (unsigned a = 0; a < 3; ++a) {
    Type e = cast<ShapedType>(func.getArgument(a).getType()).getElementType();
    if (!e.isF16() && !e.isBF16())
      return func.emitError("CUDA emitter (tensor cores): ")
             << (a == 0 ? "q" : a == 1 ? "k" : "v") << " is " << e
             << "; the mma path takes f16 or bf16 (f32 runs on SIMT)";
    if (elem && e != elem)
      return func.emitError("CUDA emitter (tensor cores): q, k and v have "
                            "different element types");
    elem = e;
  }
  mmaElem = *memType(elem);
  if (blockM % 16 != 0 || blockM < 16 || blockM > kMmaMaxBlockM)
    return func.emitError("CUDA emitter (tensor cores): block-m = ")
           << blockM << "; the mma path needs a multiple of 16 from 16 to "
           << kMmaMaxBlockM << " (16 query rows per warp)";
  warps = blockM / 16;
  return success();
}

void KernelEmitter::emitMmaThreadIndices() {
  w.line("// Warp w owns query rows [16w, 16w + 16) of the Q tile; lane = "
         "4 * mG + mT.");
  w.line("const int mLane = threadIdx.x & 31;");
  w.line("const int mRow0 = 16 * (threadIdx.x >> 5);");
  w.line("const int mG = mLane >> 2, mT = mLane & 3;");
}

std::string KernelEmitter::viewBase(const View &v) const {
  std::string base = "0";
  for (auto [o, s] : llvm::zip(v.offsets, v.strides))
    if (o != "0")
      base = addExpr(base, mulExpr(o, s));
  return base;
}

std::string KernelEmitter::mmaGuard(const Tile &t, StringRef letters,
                                    const llvm::StringMap<std::string> &idx)
    const {
  std::string guard;
  auto add = [&](int d) {
    if (d < 0)
      return;
    std::string cond = idx.lookup(letters.substr(d, 1)) + " < " + t.sizes[d];
    guard = guard.empty() ? cond : guard + " && " + cond;
  };
  add(t.rowDim());
  add(t.colDim);
  return guard.empty() ? "true" : guard;
}

//===----------------------------------------------------------------------===//
// The KV loop: staging K/V in shared memory
//===----------------------------------------------------------------------===//

LogicalResult KernelEmitter::prepareMmaKvLoop(scf::ForOp loop,
                                              const std::string &lb,
                                              const std::string &bound,
                                              int64_t step,
                                              std::string &stageVar) {
  staged.clear();
  stagedBySource.clear();
  stagedSlices.clear();
  Value iv = loop.getInductionVar();
  SmallVector<ContractOp> contracts;
  loop.walk([&](ContractOp c) { contracts.push_back(c); });
  SmallVector<std::pair<Value, std::string>> hoist; // (A operand, its term)
  for (ContractOp c : contracts) {
    std::optional<Equation> eq = c.getEquation().getValue();
    for (auto [input, inputTerm] : llvm::zip(c.getInputs(), eq->inputs)) {
      Value v = input;
      const std::string &term = inputTerm;
      if (auto slice = v.getDefiningOp<tensor::ExtractSliceOp>();
          slice && views.count(slice.getSource())) {
        Value src = slice.getSource();
        int kvDim = -1;
        for (auto [d, r] : llvm::enumerate(slice.getMixedOffsets()))
          if (auto value = dyn_cast<Value>(r); value && value == iv)
            kvDim = static_cast<int>(d);
        if (kvDim < 0 || stagedBySource.count(src))
          continue;
        StagedOperand s;
        s.kvDim = kvDim;
        s.iv = iv;
        for (auto [d, size] : llvm::enumerate(slice.getStaticSizes())) {
          if (static_cast<int>(d) == kvDim || size == 1)
            continue;
          if (ShapedType::isDynamic(size) || s.featDim >= 0)
            return slice.emitError("CUDA emitter (tensor cores): a K/V "
                                   "slice needs exactly one static feature "
                                   "dimension besides the KV dimension");
          s.featDim = static_cast<int>(d);
          s.cols = size;
        }
        if (s.featDim < 0 || s.cols % 8 != 0)
          return slice.emitError("CUDA emitter (tensor cores): the K/V "
                                 "feature dimension (")
                 << s.cols << ") must be a multiple of 8";
        if (*memType(slice.getType().getElementType()) != mmaElem)
          return slice.emitError("CUDA emitter (tensor cores): the staged "
                                 "operand is not ")
                 << mmaElem;
        s.rows = step;
        s.pitch = s.cols + 8; // attn::device::kSmemPad
        stagedBySource[src] = staged.size();
        staged.push_back(s);
        continue;
      }
      if (views.count(v) && term.find(rowLetter) != std::string::npos &&
          !aFragments.count(v) &&
          llvm::none_of(hoist, [&](auto &h) { return h.first == v; }))
        hoist.push_back({v, term});
    }
  }

  // A operands that do not change along the KV loop (the Q tile): read once
  // into registers.
  for (auto [v, term] : hoist) {
    const View &view = views[v];
    auto type = cast<RankedTensorType>(v.getType());
    // The reduced letter: the one non-grid letter besides the row.
    int rowDim = static_cast<int>(term.find(rowLetter)), rDim = -1;
    for (auto [d, c] : llvm::enumerate(term))
      if (static_cast<int>(d) != rowDim && !isGridLetter(gridLetters, c))
        rDim = rDim < 0 ? static_cast<int>(d) : -2;
    if (rDim < 0 || type.isDynamicDim(rDim) || type.getDimSize(rDim) % 16 != 0)
      continue; // not an mma A operand; the contract reports why
    if (view.elemType != mmaElem)
      continue;
    int64_t steps = type.getDimSize(rDim) / 16;
    std::string frag = fresh("qf");
    w.line("// A fragments of the loop-invariant operand, read once.");
    w.linef("uint32_t {}[{}][4];", frag, steps);
    w.line("#pragma unroll");
    w.openf("for (int kk = 0; kk < {}; ++kk)", steps);
    w.linef("load_a_fragment<{}>({}[kk], {}, {}, {}, {}, {}, {}, {}, mRow0, "
            "16 * kk, mLane);",
            mmaElem, frag, view.ptr, view.extent, viewBase(view),
            view.strides[rowDim], view.strides[rDim], view.sizes[rowDim],
            view.sizes[rDim]);
    w.close();
    aFragments[v] = frag;
  }
  if (staged.empty())
    return success();

  w.line("// K/V tiles of this loop, staged in shared memory: two stages, the");
  w.line("// next tile's cp.async copies in flight while this one is used.");
  w.line("__syncthreads(); // an earlier loop may still read the buffers");
  int64_t offset = 0;
  // Deterministic order: by position in `staged`.
  SmallVector<Value> sources(staged.size());
  for (auto [src, index] : stagedBySource)
    sources[index] = src;
  for (auto [n, s] : llvm::enumerate(staged)) {
    const View &view = views[sources[n]];
    s.smem = fresh("sKV");
    s.ptr = view.ptr;
    s.extent = view.extent;
    w.linef("{0} *const {1} = reinterpret_cast<{0} *>(attnSmem + {2});",
            mmaElem, s.smem, offset);
    w.linef("const long long {}Base = {};", s.smem, viewBase(view));
    w.linef("const long long {0}Rs = {1}, {0}Cs = {2};", s.smem,
            view.strides[s.kvDim], view.strides[s.featDim]);
    w.linef("const long long {}N = {};", s.smem, view.sizes[s.kvDim]);
    w.linef("const bool {0}Vec = can_stage_vectorized({1}, {0}Base, {0}Rs, "
            "{0}Cs);",
            s.smem, view.ptr);
    offset += 2 * s.rows * s.pitch * 2;
  }
  smemBytes = std::max(smemBytes, offset);
  stageVar = fresh("stage");
  w.linef("long long {} = 0;", stageVar);
  std::string first = fresh("firstClass");
  w.linef("bool {} = {} < {};", first, lb, bound);
  w.openf("if ({})", first);
  auto cls = emitTileClassAt(loop, lb);
  if (failed(cls))
    return failure();
  if (*cls)
    w.linef("{} = {} != 0; // not skipped", first, **cls);
  w.close();
  w.openf("if ({})", first);
  for (StagedOperand &s : staged)
    emitStageTile(s, s.smem, lb);
  w.close();
  w.line("cp_async_commit();");
  return success();
}

FailureOr<std::optional<std::string>>
KernelEmitter::emitTileClassAt(scf::ForOp loop, const std::string &kv) {
  Block *body = loop.getBody();
  TileClassOp op;
  for (Operation &inner : *body)
    if ((op = dyn_cast<TileClassOp>(inner)))
      break;
  if (!op)
    return std::optional<std::string>();
  // The body's ops the classification depends on, in order: they must be
  // scalar arithmetic (the tile's bounds from the induction variable).
  llvm::SetVector<Operation *> slice;
  SmallVector<Value> work(op->getOperands().begin(),
                          op->getOperands().end());
  while (!work.empty()) {
    Operation *def = work.pop_back_val().getDefiningOp();
    if (!def || def->getBlock() != body || slice.contains(def))
      continue;
    if (def->getNumRegions() || def->getNumResults() != 1 ||
        !def->getResult(0).getType().isIntOrIndex() ||
        !isa<arith::ArithDialect>(def->getDialect()))
      return std::optional<std::string>();
    slice.insert(def);
    work.append(def->getOperands().begin(), def->getOperands().end());
  }
  DenseMap<Value, std::string> saved = scalars;
  scalars[loop.getInductionVar()] = kv;
  for (Operation &inner : *body)
    if (slice.contains(&inner) && failed(emitScalarOp(inner)))
      return failure();
  if (failed(emitTileClass(op)))
    return failure();
  std::string cls = scalars[op.getResult()];
  scalars = std::move(saved);
  return std::optional<std::string>(cls);
}

LogicalResult KernelEmitter::emitMmaStageNext(scf::ForOp loop,
                                              const std::string &iv,
                                              const std::string &bound,
                                              int64_t step,
                                              const std::string &stageVar) {
  if (staged.empty())
    return success();
  std::string buf = fresh("buf");
  w.linef("const int {} = static_cast<int>({} & 1);", buf, stageVar);
  std::string next = "(" + iv + " + " + std::to_string(step) + ")";
  // A tile the classification skips is never read: do not load it. So a
  // loose key range (window + sinks) costs classification, not traffic.
  std::string nextClass = fresh("nextClass");
  w.linef("bool {} = {} < {};", nextClass, next, bound);
  w.openf("if ({})", nextClass);
  auto cls = emitTileClassAt(loop, next);
  if (failed(cls))
    return failure();
  if (*cls)
    w.linef("{} = {} != 0; // not skipped", nextClass, **cls);
  w.close();
  w.openf("if ({})", nextClass);
  for (StagedOperand &s : staged)
    emitStageTile(s, fmt::format("{} + ({} ^ 1) * {}", s.smem, buf,
                                 s.rows * s.pitch),
                  next);
  w.close();
  w.line("cp_async_commit();");
  if (options.debug == EmitDebug::EarlyWait)
    w.line("cp_async_wait<2>(); // deliberately broken: one group too few");
  else
    w.line("cp_async_wait<1>(); // this stage has landed (the next may not)");
  w.line("__syncthreads();");
  for (StagedOperand &s : staged)
    s.current = fmt::format("({} + {} * {})", s.smem, buf, s.rows * s.pitch);
  return success();
}

void KernelEmitter::emitStageTile(const StagedOperand &s,
                                  const std::string &dst,
                                  const std::string &kv) {
  w.linef("stage_tile<{0}, {1}, {2}, {3}>({4}, {5}, {6}, {7}Base + {8} * {7}Rs, "
          "{7}Rs, {7}Cs, {7}N - {8}, {7}Vec, threadIdx.x);",
          mmaElem, s.rows, s.cols, threads, dst, s.ptr, s.extent, s.smem, kv);
}

void KernelEmitter::finishMmaKvLoop() {
  if (!staged.empty())
    w.line("cp_async_wait<0>();");
  staged.clear();
  stagedBySource.clear();
  stagedSlices.clear();
  // The fragments were declared in this loop's scope; another KV loop
  // reads its own.
  aFragments.clear();
}

LogicalResult KernelEmitter::noteStagedSlice(tensor::ExtractSliceOp slice) {
  auto it = stagedBySource.find(slice.getSource());
  if (it == stagedBySource.end())
    return success();
  const StagedOperand &s = staged[it->second];
  OpFoldResult offset = slice.getMixedOffsets()[s.kvDim];
  if (auto v = dyn_cast<Value>(offset); v && v == s.iv)
    stagedSlices[slice.getResult()] = it->second;
  return success();
}

//===----------------------------------------------------------------------===//
// Tile ops
//===----------------------------------------------------------------------===//

LogicalResult KernelEmitter::emitMmaMap(MapOp op, Tile &t,
                                        const Equation &eq) {
  llvm::StringMap<std::string> idx;
  bindGridLetters(idx, eq.output);
  unsigned opened = openStorageLoops(t, eq.output, idx);
  std::string access = t.var + (t.colDim >= 0   ? curFragSub
                                : t.rowDim() >= 0 ? "[" + curRowSlot + "]"
                                                  : "");
  std::string guard = mmaGuard(t, eq.output, idx);
  SmallVector<std::string> indexArgs, inputArgs;
  for (char c : eq.output)
    indexArgs.push_back(idx[StringRef(&c, 1)]);
  ContractOp deferred;
  for (auto [v, term] : llvm::zip(op.getInputs(), eq.inputs)) {
    if (auto it = deferredContracts.find(v); it != deferredContracts.end()) {
      // x + 0 here; the contraction is added by the mma below.
      deferred = it->second;
      inputArgs.push_back("0.0f");
      continue;
    }
    auto e = elementAccess(op, v, term, idx);
    if (failed(e))
      return failure();
    inputArgs.push_back(*e);
  }
  // Out-of-range elements are zeros: they may read past the tile's views.
  w.openf("if ({})", guard);
  std::string result;
  if (failed(emitRegion(op.getBody().front(), indexArgs, inputArgs,
                        op.getCaptures(), result)))
    return failure();
  w.linef("{} = {};", access, result);
  w.elseBranch();
  w.linef("{} = 0.0f;", access);
  w.close();
  for (unsigned k = 0; k < opened; ++k)
    w.close();
  if (!deferred)
    return success();
  return emitMmaContract(deferred, t, deferred.getEquation().getValue(),
                         /*accumulate=*/true);
}

LogicalResult KernelEmitter::emitMmaReduce(ReduceOp op, Tile &t,
                                           const Equation &eq) {
  auto in = tiles.find(op.getInput());
  std::string reduced = eq.reducedLetters();
  if (in == tiles.end() || in->second.colDim < 0 || reduced.size() != 1 ||
      eq.inputs[0][in->second.colDim] != reduced[0] || t.colDim >= 0 ||
      t.rowDim() < 0)
    return op.emitError("CUDA emitter (tensor cores): only reductions of a "
                        "fragment tile over its column letter to per-row "
                        "values are supported");
  const Tile &src = in->second;
  bool isMax = op.getKind() == ReduceKind::Max;
  int64_t nTiles = src.caps[src.colDim] / 8;
  std::string rs = fresh("rs"), nt = fresh("nt"), c = fresh("c"),
              acc = fresh("acc");
  w.line("#pragma unroll");
  w.openf("for (int {0} = 0; {0} < 2; ++{0})", rs);
  w.linef("float {} = {};", acc, isMax ? "sc::f32_bits(0xff800000u)" : "0.0f");
  w.line("#pragma unroll");
  w.openf("for (int {0} = 0; {0} < {1}; ++{0})", nt, nTiles);
  w.line("#pragma unroll");
  w.openf("for (int {0} = 0; {0} < 2; ++{0})", c);
  std::string x = fmt::format("{}[{}][2 * {} + {}]", src.var, nt, rs, c);
  w.openf("if (8 * {} + 2 * mT + {} < {})", nt, c, src.sizes[src.colDim]);
  if (isMax)
    w.linef("{0} = sc::maximumf({0}, {1});", acc, x);
  else
    w.linef("{} += {};", acc, x);
  w.close();
  w.close();
  w.close();
  w.linef("{}[{}] = quad_allreduce_{}({});", t.var, rs, isMax ? "max" : "add",
          acc);
  w.close();
  return success();
}

MapOp KernelEmitter::accumulatingMap(ContractOp op) const {
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
  if (needsRangeScale(op) && !rangeScaledAccumulator(map, op))
    return {};
  return map;
}

LogicalResult KernelEmitter::emitMmaContract(ContractOp op, const Tile &t,
                                             const Equation &eq,
                                             bool accumulate) {
  auto fail = [&](const Twine &why) {
    return op.emitError("CUDA emitter (tensor cores): ") << why;
  };
  if (op.getCombine() != CombineKind::Mul || op.getReduce() != ReduceKind::Add)
    return fail("only mul/add contractions run on tensor cores");
  std::string reduced;
  for (char c : eq.reducedLetters())
    if (!isGridLetter(gridLetters, c))
      reduced += c;
  if (reduced.size() != 1 || eq.inputs.size() != 2 || t.colDim < 0)
    return fail("a contraction over one letter into a (row, column) tile");
  char r = reduced[0], x = eq.output[t.colDim];
  // A is the operand over the query rows, B the staged K/V slice.
  unsigned a = eq.inputs[0].find(rowLetter) != std::string::npos ? 0 : 1;
  Value aVal = op.getInputs()[a], bVal = op.getInputs()[1 - a];
  StringRef aTerm = eq.inputs[a], bTerm = eq.inputs[1 - a];
  if (bTerm.contains(rowLetter[0]) || !aTerm.contains(r) || !bTerm.contains(r) ||
      !bTerm.contains(x))
    return fail("operands must be (row, " + std::string(1, r) + ") and (" +
                std::string(1, r) + ", " + std::string(1, x) + ")");
  auto st = stagedSlices.find(bVal);
  if (st == stagedSlices.end())
    return fail("the second operand is not a K/V slice of the enclosing KV "
                "loop");
  const StagedOperand &s = staged[st->second];
  char kvLetter = bTerm[s.kvDim];
  bool nMajor = kvLetter == x; // K of Q.K^T: rows are the output columns
  if (!nMajor && kvLetter != r)
    return fail("the staged operand's KV letter is neither reduced nor kept");
  int64_t rSize = nMajor ? s.cols : s.rows, xSize = nMajor ? s.rows : s.cols;
  if (rSize % 16 != 0)
    return fail("the reduced dimension (" + Twine(rSize) +
                ") is not a multiple of 16");
  if (t.caps[t.colDim] != xSize)
    return fail("output tile columns do not match the staged operand");

  // The A fragment of k-step `kk`.
  std::string aFrag;
  auto aTile = tiles.find(aVal);
  if (auto h = aFragments.find(aVal); h != aFragments.end()) {
    aFrag = h->second + "[kk]";
  } else if (aTile != tiles.end()) {
    const Tile &p = aTile->second;
    if (p.colDim < 0 || aTerm[p.colDim] != r || p.caps[p.colDim] != rSize)
      return fail("the row operand's fragment columns are not the reduced "
                  "letter");
  } else if (!views.count(aVal)) {
    return fail("the row operand is neither a tile nor a global tensor");
  }

  std::pair<std::string, std::string> ranged;
  if (aTile != tiles.end() && needsRangeScale(op))
    ranged = emitRangeScaleUpdate(op, aTile->second, t, accumulate);
  if (accumulate) {
    w.linef("// {} += the contraction (the map's x + c, on the mma's C "
            "operand).",
            t.var);
  } else {
    w.line("#pragma unroll");
    w.openf("for (int nt = 0; nt < {}; ++nt)", xSize / 8);
    w.line("#pragma unroll");
    w.open("for (int e = 0; e < 4; ++e)");
    w.linef("{}[nt][e] = 0.0f;", t.var);
    w.close();
    w.close();
  }
  w.line("#pragma unroll");
  w.openf("for (int kk = 0; kk < {}; ++kk)", rSize / 16);
  if (aFrag.empty()) {
    aFrag = "a";
    w.line("uint32_t a[4];");
    if (aTile != tiles.end() && !ranged.first.empty()) {
      const Tile &p = aTile->second;
      w.linef("a_fragment_from_scaled_tile<{}, {}>(a, {}, kk, {}, {}, mLane);",
              mmaElem, p.caps[p.colDim] / 8, p.var, p.sizes[p.colDim],
              ranged.first);
    } else if (aTile != tiles.end()) {
      const Tile &p = aTile->second;
      w.linef("a_fragment_from_tile<{}, {}>(a, {}, kk, {}, mLane);", mmaElem,
              p.caps[p.colDim] / 8, p.var, p.sizes[p.colDim]);
    } else {
      const View &view = views[aVal];
      int rowDim = aTerm.find(rowLetter[0]), rDim = aTerm.find(r);
      w.linef("load_a_fragment<{}>(a, {}, {}, {}, {}, {}, {}, {}, mRow0, "
              "16 * kk, mLane);",
              mmaElem, view.ptr, view.extent, viewBase(view),
              view.strides[rowDim], view.strides[rDim], view.sizes[rowDim],
              view.sizes[rDim]);
    }
  }
  std::string n0 = "8 * nt";
  if (nMajor && options.debug == EmitDebug::FragmentIndex)
    n0 = fmt::format("8 * ((nt + 1) % {})", xSize / 8); // deliberately broken
  w.line("#pragma unroll");
  w.openf("for (int nt = 0; nt < {}; ++nt)", xSize / 8);
  w.line("uint32_t b[2];");
  // Deliberately broken: V read like K, without the transposing ldmatrix.
  bool asNMajor =
      nMajor || options.debug == EmitDebug::VUntransposed;
  w.linef("b_fragment_{}_major<{}>(b, {}, {}, 16 * kk, mLane);",
          asNMajor ? "n" : "k", s.pitch, s.current, n0);
  w.linef("mma_m16n8k16<{0}>({1}[nt], {2}, b, {1}[nt]);", mmaElem, t.var,
          aFrag);
  w.close();
  w.close();
  if (!ranged.first.empty() && !accumulate)
    w.linef("unscale_fragment_rows({}, {});", t.var, ranged.second);
  return success();
}

LogicalResult KernelEmitter::emitMmaInsertSlice(tensor::InsertSliceOp op,
                                                const View &view,
                                                const Tile &tile) {
  SmallVector<int> sourceDim = insertedDims(op);
  // Stand-in letters: the storage loops bind indices by letter.
  std::string letters(tile.roles.size(), '_');
  if (tile.rowDim() >= 0)
    letters[tile.rowDim()] = 'R';
  if (tile.colDim >= 0)
    letters[tile.colDim] = 'C';
  llvm::StringMap<std::string> idx;
  unsigned opened = openStorageLoops(tile, letters, idx);
  std::string guard = mmaGuard(tile, letters, idx);
  // Per-row values are replicated over a quad: one lane stores.
  if (tile.colDim < 0 && tile.rowDim() >= 0)
    guard += " && mT == 0";
  std::string offset = "0";
  for (auto [d, r] : llvm::enumerate(op.getMixedOffsets())) {
    auto o = ofr(op, r);
    if (failed(o))
      return failure();
    int from = sourceDim[d];
    std::string local =
        from < 0 || letters[from] == '_' ? "0" : idx[letters.substr(from, 1)];
    offset = addExpr(offset, mulExpr(addExpr(view.offsets[d],
                                             addExpr(*o, local)),
                                     view.strides[d]));
  }
  std::string access = tile.var + (tile.colDim >= 0   ? curFragSub
                                   : tile.rowDim() >= 0 ? "[" + curRowSlot + "]"
                                                        : "");
  std::string value = view.elemType == "float"
                          ? access
                          : "from_float<" + view.elemType + ">(" + access + ")";
  w.openf("if ({})", guard);
  w.linef("st_global({}, {}, {}, {});", view.ptr, offset, view.extent, value);
  w.close();
  for (unsigned k = 0; k < opened; ++k)
    w.close();
  View result = view; // a copy: the insertion may move `view`
  views[op.getResult()] = std::move(result);
  return success();
}

} // namespace attn::codegen::detail
