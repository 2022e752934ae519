//===- attn-opt.cpp - the attn compiler driver ----------------------------===//
//
// mlir-opt for attn: parses, verifies, runs passes and prints IR. Registers
// the attn dialect with the upstream dialects its regions and cascades use,
// the passes and attn-pipeline, and adds `--report=json` (tile and pass-count
// report for concrete sizes), `--emit=cuda` (the translation of kernel IR to
// CUDA C++ instead of MLIR; Level 1 IR given without passes goes through
// attn-pipeline first) and `--emit=ptx|cubin --arch=sm_XX` (that CUDA
// compiled with NVRTC; with `--report=json`, ptxas' per-kernel resources
// instead of the tile report, and with `--nq= [--nk= --b= --captures=]` the
// static cost model's estimates, attn/Codegen/KernelCost.h).
//
//===----------------------------------------------------------------------===//

#include "TestPasses.h"
#include "attn/Codegen/BackwardKernels.h"
#include "attn/Codegen/KernelCost.h"
#include "attn/Codegen/Nvrtc.h"
#include "attn/Codegen/Translate.h"
#include "attn/Dialect/AttnDialect.h"
#include "attn/Dialect/KernelAttrs.h"
#include "attn/Passes/Passes.h"
#include "attn/Codegen/Pipeline.h"
#include "attn/Codegen/Schedule.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/DialectRegistry.h"
#include "attn/Support/SourceNesting.h"

#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/ToolUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ProgramStack.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

/// Rewrites the `--report=json` shorthand into the -attn-report pass:
/// `--report=json --nq=N --nk=N --b=N --block-m=M --block-n=N --captures=..`
/// becomes `--attn-report="nq=N nk=N ..."` and, unless an output file is
/// given, `-o /dev/null` so that only the JSON reaches stdout. Returns false
/// (after printing why) for an unknown report format.
static const char *const reportOptions[] = {"nq",      "nk",      "b",
                                            "block-m", "block-n", "captures"};

/// True if `args` asks for PTX or a cubin: then `--report=json` means the
/// resource report of the emit pass (expandEmitFlags), not -attn-report.
static bool emitsCompiled(const std::vector<std::string> &args) {
  for (const std::string &arg : args)
    if (arg == "--emit=ptx" || arg == "--emit=cubin")
      return true;
  return false;
}

static bool expandReportFlags(std::vector<std::string> &args) {
  if (emitsCompiled(args))
    return true;
  bool report = false, hasOutput = false;
  std::string options;
  std::vector<std::string> kept;
  for (const std::string &arg : args) {
    llvm::StringRef a(arg);
    if (a.consume_front("--report=")) {
      if (a != "json") {
        llvm::errs() << "attn-opt: unknown report format '" << a
                     << "' (supported: json)\n";
        return false;
      }
      report = true;
      continue;
    }
    bool isReportOption = false;
    for (const char *name : reportOptions) {
      llvm::StringRef value = arg;
      if (value.consume_front("--") && value.consume_front(name) &&
          value.consume_front("=")) {
        options += std::string(options.empty() ? "" : " ") +
                   (llvm::StringRef(name) == "b" ? "batch" : name) + "=" +
                   value.str();
        isReportOption = true;
      }
    }
    if (a == "--tile-map") {
      options += std::string(options.empty() ? "" : " ") + "tile-map=true";
      isReportOption = true;
    }
    if (a == "-o" || a.starts_with("-o=") || a.starts_with("--o="))
      hasOutput = true;
    if (!isReportOption)
      kept.push_back(arg);
  }
  if (!report) {
    if (!options.empty()) {
      llvm::errs() << "attn-opt: --nq/--nk/--b/--block-m/--block-n/--captures/"
                      "--tile-map are report options; add --report=json\n";
      return false;
    }
    return true;
  }
  // The report reads straight-line regions, and sees a score region's -inf
  // guard as the mask it is.
  kept.push_back("--attn-if-convert");
  kept.push_back("--attn-elementwise-to-map");
  kept.push_back("--attn-score-mask");
  kept.push_back("--attn-report=" + options);
  if (!hasOutput) {
    kept.push_back("-o");
    kept.push_back("/dev/null");
  }
  args = std::move(kept);
  return true;
}

