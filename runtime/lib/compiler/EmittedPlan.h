//===- EmittedPlan.h - running a launch plan the caller emitted -*- C++ -*-===//
//
// For tools that lower and emit a variant themselves (attn-run: its pass
// pipeline, tile flags and the emitter's debug mutations) and run the
// result through the runtime, like any plan: the same validation, packing,
// buffers, memcheck, race checking and counters on every device.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_JIT_COMPILER_EMITTEDPLAN_H
#define ATTN_RUNTIME_JIT_COMPILER_EMITTEDPLAN_H

#include "attn/Codegen/CudaEmitter.h"
#include "attn/Runtime.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace attn::jit {

/// A plan that runs `plan`, the launch plan the CUDA emitter made of `func`
/// (kernel IR), as it is, on `options.device` (and `options.arch`): no
/// other plan is derived from it. Its artifact is cached by content like
/// any other.
Expected<Plan> compileEmitted(Runtime &runtime, mlir::func::FuncOp func,
                              const codegen::CudaPlan &plan,
                              const CompileOptions &options);

} // namespace attn::jit

#endif // ATTN_RUNTIME_JIT_COMPILER_EMITTEDPLAN_H
