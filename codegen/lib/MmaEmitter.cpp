//===- MmaEmitter.cpp - the emitter's tensor-core path -----------------------===//
//
// The KernelEmitter members that differ on the tensor-core path. The schedule
// (#attn.schedule, decided by -attn-schedule) gives the CTA `warps` warps of
// `rowsPerWarp` query rows each: mTiles = rowsPerWarp / 16 mma row tiles per
// warp, warp w owning rows [rowsPerWarp * w, rowsPerWarp * (w + 1)). Tiles
// keep the mma accumulator layout (attn/device/fragment.h): a tile over
// (row, X) is float[mTiles][X / 8][4] per thread, a per-row tile
// float[mTiles][2]. So the kernel IR's ops map one to one:
//  - attn.contract over one reduced letter, with one operand over (row, r)
//    and the other a staged K/V tile (attn.read_stage): mma.sync m16n8k16,
//    the A fragments from registers (attn.load_fragments), ldmatrix'ed from
//    a staged Q tile, from global memory or packed from a fragment tile (P),
//    the B fragments ldmatrix'ed
//    from the stage once per k-step and n-tile and shared by the warp's
//    m-tiles;
//  - attn.map: the scalar region per fragment element, with the element's
//    (row, column) as its indices: the fused score/mask epilogue on S;
//  - attn.reduce over the fragment columns: per-thread partials and a quad
//    all-reduce (the four lanes that share a row);
//  - the schedule's ops (shared buffers, async copies, commits, waits,
//    barriers): one call or line each, as -attn-stage-kv placed them.
// Elements outside the tile's valid rows or columns (the padding of a ragged
// tile) are left out of every op that mixes elements: reductions and the P
// operand of a contraction skip padded columns, stores skip padded rows, and
// rows never mix. So a map computes its padding unguarded — finite garbage
// from zero-filled K/V and Q rows, never read — unless its region touches
// memory or could trap on an out-of-range index (mapNeedsGuard); then the
// padding is computed as zeros.
// The printer decides nothing about the schedule; what it cannot print is a
// located error.
//
//===----------------------------------------------------------------------===//

#include "Contractions.h"
#include "KernelEmitter.h"
#include "attn/Codegen/Schedule.h"
#include "attn/Dialect/KernelAttrs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace attn;

