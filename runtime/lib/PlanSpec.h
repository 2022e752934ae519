//===- PlanSpec.h - what the MLIR compiler hands the runtime ----*- C++ -*-===//
//
// The device-independent result of compiling a variant: its signature, the
// emitted launch plan (kernels in launch order, their launch shapes, the
// buffers between them) and the layout of the parameter struct the kernels
// share. It is all the runtime needs to validate inputs, build an artifact
// and launch, so it is what the disk cache stores per variant: a warm
// process reads it back instead of loading the MLIR compiler at all.
//
#ifndef ATTN_RUNTIME_JIT_PLANSPEC_H
#define ATTN_RUNTIME_JIT_PLANSPEC_H

#include "attn/Plan.h"
#include "attn/Support/KernelAbi.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attn::jit {

/// How a plan's kernels take their sequences (CudaEmitOptions::varlen,
/// pagedKv): dense [B, H, N, D] tensors, packed variable-length batches,
/// a paged KV cache, or packed queries over a paged KV cache.
struct SequenceLayout {
  bool varlen = false, pagedKv = false;
  bool dense() const { return !varlen && !pagedKv; }
  /// "varlen", "paged-KV", "varlen paged-KV" (empty when dense).
  std::string describe() const {
    std::string out = varlen ? "varlen" : "";
    if (pagedKv)
      out += out.empty() ? "paged-KV" : " paged-KV";
    return out;
  }
};

/// A compiled variant, before any device artifact exists.
struct PlanSpec {
  Signature signature;
  /// The kernels in launch order: name, source, role, blockM, threads,
  /// dynamicSmemBytes, splits, fixedGridX, path, fallbackReason (arch,
  /// artifact and cacheKey are filled per device by the runtime). Empty
  /// only for a split-KV request the lowering declined (`unavailable`).
  std::vector<KernelInfo> kernels;
  /// The parameter struct, shared by every kernel of the plan: what each
  /// field holds, as the emitter declared it (attn/Support/KernelAbi.h).
  std::vector<abi::Field> params;
  /// Per split-KV workspace ws<N>: f32 elements per CTA of the grid
  /// (ceil(Nq / blockM), Hq, B).
  std::vector<int64_t> workspaceElementsPerCta;
  /// Captures (numbered from 0 after q, k, v) with tile summaries sum<N>:
  /// 2 x rows x ceil(last / 16) int64 values, rows being the product of the
  /// capture's other dimensions.
  std::vector<unsigned> summarizedCaptures;
  /// Keys per KV tile of the main kernel's KV loop; 0 when unknown.
  int64_t kvTile = 0;
  /// The variant's tuning-database key (attn/Passes/Fingerprint.h: its
  /// function as written, printed without locations).
  std::string irHash;
  /// Why a split-KV request produced no split-KV plan (then `kernels` is
  /// empty): cached like a plan, so that the refusal is not recomputed.
  std::string unavailable;

  /// The index of the kernel that computes the attention (Whole or
  /// SplitPartials); kernels must not be empty.
  size_t mainIndex() const;
  /// kernels[mainIndex()].
  const KernelInfo &mainKernel() const { return kernels[mainIndex()]; }
  /// True when the plan has split-KV partials and merge kernels.
  bool isSplitKv() const;
  /// True when the kernels take a variable-length batch's sequence starts
  /// (CudaEmitOptions::varlen).
  bool isVarlen() const;
  /// True when the kernels read K/V from a paged cache through a block
  /// table (CudaEmitOptions::pagedKv).
  bool isPagedKv() const;
  /// The layout its kernels take.
  SequenceLayout layout() const { return {isVarlen(), isPagedKv()}; }
  /// The translation unit of the plan's artifact: the kernels' sources
  /// concatenated in launch order (each has its own ATTN_KERNEL_ENTRY).
  std::string source() const;
};

/// A self-describing binary encoding of `spec` (little-endian).
std::string serializePlanSpec(const PlanSpec &spec);

/// What decoding found.
enum class PlanDecode {
  /// A plan of this runtime's format.
  Ok,
  /// A plan of another format version (an older or newer runtime wrote
  /// it): rejected without reading further.
  OtherVersion,
  /// Not a plan.
  Malformed,
};

/// Decodes serializePlanSpec's output into `*spec` (only on Ok).
PlanDecode deserializePlanSpec(std::string_view bytes, PlanSpec *spec);

/// The format version serializePlanSpec writes (the last byte of the
/// 8-byte tag "ANTPLNP<v>" that begins every encoding).
inline constexpr char kPlanFormatVersion = '7';

} // namespace attn::jit

#endif // ATTN_RUNTIME_JIT_PLANSPEC_H
