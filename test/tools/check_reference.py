#!/usr/bin/python3
"""Independent check of attn-run's reference interpreter with numpy.

For a handful of examples, runs `attn-run --save DIR` on ragged sizes, then
recomputes o (and lse) from the saved inputs with the formulas of the design
(docs: DESIGN.md, "Level 1"), written here from scratch:

  s[b,h,i,j] = scale * sum_d q[b,h,i,d] * k[b,h//G,j,d]   (G = Hq/Hkv,
               scale = 1/sqrt(D)), then the variant's score function,
  mask       : masked keys do not take part,
  softmax    : p = exp(s - max_j s) / sum_j exp(s - max_j s),
               lse = max_j s + log(sum_j exp(s - max_j s)) (natural log);
               a fully masked row gives o = 0 and lse = -inf,
  sink logits: softmax with one more always-attended key of score sigma[h]
               and no value: m = max(max_j s, sigma_h),
               p = exp(s - m) / (sum_j exp(s - m) + exp(sigma_h - m)),
               lse = m + log(sum_j exp(s - m) + exp(sigma_h - m)); a row
               with no attended key gives o = 0 and lse = sigma_h,
  sigmoid    : p = 1 / (1 + exp(-(s + bias))), bias = -ln(nk), no reduction,
  o[b,h,i,:] = sum_j p[b,h,i,j] * v[b,h//G,j,:].

attn-run saves float32 outputs, so the comparison tolerance is ~1e-6.
With --pipeline (e.g. attn-decompose) the transformed program is checked.
Prints "PASS <variant>" or "FAIL <variant>: <why>" per variant; exits 1 on
any failure.
"""

import argparse
import os
import subprocess
import sys

import numpy as np

RTOL = 1e-6
ATOL = 1e-6


def causal(i, j, nq, nk):
    return j <= i


def bottom_right(i, j, nq, nk):
    return j <= i + nk - nq


def window_127(i, j, nq, nk):
    return (j <= i) & (j + 127 >= i)


def alibi_score(s, h, i, j, slopes):
    return s + slopes[h][:, None, None] * (j - i)


# name -> (example file, attn-run size flags, mask, score, normalizer, has lse)
VARIANTS = {
    "softmax": ("softmax.mlir", ["--b=2", "--nq=37"], None, None, "softmax",
                True),
    "causal": ("causal.mlir", ["--nq=37"], causal, None, "softmax", True),
    "causal_bottom_right": ("causal_bottom_right.mlir", ["--nq=45", "--nk=30"],
                            bottom_right, None, "softmax", True),
    "alibi": ("alibi.mlir", ["--nq=37"], causal, alibi_score, "softmax",
              False),
    "sigmoid": ("sigmoid.mlir", ["--nq=37", "--nk=29"], None, None, "sigmoid",
                False),
    "gqa": ("gqa.mlir", ["--nq=37"], causal, None, "softmax", True),
    "cross_attention": ("cross_attention.mlir", ["--nq=19", "--nk=41"], None,
                        None, "softmax", False),
    "sink_logits": ("sink_logits.mlir", ["--nq=150", "--nk=139"], window_127,
                    None, "softmax+sinks", True),
}


# The catalogue's variants without a hand-written example (attn-catalogue
# --all DIR; --set=catalogue), from their published definitions.


def natten_1d(kernel, dilation=1, is_causal=False):
    """NATTEN's 1-D neighborhood over n = nk positions: the keys of the
    query's residue class mod `dilation`, `kernel` of them around the query
    (the window shifted to stay inside the sequence), or the `kernel` up to
    it when causal."""
    def mask(i, j, nq, nk):
        return natten_axis(i, j, nk, kernel, dilation, is_causal)
    return mask


