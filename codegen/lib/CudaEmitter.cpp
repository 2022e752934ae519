//===- CudaEmitter.cpp - kernel IR to CUDA C++ (SIMT path) ----------------===//
//
// A visitor over one kernel-IR function that writes CUDA C++ (see
// CudaEmitter.h for the kernel's shape). Every IR value becomes one of:
//  - a scalar: a C++ expression (usually a `const` local) of an arith type;
//  - a view: a tensor in global memory (a kernel argument or a slice of one):
//    base pointer, extent, and per-dimension offset, stride and size;
//  - a tile: a per-thread value. Its storage follows its letters: grid
//    letters are scalars (the Q tile's letter is the thread's own row), other
//    letters are array dimensions (static sizes; the KV letter's capacity is
//    the KV loop's step).
// attn.map / attn.reduce / attn.contract become loop nests over the array
// letters of their output with the scalar region inlined; scf.for / scf.if
// become C++ loops and branches writing the results' storage; the grid loops
// become blockIdx-derived indices; attn.tile_class becomes straight-line
// calls into attn/device/tile_class.h.
//
//===----------------------------------------------------------------------===//
#include "KernelEmitter.h"
#include "attn/Codegen/Nvrtc.h"
#include "attn/Codegen/Schedule.h"
#include "attn/Dialect/KernelAttrs.h"
#include "attn/Dialect/RegionOps.h"
#include "attn/device/tile_class.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <limits>
#include <map>
#include <optional>

using namespace mlir;
using namespace attn;
using attn::codegen::CudaEmitOptions;
using attn::codegen::CudaKernel;
using attn::codegen::EmitDebug;
using attn::codegen::ParamField;
using attn::codegen::CudaPlan;
using attn::codegen::KernelRole;

bool attn::codegen::parseEmitDebug(StringRef text, EmitDebug &out) {
  std::optional<EmitDebug> d =
      llvm::StringSwitch<std::optional<EmitDebug>>(text)
          .Case("none", EmitDebug::None)
          .Case("fragment-index", EmitDebug::FragmentIndex)
          .Case("v-untransposed", EmitDebug::VUntransposed)
          .Case("early-wait", EmitDebug::EarlyWait)
          .Case("exchange-no-barrier", EmitDebug::ExchangeNoBarrier)
          .Default(std::nullopt);
  if (d)
    out = *d;
  return d.has_value();
}

