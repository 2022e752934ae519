//===- Varlen.h - attn-run's variable-length batches ------------*- C++ -*-===//
//
// `--varlen=L1,L2,... [--varlen-k=...]`: B sequences of their own lengths,
// packed back to back as FlashAttention's varlen API takes them (q, o
// [total_q, Hq, D], k, v [total_k, Hkv, D], lse [Hq, total_q], int32
// cumulative offsets). Each sequence's inputs are drawn as a dense problem
// of batch 1 (its own seed), then packed: q, k and v by rows; a capture
// with a batch dimension into row b of a [B, ..., max_nq|max_nk, ...]
// tensor; a capture without one along its "nq"/"nk" dimensions; a capture
// with no sequence dimension (slopes, a scalar) is the first sequence's,
// shared. The reference runs each sequence as that dense problem; results
// are compared as the sequences concatenated along the rows.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TOOLS_ATTNRUN_VARLEN_H
#define ATTN_TOOLS_ATTNRUN_VARLEN_H

#include "attn/Interpreter/Inputs.h"
#include "attn/Interpreter/Interpreter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace attn::run {

/// The sequences' query and key lengths.
struct VarlenBatch {
  std::vector<int64_t> q, k;

  int64_t sequences() const { return static_cast<int64_t>(q.size()); }
  int64_t maxQ() const;
  int64_t maxK() const;
  int64_t totalQ() const;
  int64_t totalK() const;
  /// Cumulative offsets (B + 1 entries, from 0) of `lengths`.
  static std::vector<int32_t> offsets(const std::vector<int64_t> &lengths);
};

/// Parses `--varlen` (query lengths) and `--varlen-k` (key lengths; empty:
/// the same). Errors name the flag and the entry: a length that is not a
/// non-negative integer, different counts, a sequence with queries but no
/// keys, totals past int32 offsets.
llvm::Expected<VarlenBatch> parseVarlenBatch(llvm::StringRef queries,
                                             llvm::StringRef keys);

/// A varlen run's inputs: each sequence's dense ones (batch 1) and the
/// packed ones the kernels take.
struct VarlenInputs {
  std::vector<std::vector<attn::interp::Tensor>> perSequence;
  std::vector<attn::interp::Tensor> packed;
};

/// Draws the inputs of `batch` for `func` (the sizes in `flags` other than
/// b, nq and nk apply to every sequence).
llvm::Expected<VarlenInputs>
makeVarlenInputs(mlir::func::FuncOp func, const attn::interp::SizeBindings &flags,
                 const VarlenBatch &batch, uint64_t seed, mlir::Type dtype);

/// Per-sequence results (o [1, Hq, nq, Dv], lse [1, Hq, nq]; none for an
/// empty sequence) concatenated along the rows: o [1, Hq, total_q, Dv],
/// lse [1, Hq, total_q].
std::vector<attn::interp::Tensor>
concatSequences(const std::vector<std::vector<attn::interp::Tensor>> &results,
                const VarlenBatch &batch, int64_t hq, int64_t dv,
                size_t resultCount);

/// Packed results (o [total_q, Hq, Dv], lse [Hq, total_q]) in the
/// concatenated form of concatSequences.
std::vector<attn::interp::Tensor>
unpackResults(const std::vector<attn::interp::Tensor> &packed);

/// Where a paged KV cache keeps the batch's keys: pages of `pageSize`
/// keys, sequence s's in the pages listed by row s of `table` (int32
/// [B, maxPages], unused entries -1), handed out in a shuffled order.
struct PageLayout {
  int64_t pageSize = 0, pages = 0, maxPages = 0;
  std::vector<int32_t> table;
};

/// A page layout of `batch`'s keys (order shuffled by `seed`).
PageLayout layoutPages(const VarlenBatch &batch, int64_t pageSize,
                       uint64_t seed);

/// Packed keys or values ([total_k, Hkv, D]) as the pages [pages,
/// pageSize, Hkv, D] of `layout`; slots past a sequence's end hold NaN
/// (a kernel that read them would fail --check).
attn::interp::Tensor toPages(const attn::interp::Tensor &packed,
                             const VarlenBatch &batch,
                             const PageLayout &layout);

/// Sequence `s`'s keys or values read back from `pages` through the block
/// table of `layout` ([1, Hkv, nk, D], as the dense problem takes them):
/// how --device=ref runs a paged cache, from the definition.
attn::interp::Tensor fromPages(const attn::interp::Tensor &pages,
                               const VarlenBatch &batch,
                               const PageLayout &layout, int64_t s);

/// The sequences' V inputs concatenated along the keys ([1, Hkv, total_k,
/// Dv]): what --check's analysis of non-finite values reads.
attn::interp::Tensor concatValues(const VarlenInputs &inputs,
                                  const VarlenBatch &batch);

} // namespace attn::run

#endif // ATTN_TOOLS_ATTNRUN_VARLEN_H
