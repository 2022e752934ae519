//===- KernelEmitter.h - CUDA emitter internals ------------------*- C++ -*-===//
//
// Private to codegen/lib: the KernelEmitter class shared by the SIMT
// emitter (CudaEmitter.cpp) and the tensor-core path (MmaEmitter.cpp), and
// the small string helpers both use. See CudaEmitter.h for the kernel's
// contract.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CODEGEN_LIB_KERNELEMITTER_H
#define ATTN_CODEGEN_LIB_KERNELEMITTER_H

#include "Padding.h"
#include "attn/Codegen/CudaEmitter.h"

#include "attn/Dialect/AttnDialect.h"
#include "attn/Dialect/Equation.h"
#include "attn/Dialect/RegionOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"

#include <fmt/format.h>

#include <map>
#include <optional>
#include <string>

namespace attn::codegen::detail {

// The emitter is MLIR-side code through and through; this header is private
// to codegen/lib, so it takes the namespace the way MLIR's .cpp files do.
using namespace mlir;


/// Reduction loops with a static trip count up to this are fully unrolled;
/// longer static ones (a head dimension) are unrolled by kPartialUnroll:
/// fully unrolled 64-long dot products with 64-bit address arithmetic reach
/// 255 registers and spill.
constexpr int64_t kMaxUnroll = 16;
constexpr int64_t kPartialUnroll = 4;
/// Loops that walk a per-thread array are unrolled (which keeps the array in
/// registers) only up to this size: a head dimension of 64 in registers for
/// every live running value spills at 255 registers, so this SIMT version
/// keeps such arrays in local memory (the stack frame, not spills). The mma
/// path holds them as fragments instead.
constexpr int64_t kMaxUnrollArray = 8;
/// Floats of padding per row of the shared buffer through which a row
/// group's warps exchange S (col_groups > 1).
constexpr int64_t kExchangePad = 4;
/// Threads of a warp.
constexpr int64_t kWarpLanes = 32;
/// Warps of a SIMT merge kernel that spreads a letter over lanes (1,024
/// threads, CUDA's limit per CTA); more rows take turns.
constexpr int64_t kMaxLaneWarps = 32;

/// How one dimension of a tile is stored per thread.
enum class Role { Unit, Row, Array };

/// A per-thread tile value.
struct Tile {
  std::string var;
  SmallVector<Role> roles;
  /// Array capacity per dimension (1 for Unit/Row).
  SmallVector<int64_t> caps;
  /// Actual size per dimension (a C++ expression; "1" when not needed).
  SmallVector<std::string> sizes;
  /// Tensor-core path: the dimension held as fragment columns (-1: none).
  int colDim = -1;
  /// Tensor-core path: what the columns past the valid ones hold (Padding.h).
  Pad pad = Pad::Unknown;
  /// Tensor-core path: the fragment columns are this warp's slice of a row
  /// group's (col_groups > 1): caps[colDim] of them from column
  /// mColGroup * caps[colDim]; sizes[colDim] stays the whole size.
  bool colSplit = false;
  /// SIMT merge kernel: the dimension of the lane letter, spread over the
  /// row's warp (element f in slot f / 32 of lane f % 32); -1: none.
  int laneDim = -1;
  /// The dimension of the row letter (-1: none).
  int rowDim() const {
    for (auto [d, role] : llvm::enumerate(roles))
      if (role == Role::Row)
        return static_cast<int>(d);
    return -1;
  }
};

/// Tensor-core path: a shared-memory buffer (attn.shared_buffer) as the
/// printer holds it.
struct SharedBuffer {
  /// The C++ `T *` of stage 0.
  std::string ptr;
  /// Rows and columns of a stage, elements between rows and between stages.
  int64_t rows = 0, cols = 0, pitch = 0, stageStride = 0;
  /// The swizzle in bytes (attn.shared_buffer's `swizzle`; 0: rows at
  /// `pitch`): the layout wgmma's descriptors read.
  int64_t swizzle = 0;
};

/// Tensor-core path: a tile read from a buffer stage (attn.read_stage).
struct StagedTile {
  SharedBuffer buffer;
  /// C++ expression of the stage's first element.
  std::string base;
  /// The tile's sizes per dimension (C++ expressions).
  SmallVector<std::string> sizes;
};

/// A tensor in global memory.
struct View {
  std::string ptr, extent, elemType;
  Type elem;
  SmallVector<std::string> offsets, strides, sizes;
  /// A view of paged k or v (CudaEmitOptions::pagedKv): its key dimension,
  /// whose rows are found through the block table (paged_row_offset), and
  /// the elements per page; -1 otherwise.
  int pagedDim = -1;
  std::string pageStride;
  /// The element offset of element `index` along `pagedDim` (offsets
  /// included) when this is a paged view.
  std::string pagedRowOffset(const std::string &index) const;
};

/// Writes C++ with indentation.
class Writer {
public:
  void line(const Twine &text) {
    out.append(indent * 2, ' ');
    out += text.str();
    out += '\n';
  }
  void open(const Twine &text) {
    line(text + " {");
    ++indent;
  }
  /// line() of a fmt format string (checked at compile time).
  template <typename... Args>
  void linef(fmt::format_string<Args...> format, Args &&...args) {
    line(fmt::format(format, std::forward<Args>(args)...));
  }
  /// open() of a fmt format string.
  template <typename... Args>
  void openf(fmt::format_string<Args...> format, Args &&...args) {
    open(fmt::format(format, std::forward<Args>(args)...));
  }
  void close(StringRef suffix = "") {
    --indent;
    line("}" + suffix);
  }
  /// Closes the then-branch of an open `if` and opens its else-branch.
  void elseBranch() {
    --indent;
    line("} else {");
    ++indent;
  }
  /// Opens a bare scope.
  void openScope() {
    line("{");
    ++indent;
  }
  std::string out;
  unsigned indent = 0;
};

/// "a + b" with "0" folded away.
inline std::string addExpr(const std::string &a, const std::string &b) {
  if (a == "0")
    return b;
  if (b == "0")
    return a;
  return "(" + a + " + " + b + ")";
}

/// "a * b" with "1" and "0" folded away.
inline std::string mulExpr(const std::string &a, const std::string &b) {
  if (a == "0" || b == "0" || a == "0LL" || b == "0LL")
    return "0";
  if (a == "1")
    return b;
  if (b == "1")
    return a;
  return a + " * " + b;
}

/// C++ spelling of a float constant (the registry's).
using regionops::floatLiteral;

/// The C++ type holding a scalar of `type` in registers (the registry's).
inline std::optional<std::string> cType(Type type, bool isUnsigned = false) {
  return regionops::cppType(type, isUnsigned);
}

/// The C++ type of an element in memory.
inline std::optional<std::string> memType(Type type) {
  if (type.isF16())
    return std::string("f16");
  if (type.isBF16())
    return std::string("bf16");
  return cType(type);
}

/// For each destination dimension of `op`, the source dimension inserted
/// there, or -1 for a unit dimension the (rank-reduced) source lacks.
SmallVector<int> insertedDims(tensor::InsertSliceOp op);

/// The emitter of one function.
class KernelEmitter {
public:
  /// `tensorCores` selects the tensor-core path (see MmaEmitter.cpp).
  KernelEmitter(func::FuncOp func, const CudaEmitOptions &options,
                bool tensorCores, KernelRole role = KernelRole::Whole)
      : func(func), options(options), role(role), mma(tensorCores) {}