namespace attn::codegen::detail {

//===----------------------------------------------------------------------===//
// Setup
//===----------------------------------------------------------------------===//

LogicalResult KernelEmitter::collectGrid() {
  func.walk<WalkOrder::PreOrder>([&](scf::ForOp loop) {
    if (GridAttr g = getGrid(loop))
      if (g.getRole() != GridRole::Split)
        gridLoops.push_back(loop);
  });
  splitLoop = findSplitLoop(func);
  if (splitLoop && role == KernelRole::Whole)
    return splitLoop.emitError("CUDA emitter: a split-KV function is a "
                               "two-kernel launch plan (emitCudaPlan)");
  if (!splitLoop && (role == KernelRole::SplitPartials ||
                     role == KernelRole::SplitMerge))
    return func.emitError("CUDA emitter: no split loop (a grid loop with "
                          "role split)");
  if (splitLoop) {
    auto lb = getConstantIntValue(splitLoop.getLowerBound());
    auto ub = getConstantIntValue(splitLoop.getUpperBound());
    auto step = getConstantIntValue(splitLoop.getStep());
    bool atLaunch = splitLoop.getUpperBound().getDefiningOp<KvSplitsOp>();
    if (!lb || !step || *lb != 0 || *step != 1 ||
        !(atLaunch || (ub && *ub > 0)))
      return splitLoop.emitError("CUDA emitter: the split loop must run "
                                 "from 0 by 1 to a constant or to "
                                 "attn.kv_splits");
    splits = atLaunch ? 0 : *ub;
    splitsExpr = atLaunch ? "p.S" : std::to_string(splits) + "LL";
    for (Value init : splitLoop.getInitArgs()) {
      auto empty = init.getDefiningOp<tensor::EmptyOp>();
      if (!empty)
        return splitLoop.emitError("CUDA emitter: a split loop value does "
                                   "not start from a tensor.empty");
      // The workspace layout (workspaceView, workspaceElementsPerCta):
      // splits x one dynamic row dimension x static features.
      auto type = empty.getType();
      if (type.getNumDynamicDims() != 1 + (type.isDynamicDim(0) ? 1 : 0))
        return empty.emitError("CUDA emitter: a split-KV workspace needs "
                               "exactly one dynamic (row) dimension after "
                               "the splits");
      // One workspace per running value, even where CSE left several of
      // them starting from one tensor.empty (two attention ops' maxima).
      workspaces.insert(empty);
      ++workspaceCount;
    }
  }
  if (gridLoops.empty())
    return func.emitError("CUDA emitter: no grid loops (attn.grid) in '@")
           << func.getSymName()
           << "'; run attn-tile, attn-online and attn-fuse first";
  for (size_t k = 1; k < gridLoops.size(); ++k)
    if (gridLoops[k]->getParentOp() != gridLoops[k - 1].getOperation())
      return gridLoops[k].emitError(
          "CUDA emitter: grid loops must be perfectly nested");
  for (scf::ForOp loop : gridLoops)
    gridLetters += gridLetter(loop);
  scf::ForOp inner = gridLoops.back();
  if (getGrid(inner).getRole() != GridRole::Rows)
    return inner.emitError("CUDA emitter: the innermost grid loop must be "
                           "the Q-tile loop (role rows)");
  rowLetter = std::string(1, gridLetter(inner));
  auto step = getConstantIntValue(inner.getStep());
  if (!step || *step <= 0 || *step > kMaxThreadsPerCta)
    return inner.emitError("CUDA emitter: the Q-tile loop (block-m, "
                           "attn-tile) needs a constant step in [1, ")
           << kMaxThreadsPerCta << "] (one thread per row)";
  blockM = *step;
  if (ScheduleAttr schedule = getSchedule(gridLoops.front()))
    if (schedule.getBlockM() != blockM)
      return inner.emitError("CUDA emitter: the schedule's block_m = ")
             << schedule.getBlockM() << " but the Q-tile loop steps by "
             << blockM;
  return success();
}

scf::ForOp KernelEmitter::findSplitLoop(func::FuncOp func) {
  scf::ForOp found;
  func.walk([&](scf::ForOp loop) {
    if (GridAttr g = getGrid(loop))
      if (g.getRole() == GridRole::Split)
        found = loop;
  });
  return found;
}

/// A split-KV workspace is [CTA][split][row][features] in f32, one CTA slot
/// per CTA of the merge grid, so both kernels find a Q tile's values without
/// knowing how the grid maps heads.
View KernelEmitter::workspaceView(tensor::EmptyOp empty, unsigned number) {
  RankedTensorType type = empty.getType();
  View v;
  v.elem = Float32Type::get(func.getContext());
  v.elemType = "float";
  v.ptr = "p.ws" + std::to_string(number);
  v.extent = v.ptr + "_extent";
  std::string y = role == KernelRole::SplitPartials
                      ? "((long long)blockIdx.y / " + splitsExpr + ")"
                      : "(long long)blockIdx.y";
  std::string gridY = role == KernelRole::SplitPartials
                          ? "((long long)gridDim.y / " + splitsExpr + ")"
                          : "(long long)gridDim.y";
  std::string slot = fresh("wsSlot");
  w.linef("const long long {} = ((long long)blockIdx.z * {} + {}) * "
          "(long long)gridDim.x + (long long)blockIdx.x;",
          slot, gridY, y);
  // Strides from the innermost dimension out: features, then rows (blockM
  // of them per slot), unit dimensions 0, and the split dimension first.
  int64_t rank = type.getRank();
  v.offsets.assign(rank, "0");
  v.strides.assign(rank, "0");
  v.sizes.assign(rank, "1");
  int64_t stride = 1;
  unsigned dynamic = 0;
  SmallVector<std::string> dynamicSizes;
  for (Value size : empty.getDynamicSizes())
    dynamicSizes.push_back(*scalar(size)); // checked by the caller
  for (int64_t d = 0; d < rank; ++d)
    if (type.isDynamicDim(d))
      v.sizes[d] = dynamicSizes[dynamic++];
    else
      v.sizes[d] = std::to_string(type.getDimSize(d));
  // (A launch-time split count is the one other dynamic size: dimension 0.)
  for (int64_t d = rank - 1; d >= 1; --d) {
    if (type.isDynamicDim(d)) {
      v.strides[d] = std::to_string(stride) + "LL";
      stride *= blockM;
    } else if (type.getDimSize(d) != 1) {
      v.strides[d] = std::to_string(stride) + "LL";
      stride *= type.getDimSize(d);
    }
  }
  v.strides[0] = std::to_string(stride) + "LL";
  v.offsets[0] = "(" + slot + " * " + splitsExpr + ")";
  return v;
}

LogicalResult KernelEmitter::emitSplitLoop(scf::ForOp loop) {
  // Its values live in the workspaces, the k-th value in workspace k.
  for (auto [k, init, arg, res] :
       llvm::enumerate(loop.getInitArgs(), loop.getRegionIterArgs(),
                       loop.getResults())) {
    auto empty = init.getDefiningOp<tensor::EmptyOp>();
    if (!empty || !workspaces.count(empty))
      return loop.emitError("CUDA emitter: split loop value without a "
                            "workspace");
    View workspace = workspaceView(empty, k);
    views[arg] = workspace;
    views[res] = workspace;
  }
  if (role == KernelRole::SplitMerge) {
    w.line("// The splits' values, written by the partial-state kernel.");
    return success();
  }
  std::string iv = fresh("g");
  w.line("// grid letter 's': the KV split");
  w.linef("const long long {} = (long long)blockIdx.y % {};", iv, splitsExpr);
  scalars[loop.getInductionVar()] = iv;
  if (failed(emitBlock(*loop.getBody(),
                       [](scf::YieldOp) { return success(); })))
    return failure();
  splitDone = true;
  return success();
}

LogicalResult KernelEmitter::resolveOutputs() {
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  for (auto [r, value] : llvm::enumerate(ret.getOperands())) {
    Value v = value;
    SmallVector<ReassociationIndices> reassoc;
    while (true) {
      Operation *def = v.getDefiningOp();
      if (auto loop = dyn_cast_or_null<scf::ForOp>(def)) {
        v = loop.getInitArgs()[cast<OpResult>(v).getResultNumber()];
        continue;
      }
      if (auto collapse = dyn_cast_or_null<tensor::CollapseShapeOp>(def)) {
        if (!reassoc.empty())
          return collapse.emitError("CUDA emitter: nested collapse_shape");
        reassoc = collapse.getReassociationIndices();
        v = collapse.getSrc();
        continue;
      }
      if (auto empty = dyn_cast_or_null<tensor::EmptyOp>(def)) {
        outputs[empty] = {static_cast<unsigned>(r), reassoc};
        break;
      }
      return ret.emitError("CUDA emitter: result ")
             << r << " does not come from a tensor.empty through the grid";
    }
  }
  if (ret.getNumOperands() < 1 || ret.getNumOperands() > 2)
    return ret.emitError("CUDA emitter: expected results o and optional lse");
  return success();
}

void KernelEmitter::declareParams() {
  using abi::BufferKind;
  using abi::FieldRole;
  using abi::FieldType;
  auto add = [&](std::string name, FieldType type, FieldRole role,
                 BufferKind buffer = BufferKind::None, int64_t index = 0,
                 int64_t dim = 0) {
    params.push_back({std::move(name), type, role, buffer,
                      static_cast<int32_t>(index), static_cast<int32_t>(dim)});
  };
  // A tensor's address, extent and strides (and sizes when the kernel does
  // not take them from B, Hq, Hkv, Nq, Nk).
  struct Tensor {
    std::string name;
    BufferKind buffer;
    unsigned index;
    int64_t rank;
  };
  // lse only when the function returns it: every field is bound by the
  // host packer, none left to a default.
  SmallVector<Tensor> tensors = {{"q", BufferKind::Input, 0, 4},
                                 {"k", BufferKind::Input, 1, 4},
                                 {"v", BufferKind::Input, 2, 4},
                                 {"o", BufferKind::Result, 0, 4}};
  if (func.getNumResults() > 1)
    tensors.push_back({"lse", BufferKind::Result, 1, 3});
  for (const Tensor &t : tensors)
    add(t.name, FieldType::Pointer, FieldRole::Data, t.buffer, t.index);
  for (const Tensor &t : tensors) {
    add(t.name + "_extent", FieldType::Int64, FieldRole::Extent, t.buffer,
        t.index);
    for (int64_t d = 0; d < t.rank; ++d)
      add(t.name + "_s" + std::to_string(d), FieldType::Int64,
          FieldRole::Stride, t.buffer, t.index, d);
  }
  using abi::ProblemSize;
  for (auto [name, size] :
       {std::pair{"B", ProblemSize::B}, {"Hq", ProblemSize::Hq},
        {"Hkv", ProblemSize::Hkv}, {"Nq", ProblemSize::Nq},
        {"Nk", ProblemSize::Nk}})
    add(name, FieldType::Int64, FieldRole::Problem, BufferKind::None, 0,
        static_cast<int64_t>(size));
  // K/V tensor maps: [B, H, N, D] innermost first, a box of one
  // swizzle-wide column block of the tile's rows.
  for (auto &[arg, map] : tmaMaps) {
    add(map.field, FieldType::TensorMap, FieldRole::TensorMap,
        BufferKind::Input, arg);
    params.back().map =
        abi::TensorMapShape{{3, 2, 1, 0},
                            {static_cast<uint32_t>(map.boxCols),
                             static_cast<uint32_t>(map.boxRows), 1, 1},
                            2,
                            static_cast<uint32_t>(map.boxCols * 2)};
  }
  if (splitLoop && splits == 0)
    add("S", FieldType::Int64, FieldRole::KvSplits); // Chosen at launch.
  for (unsigned n = 0; n < workspaceCount; ++n) {
    std::string ws = "ws" + std::to_string(n);
    add(ws, FieldType::Pointer, FieldRole::Data, BufferKind::Workspace, n);
    add(ws + "_extent", FieldType::Int64, FieldRole::Extent,
        BufferKind::Workspace, n);
  }
  if (options.varlen)
    for (auto [name, index] :
         {std::pair{"cu_seqlens_q", 0}, {"cu_seqlens_k", 1}}) {
      // Paged keys take their lengths from seq_lens_k.
      if (index == 1 && options.pagedKv)
        continue;
      add(name, FieldType::Pointer, FieldRole::Data, BufferKind::SeqStarts,
          index);
      add(std::string(name) + "_extent", FieldType::Int64, FieldRole::Extent,
          BufferKind::SeqStarts, index);
    }
  if (options.pagedKv) {
    add("block_table", FieldType::Pointer, FieldRole::Data,
        BufferKind::BlockTable);
    add("block_table_extent", FieldType::Int64, FieldRole::Extent,
        BufferKind::BlockTable);
    add("block_table_s0", FieldType::Int64, FieldRole::Stride,
        BufferKind::BlockTable, 0, 0);
    add("seq_lens_k", FieldType::Pointer, FieldRole::Data,
        BufferKind::SeqLensK);
    add("seq_lens_k_extent", FieldType::Int64, FieldRole::Extent,
        BufferKind::SeqLensK);
    add("page_shift", FieldType::Int64, FieldRole::PageShift);
  }
  for (unsigned n : summarized) {
    std::string sum = "sum" + std::to_string(n);
    add(sum, FieldType::Pointer, FieldRole::Data, BufferKind::Summary, 3 + n);
    add(sum + "_extent", FieldType::Int64, FieldRole::Extent,
        BufferKind::Summary, 3 + n);
  }
  for (unsigned a = 3; a < func.getNumArguments(); ++a) {
    std::string c = "c" + std::to_string(a - 3);
    Type type = func.getArgument(a).getType();
    if (auto tensor = dyn_cast<RankedTensorType>(type)) {
      add(c, FieldType::Pointer, FieldRole::Data, BufferKind::Input, a);
      add(c + "_extent", FieldType::Int64, FieldRole::Extent,
          BufferKind::Input, a);
      for (int64_t d = 0; d < tensor.getRank(); ++d)
        add(c + "_n" + std::to_string(d), FieldType::Int64, FieldRole::Size,
            BufferKind::Input, a, d);
      for (int64_t d = 0; d < tensor.getRank(); ++d)
        add(c + "_s" + std::to_string(d), FieldType::Int64,
            FieldRole::Stride, BufferKind::Input, a, d);
    } else {
      add(c, isa<FloatType>(type) ? FieldType::Float64 : FieldType::Int64,
          FieldRole::Scalar, BufferKind::None, a);
    }
  }
}

/// The whole-tensor view of function argument `a`.
View KernelEmitter::argView(unsigned a) {
  auto type = cast<RankedTensorType>(func.getArgument(a).getType());
  View v;
  v.elem = type.getElementType();
  v.elemType = *memType(v.elem);
  static const char *const qkv[] = {"q", "k", "v"};
  std::string name = a < 3 ? qkv[a] : "c" + std::to_string(a - 3);
  v.ptr = "p." + name;
  v.extent = "p." + name + "_extent";
  static const char *const qSizes[] = {"p.B", "p.Hq", "p.Nq", ""};
  static const char *const kvSizes[] = {"p.B", "p.Hkv", "p.Nk", ""};
  for (int64_t d = 0; d < type.getRank(); ++d) {
    v.offsets.push_back("0");
    v.strides.push_back("p." + name + "_s" + std::to_string(d));
    if (!type.isDynamicDim(d))
      v.sizes.push_back(std::to_string(type.getDimSize(d)));
    else if (a < 3)
      v.sizes.push_back((a == 0 ? qSizes : kvSizes)[d]);
    else
      v.sizes.push_back("p." + name + "_n" + std::to_string(d));
  }
  if (options.pagedKv && (a == 1 || a == 2)) {
    // Pages [num_pages, page_size, Hkv, D] bound as [num_pages, Hkv,
    // page_size, D]: dimension 0's stride is the page's, and the batch
    // index reaches the pages through the (rebased) block table only.
    v.pagedDim = 2;
    v.pageStride = v.strides[0];
    v.strides[0] = "0";
  }
  return v;
}

/// The view of result `r` (o: [B, Hq, Nq, Dv], lse: [B, Hq, Nq]).
View KernelEmitter::outputView(unsigned r) {
  auto type = cast<RankedTensorType>(func.getResultTypes()[r]);
  View v;
  v.elem = type.getElementType();
  v.elemType = *memType(v.elem);
  std::string name = r == 0 ? "o" : "lse";
  v.ptr = "p." + name;
  v.extent = "p." + name + "_extent";
  static const char *const sizes[] = {"p.B", "p.Hq", "p.Nq", ""};
  for (int64_t d = 0; d < type.getRank(); ++d) {
    v.offsets.push_back("0");
    v.strides.push_back("p." + name + "_s" + std::to_string(d));
    v.sizes.push_back(type.isDynamicDim(d) ? sizes[d]
                                           : std::to_string(type.getDimSize(d)));
  }
  return v;
}

/// `view` split per `reassoc` into `type`'s dimensions (the view of an
/// expand_shape): inner dimensions of a group keep the source stride.
static View expandView(const View &src, ArrayRef<ReassociationIndices> reassoc,
                       RankedTensorType type, ArrayRef<std::string> sizes) {
  View v = src;
  v.offsets.assign(type.getRank(), "0");
  v.strides.assign(type.getRank(), "0");
  v.sizes.assign(sizes.begin(), sizes.end());
  v.pagedDim = -1;
  for (auto [s, group] : llvm::enumerate(reassoc)) {
    std::string stride = src.strides[s];
    for (int64_t k = static_cast<int64_t>(group.size()) - 1; k >= 0; --k) {
      v.strides[group[k]] = stride;
      stride = "(" + mulExpr(stride, v.sizes[group[k]]) + ")";
    }
    v.offsets[group.front()] = src.offsets[s];
    // A paged key dimension stays whole (a split one would be refused by
    // its readers, which see pagedDim -1 and a row stride of pages).
    if (static_cast<int>(s) == src.pagedDim && group.size() == 1)
      v.pagedDim = static_cast<int>(group.front());
  }
  return v;
}

//===----------------------------------------------------------------------===//
// Values
//===----------------------------------------------------------------------===//

std::optional<std::string> KernelEmitter::scalar(Value v) {
  auto it = scalars.find(v);
  if (it == scalars.end())
    return std::nullopt;
  return it->second;
}

FailureOr<std::string> KernelEmitter::ofr(Operation *op, OpFoldResult r) {
  if (auto attr = dyn_cast<Attribute>(r))
    return std::to_string(cast<IntegerAttr>(attr).getInt());
  if (auto s = scalar(cast<Value>(r)))
    return *s;
  return op->emitError("CUDA emitter: index operand is not a scalar");
}

/// The letters of a tile value: its producer's equation, or those its users
/// give it (splats and loop-carried values have no equation of their own).
std::optional<std::string> KernelEmitter::letters(Value v) {
  DenseSet<Value> seen;
  return lettersImpl(v, seen);
}

std::optional<std::string> KernelEmitter::lettersImpl(Value v,
                                                      DenseSet<Value> &seen) {
  if (!seen.insert(v).second)
    return std::nullopt;
  auto outputLetters = [](EinsumAttr eq) -> std::optional<std::string> {
    return eq.getOutput().str();
  };
  if (Operation *def = v.getDefiningOp()) {
    if (auto m = dyn_cast<MapOp>(def))
      return outputLetters(m.getEquation());
    if (auto r = dyn_cast<ReduceOp>(def))
      return outputLetters(r.getEquation());
    if (auto c = dyn_cast<ContractOp>(def))
      return outputLetters(c.getEquation());
    if (auto loop = dyn_cast<scf::ForOp>(def))
      if (auto l = lettersImpl(
              loop.getInitArgs()[cast<OpResult>(v).getResultNumber()], seen))
        return l;
    if (auto ifOp = dyn_cast<scf::IfOp>(def))
      if (auto l = lettersImpl(
              ifOp.thenYield().getOperand(cast<OpResult>(v).getResultNumber()),
              seen))
        return l;
  }
  // From the users.
  for (OpOperand &use : v.getUses()) {
    Operation *user = use.getOwner();
    auto fromTerm = [&](EinsumAttr eq,
                        unsigned input) -> std::optional<std::string> {
      if (input < eq.getInputs().size())
        return eq.getInputs()[input].str();
      return std::nullopt;
    };
    std::optional<std::string> l;
    if (auto m = dyn_cast<MapOp>(user)) {
      if (use.getOperandNumber() < m.getInputs().size())
        l = fromTerm(m.getEquation(), use.getOperandNumber());
    } else if (auto r = dyn_cast<ReduceOp>(user)) {
      l = fromTerm(r.getEquation(), 0);
    } else if (auto c = dyn_cast<ContractOp>(user)) {
      l = fromTerm(c.getEquation(), use.getOperandNumber());
    } else if (auto loop = dyn_cast<scf::ForOp>(user)) {
      unsigned n = use.getOperandNumber() - loop.getNumControlOperands();
      l = lettersImpl(loop.getRegionIterArgs()[n], seen);
      if (!l)
        l = lettersImpl(loop.getResult(n), seen);
    } else if (auto y = dyn_cast<scf::YieldOp>(user)) {
      Operation *parent = y->getParentOp();
      if (isa<scf::IfOp, scf::ForOp>(parent))
        l = lettersImpl(parent->getResult(use.getOperandNumber()), seen);
    } else if (auto cast = dyn_cast<tensor::CastOp>(user)) {
      l = lettersImpl(cast.getResult(), seen);
    }
    if (l)
      return l;
  }
  if (auto cast = v.getDefiningOp<tensor::CastOp>())
    return lettersImpl(cast.getSource(), seen);
  return std::nullopt;
}

/// The storage of tile value `v` (not yet declared).
FailureOr<Tile> KernelEmitter::tileFor(Operation *op, Value v,
                                       StringRef letterHint) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type)
    return op->emitError("CUDA emitter: expected a tensor value");
  if (!isa<FloatType>(type.getElementType()))
    return op->emitError("CUDA emitter: per-thread tiles of ")
           << type.getElementType() << " are not supported";
  std::string l = letterHint.str();
  if (l.empty()) {
    auto found = letters(v);
    if (!found)
      return op->emitError("CUDA emitter: cannot tell the letters of a tile "
                           "value (no attn op defines or uses it)");
    l = *found;
  }
  if (static_cast<int64_t>(l.size()) != type.getRank())
    return op->emitError("CUDA emitter: letters '")
           << l << "' do not match the rank of " << type;
  Tile t;
  t.var = fresh("t");
  for (auto [d, c] : llvm::enumerate(l)) {
    bool launchSplits = splitLoop && splits == 0 && type.isDynamicDim(d) &&
                        c == gridLetter(splitLoop);
    if (std::string(1, c) == rowLetter) {
      t.roles.push_back(Role::Row);
      t.caps.push_back(1);
    } else if (gridLetters.find(c) != std::string::npos) {
      t.roles.push_back(Role::Unit);
      t.caps.push_back(1);
    } else if (!type.isDynamicDim(d)) {
      t.roles.push_back(Role::Array);
      t.caps.push_back(type.getDimSize(d));
    } else if (launchSplits) {
      // The merge's per-split values: as many as the launch's splits.
      t.roles.push_back(Role::Array);
      t.caps.push_back(kMaxLaunchKvSplits);
    } else {
      if (kvCapacity() <= 0)
        return op->emitError("CUDA emitter: dynamic tile dimension '")
               << c << "' outside a KV loop with a constant step";
      t.roles.push_back(Role::Array);
      t.caps.push_back(kvCapacity());
    }
    t.sizes.push_back(!type.isDynamicDim(d)
                          ? std::to_string(type.getDimSize(d))
                          : (launchSplits ? "p.S" : "1"));
    if (laneLetter && c == laneLetter && t.roles.back() == Role::Array)
      t.laneDim = static_cast<int>(d);
  }
  if (!mma)
    return t;
  // Tensor-core path: a tile is per-row values, or rows x one column letter
  // held in the mma accumulator layout (see attn/device/fragment.h).
  for (auto [d, role] : llvm::enumerate(t.roles)) {
    if (role != Role::Array)
      continue;
    if (t.colDim >= 0)
      return op->emitError("CUDA emitter (tensor cores): a tile with two "
                           "column letters ('")
             << l << "')";
    if (t.caps[d] % 8 != 0)
      return op->emitError("CUDA emitter (tensor cores): tile dimension '")
             << l[d] << "' of " << t.caps[d]
             << " is not a multiple of the mma n-tile (8)";
    t.colDim = static_cast<int>(d);
  }
  if (t.colDim >= 0 && splitTiles.contains(v)) {
    // This warp's slice of the row group's columns (col_groups).
    int64_t &cap = t.caps[t.colDim];
    if (cap % (8 * colGroups) != 0)
      return op->emitError("CUDA emitter (tensor cores): tile dimension '")
             << l[t.colDim] << "' of " << cap << " does not split into "
             << colGroups << " warps' whole mma n-tiles (8 columns)";
    cap /= colGroups;
    t.colSplit = true;
  }
  if (t.colDim >= 0 && t.rowDim() < 0)
    return op->emitError("CUDA emitter (tensor cores): a tile over '")
           << l << "' without the query-row letter";
  return t;
}