/// What `--emit=` asks for, taken out of the argument list (MlirOptMain does
/// not know these flags).
struct EmitRequest {
  std::string format = "mlir";
  std::optional<std::string> arch, path;
  std::string debug = "none";
  bool report = false;
  /// `--emit-varlen`: the kernels of variable-length batches;
  /// `--emit-paged-kv`: of a paged KV cache.
  bool varlen = false, pagedKv = false;
  /// `--emit-backward`: the backward kernels of each variant
  /// (attn/Codegen/BackwardKernels.h) instead of its forward;
  /// `--emit-deterministic`: their deterministic mode;
  /// `--emit-recompute-state`: kernels that recompute the forward state
  /// instead of reading the forward's results (o, lse).
  bool backward = false, deterministic = false, recomputeState = false;
  /// `--nq= [--nk= --b= --captures=]` with the resource report: the sizes
  /// the cost model estimates each kernel's run for.
  std::optional<attn::codegen::RunSizes> costSizes;
};

/// Parses `value` (of `flag`) as a non-negative integer into `out`; false
/// after printing why.
static bool parseSize(llvm::StringRef flag, llvm::StringRef value,
                      int64_t &out) {
  if (value.getAsInteger(10, out) || out < 0) {
    llvm::errs() << "attn-opt: " << flag << "=" << value
                 << ": expected a non-negative integer\n";
    return false;
  }
  return true;
}

