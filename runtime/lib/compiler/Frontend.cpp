//===- Frontend.cpp - MLIR variant to PlanSpec ----------------------------===//

#include "Frontend.h"

#include "attn/Codegen/BackwardKernels.h"
#include "attn/Codegen/CudaEmitter.h"
#include "attn/Codegen/Nvrtc.h"
#include "attn/Dialect/AttnDialect.h"
#include "attn/Dialect/KernelAttrs.h"
#include "attn/Passes/Fingerprint.h"
#include "attn/Passes/Passes.h"
#include "attn/Codegen/Pipeline.h"
#include "attn/Codegen/Schedule.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "attn/Support/SourceNesting.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ProgramStack.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace attn;
using namespace attn::jit;

void attn::jit::registerVariantDialects(DialectRegistry &registry) {
  registry.insert<attn::AttnDialect, func::FuncDialect, arith::ArithDialect,
                  math::MathDialect, tensor::TensorDialect, scf::SCFDialect>();
}

namespace {

/// "file:line:col" of a location, or its printed form.
std::string locationText(Location loc) {
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    return file.getFilename().str() + ":" + std::to_string(file.getLine()) +
           ":" + std::to_string(file.getColumn());
  std::string s;
  llvm::raw_string_ostream os(s);
  loc.print(os);
  return s;
}

const char *severityText(DiagnosticSeverity severity) {
  switch (severity) {
  case DiagnosticSeverity::Error:
    return "error";
  case DiagnosticSeverity::Warning:
    return "warning";
  case DiagnosticSeverity::Note:
    return "note";
  case DiagnosticSeverity::Remark:
    return "remark";
  }
  return "error";
}

/// Collects a context's diagnostics as text instead of printing them.
class Collector {
public:
  explicit Collector(MLIRContext *ctx)
      : handler(ctx, [this](Diagnostic &d) {
          if (d.getSeverity() == DiagnosticSeverity::Remark)
            return success();
          text += locationText(d.getLocation()) + ": " +
                  severityText(d.getSeverity()) + ": " + d.str() + "\n";
          for (Diagnostic &note : d.getNotes())
            text += locationText(note.getLocation()) + ": note: " + note.str() +
                    "\n";
          return success();
        }) {}
  std::string text;

private:
  ScopedDiagnosticHandler handler;
};

bool failWith(std::string *error, const std::string &message,
              const std::string &diagnostics = "") {
  *error = message;
  if (!diagnostics.empty())
    *error += (message.empty() ? "" : "\n") + diagnostics;
  while (!error->empty() && error->back() == '\n')
    error->pop_back();
  return false;
}

/// The function to compile: `entry`, or the only public func.func.
FailureOr<func::FuncOp> findEntry(ModuleOp module, const std::string &entry,
                                  std::string *error) {
  if (!entry.empty()) {
    auto func = module.lookupSymbol<func::FuncOp>(entry);
    if (!func || func.isExternal()) {
      failWith(error, "no function '@" + entry + "' with a body in the input");
      return failure();
    }
    return func;
  }
  SmallVector<func::FuncOp> candidates;
  for (auto func : module.getOps<func::FuncOp>())
    if (func.isPublic() && !func.isExternal())
      candidates.push_back(func);
  if (candidates.size() == 1)
    return candidates.front();
  std::string names;
  for (auto func : candidates)
    names += (names.empty() ? "@" : ", @") + func.getSymName().str();
  failWith(error, candidates.empty()
                      ? "the input has no public func.func to compile"
                      : "the input has several public functions (" + names +
                            "); name one in CompileOptions::entry");
  return failure();
}


/// DLPack's name for an MLIR element type (i1 is C++ bool: one byte).
bool dlDataType(Type type, DLDataType &out) {
  if (type.isF16())
    out = {kDLFloat, 16, 1};
  else if (type.isBF16())
    out = {kDLBfloat, 16, 1};
  else if (type.isF32())
    out = {kDLFloat, 32, 1};
  else if (type.isF64())
    out = {kDLFloat, 64, 1};
  else if (type.isIndex())
    out = {kDLInt, 64, 1};
  else if (type.isInteger(1))
    out = {kDLUInt, 8, 1};
  else if (auto i = dyn_cast<IntegerType>(type);
           i && (i.getWidth() == 8 || i.getWidth() == 16 ||
                 i.getWidth() == 32 || i.getWidth() == 64))
    out = {kDLInt, static_cast<uint8_t>(i.getWidth()), 1};
  else
    return false;
  return true;
}

/// The signature of q/k/v/o/lse-like `type` with the named dims `symbols`.
bool tensorSignature(const std::string &name, Type type,
                     ArrayRef<const char *> symbols, ArgumentSignature &out,
                     std::string *error) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || tensor.getRank() != static_cast<int64_t>(symbols.size()))
    return failWith(error, name + " must be a rank-" +
                               std::to_string(symbols.size()) + " tensor");
  out.name = name;
  if (!dlDataType(tensor.getElementType(), out.dtype))
    return failWith(error, name + ": unsupported element type");
  for (auto [d, symbol] : llvm::enumerate(symbols))
    out.dims.push_back(DimSignature{
        tensor.isDynamicDim(d) ? -1 : tensor.getDimSize(d), symbol});
  return true;
}

