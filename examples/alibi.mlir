// ALiBi (Press et al. 2022, "Train Short, Test Long"): causal attention with
// a per-head linear distance penalty s + slope[h]·(j - i). The slopes are a
// captured tensor (BLOOM/MPT use 2^(-8(h+1)/H)); tests draw them in (0, 1].
func.func @alibi(%q: tensor<?x8x?x64xf16>, %k: tensor<?x8x?x64xf16>, %v: tensor<?x8x?x64xf16>,
                 %slopes: tensor<8xf32> {attn.gen = #attn.gen<uniform, 0.0039, 1.0>})
    -> tensor<?x8x?x64xf16> {
  %o = attn.attention %q, %k, %v captures(%slopes : tensor<8xf32>)
      {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16> -> tensor<?x8x?x64xf16>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index,
           %sl: tensor<8xf32>):
        %slope = tensor.extract %sl[%h] : tensor<8xf32>
        %ii = arith.index_cast %i : index to i64
        %jj = arith.index_cast %j : index to i64
        %d = arith.subi %jj, %ii : i64
        %df = arith.sitofp %d : i64 to f32
        %bias = arith.mulf %slope, %df : f32
        %r = arith.addf %s, %bias : f32
        attn.yield %r : f32
      }
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index,
           %sl: tensor<8xf32>):
        %attend = arith.cmpi ule, %j, %i : index
        attn.yield %attend : i1
      }
  return %o : tensor<?x8x?x64xf16>
}
