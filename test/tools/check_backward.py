#!/usr/bin/python3
"""Independent check of attn-run --backward with numpy.

For softmax, causal (with Nq > Nk: fully masked rows), GQA and ALiBi, runs
`attn-run --backward --device=ref --save DIR` on ragged sizes, then
recomputes the gradients from the saved q, k, v, do (and dlse) with the
textbook softmax-attention backward (FlashAttention-2, Algorithm 2), written
here from scratch rather than derived from the cascade:

  S  = scale * Q K^T (+ the variant's bias),   P = softmax over unmasked keys,
  O  = P V,    dV = P^T dO,    dP = dO V^T,
  D  = rowsum(dO * O),    dS = P * (dP - D) + P * dlse   (d lse / d s = P),
  dQ = scale * dS K,    dK = scale * dS^T Q,
  ALiBi (s += slope_h * (j - i)):  dslope_h = sum_{b,i,j} dS * (j - i).

GQA sums dK and dV over the query heads of each KV head. Rows with no
attended key have P = 0 and get zero gradients.
Prints "PASS <variant>" or "FAIL <variant>: <why>"; exits 1 on any failure.
"""

import argparse
import os
import subprocess
import sys

import numpy as np

RTOL = 1e-9


def causal(i, j, nq, nk):
    return j <= i


def bottom_right(i, j, nq, nk):
    return j <= i + nk - nq


# name -> (mask, alibi, sizes)
VARIANTS = {
    "softmax": (None, False, dict(b=2, nq=13, nk=9)),
    "causal": (causal, False, dict(b=1, nq=11, nk=11)),
    "causal_bottom_right": (bottom_right, False, dict(b=1, nq=9, nk=5)),
    "gqa": (causal, False, dict(b=1, nq=7, nk=7)),
    "alibi": (causal, True, dict(b=1, nq=10, nk=10)),
}


def load(d, name):
    path = os.path.join(d, name + ".npy")
    return np.load(path).astype(np.float64) if os.path.exists(path) else None


def backward(d, mask, alibi):
    q, k, v, do = (load(d, n) for n in ("q", "k", "v", "do"))
    dlse = load(d, "dlse")
    B, Hq, Nq, D = q.shape
    Hkv, Nk = k.shape[1], k.shape[2]
    G = Hq // Hkv
    scale = 1.0 / np.sqrt(D)
    kx = np.repeat(k, G, axis=1)  # [B, Hq, Nk, D]
    vx = np.repeat(v, G, axis=1)
    s = scale * np.einsum("bhid,bhjd->bhij", q, kx)
    i = np.arange(Nq)[:, None]
    j = np.arange(Nk)[None, :]
    if alibi:
        slopes = load(d, "capture0")
        s = s + slopes[None, :, None, None] * (j - i)[None, None]
    attend = np.ones((Nq, Nk), bool) if mask is None else mask(i, j, Nq, Nk)
    s = np.where(attend[None, None], s, -np.inf)
    m = s.max(axis=-1, keepdims=True)
    empty = ~np.isfinite(m)
    e = np.where(empty, 0.0, np.exp(s - np.where(empty, 0.0, m)))
    l = e.sum(axis=-1, keepdims=True)
    p = np.where(l > 0, e / np.where(l > 0, l, 1.0), 0.0)
    o = np.einsum("bhij,bhjf->bhif", p, vx)
    dp = np.einsum("bhif,bhjf->bhij", do, vx)
    delta = (do * o).sum(axis=-1, keepdims=True)
    ds = p * (dp - delta)
    if dlse is not None:
        ds = ds + p * dlse[..., None]
    grads = {
        "dq": scale * np.einsum("bhij,bhjd->bhid", ds, kx),
        "dk": (scale * np.einsum("bhij,bhid->bhjd", ds, q))
        .reshape(B, Hkv, G, Nk, D).sum(axis=2),
        "dv": np.einsum("bhij,bhif->bhjf", p, do)
        .reshape(B, Hkv, G, Nk, v.shape[3]).sum(axis=2),
    }
    if alibi:
        grads["dcapture0"] = (ds * (j - i)[None, None]).sum(axis=(0, 2, 3))
    return grads


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attn-run", required=True)
    ap.add_argument("--examples", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    failed = False
    for name, (mask, alibi, sizes) in VARIANTS.items():
        d = os.path.join(args.workdir, name)
        cmd = [args.attn_run, os.path.join(args.examples, name + ".mlir"),
               "--backward", "--device=ref", "--save=" + d, "--seed=5"]
        cmd += ["--%s=%d" % kv for kv in sizes.items()]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            print("FAIL %s: attn-run exited %d: %s" % (name, run.returncode,
                                                       run.stderr.strip()))
            failed = True
            continue
        why = []
        for g, want in backward(d, mask, alibi).items():
            got = load(d, g)
            if got is None:
                why.append("%s.npy missing" % g)
                continue
            if not np.all(np.isfinite(got)):
                why.append("%s not finite" % g)
                continue
            err = np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-300)
            if err > RTOL:
                why.append("%s rel err %.3e" % (g, err))
        if why:
            print("FAIL %s: %s" % (name, "; ".join(why)))
            failed = True
        else:
            print("PASS %s" % name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