SmallVector<int64_t> KernelEmitter::storageDims(const Tile &t) const {
  SmallVector<int64_t> dims;
  if (mma) {
    if (t.colDim >= 0)
      dims = {mTiles, t.caps[t.colDim] / 8, 4};
    else if (t.rowDim() >= 0)
      dims = {mTiles, 2};
    return dims;
  }
  for (auto [d, role] : llvm::enumerate(t.roles))
    if (role == Role::Array)
      dims.push_back(static_cast<int>(d) == t.laneDim
                         ? (t.caps[d] + kWarpLanes - 1) / kWarpLanes
                         : t.caps[d]);
  return dims;
}

std::string KernelEmitter::storageSubscript(const Tile &t, int d,
                                            const std::string &index) const {
  if (d != t.laneDim)
    return "[" + index + "]";
  // The lane letter's slot: k of the loop's f = lane + 32 k.
  auto slot = laneSlots.find(index);
  return "[" + (slot != laneSlots.end() ? slot->second
                                        : "(" + index + " >> 5)") +
         "]";
}

/// The equation of a map, reduce or contraction; none for other ops.
static std::optional<Equation> equationIfCascade(Operation *op) {
  if (auto m = dyn_cast<MapOp>(op))
    return m.getEquation().getValue();
  if (auto r = dyn_cast<ReduceOp>(op))
    return r.getEquation().getValue();
  if (auto c = dyn_cast<ContractOp>(op))
    return c.getEquation().getValue();
  return std::nullopt;
}

char KernelEmitter::chooseLaneLetter() const {
  if (mma || role != KernelRole::SplitMerge)
    return 0;
  // Letters some attn op reduces over, and letters with a dynamic size
  // anywhere, cannot be spread over lanes; of the rest (not grid letters),
  // the one of the largest static size of at least a warp.
  std::string reduced, dynamic;
  std::map<char, int64_t> size;
  func::FuncOp walked = func; // walk() is not const
  walked.walk([&](Operation *op) {
    if (!isa<MapOp, ReduceOp, ContractOp>(op))
      return;
    std::optional<Equation> eq;
    if (auto m = dyn_cast<MapOp>(op))
      eq = m.getEquation().getValue();
    else if (auto r = dyn_cast<ReduceOp>(op))
      eq = r.getEquation().getValue();
    else
      eq = cast<ContractOp>(op).getEquation().getValue();
    if (!eq)
      return;
    reduced += eq->reducedLetters();
    SmallVector<Value> values(op->getOperands());
    SmallVector<std::string> terms(eq->inputs.begin(), eq->inputs.end());
    values.push_back(op->getResult(0));
    terms.push_back(eq->output);
    for (auto [v, term] : llvm::zip(values, terms)) {
      auto type = dyn_cast<RankedTensorType>(v.getType());
      if (!type || type.getRank() != static_cast<int64_t>(term.size()))
        continue;
      for (auto [d, c] : llvm::enumerate(term)) {
        if (type.isDynamicDim(d))
          dynamic.push_back(c);
        else
          size[c] = std::max(size[c], type.getDimSize(d));
      }
    }
  });
  char best = 0;
  for (auto [c, n] : size)
    if (n >= kWarpLanes && gridLetters.find(c) == std::string::npos &&
        reduced.find(c) == std::string::npos &&
        dynamic.find(c) == std::string::npos && (!best || n > size[best]))
      best = c;
  // Letters are per op: a consumer that names the lane letter's dimension
  // otherwise (an epilogue map written with 'd' over a cascade's 'f') would
  // index other lanes' slots as its own. No lanes then.
  bool consistent = true;
  walked.walk([&](Operation *op) {
    std::optional<Equation> eq = equationIfCascade(op);
    if (!eq)
      return;
    for (auto [v, term] : llvm::zip(op->getOperands(), eq->inputs)) {
      std::optional<Equation> def =
          v.getDefiningOp() ? equationIfCascade(v.getDefiningOp())
                            : std::nullopt;
      if (!def || def->output.size() != term.size())
        continue;
      for (auto [produced, read] : llvm::zip(def->output, term))
        if ((produced == best) != (read == best))
          consistent = false;
    }
  });
  return consistent ? best : 0;
}

unsigned KernelEmitter::openStorageLoops(const Tile &t, StringRef letters,
                                         llvm::StringMap<std::string> &idx) {
  auto bind = [&](int d, const std::string &e) {
    idx[letters.substr(d, 1)] = e;
  };
  if (t.colDim < 0 && t.rowDim() < 0)
    return 0;
  // The warp's m-tiles (16 rows each), then the fragment's elements.
  std::string mt = fresh("mt");
  w.line("#pragma unroll");
  w.openf("for (int {0} = 0; {0} < {1}; ++{0})", mt, mTiles);
  curMTile = mt;
  if (t.colDim >= 0) {
    std::string nt = fresh("nt"), e = fresh("e");
    w.line("#pragma unroll");
    w.openf("for (int {0} = 0; {0} < {1}; ++{0})", nt, t.caps[t.colDim] / 8);
    w.line("#pragma unroll");
    w.openf("for (int {0} = 0; {0} < 4; ++{0})", e);
    curRowSlot = "(" + e + " >> 1)";
    curFragSub = "[" + mt + "][" + nt + "][" + e + "]";
    curColLetter = letters[t.colDim];
    curColSplit = t.colSplit;
    bind(t.rowDim(),
         "(mRow0 + 16 * " + mt + " + mG + 8 * " + curRowSlot + ")");
    std::string col = "8 * " + nt + " + 2 * mT + (" + e + " & 1)";
    if (t.colSplit)
      col = std::to_string(t.caps[t.colDim]) + " * mColGroup + " + col;
    bind(t.colDim, "(" + col + ")");
    return 3;
  }
  std::string rs = fresh("rs");
  w.line("#pragma unroll");
  w.openf("for (int {0} = 0; {0} < 2; ++{0})", rs);
  curRowSlot = rs;
  curFragSub.clear();
  curColLetter = 0;
  curColSplit = false;
  bind(t.rowDim(), "(mRow0 + 16 * " + mt + " + mG + 8 * " + rs + ")");
  return 2;
}

void KernelEmitter::declareTile(const Tile &t) {
  std::string dims;
  uint64_t bytes = sizeof(float);
  for (int64_t n : storageDims(t)) {
    dims += "[" + std::to_string(n) + "]";
    bytes = llvm::SaturatingMultiply(bytes,
                                     static_cast<uint64_t>(std::max<int64_t>(n, 0)));
  }
  w.linef("float {}{};", t.var, dims);
  // Every declaration counts, whatever its scope: an upper bound on the
  // thread's frame, checked against kMaxThreadArrayBytes at the end.
  arrayBytes = llvm::SaturatingAdd(arrayBytes, bytes);
  if (bytes > largestArrayBytes) {
    largestArrayBytes = bytes;
    largestArray = "float" + dims;
  }
}

void KernelEmitter::copyTile(const Tile &dst, const Tile &src) {
  std::string index;
  unsigned opened = 0;
  for (int64_t n : storageDims(dst)) {
    std::string var = fresh("c");
    // Fragments always stay in registers; SIMT arrays only when small.
    w.linef("#pragma unroll {}", mma || n <= kMaxUnrollArray ? n : 1);
    w.openf("for (int {0} = 0; {0} < {1}; ++{0})", var, n);
    index += "[" + var + "]";
    ++opened;
  }
  w.linef("{0}{1} = {2}{1};", dst.var, index, src.var);
  for (unsigned k = 0; k < opened; ++k)
    w.close();
}

std::string View::pagedRowOffset(const std::string &index) const {
  return "paged_row_offset(p.block_table, p.block_table_extent, "
         "p.page_shift, " +
         pageStride + ", " + strides[pagedDim] + ", " +
         addExpr(offsets[pagedDim], index) + ")";
}

std::string KernelEmitter::loadView(const View &view,
                                    ArrayRef<std::string> index) {
  std::string offset = "0";
  for (auto [d, i] : llvm::enumerate(index))
    offset = addExpr(offset, static_cast<int>(d) == view.pagedDim
                                 ? view.pagedRowOffset(i)
                                 : mulExpr(addExpr(view.offsets[d], i),
                                           view.strides[d]));
  std::string load = "ld_global(" + view.ptr + ", " + offset + ", " +
                     view.extent + ")";
  if (isa<FloatType>(view.elem))
    return "to_float(" + load + ")";
  return load;
}

/// The element of `v` (a tile or a view, indexed through `term`'s letters).
FailureOr<std::string>
KernelEmitter::elementAccess(Operation *op, Value v, StringRef term,
                             const llvm::StringMap<std::string> &idx) {
  auto indexOf = [&](char c) -> std::string {
    auto it = idx.find(StringRef(&c, 1));
    return it == idx.end() ? "0" : it->second;
  };
  if (auto it = tiles.find(v); it != tiles.end()) {
    std::string s = it->second.var;
    if (mma) {
      const Tile &t = it->second;
      if (t.colDim >= 0) {
        if (curFragSub.empty() || term[t.colDim] != curColLetter)
          return op->emitError("CUDA emitter (tensor cores): operand over '")
                 << term << "' read outside a loop over its fragment";
        if (t.colSplit != curColSplit)
          return op->emitError("CUDA emitter (tensor cores): operand over '")
                 << term << "' held as " << (t.colSplit ? "a" : "no")
                 << " column slice, read in a loop over "
                 << (curColSplit ? "a slice" : "whole columns");
        return s + curFragSub;
      }
      if (t.rowDim() >= 0) {
        if (curRowSlot.empty())
          return op->emitError("CUDA emitter (tensor cores): per-row operand "
                               "read outside a loop over rows");
        return s + "[" + curMTile + "][" + curRowSlot + "]";
      }
      return s;
    }
    for (auto [d, role] : llvm::enumerate(it->second.roles))
      if (role == Role::Array)
        s += storageSubscript(it->second, static_cast<int>(d),
                              indexOf(term[d]));
    return s;
  }
  if (auto it = views.find(v); it != views.end()) {
    SmallVector<std::string> index;
    for (char c : term)
      index.push_back(indexOf(c));
    return loadView(it->second, index);
  }
  return op->emitError("CUDA emitter: operand is neither a tile nor a view");
}

