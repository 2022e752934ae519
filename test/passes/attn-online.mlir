// RUN: attn-opt %s --attn-online="tile-n=32" --split-input-file --verify-diagnostics | FileCheck %s

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

// Sigmoid: already one pass; the loop carries the numerator only.
// CHECK-LABEL: func.func @sigmoid
// CHECK: scf.for {{.*}} iter_args(%[[N:.*]] = %{{.*}}) -> (tensor<1x2x?x16xf32>)
// CHECK-NOT: attn.reduce
// CHECK:   attn.contract "bhij,bhjf->bhif"
// CHECK:   attn.map "bhif,bhif->bhif" ins(%[[N]],
// CHECK:   scf.yield
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
module {
  func.func @softplus(%arg0: tensor<1x2x?x16xf32>, %arg1: tensor<1x2x?x16xf32>, %arg2: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %arg0, %c2 : tensor<1x2x?x16xf32>
    %c2_0 = arith.constant 2 : index
    %dim_1 = tensor.dim %arg1, %c2_0 : tensor<1x2x?x16xf32>
    %0 = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %arg0, %arg1 : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x?xf32>
    %1 = attn.map "bhij->bhij" ins(%0 : tensor<1x2x?x?xf32>) captures(%dim, %dim_1 : index, index) -> tensor<1x2x?x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: f32, %arg8: index, %arg9: index):
      %cst = arith.constant 2.500000e-01 : f32
      %6 = arith.mulf %arg7, %cst : f32
      attn.yield %6 : f32
    }
    %2 = attn.map "bhij->bhij" ins(%1 : tensor<1x2x?x?xf32>) -> tensor<1x2x?x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: f32):
      %cst = arith.constant 0xFF800000 : f32
      %6 = arith.cmpf oeq, %arg7, %cst : f32
      %cst_2 = arith.constant 0.000000e+00 : f32
      %7 = arith.maximumf %arg7, %cst_2 : f32
      %8 = math.absf %arg7 : f32
      %9 = arith.negf %8 : f32
      %10 = math.exp %9 : f32
      %11 = math.log1p %10 : f32
      %12 = arith.addf %7, %11 : f32
      %cst_3 = arith.constant 0.000000e+00 : f32
      %13 = arith.select %6, %cst_3, %12 : f32
      attn.yield %13 : f32
    }
    %3 = attn.reduce add "bhij->bhi" %2 : tensor<1x2x?x?xf32> -> tensor<1x2x?xf32>
    %4 = attn.map "bhij,bhi->bhij" ins(%2, %3 : tensor<1x2x?x?xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: f32, %arg8: f32):
      %cst = arith.constant 0.000000e+00 : f32
      %6 = arith.cmpf oeq, %arg8, %cst : f32
      %7 = arith.divf %arg7, %arg8 : f32
      %cst_2 = arith.constant 0.000000e+00 : f32
      %8 = arith.select %6, %cst_2, %7 : f32
      attn.yield %8 : f32
    }
    %5 = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %4, %arg2 : tensor<1x2x?x?xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
    return %5 : tensor<1x2x?x16xf32>
  }
}

// -----

// GQA: the loop slices K/V by their own KV-head layout; q stays expanded.
// CHECK-LABEL: func.func @gqa
// CHECK: tensor.expand_shape
// CHECK: scf.for
// CHECK:   tensor.extract_slice %{{.*}}[0, 0, %{{.*}}, 0] [1, 2, %{{.*}}, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x2x?x16xf32>
// CHECK:   attn.contract "bkgid,bkjd->bkgij"
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

// A normalizer that needs the complete row (p = relu(s - mean_j s)): left as
// written, with the reason.
// CHECK-LABEL: func.func @needs_two_passes
// CHECK-NOT: scf.for
module {
  // expected-remark @+1 {{not rewritten: the cascade needs 2 passes over K/V even online}}
  func.func @needs_two_passes(%arg0: tensor<1x2x4x?xf32>, %arg1: tensor<1x2x?x16xf32>) -> tensor<1x2x4x16xf32> {
    %0 = attn.reduce add "bhij->bhi" %arg0 : tensor<1x2x4x?xf32> -> tensor<1x2x4xf32>
    %1 = attn.map "bhij,bhi->bhij" ins(%arg0, %0 : tensor<1x2x4x?xf32>, tensor<1x2x4xf32>) -> tensor<1x2x4x?xf32> {
    ^bb0(%arg2: index, %arg3: index, %arg4: index, %arg5: index, %arg6: f32, %arg7: f32):
      %3 = arith.subf %arg6, %arg7 : f32
      %cst = arith.constant 0.000000e+00 : f32
      %4 = arith.maximumf %3, %cst : f32
      attn.yield %4 : f32
    }
    %2 = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %1, %arg1 : tensor<1x2x4x?xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x4x16xf32>
    return %2 : tensor<1x2x4x16xf32>
  }
}

// -----

