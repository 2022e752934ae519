#!/usr/bin/env python3
"""Brute-force tile counts for attn-opt --report=json.

Evaluates each mask element by element with numpy (formulas written from the
variants' definitions, not from the compiler), counts per 2-D tile whether it
has no attended element (skipped), all (full) or some (evaluates the mask),
and compares with the report attn-opt printed: the counts must match exactly
(the mask analysis is exact on these masks; a sound but looser answer would
show as a mismatch here and as a figure in the output).

usage: report_bruteforce.py MASK NQ NK BLOCK_M BLOCK_N [CAPTURE] < report.json
"""
import json
import sys

import numpy as np


def mask_matrix(name, nq, nk, capture):
    i = np.arange(nq)[:, None]
    j = np.arange(nk)[None, :]
    if name == "causal":
        return j <= i
    if name == "causal_bottom_right":
        return j <= i + nk - nq
    if name == "sliding_window":
        return (j <= i) & (i - j <= 256)
    if name == "sink_logits":  # gpt-oss's window; the sink is no key
        return (j <= i) & (i - j <= 127)
    if name == "prefix_lm":
        return (j <= i) | (j < capture)
    if name == "neighborhood_2d":
        width, kernel, radius = 32, 7, 3
        rows = nk // width
        qr, qc, kr, kc = i // width, i % width, j // width, j % width
        r_start = np.maximum(np.minimum(qr - radius, rows - kernel), 0)
        c_start = np.maximum(np.minimum(qc - radius, width - kernel), 0)
        return ((kr >= r_start) & (kr < r_start + kernel) &
                (kc >= c_start) & (kc < c_start + kernel))
    raise SystemExit(f"unknown mask {name}")


def main():
    name = sys.argv[1]
    nq, nk, bm, bn = (int(x) for x in sys.argv[2:6])
    capture = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    m = mask_matrix(name, nq, nk, capture)
    visited = partial = full = total = 0
    for i0 in range(0, nq, bm):
        for j0 in range(0, nk, bn):
            tile = m[i0:i0 + bm, j0:j0 + bn]
            n = int(tile.sum())
            total += 1
            visited += n > 0
            full += n == tile.size
            partial += 0 < n < tile.size
    report = json.load(sys.stdin)["kernels"][0]
    got = (report["kv_tiles_total"], report["kv_tiles_visited"],
           report["mask_tiles"], report["full_tiles"])
    want = (total, visited, partial, full)
    print(f"{name}: brute force total={total} visited={visited} "
          f"mask={partial} full={full}; report total={got[0]} "
          f"visited={got[1]} mask={got[2]} full={got[3]}")
    ok = got == want
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
