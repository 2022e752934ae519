// RUN: attn-opt %s --attn-decompose --attn-fold-exp2 --split-input-file | FileCheck %s

// Softmax: the scores are scaled by log2(e) after the mask; the numerator map
// takes exp2 of the difference of scaled values; lse unscales the max.
// CHECK-LABEL: func.func @softmax
// CHECK: attn.map "bhij->bhij"
// CHECK:   %[[SEL:.*]] = arith.select %{{.*}} {attn.mask
// CHECK:   %[[L2E:.*]] = arith.constant 1.44269502 : f32
// CHECK:   %[[S2:.*]] = arith.mulf %[[SEL]], %[[L2E]] : f32
// CHECK:   attn.yield %[[S2]] : f32
// CHECK: attn.reduce max
// CHECK: attn.map "bhij,bhi->bhij"
// CHECK-NOT: math.exp %
// CHECK:   math.exp2
// CHECK: attn.map "bhi,bhi->bhi"
// CHECK:   %[[LN2:.*]] = arith.constant 0.693147182 : f32
// CHECK:   %[[M:.*]] = arith.mulf %{{.*}}, %[[LN2]] : f32
// CHECK:   math.log
// CHECK:   arith.addf %[[M]],
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

// Sigmoid takes no exp of a difference of scores: nothing to gain, unchanged.
// CHECK-LABEL: func.func @sigmoid
// CHECK-NOT: 1.44269502
// CHECK-NOT: math.exp2
// CHECK: return
func.func @sigmoid(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<sigmoid>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
  return %o : tensor<1x2x?x16xf32>
}
