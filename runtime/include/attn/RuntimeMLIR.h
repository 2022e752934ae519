//===- RuntimeMLIR.h - compiling an in-memory MLIR module -------*- C++ -*-===//
//
// For hosts that build or transform variants with MLIR themselves. Needs the
// MLIR headers and the compiler library (CMake: attn::compiler, which links
// LLVM/MLIR 22); hosts that only compile files or text need neither
// (attn/Runtime.h, attn::runtime).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIMEMLIR_H
#define ATTN_RUNTIMEMLIR_H

#include "attn/Runtime.h"
#include "attn/VariantBuilder.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/IR/DialectRegistry.h"

namespace attn {

/// Compiles the variant in `module` (not modified) with `runtime`. The
/// in-memory cache is keyed by the module's printed text, so a repeated
/// compile costs a print and a lookup; the plan on disk is shared with
/// compileText of the same text.
Expected<Plan> compileModule(Runtime &runtime, mlir::ModuleOp module,
                             const CompileOptions &options = {});

/// The variant `builder` describes, parsed and verified in `context` (which
/// gets the variant dialects loaded); the parser's or verifier's message
/// when the text does not verify.
Expected<mlir::OwningOpRef<mlir::ModuleOp>>
buildModule(const VariantBuilder &builder, mlir::MLIRContext &context);

/// Registers the dialects a variant may use (attn, func, arith, math,
/// tensor, scf) in `registry`.
void registerVariantDialects(mlir::DialectRegistry &registry);

} // namespace attn

#endif // ATTN_RUNTIMEMLIR_H