FailureOr<std::string> KernelEmitter::letterSize(
    Operation *op, char letter, ArrayRef<Value> operands,
    ArrayRef<std::string> terms, std::optional<int64_t> &staticSize) {
  for (auto [v, term] : llvm::zip(operands, terms)) {
    size_t d = term.find(letter);
    if (d == std::string::npos)
      continue;
    auto type = cast<RankedTensorType>(v.getType());
    if (!type.isDynamicDim(d)) {
      staticSize = type.getDimSize(d);
      return std::to_string(type.getDimSize(d));
    }
    if (auto it = views.find(v); it != views.end())
      return it->second.sizes[d];
    if (auto it = stagedTiles.find(v); it != stagedTiles.end())
      return it->second.sizes[d];
    if (auto it = tiles.find(v); it != tiles.end())
      if (it->second.sizes[d] != "1")
        return it->second.sizes[d];
  }
  return op->emitError("CUDA emitter: no operand gives the size of letter '")
         << letter << "'";
}

unsigned KernelEmitter::openLetterLoop(char letter, const std::string &size,
                                       std::optional<int64_t> staticSize,
                                       llvm::StringMap<std::string> &idx,
                                       int64_t maxUnroll) {
  std::string var = fresh(std::string(1, letter));
  if (letter == laneLetter && staticSize) {
    // The row's warp shares the letter: lane l holds l, l + 32, ...
    int64_t slots = (*staticSize + kWarpLanes - 1) / kWarpLanes;
    std::string slot = fresh("k");
    w.linef("#pragma unroll {}", slots <= kMaxUnroll ? slots : 1);
    w.openf("for (int {0} = 0; {0} < {1}; ++{0})", slot, slots);
    w.linef("const long long {} = lane + {}LL * {};", var, kWarpLanes, slot);
    w.openf("if ({} < {})", var, size);
    idx[StringRef(&letter, 1)] = var;
    laneSlots[var] = slot;
    return 2;
  }
  // Bounded unrolling: full for small static trip counts, none otherwise
  // (fully unrolled KV loops blow up NVRTC compile times).
  if (staticSize && *staticSize <= maxUnroll)
    w.linef("#pragma unroll {}", *staticSize);
  else if (staticSize && maxUnroll == kMaxUnroll &&
           *staticSize % kPartialUnroll == 0)
    w.linef("#pragma unroll {}", kPartialUnroll);
  else
    w.line("#pragma unroll 1");
  w.openf("for (long long {0} = 0; {0} < {1}; ++{0})", var, size);
  idx[StringRef(&letter, 1)] = var;
  return 1;
}

void KernelEmitter::bindGridLetters(llvm::StringMap<std::string> &idx,
                                    StringRef term) {
  for (char c : term) {
    if (std::string(1, c) == rowLetter)
      idx[StringRef(&c, 1)] = "tr";
    else if (gridLetters.find(c) != std::string::npos)
      idx[StringRef(&c, 1)] = "0";
  }
}

/// dst = src for values of the same kind (scalar or tile).
LogicalResult KernelEmitter::assign(Operation *op, Value dst, Value src) {
  if (dst == src)
    return success();
  if (auto d = scalar(dst)) {
    auto s = scalar(src);
    if (!s)
      return op->emitError("CUDA emitter: yielded value is not a scalar");
    if (*d != *s)
      w.linef("{} = {};", *d, *s);
    return success();
  }
  auto dt = tiles.find(dst), st = tiles.find(src);
  if (dt == tiles.end() || st == tiles.end())
    return op->emitError("CUDA emitter: yielded value is not a tile");
  if (dt->second.var != st->second.var)
    copyTile(dt->second, st->second);
  return success();
}

//===----------------------------------------------------------------------===//
// Walking
//===----------------------------------------------------------------------===//

LogicalResult
KernelEmitter::emitBlock(Block &block,
                         function_ref<LogicalResult(scf::YieldOp)> onYield) {
  for (Operation &op : block) {
    if (auto y = dyn_cast<scf::YieldOp>(op)) {
      if (failed(onYield(y)))
        return failure();
      continue;
    }
    if (isa<func::ReturnOp>(op))
      continue;
    // The partial-state kernel ends with its split loop.
    if (splitDone)
      continue;
    if (failed(emitOp(op)))
      return failure();
  }
  return success();
}

LogicalResult KernelEmitter::emitOp(Operation &op) {
  if (auto loop = dyn_cast<scf::ForOp>(op)) {
    if (loop == splitLoop)
      return emitSplitLoop(loop);
    return getGrid(loop) ? emitGridLoop(loop)
                                      : emitSerialLoop(loop);
  }
  if (auto ifOp = dyn_cast<scf::IfOp>(op))
    return emitIf(ifOp);
  if (auto tc = dyn_cast<TileClassOp>(op))
    return emitTileClass(tc);
  if (isa<KvSplitsOp>(op)) {
    scalars[op.getResult(0)] = "p.S";
    return success();
  }
  if (isa<SharedBufferOp, AsyncCopyOp, AsyncCommitOp, AsyncWaitOp, BarrierOp,
          ReadStageOp, LoadFragmentsOp>(op))
    return emitScheduleOp(op);
  if (auto m = dyn_cast<MapOp>(op))
    return emitMap(m);
  if (auto r = dyn_cast<ReduceOp>(op))
    return emitReduce(r);
  if (auto c = dyn_cast<ContractOp>(op))
    return emitContract(c);
  if (op.getDialect() && op.getDialect()->getNamespace() == "tensor")
    return emitTensorOp(op);
  return emitScalarOp(op);
}

/// A grid loop is not a loop: its index comes from blockIdx.
LogicalResult KernelEmitter::emitGridLoop(scf::ForOp loop) {
  size_t k = llvm::find(gridLoops, loop) - gridLoops.begin();
  auto lb = scalar(loop.getLowerBound()), ub = scalar(loop.getUpperBound()),
       step = scalar(loop.getStep());
  if (!lb || !ub || !step)
    return loop.emitError("CUDA emitter: grid loop bounds are not scalars");
  std::string iv = fresh("g");
  std::string letter(1, gridLetter(loop));
  std::string position;
  if (k + 1 == gridLoops.size())
    position = "(long long)blockIdx.x";
  else if (k == 0 && gridLoops.size() >= 3)
    position = "(long long)blockIdx.z";
  else {
    // Middle loops share blockIdx.y, row-major over their trip counts.
    std::string inner = "1";
    for (size_t m = k + 1; m + 1 < gridLoops.size(); ++m) {
      scf::ForOp other = gridLoops[m];
      // Inner head loops may define their constant bounds inside the grid.
      auto u = getConstantIntValue(other.getUpperBound());
      auto l = getConstantIntValue(other.getLowerBound());
      auto s = getConstantIntValue(other.getStep());
      if (u && l && s && *s > 0) {
        inner = mulExpr(inner, std::to_string((*u - *l + *s - 1) / *s));
        continue;
      }
      auto us = scalar(other.getUpperBound()), ls = scalar(other.getLowerBound()),
           ss = scalar(other.getStep());
      if (!us || !ls || !ss)
        return other.emitError("CUDA emitter: grid loop bounds must be "
                               "constants or defined before the grid");
      inner = mulExpr(inner, "((" + *us + " - " + *ls + " + " + *ss +
                                 " - 1) / " + *ss + ")");
    }
    // The partial-state kernel of a split-KV plan has splits x heads CTAs
    // along y, the split fastest.
    std::string blockY = role == KernelRole::SplitPartials
                             ? "((long long)blockIdx.y / " + splitsExpr +
                                   ")"
                             : "(long long)blockIdx.y";
    position = "(" + blockY + " / " + inner + ")";
    std::string trip = "((" + *ub + " - " + *lb + " + " + *step + " - 1) / " +
                       *step + ")";
    bool firstMiddle = (gridLoops.size() >= 3 && k == 1) ||
                       (gridLoops.size() < 3 && k == 0);
    if (!firstMiddle)
      position = "(" + position + " % " + trip + ")";
  }
  w.linef("// grid letter '{}'", letter);
  w.linef("const long long {} = {};", iv, addExpr(*lb, mulExpr(position, *step)));
  w.linef("if ({} >= {}) return;", iv, *ub);
  scalars[loop.getInductionVar()] = iv;
  if (k + 1 == gridLoops.size()) {
    if (mma) {
      // Every thread stays: all take part in barriers and warp collectives;
      // rows past the end are computed on zeros and never stored.
      emitMmaThreadIndices();
    } else {
      if (laneLetter && blockM > kMaxLaneWarps) {
        w.linef("// One warp per query row of the Q tile, {} warps taking "
                "turns; the lanes share letter '{}'.",
                kMaxLaneWarps, std::string(1, laneLetter));
        w.line("const int lane = threadIdx.x & 31;");
        w.openf("for (long long tr = threadIdx.x >> 5; tr < {}; tr += {})",
                blockM, kMaxLaneWarps);
        w.linef("if ({} + tr >= {}) break;", iv, *ub);
      } else if (laneLetter) {
        w.linef("// One warp per query row of the Q tile; its lanes share "
                "letter '{}'.",
                std::string(1, laneLetter));
        w.line("const long long tr = threadIdx.x >> 5;");
        w.line("const int lane = threadIdx.x & 31;");
        w.linef("if ({} + tr >= {}) return;", iv, *ub);
      } else {
        w.line("// One thread per query row of the Q tile.");
        w.line("const long long tr = threadIdx.x;");
        w.linef("if ({} + tr >= {}) return;", iv, *ub);
      }
    }
  }
  // Loop-carried outputs alias their initial value (a global view).
  for (auto [init, arg, res] : llvm::zip(loop.getInitArgs(),
                                         loop.getRegionIterArgs(),
                                         loop.getResults())) {
    auto it = views.find(init);
    if (it == views.end())
      return loop.emitError("CUDA emitter: grid loop carries a value that is "
                            "not an output");
    View v = it->second;
    views[arg] = v;
    views[res] = v;
  }
  if (failed(emitBlock(*loop.getBody(),
                       [](scf::YieldOp) { return success(); })))
    return failure();
  if (k + 1 == gridLoops.size() && mma && pingpong) {
    w.line("// Ping-pong: the turn warpgroup 1 handed over last.");
    w.line("if (mWarpgroup == 0) named_barrier_sync(1, 256);");
  }
  if (k + 1 == gridLoops.size() && !mma && laneLetter &&
      blockM > kMaxLaneWarps)
    w.close(); // the warps' turns over the rows
  return success();
}

/// Declares storage for a loop/branch result that mirrors `like`.
static bool isTensor(Value v) { return isa<RankedTensorType>(v.getType()); }

SmallVector<int> insertedDims(tensor::InsertSliceOp op) {
  llvm::SmallBitVector dropped = op.getDroppedDims();
  SmallVector<int> result;
  int next = 0;
  for (int64_t d = 0; d < op.getDestType().getRank(); ++d)
    result.push_back(dropped.test(d) ? -1 : next++);
  return result;
}

