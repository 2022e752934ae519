#!/usr/bin/python3
"""Checks the rows that attend to no key in a run saved by `attn-run --save`:
with sink logits, o is exactly 0 and lse exactly sigma_h (capture0) there.
Usage: sink_empty_rows.py DIR (bottom-right causal: the first nq - nk rows)."""
import os
import sys

import numpy as np

d = sys.argv[1]
o, lse = np.load(os.path.join(d, "o.npy")), np.load(os.path.join(d, "lse.npy"))
sigma = np.load(os.path.join(d, "capture0.npy"))
nq, nk = o.shape[2], np.load(os.path.join(d, "k.npy")).shape[2]
dead = nq - nk
assert dead > 0, "the run must have nq > nk"
ok_o = (o[:, :, :dead, :] == 0).all()
ok_lse = (lse[:, :, :dead] == sigma[None, :, None]).all()
live = lse[:, :, dead:]
print(f"empty rows: {dead} per head, o zero: {ok_o}, lse = sigma: {ok_lse}, "
      f"other rows finite: {np.isfinite(live).all()}")
