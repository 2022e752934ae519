func.func @linear(%q: tensor<1x2x?x32xf16>, %k: tensor<1x2x?x32xf16>, %v: tensor<1x2x?x32xf16>) -> tensor<1x2x?x32xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<none>}
      : tensor<1x2x?x32xf16>, tensor<1x2x?x32xf16>, tensor<1x2x?x32xf16> -> tensor<1x2x?x32xf16>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c = arith.cmpi ule, %j, %i : index
        attn.yield %c : i1
      }
  return %o : tensor<1x2x?x32xf16>
}