/// Argument `index` (>= 3) of `func` as a capture.
bool captureSignature(func::FuncOp func, unsigned index, ArgumentSignature &out,
                      std::string *error) {
  out.name = "c" + std::to_string(index - 3);
  Type type = func.getArgumentTypes()[index];
  auto tensor = dyn_cast<RankedTensorType>(type);
  out.isTensor = static_cast<bool>(tensor);
  Type element = tensor ? tensor.getElementType() : type;
  if (!dlDataType(element, out.dtype))
    return failWith(error, "capture " + std::to_string(index - 3) +
                               ": unsupported element type");
  if (!tensor)
    return true;
  auto dims = func.getArgAttrOfType<ArrayAttr>(index, "attn.dims");
  for (int64_t d = 0; d < tensor.getRank(); ++d) {
    DimSignature dim;
    if (!tensor.isDynamicDim(d)) {
      dim.size = tensor.getDimSize(d);
    } else if (dims && d < static_cast<int64_t>(dims.size())) {
      if (auto sym = dyn_cast<StringAttr>(dims[d]))
        dim.symbol = sym.getValue().str();
      else if (auto size = dyn_cast<IntegerAttr>(dims[d]))
        dim.size = size.getInt();
    }
    out.dims.push_back(dim);
  }
  return true;
}

bool signatureOf(func::FuncOp func, Signature &sig, std::string *error) {
  sig.function = func.getSymName().str();
  if (func.getNumArguments() < 3 || func.getNumResults() < 1)
    return failWith(error, "'@" + sig.function +
                               "' does not take q, k, v and return o");
  auto args = func.getArgumentTypes();
  sig.inputs.resize(3);
  if (!tensorSignature("q", args[0], {"b", "hq", "nq", "d"}, sig.inputs[0],
                       error) ||
      !tensorSignature("k", args[1], {"b", "hkv", "nk", "d"}, sig.inputs[1],
                       error) ||
      !tensorSignature("v", args[2], {"b", "hkv", "nk", "dv"}, sig.inputs[2],
                       error))
    return false;
  for (unsigned i = 3; i < func.getNumArguments(); ++i) {
    sig.inputs.emplace_back();
    if (!captureSignature(func, i, sig.inputs.back(), error))
      return false;
  }
  auto results = func.getResultTypes();
  sig.outputs.resize(results.size() > 1 ? 2 : 1);
  if (!tensorSignature("o", results[0], {"b", "hq", "nq", "dv"}, sig.outputs[0],
                       error))
    return false;
  if (results.size() > 1 &&
      !tensorSignature("lse", results[1], {"b", "hq", "nq"}, sig.outputs[1],
                       error))
    return false;
  return true;
}

/// Lowers Level 1 IR to kernel IR with attn-run's pipeline; for the
/// split-KV plan the KV loops are split (in place) before attn-fuse, which
/// then narrows and classifies each split's own loop.
LogicalResult lower(ModuleOp module, const FrontendOptions &options) {
  PassManager pm(module.getContext());
  attn::AttnPipelineOptions pipeline;
  pipeline.blockM = options.blockM;
  pipeline.blockN = options.blockN;
  pipeline.warps = options.warps;
  pipeline.stages = options.stages;
  pipeline.unroll = options.unroll;
  pipeline.splitKv = options.splitKv;
  pipeline.arch = options.arch;
  pipeline.path = options.kernelPath;
  attn::buildAttnPipeline(pm, pipeline);
  return pm.run(module);
}

