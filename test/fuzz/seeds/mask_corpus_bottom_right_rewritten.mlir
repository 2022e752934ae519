func.func @bottom_right_rewritten(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %d = arith.subi %j, %i : index
        %off = arith.subi %nk, %nq : index
        %r = arith.cmpi sle, %d, %off : index
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}
