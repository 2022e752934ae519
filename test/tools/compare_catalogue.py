#!/usr/bin/python3
"""The catalogue's builder-made variants against the hand-written examples.

For every catalogue file (attn-catalogue --all DIR) named like an example
(examples/NAME.mlir): the float64 interpreter (attn-run --device=ref) gives
bitwise the same inputs and outputs (every .npy file, so the signatures and
input generators agree too) at ragged sizes, and attn-opt --report=json
gives the same counts at three shapes. Prints "SAME NAME" or "DIFF NAME:
why"; exits 1 on any difference.
"""

import argparse
import os
import subprocess
import sys

# (nq, nk) of the interpreter runs and of the reports.
RUNS = [(37, 45), (70, 70)]
REPORTS = [(100, 130), (1000, 1000), (4096, 4096)]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(" ".join(cmd) + ": " + r.stderr.strip())
    return r.stdout


def compare(name, example, built, workdir):
    for nq, nk in RUNS:
        if name == "sink_logits":  # its window and GQA want more rows
            nq, nk = nq + 100, nk + 100
        dirs = []
        for tag, path in (("example", example), ("built", built)):
            out = os.path.join(workdir, f"{name}-{nq}-{nk}-{tag}")
            run(["attn-run", path, "--device=ref", "--seed=5", "--b=2",
                 f"--nq={nq}", f"--nk={nk}", "--save", out])
            dirs.append(out)
        files = sorted(os.listdir(dirs[0]))
        if files != sorted(os.listdir(dirs[1])):
            return f"saved files differ: {files} vs {sorted(os.listdir(dirs[1]))}"
        for f in files:
            a = open(os.path.join(dirs[0], f), "rb").read()
            b = open(os.path.join(dirs[1], f), "rb").read()
            if a != b:
                return f"{f} differs at nq={nq} nk={nk}"
    for nq, nk in REPORTS:
        reports = [run(["attn-opt", p, "--report=json", f"--nq={nq}",
                        f"--nk={nk}"]) for p in (example, built)]
        if reports[0] != reports[1]:
            return f"reports differ at {nq}x{nk}:\n{reports[0]}{reports[1]}"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", required=True)
    parser.add_argument("--catalogue", required=True)
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()
    failed = False
    for f in sorted(os.listdir(args.catalogue)):
        example = os.path.join(args.examples, f)
        if not os.path.exists(example):
            continue
        name = f[:-len(".mlir")]
        try:
            why = compare(name, example, os.path.join(args.catalogue, f),
                          args.workdir)
        except RuntimeError as e:
            why = str(e)
        failed |= why is not None
        print(f"DIFF {name}: {why}" if why else f"SAME {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