/// Takes `--emit=mlir|cuda|ptx|cubin [--arch=sm_XX] [--report=json]
/// [--emit-debug=MODE] [--emit-path=auto|simt|mma] [--emit-varlen]
/// [--emit-paged-kv]` out of `args`, and with the resource report the cost
/// model's run sizes (`--nq= --nk= --b= --captures=`). A cubin is binary, so
/// it needs `-o` (`-o -` for stdout) unless `--report=json` asks for the
/// resource report only. Returns false (after printing why) for bad flags.
static bool takeEmitFlags(std::vector<std::string> &args, EmitRequest &emit) {
  bool hasOutput = false;
  std::vector<std::string> kept;
  for (size_t k = 0; k < args.size(); ++k) {
    llvm::StringRef a(args[k]);
    if (a.consume_front("--emit=")) {
      if (a != "cuda" && a != "mlir" && a != "ptx" && a != "cubin") {
        llvm::errs() << "attn-opt: unknown --emit format '" << a
                     << "' (supported: mlir, cuda, ptx, cubin)\n";
        return false;
      }
      emit.format = a.str();
      continue;
    }
    if (a.consume_front("--emit-debug=")) {
      emit.debug = a.str();
      continue;
    }
    if (a == "--emit-varlen") {
      emit.varlen = true;
      continue;
    }
    if (a == "--emit-paged-kv") {
      emit.pagedKv = true;
      continue;
    }
    if (a == "--emit-backward") {
      emit.backward = true;
      continue;
    }
    if (a == "--emit-deterministic") {
      emit.deterministic = true;
      continue;
    }
    if (a == "--emit-recompute-state") {
      emit.recomputeState = true;
      continue;
    }
    if (a.consume_front("--emit-path=")) {
      emit.path = a.str();
      continue;
    }
    if (a.consume_front("--arch=")) {
      emit.arch = a.str();
      continue;
    }
    // Only left over when emitsCompiled(): the resource report.
    if (a == "--report=json") {
      emit.report = true;
      continue;
    }
    if (a == "-o" || a.starts_with("-o=") || a.starts_with("--o="))
      hasOutput = true;
    kept.push_back(args[k]);
  }
  bool compiled = emit.format == "ptx" || emit.format == "cubin";
  if (!compiled && emit.arch && emit.format == "mlir") {
    llvm::errs() << "attn-opt: --arch needs --emit=cuda, ptx or cubin\n";
    return false;
  }
  if (compiled && !emit.arch) {
    // attn-pipeline{arch=...} may have recorded it; the translation says
    // so when it did not.
  }
  if (emit.arch && !attn::codegen::lookupCudaArch(*emit.arch)) {
    llvm::errs() << "attn-opt: unknown --arch '" << *emit.arch
                 << "' (supported: " << attn::codegen::supportedCudaArchs()
                 << ")\n";
    return false;
  }
  if (emit.report && emit.format != "cubin") {
    llvm::errs() << "attn-opt: --report=json with --emit=" << emit.format
                 << ": resources come from ptxas; use --emit=cubin\n";
    return false;
  }
  if (compiled) {
    // With the resource report, the run sizes of the cost model; the tile
    // shape is the schedule's (attn-pipeline's options), not a flag.
    std::vector<std::string> rest;
    attn::codegen::RunSizes sizes;
    bool anySize = false, hasNq = false;
    for (const std::string &arg : kept) {
      llvm::StringRef a(arg), value;
      bool isSize = false;
      for (const char *name : {"nq", "nk", "b", "captures"}) {
        std::string flag = std::string("--") + name + "=";
        if (!a.starts_with(flag))
          continue;
        value = a.drop_front(flag.size());
        isSize = true;
        llvm::StringRef n(name);
        if (n == "captures") {
          llvm::SmallVector<llvm::StringRef> parts;
          value.split(parts, ',');
          for (llvm::StringRef part : parts) {
            int64_t c = 0;
            if (part.trim().getAsInteger(10, c)) {
              llvm::errs() << "attn-opt: --captures=" << value
                           << ": expected comma-separated integers\n";
              return false;
            }
            sizes.captures.push_back(c);
          }
          continue;
        }
        int64_t v = 0;
        if (!parseSize(flag.substr(0, flag.size() - 1), value, v))
          return false;
        if (n == "nq") {
          sizes.nq = v;
          hasNq = true;
        } else if (n == "nk") {
          sizes.nk = v;
        } else if (v < 1) {
          llvm::errs() << "attn-opt: --b=" << value
                       << ": the batch is at least 1\n";
          return false;
        } else {
          sizes.batch = v;
        }
      }
      if (isSize) {
        anySize = true;
        continue;
      }
      for (const char *name : {"block-m", "block-n"})
        if (a.starts_with(std::string("--") + name + "=")) {
          llvm::errs() << "attn-opt: " << arg << " with --emit="
                       << emit.format
                       << ": the tile shape is the schedule's; give it as "
                          "--pass-pipeline='builtin.module(attn-pipeline{"
                       << name << "=...})'\n";
          return false;
        }
      rest.push_back(arg);
    }
    if (anySize) {
      if (!emit.report || emit.format != "cubin") {
        llvm::errs() << "attn-opt: --nq/--nk/--b/--captures with --emit="
                     << emit.format
                     << " are the cost model's run sizes: add --emit=cubin "
                        "--report=json\n";
        return false;
      }
      if (!hasNq) {
        llvm::errs() << "attn-opt: the cost model needs --nq (and --nk, "
                        "default nq)\n";
        return false;
      }
      emit.costSizes = sizes;
    }
    kept = std::move(rest);
  }
  if (emit.format == "mlir" &&
      (emit.debug != "none" || emit.path || emit.varlen || emit.pagedKv ||
       emit.backward || emit.deterministic || emit.recomputeState)) {
    llvm::errs() << "attn-opt: --emit-debug, --emit-path, --emit-varlen, "
                    "--emit-paged-kv, --emit-backward, --emit-deterministic "
                    "and --emit-recompute-state need --emit=cuda|ptx|cubin\n";
    return false;
  }
  if ((emit.deterministic || emit.recomputeState) && !emit.backward) {
    llvm::errs() << "attn-opt: "
                 << (emit.deterministic ? "--emit-deterministic"
                                        : "--emit-recompute-state")
                 << " is a mode of the backward kernels: add "
                    "--emit-backward\n";
    return false;
  }
  if (emit.backward && (emit.varlen || emit.pagedKv || emit.path ||
                        emit.debug != "none" || emit.costSizes)) {
    llvm::errs() << "attn-opt: --emit-backward takes none of --emit-varlen, "
                    "--emit-paged-kv, --emit-path, --emit-debug and the cost "
                    "model's sizes\n";
    return false;
  }
  if (emit.format == "cubin" && !hasOutput) {
    if (!emit.report) {
      llvm::errs() << "attn-opt: --emit=cubin writes a binary: give -o FILE "
                      "(-o - for stdout)\n";
      return false;
    }
    // Only the resource report was asked for.
    kept.push_back("-o");
    kept.push_back("/dev/null");
  }
  args = std::move(kept);
  return true;
}

