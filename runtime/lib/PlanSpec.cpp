//===- PlanSpec.cpp - encoding plans for the disk cache -------------------===//
//
// The entry's trailer already guarantees integrity; the encoding still
// checks every length so that a well-formed entry from an incompatible
// layout fails cleanly (and is rebuilt) rather than reading garbage.
//
//===----------------------------------------------------------------------===//

#include "PlanSpec.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

using namespace attn;
using namespace attn::jit;

namespace {
/// "ANTPLNP" followed by the format version: bump kPlanFormatVersion when
/// the layout changes, so that entries of the old layout are rejected
/// (and rebuilt) rather than misread. 1: one kernel; 2: launch plans.
constexpr char kPlanTag[7] = {'A', 'N', 'T', 'P', 'L', 'N', 'P'};

uint64_t formatTag(char version) {
  char bytes[8];
  std::memcpy(bytes, kPlanTag, 7);
  bytes[7] = version;
  uint64_t tag;
  std::memcpy(&tag, bytes, 8);
  return tag;
}

class Writer {
public:
  void u64(uint64_t v) { out.append(reinterpret_cast<const char *>(&v), 8); }
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void str(std::string_view s) {
    u64(s.size());
    out.append(s.data(), s.size());
  }
  void dtype(DLDataType t) {
    u64(uint64_t(t.code) | uint64_t(t.bits) << 8 | uint64_t(t.lanes) << 16);
  }
  void kernel(const KernelInfo &k) {
    str(k.name);
    str(k.source);
    u64(static_cast<uint64_t>(k.role));
    i64(k.blockM);
    i64(k.threads);
    i64(k.dynamicSmemBytes);
    str(k.path);
    str(k.fallbackReason);
    i64(k.splits);
    i64(k.maxSplits);
    i64(k.fixedGridX);
  }
  void argument(const ArgumentSignature &a) {
    str(a.name);
    u64(a.isTensor);
    dtype(a.dtype);
    u64(a.dims.size());
    for (const DimSignature &d : a.dims) {
      i64(d.size);
      str(d.symbol);
    }
  }
  std::string out;
};

class Reader {
public:
  explicit Reader(std::string_view in) : in(in) {}
  bool u64(uint64_t &v) {
    if (in.size() < 8)
      return false;
    std::memcpy(&v, in.data(), 8);
    in.remove_prefix(8);
    return true;
  }
  bool i64(int64_t &v) {
    uint64_t u;
    if (!u64(u))
      return false;
    v = static_cast<int64_t>(u);
    return true;
  }
  bool str(std::string &s) {
    uint64_t n;
    if (!u64(n) || n > in.size())
      return false;
    s.assign(in.data(), n);
    in.remove_prefix(n);
    return true;
  }
  bool count(size_t &n) {
    uint64_t v;
    // Any count beyond the remaining bytes is malformed.
    if (!u64(v) || v > in.size())
      return false;
    n = static_cast<size_t>(v);
    return true;
  }
  bool dtype(DLDataType &t) {
    uint64_t v;
    if (!u64(v))
      return false;
    t.code = static_cast<uint8_t>(v & 0xff);
    t.bits = static_cast<uint8_t>((v >> 8) & 0xff);
    t.lanes = static_cast<uint16_t>((v >> 16) & 0xffff);
    return true;
  }
  bool kernel(KernelInfo &k) {
    uint64_t role;
    if (!str(k.name) || !str(k.source) || !u64(role) ||
        role > static_cast<uint64_t>(KernelRole::TileSummaries) ||
        !i64(k.blockM) || !i64(k.threads) || !i64(k.dynamicSmemBytes) ||
        !str(k.path) || !str(k.fallbackReason) || !i64(k.splits) ||
        !i64(k.maxSplits) || !i64(k.fixedGridX))
      return false;
    k.role = static_cast<KernelRole>(role);
    return k.threads > 0 &&
           (k.role == KernelRole::TileSummaries ? k.fixedGridX > 0
                                                : k.blockM > 0) &&
           (k.splits >= 1 || (k.splits == 0 && k.maxSplits >= 1)) &&
           k.dynamicSmemBytes >= 0;
  }
  bool argument(ArgumentSignature &a) {
    uint64_t isTensor;
    size_t dims;
    if (!str(a.name) || !u64(isTensor) || !dtype(a.dtype) || !count(dims))
      return false;
    a.isTensor = isTensor != 0;
    a.dims.resize(dims);
    for (DimSignature &d : a.dims)
      if (!i64(d.size) || !str(d.symbol))
        return false;
    return true;
  }
  bool done() const { return in.empty(); }

private:
  std::string_view in;
};
} // namespace

size_t PlanSpec::mainIndex() const {
  for (size_t i = 0; i < kernels.size(); ++i)
    if (kernels[i].role == KernelRole::Whole ||
        kernels[i].role == KernelRole::SplitPartials)
      return i;
  return kernels.empty() ? 0 : kernels.size() - 1;
}

bool PlanSpec::isSplitKv() const {
  for (const KernelInfo &k : kernels)
    if (k.role == KernelRole::SplitPartials)
      return true;
  return false;
}

/// True when a field of `params` describes a buffer of `kind`.
static bool bindsBuffer(const std::vector<abi::Field> &params,
                        abi::BufferKind kind) {
  return std::any_of(params.begin(), params.end(),
                     [&](const abi::Field &f) { return f.buffer == kind; });
}

bool PlanSpec::isVarlen() const {
  return bindsBuffer(params, abi::BufferKind::SeqStarts);
}

bool PlanSpec::isPagedKv() const {
  return bindsBuffer(params, abi::BufferKind::BlockTable);
}

std::string PlanSpec::source() const {
  std::string out;
  for (const KernelInfo &k : kernels)
    out += k.source;
  return out;
}

