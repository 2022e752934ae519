//===- Schedule.h - the kernel schedule passes -------------------*- C++ -*-===//
//
// The passes that write how a kernel runs into its IR (Passes.td in this
// directory), and the per-function steps they are made of, which
// -attn-schedule also applies to a copy of a kernel to ask the tensor-core
// printer whether it fits.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CODEGEN_SCHEDULE_H
#define ATTN_CODEGEN_SCHEDULE_H

#include "attn/Dialect/AttnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"

namespace attn::codegen {

#define GEN_PASS_DECL
#include "attn/Codegen/Passes.h.inc"

/// The outermost grid loop of `func` (where #attn.schedule lives), or null.
mlir::scf::ForOp outerGridLoop(mlir::func::FuncOp func);

/// The query-row letter of `func`'s grid (its innermost grid loop's), or 0.
char rowLetterOf(mlir::func::FuncOp func);

/// The KV loops of `func` (`attn.kv_loop`), outermost first: collected
/// before a schedule pass rewrites any of them.
llvm::SmallVector<mlir::scf::ForOp> kvLoopsOf(mlir::func::FuncOp func);

/// Keys per tile of `func`'s first KV loop (its constant step); 0 when there
/// is none or the step is not a constant.
int64_t kvTileOf(mlir::func::FuncOp func);

/// The decided schedule of `func`, or null when -attn-schedule has not run.
ScheduleAttr decidedSchedule(mlir::func::FuncOp func);

/// Elements of padding after each row of a shared-memory tile (16 bytes of
/// f16/bf16: consecutive rows start four banks apart, so ldmatrix and the
/// epilogue's pair stores are free of bank conflicts); attn/device/
/// fragment.h's kSmemPad.
constexpr int64_t kSharedRowPad = 8;

/// -attn-stage-kv on one tensor-core kernel: `stages` from its schedule,
/// rows padded by `pad` elements.
mlir::LogicalResult stageKvLoops(mlir::func::FuncOp func, int64_t pad);

/// Most registers per thread a warp's hoisted A fragments of the Q tile may
/// take: past it (MLA's 576-wide head dim, 144) -attn-hoist-fragments leaves
/// Q to be read from global memory (L1/L2) for every KV tile, as a kernel
/// whose staged Q does not fit the shared memory must.
constexpr int64_t kMaxHoistedFragmentRegisters = 128;

/// Registers per thread of a warp's mma A fragments of a row operand with
/// `cols` reduced columns at `rowsPerWarp` rows: 4 per 16 x 16 fragment
/// (a multiple of 8 columns rounds up to whole k-steps).
inline int64_t aFragmentRegisters(int64_t rowsPerWarp, int64_t cols) {
  return rowsPerWarp / 16 * ((cols + 15) / 16) * 4;
}

/// -attn-hoist-fragments on one tensor-core kernel.
void hoistFragments(mlir::func::FuncOp func);

/// -attn-mark-accumulate on one tensor-core kernel.
void markAccumulate(mlir::func::FuncOp func);

/// -attn-defer-row-sums on one tensor-core kernel.
void deferRowSums(mlir::func::FuncOp func);

/// -attn-specialize-interior on one tensor-core kernel.
void specializeInterior(mlir::func::FuncOp func);

/// -attn-fold-score-scale on one tensor-core kernel.
void foldScoreScale(mlir::func::FuncOp func);

/// Schedules every kernel of `module` that has no decided schedule yet, as
/// -attn-schedule, -attn-stage-kv, -attn-hoist-fragments,
/// -attn-mark-accumulate, -attn-defer-row-sums, -attn-specialize-interior and
/// -attn-fold-score-scale with their default options would: what the CUDA
/// translation applies to kernel IR that reaches it unscheduled.
mlir::LogicalResult scheduleUnscheduled(mlir::ModuleOp module);

#define GEN_PASS_REGISTRATION
#include "attn/Codegen/Passes.h.inc"

} // namespace attn::codegen

#endif // ATTN_CODEGEN_SCHEDULE_H
