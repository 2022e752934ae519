func.func @sliding_window_rewritten(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %w = arith.constant 20 : index
        %d = arith.subi %i, %j : index
        %z = arith.constant 0 : index
        %a = arith.cmpi sle, %d, %w : index
        %b2 = arith.cmpi sge, %d, %z : index
        %r = arith.andi %b2, %a : i1
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}
