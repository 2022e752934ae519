func.func @sigmoid_mqa(%q: tensor<1x6x?x64xf16>, %k: tensor<1x1x?x64xf16>, %v: tensor<1x1x?x64xf16>) -> tensor<1x6x?x64xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<sigmoid, bias = -3.0>}
      : tensor<1x6x?x64xf16>, tensor<1x1x?x64xf16>, tensor<1x1x?x64xf16> -> tensor<1x6x?x64xf16>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %r = arith.cmpi ule, %j, %i : index
        attn.yield %r : i1
      }
  return %o : tensor<1x6x?x64xf16>
}
