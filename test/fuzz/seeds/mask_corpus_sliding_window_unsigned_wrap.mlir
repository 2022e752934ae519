func.func @sliding_window_unsigned_wrap(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %w = arith.constant 20 : index
        %lo = arith.subi %i, %w : index
        %a = arith.cmpi uge, %j, %lo : index
        %c = arith.cmpi ule, %j, %i : index
        %r = arith.andi %a, %c : i1
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}
