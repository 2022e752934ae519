//===- attn-run.cpp - run a variant on random inputs ----------------------===//
//
// Parses a variant (a func.func taking q, k, v and captures), binds its sizes,
// draws seeded inputs (or loads them from .npy files), optionally applies a
// pass pipeline, runs it on a device (`ref`, the float64 interpreter, or
// `emu`: the kernel IR emitted as CUDA C++ and run on the CPU emulator) and
// prints a summary or JSON. With --check the run is compared against the
// interpreter on the untransformed function.
//
// Exit codes: 0 success, 1 a --check comparison failed, 2 any error (bad
// flags, unparsable input, shapes that contradict the IR, failed passes,
// unreadable files, interpreter errors).
//
//===----------------------------------------------------------------------===//

#include "Backward.h"
#include "Compare.h"
#include "JitDevice.h"
#include "MemoryPlan.h"
#include "RunSupport.h"
#include "Varlen.h"

#include "TestPasses.h"
#include "attn/Codegen/Pipeline.h"
#include "attn/Codegen/Schedule.h"
#include "attn/Codegen/CudaEmitter.h"
#include "attn/Codegen/KernelCost.h"
#include "attn/Codegen/Nvrtc.h"
#include "attn/Dialect/AttnDialect.h"
#include "attn/Interpreter/Inputs.h"
#include "attn/Interpreter/Interpreter.h"
#include "attn/Interpreter/Npy.h"
#include "attn/Passes/Fingerprint.h"
#include "attn/Passes/Passes.h"
#include "attn/Support/HostMemory.h"
#include "attn/Support/SourceNesting.h"
#include "attn/Support/TuningDb.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ProgramStack.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

using attn::run::jsonNumberAttribute;
using attn::run::makeError;
using attn::run::npyPath;
using attn::run::shapeString;
using namespace mlir;
using attn::interp::BoundShapes;
using attn::interp::NpyDType;
using attn::interp::SizeBindings;
using attn::interp::Tensor;
using attn::run::Comparison;
using attn::run::Stats;
using attn::run::statsOf;

namespace cl = llvm::cl;

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

static cl::OptionCategory runCategory("attn-run options");

static cl::opt<std::string> inputFilename(cl::Positional, cl::Required,
                                          cl::desc("<variant.mlir>"),
                                          cl::cat(runCategory));
static cl::opt<std::string>
    entryName("entry",
              cl::desc("Function to run (default: the only public "
                       "func.func)"),
              cl::cat(runCategory));
static cl::opt<int64_t> sizeB("b", cl::desc("Batch size"),
                              cl::cat(runCategory));
static cl::opt<int64_t> sizeHq("hq", cl::desc("Query heads"),
                               cl::cat(runCategory));
static cl::opt<int64_t> sizeHkv("hkv", cl::desc("Key/value heads"),
                                cl::cat(runCategory));
static cl::opt<int64_t> sizeNq("nq", cl::desc("Query length"),
                               cl::cat(runCategory));
static cl::opt<int64_t> sizeNk("nk", cl::desc("Key length (default: nq)"),
                               cl::cat(runCategory));
static cl::opt<std::string> varlenFlag(
    "varlen",
    cl::desc("A variable-length batch: the sequences' lengths, comma-"
             "separated (nq = nk per sequence unless --varlen-k), packed as "
             "FlashAttention's varlen API takes them: q, k, v, o [total, H, "
             "D], lse [Hq, total_q], int32 cumulative offsets"),
    cl::init(""), cl::cat(runCategory));
static cl::opt<int64_t> pageSizeFlag(
    "page-size",
    cl::desc("With --varlen: keep k and v in a paged KV cache of pages this "
             "many keys (a power of two), assigned in a shuffled order and "
             "found through a block table"),
    cl::init(0), cl::cat(runCategory));
static cl::opt<std::string> varlenKFlag(
    "varlen-k",
    cl::desc("With --varlen: the sequences' key lengths (default: --varlen)"),
    cl::init(""), cl::cat(runCategory));
static cl::opt<uint64_t> seed("seed", cl::desc("Random seed"), cl::init(0),
                              cl::cat(runCategory));
static cl::opt<std::string>
    dtypeName("dtype",
              cl::desc("Element type of q, k, v and o: f16, bf16 or f32 "
                       "(default: as in the IR)"),
              cl::cat(runCategory));
static cl::opt<std::string> deviceName("device",
                                       cl::desc("Device: ref (the float64 "
                                                "interpreter), emu (CUDA "
                                                "on the CPU emulator), cuda "
                                                "(a GPU, through the JIT "
                                                "runtime) or auto (cuda if "
                                                "a GPU is visible, else emu)"),
                                       cl::init("ref"), cl::cat(runCategory));
static cl::opt<int64_t> blockM("block-m",
                               cl::desc("Q-tile rows when attn-run compiles "
                                        "Level 1 IR (0: attn-tile's choice, "
                                        "128 for f16/bf16 with head dims up "
                                        "to 128, else 64)"),
                               cl::init(0), cl::cat(runCategory));
static cl::opt<int64_t> blockN("block-n",
                               cl::desc("emu: KV-tile columns when attn-run "
                                        "compiles Level 1 IR (0: the "
                                        "attn-online heuristic)"),
                               cl::init(0), cl::cat(runCategory));
static cl::opt<int64_t> warpsFlag(
    "warps",
    cl::desc("warps per CTA (0: the schedule's choice: on tensor cores 32 "
             "rows per warp for Q tiles of 128 rows or more, else 16; more "
             "warps than 16-row tiles share each 16 rows, splitting O's "
             "columns: col_groups)"),
    cl::init(0), cl::cat(runCategory));
static cl::opt<int64_t> kvSplitsFlag(
    "kv-splits",
    cl::desc("ref and emu: the split count of a split-KV plan whose count is "
             "chosen at launch (attn.kv_splits); through the runtime it "
             "chooses"),
    cl::init(attn::interp::kDefaultKvSplits), cl::cat(runCategory));
static cl::opt<int64_t> stagesFlag("stages",
                                   cl::desc("emu: K/V pipeline stages"),
                                   cl::init(2), cl::cat(runCategory));
static cl::opt<int64_t> unrollFlag("unroll",
                                   cl::desc("emu: KV loop unroll factor"),
                                   cl::init(1), cl::cat(runCategory));
static cl::opt<std::string> archFlag(
    "arch",
    cl::desc("the CUDA arch to compile for (sm_80, sm_90, ...): emu: the "
             "kernel that arch gets (its shared memory decides the "
             "schedule); cuda: CompileOptions::arch (empty: the GPU's)"),
    cl::init(""), cl::cat(runCategory));
static cl::opt<std::string>
    layoutName("layout",
               cl::desc("emu: memory layout of q, k, v and o: bhsd "
                        "(default) or bshd"),
               cl::init("bhsd"), cl::cat(runCategory));
static cl::opt<std::string>
    emitDebug("emit-debug",
              cl::desc("emu: deliberately broken kernels (drop-mask, "
                       "kv-bound, fragment-index, v-untransposed, "
                       "early-wait, exchange-no-barrier) to test that "
                       "--check, --memcheck or --race catch them"),
              cl::init("none"), cl::cat(runCategory));
static cl::opt<std::string>
    kernelPath("path",
               cl::desc("emu: kernel path: auto (tensor cores when the "
                        "variant fits, else SIMT), simt or mma"),
               cl::init("auto"), cl::cat(runCategory));
static cl::opt<std::string>
    keepCuda("keep-cuda", cl::desc("emu: write the emitted CUDA to this file"),
             cl::cat(runCategory));
static cl::opt<std::string>
    pipeline("pipeline",
             cl::desc("Pass pipeline applied before running, e.g. "
                      "'attn-decompose' (default: none)"),
             cl::init(""), cl::cat(runCategory));
static cl::opt<bool> check("check",
                           cl::desc("Compare against the interpreter on the "
                                    "untransformed function"),
                           cl::cat(runCategory));
static cl::opt<double> tolerance("tol",
                                 cl::desc("Normwise relative error tolerance "
                                          "of --check"),
                                 cl::init(1e-12), cl::cat(runCategory));
static cl::opt<std::string> saveDir("save",
                                    cl::desc("Write inputs and outputs as "
                                             ".npy files into this directory"),
                                    cl::cat(runCategory));
static cl::opt<std::string> loadDir("load",
                                    cl::desc("Read the inputs from .npy files "
                                             "in this directory"),
                                    cl::cat(runCategory));
static cl::opt<bool>
    counters("counters",
             cl::desc("Print what the run did: KV tiles skipped, run "
                      "without the mask (full) and with it (partial); emu: "
                      "also global bytes read and written"),
             cl::cat(runCategory));
static cl::opt<bool>
    memcheck("memcheck",
             cl::desc("emu: check every global access against the buffers "
                      "of the launch and shared-memory reads against what "
                      "was written; report violations (exit 1); through "
                      "the runtime (--device=auto on the emulator) the "
                      "first violation fails the run"),
             cl::cat(runCategory));
