// RUN: attn-opt %s --attn-fold-exp2 --split-input-file | FileCheck %s

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
module {
  func.func private @softmax_mask(%arg0: index, %arg1: index, %arg2: index, %arg3: index, %arg4: index, %arg5: index) -> i1 {
    %0 = arith.cmpi ule, %arg3, %arg2 : index
    return %0 : i1
  }
  func.func @softmax(%arg0: tensor<1x2x?x16xf32>, %arg1: tensor<1x2x?x16xf32>, %arg2: tensor<1x2x?x16xf32>) -> (tensor<1x2x?x16xf32>, tensor<1x2x?xf32>) {
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %arg0, %c2 : tensor<1x2x?x16xf32>
    %c2_0 = arith.constant 2 : index
    %dim_1 = tensor.dim %arg1, %c2_0 : tensor<1x2x?x16xf32>
    %0 = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %arg0, %arg1 : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x?xf32>
    %1 = attn.map "bhij->bhij" ins(%0 : tensor<1x2x?x?xf32>) captures(%dim, %dim_1 : index, index) -> tensor<1x2x?x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: f32, %arg8: index, %arg9: index):
      %cst = arith.constant 2.500000e-01 : f32
      %8 = arith.mulf %arg7, %cst : f32
      %9 = arith.cmpi ule, %arg6, %arg5 : index
      %cst_2 = arith.constant 0xFF800000 : f32
      %10 = arith.select %9, %8, %cst_2 {attn.mask = @softmax_mask} : f32
      attn.yield %10 : f32
    }
    %2 = attn.reduce max "bhij->bhi" %1 : tensor<1x2x?x?xf32> -> tensor<1x2x?xf32>
    %3 = attn.map "bhij,bhi->bhij" ins(%1, %2 : tensor<1x2x?x?xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: f32, %arg8: f32):
      %cst = arith.constant 0xFF800000 : f32
      %8 = arith.cmpf oeq, %arg8, %cst : f32
      %9 = arith.subf %arg7, %arg8 : f32
      %10 = math.exp %9 : f32
      %cst_2 = arith.constant 0.000000e+00 : f32
      %11 = arith.select %8, %cst_2, %10 : f32
      attn.yield %11 : f32
    }
    %4 = attn.reduce add "bhij->bhi" %3 : tensor<1x2x?x?xf32> -> tensor<1x2x?xf32>
    %5 = attn.map "bhij,bhi->bhij" ins(%3, %4 : tensor<1x2x?x?xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: f32, %arg8: f32):
      %cst = arith.constant 0.000000e+00 : f32
      %8 = arith.cmpf oeq, %arg8, %cst : f32
      %9 = arith.divf %arg7, %arg8 : f32
      %cst_2 = arith.constant 0.000000e+00 : f32
      %10 = arith.select %8, %cst_2, %9 : f32
      attn.yield %10 : f32
    }
    %6 = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %5, %arg2 : tensor<1x2x?x?xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
    %7 = attn.map "bhi,bhi->bhi" ins(%2, %4 : tensor<1x2x?xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: f32, %arg7: f32):
      %cst = arith.constant 0.000000e+00 : f32
      %8 = arith.cmpf oeq, %arg7, %cst : f32
      %9 = math.log %arg7 : f32
      %10 = arith.addf %arg6, %9 : f32
      %cst_2 = arith.constant 0xFF800000 : f32
      %11 = arith.select %8, %cst_2, %10 : f32
      attn.yield %11 : f32
    }
    return %6, %7 : tensor<1x2x?x16xf32>, tensor<1x2x?xf32>
  }
}

// -----

// Sigmoid takes no exp of a difference of scores: nothing to gain, unchanged.
// CHECK-LABEL: func.func @sigmoid
// CHECK-NOT: 1.44269502
// CHECK-NOT: math.exp2
// CHECK: return
module {
  func.func @sigmoid(%arg0: tensor<1x2x?x16xf32>, %arg1: tensor<1x2x?x16xf32>, %arg2: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %arg0, %c2 : tensor<1x2x?x16xf32>
    %c2_0 = arith.constant 2 : index
    %dim_1 = tensor.dim %arg1, %c2_0 : tensor<1x2x?x16xf32>
    %0 = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %arg0, %arg1 : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x?xf32>
    %1 = attn.map "bhij->bhij" ins(%0 : tensor<1x2x?x?xf32>) captures(%dim, %dim_1 : index, index) -> tensor<1x2x?x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: f32, %arg8: index, %arg9: index):
      %cst = arith.constant 2.500000e-01 : f32
      %4 = arith.mulf %arg7, %cst : f32
      attn.yield %4 : f32
    }
    %2 = attn.map "bhij->bhij" ins(%1 : tensor<1x2x?x?xf32>) captures(%dim_1 : index) -> tensor<1x2x?x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: f32, %arg8: index):
      %4 = arith.index_cast %arg8 : index to i64
      %5 = arith.sitofp %4 : i64 to f32
      %6 = math.log %5 : f32
      %7 = arith.negf %6 : f32
      %8 = arith.addf %arg7, %7 : f32
      %9 = arith.negf %8 : f32
      %10 = math.exp %9 : f32
      %cst = arith.constant 1.000000e+00 : f32
      %11 = arith.addf %cst, %10 : f32
      %cst_2 = arith.constant 1.000000e+00 : f32
      %12 = arith.divf %cst_2, %11 : f32
      attn.yield %12 : f32
    }
    %3 = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %2, %arg2 : tensor<1x2x?x?xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
    return %3 : tensor<1x2x?x16xf32>
  }
}
