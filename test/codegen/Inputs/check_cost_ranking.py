#!/usr/bin/env python3
# The static cost model (attn-opt --emit=cubin --report=json --nq= --nk=)
# ranks schedules as published FlashAttention-2 / FlashDecoding results do:
#  - causal prefill at a long length: 128-row Q tiles (4 warps of 32 rows)
#    ahead of 64-row tiles, d64 and d128, on A100 (sm_80) and H100 (sm_90);
#  - decoding a long KV cache at batch 1 (Llama-3-8B's heads): the split-KV
#    plan ahead of the plain one.
# Prints one line per comparison; exits non-zero when a ranking is wrong.
import json
import os
import subprocess
import sys
import tempfile

examples, tools_bench = sys.argv[1], sys.argv[2]
failures = []


def plan_cost(path, function, schedule, arch, nq, nk, b):
    run = subprocess.run(
        ["attn-opt", path,
         f"--pass-pipeline=builtin.module(attn-pipeline{{{schedule} arch={arch}}})",
         "--emit=cubin", f"--arch={arch}", "--report=json", f"--nq={nq}",
         f"--nk={nk}", f"--b={b}"], capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"attn-opt failed for {path} {schedule} {arch}:\n{run.stderr}")
    report = json.loads(run.stdout)
    for plan in report["plan_costs"]:
        if plan["function"] == function:
            return plan
    sys.exit(f"no plan cost for {function} in {path}")


def compare(what, better, worse, arch, args):
    a = plan_cost(*better, arch, *args)
    b = plan_cost(*worse, arch, *args)
    ok = a["predicted_us"] < b["predicted_us"]
    print(f"{what} {arch} ({a['target']}): {a['predicted_us']} us "
          f"({a['bound']}) < {b['predicted_us']} us ({b['bound']}): "
          f"{'OK' if ok else 'WRONG'}")
    if not ok:
        failures.append(what + " " + arch)


tmp = tempfile.mkdtemp()
causal = open(os.path.join(examples, "causal.mlir")).read()
for d in (64, 128):
    path = os.path.join(tmp, f"causal_d{d}.mlir")
    open(path, "w").write(causal.replace("x64xf16", f"x{d}xf16"))
    for arch in ("sm_80", "sm_90"):
        compare(f"causal d{d} 8192^2: 128-row tiles ahead of 64-row",
                (path, "causal", "block-m=128 block-n=64 warps=4"),
                (path, "causal", "block-m=64 block-n=64 warps=4"),
                arch, (8192, 8192, 2))
decode = os.path.join(tools_bench, "llama3_8b_decode.mlir")
for arch in ("sm_80", "sm_90"):
    compare("decode b1 nk 16384: split-KV ahead of plain",
            (decode, "dense", "block-m=16 split-kv=1"),
            (decode, "dense", "block-m=16"), arch, (1, 16384, 1))
if failures:
    sys.exit("wrong rankings: " + ", ".join(failures))
