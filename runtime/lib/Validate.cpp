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
  if (symbol == "total_q")
    return "packed query rows";
  if (symbol == "total_k")
    return "packed key rows";
  if (symbol == "max_nq")
    return "query length, at least maxSeqlenQ";
  if (symbol == "max_nk")
    return "key length, at least maxSeqlenK";
  if (symbol == "num_pages")
    return "pages";
  if (symbol == "page_size")
    return "page size";
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
  /// Binds `symbol` to `value` before any tensor does (`who` names the
  /// source in messages).
  void preset(const std::string &symbol, int64_t value, std::string who) {
    bound[symbol] = Binding{value, std::move(who)};
    sizes->values[symbol] = value;
  }
  /// Dimensions of symbol `symbol` must be at least `value` (varlen: a
  /// per-sequence capture holds the longest sequence).
  void minimum(const std::string &symbol, int64_t value, std::string who) {
    minimums[symbol] = Binding{value, std::move(who)};
  }

private:
  Status fail(const ArgumentSignature &sig, const std::string &what) {
    return Status::error(labelOf(sig) + ": " + what);
  }

  DeviceKind device;
  int ordinal;
  BoundSizes *sizes;
  std::map<std::string, Binding> bound, minimums;
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
    if (auto m = minimums.find(dim.symbol); m != minimums.end()) {
      if (n < m->second.value)
        return fail(sig, dimLabel(sig, d) + " is " + std::to_string(n) +
                             " but " + m->second.who + " is " +
                             std::to_string(m->second.value));
    } else if (!dim.symbol.empty()) {
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
  // Dense arguments are the layout without sequence tensors.
  SequenceViews views;
  return validateSequenceArguments(signature, args, device, deviceOrdinal,
                                   sizes, views);
}