LogicalResult KernelEmitter::emitSerialLoop(scf::ForOp loop) {
  auto lb = scalar(loop.getLowerBound()), ub = scalar(loop.getUpperBound()),
       step = scalar(loop.getStep());
  if (!lb || !ub || !step)
    return loop.emitError("CUDA emitter: loop bounds are not scalars");
  auto constStep = getConstantIntValue(loop.getStep());
  bool isKv = isKvLoop(loop);
  // Loop-carried values live in storage declared before the loop.
  for (auto [init, arg, res] : llvm::zip(loop.getInitArgs(),
                                         loop.getRegionIterArgs(),
                                         loop.getResults())) {
    if (isTensor(init)) {
      auto it = tiles.find(init);
      if (it == tiles.end())
        return loop.emitError("CUDA emitter: loop-carried tensor is not a "
                              "per-thread tile");
      Tile t = it->second;
      t.var = fresh("t");
      declareTile(t);
      copyTile(t, it->second);
      tiles[arg] = t;
      tiles[res] = t;
    } else {
      auto s = scalar(init);
      auto ty = cType(init.getType());
      if (!s || !ty)
        return loop.emitError("CUDA emitter: unsupported loop-carried value");
      std::string var = fresh("s");
      w.linef("{} {} = {};", *ty, var, *s);
      scalars[arg] = var;
      scalars[res] = var;
    }
  }
  std::string iv = fresh(isKv ? "kv" : "n");
  bool mmaKv = mma && isKv;
  if (mmaKv) {
    if (!constStep)
      return loop.emitError("CUDA emitter (tensor cores): the KV loop needs "
                            "a constant step");
    if (*constStep % 16 != 0 || *constStep < 16 || *constStep > kMmaMaxBlockN)
      return loop.emitError("CUDA emitter (tensor cores): block-n (the KV "
                            "tile, attn-online tile-n) is ")
             << *constStep << " keys; the mma path takes a multiple of 16 "
             << "from 16 to " << kMmaMaxBlockN;
    declareRangeScales(loop);
  }
  // The schedule's unroll factor: the body written that many times per
  // iteration, every copy after the first guarded by its own bound. (The
  // CUDA compiler does not unroll a loop with a dynamic trip count that
  // holds barriers, so the copies are written out.)
  int64_t copies = isKv ? kvUnroll : 1;
  if (isKv)
    w.linef("// KV loop (unrolled x{}, the schedule's)", copies);
  w.line("#pragma unroll 1");
  w.openf("for (long long {0} = {1}; {0} < {2}; {0} += {3})", iv, *lb, *ub,
          copies == 1 ? *step : "(" + *step + " * " +
                                    std::to_string(copies) + "LL)");
  if (isKv || constStep)
    kvSteps.push_back(constStep ? *constStep : -1);
  LogicalResult result = success();
  for (int64_t k = 0; k < copies && succeeded(result); ++k) {
    std::string ivk = iv;
    if (k > 0) {
      ivk = fresh("kv");
      w.linef("const long long {} = {} + {} * {}LL;", ivk, iv, *step, k);
      w.openf("if ({} < {})", ivk, *ub);
    }
    scalars[loop.getInductionVar()] = ivk;
    result = emitBlock(*loop.getBody(), [&](scf::YieldOp y) {
      for (auto [arg, value] :
           llvm::zip(loop.getRegionIterArgs(), y.getOperands()))
        if (failed(assign(y, arg, value)))
          return failure();
      return success();
    });
    if (k > 0)
      w.close();
  }
  if (isKv || constStep)
    kvSteps.pop_back();
  w.close();
  if (mmaKv)
    finishRangeScales(loop);
  // Running sums each lane kept partial (-attn-defer-row-sums): added
  // across the quad once.
  if (mmaKv && succeeded(result))
    for (int64_t k : getLanePartialResults(loop)) {
      const Tile &t = tiles[loop.getResult(k)];
      std::string mt = fresh("mt"), rs = fresh("rs");
      w.line("#pragma unroll");
      w.openf("for (int {0} = 0; {0} < {1}; ++{0})", mt, mTiles);
      w.line("#pragma unroll");
      w.openf("for (int {0} = 0; {0} < 2; ++{0})", rs);
      w.linef("{0}[{1}][{2}] = quad_allreduce_add({0}[{1}][{2}]);", t.var, mt,
              rs);
      w.close();
      w.close();
    }
  return result;
}

LogicalResult KernelEmitter::emitIf(scf::IfOp op) {
  auto cond = scalar(op.getCondition());
  if (!cond)
    return op.emitError("CUDA emitter: condition is not a scalar");
  for (Value res : op.getResults()) {
    if (isTensor(res)) {
      // Storage is declared here; the sizes of dynamic dimensions come from
      // the branches (below).
      auto t = tileFor(op, res);
      if (failed(t))
        return failure();
      declareTile(*t);
      tiles[res] = *t;
    } else {
      auto ty = cType(res.getType());
      if (!ty)
        return op.emitError("CUDA emitter: unsupported scf.if result type");
      std::string var = fresh("s");
      w.linef("{} {};", *ty, var);
      scalars[res] = var;
    }
  }
  // The yielded tiles' sizes, per branch: a result's dynamic sizes are the
  // branches' when they agree (size expressions computed before the if).
  SmallVector<SmallVector<SmallVector<std::string>>> yieldedSizes;
  // And their padding (tensor-core tiles over the key columns).
  SmallVector<SmallVector<std::optional<Pad>>> yieldedPads;
  auto onYield = [&](scf::YieldOp y) {
    yieldedSizes.emplace_back();
    yieldedPads.emplace_back();
    for (auto [res, value] : llvm::zip(op.getResults(), y.getOperands())) {
      if (failed(assign(y, res, value)))
        return failure();
      auto it = tiles.find(value);
      yieldedSizes.back().push_back(it == tiles.end()
                                        ? SmallVector<std::string>()
                                        : it->second.sizes);
      yieldedPads.back().push_back(
          it == tiles.end() ? std::nullopt
                            : std::optional<Pad>(it->second.pad));
    }
    return success();
  };
  std::optional<TileBranchKind> branch = getTileBranch(op);
  // The emulator's tile counters (attn/device/counters.h; nothing on a GPU).
  bool counted = branch == TileBranchKind::FullOrPartial;
  bool interior = branch == TileBranchKind::InteriorOrEdge;
  if (branch)
    w.linef("// tile branch: {}", stringifyTileBranchKind(*branch).str());
  w.openf("if ({})", *cond);
  if (counted)
    w.line("count_tile(kTileFull); // a full tile: no mask code");
  if (interior)
    w.line("count_tile(kTileInterior); // full, block_m x block_n: no guards");
  if (failed(emitBlock(op.getThenRegion().front(), onYield)))
    return failure();
  if (!op.getElseRegion().empty()) {
    w.elseBranch();
    if (counted)
      w.line("count_tile(kTilePartial); // a partial tile: the mask per "
             "element");
    // Edge tiles of a variant without a mask have no full/partial branch
    // to count them.
    bool branchInside = false;
    op.getElseRegion().walk([&](scf::IfOp inner) {
      branchInside |= getTileBranch(inner) == TileBranchKind::FullOrPartial;
    });
    if (interior && !branchInside)
      w.line("count_tile(kTileFull); // an edge tile: guarded");
    if (failed(emitBlock(op.getElseRegion().front(), onYield)))
      return failure();
  }
  w.close();
  for (auto [r, res] : llvm::enumerate(op.getResults())) {
    auto type = dyn_cast<RankedTensorType>(res.getType());
    if (!type)
      continue;
    Tile &t = tiles[res];
    // The padding the branches agree on (the interior branch has none).
    ArrayRef<SmallVector<std::optional<Pad>>> padSources = yieldedPads;
    if (interior && padSources.size() == 2)
      padSources = padSources.drop_front();
    if (!padSources.empty()) {
      std::optional<Pad> common = padSources.front()[r];
      for (auto &branch : padSources)
        if (branch[r] != common)
          common = std::nullopt;
      t.pad = common.value_or(Pad::Unknown);
    }
    for (int64_t d = 0; d < type.getRank(); ++d) {
      if (!type.isDynamicDim(d) || t.roles[d] == Role::Unit)
        continue;
      std::optional<std::string> size;
      // The interior branch's static sizes are the edge branch's at run
      // time (its condition says so): the edge branch's expression holds.
      ArrayRef<SmallVector<SmallVector<std::string>>> sources = yieldedSizes;
      if (interior && sources.size() == 2)
        sources = sources.drop_front();
      for (auto &branch : sources) {
        if (branch[r].empty() || (size && *size != branch[r][d]))
          return op.emitError("CUDA emitter: the branches of an scf.if "
                              "yield tiles of different sizes");
        size = branch[r][d];
      }
      if (size)
        t.sizes[d] = *size;
    }
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Scalars
//===----------------------------------------------------------------------===//

/// A scalar op through its region-op registry rule: a `const` local (or, for
/// a constant, its literal) holding the op's CUDA expression.
LogicalResult KernelEmitter::emitScalarOp(Operation &op) {
  const regionops::Rule *rule = regionops::lookup(&op);
  if (!rule || !rule->emitCuda || op.getNumResults() != 1)
    return op.emitError("CUDA emitter: unsupported op '")
           << op.getName() << "'";
  Value result = op.getResult(0);
  auto ty = cType(result.getType());
  if (!ty)
    return op.emitError("CUDA emitter: unsupported result type ")
           << result.getType() << " of '" << op.getName() << "'";
  SmallVector<std::string> in;
  for (Value v : op.getOperands()) {
    auto s = scalar(v);
    if (!s)
      return op.emitError("CUDA emitter: unsupported op '")
             << op.getName() << "' (operand is not a scalar)";
    in.push_back(*s);
  }
  std::optional<std::string> expr = rule->emitCuda(&op, in);
  if (!expr)
    return op.emitError("CUDA emitter: unsupported op '")
           << op.getName() << "'";
  if (isa<arith::ConstantOp>(op)) {
    scalars[result] = *expr;
    return success();
  }
  std::string var = fresh("x");
  w.linef("const {} {} = {};", *ty, var, *expr);
  scalars[result] = var;
  return success();
}

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

LogicalResult KernelEmitter::emitTensorOp(Operation &op) {
  if (auto dim = dyn_cast<tensor::DimOp>(op)) {
    auto index = getConstantIntValue(dim.getIndex());
    if (!index)
      return op.emitError("CUDA emitter: tensor.dim needs a constant index");
    Value src = dim.getSource();
    // tensor.dim's verifier accepts any index; reading past the rank would
    // index past the view's sizes.
    auto ranked = dyn_cast<RankedTensorType>(src.getType());
    if (!ranked)
      return op.emitError("CUDA emitter: tensor.dim of an unranked tensor");
    int64_t rank = ranked.getRank();
    if (*index < 0 || *index >= rank)
      return op.emitError("CUDA emitter: tensor.dim index ")
             << *index << " out of range for a rank-" << rank << " tensor";
    if (auto arg = dyn_cast<BlockArgument>(src);
        arg && arg.getOwner() == &func.getBody().front()) {
      scalars[dim] = argView(arg.getArgNumber()).sizes[*index];
      return success();
    }
    if (auto it = views.find(src); it != views.end()) {
      scalars[dim] = it->second.sizes[*index];
      return success();
    }
    if (auto it = tiles.find(src); it != tiles.end()) {
      scalars[dim] = it->second.sizes[*index];
      return success();
    }
    if (auto it = stagedTiles.find(src); it != stagedTiles.end()) {
      scalars[dim] = it->second.sizes[*index];
      return success();
    }
    return op.emitError("CUDA emitter: tensor.dim of an unknown tensor");
  }
  if (auto cast = dyn_cast<tensor::CastOp>(op))
    return emitCast(cast);
  if (auto empty = dyn_cast<tensor::EmptyOp>(op)) {
    if (workspaces.contains(&op)) {
      for (Value size : empty.getDynamicSizes())
        if (!scalar(size))
          return op.emitError("CUDA emitter: a split-KV workspace size is "
                              "not a scalar");
      // Each split-loop value gets its own view of it (emitSplitLoop).
      return success();
    }
    auto it = outputs.find(&op);
    if (it == outputs.end())
      return op.emitError("CUDA emitter: tensor.empty that is not an output");
    View v = outputView(it->second.first);
    if (!it->second.second.empty()) {
      SmallVector<std::string> sizes;
      unsigned dynamic = 0;
      for (int64_t d = 0; d < empty.getType().getRank(); ++d) {
        if (empty.getType().isDynamicDim(d)) {
          auto s = scalar(empty.getDynamicSizes()[dynamic++]);
          if (!s)
            return op.emitError("CUDA emitter: unknown size");
          sizes.push_back(*s);
        } else {
          sizes.push_back(std::to_string(empty.getType().getDimSize(d)));
        }
      }
      v = expandView(v, it->second.second, empty.getType(), sizes);
    }
    views[empty] = v;
    return success();
  }
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
    std::optional<View> view = globalView(expand.getSrc());
    if (!view)
      return op.emitError("CUDA emitter: expand_shape of a non-global tensor");
    SmallVector<std::string> sizes;
    for (OpFoldResult r : expand.getMixedOutputShape()) {
      auto s = ofr(&op, r);
      if (failed(s))
        return failure();
      sizes.push_back(*s);
    }
    views[expand] = expandView(*view, expand.getReassociationIndices(),
                               expand.getResultType(), sizes);
    return success();
  }
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
    std::optional<View> view = globalView(slice.getSource());
    if (!view)
      return op.emitError("CUDA emitter: extract_slice of a per-thread tile "
                          "is not supported");
    if (slice.getResultType().getRank() != slice.getSourceType().getRank())
      return op.emitError("CUDA emitter: rank-reducing slices are not "
                          "supported");
    for (OpFoldResult s : slice.getMixedStrides())
      if (getConstantIntValue(s) != 1)
        return op.emitError("CUDA emitter: strided slices are not supported");
    View v = *view;
    for (auto [d, r] : llvm::enumerate(slice.getMixedOffsets())) {
      auto o = ofr(&op, r);
      if (failed(o))
        return failure();
      v.offsets[d] = addExpr(v.offsets[d], *o);
    }
    for (auto [d, r] : llvm::enumerate(slice.getMixedSizes())) {
      auto s = ofr(&op, r);
      if (failed(s))
        return failure();
      v.sizes[d] = *s;
    }
    views[slice] = v;
    return success();
  }
  if (auto extract = dyn_cast<tensor::ExtractOp>(op)) {
    // A scalar read from a captured tensor at the grid level: the closed-form
    // key range of a mask that reads, say, per-head window sizes.
    auto arg = dyn_cast<BlockArgument>(extract.getTensor());
    if (!arg || arg.getOwner() != &func.getBody().front())
      return op.emitError("CUDA emitter: tensor.extract from a tensor that "
                          "is not a kernel argument");
    return emitScalarRead(extract, argView(arg.getArgNumber()));
  }
  if (auto splat = dyn_cast<tensor::SplatOp>(op))
    return emitSplat(splat);
  if (auto insert = dyn_cast<tensor::InsertSliceOp>(op))
    return emitInsertSlice(insert);
  if (isa<tensor::CollapseShapeOp>(op)) {
    // Only on the way from the grid to the return (see resolveOutputs).
    for (Operation *user : op.getUsers())
      if (!isa<func::ReturnOp>(user))
        return op.emitError("CUDA emitter: collapse_shape inside the kernel");
    return success();
  }
  return op.emitError("CUDA emitter: unsupported op '") << op.getName() << "'";
}

