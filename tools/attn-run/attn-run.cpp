//===- attn-run.cpp - run a variant on random inputs ----------------------===//
//
// Parses a variant (a func.func taking q, k, v and captures), binds its sizes,
// draws seeded inputs (or loads them from .npy files), optionally applies a
// pass pipeline, runs it on a device (for now only `ref`, the float64
// interpreter) and prints a summary or JSON. With --check the run is compared
// against the interpreter on the untransformed function.
//
// Exit codes: 0 success, 1 a --check comparison failed, 2 any error (bad
// flags, unparsable input, shapes that contradict the IR, failed passes,
// unreadable files, interpreter errors).
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/AttnDialect.h"
#include "attn/Interpreter/Inputs.h"
#include "attn/Interpreter/Interpreter.h"
#include "attn/Interpreter/Npy.h"
#include "attn/Passes/Passes.h"

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
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <optional>
#include <string>
#include <vector>

using namespace mlir;
using attn::interp::BoundShapes;
using attn::interp::NpyDType;
using attn::interp::SizeBindings;
using attn::interp::Tensor;

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
static cl::opt<uint64_t> seed("seed", cl::desc("Random seed"), cl::init(0),
                              cl::cat(runCategory));
static cl::opt<std::string>
    dtypeName("dtype",
              cl::desc("Element type of q, k, v and o: f16, bf16 or f32 "
                       "(default: as in the IR)"),
              cl::cat(runCategory));
static cl::opt<std::string> deviceName("device",
                                       cl::desc("Device: ref (the float64 "
                                                "interpreter)"),
                                       cl::init("ref"), cl::cat(runCategory));
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
                      "without the mask (full) and with it (partial)"),
             cl::cat(runCategory));
static cl::opt<bool> json("json", cl::desc("Print one JSON object"),
                          cl::cat(runCategory));

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

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
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

static std::string shapeString(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? "," : "") + std::to_string(d);
  return s + "]";
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

/// Checks --device: only the reference interpreter exists so far.
static llvm::Error checkDevice(StringRef name) {
  if (name == "ref")
    return llvm::Error::success();
  if (name == "emu" || name == "cuda" || name == "auto")
    return makeError("device '" + name + "' is not available yet; only 'ref'");
  return makeError("unknown device '" + name + "'; only 'ref' is available");
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
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  return parseSourceFile<ModuleOp>(sourceMgr, ParserConfig(&ctx));
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

/// `type` with its element type replaced by `elementType`.
static RankedTensorType withElementType(Type type, Type elementType) {
  auto tensor = cast<RankedTensorType>(type);
  return RankedTensorType::get(tensor.getShape(), elementType,
                               tensor.getEncoding());
}

/// Retypes q, k, v (arguments 0..2) and o (result 0) of `func` and of its
/// attn.attention ops to `elementType`; captures and lse keep their types.
static llvm::Error retype(func::FuncOp func, Type elementType) {
  auto attentions = llvm::to_vector(func.getOps<attn::AttentionOp>());
  if (attentions.empty())
    return makeError("--dtype needs an attn.attention op in '@" +
                     func.getSymName() + "'");
  if (func.getNumArguments() < 3 || func.getNumResults() < 1)
    return makeError("'@" + func.getSymName() +
                     "' does not take q, k, v and return o");
  Block &entry = func.getBody().front();
  for (unsigned i = 0; i < 3; ++i) {
    if (!isa<RankedTensorType>(entry.getArgument(i).getType()))
      return makeError("argument " + llvm::Twine(i) +
                       " is not a ranked tensor");
    entry.getArgument(i).setType(
        withElementType(entry.getArgument(i).getType(), elementType));
  }
  for (attn::AttentionOp op : attentions) {
    for (mlir::Value operand : {op.getQ(), op.getK(), op.getV()})
      if (!isa<BlockArgument>(operand) ||
          cast<BlockArgument>(operand).getOwner() != &entry)
        return makeError("--dtype: the q, k, v of attn.attention must be "
                         "function arguments");
    op.getO().setType(withElementType(op.getO().getType(), elementType));
  }
  llvm::SmallVector<Type> results(func.getResultTypes());
  if (!isa<RankedTensorType>(results[0]))
    return makeError("result 0 is not a ranked tensor");
  results[0] = withElementType(results[0], elementType);
  func.setFunctionType(
      FunctionType::get(func.getContext(), entry.getArgumentTypes(), results));
  if (failed(verify(func)))
    return makeError("the function does not verify after --dtype=" +
                     typeString(elementType));
  return llvm::Error::success();
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
static std::string npyPath(StringRef dir, StringRef stem) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, stem + ".npy");
  return std::string(path);
}

