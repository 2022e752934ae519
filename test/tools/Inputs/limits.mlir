// Variants at and beyond the kernels' limits (test/tools/attn-limits.test).

// Causal attention in f32 (the SIMT path), one head.
func.func @causal_f32(%q: tensor<1x1x?x64xf32>, %k: tensor<1x1x?x64xf32>, %v: tensor<1x1x?x64xf32>) -> tensor<1x1x?x64xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x1x?x64xf32>, tensor<1x1x?x64xf32>, tensor<1x1x?x64xf32> -> tensor<1x1x?x64xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c = arith.cmpi ule, %j, %i : index
        attn.yield %c : i1
      }
  return %o : tensor<1x1x?x64xf32>
}

// A value head dim of 100,000: o and P.V per thread are 800 KB.
func.func @wide_v(%q: tensor<1x1x?x64xf16>, %k: tensor<1x1x?x64xf16>, %v: tensor<1x1x?x100000xf16>) -> tensor<1x1x?x100000xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x1x?x64xf16>, tensor<1x1x?x64xf16>, tensor<1x1x?x100000xf16> -> tensor<1x1x?x100000xf16>
  return %o : tensor<1x1x?x100000xf16>
}