// Sink logits: the denominator D = l + e^(σ − m) is a per-row map of the
// final max and sum, so p = e / D is deferred like p = e / l: the loop sums
// the unscaled numerator and the division by D happens once, after D.
// CHECK-LABEL: func.func @sinks
// CHECK-SAME: %[[SIG:[a-z0-9_]+]]: tensor<2xf32>)
// CHECK: %[[LOOP:.*]]:3 = scf.for
// CHECK-NOT: tensor<2xf32>
// CHECK: scf.yield
// CHECK: %[[D:.*]] = attn.map "bhi,bhi->bhi" ins(%[[LOOP]]#0, %[[LOOP]]#1 : {{.*}}) captures(%[[SIG]] : tensor<2xf32>)
// CHECK: %[[O:.*]] = attn.map "bhif,bhi->bhif" ins(%[[LOOP]]#2, %[[D]]
// CHECK:   arith.divf
// CHECK: %[[LSE:.*]] = attn.map "bhi,bhi->bhi" ins(%[[LOOP]]#0, %[[LOOP]]#1 : {{.*}}) captures(%[[SIG]] : tensor<2xf32>)
// CHECK: return %[[O]], %[[LSE]]
module {
  func.func @sinks(%arg0: tensor<1x2x?x16xf32>, %arg1: tensor<1x2x?x16xf32>, %arg2: tensor<1x2x?x16xf32>, %arg3: tensor<2xf32>) -> (tensor<1x2x?x16xf32>, tensor<1x2x?xf32>) {
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %arg0, %c2 : tensor<1x2x?x16xf32>
    %c2_0 = arith.constant 2 : index
    %dim_1 = tensor.dim %arg1, %c2_0 : tensor<1x2x?x16xf32>
    %0 = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %arg0, %arg1 : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x?xf32>
    %1 = attn.map "bhij->bhij" ins(%0 : tensor<1x2x?x?xf32>) captures(%dim, %dim_1 : index, index) -> tensor<1x2x?x?xf32> {
    ^bb0(%arg4: index, %arg5: index, %arg6: index, %arg7: index, %arg8: f32, %arg9: index, %arg10: index):
      %cst = arith.constant 2.500000e-01 : f32
      %9 = arith.mulf %arg8, %cst : f32
      attn.yield %9 : f32
    }
    %2 = attn.reduce max "bhij->bhi" %1 : tensor<1x2x?x?xf32> -> tensor<1x2x?xf32>
    %3 = attn.map "bhij,bhi->bhij" ins(%1, %2 : tensor<1x2x?x?xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?x?xf32> {
    ^bb0(%arg4: index, %arg5: index, %arg6: index, %arg7: index, %arg8: f32, %arg9: f32):
      %cst = arith.constant 0xFF800000 : f32
      %9 = arith.cmpf oeq, %arg9, %cst : f32
      %10 = arith.subf %arg8, %arg9 : f32
      %11 = math.exp %10 : f32
      %cst_2 = arith.constant 0.000000e+00 : f32
      %12 = arith.select %9, %cst_2, %11 : f32
      attn.yield %12 : f32
    }
    %4 = attn.reduce add "bhij->bhi" %3 : tensor<1x2x?x?xf32> -> tensor<1x2x?xf32>
    %5 = attn.map "bhi,bhi->bhi" ins(%2, %4 : tensor<1x2x?xf32>, tensor<1x2x?xf32>) captures(%arg3 : tensor<2xf32>) -> tensor<1x2x?xf32> {
    ^bb0(%arg4: index, %arg5: index, %arg6: index, %arg7: f32, %arg8: f32, %arg9: tensor<2xf32>):
      %extracted = tensor.extract %arg9[%arg5] : tensor<2xf32>
      %cst = arith.constant 0xFF800000 : f32
      %9 = arith.cmpf oeq, %extracted, %cst : f32
      %10 = arith.subf %extracted, %arg7 : f32
      %11 = math.exp %10 : f32
      %cst_2 = arith.constant 0.000000e+00 : f32
      %12 = arith.select %9, %cst_2, %11 : f32
      %13 = arith.addf %arg8, %12 : f32
      attn.yield %13 : f32
    }
    %6 = attn.map "bhij,bhi->bhij" ins(%3, %5 : tensor<1x2x?x?xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?x?xf32> {
    ^bb0(%arg4: index, %arg5: index, %arg6: index, %arg7: index, %arg8: f32, %arg9: f32):
      %cst = arith.constant 0.000000e+00 : f32
      %9 = arith.cmpf oeq, %arg9, %cst : f32
      %10 = arith.divf %arg8, %arg9 : f32
      %cst_2 = arith.constant 0.000000e+00 : f32
      %11 = arith.select %9, %cst_2, %10 : f32
      attn.yield %11 : f32
    }
    %7 = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %6, %arg2 : tensor<1x2x?x?xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
    %8 = attn.map "bhi,bhi->bhi" ins(%2, %4 : tensor<1x2x?xf32>, tensor<1x2x?xf32>) captures(%arg3 : tensor<2xf32>) -> tensor<1x2x?xf32> {
    ^bb0(%arg4: index, %arg5: index, %arg6: index, %arg7: f32, %arg8: f32, %arg9: tensor<2xf32>):
      %extracted = tensor.extract %arg9[%arg5] : tensor<2xf32>
      %cst = arith.constant 0xFF800000 : f32
      %9 = arith.maximumf %arg7, %extracted : f32
      %10 = arith.cmpf oeq, %9, %cst : f32
      %11 = arith.subf %arg7, %9 : f32
      %12 = math.exp %11 : f32
      %13 = arith.mulf %arg8, %12 : f32
      %14 = arith.subf %extracted, %9 : f32
      %15 = math.exp %14 : f32
      %16 = arith.addf %13, %15 : f32
      %17 = math.log %16 : f32
      %18 = arith.addf %9, %17 : f32
      %19 = arith.select %10, %cst, %18 : f32
      attn.yield %19 : f32
    }
    return %7, %8 : tensor<1x2x?x16xf32>, tensor<1x2x?xf32>
  }
}