KernelRole kernelRole(attn::codegen::KernelRole role) {
  switch (role) {
  case attn::codegen::KernelRole::Whole:
    return KernelRole::Whole;
  case attn::codegen::KernelRole::SplitPartials:
    return KernelRole::SplitPartials;
  case attn::codegen::KernelRole::SplitMerge:
    return KernelRole::SplitMerge;
  case attn::codegen::KernelRole::TileSummaries:
    return KernelRole::TileSummaries;
  }
  return KernelRole::Whole;
}

/// Fills `out`'s kernels, parameter struct and buffers from `plan`.
bool specOfPlan(const attn::codegen::CudaPlan &plan, PlanSpec &out,
                std::string *error) {
  for (const attn::codegen::CudaKernel &k : plan.kernels) {
    KernelInfo info;
    info.name = k.name;
    info.source = k.source;
    info.role = kernelRole(k.role);
    info.blockM = k.blockM;
    info.threads = k.threads;
    info.dynamicSmemBytes = k.dynamicSmemBytes;
    info.path = k.path;
    info.fallbackReason = k.fallbackReason;
    info.splits = k.splits;
    info.maxSplits = k.maxSplits;
    info.fixedGridX = k.fixedGridX;
    out.kernels.push_back(std::move(info));
  }
  if (plan.kernels.empty())
    return failWith(error, "the CUDA emitter produced no kernel");
  // One struct is filled per run and handed to every kernel of the plan.
  for (const attn::codegen::CudaKernel &k : plan.kernels) {
    if (k.params != plan.kernels[0].params)
      return failWith(error, "the kernels of the plan ('" +
                                 plan.kernels[0].name + "', '" + k.name +
                                 "') have different parameter structs");
  }
  out.params = plan.kernels[0].params;
  out.workspaceElementsPerCta = plan.workspaceElementsPerCta;
  out.summarizedCaptures = plan.summarizedCaptures;
  return true;
}

/// Catches the split pass' "not split: <why>" remarks (other diagnostics
/// go on to the outer handlers).
class SplitRemarks {
public:
  explicit SplitRemarks(MLIRContext *ctx)
      : handler(ctx, [this](Diagnostic &d) {
          std::string text = d.str();
          if (d.getSeverity() != DiagnosticSeverity::Remark ||
              text.rfind("not split: ", 0) != 0)
            return failure();
          if (why.empty())
            why = text.substr(11);
          return success();
        }) {}
  std::string why;

private:
  ScopedDiagnosticHandler handler;
};

/// The entry function of `module`, after branches in regions became
/// selects and element-wise tensor ops maps (before anything reads them,
/// the tuning key included, as attn-run computes it).
FailureOr<func::FuncOp> preparedEntry(ModuleOp module, const std::string &entry,
                                      std::string *error) {
  attn::convertRegionIfs(module);
  attn::convertElementwiseTensorOps(module);
  return findEntry(module, entry, error);
}

/// Retypes q, k, v and o of `func` to `dtype` (nothing when empty).
bool retype(func::FuncOp func, const std::string &dtype, std::string *error,
            const std::function<std::string()> &diagnostics) {
  if (dtype.empty())
    return true;
  Type elementType = attn::parseDtype(func.getContext(), dtype);
  if (!elementType)
    return failWith(error,
                    "unknown dtype '" + dtype + "' (expected f16, bf16 or f32)");
  if (failed(attn::setVariantDtype(func, elementType)))
    return failWith(error, "dtype " + dtype + ": " + diagnostics());
  return true;
}

