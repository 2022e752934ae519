//===- Passes.td - attn passes -------------------------------*- tablegen -*-===//

#ifndef ATTN_PASSES_TD
#define ATTN_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnDecompose : Pass<"attn-decompose"> {
  let summary = "Rewrite attn.attention into its einsum cascade (3-pass form)";
  let description = [{
    Replaces every `attn.attention` with the cascade of `attn.contract`,
    `attn.map` and `attn.reduce` ops that defines it (the reference semantics
    of Level 2):
    - softmax: scores, scale + score region + mask, row max, exp, row sum,
      P·V contraction, divide (and lse = max + log(sum));
    - sigmoid: p = σ(s + bias) with bias defaulting to -ln(nk), P·V;
    - softplus: p = softplus(s), row sum, P·V, divide;
    - none: p = s, P·V.
    GQA/MQA (Hq = G·Hkv) expands q to [B, Hkv, G, Nq, D] with
    `tensor.expand_shape` so that every contraction is a plain einsum, then
    collapses the results back. Score and mask regions are inlined into the
    `attn.map` that applies them.
  }];
  let dependentDialects = [
    "::attn::AttnDialect", "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect"
  ];
}

def AttnAnalyze : Pass<"attn-analyze"> {
  let summary = "FuseMax pass-count analysis of einsum cascades (remarks)";
  let description = [{
    For every function that contains a cascade, computes how many passes
    over K/V (the letter that k and v are indexed by and that P·V reduces)
    the cascade needs as written, and after the online rewrite, and emits
    both as a remark with the reason. The analysis works on the dependence
    graph of the cascade ops, not on normalizer names:
    - as written, a pass is a maximal group of ops iterating over the KV
      letter; an op that consumes a full reduction over that letter starts a
      new pass;
    - the online rewrite can fold a reduction chain into one pass when every
      reduction that feeds a later KV-iterating op is a `max` or `add` whose
      consumers are corrected by a multiplicative factor (exp of a difference
      with the running value, or a ratio), as FuseMax shows for softmax; a
      reduction consumed non-multiplicatively (for example inside a
      subtraction that is not under exp) needs a complete row first: 2 passes.
  }];
}

#endif // ATTN_PASSES_TD
