//===- online_softmax.h - Device library: online-softmax row update -*- C++ -*-===//
//
// The FlashAttention-2 recurrence for one row of scores seen tile by tile:
//   m' = max(m, rowmax(S_tile))           c = exp2((m - m')·s)
//   P  = exp2(S_tile·s - m'·s)            l' = l·c + rowsum(P)
//   O' = O·c + P·V_tile                   out = O / l   (after the last tile)
// with s = scale·log2(e) folded into one multiply-add per score. A row that is
// fully masked so far has m' = -inf; subtracting 0 instead of m'·s keeps
// exp2(-inf - (-inf)) from turning into NaN, and online_softmax_inv_sum maps
// l = 0 to 0 so such rows finish as zeros.
//
// `rowMax` must be the maximum over the whole row of the tile (reduce the
// thread's partial maximum with warp_reduce_max_quad first); `rowSum` may stay
// a per-thread partial sum until the end (reduce with warp_reduce_sum_quad
// before online_softmax_inv_sum), which saves shuffles in the KV loop.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DEVICE_ONLINE_SOFTMAX_H
#define ATTN_DEVICE_ONLINE_SOFTMAX_H

#include "attn/device/config.h"
#include "attn/device/fast_math.h"

namespace attn::device {

/// Running statistics of one softmax row.
struct OnlineSoftmaxRow {
  float rowMax; ///< maximum raw score so far (-inf before any unmasked one)
  float rowSum; ///< sum of exp2((score - rowMax)·s) so far (may be partial)
};

/// The state before the first tile.
ATTN_DEVICE_FN OnlineSoftmaxRow online_softmax_init() {
  OnlineSoftmaxRow row;
  row.rowMax = neg_inf();
  row.rowSum = 0.0f;
  return row;
}

/// Folds a tile's row maximum `tileMax` (raw scores) into `row` and rescales
/// row.rowSum. Returns the correction c by which the caller must scale its
/// output accumulators; `maxScaled` receives the offset to pass to
/// online_softmax_prob for this tile's scores.
ATTN_DEVICE_FN float online_softmax_update(OnlineSoftmaxRow &row,
                                           float tileMax, float scaleLog2,
                                           float &maxScaled) {
  float newMax = fmaxf(row.rowMax, tileMax);
  maxScaled = newMax == neg_inf() ? 0.0f : newMax * scaleLog2;
  float correction = fast_exp2(row.rowMax * scaleLog2 - maxScaled);
  row.rowMax = newMax;
  row.rowSum *= correction;
  return correction;
}

/// The unnormalised probability exp2(score·s - maxScaled) of one score; add
/// it to row.rowSum and use it as the P operand of P·V.
ATTN_DEVICE_FN float online_softmax_prob(float score, float scaleLog2,
                                         float maxScaled) {
  return fast_exp2(fmaf(score, scaleLog2, -maxScaled));
}

/// 1 / rowSum, or 0 for a row without any unmasked score (rowSum == 0).
ATTN_DEVICE_FN float online_softmax_inv_sum(float rowSum) {
  return rowSum == 0.0f ? 0.0f : 1.0f / rowSum;
}

} // namespace attn::device

#endif // ATTN_DEVICE_ONLINE_SOFTMAX_H