/// A tensor.cast is the same storage under another type: what the printer
/// holds for the source, with the sizes the cast makes static (the
/// interior tiles of -attn-specialize-interior, whose guards then vanish).
LogicalResult KernelEmitter::emitCast(tensor::CastOp op) {
  Value src = op.getSource(), dst = op.getResult();
  auto type = cast<RankedTensorType>(op.getType());
  auto refine = [&](SmallVector<std::string> &sizes) {
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (!type.isDynamicDim(d) && d < static_cast<int64_t>(sizes.size()))
        sizes[d] = std::to_string(type.getDimSize(d));
  };
  bool known = false;
  if (auto it = tiles.find(src); it != tiles.end()) {
    Tile t = it->second;
    refine(t.sizes);
    tiles[dst] = std::move(t);
    known = true;
  }
  if (auto it = views.find(src); it != views.end()) {
    View v = it->second;
    refine(v.sizes);
    views[dst] = std::move(v);
    known = true;
  }
  if (auto it = stagedTiles.find(src); it != stagedTiles.end()) {
    StagedTile t = it->second;
    refine(t.sizes);
    stagedTiles[dst] = std::move(t);
    known = true;
  }
  if (auto it = aFragments.find(src); it != aFragments.end()) {
    std::string fragments = it->second;
    aFragments[dst] = std::move(fragments);
    known = true;
  }
  if (!known)
    return op.emitError("CUDA emitter: tensor.cast of an unknown tensor");
  return success();
}

std::optional<View> KernelEmitter::globalView(Value v) {
  if (auto arg = dyn_cast<BlockArgument>(v);
      arg && arg.getOwner() == &func.getBody().front())
    return argView(arg.getArgNumber());
  if (auto it = views.find(v); it != views.end())
    return it->second;
  return std::nullopt;
}

LogicalResult KernelEmitter::emitScalarRead(tensor::ExtractOp extract,
                                            const View &view) {
  SmallVector<std::string> index;
  for (Value i : extract.getIndices()) {
    auto s = scalar(i);
    if (!s)
      return extract.emitError("CUDA emitter: index is not a scalar");
    index.push_back(*s);
  }
  auto ty = cType(extract.getType());
  if (!ty)
    return extract.emitError("CUDA emitter: unsupported element type");
  std::string var = fresh("x");
  w.linef("const {} {} = {};", *ty, var, loadView(view, index));
  scalars[extract] = var;
  return success();
}

LogicalResult KernelEmitter::emitSplat(tensor::SplatOp op) {
  auto t = tileFor(op, op.getResult());
  if (failed(t))
    return failure();
  auto value = scalar(op.getInput());
  if (!value)
    return op.emitError("CUDA emitter: splat of a non-scalar");
  unsigned dynamic = 0;
  auto type = op.getType();
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      if (auto s = scalar(op.getDynamicSizes()[dynamic++]))
        t->sizes[d] = *s;
  declareTile(*t);
  Tile src = *t;
  src.var = "(" + *value + ")";
  // Broadcast: the source has no array dimensions.
  std::string index;
  unsigned opened = 0;
  for (int64_t n : storageDims(*t)) {
    std::string var = fresh("c");
    w.linef("#pragma unroll {}", mma || n <= kMaxUnrollArray ? n : 1);
    w.openf("for (int {0} = 0; {0} < {1}; ++{0})", var, n);
    index += "[" + var + "]";
    ++opened;
  }
  w.linef("{}{} = {};", t->var, index, *value);
  for (unsigned k = 0; k < opened; ++k)
    w.close();
  tiles[op.getResult()] = *t;
  return success();
}

LogicalResult KernelEmitter::emitInsertSlice(tensor::InsertSliceOp op) {
  auto dest = views.find(op.getDest());
  if (dest == views.end())
    return op.emitError("CUDA emitter: insert_slice into a non-output tensor");
  auto src = tiles.find(op.getSource());
  if (src == tiles.end())
    return op.emitError("CUDA emitter: insert_slice of a non-tile value");
  const View &view = dest->second;
  const Tile &tile = src->second;
  if (mma)
    return emitMmaInsertSlice(op, view, tile);
  SmallVector<int> sourceDim = insertedDims(op);
  SmallVector<std::string> index;
  std::string access = tile.var;
  unsigned opened = 0;
  for (auto [destDim, r] : llvm::enumerate(op.getMixedOffsets())) {
    auto o = ofr(op, r);
    if (failed(o))
      return failure();
    std::string local = "0";
    int d = sourceDim[destDim];
    if (d < 0) {
      // A unit dimension the source does not have.
    } else if (tile.roles[d] == Role::Row) {
      local = "tr";
    } else if (tile.roles[d] == Role::Array && d == tile.laneDim) {
      llvm::StringMap<std::string> idx;
      char c = laneLetter;
      auto type = op.getSourceType();
      opened += openLetterLoop(c, std::to_string(type.getDimSize(d)),
                               type.getDimSize(d), idx);
      local = idx[StringRef(&c, 1)];
      access += storageSubscript(tile, d, local);
    } else if (tile.roles[d] == Role::Array) {
      std::string var = fresh("c");
      auto type = op.getSourceType();
      std::string size = type.isDynamicDim(d) ? tile.sizes[d]
                                              : std::to_string(type.getDimSize(d));
      if (!type.isDynamicDim(d) && type.getDimSize(d) <= kMaxUnrollArray)
        w.linef("#pragma unroll {}", type.getDimSize(d));
      else
        w.line("#pragma unroll 1");
      w.openf("for (long long {0} = 0; {0} < {1}; ++{0})", var, size);
      ++opened;
      local = var;
      access += "[" + var + "]";
    }
    index.push_back(addExpr(*o, local));
  }
  std::string offset = "0";
  for (auto [d, i] : llvm::enumerate(index))
    offset = addExpr(offset, mulExpr(addExpr(view.offsets[d], i),
                                     view.strides[d]));
  std::string value = view.elemType == "float"
                          ? access
                          : "from_float<" + view.elemType + ">(" + access + ")";
  // A value the row's warp holds whole (lse) is stored by its first lane.
  if (laneLetter && tile.laneDim < 0) {
    w.open("if (lane == 0)");
    ++opened;
  }
  w.linef("st_global({}, {}, {}, {});", view.ptr, offset, view.extent, value);
  for (unsigned k = 0; k < opened; ++k)
    w.close();
  View result = view; // a copy: the insertion may move `view`
  views[op.getResult()] = std::move(result);
  return success();
}

//===----------------------------------------------------------------------===//
// attn ops
//===----------------------------------------------------------------------===//

/// Emits a map or mask body inline. Index arguments are `indexArgs`, then
/// `inputArgs`, then the captures; sets `result` to the yielded expression.
LogicalResult KernelEmitter::emitRegionBody(Block &body, unsigned numIndexArgs,
                                            ArrayRef<std::string> indexArgs,
                                            ArrayRef<std::string> inputArgs,
                                            ValueRange captures,
                                            std::string &result) {
  unsigned a = 0;
  for (const std::string &s : indexArgs)
    scalars[body.getArgument(a++)] = s;
  for (const std::string &s : inputArgs)
    scalars[body.getArgument(a++)] = s;
  for (Value c : captures) {
    Value arg = body.getArgument(a++);
    if (auto s = scalar(c))
      scalars[arg] = *s;
    else if (auto arg0 = dyn_cast<BlockArgument>(c);
             arg0 && arg0.getOwner() == &func.getBody().front())
      views[arg] = argView(arg0.getArgNumber());
    else if (auto it = views.find(c); it != views.end())
      views[arg] = View(it->second); // a copy: the insertion may move it
    else
      return body.getParentOp()->emitError(
          "CUDA emitter: unsupported capture");
  }
  for (Operation &op : body) {
    if (auto y = dyn_cast<YieldOp>(op)) {
      auto s = scalar(y.getOperand(0));
      if (!s)
        return y.emitError("CUDA emitter: yielded value is not a scalar");
      result = *s;
      return success();
    }
    if (auto extract = dyn_cast<tensor::ExtractOp>(op)) {
      auto it = views.find(extract.getTensor());
      if (it == views.end())
        return op.emitError("CUDA emitter: tensor.extract from an unknown "
                            "tensor");
      if (failed(emitScalarRead(extract, it->second)))
        return failure();
      continue;
    }
    if (failed(emitScalarOp(op)))
      return failure();
  }
  (void)numIndexArgs;
  return failure();
}

LogicalResult KernelEmitter::emitMap(MapOp op) {
  std::optional<Equation> eq = op.getEquation().getValue();
  auto t = tileFor(op, op.getResult(), eq->output);
  if (failed(t))
    return failure();
  SmallVector<Value> inputs(op.getInputs().begin(), op.getInputs().end());
  // Sizes of the output's dimensions, from the inputs.
  for (auto [d, c] : llvm::enumerate(eq->output)) {
    std::optional<int64_t> st;
    if (t->roles[d] == Role::Unit)
      continue;
    auto size = letterSize(op, c, inputs, eq->inputs, st);
    if (succeeded(size))
      t->sizes[d] = *size;
    else if (t->roles[d] == Role::Array)
      return failure();
  }
  declareTile(*t);
  tiles[op.getResult()] = *t;
  if (mma)
    return emitMmaMap(op, tiles[op.getResult()], *eq);
  llvm::StringMap<std::string> idx;
  bindGridLetters(idx, eq->output);
  unsigned opened = 0;
  std::string access = t->var;
  for (auto [d, c] : llvm::enumerate(eq->output)) {
    if (t->roles[d] != Role::Array)
      continue;
    std::optional<int64_t> st;
    auto size = letterSize(op, c, inputs, eq->inputs, st);
    opened += openLetterLoop(c, *size, st, idx);
    access += storageSubscript(*t, static_cast<int>(d), idx[StringRef(&c, 1)]);
  }
  SmallVector<std::string> indexArgs, inputArgs;
  for (char c : eq->output)
    indexArgs.push_back(idx[StringRef(&c, 1)]);
  for (auto [v, term] : llvm::zip(inputs, eq->inputs)) {
    auto e = elementAccess(op, v, term, idx);
    if (failed(e))
      return failure();
    inputArgs.push_back(*e);
  }
  std::string result;
  if (failed(emitRegion(op.getBody().front(), indexArgs, inputArgs,
                        op.getCaptures(), result)))
    return failure();
  w.linef("{} = {};", access, result);
  for (unsigned k = 0; k < opened; ++k)
    w.close();
  return success();
}

static std::string reduceInit(ReduceKind kind) {
  return kind == ReduceKind::Max ? "sc::f32_bits(0xff800000u)" : "0.0f";
}

static std::string reduceStep(ReduceKind kind, const std::string &acc,
                              const std::string &x) {
  if (kind == ReduceKind::Max)
    return acc + " = sc::maximumf(" + acc + ", " + x + ");";
  return acc + " += " + x + ";";
}

