//===- EmitCudaPass.cpp - -attn-emit-cuda ---------------------------------===//
//
// The pass behind attn-opt --emit=cuda|ptx|cubin: prints the module's CUDA
// source, or compiles it with NVRTC and writes PTX or a cubin, optionally
// with ptxas' resource report as JSON.
//
//===----------------------------------------------------------------------===//

#include "attn/Codegen/CudaEmitter.h"
#include "attn/Codegen/Nvrtc.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/ToolOutputFile.h"

#include <cmath>
#include <optional>

using namespace mlir;

//===----------------------------------------------------------------------===//
// -attn-emit-cuda
//===----------------------------------------------------------------------===//

namespace {
/// Prints the module's CUDA source to a file (`-` = stdout), or compiles it
/// with NVRTC and writes the PTX or cubin; with `report=json` (cubin only)
/// also prints ptxas' per-kernel resources and the launch-limit checks as
/// JSON on stdout. Hand-written rather than in Passes.td so that the pass
/// lives with the emitter and the passes library does not depend on codegen.
struct EmitCudaPass
    : public PassWrapper<EmitCudaPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(EmitCudaPass)
  EmitCudaPass() = default;
  EmitCudaPass(const EmitCudaPass &other) : PassWrapper(other) {}
  StringRef getArgument() const final { return "attn-emit-cuda"; }
  StringRef getDescription() const final {
    return "Print CUDA C++ for kernel IR (every kernel of each function's "
           "launch plan), or PTX / a cubin compiled from it with NVRTC; "
           "attn-opt --emit=cuda|ptx|cubin is its shorthand";
  }
  void runOnOperation() final {
    attn::codegen::CudaEmitOptions opts;
    ModuleOp module = getOperation();
    if (!attn::codegen::parseEmitDebug(debug, opts.debug)) {
      module.emitError("unknown debug mode '") << debug << "'";
      return signalPassFailure();
    }
    if (!attn::codegen::parseCudaPath(path, opts.path)) {
      module.emitError("unknown kernel path '")
          << path << "' (supported: auto, simt, mma)";
      return signalPassFailure();
    }
    if (format != "cuda" && format != "ptx" && format != "cubin") {
      module.emitError("unknown emit format '")
          << format << "' (supported: cuda, ptx, cubin)";
      return signalPassFailure();
    }
    if (report != "none" && (report != "json" || format != "cubin")) {
      module.emitError("report=")
          << report << " needs format=cubin and report=json (the resource "
          << "report comes from ptxas)";
      return signalPassFailure();
    }
    std::optional<attn::codegen::CudaArch> cudaArch;
    if (format != "cuda" && !(cudaArch = attn::codegen::lookupCudaArch(arch))) {
      module.emitError("unknown CUDA arch '")
          << arch << "' (supported: " << attn::codegen::supportedCudaArchs()
          << ")";
      return signalPassFailure();
    }
    // A known target gets its own shared-memory limit; CUDA source is for
    // any of them.
    if (cudaArch)
      opts.maxSmemBytes = cudaArch->maxSmemPerBlock;
    std::string error;
    auto file = openOutputFile(output, &error);
    if (!file) {
      module.emitError(error);
      return signalPassFailure();
    }
    if (format == "cuda") {
      if (failed(attn::codegen::emitCudaModule(module, file->os(), opts)))
        return signalPassFailure();
      file->keep();
      return;
    }
    // Kernel by kernel (rather than emitCudaModule) to know each kernel's
    // threads per CTA for the register-file check.
    std::string source;
    llvm::StringMap<attn::codegen::CudaKernel> kernels;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (!func.isPublic() || func.isExternal())
        continue;
      auto plan = attn::codegen::emitCudaPlan(func, opts);
      if (failed(plan))
        return signalPassFailure();
      for (attn::codegen::CudaKernel &kernel : plan->kernels) {
        source += kernel.source;
        kernel.source.clear();
        kernels[kernel.name] = kernel;
      }
    }
    if (kernels.empty()) {
      module.emitError("CUDA emitter: no public function to emit");
      return signalPassFailure();
    }
    auto compiled = attn::codegen::compileWithNvrtc(
        source, "attn_kernels.cu", *cudaArch,
        format == "ptx" ? attn::codegen::NvrtcTarget::Ptx
                        : attn::codegen::NvrtcTarget::Cubin);
    if (!compiled) {
      module.emitError(llvm::toString(compiled.takeError()));
      return signalPassFailure();
    }
    file->os() << compiled->binary;
    file->keep();
    if (report == "json")
      printResources(*compiled, *cudaArch, kernels);
  }

  /// The resource report: per kernel, its path, ptxas' figures and whether
  /// one CTA fits the SM's register file and the arch's shared memory
  /// (ptxas' static figure plus the emitter's dynamic staging buffers).
  static void printResources(
      const attn::codegen::NvrtcOutput &out,
      const attn::codegen::CudaArch &arch,
      const llvm::StringMap<attn::codegen::CudaKernel> &kernels) {
    llvm::json::OStream j(llvm::outs(), /*IndentSize=*/2);
    bool allOk = true;
    j.object([&] {
      j.attribute("arch", arch.name);
      // Whole milliseconds: the figure varies more than that between runs.
      j.attribute("nvrtc_compile_ms",
                  static_cast<int64_t>(std::llround(out.compileMs)));
      j.attribute("cubin_bytes", static_cast<int64_t>(out.binary.size()));
      j.attribute("registers_per_sm", arch.registersPerSm);
      j.attribute("static_smem_limit_bytes", attn::codegen::kMaxStaticSmem);
      j.attribute("smem_limit_bytes", arch.maxSmemPerBlock);
      j.attributeArray("kernels", [&] {
        for (const attn::codegen::KernelResources &k : out.kernels) {
          auto it = kernels.find(k.name);
          int64_t n = it == kernels.end() ? 0 : it->second.threads;
          int64_t dynamicSmem =
              it == kernels.end() ? 0 : it->second.dynamicSmemBytes;
          bool regsOk = n > 0 && k.registers * n <= arch.registersPerSm;
          bool smemOk = k.staticSmemBytes <= attn::codegen::kMaxStaticSmem &&
                        k.staticSmemBytes + dynamicSmem <= arch.maxSmemPerBlock;
          bool spillOk = k.spillStoreBytes == 0 && k.spillLoadBytes == 0;
          allOk &= regsOk && smemOk && spillOk;
          j.object([&] {
            j.attribute("name", k.name);
            if (it != kernels.end()) {
              j.attribute("path", it->second.path);
              if (!it->second.fallbackReason.empty())
                j.attribute("fallback_reason", it->second.fallbackReason);
            }
            j.attribute("threads", n);
            j.attribute("registers", k.registers);
            j.attribute("register_file", k.registers * n);
            j.attribute("static_smem_bytes", k.staticSmemBytes);
            j.attribute("dynamic_smem_bytes", dynamicSmem);
            j.attribute("spill_stores_bytes", k.spillStoreBytes);
            j.attribute("spill_loads_bytes", k.spillLoadBytes);
            j.attribute("stack_frame_bytes", k.stackFrameBytes);
            j.attribute("registers_ok", regsOk);
            j.attribute("smem_ok", smemOk);
            j.attribute("no_spills", spillOk);
          });
        }
      });
      // No kernel in ptxas' report would make every check vacuous.
      j.attribute("ok", allOk && !out.kernels.empty());
    });
    llvm::outs() << "\n";
    llvm::outs().flush();
  }

  Option<std::string> output{*this, "output",
                             llvm::cl::desc("Output file ('-': stdout)"),
                             llvm::cl::init("-")};
  Option<std::string> debug{
      *this, "debug",
      llvm::cl::desc("Deliberately broken kernels for testing the checks: "
                     "none, drop-mask, kv-bound, fragment-index"),
      llvm::cl::init("none")};
  Option<std::string> path{
      *this, "path",
      llvm::cl::desc("Kernel path: auto (tensor cores when the variant fits, "
                     "else SIMT), simt or mma"),
      llvm::cl::init("auto")};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("cuda (source), ptx or cubin (compiled with NVRTC)"),
      llvm::cl::init("cuda")};
  Option<std::string> arch{
      *this, "arch",
      llvm::cl::desc("Target for ptx/cubin: sm_80, sm_86, sm_89, sm_90, "
                     "sm_90a"),
      llvm::cl::init("sm_80")};
  Option<std::string> report{
      *this, "report",
      llvm::cl::desc("none, or json: per-kernel ptxas resources and launch "
                     "limit checks on stdout (format=cubin)"),
      llvm::cl::init("none")};
};
} // namespace

void attn::codegen::registerCodegenPasses() {
  PassRegistration<EmitCudaPass>();
}
