//===- Frontend.h - MLIR variant to PlanSpec --------------------*- C++ -*-===//
//
// The compiler half of the runtime (linked with MLIR): parses a variant,
// optionally retypes q/k/v/o, reads its signature, lowers Level 1 IR with
// the pipeline attn-run uses (attn-decompose, attn-tile{block-m},
// attn-online{tile-n}, [attn-split-kv{in-place splits} for the split-KV
// plan,] attn-fuse, cse) and emits the CUDA launch plan (emitCudaPlan).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_JIT_COMPILER_FRONTEND_H
#define ATTN_RUNTIME_JIT_COMPILER_FRONTEND_H

#include "../CompilerApi.h"

#include "attn/Codegen/CudaEmitter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"

#include <string>
#include <string_view>

namespace attn::jit {

/// Registers the dialects a variant may use.
void registerVariantDialects(mlir::DialectRegistry &registry);

/// Compiles the variant in `text`; diagnostics (with `bufferName` locations)
/// go to `*error` on failure.
bool compileVariantText(std::string_view text, std::string_view bufferName,
                        const FrontendOptions &options, PlanSpec *spec,
                        std::string *error);

/// The spec of `plan`, the launch plan the CUDA emitter made of `func`
/// (kernel IR): the signature read from `func`, the kernels and parameter
/// struct from `plan`. For callers that lower and emit themselves
/// (attn-run, with its pipeline and debug options).
bool specOfEmitted(mlir::func::FuncOp func, const codegen::CudaPlan &plan,
                   PlanSpec *spec, std::string *error);

/// Derives the backward of the variant in `text` (-attn-derive-backward,
/// its state recomputed) and emits its kernels; diagnostics go to `*error`.
bool compileBackwardText(std::string_view text, std::string_view bufferName,
                         const BackwardFrontendOptions &options,
                         BackwardSpec *spec, std::string *error);
/// Compiles a clone of `module` (left untouched); diagnostics go to
/// `*error` rather than the context's handlers.
bool compileVariantModule(mlir::ModuleOp module, const FrontendOptions &options,
                          PlanSpec *spec, std::string *error);

} // namespace attn::jit

#endif // ATTN_RUNTIME_JIT_COMPILER_FRONTEND_H