  /// The split loop (attn.grid = "s") of a split-KV function, or null.
  static scf::ForOp findSplitLoop(func::FuncOp func);
  /// The captures whose tile_class reads use summaries (CudaPlan). In a
  /// varlen plan a capture packed like the sequences is not summarised (its
  /// blocks do not start where the sequences do): its reads are unknown to
  /// the classifier, which only makes tiles partial.
  static SmallVector<unsigned> summarizedCaptures(func::FuncOp func,
                                                  bool varlen);
  /// Varlen plans: the dimensions of function argument `a` (q, k, v, then
  /// the captures) packed along the sequences, with whether they follow
  /// the keys' starts (else the queries'). q: dimension 2 (queries); k, v:
  /// 2 (keys); a capture without a "b" entry in attn.dims: its dynamic
  /// "nq" and "nk" dimensions.
  static SmallVector<std::pair<int64_t, bool>> varlenPackedDims(
      func::FuncOp func, unsigned a);

  FailureOr<CudaKernel> run();

private:
  // Setup.
  LogicalResult collectGrid();
  LogicalResult resolveOutputs();
  void declareParams();
  /// Varlen and paged-KV plans: refuses what the sequence prologue cannot
  /// serve (a varlen split-KV function, a batch that is not the outermost
  /// grid loop, a static batch or length the sequences would set, a
  /// capture packed along keys that are paged).
  LogicalResult checkSequenceLayout();
  /// Varlen and paged-KV plans: the kernel's first lines, which copy the
  /// parameters and rebase them on CTA z's sequence (Sequences.cpp).
  void emitSequencePrologue();
  View argView(unsigned argIndex);
  View outputView(unsigned resultIndex);

