// Variants whose weights P all lie below f16's normal range (2^-14), which
// the tensor-core path rounds to f16 for the P·V mma: softplus of scores
// around -14 ... -28 (a score region 2s - 21), sigmoid with bias -14, and
// linear attention with a tiny scale. Used with q, k, v ~ N(0, 1).

func.func @softplus_low(%q: tensor<1x2x?x32xf16>, %k: tensor<1x2x?x32xf16>, %v: tensor<1x2x?x32xf16>) -> tensor<1x2x?x32xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softplus>}
      : tensor<1x2x?x32xf16>, tensor<1x2x?x32xf16>, tensor<1x2x?x32xf16> -> tensor<1x2x?x32xf16>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %two = arith.constant 2.0 : f32
        %shift = arith.constant 21.0 : f32
        %t = arith.mulf %s, %two : f32
        %r = arith.subf %t, %shift : f32
        attn.yield %r : f32
      }
  return %o : tensor<1x2x?x32xf16>
}

func.func @sigmoid_low(%q: tensor<1x2x?x64xf16>, %k: tensor<1x2x?x64xf16>, %v: tensor<1x2x?x64xf16>) -> tensor<1x2x?x64xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<sigmoid, bias = -14.0>}
      : tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf16>
  return %o : tensor<1x2x?x64xf16>
}

func.func @linear_low(%q: tensor<1x2x?x64xf16>, %k: tensor<1x2x?x64xf16>, %v: tensor<1x2x?x64xf16>) -> tensor<1x2x?x64xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<none>, scale = 2.0e-7}
      : tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf16>
  return %o : tensor<1x2x?x64xf16>
}