FailureOr<Tile *> KernelEmitter::declareResultTile(Operation *op,
                                                   Value result,
                                                   const Equation &eq,
                                                   ArrayRef<Value> inputs) {
  auto t = tileFor(op, result, eq.output);
  if (failed(t))
    return failure();
  for (auto [d, c] : llvm::enumerate(eq.output)) {
    std::optional<int64_t> st;
    if (t->roles[d] == Role::Unit)
      continue;
    auto size = letterSize(op, c, inputs, eq.inputs, st);
    if (succeeded(size))
      t->sizes[d] = *size;
  }
  declareTile(*t);
  tiles[result] = *t;
  return &tiles[result];
}

LogicalResult KernelEmitter::emitSimtReduction(
    Operation *op, const Tile &t, const Equation &eq, ArrayRef<Value> inputs,
    ReduceKind kind,
    function_ref<FailureOr<std::string>(const llvm::StringMap<std::string> &)>
        element) {
  llvm::StringMap<std::string> idx;
  for (const std::string &term : eq.inputs)
    bindGridLetters(idx, term);
  unsigned opened = 0;
  std::string access = t.var;
  for (auto [d, c] : llvm::enumerate(eq.output)) {
    if (t.roles[d] != Role::Array)
      continue;
    std::optional<int64_t> st;
    auto size = letterSize(op, c, inputs, eq.inputs, st);
    if (failed(size))
      return failure();
    opened += openLetterLoop(c, *size, st, idx);
    access += storageSubscript(t, static_cast<int>(d), idx[StringRef(&c, 1)]);
  }
  std::string acc = fresh("acc");
  w.linef("float {} = {};", acc, reduceInit(kind));
  unsigned reduced = 0;
  for (char c : eq.reducedLetters()) {
    if (gridLetters.find(c) != std::string::npos)
      return op->emitError("CUDA emitter: reduction over grid letter '")
             << c << "'";
    std::optional<int64_t> st;
    auto size = letterSize(op, c, inputs, eq.inputs, st);
    if (failed(size))
      return failure();
    reduced += openLetterLoop(c, *size, st, idx, kMaxUnroll);
  }
  auto x = element(idx);
  if (failed(x))
    return failure();
  w.line(reduceStep(kind, acc, *x));
  for (unsigned k = 0; k < reduced; ++k)
    w.close();
  w.linef("{} = {};", access, acc);
  for (unsigned k = 0; k < opened; ++k)
    w.close();
  return success();
}

LogicalResult KernelEmitter::emitReduce(ReduceOp op) {
  std::optional<Equation> eq = op.getEquation().getValue();
  SmallVector<Value> inputs = {op.getInput()};
  auto t = declareResultTile(op, op.getResult(), *eq, inputs);
  if (failed(t))
    return failure();
  if (mma)
    return emitMmaReduce(op, **t, *eq);
  return emitSimtReduction(
      op, **t, *eq, inputs, op.getKind(),
      [&](const llvm::StringMap<std::string> &idx) {
        return elementAccess(op, op.getInput(), eq->inputs[0], idx);
      });
}

LogicalResult KernelEmitter::emitContract(ContractOp op) {
  std::optional<Equation> eq = op.getEquation().getValue();
  if (mma && isAccumulated(op)) {
    deferredContracts[op.getResult()] = op;
    return success();
  }
  SmallVector<Value> inputs(op.getInputs().begin(), op.getInputs().end());
  auto t = declareResultTile(op, op.getResult(), *eq, inputs);
  if (failed(t))
    return failure();
  if (mma)
    return emitMmaContract(op, **t, *eq, /*accumulate=*/false);
  return emitSimtReduction(
      op, **t, *eq, inputs, op.getReduce(),
      [&](const llvm::StringMap<std::string> &idx) -> FailureOr<std::string> {
        std::string combined;
        for (auto [v, term] : llvm::zip(inputs, eq->inputs)) {
          auto e = elementAccess(op, v, term, idx);
          if (failed(e))
            return failure();
          combined = combined.empty()
                         ? *e
                         : combined +
                               (op.getCombine() == CombineKind::Mul ? " * "
                                                                    : " + ") +
                               *e;
        }
        return combined;
      });
}

/// The tc::apply call for one op of a mask region: the transfer function the
/// region-op registry names (unknown without one), as MaskAnalysis calls it.
static std::string tileClassCall(Operation &op, ArrayRef<std::string> in) {
  const regionops::Rule *rule = regionops::lookup(&op);
  if (!rule || !rule->transfer)
    return "tc::unknown()";
  regionops::TcCall call = rule->transfer(&op);
  if (call.op == attn::device::tc::kOpUnknown)
    return "tc::unknown()";
  std::string text =
      fmt::format("tc::apply(tcT, tc::{}, {}LL, {}LL, {}LL",
                  attn::device::tc::opName(call.op), call.imm[0], call.imm[1],
                  call.imm[2]);
  // Always three operands: the call may go through tc::noinline, a
  // function pointer without apply's default arguments.
  for (size_t k = 0; k < 3; ++k)
    text += ", " + (k < in.size() ? in[k] : std::string("tc::unknown()"));
  text += ")";
  if (auto cmp = dyn_cast<arith::CmpIOp>(op))
    text += " /* " + arith::stringifyCmpIPredicate(cmp.getPredicate()).str() +
            " */";
  else
    text += " /* " + op.getName().getStringRef().str() + " */";
  return text;
}

LogicalResult KernelEmitter::emitTileClass(TileClassOp op) {
  SmallVector<std::string> args;
  for (Value v : {op.getB(), op.getH(), op.getI0(), op.getI1(), op.getJ0(),
                  op.getJ1(), op.getNq(), op.getNk()}) {
    auto s = scalar(v);
    if (!s)
      return op.emitError("CUDA emitter: tile_class operand is not a scalar");
    args.push_back(*s);
  }
  std::string var = fresh("cls");
  w.line("// attn.tile_class: 0 = skip, 1 = full, 2 = partial");
  w.linef("long long {};", var);
  std::string tile =
      fmt::format("{{{}, {}, {}, {}}}", args[2], args[3], args[4], args[5]);
  if (failed(checkRegionSize(op.getMask().front())))
    return failure();
  if (shouldOutline(op.getMask().front(), op.getCaptures())) {
    auto call = outlinedTileClassCall(op, tile, args[0], args[1], args[6],
                                      args[7]);
    if (failed(call))
      return failure();
    w.linef("{} = {};", var, *call);
  } else {
    w.openScope();
    w.linef("const tc::Tile tcT = {};", tile);
    auto result = emitTileClassBody(op, args[0], args[1], args[6], args[7],
                                    /*noinlineCalls=*/false);
    if (failed(result))
      return failure();
    w.linef("{} = tc::classify({});", var, *result);
    w.close();
  }
  scalars[op.getResult()] = var;
  return success();
}

/// `call` (a "tc::f(...)" expression) as tc::noinline<&tc::f>(...).
static std::string noinlineCall(const std::string &call) {
  StringRef text(call);
  size_t paren = text.find('(');
  if (!text.starts_with("tc::") || paren == StringRef::npos)
    return call;
  return ("tc::noinline<&" + text.take_front(paren) + ">" +
          text.drop_front(paren))
      .str();
}

FailureOr<std::string>
KernelEmitter::emitTileClassBody(TileClassOp op, const std::string &b,
                                 const std::string &h, const std::string &nq,
                                 const std::string &nk, bool noinlineCalls) {
  Block &body = op.getMask().front();
  DenseMap<Value, std::string> abs;
  // Region arguments: b, h, i, j, nq, nk, captures.
  std::string fixed[] = {"tc::constant(tcT, " + b + ")",
                         "tc::constant(tcT, " + h + ")", "tc::rowIndex(tcT)",
                         "tc::colIndex(tcT)", "tc::constant(tcT, " + nq + ")",
                         "tc::constant(tcT, " + nk + ")"};
  for (auto [k, arg] : llvm::enumerate(body.getArguments())) {
    std::string name = fresh("a");
    std::string init = "tc::unknown()";
    if (k < 6) {
      init = fixed[k];
    } else if (arg.getType().isIntOrIndex()) {
      if (auto s = scalar(op.getCaptures()[k - 6]))
        init = "tc::constant(tcT, " + *s + ")";
    }
    // Captured tensors are unknown here (no per-tile summaries yet), which
    // only makes tiles partial.
    w.linef("const tc::Val {} = {};", name, init);
    abs[arg] = name;
  }
  for (Operation &inner : body) {
    if (auto y = dyn_cast<YieldOp>(inner))
      return abs.lookup(y.getOperand(0));
    if (inner.getNumResults() != 1)
      continue;
    SmallVector<std::string> in;
    for (Value v : inner.getOperands()) {
      std::string s = abs.lookup(v);
      in.push_back(s.empty() ? "tc::unknown()" : s);
    }
    std::optional<std::string> call;
    if (auto extract = dyn_cast<tensor::ExtractOp>(inner))
      call = summaryRead(op, extract, ArrayRef<std::string>(in).drop_front());
    if (!call)
      call = tileClassCall(inner, in);
    std::string name = fresh("a");
    w.linef("const tc::Val {} = {};", name,
            noinlineCalls ? noinlineCall(*call) : *call);
    abs[inner.getResult(0)] = name;
  }
  return op.emitError("CUDA emitter: mask region without a yielded value");
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

/// Static sizes of `func`'s tensors must fit the 32-bit counters and
/// fragment indices of the emitted code (a head dim of 2^31 used to give a
/// kernel whose loops never ran).
static LogicalResult checkStaticSizes(func::FuncOp func) {
  auto check = [&](Type type, const Twine &what) -> LogicalResult {
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!tensor)
      return success();
    for (auto [d, size] : llvm::enumerate(tensor.getShape()))
      if (!ShapedType::isDynamic(size) &&
          size > std::numeric_limits<int32_t>::max())
        return func.emitError("CUDA emitter: dimension ")
               << d << " of " << what << " is " << size
               << "; the emitted kernels take static sizes below 2^31";
    return success();
  };
  static const char *const names[] = {"'q'", "'k'", "'v'"};
  for (auto [a, type] : llvm::enumerate(func.getArgumentTypes()))
    if (failed(check(type, a < 3 ? Twine(names[a])
                                 : "capture " + Twine(a - 3))))
      return failure();
  for (auto [r, type] : llvm::enumerate(func.getResultTypes()))
    if (failed(check(type, "result " + Twine(r))))
      return failure();
  return success();
}

