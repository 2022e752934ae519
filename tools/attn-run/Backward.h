//===- Backward.h - attn-run --backward ----------------------------*- C++ -*-===//
//
// The backward of a variant: runs the forward, draws (or loads) the
// cotangents of its results, runs the derived backward cascade
// (-attn-derive-backward) in the float64 interpreter, and with --check
// compares every gradient with central finite differences of the Level 1
// forward interpreter, which shares nothing with the derivation. With
// --device=emu the backward kernels (attn/Codegen/BackwardKernels.h) run on
// the emulator and --check compares their gradients with the interpreter's.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TOOLS_ATTN_RUN_BACKWARD_H
#define ATTN_TOOLS_ATTN_RUN_BACKWARD_H

#include "attn/Interpreter/Inputs.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <string>

namespace attn::run {

/// What one backward run needs.
struct BackwardRequest {
  /// The (retyped) Level 1 forward, in a module the backward is added to.
  mlir::func::FuncOp forward;
  /// Its inputs, drawn or loaded.
  llvm::ArrayRef<interp::Tensor> inputs;
  uint64_t seed = 0;
  /// --save and --load directories (empty: none).
  std::string saveDir, loadDir;
  /// --check, its normwise tolerance, and the number of coordinates of each
  /// tensor the finite differences perturb (all when it has no more).
  bool check = false;
  double tolerance = 1e-6;
  int64_t fdCoordinates = 256;
  bool json = false;
  /// "ref": the interpreter's gradients, --check against central
  /// differences. "emu": the backward kernels on the emulator, --check
  /// against the interpreter's gradients (normwise, `tolerance`).
  std::string device = "ref";
  /// emu: the kernels' deterministic mode, memcheck, global-access counters
  /// and emulator worker threads (0: its choice).
  bool deterministic = false, memcheck = false, counters = false;
  unsigned workers = 0;
  /// emu: also run the kernels under ThreadSanitizer (through the runtime,
  /// whose BackwardPlan does it); a race fails the run.
  bool race = false;
  /// emu, cuda, auto: kernels that recompute the forward state instead of
  /// reading the forward's results (BackwardOptions::stateFromResults off).
  bool recomputeState = false;
  /// The names (and .npy stems) of arguments and results.
  std::function<std::string(unsigned)> inputName, resultName;
};

/// Runs the backward, prints its report to `os` and returns the exit code
/// (0: ran, and every check passed; 1: a check failed). Errors (a missing
/// derivative rule, a malformed file) are returned as llvm::Error.
llvm::Expected<int> runBackward(const BackwardRequest &request,
                                llvm::raw_ostream &os);

} // namespace attn::run

#endif // ATTN_TOOLS_ATTN_RUN_BACKWARD_H
