//===- KernelAbi.cpp - the one host packer of kernel parameters -----------===//

#include "attn/Support/KernelAbi.h"

#include <cstring>

using namespace attn::abi;

bool attn::abi::operator==(const TensorMapShape &a, const TensorMapShape &b) {
  return a.dims == b.dims && a.box == b.box &&
         a.elementBytes == b.elementBytes && a.swizzleBytes == b.swizzleBytes;
}

bool attn::abi::operator==(const Field &a, const Field &b) {
  return a.name == b.name && a.type == b.type && a.role == b.role &&
         a.buffer == b.buffer && a.index == b.index && a.dim == b.dim &&
         a.map == b.map;
}

int64_t attn::abi::extentOf(const std::vector<int64_t> &sizes,
                            const std::vector<int64_t> &strides) {
  int64_t extent = 1, rowMajor = 1;
  for (size_t d = sizes.size(); d-- > 0;) {
    if (sizes[d] == 0)
      return 0;
    int64_t stride = strides.empty() ? rowMajor : strides[d];
    extent += (sizes[d] - 1) * stride;
    rowMajor *= sizes[d];
  }
  return extent;
}

std::string attn::abi::describe(const Field &f) {
  static const char *const problems[] = {"B", "Hq", "Hkv", "Nq", "Nk"};
  std::string index = std::to_string(f.index);
  switch (f.role) {
  case FieldRole::Scalar:
    return "scalar input " + index;
  case FieldRole::Problem:
    return f.dim >= 0 && f.dim < 5 ? problems[f.dim] : "problem size ?";
  case FieldRole::KvSplits:
    return "the KV split count";
  case FieldRole::PageShift:
    return "log2 of the KV cache's page size";
  default:
    break;
  }
  std::string buffer;
  switch (f.buffer) {
  case BufferKind::Input:
    buffer = "input " + index;
    break;
  case BufferKind::Result:
    buffer = "result " + index;
    break;
  case BufferKind::Workspace:
    buffer = "workspace " + index;
    break;
  case BufferKind::Summary:
    buffer = "the tile summary of input " + index;
    break;
  case BufferKind::SeqStarts:
    buffer = std::string("the sequence starts of the ") +
             (f.index == 0 ? "queries" : "keys");
    break;
  case BufferKind::BlockTable:
    buffer = "the block table of the paged KV cache";
    break;
  case BufferKind::SeqLensK:
    buffer = "the key lengths of the paged KV cache";
    break;
  case BufferKind::None:
    buffer = "no buffer";
    break;
  }
  std::string dim = std::to_string(f.dim);
  switch (f.role) {
  case FieldRole::Data:
    return "the address of " + buffer;
  case FieldRole::Extent:
    return "the extent of " + buffer;
  case FieldRole::Size:
    return "the size of " + buffer + " along dimension " + dim;
  case FieldRole::Stride:
    return "the stride of " + buffer + " along dimension " + dim;
  case FieldRole::TensorMap:
    return "the tensor map of " + buffer;
  default:
    return buffer;
  }
}

