func.func @causal_noop_arith(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c5 = arith.constant 5 : index
        %c1 = arith.constant 1 : index
        %x = arith.addi %i, %c5 : index
        %y = arith.addi %c5, %j : index
        %z = arith.muli %y, %c1 : index
        %r = arith.cmpi sle, %z, %x : index
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}
