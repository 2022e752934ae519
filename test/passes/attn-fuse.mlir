// RUN: attn-opt %s --attn-fuse --split-input-file --verify-diagnostics | FileCheck %s

// Every KV tile is classified from the mask's index arithmetic; empty tiles
// pass the running values through, full tiles run without the mask, partial
// tiles with it.
// CHECK-LABEL: func.func private @prefix_mask
// CHECK-SAME: (%{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index) -> i1
// CHECK-LABEL: func.func @prefix
// CHECK-SAME: %[[P:[a-z0-9_]+]]: index)
// CHECK: scf.for %[[B:[a-z0-9_]+]] =
// CHECK: scf.for %[[H:[a-z0-9_]+]] =
// CHECK: scf.for %[[I:[a-z0-9_]+]] = %{{.*}} to %[[NQ:.*]] step %[[BM:[a-z0-9_]+]]
// The row tile, and the closed-form key range of its rows (j <= i or j < p:
// keys up to max(i1 - 1, p - 1)), widened to whole KV tiles, bound the loop.
// CHECK: %[[IE:.*]] = arith.addi %[[I]], %[[BM]]
// CHECK: %[[I1:.*]] = arith.minsi %[[IE]], %[[NQ]]
// CHECK: %[[FD:.*]] = arith.floordivsi %{{.*}}, %[[BN:c16[a-z0-9_]*]] : index
// CHECK: %[[FIRST:.*]] = arith.muli %[[FD]], %[[BN]] : index
// CHECK: %[[CD:.*]] = arith.ceildivsi %{{.*}}, %[[BN]] : index
// CHECK: %[[PAST:.*]] = arith.muli %[[CD]], %[[BN]] : index
// CHECK: %[[LB:.*]] = arith.maxsi %{{.*}}, %[[FIRST]] : index
// CHECK: %[[UB:.*]] = arith.minsi %{{.*}}, %[[PAST]] : index
// CHECK: scf.for %[[T:[a-z0-9_]+]] = %[[LB]] to %[[UB]] step %[[BN]] iter_args(%[[M:[a-z0-9_]+]] = %{{.*}}, %[[D:[a-z0-9_]+]] = %{{.*}}, %[[N:[a-z0-9_]+]] = %{{.*}})
// CHECK:   %[[JE:.*]] = arith.addi %[[T]], %[[BN]]
// CHECK:   %[[J1:.*]] = arith.minsi %[[JE]], %[[UB]]
// CHECK:   %[[CLS:.*]] = attn.tile_class slice(%[[B]], %[[H]]) rows(%[[I]], %[[I1]]) cols(%[[T]], %[[J1]]) sizes(%{{.*}}, %{{.*}}) captures(%[[P]] : index) mask {
// CHECK:     arith.cmpi ule
// CHECK:     arith.cmpi ult
// CHECK:     arith.ori
// CHECK:     attn.yield %{{.*}} : i1
// CHECK:   %[[EMPTY:.*]] = arith.cmpi eq, %[[CLS]], %{{.*}} : index
// CHECK:   scf.if %[[EMPTY]]
// CHECK:     scf.yield %[[M]], %[[D]], %[[N]]
// CHECK:   } else {
// CHECK:     %[[FULL:.*]] = arith.cmpi eq, %[[CLS]], %{{.*}} : index
// CHECK:     scf.if %[[FULL]]
// The full branch's scores map has no mask code.
// CHECK:       attn.map "bhij->bhij"
// CHECK-NOT:     arith.cmpi
// CHECK-NOT:     arith.select
// CHECK:         attn.yield
// CHECK:     } else {
// The partial branch evaluates the mask per element.
// CHECK:       attn.map "bhij->bhij"
// CHECK:         arith.cmpi ule
// CHECK:         arith.select %{{.*}} {attn.mask = @prefix_mask}
// CHECK:   } {attn.tile_branch = #attn.tile_branch<full_or_partial>}
// CHECK: } {attn.kv_loop}
module {
  func.func private @prefix_mask(%arg0: index, %arg1: index, %arg2: index, %arg3: index, %arg4: index, %arg5: index, %arg6: index) -> i1 {
    %0 = arith.cmpi ule, %arg3, %arg2 : index
    %1 = arith.cmpi ult, %arg3, %arg6 : index
    %2 = arith.ori %0, %1 : i1
    return %2 : i1
  }
  func.func @prefix(%arg0: tensor<1x2x?x16xf32>, %arg1: tensor<1x2x?x16xf32>, %arg2: tensor<1x2x?x16xf32>, %arg3: index) -> tensor<1x2x?x16xf32> {
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
    %1 = scf.for %arg4 = %c0 to %c1 step %c1_4 iter_args(%arg5 = %0) -> (tensor<1x2x?x16xf32>) {
      %c1_5 = arith.constant 1 : index
      %c2_6 = arith.constant 2 : index
      %c1_7 = arith.constant 1 : index
      %2 = scf.for %arg6 = %c0 to %c2_6 step %c1_7 iter_args(%arg7 = %arg5) -> (tensor<1x2x?x16xf32>) {
        %c1_8 = arith.constant 1 : index
        %c32 = arith.constant 32 : index
        %3 = scf.for %arg8 = %c0 to %dim_3 step %c32 iter_args(%arg9 = %arg7) -> (tensor<1x2x?x16xf32>) {
          %4 = arith.subi %dim_3, %arg8 : index
          %5 = arith.minsi %c32, %4 : index
          %extracted_slice = tensor.extract_slice %arg0[%arg4, %arg6, %arg8, 0] [1, 1, %5, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x1x?x16xf32>
          %c2_9 = arith.constant 2 : index
          %dim_10 = tensor.dim %arg1, %c2_9 : tensor<1x2x?x16xf32>
          %extracted_slice_11 = tensor.extract_slice %arg1[%arg4, %arg6, 0, 0] [1, 1, %dim_10, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x1x?x16xf32>
          %c2_12 = arith.constant 2 : index
          %dim_13 = tensor.dim %arg2, %c2_12 : tensor<1x2x?x16xf32>
          %extracted_slice_14 = tensor.extract_slice %arg2[%arg4, %arg6, 0, 0] [1, 1, %dim_13, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x1x?x16xf32>
          %c2_15 = arith.constant 2 : index
          %c2_16 = arith.constant 2 : index
          %cst = arith.constant 0xFF800000 : f32
          %splat = tensor.splat %cst[%5] : tensor<1x1x?xf32>
          %cst_17 = arith.constant 0.000000e+00 : f32
          %splat_18 = tensor.splat %cst_17[%5] : tensor<1x1x?xf32>
          %cst_19 = arith.constant 0.000000e+00 : f32
          %splat_20 = tensor.splat %cst_19[%5] : tensor<1x1x?x16xf32>
          %c0_21 = arith.constant 0 : index
          %c16 = arith.constant 16 : index
          %6:3 = scf.for %arg10 = %c0_21 to %dim_10 step %c16 iter_args(%arg11 = %splat, %arg12 = %splat_18, %arg13 = %splat_20) -> (tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>) {
            %8 = arith.subi %dim_10, %arg10 : index
            %9 = arith.minsi %c16, %8 : index
            %c2_24 = arith.constant 2 : index
            %extracted_slice_25 = tensor.extract_slice %extracted_slice_11[0, 0, %arg10, 0] [1, 1, %9, 16] [1, 1, 1, 1] : tensor<1x1x?x16xf32> to tensor<1x1x?x16xf32>
            %c2_26 = arith.constant 2 : index
            %extracted_slice_27 = tensor.extract_slice %extracted_slice_14[0, 0, %arg10, 0] [1, 1, %9, 16] [1, 1, 1, 1] : tensor<1x1x?x16xf32> to tensor<1x1x?x16xf32>
            %10 = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %extracted_slice, %extracted_slice_25 : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32> -> tensor<1x1x?x?xf32>
            %11 = attn.map "bhij->bhij" ins(%10 : tensor<1x1x?x?xf32>) captures(%dim, %dim_1, %arg3, %arg8, %arg10 : index, index, index, index, index) -> tensor<1x1x?x?xf32> {
            ^bb0(%arg14: index, %arg15: index, %arg16: index, %arg17: index, %arg18: f32, %arg19: index, %arg20: index, %arg21: index, %arg22: index, %arg23: index):
              %20 = arith.addi %arg17, %arg23 : index
              %21 = arith.addi %arg16, %arg22 : index
              %cst_28 = arith.constant 2.500000e-01 : f32
              %22 = arith.mulf %arg18, %cst_28 : f32
              %23 = arith.cmpi ule, %20, %21 : index
              %24 = arith.cmpi ult, %20, %arg21 : index
              %25 = arith.ori %23, %24 : i1
              %cst_29 = arith.constant 0xFF800000 : f32
              %26 = arith.select %25, %22, %cst_29 {attn.mask = @prefix_mask} : f32
              attn.yield %26 : f32
            }
            %12 = attn.reduce max "bhij->bhi" %11 : tensor<1x1x?x?xf32> -> tensor<1x1x?xf32>
            %13 = attn.map "bhi,bhi->bhi" ins(%arg11, %12 : tensor<1x1x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?xf32> {
            ^bb0(%arg14: index, %arg15: index, %arg16: index, %arg17: f32, %arg18: f32):
              %20 = arith.maximumf %arg17, %arg18 : f32
              attn.yield %20 : f32
            }
            %14 = attn.map "bhi,bhi->bhi" ins(%arg11, %13 : tensor<1x1x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?xf32> {
            ^bb0(%arg14: index, %arg15: index, %arg16: index, %arg17: f32, %arg18: f32):
              %cst_28 = arith.constant 0xFF800000 : f32
              %20 = arith.cmpf oeq, %arg18, %cst_28 : f32
              %21 = arith.subf %arg17, %arg18 : f32
              %22 = math.exp %21 : f32
              %cst_29 = arith.constant 0.000000e+00 : f32
              %23 = arith.select %20, %cst_29, %22 : f32
              attn.yield %23 : f32
            }
            %15 = attn.map "bhij,bhi->bhij" ins(%11, %13 : tensor<1x1x?x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?x?xf32> {
            ^bb0(%arg14: index, %arg15: index, %arg16: index, %arg17: index, %arg18: f32, %arg19: f32):
              %cst_28 = arith.constant 0xFF800000 : f32
              %20 = arith.cmpf oeq, %arg19, %cst_28 : f32
              %21 = arith.subf %arg18, %arg19 : f32
              %22 = math.exp %21 : f32
              %cst_29 = arith.constant 0.000000e+00 : f32
              %23 = arith.select %20, %cst_29, %22 : f32
              attn.yield %23 : f32
            }
            %16 = attn.reduce add "bhij->bhi" %15 : tensor<1x1x?x?xf32> -> tensor<1x1x?xf32>
            %17 = attn.map "bhi,bhi,bhi->bhi" ins(%arg12, %14, %16 : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?xf32> {
            ^bb0(%arg14: index, %arg15: index, %arg16: index, %arg17: f32, %arg18: f32, %arg19: f32):
              %20 = arith.mulf %arg17, %arg18 : f32
              %21 = arith.addf %20, %arg19 : f32
              attn.yield %21 : f32
            }
            %18 = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %15, %extracted_slice_27 : tensor<1x1x?x?xf32>, tensor<1x1x?x16xf32> -> tensor<1x1x?x16xf32>
            %19 = attn.map "bhif,bhi,bhif->bhif" ins(%arg13, %14, %18 : tensor<1x1x?x16xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>) -> tensor<1x1x?x16xf32> {
            ^bb0(%arg14: index, %arg15: index, %arg16: index, %arg17: index, %arg18: f32, %arg19: f32, %arg20: f32):
              %20 = arith.mulf %arg18, %arg19 : f32
              %21 = arith.addf %20, %arg20 : f32
              attn.yield %21 : f32
            }
            scf.yield %13, %17, %19 : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>
          } {attn.kv_loop}
          %7 = attn.map "bhif,bhi->bhif" ins(%6#2, %6#1 : tensor<1x1x?x16xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?x16xf32> {
          ^bb0(%arg10: index, %arg11: index, %arg12: index, %arg13: index, %arg14: f32, %arg15: f32):
            %cst_24 = arith.constant 0.000000e+00 : f32
            %8 = arith.cmpf oeq, %arg15, %cst_24 : f32
            %9 = arith.divf %arg14, %arg15 : f32
            %cst_25 = arith.constant 0.000000e+00 : f32
            %10 = arith.select %8, %cst_25, %9 : f32
            attn.yield %10 : f32
          }
          %c2_22 = arith.constant 2 : index
          %dim_23 = tensor.dim %7, %c2_22 : tensor<1x1x?x16xf32>
          %inserted_slice = tensor.insert_slice %7 into %arg9[%arg4, %arg6, %arg8, 0] [1, 1, %dim_23, 16] [1, 1, 1, 1] : tensor<1x1x?x16xf32> into tensor<1x2x?x16xf32>
          scf.yield %inserted_slice : tensor<1x2x?x16xf32>
        } {attn.grid = #attn.grid<"i", rows>}
        scf.yield %3 : tensor<1x2x?x16xf32>
      } {attn.grid = #attn.grid<"h", slice>}
      scf.yield %2 : tensor<1x2x?x16xf32>
    } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 32, warps = 4, stages = 2>}
    return %1 : tensor<1x2x?x16xf32>
  }
}

// -----

// Without a mask there is nothing to classify: the loop is left as it is.
// CHECK-LABEL: func.func @dense
// CHECK-NOT: attn.tile_class
// CHECK-NOT: scf.if
// CHECK: return
module {
  func.func @dense(%arg0: tensor<1x2x?x16xf32>, %arg1: tensor<1x2x?x16xf32>, %arg2: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
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
        %c32 = arith.constant 32 : index
        %3 = scf.for %arg7 = %c0 to %dim_3 step %c32 iter_args(%arg8 = %arg6) -> (tensor<1x2x?x16xf32>) {
          %4 = arith.subi %dim_3, %arg7 : index
          %5 = arith.minsi %c32, %4 : index
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
          %c16 = arith.constant 16 : index
          %6:3 = scf.for %arg9 = %c0_21 to %dim_10 step %c16 iter_args(%arg10 = %splat, %arg11 = %splat_18, %arg12 = %splat_20) -> (tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>) {
            %8 = arith.subi %dim_10, %arg9 : index
            %9 = arith.minsi %c16, %8 : index
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
    } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 32, warps = 4, stages = 2>}
    return %1 : tensor<1x2x?x16xf32>
  }
}

// -----

// The key range and the classification need the Q-tile grid loop around the
// KV loop: without -attn-tile the pass refuses, at the loop.
module {
  func.func private @causal_mask(%arg0: index, %arg1: index, %arg2: index, %arg3: index, %arg4: index, %arg5: index) -> i1 {
    %0 = arith.cmpi ule, %arg3, %arg2 : index
    return %0 : i1
  }
  func.func @causal(%arg0: tensor<1x2x?x16xf32>, %arg1: tensor<1x2x?x16xf32>, %arg2: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %arg0, %c2 : tensor<1x2x?x16xf32>
    %c2_0 = arith.constant 2 : index
    %dim_1 = tensor.dim %arg1, %c2_0 : tensor<1x2x?x16xf32>
    %c2_2 = arith.constant 2 : index
    %dim_3 = tensor.dim %arg1, %c2_2 : tensor<1x2x?x16xf32>
    %c2_4 = arith.constant 2 : index
    %dim_5 = tensor.dim %arg0, %c2_4 : tensor<1x2x?x16xf32>
    %cst = arith.constant 0xFF800000 : f32
    %splat = tensor.splat %cst[%dim_5] : tensor<1x2x?xf32>
    %cst_6 = arith.constant 0.000000e+00 : f32
    %splat_7 = tensor.splat %cst_6[%dim_5] : tensor<1x2x?xf32>
    %cst_8 = arith.constant 0.000000e+00 : f32
    %splat_9 = tensor.splat %cst_8[%dim_5] : tensor<1x2x?x16xf32>
    %c0 = arith.constant 0 : index
    %c16 = arith.constant 16 : index
    // expected-error @+1 {{-attn-fuse: no Q-tile grid loop around the KV loop (run -attn-tile first)}}
    %0:3 = scf.for %arg3 = %c0 to %dim_3 step %c16 iter_args(%arg4 = %splat, %arg5 = %splat_7, %arg6 = %splat_9) -> (tensor<1x2x?xf32>, tensor<1x2x?xf32>, tensor<1x2x?x16xf32>) {
      %2 = arith.subi %dim_3, %arg3 : index
      %3 = arith.minsi %c16, %2 : index
      %c2_10 = arith.constant 2 : index
      %dim_11 = tensor.dim %arg1, %c2_10 : tensor<1x2x?x16xf32>
      %extracted_slice = tensor.extract_slice %arg1[0, 0, %arg3, 0] [1, 2, %3, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x2x?x16xf32>
      %c2_12 = arith.constant 2 : index
      %dim_13 = tensor.dim %arg2, %c2_12 : tensor<1x2x?x16xf32>
      %extracted_slice_14 = tensor.extract_slice %arg2[0, 0, %arg3, 0] [1, 2, %3, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x2x?x16xf32>
      %4 = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %arg0, %extracted_slice : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x?xf32>
      %5 = attn.map "bhij->bhij" ins(%4 : tensor<1x2x?x?xf32>) captures(%dim, %dim_1, %arg3 : index, index, index) -> tensor<1x2x?x?xf32> {
      ^bb0(%arg7: index, %arg8: index, %arg9: index, %arg10: index, %arg11: f32, %arg12: index, %arg13: index, %arg14: index):
        %14 = arith.addi %arg10, %arg14 : index
        %cst_15 = arith.constant 2.500000e-01 : f32
        %15 = arith.mulf %arg11, %cst_15 : f32
        %16 = arith.cmpi ule, %14, %arg9 : index
        %cst_16 = arith.constant 0xFF800000 : f32
        %17 = arith.select %16, %15, %cst_16 {attn.mask = @causal_mask} : f32
        attn.yield %17 : f32
      }
      %6 = attn.reduce max "bhij->bhi" %5 : tensor<1x2x?x?xf32> -> tensor<1x2x?xf32>
      %7 = attn.map "bhi,bhi->bhi" ins(%arg4, %6 : tensor<1x2x?xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?xf32> {
      ^bb0(%arg7: index, %arg8: index, %arg9: index, %arg10: f32, %arg11: f32):
        %14 = arith.maximumf %arg10, %arg11 : f32
        attn.yield %14 : f32
      }
      %8 = attn.map "bhi,bhi->bhi" ins(%arg4, %7 : tensor<1x2x?xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?xf32> {
      ^bb0(%arg7: index, %arg8: index, %arg9: index, %arg10: f32, %arg11: f32):
        %cst_15 = arith.constant 0xFF800000 : f32
        %14 = arith.cmpf oeq, %arg11, %cst_15 : f32
        %15 = arith.subf %arg10, %arg11 : f32
        %16 = math.exp %15 : f32
        %cst_16 = arith.constant 0.000000e+00 : f32
        %17 = arith.select %14, %cst_16, %16 : f32
        attn.yield %17 : f32
      }
      %9 = attn.map "bhij,bhi->bhij" ins(%5, %7 : tensor<1x2x?x?xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?x?xf32> {
      ^bb0(%arg7: index, %arg8: index, %arg9: index, %arg10: index, %arg11: f32, %arg12: f32):
        %cst_15 = arith.constant 0xFF800000 : f32
        %14 = arith.cmpf oeq, %arg12, %cst_15 : f32
        %15 = arith.subf %arg11, %arg12 : f32
        %16 = math.exp %15 : f32
        %cst_16 = arith.constant 0.000000e+00 : f32
        %17 = arith.select %14, %cst_16, %16 : f32
        attn.yield %17 : f32
      }
      %10 = attn.reduce add "bhij->bhi" %9 : tensor<1x2x?x?xf32> -> tensor<1x2x?xf32>
      %11 = attn.map "bhi,bhi,bhi->bhi" ins(%arg5, %8, %10 : tensor<1x2x?xf32>, tensor<1x2x?xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?xf32> {
      ^bb0(%arg7: index, %arg8: index, %arg9: index, %arg10: f32, %arg11: f32, %arg12: f32):
        %14 = arith.mulf %arg10, %arg11 : f32
        %15 = arith.addf %14, %arg12 : f32
        attn.yield %15 : f32
      }
      %12 = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %9, %extracted_slice_14 : tensor<1x2x?x?xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      %13 = attn.map "bhif,bhi,bhif->bhif" ins(%arg6, %8, %12 : tensor<1x2x?x16xf32>, tensor<1x2x?xf32>, tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
      ^bb0(%arg7: index, %arg8: index, %arg9: index, %arg10: index, %arg11: f32, %arg12: f32, %arg13: f32):
        %14 = arith.mulf %arg11, %arg12 : f32
        %15 = arith.addf %14, %arg13 : f32
        attn.yield %15 : f32
      }
      scf.yield %7, %11, %13 : tensor<1x2x?xf32>, tensor<1x2x?xf32>, tensor<1x2x?x16xf32>
    } {attn.kv_loop}
    %1 = attn.map "bhif,bhi->bhif" ins(%0#2, %0#1 : tensor<1x2x?x16xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?x16xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: f32, %arg8: f32):
      %cst_10 = arith.constant 0.000000e+00 : f32
      %2 = arith.cmpf oeq, %arg8, %cst_10 : f32
      %3 = arith.divf %arg7, %arg8 : f32
      %cst_11 = arith.constant 0.000000e+00 : f32
      %4 = arith.select %2, %cst_11, %3 : f32
      attn.yield %4 : f32
    }
    return %1 : tensor<1x2x?x16xf32>
  }
}
