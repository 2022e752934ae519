//===- Validate.cpp - checking DLPack arguments and filling params --------===//

#include "Validate.h"

#include "attn/Support/HostMemory.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

using namespace attn;
using namespace attn::jit;

const char *attn::jit::symbolMeaning(const std::string &symbol) {
  if (symbol == "b")
    return "batch";
  if (symbol == "hq")
    return "query heads";
  if (symbol == "hkv")
    return "key/value heads";
  if (symbol == "nq")
    return "query length";
  if (symbol == "nk")
    return "key length";
  if (symbol == "d")
    return "head dim";
  if (symbol == "dv")
    return "value head dim";
  return "";
}

namespace {

/// "q", or "c0 (capture 0)".
std::string labelOf(const ArgumentSignature &a) {
  if (a.name.size() > 1 && a.name[0] == 'c')
    return a.name + " (capture " + a.name.substr(1) + ")";
  return a.name;
}

/// "dimension 3 (head dim)".
std::string dimLabel(const ArgumentSignature &a, size_t d) {
  std::string out = "dimension " + std::to_string(d);
  const char *meaning = symbolMeaning(a.dims[d].symbol);
  if (*meaning)
    out += std::string(" (") + meaning + ")";
  return out;
}

/// "[B, Hq, Nq, D]" from the symbols and static sizes.
std::string expectedShape(const ArgumentSignature &a) {
  std::string out = "[";
  for (size_t d = 0; d < a.dims.size(); ++d) {
    const DimSignature &dim = a.dims[d];
    out += d ? ", " : "";
    if (dim.size >= 0)
      out += std::to_string(dim.size);
    else if (!dim.symbol.empty())
      out += dim.symbol;
    else
      out += "?";
  }
  return out + "]";
}

bool sameDType(DLDataType a, DLDataType b) {
  return a.code == b.code && a.bits == b.bits && a.lanes == b.lanes;
}

const char *memoryName(DLDeviceType type) {
  switch (type) {
  case kDLCPU:
    return "cpu";
  case kDLCUDA:
    return "cuda";
  case kDLCUDAHost:
    return "cuda_host";
  case kDLCUDAManaged:
    return "cuda_managed";
  default:
    return "another device";
  }
}

/// True when memory on `dev` is reachable from kernels on `device`.
bool reachable(DLDevice dev, DeviceKind device, int ordinal) {
  switch (dev.device_type) {
  case kDLCPU:
    return device == DeviceKind::Emu;
  case kDLCUDA:
    return device == DeviceKind::Cuda && dev.device_id == ordinal;
  case kDLCUDAHost:
  case kDLCUDAManaged:
    return true;
  default:
    return false;
  }
}

/// The binding of a named size: its value and who set it.
struct Binding {
  int64_t value;
  std::string who;
};

class Validator {
public:
  Validator(DeviceKind device, int ordinal, BoundSizes *sizes)
      : device(device), ordinal(ordinal), sizes(sizes) {}

  Status tensor(const ArgumentSignature &sig, const DLTensor *t, bool output);
  Status scalar(const ArgumentSignature &sig, const Capture &c);
  Status heads();

private:
  Status fail(const ArgumentSignature &sig, const std::string &what) {
    return Status::error(labelOf(sig) + ": " + what);
  }