  // Walking.
  LogicalResult emitBlock(Block &block,
                          function_ref<LogicalResult(scf::YieldOp)> onYield);
  LogicalResult emitOp(Operation &op);
  LogicalResult emitGridLoop(scf::ForOp loop);
  LogicalResult emitSerialLoop(scf::ForOp loop);
  LogicalResult emitIf(scf::IfOp op);
  LogicalResult emitScalarOp(Operation &op);
  LogicalResult emitTensorOp(Operation &op);
  LogicalResult emitTileClass(TileClassOp op);
  LogicalResult emitMap(MapOp op);
  LogicalResult emitReduce(ReduceOp op);
  LogicalResult emitContract(ContractOp op);
  LogicalResult emitInsertSlice(tensor::InsertSliceOp op);
  LogicalResult emitSplat(tensor::SplatOp op);
  /// The global tensor `v` is (a kernel argument or a view of one), if any.
  std::optional<View> globalView(Value v);
  LogicalResult emitCast(tensor::CastOp op);
  /// `const T x = view[indices];` for a tensor.extract of a global tensor.
  LogicalResult emitScalarRead(tensor::ExtractOp extract, const View &view);
  /// Declares the tile of an attn op's result, its sizes from `inputs`.
  FailureOr<Tile *> declareResultTile(Operation *op, Value result,
                                      const Equation &eq,
                                      ArrayRef<Value> inputs);
  /// The SIMT loop nest of a reduction into `t` (attn.reduce and
  /// attn.contract): loops over the output's array letters, an accumulator,
  /// loops over the reduced letters around `element` (the combined input
  /// element at the loops' indices), and the store of the accumulator.
  LogicalResult emitSimtReduction(
      Operation *op, const Tile &t, const Equation &eq, ArrayRef<Value> inputs,
      ReduceKind kind,
      function_ref<FailureOr<std::string>(const llvm::StringMap<std::string> &)>
          element);

  // Values.
  std::string fresh(StringRef prefix) {
    return (prefix + Twine(counter++)).str();
  }
  std::optional<std::string> scalar(Value v);
  FailureOr<std::string> ofr(Operation *op, OpFoldResult r);
  std::optional<std::string> letters(Value v);
  std::optional<std::string> lettersImpl(Value v, DenseSet<Value> &seen);
  FailureOr<Tile> tileFor(Operation *op, Value v, StringRef letterHint = "");
  void declareTile(const Tile &t);
  void copyTile(const Tile &dst, const Tile &src);
  FailureOr<std::string> elementAccess(Operation *op, Value v, StringRef term,
                                       const llvm::StringMap<std::string> &idx);
  std::string loadView(const View &view, ArrayRef<std::string> index);
  /// Size of `letter` from the first of `operands` (with `terms`) having it.
  FailureOr<std::string> letterSize(Operation *op, char letter,
                                    ArrayRef<Value> operands,
                                    ArrayRef<std::string> terms,
                                    std::optional<int64_t> &staticSize);
  /// Opens the loop over `letter` (binding its index in `idx`); returns
  /// the scopes opened (two for the lane letter: its slots, and the guard
  /// of the lane's element).
  unsigned openLetterLoop(char letter, const std::string &size,
                          std::optional<int64_t> staticSize,
                          llvm::StringMap<std::string> &idx,
                          int64_t maxUnroll = kMaxUnrollArray);
  /// The subscript of dimension `d` of tile `t` at index `index`.
  std::string storageSubscript(const Tile &t, int d,
                               const std::string &index) const;
  /// The SIMT merge kernel's lane letter (see laneLetter), or 0.
  char chooseLaneLetter() const;
  void bindGridLetters(llvm::StringMap<std::string> &idx, StringRef term);
  LogicalResult assign(Operation *op, Value dst, Value src);
  LogicalResult emitRegionBody(Block &body, unsigned numIndexArgs,
                               ArrayRef<std::string> indexArgs,
                               ArrayRef<std::string> inputArgs,
                               ValueRange captures, std::string &result);
  /// The tc:: interval code of a tile_class region (its operands b, h, nq,
  /// nk as C++ expressions, `tcT` the tile in scope), each op's transfer
  /// function inline or, with `noinlineCalls`, called; returns the name of
  /// the yielded value's tc::Val.
  FailureOr<std::string> emitTileClassBody(TileClassOp op, const std::string &b,
                                           const std::string &h,
                                           const std::string &nq,
                                           const std::string &nk,
                                           bool noinlineCalls);