FailureOr<CudaKernel> KernelEmitter::run() {
  if (func.getNumArguments() < 3)
    return func.emitError("CUDA emitter: expected arguments q, k, v");
  if (failed(checkStaticSizes(func)))
    return failure();
  if (failed(collectGrid()) || failed(resolveOutputs()))
    return failure();
  if ((options.varlen || options.pagedKv) && failed(checkSequenceLayout()))
    return failure();
  if ((mma && failed(checkMmaTypes())) || failed(readSchedule()) ||
      (mma && failed(collectSplitTiles())))
    return failure();
  laneLetter = chooseLaneLetter();
  threads = mma ? 32 * warps
                 : laneLetter ? std::min(blockM, kMaxLaneWarps) * kWarpLanes
                              : blockM;
  if (role == KernelRole::TileSummaries)
    threads = 256;

  collectSummarized();
  collectTmaCopies();
  declareParams();
  CudaKernel kernel;
  kernel.name = "attn_" + func.getSymName().str();
  if (role == KernelRole::SplitPartials)
    kernel.name += "_partials";
  if (role == KernelRole::SplitMerge)
    kernel.name += "_merge";
  if (role == KernelRole::TileSummaries) {
    kernel.name += "_summaries";
    kernel.fixedGridX = 64;
  }
  kernel.blockM = blockM;
  kernel.threads = threads;
  kernel.path = mma ? "mma" : "simt";
  kernel.wgmma = mma && wgmma;
  kernel.tma = tmaSlots > 0;
  kernel.params = params;
  kernel.role = role;
  kernel.splits = splits;
  kernel.maxSplits = splitLoop && splits == 0 ? kMaxLaunchKvSplits : 0;
  kernelName = kernel.name;
  paramsType = kernel.name + "_params";

  std::string launch = "// Launch: grid (ceil(" +
                       std::string(options.varlen ? "max_seqlen_q" : "Nq") +
                       " / " + std::to_string(blockM) +
                       "), Hq" +
                       (role == KernelRole::SplitPartials
                            ? " x " + (splits ? std::to_string(splits)
                                              : std::string("S"))
                            : std::string()) +
                       ", B), block (" + std::to_string(threads) + ")";
  if (role == KernelRole::SplitPartials)
    w.linef("// Split-KV plan, kernel 1 of 2: each of {} splits writes its "
            "running values to the workspaces.",
            splits ? std::to_string(splits) : "the launch's S (p.S)");
  if (role == KernelRole::SplitMerge)
    w.linef("// Split-KV plan, kernel 2 of 2: merges the {} splits' values "
            "and writes the outputs.",
            splits ? std::to_string(splits) : "S");
  if (role == KernelRole::TileSummaries) {
    w.line("// Tile summaries of the captured tensors the masks read (runs "
           "before the");
    w.line("// other kernels of the plan; a grid-stride loop over blocks).");
    launch = "// Launch: grid (64), block (256).";
  }
  if (mma && wgmma) {
    w.linef("// Generated by attn's CUDA emitter (tensor-core path, sm_90a "
            "wgmma) from @{}.",
            func.getSymName().str());
    w.linef("// {} warpgroup{} of 4 warps x 16 query rows; S = Q K^T and O "
            "+= P V on wgmma m64nNk16 ({},",
            warps / 4, warps == 4 ? "" : "s", mmaElem);
    w.linef("// f32 accumulate), A from registers, K/V from swizzled shared "
            "memory staged with {}",
            tmaSlots == 0 ? "cp.async" : "TMA (cp.async");
    w.linef("// {}as the schedule says; per-element score/mask code on the S "
            "accumulators.",
            tmaSlots == 0 ? "" : "where TMA cannot address a tensor) ");
    launch += ", dynamic shared memory @SMEM@ bytes.";
  } else if (mma) {
    w.linef("// Generated by attn's CUDA emitter (tensor-core path) from @{}.",
            func.getSymName().str());
    w.linef("// {} warps x {} query rows; S = Q K^T and O += P V on mma.sync "
            "m16n8k16 ({}, f32",
            warps, rowsPerWarp, mmaElem);
    w.line("// accumulate); K/V tiles staged in shared memory with cp.async "
           "as the schedule");
    w.line("// says; per-element score/mask code on the S fragments.");
    launch += ", dynamic shared memory @SMEM@ bytes.";
  } else {
    w.linef("// Generated by attn's CUDA emitter (SIMT path) from @{}.",
            func.getSymName().str());
    w.line("// One thread per query row; f32 arithmetic; K/V read from "
           "global memory.");
    launch += ".";
  }
  w.line(launch);
  w.line("#include \"attn/device/attn_device.h\"");
  if (mma)
    w.line("#include \"attn/device/fragment.h\"");
  if (mma && wgmma)
    w.line("#include \"attn/device/sm90.h\"");
  else if (!tmaMaps.empty()) // the plan's parameter struct holds maps
    w.line("#include \"attn/device/tma.h\"");
  w.line("#include \"attn/device/scalar.h\"");
  w.line("#include \"attn/device/tile_class.h\"");
  w.line("");
  w.line("using namespace attn::device;");
  w.line("namespace tc = attn::device::tc;");
  w.line("namespace sc = attn::device::sc;");
  w.line("");
  w.line("/// Kernel parameters (every field 8 bytes; strides in elements).");
  w.openf("struct {}", paramsType);
  for (const ParamField &f : params) {
    if (f.type == abi::FieldType::Int64) {
      w.linef("long long {};", f.name);
      continue;
    }
    if (f.type == abi::FieldType::Float64) {
      w.linef("double {};", f.name);
      continue;
    }
    if (f.type == abi::FieldType::TensorMap) {
      w.linef("TensorMap {}; // 128 bytes, 64-byte aligned", f.name);
      continue;
    }
    // A pointer: its element type is the described buffer's.
    std::string elem;
    switch (f.buffer) {
    case abi::BufferKind::Input:
      elem = *memType(cast<ShapedType>(func.getArgument(f.index).getType())
                          .getElementType());
      break;
    case abi::BufferKind::Result:
      elem = *memType(
          cast<ShapedType>(func.getResultTypes()[f.index]).getElementType());
      break;
    case abi::BufferKind::Workspace:
      elem = "float";
      break;
    case abi::BufferKind::Summary:
    case abi::BufferKind::None:
      elem = "int64_t";
      break;
    case abi::BufferKind::SeqStarts:
    case abi::BufferKind::BlockTable:
    case abi::BufferKind::SeqLensK:
      elem = "int";
      break;
    }
    bool isOut = f.buffer == abi::BufferKind::Result ||
                 f.buffer == abi::BufferKind::Workspace ||
                 f.buffer == abi::BufferKind::Summary;
    w.linef("{}{} *{};", isOut ? "" : "const ", elem, f.name);
  }
  w.close(";");
  w.line("");
  // At least one CTA per SM: ptxas may use the whole register budget of a
  // thread (255) instead of spilling to reach a higher occupancy.
  size_t kernelDeclAt = w.out.size();
  w.linef("extern \"C\" __global__ void __launch_bounds__({}, 1)", threads);
  // A varlen kernel rebases a copy of its parameters on its sequence.
  bool rebased = (options.varlen || options.pagedKv) &&
                 role != KernelRole::TileSummaries;
  // Tensor maps are read in place from the parameter space.
  w.openf("{}(const {}{} {})", kernel.name,
          tmaMaps.empty() ? "" : "__grid_constant__ ", paramsType,
          rebased ? "pArg" : "p");
  size_t smemDeclAt = w.out.size();
  if (rebased)
    emitSequencePrologue();
  // Scalar captures are kernel parameters.
  for (unsigned a = 3; a < func.getNumArguments(); ++a) {
    Value arg = func.getArgument(a);
    if (isa<RankedTensorType>(arg.getType()))
      continue;
    auto ty = cType(arg.getType());
    if (!ty)
      return func.emitError("CUDA emitter: unsupported capture type ")
             << arg.getType();
    scalars[arg] = "(" + *ty + ")p.c" + std::to_string(a - 3);
  }
  if (role == KernelRole::TileSummaries) {
    if (failed(emitSummaryKernelBody()))
      return failure();
  } else if (failed(emitBlock(func.getBody().front(),
                              [](scf::YieldOp) { return success(); }))) {
    return failure();
  }
  w.close();
  w.linef("ATTN_KERNEL_ENTRY({})", kernel.name);
  if (arrayBytes > static_cast<uint64_t>(kMaxThreadArrayBytes))
    return func.emitError("CUDA emitter")
           << (mma ? " (tensor cores)" : " (SIMT)") << ": the kernel's "
           << "per-thread arrays take " << arrayBytes << " bytes (the largest "
           << largestArray << ") but a thread's local memory holds "
           << kMaxThreadArrayBytes
           << "; use a smaller KV tile (block-n, attn-online tile-n) or "
              "head dim";
  // The TMA mbarrier ring after the buffers.
  std::string prologue;
  if (tmaSlots) {
    int64_t offset = (smemBytes + 7) / 8 * 8;
    smemBytes = offset + 8 * tmaSlots;
    prologue = tmaPrologue(offset);
  }
  if (smemBytes > options.maxSmemBytes)
    return func.emitError("CUDA emitter: the kernel needs ")
           << smemBytes << " bytes of shared memory per CTA but the target "
           << "allows " << options.maxSmemBytes
           << "; use a smaller KV tile (attn-online tile-n)";
  // wgmma's swizzled operands need their 1024-byte repeat.
  if (smemBytes > 0)
    w.out.insert(smemDeclAt,
                 (wgmma ? "  ATTN_DYNAMIC_SHARED_1024(unsigned char, "
                          "attnSmem);\n"
                        : "  ATTN_DYNAMIC_SHARED(unsigned char, attnSmem);\n") +
                     prologue);
  // Outlined regions precede the kernel that calls them.
  w.out.insert(kernelDeclAt, outlinedText);
  size_t at = w.out.find("@SMEM@");
  if (at != std::string::npos)
    w.out.replace(at, 6, std::to_string(smemBytes));
  kernel.dynamicSmemBytes = smemBytes;
  kernel.source = std::move(w.out);
  return kernel;
}

} // namespace attn::codegen::detail

/// One kernel of `func`'s plan on the path its schedule decided (SIMT for
/// the plan's helper kernels: summaries and the split-KV merge).
static FailureOr<CudaKernel> emitScheduled(func::FuncOp func,
                                           const CudaEmitOptions &options,
                                           KernelRole role) {
  ScheduleAttr schedule = attn::codegen::decidedSchedule(func);
  bool mma = schedule && schedule.getPath() == KernelPath::Mma &&
             role != KernelRole::TileSummaries &&
             role != KernelRole::SplitMerge;
  auto kernel =
      attn::codegen::detail::KernelEmitter(func, options, mma, role).run();
  if (succeeded(kernel) && schedule && !mma)
    kernel->fallbackReason = schedule.getFallback().str();
  return kernel;
}

/// `func` with a decided schedule: itself, or a scheduled copy in `scratch`
/// when it reached the emitter unscheduled (kernel IR from a pipeline
/// without attn-schedule): the schedule passes decide, never the printer.
static FailureOr<func::FuncOp>
scheduledFunction(func::FuncOp func, const CudaEmitOptions &options,
                  OwningOpRef<ModuleOp> &scratch) {
  ScheduleAttr schedule = attn::codegen::decidedSchedule(func);
  if (!schedule) {
    if (!attn::codegen::outerGridLoop(func))
      return func; // not kernel IR: the emitter says why
    OpBuilder b(func.getContext());
    scratch = ModuleOp::create(func.getLoc());
    if (auto module = func->getParentOfType<ModuleOp>())
      if (TargetAttr target = getTarget(module))
        setTarget(*scratch, target.getArch(), target.getPath());
    if (options.path != KernelPath::Auto)
      setTarget(*scratch,
                getTarget(*scratch) ? getTarget(*scratch).getArch() : "",
                options.path);
    auto copy = cast<func::FuncOp>(func->clone());
    scratch->push_back(copy);
    if (failed(attn::codegen::scheduleUnscheduled(*scratch)))
      return failure();
    return copy;
  }
  if (options.path != KernelPath::Auto && schedule.getPath() != options.path)
    return func.emitError("CUDA emitter: '@")
           << func.getSymName() << "' is scheduled for the "
           << stringifyKernelPath(schedule.getPath()) << " path but the "
           << stringifyKernelPath(options.path) << " path was asked for";
  return func;
}

FailureOr<CudaKernel>
attn::codegen::emitCudaKernel(func::FuncOp func,
                              const CudaEmitOptions &options) {
  OwningOpRef<ModuleOp> scratch;
  auto scheduled = scheduledFunction(func, options, scratch);
  if (failed(scheduled))
    return failure();
  return emitScheduled(*scheduled, options, KernelRole::Whole);
}

FailureOr<CudaPlan> attn::codegen::emitCudaPlan(func::FuncOp func,
                                                const CudaEmitOptions &options) {
  OwningOpRef<ModuleOp> scratch;
  auto scheduled = scheduledFunction(func, options, scratch);
  if (failed(scheduled))
    return failure();
  func = *scheduled;
  CudaPlan plan;
  for (unsigned n :
       attn::codegen::detail::KernelEmitter::summarizedCaptures(
           func, options.varlen))
    plan.summarizedCaptures.push_back(n);
  if (!plan.summarizedCaptures.empty()) {
    CudaEmitOptions simt = options;
    simt.path = KernelPath::Simt;
    auto summaries = attn::codegen::detail::KernelEmitter(
                         func, simt, false, KernelRole::TileSummaries)
                         .run();
    if (failed(summaries))
      return failure();
    plan.kernels.push_back(std::move(*summaries));
  }
  scf::ForOp split = attn::codegen::detail::KernelEmitter::findSplitLoop(func);
  if (!split) {
    auto kernel = emitScheduled(func, options, KernelRole::Whole);
    if (failed(kernel))
      return failure();
    plan.kernels.push_back(std::move(*kernel));
    return plan;
  }
  auto partials = emitScheduled(func, options, KernelRole::SplitPartials);
  if (failed(partials))
    return failure();
  // The merge reads a few values per row: SIMT whatever the path.
  CudaEmitOptions mergeOptions = options;
  mergeOptions.path = KernelPath::Simt;
  auto merge = attn::codegen::detail::KernelEmitter(func, mergeOptions, false,
                                     KernelRole::SplitMerge)
                   .run();
  if (failed(merge))
    return failure();
  for (Value init : split.getInitArgs()) {
    auto type = cast<RankedTensorType>(init.getType());
    int64_t elements = partials->blockM;
    for (int64_t size : type.getShape().drop_front())
      if (!ShapedType::isDynamic(size))
        elements *= size;
    plan.workspaceElementsPerCta.push_back(elements);
  }
  plan.kernels.push_back(std::move(*partials));
  plan.kernels.push_back(std::move(*merge));
  return plan;
}
