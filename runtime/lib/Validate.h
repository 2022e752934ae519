//===- Validate.h - checking arguments, filling params ----------*- C++ -*-===//
//
// Everything a launch needs from the caller's tensors is checked here, before
// any launch, against the plan's signature: presence, rank, dtype, the
// memory's device, null and misaligned pointers, negative strides, static
// sizes from the IR, and the named sizes (B, Hq, Hkv, Nq, Nk, D, Dv) that
// tensors must agree on. Every message names the tensor and dimension.
// Then the plan's parameter struct is packed from the tensors by the one
// host packer (attn/Support/KernelAbi.h) that attn-run's emulator path
// uses too. Host allocations the runtime makes for a run
// are checked against the memory left before they are made.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_JIT_VALIDATE_H
#define ATTN_RUNTIME_JIT_VALIDATE_H

#include "PlanSpec.h"

#include "attn/Plan.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace attn::jit {

/// The named sizes of a run, bound from the tensors.
struct BoundSizes {
  std::map<std::string, int64_t> values;
  int64_t at(const std::string &name) const {
    auto it = values.find(name);
    return it == values.end() ? 0 : it->second;
  }
};

/// Checks `args` for a plan with `signature` on `device` (whose memory is on
/// GPU `deviceOrdinal` for cuda) and binds the sizes.
Status validateArguments(const Signature &signature, const Arguments &args,
                         DeviceKind device, int deviceOrdinal,
                         BoundSizes *sizes);

/// A varlen or paged-KV run's tensors as its kernels bind them: packed q,
/// k, v, o as [1, H, total, D] views and lse as a [1, Hq, total_q] view,
/// each with a batch stride of 0 (every CTA rebases on its sequence); paged
/// k and v as [num_pages, Hkv, page_size, D]; dense tensors and captures as
/// given. Not copyable: `args` points into it.
struct SequenceViews {
  SequenceViews() = default;
  SequenceViews(const SequenceViews &) = delete;
  SequenceViews &operator=(const SequenceViews &) = delete;

  /// What buildParams binds (args.lse null until bindLse when the caller
  /// passed none).
  Arguments args;
  SequenceLayout layout;
  /// B, and the packed rows (varlen).
  int64_t sequences = 0, totalQ = 0, totalK = 0;
  /// Paged KV: keys per page (a power of two) and its log2.
  int64_t pageSize = 0, pageShift = 0;
  /// Varlen: lse written to `data`, a compact [Hq, total_q] f32 buffer.
  void bindLse(void *data, int64_t hq);

  DLTensor views[5];
  int64_t shapes[5][4], strides[5][4];
};

/// Checks the `args` of a varlen run (Arguments::cuSeqlensQ set) or of a
/// paged KV cache (blockTable set), or both -- or neither: dense arguments,
/// as validateArguments -- for a plan with `signature`:
/// the offset, length and block-table tensors, the packed ranks ([total, H,
/// D], lse [Hq, total_q]) or pages ([num_pages, page_size, Hkv, D], a
/// power-of-two page size), dtypes, devices and the named sizes; a
/// capture's "nq"/"nk" dimensions against the longest sequence (per
/// sequence, or shared over paged keys) or the totals (packed). On the
/// emulator (whose memory the host can read) also the values: offsets from
/// 0 or more, never decreasing, within the packed tensors; no sequence
/// longer than maxSeqlenQ/K or than its row of the block table holds;
/// every page read in range. Binds b, hq, hkv, d, dv, nq (maxSeqlenQ when
/// packed), nk (maxSeqlenK; over pages, the block table's capacity when it
/// is 0) and fills `views`.
Status validateSequenceArguments(const Signature &signature,
                                 const Arguments &args, DeviceKind device,
                                 int deviceOrdinal, BoundSizes *sizes,
                                 SequenceViews &views);

/// `t` as the packer binds a tensor: its address and layout in elements;
/// unbound when `t` is null.
abi::BufferBinding bindingOf(const DLTensor *t);

/// The plan's parameter struct for validated `args` into `params`, packed
/// by the plan's typed descriptor (attn/Support/KernelAbi.h); `lse`
/// replaces a null args.lse (a workspace of B * Hq * Nq floats, compact);
/// `runtimeBuffers` binds the runtime's own buffers (workspaces, tile
/// summaries) and the split count. A field of the spec that nothing binds
/// is an error, never a zero.
Status buildParams(const PlanSpec &spec, const Arguments &args,
                   const BoundSizes &sizes, void *lse,
                   abi::ParamBindings runtimeBuffers,
                   std::vector<uint64_t> &params);

/// Checks that `bytes` of host memory, described by `what` ("the run's
/// buffers (...)"), fit in `limit` bytes, or (limit 0) in what the machine
/// has available now; the error gives both figures and where the limit
/// comes from.
Status checkHostMemory(uint64_t bytes, uint64_t limit, const std::string &what);

/// "B", "Hq", ... of a size symbol, in words: "batch", "query heads", ...
const char *symbolMeaning(const std::string &symbol);

} // namespace attn::jit

#endif // ATTN_RUNTIME_JIT_VALIDATE_H