  // Large regions as functions of their own (Outline.cpp).
  /// A located error when `body` has more ops than the emitter compiles.
  LogicalResult checkRegionSize(Block &body) const;
  /// Whether `body` is emitted once as a function and called: a large region
  /// whose captured tensors are kernel arguments.
  bool shouldOutline(Block &body, ValueRange captures);
  /// A map region's scalar code, inline or as a call of its outlined
  /// function; `result` is the value's C++ expression.
  LogicalResult emitRegion(Block &body, ArrayRef<std::string> indexArgs,
                           ArrayRef<std::string> inputArgs, ValueRange captures,
                           std::string &result);
  /// The call of `op`'s outlined classification for the tile `tile` (a
  /// tc::Tile initializer).
  FailureOr<std::string> outlinedTileClassCall(TileClassOp op,
                                               const std::string &tile,
                                               const std::string &b,
                                               const std::string &h,
                                               const std::string &nq,
                                               const std::string &nk);
  /// Emits a function `retType name(const Params &p, params...)` whose body
  /// `body` writes (returning the result expression), into outlinedText; the
  /// scalar `captures` are extra parameters, bound while the body is written.
  FailureOr<std::string>
  outlineFunction(Block &key, StringRef retType,
                  ArrayRef<std::string> params, ValueRange captures,
                  function_ref<FailureOr<std::string>()> body);
  int64_t kvCapacity() const { return kvSteps.empty() ? -1 : kvSteps.back(); }
  /// Extents of a tile's per-thread storage array (empty: a scalar).
  SmallVector<int64_t> storageDims(const Tile &t) const;
  /// Opens unrolled loops over every element of `t`'s storage, binding
  /// `idx` and the current-element state; returns the number opened.
  unsigned openStorageLoops(const Tile &t, StringRef letters,
                            llvm::StringMap<std::string> &idx);

  /// Whether dimension `d` of `t` is known to fill its storage (a constant
  /// size at least the storage's extent: block_m rows, the fragment
  /// columns' capacity), so no element of it needs a guard.
  bool fillsStorage(const Tile &t, int d) const;

  // Tensor-core path (MmaEmitter.cpp).
  /// Reads the decided schedule: path, warps, rows per warp, unroll.
  LogicalResult readSchedule();
  LogicalResult checkMmaTypes();
  /// With col_groups > 1: the tile values whose fragment columns are split
  /// over a row group's warps (splitTiles): the accumulators of the
  /// contractions over a staged operand's columns (P·V) and every tile
  /// their columns flow to or from. A located error for an op that reduces
  /// over split columns (the printer cannot split it).
  LogicalResult collectSplitTiles();
  /// S = Q·Kᵀ with its key columns split over a row group's warps: each
  /// warp's n-tiles, then the whole tile through shared memory into `t`.
  LogicalResult emitSplitColumnsExchange(ContractOp op, const Tile &t,
                                         const std::string &part,
                                         int64_t xSize, bool accumulate);
  void emitMmaThreadIndices();
  /// The schedule's ops (attn.shared_buffer, async copies and waits,
  /// barriers, staged reads, register-resident operands), one line or loop
  /// each: the printer lowers what the schedule passes decided.
  LogicalResult emitScheduleOp(Operation &op);
  LogicalResult emitMmaMap(MapOp op, Tile &t, const Equation &eq);
  /// True when `op`'s region must not run on a ragged tile's padding (it
  /// reads memory or could trap); see MmaEmitter.cpp.
  bool mapNeedsGuard(MapOp op) const;
  /// The padding the consumers of `v` (a tile over the key columns) want:
  /// -inf for a max over the keys, 0 for a sum or the P operand of a
  /// contraction, Unknown when none of them reads it. Looks through the
  /// scf.if results it is yielded to.
  Pad wantedPad(Value v) const;
  /// The columns of fragment tile `p` a reader of its padding must treat as
  /// valid (the rest read as 0): all of them when the padding is 0.
  std::string columnsToRead(const Tile &p) const;
  LogicalResult emitMmaReduce(ReduceOp op, Tile &t, const Equation &eq);
  LogicalResult emitMmaContract(ContractOp op, const Tile &t,
                                const Equation &eq, bool accumulate);
  /// The wgmma form of a contraction: `target` (+)= A · B with B the staged
  /// tile `s` (K-major when `nMajor`, else MN-major) read through swizzled
  /// descriptors, in pieces of wgmma's N. A is `aShared` (a staged tile in
  /// a swizzled buffer, read through a descriptor: the ss form) or
  /// registers: `emitA` prints k-step kk's A fragments (nothing when
  /// `aResident`: they are registers already) and returns their
  /// expression. The accumulators land in `target` at the wait.
  LogicalResult emitWgmmaContract(ContractOp op, const std::string &target,
                                  const StagedTile &s, bool nMajor,
                                  int64_t rSize, int64_t xSize, bool accumulate,
                                  bool aResident, const StagedTile *aShared,
                                  llvm::function_ref<std::string()> emitA);
  /// The map a contraction marked attn.accumulate adds onto (its one user).
  static MapOp accumulatingMap(ContractOp op);
  /// Declares the running exponents of `loop`'s accumulating range-scaled
  /// contractions (before the loop) and brings their accumulators back to
  /// true units (after it).
  void declareRangeScales(scf::ForOp loop);
  /// `int name[mTiles][2]`, every exponent kNoExponent.
  void declareRowExponents(const std::string &name);
  void finishRangeScales(scf::ForOp loop);
  /// Emits the range-scale update of `op`'s row tile `p` (and the rescale of
  /// the accumulator `t`); returns the packing factors and exponents.
  std::pair<std::string, std::string>
  emitRangeScaleUpdate(ContractOp op, const Tile &p, const Tile &t,
                       bool accumulate);
  /// Stores a 2-byte fragment tile after the KV loop through shared memory
  /// with 16-byte global stores; false (nothing emitted) where it does not
  /// apply.
  bool emitMmaStoreThroughShared(tensor::InsertSliceOp op, const View &view,
                                 const Tile &tile);
  LogicalResult emitMmaInsertSlice(tensor::InsertSliceOp op, const View &view,
                                   const Tile &tile);
  std::string mmaGuard(const Tile &t, StringRef letters,
                       const llvm::StringMap<std::string> &idx) const;
  std::string viewBase(const View &v) const;

