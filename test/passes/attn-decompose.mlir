// RUN: attn-opt %s --attn-decompose --split-input-file | FileCheck %s

// Softmax: scores, scale, row max, exp, row sum, divide, P·V, and lse.
// CHECK-LABEL: func.func @softmax
// CHECK-SAME: (%[[Q:.*]]: tensor<2x4x?x64xf16>, %[[K:.*]]: tensor<2x4x?x64xf16>, %[[V:.*]]: tensor<2x4x?x32xf16>)
// CHECK-DAG: %[[NQ:.*]] = tensor.dim %[[Q]], %{{.*}}
// CHECK-DAG: %[[NK:.*]] = tensor.dim %[[K]], %{{.*}}
// CHECK: %[[QK:.*]] = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %[[Q]], %[[K]] : {{.*}} -> tensor<2x4x?x?xf32>
// CHECK: %[[S:.*]] = attn.map "bhij->bhij" ins(%[[QK]] : {{.*}}) captures(%[[NQ]], %[[NK]] : index, index)
// CHECK:   %[[SC:.*]] = arith.constant 1.250000e-01 : f32
// CHECK:   arith.mulf %{{.*}}, %[[SC]]
// CHECK: %[[M:.*]] = attn.reduce max "bhij->bhi" %[[S]]
// CHECK: %[[E:.*]] = attn.map "bhij,bhi->bhij" ins(%[[S]], %[[M]]
// CHECK:   arith.cmpf oeq
// CHECK:   arith.subf
// CHECK:   math.exp
// CHECK:   arith.select
// CHECK: %[[L:.*]] = attn.reduce add "bhij->bhi" %[[E]]
// CHECK: %[[P:.*]] = attn.map "bhij,bhi->bhij" ins(%[[E]], %[[L]]
// CHECK:   arith.divf
// CHECK: %[[PV:.*]] = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %[[P]], %[[V]] : {{.*}} -> tensor<2x4x?x32xf32>
// CHECK: %[[LSE:.*]] = attn.map "bhi,bhi->bhi" ins(%[[M]], %[[L]]
// CHECK:   math.log
// CHECK: %[[O:.*]] = attn.map "bhif->bhif" ins(%[[PV]]
// CHECK:   arith.truncf %{{.*}} : f32 to f16
// CHECK-NOT: attn.attention
// CHECK: return %[[O]], %[[LSE]]
func.func @softmax(%q: tensor<2x4x?x64xf16>, %k: tensor<2x4x?x64xf16>, %v: tensor<2x4x?x32xf16>) -> (tensor<2x4x?x32xf16>, tensor<2x4x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<2x4x?x64xf16>, tensor<2x4x?x64xf16>, tensor<2x4x?x32xf16> -> tensor<2x4x?x32xf16>, tensor<2x4x?xf32>
  return %o, %lse : tensor<2x4x?x32xf16>, tensor<2x4x?xf32>
}

// -----

// Score and mask regions are inlined into the scores map: scale, then the
// score region on the scaled score, then the mask selecting -inf.
// CHECK-LABEL: func.func @regions
// CHECK-SAME: %[[SL:[a-z0-9]+]]: tensor<4xf32>
// CHECK: attn.map "bhij->bhij" ins(%{{.*}} : tensor<1x4x?x?xf32>) captures(%{{.*}}, %{{.*}}, %[[SL]] : index, index, tensor<4xf32>)
// CHECK-NEXT: ^bb0(%{{[a-z0-9_]+}}: index, %[[H:[a-z0-9_]+]]: index, %[[I:[a-z0-9_]+]]: index, %[[J:[a-z0-9_]+]]: index, %[[X:[a-z0-9_]+]]: f32, %{{[a-z0-9_]+}}: index, %{{[a-z0-9_]+}}: index, %[[C:[a-z0-9_]+]]: tensor<4xf32>):
// CHECK:   %[[SCALED:.*]] = arith.mulf %[[X]], %{{.*}} : f32
// CHECK:   %[[SLOPE:.*]] = tensor.extract %[[C]][%[[H]]]
// CHECK:   %[[BIASED:.*]] = arith.addf %[[SCALED]], %[[SLOPE]]
// CHECK:   %[[ATTEND:.*]] = arith.cmpi ule, %[[J]], %[[I]]
// CHECK:   %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK:   %[[R:.*]] = arith.select %[[ATTEND]], %[[BIASED]], %[[NEGINF]]
// CHECK:   attn.yield %[[R]] : f32
func.func @regions(%q: tensor<1x4x?x16xf32>, %k: tensor<1x4x?x16xf32>, %v: tensor<1x4x?x16xf32>, %slopes: tensor<4xf32>) -> tensor<1x4x?x16xf32> {
  %o = attn.attention %q, %k, %v captures(%slopes : tensor<4xf32>) {normalizer = #attn.normalizer<softmax>, scale = 0.5}
      : tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32> -> tensor<1x4x?x16xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %sl: tensor<4xf32>):
        %m = tensor.extract %sl[%h] : tensor<4xf32>
        %r = arith.addf %s, %m : f32
        attn.yield %r : f32
      }
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %sl: tensor<4xf32>):
        %c = arith.cmpi ule, %j, %i : index
        attn.yield %c : i1
      }
  return %o : tensor<1x4x?x16xf32>
}

