// RUN: attn-opt %s --attn-split-kv="splits=4" --split-input-file --verify-diagnostics | FileCheck %s
// RUN: attn-opt %s --attn-split-kv --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=LAUNCH

// By default the split count is a launch parameter: attn.kv_splits bounds
// the split loop and sizes the workspaces' leading dimension.
// LAUNCH-LABEL: func.func private @softmax_split_kv
// LAUNCH: %[[S:.*]] = attn.kv_splits : index
// LAUNCH: arith.ceildivsi %{{.*}}, %[[S]]
// LAUNCH: tensor.empty(%[[S]], %{{.*}}) : tensor<?x1x1x?xf32>
// LAUNCH: tensor.empty(%[[S]], %{{.*}}) : tensor<?x1x1x?xf32>
// LAUNCH: tensor.empty(%[[S]], %{{.*}}) : tensor<?x1x1x?x16xf32>
// LAUNCH: scf.for %{{.*}} = %{{.*}} to %[[S]] step
// LAUNCH: attn.reduce max "sbhi->bhi"

// The plan is a second function; the original names it. Inside each grid
// tile the KV loop runs once per split over whole KV tiles, each writing its
// running values to a workspace slot; the merge takes the max of the split
// maxima, rescales each split's sums by the correction map at (split max,
// total max) — the online rewrite's own exp map — and adds them up.
// CHECK-LABEL: func.func @softmax
// CHECK-SAME: attributes {attn.split_kv_plan = @softmax_split_kv}
// CHECK-LABEL: func.func private @softmax_split_kv
// CHECK: scf.for
// CHECK: %[[S:.*]] = arith.constant 4 : index
// CHECK: %[[SPAN:.*]] = arith.subi %[[NK:.*]], %[[LB:.*]] : index
// CHECK: %[[PER:.*]] = arith.ceildivsi %[[SPAN]], %[[S]]
// CHECK: %[[TILES:.*]] = arith.ceildivsi %[[PER]], %[[STEP:.*]] : index
// CHECK: %[[CHUNK:.*]] = arith.muli %[[TILES]], %[[STEP]]
// CHECK: %[[WM:.*]] = tensor.empty(%{{.*}}) : tensor<4x1x1x?xf32>
// CHECK: %[[WD:.*]] = tensor.empty(%{{.*}}) : tensor<4x1x1x?xf32>
// CHECK: %[[WN:.*]] = tensor.empty(%{{.*}}) : tensor<4x1x1x?x16xf32>
// CHECK: %[[PARTS:.*]]:3 = scf.for %[[SP:.*]] = %{{.*}} to %[[S]] step %{{.*}} iter_args(%{{.*}} = %[[WM]], %{{.*}} = %[[WD]], %{{.*}} = %[[WN]])
// CHECK:   %[[BEGIN:.*]] = arith.addi %[[LB]], %{{.*}}
// CHECK:   %[[END:.*]] = arith.minsi %{{.*}}, %[[NK]]
// CHECK:   %[[KV:.*]]:3 = scf.for %{{.*}} = %[[BEGIN]] to %[[END]] step %[[STEP]]
// CHECK:   } {attn.kv_loop}
// CHECK:   tensor.insert_slice %[[KV]]#0 into %{{.*}}[%[[SP]], 0, 0, 0] [1, 1, 1, %{{.*}}]
// CHECK: } {attn.grid = #attn.grid<"s", split>}
// CHECK: %[[M:.*]] = attn.reduce max "sbhi->bhi" %[[PARTS]]#0
// CHECK: %[[C:.*]] = attn.map "sbhi,bhi->sbhi" ins(%[[PARTS]]#0, %[[M]]
// CHECK:   math.exp
// CHECK: attn.contract "sbhi,sbhi->bhi" combine(mul) reduce(add) %[[PARTS]]#1, %[[C]]
// CHECK: attn.contract "sbhif,sbhi->bhif" combine(mul) reduce(add) %[[PARTS]]#2, %[[C]]
module {
  func.func @softmax(%arg0: tensor<1x2x?x16xf32>, %arg1: tensor<1x2x?x16xf32>, %arg2: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %arg0, %c2 : tensor<1x2x?x16xf32>
    %c2_0 = arith.constant 2 : index
    %dim_1 = tensor.dim %arg1, %c2_0 : tensor<1x2x?x16xf32>
    %c2_2 = arith.constant 2 : index
    %dim_3 = tensor.dim %arg0, %c2_2 : tensor<1x2x?x16xf32>
    %0 = tensor.empty(%dim_3) : tensor<1x2x?x16xf32>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c1_4 = arith.constant 1 : index
    %1 = scf.for %arg3 = %c0 to %c1 step %c1_4 iter_args(%arg4 = %0) -> (tensor<1x2x?x16xf32>) {
      %c1_5 = arith.constant 1 : index
      %c2_6 = arith.constant 2 : index
      %c1_7 = arith.constant 1 : index
      %2 = scf.for %arg5 = %c0 to %c2_6 step %c1_7 iter_args(%arg6 = %arg4) -> (tensor<1x2x?x16xf32>) {
        %c1_8 = arith.constant 1 : index
        %c16 = arith.constant 16 : index
        %3 = scf.for %arg7 = %c0 to %dim_3 step %c16 iter_args(%arg8 = %arg6) -> (tensor<1x2x?x16xf32>) {
          %4 = arith.subi %dim_3, %arg7 : index
          %5 = arith.minsi %c16, %4 : index
          %extracted_slice = tensor.extract_slice %arg0[%arg3, %arg5, %arg7, 0] [1, 1, %5, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x1x?x16xf32>
          %c2_9 = arith.constant 2 : index
          %dim_10 = tensor.dim %arg1, %c2_9 : tensor<1x2x?x16xf32>
          %extracted_slice_11 = tensor.extract_slice %arg1[%arg3, %arg5, 0, 0] [1, 1, %dim_10, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x1x?x16xf32>
          %c2_12 = arith.constant 2 : index
          %dim_13 = tensor.dim %arg2, %c2_12 : tensor<1x2x?x16xf32>
          %extracted_slice_14 = tensor.extract_slice %arg2[%arg3, %arg5, 0, 0] [1, 1, %dim_13, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x1x?x16xf32>
          %c2_15 = arith.constant 2 : index
          %c2_16 = arith.constant 2 : index
          %cst = arith.constant 0xFF800000 : f32
          %splat = tensor.splat %cst[%5] : tensor<1x1x?xf32>
          %cst_17 = arith.constant 0.000000e+00 : f32
          %splat_18 = tensor.splat %cst_17[%5] : tensor<1x1x?xf32>
          %cst_19 = arith.constant 0.000000e+00 : f32
          %splat_20 = tensor.splat %cst_19[%5] : tensor<1x1x?x16xf32>
          %c0_21 = arith.constant 0 : index
          %c32 = arith.constant 32 : index
          %6:3 = scf.for %arg9 = %c0_21 to %dim_10 step %c32 iter_args(%arg10 = %splat, %arg11 = %splat_18, %arg12 = %splat_20) -> (tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>) {
            %8 = arith.subi %dim_10, %arg9 : index
            %9 = arith.minsi %c32, %8 : index
            %c2_24 = arith.constant 2 : index
            %extracted_slice_25 = tensor.extract_slice %extracted_slice_11[0, 0, %arg9, 0] [1, 1, %9, 16] [1, 1, 1, 1] : tensor<1x1x?x16xf32> to tensor<1x1x?x16xf32>
            %c2_26 = arith.constant 2 : index
            %extracted_slice_27 = tensor.extract_slice %extracted_slice_14[0, 0, %arg9, 0] [1, 1, %9, 16] [1, 1, 1, 1] : tensor<1x1x?x16xf32> to tensor<1x1x?x16xf32>
            %10 = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %extracted_slice, %extracted_slice_25 : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32> -> tensor<1x1x?x?xf32>
            %11 = attn.map "bhij->bhij" ins(%10 : tensor<1x1x?x?xf32>) captures(%dim, %dim_1 : index, index) -> tensor<1x1x?x?xf32> {
            ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: index, %arg17: f32, %arg18: index, %arg19: index):
              %cst_28 = arith.constant 2.500000e-01 : f32
              %20 = arith.mulf %arg17, %cst_28 : f32
              attn.yield %20 : f32
            }
            %12 = attn.reduce max "bhij->bhi" %11 : tensor<1x1x?x?xf32> -> tensor<1x1x?xf32>
            %13 = attn.map "bhi,bhi->bhi" ins(%arg10, %12 : tensor<1x1x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?xf32> {
            ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: f32, %arg17: f32):
              %20 = arith.maximumf %arg16, %arg17 : f32
              attn.yield %20 : f32
            }
            %14 = attn.map "bhi,bhi->bhi" ins(%arg10, %13 : tensor<1x1x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?xf32> {
            ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: f32, %arg17: f32):
              %cst_28 = arith.constant 0xFF800000 : f32
              %20 = arith.cmpf oeq, %arg17, %cst_28 : f32
              %21 = arith.subf %arg16, %arg17 : f32
              %22 = math.exp %21 : f32
              %cst_29 = arith.constant 0.000000e+00 : f32
              %23 = arith.select %20, %cst_29, %22 : f32
              attn.yield %23 : f32
            }
            %15 = attn.map "bhij,bhi->bhij" ins(%11, %13 : tensor<1x1x?x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?x?xf32> {
            ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: index, %arg17: f32, %arg18: f32):
              %cst_28 = arith.constant 0xFF800000 : f32
              %20 = arith.cmpf oeq, %arg18, %cst_28 : f32
              %21 = arith.subf %arg17, %arg18 : f32
              %22 = math.exp %21 : f32
              %cst_29 = arith.constant 0.000000e+00 : f32
              %23 = arith.select %20, %cst_29, %22 : f32
              attn.yield %23 : f32
            }
            %16 = attn.reduce add "bhij->bhi" %15 : tensor<1x1x?x?xf32> -> tensor<1x1x?xf32>
            %17 = attn.map "bhi,bhi,bhi->bhi" ins(%arg11, %14, %16 : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?xf32> {
            ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: f32, %arg17: f32, %arg18: f32):
              %20 = arith.mulf %arg16, %arg17 : f32
              %21 = arith.addf %20, %arg18 : f32
              attn.yield %21 : f32
            }
            %18 = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %15, %extracted_slice_27 : tensor<1x1x?x?xf32>, tensor<1x1x?x16xf32> -> tensor<1x1x?x16xf32>
            %19 = attn.map "bhif,bhi,bhif->bhif" ins(%arg12, %14, %18 : tensor<1x1x?x16xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>) -> tensor<1x1x?x16xf32> {
            ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: index, %arg17: f32, %arg18: f32, %arg19: f32):
              %20 = arith.mulf %arg17, %arg18 : f32
              %21 = arith.addf %20, %arg19 : f32
              attn.yield %21 : f32
            }
            scf.yield %13, %17, %19 : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>
          } {attn.kv_loop}
          %7 = attn.map "bhif,bhi->bhif" ins(%6#2, %6#1 : tensor<1x1x?x16xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?x16xf32> {
          ^bb0(%arg9: index, %arg10: index, %arg11: index, %arg12: index, %arg13: f32, %arg14: f32):
            %cst_24 = arith.constant 0.000000e+00 : f32
            %8 = arith.cmpf oeq, %arg14, %cst_24 : f32
            %9 = arith.divf %arg13, %arg14 : f32
            %cst_25 = arith.constant 0.000000e+00 : f32
            %10 = arith.select %8, %cst_25, %9 : f32
            attn.yield %10 : f32
          }
          %c2_22 = arith.constant 2 : index
          %dim_23 = tensor.dim %7, %c2_22 : tensor<1x1x?x16xf32>
          %inserted_slice = tensor.insert_slice %7 into %arg8[%arg3, %arg5, %arg7, 0] [1, 1, %dim_23, 16] [1, 1, 1, 1] : tensor<1x1x?x16xf32> into tensor<1x2x?x16xf32>
          scf.yield %inserted_slice : tensor<1x2x?x16xf32>
        } {attn.grid = #attn.grid<"i", rows>}
        scf.yield %3 : tensor<1x2x?x16xf32>
      } {attn.grid = #attn.grid<"h", slice>}
      scf.yield %2 : tensor<1x2x?x16xf32>
    } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 16, warps = 4, stages = 2>}
    return %1 : tensor<1x2x?x16xf32>
  }
}

// -----

// Sigmoid's partial states are plain sums: the merge adds them.
// CHECK-LABEL: func.func private @sigmoid_split_kv
// CHECK-NOT: attn.reduce max
// CHECK: attn.reduce add "sbhif->bhif"
module {
  func.func @sigmoid(%arg0: tensor<1x2x?x16xf32>, %arg1: tensor<1x2x?x16xf32>, %arg2: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %arg0, %c2 : tensor<1x2x?x16xf32>
    %c2_0 = arith.constant 2 : index
    %dim_1 = tensor.dim %arg1, %c2_0 : tensor<1x2x?x16xf32>
    %c2_2 = arith.constant 2 : index
    %dim_3 = tensor.dim %arg0, %c2_2 : tensor<1x2x?x16xf32>
    %0 = tensor.empty(%dim_3) : tensor<1x2x?x16xf32>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c1_4 = arith.constant 1 : index
    %1 = scf.for %arg3 = %c0 to %c1 step %c1_4 iter_args(%arg4 = %0) -> (tensor<1x2x?x16xf32>) {
      %c1_5 = arith.constant 1 : index
      %c2_6 = arith.constant 2 : index
      %c1_7 = arith.constant 1 : index
      %2 = scf.for %arg5 = %c0 to %c2_6 step %c1_7 iter_args(%arg6 = %arg4) -> (tensor<1x2x?x16xf32>) {
        %c1_8 = arith.constant 1 : index
        %c16 = arith.constant 16 : index
        %3 = scf.for %arg7 = %c0 to %dim_3 step %c16 iter_args(%arg8 = %arg6) -> (tensor<1x2x?x16xf32>) {
          %4 = arith.subi %dim_3, %arg7 : index
          %5 = arith.minsi %c16, %4 : index
          %extracted_slice = tensor.extract_slice %arg0[%arg3, %arg5, %arg7, 0] [1, 1, %5, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x1x?x16xf32>
          %c2_9 = arith.constant 2 : index
          %dim_10 = tensor.dim %arg1, %c2_9 : tensor<1x2x?x16xf32>
          %extracted_slice_11 = tensor.extract_slice %arg1[%arg3, %arg5, 0, 0] [1, 1, %dim_10, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x1x?x16xf32>
          %c2_12 = arith.constant 2 : index
          %dim_13 = tensor.dim %arg2, %c2_12 : tensor<1x2x?x16xf32>
          %extracted_slice_14 = tensor.extract_slice %arg2[%arg3, %arg5, 0, 0] [1, 1, %dim_13, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x1x?x16xf32>
          %c2_15 = arith.constant 2 : index
          %c2_16 = arith.constant 2 : index
          %cst = arith.constant 0.000000e+00 : f32
          %splat = tensor.splat %cst[%5] : tensor<1x1x?x16xf32>
          %c0_17 = arith.constant 0 : index
          %c32 = arith.constant 32 : index
          %6 = scf.for %arg9 = %c0_17 to %dim_10 step %c32 iter_args(%arg10 = %splat) -> (tensor<1x1x?x16xf32>) {
            %7 = arith.subi %dim_10, %arg9 : index
            %8 = arith.minsi %c32, %7 : index
            %c2_20 = arith.constant 2 : index
            %extracted_slice_21 = tensor.extract_slice %extracted_slice_11[0, 0, %arg9, 0] [1, 1, %8, 16] [1, 1, 1, 1] : tensor<1x1x?x16xf32> to tensor<1x1x?x16xf32>
            %c2_22 = arith.constant 2 : index
            %extracted_slice_23 = tensor.extract_slice %extracted_slice_14[0, 0, %arg9, 0] [1, 1, %8, 16] [1, 1, 1, 1] : tensor<1x1x?x16xf32> to tensor<1x1x?x16xf32>
            %9 = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %extracted_slice, %extracted_slice_21 : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32> -> tensor<1x1x?x?xf32>
            %10 = attn.map "bhij->bhij" ins(%9 : tensor<1x1x?x?xf32>) captures(%dim, %dim_1 : index, index) -> tensor<1x1x?x?xf32> {
            ^bb0(%arg11: index, %arg12: index, %arg13: index, %arg14: index, %arg15: f32, %arg16: index, %arg17: index):
              %cst_24 = arith.constant 2.500000e-01 : f32
              %14 = arith.mulf %arg15, %cst_24 : f32
              attn.yield %14 : f32
            }
            %11 = attn.map "bhij->bhij" ins(%10 : tensor<1x1x?x?xf32>) captures(%dim_1 : index) -> tensor<1x1x?x?xf32> {
            ^bb0(%arg11: index, %arg12: index, %arg13: index, %arg14: index, %arg15: f32, %arg16: index):
              %14 = arith.index_cast %arg16 : index to i64
              %15 = arith.sitofp %14 : i64 to f32
              %16 = math.log %15 : f32
              %17 = arith.negf %16 : f32
              %18 = arith.addf %arg15, %17 : f32
              %19 = arith.negf %18 : f32
              %20 = math.exp %19 : f32
              %cst_24 = arith.constant 1.000000e+00 : f32
              %21 = arith.addf %cst_24, %20 : f32
              %cst_25 = arith.constant 1.000000e+00 : f32
              %22 = arith.divf %cst_25, %21 : f32
              attn.yield %22 : f32
            }
            %12 = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %11, %extracted_slice_23 : tensor<1x1x?x?xf32>, tensor<1x1x?x16xf32> -> tensor<1x1x?x16xf32>
            %13 = attn.map "bhif,bhif->bhif" ins(%arg10, %12 : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>) -> tensor<1x1x?x16xf32> {
            ^bb0(%arg11: index, %arg12: index, %arg13: index, %arg14: index, %arg15: f32, %arg16: f32):
              %14 = arith.addf %arg15, %arg16 : f32
              attn.yield %14 : f32
            }
            scf.yield %13 : tensor<1x1x?x16xf32>
          } {attn.kv_loop}
          %c2_18 = arith.constant 2 : index
          %dim_19 = tensor.dim %6, %c2_18 : tensor<1x1x?x16xf32>
          %inserted_slice = tensor.insert_slice %6 into %arg8[%arg3, %arg5, %arg7, 0] [1, 1, %dim_19, 16] [1, 1, 1, 1] : tensor<1x1x?x16xf32> into tensor<1x2x?x16xf32>
          scf.yield %inserted_slice : tensor<1x2x?x16xf32>
        } {attn.grid = #attn.grid<"i", rows>}
        scf.yield %3 : tensor<1x2x?x16xf32>
      } {attn.grid = #attn.grid<"h", slice>}
      scf.yield %2 : tensor<1x2x?x16xf32>
    } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 16, warps = 4, stages = 2>}
    return %1 : tensor<1x2x?x16xf32>
  }
}

// -----

// After -attn-fuse the KV loop holds the tile branches: split first.
module {
  func.func private @causal_mask(%arg0: index, %arg1: index, %arg2: index, %arg3: index, %arg4: index, %arg5: index) -> i1 {
    %0 = arith.cmpi ule, %arg3, %arg2 : index
    return %0 : i1
  }
  // expected-remark @+1 {{not split: run -attn-split-kv before -attn-fuse}}
  func.func @causal(%arg0: tensor<1x2x?x16xf32>, %arg1: tensor<1x2x?x16xf32>, %arg2: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %arg0, %c2 : tensor<1x2x?x16xf32>
    %c2_0 = arith.constant 2 : index
    %dim_1 = tensor.dim %arg1, %c2_0 : tensor<1x2x?x16xf32>
    %c2_2 = arith.constant 2 : index
    %dim_3 = tensor.dim %arg0, %c2_2 : tensor<1x2x?x16xf32>
    %0 = tensor.empty(%dim_3) : tensor<1x2x?x16xf32>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c1_4 = arith.constant 1 : index
    %1 = scf.for %arg3 = %c0 to %c1 step %c1_4 iter_args(%arg4 = %0) -> (tensor<1x2x?x16xf32>) {
      %c1_5 = arith.constant 1 : index
      %c2_6 = arith.constant 2 : index
      %c1_7 = arith.constant 1 : index
      %2 = scf.for %arg5 = %c0 to %c2_6 step %c1_7 iter_args(%arg6 = %arg4) -> (tensor<1x2x?x16xf32>) {
        %c1_8 = arith.constant 1 : index
        %c64 = arith.constant 64 : index
        %3 = scf.for %arg7 = %c0 to %dim_3 step %c64 iter_args(%arg8 = %arg6) -> (tensor<1x2x?x16xf32>) {
          %4 = arith.subi %dim_3, %arg7 : index
          %5 = arith.minsi %c64, %4 : index
          %extracted_slice = tensor.extract_slice %arg0[%arg3, %arg5, %arg7, 0] [1, 1, %5, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x1x?x16xf32>
          %c2_9 = arith.constant 2 : index
          %dim_10 = tensor.dim %arg1, %c2_9 : tensor<1x2x?x16xf32>
          %extracted_slice_11 = tensor.extract_slice %arg1[%arg3, %arg5, 0, 0] [1, 1, %dim_10, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x1x?x16xf32>
          %c2_12 = arith.constant 2 : index
          %dim_13 = tensor.dim %arg2, %c2_12 : tensor<1x2x?x16xf32>
          %extracted_slice_14 = tensor.extract_slice %arg2[%arg3, %arg5, 0, 0] [1, 1, %dim_13, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x1x?x16xf32>
          %c2_15 = arith.constant 2 : index
          %c2_16 = arith.constant 2 : index
          %cst = arith.constant 0xFF800000 : f32
          %splat = tensor.splat %cst[%5] : tensor<1x1x?xf32>
          %cst_17 = arith.constant 0.000000e+00 : f32
          %splat_18 = tensor.splat %cst_17[%5] : tensor<1x1x?xf32>
          %cst_19 = arith.constant 0.000000e+00 : f32
          %splat_20 = tensor.splat %cst_19[%5] : tensor<1x1x?x16xf32>
          %c0_21 = arith.constant 0 : index
          %c64_22 = arith.constant 64 : index
          %6 = arith.addi %arg7, %c64 : index
          %7 = arith.minsi %6, %dim_3 : index
          %c1_23 = arith.constant 1 : index
          %8 = arith.subi %7, %c1_23 : index
          %c0_24 = arith.constant 0 : index
          %c0_25 = arith.constant 0 : index
          %9 = arith.subi %c0_25, %c0_24 : index
          %c-1 = arith.constant -1 : index
          %10 = arith.muli %arg7, %c-1 : index
          %11 = arith.addi %9, %10 : index
          %c-1_26 = arith.constant -1 : index
          %12 = arith.muli %8, %c-1_26 : index
          %13 = arith.addi %9, %12 : index
          %c0_27 = arith.constant 0 : index
          %14 = arith.subi %c0_27, %13 : index
          %c1_28 = arith.constant 1 : index
          %c0_29 = arith.constant 0 : index
          %15 = arith.floordivsi %14, %c1_28 : index
          %c0_30 = arith.constant 0 : index
          %16 = arith.muli %arg7, %c0_30 : index
          %17 = arith.addi %c0_25, %16 : index
          %c0_31 = arith.constant 0 : index
          %18 = arith.muli %8, %c0_31 : index
          %19 = arith.addi %c0_25, %18 : index
          %c0_32 = arith.constant 0 : index
          %20 = arith.addi %17, %c0_32 : index
          %c0_33 = arith.constant 0 : index
          %21 = arith.cmpi sge, %20, %c0_33 : index
          %22 = arith.addi %c0_24, %arg7 : index
          %23 = arith.addi %c0_24, %8 : index
          %c0_34 = arith.constant 0 : index
          %24 = arith.cmpi sge, %22, %c0_34 : index
          %25 = arith.andi %21, %24 : i1
          %c0_35 = arith.constant 0 : index
          %c1_36 = arith.constant 1 : index
          %26 = arith.subi %dim_1, %c1_36 : index
          %27 = arith.select %25, %c0_29, %c0_35 : index
          %28 = arith.select %25, %15, %26 : index
          %c1_37 = arith.constant 1 : index
          %29 = arith.floordivsi %27, %c64_22 : index
          %30 = arith.muli %29, %c64_22 : index
          %31 = arith.addi %28, %c1_37 : index
          %32 = arith.ceildivsi %31, %c64_22 : index
          %33 = arith.muli %32, %c64_22 : index
          %34 = arith.maxsi %c0_21, %30 : index
          %35 = arith.minsi %dim_10, %33 : index
          %36:3 = scf.for %arg9 = %34 to %35 step %c64_22 iter_args(%arg10 = %splat, %arg11 = %splat_18, %arg12 = %splat_20) -> (tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>) {
            %38 = arith.addi %arg9, %c64_22 : index
            %39 = arith.minsi %38, %35 : index
            %40 = attn.tile_class slice(%arg3, %arg5) rows(%arg7, %7) cols(%arg9, %39) sizes(%dim, %dim_1) mask {
            ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: index, %arg17: index, %arg18: index):
              %43 = arith.cmpi ule, %arg16, %arg15 : index
              attn.yield %43 : i1
            }
            %c0_40 = arith.constant 0 : index
            %c1_41 = arith.constant 1 : index
            %41 = arith.cmpi eq, %40, %c0_40 : index
            %42:3 = scf.if %41 -> (tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>) {
              scf.yield %arg10, %arg11, %arg12 : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>
            } else {
              %43 = arith.subi %dim_10, %arg9 : index
              %44 = arith.minsi %c64_22, %43 : index
              %c2_42 = arith.constant 2 : index
              %extracted_slice_43 = tensor.extract_slice %extracted_slice_11[0, 0, %arg9, 0] [1, 1, %44, 16] [1, 1, 1, 1] : tensor<1x1x?x16xf32> to tensor<1x1x?x16xf32>
              %c2_44 = arith.constant 2 : index
              %extracted_slice_45 = tensor.extract_slice %extracted_slice_14[0, 0, %arg9, 0] [1, 1, %44, 16] [1, 1, 1, 1] : tensor<1x1x?x16xf32> to tensor<1x1x?x16xf32>
              %45 = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %extracted_slice, %extracted_slice_43 : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32> -> tensor<1x1x?x?xf32>
              %46 = arith.cmpi eq, %40, %c1_41 : index
              %47 = scf.if %46 -> (tensor<1x1x?x?xf32>) {
                %56 = attn.map "bhij->bhij" ins(%45 : tensor<1x1x?x?xf32>) captures(%dim, %dim_1, %arg7, %arg9 : index, index, index, index) -> tensor<1x1x?x?xf32> {
                ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: index, %arg17: f32, %arg18: index, %arg19: index, %arg20: index, %arg21: index):
                  %cst_46 = arith.constant 2.500000e-01 : f32
                  %57 = arith.mulf %arg17, %cst_46 : f32
                  attn.yield %57 : f32
                }
                scf.yield %56 : tensor<1x1x?x?xf32>
              } else {
                %56 = attn.map "bhij->bhij" ins(%45 : tensor<1x1x?x?xf32>) captures(%dim, %dim_1, %arg7, %arg9 : index, index, index, index) -> tensor<1x1x?x?xf32> {
                ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: index, %arg17: f32, %arg18: index, %arg19: index, %arg20: index, %arg21: index):
                  %57 = arith.addi %arg16, %arg21 : index
                  %58 = arith.addi %arg15, %arg20 : index
                  %cst_46 = arith.constant 2.500000e-01 : f32
                  %59 = arith.mulf %arg17, %cst_46 : f32
                  %60 = arith.cmpi ule, %57, %58 : index
                  %cst_47 = arith.constant 0xFF800000 : f32
                  %61 = arith.select %60, %59, %cst_47 {attn.mask = @causal_mask} : f32
                  attn.yield %61 : f32
                }
                scf.yield %56 : tensor<1x1x?x?xf32>
              } {attn.tile_branch = #attn.tile_branch<full_or_partial>}
              %48 = attn.reduce max "bhij->bhi" %47 : tensor<1x1x?x?xf32> -> tensor<1x1x?xf32>
              %49 = attn.map "bhi,bhi->bhi" ins(%arg10, %48 : tensor<1x1x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?xf32> {
              ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: f32, %arg17: f32):
                %56 = arith.maximumf %arg16, %arg17 : f32
                attn.yield %56 : f32
              }
              %50 = attn.map "bhi,bhi->bhi" ins(%arg10, %49 : tensor<1x1x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?xf32> {
              ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: f32, %arg17: f32):
                %cst_46 = arith.constant 0xFF800000 : f32
                %56 = arith.cmpf oeq, %arg17, %cst_46 : f32
                %57 = arith.subf %arg16, %arg17 : f32
                %58 = math.exp %57 : f32
                %cst_47 = arith.constant 0.000000e+00 : f32
                %59 = arith.select %56, %cst_47, %58 : f32
                attn.yield %59 : f32
              }
              %51 = attn.map "bhij,bhi->bhij" ins(%47, %49 : tensor<1x1x?x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?x?xf32> {
              ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: index, %arg17: f32, %arg18: f32):
                %cst_46 = arith.constant 0xFF800000 : f32
                %56 = arith.cmpf oeq, %arg18, %cst_46 : f32
                %57 = arith.subf %arg17, %arg18 : f32
                %58 = math.exp %57 : f32
                %cst_47 = arith.constant 0.000000e+00 : f32
                %59 = arith.select %56, %cst_47, %58 : f32
                attn.yield %59 : f32
              }
              %52 = attn.reduce add "bhij->bhi" %51 : tensor<1x1x?x?xf32> -> tensor<1x1x?xf32>
              %53 = attn.map "bhi,bhi,bhi->bhi" ins(%arg11, %50, %52 : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?xf32> {
              ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: f32, %arg17: f32, %arg18: f32):
                %56 = arith.mulf %arg16, %arg17 : f32
                %57 = arith.addf %56, %arg18 : f32
                attn.yield %57 : f32
              }
              %54 = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %51, %extracted_slice_45 : tensor<1x1x?x?xf32>, tensor<1x1x?x16xf32> -> tensor<1x1x?x16xf32>
              %55 = attn.map "bhif,bhi,bhif->bhif" ins(%arg12, %50, %54 : tensor<1x1x?x16xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>) -> tensor<1x1x?x16xf32> {
              ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: index, %arg17: f32, %arg18: f32, %arg19: f32):
                %56 = arith.mulf %arg17, %arg18 : f32
                %57 = arith.addf %56, %arg19 : f32
                attn.yield %57 : f32
              }
              scf.yield %49, %53, %55 : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>
            }
            scf.yield %42#0, %42#1, %42#2 : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>
          } {attn.kv_loop}
          %37 = attn.map "bhif,bhi->bhif" ins(%36#2, %36#1 : tensor<1x1x?x16xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?x16xf32> {
          ^bb0(%arg9: index, %arg10: index, %arg11: index, %arg12: index, %arg13: f32, %arg14: f32):
            %cst_40 = arith.constant 0.000000e+00 : f32
            %38 = arith.cmpf oeq, %arg14, %cst_40 : f32
            %39 = arith.divf %arg13, %arg14 : f32
            %cst_41 = arith.constant 0.000000e+00 : f32
            %40 = arith.select %38, %cst_41, %39 : f32
            attn.yield %40 : f32
          }
          %c2_38 = arith.constant 2 : index
          %dim_39 = tensor.dim %37, %c2_38 : tensor<1x1x?x16xf32>
          %inserted_slice = tensor.insert_slice %37 into %arg8[%arg3, %arg5, %arg7, 0] [1, 1, %dim_39, 16] [1, 1, 1, 1] : tensor<1x1x?x16xf32> into tensor<1x2x?x16xf32>
          scf.yield %inserted_slice : tensor<1x2x?x16xf32>
        } {attn.grid = #attn.grid<"i", rows>}
        scf.yield %3 : tensor<1x2x?x16xf32>
      } {attn.grid = #attn.grid<"h", slice>}
      scf.yield %2 : tensor<1x2x?x16xf32>
    } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 64, warps = 4, stages = 2>}
    return %1 : tensor<1x2x?x16xf32>
  }
}