std::string attn::jit::serializePlanSpec(const PlanSpec &spec) {
  Writer w;
  w.u64(formatTag(kPlanFormatVersion));
  const Signature &sig = spec.signature;
  w.str(sig.function);
  w.u64(sig.inputs.size());
  for (const ArgumentSignature &a : sig.inputs)
    w.argument(a);
  w.u64(sig.outputs.size());
  for (const ArgumentSignature &a : sig.outputs)
    w.argument(a);
  w.u64(spec.kernels.size());
  for (const KernelInfo &k : spec.kernels)
    w.kernel(k);
  w.u64(spec.params.size());
  for (const abi::Field &p : spec.params) {
    w.str(p.name);
    w.u64(static_cast<uint64_t>(p.type));
    w.u64(static_cast<uint64_t>(p.role));
    w.u64(static_cast<uint64_t>(p.buffer));
    w.i64(p.index);
    w.i64(p.dim);
    w.u64(p.map.dims.size());
    for (int32_t d : p.map.dims)
      w.i64(d);
    w.u64(p.map.box.size());
    for (uint32_t b : p.map.box)
      w.u64(b);
    w.u64(p.map.elementBytes);
    w.u64(p.map.swizzleBytes);
  }
  w.u64(spec.workspaceElementsPerCta.size());
  for (int64_t n : spec.workspaceElementsPerCta)
    w.i64(n);
  w.u64(spec.summarizedCaptures.size());
  for (unsigned c : spec.summarizedCaptures)
    w.u64(c);
  w.i64(spec.kvTile);
  w.str(spec.unavailable);
  w.str(spec.irHash);
  return std::move(w.out);
}

PlanDecode attn::jit::deserializePlanSpec(std::string_view bytes,
                                          PlanSpec *spec) {
  Reader r(bytes);
  uint64_t format;
  if (!r.u64(format))
    return PlanDecode::Malformed;
  if (format != formatTag(kPlanFormatVersion))
    return std::memcmp(&format, kPlanTag, 7) == 0 ? PlanDecode::OtherVersion
                                                  : PlanDecode::Malformed;
  PlanSpec s;
  size_t n;
  auto malformed = PlanDecode::Malformed;
  if (!r.str(s.signature.function) || !r.count(n))
    return malformed;
  s.signature.inputs.resize(n);
  for (ArgumentSignature &a : s.signature.inputs)
    if (!r.argument(a))
      return malformed;
  if (!r.count(n))
    return malformed;
  s.signature.outputs.resize(n);
  for (ArgumentSignature &a : s.signature.outputs)
    if (!r.argument(a))
      return malformed;
  if (!r.count(n))
    return malformed;
  s.kernels.resize(n);
  for (KernelInfo &k : s.kernels)
    if (!r.kernel(k))
      return malformed;
  if (!r.count(n))
    return malformed;
  s.params.resize(n);
  for (abi::Field &p : s.params) {
    uint64_t type, role, buffer;
    int64_t index, dim;
    if (!r.str(p.name) || !r.u64(type) || !r.u64(role) || !r.u64(buffer) ||
        !r.i64(index) || !r.i64(dim) ||
        type > uint64_t(abi::FieldType::TensorMap) ||
        role > uint64_t(abi::FieldRole::TensorMap) ||
        buffer > uint64_t(abi::BufferKind::None) || index < 0 ||
        index > INT32_MAX || dim < 0 || dim > INT32_MAX)
      return malformed;
    p.type = static_cast<abi::FieldType>(type);
    p.role = static_cast<abi::FieldRole>(role);
    p.buffer = static_cast<abi::BufferKind>(buffer);
    p.index = static_cast<int32_t>(index);
    p.dim = static_cast<int32_t>(dim);
    size_t mapDims, boxDims;
    if (!r.count(mapDims) || mapDims > 5)
      return malformed;
    p.map.dims.resize(mapDims);
    for (int32_t &d : p.map.dims) {
      int64_t v;
      if (!r.i64(v) || v < 0 || v > INT32_MAX)
        return malformed;
      d = static_cast<int32_t>(v);
    }
    if (!r.count(boxDims) || boxDims > 5)
      return malformed;
    p.map.box.resize(boxDims);
    for (uint32_t &b : p.map.box) {
      uint64_t v;
      if (!r.u64(v) || v > 256)
        return malformed;
      b = static_cast<uint32_t>(v);
    }
    uint64_t elementBytes, swizzleBytes;
    if (!r.u64(elementBytes) || !r.u64(swizzleBytes) || elementBytes > 8 ||
        swizzleBytes > 128)
      return malformed;
    p.map.elementBytes = static_cast<uint32_t>(elementBytes);
    p.map.swizzleBytes = static_cast<uint32_t>(swizzleBytes);
  }
  if (!r.count(n))
    return malformed;
  s.workspaceElementsPerCta.resize(n);
  for (int64_t &e : s.workspaceElementsPerCta)
    if (!r.i64(e) || e < 0)
      return malformed;
  if (!r.count(n))
    return malformed;
  s.summarizedCaptures.resize(n);
  for (unsigned &c : s.summarizedCaptures) {
    uint64_t v;
    if (!r.u64(v) || v + 3 >= s.signature.inputs.size())
      return malformed;
    c = static_cast<unsigned>(v);
  }
  if (!r.i64(s.kvTile) || !r.str(s.unavailable) || !r.str(s.irHash))
    return malformed;
  // Either kernels to launch or the reason there are none.
  if (!r.done() || s.signature.inputs.size() < 3 ||
      s.signature.outputs.empty() || s.kernels.empty() == s.unavailable.empty())
    return malformed;
  *spec = std::move(s);
  return PlanDecode::Ok;
}