// -----

// Sigmoid: one map (bias -ln(nk) from the captured key length), then P·V;
// no row reduction.
// CHECK-LABEL: func.func @sigmoid_default_bias
// CHECK: tensor.dim
// CHECK: %[[NK:.*]] = tensor.dim %{{.*}}, %{{.*}} : tensor<1x2x?x32xf32>
// CHECK: %[[S:.*]] = attn.map "bhij->bhij"
// CHECK: %[[P:.*]] = attn.map "bhij->bhij" ins(%[[S]] : {{.*}}) captures(%[[NK]] : index)
// CHECK:   arith.index_cast
// CHECK:   arith.sitofp
// CHECK:   math.log
// CHECK:   arith.negf
// CHECK:   math.exp
// CHECK:   arith.divf
// CHECK-NOT: attn.reduce
// CHECK: attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %[[P]]
func.func @sigmoid_default_bias(%q: tensor<1x2x?x32xf32>, %k: tensor<1x2x?x32xf32>, %v: tensor<1x2x?x32xf32>) -> tensor<1x2x?x32xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<sigmoid>}
      : tensor<1x2x?x32xf32>, tensor<1x2x?x32xf32>, tensor<1x2x?x32xf32> -> tensor<1x2x?x32xf32>
  return %o : tensor<1x2x?x32xf32>
}

// -----

// CHECK-LABEL: func.func @sigmoid_given_bias
// CHECK: attn.map "bhij->bhij" ins
// CHECK:   %[[B:.*]] = arith.constant -4.000000e+00 : f32
// CHECK:   arith.addf %{{.*}}, %[[B]]
func.func @sigmoid_given_bias(%q: tensor<1x2x?x32xf32>, %k: tensor<1x2x?x32xf32>, %v: tensor<1x2x?x32xf32>) -> tensor<1x2x?x32xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<sigmoid, bias = -4.0>}
      : tensor<1x2x?x32xf32>, tensor<1x2x?x32xf32>, tensor<1x2x?x32xf32> -> tensor<1x2x?x32xf32>
  return %o : tensor<1x2x?x32xf32>
}

// -----

// Softplus: p = softplus(s), row sum, p / sum, P·V.
// CHECK-LABEL: func.func @softplus
// CHECK: attn.map "bhij->bhij" ins
// CHECK: %[[P:.*]] = attn.map "bhij->bhij" ins
// CHECK:   math.log1p
// CHECK: %[[L:.*]] = attn.reduce add "bhij->bhi" %[[P]]
// CHECK: %[[A:.*]] = attn.map "bhij,bhi->bhij" ins(%[[P]], %[[L]]
// CHECK:   arith.divf
// CHECK: attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %[[A]]
func.func @softplus(%q: tensor<1x2x?x32xf32>, %k: tensor<1x2x?x32xf32>, %v: tensor<1x2x?x32xf32>) -> tensor<1x2x?x32xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softplus>}
      : tensor<1x2x?x32xf32>, tensor<1x2x?x32xf32>, tensor<1x2x?x32xf32> -> tensor<1x2x?x32xf32>
  return %o : tensor<1x2x?x32xf32>
}

// -----

