"""Global bytes an emulated attention kernel moved vs the FlashAttention model.

usage: emu-traffic.test.py dense RUN_JSON BLOCK_M
       emu-traffic.test.py visited RUN_JSON BLOCK_N REPORT_JSON

RUN_JSON is `attn-run --device=emu --counters --json` of a softmax variant
with lse over f16 q, k, v, o with head dims 64 (the examples); REPORT_JSON is
`attn-opt --report=json` for the same sizes and tiles. Prints one line per
figure: measured, model, relative difference, OK within 2%.
"""
import json
import math
import sys

HEAD_DIM = 64   # d and dv of examples/softmax.mlir and examples/causal.mlir
ELEMENT = 2     # f16 q, k, v, o
LSE = 4         # f32


def main():
    mode, run_path, block = sys.argv[1], sys.argv[2], int(sys.argv[3])
    run = json.load(open(run_path))
    s = run["sizes"]
    b, hq, hkv, nq, nk = s["b"], s["hq"], s["hkv"], s["nq"], s["nk"]
    counters = run["counters"]
    q_bytes = b * hq * nq * HEAD_DIM * ELEMENT
    kv_row = 2 * HEAD_DIM * ELEMENT  # one key row and one value row
    if mode == "dense":
        name = "softmax"
        # Every CTA (Q tile of one head) reads all of its head's K and V.
        read = q_bytes + b * hq * math.ceil(nq / block) * nk * kv_row
    else:
        name = "causal"
        report = json.load(open(sys.argv[4]))["kernels"][0]
        # The report counts one (batch, head) slice; every visited tile is
        # block rows of K and V.
        read = q_bytes + b * hq * report["kv_tiles_visited"] * block * kv_row
    written = b * hq * nq * (HEAD_DIM * ELEMENT + LSE)
    for what, got, want in (("read", counters["global_bytes_read"], read),
                            ("written", counters["global_bytes_written"],
                             written)):
        diff = (got - want) / want
        print(f"{name} {what} {got} model {want} ({diff:+.2%})",
              "OK" if abs(diff) <= 0.02 else "MISMATCH")


main()
