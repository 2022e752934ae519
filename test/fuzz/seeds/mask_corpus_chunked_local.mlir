func.func @chunked_local(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c = arith.constant 24 : index
        %qi = arith.divui %i, %c : index
        %kj = arith.divui %j, %c : index
        %same = arith.cmpi eq, %qi, %kj : index
        %causal = arith.cmpi ule, %j, %i : index
        %r = arith.andi %same, %causal : i1
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}
