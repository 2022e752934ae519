func.func @float_math(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %ii = arith.index_cast %i : index to i64
        %jj = arith.index_cast %j : index to i64
        %fi = arith.sitofp %ii : i64 to f32
        %fj = arith.sitofp %jj : i64 to f32
        %r = arith.cmpf ole, %fj, %fi : f32
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}