def natten_axis(qc, kc, n, kernel, dilation, is_causal):
    r = qc % dilation
    group = -(-(n - r) // dilation)  # positions with residue r
    p, kp = qc // dilation, kc // dilation
    if is_causal:
        window = (kp <= p) & (kp > p - kernel)
    else:
        start = np.clip(p - kernel // 2, 0, np.maximum(group - kernel, 0))
        window = (kp >= start) & (kp < start + kernel)
    return window & (kc % dilation == r)


def natten_3d(height, width, kernel):
    def mask(i, j, nq, nk):
        plane = height * width
        depth = nk // plane
        axes = [(i // plane, j // plane, depth),
                ((i % plane) // width, (j % plane) // width, height),
                (i % width, j % width, width)]
        out = True
        for qc, kc, n in axes:
            out = out & natten_axis(qc, kc, n, kernel, 1, False)
        return out
    return mask


def block_diffusion(block):
    """BD3-LM's training mask (Arriola et al. 2025, block_diff_mask) over
    [x_t, x_0], each nk / 2 tokens."""
    def mask(i, j, nq, nk):
        n = nk // 2
        x0_q, x0_kv = i >= n, j >= n
        block_q = np.where(x0_q, (i - n) // block, i // block)
        block_kv = np.where(x0_kv, (j - n) // block, j // block)
        diagonal = (block_q == block_kv) & (x0_q == x0_kv)
        offset_causal = (block_q > block_kv) & x0_kv & ~x0_q
        block_causal = (block_q >= block_kv) & x0_kv & x0_q
        return diagonal | offset_causal | block_causal
    return mask


def sinks_window(i, j, nq, nk):
    return (j <= i) & ((j < 4) | (j >= i - 512))


def chunked_1024(i, j, nq, nk):
    return (j <= i) & (i // 1024 == j // 1024)


def relative_score(s, h, i, j, table):
    return s + table[h[:, None, None], np.clip(j - i, -128, 128) + 128]


def bias_score(s, h, i, j, table):
    return s + table


def softcap_alibi_score(s, h, i, j, slopes):
    return 30.0 * np.tanh(alibi_score(s, h, i, j, slopes) / 30.0)


CATALOGUE = {
    "neighborhood_1d": ("neighborhood_1d.mlir", ["--nq=150"], natten_1d(33),
                        None, "softmax", False),
    "neighborhood_1d_dilated": ("neighborhood_1d_dilated.mlir", ["--nq=150"],
                                natten_1d(7, 4), None, "softmax", False),
    "neighborhood_1d_causal": ("neighborhood_1d_causal.mlir", ["--nq=150"],
                               natten_1d(33, 1, True), None, "softmax", False),
    "neighborhood_3d": ("neighborhood_3d.mlir", ["--nq=320"],
                        natten_3d(8, 8, 3), None, "softmax", False),
    "block_diffusion": ("block_diffusion.mlir", ["--nq=100"],
                        block_diffusion(16), None, "softmax", False),
    "sliding_window_sinks": ("sliding_window_sinks.mlir", ["--nq=700"],
                             sinks_window, None, "softmax", False),
    "chunked": ("chunked.mlir", ["--nq=1100", "--b=1"],
                chunked_1024, None, "softmax", False),
    "relative_position": ("relative_position.mlir", ["--nq=150"], causal,
                          relative_score, "softmax", False),
    "bias": ("bias.mlir", ["--nq=37", "--nk=45"], None, bias_score, "softmax",
             False),
    "softcap_alibi": ("softcap_alibi.mlir", ["--nq=37"], causal,
                      softcap_alibi_score, "softmax", False),
    "softplus": ("softplus.mlir", ["--nq=37", "--nk=29"], causal, None,
                 "softplus", False),
}


def reference(inputs, mask, score, normalizer):
    """o (and lse) of one variant, in float64, from the saved inputs."""
    q, k, v = (inputs[n].astype(np.float64) for n in ("q", "k", "v"))
    B, Hq, Nq, D = q.shape
    Hkv, Nk = k.shape[1], k.shape[2]
    group = Hq // Hkv
    # Expand k and v to the query heads: head h reads KV head h // G.
    kh = np.repeat(k, group, axis=1)
    vh = np.repeat(v, group, axis=1)
    s = np.einsum("bhid,bhjd->bhij", q, kh) / np.sqrt(D)
    h = np.arange(Hq)[:, None, None]
    i = np.arange(Nq)[None, :, None]
    j = np.arange(Nk)[None, None, :]
    if score is not None:
        s = score(s, np.arange(Hq), i, j, inputs["capture0"].astype(np.float64))
    allowed = np.ones((Hq, Nq, Nk), dtype=bool)
    if mask is not None:
        allowed = np.broadcast_to(mask(i, j, Nq, Nk), (Hq, Nq, Nk))
    allowed = np.broadcast_to(allowed, s.shape)
    del h
    if normalizer == "softplus":
        p = np.where(allowed, np.logaddexp(0.0, s), 0.0)
        l = p.sum(axis=-1, keepdims=True)
        return np.einsum("bhij,bhjf->bhif", p / np.where(l > 0, l, 1.0),
                         vh), None
    if normalizer == "sigmoid":
        p = 1.0 / (1.0 + np.exp(-(s - np.log(Nk))))
        p = np.where(allowed, p, 0.0)
        return np.einsum("bhij,bhjf->bhif", p, vh), None
    masked = np.where(allowed, s, -np.inf)
    if normalizer == "softmax+sinks":
        sigma = inputs["capture0"].astype(np.float64)[None, :, None, None]
        m = np.maximum(masked.max(axis=-1, keepdims=True), sigma)
        p = np.where(allowed, np.exp(masked - m), 0.0)
        l = p.sum(axis=-1, keepdims=True) + np.exp(sigma - m)
        o = np.einsum("bhij,bhjf->bhif", p / l, vh)
        return o, (m + np.log(l))[..., 0]
    m = masked.max(axis=-1, keepdims=True)
    empty = ~allowed.any(axis=-1, keepdims=True)
    m_safe = np.where(empty, 0.0, m)
    p = np.where(allowed, np.exp(masked - m_safe), 0.0)
    l = p.sum(axis=-1, keepdims=True)
    l_safe = np.where(empty, 1.0, l)
    o = np.einsum("bhij,bhjf->bhif", p / l_safe, vh)
    lse = np.where(empty, -np.inf, m_safe + np.log(l_safe))[..., 0]
    return o, lse


def compare(name, got, want):
    """Returns an error message, or None when `got` matches `want`."""
    if got.shape != want.shape:
        return f"{name}: shape {got.shape} != {want.shape}"
    if np.isnan(got).any():
        return f"{name}: NaN in the output"
    inf_got, inf_want = np.isinf(got), np.isinf(want)
    if (inf_got != inf_want).any() or (got[inf_got] != want[inf_want]).any():
        return f"{name}: infinities differ"
    g, w = got[~inf_got].astype(np.float64), want[~inf_want]
    norm = np.linalg.norm(w)
    rel = np.linalg.norm(g - w) / (norm if norm > 0 else 1.0)
    if rel > RTOL or not np.allclose(g, w, rtol=RTOL * 10, atol=ATOL):
        return f"{name}: rel_err={rel:.3e} max_abs={np.abs(g - w).max():.3e}"
    return None


def check_variant(attn_run, examples, workdir, name, pipeline="",
                  variants=VARIANTS):
    example, flags, mask, score, normalizer, has_lse = variants[name]
    out = os.path.join(workdir, name)
    cmd = [attn_run, os.path.join(examples, example), "--seed=1",
           "--save", out] + flags
    if pipeline:
        cmd.append("--pipeline=" + pipeline)
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        return f"attn-run failed ({run.returncode}): {run.stderr.strip()}"
    inputs = {}
    for f in os.listdir(out):
        inputs[f[:-4]] = np.load(os.path.join(out, f))
    o, lse = reference(inputs, mask, score, normalizer)
    errors = [compare("o", inputs["o"], o)]
    if has_lse:
        if "lse" not in inputs:
            errors.append("lse.npy missing")
        else:
            errors.append(compare("lse", inputs["lse"], lse))
    if name == "causal_bottom_right":
        nq, nk = inputs["q"].shape[2], inputs["k"].shape[2]
        dead = nq - nk
        if not (inputs["o"][:, :, :dead, :] == 0).all():
            errors.append("fully masked rows: o is not exactly 0")
        if not np.isneginf(inputs["lse"][:, :, :dead]).all():
            errors.append("fully masked rows: lse is not -inf")
        if np.isinf(inputs["lse"][:, :, dead:]).any():
            errors.append("rows with keys have an infinite lse")
    errors = [e for e in errors if e]
    return "; ".join(errors) if errors else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attn-run", default="attn-run")
    parser.add_argument("--examples", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--pipeline", default="",
                        help="pass pipeline attn-run applies before running")
    parser.add_argument("--set", choices=["examples", "catalogue"],
                        default="examples",
                        help="the hand-written examples, or the catalogue's "
                             "other variants (--examples: attn-catalogue "
                             "--all's directory)")
    parser.add_argument("variants", nargs="*")
    args = parser.parse_args()
    table = VARIANTS if args.set == "examples" else CATALOGUE
    args.variants = args.variants or sorted(table)
    os.makedirs(args.workdir, exist_ok=True)
    failed = False
    for name in args.variants:
        error = check_variant(args.attn_run, args.examples, args.workdir, name,
                              args.pipeline, table)
        if error:
            failed = True
            print(f"FAIL {name}: {error}")
        else:
            print(f"PASS {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
