// RUN: attn-opt %s --attn-decompose --attn-tile="block-m=32 warps=8 stages=3" --split-input-file --verify-diagnostics | FileCheck %s

// One loop per grid letter (batch, head, Q tile of 32 rows, ragged last);
// q is sliced to the tile, k and v to the (batch, head) slice; the cascade
// runs on the tile; the scores map sees i + the tile offset; the outputs
// are inserted into full-size destinations.
// CHECK-LABEL: func.func @causal
// CHECK-SAME: (%[[Q:[a-z0-9_]+]]: tensor<2x4x?x16xf32>, %[[K:[a-z0-9_]+]]: tensor<2x4x?x16xf32>, %[[V:[a-z0-9_]+]]: tensor<2x4x?x16xf32>)
// CHECK: %[[O0:.*]] = tensor.empty(%{{.*}}) : tensor<2x4x?x16xf32>
// CHECK: %[[LSE0:.*]] = tensor.empty(%{{.*}}) : tensor<2x4x?xf32>
// CHECK: %[[RES:.*]]:2 = scf.for %[[B:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[O0]], %{{.*}} = %[[LSE0]])
// CHECK:   scf.for %[[H:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK:     %[[BM:.*]] = arith.constant 32 : index
// CHECK:     scf.for %[[I:.*]] = %{{.*}} to %[[NQ:.*]] step %[[BM]] iter_args(%[[OA:.*]] = %{{.*}}, %[[LSEA:.*]] = %{{.*}})
// CHECK:       %[[LEFT:.*]] = arith.subi %[[NQ]], %[[I]]
// CHECK:       %[[LEN:.*]] = arith.minsi %[[BM]], %[[LEFT]]
// CHECK:       %[[QT:.*]] = tensor.extract_slice %[[Q]][%[[B]], %[[H]], %[[I]], 0] [1, 1, %[[LEN]], 16] [1, 1, 1, 1] : tensor<2x4x?x16xf32> to tensor<1x1x?x16xf32>
// CHECK:       %[[KT:.*]] = tensor.extract_slice %[[K]][%[[B]], %[[H]], 0, 0] [1, 1, %{{.*}}, 16] [1, 1, 1, 1]
// CHECK:       %[[VT:.*]] = tensor.extract_slice %[[V]][%[[B]], %[[H]], 0, 0] [1, 1, %{{.*}}, 16] [1, 1, 1, 1]
// CHECK:       attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %[[QT]], %[[KT]] : {{.*}} -> tensor<1x1x?x?xf32>
// CHECK:       attn.map "bhij->bhij" ins(%{{.*}}) captures(%{{.*}}, %{{.*}}, %[[I]] : index, index, index)
// CHECK-NEXT:  ^bb0(%{{[a-z0-9_]+}}: index, %{{[a-z0-9_]+}}: index, %[[IL:[a-z0-9_]+]]: index, %[[JL:[a-z0-9_]+]]: index, %{{[a-z0-9_]+}}: f32, %{{[a-z0-9_]+}}: index, %{{[a-z0-9_]+}}: index, %[[OFF:[a-z0-9_]+]]: index):
// CHECK-NEXT:    %[[IG:.*]] = arith.addi %[[IL]], %[[OFF]] : index
// CHECK:         arith.cmpi ule, %[[JL]], %[[IG]] : index
// CHECK:       attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %{{.*}}, %[[VT]]
// CHECK:       %[[OI:.*]] = tensor.insert_slice %{{.*}} into %[[OA]][%[[B]], %[[H]], %[[I]], 0] [1, 1, %{{.*}}, 16] [1, 1, 1, 1]
// CHECK:       %[[LSEI:.*]] = tensor.insert_slice %{{.*}} into %[[LSEA]][%[[B]], %[[H]], %[[I]]] [1, 1, %{{.*}}] [1, 1, 1]
// CHECK:       scf.yield %[[OI]], %[[LSEI]]
// CHECK:     } {attn.grid = #attn.grid<"i", rows>}
// CHECK:   } {attn.grid = #attn.grid<"h", slice>}
// CHECK: } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 32, warps = 8, stages = 3>}
// CHECK: return %[[RES]]#0, %[[RES]]#1
func.func @causal(%q: tensor<2x4x?x16xf32>, %k: tensor<2x4x?x16xf32>, %v: tensor<2x4x?x16xf32>) -> (tensor<2x4x?x16xf32>, tensor<2x4x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<2x4x?x16xf32>, tensor<2x4x?x16xf32>, tensor<2x4x?x16xf32> -> tensor<2x4x?x16xf32>, tensor<2x4x?xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c = arith.cmpi ule, %j, %i : index
        attn.yield %c : i1
      }
  return %o, %lse : tensor<2x4x?x16xf32>, tensor<2x4x?xf32>
}

// -----

// GQA: the grid is (batch, KV head, group member, Q tile); k and v are sliced
// by KV head only; the result collapses back to [B, Hq, ...] after the grid.
// CHECK-LABEL: func.func @gqa
// CHECK: tensor.expand_shape
// CHECK: scf.for
// CHECK:   scf.for %[[KH:[a-z0-9_]+]] = {{.*}}
// CHECK:     scf.for %[[G:[a-z0-9_]+]] = {{.*}}
// CHECK:       scf.for %[[I:[a-z0-9_]+]] = {{.*}}
// CHECK:         tensor.extract_slice %{{.*}}[%{{.*}}, %[[KH]], %[[G]], %[[I]], 0] [1, 1, 1, %{{.*}}, 16]
// CHECK:         tensor.extract_slice %{{.*}}[%{{.*}}, %[[KH]], 0, 0] [1, 1, %{{.*}}, 16]
// CHECK:         attn.contract "bkgid,bkjd->bkgij"
// CHECK:       } {attn.grid = #attn.grid<"i", rows>}
// CHECK:     } {attn.grid = #attn.grid<"g", slice>}
// CHECK:   } {attn.grid = #attn.grid<"k", slice>}
// CHECK: tensor.collapse_shape
func.func @gqa(%q: tensor<1x8x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x8x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x8x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x8x?x16xf32>
  return %o : tensor<1x8x?x16xf32>
}

// -----

// A cascade whose P·V output is not indexed by the scores' rows cannot be
// laid out on a grid; the pass says why and leaves it.
// CHECK-LABEL: func.func @no_pv
// expected-remark @+1 {{not tiled: no contraction over a produced letter (no P·V)}}
func.func @no_pv(%a: tensor<4x8xf32>, %b: tensor<8x3xf32>) -> tensor<4x3xf32> {
  %c = attn.contract "ik,kj->ij" combine(mul) reduce(add) %a, %b : tensor<4x8xf32>, tensor<8x3xf32> -> tensor<4x3xf32>
  return %c : tensor<4x3xf32>
}
