//===- Backward.cpp - attn-run --backward ---------------------------------===//

#include "Backward.h"
#include "BackwardDevice.h"
#include "RunSupport.h"

#include "attn/Dialect/KernelAttrs.h"
#include "attn/Interpreter/Npy.h"
#include "attn/Passes/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"

#include <cmath>
#include <numeric>
#include <random>

using namespace mlir;
using attn::interp::Tensor;
using namespace attn::run;

namespace {

bool isFloatTensor(Type type) {
  auto t = dyn_cast<RankedTensorType>(type);
  return t && isa<FloatType>(t.getElementType());
}

/// Standard normal values from `seed`, by Box-Muller on a 64-bit Mersenne
/// twister: the same numbers on every platform (std::normal_distribution's
/// algorithm is the library's choice).
void fillNormal(Tensor &t, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto uniform = [&] { return (static_cast<double>(rng() >> 11) + 0.5) * 0x1p-53; };
  for (size_t i = 0; i < t.data.size(); i += 2) {
    double r = std::sqrt(-2 * std::log(uniform())), a = 2 * M_PI * uniform();
    t.data[i] = r * std::cos(a);
    if (i + 1 < t.data.size())
      t.data[i + 1] = r * std::sin(a);
  }
}

/// Σ_r <cotangent_r, result_r>: the scalar whose gradient the backward
/// computes. Elements that are not finite in `base` (the unperturbed
/// results: the lse of a row with no attended key is −inf) are left out:
/// they are constant near the inputs, and −inf · dlse would make every
/// difference NaN.
double innerProduct(llvm::ArrayRef<Tensor> results,
                    llvm::ArrayRef<Tensor> cotangents,
                    llvm::ArrayRef<unsigned> resultOf,
                    llvm::ArrayRef<Tensor> base) {
  double sum = 0;
  for (auto [c, r] : llvm::zip(cotangents, resultOf))
    for (size_t i = 0; i < c.data.size(); ++i)
      if (std::isfinite(base[r].data[i]))
        sum += c.data[i] * results[r].data[i];
  return sum;
}

/// The result of comparing one gradient with finite differences.
struct FdCheck {
  double error = 0;
  double norm = 0;
  int64_t coordinates = 0, of = 0;
  bool pass = false;
};

/// Coordinates of a tensor of `n` elements to perturb: all when there are at
/// most `count`, else `count` distinct ones drawn from `seed`.
std::vector<int64_t> pickCoordinates(int64_t n, int64_t count, uint64_t seed) {
  std::vector<int64_t> all(n);
  std::iota(all.begin(), all.end(), 0);
  if (n <= count)
    return all;
  std::mt19937_64 rng(seed);
  for (int64_t i = 0; i < count; ++i)
    std::swap(all[i], all[i + static_cast<int64_t>(rng() % (n - i))]);
  all.resize(count);
  std::sort(all.begin(), all.end());
  return all;
}

/// Whether the kernels' backward reads the forward's results, and why not
/// when it was asked to.
struct KernelState {
  bool readsResults = false;
  std::string why;
  /// The backward reads no forward state (sigmoid).
  bool none = false;
};

/// --device=emu, cuda or auto: the gradients of the backward kernels of
/// `backward` (attn::buildKernelBackward's, as `state` says; on emu run
/// directly, else compiled from `moduleText` by the runtime), compared with
/// the interpreter's (`reference`) when --check asks. `results` are the
/// forward's.
llvm::Expected<int> runOnDevice(
    const BackwardRequest &request, const std::string &moduleText,
    func::FuncOp backward, KernelState state, llvm::ArrayRef<Tensor> args,
    llvm::ArrayRef<Tensor> results, llvm::ArrayRef<Tensor> reference,
    llvm::ArrayRef<int64_t> gradientOf, llvm::ArrayRef<Tensor> cotangents,
    llvm::ArrayRef<unsigned> resultOf, llvm::raw_ostream &os) {
  func::FuncOp forward = request.forward;
  std::vector<std::vector<int64_t>> shapes;
  for (const Tensor &g : reference)
    shapes.push_back(g.shape);
  llvm::Expected<BackwardEmuResult> ran = BackwardEmuResult();
  if (request.device == "emu" && !request.race) {
    BackwardEmuRequest emu;
    emu.backward = backward;
    emu.args = args;
    emu.gradientShapes = shapes;
    emu.options.deterministic = request.deterministic;
    emu.memcheck = request.memcheck;
    emu.counters = request.counters;
    emu.workers = request.workers;
    ran = runBackwardOnEmulator(emu);
  } else {
    BackwardRuntimeRequest rt;
    rt.forward = forward;
    rt.moduleText = moduleText;
    rt.device = request.device;
    rt.inputs = args.take_front(forward.getNumArguments());
    rt.results = results;
    rt.cotangents = cotangents;
    rt.stateFromResults = !request.recomputeState;
    rt.gradientOf = gradientOf;
    rt.gradientShapes = shapes;
    rt.deterministic = request.deterministic;
    rt.memcheck = request.memcheck;
    rt.counters = request.counters;
    rt.race = request.race;
    ran = runBackwardOnRuntime(rt);
    if (ran && ran->readsResults != state.readsResults)
      return makeError("internal error: the runtime's backward plan and "
                       "attn-run disagree on reading the forward's results");
  }
  if (!ran)
    return ran.takeError();
  std::string stateLine = state.readsResults ? "read from the forward's results"
                          : state.none       ? "none"
                          : request.recomputeState
                              ? "recomputed (--recompute-state)"
                              : "recomputed (" + state.why + ")";

  if (!request.saveDir.empty()) {
    if (std::error_code ec = llvm::sys::fs::create_directories(request.saveDir))
      return makeError("cannot create '" + request.saveDir +
                       "': " + ec.message());
    for (auto [g, a] : llvm::zip(ran->gradients, gradientOf))
      if (llvm::Error err = attn::interp::writeNpy(
              npyPath(request.saveDir, "d" + request.inputName(a)), g,
              attn::interp::NpyDType::F4))
        return std::move(err);
  }

  // Normwise relative error against the float64 interpreter; a kernel
  // gradient that is not finite where the reference is fails. Elements not
  // finite in the reference are left out, and counted: the reference
  // evaluates the cascade at every element, so a row whose state is NaN
  // reaches the keys it masks there, where kernels that skip masked tiles
  // leave them (README, "Non-finite values": masked keys do not contribute).
  struct Row {
    std::string name;
    double error = 0;
    int64_t nonFinite = 0, referenceNonFinite = 0;
    bool pass = true;
  };
  std::vector<Row> rows;
  bool allPass = true;
  for (auto [k, a] : llvm::enumerate(gradientOf)) {
    Row row;
    row.name = "d" + request.inputName(a);
    const Tensor &g = ran->gradients[k], &r = reference[k];
    double diff2 = 0, ref2 = 0;
    for (size_t i = 0; i < g.data.size(); ++i) {
      if (!std::isfinite(r.data[i])) {
        row.referenceNonFinite += std::isfinite(g.data[i]) ? 1 : 0;
        continue;
      }
      if (!std::isfinite(g.data[i])) {
        ++row.nonFinite;
        continue;
      }
      diff2 += (g.data[i] - r.data[i]) * (g.data[i] - r.data[i]);
      ref2 += r.data[i] * r.data[i];
    }
    row.error = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
    if (request.check)
      row.pass = row.nonFinite == 0 && row.error <= request.tolerance;
    allPass &= row.pass;
    rows.push_back(row);
  }

  if (request.json) {
    llvm::json::OStream j(os);
    j.object([&] {
      j.attribute("function", forward.getName());
      j.attribute("device", request.device);
      j.attribute("backward", true);
      j.attribute("deterministic", request.deterministic);
      j.attribute("state", stateLine);
      j.attribute("seed", static_cast<int64_t>(request.seed));
      j.attributeArray("kernels", [&] {
        for (const std::string &k : ran->kernels)
          j.value(k);
      });
      if (request.counters) {
        j.attribute("bytes_read", static_cast<int64_t>(ran->bytesRead));
        j.attribute("bytes_written", static_cast<int64_t>(ran->bytesWritten));
      }
      if (request.race)
        j.attributeObject("race", [&] {
          j.attribute("data_races", static_cast<int64_t>(ran->dataRaces));
          j.attributeArray("reports", [&] {
            for (const std::string &text : ran->raceReports)
              j.value(text);
          });
        });
      j.attributeArray("gradients", [&] {
        for (const Row &row : rows)
          j.object([&] {
            j.attribute("name", row.name);
            j.attribute("non_finite", row.nonFinite);
            if (row.referenceNonFinite)
              j.attribute("finite_where_reference_is_not",
                          row.referenceNonFinite);
            if (!request.check)
              return;
            j.attribute("ref_error", row.error);
            j.attribute("pass", row.pass);
          });
      });
    });
    os << "\n";
    return allPass && ran->raceReports.empty() ? 0 : 1;
  }
  os << "backward: @" << forward.getName() << "  device: " << request.device
     << " (backward kernels" 
     << (request.deterministic ? ", deterministic" : "") << ")  seed: "
     << request.seed << "\n";
  for (auto [c, r] : llvm::zip(cotangents, resultOf))
    os << "  d" << request.resultName(r) << " " << shapeString(c.shape)
       << (request.loadDir.empty() ? " (drawn: standard normal)" : " (loaded)")
       << "\n";
  os << "  forward state: " << stateLine << "\n";
  for (const std::string &k : ran->kernels)
    os << "  kernel " << k << "\n";
  if (request.counters)
    os << "  global memory: " << ran->bytesRead << " bytes read, "
       << ran->bytesWritten << " bytes written\n";
  for (auto [row, k] : llvm::zip(rows, llvm::seq<size_t>(0, rows.size()))) {
    os << "  " << row.name << " " << shapeString(ran->gradients[k].shape);
    if (row.nonFinite)
      os << " (" << row.nonFinite << " elements not finite)";
    if (row.referenceNonFinite)
      os << " (" << row.referenceNonFinite
         << " elements finite where the reference is not: not counted)";
    if (request.check)
      os << llvm::format("  vs reference: rel err %.2e  ", row.error)
         << (row.pass ? "PASS" : "FAIL");
    os << "\n";
  }
  if (request.race) {
    if (ran->raceReports.empty())
      os << "  race: no data races (ThreadSanitizer, "
         << llvm::format("%.1f", ran->raceSeconds) << " s)\n";
    else
      os << "  race: " << ran->raceReports.size() << " ThreadSanitizer report"
         << (ran->raceReports.size() == 1 ? "" : "s") << ", "
         << ran->dataRaces << " data race" << (ran->dataRaces == 1 ? "" : "s")
         << "\n";
    for (const std::string &text : ran->raceReports)
      os << text << "\n";
  }
  return allPass && ran->raceReports.empty() ? 0 : 1;
}

} // namespace

