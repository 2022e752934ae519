//===- BackwardEmu.cpp - backward kernels on the emulator -----------------===//

#include "BackwardEmu.h"

#include "attn/Interpreter/Inputs.h"
#include "attn/emu/KernelLibrary.h"

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