namespace {

/// q, k, v or o ([total, H, D]) or lse ([Hq, total_q]) of a varlen run as
/// the dense kernels' [1, H, total, D] or [1, Hq, total_q] with a batch
/// stride of 0.
void packedView(const DLTensor *t, int n, SequenceViews &out) {
  int64_t *shape = out.shapes[n], *strides = out.strides[n];
  int64_t given[3], compact = 1;
  for (int d = t->ndim; d-- > 0;) {
    given[d] = t->strides ? t->strides[d] : compact;
    compact *= t->shape[d];
  }
  shape[0] = 1;
  strides[0] = 0;
  if (t->ndim == 3) { // [total, H, D] -> [1, H, total, D]
    shape[1] = t->shape[1], strides[1] = given[1];
    shape[2] = t->shape[0], strides[2] = given[0];
    shape[3] = t->shape[2], strides[3] = given[2];
  } else { // lse [Hq, total_q] -> [1, Hq, total_q]
    shape[1] = t->shape[0], strides[1] = given[0];
    shape[2] = t->shape[1], strides[2] = given[1];
  }
  out.views[n] = *t;
  out.views[n].ndim = t->ndim + 1;
  out.views[n].shape = shape;
  out.views[n].strides = strides;
}

/// The signature of a packed tensor: `dense`'s ([B, H, N, D] or [B, Hq,
/// Nq]) without the batch, the rows first ([total, H, D]; lse [Hq, total]).
ArgumentSignature packedSignature(const ArgumentSignature &dense,
                                  const std::string &total) {
  ArgumentSignature out = dense;
  out.dims.clear();
  DimSignature rows{-1, total};
  if (dense.dims.size() == 4)
    out.dims = {rows, dense.dims[1], dense.dims[3]};
  else
    out.dims = {dense.dims[1], rows};
  return out;
}

/// The signature of capture `dense` in a run of `layout`. Over packed
/// queries, a capture with a batch dimension is one row per sequence, whose
/// "nq"/"nk" dimensions hold the longest sequence; one without packs them
/// like q and k. Over paged keys every "nk" dimension holds the longest
/// sequence's keys (per sequence with a batch dimension, shared without).
ArgumentSignature captureSignature(const ArgumentSignature &dense,
                                   SequenceLayout layout) {
  ArgumentSignature out = dense;
  bool perSequence = false;
  for (const DimSignature &d : dense.dims)
    perSequence = perSequence || d.symbol == "b";
  for (DimSignature &d : out.dims) {
    if (d.size >= 0)
      continue;
    if (d.symbol == "nq" && layout.varlen)
      d.symbol = perSequence ? "max_nq" : "total_q";
    else if (d.symbol == "nk" && layout.pagedKv)
      d.symbol = "max_nk";
    else if (d.symbol == "nk" && layout.varlen)
      d.symbol = perSequence ? "max_nk" : "total_k";
  }
  return out;
}

/// The signature of k or v (`dense`, [B, Hkv, Nk, D]) as pages
/// [num_pages, page_size, Hkv, D].
ArgumentSignature pagedSignature(const ArgumentSignature &dense) {
  ArgumentSignature out = dense;
  out.dims = {DimSignature{-1, "num_pages"}, DimSignature{-1, "page_size"},
              dense.dims[1], dense.dims[3]};
  return out;
}

/// k or v ([num_pages, page_size, Hkv, D]) as the kernels bind it:
/// [num_pages, Hkv, page_size, D] (pages, heads, slots, features).
void pagedView(const DLTensor *t, int n, SequenceViews &out) {
  int64_t *shape = out.shapes[n], *strides = out.strides[n];
  int64_t given[4], compact = 1;
  for (int d = 4; d-- > 0;) {
    given[d] = t->strides ? t->strides[d] : compact;
    compact *= t->shape[d];
  }
  const int order[4] = {0, 2, 1, 3};
  for (int d = 0; d < 4; ++d) {
    shape[d] = t->shape[order[d]];
    strides[d] = given[order[d]];
  }
  out.views[n] = *t;
  out.views[n].shape = shape;
  out.views[n].strides = strides;
}

/// Checks an int32 tensor of sequence data (offsets, lengths, a block
/// table): rank, contiguous rows, on the plan's memory, aligned.
Status checkInt32(const char *name, const DLTensor *t, int rank,
                  const char *shape, const char *why, DeviceKind device,
                  int ordinal) {
  std::string label = std::string("Arguments::") + name;
  if (!t)
    return Status::error(label + ": missing (null DLTensor); " + why);
  if (t->dtype.code != kDLInt || t->dtype.bits != 32 || t->dtype.lanes != 1)
    return Status::error(label + ": dtype is " + dtypeName(t->dtype) +
                         " but it holds int32 " + shape);
  if (t->ndim != rank || !t->shape)
    return Status::error(label + ": rank is " + std::to_string(t->ndim) +
                         " but it is " + shape);
  if (t->strides && t->shape[rank - 1] > 1 && t->strides[rank - 1] != 1)
    return Status::error(label + ": stride of its last dimension is " +
                         std::to_string(t->strides[rank - 1]) +
                         "; its rows are contiguous");
  if (t->strides)
    for (int d = 0; d < rank; ++d)
      if (t->strides[d] < 0)
        return Status::error(label + ": stride of dimension " +
                             std::to_string(d) + " is negative");
  int64_t elements = 1;
  for (int d = 0; d < rank; ++d)
    elements *= std::max<int64_t>(t->shape[d], 0);
  if (elements > 0 && !t->data)
    return Status::error(label + ": data pointer is null");
  if (!reachable(t->device, device, ordinal))
    return Status::error(label + ": the memory is on " +
                         memoryName(t->device.device_type) +
                         " but the plan runs on " + deviceName(device));
  uintptr_t address = reinterpret_cast<uintptr_t>(t->data) + t->byte_offset;
  if (address % 4 != 0)
    return Status::error(label + ": data is not aligned to 4 bytes");
  return Status::success();
}

/// Checks a cuSeqlens tensor: int32 [B + 1], contiguous, on the plan's
/// memory.
Status checkOffsets(const char *name, const DLTensor *t, DeviceKind device,
                    int ordinal) {
  if (Status s = checkInt32(name, t, 1, "offsets [B + 1]",
                            "a varlen run takes both cuSeqlensQ and "
                            "cuSeqlensK (or seqLensK with a paged KV cache)",
                            device, ordinal);
      !s.ok())
    return s;
  if (t->shape[0] < 1)
    return Status::error(std::string("Arguments::") + name + ": has " +
                         std::to_string(t->shape[0]) +
                         " entries; B + 1 offsets need at least one");
  return Status::success();
}

/// The offsets themselves (host memory): from 0 or more, never decreasing,
/// the last within `rows` packed rows, no sequence longer than `longest`.
Status checkOffsetValues(const char *name, const DLTensor *t, int64_t rows,
                         const char *rowsName, int64_t longest,
                         const char *longestName) {
  const int32_t *at = reinterpret_cast<const int32_t *>(
      static_cast<const char *>(t->data) + t->byte_offset);
  std::string label = std::string("Arguments::") + name;
  int64_t n = t->shape[0];
  if (at[0] < 0)
    return Status::error(label + "[0] is " + std::to_string(at[0]) +
                         ": offsets start at 0 or more");
  for (int64_t b = 0; b + 1 < n; ++b) {
    int64_t length = int64_t(at[b + 1]) - at[b];
    if (length < 0)
      return Status::error(label + " decreases: entry " +
                           std::to_string(b + 1) + " is " +
                           std::to_string(at[b + 1]) + " after " +
                           std::to_string(at[b]));
    if (length > longest)
      return Status::error(label + ": sequence " + std::to_string(b) +
                           " has " + std::to_string(length) + " rows but " +
                           longestName + " is " + std::to_string(longest) +
                           " (its rows past it would not be computed)");
  }
  if (at[n - 1] > rows)
    return Status::error(label + "[" + std::to_string(n - 1) + "] is " +
                         std::to_string(at[n - 1]) + " but " + rowsName +
                         " has " + std::to_string(rows) + " rows");
  return Status::success();
}

/// The key lengths and block table of a paged KV cache (host memory): no
/// sequence longer than the table's pages hold or than `longest`, every
/// page it reads in [0, num_pages).
Status checkPages(const DLTensor *seqLens, const DLTensor *table,
                  int64_t pageSize, int64_t pages, int64_t longest) {
  auto at = [](const DLTensor *t) {
    return reinterpret_cast<const int32_t *>(
        static_cast<const char *>(t->data) + t->byte_offset);
  };
  const int32_t *lens = at(seqLens), *rows = at(table);
  int64_t perRow = table->shape[1];
  int64_t rowStride = table->strides ? table->strides[0] : perRow;
  for (int64_t b = 0; b < seqLens->shape[0]; ++b) {
    int64_t n = lens[b];
    std::string which = "sequence " + std::to_string(b);
    if (n < 0 || n > perRow * pageSize)
      return Status::error("Arguments::seqLensK[" + std::to_string(b) +
                           "] is " + std::to_string(n) + " but " + which +
                           "'s row of the block table holds " +
                           std::to_string(perRow) + " pages of " +
                           std::to_string(pageSize) + " keys");
    if (n > longest)
      return Status::error("Arguments::seqLensK[" + std::to_string(b) +
                           "] is " + std::to_string(n) +
                           " but maxSeqlenK is " + std::to_string(longest));
    for (int64_t k = 0; k < (n + pageSize - 1) / pageSize; ++k) {
      int64_t page = rows[b * rowStride + k];
      if (page < 0 || page >= pages)
        return Status::error("Arguments::blockTable[" + std::to_string(b) +
                             "][" + std::to_string(k) + "] is " +
                             std::to_string(page) + " but the cache has " +
                             std::to_string(pages) + " pages (" + which +
                             " reads it)");
    }
  }
  return Status::success();
}

} // namespace