/// Fills unset size bindings from q.npy and k.npy in --load's directory, so
/// that loading needs no size flags.
static llvm::Error bindingsFromFiles(StringRef dir, SizeBindings &bindings) {
  auto q = attn::interp::readNpy(npyPath(dir, "q"));
  if (!q)
    return q.takeError();
  auto k = attn::interp::readNpy(npyPath(dir, "k"));
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
// Statistics and comparison
//===----------------------------------------------------------------------===//

/// L2 norm over the finite elements, and counts of NaN and infinite ones.
struct Stats {
  double l2 = 0;
  int64_t nanCount = 0, infCount = 0;
};

static Stats statsOf(const Tensor &value) {
  Stats stats;
  double sum = 0;
  for (double x : value.data) {
    if (std::isnan(x))
      ++stats.nanCount;
    else if (std::isinf(x))
      ++stats.infCount;
    else
      sum += x * x;
  }
  stats.l2 = std::sqrt(sum);
  return stats;
}

/// Result of comparing one output with the reference.
struct Comparison {
  std::string name;
  double relErr;
  bool pass;
};

/// ‖a − b‖₂ / ‖b‖₂ (absolute when ‖b‖ = 0). Equal infinities (lse = −inf of
/// fully masked rows) match; NaN anywhere, a shape mismatch or unequal
/// infinities give NaN / infinity, which fail.
static double relativeError(const Tensor &a, const Tensor &b) {
  if (a.shape != b.shape || a.data.size() != b.data.size())
    return INFINITY;
  double diff = 0, norm = 0;
  for (auto [x, y] : llvm::zip(a.data, b.data)) {
    if (std::isnan(x) || std::isnan(y))
      return NAN;
    if (std::isinf(x) || std::isinf(y)) {
      if (x != y)
        return INFINITY;
      continue;
    }
    diff += (x - y) * (x - y);
    norm += y * y;
  }
  diff = std::sqrt(diff);
  norm = std::sqrt(norm);
  return norm == 0 ? diff : diff / norm;
}

static std::vector<Comparison>
compareResults(llvm::ArrayRef<Tensor> results,
               llvm::ArrayRef<Tensor> reference, double tol) {
  std::vector<Comparison> out;
  size_t n = std::max(results.size(), reference.size());
  for (size_t i = 0; i < n; ++i) {
    double err = i < results.size() && i < reference.size()
                     ? relativeError(results[i], reference[i])
                     : INFINITY;
    out.push_back({resultName(i), err, !std::isnan(err) && err <= tol});
  }
  return out;
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
};

/// `x` as a JSON number (`null` when not finite), `digits` significant.
static std::string jsonNumber(double x, int digits = 17) {
  if (!std::isfinite(x))
    return "null";
  char buf[40];
  snprintf(buf, sizeof buf, "%.*g", digits, x);
  return buf;
}

static std::string jsonString(StringRef s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      continue;
    }
    out += c;
  }
  return out + "\"";
}

static std::string jsonShape(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? ", " : "") + std::to_string(d);
  return s + "]";
}

static void printJson(const Report &r, llvm::raw_ostream &os) {
  os << "{\"function\": " << jsonString(r.function)
     << ", \"device\": " << jsonString(r.device)
     << ", \"dtype\": " << jsonString(r.dtype) << ", \"seed\": " << r.seed
     << ", \"sizes\": {";
  bool first = true;
  for (const char *key : {"b", "hq", "hkv", "nq", "nk"}) {
    auto it = r.sizes.find(key);
    os << (first ? "" : ", ") << jsonString(key) << ": "
       << (it == r.sizes.end() ? 0 : it->second);
    first = false;
  }
  os << "}, \"results\": [";
  for (auto [i, value] : llvm::enumerate(r.results)) {
    Stats stats = statsOf(value);
    os << (i ? ", " : "") << "{\"name\": " << jsonString(resultName(i))
       << ", \"shape\": " << jsonShape(value.shape)
       << ", \"l2\": " << jsonNumber(stats.l2)
       << ", \"nan_count\": " << stats.nanCount
       << ", \"inf_count\": " << stats.infCount << "}";
  }
  os << "], \"check\": [";
  for (auto [i, c] : llvm::enumerate(r.checks))
    os << (i ? ", " : "") << "{\"name\": " << jsonString(c.name)
       << ", \"rel_err\": " << jsonNumber(c.relErr)
       << ", \"tol\": " << jsonNumber(tolerance, 6)
       << ", \"pass\": " << (c.pass ? "true" : "false") << "}";
  os << "]";
  if (counters) {
    const attn::interp::Counters &c = r.counters;
    os << ", \"counters\": {\"tiles_empty\": " << c.tilesEmpty
       << ", \"tiles_full\": " << c.tilesFull
       << ", \"tiles_partial\": " << c.tilesPartial << "}";
  }
  os << "}\n";
}