/// True if `module` still holds Level 1 IR (an attn.attention op).
static bool holdsAttentionOps(mlir::ModuleOp module) {
  bool found = false;
  module.walk([&](attn::AttentionOp) {
    found = true;
    return mlir::WalkResult::interrupt();
  });
  return found;
}

/// `--emit-backward`: derives the backward of every public function holding
/// attention ops (-attn-derive-backward) and emits its kernels; PTX and
/// cubins through NVRTC, with the resource report as JSON on stdout.
static mlir::LogicalResult emitBackward(mlir::ModuleOp module,
                                        const EmitRequest &emit,
                                        llvm::raw_ostream &os) {
  attn::convertRegionIfs(module);
  attn::convertElementwiseTensorOps(module);
  llvm::SmallVector<mlir::func::FuncOp> variants;
  for (auto fn : module.getOps<mlir::func::FuncOp>())
    if (fn.isPublic() && !fn.isExternal()) {
      bool attention = false;
      fn.walk([&](attn::AttentionOp) { attention = true; });
      if (attention)
        variants.push_back(fn);
    }
  if (variants.empty())
    return module.emitError("--emit-backward: no public function holds an "
                            "attn.attention op");
  attn::codegen::BackwardEmitOptions options;
  options.deterministic = emit.deterministic;
  std::string source;
  std::vector<attn::codegen::BackwardKernel> kernels;
  for (mlir::func::FuncOp fn : variants) {
    auto derived = attn::deriveBackward(fn);
    if (mlir::failed(derived))
      return mlir::failure();
    // The kernels read the forward's results and recover its state from
    // them where that is proven (attn::buildResultReadingBackward), else
    // recompute it.
    bool readsResults = false;
    std::string why;
    auto emitted = attn::codegen::emitBackwardKernels(
        attn::buildKernelBackward(*derived, !emit.recomputeState, readsResults,
                                  why),
        options);
    if (mlir::failed(emitted))
      return mlir::failure();
    // Each variant's source declares its own parameter struct: one
    // translation unit holds one variant.
    if (!source.empty() && emit.format != "cuda")
      return fn.emitError("--emit-backward: one variant per PTX or cubin "
                          "(split the input with -split-input-file)");
    source += emitted->source;
    kernels.insert(kernels.end(), emitted->kernels.begin(),
                   emitted->kernels.end());
  }
  if (emit.format == "cuda") {
    os << source;
    return mlir::success();
  }
  if (!emit.arch)
    return module.emitError("PTX and cubins need --arch");
  auto arch = attn::codegen::lookupCudaArch(*emit.arch);
  auto compiled = attn::codegen::compileWithNvrtc(
      source, "attn_backward.cu", *arch,
      emit.format == "ptx" ? attn::codegen::NvrtcTarget::Ptx
                           : attn::codegen::NvrtcTarget::Cubin);
  if (!compiled)
    return module.emitError(llvm::toString(compiled.takeError()));
  if (emit.report) {
    // The keys of the forward's resource report (codegen/lib/Translate.cpp).
    llvm::json::OStream j(llvm::outs());
    bool allOk = true;
    j.object([&] {
      j.attribute("arch", *emit.arch);
      j.attribute("smem_limit_bytes", arch->maxSmemPerBlock);
      j.attributeArray("kernels", [&] {
        for (const attn::codegen::KernelResources &r : compiled->kernels) {
          const attn::codegen::BackwardKernel *k = nullptr;
          for (const attn::codegen::BackwardKernel &b : kernels)
            if (b.name == r.name)
              k = &b;
          int64_t threads = k ? k->threads : 0;
          int64_t dynamicSmem = k ? k->dynamicSmemBytes : 0;
          bool ok = threads > 0 && r.registers * threads <= arch->registersPerSm &&
                    r.staticSmemBytes + dynamicSmem <= arch->maxSmemPerBlock &&
                    r.spillStoreBytes == 0 && r.spillLoadBytes == 0;
          allOk &= ok;
          j.object([&] {
            j.attribute("name", r.name);
            j.attribute("path", "simt");
            if (k)
              j.attribute("role", attn::codegen::backwardKernelRoleName(k->role));
            j.attribute("threads", threads);
            j.attribute("registers", r.registers);
            j.attribute("static_smem_bytes", r.staticSmemBytes);
            j.attribute("dynamic_smem_bytes", dynamicSmem);
            j.attribute("spill_stores_bytes", r.spillStoreBytes);
            j.attribute("spill_loads_bytes", r.spillLoadBytes);
            j.attribute("stack_frame_bytes", r.stackFrameBytes);
          });
        }
      });
      j.attribute("ok", allOk);
    });
    llvm::outs() << "\n";
    llvm::outs().flush();
  }
  os << compiled->binary;
  return mlir::success();
}

