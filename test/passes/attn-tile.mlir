// RUN: attn-opt %s --attn-tile="block-m=32 warps=8 stages=3" --split-input-file --verify-diagnostics | FileCheck %s

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
module {
  func.func private @causal_mask(%arg0: index, %arg1: index, %arg2: index, %arg3: index, %arg4: index, %arg5: index) -> i1 {
    %0 = arith.cmpi ule, %arg3, %arg2 : index
    return %0 : i1
  }
  func.func @causal(%arg0: tensor<2x4x?x16xf32>, %arg1: tensor<2x4x?x16xf32>, %arg2: tensor<2x4x?x16xf32>) -> (tensor<2x4x?x16xf32>, tensor<2x4x?xf32>) {
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %arg0, %c2 : tensor<2x4x?x16xf32>
    %c2_0 = arith.constant 2 : index
    %dim_1 = tensor.dim %arg1, %c2_0 : tensor<2x4x?x16xf32>
    %0 = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %arg0, %arg1 : tensor<2x4x?x16xf32>, tensor<2x4x?x16xf32> -> tensor<2x4x?x?xf32>
    %1 = attn.map "bhij->bhij" ins(%0 : tensor<2x4x?x?xf32>) captures(%dim, %dim_1 : index, index) -> tensor<2x4x?x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: f32, %arg8: index, %arg9: index):
      %cst = arith.constant 2.500000e-01 : f32
      %8 = arith.mulf %arg7, %cst : f32
      %9 = arith.cmpi ule, %arg6, %arg5 : index
      %cst_2 = arith.constant 0xFF800000 : f32
      %10 = arith.select %9, %8, %cst_2 {attn.mask = @causal_mask} : f32
      attn.yield %10 : f32
    }
    %2 = attn.reduce max "bhij->bhi" %1 : tensor<2x4x?x?xf32> -> tensor<2x4x?xf32>
    %3 = attn.map "bhij,bhi->bhij" ins(%1, %2 : tensor<2x4x?x?xf32>, tensor<2x4x?xf32>) -> tensor<2x4x?x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: f32, %arg8: f32):
      %cst = arith.constant 0xFF800000 : f32
      %8 = arith.cmpf oeq, %arg8, %cst : f32
      %9 = arith.subf %arg7, %arg8 : f32
      %10 = math.exp %9 : f32
      %cst_2 = arith.constant 0.000000e+00 : f32
      %11 = arith.select %8, %cst_2, %10 : f32
      attn.yield %11 : f32
    }
    %4 = attn.reduce add "bhij->bhi" %3 : tensor<2x4x?x?xf32> -> tensor<2x4x?xf32>
    %5 = attn.map "bhij,bhi->bhij" ins(%3, %4 : tensor<2x4x?x?xf32>, tensor<2x4x?xf32>) -> tensor<2x4x?x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: f32, %arg8: f32):
      %cst = arith.constant 0.000000e+00 : f32
      %8 = arith.cmpf oeq, %arg8, %cst : f32
      %9 = arith.divf %arg7, %arg8 : f32
      %cst_2 = arith.constant 0.000000e+00 : f32
      %10 = arith.select %8, %cst_2, %9 : f32
      attn.yield %10 : f32
    }
    %6 = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %5, %arg2 : tensor<2x4x?x?xf32>, tensor<2x4x?x16xf32> -> tensor<2x4x?x16xf32>
    %7 = attn.map "bhi,bhi->bhi" ins(%2, %4 : tensor<2x4x?xf32>, tensor<2x4x?xf32>) -> tensor<2x4x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: f32, %arg7: f32):
      %cst = arith.constant 0.000000e+00 : f32
      %8 = arith.cmpf oeq, %arg7, %cst : f32
      %9 = math.log %arg7 : f32
      %10 = arith.addf %arg6, %9 : f32
      %cst_2 = arith.constant 0xFF800000 : f32
      %11 = arith.select %8, %cst_2, %10 : f32
      attn.yield %11 : f32
    }
    return %6, %7 : tensor<2x4x?x16xf32>, tensor<2x4x?xf32>
  }
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
module {
  func.func @gqa(%arg0: tensor<1x8x?x16xf32>, %arg1: tensor<1x2x?x16xf32>, %arg2: tensor<1x2x?x16xf32>) -> tensor<1x8x?x16xf32> {
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %arg0, %c2 : tensor<1x8x?x16xf32>
    %c2_0 = arith.constant 2 : index
    %dim_1 = tensor.dim %arg1, %c2_0 : tensor<1x2x?x16xf32>
    %c2_2 = arith.constant 2 : index
    %dim_3 = tensor.dim %arg0, %c2_2 : tensor<1x8x?x16xf32>
    %c1 = arith.constant 1 : index
    %expanded = tensor.expand_shape %arg0 [[0], [1, 2], [3], [4]] output_shape [1, 2, 4, %dim_3, 16] : tensor<1x8x?x16xf32> into tensor<1x2x4x?x16xf32>
    %0 = attn.contract "bkgid,bkjd->bkgij" combine(mul) reduce(add) %expanded, %arg1 : tensor<1x2x4x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x4x?x?xf32>
    %1 = attn.map "bkgij->bkgij" ins(%0 : tensor<1x2x4x?x?xf32>) captures(%dim, %dim_1 : index, index) -> tensor<1x2x4x?x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: index, %arg8: f32, %arg9: index, %arg10: index):
      %c4 = arith.constant 4 : index
      %7 = arith.muli %arg4, %c4 : index
      %8 = arith.addi %7, %arg5 : index
      %cst = arith.constant 2.500000e-01 : f32
      %9 = arith.mulf %arg8, %cst : f32
      attn.yield %9 : f32
    }
    %2 = attn.reduce max "bkgij->bkgi" %1 : tensor<1x2x4x?x?xf32> -> tensor<1x2x4x?xf32>
    %3 = attn.map "bkgij,bkgi->bkgij" ins(%1, %2 : tensor<1x2x4x?x?xf32>, tensor<1x2x4x?xf32>) -> tensor<1x2x4x?x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: index, %arg8: f32, %arg9: f32):
      %cst = arith.constant 0xFF800000 : f32
      %7 = arith.cmpf oeq, %arg9, %cst : f32
      %8 = arith.subf %arg8, %arg9 : f32
      %9 = math.exp %8 : f32
      %cst_4 = arith.constant 0.000000e+00 : f32
      %10 = arith.select %7, %cst_4, %9 : f32
      attn.yield %10 : f32
    }
    %4 = attn.reduce add "bkgij->bkgi" %3 : tensor<1x2x4x?x?xf32> -> tensor<1x2x4x?xf32>
    %5 = attn.map "bkgij,bkgi->bkgij" ins(%3, %4 : tensor<1x2x4x?x?xf32>, tensor<1x2x4x?xf32>) -> tensor<1x2x4x?x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: index, %arg8: f32, %arg9: f32):
      %cst = arith.constant 0.000000e+00 : f32
      %7 = arith.cmpf oeq, %arg9, %cst : f32
      %8 = arith.divf %arg8, %arg9 : f32
      %cst_4 = arith.constant 0.000000e+00 : f32
      %9 = arith.select %7, %cst_4, %8 : f32
      attn.yield %9 : f32
    }
    %6 = attn.contract "bkgij,bkjf->bkgif" combine(mul) reduce(add) %5, %arg2 : tensor<1x2x4x?x?xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x4x?x16xf32>
    %collapsed = tensor.collapse_shape %6 [[0], [1, 2], [3], [4]] : tensor<1x2x4x?x16xf32> into tensor<1x8x?x16xf32>
    return %collapsed : tensor<1x8x?x16xf32>
  }
}

// -----

// A cascade whose P·V output is not indexed by the scores' rows cannot be
// laid out on a grid; the pass says why and leaves it.
// CHECK-LABEL: func.func @no_pv
module {
  // expected-remark @+1 {{not tiled: no contraction over a produced letter (no P·V)}}
  func.func @no_pv(%arg0: tensor<4x8xf32>, %arg1: tensor<8x3xf32>) -> tensor<4x3xf32> {
    %0 = attn.contract "ik,kj->ij" combine(mul) reduce(add) %arg0, %arg1 : tensor<4x8xf32>, tensor<8x3xf32> -> tensor<4x3xf32>
    return %0 : tensor<4x3xf32>
  }
}