static cl::opt<bool>
    race("race", cl::desc("emu: also run the kernel (with --backward: every "
                          "backward kernel) with one OS thread per CUDA "
                          "thread under ThreadSanitizer; report data races "
                          "(exit 1)"),
         cl::cat(runCategory));
static cl::opt<bool> json("json", cl::desc("Print one JSON object"),
                          cl::cat(runCategory));
static cl::opt<bool>
    bench("bench", cl::desc("Run through the JIT runtime and time the kernel "
                            "(cuda: CUDA events, median of --bench-repeats; "
                            "emu: no timing, the traffic counters)"),
          cl::cat(runCategory));
static cl::opt<bool>
    cost("cost",
         cl::desc("With --bench: also print the static cost model's "
                  "prediction (attn/Codegen/KernelCost.h) for the plan that "
                  "ran, on --arch's targets (else A100's and H100's). It "
                  "compiles the plan's kernels three times per target with "
                  "NVRTC and ptxas: seconds per run"),
         cl::cat(runCategory));
static cl::opt<std::string> maxMemory(
    "max-memory",
    cl::desc("Host memory a run may use, e.g. 8G, 512M, 1.5T (powers of "
             "1024) or bytes; default: what the machine has available "
             "(MemAvailable, or the cgroup's limit if lower). A run that "
             "needs more is refused before allocating"),
    cl::cat(runCategory));
static cl::opt<bool> backwardFlag(
    "backward",
    cl::desc("Run the forward, draw the cotangents of its results (dO, and "
             "dlse when the function returns lse; or --load's do.npy, "
             "dlse.npy) and run the derived backward cascade "
             "(-attn-derive-backward): dq, dk, dv and the gradients of the "
             "float captures the score reads. --device=ref: the float64 "
             "interpreter, --check against central finite differences of "
             "the forward; --device=emu: the backward kernels on the "
             "emulator, --check against the interpreter's gradients"),
    cl::cat(runCategory));
static cl::opt<bool> deterministicFlag(
    "deterministic",
    cl::desc("--backward --device=emu: the kernels' deterministic mode (no "
             "atomics; the same gradients bit for bit on every run)"),
    cl::cat(runCategory));
static cl::opt<bool> recomputeStateFlag(
    "recompute-state",
    cl::desc("--backward on a device: kernels that recompute the forward "
             "state (softmax's row max and sum) instead of recovering it "
             "from the forward's lse"),
    cl::cat(runCategory));
static cl::opt<unsigned> emuWorkers(
    "emu-workers",
    cl::desc("--backward --device=emu: emulator worker threads (0: one per "
             "hardware thread)"),
    cl::init(0), cl::cat(runCategory));
static cl::opt<int64_t> fdCoordinates(
    "fd-coordinates",
    cl::desc("--backward --check: coordinates of each tensor the finite "
             "differences perturb (all of a smaller tensor)"),
    cl::init(256), cl::cat(runCategory));
static cl::opt<std::string> tuningDbPath(
    "tuning-db",
    cl::desc("A tuning database (tools/tune/attn-tune): the schedule of the "
             "entry nearest the run's shape bucket replaces the schedule "
             "flags not given (default: $ATTN_TUNING_DB)"),
    cl::init(""), cl::cat(runCategory));
static cl::opt<bool> printTuningKey(
    "print-tuning-key",
    cl::desc("Print the variant's tuning-database key (function, IR "
             "fingerprint, dtype) as JSON and exit"),
    cl::init(false), cl::cat(runCategory));
static cl::opt<int> benchRepeats("bench-repeats",
                                 cl::desc("--bench: timed launches"),
                                 cl::init(20), cl::cat(runCategory));

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Exit code of any error other than a failed check.
static constexpr int kErrorExit = 2;

/// Prints `message` as an error and returns the error exit code.
static int fail(const llvm::Twine &message) {
  llvm::errs() << "attn-run: error: " << message << "\n";
  return kErrorExit;
}

/// Prints `err` as an error and returns the error exit code.
static int fail(llvm::Error err) {
  return fail(llvm::toString(std::move(err)));
}

/// Name of function argument `index` (also its .npy file stem).
static std::string inputName(unsigned index) {
  static const char *qkv[] = {"q", "k", "v"};
  if (index < 3)
    return qkv[index];
  return "capture" + std::to_string(index - 3);
}

/// Name of function result `index` (also its .npy file stem).
static std::string resultName(unsigned index) {
  if (index == 0)
    return "o";
  if (index == 1)
    return "lse";
  return "result" + std::to_string(index);
}

/// Element type of a tensor type, or the type itself.
static Type elementTypeOf(Type type) {
  if (auto shaped = dyn_cast<ShapedType>(type))
    return shaped.getElementType();
  return type;
}

static std::string typeString(Type type) {
  std::string s;
  llvm::raw_string_ostream os(s);
  type.print(os);
  return s;
}

/// The element type named by --dtype, or null for an empty name.
static llvm::Expected<Type> parseDType(StringRef name, MLIRContext &ctx) {
  Builder b(&ctx);
  if (name.empty())
    return Type();
  if (name == "f16")
    return b.getF16Type();
  if (name == "bf16")
    return b.getBF16Type();
  if (name == "f32")
    return b.getF32Type();
  return makeError("unknown --dtype '" + name +
                   "' (expected f16, bf16 or f32)");
}

/// Checks --device: the reference interpreter and the CPU emulator.
static llvm::Error checkDevice(StringRef name) {
  if (name == "ref" || name == "emu" || name == "cuda" || name == "auto")
    return llvm::Error::success();
  return makeError("unknown device '" + name +
                   "'; use 'ref', 'emu', 'cuda' or 'auto'");
}

//===----------------------------------------------------------------------===//
// IR handling
//===----------------------------------------------------------------------===//

/// Parses `filename` into a module; diagnostics go through `sourceMgr`'s
/// handler. Returns null on failure.
static OwningOpRef<ModuleOp>
parseModule(StringRef filename, llvm::SourceMgr &sourceMgr, MLIRContext &ctx) {
  std::string errorMessage;
  auto file = openInputFile(filename, &errorMessage);
  if (!file) {
    fail(errorMessage);
    return nullptr;
  }
  // Nesting beyond what MLIR's recursive parser can take is refused before
  // parsing, with its location.
  StringRef text = file->getBuffer();
  if (auto deep = attn::findDeepNesting({text.data(), text.size()})) {
    llvm::errs() << attn::formatDeepNesting(filename.str(), *deep) << "\n";
    return nullptr;
  }
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(sourceMgr, ParserConfig(&ctx));
  // Branches in regions become selects and element-wise tensor ops maps
  // before anything reads them: the interpreter, the reports and the
  // runtime all see straight-line regions and attn ops.
  if (module) {
    attn::convertRegionIfs(*module);
    attn::convertElementwiseTensorOps(*module);
  }
  return module;
}

/// The function to run: --entry, or the only public func.func.
static llvm::Expected<func::FuncOp> findEntry(ModuleOp module,
                                              StringRef entry) {
  if (!entry.empty()) {
    auto func = module.lookupSymbol<func::FuncOp>(entry);
    if (!func || func.isExternal())
      return makeError("no function '@" + entry + "' with a body in the input");
    return func;
  }
  llvm::SmallVector<func::FuncOp> candidates;
  for (auto func : module.getOps<func::FuncOp>())
    if (func.isPublic() && !func.isExternal())
      candidates.push_back(func);
  if (candidates.size() == 1)
    return candidates.front();
  std::string names;
  for (auto func : candidates)
    names += (names.empty() ? "@" : ", @") + func.getSymName().str();
  if (candidates.empty())
    return makeError("the input has no public func.func to run");
  return makeError("the input has several public functions (" + names +
                   "); pick one with --entry=NAME");
}