  DeviceKind device;
  int ordinal;
  BoundSizes *sizes;
  std::map<std::string, Binding> bound;
};

Status Validator::tensor(const ArgumentSignature &sig, const DLTensor *t,
                         bool output) {
  if (!t)
    return fail(sig, "missing (null DLTensor)");
  size_t rank = sig.dims.size();
  if (t->ndim != static_cast<int>(rank))
    return fail(sig, "rank is " + std::to_string(t->ndim) +
                         " but the variant expects " + std::to_string(rank) +
                         " dimensions " + expectedShape(sig));
  if (!sameDType(t->dtype, sig.dtype))
    return fail(sig, "dtype is " + dtypeName(t->dtype) +
                         " but the variant was compiled for " +
                         dtypeName(sig.dtype));
  if (!reachable(t->device, device, ordinal))
    return fail(sig, std::string("the memory is on ") +
                         memoryName(t->device.device_type) + " (device " +
                         std::to_string(t->device.device_id) +
                         ") but the plan runs on " + deviceName(device) +
                         (device == DeviceKind::Cuda
                              ? " (GPU " + std::to_string(ordinal) + ")"
                              : std::string()));
  if (rank && !t->shape)
    return fail(sig, "shape is null");
  int64_t elements = 1;
  for (size_t d = 0; d < rank; ++d) {
    int64_t n = t->shape[d];
    if (n < 0)
      return fail(sig, dimLabel(sig, d) + " is negative (" + std::to_string(n) +
                           ")");
    const DimSignature &dim = sig.dims[d];
    if (dim.size >= 0 && n != dim.size)
      return fail(sig, dimLabel(sig, d) + " is " + std::to_string(n) +
                           " but the variant was compiled for " +
                           std::to_string(dim.size));
    if (!dim.symbol.empty()) {
      auto [it, fresh] = bound.try_emplace(
          dim.symbol, Binding{n, labelOf(sig) + "'s " + dimLabel(sig, d)});
      if (!fresh && it->second.value != n)
        return fail(sig, dimLabel(sig, d) + " is " + std::to_string(n) +
                             " but " + it->second.who + " is " +
                             std::to_string(it->second.value));
      sizes->values[dim.symbol] = n;
    }
    if (__builtin_mul_overflow(elements, n, &elements))
      return fail(sig, "has more elements than fit in 64 bits");
  }
  if (elements == 0)
    return Status::success();
  if (!t->data)
    return fail(sig, "data pointer is null");
  unsigned elementBytes = (t->dtype.bits + 7) / 8;
  uintptr_t address = reinterpret_cast<uintptr_t>(t->data) + t->byte_offset;
  if (elementBytes > 1 && address % elementBytes != 0) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%p", t->data);
    return fail(sig, std::string("data pointer ") + buffer + " + byte_offset " +
                         std::to_string(t->byte_offset) +
                         " is not aligned to its " +
                         std::to_string(elementBytes) + "-byte " +
                         dtypeName(t->dtype) + " elements");
  }
  if (t->strides)
    for (size_t d = 0; d < rank; ++d) {
      if (t->strides[d] < 0)
        return fail(sig, "stride of " + dimLabel(sig, d) + " is " +
                             std::to_string(t->strides[d]) +
                             "; attn needs non-negative strides");
      if (output && t->strides[d] == 0 && t->shape[d] > 1)
        return fail(sig, "stride of " + dimLabel(sig, d) +
                             " is 0: an output cannot broadcast");
    }
  return Status::success();
}

Status Validator::scalar(const ArgumentSignature &sig, const Capture &c) {
  if (c.tensor)
    return fail(sig, "the variant takes a scalar " + dtypeName(sig.dtype) +
                         " here, not a tensor (pass Capture::scalar(value))");
  if (sig.dtype.code == kDLFloat || sig.dtype.code == kDLBfloat)
    return Status::success();
  // The value becomes the kernel's 64-bit integer parameter: only integers
  // the capture's type holds (either reading of its bits) are accepted, so
  // that the conversion is exact and never undefined (NaN, 1e300, 2^63).
  unsigned bits = std::min<unsigned>(sig.dtype.bits, 64);
  bool isSigned = sig.dtype.code == kDLInt;
  double lo = isSigned ? -std::ldexp(1.0, bits - 1) : 0.0;
  double hi = std::ldexp(1.0, bits) - 1;
  bool inRange = std::trunc(c.value) == c.value && c.value >= lo &&
                 (bits == 64 ? c.value < std::ldexp(1.0, 63) : c.value <= hi);
  if (!inRange) {
    char value[40], range[80];
    std::snprintf(value, sizeof value, "%g", c.value);
    if (bits == 64)
      std::snprintf(range, sizeof range, "[%s, 2^63)",
                    isSigned ? "-2^63" : "0");
    else
      std::snprintf(range, sizeof range, "[%.0f, %.0f]", lo, hi);
    return fail(sig, std::string("value ") + value +
                         " is not an integer in the range of " +
                         dtypeName(sig.dtype) + " " + range);
  }
  return Status::success();
}

Status Validator::heads() {
  auto hq = bound.find("hq"), hkv = bound.find("hkv");
  if (hq == bound.end() || hkv == bound.end())
    return Status::success();
  if (hkv->second.value == 0 || hq->second.value % hkv->second.value != 0)
    return Status::error(
        hkv->second.who + " is " + std::to_string(hkv->second.value) +
        ", which does not divide " + hq->second.who + " (" +
        std::to_string(hq->second.value) + "): Hq must be a multiple of Hkv");
  return Status::success();
}

} // namespace

