"""Plants non-finite values into q.npy, k.npy and v.npy of an attn-run --save
directory (B = 1, 2 heads, 100 keys, causal): a NaN in row 7 of q (head 0),
the whole K row of key 90 (head 0), the whole V row of key 40 (head 1) and
+inf in feature 5 of key 70's V (head 0). Under the causal mask the rows
that attend to those keys become non-finite; the rows before them do not
attend to them (README "Non-finite values")."""
import sys

import numpy as np

d = sys.argv[1]
q, k, v = (np.load(f"{d}/{n}.npy") for n in "qkv")
q[0, 0, 7, 3] = np.nan
k[0, 0, 90, :] = np.nan
v[0, 1, 40, :] = np.nan
v[0, 0, 70, 5] = np.inf
for name, value in zip("qkv", (q, k, v)):
    np.save(f"{d}/{name}.npy", value)
