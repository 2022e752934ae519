//===- BackwardDevice.h - backward kernels on a device -----------*- C++ -*-===//
//
// attn-run --backward on a device. --device=emu: emits the backward kernels
// of a derived backward function (attn/Codegen/BackwardKernels.h), builds
// them for the CPU emulator, binds the interpreter's tensors (arguments in
// their element types, gradients and the zero-filled workspaces in f32) and
// launches every kernel in order. --device=cuda|auto: the same kernels
// through the runtime's BackwardPlan (attn/Backward.h), the tensors staged
// in the device's memory.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TOOLS_ATTN_RUN_BACKWARDDEVICE_H
#define ATTN_TOOLS_ATTN_RUN_BACKWARDDEVICE_H

#include "attn/Codegen/BackwardKernels.h"
#include "attn/Interpreter/Interpreter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace attn::run {

/// One backward run on the emulator.
struct BackwardEmuRequest {
  /// The backward the kernels are emitted from (attn::buildKernelBackward's).
  mlir::func::FuncOp backward;
  /// Its arguments: the forward's inputs, the forward's results when it
  /// reads them, the cotangents.
  llvm::ArrayRef<interp::Tensor> args;
  /// The shapes of its results (the gradients).
  std::vector<std::vector<int64_t>> gradientShapes;
  codegen::BackwardEmitOptions options;
  /// Emulator settings: memcheck, global-access counters, worker threads
  /// (0: the emulator's choice).
  bool memcheck = false, counters = false;
  unsigned workers = 0;
};

/// What the kernels computed and did.
struct BackwardEmuResult {
  std::vector<interp::Tensor> gradients;
  /// One line per kernel launched: name, role, CTAs, what it computes.
  std::vector<std::string> kernels;
  /// With counters: global bytes read and written, atomics included.
  uint64_t bytesRead = 0, bytesWritten = 0;
  /// Through the runtime: BackwardPlan::readsResults() and
  /// recomputesBecause().
  bool readsResults = false;
  std::string recomputesBecause;
  /// With the race checker: its reports, the races found, its seconds.
  std::vector<std::string> raceReports;
  unsigned dataRaces = 0;
  double raceSeconds = 0;
};

/// Emits, builds and runs the backward kernels. Errors carry the emitter's
/// or the emulator's report (a memcheck violation fails the run).
llvm::Expected<BackwardEmuResult>
runBackwardOnEmulator(const BackwardEmuRequest &request);

/// One backward run through the runtime.
struct BackwardRuntimeRequest {
  /// The (retyped) Level 1 forward, and its module's text (what the
  /// runtime compiles, with the forward as its entry).
  mlir::func::FuncOp forward;
  std::string moduleText;
  /// "cuda" or "auto"; "emu" with `race`.
  std::string device;
  /// The forward's inputs, its results (o [, lse]: staged when the plan
  /// reads them) and the cotangents of its float results.
  llvm::ArrayRef<interp::Tensor> inputs, results, cotangents;
  /// The forward argument of each gradient, and the gradients' shapes.
  llvm::ArrayRef<int64_t> gradientOf;
  std::vector<std::vector<int64_t>> gradientShapes;
  bool deterministic = false, memcheck = false, counters = false;
  /// BackwardOptions::stateFromResults.
  bool stateFromResults = true;
  /// emu: the kernels run again under ThreadSanitizer
  /// (RunOptions::raceCheck).
  bool race = false;
};

/// Compiles the forward's backward with the runtime (Runtime::global()),
/// stages the tensors on the device it resolves to and runs it.
llvm::Expected<BackwardEmuResult>
runBackwardOnRuntime(const BackwardRuntimeRequest &request);

} // namespace attn::run

#endif // ATTN_TOOLS_ATTN_RUN_BACKWARDDEVICE_H