Status attn::jit::validateArguments(const Signature &signature,
                                    const Arguments &args, DeviceKind device,
                                    int deviceOrdinal, BoundSizes *sizes) {
  Validator v(device, deviceOrdinal, sizes);
  const DLTensor *qkv[] = {args.q, args.k, args.v};
  for (int i = 0; i < 3; ++i)
    if (Status s = v.tensor(signature.inputs[i], qkv[i], false); !s.ok())
      return s;
  if (Status s = v.tensor(signature.outputs[0], args.o, true); !s.ok())
    return s;
  if (signature.hasLse()) {
    if (args.lse)
      if (Status s = v.tensor(signature.outputs[1], args.lse, true); !s.ok())
        return s;
  } else if (args.lse) {
    return Status::error("lse: the variant does not return lse");
  }
  size_t captures = signature.inputs.size() - 3;
  if (args.captures.size() != captures)
    return Status::error("captures: the variant takes " +
                         std::to_string(captures) + " capture" +
                         (captures == 1 ? "" : "s") + " but " +
                         std::to_string(args.captures.size()) + " were given");
  for (size_t c = 0; c < captures; ++c) {
    const ArgumentSignature &sig = signature.inputs[3 + c];
    const Capture &arg = args.captures[c];
    Status s =
        sig.isTensor ? v.tensor(sig, arg.tensor, false) : v.scalar(sig, arg);
    if (!s.ok())
      return s;
  }
  return v.heads();
}

Status attn::jit::buildParams(const PlanSpec &spec, const Arguments &args,
                              const BoundSizes &sizes, void *lse,
                              abi::ParamBindings bindings,
                              std::vector<uint64_t> &params) {
  auto tensor = [](const DLTensor *t) {
    abi::BufferBinding b;
    b.bound = true;
    b.data = static_cast<const char *>(t->data) + t->byte_offset;
    b.sizes.assign(t->shape, t->shape + t->ndim);
    if (t->strides)
      b.strides.assign(t->strides, t->strides + t->ndim);
    return b;
  };
  size_t inputs = spec.signature.inputs.size();
  bindings.inputs.resize(inputs);
  bindings.scalars.resize(inputs);
  bindings.inputs[0] = tensor(args.q);
  bindings.inputs[1] = tensor(args.k);
  bindings.inputs[2] = tensor(args.v);
  for (size_t c = 0; c + 3 < inputs; ++c) {
    const ArgumentSignature &sig = spec.signature.inputs[3 + c];
    const Capture &arg = args.captures[c];
    if (sig.isTensor)
      bindings.inputs[3 + c] = tensor(arg.tensor);
    else {
      // Validated: an integer capture's value is an integer in range (a
      // float's could be anything, so it is not converted).
      abi::ScalarBinding scalar;
      scalar.real = arg.value;
      if (sig.dtype.code != kDLFloat && sig.dtype.code != kDLBfloat)
        scalar.integer = static_cast<int64_t>(arg.value);
      bindings.scalars[3 + c] = scalar;
    }
  }
  bindings.results.resize(spec.signature.outputs.size());
  bindings.results[0] = tensor(args.o);
  if (spec.signature.hasLse()) {
    if (args.lse) {
      bindings.results[1] = tensor(args.lse);
    } else {
      // The lse workspace: compact [B, Hq, Nq].
      bindings.results[1].bound = true;
      bindings.results[1].data = lse;
      bindings.results[1].sizes = {sizes.at("b"), sizes.at("hq"),
                                   sizes.at("nq")};
    }
  }
  const char *problem[] = {"b", "hq", "hkv", "nq", "nk"};
  for (int p = 0; p < 5; ++p)
    bindings.problem[p] = sizes.at(problem[p]);
  std::string error;
  if (!abi::packParams(spec.params, bindings,
                       spec.kernels.empty() ? std::string("?")
                                            : spec.kernels[0].name,
                       params, &error))
    return Status::error(error + " (the plan was compiled for another "
                                 "runtime's parameter struct: an internal "
                                 "error; please report it)");
  return Status::success();
}

Status attn::jit::checkHostMemory(uint64_t bytes, uint64_t limit,
                                  const std::string &what) {
  HostMemoryLimit available =
      limit ? HostMemoryLimit{limit, "RunOptions::hostMemoryLimit"}
            : availableHostMemory();
  if (bytes <= available.bytes)
    return Status::success();
  return Status::error(what + " need " + formatBytes(bytes) +
                       " of host memory but " + formatBytes(available.bytes) +
                       " are available (" + available.source + ")");
}
