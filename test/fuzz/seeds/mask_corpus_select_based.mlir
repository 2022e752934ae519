func.func @select_based(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %even = arith.constant 2 : index
        %m = arith.remui %i, %even : index
        %z = arith.constant 0 : index
        %isEven = arith.cmpi eq, %m, %z : index
        %causal = arith.cmpi ule, %j, %i : index
        %t = arith.constant true
        %r = arith.select %isEven, %causal, %t : i1
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}
