// -attn-defer-row-sums (through attn-pipeline, on tensor-core kernels): a
// running sum updated only as l' = l·c + Σ keeps per-lane partial sums in
// the KV loop (attn.lane_partial on its reductions, both tile versions) and
// is completed across the quad after it (attn.lane_partial_results).
// RUN: attn-opt %s --pass-pipeline='builtin.module(attn-pipeline{path=mma})' | FileCheck %s
// RUN: attn-opt %s --pass-pipeline='builtin.module(attn-pipeline{path=simt})' | FileCheck %s --check-prefix=SIMT

// Softmax: l' = l·e^(m - m') + Σ_j p (the row max is not a sum: it stays
// complete in the loop).
// CHECK-LABEL: func.func @softmax
// CHECK: attn.reduce max "bhij->bhi" %{{[0-9]+}} :
// CHECK: attn.reduce add "bhij->bhi" %{{[0-9]+}} {attn.lane_partial}
// CHECK: attn.reduce max "bhij->bhi" %{{[0-9]+}} :
// CHECK: attn.reduce add "bhij->bhi" %{{[0-9]+}} {attn.lane_partial}
// CHECK: } {attn.kv_loop, attn.lane_partial_results = array<i64: 1>}
func.func @softmax(%q: tensor<1x2x?x32xf16>, %k: tensor<1x2x?x32xf16>, %v: tensor<1x2x?x32xf16>) -> tensor<1x2x?x32xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x32xf16>, tensor<1x2x?x32xf16>, tensor<1x2x?x32xf16> -> tensor<1x2x?x32xf16>
  return %o : tensor<1x2x?x32xf16>
}

// Softplus: l' = l + Σ_j softplus(s), no correction.
// CHECK-LABEL: func.func @softplus
// CHECK: attn.reduce add "bhij->bhi" %{{[0-9]+}} {attn.lane_partial}
// CHECK: } {attn.kv_loop, attn.lane_partial_results = array<i64: 0>}
func.func @softplus(%q: tensor<1x2x?x32xf16>, %k: tensor<1x2x?x32xf16>, %v: tensor<1x2x?x32xf16>) -> tensor<1x2x?x32xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softplus>}
      : tensor<1x2x?x32xf16>, tensor<1x2x?x32xf16>, tensor<1x2x?x32xf16> -> tensor<1x2x?x32xf16>
  return %o : tensor<1x2x?x32xf16>
}

// Sigmoid has no running sum: nothing to defer.
// CHECK-LABEL: func.func @sigmoid
// CHECK-NOT: lane_partial
// CHECK: } {attn.kv_loop}
func.func @sigmoid(%q: tensor<1x2x?x32xf16>, %k: tensor<1x2x?x32xf16>, %v: tensor<1x2x?x32xf16>) -> tensor<1x2x?x32xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<sigmoid>}
      : tensor<1x2x?x32xf16>, tensor<1x2x?x32xf16>, tensor<1x2x?x32xf16> -> tensor<1x2x?x32xf16>
  return %o : tensor<1x2x?x32xf16>
}

// The SIMT printer reduces within a thread: nothing is marked.
// SIMT-NOT: lane_partial
