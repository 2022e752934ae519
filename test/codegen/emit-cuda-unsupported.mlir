// An op without a C++ translation is reported at its location.
// RUN: not attn-opt %s --pass-pipeline='builtin.module(attn-decompose,attn-tile{block-m=16},attn-online{tile-n=16},attn-fuse)' --emit=cuda 2>&1 | FileCheck %s

// CHECK: emit-cuda-unsupported.mlir:[[@LINE+6]]:{{[0-9]+}}: error: CUDA emitter: unsupported op 'math.cbrt'
func.func @cbrt(%q: tensor<1x1x?x8xf32>, %k: tensor<1x1x?x8xf32>, %v: tensor<1x1x?x8xf32>) -> tensor<1x1x?x8xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32> -> tensor<1x1x?x8xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %r = math.cbrt %s : f32
        attn.yield %r : f32
      }
  return %o : tensor<1x1x?x8xf32>
}
