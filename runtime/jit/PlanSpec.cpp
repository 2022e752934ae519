//===- PlanSpec.cpp - encoding plans for the disk cache -------------------===//
//
// The entry's trailer already guarantees integrity; the encoding still
// checks every length so that a well-formed entry from an incompatible
// layout fails cleanly (and is rebuilt) rather than reading garbage.
//
//===----------------------------------------------------------------------===//

#include "PlanSpec.h"

#include <cstring>

using namespace attn;
using namespace attn::jit;

namespace {
/// Format tag; bump when the layout changes.
constexpr uint64_t kPlanFormat = 0x31504e4c50544e41ULL; // "ANTPLNP1"

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

std::string attn::jit::serializePlanSpec(const PlanSpec &spec) {
  Writer w;
  w.u64(kPlanFormat);
  const Signature &sig = spec.signature;
  w.str(sig.function);
  w.u64(sig.inputs.size());
  for (const ArgumentSignature &a : sig.inputs)
    w.argument(a);
  w.u64(sig.outputs.size());
  for (const ArgumentSignature &a : sig.outputs)
    w.argument(a);
  const KernelInfo &k = spec.kernel;
  w.str(k.name);
  w.str(k.source);
  w.i64(k.blockM);
  w.i64(k.threads);
  w.i64(k.dynamicSmemBytes);
  w.str(k.path);
  w.str(k.fallbackReason);
  w.u64(spec.params.size());
  for (const ParamSlot &p : spec.params) {
    w.str(p.name);
    w.u64(static_cast<uint64_t>(p.kind));
  }
  return std::move(w.out);
}

bool attn::jit::deserializePlanSpec(std::string_view bytes, PlanSpec *spec) {
  Reader r(bytes);
  uint64_t format;
  if (!r.u64(format) || format != kPlanFormat)
    return false;
  PlanSpec s;
  size_t n;
  if (!r.str(s.signature.function) || !r.count(n))
    return false;
  s.signature.inputs.resize(n);
  for (ArgumentSignature &a : s.signature.inputs)
    if (!r.argument(a))
      return false;
  if (!r.count(n))
    return false;
  s.signature.outputs.resize(n);
  for (ArgumentSignature &a : s.signature.outputs)
    if (!r.argument(a))
      return false;
  KernelInfo &k = s.kernel;
  if (!r.str(k.name) || !r.str(k.source) || !r.i64(k.blockM) ||
      !r.i64(k.threads) || !r.i64(k.dynamicSmemBytes) || !r.str(k.path) ||
      !r.str(k.fallbackReason) || !r.count(n))
    return false;
  s.params.resize(n);
  for (ParamSlot &p : s.params) {
    uint64_t kind;
    if (!r.str(p.name) || !r.u64(kind) || kind > 2)
      return false;
    p.kind = static_cast<ParamSlot::Kind>(kind);
  }
  if (!r.done() || s.signature.inputs.size() < 3 ||
      s.signature.outputs.empty() || k.blockM <= 0 || k.threads <= 0)
    return false;
  *spec = std::move(s);
  return true;
}