// Softmax with sink logits: the sink is a key of score σ_h and no value, so
// after the row max m and sum l, one row map makes the denominator
// D = l + e^(σ_h − m) (σ read at the query head: k·G + g when grouped) and
// p = e / D; the lse is M + log(l·e^(m−M) + e^(σ_h−M)) with M = max(m, σ_h).
// CHECK-LABEL: func.func @sink_logits
// CHECK-SAME: %[[SIG:[a-z0-9_]+]]: tensor<4xf32>)
// CHECK: %[[M:.*]] = attn.reduce max "bkgij->bkgi"
// CHECK: %[[E:.*]] = attn.map "bkgij,bkgi->bkgij" ins(%{{.*}}, %[[M]]
// CHECK: %[[L:.*]] = attn.reduce add "bkgij->bkgi" %[[E]]
// CHECK: %[[D:.*]] = attn.map "bkgi,bkgi->bkgi" ins(%[[M]], %[[L]] : {{.*}}) captures(%[[SIG]] : tensor<4xf32>)
// CHECK-NEXT: ^bb0(%{{.*}}: index, %[[K:.*]]: index, %[[G:.*]]: index, %{{.*}}: index, %[[MA:.*]]: f32, %[[LA:.*]]: f32, %[[SA:.*]]: tensor<4xf32>):
// CHECK:   %[[KG:.*]] = arith.muli %[[K]], %{{.*}} : index
// CHECK:   %[[H:.*]] = arith.addi %[[KG]], %[[G]] : index
// CHECK:   %[[S:.*]] = tensor.extract %[[SA]][%[[H]]]
// CHECK:   %[[DIFF:.*]] = arith.subf %[[S]], %[[MA]]
// CHECK:   %[[EX:.*]] = math.exp %[[DIFF]]
// CHECK:   %[[SINK:.*]] = arith.select %{{.*}}, %{{.*}}, %[[EX]]
// CHECK:   arith.addf %[[LA]], %[[SINK]]
// CHECK: %[[P:.*]] = attn.map "bkgij,bkgi->bkgij" ins(%[[E]], %[[D]]
// CHECK:   arith.divf
// CHECK: attn.contract "bkgij,bkjf->bkgif" combine(mul) reduce(add) %[[P]]
// CHECK: attn.map "bkgi,bkgi->bkgi" ins(%[[M]], %[[L]] : {{.*}}) captures(%[[SIG]] : tensor<4xf32>)
// CHECK:   arith.maximumf
// CHECK:   math.log
func.func @sink_logits(%q: tensor<1x4x?x32xf32>, %k: tensor<1x2x?x32xf32>, %v: tensor<1x2x?x32xf32>, %sinks: tensor<4xf32>) -> (tensor<1x4x?x32xf32>, tensor<1x4x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v sink_logits(%sinks : tensor<4xf32>) {normalizer = #attn.normalizer<softmax>}
      : tensor<1x4x?x32xf32>, tensor<1x2x?x32xf32>, tensor<1x2x?x32xf32> -> tensor<1x4x?x32xf32>, tensor<1x4x?xf32>
  return %o, %lse : tensor<1x4x?x32xf32>, tensor<1x4x?xf32>
}

// -----

// None (linear): P·V on the masked scores directly; masked scores are 0.
// CHECK-LABEL: func.func @none
// CHECK: %[[S:.*]] = attn.map "bhij->bhij" ins
// CHECK:   %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:   arith.select %{{.*}}, %{{.*}}, %[[Z]]
// CHECK-NOT: attn.reduce
// CHECK: attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %[[S]]
func.func @none(%q: tensor<1x2x?x32xf32>, %k: tensor<1x2x?x32xf32>, %v: tensor<1x2x?x32xf32>) -> tensor<1x2x?x32xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<none>}
      : tensor<1x2x?x32xf32>, tensor<1x2x?x32xf32>, tensor<1x2x?x32xf32> -> tensor<1x2x?x32xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c = arith.cmpi ule, %j, %i : index
        attn.yield %c : i1
      }
  return %o : tensor<1x2x?x32xf32>
}

// -----

