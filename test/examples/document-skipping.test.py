"""Brute-force tile classes of examples/document.mlir from the saved ids."""
import json
import sys

import numpy as np

out_dir, run_json, n, tile, batches, heads = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
ids = np.load(f"{out_dir}/capture0.npy")
counters = json.load(open(run_json))["counters"]
i = np.arange(n)[:, None]
j = np.arange(n)[None, :]
true_empty = true_full = causal_empty = total = 0
for b in range(batches):
    mask = (ids[b][:, None] == ids[b][None, :]) & (j <= i)
    for i0 in range(0, n, tile):
        for j0 in range(0, n, tile):
            t = mask[i0:i0 + tile, j0:j0 + tile]
            total += heads
            true_empty += heads * int(not t.any())
            true_full += heads * int(t.all())
            causal_empty += heads * int(j0 > min(i0 + tile, n) - 1)
# Tiles the kernel skipped: outside its closed-form key range (never
# classified) or classified empty.
skipped = total - counters["tiles_full"] - counters["tiles_partial"]
ok = (skipped <= true_empty and counters["tiles_full"] <= true_full
      and skipped > causal_empty)
print(f"document tiles: run skipped={skipped} (classified empty={counters['tiles_empty']}) "
      f"full={counters['tiles_full']} partial={counters['tiles_partial']}; brute force "
      f"empty={true_empty} full={true_full}; causal alone empty={causal_empty}",
      "OK" if ok else "MISMATCH")