static std::string formatDouble(const char *format, double x) {
  char buf[64];
  snprintf(buf, sizeof buf, format, x);
  return buf;
}

/// "check o: rel_err=1.234e-15 tol=1.0e-12 PASS".
static std::string formatCheck(const Comparison &c) {
  return "check " + c.name + ": rel_err=" + formatDouble("%.3e", c.relErr) +
         " tol=" + formatDouble("%.1e", tolerance) +
         (c.pass ? " PASS" : " FAIL");
}

static void printSummary(const Report &r, llvm::raw_ostream &os) {
  os << "function: @" << r.function << "\n";
  os << "device:   " << r.device << "  dtype: " << r.dtype
     << "  seed: " << r.seed << "\n";
  os << "sizes:   ";
  for (const char *key : {"b", "hq", "hkv", "nq", "nk"})
    os << " " << key << "=" << r.sizes.at(key);
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
  if (counters)
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
}

/// Runs the whole tool once the flags are parsed; returns the exit code.
static int runTool() {
  if (llvm::Error err = checkDevice(deviceName))
    return fail(std::move(err));
  DialectRegistry registry;
  registerEverything(registry);
  MLIRContext ctx(registry);
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
  if (*dtype)
    if (llvm::Error err = retype(refFunc, *dtype))
      return fail(std::move(err));

  // The run: the reference after the pipeline.
  OwningOpRef<ModuleOp> runModule = refModule->clone();
  if (llvm::Error err = runPipeline(*runModule, pipeline))
    return fail(std::move(err));
  auto runFunc = runModule->lookupSymbol<func::FuncOp>(funcName);
  if (!runFunc)
    return fail("the pipeline removed '@" + funcName + "'");

  SizeBindings bindings = bindingsFromFlags();
  if (!loadDir.empty())
    if (llvm::Error err = bindingsFromFiles(loadDir, bindings))
      return fail(std::move(err));
  auto shapes = attn::interp::bindShapes(refFunc, bindings);
  if (!shapes)
    return fail(shapes.takeError());
  if (llvm::Error err = checkSizes(*shapes))
    return fail(std::move(err));

  auto inputs = loadDir.empty()
                    ? attn::interp::makeInputs(refFunc, *shapes, seed, *dtype)
                    : loadInputs(loadDir, refFunc, *shapes);
  if (!inputs)
    return fail(inputs.takeError());
  if (!saveDir.empty())
    if (llvm::Error err = saveInputs(saveDir, refFunc, *inputs))
      return fail(std::move(err));

  attn::interp::Counters runCounters;
  auto results = attn::interp::runFunction(runFunc, *inputs, &runCounters);
  if (!results)
    return fail("running '@" + funcName +
                "': " + llvm::toString(results.takeError()));
  if (!saveDir.empty())
    if (llvm::Error err = saveResults(saveDir, runFunc, *results))
      return fail(std::move(err));

  Report report;
  report.function = funcName.str();
  report.device = deviceName;
  report.dtype = typeString(elementTypeOf(refFunc.getArgumentTypes()[0]));
  report.sizes = shapes->sizes;
  report.seed = seed;
  report.counters = runCounters;
  for (unsigned i = 0; i < refFunc.getNumArguments(); ++i)
    report.inputs.push_back({inputName(i), shapes->args[i]});
  report.results = std::move(*results);

  if (check) {
    auto reference = attn::interp::runFunction(refFunc, *inputs);
    if (!reference)
      return fail("running the reference of '@" + funcName +
                  "': " + llvm::toString(reference.takeError()));
    report.checks = compareResults(report.results, *reference, tolerance);
  }

  if (json)
    printJson(report, llvm::outs());
  else
    printSummary(report, llvm::outs());
  llvm::outs().flush();
  bool allPass =
      llvm::all_of(report.checks, [](const Comparison &c) { return c.pass; });
  return allPass ? 0 : 1;
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
  return runTool();
}