namespace {

/// The binding of `f`'s buffer, or nullptr.
const BufferBinding *bufferOf(const Field &f, const ParamBindings &b) {
  const std::vector<BufferBinding> *list = nullptr;
  switch (f.buffer) {
  case BufferKind::Input:
    list = &b.inputs;
    break;
  case BufferKind::Result:
    list = &b.results;
    break;
  case BufferKind::Workspace:
    list = &b.workspaces;
    break;
  case BufferKind::Summary:
    list = &b.summaries;
    break;
  case BufferKind::SeqStarts:
    list = &b.seqStarts;
    break;
  case BufferKind::BlockTable:
    list = &b.blockTable;
    break;
  case BufferKind::SeqLensK:
    list = &b.seqLensK;
    break;
  case BufferKind::None:
    return nullptr;
  }
  if (f.index < 0 || static_cast<size_t>(f.index) >= list->size())
    return nullptr;
  const BufferBinding &binding = (*list)[f.index];
  return binding.bound ? &binding : nullptr;
}

/// Why a size above kMaxExtent is refused.
std::string tooLarge(int64_t size) {
  return "the size is " + std::to_string(size) +
         ", above the 2^30 a kernel takes (its index arithmetic is 32-bit "
         "where the compiler proved 2^30 makes that exact)";
}

/// The word of `f`, or an error message.
std::optional<uint64_t> wordOf(const Field &f, const ParamBindings &b,
                               std::string &why) {
  auto fail = [&](std::string message) -> std::optional<uint64_t> {
    why = std::move(message);
    return std::nullopt;
  };
  auto expectType = [&](FieldType t) { return f.type == t; };
  switch (f.role) {
  case FieldRole::Scalar: {
    if (f.index < 0 || static_cast<size_t>(f.index) >= b.scalars.size() ||
        !b.scalars[f.index])
      return fail("no scalar is bound to input " + std::to_string(f.index));
    const ScalarBinding &s = *b.scalars[f.index];
    if (expectType(FieldType::Float64)) {
      uint64_t bits;
      std::memcpy(&bits, &s.real, 8);
      return bits;
    }
    if (expectType(FieldType::Int64))
      return static_cast<uint64_t>(s.integer);
    return fail("a scalar field must be Int64 or Float64");
  }
  case FieldRole::Problem:
    if (f.dim < 0 || f.dim >= 5 || !b.problem[f.dim])
      return fail("no value is bound to it");
    if (!expectType(FieldType::Int64))
      return fail("a problem size must be Int64");
    if (*b.problem[f.dim] > kMaxExtent)
      return fail(tooLarge(*b.problem[f.dim]));
    return static_cast<uint64_t>(*b.problem[f.dim]);
  case FieldRole::KvSplits:
    if (!b.kvSplits)
      return fail("no split count is bound");
    if (!expectType(FieldType::Int64))
      return fail("the split count must be Int64");
    return static_cast<uint64_t>(*b.kvSplits);
  case FieldRole::PageShift:
    if (!b.pageShift)
      return fail("no page size is bound");
    if (!expectType(FieldType::Int64))
      return fail("the page shift must be Int64");
    return static_cast<uint64_t>(*b.pageShift);
  default:
    break;
  }
  const BufferBinding *buffer = bufferOf(f, b);
  if (!buffer)
    return fail("no buffer is bound to it");
  if (f.role == FieldRole::Data) {
    if (!expectType(FieldType::Pointer))
      return fail("an address must be a Pointer");
    return reinterpret_cast<uint64_t>(buffer->data);
  }
  if (!expectType(FieldType::Int64))
    return fail("an extent, size or stride must be Int64");
  if (f.role == FieldRole::Extent)
    return static_cast<uint64_t>(buffer->flatExtent >= 0
                                     ? buffer->flatExtent
                                     : extentOf(buffer->sizes,
                                                buffer->strides));
  size_t rank = buffer->sizes.size();
  if (!buffer->strides.empty() && buffer->strides.size() != rank)
    return fail("the bound tensor has " + std::to_string(rank) +
                " sizes but " + std::to_string(buffer->strides.size()) +
                " strides");
  if (f.dim < 0 || static_cast<size_t>(f.dim) >= rank)
    return fail("the bound tensor has rank " + std::to_string(rank));
  if (f.role == FieldRole::Size) {
    if (buffer->sizes[f.dim] > kMaxExtent)
      return fail("dimension " + std::to_string(f.dim) + ": " +
                  tooLarge(buffer->sizes[f.dim]));
    return static_cast<uint64_t>(buffer->sizes[f.dim]);
  }
  if (!buffer->strides.empty())
    return static_cast<uint64_t>(buffer->strides[f.dim]);
  int64_t stride = 1;
  for (size_t d = f.dim + 1; d < rank; ++d)
    stride *= buffer->sizes[d];
  return static_cast<uint64_t>(stride);
}

/// The tensor map of `f` into `words` (kTensorMapWords), or an error.
bool tensorMapOf(const Field &f, const ParamBindings &b, uint64_t *words,
                 std::string &why) {
  if (f.type != FieldType::TensorMap) {
    why = "a tensor map must have type TensorMap";
    return false;
  }
  if (!b.encodeTensorMap) {
    why = "no tensor-map encoder is bound";
    return false;
  }
  const BufferBinding *buffer = bufferOf(f, b);
  if (!buffer) {
    why = "no buffer is bound to it";
    return false;
  }
  const TensorMapShape &shape = f.map;
  size_t rank = buffer->sizes.size();
  if (shape.dims.empty() || shape.dims.size() > 5 ||
      shape.box.size() != shape.dims.size()) {
    why = "its shape names " + std::to_string(shape.dims.size()) +
          " dimensions and " + std::to_string(shape.box.size()) +
          " box extents (1-5 of each, as many)";
    return false;
  }
  // A tensor TMA cannot address (an unaligned address or stride, a
  // non-contiguous row, an empty dimension) leaves the map zeroed: the
  // kernel tests the same with tma_view_ok and stages it by cp.async.
  bool usable =
      buffer->data && reinterpret_cast<std::uintptr_t>(buffer->data) % 16 == 0;
  TensorMapRequest request;
  request.base = buffer->data;
  request.rank = static_cast<unsigned>(shape.dims.size());
  request.elementBytes = shape.elementBytes;
  request.swizzleBytes = shape.swizzleBytes;
  for (size_t m = 0; m < shape.dims.size(); ++m) {
    int32_t d = shape.dims[m];
    if (d < 0 || static_cast<size_t>(d) >= rank) {
      why = "the bound tensor has rank " + std::to_string(rank) +
            ", the map uses its dimension " + std::to_string(d);
      return false;
    }
    int64_t stride = 1;
    if (!buffer->strides.empty())
      stride = buffer->strides[d];
    else
      for (size_t e = d + 1; e < rank; ++e)
        stride *= buffer->sizes[e];
    uint64_t strideBytes = static_cast<uint64_t>(stride) * shape.elementBytes;
    if (m == 0)
      usable &= stride == 1;
    else
      usable &=
          stride > 0 && strideBytes % 16 == 0 && strideBytes < (1ull << 40);
    usable &= buffer->sizes[d] >= 1 && buffer->sizes[d] <= (int64_t(1) << 32);
    request.dims[m] = static_cast<uint64_t>(buffer->sizes[d]);
    request.strideBytes[m] = strideBytes;
    request.box[m] = shape.box[m];
  }
  if (!usable) {
    std::memset(words, 0, kTensorMapWords * sizeof(uint64_t));
    return true;
  }
  // Encoders want the map 64-byte aligned (the driver's does); the words
  // of `params` are only 8-byte aligned, and a map is plain bytes to copy.
  alignas(64) uint64_t encoded[kTensorMapWords] = {};
  why = b.encodeTensorMap(request, encoded);
  std::memcpy(words, encoded, sizeof encoded);
  return why.empty();
}

} // namespace