/// Compiles `module` in place (a private copy).
bool compileOwned(ModuleOp module, const FrontendOptions &options,
                  PlanSpec *spec, std::string *error,
                  const std::function<std::string()> &diagnostics) {
  auto entry = preparedEntry(module, options.entry, error);
  if (failed(entry))
    return false;
  func::FuncOp func = *entry;
  std::string name = func.getSymName().str();
  // The tuning database's key: the function as written, before --dtype.
  std::string irHash = attn::variantFingerprint(func);
  if (!retype(func, options.dtype, error, diagnostics))
    return false;
  std::optional<attn::KernelPath> path =
      attn::symbolizeKernelPath(options.kernelPath);
  if (!path)
    return failWith(error, "unknown kernel path '" + options.kernelPath +
                               "' (auto, simt, mma)");
  PlanSpec out;
  out.irHash = irHash;
  // The GQA-packed decode plan: q, o and lse take the packed shape (the
  // runtime passes views); a variant that cannot be packed is a refusal,
  // cached like a plan, and the unpacked decode plan runs.
  if (options.packGqa) {
    std::string why;
    if (failed(attn::packGqaGroups(func, why))) {
      out.unavailable = "GQA packing: " + why;
      *spec = std::move(out);
      return true;
    }
  }
  if (!signatureOf(func, out.signature, error))
    return false;
  bool split = options.splitKv > 0;
  // A declined split-KV request is a spec without kernels that says why: the
  // plain plan runs instead, and the refusal is cached like a plan.
  auto unavailable = [&](const std::string &why) {
    out.kernels.clear();
    out.params.clear();
    out.workspaceElementsPerCta.clear();
    out.summarizedCaptures.clear();
    out.unavailable = why;
    while (!out.unavailable.empty() && out.unavailable.back() == '\n')
      out.unavailable.pop_back();
    *spec = std::move(out);
    return true;
  };
  bool level1 = !func.getOps<attn::AttentionOp>().empty();
  if (split && !level1)
    return unavailable("the variant is lowered already (no attn.attention); "
                       "the split-KV plan is a lowering of Level 1 IR");
  SplitRemarks remarks(module.getContext());
  if (level1 && failed(lower(module, options))) {
    if (split)
      return unavailable("lowering with attn-split-kv failed: " +
                         diagnostics());
    return failWith(error, "lowering '@" + name + "' to kernel IR failed",
                    diagnostics());
  }
  func = module.lookupSymbol<func::FuncOp>(name);
  out.kvTile = attn::codegen::kvTileOf(func);
  attn::codegen::CudaEmitOptions emit;
  emit.path = *path;
  emit.varlen = options.layout.varlen;
  emit.pagedKv = options.layout.pagedKv;
  if (!options.arch.empty()) {
    auto arch = attn::codegen::lookupCudaArch(options.arch);
    if (!arch)
      return failWith(error, "unknown arch '" + options.arch + "' (" +
                                 attn::codegen::supportedCudaArchs() + ")");
    emit.maxSmemBytes = arch->maxSmemPerBlock;
  }
  auto plan = attn::codegen::emitCudaPlan(func, emit);
  if (failed(plan)) {
    if (split)
      return unavailable("the CUDA emitter failed on the split-KV lowering: " +
                         diagnostics());
    // A variant whose kernels cannot take variable-length batches or paged
    // KV: only such runs fail, saying why.
    if (!options.layout.dense())
      return unavailable("the CUDA emitter refused the " +
                         options.layout.describe() + " plan: " +
                         diagnostics());
    return failWith(error, "the CUDA emitter failed on '@" + name + "'",
                    diagnostics());
  }
  if (!specOfPlan(*plan, out, error))
    return split ? unavailable(*error) : false;
  if (split && !out.isSplitKv())
    return unavailable(remarks.why.empty()
                           ? "attn-split-kv left the function unchanged"
                           : "attn-split-kv: " + remarks.why);
  *spec = std::move(out);
  return true;
}

/// Parses `text` (named `bufferName` in diagnostics) in a context of its
/// own, on a stack of its own, and runs `compile` on the module with the
/// diagnostics collected so far (read when an error needs them). Text that
/// nests deeper than MLIR's recursive parser can take is an error with its
/// location, never a stack overflow in the host.
bool compileParsed(
    std::string_view text, std::string_view bufferName, std::string *error,
    llvm::function_ref<bool(ModuleOp, const std::string &)> compile) {
  if (auto deep = findDeepNesting(text))
    return failWith(error, formatDeepNesting(bufferName, *deep));
  bool compiled = false;
  llvm::runOnNewStack(kCompilerStackBytes, [&] {
    DialectRegistry registry;
    registerVariantDialects(registry);
    MLIRContext ctx(registry);
    // One thread: compiles are short, and a thread pool per context would
    // cost more than it saves.
    ctx.disableMultithreading();
    ctx.loadAllAvailableDialects();
    llvm::SourceMgr sourceMgr;
    sourceMgr.AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBufferCopy(
            llvm::StringRef(text.data(), text.size()),
            llvm::StringRef(bufferName.data(), bufferName.size())),
        llvm::SMLoc());
    std::string diagnostics;
    llvm::raw_string_ostream os(diagnostics);
    SourceMgrDiagnosticHandler handler(sourceMgr, &ctx, os);
    OwningOpRef<ModuleOp> module =
        parseSourceFile<ModuleOp>(sourceMgr, ParserConfig(&ctx));
    compiled = module ? compile(*module, diagnostics)
                      : failWith(error, "", diagnostics);
  });
  return compiled;
}

