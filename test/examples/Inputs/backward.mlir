// A learned relative-position bias table read by the score (its gradient is
// scattered back to the entries read) and a per-head distance threshold
// read only by the mask (no gradient: the mask is piecewise constant).
func.func @mask_threshold(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>,
                %table: tensor<2x8xf32>, %threshold: tensor<2xf32> {attn.gen = #attn.gen<uniform, 2.0, 6.0>}) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v captures(%table, %threshold : tensor<2x8xf32>, tensor<2xf32>)
      {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index,
           %t: tensor<2x8xf32>, %th: tensor<2xf32>):
        %c7 = arith.constant 7 : index
        %d = arith.subi %i, %j : index
        %r = arith.minui %d, %c7 : index
        %bias = tensor.extract %t[%h, %r] : tensor<2x8xf32>
        %x = arith.addf %s, %bias : f32
        attn.yield %x : f32
      }
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index,
           %t: tensor<2x8xf32>, %th: tensor<2xf32>):
        %lim = tensor.extract %th[%h] : tensor<2xf32>
        %ii = arith.index_cast %i : index to i64
        %jj = arith.index_cast %j : index to i64
        %d = arith.subi %ii, %jj : i64
        %df = arith.sitofp %d : i64 to f32
        %in = arith.cmpf ole, %df, %lim : f32
        %causal = arith.cmpi ule, %j, %i : index
        %m = arith.andi %in, %causal : i1
        attn.yield %m : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

// A Level 2 epilogue after the attention: o summed over its head dimension
// (a one-input contraction, whose backward broadcasts).
func.func @row_totals(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>)
    -> tensor<1x2x?xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
  %t = attn.contract "bhid->bhi" combine(mul) reduce(add) %o
      : tensor<1x2x?x16xf32> -> tensor<1x2x?xf32>
  return %t : tensor<1x2x?xf32>
}
