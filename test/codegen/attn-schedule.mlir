// -attn-schedule decides each kernel's path and warp layout from what
// -attn-tile asked for (its input: kernel IR after -attn-fuse).
// RUN: attn-opt %s --attn-schedule --split-input-file | FileCheck %s
// RUN: attn-opt %s --attn-schedule=warps=1 --split-input-file | FileCheck %s --check-prefix=ONE
// RUN: attn-opt %s --attn-schedule=warps=3 --split-input-file | FileCheck %s --check-prefix=THREE
// RUN: attn-opt %s --attn-schedule=warps=4 --split-input-file | FileCheck %s --check-prefix=FOUR
// RUN: attn-opt %s --attn-schedule="stages=3 unroll=2" --split-input-file | FileCheck %s --check-prefix=STAGES
// RUN: not attn-opt %s --attn-schedule=path=mma --split-input-file 2>&1 | FileCheck %s --check-prefix=FORCED

// f16 fits tensor cores: a warp per 16 query rows unless asked otherwise.
// CHECK-LABEL: func.func @causal
// CHECK: attn.schedule = #attn.schedule<block_m = 32, warps = 2, stages = 2, rows_per_warp = 16, path = mma>
// ONE-LABEL: func.func @causal
// ONE: attn.schedule = #attn.schedule<block_m = 32, warps = 1, stages = 2, rows_per_warp = 32, path = mma>
// THREE-LABEL: func.func @causal
// THREE: path = simt, fallback = "{{.*}}block_m = 32 over 3 warps is not a whole number of 16-row mma tiles per warp (nor whole row groups of 16 rows shared by warps)"
// More warps than 16-row tiles: two warps share each 16 rows, each with half
// of O's columns and of S's key columns.
// FOUR-LABEL: func.func @causal
// FOUR: attn.schedule = #attn.schedule<block_m = 32, warps = 4, stages = 2, rows_per_warp = 16, path = mma, col_groups = 2>
// STAGES-LABEL: func.func @causal
// STAGES: #attn.schedule<block_m = 32, warps = 2, stages = 3, rows_per_warp = 16, path = mma, unroll = 2>
module {
  func.func private @causal_mask(%arg0: index, %arg1: index, %arg2: index, %arg3: index, %arg4: index, %arg5: index) -> i1 {
    %0 = arith.cmpi ule, %arg3, %arg2 : index
    return %0 : i1
  }
  func.func @causal(%arg0: tensor<1x2x?x16xf16>, %arg1: tensor<1x2x?x16xf16>, %arg2: tensor<1x2x?x16xf16>) -> tensor<1x2x?x16xf16> {
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %arg0, %c2 : tensor<1x2x?x16xf16>
    %dim_0 = tensor.dim %arg1, %c2 : tensor<1x2x?x16xf16>
    %0 = tensor.empty(%dim) : tensor<1x2x?x16xf16>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %1 = scf.for %arg3 = %c0 to %c1 step %c1 iter_args(%arg4 = %0) -> (tensor<1x2x?x16xf16>) {
      %2 = scf.for %arg5 = %c0 to %c2 step %c1 iter_args(%arg6 = %arg4) -> (tensor<1x2x?x16xf16>) {
        %c32 = arith.constant 32 : index
        %3 = scf.for %arg7 = %c0 to %dim step %c32 iter_args(%arg8 = %arg6) -> (tensor<1x2x?x16xf16>) {
          %4 = arith.subi %dim, %arg7 : index
          %5 = arith.minsi %c32, %4 : index
          %extracted_slice = tensor.extract_slice %arg0[%arg3, %arg5, %arg7, 0] [1, 1, %5, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf16> to tensor<1x1x?x16xf16>
          %extracted_slice_1 = tensor.extract_slice %arg1[%arg3, %arg5, 0, 0] [1, 1, %dim_0, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf16> to tensor<1x1x?x16xf16>
          %dim_2 = tensor.dim %arg2, %c2 : tensor<1x2x?x16xf16>
          %extracted_slice_3 = tensor.extract_slice %arg2[%arg3, %arg5, 0, 0] [1, 1, %dim_2, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf16> to tensor<1x1x?x16xf16>
          %cst = arith.constant 0xFF800000 : f32
          %splat = tensor.splat %cst[%5] : tensor<1x1x?xf32>
          %cst_4 = arith.constant 0.000000e+00 : f32
          %splat_5 = tensor.splat %cst_4[%5] : tensor<1x1x?xf32>
          %splat_6 = tensor.splat %cst_4[%5] : tensor<1x1x?x16xf32>
          %c16 = arith.constant 16 : index
          %6 = arith.addi %arg7, %c32 : index
          %7 = arith.minsi %6, %dim : index
          %8 = arith.subi %7, %c1 : index
          %9 = arith.subi %c0, %c0 : index
          %c-1 = arith.constant -1 : index
          %10 = arith.muli %arg7, %c-1 : index
          %11 = arith.muli %8, %c-1 : index
          %12 = arith.addi %9, %11 : index
          %13 = arith.subi %c0, %12 : index
          %14 = arith.floordivsi %13, %c1 : index
          %15 = arith.muli %arg7, %c0 : index
          %16 = arith.addi %c0, %15 : index
          %17 = arith.muli %8, %c0 : index
          %18 = arith.addi %16, %c0 : index
          %19 = arith.cmpi sge, %18, %c0 : index
          %20 = arith.addi %c0, %arg7 : index
          %21 = arith.cmpi sge, %20, %c0 : index
          %22 = arith.andi %19, %21 : i1
          %23 = arith.subi %dim_0, %c1 : index
          %24 = arith.select %22, %c0, %c0 : index
          %25 = arith.select %22, %14, %23 : index
          %26 = arith.floordivsi %24, %c16 : index
          %27 = arith.muli %26, %c16 : index
          %28 = arith.addi %25, %c1 : index
          %29 = arith.ceildivsi %28, %c16 : index
          %30 = arith.muli %29, %c16 : index
          %31 = arith.maxsi %c0, %27 : index
          %32 = arith.minsi %dim_0, %30 : index
          %33:3 = scf.for %arg9 = %31 to %32 step %c16 iter_args(%arg10 = %splat, %arg11 = %splat_5, %arg12 = %splat_6) -> (tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>) {
            %36 = arith.addi %arg9, %c16 : index
            %37 = arith.minsi %36, %32 : index
            %38 = attn.tile_class slice(%arg3, %arg5) rows(%arg7, %7) cols(%arg9, %37) sizes(%dim, %dim_0) mask {
            ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: index, %arg17: index, %arg18: index):
              %41 = arith.cmpi ule, %arg16, %arg15 : index
              attn.yield %41 : i1
            }
            %39 = arith.cmpi eq, %38, %c0 : index
            %40:3 = scf.if %39 -> (tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>) {
              scf.yield %arg10, %arg11, %arg12 : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>
            } else {
              %41 = arith.subi %dim_0, %arg9 : index
              %42 = arith.minsi %c16, %41 : index
              %extracted_slice_8 = tensor.extract_slice %extracted_slice_1[0, 0, %arg9, 0] [1, 1, %42, 16] [1, 1, 1, 1] : tensor<1x1x?x16xf16> to tensor<1x1x?x16xf16>
              %extracted_slice_9 = tensor.extract_slice %extracted_slice_3[0, 0, %arg9, 0] [1, 1, %42, 16] [1, 1, 1, 1] : tensor<1x1x?x16xf16> to tensor<1x1x?x16xf16>
              %43 = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %extracted_slice, %extracted_slice_8 : tensor<1x1x?x16xf16>, tensor<1x1x?x16xf16> -> tensor<1x1x?x?xf32>
              %44 = arith.cmpi eq, %38, %c1 : index
              %45 = scf.if %44 -> (tensor<1x1x?x?xf32>) {
                %54 = attn.map "bhij->bhij" ins(%43 : tensor<1x1x?x?xf32>) captures(%dim, %dim_0, %arg7, %arg9 : index, index, index, index) -> tensor<1x1x?x?xf32> {
                ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: index, %arg17: f32, %arg18: index, %arg19: index, %arg20: index, %arg21: index):
                  %cst_10 = arith.constant 2.500000e-01 : f32
                  %55 = arith.mulf %arg17, %cst_10 : f32
                  attn.yield %55 : f32
                }
                scf.yield %54 : tensor<1x1x?x?xf32>
              } else {
                %54 = attn.map "bhij->bhij" ins(%43 : tensor<1x1x?x?xf32>) captures(%dim, %dim_0, %arg7, %arg9 : index, index, index, index) -> tensor<1x1x?x?xf32> {
                ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: index, %arg17: f32, %arg18: index, %arg19: index, %arg20: index, %arg21: index):
                  %55 = arith.addi %arg16, %arg21 : index
                  %56 = arith.addi %arg15, %arg20 : index
                  %cst_10 = arith.constant 2.500000e-01 : f32
                  %57 = arith.mulf %arg17, %cst_10 : f32
                  %58 = arith.cmpi ule, %55, %56 : index
                  %cst_11 = arith.constant 0xFF800000 : f32
                  %59 = arith.select %58, %57, %cst_11 {attn.mask = @causal_mask} : f32
                  attn.yield %59 : f32
                }
                scf.yield %54 : tensor<1x1x?x?xf32>
              } {attn.tile_branch = #attn.tile_branch<full_or_partial>}
              %46 = attn.reduce max "bhij->bhi" %45 : tensor<1x1x?x?xf32> -> tensor<1x1x?xf32>
              %47 = attn.map "bhi,bhi->bhi" ins(%arg10, %46 : tensor<1x1x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?xf32> {
              ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: f32, %arg17: f32):
                %54 = arith.maximumf %arg16, %arg17 : f32
                attn.yield %54 : f32
              }
              %48 = attn.map "bhi,bhi->bhi" ins(%arg10, %47 : tensor<1x1x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?xf32> {
              ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: f32, %arg17: f32):
                %cst_10 = arith.constant 0xFF800000 : f32
                %54 = arith.cmpf oeq, %arg17, %cst_10 : f32
                %55 = arith.subf %arg16, %arg17 : f32
                %56 = math.exp %55 : f32
                %cst_11 = arith.constant 0.000000e+00 : f32
                %57 = arith.select %54, %cst_11, %56 : f32
                attn.yield %57 : f32
              }
              %49 = attn.map "bhij,bhi->bhij" ins(%45, %47 : tensor<1x1x?x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?x?xf32> {
              ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: index, %arg17: f32, %arg18: f32):
                %cst_10 = arith.constant 0xFF800000 : f32
                %54 = arith.cmpf oeq, %arg18, %cst_10 : f32
                %55 = arith.subf %arg17, %arg18 : f32
                %56 = math.exp %55 : f32
                %cst_11 = arith.constant 0.000000e+00 : f32
                %57 = arith.select %54, %cst_11, %56 : f32
                attn.yield %57 : f32
              }
              %50 = attn.reduce add "bhij->bhi" %49 : tensor<1x1x?x?xf32> -> tensor<1x1x?xf32>
              %51 = attn.map "bhi,bhi,bhi->bhi" ins(%arg11, %48, %50 : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?xf32> {
              ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: f32, %arg17: f32, %arg18: f32):
                %54 = arith.mulf %arg16, %arg17 : f32
                %55 = arith.addf %54, %arg18 : f32
                attn.yield %55 : f32
              }
              %52 = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %49, %extracted_slice_9 : tensor<1x1x?x?xf32>, tensor<1x1x?x16xf16> -> tensor<1x1x?x16xf32>
              %53 = attn.map "bhif,bhi,bhif->bhif" ins(%arg12, %48, %52 : tensor<1x1x?x16xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>) -> tensor<1x1x?x16xf32> {
              ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: index, %arg17: f32, %arg18: f32, %arg19: f32):
                %54 = arith.mulf %arg17, %arg18 : f32
                %55 = arith.addf %54, %arg19 : f32
                attn.yield %55 : f32
              }
              scf.yield %47, %51, %53 : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>
            }
            scf.yield %40#0, %40#1, %40#2 : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>
          } {attn.kv_loop}
          %34 = attn.map "bhif,bhi->bhif" ins(%33#2, %33#1 : tensor<1x1x?x16xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?x16xf32> {
          ^bb0(%arg9: index, %arg10: index, %arg11: index, %arg12: index, %arg13: f32, %arg14: f32):
            %cst_8 = arith.constant 0.000000e+00 : f32
            %36 = arith.cmpf oeq, %arg14, %cst_8 : f32
            %37 = arith.divf %arg13, %arg14 : f32
            %38 = arith.select %36, %cst_8, %37 : f32
            attn.yield %38 : f32
          }
          %35 = attn.map "bhif->bhif" ins(%34 : tensor<1x1x?x16xf32>) -> tensor<1x1x?x16xf16> {
          ^bb0(%arg9: index, %arg10: index, %arg11: index, %arg12: index, %arg13: f32):
            %36 = arith.truncf %arg13 : f32 to f16
            attn.yield %36 : f16
          }
          %dim_7 = tensor.dim %35, %c2 : tensor<1x1x?x16xf16>
          %inserted_slice = tensor.insert_slice %35 into %arg8[%arg3, %arg5, %arg7, 0] [1, 1, %dim_7, 16] [1, 1, 1, 1] : tensor<1x1x?x16xf16> into tensor<1x2x?x16xf16>
          scf.yield %inserted_slice : tensor<1x2x?x16xf16>
        } {attn.grid = #attn.grid<"i", rows>}
        scf.yield %3 : tensor<1x2x?x16xf16>
      } {attn.grid = #attn.grid<"h", slice>}
      scf.yield %2 : tensor<1x2x?x16xf16>
    } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 32, warps = 0, stages = 2>}
    return %1 : tensor<1x2x?x16xf16>
  }
}


// -----

// f32 runs on SIMT (one thread per row), with the tensor-core printer's
// reason kept; forcing tensor cores is that reason, at its location.
// CHECK-LABEL: func.func @causal_f32
// CHECK: path = simt, fallback = "{{.*}}CUDA emitter (tensor cores): q is 'f32'; the mma path takes f16 or bf16 (f32 runs on SIMT)"
// FORCED: error: CUDA emitter (tensor cores): q is 'f32'
// FORCED: note: -attn-schedule: tensor cores were asked for '@causal_f32'
module {
  func.func private @causal_f32_mask(%arg0: index, %arg1: index, %arg2: index, %arg3: index, %arg4: index, %arg5: index) -> i1 {
    %0 = arith.cmpi ule, %arg3, %arg2 : index
    return %0 : i1
  }
  func.func @causal_f32(%arg0: tensor<1x2x?x16xf32>, %arg1: tensor<1x2x?x16xf32>, %arg2: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %arg0, %c2 : tensor<1x2x?x16xf32>
    %dim_0 = tensor.dim %arg1, %c2 : tensor<1x2x?x16xf32>
    %0 = tensor.empty(%dim) : tensor<1x2x?x16xf32>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %1 = scf.for %arg3 = %c0 to %c1 step %c1 iter_args(%arg4 = %0) -> (tensor<1x2x?x16xf32>) {
      %2 = scf.for %arg5 = %c0 to %c2 step %c1 iter_args(%arg6 = %arg4) -> (tensor<1x2x?x16xf32>) {
        %c32 = arith.constant 32 : index
        %3 = scf.for %arg7 = %c0 to %dim step %c32 iter_args(%arg8 = %arg6) -> (tensor<1x2x?x16xf32>) {
          %4 = arith.subi %dim, %arg7 : index
          %5 = arith.minsi %c32, %4 : index
          %extracted_slice = tensor.extract_slice %arg0[%arg3, %arg5, %arg7, 0] [1, 1, %5, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x1x?x16xf32>
          %extracted_slice_1 = tensor.extract_slice %arg1[%arg3, %arg5, 0, 0] [1, 1, %dim_0, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x1x?x16xf32>
          %dim_2 = tensor.dim %arg2, %c2 : tensor<1x2x?x16xf32>
          %extracted_slice_3 = tensor.extract_slice %arg2[%arg3, %arg5, 0, 0] [1, 1, %dim_2, 16] [1, 1, 1, 1] : tensor<1x2x?x16xf32> to tensor<1x1x?x16xf32>
          %cst = arith.constant 0xFF800000 : f32
          %splat = tensor.splat %cst[%5] : tensor<1x1x?xf32>
          %cst_4 = arith.constant 0.000000e+00 : f32
          %splat_5 = tensor.splat %cst_4[%5] : tensor<1x1x?xf32>
          %splat_6 = tensor.splat %cst_4[%5] : tensor<1x1x?x16xf32>
          %c16 = arith.constant 16 : index
          %6 = arith.addi %arg7, %c32 : index
          %7 = arith.minsi %6, %dim : index
          %8 = arith.subi %7, %c1 : index
          %9 = arith.subi %c0, %c0 : index
          %c-1 = arith.constant -1 : index
          %10 = arith.muli %arg7, %c-1 : index
          %11 = arith.muli %8, %c-1 : index
          %12 = arith.addi %9, %11 : index
          %13 = arith.subi %c0, %12 : index
          %14 = arith.floordivsi %13, %c1 : index
          %15 = arith.muli %arg7, %c0 : index
          %16 = arith.addi %c0, %15 : index
          %17 = arith.muli %8, %c0 : index
          %18 = arith.addi %16, %c0 : index
          %19 = arith.cmpi sge, %18, %c0 : index
          %20 = arith.addi %c0, %arg7 : index
          %21 = arith.cmpi sge, %20, %c0 : index
          %22 = arith.andi %19, %21 : i1
          %23 = arith.subi %dim_0, %c1 : index
          %24 = arith.select %22, %c0, %c0 : index
          %25 = arith.select %22, %14, %23 : index
          %26 = arith.floordivsi %24, %c16 : index
          %27 = arith.muli %26, %c16 : index
          %28 = arith.addi %25, %c1 : index
          %29 = arith.ceildivsi %28, %c16 : index
          %30 = arith.muli %29, %c16 : index
          %31 = arith.maxsi %c0, %27 : index
          %32 = arith.minsi %dim_0, %30 : index
          %33:3 = scf.for %arg9 = %31 to %32 step %c16 iter_args(%arg10 = %splat, %arg11 = %splat_5, %arg12 = %splat_6) -> (tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>) {
            %35 = arith.addi %arg9, %c16 : index
            %36 = arith.minsi %35, %32 : index
            %37 = attn.tile_class slice(%arg3, %arg5) rows(%arg7, %7) cols(%arg9, %36) sizes(%dim, %dim_0) mask {
            ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: index, %arg17: index, %arg18: index):
              %40 = arith.cmpi ule, %arg16, %arg15 : index
              attn.yield %40 : i1
            }
            %38 = arith.cmpi eq, %37, %c0 : index
            %39:3 = scf.if %38 -> (tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>) {
              scf.yield %arg10, %arg11, %arg12 : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>
            } else {
              %40 = arith.subi %dim_0, %arg9 : index
              %41 = arith.minsi %c16, %40 : index
              %extracted_slice_8 = tensor.extract_slice %extracted_slice_1[0, 0, %arg9, 0] [1, 1, %41, 16] [1, 1, 1, 1] : tensor<1x1x?x16xf32> to tensor<1x1x?x16xf32>
              %extracted_slice_9 = tensor.extract_slice %extracted_slice_3[0, 0, %arg9, 0] [1, 1, %41, 16] [1, 1, 1, 1] : tensor<1x1x?x16xf32> to tensor<1x1x?x16xf32>
              %42 = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %extracted_slice, %extracted_slice_8 : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32> -> tensor<1x1x?x?xf32>
              %43 = arith.cmpi eq, %37, %c1 : index
              %44 = scf.if %43 -> (tensor<1x1x?x?xf32>) {
                %53 = attn.map "bhij->bhij" ins(%42 : tensor<1x1x?x?xf32>) captures(%dim, %dim_0, %arg7, %arg9 : index, index, index, index) -> tensor<1x1x?x?xf32> {
                ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: index, %arg17: f32, %arg18: index, %arg19: index, %arg20: index, %arg21: index):
                  %cst_10 = arith.constant 2.500000e-01 : f32
                  %54 = arith.mulf %arg17, %cst_10 : f32
                  attn.yield %54 : f32
                }
                scf.yield %53 : tensor<1x1x?x?xf32>
              } else {
                %53 = attn.map "bhij->bhij" ins(%42 : tensor<1x1x?x?xf32>) captures(%dim, %dim_0, %arg7, %arg9 : index, index, index, index) -> tensor<1x1x?x?xf32> {
                ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: index, %arg17: f32, %arg18: index, %arg19: index, %arg20: index, %arg21: index):
                  %54 = arith.addi %arg16, %arg21 : index
                  %55 = arith.addi %arg15, %arg20 : index
                  %cst_10 = arith.constant 2.500000e-01 : f32
                  %56 = arith.mulf %arg17, %cst_10 : f32
                  %57 = arith.cmpi ule, %54, %55 : index
                  %cst_11 = arith.constant 0xFF800000 : f32
                  %58 = arith.select %57, %56, %cst_11 {attn.mask = @causal_f32_mask} : f32
                  attn.yield %58 : f32
                }
                scf.yield %53 : tensor<1x1x?x?xf32>
              } {attn.tile_branch = #attn.tile_branch<full_or_partial>}
              %45 = attn.reduce max "bhij->bhi" %44 : tensor<1x1x?x?xf32> -> tensor<1x1x?xf32>
              %46 = attn.map "bhi,bhi->bhi" ins(%arg10, %45 : tensor<1x1x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?xf32> {
              ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: f32, %arg17: f32):
                %53 = arith.maximumf %arg16, %arg17 : f32
                attn.yield %53 : f32
              }
              %47 = attn.map "bhi,bhi->bhi" ins(%arg10, %46 : tensor<1x1x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?xf32> {
              ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: f32, %arg17: f32):
                %cst_10 = arith.constant 0xFF800000 : f32
                %53 = arith.cmpf oeq, %arg17, %cst_10 : f32
                %54 = arith.subf %arg16, %arg17 : f32
                %55 = math.exp %54 : f32
                %cst_11 = arith.constant 0.000000e+00 : f32
                %56 = arith.select %53, %cst_11, %55 : f32
                attn.yield %56 : f32
              }
              %48 = attn.map "bhij,bhi->bhij" ins(%44, %46 : tensor<1x1x?x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?x?xf32> {
              ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: index, %arg17: f32, %arg18: f32):
                %cst_10 = arith.constant 0xFF800000 : f32
                %53 = arith.cmpf oeq, %arg18, %cst_10 : f32
                %54 = arith.subf %arg17, %arg18 : f32
                %55 = math.exp %54 : f32
                %cst_11 = arith.constant 0.000000e+00 : f32
                %56 = arith.select %53, %cst_11, %55 : f32
                attn.yield %56 : f32
              }
              %49 = attn.reduce add "bhij->bhi" %48 : tensor<1x1x?x?xf32> -> tensor<1x1x?xf32>
              %50 = attn.map "bhi,bhi,bhi->bhi" ins(%arg11, %47, %49 : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?xf32> {
              ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: f32, %arg17: f32, %arg18: f32):
                %53 = arith.mulf %arg16, %arg17 : f32
                %54 = arith.addf %53, %arg18 : f32
                attn.yield %54 : f32
              }
              %51 = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %48, %extracted_slice_9 : tensor<1x1x?x?xf32>, tensor<1x1x?x16xf32> -> tensor<1x1x?x16xf32>
              %52 = attn.map "bhif,bhi,bhif->bhif" ins(%arg12, %47, %51 : tensor<1x1x?x16xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>) -> tensor<1x1x?x16xf32> {
              ^bb0(%arg13: index, %arg14: index, %arg15: index, %arg16: index, %arg17: f32, %arg18: f32, %arg19: f32):
                %53 = arith.mulf %arg17, %arg18 : f32
                %54 = arith.addf %53, %arg19 : f32
                attn.yield %54 : f32
              }
              scf.yield %46, %50, %52 : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>
            }
            scf.yield %39#0, %39#1, %39#2 : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x16xf32>
          } {attn.kv_loop}
          %34 = attn.map "bhif,bhi->bhif" ins(%33#2, %33#1 : tensor<1x1x?x16xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?x16xf32> {
          ^bb0(%arg9: index, %arg10: index, %arg11: index, %arg12: index, %arg13: f32, %arg14: f32):
            %cst_8 = arith.constant 0.000000e+00 : f32
            %35 = arith.cmpf oeq, %arg14, %cst_8 : f32
            %36 = arith.divf %arg13, %arg14 : f32
            %37 = arith.select %35, %cst_8, %36 : f32
            attn.yield %37 : f32
          }
          %dim_7 = tensor.dim %34, %c2 : tensor<1x1x?x16xf32>
          %inserted_slice = tensor.insert_slice %34 into %arg8[%arg3, %arg5, %arg7, 0] [1, 1, %dim_7, 16] [1, 1, 1, 1] : tensor<1x1x?x16xf32> into tensor<1x2x?x16xf32>
          scf.yield %inserted_slice : tensor<1x2x?x16xf32>
        } {attn.grid = #attn.grid<"i", rows>}
        scf.yield %3 : tensor<1x2x?x16xf32>
      } {attn.grid = #attn.grid<"h", slice>}
      scf.yield %2 : tensor<1x2x?x16xf32>
    } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 32, warps = 0, stages = 2>}
    return %1 : tensor<1x2x?x16xf32>
  }
}

