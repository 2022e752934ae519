// RUN: attn-opt %s --attn-score-mask --split-input-file | FileCheck %s

// FlexAttention's where(q_idx >= kv_idx, score, -inf): the condition becomes
// the mask, the score region (left yielding s) goes.
// CHECK-LABEL: func.func @score_causal
// CHECK: attn.attention
// CHECK-NOT: score {
// CHECK: mask {
// CHECK-NEXT: ^bb0(%[[B:.*]]: index, %[[H:.*]]: index, %[[I:.*]]: index, %[[J:.*]]: index, %{{.*}}: index, %{{.*}}: index):
// CHECK-NEXT: %[[C:.*]] = arith.cmpi sle, %[[J]], %[[I]] : index
// CHECK-NEXT: attn.yield %[[C]] : i1
func.func @score_causal(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %ninf = arith.constant 0xFF800000 : f32
        %c = arith.cmpi sle, %j, %i : index
        %r = arith.select %c, %s, %ninf : f32
        attn.yield %r : f32
      }
  return %o : tensor<1x2x?x16xf32>
}

// -----

// -inf on the true side: the negated condition, and-ed with the existing
// mask; the rest of the score region (soft-capping) stays; a capture the
// condition reads comes along as the mask's argument.
// CHECK-LABEL: func.func @capped_prefix
// CHECK: score {
// CHECK-NEXT: ^bb0(%[[S:.*]]: f32, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index):
// CHECK: math.tanh
// CHECK-NOT: arith.select
// CHECK: attn.yield
// CHECK: mask {
// CHECK-NEXT: ^bb0(%{{.*}}: index, %{{.*}}: index, %[[I:.*]]: index, %[[J:.*]]: index, %{{.*}}: index, %{{.*}}: index, %[[P:.*]]: index):
// CHECK-NEXT: %[[W:.*]] = arith.cmpi sle, %[[J]], %[[I]] : index
// CHECK-NEXT: %[[OUT:.*]] = arith.cmpi sge, %[[J]], %[[P]] : index
// CHECK-NEXT: %[[GT:.*]] = arith.cmpi sgt, %[[J]], %[[I]] : index
// CHECK-NEXT: %[[BAD:.*]] = arith.andi %[[OUT]], %[[GT]] : i1
// CHECK-NEXT: %[[TRUE:.*]] = arith.constant true
// CHECK-NEXT: %[[OK:.*]] = arith.xori %[[BAD]], %[[TRUE]] : i1
// CHECK-NEXT: %[[BOTH:.*]] = arith.andi %[[W]], %[[OK]] : i1
// CHECK-NEXT: attn.yield %[[BOTH]] : i1
func.func @capped_prefix(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>, %p: index) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v captures(%p : index) {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %pp: index):
        %cap = arith.constant 30.0 : f32
        %x = arith.divf %s, %cap : f32
        %t = math.tanh %x : f32
        %y = arith.mulf %t, %cap : f32
        %ninf = arith.constant 0xFF800000 : f32
        %out = arith.cmpi sge, %j, %pp : index
        %gt = arith.cmpi sgt, %j, %i : index
        %bad = arith.andi %out, %gt : i1
        %r = arith.select %bad, %ninf, %y : f32
        attn.yield %r : f32
      }
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %pp: index):
        %w = arith.cmpi sle, %j, %i : index
        attn.yield %w : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

// -----

// Left alone: a condition that reads the score (a threshold is not a mask
// the analysis could use), and the `none` normalizer, where -inf is a value.
// CHECK-LABEL: func.func @threshold
// CHECK: score {
// CHECK: arith.select
// CHECK-NOT: mask {
// CHECK-LABEL: func.func @linear
// CHECK: score {
// CHECK: arith.select
// CHECK-NOT: mask {
func.func @threshold(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %ninf = arith.constant 0xFF800000 : f32
        %zero = arith.constant 0.0 : f32
        %c = arith.cmpf ogt, %s, %zero : f32
        %r = arith.select %c, %s, %ninf : f32
        attn.yield %r : f32
      }
  return %o : tensor<1x2x?x16xf32>
}
func.func @linear(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<none>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %ninf = arith.constant 0xFF800000 : f32
        %c = arith.cmpi sle, %j, %i : index
        %r = arith.select %c, %s, %ninf : f32
        attn.yield %r : f32
      }
  return %o : tensor<1x2x?x16xf32>
}
