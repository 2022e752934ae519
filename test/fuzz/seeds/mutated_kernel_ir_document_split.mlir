module {
  func.func private @document_mask(%arg0: index, %arg1: index, %arg2: index, %arg3: index, %arg4: index, %arg5: index, %arg6: tensor<?x?xi32>) -> i1 {
    %extracted = tensor.extract %arg6[%arg0, %arg2] : tensor<?x?xi32>
    %extracted_0 = tensor.extract %arg6[%arg0, %arg3] : tensor<?x?xi32>
    %0 = arith.cmpi eq, %extracted, %extracted_0 : i32
    %1 = arith.cmpi ule, %arg3, %arg2 : index
    %2 = arith.andi %0, %1 : i1
    return %2 : i1
  }
  func.func @document(%arg0: tensor<?x8x?x64xf16>, %arg1: tensor<?x8x?x64xf16>, %arg2: tensor<?x8x?x64xf16>, %arg3: tensor<?x?xi32> {attn.dims = ["b", "nk"], attn.gen = #attn.gen<segments, 1.0, 160.0>}) -> tensor<?x8x?x64xf16> {
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %arg0, %c2 : tensor<?x8x?x64xf16>
    %dim_0 = tensor.dim %arg1, %c2 : tensor<?x8x?x64xf16>
    %c0 = arith.constant 0 : index
    %dim_1 = tensor.dim %arg0, %c0 : tensor<?x8x?x64xf16>
    %0 = tensor.empty(%dim_1, %dim) : tensor<?x8x?x64xf16>
    %c1 = arith.constant 1 : index
    %1 = scf.for %arg4 = %c0 to %dim_1 step %c1 iter_args(%arg5 = %0) -> (tensor<?x8x?x64xf16>) {
      %c8 = arith.constant 8 : index
      %2 = scf.for %arg6 = %c0 to %c8 step %c1 iter_args(%arg7 = %arg5) -> (tensor<?x8x?x64xf16>) {
        %c32 = arith.constant 32 : index
        %3 = scf.for %arg8 = %c0 to %dim step %c32 iter_args(%arg9 = %arg7) -> (tensor<?x8x?x64xf16>) {
          %4 = arith.subi %dim, %arg8 : index
          %5 = arith.minsi %c32, %4 : index
          %extracted_slice = tensor.extract_slice %arg0[%arg4, %arg6, %arg8, 0] [1, 1, %5, 64] [1, 1, 1, 1] : tensor<?x8x?x64xf16> to tensor<1x1x?x64xf16>
          %extracted_slice_2 = tensor.extract_slice %arg1[%arg4, %arg6, 0, 0] [1, 1, %dim_0, 64] [1, 1, 1, 1] : tensor<?x8x?x64xf16> to tensor<1x1x?x64xf16>
          %dim_3 = tensor.dim %arg2, %c2 : tensor<?x8x?x64xf16>
          %extracted_slice_4 = tensor.extract_slice %arg2[%arg4, %arg6, 0, 0] [1, 1, %dim_3, 64] [1, 1, 1, 1] : tensor<?x8x?x64xf16> to tensor<1x1x?x64xf16>
          %cst = arith.constant 0xFF800000 : f32
          %splat = tensor.splat %cst[%5] : tensor<1x1x?xf32>
          %cst_5 = arith.constant 0.000000e+00 : f32
          %splat_6 = tensor.splat %cst_5[%5] : tensor<1x1x?xf32>
          %splat_7 = tensor.splat %cst_5[%5] : tensor<1x1x?x64xf32>
          %c4 = arith.constant 4 : index
          %6 = arith.subi %dim_0, %c0 : index
          %7 = arith.ceildivsi %6, %c4 : index
          %8 = arith.ceildivsi %7, %c32 : index
          %9 = arith.muli %8, %c32 : index
          %dim_8 = tensor.dim %splat, %c2 : tensor<1x1x?xf32>
          %10 = tensor.empty(%dim_8) : tensor<4x1x1x?xf32>
          %dim_9 = tensor.dim %splat_6, %c2 : tensor<1x1x?xf32>
          %11 = tensor.empty(%dim_9) : tensor<4x1x1x?xf32>
          %dim_10 = tensor.dim %splat_7, %c2 : tensor<1x1x?x64xf32>
          %12 = tensor.empty(%dim_10) : tensor<4x1x1x?x64xf32>
          %13:3 = scf.for %arg10 = %c0 to %c4 step %c1 iter_args(%arg11 = %10, %arg12 = %11, %arg13 = %12) -> (tensor<4x1x1x?xf32>, tensor<4x1x1x?xf32>, tensor<4x1x1x?x64xf32>) {
            %20 = arith.muli %arg10, %9 : index
            %21 = arith.addi %c0, %20 : index
            %22 = arith.addi %21, %9 : index
            %23 = arith.minsi %22, %dim_0 : index
            %24 = arith.addi %arg8, %c32 : index
            %25 = arith.minsi %24, %dim : index
            %26 = arith.subi %25, %c1 : index
            %27 = arith.subi %dim_0, %c1 : index
            %28 = arith.maxsi %c0, %c0 : index
            %29 = arith.minsi %27, %27 : index
            %30 = arith.subi %c0, %c0 : index
            %c-1 = arith.constant -1 : index
            %31 = arith.muli %arg8, %c-1 : index
            %32 = arith.muli %26, %c-1 : index
            %33 = arith.addi %30, %32 : index
            %34 = arith.subi %c0, %33 : index
            %35 = arith.floordivsi %34, %c1 : index
            %36 = arith.muli %arg8, %c0 : index
            %37 = arith.addi %c0, %36 : index
            %38 = arith.muli %26, %c0 : index
            %39 = arith.addi %37, %c0 : index
            %40 = arith.cmpi sge, %39, %c0 : index
            %41 = arith.addi %c0, %arg8 : index
            %42 = arith.cmpi sge, %41, %c0 : index
            %43 = arith.andi %40, %42 : i1
            %44 = arith.select %43, %c0, %c0 : index
            %45 = arith.select %43, %35, %27 : index
            %46 = arith.maxsi %28, %44 : index
            %47 = arith.minsi %29, %45 : index
            %48 = arith.floordivsi %46, %c32 : index
            %49 = arith.muli %48, %c32 : index
            %50 = arith.addi %47, %c1 : index
            %51 = arith.ceildivsi %50, %c32 : index
            %52 = arith.muli %51, %c32 : index
            %53 = arith.maxsi %21, %49 : index
            %54 = arith.minsi %23, %52 : index
            %55:3 = scf.for %arg14 = %53 to %54 step %c32 iter_args(%arg15 = %splat, %arg16 = %splat_6, %arg17 = %splat_7) -> (tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x64xf32>) {
              %56 = arith.addi %arg14, %c32 : index
              %57 = arith.minsi %56, %54 : index
              %58 = attn.tile_class slice(%arg4, %arg6) rows(%arg8, %25) cols(%arg14, %57) sizes(%dim, %dim_0) captures(%arg3 : tensor<?x?xi32>) mask {
              ^bb0(%arg18: index, %arg19: index, %arg20: index, %arg21: index, %arg22: index, %arg23: index, %arg24: tensor<?x?xi32>):
                %extracted = tensor.extract %arg24[%arg18, %arg20] : tensor<?x?xi32>
                %extracted_18 = tensor.extract %arg24[%arg18, %arg21] : tensor<?x?xi32>
                %61 = arith.cmpi eq, %extracted, %extracted_18 : i32
                %62 = arith.cmpi ule, %arg21, %arg20 : index
                %63 = arith.andi %61, %62 : i1
                attn.yield %63 : i1
              }
              %59 = arith.cmpi eq, %58, %c0 : index
              %60:3 = scf.if %59 -> (tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x64xf32>) {
                scf.yield %arg15, %arg16, %arg17 : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x64xf32>
              } else {
                %61 = arith.subi %dim_0, %arg14 : index
                %62 = arith.minsi %c32, %61 : index
                %extracted_slice_18 = tensor.extract_slice %extracted_slice_2[0, 0, %arg14, 0] [1, 1, %62, 64] [1, 1, 1, 1] : tensor<1x1x?x64xf16> to tensor<1x1x?x64xf16>
                %extracted_slice_19 = tensor.extract_slice %extracted_slice_4[0, 0, %arg14, 0] [1, 1, %62, 64] [1, 1, 1, 1] : tensor<1x1x?x64xf16> to tensor<1x1x?x64xf16>
                %63 = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %extracted_slice, %extracted_slice_18 : tensor<1x1x?x64xf16>, tensor<1x1x?x64xf16> -> tensor<1x1x?x?xf32>
                %64 = arith.cmpi eq, %58, %c1 : index
                %65 = scf.if %64 -> (tensor<1x1x?x?xf32>) {
                  %74 = attn.map "bhij->bhij" ins(%63 : tensor<1x1x?x?xf32>) captures(%dim, %dim_0, %arg3, %arg4, %arg8, %arg14 : index, index, tensor<?x?xi32>, index, index, index) -> tensor<1x1x?x?xf32> {
                  ^bb0(%arg18: index, %arg19: index, %arg20: index, %arg21: index, %arg22: f32, %arg23: index, %arg24: index, %arg25: tensor<?x?xi32>, %arg26: index, %arg27: index, %arg28: index):
                    %cst_20 = arith.constant 1.250000e-01 : f32
                    %75 = arith.mulf %arg22, %cst_20 : f32
                    attn.yield %75 : f32
                  }
                  scf.yield %74 : tensor<1x1x?x?xf32>
                } else {
                  %74 = attn.map "bhij->bhij" ins(%63 : tensor<1x1x?x?xf32>) captures(%dim, %dim_0, %arg3, %arg4, %arg8, %arg14 : index, index, tensor<?x?xi32>, index, index, index) -> tensor<1x1x?x?xf32> {
                  ^bb0(%arg18: index, %arg19: index, %arg20: index, %arg21: index, %arg22: f32, %arg23: index, %arg24: index, %arg25: tensor<?x?xi32>, %arg26: index, %arg27: index, %arg28: index):
                    %75 = arith.addi %arg21, %arg28 : index
                    %76 = arith.addi %arg18, %arg26 : index
                    %77 = arith.addi %arg20, %arg27 : index
                    %cst_20 = arith.constant 1.250000e-01 : f32
                    %78 = arith.mulf %arg22, %cst_20 : f32
                    %extracted = tensor.extract %arg25[%76, %77] : tensor<?x?xi32>
                    %extracted_21 = tensor.extract %arg25[%76, %75] : tensor<?x?xi32>
                    %79 = arith.cmpi eq, %extracted, %extracted_21 : i32
                    %80 = arith.cmpi ule, %75, %77 : index
                    %81 = arith.andi %79, %80 : i1
                    %cst_22 = arith.constant 0xFF800000 : f32
                    %82 = arith.select %81, %78, %cst_22 {attn.mask = @document_mask} : f32
                    attn.yield %82 : f32
                  }
                  scf.yield %74 : tensor<1x1x?x?xf32>
                } {attn.tile_branch = "full_or_partial"}
                %66 = attn.reduce max "bhij->bhi" %65 : tensor<1x1x?x?xf32> -> tensor<1x1x?xf32>
                %67 = attn.map "bhi,bhi->bhi" ins(%arg15, %66 : tensor<1x1x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?xf32> {
                ^bb0(%arg18: index, %arg19: index, %arg20: index, %arg21: f32, %arg22: f32):
                  %74 = arith.maximumf %arg21, %arg22 : f32
                  attn.yield %74 : f32
                }
                %68 = attn.map "bhi,bhi->bhi" ins(%arg15, %67 : tensor<1x1x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?xf32> {
                ^bb0(%arg18: index, %arg19: index, %arg20: index, %arg21: f32, %arg22: f32):
                  %cst_20 = arith.constant 0xFF800000 : f32
                  %74 = arith.cmpf oeq, %arg22, %cst_20 : f32
                  %75 = arith.subf %arg21, %arg22 : f32
                  %76 = math.exp %75 : f32
                  %cst_21 = arith.constant 0.000000e+00 : f32
                  %77 = arith.select %74, %cst_21, %76 : f32
                  attn.yield %77 : f32
                }
                %69 = attn.map "bhij,bhi->bhij" ins(%65, %67 : tensor<1x1x?x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?x?xf32> {
                ^bb0(%arg18: index, %arg19: index, %arg20: index, %arg21: index, %arg22: f32, %arg23: f32):
                  %cst_20 = arith.constant 0xFF800000 : f32
                  %74 = arith.cmpf oeq, %arg23, %cst_20 : f32
                  %75 = arith.subf %arg22, %arg23 : f32
                  %76 = math.exp %75 : f32
                  %cst_21 = arith.constant 0.000000e+00 : f32
                  %77 = arith.select %74, %cst_21, %76 : f32
                  attn.yield %77 : f32
                }
                %70 = attn.reduce add "bhij->bhi" %69 : tensor<1x1x?x?xf32> -> tensor<1x1x?xf32>
                %71 = attn.map "bhi,bhi,bhi->bhi" ins(%arg16, %68, %70 : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?xf32> {
                ^bb0(%arg18: index, %arg19: index, %arg20: index, %arg21: f32, %arg22: f32, %arg23: f32):
                  %74 = arith.mulf %arg21, %arg22 : f32
                  %75 = arith.addf %74, %arg23 : f32
                  attn.yield %75 : f32
                }
                %72 = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %69, %extracted_slice_19 : tensor<1x1x?x?xf32>, tensor<1x1x?x64xf16> -> tensor<1x1x?x64xf32>
                %73 = attn.map "bhif,bhi,bhif->bhif" ins(%arg17, %68, %72 : tensor<1x1x?x64xf32>, tensor<1x1x?xf32>, tensor<1x1x?x64xf32>) -> tensor<1x1x?x64xf32> {
                ^bb0(%arg18: index, %arg19: index, %arg20: index, %arg21: index, %arg22: f32, %arg23: f32, %arg24: f32):
                  %74 = arith.mulf %arg22, %arg23 : f32
                  %75 = arith.addf %74, %arg24 : f32
                  attn.yield %75 : f32
                }
                scf.yield %67, %71, %73 : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x64xf32>
              }
              scf.yield %60#0, %60#1, %60#2 : tensor<1x1x?xf32>, tensor<1x1x?xf32>, tensor<1x1x?x64xf32>
            } {attn.kv_loop}
            %dim_12 = tensor.dim %55#0, %c2 : tensor<1x1x?xf32>
            %inserted_slice_13 = tensor.insert_slice %55#0 into %arg11[%arg10, 0, 0, 0] [1, 1, 1, %dim_12] [1, 1, 1, 1] : tensor<1x1x?xf32> into tensor<4x1x1x?xf32>
            %dim_14 = tensor.dim %55#1, %c2 : tensor<1x1x?xf32>
            %inserted_slice_15 = tensor.insert_slice %55#1 into %arg12[%arg10, 0, 0, 0] [1, 1, 1, %dim_14] [1, 1, 1, 1] : tensor<1x1x?xf32> into tensor<4x1x1x?xf32>
            %dim_16 = tensor.dim %55#2, %c2 : tensor<1x1x?x64xf32>
            %inserted_slice_17 = tensor.insert_slice %55#2 into %arg13[%arg10, 0, 0, 0, 0] [1, 1, 1, %dim_16, 64] [1, 1, 1, 1, 1] : tensor<1x1x?x64xf32> into tensor<4x1x1x?x64xf32>
            scf.yield %inserted_slice_13, %inserted_slice_15, %inserted_slice_17 : tensor<4x1x1x?xf32>, tensor<4x1x1x?xf32>, tensor<4x1x1x?x64xf32>
          } {attn.grid = "s", attn.split_kv = 4 : i64}
          %14 = attn.reduce max "sbhi->bhi" %13#0 : tensor<4x1x1x?xf32> -> tensor<1x1x?xf32>
          %15 = attn.map "sbhi,bhi->sbhi" ins(%13#0, %14 : tensor<4x1x1x?xf32>, tensor<1x1x?xf32>) -> tensor<4x1x1x?xf32> {
          ^bb0(%arg10: index, %arg11: index, %arg12: index, %arg13: index, %arg14: f32, %arg15: f32):
            %cst_12 = arith.constant 0xFF800000 : f32
            %20 = arith.cmpf oeq, %arg15, %cst_12 : f32
            %21 = arith.subf %arg14, %arg15 : f32
            %22 = math.exp %21 : f32
            %cst_13 = arith.constant 0.000000e+00 : f32
            %23 = arith.select %20, %cst_13, %22 : f32
            attn.yield %23 : f32
          }
          %16 = attn.contract "sbhi,sbhi->bhi" combine(mul) reduce(add) %13#1, %15 : tensor<4x1x1x?xf32>, tensor<4x1x1x?xf32> -> tensor<1x1x?xf32>
          %17 = attn.contract "sbhif,sbhi->bhif" combine(mul) reduce(add) %13#2, %15 : tensor<4x1x1x?x64xf32>, tensor<4x1x1x?xf32> -> tensor<1x1x?x64xf32>
          %18 = attn.map "bhif,bhi->bhif" ins(%17, %16 : tensor<1x1x?x64xf32>, tensor<1x1x?xf32>) -> tensor<1x1x?x64xf32> {
          ^bb0(%arg10: index, %arg11: index, %arg12: index, %arg13: index, %arg14: f32, %arg15: f32):
            %cst_12 = arith.constant 0.000000e+00 : f32
            %20 = arith.cmpf oeq, %arg15, %cst_12 : f32
            %21 = arith.divf %arg14, %arg15 : f32
            %22 = arith.select %20, %cst_12, %21 : f32
            attn.yield %22 : f32
          }
          %19 = attn.map "bhif->bhif" ins(%18 : tensor<1x1x?x64xf32>) -> tensor<1x1x?x64xf16> {
          ^bb0(%arg10: index, %arg11: index, %arg12: index, %arg13: index, %arg14: f32):
            %20 = arith.truncf %arg14 : f32 to f16
            attn.yield %20 : f16
          }
          %dim_11 = tensor.dim %19, %c2 : tensor<1x1x?x64xf16>
          %inserted_slice = tensor.insert_slice %19 into %arg9[%arg4, %arg6, %arg8, 0] [1, 1, %dim_11, 64] [1, 1, 1, 1] : tensor<1x1x?x64xf16> into tensor<?x8x?x64xf16>
          scf.yield %inserted_slice : tensor<?x8x?x64xf16>
        } {attn.grid = "i"}
        scf.yield %3 : tensor<?x8x?x64xf16>
      } {attn.grid = "h"}
      scf.yield %2 : tensor<?x8x?x64xf16>
    } {attn.block_m = 32 : i64, attn.grid = "b", attn.stages = 2 : i64, attn.warps = 4 : i64}
    return %1 : tensor<?x8x?x64xf16>
  }
}