llvm::Expected<int> attn::run::runBackward(const BackwardRequest &request,
                                           llvm::raw_ostream &os) {
  func::FuncOp forward = request.forward;
  std::vector<Tensor> inputs(request.inputs.begin(), request.inputs.end());
  // The runtime compiles the module as it is before the derivation adds to
  // it.
  std::string moduleText;
  if (request.device == "cuda" || request.device == "auto" || request.race) {
    llvm::raw_string_ostream text(moduleText);
    forward->getParentOfType<ModuleOp>().print(text);
  }
  auto derived = deriveBackward(forward);
  if (failed(derived))
    return makeError("cannot derive the backward of '@" + forward.getName() +
                     "' (the error above says where)");
  // The Level 1 forward's results (the base of the finite differences) and
  // the derived forward's state, which the backward reads.
  auto results = interp::runFunction(forward, inputs);
  if (!results)
    return makeError("running the forward: " +
                     llvm::toString(results.takeError()));
  auto withState = interp::runFunction(derived->forward, inputs);
  if (!withState)
    return makeError("running the forward with its state: " +
                     llvm::toString(withState.takeError()));
  std::vector<Tensor> state(withState->begin() + forward.getNumResults(),
                            withState->end());

  // One cotangent per float tensor result: drawn, or d<result>.npy.
  std::vector<Tensor> cotangents;
  std::vector<unsigned> resultOf;
  for (auto [r, type] : llvm::enumerate(forward.getResultTypes())) {
    if (!isFloatTensor(type))
      continue;
    std::string name = "d" + request.resultName(r);
    Tensor c = Tensor::filled((*results)[r].shape, 0.0);
    if (!request.loadDir.empty()) {
      std::string path = npyPath(request.loadDir, name);
      auto loaded = interp::readNpy(path);
      if (!loaded)
        return loaded.takeError();
      if (loaded->shape != c.shape)
        return makeError(path + ": shape " + shapeString(loaded->shape) +
                         " but the result has " + shapeString(c.shape));
      c = std::move(*loaded);
    } else {
      fillNormal(c, request.seed * 0x9E3779B97F4A7C15ULL + 1000 + r);
    }
    // A result element that is not finite (the lse of a row with no
    // attended key) is constant near the inputs: its cotangent is zero, so
    // that the backward and the finite differences measure one scalar.
    for (size_t i = 0; i < c.data.size(); ++i)
      if (!std::isfinite((*results)[r].data[i]))
        c.data[i] = 0;
    cotangents.push_back(std::move(c));
    resultOf.push_back(r);
  }

  std::vector<Tensor> args = inputs;
  args.insert(args.end(), state.begin(), state.end());
  args.insert(args.end(), cotangents.begin(), cotangents.end());
  auto gradients = interp::runFunction(derived->backward, args);
  if (!gradients)
    return makeError("running the backward: " +
                     llvm::toString(gradients.takeError()));
  llvm::SmallVector<int64_t> gradientOf = getGradientsOf(derived->backward);

  if (request.device != "ref") {
    // The kernels read the forward's results (here the interpreter's,
    // rounded to their types) and recover the state from them where that
    // is proven, else recompute it from q, k, v.
    KernelState state;
    state.none = derived->state.empty();
    func::FuncOp gradientsFn = buildKernelBackward(
        *derived, !request.recomputeState, state.readsResults, state.why);
    std::vector<Tensor> kernelArgs = inputs;
    if (state.readsResults)
      kernelArgs.insert(kernelArgs.end(), results->begin(), results->end());
    kernelArgs.insert(kernelArgs.end(), cotangents.begin(), cotangents.end());
    return runOnDevice(request, moduleText, gradientsFn, state, kernelArgs,
                       *results, *gradients, gradientOf, cotangents, resultOf,
                       os);
  }

  if (!request.saveDir.empty()) {
    if (std::error_code ec = llvm::sys::fs::create_directories(request.saveDir))
      return makeError("cannot create '" + request.saveDir +
                       "': " + ec.message());
    for (auto [r, value] : llvm::enumerate(*results))
      if (llvm::Error err = interp::writeNpy(
              npyPath(request.saveDir, request.resultName(r)), value,
              interp::NpyDType::F8))
        return std::move(err);
    for (auto [c, r] : llvm::zip(cotangents, resultOf))
      if (llvm::Error err = interp::writeNpy(
              npyPath(request.saveDir, "d" + request.resultName(r)), c,
              interp::NpyDType::F8))
        return std::move(err);
    for (auto [g, a] : llvm::zip(*gradients, gradientOf))
      if (llvm::Error err = interp::writeNpy(
              npyPath(request.saveDir, "d" + request.inputName(a)), g,
              interp::NpyDType::F8))
        return std::move(err);
  }

  // Central differences of the Level 1 forward, per float tensor argument:
  // those with a gradient are compared with it, the others must have none.
  struct Row {
    unsigned arg;
    const Tensor *gradient;
    FdCheck check;
  };
  std::vector<Row> rows;
  for (unsigned a = 0; a < forward.getNumArguments(); ++a) {
    if (!isFloatTensor(forward.getArgumentTypes()[a]))
      continue;
    const Tensor *g = nullptr;
    for (auto [k, of] : llvm::enumerate(gradientOf))
      if (of == a)
        g = &(*gradients)[k];
    rows.push_back({a, g, {}});
  }
  bool allPass = true;
  if (request.check) {
    double largest = 0;
    for (Row &row : rows) {
      Tensor &x = inputs[row.arg];
      int64_t n = x.numElements();
      std::vector<int64_t> picked = pickCoordinates(
          n, request.fdCoordinates, request.seed + 7919 * (row.arg + 1));
      double diff2 = 0, ref2 = 0;
      for (int64_t c : picked) {
        double saved = x.data[c];
        double h = 1e-5 * std::max(1.0, std::fabs(saved));
        double value[2];
        for (int side = 0; side < 2; ++side) {
          x.data[c] = saved + (side ? -h : h);
          auto perturbed = interp::runFunction(forward, inputs);
          if (!perturbed)
            return perturbed.takeError();
          value[side] =
              innerProduct(*perturbed, cotangents, resultOf, *results);
        }
        x.data[c] = saved;
        double fd = (value[0] - value[1]) / (2 * h);
        double g = row.gradient ? row.gradient->data[c] : 0.0;
        diff2 += (g - fd) * (g - fd);
        ref2 += fd * fd;
      }
      row.check.coordinates = static_cast<int64_t>(picked.size());
      row.check.of = n;
      row.check.norm = std::sqrt(ref2);
      row.check.error = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
      if (row.gradient)
        largest = std::max(largest, row.check.norm);
    }
    for (Row &row : rows) {
      // No gradient: the differences must vanish next to the others'.
      row.check.pass = row.gradient
                           ? row.check.error <= request.tolerance
                           : row.check.norm <= request.tolerance * largest;
      allPass &= row.check.pass;
    }
  }

  auto name = [&](unsigned a) { return "d" + request.inputName(a); };
  if (request.json) {
    llvm::json::OStream j(os);
    j.object([&] {
      j.attribute("function", forward.getName());
      j.attribute("device", "ref");
      j.attribute("backward", true);
      j.attribute("seed", static_cast<int64_t>(request.seed));
      j.attributeArray("gradients", [&] {
        for (const Row &row : rows)
          j.object([&] {
            j.attribute("name", name(row.arg));
            j.attribute("derived", row.gradient != nullptr);
            if (row.gradient)
              j.attribute("shape", llvm::json::Array(row.gradient->shape));
            if (!request.check)
              return;
            j.attribute("fd_error", row.check.error);
            j.attribute("fd_norm", row.check.norm);
            j.attribute("coordinates", row.check.coordinates);
            j.attribute("of", row.check.of);
            j.attribute("pass", row.check.pass);
          });
      });
    });
    os << "\n";
    return allPass ? 0 : 1;
  }
  os << "backward: @" << forward.getName() << "  device: ref  seed: "
     << request.seed << "\n";
  for (auto [c, r] : llvm::zip(cotangents, resultOf))
    os << "  d" << request.resultName(r) << " " << shapeString(c.shape)
       << (request.loadDir.empty() ? " (drawn: standard normal)" : " (loaded)")
       << "\n";
  for (const Row &row : rows) {
    os << "  " << name(row.arg) << " ";
    if (!row.gradient) {
      os << "none (no float path from this argument to a result)";
    } else {
      os << shapeString(row.gradient->shape);
      // IEEE propagation: a NaN the forward attended to reaches the
      // gradients (the finite differences leave non-finite results out).
      int64_t nonFinite = llvm::count_if(
          row.gradient->data, [](double x) { return !std::isfinite(x); });
      if (nonFinite)
        os << " (" << nonFinite << " elements not finite)";
    }
    if (request.check) {
      if (row.gradient)
        os << llvm::format("  vs central differences: rel err %.2e", row.check.error);
      else
        os << llvm::format("  central differences: norm %.2e", row.check.norm);
      os << " (" << row.check.coordinates << " of " << row.check.of
         << " coordinates)  " << (row.check.pass ? "PASS" : "FAIL");
    }
    os << "\n";
  }
  return allPass ? 0 : 1;
}
