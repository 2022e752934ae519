//===- Translate.cpp - kernel IR to CUDA source, PTX or a cubin -----------===//

#include "attn/Codegen/Translate.h"
#include "attn/Codegen/CostModel.h"
#include "attn/Codegen/Nvrtc.h"
#include "attn/Dialect/KernelAttrs.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/JSON.h"

#include <cmath>

using namespace mlir;
using namespace attn::codegen;

/// The resource report: per kernel, its path, ptxas' figures and whether one
/// CTA fits the SM's register file and the arch's shared memory (ptxas'
/// static figure plus the emitter's dynamic staging buffers).
static std::string resourceReport(const NvrtcOutput &out, const CudaArch &arch,
                                  const llvm::StringMap<CudaKernel> &kernels,
                                  const TranslateOptions &options) {
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::json::OStream j(os, /*IndentSize=*/2);
  bool allOk = true;
  j.object([&] {
    j.attribute("arch", arch.name);
    // Whole milliseconds: the figure varies more than that between runs.
    j.attribute("nvrtc_compile_ms",
                static_cast<int64_t>(std::llround(out.compileMs)));
    j.attribute("cubin_bytes", static_cast<int64_t>(out.binary.size()));
    j.attribute("registers_per_sm", arch.registersPerSm);
    j.attribute("static_smem_limit_bytes", kMaxStaticSmem);
    j.attribute("smem_limit_bytes", arch.maxSmemPerBlock);
    j.attributeArray("kernels", [&] {
      for (const KernelResources &k : out.kernels) {
        auto it = kernels.find(k.name);
        int64_t n = it == kernels.end() ? 0 : it->second.threads;
        int64_t dynamicSmem =
            it == kernels.end() ? 0 : it->second.dynamicSmemBytes;
        bool regsOk = n > 0 && k.registers * n <= arch.registersPerSm;
        bool smemOk = k.staticSmemBytes <= kMaxStaticSmem &&
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
          // The kernel's SASS (.text.<name>), 16 bytes per instruction.
          if (llvm::Expected<int64_t> text = cubinTextBytes(out.binary, k.name))
            j.attribute("text_bytes", *text);
          else
            llvm::consumeError(text.takeError());
          j.attribute("registers_ok", regsOk);
          j.attribute("smem_ok", smemOk);
          j.attribute("no_spills", spillOk);
          if (options.kernelReportExtras && it != kernels.end())
            options.kernelReportExtras(j, it->second, k);
        });
      }
    });
    // No kernel in ptxas' report would make every check vacuous.
    j.attribute("ok", allOk && !out.kernels.empty());
    if (options.reportExtras)
      options.reportExtras(j);
  });
  os << "\n";
  return text;
}

FailureOr<Translation>
attn::codegen::translateModule(ModuleOp module,
                               const TranslateOptions &options) {
  TargetAttr target = getTarget(module);
  CudaEmitOptions emit;
  emit.debug = options.debug;
  emit.varlen = options.varlen;
  emit.pagedKv = options.pagedKv;
  // The kernels' schedules decide the path; an explicit one must agree (or,
  // for kernel IR that reaches us unscheduled, is what it is scheduled for).
  emit.path = options.path ? *options.path : KernelPath::Auto;
  std::string archName = options.arch ? *options.arch
                         : target     ? target.getArch().str()
                                      : std::string();
  std::optional<CudaArch> arch;
  if (!archName.empty() && !(arch = lookupCudaArch(archName)))
    return module.emitError("unknown CUDA arch '")
           << archName << "' (supported: " << supportedCudaArchs() << ")";
  if (options.format != EmitFormat::Cuda && !arch)
    return module.emitError("PTX and cubins need a CUDA arch (--arch, or "
                            "attn-pipeline{arch=...})");
  if (options.resourceReport && options.format != EmitFormat::Cubin)
    return module.emitError("the resource report comes from ptxas: it needs "
                            "a cubin");
  // A known target gets its own shared-memory limit; CUDA source for no
  // particular arch the portable one.
  if (arch)
    emit.maxSmemBytes = arch->maxSmemPerBlock;

  Translation result;
  std::string source;
  llvm::StringMap<CudaKernel> kernels;
  bool any = false;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (!func.isPublic() || func.isExternal())
      continue;
    auto plan = emitCudaPlan(func, emit);
    if (failed(plan))
      return failure();
    for (CudaKernel &kernel : plan->kernels) {
      source += kernel.source;
      kernel.source.clear();
      kernels[kernel.name] = kernel;
    }
    result.plans.emplace_back(func.getName().str(), std::move(*plan));
    any = true;
  }
  if (!any)
    return module.emitError("CUDA emitter: no public function to emit");
  if (options.format == EmitFormat::Cuda) {
    result.output = std::move(source);
    return result;
  }
  auto compiled = compileWithNvrtc(source, "attn_kernels.cu", *arch,
                                   options.format == EmitFormat::Ptx
                                       ? NvrtcTarget::Ptx
                                       : NvrtcTarget::Cubin);
  if (!compiled)
    return module.emitError(llvm::toString(compiled.takeError()));
  if (options.resourceReport)
    result.resourceReport =
        resourceReport(*compiled, *arch, kernels, options);
  result.resources = compiled->kernels;
  result.output = std::move(compiled->binary);
  return result;
}
