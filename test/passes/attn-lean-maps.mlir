// RUN: attn-opt %s --attn-lean-maps --split-input-file | FileCheck %s

// Softmax after -attn-fold-exp2: the scale folds into the log2(e) multiply
// (marked reassoc) and moves into the mask's select (-inf * K = -inf, exact);
// the numerator's exp2(s - m), with m the row max of s, is a weight in [0, 1]
// and is marked afn, and its (m == -inf) test moves from the element onto m.
// CHECK-LABEL: func.func @softmax(
// CHECK: attn.map "bhij->bhij"
// CHECK:   %[[C:.*]] = arith.cmpi ule
// CHECK:   %[[K:.*]] = arith.constant 0.360673755 : f32
// CHECK:   %[[S:.*]] = arith.mulf %{{.*}}, %[[K]] fastmath<reassoc> : f32
// CHECK-NOT: arith.mulf
// CHECK:   %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK:   %[[SEL:.*]] = arith.select %[[C]], %[[S]], %[[NINF]] {attn.mask = @softmax_mask} : f32
// CHECK:   attn.yield %[[SEL]] : f32
// CHECK: attn.reduce max
// CHECK: attn.map "bhij,bhi->bhij"
// CHECK: ^bb0({{.*}}, %[[X:.*]]: f32, %[[M:.*]]: f32):
// CHECK:   %[[EMPTY:.*]] = arith.cmpf oeq, %[[M]], %{{.*}} : f32
// CHECK:   %[[M0:.*]] = arith.select %[[EMPTY]], %{{.*}}, %[[M]] : f32
// CHECK:   %[[D:.*]] = arith.subf %[[X]], %[[M0]] : f32
// CHECK:   %[[E:.*]] = math.exp2 %[[D]] fastmath<afn> : f32
// CHECK-NEXT: attn.yield %[[E]] : f32
// The division by the row sum becomes one reciprocal per row (of the sum
// scaled into [2^-100, 2^100]) and two multiplies per element.
// CHECK: %[[L:.*]] = attn.reduce add
// CHECK: %[[R1:.*]] = attn.map "bhi->bhi" ins(%[[L]]
// CHECK:   math.absf
// CHECK:   arith.divf
// CHECK: %[[R2:.*]] = attn.map "bhi->bhi" ins(%[[L]]
// CHECK-NOT: arith.divf
// CHECK: attn.map "bhij,bhi,bhi,bhi->bhij" ins(%{{.*}}, %[[L]], %[[R1]], %[[R2]] :
// CHECK: ^bb0({{.*}}, %[[P:.*]]: f32, %[[SUM:.*]]: f32, %[[INV:.*]]: f32, %[[S:.*]]: f32):
// CHECK:   %[[PI:.*]] = arith.mulf %[[P]], %[[INV]] : f32
// CHECK:   arith.mulf %[[PI]], %[[S]] : f32
// CHECK-NOT: arith.divf
// CHECK: attn.contract
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
      %cst_3 = arith.constant 1.44269502 : f32
      %11 = arith.mulf %10, %cst_3 : f32
      attn.yield %11 : f32
    }
    %2 = attn.reduce max "bhij->bhi" %1 : tensor<1x2x?x?xf32> -> tensor<1x2x?xf32>
    %3 = attn.map "bhij,bhi->bhij" ins(%1, %2 : tensor<1x2x?x?xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: f32, %arg8: f32):
      %cst = arith.constant 0xFF800000 : f32
      %8 = arith.cmpf oeq, %arg8, %cst : f32
      %9 = arith.subf %arg7, %arg8 : f32
      %10 = math.exp2 %9 : f32
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
      %cst = arith.constant 0.693147182 : f32
      %8 = arith.mulf %arg6, %cst : f32
      %cst_2 = arith.constant 0.000000e+00 : f32
      %9 = arith.cmpf oeq, %arg7, %cst_2 : f32
      %10 = math.log %arg7 : f32
      %11 = arith.addf %8, %10 : f32
      %cst_3 = arith.constant 0xFF800000 : f32
      %12 = arith.select %9, %cst_3, %11 : f32
      attn.yield %12 : f32
    }
    return %6, %7 : tensor<1x2x?x16xf32>, tensor<1x2x?xf32>
  }
}


// -----

// The same cascade with a row sum in place of the row max: exp2(s - r) is not
// bounded by 1, so it keeps full precision and its per-element -inf test.
// CHECK-LABEL: func.func @not_a_max(
// CHECK: attn.reduce add
// CHECK: attn.map "bhij,bhi->bhij"
// CHECK:   arith.cmpf oeq
// CHECK:   %[[D:.*]] = arith.subf
// CHECK:   %[[E:.*]] = math.exp2 %[[D]] : f32
// CHECK:   %[[R:.*]] = arith.select %{{.*}}, %{{.*}}, %[[E]] : f32
// CHECK:   attn.yield %[[R]] : f32
module {
  func.func private @nm_mask(%arg0: index, %arg1: index, %arg2: index, %arg3: index, %arg4: index, %arg5: index) -> i1 {
    %0 = arith.cmpi ule, %arg3, %arg2 : index
    return %0 : i1
  }
  func.func @not_a_max(%arg0: tensor<1x2x?x16xf32>, %arg1: tensor<1x2x?x16xf32>, %arg2: tensor<1x2x?x16xf32>) -> (tensor<1x2x?x16xf32>, tensor<1x2x?xf32>) {
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
      %10 = arith.select %9, %8, %cst_2 {attn.mask = @nm_mask} : f32
      %cst_3 = arith.constant 1.44269502 : f32
      %11 = arith.mulf %10, %cst_3 : f32
      attn.yield %11 : f32
    }
    %2 = attn.reduce add "bhij->bhi" %1 : tensor<1x2x?x?xf32> -> tensor<1x2x?xf32>
    %3 = attn.map "bhij,bhi->bhij" ins(%1, %2 : tensor<1x2x?x?xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: f32, %arg8: f32):
      %cst = arith.constant 0xFF800000 : f32
      %8 = arith.cmpf oeq, %arg8, %cst : f32
      %9 = arith.subf %arg7, %arg8 : f32
      %10 = math.exp2 %9 : f32
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
      %cst = arith.constant 0.693147182 : f32
      %8 = arith.mulf %arg6, %cst : f32
      %cst_2 = arith.constant 0.000000e+00 : f32
      %9 = arith.cmpf oeq, %arg7, %cst_2 : f32
      %10 = math.log %arg7 : f32
      %11 = arith.addf %8, %10 : f32
      %cst_3 = arith.constant 0xFF800000 : f32
      %12 = arith.select %9, %cst_3, %11 : f32
      attn.yield %12 : f32
    }
    return %6, %7 : tensor<1x2x?x16xf32>, tensor<1x2x?xf32>
  }
}

