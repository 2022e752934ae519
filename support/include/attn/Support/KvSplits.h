//===- KvSplits.h - the split count of a split-KV launch ----------*- C++ -*-===//
//
// FlashAttention-2's split-KV heuristic, shared by the runtime (which picks
// the count at launch) and the static cost model (which predicts the launch
// the runtime would make). Plain C++: the runtime links it without LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SUPPORT_KVSPLITS_H
#define ATTN_SUPPORT_KVSPLITS_H

#include <cstdint>
#include <string>

namespace attn {

/// How many KV splits a split-KV launch uses, and why.
struct KvSplitChoice {
  int64_t splits = 1;
  std::string reason;
};

/// Chooses the split count of a split-KV launch whose plain grid has `ctas`
/// CTAs over `kvTiles` KV tiles, on `multiprocessors` SMs, at most
/// `maxSplits` (FlashAttention-2's heuristic): 1 when the plain grid nearly
/// fills the SMs (≥ 80%), else the fewest splits whose waves keep the SMs
/// ≥ 85% as busy as the best count would, with every split getting two KV
/// tiles or more and no two counts giving the same tiles per split; among
/// those, the fewest that launch a CTA on every SM when the fewest overall
/// would leave some without one. `force` (split-KV always) makes it at
/// least 2.
KvSplitChoice chooseKvSplits(int64_t ctas, int64_t kvTiles,
                             int64_t multiprocessors, int64_t maxSplits,
                             bool force = false);

} // namespace attn

#endif // ATTN_SUPPORT_KVSPLITS_H
