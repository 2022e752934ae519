// tensor.dim's verifier accepts any constant index; the emitter and the
// interpreter refuse one past the rank with a located error (the fuzzer
// found the emitter reading past the view's sizes).
// RUN: not attn-opt %s --attn-pipeline --emit=cuda 2>&1 | FileCheck %s
// RUN: not attn-run %s --device=ref 2>&1 | FileCheck %s --check-prefix=REF
// CHECK: emit-cuda-dim-index.mlir:[[@LINE+9]]:12: error: CUDA emitter: tensor.dim index 4 out of range for a rank-4 tensor
// REF: emit-cuda-dim-index.mlir:[[@LINE+8]]:12: 'tensor.dim': dimension 4 out of range for a rank-4 tensor
module {
  func.func private @causal_mask(%arg0: index, %arg1: index, %arg2: index, %arg3: index, %arg4: index, %arg5: index) -> i1 {
    %0 = arith.cmpi ule, %arg3, %arg2 : index
    return %0 : i1
  }
  func.func @causal(%arg0: tensor<?x8x?x64xf16>, %arg1: tensor<?x8x?x64xf16>, %arg2: tensor<?x8x?x64xf16>) -> (tensor<?x8x?x64xf16>, tensor<?x8x?xf32>) {
    %c2 = arith.constant 4 : index
    %dim = tensor.dim %arg0, %c2 : tensor<?x8x?x64xf16>
    %c2_0 = arith.constant 2 : index
    %dim_1 = tensor.dim %arg1, %c2_0 : tensor<?x8x?x64xf16>
    %0 = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %arg0, %arg1 : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16> -> tensor<?x8x?x?xf32>
    %1 = attn.map "bhij->bhij" ins(%0 : tensor<?x8x?x?xf32>) captures(%dim, %dim_1 : index, index) -> tensor<?x8x?x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: f32, %arg8: index, %arg9: index):
      %cst = arith.constant 1.250000e-01 : f32
      %9 = arith.mulf %arg7, %cst : f32
      %10 = arith.cmpi ule, %arg6, %arg5 : index
      %cst_2 = arith.constant 0xFF800000 : f32
      %11 = arith.select %10, %9, %cst_2 {attn.mask = @causal_mask} : f32
      attn.yield %11 : f32
    }
    %2 = attn.reduce max "bhij->bhi" %1 : tensor<?x8x?x?xf32> -> tensor<?x8x?xf32>
    %3 = attn.map "bhij,bhi->bhij" ins(%1, %2 : tensor<?x8x?x?xf32>, tensor<?x8x?xf32>) -> tensor<?x8x?x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: f32, %arg8: f32):
      %cst = arith.constant 0xFF800000 : f32
      %9 = arith.cmpf oeq, %arg8, %cst : f32
      %10 = arith.subf %arg7, %arg8 : f32
      %11 = math.exp %10 : f32
      %cst_2 = arith.constant 0.000000e+00 : f32
      %12 = arith.select %9, %cst_2, %11 : f32
      attn.yield %12 : f32
    }
    %4 = attn.reduce add "bhij->bhi" %3 : tensor<?x8x?x?xf32> -> tensor<?x8x?xf32>
    %5 = attn.map "bhij,bhi->bhij" ins(%3, %4 : tensor<?x8x?x?xf32>, tensor<?x8x?xf32>) -> tensor<?x8x?x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: f32, %arg8: f32):
      %cst = arith.constant 0.000000e+00 : f32
      %9 = arith.cmpf oeq, %arg8, %cst : f32
      %10 = arith.divf %arg7, %arg8 : f32
      %cst_2 = arith.constant 0.000000e+00 : f32
      %11 = arith.select %9, %cst_2, %10 : f32
      attn.yield %11 : f32
    }
    %6 = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %5, %arg2 : tensor<?x8x?x?xf32>, tensor<?x8x?x64xf16> -> tensor<?x8x?x64xf32>
    %7 = attn.map "bhi,bhi->bhi" ins(%2, %4 : tensor<?x8x?xf32>, tensor<?x8x?xf32>) -> tensor<?x8x?xf32> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: f32, %arg7: f32):
      %cst = arith.constant 0.000000e+00 : f32
      %9 = arith.cmpf oeq, %arg7, %cst : f32
      %10 = math.log %arg7 : f32
      %11 = arith.addf %arg6, %10 : f32
      %cst_2 = arith.constant 0xFF800000 : f32
      %12 = arith.select %9, %cst_2, %11 : f32
      attn.yield %12 : f32
    }
    %8 = attn.map "bhif->bhif" ins(%6 : tensor<?x8x?x64xf32>) -> tensor<?x8x?x64xf16> {
    ^bb0(%arg3: index, %arg4: index, %arg5: index, %arg6: index, %arg7: f32):
      %9 = arith.truncf %arg7 : f32 to f16
      attn.yield %9 : f16
    }
    return %8, %7 : tensor<?x8x?x64xf16>, tensor<?x8x?xf32>
  }
}

