// The emitter rejects what it cannot translate with a located error (never a
// crash): Level 1 IR that was not compiled to kernel IR, and an op in a score
// region that it has no C++ for.
// RUN: not attn-opt %s --emit=cuda --split-input-file 2>&1 | FileCheck %s

// CHECK: error: CUDA emitter: no grid loops (attn.grid) in '@level1'
func.func @level1(%q: tensor<1x1x8x8xf32>, %k: tensor<1x1x8x8xf32>, %v: tensor<1x1x8x8xf32>) -> tensor<1x1x8x8xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x1x8x8xf32>, tensor<1x1x8x8xf32>, tensor<1x1x8x8xf32> -> tensor<1x1x8x8xf32>
  return %o : tensor<1x1x8x8xf32>
}