  func::FuncOp func;
  const CudaEmitOptions &options;
  Writer w;
  unsigned counter = 0;

  SmallVector<scf::ForOp> gridLoops;
  std::string rowLetter;
  std::string gridLetters;
  int64_t blockM = 0;
  SmallVector<int64_t> kvSteps;

  DenseMap<Value, std::string> scalars;
  DenseMap<Value, View> views;
  DenseMap<Value, Tile> tiles;
  /// tensor.empty ops that are outputs: result index and reassociation of
  /// the collapse on their way to the return (empty when none).
  DenseMap<Operation *, std::pair<unsigned, SmallVector<ReassociationIndices>>>
      outputs;
  std::vector<ParamField> params;

  // Split-KV plans.
  KernelRole role;
  scf::ForOp splitLoop;
  int64_t splits = 1;
  /// The split count in the kernel's source: "<splits>LL", or "p.S" when it
  /// is chosen at launch (attn.kv_splits; then splits = 0).
  std::string splitsExpr = "1LL";
  /// The tensor.empty ops the split loop's values start from.
  llvm::SmallPtrSet<Operation *, 4> workspaces;
  /// Workspaces: one per split-loop value, numbered as the loop's inits.
  unsigned workspaceCount = 0;
  /// Set once the partial-state kernel has emitted its split loop: the rest
  /// of the function is the merge kernel's.
  bool splitDone = false;
  /// The SIMT merge kernel runs one warp per query row: this letter (the
  /// value features, static, never reduced) is spread over the warp's
  /// lanes, so its workspace reads and output stores are coalesced; 0:
  /// one thread per row.
  char laneLetter = 0;
  /// The lane letter's open loop indices -> their slot variables.
  llvm::StringMap<std::string> laneSlots;
  LogicalResult emitSplitLoop(scf::ForOp loop);

  // Tile summaries of captured tensors read by masks.
  /// Capture numbers whose reads in tile_class regions use summaries.
  SmallVector<unsigned> summarized;
  void collectSummarized();
  /// The whole TileSummaries kernel body.
  LogicalResult emitSummaryKernelBody();
  /// The abstract value of a summarised capture's read in a tile_class
  /// region (declared first: the element itself when the indices are one
  /// position, else the summaries' range), or none.
  std::optional<std::string> summaryRead(TileClassOp op,
                                         tensor::ExtractOp extract,
                                         ArrayRef<std::string> indices);
  View workspaceView(tensor::EmptyOp empty, unsigned number);

