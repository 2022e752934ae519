// RUN: not attn-opt %s --split-input-file --attn-derive-backward 2>/dev/null | FileCheck %s
// RUN: attn-opt %s --split-input-file --attn-derive-backward --verify-diagnostics -o /dev/null

// The backward of a causal variant with a learned bias table (read by the
// score) and a distance threshold (read by the mask only): the forward state
// (row max and sum, which @bias_forward returns after o), one cotangent
// argument (dO), the transposed contractions, a scatter into the table at the
// positions the score read, and no gradient for the threshold. The backward
// recomputes no reduction of the forward.
// CHECK-LABEL: func.func @bias(
// CHECK-LABEL: func.func @bias_forward(
// CHECK-SAME: -> (tensor<1x2x?x16xf32>, tensor<1x2x?xf32>, tensor<1x2x?xf32>)
// CHECK: %[[MAX:.*]] = attn.reduce max "bhij->bhi"
// CHECK: %[[SUM:.*]] = attn.reduce add "bhij->bhi"
// CHECK: return %{{.*}}, %[[MAX]], %[[SUM]]
// CHECK-LABEL: func.func @bias_backward(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<1x2x?x16xf32>, %[[K:[^:]*]]: tensor<1x2x?x16xf32>, %[[V:[^:]*]]: tensor<1x2x?x16xf32>, %[[T:[^:]*]]: tensor<2x8xf32>, %[[TH:[^:]*]]: tensor<2xf32>, %[[M:[^:]*]]: tensor<1x2x?xf32>, %[[L:[^:]*]]: tensor<1x2x?xf32>, %[[DO:[^:]*]]: tensor<1x2x?x16xf32>)
// CHECK-SAME: -> (tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<2x8xf32>)
// CHECK-SAME: attributes {attn.gradients = array<i64: 0, 1, 2, 3>}
// The forward's element-wise values, recomputed from the state, and
// neither O = P·V nor any reduction of the forward.
// CHECK-NOT: attn.reduce
// CHECK: %[[S:.*]] = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %[[Q]], %[[K]]
// CHECK: attn.map "bhij,bhi->bhij" ins(%{{.*}}, %[[M]] :
// CHECK: %[[P:.*]] = attn.map "bhij,bhi->bhij" ins(%{{.*}}, %[[L]] :
// CHECK-NOT: "bhij,bhjf->bhif"
// dP = dO·Vᵀ and dV = Pᵀ·dO.
// CHECK: %[[DP:.*]] = attn.contract "bhif,bhjf->bhij" combine(mul) reduce(add) %[[DO]], %[[V]]
// CHECK: %[[DV:.*]] = attn.contract "bhif,bhij->bhjf" combine(mul) reduce(add) %[[DO]], %[[P]]
// The row sum's gradient: summed over the keys (a one-input contraction).
// CHECK: attn.contract "bhij->bhi" combine(mul) reduce(add)
// The table: the score's derivative with respect to the entry it read (the
// gradient alone: the derivative of s + bias needs no forward value).
// CHECK: %[[DT:.*]] = attn.scatter_add "bhij->bhij" ins(%{{.*}} : {{.*}}) captures({{.*}}) like(%[[T]] : tensor<2x8xf32>) -> tensor<2x8xf32>
// CHECK: %[[ROW:.*]] = arith.minui
// CHECK: attn.yield %{{.*}}, %[[ROW]], %{{.*}} : index, index, f32
// dQ = dS·K and dK = dSᵀ·Q.
// CHECK: %[[DQ:.*]] = attn.contract "bhij,bhjd->bhid" combine(mul) reduce(add) %{{.*}}, %[[K]]
// CHECK: %[[DK:.*]] = attn.contract "bhij,bhid->bhjd" combine(mul) reduce(add) %{{.*}}, %[[Q]]
// CHECK: return %[[DQ]], %[[DK]], %[[DV]], %[[DT]]
// CHECK-NOT: like(%[[TH]]
// expected-remark @+1 {{the backward (@bias_backward) reads 2 value(s) of the forward: attn.reduce max "bhij->bhi", attn.reduce add "bhij->bhi" (@bias_forward returns them last)}}
func.func @bias(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>,
                %table: tensor<2x8xf32>, %threshold: tensor<2xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v captures(%table, %threshold : tensor<2x8xf32>, tensor<2xf32>)
      {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index,
           %t: tensor<2x8xf32>, %th: tensor<2xf32>):
        %c7 = arith.constant 7 : index
        %d = arith.subi %i, %j : index
        %r = arith.minui %d, %c7 : index
        %bias = tensor.extract %t[%h, %r] : tensor<2x8xf32>
        %x = arith.addf %s, %bias : f32
        attn.yield %x : f32
      }
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index,
           %t: tensor<2x8xf32>, %th: tensor<2xf32>):
        %lim = tensor.extract %th[%h] : tensor<2xf32>
        %ii = arith.index_cast %i : index to i64
        %jj = arith.index_cast %j : index to i64
        %d = arith.subi %ii, %jj : i64
        %df = arith.sitofp %d : i64 to f32
        %in = arith.cmpf ole, %df, %lim : f32
        %causal = arith.cmpi ule, %j, %i : index
        %m = arith.andi %in, %causal : i1
        attn.yield %m : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

