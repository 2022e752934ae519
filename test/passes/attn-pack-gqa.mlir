// RUN: attn-opt %s --attn-pack-gqa --split-input-file --verify-diagnostics | FileCheck %s

// GQA, 8 query heads on 2 KV heads: q, o and lse take the packed shape
// [B, Hkv, 4·Nq, ...]; the regions recompute the variant's own nq, i and h
// from the packed ones (nq = nq' / 4, i = r mod nq, h = h'·4 + r / nq).
// CHECK-LABEL: func.func @gqa
// CHECK-SAME: (%[[Q:[a-z0-9_]+]]: tensor<?x2x?x64xf16>, %{{.*}}: tensor<?x2x?x64xf16>, %{{.*}}: tensor<?x2x?x64xf16>, %{{.*}}: tensor<8xf32>)
// CHECK-SAME: -> (tensor<?x2x?x64xf16>, tensor<?x2x?xf32>)
// CHECK: attn.attention %[[Q]]
// CHECK-SAME: gqa_packed = 4 : i64
// CHECK-SAME: -> tensor<?x2x?x64xf16>, tensor<?x2x?xf32>
// CHECK: score {
// CHECK: ^bb0(%{{[a-z0-9_]+}}: f32, %{{[a-z0-9_]+}}: index, %[[H:[a-z0-9_]+]]: index, %[[R:[a-z0-9_]+]]: index, %{{[a-z0-9_]+}}: index, %[[NQP:[a-z0-9_]+]]: index, %[[NK:[a-z0-9_]+]]: index,
// CHECK: %[[G:[a-z0-9_]+]] = arith.constant 4 : index
// CHECK: %[[NQ:[a-z0-9_]+]] = arith.divui %[[NQP]], %[[G]]
// CHECK: %[[I:[a-z0-9_]+]] = arith.remui %[[R]], %[[NQ]]
// CHECK: %[[MEMBER:[a-z0-9_]+]] = arith.divui %[[R]], %[[NQ]]
// CHECK: %[[FIRST:[a-z0-9_]+]] = arith.muli %[[H]], %[[G]]
// CHECK: %[[HEAD:[a-z0-9_]+]] = arith.addi %[[FIRST]], %[[MEMBER]]
// CHECK: tensor.extract %{{.*}}[%[[HEAD]]]
// CHECK: arith.addi %[[I]], %[[NK]]
// CHECK: arith.addi %{{.*}}, %[[NQ]]
// CHECK: mask {
// CHECK: ^bb0(%{{[a-z0-9_]+}}: index, %{{[a-z0-9_]+}}: index, %[[R2:[a-z0-9_]+]]: index, %[[J2:[a-z0-9_]+]]: index, %[[NQP2:[a-z0-9_]+]]: index,
// CHECK: %[[NQ2:[a-z0-9_]+]] = arith.divui %[[NQP2]], %{{.*}}
// CHECK: %[[I2:[a-z0-9_]+]] = arith.remui %[[R2]], %[[NQ2]]
// CHECK-NOT: arith.muli
// CHECK: arith.cmpi ule, %[[J2]], %[[I2]]
// CHECK: return %{{.*}}, %{{.*}} : tensor<?x2x?x64xf16>, tensor<?x2x?xf32>
func.func @gqa(%q: tensor<?x8x?x64xf16>, %k: tensor<?x2x?x64xf16>, %v: tensor<?x2x?x64xf16>,
               %slopes: tensor<8xf32>) -> (tensor<?x8x?x64xf16>, tensor<?x8x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v captures(%slopes : tensor<8xf32>) {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16> -> tensor<?x8x?x64xf16>, tensor<?x8x?xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %sl: tensor<8xf32>):
        %slope = tensor.extract %sl[%h] : tensor<8xf32>
        %row = arith.addi %i, %nk : index
        %col = arith.addi %j, %nq : index
        %d = arith.subi %col, %row : index
        %di = arith.index_cast %d : index to i64
        %df = arith.sitofp %di : i64 to f32
        %bias = arith.mulf %slope, %df : f32
        %r = arith.addf %s, %bias : f32
        attn.yield %r : f32
      }
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %sl: tensor<8xf32>):
        %attend = arith.cmpi ule, %j, %i : index
        attn.yield %attend : i1
      }
  return %o, %lse : tensor<?x8x?x64xf16>, tensor<?x8x?xf32>
}

