func.func @bottom_right(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %lhs = arith.addi %j, %nq : index
        %rhs = arith.addi %i, %nk : index
        %r = arith.cmpi sle, %lhs, %rhs : index
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}
