//===- JitDevice.h - attn-run's bridge to the JIT runtime -------*- C++ -*-===//
//
// Every device but ref runs through the runtime library (attn/Runtime.h):
// `--device=cuda` and `--device=auto` (and `--bench`) compile the module
// into a plan with the runtime's own choices; `--device=emu` hands the
// runtime the launch plan attn-run emitted itself (its pipeline, tile flags
// and debug mutations) to run as it is. Either way the inputs are copied
// into device buffers in the --layout's memory order, the plan runs (or is
// timed) with the runtime's validation, parameter packing, buffers,
// memcheck, race checking and counters, and o / lse are read back.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TOOLS_ATTNRUN_JITDEVICE_H
#define ATTN_TOOLS_ATTNRUN_JITDEVICE_H

#include "attn/Interpreter/Interpreter.h"
#include "attn/Plan.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace attn::codegen {
struct CudaPlan;
} // namespace attn::codegen

namespace attn::run {

struct VarlenBatch;

/// What to run.
struct JitRequest {
  /// "cuda", "auto" or "emu".
  std::string device;
  /// Tile sizes when the module is still Level 1.
  int64_t blockM = 0, blockN = 64;
  /// The schedule: warps (0: its choice), K/V stages, KV loop unroll.
  int64_t warps = 0, stages = 2, unroll = 1;
  /// The CUDA arch to compile for (CompileOptions::arch); empty: the GPU's.
  std::string arch;
  /// Memory order of q, k, v and o: "bhsd" or "bshd".
  std::string layout = "bhsd";
  /// Time the kernel (cuda) or report the counters (emu) as well.
  bool bench = false;
  int benchRepeats = 20;
  /// Memcheck every launch (RunOptions::memcheck; the emulator only); the
  /// violations are reported in JitReport::stats.
  bool memcheck = false;
  /// emu: count KV tiles and global traffic (--counters), race-check
  /// (--race).
  bool counters = false, race = false;
  /// emu: the launch plan attn-run emitted from the function (kernel IR),
  /// run as it is; null: the runtime compiles the module.
  const attn::codegen::CudaPlan *emitted = nullptr;
  /// The split count of a plan whose count is chosen at launch (0: the
  /// runtime's choice).
  int64_t kvSplits = 0;
  /// The most host memory the runtime's own buffers may take (0: what the
  /// machine has available): RunOptions::hostMemoryLimit.
  uint64_t hostMemoryLimit = 0;
  /// A variable-length batch (Varlen.h): the inputs are packed (q, k, v
  /// [total, H, D]) and the results come back packed (o [total_q, Hq, Dv],
  /// lse [Hq, total_q]); null: a dense run.
  const VarlenBatch *varlen = nullptr;
  /// With `varlen`: > 0 keeps k and v in a paged KV cache of pages this
  /// size (Varlen.h: layoutPages, shuffled by `pageSeed`).
  int64_t pageSize = 0;
  uint64_t pageSeed = 0;
};

/// What happened.
struct JitReport {
  /// The device the plan ran on ("cuda" or "emu").
  std::string device;
  /// The launch plan that ran ("plain" or "split-kv (4 splits)"), its
  /// kernels, and why the runtime chose it.
  std::string plan, kernels, planReason;
  /// Query rows per CTA of the plan that ran.
  int64_t blockM = 0;
  /// Query heads packed into one Q tile's rows (GQA decoding); 1: none.
  int64_t packedGroup = 1;
  /// cuda --bench: kernel times over the repeats, in milliseconds.
  bool timed = false;
  double medianMs = 0, minMs = 0;
  int repeats = 0;
  /// emu --bench: why there is no timing.
  std::string untimedReason;
  /// emu --bench: counters of the run.
  bool haveCounters = false;
  uint64_t ctas = 0, bytesRead = 0, bytesWritten = 0;
  /// emu: seconds to build (or load) the kernel library and to run the
  /// launches (without the race check).
  double compileSeconds = 0, launchSeconds = 0;
  /// What the run did: on emu its counters, memcheck and race-checker
  /// findings.
  attn::RunStats stats;
};

/// The --bench line of the summary ("" without --bench).
std::string benchSummary(const JitReport &report);

/// The --bench JSON object ("" without --bench).
std::string benchJson(const JitReport &report);

/// Compiles `func` of `module` with the runtime and runs it on `inputs`
/// (sizes as bound); returns o (and lse).
llvm::Expected<std::vector<attn::interp::Tensor>>
runJit(mlir::ModuleOp module, mlir::func::FuncOp func,
       llvm::ArrayRef<attn::interp::Tensor> inputs,
       const std::map<std::string, int64_t> &sizes, const JitRequest &request,
       JitReport &report);

} // namespace attn::run

#endif // ATTN_TOOLS_ATTNRUN_JITDEVICE_H
