#!/usr/bin/python3
"""The report's kv_loop_iterations against the KV loop the kernel IR runs.

For every function of an .mlir file: attn-run --device=ref runs the kernel
IR (-attn-fuse's loop over each Q tile's key range) and counts the tiles its
KV loop iterates (tiles_empty + tiles_full + tiles_partial); attn-opt
--report=json predicts it (kv_loop_iterations) with the same scalar captures.
Prints one line per function: the iterations, the needed tiles (the report's
kv_tiles_visited: tiles any element of which attends) and their ratio, and
OK when the report equals the run (for a mask over captured tensors, which
the report cannot read: when the report bounds the run).
"""
import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--nq", type=int, default=1024)
    parser.add_argument("--nk", type=int, default=1024)
    parser.add_argument("--tile", type=int, default=64)
    parser.add_argument("--only", default="",
                        help="comma-separated functions (default: all)")
    args = parser.parse_args()
    names = re.findall(r"func\.func @([A-Za-z_0-9]+)", open(args.file).read())
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    pipeline = (f"attn-decompose,attn-tile{{block-m={args.tile}}},"
                f"attn-online{{tile-n={args.tile}}},attn-fuse")
    failed = False
    for name in names:
        out = os.path.join(args.workdir, name)
        run = subprocess.run(
            ["attn-run", args.file, f"--entry={name}", "--device=ref",
             "--pipeline=" + pipeline, "--counters", "--json", "--b=1",
             f"--nq={args.nq}", f"--nk={args.nk}", "--seed=3", "--save", out],
            capture_output=True, text=True)
        if run.returncode != 0:
            print(f"FAIL {name}: attn-run: {run.stderr.strip()}")
            failed = True
            continue
        result = json.loads(run.stdout)
        c = result["counters"]
        ran = c["tiles_empty"] + c["tiles_full"] + c["tiles_partial"]
        scalars = []
        tensors = False
        for k in range(16):
            path = os.path.join(out, f"capture{k}.npy")
            if not os.path.exists(path):
                break
            value = np.load(path)
            if value.ndim == 0:
                scalars.append(str(int(value)))
            else:
                tensors = True
        cmd = ["attn-opt", args.file, "--report=json", f"--nq={args.nq}",
               f"--nk={args.nk}", f"--block-m={args.tile}",
               f"--block-n={args.tile}", "--b=1"]
        if scalars:
            cmd.append("--captures=" + ",".join(scalars))
        report = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                           text=True).stdout)
        k = next(k for k in report["kernels"] if k["function"] == name)
        if k["mask_tiles"] == 0 and k["full_tiles"] == k["kv_tiles_total"]:
            # No mask: no classification to count; every tile runs.
            ok = k["kv_loop_iterations"] == k["kv_tiles_total"]
            failed |= not ok
            print(f"{name} no mask iterations={k['kv_loop_iterations']} "
                  f"{'OK' if ok else 'MISMATCH'}")
            continue
        slices = result["sizes"]["b"] * result["sizes"]["hq"]
        per = slices if k["slices"] == 1 else 1
        predicted = k["kv_loop_iterations"] * per
        needed = k["kv_tiles_visited"] * per
        ok = predicted >= ran if tensors else predicted == ran
        failed |= not ok
        print(f"{name} iterations={predicted} ran={ran} needed={needed} "
              f"ratio={predicted / max(needed, 1):.2f} "
              f"{'OK' if ok else 'MISMATCH'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
