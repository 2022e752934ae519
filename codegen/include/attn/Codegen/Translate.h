//===- Translate.h - kernel IR to CUDA source, PTX or a cubin -----*- C++ -*-===//
//
// The translation behind `attn-opt --emit=cuda|ptx|cubin`: every public
// function of a kernel-IR module becomes its launch plan's kernels
// (emitCudaPlan), printed as CUDA C++ or compiled with NVRTC, optionally
// with ptxas' resource report. A library call, not a pass: it reads the
// module and returns bytes.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CODEGEN_TRANSLATE_H
#define ATTN_CODEGEN_TRANSLATE_H

#include "attn/Codegen/CudaEmitter.h"
#include "attn/Codegen/Nvrtc.h"

#include "llvm/Support/JSON.h"

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace attn::codegen {

/// What the translation produces.
enum class EmitFormat { Cuda, Ptx, Cubin };

/// Translation options. Unset fields come from the module's #attn.target
/// (what attn-pipeline's arch and path options recorded).
struct TranslateOptions {
  EmitFormat format = EmitFormat::Cuda;
  /// The CUDA arch: required (here or in #attn.target) for PTX and cubins;
  /// for CUDA source it sets the shared-memory limit the emitter checks.
  std::optional<std::string> arch;
  std::optional<KernelPath> path;
  EmitDebug debug = EmitDebug::None;
  /// The kernels of variable-length batches and of paged KV caches
  /// (CudaEmitOptions::varlen, pagedKv).
  bool varlen = false, pagedKv = false;
  /// Cubin only: ptxas' per-kernel resources and the launch-limit checks as
  /// JSON (Translation::resourceReport).
  bool resourceReport = false;
  /// Resource report only: adds attributes to each kernel's object (after
  /// ptxas' figures) and to the report itself (after the kernels).
  std::function<void(llvm::json::OStream &, const CudaKernel &,
                     const KernelResources &)>
      kernelReportExtras;
  std::function<void(llvm::json::OStream &)> reportExtras;
};

/// The result: source, PTX or cubin bytes, and the resource report.
struct Translation {
  std::string output;
  std::string resourceReport;
  /// Each public function's launch plan (kernel sources left empty), in
  /// module order.
  std::vector<std::pair<std::string, CudaPlan>> plans;
  /// Cubins: ptxas' per-kernel resources.
  std::vector<KernelResources> resources;
};

/// Translates `module`. Errors are located diagnostics on the module or the
/// offending op.
mlir::FailureOr<Translation> translateModule(mlir::ModuleOp module,
                                             const TranslateOptions &options);

} // namespace attn::codegen

#endif // ATTN_CODEGEN_TRANSLATE_H
