// attn-pipeline is the one compile pipeline: Level 1 IR to kernel IR, its
// options reaching each pass and, through #attn.target, the emitter.
// RUN: attn-opt %s --pass-pipeline='builtin.module(attn-pipeline{block-m=32 block-n=16 warps=2 stages=3 dtype=bf16 arch=sm_90 path=mma})' | FileCheck %s
// RUN: attn-opt %s --pass-pipeline='builtin.module(attn-pipeline{split-kv=3})' | FileCheck %s --check-prefix=SPLIT
// RUN: attn-opt %s --pass-pipeline='builtin.module(attn-pipeline{fold-exp2=false})' | FileCheck %s --check-prefix=NOFOLD
// Module passes cannot be nested into a function pipeline.
// RUN: not attn-opt %s --pass-pipeline='builtin.module(func.func(attn-decompose))' 2>&1 | FileCheck %s --check-prefix=NESTED

// CHECK: module attributes {attn.target = #attn.target<arch = "sm_90", path = mma>}
// CHECK-LABEL: func.func @causal
// CHECK-SAME: tensor<1x2x?x16xbf16>
// CHECK: scf.for {{.*}} step %c16
// CHECK: math.exp2
// CHECK: attn.reduce add "bhij->bhi" %{{.*}} {attn.lane_partial}
// CHECK: } {attn.kv_loop, attn.lane_partial_results = array<i64: 1>}
// CHECK: } {attn.grid = #attn.grid<"i", rows>}
// CHECK: } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 32, warps = 2, stages = 3, rows_per_warp = 16, path = mma>}
// SPLIT: } {attn.grid = #attn.grid<"s", split>}
// NOFOLD-NOT: math.exp2
// NESTED: Can't add pass 'AttnDecompose' restricted to 'builtin.module' on a PassManager intended to run on 'func.func'
func.func @causal(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c = arith.cmpi ule, %j, %i : index
        attn.yield %c : i1
      }
  return %o : tensor<1x2x?x16xf32>
}
