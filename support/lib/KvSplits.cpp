//===- KvSplits.cpp - the split count of a split-KV launch ----------------===//

#include "attn/Support/KvSplits.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

using namespace attn;

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

KvSplitChoice attn::chooseKvSplits(int64_t ctas, int64_t kvTiles,
                                   int64_t multiprocessors, int64_t maxSplits,
                                   bool force) {
  ctas = std::max<int64_t>(ctas, 1);
  multiprocessors = std::max<int64_t>(multiprocessors, 1);
  std::string grid = "the plain grid has " + std::to_string(ctas) +
                     " CTAs for " + std::to_string(multiprocessors) + " SMs";
  // Each split gets two KV tiles or more, so that it amortises its share of
  // the merge; more splits than SMs never help.
  int64_t most = std::min({maxSplits, multiprocessors, kvTiles / 2});
  if (!force && 5 * ctas >= 4 * multiprocessors)
    return {1, grid + " (>= 80%)"};
  if (most < 2) {
    std::string tiles = std::to_string(kvTiles) + " KV tile" +
                        (kvTiles == 1 ? "" : "s") + " (two per split) and " +
                        std::to_string(maxSplits) + " splits at most";
    if (!force)
      return {1, grid + ", but " + tiles};
    return {2, "forced: " + tiles + "; 2 splits"};
  }
  // Efficiency of s splits: the last wave's fill, n / ceil(n) with n the
  // waves of ctas x s CTAs. Counts that give every split the same number of
  // tiles as one split fewer are skipped (no less work per split).
  auto eligible = [&](int64_t s) {
    return s == 1 || ceilDiv(kvTiles, s) != ceilDiv(kvTiles, s - 1);
  };
  auto efficiency = [&](int64_t s) {
    double waves = double(ctas * s) / double(multiprocessors);
    return waves / std::ceil(waves);
  };
  double best = 0;
  for (int64_t s = 1; s <= most; ++s)
    if (eligible(s))
      best = std::max(best, efficiency(s));
  int64_t chosen = most;
  for (int64_t s = force ? 2 : 1; s <= most; ++s)
    if (eligible(s) && efficiency(s) >= 0.85 * best) {
      chosen = s;
      break;
    }
  // An SM without a CTA reads nothing: when the count leaves some idle, the
  // next count as good that gives every SM one is taken (decoding is bound
  // by memory bandwidth, which needs every SM's loads in flight).
  std::string everySm;
  if (ctas * chosen < multiprocessors)
    for (int64_t s = chosen + 1; s <= most; ++s)
      if (eligible(s) && efficiency(s) >= 0.85 * best &&
          ctas * s >= multiprocessors) {
        everySm = " (" + std::to_string(chosen) +
                  " would leave SMs without a CTA)";
        chosen = s;
        break;
      }
  char fill[16];
  std::snprintf(fill, sizeof(fill), "%.2f", efficiency(chosen));
  return {chosen, grid + "; " + std::to_string(chosen) + " split" +
                      (chosen == 1 ? "" : "s") + " of " +
                      std::to_string(ceilDiv(kvTiles, chosen)) + " of " +
                      std::to_string(kvTiles) + " KV tiles: " +
                      std::to_string(ctas * chosen) + " CTAs, last wave " +
                      fill + " full (at most " + std::to_string(most) +
                      " splits)" + everySm};
}
