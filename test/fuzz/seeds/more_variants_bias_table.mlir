func.func @bias_table(%q: tensor<1x4x?x128xf32>, %k: tensor<1x4x?x128xf32>, %v: tensor<1x4x?x96xf32>,
                      %bias: tensor<4x?x?xf32> {attn.dims = [4, "nq", "nk"]}) -> tensor<1x4x?x96xf32> {
  %o = attn.attention %q, %k, %v captures(%bias : tensor<4x?x?xf32>) {normalizer = #attn.normalizer<softmax>}
      : tensor<1x4x?x128xf32>, tensor<1x4x?x128xf32>, tensor<1x4x?x96xf32> -> tensor<1x4x?x96xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %t: tensor<4x?x?xf32>):
        %x = tensor.extract %t[%h, %i, %j] : tensor<4x?x?xf32>
        %r = arith.addf %s, %x : f32
        attn.yield %r : f32
      }
  return %o : tensor<1x4x?x96xf32>
}

// Per-head causal window sizes read from a captured tensor (Gemma-style
// local heads with different spans).