/// One input buffer of `--emit=cuda|ptx|cubin`: parse, run the passes given
/// on the command line -- or, when none is given and the input is Level 1
/// IR, attn-pipeline with --arch and --emit-path as its target --, then
/// translate. The output goes to `os`, the resource report to stdout.
static mlir::LogicalResult
emitBuffer(llvm::SourceMgr &sourceMgr, mlir::MLIRContext &context,
           const mlir::MlirOptMainConfig &config, const EmitRequest &emit,
           llvm::raw_ostream &os) {
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
  if (!module)
    return mlir::failure();
  if (emit.backward)
    return emitBackward(*module, emit, os);
  // The cost model's Level 1 copy reads straight-line regions and attn ops
  // too.
  attn::convertRegionIfs(*module);
  attn::convertElementwiseTensorOps(*module);
  mlir::PassManager pm(&context);
  if (mlir::failed(mlir::applyPassManagerCLOptions(pm)) ||
      mlir::failed(config.setupPassPipeline(pm)))
    return mlir::failure();
  if (pm.size() == 0 && holdsAttentionOps(*module)) {
    attn::AttnPipelineOptions pipeline;
    if (emit.arch)
      pipeline.arch = *emit.arch;
    if (emit.path)
      pipeline.path = *emit.path;
    attn::buildAttnPipeline(pm, pipeline);
  }
  // The cost model sizes kernels from the Level 1 attention.
  mlir::OwningOpRef<mlir::ModuleOp> level1;
  if (emit.costSizes)
    level1 = module->clone();
  if (mlir::failed(pm.run(*module)))
    return mlir::failure();
  attn::codegen::TranslateOptions options;
  options.format = emit.format == "cuda"  ? attn::codegen::EmitFormat::Cuda
                   : emit.format == "ptx" ? attn::codegen::EmitFormat::Ptx
                                          : attn::codegen::EmitFormat::Cubin;
  options.arch = emit.arch;
  if (emit.path) {
    options.path = attn::symbolizeKernelPath(*emit.path);
    if (!options.path)
      return module->emitError("unknown kernel path '")
             << *emit.path << "' (supported: auto, simt, mma)";
  }
  if (!attn::codegen::parseEmitDebug(emit.debug, options.debug))
    return module->emitError("unknown --emit-debug mode '")
           << emit.debug
           << "' (supported: none, fragment-index, v-untransposed, "
              "early-wait, exchange-no-barrier; drop-mask and kv-bound are "
              "the test passes "
              "test-attn-force-tile-class and test-attn-shift-kv-bounds)";
  options.resourceReport = emit.report;
  options.varlen = emit.varlen;
  options.pagedKv = emit.pagedKv;
  std::optional<attn::codegen::PlanCosts> costs;
  if (emit.costSizes) {
    std::string arch = options.arch ? *options.arch : std::string();
    if (arch.empty())
      if (attn::TargetAttr target = attn::getTarget(*module))
        arch = target.getArch().str();
    if (arch.empty())
      return module->emitError("the cost model needs a CUDA arch (--arch, "
                               "or attn-pipeline{arch=...})");
    auto built =
        attn::codegen::PlanCosts::build(*level1, *module, arch, *emit.costSizes);
    if (mlir::failed(built))
      return mlir::failure();
    costs = std::move(*built);
    options.kernelReportExtras =
        [&](llvm::json::OStream &j, const attn::codegen::CudaKernel &kernel,
            const attn::codegen::KernelResources &resources) {
          costs->writeKernelCost(j, kernel, resources);
        };
    options.reportExtras = [&](llvm::json::OStream &j) {
      costs->writePlanCosts(j);
    };
  }
  auto translation = attn::codegen::translateModule(*module, options);
  if (mlir::failed(translation))
    return mlir::failure();
  os << translation->output;
  if (!translation->resourceReport.empty()) {
    llvm::outs() << translation->resourceReport;
    llvm::outs().flush();
  }
  return mlir::success();
}