/// Runs the textual pass pipeline `text` (anchored on builtin.module or not)
/// on `module`. Diagnostics are printed by the context's handler.
static llvm::Error runPipeline(ModuleOp module, StringRef text) {
  text = text.trim();
  if (text.empty())
    return llvm::Error::success();
  StringRef inner = text;
  if (inner.consume_front("builtin.module(") && inner.consume_back(")"))
    text = inner;
  PassManager pm(module.getContext());
  std::string errors;
  llvm::raw_string_ostream errorStream(errors);
  if (failed(parsePassPipeline(text, pm, errorStream)))
    return makeError("invalid --pipeline '" + text + "': " + errors);
  if (failed(pm.run(module)))
    return makeError("the pipeline '" + text + "' failed");
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Inputs and outputs
//===----------------------------------------------------------------------===//

/// Path of the .npy file named `stem` in `dir`.
/// Fills unset size bindings from q.npy and k.npy in --load's directory, so
/// that loading needs no size flags.
static llvm::Error bindingsFromFiles(StringRef dir, SizeBindings &bindings) {
  // Headers only: the sizes must be known (and the memory a run needs
  // checked) before any element is read.
  auto q = attn::interp::readNpyHeader(npyPath(dir, "q"));
  if (!q)
    return q.takeError();
  auto k = attn::interp::readNpyHeader(npyPath(dir, "k"));
  if (!k)
    return k.takeError();
  if (q->shape.size() == 4) {
    bindings.b = bindings.b ? bindings.b : q->shape[0];
    bindings.hq = bindings.hq ? bindings.hq : q->shape[1];
    bindings.nq = bindings.nq ? bindings.nq : q->shape[2];
  }
  if (k->shape.size() == 4) {
    bindings.hkv = bindings.hkv ? bindings.hkv : k->shape[1];
    bindings.nk = bindings.nk ? bindings.nk : k->shape[2];
  }
  return llvm::Error::success();
}

/// Checks that `value`, read from `path`, has `shape`.
static llvm::Error checkShape(StringRef path, const Tensor &value,
                              llvm::ArrayRef<int64_t> shape) {
  if (value.shape.size() != shape.size())
    return makeError(path + ": rank " + llvm::Twine(value.shape.size()) +
                     " but the function expects rank " +
                     llvm::Twine(shape.size()) + " " + shapeString(shape));
  for (auto [d, sizes] : llvm::enumerate(llvm::zip(value.shape, shape)))
    if (std::get<0>(sizes) != std::get<1>(sizes))
      return makeError(
          path + ": dimension " + llvm::Twine(d) + " is " +
          llvm::Twine(std::get<0>(sizes)) + " but the bound shape has " +
          llvm::Twine(std::get<1>(sizes)) + " " + shapeString(shape));
  return llvm::Error::success();
}

/// Largest number of elements of one input tensor attn-run accepts.
static constexpr int64_t kMaxElements = int64_t(1) << 31;

/// Rejects bound shapes whose tensors would not fit in memory (or whose
/// element count overflows), before anything is allocated.
static llvm::Error checkSizes(const BoundShapes &shapes) {
  for (auto [i, shape] : llvm::enumerate(shapes.args)) {
    int64_t count = 1;
    for (int64_t d : shape)
      if (llvm::MulOverflow(count, d, count) || count > kMaxElements)
        return makeError(inputName(i) + " " + shapeString(shape) +
                         " has more than 2^31 elements; use smaller sizes");
  }
  return llvm::Error::success();
}

/// Reads every input of `func` from `dir`; floating values are rounded to
/// their (possibly retyped) element type.
static llvm::Expected<std::vector<Tensor>>
loadInputs(StringRef dir, func::FuncOp func, const BoundShapes &shapes) {
  std::vector<Tensor> inputs;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    std::string path = npyPath(dir, inputName(i));
    auto value = attn::interp::readNpy(path);
    if (!value)
      return value.takeError();
    if (llvm::Error err = checkShape(path, *value, shapes.args[i]))
      return std::move(err);
    Type elementType = elementTypeOf(func.getArgumentTypes()[i]);
    if (isa<FloatType>(elementType))
      for (double &x : value->data)
        x = attn::interp::roundToType(x, elementType);
    // An integer input must hold integers its type can represent: a NaN
    // or 1e300 would reach the kernels' integer parameters otherwise.
    if (llvm::Error err = attn::interp::checkIntegerValues(
            inputName(i), *value, elementType))
      return makeError(path + ": " + llvm::toString(std::move(err)));
    inputs.push_back(std::move(*value));
  }
  return inputs;
}

/// The .npy element type a value of MLIR type `type` is saved as.
static NpyDType saveDType(Type type) {
  return elementTypeOf(type).isIntOrIndex() ? NpyDType::I8 : NpyDType::F4;
}

static llvm::Error saveInputs(StringRef dir, func::FuncOp func,
                              llvm::ArrayRef<Tensor> inputs) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return makeError("cannot create '" + dir + "': " + ec.message());
  for (auto [i, value] : llvm::enumerate(inputs))
    if (llvm::Error err =
            attn::interp::writeNpy(npyPath(dir, inputName(i)), value,
                                   saveDType(func.getArgumentTypes()[i])))
      return err;
  return llvm::Error::success();
}

