//===- BackwardDevice.cpp - backward kernels on a device ------------------===//

#include "BackwardDevice.h"

#include "attn/Interpreter/Inputs.h"
#include "attn/Runtime.h"
#include "attn/emu/KernelLibrary.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstring>

using namespace mlir;
using namespace attn::run;
using attn::interp::Tensor;
namespace codegen = attn::codegen;

namespace {

/// Bytes of one element of `t`, stored as the device library reads it.
unsigned elementBytes(Type t) {
  if (t.isF16() || t.isBF16() || t.isInteger(16))
    return 2;
  if (t.isF32() || t.isInteger(32))
    return 4;
  if (t.isInteger(64) || t.isIndex())
    return 8;
  return 1; // i1, i8
}

/// `x` stored as an element of `t` (floats rounded to nearest even).
void encode(double x, Type t, unsigned char *out) {
  if (auto f = dyn_cast<FloatType>(t)) {
    llvm::APFloat v(x);
    bool lost = false;
    v.convert(f.getFloatSemantics(), llvm::APFloat::rmNearestTiesToEven, &lost);
    uint64_t bits = v.bitcastToAPInt().getZExtValue();
    std::memcpy(out, &bits, elementBytes(t));
    return;
  }
  int64_t i = attn::interp::toInt64(x);
  std::memcpy(out, &i, elementBytes(t));
}

/// Row-major strides of `shape`.
std::vector<int64_t> compactStrides(const std::vector<int64_t> &shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t s = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

int64_t countOf(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  return n;
}

} // namespace

llvm::Expected<BackwardEmuResult>
attn::run::runBackwardOnEmulator(const BackwardEmuRequest &request) {
  func::FuncOp fn = request.backward;
  auto emitted = codegen::emitBackwardKernels(fn, request.options);
  if (failed(emitted))
    return llvm::createStringError("cannot emit the backward kernels of '@" +
                                   fn.getName().str() +
                                   "' (the error above says why)");
  const codegen::BackwardKernels &kernels = *emitted;

  std::vector<std::vector<int64_t>> argShapes;
  for (auto [a, type] : llvm::enumerate(fn.getArgumentTypes()))
    argShapes.push_back(isa<RankedTensorType>(type) ? request.args[a].shape
                                                    : std::vector<int64_t>{});
  std::string why;
  auto dims = codegen::resolveBackwardDims(kernels, argShapes, &why);
  if (!dims)
    return llvm::createStringError(why);

  // Every tensor of the parameter struct, in host memory (the emulator's
  // device memory).
  struct Storage {
    std::vector<unsigned char> bytes;
    std::vector<int64_t> shape;
    std::string name;
    bool writable = true;
  };
  std::vector<Storage> storage(kernels.tensors.size());
  for (auto [s, t] : llvm::enumerate(kernels.tensors)) {
    Storage &st = storage[s];
    switch (t.kind) {
    case codegen::BackwardTensor::Kind::Argument: {
      const Tensor &value = request.args[t.index];
      Type element =
          cast<RankedTensorType>(fn.getArgumentTypes()[t.index])
              .getElementType();
      unsigned bytes = elementBytes(element);
      st.shape = value.shape;
      st.bytes.assign(std::max<size_t>(1, value.data.size() * bytes), 0);
      for (size_t i = 0; i < value.data.size(); ++i)
        encode(value.data[i], element, st.bytes.data() + i * bytes);
      st.writable = false;
      st.name = "argument " + std::to_string(t.index);
      break;
    }
    case codegen::BackwardTensor::Kind::Gradient: {
      st.shape = request.gradientShapes[t.index];
      // NaN: an element no kernel writes fails the comparison.
      std::vector<float> nan(countOf(st.shape), std::nanf(""));
      st.bytes.assign(std::max<size_t>(1, nan.size() * 4), 0);
      std::memcpy(st.bytes.data(), nan.data(), nan.size() * 4);
      st.name = "gradient " + std::to_string(t.index);
      break;
    }
    case codegen::BackwardTensor::Kind::Workspace:
      st.shape = codegen::backwardWorkspaceShape(kernels, t, *dims);
      st.bytes.assign(std::max<size_t>(1, countOf(st.shape) * 4), 0);
      st.name = "workspace " + t.name;
      break;
    }
  }
  std::vector<unsigned char> params(
      kernels.tensors.size() * sizeof(codegen::BackwardTensorAbi) +
      8 * std::max<size_t>(1, kernels.scalarArgs.size()));
  for (auto [s, st] : llvm::enumerate(storage)) {
    if (st.shape.size() > codegen::kBackwardMaxRank)
      return llvm::createStringError("a tensor of rank over 8");
    codegen::BackwardTensorAbi abi;
    abi.data = st.bytes.data();
    abi.extent = countOf(st.shape);
    std::vector<int64_t> strides = compactStrides(st.shape);
    for (size_t d = 0; d < st.shape.size(); ++d) {
      abi.size[d] = st.shape[d];
      abi.stride[d] = strides[d];
    }
    std::memcpy(params.data() + s * sizeof(abi), &abi, sizeof(abi));
  }
  for (auto [k, a] : llvm::enumerate(kernels.scalarArgs)) {
    double v = request.args[a].data.at(0);
    std::memcpy(params.data() +
                    kernels.tensors.size() * sizeof(codegen::BackwardTensorAbi) +
                    8 * k,
                &v, 8);
  }

  std::string error;
  auto library = emu::KernelLibrary::compileSource(
      kernels.source, fn.getName().str() + ".cu", emu::HostCompileOptions(),
      &error);
  if (!library)
    return llvm::createStringError("building the backward kernels: " + error);

  BackwardEmuResult result;
  std::vector<emu::GlobalBuffer> buffers;
  for (Storage &st : storage)
    buffers.push_back({st.name, st.bytes.data(), st.bytes.size(), st.writable});
  for (const codegen::BackwardKernel &k : kernels.kernels) {
    int64_t ctas = codegen::backwardKernelCtas(k, *dims);
    result.kernels.push_back(llvm::formatv("{0} ({1}, {2} CTAs): {3}", k.name,
                                           codegen::backwardKernelRoleName(
                                               k.role),
                                           ctas, k.summary));
    if (ctas == 0)
      continue;
    emu::LaunchConfig config(k.name, dim3(static_cast<unsigned>(ctas)),
                             dim3(static_cast<unsigned>(k.threads)),
                             static_cast<std::size_t>(k.dynamicSmemBytes));
    config.memcheck = request.memcheck;
    config.countGlobalAccesses = request.counters;
    config.numWorkers = request.workers;
    config.buffers = buffers;
    emu::LaunchResult launch = library->launch(k.name, params.data(), config);
    if (!launch.ok())
      return llvm::createStringError("kernel " + k.name + ": " +
                                     launch.message());
    result.bytesRead += launch.globalBytesRead;
    result.bytesWritten += launch.globalBytesWritten;
  }
  for (auto [s, t] : llvm::enumerate(kernels.tensors)) {
    if (t.kind != codegen::BackwardTensor::Kind::Gradient)
      continue;
    if (result.gradients.size() <= t.index)
      result.gradients.resize(t.index + 1);
    Tensor &g = result.gradients[t.index];
    g.shape = storage[s].shape;
    g.data.resize(countOf(g.shape));
    for (size_t i = 0; i < g.data.size(); ++i) {
      float f;
      std::memcpy(&f, storage[s].bytes.data() + 4 * i, 4);
      g.data[i] = f;
    }
  }
  return result;
}

namespace {

/// A tensor staged in a runtime buffer.
struct StagedTensor {
  std::vector<int64_t> shape;
  attn::Buffer buffer;
  DLTensor dl{};
};

llvm::Error stageTensor(attn::Runtime &rt, attn::DeviceKind device,
                        const Tensor &value, Type element, StagedTensor &out) {
  unsigned bytes = elementBytes(element);
  std::vector<unsigned char> host(std::max<size_t>(1, value.data.size() * bytes));
  for (size_t i = 0; i < value.data.size(); ++i)
    encode(value.data[i], element, host.data() + i * bytes);
  auto buffer = rt.allocate(device, host.size());
  if (!buffer)
    return llvm::createStringError(buffer.message());
  out.buffer = *buffer;
  if (attn::Status s = out.buffer.copyFromHost(host.data(), host.size());
      !s.ok())
    return llvm::createStringError(s.message());
  out.shape = value.shape;
  out.dl.data = out.buffer.data();
  out.dl.device = out.buffer.dlDevice();
  out.dl.ndim = static_cast<int>(out.shape.size());
  out.dl.shape = out.shape.data();
  out.dl.strides = nullptr;
  if (auto f = dyn_cast<FloatType>(element))
    out.dl.dtype = {static_cast<uint8_t>(f.isBF16() ? kDLBfloat : kDLFloat),
                    static_cast<uint8_t>(f.getWidth()), 1};
  else
    out.dl.dtype = {kDLInt, static_cast<uint8_t>(bytes * 8), 1};
  return llvm::Error::success();
}

} // namespace

llvm::Expected<BackwardEmuResult>
attn::run::runBackwardOnRuntime(const BackwardRuntimeRequest &request) {
  func::FuncOp forward = request.forward;
  const std::string &text = request.moduleText;
  attn::Runtime &rt = attn::Runtime::global();
  attn::CompileOptions options;
  if (!attn::parseDevice(request.device, options.device))
    return llvm::createStringError("unknown device '" + request.device + "'");
  options.entry = forward.getName().str();
  attn::BackwardOptions backward;
  backward.deterministic = request.deterministic;
  backward.stateFromResults = request.stateFromResults;
  auto plan = rt.compileBackwardText(text, options, backward,
                                     forward.getName().str() + ".mlir");
  if (!plan)
    return llvm::createStringError(plan.message());
  attn::DeviceKind device = plan->device();
  if (request.memcheck && device != attn::DeviceKind::Emu)
    return llvm::createStringError("--memcheck runs on the emulator; the "
                                   "backward resolved to cuda");

  // Inputs in their types, cotangents and gradients in f32.
  std::vector<std::unique_ptr<StagedTensor>> staged;
  auto stage = [&](const Tensor &t, Type element) -> llvm::Expected<DLTensor *> {
    staged.push_back(std::make_unique<StagedTensor>());
    if (llvm::Error err = stageTensor(rt, device, t, element, *staged.back()))
      return std::move(err);
    return &staged.back()->dl;
  };
  Type f32 = Float32Type::get(forward.getContext());
  attn::BackwardArguments args;
  for (auto [a, type] : llvm::enumerate(forward.getArgumentTypes())) {
    auto ranked = dyn_cast<RankedTensorType>(type);
    if (!ranked) {
      if (a < 3)
        return llvm::createStringError("q, k and v must be tensors");
      args.captures.push_back(
          attn::Capture::scalar(request.inputs[a].data.at(0)));
      continue;
    }
    auto t = stage(request.inputs[a], ranked.getElementType());
    if (!t)
      return t.takeError();
    if (a == 0)
      args.q = *t;
    else if (a == 1)
      args.k = *t;
    else if (a == 2)
      args.v = *t;
    else
      args.captures.push_back(attn::Capture::of(*t));
  }
  if (plan->readsResults())
    for (auto [r, type] : llvm::enumerate(forward.getResultTypes())) {
      auto t = stage(request.results[r],
                     cast<RankedTensorType>(type).getElementType());
      if (!t)
        return t.takeError();
      (r == 0 ? args.o : args.lse) = *t;
    }
  for (auto [r, c] : llvm::enumerate(request.cotangents)) {
    auto t = stage(c, f32);
    if (!t)
      return t.takeError();
    (r == 0 ? args.dO : args.dLse) = *t;
  }
  std::vector<DLTensor *> gradients;
  for (auto [k, of] : llvm::enumerate(request.gradientOf)) {
    Tensor zero = Tensor::filled(request.gradientShapes[k], 0.0);
    auto t = stage(zero, f32);
    if (!t)
      return t.takeError();
    gradients.push_back(*t);
    if (of == 0)
      args.dq = *t;
    else if (of == 1)
      args.dk = *t;
    else if (of == 2)
      args.dv = *t;
  }
  for (unsigned c : plan->captureGradients())
    for (auto [k, of] : llvm::enumerate(request.gradientOf))
      if (of == static_cast<int64_t>(c) + 3)
        args.dCaptures.push_back(gradients[k]);

  attn::RunOptions run;
  run.memcheck = request.memcheck;
  run.countGlobalAccesses = request.counters;
  run.raceCheck = request.race;
  attn::RunStats stats;
  if (attn::Status s = plan->run(args, run, &stats); !s.ok())
    return llvm::createStringError(s.message());

  BackwardEmuResult result;
  result.readsResults = plan->readsResults();
  result.recomputesBecause = plan->recomputesBecause();
  for (const attn::BackwardKernelInfo &k : plan->kernels())
    result.kernels.push_back(llvm::formatv("{0} ({1}, {2}): {3}", k.name,
                                           k.role,
                                           attn::deviceName(device),
                                           k.summary));
  result.bytesRead = stats.globalBytesRead;
  result.bytesWritten = stats.globalBytesWritten;
  result.raceReports = stats.raceReports;
  result.dataRaces = stats.dataRaces;
  result.raceSeconds = stats.raceSeconds;
  for (DLTensor *g : gradients) {
    Tensor t;
    t.shape.assign(g->shape, g->shape + g->ndim);
    std::vector<float> host(std::max<int64_t>(1, countOf(t.shape)));
    for (auto &st : staged)
      if (&st->dl == g)
        if (attn::Status s = st->buffer.copyToHost(host.data(),
                                                   host.size() * 4);
            !s.ok())
          return llvm::createStringError(s.message());
    t.data.assign(host.begin(), host.begin() + countOf(t.shape));
    result.gradients.push_back(std::move(t));
  }
  return result;
}
