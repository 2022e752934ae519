func.func @window_and_sinks(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %w = arith.constant 16 : index
        %s = arith.constant 4 : index
        %causal = arith.cmpi ule, %j, %i : index
        %jw = arith.addi %j, %w : index
        %in = arith.cmpi uge, %jw, %i : index
        %band = arith.andi %causal, %in : i1
        %sink = arith.cmpi ult, %j, %s : index
        %r = arith.ori %band, %sink : i1
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}