  // Outlined regions: region block -> function name, and the functions'
  // text, which precedes the kernel.
  DenseMap<Block *, std::string> outlined;
  unsigned outlinedFunctions = 0;
  std::string outlinedText;
  std::string kernelName, paramsType;

  // Tensor-core path state.
  bool mma;
  /// The mma input type: "f16" or "bf16".
  std::string mmaElem;
  int64_t warps = 0;
  /// The contractions run on wgmma (the schedule's `wgmma`: sm_90a, whole
  /// warpgroups of 16-row warps).
  bool wgmma = false;
  /// The two warpgroups take turns on the tensor cores (the schedule's
  /// `pingpong`): named barriers around every wgmma contraction.
  bool pingpong = false;
  /// TMA (wgmma schedules): the K/V copies printed as TMA loads, each
  /// mapped to its argument (1: k, 2: v), and per argument its map's
  /// parameter field, the kernel's test that TMA can address the tensor
  /// (tma_view_ok: else the copy runs on cp.async), and the box.
  struct TmaMap {
    std::string field, ready;
    int64_t boxRows = 0, boxCols = 0, cols = 0;
  };
  DenseMap<Operation *, unsigned> tmaCopies;
  std::map<unsigned, TmaMap> tmaMaps;
  /// The mbarriers the commit groups complete on (0: no TMA): group g on
  /// slot g % tmaSlots, phase g / tmaSlots.
  int64_t tmaSlots = 0;
  /// The barriers right after a wait in a TMA kernel: they make cp.async
  /// and plain stage writes the CTA's, which TMA's boxes do not need (their
  /// mbarrier wait makes them visible to each waiter), so they run only
  /// while a group with such writes (the Q tile, the fallback) is not yet
  /// published by one.
  DenseSet<Operation *> tmaVisibilityBarriers;
  /// Finds the copies TMA can make (collectTmaCopies' rule) before the
  /// parameters are declared.
  void collectTmaCopies();
  /// The kernel-entry text a TMA kernel needs: its mbarrier ring at
  /// `offset` of attnSmem, initialised, the group counters, the ready flags.
  std::string tmaPrologue(int64_t offset);
  /// Warps sharing a row group's rows, each with a slice of its columns
  /// (the schedule's col_groups); 1: a warp owns its rows' whole tiles.
  int64_t colGroups = 1;
  /// Tile values held as column slices (collectSplitTiles).
  DenseSet<Value> splitTiles;
  /// The end of the shared buffers declared so far (the S exchange buffer
  /// goes after them).
  int64_t buffersEnd = 0;
  /// Query rows a warp owns (16-row mma tiles: mTiles of them), and the KV
  /// loops' unroll factor, from the schedule.
  int64_t rowsPerWarp = 16, mTiles = 1, kvUnroll = 1;
  /// CTA threads (blockM on the SIMT path, 32 x warps on the mma path).
  int64_t threads = 0;
  /// Dynamic shared memory the kernel needs (max over its KV loops).
  int64_t smemBytes = 0;
  /// Bytes of every per-thread array declared (declareTile), and the
  /// largest one with its C++ type, for kMaxThreadArrayBytes.
  uint64_t arrayBytes = 0, largestArrayBytes = 0;
  std::string largestArray;
  /// Shared buffers and the staged tiles read from them.
  DenseMap<Value, SharedBuffer> buffers;
  DenseMap<Value, StagedTile> stagedTiles;
  /// Operands held in A fragments (attn.load_fragments): value -> the
  /// fragment array [mTiles][k-steps][4].
  DenseMap<Value, std::string> aFragments;
  /// Contractions deferred into the map that accumulates them.
  DenseMap<Value, ContractOp> deferredContracts;
  /// Range-scaled accumulating contractions of the open KV loops: running
  /// exponent variable and the loop-carried value it scales.
  DenseMap<Operation *, std::pair<std::string, unsigned>> rangeScales;
  /// The innermost open storage loop: the m-tile, the row slot and fragment
  /// subscript expressions, and the letter held as fragment columns (0:
  /// none).
  std::string curMTile, curRowSlot, curFragSub;
  char curColLetter = 0;
  /// Whether the open storage loop walks a column slice (Tile::colSplit).
  bool curColSplit = false;
};

} // namespace attn::codegen::detail

#endif // ATTN_CODEGEN_LIB_KERNELEMITTER_H