/// The input file, or null after an error: nesting deeper than attn
/// accepts is an error with its line and column (MLIR's recursive parser
/// would overflow the stack), checked before anything parses it.
static std::unique_ptr<llvm::MemoryBuffer>
openCheckedInput(llvm::StringRef inputFilename) {
  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> input =
      mlir::openInputFile(inputFilename, &error);
  if (!input) {
    llvm::errs() << "attn-opt: " << error << "\n";
    return nullptr;
  }
  llvm::StringRef text = input->getBuffer();
  if (auto deep = attn::findDeepNesting({text.data(), text.size()})) {
    llvm::errs() << attn::formatDeepNesting(input->getBufferIdentifier().str(),
                                            *deep)
                 << "\n";
    return nullptr;
  }
  return input;
}

/// attn-opt --emit=cuda|ptx|cubin: MlirOptMain's command line (passes,
/// --split-input-file, --verify-diagnostics, -o) with a translation instead
/// of printing the module.
static int emitMain(int argc, char **argv, mlir::DialectRegistry &registry,
                    const EmitRequest &emit) {
  auto [inputFilename, outputFilename] = mlir::registerAndParseCLIOptions(
      argc, argv, "attn compiler driver: attention variants to kernels\n",
      registry);
  const mlir::MlirOptMainConfig config =
      mlir::MlirOptMainConfig::createFromCLOptions();
  std::unique_ptr<llvm::MemoryBuffer> input = openCheckedInput(inputFilename);
  if (!input)
    return 1;
  std::string error;
  auto output = mlir::openOutputFile(outputFilename, &error);
  if (!output) {
    llvm::errs() << "attn-opt: " << error << "\n";
    return 1;
  }
  auto process = [&](std::unique_ptr<llvm::MemoryBuffer> buffer,
                     const llvm::MemoryBufferRef &, llvm::raw_ostream &os) {
    llvm::SourceMgr sourceMgr;
    sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
    mlir::MLIRContext context(registry);
    context.allowUnregisteredDialects(config.shouldAllowUnregisteredDialects());
    if (config.shouldVerifyDiagnostics()) {
      mlir::SourceMgrDiagnosticVerifierHandler handler(
          sourceMgr, &context, config.verifyDiagnosticsLevel());
      (void)emitBuffer(sourceMgr, context, config, emit, os);
      return handler.verify();
    }
    mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context);
    return emitBuffer(sourceMgr, context, config, emit, os);
  };
  // What the nesting check cannot see runs on a large stack.
  mlir::LogicalResult result = mlir::failure();
  llvm::runOnNewStack(attn::kCompilerStackBytes, [&] {
    result = mlir::splitAndProcessBuffer(std::move(input), process,
                                         output->os(), config.inputSplitMarker(),
                                         config.outputSplitMarker());
  });
  if (mlir::failed(result))
    return 1;
  output->keep();
  return 0;
}