static llvm::Error saveResults(StringRef dir, func::FuncOp func,
                               llvm::ArrayRef<Tensor> results) {
  for (auto [i, value] : llvm::enumerate(results)) {
    Type type = i < func.getNumResults() ? func.getResultTypes()[i] : Type();
    NpyDType dtype = type ? saveDType(type) : NpyDType::F4;
    if (llvm::Error err =
            attn::interp::writeNpy(npyPath(dir, resultName(i)), value, dtype))
      return err;
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// The emulator device
//===----------------------------------------------------------------------===//

/// True while `func` still holds Level 1 attn.attention ops.
static bool isLevel1(func::FuncOp func) {
  return !func.getOps<attn::AttentionOp>().empty();
}

/// The kernel pipeline attn-run applies for emu to Level 1 IR.
/// The kernel pipeline with attn-run's flags, followed by the test pass that
/// breaks the kernel IR when --emit-debug asks for drop-mask or kv-bound.
static llvm::Error lowerToKernel(ModuleOp module) {
  attn::AttnPipelineOptions options;
  options.blockM = blockM;
  options.blockN = blockN;
  options.warps = warpsFlag;
  options.stages = stagesFlag;
  options.unroll = unrollFlag;
  options.path = kernelPath;
  options.arch = archFlag;
  PassManager pm(module.getContext());
  attn::buildAttnPipeline(pm, options);
  if (emitDebug == "drop-mask" || emitDebug == "kv-bound") {
    std::string mutation = emitDebug == "drop-mask"
                               ? "test-attn-force-tile-class{class=1}"
                               : "test-attn-shift-kv-bounds{upper-tiles=1}";
    std::string errors;
    llvm::raw_string_ostream errorStream(errors);
    if (failed(parsePassPipeline(mutation, pm, errorStream)))
      return makeError("cannot add '" + mutation + "': " + errors);
  }
  if (failed(pm.run(module)))
    return makeError("the kernel pipeline failed");
  return llvm::Error::success();
}

static llvm::Expected<attn::codegen::CudaPlan>
emitEmuPlan(func::FuncOp func, bool varlen, bool pagedKv) {
  attn::codegen::CudaEmitOptions options;
  options.varlen = varlen;
  options.pagedKv = pagedKv;
  // drop-mask and kv-bound broke the kernel IR already (lowerToKernel).
  if (emitDebug != "drop-mask" && emitDebug != "kv-bound" &&
      !attn::codegen::parseEmitDebug(emitDebug, options.debug))
    return makeError("unknown --emit-debug '" + emitDebug +
                     "' (none, drop-mask, kv-bound, fragment-index, "
                     "v-untransposed, early-wait, exchange-no-barrier)");
  std::optional<attn::KernelPath> path = attn::symbolizeKernelPath(kernelPath);
  if (!path)
    return makeError("unknown --path '" + kernelPath + "' (auto, simt, mma)");
  options.path = *path;
  // The kernel --arch gets: its shared-memory limit (the schedule used it).
  if (!archFlag.empty()) {
    std::optional<attn::codegen::CudaArch> arch =
        attn::codegen::lookupCudaArch(archFlag);
    if (!arch)
      return makeError("unknown --arch '" + archFlag + "' (supported: " +
                       attn::codegen::supportedCudaArchs() + ")");
    options.maxSmemBytes = arch->maxSmemPerBlock;
  }
  auto plan = attn::codegen::emitCudaPlan(func, options);
  if (failed(plan))
    return makeError("the CUDA emitter failed on '@" + func.getSymName() + "'");
  return std::move(*plan);
}

/// The emitted plan in words: the kernel that computes the attention (its
/// path, threads, dynamic shared memory), the plan's kernels, why not on
/// tensor cores, and the split count `splits` of a split-KV plan.
static std::string describeEmitted(const attn::codegen::CudaPlan &plan,
                                   int64_t splits) {
  const attn::codegen::CudaKernel *kernel = &plan.kernels.front();
  for (const attn::codegen::CudaKernel &k : plan.kernels)
    if (k.role == attn::codegen::KernelRole::Whole ||
        k.role == attn::codegen::KernelRole::SplitPartials)
      kernel = &k;
  std::string line = kernel->path + (kernel->wgmma ? " (wgmma)" : "") +
                     (kernel->tma ? " with TMA K/V" : "") + ", " +
                     std::to_string(kernel->threads) + " threads, " +
                     std::to_string(kernel->dynamicSmemBytes) +
                     " B dynamic shared memory";
  if (plan.kernels.size() > 1) {
    line += "; plan:";
    for (const attn::codegen::CudaKernel &k : plan.kernels)
      line += " " + k.name;
  }
  if (!kernel->fallbackReason.empty())
    line += "; not on tensor cores: " + kernel->fallbackReason;
  if (kernel->role == attn::codegen::KernelRole::SplitPartials)
    line += "; " + std::to_string(splits) +
            (splits == 1 ? " split" : " splits") +
            (kernel->splits > 0 ? "" : " (chosen at launch: --kv-splits)");
  return line;
}

/// --keep-cuda: the emitted plan's translation unit, written to `path`.
static llvm::Error keepSource(const attn::codegen::CudaPlan &plan,
                              const std::string &path) {
  std::string source;
  for (const attn::codegen::CudaKernel &k : plan.kernels)
    source += k.source;
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec);
  if (!ec)
    out << source;
  if (ec || out.has_error())
    return makeError("cannot write '" + path + "'");
  return llvm::Error::success();
}

/// The default --check tolerance of a device for the function's dtype.
static double defaultTolerance(StringRef device, Type dtype) {
  if (device == "ref")
    return 1e-12;
  if (dtype.isF16())
    return 2e-3;
  if (dtype.isBF16())
    return 1.6e-2;
  return 1e-5;
}

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

/// Everything the summary and the JSON report show.
struct Report {
  std::string function, device, dtype;
  std::map<std::string, int64_t> sizes;
  uint64_t seed;
  std::vector<std::pair<std::string, std::vector<int64_t>>> inputs;
  std::vector<Tensor> results;
  std::vector<Comparison> checks;
  attn::interp::Counters counters;
  /// emu only: seconds to build the kernel .so and to run the launch.
  double emuCompileSeconds = -1, emuLaunchSeconds = -1;
  /// emu only: counters, memcheck and race-checker findings.
  attn::RunStats emuChecks;
  /// emu and the runtime: the emitted kernel or plan in words.
  std::string kernelLine;
  /// --bench: the timing (cuda) or counters (emu), as text and JSON.
  std::string benchSummary, benchJson;
  /// --cost: the static cost model's prediction, as text and JSON.
  std::string costSummary, costJson;
  /// With a tuning database: which entry set the schedule, or why none did.
  std::string tuningSummary, tuningJson;
  /// --varlen: the sequences' lengths (empty for a dense run), and
  /// --page-size (0: keys packed).
  std::vector<int64_t> varlenQ, varlenK;
  int64_t pageSize = 0;
};

/// With --tuning-db (or $ATTN_TUNING_DB): looks up the run's bucket for the
/// variant `fingerprint` in `dtype` (on --arch's entries; without --arch,
/// every arch's) and sets the schedule flags the command line did not give
/// from the nearest entry. `summary` and `json` say which entry, or that the
/// default heuristic runs.
static llvm::Error applyTuningDb(const std::string &fingerprint,
                                 const std::string &dtype,
                                 const std::map<std::string, int64_t> &sizes,
                                 std::string &summary, std::string &json) {
  std::string path = tuningDbPath;
  if (path.empty())
    if (const char *env = std::getenv("ATTN_TUNING_DB"))
      path = env;
  if (path.empty())
    return llvm::Error::success();
  attn::TuningDb db;
  std::string error;
  if (!db.load(path, error))
    return makeError(error);
  attn::TuningBucket bucket = attn::tuningBucket(
      sizes.at("nq"), sizes.at("nk"), sizes.at("b") * sizes.at("hq"));
  std::string bucketText = "[" + std::to_string(bucket[0]) + ", " +
                           std::to_string(bucket[1]) + ", " +
                           std::to_string(bucket[2]) + "]";
  int64_t distance = 0;
  const attn::TuningEntry *e =
      db.lookup(fingerprint, dtype, archFlag, bucket, &distance);
  llvm::json::Object out{{"db", path}, {"bucket", bucketText}};
  if (!e) {
    summary = "default heuristic (" + path + " has no entry for this "
              "variant (" + fingerprint + "), " + dtype +
              (archFlag.empty() ? std::string() : " and " + archFlag) + ")";
    out["entry"] = nullptr;
  } else {
    // Flags given on the command line win.
    auto set = [](cl::opt<int64_t> &flag, int64_t value) {
      if (!flag.getNumOccurrences())
        flag = value;
    };
    set(blockM, e->schedule.blockM);
    set(blockN, e->schedule.blockN);
    set(warpsFlag, e->schedule.warps);
    set(stagesFlag, e->schedule.stages);
    if (!kernelPath.getNumOccurrences())
      kernelPath = e->schedule.path;
    char score[32];
    std::snprintf(score, sizeof score, "%.4g", e->scoreUs);
    summary = "DB entry " + path + ":" + std::to_string(e->line) + " (" +
              e->arch + ", bucket " + bucketText + " at distance " +
              std::to_string(distance) + ", " + score + " us " + e->source +
              "): block-m=" + std::to_string(blockM) +
              " block-n=" + std::to_string(blockN) +
              " warps=" + std::to_string(warpsFlag) +
              " stages=" + std::to_string(stagesFlag) + " path=" +
              kernelPath.getValue() + " split-kv=" + e->schedule.splitKv;
    out["entry"] = llvm::json::Object{
        {"line", e->line},       {"arch", e->arch},
        {"distance", distance},  {"score_us", e->scoreUs},
        {"source", e->source},   {"block_m", int64_t(blockM)},
        {"block_n", int64_t(blockN)}, {"warps", int64_t(warpsFlag)},
        {"stages", int64_t(stagesFlag)}, {"path", kernelPath.getValue()},
        {"split_kv", e->schedule.splitKv}};
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(std::move(out));
  json = text;
  return llvm::Error::success();
}

/// --cost: the static cost model's prediction (attn/Codegen/KernelCost.h)
/// for the plan the runtime ran, on the targets of --arch (else sm_80's and
/// sm_90's): one line per target and a JSON array of the plans' totals.
static llvm::Error predictCost(ModuleOp level1, StringRef funcName,
                               const std::map<std::string, int64_t> &sizes,
                               const attn::run::JitRequest &request,
                               const attn::run::JitReport &ran,
                               std::string &summary, std::string &json) {
  attn::AttnPipelineOptions pipeline;
  pipeline.blockM = ran.blockM > 0 ? ran.blockM : request.blockM;
  pipeline.blockN = request.blockN;
  pipeline.warps = request.warps;
  pipeline.stages = request.stages;
  pipeline.unroll = request.unroll;
  pipeline.splitKv = llvm::StringRef(ran.plan).starts_with("split") ? 1 : 0;
  attn::codegen::RunSizes runSizes;
  runSizes.nq = sizes.at("nq");
  runSizes.nk = sizes.at("nk");
  runSizes.batch = std::max<int64_t>(1, sizes.at("b"));
  std::vector<std::string> archs = {"sm_80", "sm_90"};
  if (!request.arch.empty())
    archs = {request.arch};
  llvm::json::Array totals;
  for (const std::string &arch : archs) {
    mlir::FailureOr<std::string> text =
        attn::codegen::costReport(level1, pipeline, arch, runSizes);
    if (mlir::failed(text))
      return makeError("the cost model failed for " + arch +
                       " (the error is above)");
    llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(*text);
    if (!parsed)
      return parsed.takeError();
    const llvm::json::Array *plans =
        parsed->getAsObject()->getArray("plan_costs");
    for (const llvm::json::Value &plan : plans ? *plans
                                               : llvm::json::Array()) {
      const llvm::json::Object *p = plan.getAsObject();
      if (!p || p->getString("function") != funcName)
        continue;
      char line[256];
      std::snprintf(
          line, sizeof line,
          "cost:     %s (%s): %.3g us predicted, %s-bound, %.2f of the dense "
          "f16 tensor peak (static model, %lld kernel%s)",
          p->getString("target").value_or("").str().c_str(), arch.c_str(),
          p->getNumber("predicted_us").value_or(0),
          p->getString("bound").value_or("").str().c_str(),
          p->getNumber("fraction_of_peak").value_or(0),
          static_cast<long long>(p->getInteger("kernels").value_or(0)),
          p->getInteger("kernels").value_or(0) == 1 ? "" : "s");
      summary += (summary.empty() ? "" : "\n") + std::string(line);
      llvm::json::Object entry = *p;
      entry["arch"] = arch;
      totals.push_back(std::move(entry));
    }
  }
  json.clear();
  llvm::raw_string_ostream os(json);
  os << llvm::json::Value(std::move(totals));
  return llvm::Error::success();
}

/// The emulator's counters (same names as the interpreter's where they mean
/// the same), memcheck violations and race reports, as JSON members.
static void printEmuChecksJson(const attn::RunStats &e,
                               llvm::json::OStream &j) {
  if (counters)
    j.attributeObject("counters", [&] {
      j.attribute("tiles_full", e.tilesFull);
      j.attribute("tiles_partial", e.tilesPartial);
      j.attribute("tiles_interior", e.tilesInterior);
      j.attribute("global_loads", e.globalLoads);
      j.attribute("global_stores", e.globalStores);
      j.attribute("global_bytes_read", e.globalBytesRead);
      j.attribute("global_bytes_written", e.globalBytesWritten);
    });
  if (memcheck)
    j.attributeObject("memcheck", [&] {
      j.attribute("violations", e.memoryViolationCount);
      j.attributeArray("reported", [&] {
        for (const attn::MemoryViolationReport &v : e.memoryViolations)
          j.object([&] {
            j.attribute("kind", v.kind);
            j.attribute("kernel", v.kernel);
            j.attribute("cta", llvm::json::Array({v.cta[0], v.cta[1],
                                                  v.cta[2]}));
            j.attribute("thread", llvm::json::Array({v.thread[0], v.thread[1],
                                                     v.thread[2]}));
            j.attribute("accessor", v.accessor);
            j.attribute("index", int64_t(v.index));
            j.attribute("extent", int64_t(v.extent));
            j.attribute("buffer", v.buffer);
            j.attribute("file", v.file);
            j.attribute("line", v.line);
            j.attribute("message", v.message);
          });
      });
    });
  if (race)
    j.attributeObject("race", [&] {
      j.attribute("data_races", e.dataRaces);
      j.attributeArray("reports", [&] {
        for (const std::string &text : e.raceReports)
          j.value(text);
      });
      jsonNumberAttribute(j, "seconds", e.raceSeconds, 3);
    });
}

/// `key`: the JSON text `json` (a nested report built elsewhere), if any.
static void rawAttribute(llvm::json::OStream &j, llvm::StringRef key,
                         const std::string &json) {
  if (json.empty())
    return;
  j.attributeBegin(key);
  j.rawValue(json);
  j.attributeEnd();
}

static void printJson(const Report &r, llvm::raw_ostream &os) {
  llvm::json::OStream j(os);
  j.object([&] {
    j.attribute("function", r.function);
    j.attribute("device", r.device);
    j.attribute("dtype", r.dtype);
    j.attribute("seed", r.seed);
    j.attributeObject("sizes", [&] {
      for (const char *key : {"b", "hq", "hkv", "nq", "nk"}) {
        auto it = r.sizes.find(key);
        j.attribute(key, it == r.sizes.end() ? int64_t(0) : it->second);
      }
    });
    if (!r.varlenQ.empty())
      j.attributeObject("varlen", [&] {
        j.attribute("q", llvm::json::Array(r.varlenQ));
        j.attribute("k", llvm::json::Array(r.varlenK));
        j.attribute("page_size", r.pageSize);
      });
    j.attributeArray("results", [&] {
      for (size_t i = 0; i < r.results.size(); ++i) {
        const Tensor &value = r.results[i];
        Stats stats = statsOf(value);
        j.object([&] {
          j.attribute("name", resultName(i));
          j.attribute("shape", llvm::json::Array(value.shape));
          jsonNumberAttribute(j, "l2", stats.l2);
          j.attribute("nan_count", stats.nanCount);
          j.attribute("inf_count", stats.infCount);
        });
      }
    });
    j.attributeArray("check", [&] {
      for (const Comparison &c : r.checks)
        j.object([&] {
          j.attribute("name", c.name);
          jsonNumberAttribute(j, "rel_err", c.relErr);
          j.attribute("spread_rows", c.spreadRows);
          jsonNumberAttribute(j, "tol", tolerance, 6);
          j.attribute("pass", c.pass);
        });
    });
    if (r.device == "emu")
      printEmuChecksJson(r.emuChecks, j);
    else if (counters)
      j.attributeObject("counters", [&] {
        j.attribute("tiles_empty", r.counters.tilesEmpty);
        j.attribute("tiles_full", r.counters.tilesFull);
        j.attribute("tiles_partial", r.counters.tilesPartial);
      });
    rawAttribute(j, "bench", r.benchJson);
    rawAttribute(j, "cost_model", r.costJson);
    rawAttribute(j, "tuning", r.tuningJson);
  });
  os << "\n";
}

static std::string formatDouble(const char *format, double x) {
  char buf[64];
  snprintf(buf, sizeof buf, format, x);
  return buf;
}

/// "check o: rel_err=1.234e-15 tol=1.0e-12 PASS".
/// Rows non-finite only in the run from a weight-0 key's V follow, as
/// "check o: 2 rows (5 elements) non-finite only here: ...".
static std::string formatCheck(const Comparison &c) {
  std::string line = "check " + c.name + ": rel_err=" +
                     formatDouble("%.3e", c.relErr) +
                     " tol=" + formatDouble("%.1e", tolerance) +
                     (c.pass ? " PASS" : " FAIL");
  if (c.spreadRows)
    line += "\ncheck " + c.name + ": " + std::to_string(c.spreadRows) +
            " row" + (c.spreadRows == 1 ? "" : "s") + " (" +
            std::to_string(c.spreadElements) + " element" +
            (c.spreadElements == 1 ? "" : "s") +
            ") non-finite only here, in features where V is non-finite at a "
            "key of weight 0 (a masked key in a visited tile: 0 x NaN in P.V); "
            "not counted";
  return line;
}

/// The emulator's counters, memcheck violations and race reports, one
/// section per line (the reports verbatim after their line).
static void printEmuChecksSummary(const attn::RunStats &e,
                                  llvm::raw_ostream &os) {
  if (counters)
    os << "counters: tiles_full=" << e.tilesFull
       << " tiles_partial=" << e.tilesPartial
       << " tiles_interior=" << e.tilesInterior
       << " global_loads=" << e.globalLoads
       << " global_stores=" << e.globalStores
       << " global_bytes_read=" << e.globalBytesRead
       << " global_bytes_written=" << e.globalBytesWritten << "\n";
  if (memcheck) {
    if (e.memoryViolationCount == 0)
      os << "memcheck: clean\n";
    else
      os << "memcheck: " << e.memoryViolationCount << " violation"
         << (e.memoryViolationCount == 1 ? "" : "s") << "\n";
    for (const attn::MemoryViolationReport &v : e.memoryViolations)
      os << "  " << v.message << "\n";
    if (e.memoryViolationCount > e.memoryViolations.size())
      os << "  (" << e.memoryViolationCount - e.memoryViolations.size() << " more)\n";
  }
  if (race) {
    if (e.raceReports.empty())
      os << "race:     no data races (ThreadSanitizer, "
         << formatDouble("%.1f", e.raceSeconds) << " s)\n";
    else
      os << "race:     " << e.raceReports.size()
         << " ThreadSanitizer report" << (e.raceReports.size() == 1 ? "" : "s")
         << ", " << e.dataRaces << " data race" << (e.dataRaces == 1 ? "" : "s")
         << "\n";
    for (const std::string &text : e.raceReports)
      os << text;
  }
}

static void printSummary(const Report &r, llvm::raw_ostream &os) {
  os << "function: @" << r.function << "\n";
  os << "device:   " << r.device << "  dtype: " << r.dtype
     << "  seed: " << r.seed << "\n";
  os << "sizes:   ";
  for (const char *key : {"b", "hq", "hkv", "nq", "nk"})
    os << " " << key << "=" << r.sizes.at(key);
  if (!r.varlenQ.empty()) {
    os << "\nvarlen:   " << r.varlenQ.size() << " sequences, q lengths "
       << llvm::join(llvm::map_range(r.varlenQ,
                                     [](int64_t n) { return std::to_string(n); }),
                     ",")
       << ", k lengths "
       << llvm::join(llvm::map_range(r.varlenK,
                                     [](int64_t n) { return std::to_string(n); }),
                     ",");
    if (r.pageSize)
      os << ", paged KV (pages of " << r.pageSize << ")";
  }
  os << "\ninputs:  ";
  for (auto &[name, shape] : r.inputs)
    os << " " << name << " " << shapeString(shape);
  os << "\n";
  for (auto [i, value] : llvm::enumerate(r.results)) {
    Stats stats = statsOf(value);
    os << resultName(i) << " " << shapeString(value.shape)
       << "  l2=" << formatDouble("%.6e", stats.l2);
    if (stats.nanCount)
      os << "  nan=" << stats.nanCount;
    if (stats.infCount)
      os << "  inf=" << stats.infCount;
    os << "  first:";
    for (size_t j = 0; j < std::min<size_t>(4, value.data.size()); ++j)
      os << " " << formatDouble("%.6g", value.data[j]);
    os << "\n";
  }
  if (!r.kernelLine.empty())
    os << "kernel:   " << r.kernelLine << "\n";
  if (!r.benchSummary.empty())
    os << r.benchSummary << "\n";
  if (!r.costSummary.empty())
    os << r.costSummary << "\n";
  if (!r.tuningSummary.empty())
    os << "tuning:   " << r.tuningSummary << "\n";
  if (r.emuCompileSeconds >= 0)
    os << "emu:      compile " << formatDouble("%.2f", r.emuCompileSeconds)
       << " s, launch " << formatDouble("%.3f", r.emuLaunchSeconds) << " s\n";
  if (r.device == "emu")
    printEmuChecksSummary(r.emuChecks, os);
  else if (counters)
    os << "counters: tiles_empty=" << r.counters.tilesEmpty
       << " tiles_full=" << r.counters.tilesFull
       << " tiles_partial=" << r.counters.tilesPartial << "\n";
  for (const Comparison &c : r.checks)
    os << formatCheck(c) << "\n";
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

/// The size flags given on the command line.
static SizeBindings bindingsFromFlags() {
  SizeBindings bindings;
  auto take = [](cl::opt<int64_t> &opt, std::optional<int64_t> &slot) {
    if (opt.getNumOccurrences())
      slot = opt.getValue();
  };
  take(sizeB, bindings.b);
  take(sizeHq, bindings.hq);
  take(sizeHkv, bindings.hkv);
  take(sizeNq, bindings.nq);
  take(sizeNk, bindings.nk);
  return bindings;
}

static void registerEverything(DialectRegistry &registry) {
  registry.insert<attn::AttnDialect, func::FuncDialect, arith::ArithDialect,
                  math::MathDialect, tensor::TensorDialect, scf::SCFDialect>();
  registerCanonicalizerPass();
  registerCSEPass();
  attn::registerAttnPasses();
  attn::registerAttnPipeline();
  attn::codegen::registerAttnCodegenPasses();
  attn::test::registerTestPasses();
}

/// --max-memory, or what the machine has available.
static llvm::Expected<attn::HostMemoryLimit> hostMemoryLimit() {
  if (!maxMemory.getNumOccurrences())
    return attn::availableHostMemory();
  std::optional<uint64_t> bytes = attn::parseByteSize(maxMemory);
  if (!bytes || *bytes == 0)
    return makeError("invalid --max-memory '" + maxMemory +
                     "' (a size such as 8G, 512M, 1.5T or a number of bytes)");
  return attn::HostMemoryLimit{*bytes, "--max-memory"};
}

/// Prints `report` (--json or the summary); returns the exit code: 1 when a
/// check failed or memcheck or the race checker found something (they fail
/// the run like a failed check), else 0.
static int printReport(const Report &report) {
  if (json)
    printJson(report, llvm::outs());
  else
    printSummary(report, llvm::outs());
  llvm::outs().flush();
  bool allPass =
      llvm::all_of(report.checks, [](const Comparison &c) { return c.pass; });
  const attn::RunStats &found = report.emuChecks;
  bool clean = found.memoryViolationCount == 0 && found.raceReports.empty();
  return allPass && clean ? 0 : 1;
}

/// --varlen: runs `refFunc`'s variant on a variable-length batch (Varlen.h)
/// -- on ref each sequence through the pipeline's IR, else the varlen plan
/// through the runtime -- and checks it against each sequence's reference;
/// returns the exit code.
static int runVarlenTool(ModuleOp refModule, func::FuncOp refFunc,
                         Type dtype) {
  StringRef funcName = refFunc.getSymName();
  for (cl::opt<int64_t> *size : {&sizeB, &sizeNq, &sizeNk})
    if (size->getNumOccurrences())
      return fail("--varlen gives the batch and the lengths: drop --" +
                  size->ArgStr);
  if (!loadDir.empty() || !saveDir.empty() || backwardFlag || bench ||
      cost || kvSplitsFlag.getNumOccurrences() ||
      layoutName.getNumOccurrences())
    return fail("--varlen takes none of --load, --save, --backward, --bench, "
                "--cost, --kv-splits and --layout (packed tensors have one "
                "layout)");
  auto batch = attn::run::parseVarlenBatch(varlenFlag, varlenKFlag);
  if (!batch)
    return fail(batch.takeError());
  if (pageSizeFlag.getNumOccurrences() &&
      (pageSizeFlag < 1 || (pageSizeFlag & (pageSizeFlag - 1)) != 0))
    return fail("--page-size=" + std::to_string(pageSizeFlag) +
                ": pages hold a power-of-two number of keys");
  if (batch->sequences() == 0)
    return fail("--varlen: no sequence");
  SizeBindings flags = bindingsFromFlags();
  // The shapes of one dense problem of `nq` queries and `nk` keys (at least
  // one of each).
  auto denseShapes = [&](int64_t nq, int64_t nk) {
    SizeBindings one = flags;
    one.b = 1;
    one.nq = std::max<int64_t>(1, nq);
    one.nk = std::max<int64_t>(1, nk);
    return attn::interp::bindShapes(refFunc, one);
  };
  // The packed tensors hold every sequence's rows: their sizes are those of
  // one dense problem of total_q queries and total_k keys.
  auto packedShapes = denseShapes(batch->totalQ(), batch->totalK());
  if (!packedShapes)
    return fail(packedShapes.takeError());
  if (llvm::Error err = checkSizes(*packedShapes))
    return fail(std::move(err));
  // The memory: the reference runs one sequence at a time (the longest
  // bounds it); the packed tensors are held about four times over (each
  // sequence's inputs, the packed ones, the device's staging and buffers).
  {
    auto longestShapes = denseShapes(batch->maxQ(), batch->maxK());
    if (!longestShapes)
      return fail(longestShapes.takeError());
    attn::run::MemoryRequest request{refFunc,  refFunc, &*longestShapes,
                                     "ref",    false,   nullptr,
                                     check,    false,   false,
                                     1};
    attn::run::MemoryNeed need = attn::run::memoryNeed(request);
    for (auto [i, shape] : llvm::enumerate(packedShapes->args)) {
      uint64_t elements = 1;
      for (int64_t n : shape)
        elements *= static_cast<uint64_t>(n);
      need.inputs.push_back({inputName(i) + " packed for all sequences (x4)",
                             elements * 4 * sizeof(double)});
    }
    auto memoryLimit = hostMemoryLimit();
    if (!memoryLimit)
      return fail(memoryLimit.takeError());
    if (llvm::Error err = attn::run::checkMemory(need, *memoryLimit))
      return fail(std::move(err));
  }
  auto inputs =
      attn::run::makeVarlenInputs(refFunc, flags, *batch, seed, dtype);
  if (!inputs)
    return fail(inputs.takeError());

  OwningOpRef<ModuleOp> runModule = refModule.clone();
  if (llvm::Error err = runPipeline(*runModule, pipeline))
    return fail(std::move(err));
  auto runFunc = runModule->lookupSymbol<func::FuncOp>(funcName);
  if (!runFunc)
    return fail("the pipeline removed '@" + funcName + "'");
  std::optional<attn::codegen::CudaPlan> emuPlan;
  if (deviceName == "emu") {
    if (isLevel1(runFunc)) {
      if (llvm::Error err = lowerToKernel(*runModule))
        return fail(std::move(err));
      runFunc = runModule->lookupSymbol<func::FuncOp>(funcName);
    }
    auto plan = emitEmuPlan(runFunc, /*varlen=*/true, pageSizeFlag > 0);
    if (!plan)
      return fail("running '@" + funcName +
                  "' on a variable-length batch: " +
                  llvm::toString(plan.takeError()));
    emuPlan = std::move(*plan);
    if (!keepCuda.empty())
      if (llvm::Error err = keepSource(*emuPlan, keepCuda))
        return fail(std::move(err));
  }

  const Tensor &q0 = inputs->perSequence.front()[0];
  const Tensor &v0 = inputs->perSequence.front()[2];
  int64_t hq = q0.shape[1], dv = v0.shape[3];
  size_t resultCount = refFunc.getNumResults();
  Report report;
  report.function = funcName.str();
  report.device = deviceName;
  report.dtype = typeString(elementTypeOf(refFunc.getArgumentTypes()[0]));
  report.sizes = {{"b", batch->sequences()},
                  {"hq", hq},
                  {"hkv", inputs->perSequence.front()[1].shape[1]},
                  {"nq", batch->maxQ()},
                  {"nk", batch->maxK()}};
  report.seed = seed;
  report.varlenQ = batch->q;
  report.varlenK = batch->k;
  report.pageSize = pageSizeFlag;
  for (unsigned i = 0; i < refFunc.getNumArguments(); ++i)
    report.inputs.push_back({inputName(i), inputs->packed[i].shape});

  if (deviceName == "ref") {
    // Each sequence on its own: the pipeline's IR on its dense inputs --
    // over a paged cache, its keys and values read back through the block
    // table.
    std::optional<attn::run::PageLayout> pages;
    std::vector<Tensor> paged;
    if (pageSizeFlag > 0) {
      pages = attn::run::layoutPages(*batch, pageSizeFlag, seed);
      for (int i = 1; i < 3; ++i)
        paged.push_back(
            attn::run::toPages(inputs->packed[i], *batch, *pages));
    }
    std::vector<std::vector<Tensor>> perSequence;
    for (int64_t s = 0; s < batch->sequences(); ++s) {
      if (batch->q[s] == 0) {
        perSequence.emplace_back();
        continue;
      }
      std::vector<Tensor> args = inputs->perSequence[s];
      if (pages)
        for (int i = 1; i < 3; ++i)
          args[i] = attn::run::fromPages(paged[i - 1], *batch, *pages, s);
      auto results =
          attn::interp::runFunction(runFunc, args, &report.counters);
      if (!results)
        return fail("running '@" + funcName + "' on sequence " +
                    std::to_string(s) + ": " +
                    llvm::toString(results.takeError()));
      perSequence.push_back(std::move(*results));
    }
    report.results =
        attn::run::concatSequences(perSequence, *batch, hq, dv, resultCount);
  } else {
    attn::run::JitRequest request;
    request.device = deviceName;
    request.blockM = blockM;
    request.blockN = blockN;
    request.warps = warpsFlag;
    request.stages = stagesFlag;
    request.unroll = unrollFlag;
    request.arch = archFlag;
    request.memcheck = memcheck;
    request.counters = counters;
    request.race = race;
    request.emitted = emuPlan ? &*emuPlan : nullptr;
    request.varlen = &*batch;
    request.pageSize = pageSizeFlag;
    request.pageSeed = seed;
    attn::run::JitReport jitReport;
    auto results = attn::run::runJit(*runModule, runFunc, inputs->packed,
                                     report.sizes, request, jitReport);
    if (!results)
      return fail("running '@" + funcName + "' on a variable-length batch: " +
                  llvm::toString(results.takeError()));
    report.device = jitReport.device;
    if (emuPlan) {
      report.emuCompileSeconds = jitReport.compileSeconds;
      report.emuLaunchSeconds = jitReport.launchSeconds;
      report.kernelLine = describeEmitted(*emuPlan, 1);
    } else if (!jitReport.kernels.empty()) {
      report.kernelLine = jitReport.plan + " plan, " +
                          std::to_string(jitReport.blockM) +
                          " rows: " + jitReport.kernels + " (" +
                          jitReport.planReason + ")";
    }
    report.emuChecks = std::move(jitReport.stats);
    report.results = attn::run::unpackResults(*results);
  }

  if (check) {
    std::vector<std::vector<Tensor>> reference;
    for (int64_t s = 0; s < batch->sequences(); ++s) {
      if (batch->q[s] == 0) {
        reference.emplace_back();
        continue;
      }
      auto results = attn::interp::runFunction(refFunc, inputs->perSequence[s]);
      if (!results)
        return fail("running the reference of '@" + funcName +
                    "' on sequence " + std::to_string(s) + ": " +
                    llvm::toString(results.takeError()));
      reference.push_back(std::move(*results));
    }
    if (!tolerance.getNumOccurrences())
      tolerance = defaultTolerance(
          deviceName, elementTypeOf(refFunc.getArgumentTypes()[0]));
    report.checks = attn::run::compareResults(
        report.results,
        attn::run::concatSequences(reference, *batch, hq, dv, resultCount),
        attn::run::concatValues(*inputs, *batch), tolerance, resultName);
  }
  return printReport(report);
}

/// Runs the whole tool once the flags are parsed; returns the exit code.
static int runTool() {
  if (llvm::Error err = checkDevice(deviceName))
    return fail(std::move(err));
  if (race && deviceName != "emu")
    return fail("--race needs --device=emu");
  if (memcheck && deviceName != "emu" && deviceName != "auto")
    return fail("--memcheck needs --device=emu (or auto, through the "
                "runtime, when no GPU is visible)");
  // cuda, auto and --bench run through the JIT runtime library.
  bool viaRuntime = deviceName == "cuda" || deviceName == "auto" || bench;
  // --backward: ref is the float64 interpreter; emu, cuda and auto run the
  // backward kernels (emu directly, cuda, auto and --race through the
  // runtime, whose BackwardPlan runs the race checker).
  if (backwardFlag && (bench || !pipeline.empty()))
    return fail("--backward takes neither --bench nor --pipeline");
  if (backwardFlag && race && emuWorkers.getNumOccurrences())
    return fail("--backward --race runs through the runtime, which picks the "
                "emulator's workers: drop --emu-workers");
  if (backwardFlag && deviceName == "ref" && (counters || memcheck))
    return fail("--backward --device=ref takes neither --counters nor "
                "--memcheck (they are the emulator's)");
  if (deterministicFlag && !(backwardFlag && deviceName != "ref"))
    return fail("--deterministic needs --backward on a device (emu, cuda, "
                "auto)");
  if (recomputeStateFlag && !(backwardFlag && deviceName != "ref"))
    return fail("--recompute-state needs --backward on a device (emu, cuda, "
                "auto)");
  if (emuWorkers.getNumOccurrences() && !(backwardFlag && deviceName == "emu"))
    return fail("--emu-workers needs --backward --device=emu");
  if (fdCoordinates < 1)
    return fail("--fd-coordinates must be at least 1, got " +
                std::to_string(fdCoordinates));
  if (bench && deviceName == "ref")
    return fail("--bench needs --device=emu, cuda or auto");
  if (cost && !bench)
    return fail("--cost predicts the plan that --bench runs: add --bench");
  if (kvSplitsFlag < 1)
    return fail("--kv-splits must be at least 1, got " +
                std::to_string(kvSplitsFlag));
  if (viaRuntime && kvSplitsFlag.getNumOccurrences())
    return fail("--kv-splits is the ref and emu split count; through the "
                "runtime (--device=cuda|auto, --bench) the runtime chooses "
                "it (ATTN_SPLIT_KV, CompileOptions::kvSplits)");
  if (viaRuntime && (counters || race) && !backwardFlag)
    return fail("--counters and --race need --device=emu without "
                "--bench (--bench on emu prints the traffic counters)");
  DialectRegistry registry;
  registerEverything(registry);
  MLIRContext ctx(registry);
  // Errors carry their source location; a dump of the kernel IR after them
  // would bury the message.
  ctx.printOpOnDiagnostic(false);
  ctx.loadAllAvailableDialects();
  auto dtype = parseDType(dtypeName, ctx);
  if (!dtype)
    return fail(dtype.takeError());

  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &ctx);
  OwningOpRef<ModuleOp> module = parseModule(inputFilename, sourceMgr, ctx);
  if (!module)
    return kErrorExit;
  auto entry = findEntry(*module, entryName);
  if (!entry)
    return fail(entry.takeError());
  StringRef funcName = entry->getSymName();

  // The reference: the (retyped) untransformed function.
  OwningOpRef<ModuleOp> refModule = module->clone();
  auto refFunc = refModule->lookupSymbol<func::FuncOp>(funcName);
  if (*dtype && failed(attn::setVariantDtype(refFunc, *dtype)))
    return kErrorExit; // The diagnostic names the problem.

  // The tuning key names the function as written, before --dtype.
  std::string fingerprint = attn::variantFingerprint(*entry);
  std::string runDtype =
      typeString(elementTypeOf(refFunc.getArgumentTypes()[0]));
  if (printTuningKey) {
    llvm::json::Object key{{"function", funcName.str()},
                           {"ir_hash", fingerprint},
                           {"dtype", runDtype}};
    llvm::outs() << llvm::json::Value(std::move(key)) << "\n";
    return 0;
  }

  if (pageSizeFlag.getNumOccurrences() && !varlenFlag.getNumOccurrences())
    return fail("--page-size needs --varlen (a paged KV cache serves a "
                "batch of sequences)");
  if (varlenFlag.getNumOccurrences() || varlenKFlag.getNumOccurrences()) {
    if (varlenFlag.empty())
      return fail(varlenFlag.getNumOccurrences()
                      ? "--varlen: no sequence lengths"
                      : "--varlen-k needs --varlen (the query lengths)");
    return runVarlenTool(*refModule, refFunc, *dtype);
  }

  SizeBindings bindings = bindingsFromFlags();
  if (!loadDir.empty())
    if (llvm::Error err = bindingsFromFiles(loadDir, bindings))
      return fail(std::move(err));
  auto shapes = attn::interp::bindShapes(refFunc, bindings);
  if (!shapes)
    return fail(shapes.takeError());
  if (llvm::Error err = checkSizes(*shapes))
    return fail(std::move(err));

  // A tuning database sets the schedule flags the command line leaves.
  std::string tuningSummary, tuningJson;
  if (llvm::Error err = applyTuningDb(fingerprint, runDtype, shapes->sizes,
                                      tuningSummary, tuningJson))
    return fail(std::move(err));

  // The run: the reference after the pipeline.
  OwningOpRef<ModuleOp> runModule = refModule->clone();
  if (llvm::Error err = runPipeline(*runModule, pipeline))
    return fail(std::move(err));
  auto runFunc = runModule->lookupSymbol<func::FuncOp>(funcName);
  if (!runFunc)
    return fail("the pipeline removed '@" + funcName + "'");
  // The backward emits its own kernels (BackwardEmu): the forward's are not
  // needed.
  if (deviceName == "emu" && isLevel1(runFunc) && !backwardFlag) {
    if (llvm::Error err = lowerToKernel(*runModule))
      return fail(std::move(err));
    runFunc = runModule->lookupSymbol<func::FuncOp>(funcName);
  }

  if (backwardFlag) {
    // The backward is a float64 reference that holds about ten score-sized
    // tensors at once (the memory check below counts the forward only):
    // refused past 2^24 scores rather than left to exhaust the host.
    auto size = [&](const char *key) {
      auto it = shapes->sizes.find(key);
      return it == shapes->sizes.end() ? int64_t(1) : it->second;
    };
    int64_t scores = 1;
    for (const char *key : {"b", "hq", "nq", "nk"})
      if (llvm::MulOverflow(scores, size(key), scores))
        scores = std::numeric_limits<int64_t>::max();
    constexpr int64_t kMaxBackwardScores = int64_t(1) << 24;
    if (scores > kMaxBackwardScores)
      return fail("--backward runs the float64 reference, which holds about "
                  "ten B*Hq*Nq*Nk tensors: " +
                  std::to_string(scores) + " scores exceed 2^24; use smaller "
                  "sizes");
  }

  // emu: the launch plan, emitted before any input exists so that its
  // buffers count in the memory the run needs.
  std::optional<attn::codegen::CudaPlan> emuPlan;
  if (deviceName == "emu" && !viaRuntime && !backwardFlag) {
    auto plan = emitEmuPlan(runFunc, /*varlen=*/false, /*pagedKv=*/false);
    if (!plan)
      return fail("running '@" + funcName +
                  "': " + llvm::toString(plan.takeError()));
    emuPlan = std::move(*plan);
  }
  auto memoryLimit = hostMemoryLimit();
  if (!memoryLimit)
    return fail(memoryLimit.takeError());
  attn::run::MemoryRequest memoryRequest{
      refFunc, runFunc, &*shapes, deviceName, viaRuntime,
      emuPlan ? &*emuPlan : nullptr, check, !saveDir.empty(), race,
      kvSplitsFlag};
  attn::run::MemoryNeed memory = attn::run::memoryNeed(memoryRequest);
  if (llvm::Error err = attn::run::checkMemory(memory, *memoryLimit))
    return fail(std::move(err));

  auto inputs = loadDir.empty()
                    ? attn::interp::makeInputs(refFunc, *shapes, seed, *dtype)
                    : loadInputs(loadDir, refFunc, *shapes);
  if (!inputs)
    return fail(inputs.takeError());
  if (!saveDir.empty())
    if (llvm::Error err = saveInputs(saveDir, refFunc, *inputs))
      return fail(std::move(err));

  if (backwardFlag) {
    attn::run::BackwardRequest request;
    request.forward = refFunc;
    request.inputs = *inputs;
    request.seed = seed;
    request.saveDir = saveDir;
    request.loadDir = loadDir;
    request.check = check;
    request.device = deviceName;
    request.deterministic = deterministicFlag;
    request.recomputeState = recomputeStateFlag;
    request.memcheck = memcheck;
    request.counters = counters;
    request.workers = emuWorkers;
    request.race = race;
    // Kernels: f32 arithmetic on inputs of the variant's dtype against the
    // float64 interpreter.
    Type qType = elementTypeOf(refFunc.getArgumentTypes()[0]);
    double emuTolerance =
        qType.isF16() ? 5e-3 : qType.isBF16() ? 3e-2 : 1e-5;
    request.tolerance = tolerance.getNumOccurrences() ? tolerance
                        : deviceName != "ref"         ? emuTolerance
                                                      : 1e-6;
    request.fdCoordinates = fdCoordinates;
    request.json = json;
    request.inputName = inputName;
    request.resultName = resultName;
    auto code = attn::run::runBackward(request, llvm::outs());
    llvm::outs().flush();
    if (!code)
      return fail(code.takeError());
    return *code;
  }

  attn::interp::Counters runCounters;
  attn::run::JitRequest jitRequest;
  jitRequest.device = deviceName;
  jitRequest.blockM = blockM;
  jitRequest.blockN = blockN;
  jitRequest.warps = warpsFlag;
  jitRequest.stages = stagesFlag;
  jitRequest.unroll = unrollFlag;
  jitRequest.arch = archFlag;
  jitRequest.layout = layoutName;
  jitRequest.bench = bench;
  jitRequest.memcheck = memcheck;
  jitRequest.counters = counters;
  jitRequest.race = race;
  jitRequest.benchRepeats = benchRepeats;
  // emu: the runtime runs the plan attn-run emitted, as it is.
  if (emuPlan) {
    for (const attn::codegen::CudaKernel &k : emuPlan->kernels)
      if (k.role == attn::codegen::KernelRole::SplitPartials && k.splits == 0 &&
          kvSplitsFlag > k.maxSplits)
        return fail("--kv-splits=" + std::to_string(kvSplitsFlag) +
                    " exceeds the " + std::to_string(k.maxSplits) +
                    " splits the merge kernel holds");
    jitRequest.emitted = &*emuPlan;
    jitRequest.kvSplits = kvSplitsFlag;
    if (!keepCuda.empty())
      if (llvm::Error err = keepSource(*emuPlan, keepCuda))
        return fail(std::move(err));
  }
  // With --max-memory, the runtime's own buffers get what attn-run leaves.
  if (maxMemory.getNumOccurrences())
    jitRequest.hostMemoryLimit =
        std::max<uint64_t>(1, memoryLimit->bytes -
                                  std::min(memoryLimit->bytes, memory.peak()));
  attn::run::JitReport jitReport;
  auto results =
      deviceName != "ref"
          ? attn::run::runJit(*runModule, runFunc, *inputs, shapes->sizes,
                              jitRequest, jitReport)
          : attn::interp::runFunction(runFunc, *inputs, &runCounters,
                                      kvSplitsFlag);
  if (!results)
    return fail("running '@" + funcName +
                "': " + llvm::toString(results.takeError()));
  if (!saveDir.empty())
    if (llvm::Error err = saveResults(saveDir, runFunc, *results))
      return fail(std::move(err));

  Report report;
  report.function = funcName.str();
  report.device = deviceName;
  if (viaRuntime) {
    report.device = jitReport.device; // what auto resolved to
    report.benchSummary = attn::run::benchSummary(jitReport);
    report.benchJson = attn::run::benchJson(jitReport);
    if (cost)
      if (llvm::Error err =
              predictCost(*refModule, funcName, shapes->sizes, jitRequest,
                          jitReport, report.costSummary, report.costJson))
        return fail(std::move(err));
    if (!jitReport.kernels.empty())
      report.kernelLine = jitReport.plan + " plan, " +
                          std::to_string(jitReport.blockM) +
                          " rows: " + jitReport.kernels +
                          (jitReport.planReason.empty()
                               ? ""
                               : " (" + jitReport.planReason + ")");
  }
  report.dtype = typeString(elementTypeOf(refFunc.getArgumentTypes()[0]));
  report.tuningSummary = tuningSummary;
  report.tuningJson = tuningJson;
  report.sizes = shapes->sizes;
  report.seed = seed;
  report.counters = runCounters;
  if (emuPlan) {
    report.emuCompileSeconds = jitReport.compileSeconds;
    report.emuLaunchSeconds = jitReport.launchSeconds;
    report.kernelLine = describeEmitted(*emuPlan, jitReport.stats.splits);
  }
  report.emuChecks = std::move(jitReport.stats);
  for (unsigned i = 0; i < refFunc.getNumArguments(); ++i)
    report.inputs.push_back({inputName(i), shapes->args[i]});
  report.results = std::move(*results);

  if (check) {
    auto reference = attn::interp::runFunction(refFunc, *inputs);
    if (!reference)
      return fail("running the reference of '@" + funcName +
                  "': " + llvm::toString(reference.takeError()));
    if (!tolerance.getNumOccurrences())
      tolerance = defaultTolerance(
          deviceName, elementTypeOf(refFunc.getArgumentTypes()[0]));
    report.checks = attn::run::compareResults(
        report.results, *reference, (*inputs)[2], tolerance, resultName);
  }

  return printReport(report);
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  cl::HideUnrelatedOptions(runCategory);
  std::string errors;
  llvm::raw_string_ostream errorStream(errors);
  if (!cl::ParseCommandLineOptions(
          argc, argv, "attn-run: run an attention variant on random inputs\n",
          &errorStream)) {
    llvm::errs() << errors;
    return kErrorExit;
  }
  // Parsing, passes and the interpreter recurse per nesting level: a large
  // stack for what the nesting check cannot bound.
  int exitCode = kErrorExit;
  llvm::runOnNewStack(attn::kCompilerStackBytes,
                      [&] { exitCode = runTool(); });
  return exitCode;
}