bool attn::abi::packParams(const std::vector<Field> &fields,
                           const ParamBindings &bindings,
                           const std::string &kernel,
                           std::vector<uint64_t> &params, std::string *error) {
  params.clear();
  params.reserve(fields.size());
  bool anyMap = false;
  auto alignTo = [&](size_t words) {
    params.resize((params.size() + words - 1) / words * words, 0);
  };
  for (const Field &f : fields) {
    std::string why;
    std::optional<uint64_t> word;
    if (f.role == FieldRole::TensorMap || f.type == FieldType::TensorMap) {
      alignTo(kTensorMapAlignWords);
      size_t at = params.size();
      params.resize(at + kTensorMapWords, 0);
      anyMap = true;
      if (f.role == FieldRole::TensorMap &&
          tensorMapOf(f, bindings, params.data() + at, why))
        continue;
      if (why.empty())
        why = "a TensorMap field must have the TensorMap role";
    } else {
      word = wordOf(f, bindings, why);
    }
    if (!word) {
      // A field nothing binds would be a zero the kernel trusts (a null
      // pointer, a zero stride): the plan and its host disagree.
      if (error)
        *error = "the parameter '" + f.name + "' (" + describe(f) + ") of '" +
                 kernel + "' cannot be bound: " + why;
      return false;
    }
    params.push_back(*word);
  }
  // sizeof the struct: a multiple of its 64-byte alignment.
  if (anyMap)
    alignTo(kTensorMapAlignWords);
  return true;
}
