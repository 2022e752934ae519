//===- KernelAbi.h - the typed parameter struct of generated kernels -*- C++
//-*-===//
//
// Every kernel of a launch plan takes one struct of 8-byte fields (and, for
// TMA kernels, 128-byte tensor maps, 64-byte aligned as C aligns them). The
// emitter describes each field here (what it holds, of which tensor, along
// which dimension, as which C type) when it declares it; the descriptor
// travels with the plan (the runtime's disk cache stores it), and one host
// packer fills the struct from it. No host code reads meaning back out of a
// field's name, and a field nothing binds is an error, never a zero the
// kernel would trust. Plain C++: the runtime links it without LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SUPPORT_KERNELABI_H
#define ATTN_SUPPORT_KERNELABI_H

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace attn::abi {

/// The C type of a field: 8 bytes, or a 128-byte, 64-byte aligned tensor map
/// (attn::device::TensorMap, a CUtensorMap on a GPU; kTensorMapWords words).
enum class FieldType : uint8_t { Pointer, Int64, Float64, TensorMap };

/// The largest tensor extent (size of one dimension) a kernel takes: 2^30.
/// The compiler proves the index arithmetic of map bodies fits in 32 bits
/// from it (-attn-narrow-indices), so the packer refuses larger sizes.
inline constexpr int64_t kMaxExtent = int64_t(1) << 30;

/// Words (8 bytes) of a TensorMap field, and the words it is aligned to.
inline constexpr unsigned kTensorMapWords = 16, kTensorMapAlignWords = 8;

/// What a field holds.
enum class FieldRole : uint8_t {
  /// The address of the buffer's first element.
  Data,
  /// 1 + the largest element offset of the buffer (0 when it is empty): the
  /// bound the emulator's memcheck and the kernels' own guards use.
  Extent,
  /// The buffer's size along `dim`.
  Size,
  /// The buffer's stride along `dim`, in elements.
  Stride,
  /// The value of scalar input `index` (Float64: the value; Int64: the
  /// integer).
  Scalar,
  /// A problem size: `dim` is a ProblemSize.
  Problem,
  /// The launch's KV split count (a split-KV plan whose count is chosen at
  /// launch).
  KvSplits,
  /// log2 of a paged KV cache's page size (its rows per page).
  PageShift,
  /// A TMA tensor map of the buffer, shaped by Field::map (type TensorMap).
  TensorMap,
};

/// Which buffer a Data, Extent, Size or Stride field describes.
enum class BufferKind : uint8_t {
  /// Function input `index` (q, k, v, then the captures).
  Input,
  /// Function result `index` (o, then lse).
  Result,
  /// Split-KV workspace `index` (f32, between the partial and merge
  /// kernels).
  Workspace,
  /// The tile summary of input `index` (int64 min/max per 16-element block,
  /// written by the plan's TileSummaries kernel).
  Summary,
  /// The sequence starts of a variable-length batch (int32, B + 1 entries,
  /// cumulative): `index` 0 the queries' (cu_seqlens_q), 1 the keys'
  /// (cu_seqlens_k).
  SeqStarts,
  /// The block table of a paged KV cache (int32 [B, max_pages]: sequence
  /// b's pages in order).
  BlockTable,
  /// The key lengths of a paged KV cache's sequences (int32, B entries).
  SeqLensK,
  /// Not a buffer field (Scalar, Problem, KvSplits, PageShift).
  None,
};

/// How a TensorMap field views its buffer: which of the buffer's dimensions
/// become the map's (innermost first; the first must be contiguous), the box
/// one TMA copy moves, and the shared-memory swizzle.
struct TensorMapShape {
  std::vector<int32_t> dims;
  std::vector<uint32_t> box;
  uint32_t elementBytes = 2;
  uint32_t swizzleBytes = 0; ///< 0, 32, 64 or 128
};
bool operator==(const TensorMapShape &a, const TensorMapShape &b);

/// What a tensor-map encoder receives: cuTensorMapEncodeTiled's arguments
/// (dimensions innermost first; strides in bytes, [0] unused).
struct TensorMapRequest {
  const void *base = nullptr;
  unsigned rank = 0;
  unsigned elementBytes = 2;
  uint64_t dims[5] = {};
  uint64_t strideBytes[5] = {};
  unsigned box[5] = {};
  unsigned swizzleBytes = 0;
};
/// Encodes a request into the 128 bytes at its second argument (the
/// driver's encoder on a GPU, the emulator's otherwise); returns "" or what
/// is wrong.
using TensorMapEncoder =
    std::function<std::string(const TensorMapRequest &, void *)>;

/// The problem sizes a Problem field holds.
enum class ProblemSize : uint8_t { B, Hq, Hkv, Nq, Nk };

/// One field of the parameter struct.
struct Field {
  /// The C field name in the emitted struct (for the generated source and
  /// diagnostics only).
  std::string name;
  FieldType type = FieldType::Int64;
  FieldRole role = FieldRole::Problem;
  BufferKind buffer = BufferKind::None;
  /// Input, result, workspace or summarised input index (Scalar: the
  /// input's index).
  int32_t index = 0;
  /// Size and Stride: the dimension; Problem: the ProblemSize.
  int32_t dim = 0;
  /// TensorMap: how the map views the buffer.
  TensorMapShape map = {};
};

/// Same field: name, type, role, buffer, index, dimension and map shape.
bool operator==(const Field &a, const Field &b);
inline bool operator!=(const Field &a, const Field &b) { return !(a == b); }

/// A tensor the packer binds: its address and layout in elements.
struct BufferBinding {
  /// False: not bound (its fields are then an error).
  bool bound = false;
  /// May be null for an empty buffer.
  const void *data = nullptr;
  std::vector<int64_t> sizes;
  /// Per dimension, in elements; empty: row-major over `sizes`.
  std::vector<int64_t> strides;
  /// ≥ 0: a flat buffer of this many elements (workspaces, summaries);
  /// -1: the extent is computed from sizes and strides.
  int64_t flatExtent = -1;
};

/// A scalar input's value.
struct ScalarBinding {
  double real = 0;
  int64_t integer = 0;
};

/// Everything a launch binds, indexed as the descriptor indexes it.
struct ParamBindings {
  std::vector<BufferBinding> inputs, results, workspaces;
  /// By input index (only the summarised inputs are bound).
  std::vector<BufferBinding> summaries;
  /// A variable-length batch's sequence starts: [0] queries, [1] keys.
  std::vector<BufferBinding> seqStarts;
  /// A paged KV cache's block table and key lengths (index 0 each).
  std::vector<BufferBinding> blockTable, seqLensK;
  std::optional<int64_t> pageShift;
  /// By input index (only the scalar inputs are bound).
  std::vector<std::optional<ScalarBinding>> scalars;
  /// By ProblemSize.
  std::optional<int64_t> problem[5];
  std::optional<int64_t> kvSplits;
  /// Encodes TensorMap fields (unset: a TensorMap field is an error).
  TensorMapEncoder encodeTensorMap;
};

/// 1 + the largest element offset of a tensor of `sizes` and `strides`
/// (row-major when `strides` is empty); 0 when a size is 0.
int64_t extentOf(const std::vector<int64_t> &sizes,
                 const std::vector<int64_t> &strides);

/// Fills `params` (one 8-byte word per field, kTensorMapWords per tensor map
/// at a multiple of kTensorMapAlignWords, the whole then padded to that
/// multiple: the C layout of the struct) from `bindings`. A field whose
/// binding is missing, or names a dimension its tensor does not have, or a
/// map the encoder rejects, is an error naming the field and `kernel`:
/// `*error` is set and false returned. A map of a tensor TMA cannot address
/// (its address or an outer stride not a positive multiple of 16 bytes, the
/// map's innermost dimension not contiguous, a size of 0 or over 2^32) is
/// left zeroed instead: kernels test the same with tma_view_ok
/// (attn/device/tma.h) and copy that tensor without TMA.
bool packParams(const std::vector<Field> &fields,
                const ParamBindings &bindings, const std::string &kernel,
                std::vector<uint64_t> &params, std::string *error);

/// "input 3", "result 0", "workspace 1", "summary of input 4", "B", ... for
/// diagnostics and tests.
std::string describe(const Field &field);

} // namespace attn::abi

#endif // ATTN_SUPPORT_KERNELABI_H