namespace attn::codegen::detail {

static bool isGridLetter(StringRef gridLetters, char c) {
  return gridLetters.find(c) != StringRef::npos;
}

LogicalResult KernelEmitter::readSchedule() {
  ScheduleAttr schedule =
      gridLoops.empty() ? ScheduleAttr() : getSchedule(gridLoops.front());
  if (!mma) {
    kvUnroll = schedule ? schedule.getUnroll() : 1;
    return success();
  }
  if (!schedule || schedule.getPath() != KernelPath::Mma)
    return func.emitError("CUDA emitter (tensor cores): the kernel has no "
                          "tensor-core schedule (run attn-schedule)");
  warps = schedule.getWarps();
  rowsPerWarp = schedule.getRowsPerWarp();
  kvUnroll = schedule.getUnroll();
  colGroups = schedule.getColGroups();
  if (warps * rowsPerWarp != blockM * colGroups || rowsPerWarp % 16 != 0)
    return gridLoops.front().emitError("CUDA emitter (tensor cores): ")
           << warps << " warps x " << rowsPerWarp
           << " rows do not cover the Q tile of " << blockM << " rows "
           << colGroups << " time" << (colGroups == 1 ? "" : "s")
           << " in whole 16-row mma tiles";
  if (rowsPerWarp > 64)
    return gridLoops.front().emitError("CUDA emitter (tensor cores): ")
           << rowsPerWarp
           << " rows per warp: at most 64 (four 16-row mma tiles) fit a "
              "warp's registers";
  mTiles = rowsPerWarp / 16;
  wgmma = schedule.getWgmma();
  pingpong = schedule.getPingpong();
  if (wgmma && (mTiles != 1 || colGroups != 1 || warps % 4 != 0))
    return gridLoops.front().emitError("CUDA emitter (tensor cores): a wgmma "
                                       "schedule needs whole warpgroups of "
                                       "16-row warps");
  return success();
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
           << kMmaMaxBlockM << " (16-row mma tiles)";
  // The KV tile is checked before anything is lowered: a tile too wide for
  // the mma layout is the reason, not the shared memory its stages need.
  WalkResult kvTile = func.walk([&](scf::ForOp loop) {
    if (!isKvLoop(loop))
      return WalkResult::advance();
    std::optional<int64_t> step = getConstantIntValue(loop.getStep());
    if (!step) {
      loop.emitError("CUDA emitter (tensor cores): the KV loop needs a "
                     "constant step");
      return WalkResult::interrupt();
    }
    if (*step % 16 != 0 || *step < 16 || *step > kMmaMaxBlockN) {
      loop.emitError("CUDA emitter (tensor cores): block-n (the KV tile, "
                     "attn-online tile-n) is ")
          << *step << " keys; the mma path takes a multiple of 16 from 16 to "
          << kMmaMaxBlockN;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return failure(kvTile.wasInterrupted());
}

void KernelEmitter::emitMmaThreadIndices() {
  if (colGroups == 1) {
    w.linef("// Warp w owns query rows [{0}w, {0}w + {0}) of the Q tile ({1} "
            "mma row tile{2}); lane = 4 * mG + mT.",
            rowsPerWarp, mTiles, mTiles == 1 ? "" : "s");
    w.line("const int mLane = threadIdx.x & 31;");
    w.linef("const int mRow0 = {} * (threadIdx.x >> 5);", rowsPerWarp);
  } else {
    w.linef("// Warps w = {0}r + c share query rows [{1}r, {1}r + {1}) of the "
            "Q tile ({2} mma row tile{3}); warp c of the {0} takes slice c "
            "of the V columns and of S's key columns; lane = 4 * mG + mT.",
            colGroups, rowsPerWarp, mTiles, mTiles == 1 ? "" : "s");
    w.line("const int mLane = threadIdx.x & 31;");
    w.linef("const int mRow0 = {} * ((threadIdx.x >> 5) / {});", rowsPerWarp,
            colGroups);
    w.linef("const int mColGroup = (threadIdx.x >> 5) % {};", colGroups);
  }
  w.line("const int mG = mLane >> 2, mT = mLane & 3;");
  if (pingpong) {
    w.line("// Ping-pong (FlashAttention-3): the two warpgroups take turns on "
           "the tensor cores, so one's softmax overlaps the other's GEMMs: "
           "warpgroup g issues after named barrier 1 + g, then hands the "
           "turn over; warpgroup 0 goes first.");
    w.line("const int mWarpgroup = threadIdx.x >> 7;");
    w.line("if (mWarpgroup == 1) named_barrier_arrive(1, 256);");
  }
}

LogicalResult KernelEmitter::collectSplitTiles() {
  if (colGroups == 1)
    return success();
  // The letter a term holds as fragment columns: neither the row nor a
  // grid letter (0: none, or more than one).
  auto columnLetter = [&](StringRef term) -> char {
    char col = 0;
    for (char c : term) {
      if (c == rowLetter[0] || isGridLetter(gridLetters, c))
        continue;
      if (col)
        return 0;
      col = c;
    }
    return col;
  };
  // Tile values whose fragment columns are the same columns: one storage
  // layout, so all or none of them are split.
  DenseMap<Value, SmallVector<Value>> sameColumns;
  auto link = [&](Value a, Value b) {
    if (!isa<RankedTensorType>(a.getType()) ||
        !isa<RankedTensorType>(b.getType()))
      return;
    sameColumns[a].push_back(b);
    sameColumns[b].push_back(a);
  };
  SmallVector<Value> seeds;
  func.walk([&](Operation *op) {
    if (auto map = dyn_cast<MapOp>(op)) {
      Equation eq = map.getEquation().getValue();
      if (char c = columnLetter(eq.output))
        for (auto [in, term] : llvm::zip(map.getInputs(), eq.inputs))
          if (StringRef(term).contains(c))
            link(map.getResult(), in);
    } else if (auto reduce = dyn_cast<ReduceOp>(op)) {
      Equation eq = reduce.getEquation().getValue();
      if (char c = columnLetter(eq.output))
        if (StringRef(eq.inputs[0]).contains(c))
          link(reduce.getResult(), reduce.getInput());
    } else if (auto contract = dyn_cast<ContractOp>(op)) {
      // The accumulator of a contraction that keeps its K/V operand's
      // columns (O of P·V) is what the row group splits.
      if (keepsOperandColumns(contract.getEquation().getValue(),
                              rowLetter[0]))
        seeds.push_back(contract.getResult());
    } else if (auto loop = dyn_cast<scf::ForOp>(op)) {
      for (auto [init, arg, res, yielded] :
           llvm::zip(loop.getInitArgs(), loop.getRegionIterArgs(),
                     loop.getResults(), loop.getYieldedValues())) {
        link(init, arg);
        link(arg, res);
        link(arg, yielded);
      }
    } else if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
      for (auto [k, res] : llvm::enumerate(ifOp.getResults())) {
        link(res, ifOp.thenYield().getOperand(k));
        if (!ifOp.getElseRegion().empty())
          link(res, ifOp.elseYield().getOperand(k));
      }
    } else if (auto cast = dyn_cast<tensor::CastOp>(op)) {
      link(cast.getSource(), cast.getResult());
    }
  });
  SmallVector<Value> worklist(seeds);
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    if (splitTiles.insert(v).second)
      llvm::append_range(worklist, sameColumns.lookup(v));
  }
  // What sums over split columns needs the other warps' slices.
  WalkResult refused = func.walk([&](Operation *op) {
    bool reducesSplit = false;
    if (auto reduce = dyn_cast<ReduceOp>(op))
      reducesSplit = splitTiles.contains(reduce.getInput()) &&
                     !splitTiles.contains(reduce.getResult());
    else if (auto contract = dyn_cast<ContractOp>(op))
      reducesSplit = llvm::any_of(contract.getInputs(), [&](Value in) {
        return splitTiles.contains(in);
      });
    if (!reducesSplit)
      return WalkResult::advance();
    op->emitError("CUDA emitter (tensor cores): '")
        << op->getName() << "' reduces over the V columns, which "
        << colGroups << " warps share (col_groups): no warp holds them all";
    return WalkResult::interrupt();
  });
  return failure(refused.wasInterrupted());
}

std::string KernelEmitter::viewBase(const View &v) const {
  std::string base = "0";
  // A paged view's key rows are placed by the block table, row by row.
  for (auto [d, o, s] : llvm::enumerate(v.offsets, v.strides))
    if (o != "0" && static_cast<int>(d) != v.pagedDim)
      base = addExpr(base, mulExpr(o, s));
  return base;
}

bool KernelEmitter::fillsStorage(const Tile &t, int d) const {
  int64_t size;
  if (StringRef(t.sizes[d]).getAsInteger(10, size))
    return false;
  return size >= (d == t.rowDim() ? blockM : t.caps[d]);
}

/// A tile size as the bound of a per-element guard: in 32 bits. The
/// guarded index is a fragment element's place in the tile (an int), and a
/// tile's size is at most its storage (a block size; any size a launch
/// binds is at most abi::kMaxExtent = 2^30), so a 64-bit bound would only
/// widen every element's compare.
static std::string fragmentBound(const std::string &size) {
  int64_t literal;
  if (!StringRef(size).getAsInteger(10, literal))
    return size;
  bool name = llvm::all_of(
      size, [](char c) { return llvm::isAlnum(c) || c == '_' || c == '.'; });
  return name ? "(int)" + size : "(int)(" + size + ")";
}

std::string KernelEmitter::mmaGuard(const Tile &t, StringRef letters,
                                    const llvm::StringMap<std::string> &idx)
    const {
  std::string guard;
  auto add = [&](int d) {
    if (d < 0 || fillsStorage(t, d))
      return;
    std::string cond =
        idx.lookup(letters.substr(d, 1)) + " < " + fragmentBound(t.sizes[d]);
    guard = guard.empty() ? cond : guard + " && " + cond;
  };
  add(t.rowDim());
  add(t.colDim);
  return guard.empty() ? "true" : guard;
}

//===----------------------------------------------------------------------===//
// The schedule's ops
//===----------------------------------------------------------------------===//

/// The stage_tile template argument of a swizzled buffer ("" for a plain
/// one: the default).
static std::string swizzleArg(const SharedBuffer &b) {
  return b.swizzle ? ", " + std::to_string(b.swizzle) : std::string();
}

//===----------------------------------------------------------------------===//
// TMA copies (wgmma schedules)
//===----------------------------------------------------------------------===//

/// Whether `v` is `tensor.dim(of, dim)`.
static bool isDimOf(Value v, Value of, int64_t dim) {
  auto op = v.getDefiningOp<tensor::DimOp>();
  if (!op || op.getSource() != of)
    return false;
  std::optional<int64_t> index = getConstantIntValue(op.getIndex());
  return index && *index == dim;
}

/// The K/V argument (1 or 2) whose tensor map a TMA box of `boxRows` rows
/// at the copy's first row loads exactly what `copy` stages, or nullopt.
/// The copy must move rows [o, o + min(boxRows, N - o)) of the argument's
/// whole key range N and all its columns (zero rows after), which is a
/// box at row o of the map over the whole tensor (TMA zero-fills past N):
/// a slice of a [1, 1, N, D] slice of the argument, as -attn-stage-kv
/// stages keys (a split's too: its last tile reads on to N, as cp.async
/// does, and the mask drops those keys). Anything else stays on cp.async:
/// a box would read real rows where the copy zero-fills (0 · Inf in P · V
/// is NaN). Varlen and paged kernels are not asked (collectTmaCopies):
/// their tiles end at a sequence's or a page's end.
static std::optional<unsigned> tmaArgument(AsyncCopyOp copy, int64_t boxRows) {
  auto tile = copy.getSource().getDefiningOp<tensor::ExtractSliceOp>();
  if (!tile || tile.getType().getRank() != 4)
    return std::nullopt;
  auto keys = tile.getSource().getDefiningOp<tensor::ExtractSliceOp>();
  if (!keys)
    return std::nullopt;
  auto arg = dyn_cast<BlockArgument>(keys.getSource());
  if (!arg || !isa<func::FuncOp>(arg.getOwner()->getParentOp()) ||
      (arg.getArgNumber() != 1 && arg.getArgNumber() != 2))
    return std::nullopt;
  auto argType = cast<RankedTensorType>(arg.getType());
  int64_t cols = argType.getDimSize(3);
  if (ShapedType::isDynamic(cols))
    return std::nullopt;
  // Unit batch and head, all the columns: of both slices; every key: of
  // the outer one.
  for (auto slice : {tile, keys}) {
    SmallVector<OpFoldResult> sizes = slice.getMixedSizes();
    SmallVector<OpFoldResult> offsets = slice.getMixedOffsets();
    if (!isConstantIntValue(sizes[0], 1) || !isConstantIntValue(sizes[1], 1) ||
        !isConstantIntValue(sizes[3], cols) ||
        !isConstantIntValue(offsets[3], 0) ||
        !llvm::all_of(slice.getMixedStrides(),
                      [](OpFoldResult s) { return isConstantIntValue(s, 1); }))
      return std::nullopt;
  }
  SmallVector<OpFoldResult> keySizes = keys.getMixedSizes();
  if (!isConstantIntValue(keys.getMixedOffsets()[2], 0))
    return std::nullopt;
  auto keyCount = dyn_cast<Value>(keySizes[2]);
  if (!keyCount || !isDimOf(keyCount, arg, 2))
    return std::nullopt;
  // rows = min(boxRows, dim(keys, 2) - o), o the tile's first row.
  auto rows = dyn_cast<Value>(tile.getMixedSizes()[2]);
  Value first = dyn_cast<Value>(tile.getMixedOffsets()[2]);
  if (!rows || rows != copy.getRows() || !first)
    return std::nullopt;
  auto min = rows.getDefiningOp<arith::MinSIOp>();
  if (!min)
    return std::nullopt;
  Value rest = min.getLhs();
  if (isConstantIntValue(rest, boxRows))
    rest = min.getRhs();
  else if (!isConstantIntValue(min.getRhs(), boxRows))
    return std::nullopt;
  auto sub = rest.getDefiningOp<arith::SubIOp>();
  if (!sub || sub.getRhs() != first || !isDimOf(sub.getLhs(), keys, 2))
    return std::nullopt;
  return arg.getArgNumber();
}

void KernelEmitter::collectTmaCopies() {
  // Every kernel of the plan declares the maps (one parameter struct for
  // the plan); the tensor-core kernel uses them.
  ScheduleAttr schedule = decidedSchedule(func);
  if (!schedule || !schedule.getWgmma() || options.varlen || options.pagedKv)
    return;
  func.walk([&](AsyncCopyOp copy) {
    auto buffer = copy.getBuffer().getDefiningOp<SharedBufferOp>();
    if (!buffer || !buffer.getSwizzle())
      return;
    auto type = cast<MemRefType>(buffer.getBuffer().getType());
    int64_t rows = type.getDimSize(1), cols = type.getDimSize(2);
    int64_t elemBytes = type.getElementTypeBitWidth() / 8;
    int64_t inner = static_cast<int64_t>(*buffer.getSwizzle()) / elemBytes;
    if (elemBytes != 2 || rows > 256 || cols % inner != 0)
      return;
    std::optional<unsigned> arg = tmaArgument(copy, rows);
    if (!arg)
      return;
    auto [it, inserted] = tmaMaps.try_emplace(*arg);
    TmaMap &map = it->second;
    if (inserted) {
      const char *name = *arg == 1 ? "k" : "v";
      map.field = std::string(name) + "_map";
      map.ready = std::string("tmaReady_") + name;
      map.boxRows = rows;
      map.boxCols = inner;
      map.cols = cols;
    } else if (map.boxRows != rows || map.boxCols != inner) {
      return; // another box of the same tensor: cp.async
    }
    tmaCopies[copy] = *arg;
  });
  // The groups in flight: the staged Q's, the stages' and one committed
  // before the wait that retires the oldest.
  if (!tmaCopies.empty() && mma && role != KernelRole::TileSummaries)
    tmaSlots = schedule.getStages() + 2;
}

std::string KernelEmitter::tmaPrologue(int64_t offset) {
  std::string text;
  auto line = [&](const std::string &l) { text += "  " + l + "\n"; };
  line(fmt::format("// K/V stages by TMA (one thread issues each box; "
                   "commit group g completes on mbarrier g % {}).",
                   tmaSlots));
  line(fmt::format("mbarrier_t *const tmaBars = "
                   "reinterpret_cast<mbarrier_t *>(attnSmem + {});",
                   offset));
  line("unsigned tmaGroups = 0, tmaRetired = 0;");
  // 1 + the last group that wrote stages without TMA, and the groups the
  // last CTA barrier after a wait published.
  line("unsigned tmaPlainEnd = 0, tmaPublished = 0;");
  for (auto &[arg, map] : tmaMaps) {
    View v = argView(arg);
    line(fmt::format("const bool {} = tma_view_ok<2>({}, {}, {}, {}, {}, {}, "
                     "{}, {}, {});",
                     map.ready, v.ptr, v.strides[0], v.strides[1], v.strides[2],
                     v.strides[3], v.sizes[0], v.sizes[1], v.sizes[2],
                     v.sizes[3]));
  }
  line("if (threadIdx.x == 0) {");
  line(fmt::format("  for (int i = 0; i < {}; ++i) mbarrier_init(tmaBars + i, "
                   "1);",
                   tmaSlots));
  line("}");
  line("__syncthreads();");
  return text;
}

LogicalResult KernelEmitter::emitScheduleOp(Operation &op) {
  if (!mma)
    return op.emitError("CUDA emitter (SIMT): '")
           << op.getName()
           << "' belongs to a tensor-core schedule; this kernel is scheduled "
              "for SIMT";
  if (auto buffer = dyn_cast<SharedBufferOp>(op)) {
    auto type = cast<MemRefType>(buffer.getBuffer().getType());
    auto elem = memType(type.getElementType());
    SharedBuffer b;
    b.ptr = fresh("sKV");
    b.rows = type.getDimSize(1);
    b.cols = type.getDimSize(2);
    b.pitch = buffer.getRowPitch();
    b.stageStride = buffer.getStageStride();
    b.swizzle = static_cast<int64_t>(buffer.getSwizzle().value_or(0));
    if (b.swizzle)
      w.linef("// Shared buffer: {} stage{} of {} x {} {}, {}-byte swizzle "
              "(wgmma operand).",
              type.getDimSize(0), type.getDimSize(0) == 1 ? "" : "s", b.rows,
              b.cols, *elem, b.swizzle);
    else
      w.linef("// Shared buffer: {} stage{} of {} x {} {}, row pitch {}.",
              type.getDimSize(0), type.getDimSize(0) == 1 ? "" : "s", b.rows,
              b.cols, *elem, b.pitch);
    w.linef("{0} *const {1} = reinterpret_cast<{0} *>(attnSmem + {2});",
            *elem, b.ptr, buffer.getOffset());
    if (buffer.getEndByte() > options.maxSmemBytes)
      return op.emitError("CUDA emitter (tensor cores): the buffer ends at "
                          "byte ")
             << buffer.getEndByte() << " of shared memory but the target "
             << "allows " << options.maxSmemBytes << " per CTA";
    // A head dim that is a multiple of 8 but not of 16 runs on tensor cores
    // padded: the last k-step reads 8 columns of zeros from the row pitch.
    if (b.cols % 8 != 0)
      return op.emitError("CUDA emitter (tensor cores): a staged row of ")
             << b.cols << " elements is not a whole number of 16-byte "
             << "chunks (head dims must be multiples of 8 on tensor cores)";
    int64_t padded = (b.cols + 15) / 16 * 16;
    if (padded != b.cols) {
      if (b.pitch < padded)
        return op.emitError("CUDA emitter (tensor cores): a row pitch of ")
               << b.pitch << " leaves no room for the zero padding of "
               << b.cols << " columns to " << padded;
      w.linef("// Columns [{0}, {1}): zeros, the last mma k-step's padding.",
              b.cols, padded);
      w.linef("zero_pad_columns<{}, {}, {}, {}, {}, {}>({}, threadIdx.x);",
              *elem, type.getDimSize(0) * b.rows, b.cols, padded, b.pitch,
              threads, b.ptr);
    }
    smemBytes = std::max(smemBytes, buffer.getEndByte());
    buffersEnd = std::max(buffersEnd, buffer.getEndByte());
    buffers[buffer.getBuffer()] = b;
    return success();
  }
  if (auto copy = dyn_cast<AsyncCopyOp>(op)) {
    auto view = globalView(copy.getSource());
    if (!view)
      return op.emitError("CUDA emitter (tensor cores): the copied tile is "
                          "not a slice of a kernel argument");
    auto it = buffers.find(copy.getBuffer());
    auto stage = scalar(copy.getStage()), rows = scalar(copy.getRows());
    if (it == buffers.end() || !stage || !rows)
      return op.emitError("CUDA emitter (tensor cores): async_copy operands "
                          "are not a buffer and scalars");
    const SharedBuffer &b = it->second;
    size_t rank = view->strides.size();
    std::string base = viewBase(*view), vec = fresh("vec");
    if (view->pagedDim >= 0) {
      if (view->pagedDim != static_cast<int>(rank) - 2)
        return op.emitError("CUDA emitter (tensor cores): a paged K/V tile "
                            "is staged by its key rows");
      const std::string &rowStride = view->strides[rank - 2];
      w.linef("const bool {} = can_stage_paged_vectorized({}, {}, {}, {}, "
              "{});",
              vec, view->ptr, base, view->pageStride, rowStride,
              view->strides[rank - 1]);
      w.linef(
          "stage_tile_paged<{}, {}, {}, {}, {}{}>({} + {} * {}, {}, {}, {}, "
          "p.block_table, p.block_table_extent, p.page_shift, {}, {}, {}, "
          "{}, {}, {}, threadIdx.x);",
          mmaElem, b.rows, b.cols, threads, b.pitch, swizzleArg(b), b.ptr,
          *stage, b.stageStride, view->ptr, view->extent, base,
          view->pageStride, rowStride, view->offsets[rank - 2],
          view->strides[rank - 1], *rows, vec);
      return success();
    }
    auto tma = tmaCopies.find(&op);
    if (tma != tmaCopies.end()) {
      // The box at the tile's first row, one per swizzle-wide column block
      // (the buffer holds the blocks one after another); the bytes count
      // whole boxes, zero fill included.
      const TmaMap &map = tmaMaps.at(tma->second);
      int64_t blocks = map.cols / map.boxCols;
      w.openf("if ({})", map.ready);
      w.open("if (threadIdx.x == 0)");
      w.linef("mbarrier_t *const bar = tmaBars + tmaGroups % {};", tmaSlots);
      w.linef("mbarrier_expect_tx(bar, {});",
              blocks * map.boxRows * map.boxCols * 2);
      for (int64_t c = 0; c < blocks; ++c)
        w.linef("tma_load_4d({} + {} * {}{}, &p.{}, (int)({}), (int)({}), "
                "(int)({}), (int)({}), bar);",
                b.ptr, *stage, b.stageStride,
                c ? " + " + std::to_string(c * map.boxRows * map.boxCols)
                  : std::string(),
                map.field,
                addExpr(view->offsets[3], std::to_string(c * map.boxCols)),
                view->offsets[2], view->offsets[1], view->offsets[0]);
      w.close();
      // A tensor TMA cannot address: cp.async, out of line (it is cold).
      w.elseBranch();
      w.linef("stage_tile_cold<{}, {}, {}, {}, {}, {}>({} + {} * {}, {}, {}, "
              "{}, {}, {}, {}, threadIdx.x);",
              mmaElem, b.rows, b.cols, threads, b.pitch, b.swizzle, b.ptr,
              *stage, b.stageStride, view->ptr, view->extent, base,
              view->strides[rank - 2], view->strides[rank - 1], *rows);
      w.line("tmaPlainEnd = tmaGroups + 1;");
      w.close();
      return success();
    }
    w.linef("const bool {} = can_stage_vectorized({}, {}, {}, {});", vec,
            view->ptr, base, view->strides[rank - 2], view->strides[rank - 1]);
    w.linef(
        "stage_tile<{}, {}, {}, {}, {}{}>({} + {} * {}, {}, {}, {}, {}, {}, "
        "{}, {}, threadIdx.x);",
        mmaElem, b.rows, b.cols, threads, b.pitch, swizzleArg(b), b.ptr, *stage,
        b.stageStride, view->ptr, view->extent, base, view->strides[rank - 2],
        view->strides[rank - 1], *rows, vec);
    if (tmaSlots)
      w.line("tmaPlainEnd = tmaGroups + 1;");
    return success();
  }
  if (isa<AsyncCommitOp>(op)) {
    w.line("cp_async_commit();");
    // The group's mbarrier phase completes with this arrival and its
    // boxes' bytes (none when the group had no TMA box).
    if (tmaSlots) {
      w.linef("if (threadIdx.x == 0) mbarrier_arrive(tmaBars + tmaGroups % "
              "{});",
              tmaSlots);
      w.line("++tmaGroups;");
    }
    return success();
  }
  if (auto wait = dyn_cast<AsyncWaitOp>(op)) {
    int64_t pending = wait.getPending();
    if (options.debug == EmitDebug::EarlyWait && pending > 0)
      w.linef("cp_async_wait<{}>(); // deliberately broken: one group too few",
              pending + 1);
    else
      w.linef("cp_async_wait<{}>();", pending);
    if (tmaSlots) {
      int64_t waitFor = pending;
      if (options.debug == EmitDebug::EarlyWait && pending > 0)
        ++waitFor;
      w.linef("for (; tmaRetired + {} < tmaGroups; ++tmaRetired)", waitFor);
      w.linef("  mbarrier_wait_parity(tmaBars + tmaRetired % {0}, (tmaRetired "
              "/ {0}) & 1);",
              tmaSlots);
      // In the KV loop the barrier after the wait only publishes the
      // stages (the one at the body's end orders their reads before their
      // refill); elsewhere it may order other uses of shared memory.
      if (isa_and_nonnull<BarrierOp>(op.getNextNode()) &&
          isa<scf::ForOp>(op.getParentOp()))
        tmaVisibilityBarriers.insert(op.getNextNode());
    }
    // wgmma reads shared memory through the async proxy: this thread's
    // writes of the stages (the scalar fallback of unaligned tensors and
    // its zero rows are plain stores) are ordered before it by a proxy
    // fence, made the CTA's by the barrier that follows.
    if (wgmma)
      w.line("fence_proxy_async();");
    return success();
  }
  if (isa<BarrierOp>(op)) {
    if (tmaVisibilityBarriers.contains(&op)) {
      // Only cp.async and plain writes need the CTA's barrier to be seen:
      // run it when a group not yet published wrote so (retired or not:
      // groups retire in order, so this never misses one).
      w.open("if (tmaPlainEnd > tmaPublished)");
      w.line("__syncthreads();");
      w.line("tmaPublished = tmaRetired;");
      w.close();
      return success();
    }
    w.line("__syncthreads();");
    return success();
  }
  if (auto read = dyn_cast<ReadStageOp>(op)) {
    auto it = buffers.find(read.getBuffer());
    auto stage = scalar(read.getStage());
    if (it == buffers.end() || !stage)
      return op.emitError("CUDA emitter (tensor cores): read_stage of an "
                          "unknown buffer");
    StagedTile t;
    t.buffer = it->second;
    t.base = fresh("stage");
    for (int64_t d : read.getType().getShape())
      t.sizes.push_back(ShapedType::isDynamic(d) ? *scalar(read.getRows())
                                                 : std::to_string(d));
    w.linef("const {} *const {} = {} + {} * {};", mmaElem, t.base,
            t.buffer.ptr, *stage, t.buffer.stageStride);
    stagedTiles[read.getResult()] = t;
    return success();
  }
  auto load = cast<LoadFragmentsOp>(op);
  auto view = globalView(load.getSource());
  auto term = letters(load.getResult());
  if (!view || !term)
    return op.emitError("CUDA emitter (tensor cores): load_fragments of a "
                        "value that is not a slice of a kernel argument "
                        "read by a contraction");
  // The reduced letter: the one non-grid letter besides the row.
  auto type = cast<RankedTensorType>(load.getType());
  int rowDim = static_cast<int>(term->find(rowLetter)), rDim = -1;
  for (auto [d, c] : llvm::enumerate(*term))
    if (static_cast<int>(d) != rowDim && !isGridLetter(gridLetters, c))
      rDim = rDim < 0 ? static_cast<int>(d) : -2;
  if (view->pagedDim >= 0)
    return op.emitError("CUDA emitter (tensor cores): fragments of a paged "
                        "K/V tensor are read through shared memory only");
  if (rowDim < 0 || rDim < 0 || type.isDynamicDim(rDim) ||
      type.getDimSize(rDim) % 8 != 0 || view->elemType != mmaElem)
    return op.emitError("CUDA emitter (tensor cores): load_fragments needs a ")
           << mmaElem << " operand over the query rows and one reduced "
           << "dimension that is a multiple of 8";
  // A multiple of 8: the last k-step's upper 8 columns load as zeros.
  int64_t steps = (type.getDimSize(rDim) + 15) / 16;
  std::string frag = fresh("qf");
  w.line("// A fragments of the loop-invariant operand, read once.");
  w.linef("uint32_t {}[{}][{}][4];", frag, mTiles, steps);
  w.line("#pragma unroll");
  w.openf("for (int mt = 0; mt < {}; ++mt)", mTiles);
  w.line("#pragma unroll");
  w.openf("for (int kk = 0; kk < {}; ++kk)", steps);
  w.linef("load_a_fragment<{}>({}[mt][kk], {}, {}, {}, {}, {}, {}, {}, "
          "mRow0 + 16 * mt, 16 * kk, mLane);",
          mmaElem, frag, view->ptr, view->extent, viewBase(*view),
          view->strides[rowDim], view->strides[rDim], view->sizes[rowDim],
          view->sizes[rDim]);
  w.close();
  w.close();
  aFragments[load.getResult()] = frag;
  // Still the same tensor: its sizes (and elements) are the source's.
  View same = *view;
  views[load.getResult()] = std::move(same);
  return success();
}

//===----------------------------------------------------------------------===//
// Tile ops
//===----------------------------------------------------------------------===//

/// The subscript of `t`'s storage at the innermost storage loop.
static std::string storageAccess(const Tile &t, const std::string &mTile,
                                 const std::string &rowSlot,
                                 const std::string &fragSub) {
  if (t.colDim >= 0)
    return t.var + fragSub;
  if (t.rowDim() >= 0)
    return t.var + "[" + mTile + "][" + rowSlot + "]";
  return t.var;
}

/// True when computing `op`'s region on a padded element could touch memory
/// or trap: it reads an input that is neither a register tile nor a
/// contraction the mma adds onto the result (so a global view), or
/// its region loads (tensor.extract), divides integers by a value that is not
/// a constant other than 0 and -1, converts floats to integers, or holds an
/// op outside arith and math. Such maps keep the guard.
bool KernelEmitter::mapNeedsGuard(MapOp op) const {
  for (Value in : op.getInputs())
    if (!tiles.count(in) && !deferredContracts.count(in))
      return true;
  WalkResult unsafe = op.getBody().walk([](Operation *inner) {
    if (isa<YieldOp>(inner))
      return WalkResult::advance();
    StringRef dialect = inner->getDialect()
                            ? inner->getDialect()->getNamespace()
                            : StringRef();
    if (dialect != "arith" && dialect != "math")
      return WalkResult::interrupt();
    if (isa<arith::FPToSIOp, arith::FPToUIOp>(inner))
      return WalkResult::interrupt();
    // An integer division traps only by 0 (or overflows on INT_MIN / -1):
    // by another constant it is safe on any index.
    if (isa<arith::DivSIOp, arith::DivUIOp, arith::RemSIOp, arith::RemUIOp,
            arith::FloorDivSIOp, arith::CeilDivSIOp, arith::CeilDivUIOp>(
            inner)) {
      APInt divisor;
      if (!matchPattern(inner->getOperand(1), m_ConstantInt(&divisor)) ||
          divisor.isZero() || divisor.isAllOnes())
        return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return unsafe.wasInterrupted();
}

std::string KernelEmitter::columnsToRead(const Tile &p) const {
  // Zeros at the padding already, or zeroed by the reader: V's padded rows
  // are zero-filled, but 0 * NaN is not 0.
  return p.pad == Pad::Zero ? std::to_string(p.caps[p.colDim])
                            : p.sizes[p.colDim];
}

Pad KernelEmitter::wantedPad(Value v) const {
  bool max = false, zero = false;
  SmallVector<Value> worklist = {v};
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      if (auto reduce = dyn_cast<ReduceOp>(user)) {
        Pad identity = identityPad(reduce.getKind());
        max |= identity == Pad::NegInf;
        zero |= identity == Pad::Zero;
      } else if (isa<ContractOp>(user)) {
        zero = true;
      } else if (auto yield = dyn_cast<scf::YieldOp>(user)) {
        if (auto ifOp = dyn_cast<scf::IfOp>(yield->getParentOp()))
          worklist.push_back(ifOp.getResult(use.getOperandNumber()));
      }
    }
  }
  return max ? Pad::NegInf : zero ? Pad::Zero : Pad::Unknown;
}

LogicalResult KernelEmitter::emitMmaMap(MapOp op, Tile &t,
                                        const Equation &eq) {
  llvm::StringMap<std::string> idx;
  bindGridLetters(idx, eq.output);
  unsigned opened = openStorageLoops(t, eq.output, idx);
  std::string access = storageAccess(t, curMTile, curRowSlot, curFragSub);
  std::string guard = mmaGuard(t, eq.output, idx);
  SmallVector<std::string> indexArgs, inputArgs;
  for (char c : eq.output)
    indexArgs.push_back(idx[StringRef(&c, 1)]);
  ContractOp deferred;
  for (auto [v, term] : llvm::zip(op.getInputs(), eq.inputs)) {
    if (auto it = deferredContracts.find(v); it != deferredContracts.end()) {
      // x + (-0) here, which is x for every x (so the CUDA compiler drops
      // the add); the contraction is added by the mma below.
      deferred = it->second;
      inputArgs.push_back("-0.0f");
      continue;
    }
    auto e = elementAccess(op, v, term, idx);
    if (failed(e))
      return failure();
    inputArgs.push_back(*e);
  }
  // The padding of a ragged tile's columns: what the region yields there
  // when that is the value the consumers want (Padding.h), else that value
  // by a column guard; a region that could touch memory or trap is guarded
  // by row and column (see the file comment). A tile that fills its storage
  // has no padding.
  bool edge = t.colDim >= 0 && !fillsStorage(t, t.colDim);
  Pad want = Pad::Unknown, pad = Pad::Unknown;
  if (edge) {
    char col = eq.output[t.colDim];
    SmallVector<std::optional<Pad>> inputPads;
    for (auto [v, term] : llvm::zip(op.getInputs(), eq.inputs)) {
      auto it = tiles.find(v);
      if (term.find(col) == std::string::npos)
        inputPads.push_back(std::nullopt);
      else
        inputPads.push_back(it == tiles.end() ? Pad::Unknown : it->second.pad);
    }
    want = wantedPad(op.getResult());
    pad = padOfMap(op, inputPads);
  }
  std::string cond;
  if (guard != "true" && mapNeedsGuard(op)) {
    cond = guard;
    pad = want == Pad::NegInf ? Pad::NegInf : Pad::Zero;
  } else if (edge && want != Pad::Unknown && pad != want) {
    cond = idx.lookup(eq.output.substr(t.colDim, 1)) + " < " +
           fragmentBound(t.sizes[t.colDim]);
    pad = want;
  }
  if (!cond.empty())
    w.openf("if ({})", cond);
  std::string result;
  if (failed(emitRegion(op.getBody().front(), indexArgs, inputArgs,
                        op.getCaptures(), result)))
    return failure();
  w.linef("{} = {};", access, result);
  if (!cond.empty()) {
    w.elseBranch();
    w.linef("{} = {};", access,
            pad == Pad::NegInf ? "sc::f32_bits(0xff800000u)" : "0.0f");
    w.close();
  }
  tiles[op.getResult()].pad = pad;
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
  std::string mt = fresh("mt"), rs = fresh("rs"), nt = fresh("nt"),
              c = fresh("c"), acc = fresh("acc");
  w.line("#pragma unroll");
  w.openf("for (int {0} = 0; {0} < {1}; ++{0})", mt, mTiles);
  w.line("#pragma unroll");
  w.openf("for (int {0} = 0; {0} < 2; ++{0})", rs);
  w.linef("float {} = {};", acc, isMax ? "sc::f32_bits(0xff800000u)" : "0.0f");
  w.line("#pragma unroll");
  w.openf("for (int {0} = 0; {0} < {1}; ++{0})", nt, nTiles);
  w.line("#pragma unroll");
  w.openf("for (int {0} = 0; {0} < 2; ++{0})", c);
  std::string x =
      fmt::format("{}[{}][{}][2 * {} + {}]", src.var, mt, nt, rs, c);
  // Padded keys hold the reduction's identity, or are skipped.
  Pad identity = identityPad(op.getKind());
  bool guarded = !fillsStorage(src, src.colDim) &&
                 (identity == Pad::Unknown || src.pad != identity);
  if (guarded)
    w.openf("if (8 * {} + 2 * mT + {} < {})", nt, c, src.sizes[src.colDim]);
  if (isMax)
    w.linef("{0} = sc::maximumf({0}, {1});", acc, x);
  else
    w.linef("{} += {};", acc, x);
  if (guarded)
    w.close();
  w.close();
  w.close();
  // A lane-partial sum (-attn-defer-row-sums) is completed across the quad
  // after the KV loop.
  if (isLanePartial(op))
    w.linef("{}[{}][{}] = {};", t.var, mt, rs, acc);
  else
    w.linef("{}[{}][{}] = quad_allreduce_{}({});", t.var, mt, rs,
            isMax ? "max" : "add", acc);
  w.close();
  w.close();
  return success();
}

MapOp KernelEmitter::accumulatingMap(ContractOp op) {
  return isAccumulated(op) ? cast<MapOp>(*op->user_begin()) : MapOp();
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
  // A is the operand over the query rows, B the staged K/V tile.
  unsigned a = eq.inputs[0].find(rowLetter) != std::string::npos ? 0 : 1;
  Value aVal = op.getInputs()[a], bVal = op.getInputs()[1 - a];
  StringRef aTerm = eq.inputs[a], bTerm = eq.inputs[1 - a];
  if (bTerm.contains(rowLetter[0]) || !aTerm.contains(r) || !bTerm.contains(r) ||
      !bTerm.contains(x))
    return fail("operands must be (row, " + std::string(1, r) + ") and (" +
                std::string(1, r) + ", " + std::string(1, x) + ")");
  auto st = stagedTiles.find(bVal);
  if (st == stagedTiles.end())
    return fail("the second operand is not a staged K/V tile "
                "(attn.read_stage; run attn-stage-kv)");
  const StagedTile &s = st->second;
  // The staged tile's rows are its second-to-last letter (the KV letter).
  char kvLetter = bTerm[bTerm.size() - 2];
  bool nMajor = kvLetter == x; // K of Q.K^T: rows are the output columns
  if (!nMajor && kvLetter != r)
    return fail("the staged operand's KV letter is neither reduced nor kept");
  int64_t rSize = nMajor ? s.buffer.cols : s.buffer.rows,
          xSize = nMajor ? s.buffer.rows : s.buffer.cols;
  // A multiple of 8 is padded to 16 with zeros: in the staged buffer's row
  // pitch (zero_pad_columns) and by the row operand's loaders.
  if (rSize % 8 != 0)
    return fail("the reduced dimension (" + Twine(rSize) +
                ") is not a multiple of 8");
  if (xSize % 8 != 0)
    return fail("the output columns (" + Twine(xSize) +
                ") are not a multiple of 8");
  // With col_groups > 1 a row group's warps split the columns: O's (the
  // tile is a slice), or S's key columns (each warp computes its n-tiles and
  // the whole tile is shared through shared memory).
  int64_t xTile = t.colSplit ? xSize / colGroups : xSize;
  if (t.caps[t.colDim] != xTile)
    return fail("output tile columns do not match the staged operand");
  bool exchange = colGroups > 1 && !t.colSplit;
  if (exchange && (xSize / 8) % colGroups != 0)
    return fail("the " + Twine(xSize / 8) + " n-tiles of the KV tile do not "
                "split over " + Twine(colGroups) + " warps (col_groups)");
  int64_t nLocal = exchange ? xSize / 8 / colGroups : xTile / 8;
  std::string n0Offset =
      t.colSplit ? fmt::format("{} * mColGroup + ", xTile)
                 : exchange ? fmt::format("{} * mColGroup + ", 8 * nLocal)
                            : std::string();

  // The A fragments of k-step `kk` of m-tile `mt`.
  std::string aFrag;
  auto aTile = tiles.find(aVal);
  auto aStaged = stagedTiles.find(aVal);
  if (auto h = aFragments.find(aVal); h != aFragments.end()) {
    aFrag = h->second + "[mt][kk]";
  } else if (aStaged != stagedTiles.end()) {
    // A staged Q tile: rows, then the reduced letter, as it was copied.
    if (aTerm.size() < 2 || aTerm[aTerm.size() - 2] != rowLetter[0] ||
        aTerm.back() != r || aStaged->second.buffer.cols != rSize)
      return fail("a staged row operand must be (row, " + std::string(1, r) +
                  ") with the reduced letter's columns");
  } else if (aTile != tiles.end()) {
    const Tile &p = aTile->second;
    if (p.colDim < 0 || aTerm[p.colDim] != r || p.caps[p.colDim] != rSize)
      return fail("the row operand's fragment columns are not the reduced "
                  "letter");
  } else if (!views.count(aVal)) {
    return fail("the row operand is neither a tile nor a global tensor");
  } else if (views[aVal].pagedDim >= 0) {
    return fail("the row operand is paged K/V, read through shared memory "
                "only");
  }

  std::pair<std::string, std::string> ranged;
  if (aTile != tiles.end() && isRangeScaled(op)) {
    if (exchange)
      return fail("a range-scaled row operand with S's key columns split "
                  "over warps (col_groups)");
    ranged = emitRangeScaleUpdate(op, aTile->second, t, accumulate);
  }
  // Prints the A fragments of k-step `kk` (this warp's m-tiles) unless they
  // are register-resident; returns their expression at m-tile `mt`.
  auto emitA = [&]() -> std::string {
    if (!aFrag.empty())
      return aFrag;
    w.linef("uint32_t a[{}][4];", mTiles);
    w.line("#pragma unroll");
    w.openf("for (int mt = 0; mt < {}; ++mt)", mTiles);
    if (aStaged != stagedTiles.end()) {
      w.linef("a_fragment_row_major<{}>(a[mt], {}, mRow0 + 16 * mt, 16 * kk, "
              "mLane);",
              aStaged->second.buffer.pitch, aStaged->second.base);
    } else if (aTile != tiles.end() && !ranged.first.empty()) {
      const Tile &p = aTile->second;
      w.linef("a_fragment_from_scaled_tile<{}, {}>(a[mt], {}[mt], kk, {}, "
              "{}[mt], mLane);",
              mmaElem, p.caps[p.colDim] / 8, p.var, columnsToRead(p),
              ranged.first);
    } else if (aTile != tiles.end()) {
      const Tile &p = aTile->second;
      w.linef("a_fragment_from_tile<{}, {}>(a[mt], {}[mt], kk, {}, mLane);",
              mmaElem, p.caps[p.colDim] / 8, p.var, columnsToRead(p));
    } else {
      const View &view = views[aVal];
      int rowDim = aTerm.find(rowLetter[0]), rDim = aTerm.find(r);
      w.linef("load_a_fragment<{}>(a[mt], {}, {}, {}, {}, {}, {}, {}, "
              "mRow0 + 16 * mt, 16 * kk, mLane);",
              mmaElem, view.ptr, view.extent, viewBase(view),
              view.strides[rowDim], view.strides[rDim], view.sizes[rowDim],
              view.sizes[rDim]);
    }
    w.close();
    return "a[mt]";
  };
  // Range-scaled rows back in true units after a plain contraction.
  auto unscaleRows = [&]() {
    if (ranged.first.empty() || accumulate)
      return;
    w.line("#pragma unroll");
    w.openf("for (int mt = 0; mt < {}; ++mt)", mTiles);
    w.linef("unscale_fragment_rows({}[mt], {}[mt]);", t.var, ranged.second);
    w.close();
  };
  if (wgmma) {
    if (exchange || t.colSplit)
      return fail("wgmma computes whole tiles (no col_groups)");
    // A staged in a swizzled buffer is read by the wgmma itself (ss).
    const StagedTile *aShared =
        aStaged != stagedTiles.end() && aStaged->second.buffer.swizzle
            ? &aStaged->second
            : nullptr;
    if (failed(emitWgmmaContract(op, t.var, s, nMajor, rSize, xSize, accumulate,
                                 !aFrag.empty(), aShared, emitA)))
      return failure();
    unscaleRows();
    return success();
  }
  // The tile the mma adds into: t, or this warp's n-tiles of it.
  std::string target = t.var;
  auto zeroFragments = [&](const std::string &var) {
    w.line("#pragma unroll");
    w.openf("for (int mt = 0; mt < {}; ++mt)", mTiles);
    w.line("#pragma unroll");
    w.openf("for (int nt = 0; nt < {}; ++nt)", nLocal);
    w.line("#pragma unroll");
    w.open("for (int e = 0; e < 4; ++e)");
    w.linef("{}[mt][nt][e] = 0.0f;", var);
    w.close();
    w.close();
    w.close();
  };
  if (exchange) {
    target = fresh("sPart");
    w.linef("// This warp's {} n-tiles of the {} key columns (col_groups).",
            nLocal, xSize);
    w.linef("float {}[{}][{}][4];", target, mTiles, nLocal);
    zeroFragments(target);
  } else if (accumulate) {
    w.linef("// {} += the contraction (the map's x + c, on the mma's C "
            "operand).",
            t.var);
  } else {
    zeroFragments(t.var);
  }
  w.line("#pragma unroll");
  w.openf("for (int kk = 0; kk < {}; ++kk)", (rSize + 15) / 16);
  const std::string aExpr = emitA();
  // Deliberately broken: V read like K, without the transposing ldmatrix.
  bool asNMajor = nMajor || options.debug == EmitDebug::VUntransposed;
  const char *major = asNMajor ? "n" : "k";
  // The B fragments of one n-tile per k-step, or of two per ldmatrix.x4,
  // each shared by the warp's m-tiles.
  bool paired = nLocal % 2 == 0 && options.debug != EmitDebug::FragmentIndex;
  w.line("#pragma unroll");
  if (paired) {
    w.openf("for (int np = 0; np < {}; ++np)", nLocal / 2);
    w.line("uint32_t b[2][2];");
    w.linef("b_fragments_{}_major_x2<{}>(b, {}, {}16 * np, 16 * kk, mLane);",
            major, s.buffer.pitch, s.base, n0Offset);
    w.line("#pragma unroll");
    w.open("for (int h = 0; h < 2; ++h)");
  } else {
    std::string n0 = n0Offset + "8 * nt";
    if (nMajor && options.debug == EmitDebug::FragmentIndex)
      n0 = fmt::format("{}8 * ((nt + 1) % {})", n0Offset,
                       nLocal); // deliberately broken
    w.openf("for (int nt = 0; nt < {}; ++nt)", nLocal);
    w.line("uint32_t b[2];");
    w.linef("b_fragment_{}_major<{}>(b, {}, {}, 16 * kk, mLane);", major,
            s.buffer.pitch, s.base, n0);
  }
  w.line("#pragma unroll");
  w.openf("for (int mt = 0; mt < {}; ++mt)", mTiles);
  w.linef("mma_m16n8k16<{0}>({1}[mt][{3}], {2}, {4}, {1}[mt][{3}]);", mmaElem,
          target, aExpr, paired ? "2 * np + h" : "nt", paired ? "b[h]" : "b");
  w.close();
  if (paired)
    w.close();
  w.close();
  w.close();
  if (exchange)
    return emitSplitColumnsExchange(op, t, target, xSize, accumulate);
  unscaleRows();
  return success();
}

/// wgmma's N values, widest first.
static constexpr int64_t kWgmmaNs[] = {256, 128, 64, 32, 16, 8};

LogicalResult KernelEmitter::emitWgmmaContract(
    ContractOp op, const std::string &target, const StagedTile &s, bool nMajor,
    int64_t rSize, int64_t xSize, bool accumulate, bool aResident,
    const StagedTile *aShared, llvm::function_ref<std::string()> emitA) {
  auto fail = [&](const Twine &why) {
    return op.emitError("CUDA emitter (wgmma): ") << why;
  };
  const SharedBuffer &b = s.buffer;
  if (!b.swizzle)
    return fail("the staged operand is not in a swizzled buffer (wgmma "
                "reads it through a descriptor; run attn-stage-kv on the "
                "wgmma schedule)");
  if (rSize % 16 != 0)
    return fail("the reduced dimension (" + Twine(rSize) +
                ") is not whole k16 steps");
  // Elements per swizzled row block; a block is [rows x width].
  int64_t width = b.swizzle / 2, blockElems = b.rows * width;
  // The output columns in pieces wgmma's N covers, widest first; an
  // MN-major piece starts on a block (its descriptor walks blocks by LBO).
  struct Piece {
    int64_t n0, n;
    std::string acc;
  };
  SmallVector<Piece> pieces;
  for (int64_t n0 = 0; n0 < xSize;) {
    const int64_t *widest =
        llvm::find_if(kWgmmaNs, [&](int64_t c) { return c <= xSize - n0; });
    if (widest == std::end(kWgmmaNs) || (!nMajor && n0 % width != 0))
      return fail("the " + Twine(xSize) +
                  " output columns do not split into wgmma N pieces on "
                  "swizzle blocks");
    pieces.push_back({n0, *widest, fresh("wacc")});
    n0 += *widest;
  }
  // Descriptor fields (bytes) and the start element of k-step kk of a
  // piece: K-major B (K's rows are the output columns): 8-row groups
  // SBO apart, a k-step advances in its block, blocks of the reduced
  // dimension blockElems apart. MN-major B (V: the rows are the reduced
  // keys): 8-key groups SBO apart, the output columns' blocks LBO apart.
  int64_t sbo = 8 * b.swizzle, lbo = nMajor ? 16 : blockElems * 2;
  auto start = [&](const Piece &p) {
    if (nMajor)
      return fmt::format("{} + (16 * kk) % {} + (16 * kk) / {} * {}",
                         p.n0 * width, width, width, blockElems);
    return fmt::format("{} + 16 * kk * {}", p.n0 / width * blockElems, width);
  };
  w.linef("// {} {}= A · {} on wgmma m64nNk16 (N = {}), the {} operand "
          "{}-major through {}-byte swizzled descriptors.",
          target, accumulate ? "+" : "", nMajor ? "Kᵀ" : "V",
          llvm::join(
              llvm::map_range(
                  pieces, [](const Piece &p) { return std::to_string(p.n); }),
              " + "),
          nMajor ? "K" : "V", nMajor ? "K" : "MN", b.swizzle);
  w.openScope();
  for (const Piece &p : pieces) {
    w.linef("WgmmaAccumulator<{}> {};", p.n, p.acc);
    if (!accumulate)
      continue;
    w.line("#pragma unroll");
    w.openf("for (int i = 0; i < {}; ++i)", p.n / 2);
    w.linef("{}[i] = {}[0][{} + i / 4][i % 4];", p.acc, target, p.n0 / 8);
    w.close();
  }
  // The A fragments of every k-step before the fence: a register a wgmma
  // reads must not change after the wgmma.fence before it (else ptxas
  // injects fences of its own).
  int64_t steps = rSize / 16;
  // One warpgroup: the A fragments are m-tile 0's.
  auto firstMTile = [](std::string a) {
    if (size_t at = a.find("[mt]"); at != std::string::npos)
      a.replace(at, 4, "[0]");
    return a;
  };
  // Each operand's descriptor is encoded once and stepped through the
  // k-steps by adding the (constant) byte offsets.
  std::string descB = fresh("dB");
  w.linef("const uint64_t {} = wgmma_descriptor({}, {}, {}, "
          "WgmmaSwizzle::B{});",
          descB, s.base, lbo, sbo, b.swizzle);
  std::string aRow;
  if (aShared) {
    // A (the warpgroup's 64 rows of the staged Q tile) K-major through a
    // descriptor, as B's K: rows in blocks of the swizzle's width.
    const SharedBuffer &q = aShared->buffer;
    int64_t qWidth = q.swizzle / 2;
    std::string descA = fresh("dA");
    w.linef("const uint64_t {} = wgmma_descriptor({} + (mRow0 & ~63) * {}, "
            "16, {}, WgmmaSwizzle::B{});",
            descA, aShared->base, qWidth, 8 * q.swizzle, q.swizzle);
    aRow = fmt::format("wgmma_descriptor_advance({}, 2 * ((16 * kk) % {} + "
                       "(16 * kk) / {} * {}))",
                       descA, qWidth, qWidth, q.rows * qWidth);
  } else if (aResident) {
    aRow = firstMTile(emitA());
  } else {
    std::string all = fresh("wa");
    w.linef("uint32_t {}[{}][4];", all, steps);
    w.line("#pragma unroll");
    w.openf("for (int kk = 0; kk < {}; ++kk)", steps);
    std::string a = firstMTile(emitA());
    w.line("#pragma unroll");
    w.openf("for (int i = 0; i < 4; ++i)");
    w.linef("{}[kk][i] = {}[i];", all, a);
    w.close();
    w.close();
    aRow = all + "[kk]";
  }
  if (pingpong)
    w.line("named_barrier_sync(1 + mWarpgroup, 256); // this warpgroup's turn");
  w.line("wgmma_fence();");
  w.line("#pragma unroll");
  w.openf("for (int kk = 0; kk < {}; ++kk)", steps);
  for (const Piece &p : pieces)
    w.linef("wgmma_{}<{}, {}, {}WgmmaMajor::{}>({}, {}, "
            "wgmma_descriptor_advance({}, 2 * ({})), {});",
            aShared ? "ss" : "rs", mmaElem, p.n,
            aShared ? "WgmmaMajor::K, " : "", nMajor ? "K" : "MN", p.acc, aRow,
            descB, start(p), accumulate ? "true" : "kk > 0");
  w.close();
  w.line("wgmma_commit_group();");
  if (pingpong)
    w.line("named_barrier_arrive(2 - mWarpgroup, 256); // the other's turn");
  w.linef(
      "wgmma_wait_group<0>({});",
      llvm::join(llvm::map_range(pieces, [](const Piece &p) { return p.acc; }),
                 ", "));
  for (const Piece &p : pieces) {
    w.line("#pragma unroll");
    w.openf("for (int i = 0; i < {}; ++i)", p.n / 2);
    w.linef("{}[0][{} + i / 4][i % 4] = {}[i];", target, p.n0 / 8, p.acc);
    w.close();
  }
  w.close();
  return success();
}

LogicalResult KernelEmitter::emitSplitColumnsExchange(ContractOp op,
                                                      const Tile &t,
                                                      const std::string &part,
                                                      int64_t xSize,
                                                      bool accumulate) {
  // f32 rows of the whole Q tile, after every staged buffer (the KV loop
  // reads them meanwhile); the interior and edge versions share it.
  int64_t pitch = xSize + kExchangePad;
  int64_t offset = (buffersEnd + 15) / 16 * 16;
  int64_t end = offset + blockM * pitch * 4;
  if (end > options.maxSmemBytes)
    return op.emitError("CUDA emitter (tensor cores): S's exchange between "
                        "the warps of a row group (col_groups) ends at byte ")
           << end << " of shared memory but the target allows "
           << options.maxSmemBytes << " per CTA";
  smemBytes = std::max(smemBytes, end);
  std::string buffer = fresh("sExchange");
  w.linef("// S through shared memory: each warp's {} key columns in, the "
          "row group's {} back.",
          xSize / colGroups, xSize);
  w.linef("float *const {} = reinterpret_cast<float *>(attnSmem + {});",
          buffer, offset);
  w.line("__syncthreads(); // the last tile's readers are done");
  w.line("#pragma unroll");
  w.openf("for (int mt = 0; mt < {}; ++mt)", mTiles);
  w.linef("fragment_columns_to_shared<{}>({}, {}[mt], mRow0 + 16 * mt, "
          "{} * mColGroup, mLane);",
          pitch, buffer, part, xSize / colGroups);
  w.close();
  if (options.debug == EmitDebug::ExchangeNoBarrier)
    w.line("// deliberately broken: no barrier between the writes and reads");
  else
    w.line("__syncthreads();");
  w.line("#pragma unroll");
  w.openf("for (int mt = 0; mt < {}; ++mt)", mTiles);
  w.linef("fragment_from_shared<{}, {}>({}[mt], {}, mRow0 + 16 * mt, mLane);",
          pitch, accumulate ? "true" : "false", t.var, buffer);
  w.close();
  return success();
}

bool KernelEmitter::emitMmaStoreThroughShared(tensor::InsertSliceOp op,
                                              const View &view,
                                              const Tile &tile) {
  // A 2-byte fragment tile over (row, column) with whole 16-byte column
  // chunks, stored where every thread of the CTA gets (only grid loops
  // around it): the KV loop is over, so its shared buffers are free.
  int rowDim = tile.rowDim(), colDim = tile.colDim;
  if (rowDim < 0 || colDim < 0 || !fillsStorage(tile, colDim) ||
      (view.elemType != "f16" && view.elemType != "bf16"))
    return false;
  int64_t cols = tile.caps[colDim] * (tile.colSplit ? colGroups : 1);
  if (cols % 8 != 0)
    return false;
  for (auto [d, role] : llvm::enumerate(tile.roles))
    if (static_cast<int>(d) != rowDim && static_cast<int>(d) != colDim &&
        role != Role::Unit)
      return false;
  for (Operation *p = op->getParentOp(); p && p != func.getOperation();
       p = p->getParentOp())
    if (!isa<scf::ForOp>(p) || !p->hasAttr("attn.grid"))
      return false;
  int64_t pitch = cols + codegen::kSharedRowPad;
  int64_t bytes = blockM * pitch * 2;
  if (bytes > options.maxSmemBytes)
    return false;
  SmallVector<int> sourceDim = insertedDims(op);
  std::string base = "0", rowStride, colStride;
  for (auto [d, r] : llvm::enumerate(op.getMixedOffsets())) {
    auto o = ofr(op, r);
    if (failed(o))
      return false;
    base = addExpr(base, mulExpr(addExpr(view.offsets[d], *o),
                                 view.strides[d]));
    if (sourceDim[d] == rowDim)
      rowStride = view.strides[d];
    if (sourceDim[d] == colDim)
      colStride = view.strides[d];
  }
  if (rowStride.empty() || colStride.empty())
    return false;
  smemBytes = std::max(smemBytes, bytes);
  std::string smem = fresh("sOut"), vec = fresh("vec");
  w.linef("// {} through shared memory (over the finished KV loop's buffers): "
          "packed pairs, then 16-byte coalesced rows.",
          tile.var);
  w.line("__syncthreads();");
  w.linef("{0} *const {1} = reinterpret_cast<{0} *>(attnSmem);",
          view.elemType, smem);
  w.line("#pragma unroll");
  w.openf("for (int mt = 0; mt < {}; ++mt)", mTiles);
  w.linef("fragment_to_shared<{}, {}>({}, {}[mt], mRow0 + 16 * mt, mLane{});",
          view.elemType, pitch, smem, tile.var,
          tile.colSplit ? fmt::format(", {} * mColGroup", tile.caps[colDim])
                        : std::string());
  w.close();
  w.line("__syncthreads();");
  w.linef("const bool {} = can_stage_vectorized({}, {}, {}, {});", vec,
          view.ptr, base, rowStride, colStride);
  w.linef("store_tile<{}, {}, {}, {}, {}>({}, {}, {}, {}, {}, {}, {}, {}, "
          "threadIdx.x);",
          view.elemType, blockM, cols, threads, pitch, smem, view.ptr,
          view.extent, base, rowStride, colStride, tile.sizes[rowDim], vec);
  return true;
}

LogicalResult KernelEmitter::emitMmaInsertSlice(tensor::InsertSliceOp op,
                                                const View &view,
                                                const Tile &tile) {
  if (emitMmaStoreThroughShared(op, view, tile)) {
    View result = view;
    views[op.getResult()] = std::move(result);
    return success();
  }
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
  // Per-row values are replicated over a quad (and over the warps of a
  // row group): one lane stores.
  if (tile.colDim < 0 && tile.rowDim() >= 0)
    guard += colGroups > 1 ? " && mT == 0 && mColGroup == 0" : " && mT == 0";
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
  std::string access = storageAccess(tile, curMTile, curRowSlot, curFragSub);
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