void SequenceViews::bindLse(void *data, int64_t hq) {
  DLTensor t{};
  t.data = data;
  t.device = args.q->device;
  t.ndim = 2;
  t.dtype = {kDLFloat, 32, 1};
  int64_t compact[2] = {hq, totalQ};
  t.shape = compact;
  t.strides = nullptr;
  packedView(&t, 4, *this); // copies the shape: `compact` may go
  args.lse = &views[4];
}

Status attn::jit::validateSequenceArguments(const Signature &signature,
                                            const Arguments &args,
                                            DeviceKind device, int ordinal,
                                            BoundSizes *sizes,
                                            SequenceViews &views) {
  SequenceLayout layout{args.cuSeqlensQ || args.cuSeqlensK,
                        args.blockTable || args.seqLensK};
  views.layout = layout;
  if (args.maxSeqlenQ < 0 || args.maxSeqlenK < 0)
    return Status::error("Arguments::maxSeqlenQ and maxSeqlenK are " +
                         std::to_string(args.maxSeqlenQ) + " and " +
                         std::to_string(args.maxSeqlenK) +
                         "; the longest sequence's rows are 0 or more");
  Validator v(device, ordinal, sizes);
  if (layout.varlen) {
    if (Status s =
            checkOffsets("cuSeqlensQ", args.cuSeqlensQ, device, ordinal);
        !s.ok())
      return s;
    int64_t entries = args.cuSeqlensQ->shape[0];
    if (layout.pagedKv && args.cuSeqlensK)
      return Status::error("Arguments::cuSeqlensK: a paged KV cache takes "
                           "its key lengths from seqLensK");
    if (!layout.pagedKv) {
      if (Status s =
              checkOffsets("cuSeqlensK", args.cuSeqlensK, device, ordinal);
          !s.ok())
        return s;
      if (args.cuSeqlensK->shape[0] != entries)
        return Status::error(
            "Arguments::cuSeqlensK: has " +
            std::to_string(args.cuSeqlensK->shape[0]) + " entries but "
            "cuSeqlensQ has " + std::to_string(entries) +
            " (one more than the sequences, both)");
      v.preset("nk", args.maxSeqlenK, "Arguments::maxSeqlenK");
    }
    v.preset("b", entries - 1, "the sequences (cuSeqlensQ's entries - 1)");
    v.preset("nq", args.maxSeqlenQ, "Arguments::maxSeqlenQ");
    v.minimum("max_nq", args.maxSeqlenQ, "Arguments::maxSeqlenQ");
  }
  if (layout.pagedKv) {
    const char *why = "a paged KV cache takes blockTable and seqLensK";
    if (Status s = checkInt32("blockTable", args.blockTable, 2,
                              "page indices [B, max_pages]", why, device,
                              ordinal);
        !s.ok())
      return s;
    if (Status s = checkInt32("seqLensK", args.seqLensK, 1,
                              "key lengths [B]", why, device, ordinal);
        !s.ok())
      return s;
  }
  // Queries: packed or dense.
  if (Status s = v.tensor(layout.varlen ? packedSignature(signature.inputs[0],
                                                          "total_q")
                                        : signature.inputs[0],
                          args.q, false);
      !s.ok())
    return s;
  // Keys and values: pages, packed or dense.
  for (int i = 1; i < 3; ++i) {
    const DLTensor *t = i == 1 ? args.k : args.v;
    ArgumentSignature sig =
        layout.pagedKv  ? pagedSignature(signature.inputs[i])
        : layout.varlen ? packedSignature(signature.inputs[i], "total_k")
                        : signature.inputs[i];
    if (Status s = v.tensor(sig, t, false); !s.ok())
      return s;
  }
  int64_t sequences = sizes->at("b");
  if (layout.pagedKv) {
    int64_t pageSize = args.k->shape[1];
    if (pageSize < 1 || (pageSize & (pageSize - 1)) != 0)
      return Status::error("k: dimension 1 (page size) is " +
                           std::to_string(pageSize) +
                           "; pages hold a power-of-two number of keys");
    views.pageSize = pageSize;
    while ((int64_t(1) << views.pageShift) < pageSize)
      ++views.pageShift;
    for (const DLTensor *t : {args.blockTable, args.seqLensK})
      if (t->shape[0] != sequences)
        return Status::error(
            std::string("Arguments::") +
            (t == args.blockTable ? "blockTable" : "seqLensK") +
            ": dimension 0 is " + std::to_string(t->shape[0]) + " but " +
            (layout.varlen ? "the sequences (cuSeqlensQ's entries - 1) are "
                           : "q's batch is ") +
            std::to_string(sequences));
    // The longest sequence's keys: the caller's bound, else what the
    // block table's rows hold.
    int64_t capacity = args.blockTable->shape[1] * pageSize;
    int64_t longest = args.maxSeqlenK > 0 ? args.maxSeqlenK : capacity;
    v.preset("nk", longest,
             args.maxSeqlenK > 0 ? "Arguments::maxSeqlenK"
                                 : "the block table's pages x page size");
    v.minimum("max_nk", longest,
              args.maxSeqlenK > 0 ? "Arguments::maxSeqlenK"
                                  : "the block table's pages x page size");
  } else if (layout.varlen) {
    v.minimum("max_nk", args.maxSeqlenK, "Arguments::maxSeqlenK");
  }
  auto resultSignature = [&](size_t r) {
    return layout.varlen ? packedSignature(signature.outputs[r], "total_q")
                         : signature.outputs[r];
  };
  if (Status s = v.tensor(resultSignature(0), args.o, true); !s.ok())
    return s;
  if (signature.hasLse()) {
    if (args.lse)
      if (Status s = v.tensor(resultSignature(1), args.lse, true); !s.ok())
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
    Status s = sig.isTensor ? v.tensor(captureSignature(sig, layout),
                                       arg.tensor, false)
                            : v.scalar(sig, arg);
    if (!s.ok())
      return s;
  }
  if (Status s = v.heads(); !s.ok())
    return s;
  views.sequences = sequences;
  views.totalQ = layout.varlen ? args.q->shape[0] : 0;
  views.totalK = layout.varlen && !layout.pagedKv ? args.k->shape[0] : 0;
  // The host reads the offsets, lengths and table on the emulator only
  // (on a GPU they live in device memory, as the caller's stream fills
  // them).
  if (device == DeviceKind::Emu) {
    if (layout.varlen)
      if (Status s = checkOffsetValues("cuSeqlensQ", args.cuSeqlensQ,
                                       views.totalQ, "q", args.maxSeqlenQ,
                                       "maxSeqlenQ");
          !s.ok())
        return s;
    if (layout.varlen && !layout.pagedKv)
      if (Status s = checkOffsetValues("cuSeqlensK", args.cuSeqlensK,
                                       views.totalK, "k", args.maxSeqlenK,
                                       "maxSeqlenK");
          !s.ok())
        return s;
    if (layout.pagedKv)
      if (Status s = checkPages(args.seqLensK, args.blockTable,
                                views.pageSize, args.k->shape[0],
                                sizes->at("nk"));
          !s.ok())
        return s;
  }
  views.args = args;
  if (layout.pagedKv) {
    pagedView(args.k, 1, views);
    pagedView(args.v, 2, views);
    views.args.k = &views.views[1];
    views.args.v = &views.views[2];
  } else if (layout.varlen) {
    packedView(args.k, 1, views);
    packedView(args.v, 2, views);
    views.args.k = &views.views[1];
    views.args.v = &views.views[2];
  }
  if (layout.varlen) {
    packedView(args.q, 0, views);
    packedView(args.o, 3, views);
    views.args.q = &views.views[0];
    views.args.o = &views.views[3];
    if (args.lse) {
      packedView(args.lse, 4, views);
      views.args.lse = &views.views[4];
    }
  }
  return Status::success();
}

abi::BufferBinding attn::jit::bindingOf(const DLTensor *t) {
  abi::BufferBinding b;
  if (!t)
    return b;
  b.bound = true;
  b.data = static_cast<const char *>(t->data) + t->byte_offset;
  b.sizes.assign(t->shape, t->shape + t->ndim);
  if (t->strides)
    b.strides.assign(t->strides, t->strides + t->ndim);
  return b;
}

Status attn::jit::buildParams(const PlanSpec &spec, const Arguments &args,
                              const BoundSizes &sizes, void *lse,
                              abi::ParamBindings bindings,
                              std::vector<uint64_t> &params) {
  auto tensor = bindingOf;
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
