//===- Schedule.cpp - -attn-schedule: path and warp layout of each kernel -===//
//
// Decides, per kernel, what -attn-tile only asked for: the path (tensor cores
// or one thread per row), the warp layout, the pipeline stages and the KV
// loops' unroll factor, and writes the decision into #attn.schedule. Whether
// a kernel fits tensor cores is answered by the code that would print it:
// a copy of the kernel is scheduled for tensor cores and handed to the
// tensor-core printer; if it refuses, the kernel runs on the SIMT path and
// the printer's reason is kept (the schedule's `fallback`).
//
//===----------------------------------------------------------------------===//

#include "attn/Codegen/Schedule.h"
#include "Contractions.h"
#include "attn/Codegen/CudaEmitter.h"
#include "attn/Codegen/Nvrtc.h"
#include "attn/Dialect/KernelAttrs.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/raw_ostream.h"

namespace attn::codegen {
#define GEN_PASS_DEF_ATTNSCHEDULE
#include "attn/Codegen/Passes.h.inc"
} // namespace attn::codegen

using namespace mlir;
using namespace attn;

scf::ForOp attn::codegen::outerGridLoop(func::FuncOp func) {
  scf::ForOp found;
  func.walk<WalkOrder::PreOrder>([&](scf::ForOp loop) {
    if (getGrid(loop) && getSchedule(loop)) {
      found = loop;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return found;
}

char attn::codegen::rowLetterOf(func::FuncOp func) {
  char row = 0;
  func.walk([&](scf::ForOp loop) {
    if (GridAttr grid = getGrid(loop))
      if (grid.getRole() == GridRole::Rows)
        row = gridLetter(loop);
  });
  return row;
}

SmallVector<scf::ForOp> attn::codegen::kvLoopsOf(func::FuncOp func) {
  SmallVector<scf::ForOp> loops;
  func.walk<WalkOrder::PreOrder>([&](scf::ForOp loop) {
    if (isKvLoop(loop))
      loops.push_back(loop);
  });
  return loops;
}

int64_t attn::codegen::kvTileOf(func::FuncOp func) {
  for (scf::ForOp loop : kvLoopsOf(func))
    if (std::optional<int64_t> step = getConstantIntValue(loop.getStep()))
      return *step;
  return 0;
}

ScheduleAttr attn::codegen::decidedSchedule(func::FuncOp func) {
  scf::ForOp outer = outerGridLoop(func);
  ScheduleAttr schedule = outer ? getSchedule(outer) : ScheduleAttr();
  return schedule && schedule.isDecided() ? schedule : ScheduleAttr();
}

namespace {

/// The shared-memory limit the kernels of `module` are scheduled for: the
/// #attn.target's arch, else what every supported arch grants.
int64_t sharedMemoryLimit(ModuleOp module) {
  if (TargetAttr target = getTarget(module))
    if (auto arch = codegen::lookupCudaArch(target.getArch()))
      return arch->maxSmemPerBlock;
  return codegen::kPortableMaxSmemBytes;
}

/// Whether the #attn.target's arch has warpgroup MMAs (sm_90a).
bool targetHasWgmma(ModuleOp module) {
  if (TargetAttr target = getTarget(module))
    if (auto arch = codegen::lookupCudaArch(target.getArch()))
      return arch->wgmma;
  return false;
}

/// A warp layout on tensor cores: warps per CTA and how many of them share
/// a row group's rows (col_groups; rows_per_warp = block_m x colGroups /
/// warps).
struct WarpLayout {
  int64_t warps = 1, colGroups = 1;
};

/// `schedule` decided for the tensor cores (rows_per_warp from the layout)
/// or for SIMT (one thread per row; warps follow from block_m).
ScheduleAttr decide(ScheduleAttr request, KernelPath path, WarpLayout layout,
                    int64_t stages, int64_t unroll, StringRef fallback,
                    bool qStaged = false, bool wgmma = false) {
  // Two warpgroups on wgmma take turns on the tensor cores.
  bool pingpong = wgmma && layout.warps == 8;
  MLIRContext *ctx = request.getContext();
  int64_t blockM = request.getBlockM();
  if (path == KernelPath::Simt)
    return ScheduleAttr::get(ctx, blockM, (blockM + 31) / 32, stages, 0, path,
                             unroll, fallback, false, 1, false, false);
  return ScheduleAttr::get(ctx, blockM, layout.warps, stages,
                           blockM * layout.colGroups / layout.warps, path,
                           unroll, "", qStaged, layout.colGroups, wgmma,
                           pingpong);
}

/// Registers per thread that a warp's mma fragments may take across a KV
/// tile with Q held in registers. Beyond it ptxas spills (measured on
/// sm_80/sm_90: d64 at 128 x 128 and d128 at 128 x 64 with 32 rows per
/// warp need 224 and 256 and spill; d64 at 128 x 64 needs 160, which causal
/// fits but ALiBi, document masks and 2-D neighbourhoods do not; 128 and
/// below, the examples' 16-row kernels, never spilled): the rest of the
/// loop (P's A fragments, row statistics, mask indices, addresses, the exp2
/// arguments) needs the remaining ~120 of the 255.
constexpr int64_t kFragmentRegisterBudget = 128;

/// Fragment registers per thread of one KV tile's contractions at
/// `rowsPerWarp` rows per warp, in the KV loop that needs the most: the f32
/// accumulators (4 registers per 16 x 8 tile) and the loop-invariant row
/// operand's (Q's) A fragments (4 per 16 x 16). Sizes are the IR's (a
/// dynamic KV dimension is the loop's step).
struct FragmentRegisters {
  int64_t accumulators = 0, q = 0;
  /// Of the accumulators, those over a K/V operand's columns (O of P·V):
  /// what col_groups warps of a row group split.
  int64_t splittable = 0;
};
FragmentRegisters fragmentRegisters(func::FuncOp func, int64_t rowsPerWarp) {
  char row = codegen::rowLetterOf(func);
  int64_t mTiles = rowsPerWarp / 16;
  FragmentRegisters worst;
  for (scf::ForOp loop : codegen::kvLoopsOf(func)) {
    std::optional<int64_t> step = getConstantIntValue(loop.getStep());
    if (!step)
      continue;
    FragmentRegisters here;
    loop.getBody()->walk([&](ContractOp op) {
      Equation eq = op.getEquation().getValue();
      auto out = cast<RankedTensorType>(op->getResult(0).getType());
      if (eq.output.find(row) == std::string::npos || out.getRank() == 0)
        return;
      int64_t cols = out.getShape().back();
      int64_t registers =
          mTiles * (ShapedType::isDynamic(cols) ? *step : cols) / 8 * 4;
      here.accumulators += registers;
      if (codegen::detail::keepsOperandColumns(eq, row))
        here.splittable += registers;
      for (auto [k, input] : llvm::enumerate(op.getInputs())) {
        auto type = cast<RankedTensorType>(input.getType());
        if (loop.isDefinedOutsideOfLoop(input) &&
            eq.inputs[k].find(row) != std::string::npos &&
            type.getRank() > 0 && !type.isDynamicDim(type.getRank() - 1))
          here.q += codegen::aFragmentRegisters(rowsPerWarp,
                                                type.getShape().back());
      }
    });
    if (here.accumulators + here.q > worst.accumulators + worst.q)
      worst = here;
  }
  return worst;
}

/// Whether the Q tile should be staged in shared memory: its fragments and
/// the accumulators exceed the budget.
bool wantsStagedQ(func::FuncOp func, int64_t rowsPerWarp) {
  FragmentRegisters r = fragmentRegisters(func, rowsPerWarp);
  return r.q > 0 && r.accumulators + r.q > kFragmentRegisterBudget;
}

/// The most accumulator registers a warp of 32 rows may hold (with Q
/// staged): FlashAttention-2's d64 128 x 128 and d128 128 x 64 tiles (192).
constexpr int64_t kAccumulatorBudget32 = 192;

/// Most warps a CTA is given by splitting row groups (col_groups): at 256
/// threads a thread may still hold 255 registers.
constexpr int64_t kMaxSplitWarps = 8;

/// Warp layouts when none were asked for, best first: on tensor cores, 32
/// rows per warp (two m16 tiles sharing every K/V fragment: FlashAttention-2's
/// layout) for Q tiles of 128 rows or more whose accumulators fit at 32
/// rows, then a warp per 16 rows (what runs when the 32-row kernel does
/// not print: its staged Q does not fit the shared memory). Where even 16
/// rows' accumulators exceed kAccumulatorBudget32 (a V head dim past ~320:
/// MLA's 512), first the fewest warps per row group (col_groups) whose
/// slices of O bring them within kFragmentRegisterBudget, up to
/// kMaxSplitWarps warps.
SmallVector<WarpLayout> defaultLayouts(func::FuncOp func, int64_t blockM) {
  SmallVector<WarpLayout> choices;
  int64_t rowGroups = std::max<int64_t>(1, blockM / 16);
  FragmentRegisters at16 = fragmentRegisters(func, 16);
  if (at16.accumulators > kAccumulatorBudget32 && at16.splittable > 0) {
    int64_t best = 1;
    for (int64_t g = 2; g * rowGroups <= kMaxSplitWarps; g *= 2) {
      best = g;
      if (at16.accumulators - at16.splittable + at16.splittable / g <=
          kFragmentRegisterBudget)
        break;
    }
    if (best > 1)
      choices.push_back({rowGroups * best, best});
  }
  if (blockM >= 128 && blockM % 32 == 0 &&
      fragmentRegisters(func, 32).accumulators <= kAccumulatorBudget32)
    choices.push_back({blockM / 32, 1});
  choices.push_back({rowGroups, 1});
  return choices;
}

/// The layout of `warps` asked-for warps: each owning block_m / warps rows,
/// or, for more warps than 16-row tiles, groups of them sharing 16 rows
/// (col_groups); none when neither is whole.
std::optional<WarpLayout> askedLayout(int64_t blockM, int64_t warps) {
  if (blockM % warps == 0 && (blockM / warps) % 16 == 0)
    return WarpLayout{warps, 1};
  if (blockM % 16 == 0 && warps % (blockM / 16) == 0)
    return WarpLayout{warps, warps / (blockM / 16)};
  return std::nullopt;
}

} // namespace

/// The tensor-core steps after the decision, in the pipeline's order (also
/// applied to the copy the printer is asked about); nothing on SIMT kernels.
static LogicalResult scheduleForTensorCores(func::FuncOp func) {
  codegen::hoistFragments(func);
  if (failed(codegen::stageKvLoops(func, codegen::kSharedRowPad)))
    return failure();
  codegen::markAccumulate(func);
  codegen::deferRowSums(func);
  codegen::specializeInterior(func);
  codegen::foldScoreScale(func);
  return success();
}

namespace {

/// Why the tensor-core printer refuses a kernel: its first error, where it
/// was reported.
struct Refusal {
  Location loc;
  std::string message;
  /// Whether the printer ran out of the target's shared memory (its
  /// buffer, exchange and kernel errors name the shared memory and what
  /// "the target allows"): fewer K/V stages may fit.
  bool isSharedMemory() const {
    StringRef text(message);
    return text.contains("shared memory") && text.contains("the target allows");
  }
  /// "file:line:col: message", for the schedule's `fallback`.
  std::string located() const {
    std::string text;
    llvm::raw_string_ostream os(text);
    if (auto file = dyn_cast<FileLineColLoc>(loc))
      os << file.getFilename().getValue() << ":" << file.getLine() << ":"
         << file.getColumn() << ": ";
    os << message;
    return text;
  }
};

/// Why the tensor-core printer refuses `func` scheduled with `schedule`, or
/// none when it prints it: the question asked on a copy.
std::optional<Refusal> tensorCoreRefusal(func::FuncOp func,
                                         ScheduleAttr schedule,
                                         int64_t smemLimit) {
  std::optional<Refusal> why;
  OpBuilder b(func.getContext());
  OwningOpRef<ModuleOp> scratch = ModuleOp::create(b.getUnknownLoc());
  auto copy = cast<func::FuncOp>(func->clone());
  scratch->push_back(copy);
  ScopedDiagnosticHandler capture(func.getContext(), [&](Diagnostic &diag) {
    if (!why && diag.getSeverity() == DiagnosticSeverity::Error)
      why = Refusal{diag.getLocation(), diag.str()};
    return success();
  });
  setSchedule(codegen::outerGridLoop(copy), schedule);
  if (failed(scheduleForTensorCores(copy)))
    return why ? why : Refusal{func.getLoc(), "cannot stage the K/V tiles"};
  codegen::CudaEmitOptions options;
  options.path = KernelPath::Mma;
  options.maxSmemBytes = smemLimit;
  if (failed(codegen::emitCudaPlan(copy, options)))
    return why ? why
               : Refusal{func.getLoc(), "the tensor-core printer refused it"};
  return std::nullopt;
}

/// Decides the schedule of one kernel.
LogicalResult scheduleKernel(func::FuncOp func, KernelPath requested,
                             int64_t warpsOption, int64_t stagesOption,
                             int64_t unroll, int64_t smemLimit, bool wgmma) {
  scf::ForOp outer = codegen::outerGridLoop(func);
  if (!outer)
    return success(); // not a kernel
  ScheduleAttr request = getSchedule(outer);
  if (request.isDecided())
    return success();
  // Warps not asked for: 32 or 16 query rows per warp, or row groups
  // split over warps (defaultLayouts).
  int64_t asked = warpsOption > 0 ? warpsOption : request.getWarps();
  int64_t blockM = request.getBlockM();
  int64_t stages = stagesOption > 0 ? stagesOption : request.getStages();
  if (unroll <= 0)
    return outer.emitError("-attn-schedule: unroll must be positive");
  if (requested != KernelPath::Simt) {
    std::optional<Refusal> why;
    SmallVector<WarpLayout> layouts;
    if (asked <= 0)
      layouts = defaultLayouts(func, blockM);
    else if (std::optional<WarpLayout> layout = askedLayout(blockM, asked))
      layouts.push_back(*layout);
    else
      why = Refusal{outer.getLoc(),
                    "block_m = " + std::to_string(blockM) + " over " +
                        std::to_string(asked) +
                        " warps is not a whole number of 16-row mma tiles "
                        "per warp (nor whole row groups of 16 rows shared by "
                        "warps)"};
    ScheduleAttr mma;
    if (!why) {
      // The first schedule the printer prints, in order: each warp layout
      // with Q through shared memory when its fragments would crowd the
      // registers (wantsStagedQ), then with Q in registers (when the
      // staged Q does not fit the shared memory).
      auto rowsPerWarp = [&](WarpLayout l) {
        return blockM * l.colGroups / l.warps;
      };
      // Then the same with fewer K/V stages, down to one, while what
      // refused them was the shared memory (MLA's 576 + 512 columns): less
      // latency hiding, but the alternative is the SIMT path.
      bool printed = false, pastSharedMemory = true;
      for (int64_t s = stages; s >= 1 && !printed && pastSharedMemory; --s) {
        SmallVector<ScheduleAttr> attempts;
        // On sm_90a first the warpgroup layout on wgmma (16 rows per warp,
        // whole warpgroups; Q staged, so that S = QKᵀ reads both operands
        // from shared memory, as FlashAttention-3), when the warps were
        // not asked for otherwise; a kernel its printer refuses (K/V rows
        // that are not whole 32-byte swizzle blocks, a tile wgmma's N
        // cannot cover) runs on mma.sync as on sm_90.
        WarpLayout warpgroups{blockM / 16, 1};
        if (wgmma && blockM % 64 == 0 &&
            (asked <= 0 || asked == warpgroups.warps))
          attempts.push_back(decide(request, KernelPath::Mma, warpgroups, s,
                                    unroll, "", /*qStaged=*/true,
                                    /*wgmma=*/true));
        for (WarpLayout l : layouts)
          attempts.push_back(decide(request, KernelPath::Mma, l, s, unroll, "",
                                    wantsStagedQ(func, rowsPerWarp(l))));
        for (WarpLayout l : layouts)
          if (wantsStagedQ(func, rowsPerWarp(l)))
            attempts.push_back(
                decide(request, KernelPath::Mma, l, s, unroll, ""));
        pastSharedMemory = false;
        for (ScheduleAttr attempt : attempts) {
          std::optional<Refusal> refused =
              tensorCoreRefusal(func, attempt, smemLimit);
          if (!refused) {
            mma = attempt;
            printed = true;
            break;
          }
          pastSharedMemory |= refused->isSharedMemory();
          if (!why)
            why = refused;
        }
      }
      if (printed)
        why.reset();
    }
    if (!why) {
      setSchedule(outer, mma);
      return success();
    }
    if (requested == KernelPath::Mma)
      return emitError(why->loc, why->message).attachNote(func.getLoc())
             << "-attn-schedule: tensor cores were asked for '@"
             << func.getSymName() << "'";
    setSchedule(outer, decide(request, KernelPath::Simt, {}, stages, unroll,
                              why->located()));
    return success();
  }
  setSchedule(outer, decide(request, KernelPath::Simt, {}, stages, unroll, ""));
  return success();
}

LogicalResult scheduleModule(ModuleOp module, StringRef pathOption,
                             int64_t warps, int64_t stages, int64_t unroll) {
  KernelPath requested = KernelPath::Auto;
  if (!pathOption.empty()) {
    std::optional<KernelPath> p = symbolizeKernelPath(pathOption);
    if (!p)
      return module.emitError("-attn-schedule: unknown path '")
             << pathOption << "' (expected auto, simt or mma)";
    requested = *p;
  } else if (TargetAttr target = getTarget(module)) {
    requested = target.getPath();
  }
  int64_t smemLimit = sharedMemoryLimit(module);
  bool wgmma = targetHasWgmma(module);
  for (auto func : llvm::to_vector(module.getOps<func::FuncOp>()))
    if (!func.isExternal() &&
        failed(scheduleKernel(func, requested, warps, stages, unroll, smemLimit,
                              wgmma)))
      return failure();
  return success();
}

struct AttnSchedulePass
    : attn::codegen::impl::AttnScheduleBase<AttnSchedulePass> {
  using AttnScheduleBase::AttnScheduleBase;
  void runOnOperation() override {
    if (failed(scheduleModule(getOperation(), path, warps, stages, unroll)))
      signalPassFailure();
  }
};

} // namespace

LogicalResult attn::codegen::scheduleUnscheduled(ModuleOp module) {
  SmallVector<func::FuncOp> fresh;
  for (auto func : module.getOps<func::FuncOp>())
    if (!func.isExternal() && outerGridLoop(func) && !decidedSchedule(func))
      fresh.push_back(func);
  if (failed(scheduleModule(module, "", 0, 0, 1)))
    return failure();
  for (func::FuncOp func : fresh)
    if (failed(scheduleForTensorCores(func)))
      return failure();
  return success();
}
