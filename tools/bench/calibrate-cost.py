#!/usr/bin/python3
"""Calibrates the static cost model (docs/cost-model.md) against a GPU.

Runs a fixed set of schedules (causal and dense softmax, d64 and d128, 64-
and 128-row Q tiles, 64- and 128-key KV tiles, two lengths, and split-KV
decode: 28 in all) with `attn-run --device=cuda --bench --cost --json`, reads the
measured median (CUDA events) and the model's prediction for the GPU's arch,
and prints Spearman's rank correlation (target >= 0.7) and a non-negative
per-class correction: measured ~= sum_k c_k * term_k over the model's terms
(issue, tensor, mufu, shared, l2, dram, latency, launch), with the fit's
relative error.

With no GPU (or --predict-only) it prints the model's predictions alone,
from attn-opt, and says that nothing was measured.

Usage: calibrate-cost.py [BUILD_DIR] [--predict-only] [--arch sm_80|sm_90]
                         [--limit N]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TERMS = ["issue", "tensor", "mufu", "shared", "l2", "dram", "latency", "launch"]


def schedules(tmp):
    """(label, path, function, pipeline options, nq, nk, b) of every run."""
    runs = []
    sources = {"causal": os.path.join(ROOT, "examples", "causal.mlir"),
               "dense": os.path.join(ROOT, "examples", "softmax.mlir")}
    for name, src in sources.items():
        text = open(src).read()
        for d in (64, 128):
            path = os.path.join(tmp, f"{name}_d{d}.mlir")
            open(path, "w").write(text.replace("x64xf16", f"x{d}xf16"))
            function = "causal" if name == "causal" else "softmax"
            for bm, bn in ((64, 64), (128, 64), (128, 128)):
                if d == 128 and bn == 128:
                    continue
                for n in (1024, 4096):
                    runs.append((f"{name} d{d} {bm}x{bn} n{n}", path, function,
                                 f"block-m={bm} block-n={bn} warps=4", n, n, 4))
    decode = os.path.join(ROOT, "tools", "bench", "llama3_8b_decode.mlir")
    for nk in (4096, 16384):
        for split in (0, 1):
            runs.append((f"decode nk{nk} split-kv={split}", decode, "dense",
                         f"block-m=16 split-kv={split}", 1, nk, 1))
    return runs


def run(args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(" ".join(args) + "\n" + r.stdout + r.stderr)
    return r.stdout


def predict(build, label, path, function, options, nq, nk, b, arch):
    opt = os.path.join(build, "tools", "attn-opt", "attn-opt")
    report = json.loads(run([
        opt, path, f"--pass-pipeline=builtin.module(attn-pipeline{{{options} "
        f"arch={arch}}})", "--emit=cubin", f"--arch={arch}", "--report=json",
        f"--nq={nq}", f"--nk={nk}", f"--b={b}"]))
    for plan in report["plan_costs"]:
        if plan["function"] == function:
            return plan
    raise RuntimeError(f"{label}: no plan cost for {function}")


def measure(build, path, function, options, nq, nk, b, arch):
    """attn-run on the GPU: (measured median ms, predicted plan cost)."""
    attn_run = os.path.join(build, "tools", "attn-run", "attn-run")
    flags = dict(o.split("=") for o in options.split())
    args = [attn_run, path, f"--entry={function}", "--device=cuda", "--bench", "--cost",
            "--json", f"--nq={nq}", f"--nk={nk}", f"--b={b}", f"--arch={arch}"]
    for key in ("block-m", "block-n", "warps"):
        if key in flags:
            args.append(f"--{key}={flags[key]}")
    out = json.loads(run(args))
    return out["bench"]["median_ms"], out["cost_model"][0]


def gpu_arch():
    """The visible GPU's arch (sm_80, sm_90), or None."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=compute_cap",
                              "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    major, minor = out.stdout.split()[0].split(".")
    return f"sm_{major}{minor}"


def spearman(a, b):
    ra = np.argsort(np.argsort(a)).astype(float)
    rb = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


def nonnegative_fit(x, y):
    """Least squares y ~= x c with c >= 0 (columns dropped while negative)."""
    active = list(range(x.shape[1]))
    c = np.zeros(x.shape[1])
    while active:
        sol, *_ = np.linalg.lstsq(x[:, active], y, rcond=None)
        if (sol >= 0).all():
            c[active] = sol
            break
        active = [k for k, s in zip(active, sol) if s > 0]
    return c


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", nargs="?", default=os.path.join(ROOT, "build"))
    parser.add_argument("--predict-only", action="store_true")
    parser.add_argument("--arch", default=None)
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    found = gpu_arch()
    arch = args.arch or found or "sm_80"
    if arch not in ("sm_80", "sm_90"):
        sys.exit(f"calibrate-cost: the model has no target for {arch} "
                 "(sm_80: A100, sm_90: H100)")
    measuring = found is not None and not args.predict_only
    tmp = tempfile.mkdtemp()
    runs = schedules(tmp)
    if args.limit:
        runs = runs[:args.limit]
    if not measuring:
        why = "--predict-only" if found else "no GPU visible (nvidia-smi)"
        print(f"calibrate-cost: {why}: predictions for {arch} only, nothing "
              "measured")
    rows = []
    for label, path, function, options, nq, nk, b in runs:
        if measuring:
            ms, plan = measure(args.build, path, function, options, nq, nk, b,
                               arch)
        else:
            ms, plan = None, predict(args.build, label, path, function,
                                     options, nq, nk, b, arch)
        rows.append((label, ms, plan))
        shown = f"{ms * 1e3:9.1f} us measured, " if ms is not None else ""
        print(f"{label:34s} {shown}{plan['predicted_us']:9.4g} us predicted "
              f"({plan['target']}, {plan['bound']}-bound)")
    if not measuring:
        return
    measured = np.array([ms * 1e3 for _, ms, _ in rows])
    predicted = np.array([p["predicted_us"] for _, _, p in rows])
    rho = spearman(measured, predicted)
    print(f"\nSpearman rank correlation over {len(rows)} schedules: {rho:.3f} "
          f"(target >= 0.7: {'met' if rho >= 0.7 else 'NOT met'})")
    x = np.array([[p["us"][t] for t in TERMS] for _, _, p in rows])
    c = nonnegative_fit(x, measured)
    fitted = x @ c
    error = np.median(np.abs(fitted - measured) / measured)
    print("per-class corrections (measured ~= sum c_k * term_k, c_k >= 0):")
    for t, ck in zip(TERMS, c):
        print(f"  {t:8s} {ck:8.3f}")
    print(f"median relative error of the fit: {error:.1%}; of the model "
          f"uncorrected: {np.median(np.abs(predicted - measured) / measured):.1%}")


if __name__ == "__main__":
    main()