// GQA: q expands to [B, Hkv, G, Nq, D]; the query head seen by the regions
// is k·G + g; results collapse back to [B, Hq, ...].
// CHECK-LABEL: func.func @gqa
// CHECK: %[[QE:.*]] = tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2], [3], [4]] {{.*}} : tensor<1x8x?x16xf32> into tensor<1x2x4x?x16xf32>
// CHECK: attn.contract "bkgid,bkjd->bkgij" combine(mul) reduce(add) %[[QE]]
// CHECK: attn.map "bkgij->bkgij"
// CHECK-NEXT: ^bb0(%{{[a-z0-9_]+}}: index, %[[KH:[a-z0-9_]+]]: index, %[[G:[a-z0-9_]+]]: index,
// CHECK:   %[[FOUR:.*]] = arith.constant 4 : index
// CHECK:   %[[KG:.*]] = arith.muli %[[KH]], %[[FOUR]]
// CHECK:   %[[H:.*]] = arith.addi %[[KG]], %[[G]]
// CHECK:   arith.cmpi ult, %[[H]]
// CHECK: attn.contract "bkgij,bkjf->bkgif"
// CHECK: %[[O:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2], [3], [4]] : tensor<1x2x4x?x16xf32> into tensor<1x8x?x16xf32>
// CHECK: %[[LSE:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2], [3]] : tensor<1x2x4x?xf32> into tensor<1x8x?xf32>
// CHECK: return %[[O]], %[[LSE]]
func.func @gqa(%q: tensor<1x8x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> (tensor<1x8x?x16xf32>, tensor<1x8x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x8x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x8x?x16xf32>, tensor<1x8x?xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c3 = arith.constant 3 : index
        %c = arith.cmpi ult, %h, %c3 : index
        attn.yield %c : i1
      }
  return %o, %lse : tensor<1x8x?x16xf32>, tensor<1x8x?xf32>
}

// -----

// Dynamic head counts: the group size is G = Hq / Hkv at run time (1 when
// Hq = Hkv), so the grouped form is used with G dynamic: the expand_shape
// takes it as an output size and the score map captures it to recover the
// query head k·G + g.
// CHECK-LABEL: func.func @gqa_dynamic
// CHECK-SAME: (%[[Q:[a-z0-9]+]]: tensor<?x?x?x16xf32>, %[[K:[a-z0-9]+]]: tensor<?x?x?x16xf32>
// CHECK-DAG: %[[HQ:.*]] = tensor.dim %[[Q]], %{{.*}} : tensor<?x?x?x16xf32>
// CHECK-DAG: %[[HKV:.*]] = tensor.dim %[[K]], %{{.*}} : tensor<?x?x?x16xf32>
// CHECK: %[[GS:.*]] = arith.divui %[[HQ]], %[[HKV]] : index
// CHECK: %[[QE:.*]] = tensor.expand_shape %[[Q]] {{\[\[}}0], [1, 2], [3], [4]] output_shape [%{{.*}}, %{{.*}}, %[[GS]], %{{.*}}, 16] : tensor<?x?x?x16xf32> into tensor<?x?x?x?x16xf32>
// CHECK: attn.contract "bkgid,bkjd->bkgij" combine(mul) reduce(add) %[[QE]], %[[K]]
// CHECK: attn.map "bkgij->bkgij" ins(%{{.*}}) captures(%{{.*}}, %{{.*}}, %[[GS]] : index, index, index)
// CHECK-NEXT: ^bb0(%{{[a-z0-9_]+}}: index, %[[KH:[a-z0-9_]+]]: index, %[[G:[a-z0-9_]+]]: index, %{{[a-z0-9_]+}}: index, %{{[a-z0-9_]+}}: index, %{{[a-z0-9_]+}}: f32, %{{[a-z0-9_]+}}: index, %{{[a-z0-9_]+}}: index, %[[GARG:[a-z0-9_]+]]: index):
// CHECK:   %[[KG:.*]] = arith.muli %[[KH]], %[[GARG]]
// CHECK:   %[[H:.*]] = arith.addi %[[KG]], %[[G]]
// CHECK:   arith.cmpi ult, %[[H]]
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2], [3], [4]] : tensor<?x?x?x?x16xf32> into tensor<?x?x?x16xf32>
func.func @gqa_dynamic(%q: tensor<?x?x?x16xf32>, %k: tensor<?x?x?x16xf32>, %v: tensor<?x?x?x16xf32>) -> tensor<?x?x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x?x?x16xf32>, tensor<?x?x?x16xf32>, tensor<?x?x?x16xf32> -> tensor<?x?x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c3 = arith.constant 3 : index
        %c = arith.cmpi ult, %h, %c3 : index
        attn.yield %c : i1
      }
  return %o : tensor<?x?x?x16xf32>
}
