// RUN: attn-opt %s --attn-decompose --attn-online="tile-n=32" --split-input-file --verify-diagnostics | FileCheck %s

// Softmax: the one-pass form. The loop carries the running max, denominator
// and numerator; each tile computes its scores (the map sees j = t + u),
// updates the max, corrects the sums by the exp map evaluated at (old max,
// new max), and accumulates; the division happens once, after the loop.
// CHECK-LABEL: func.func @softmax
// CHECK-SAME: (%[[Q:[a-z0-9_]+]]: tensor<1x2x?x16xf32>, %[[K:[a-z0-9_]+]]: tensor<1x2x?x16xf32>, %[[V:[a-z0-9_]+]]: tensor<1x2x?x16xf32>)
// CHECK: %[[M0:.*]] = tensor.splat %{{.*}}[%{{.*}}] : tensor<1x2x?xf32>
// CHECK: %[[D0:.*]] = tensor.splat %{{.*}}[%{{.*}}] : tensor<1x2x?xf32>
// CHECK: %[[N0:.*]] = tensor.splat %{{.*}}[%{{.*}}] : tensor<1x2x?x16xf32>
// CHECK: %[[STEP:.*]] = arith.constant 32 : index
// CHECK: %[[LOOP:.*]]:3 = scf.for %[[T:.*]] = %{{.*}} to %[[NK:.*]] step %[[STEP]] iter_args(%[[M:.*]] = %[[M0]], %[[D:.*]] = %[[D0]], %[[N:.*]] = %[[N0]])
// CHECK:   %[[LEFT:.*]] = arith.subi %[[NK]], %[[T]]
// CHECK:   %[[LEN:.*]] = arith.minsi %[[STEP]], %[[LEFT]]
// CHECK:   %[[KT:.*]] = tensor.extract_slice %[[K]][0, 0, %[[T]], 0] [1, 2, %[[LEN]], 16] [1, 1, 1, 1]
// CHECK:   %[[VT:.*]] = tensor.extract_slice %[[V]][0, 0, %[[T]], 0] [1, 2, %[[LEN]], 16] [1, 1, 1, 1]
// CHECK:   %[[QK:.*]] = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %[[Q]], %[[KT]] : {{.*}} -> tensor<1x2x?x?xf32>
// CHECK:   %[[S:.*]] = attn.map "bhij->bhij" ins(%[[QK]] : {{.*}}) captures(%{{.*}}, %{{.*}}, %[[T]] : index, index, index)
// CHECK:     %[[JG:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK:     arith.cmpi ule, %[[JG]]
// CHECK:   %[[TM:.*]] = attn.reduce max "bhij->bhi" %[[S]]
// CHECK:   %[[MNEW:.*]] = attn.map "bhi,bhi->bhi" ins(%[[M]], %[[TM]]
// CHECK:     arith.maximumf
// CHECK:   %[[CORR:.*]] = attn.map "bhi,bhi->bhi" ins(%[[M]], %[[MNEW]]
// CHECK:     math.exp
// CHECK:   %[[E:.*]] = attn.map "bhij,bhi->bhij" ins(%[[S]], %[[MNEW]]
// CHECK:   %[[TD:.*]] = attn.reduce add "bhij->bhi" %[[E]]
// CHECK:   %[[DNEW:.*]] = attn.map "bhi,bhi,bhi->bhi" ins(%[[D]], %[[CORR]], %[[TD]]
// CHECK:     arith.mulf
// CHECK:     arith.addf
// CHECK:   %[[TN:.*]] = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %[[E]], %[[VT]]
// CHECK:   %[[NNEW:.*]] = attn.map "bhif,bhi,bhif->bhif" ins(%[[N]], %[[CORR]], %[[TN]]
// CHECK:   scf.yield %[[MNEW]], %[[DNEW]], %[[NNEW]]
// CHECK: %[[O:.*]] = attn.map "bhif,bhi->bhif" ins(%[[LOOP]]#2, %[[LOOP]]#1
// CHECK:   arith.divf
// CHECK: %[[LSE:.*]] = attn.map "bhi,bhi->bhi" ins(%[[LOOP]]#0, %[[LOOP]]#1
// CHECK:   math.log
// CHECK-NOT: attn.reduce
// CHECK: return %[[O]], %[[LSE]]
func.func @softmax(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> (tensor<1x2x?x16xf32>, tensor<1x2x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>, tensor<1x2x?xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c = arith.cmpi ule, %j, %i : index
        attn.yield %c : i1
      }
  return %o, %lse : tensor<1x2x?x16xf32>, tensor<1x2x?xf32>
}

// -----

// Sigmoid: already one pass; the loop carries the numerator only.
// CHECK-LABEL: func.func @sigmoid
// CHECK: scf.for {{.*}} iter_args(%[[N:.*]] = %{{.*}}) -> (tensor<1x2x?x16xf32>)
// CHECK-NOT: attn.reduce
// CHECK:   attn.contract "bhij,bhjf->bhif"
// CHECK:   attn.map "bhif,bhif->bhif" ins(%[[N]],
// CHECK:   scf.yield
func.func @sigmoid(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<sigmoid>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
  return %o : tensor<1x2x?x16xf32>
}

// -----

// Softplus: deferred normalisation. The loop sums p and p·v, no max, no
// correction; p / Σp moves after the loop.
// CHECK-LABEL: func.func @softplus
// CHECK: %[[LOOP:.*]]:2 = scf.for {{.*}} -> (tensor<1x2x?xf32>, tensor<1x2x?x16xf32>)
// CHECK-NOT: attn.reduce max
// CHECK:   attn.reduce add "bhij->bhi"
// CHECK:   attn.contract "bhij,bhjf->bhif"
// CHECK:   scf.yield
// CHECK: attn.map "bhif,bhi->bhif" ins(%[[LOOP]]#1, %[[LOOP]]#0
// CHECK:   arith.divf
func.func @softplus(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softplus>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
  return %o : tensor<1x2x?x16xf32>
}

// -----

// GQA: the loop slices K/V by their own KV-head layout; q stays expanded.
// CHECK-LABEL: func.func @gqa
// CHECK: tensor.expand_shape
// CHECK: scf.for
// CHECK:   tensor.extract_slice %{{.*}}[0, 0, %{{.*}}, 0] [1, 2, %{{.*}}, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x2x?x16xf32>
// CHECK:   attn.contract "bkgid,bkjd->bkgij"
// CHECK: tensor.collapse_shape
func.func @gqa(%q: tensor<1x8x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x8x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x8x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x8x?x16xf32>
  return %o : tensor<1x8x?x16xf32>
}

// -----

// A normalizer that needs the complete row (p = relu(s - mean_j s)): left as
// written, with the reason.
// CHECK-LABEL: func.func @needs_two_passes
// CHECK-NOT: scf.for
// expected-remark @+1 {{not rewritten: the cascade needs 2 passes over K/V even online}}
func.func @needs_two_passes(%s: tensor<1x2x4x?xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x4x16xf32> {
  %sum = attn.reduce add "bhij->bhi" %s : tensor<1x2x4x?xf32> -> tensor<1x2x4xf32>
  %p = attn.map "bhij,bhi->bhij" ins(%s, %sum : tensor<1x2x4x?xf32>, tensor<1x2x4xf32>) -> tensor<1x2x4x?xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32, %m: f32):
    %d = arith.subf %x, %m : f32
    %z = arith.constant 0.0 : f32
    %r = arith.maximumf %d, %z : f32
    attn.yield %r : f32
  }
  %o = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %p, %v : tensor<1x2x4x?xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x4x16xf32>
  return %o : tensor<1x2x4x16xf32>
}
