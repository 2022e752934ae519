func.func @d96(%q: tensor<1x2x?x96xbf16>, %k: tensor<1x2x?x96xbf16>, %v: tensor<1x2x?x96xbf16>) -> tensor<1x2x?x96xbf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x96xbf16>, tensor<1x2x?x96xbf16>, tensor<1x2x?x96xbf16> -> tensor<1x2x?x96xbf16>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %attend = arith.cmpi ule, %j, %i : index
        attn.yield %attend : i1
      }
  return %o : tensor<1x2x?x96xbf16>
}