// -----

// A static query length: the packed rows are static too (MQA, 4 heads).
// CHECK-LABEL: func.func @mqa_static
// CHECK-SAME: (%{{.*}}: tensor<1x1x12x64xf16>, %{{.*}}: tensor<1x1x?x64xf16>, %{{.*}}: tensor<1x1x?x64xf16>) -> tensor<1x1x12x64xf16>
// CHECK: gqa_packed = 4 : i64
func.func @mqa_static(%q: tensor<1x4x3x64xf16>, %k: tensor<1x1x?x64xf16>, %v: tensor<1x1x?x64xf16>) -> tensor<1x4x3x64xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x4x3x64xf16>, tensor<1x1x?x64xf16>, tensor<1x1x?x64xf16> -> tensor<1x4x3x64xf16>
  return %o : tensor<1x4x3x64xf16>
}

// -----

// Multi-head attention has no groups to pack.
// CHECK-LABEL: func.func @mha
// CHECK-SAME: tensor<?x8x?x64xf16>
// CHECK-NOT: gqa_packed
// expected-remark @below {{not packed: no query-head groups (Hq = 8, Hkv = 8)}}
func.func @mha(%q: tensor<?x8x?x64xf16>, %k: tensor<?x8x?x64xf16>, %v: tensor<?x8x?x64xf16>) -> tensor<?x8x?x64xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16> -> tensor<?x8x?x64xf16>
  return %o : tensor<?x8x?x64xf16>
}

// -----

// Sink logits stay one per query head; gqa_packed tells a row which
// (attn-decompose: σ[h'·4 + r / (nq' / 4)]).
// CHECK-LABEL: func.func @sinks
// CHECK-SAME: tensor<8xf32>
// CHECK: sink_logits(%{{.*}} : tensor<8xf32>) {gqa_packed = 4 : i64
func.func @sinks(%q: tensor<?x8x?x64xf16>, %k: tensor<?x2x?x64xf16>, %v: tensor<?x2x?x64xf16>, %s: tensor<8xf32>) -> tensor<?x8x?x64xf16> {
  %o = attn.attention %q, %k, %v sink_logits(%s : tensor<8xf32>) {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16> -> tensor<?x8x?x64xf16>
  return %o : tensor<?x8x?x64xf16>
}

// -----

// A capture sized by the query length would see the packed one.
// expected-remark @below {{not packed: capture argument 3 has a dimension bound to nq}}
func.func @by_row(%q: tensor<?x8x?x64xf16>, %k: tensor<?x2x?x64xf16>, %v: tensor<?x2x?x64xf16>,
                  %bias: tensor<?xf32> {attn.dims = ["nq"]}) -> tensor<?x8x?x64xf16> {
  %o = attn.attention %q, %k, %v captures(%bias : tensor<?xf32>) {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16> -> tensor<?x8x?x64xf16>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %bb: tensor<?xf32>):
        %x = tensor.extract %bb[%i] : tensor<?xf32>
        %r = arith.addf %s, %x : f32
        attn.yield %r : f32
      }
  return %o : tensor<?x8x?x64xf16>
}

// -----

// Dynamic head counts: the group is not known when compiling.
// expected-remark @below {{not packed: the head counts are dynamic}}
func.func @dynamic_heads(%q: tensor<?x?x?x64xf16>, %k: tensor<?x?x?x64xf16>, %v: tensor<?x?x?x64xf16>) -> tensor<?x?x?x64xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x?x?x64xf16>, tensor<?x?x?x64xf16>, tensor<?x?x?x64xf16> -> tensor<?x?x?x64xf16>
  return %o : tensor<?x?x?x64xf16>
}