/// compileBackwardText's work on the parsed module.
bool compileBackwardOwned(ModuleOp module, const BackwardFrontendOptions &options,
                          BackwardSpec *spec, std::string *error,
                          const std::string &diagnostics) {
  auto entry = preparedEntry(module, options.entry, error);
  if (failed(entry))
    return false;
  func::FuncOp func = *entry;
  if (!retype(func, options.dtype, error, [&] { return diagnostics; }))
    return false;
  BackwardSpec out;
  if (!signatureOf(func, out.signature, error))
    return false;
  auto derived = attn::deriveBackward(func);
  if (failed(derived))
    return failWith(error, "cannot derive the backward of '@" +
                               func.getSymName().str() + "'",
                    diagnostics);
  func::FuncOp gradients =
      attn::buildKernelBackward(*derived, options.stateFromResults,
                                out.readsResults, out.recomputesBecause);
  attn::codegen::BackwardEmitOptions emit;
  emit.deterministic = options.deterministic;
  auto kernels = attn::codegen::emitBackwardKernels(gradients, emit);
  if (failed(kernels))
    return failWith(error, "the backward emitter failed on '@" +
                               func.getSymName().str() + "'",
                    diagnostics);
  out.kernels = std::move(*kernels);
  for (Type t : gradients.getArgumentTypes()) {
    auto ranked = dyn_cast<RankedTensorType>(t);
    DLDataType dt{};
    if (!dlDataType(ranked ? ranked.getElementType() : t, dt))
      return failWith(error, "the backward has an argument of unsupported "
                             "type");
    out.argTypes.push_back(dt);
    out.argIsTensor.push_back(static_cast<bool>(ranked));
  }
  for (int64_t a : attn::getGradientsOf(gradients))
    out.gradientOf.push_back(a);
  *spec = std::move(out);
  return true;
}

} // namespace

bool attn::jit::specOfEmitted(func::FuncOp func,
                              const attn::codegen::CudaPlan &plan,
                              PlanSpec *spec, std::string *error) {
  PlanSpec out;
  if (!signatureOf(func, out.signature, error) ||
      !specOfPlan(plan, out, error))
    return false;
  out.kvTile = attn::codegen::kvTileOf(func);
  out.irHash = attn::variantFingerprint(func);
  *spec = std::move(out);
  return true;
}

bool attn::jit::compileVariantText(std::string_view text,
                                   std::string_view bufferName,
                                   const FrontendOptions &options,
                                   PlanSpec *spec, std::string *error) {
  return compileParsed(text, bufferName, error,
                       [&](ModuleOp module, const std::string &diagnostics) {
                         return compileOwned(module, options, spec, error,
                                             [&] { return diagnostics; });
                       });
}

bool attn::jit::compileBackwardText(std::string_view text,
                                   std::string_view bufferName,
                                   const BackwardFrontendOptions &options,
                                   BackwardSpec *spec, std::string *error) {
  return compileParsed(text, bufferName, error,
                       [&](ModuleOp module, const std::string &diagnostics) {
                         return compileBackwardOwned(module, options, spec,
                                                     error, diagnostics);
                       });
}

bool attn::jit::compileVariantModule(ModuleOp module,
                                     const FrontendOptions &options,
                                     PlanSpec *spec, std::string *error) {
  Collector collector(module.getContext());
  OwningOpRef<ModuleOp> copy = module.clone();
  return compileOwned(*copy, options, spec, error,
                      [&] { return collector.text; });
}