// -----

// GQA with lse: the state in the grouped form, two cotangents (dO, dlse); q
// is grouped with expand_shape, so dq collapses back, and dK/dV sum over the
// group letter g.
// CHECK-LABEL: func.func @gqa_backward(
// CHECK-SAME: %{{[^:]*}}: tensor<1x4x?x16xf16>, %{{[^:]*}}: tensor<1x2x?x16xf16>, %{{[^:]*}}: tensor<1x2x?x16xf16>, %{{[^:]*}}: tensor<1x2x2x?xf32>, %{{[^:]*}}: tensor<1x2x2x?xf32>, %{{[^:]*}}: tensor<1x4x?x16xf32>, %{{[^:]*}}: tensor<1x4x?xf32>)
// CHECK-SAME: -> (tensor<1x4x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>)
// CHECK: attn.contract "bkgif,bkgij->bkjf"
// CHECK: attn.contract "bkgij,bkgid->bkjd"
// CHECK: tensor.collapse_shape {{.*}} tensor<1x2x2x?x16xf32> into tensor<1x4x?x16xf32>
// expected-remark @+1 {{reads 2 value(s) of the forward}}
func.func @gqa(%q: tensor<1x4x?x16xf16>, %k: tensor<1x2x?x16xf16>, %v: tensor<1x2x?x16xf16>)
    -> (tensor<1x4x?x16xf16>, tensor<1x4x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x4x?x16xf16>, tensor<1x2x?x16xf16>, tensor<1x2x?x16xf16>
      -> tensor<1x4x?x16xf16>, tensor<1x4x?xf32>
  return %o, %lse : tensor<1x4x?x16xf16>, tensor<1x4x?xf32>
}

// -----

// An op on the path from an argument to a result without a derivative is
// reported where it is.
func.func @summed(%q: tensor<1x1x?x16xf32>, %k: tensor<1x1x?x16xf32>, %v: tensor<1x1x?x16xf32>)
    -> tensor<1x1x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<sigmoid>}
      : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32> -> tensor<1x1x?x16xf32>
  // expected-error @+1 {{'attn.contract' op has no derivative: the backward differentiates contractions that combine by mul and reduce by add}}
  %s = attn.contract "bhid,bhid->bhid" combine(add) reduce(add) %o, %o
      : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32> -> tensor<1x1x?x16xf32>
  return %s : tensor<1x1x?x16xf32>
}

// -----

// Sigmoid reads nothing of the forward.
// expected-remark @+1 {{the backward (@sigmoid_backward) reads 0 value(s) of the forward (@sigmoid_forward returns the results only)}}
func.func @sigmoid(%q: tensor<1x1x?x16xf32>, %k: tensor<1x1x?x16xf32>, %v: tensor<1x1x?x16xf32>)
    -> tensor<1x1x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<sigmoid>}
      : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32> -> tensor<1x1x?x16xf32>
  return %o : tensor<1x1x?x16xf32>
}

// -----

// Names already taken: the derived functions are renamed, never duplicated.
// CHECK-LABEL: func.func @taken_forward_0(
// CHECK-LABEL: func.func @taken_backward_0(
// CHECK: func.func private @taken_backward()
// CHECK: func.func private @taken_forward()
// expected-remark @+1 {{the backward (@taken_backward_0) reads 0 value(s) of the forward (@taken_forward_0 returns the results only)}}
func.func @taken(%q: tensor<1x1x?x16xf32>, %k: tensor<1x1x?x16xf32>, %v: tensor<1x1x?x16xf32>)
    -> tensor<1x1x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<sigmoid>}
      : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32> -> tensor<1x1x?x16xf32>
  return %o : tensor<1x1x?x16xf32>
}
func.func private @taken_backward()
func.func private @taken_forward()

// -----

// A float scalar computed from an argument would carry a gradient past the
// cascade's rules: refused where it is computed.
func.func @scalar_capture(%q: tensor<1x1x?x16xf32>, %k: tensor<1x1x?x16xf32>, %v: tensor<1x1x?x16xf32>,
                          %t: tensor<f32>) -> tensor<1x1x?x16xf32> {
  // expected-error @+1 {{'tensor.extract' op computes a float that is not a ranked tensor from an argument; the backward differentiates tensors of the cascade only (capture the tensor itself)}}
  %s = tensor.extract %t[] : tensor<f32>
  %o = attn.attention %q, %k, %v captures(%s : f32) {normalizer = #attn.normalizer<softmax>}
      : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32> -> tensor<1x1x?x16xf32>
      score {
      ^bb0(%x: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %c: f32):
        %y = arith.mulf %x, %c : f32
        attn.yield %y : f32
      }
  return %o : tensor<1x1x?x16xf32>
}
