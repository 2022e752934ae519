func.func @prefix_lm(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>, %cp: index {attn.gen = #attn.gen<int_range, 0.0, 60.0>}) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v captures(%cp : index) {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %p: index):
        %causal = arith.cmpi ule, %j, %i : index
        %pre = arith.cmpi ult, %j, %p : index
        %r = arith.ori %causal, %pre : i1
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}
