// -attn-elementwise-to-map: element-wise arith/math ops on tensors at the
// function level become attn.map; a splat operand becomes a capture, a
// splat constant a constant in the body. A rank-4 epilogue (nothing it
// computes feeds an attention op) takes o's letters b, h, i and d, which
// attn-tile's grid keeps; what feeds an attention op takes other letters
// (attn-tile then refuses to fuse it: it is not per Q tile). Tensor reads
// and ops on tensors of different shapes are left alone.
// RUN: attn-opt %s --attn-elementwise-to-map | FileCheck %s

// CHECK-LABEL: func.func @arith
// CHECK-NOT: tensor.splat
// CHECK: %[[S:.*]] = attn.map "bhid->bhid" ins(%{{.*}} : tensor<?x4x?x8xf16>) captures(%arg2 : f16)
// CHECK-NEXT: ^bb0(%{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %[[X:.*]]: f16, %[[L:.*]]: f16):
// CHECK-NEXT: %[[M:.*]] = arith.mulf %[[L]], %[[X]] : f16
// CHECK-NEXT: attn.yield %[[M]] : f16
// CHECK: attn.map "bhid,bhid->bhid" ins(%arg0, %[[S]] : tensor<?x4x?x8xf16>, tensor<?x4x?x8xf16>)
// CHECK: arith.subf
func.func @arith(%a: tensor<?x4x?x8xf16>, %b: tensor<?x4x?x8xf16>, %l: f16) -> tensor<?x4x?x8xf16> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %d0 = tensor.dim %a, %c0 : tensor<?x4x?x8xf16>
  %d2 = tensor.dim %a, %c2 : tensor<?x4x?x8xf16>
  %s = tensor.splat %l[%d0, %d2] : tensor<?x4x?x8xf16>
  %m = arith.mulf %s, %b : tensor<?x4x?x8xf16>
  %r = arith.subf %a, %m : tensor<?x4x?x8xf16>
  return %r : tensor<?x4x?x8xf16>
}

// CHECK-LABEL: func.func @math
// CHECK-NOT: arith.constant dense
// CHECK: attn.map "ac->ac" ins(%arg0 : tensor<2x3xf32>)
// CHECK: math.exp
// CHECK: attn.map "ac->ac" ins(%{{.*}} : tensor<2x3xf32>)
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT: arith.addf %[[ONE]], %{{.*}} : f32
// CHECK: arith.extf %{{.*}} : f32 to f64
func.func @math(%a: tensor<2x3xf32>) -> tensor<2x3xf64> {
  %e = math.exp %a : tensor<2x3xf32>
  %one = arith.constant dense<1.0> : tensor<2x3xf32>
  %s = arith.addf %one, %e : tensor<2x3xf32>
  %w = arith.extf %s : tensor<2x3xf32> to tensor<2x3xf64>
  return %w : tensor<2x3xf64>
}

// Operands of different shapes are not element-wise here (arith has no
// broadcasting); non-splat constants stay tensors.
// CHECK-LABEL: func.func @left_alone
// CHECK: arith.addf %arg0, %cst : tensor<2xf32>
func.func @left_alone(%a: tensor<2xf32>) -> tensor<2xf32> {
  %c = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %r = arith.addf %a, %c : tensor<2xf32>
  return %r : tensor<2xf32>
}

// Scaling k before the attention: not an epilogue.
// CHECK-LABEL: func.func @prologue
// CHECK: attn.map "acel->acel"
// CHECK: attn.attention
func.func @prologue(%q: tensor<1x2x?x8xf32>, %k: tensor<1x2x?x8xf32>, %v: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
  %c2 = arith.constant 2 : index
  %n = tensor.dim %k, %c2 : tensor<1x2x?x8xf32>
  %two = arith.constant 2.0 : f32
  %s = tensor.splat %two[%n] : tensor<1x2x?x8xf32>
  %k2 = arith.mulf %k, %s : tensor<1x2x?x8xf32>
  %o = attn.attention %q, %k2, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32> -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}