/// attn-opt's MLIR output: MlirOptMain(argc, argv, ...) unrolled so that
/// the input is checked (openCheckedInput) before MLIR parses it, and parsed
/// on a large stack.
static int optMain(int argc, char **argv, mlir::DialectRegistry &registry) {
  auto [inputFilename, outputFilename] = mlir::registerAndParseCLIOptions(
      argc, argv, "attn compiler driver: attention variants to kernels\n",
      registry);
  llvm::InitLLVM initLLVM(argc, argv);
  mlir::MlirOptMainConfig config =
      mlir::MlirOptMainConfig::createFromCLOptions();
  // Listing dialects or passes reads no input.
  if (config.shouldShowDialects() || config.shouldListPasses())
    return mlir::asMainReturnCode(mlir::MlirOptMain(
        llvm::outs(), llvm::MemoryBuffer::getMemBuffer(""), registry, config));
  std::unique_ptr<llvm::MemoryBuffer> input = openCheckedInput(inputFilename);
  if (!input)
    return 1;
  std::string errorMessage;
  std::unique_ptr<llvm::ToolOutputFile> output =
      mlir::openOutputFile(outputFilename, &errorMessage);
  if (!output) {
    llvm::errs() << errorMessage << "\n";
    return 1;
  }
  mlir::LogicalResult result = mlir::failure();
  llvm::runOnNewStack(attn::kCompilerStackBytes, [&] {
    result =
        mlir::MlirOptMain(output->os(), std::move(input), registry, config);
  });
  if (mlir::failed(result))
    return 1;
  output->keep();
  return 0;
}

int main(int argc, char **argv) {
  std::vector<std::string> args(argv, argv + argc);
  EmitRequest emit;
  if (!expandReportFlags(args) || !takeEmitFlags(args, emit))
    return 1;
  // A diagnostic names its file:line:col; dumping the whole module after it
  // (MLIR's default) buries the message. --mlir-print-op-on-diagnostic=true
  // brings the dump back.
  if (llvm::none_of(args, [](const std::string &a) {
        return llvm::StringRef(a).starts_with("--mlir-print-op-on-diagnostic");
      }))
    args.insert(args.begin() + 1, "--mlir-print-op-on-diagnostic=false");
  std::vector<char *> newArgv;
  for (std::string &arg : args)
    newArgv.push_back(arg.data());
  newArgv.push_back(nullptr);
  argc = static_cast<int>(args.size());
  argv = newArgv.data();

  mlir::DialectRegistry registry;
  registry.insert<attn::AttnDialect, mlir::func::FuncDialect,
                  mlir::arith::ArithDialect, mlir::math::MathDialect,
                  mlir::tensor::TensorDialect, mlir::scf::SCFDialect>();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  attn::registerAttnPasses();
  attn::registerAttnPipeline();
  attn::codegen::registerAttnCodegenPasses();
  attn::test::registerTestPasses();
  if (emit.format != "mlir")
    return emitMain(argc, argv, registry, emit);
  return optMain(argc, argv, registry);
}
