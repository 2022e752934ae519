#!/usr/bin/python3
"""Figures of attn's backward kernels (attn/Codegen/BackwardKernels.h).

1. Static, sm_80 and sm_90: ptxas' registers, spills, stack frame and shared
   memory of every kernel of the causal f16 backward at d64 (examples/
   causal.mlir) and d128 (tools/bench/causal_d128.mlir), default and
   deterministic mode.
2. Global memory traffic, measured by the emulator's counters (attn-run
   --backward --device=emu --counters), of the causal f16 backward at B=1,
   Hq=8, Nq=Nk=1024, d64 (the forward state read from lse, and recomputed;
   and unmasked softmax, and a 256-key sliding window, at the same sizes),
   beside FlashAttention-2's main backward kernel's
   IO model at its tiles (128 x 128, tiles above the diagonal skipped): K and
   V read once per KV tile, Q, dO and lse/D once per visited (Q tile, KV
   tile) pair, dQ one f32 read-modify-write per visited pair, dK and dV
   written once (f16).

No GPU is needed. Usage: backward_stats.py BUILD_DIR [--quick] (--quick:
the static figures only).
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("failed: " + " ".join(args) + "\n" + r.stdout + r.stderr)
    return r.stdout


def static(build):
    opt = os.path.join(build, "tools/attn-opt/attn-opt")
    variants = [("d64", os.path.join(ROOT, "examples/causal.mlir")),
                ("d128", os.path.join(ROOT, "tools/bench/causal_d128.mlir"))]
    print("== static: ptxas per kernel (registers x threads, spills, stack, "
          "shared memory) ==")
    for name, path in variants:
        for arch in ("sm_80", "sm_90"):
            for mode in ([], ["--emit-deterministic"]):
                report = json.loads(run([opt, path, "--emit=cubin",
                                         "--emit-backward", "--arch=" + arch,
                                         "--report=json"] + mode))
                label = f"{name} {arch}{' deterministic' if mode else ''}"
                for k in sorted(report["kernels"], key=lambda k: k["name"]):
                    short = re.sub(r"^attn_\w+?_gradients_", "", k["name"])
                    print(f"  {label:22} {short:14} {k['role']:13} "
                          f"{k['registers']:3} regs x {k['threads']}, "
                          f"spills {k['spill_stores_bytes']}/{k['spill_loads_bytes']} B, "
                          f"stack {k['stack_frame_bytes']} B, smem "
                          f"{k['static_smem_bytes'] + k['dynamic_smem_bytes']} B")


def fa2_model(n, d, heads, bm=128, bn=128):
    kv_tiles = (n + bn - 1) // bn
    pairs = sum(len([q for q in range((n + bm - 1) // bm)
                     if (q + 1) * bm - 1 >= t * bn]) for t in range(kv_tiles))
    kv = kv_tiles * bn * d * 2 * 2
    per_pair = bm * d * 2 * 2 + bm * 4 * 2
    dq = bm * d * 4 * 2
    written = n * d * 2 * 2
    return heads * (kv + pairs * (per_pair + dq)), heads * (written + pairs * bm * d * 4)


def traffic(build):
    tool = os.path.join(build, "tools/attn-run/attn-run")
    n, d, heads = 1024, 64, 8
    print(f"\n== global memory, causal f16 backward, B=1 Hq={heads} "
          f"Nq=Nk={n} d{d} (emulator counters; beside it the same without a "
          f"mask and with a 256-key causal window) ==")
    runs = [("causal", [], "default"),
            ("causal", ["--recompute-state"], "state recomputed"),
            ("causal", ["--deterministic"], "deterministic"),
            ("softmax", [], "no mask"),
            ("sliding_window", [], "window 256")]
    for example, mode, label in runs:
        out = run([tool, os.path.join(ROOT, f"examples/{example}.mlir"),
                   "--backward", "--device=emu", "--counters", "--b=1",
                   f"--nq={n}", f"--nk={n}"] + mode)
        m = re.search(r"global memory: (\d+) bytes read, (\d+) bytes written",
                      out)
        sweeps = len(re.findall(r"\((row|column)-sweep", out))
        cols = re.findall(r"\(column-sweep, (\d+) CTAs\)", out)
        keys = n // (int(cols[0]) // heads) if cols else 0
        skipping = len(re.findall(r"-sweep.*visits only the tiles", out))
        state = re.search(r"forward state: (read|recomputed|none)", out).group(1)
        state = {"read": "state from lse", "recomputed": "state recomputed",
                 "none": "no state"}[state]
        print(f"  attn {label:16}: {int(m.group(1)):>11,} B read, "
              f"{int(m.group(2)):>10,} B written ({sweeps} sweeps over the "
              f"scores, {state}, column blocks of {keys} keys by 32-row "
              f"tiles; {skipping} of them skip the tiles the mask removes)")
    read, written = fa2_model(n, d, heads)
    print(f"  FA2 model (main)    : {read:>11,} B read, {written:>10,} B written "
          f"(1 sweep, 128 x 128 tiles, causal tiles skipped; its preprocess "
          f"kernel reads O and dO besides)")


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    build = os.path.abspath(sys.argv[1])
    static(build)
    if "--quick" not in sys.argv[2:]:
        traffic(build)


if __name__ == "__main__":
    main()
