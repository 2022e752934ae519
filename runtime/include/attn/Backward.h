//===- Backward.h - a variant's gradients, ready to launch ------*- C++ -*-===//
//
// A BackwardPlan is the backward of a variant compiled for one device: the
// kernels attn emits from the variant's derived backward cascade
// (-attn-derive-backward; attn/Codegen/BackwardKernels.h). It takes the
// forward's inputs, its results (o, lse: the forward state is recovered
// from lse, as FlashAttention-2's backward does, where the variant allows
// it; else it is recomputed) and the cotangents of its results, recomputes
// the element-wise values (P) and writes the gradients of q, k, v and of
// every float capture the score reads. Tensors are DLPack, of any strides;
// sizes are read at every run.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_BACKWARD_H
#define ATTN_BACKWARD_H

#include "attn/Plan.h"

#include <memory>
#include <string>
#include <vector>

namespace attn {

/// How to build a backward plan.
struct BackwardOptions {
  /// No atomics: dQ by a Q-parallel kernel of its own and capture
  /// gradients summed per CTA, then in CTA order, so that two runs give
  /// bit-identical gradients (one more pass over the scores than the
  /// default, which accumulates dQ with f32 atomics as FlashAttention-2
  /// does).
  bool deterministic = false;
  /// Read the forward's results (BackwardArguments::o, lse) and recover the
  /// forward state from them instead of recomputing it: softmax's row
  /// maximum and sum are (lse, 1), which saves the kernels two passes over
  /// the scores. Used where the compiler proves it exact for the variant
  /// (its lse is the maximum where the sum is 1); elsewhere (no lse, sink
  /// logits, softplus) the state is recomputed and
  /// BackwardPlan::recomputesBecause() says why.
  bool stateFromResults = true;
};

/// The tensors of one backward run.
struct BackwardArguments {
  /// The forward's inputs, as Arguments takes them.
  const DLTensor *q = nullptr, *k = nullptr, *v = nullptr;
  std::vector<Capture> captures;
  /// The forward's results, as the forward plan wrote them (o: its dtype
  /// and shape; lse: float32 [B, Hq, Nq], −inf for a row with no attended
  /// key). Needed when BackwardPlan::readsResults(), ignored otherwise.
  const DLTensor *o = nullptr, *lse = nullptr;
  /// The cotangent of o (float32, o's shape) and, when the variant returns
  /// lse, of lse (float32 [B, Hq, Nq]; null: zero).
  const DLTensor *dO = nullptr, *dLse = nullptr;
  /// The gradients (float32, shaped like q, k, v), written.
  DLTensor *dq = nullptr, *dk = nullptr, *dv = nullptr;
  /// One per entry of BackwardPlan::captureGradients(), in that order
  /// (float32, shaped like the capture), written.
  std::vector<DLTensor *> dCaptures;
};

/// One kernel of a backward plan.
struct BackwardKernelInfo {
  std::string name;
  /// "row-sweep" (Q-parallel, over the keys), "column-sweep" (KV-parallel,
  /// over the query rows), "pointwise" or "sum-partials".
  std::string role;
  /// What it computes, in the backward cascade's terms.
  std::string summary;
  int64_t threads = 0, dynamicSmemBytes = 0;
};

namespace detail {
struct BackwardPlanImpl;
} // namespace detail

/// A compiled backward. Cheap to copy (shared); thread-safe to run
/// concurrently on different tensors.
class BackwardPlan {
public:
  /// Checks `args` without launching: every tensor's dtype and rank, and
  /// each size against the others bound to the same dimension (the error
  /// names the tensor and dimension); null or misplaced pointers.
  Status validate(const BackwardArguments &args) const;
  /// Validates, then launches the kernels in order. Returns when they have
  /// finished, on emu and on cuda (the runtime's workspaces are freed
  /// then). RunOptions: stream, countGlobalAccesses, memcheck and raceCheck
  /// (emu).
  Status run(const BackwardArguments &args, const RunOptions &options = {},
             RunStats *stats = nullptr) const;

  /// The device it runs on (never Auto).
  DeviceKind device() const;
  /// The forward's signature (q, k, v, captures; o [, lse]).
  const Signature &signature() const;
  /// The captures (numbered from 0 after q, k, v) that get a gradient, in
  /// the order of BackwardArguments::dCaptures.
  const std::vector<unsigned> &captureGradients() const;
  /// The kernels, in launch order.
  const std::vector<BackwardKernelInfo> &kernels() const;
  /// The kernels' CUDA C++ (one translation unit).
  const std::string &source() const;
  /// True when built in deterministic mode.
  bool deterministic() const;
  /// True when the kernels read the forward's results
  /// (BackwardOptions::stateFromResults, where the variant allows it).
  bool readsResults() const;
  /// Why the kernels recompute the forward state although
  /// BackwardOptions::stateFromResults asked for the results (empty
  /// otherwise).
  const std::string &recomputesBecause() const;

  /// Wraps an implementation (used by the runtime).
  explicit BackwardPlan(std::shared_ptr<const detail::BackwardPlanImpl> impl)
      : impl(std::move(impl)) {}

private:
  std::shared_ptr<const detail::BackwardPlanImpl> impl;
};

} // namespace attn

#endif // ATTN_BACKWARD_H
