// Decoding variants for decode-packing.test: MQA (8 query heads on one KV
// head) with a bottom-right causal mask, and GQA (8 on 2) whose score and
// mask read every index attn-pack-gqa recomputes (h, i, nq): an ALiBi bias
// with per-head slopes over the bottom-right distance and a bottom-right
// window of 100 keys.
func.func @mqa(%q: tensor<?x8x?x64xf16>, %k: tensor<?x1x?x64xf16>, %v: tensor<?x1x?x64xf16>)
    -> (tensor<?x8x?x64xf16>, tensor<?x8x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x1x?x64xf16>, tensor<?x1x?x64xf16> -> tensor<?x8x?x64xf16>, tensor<?x8x?xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %lhs = arith.addi %j, %nq : index
        %rhs = arith.addi %i, %nk : index
        %attend = arith.cmpi ule, %lhs, %rhs : index
        attn.yield %attend : i1
      }
  return %o, %lse : tensor<?x8x?x64xf16>, tensor<?x8x?xf32>
}

func.func @gqa_alibi_window(%q: tensor<?x8x?x64xf16>, %k: tensor<?x2x?x64xf16>, %v: tensor<?x2x?x64xf16>,
    %slopes: tensor<8xf32> {attn.gen = #attn.gen<uniform, 0.0039, 1.0>})
    -> (tensor<?x8x?x64xf16>, tensor<?x8x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v captures(%slopes : tensor<8xf32>)
      {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16> -> tensor<?x8x?x64xf16>, tensor<?x8x?xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %sl: tensor<8xf32>):
        %slope = tensor.extract %sl[%h] : tensor<8xf32>
        %row = arith.addi %i, %nk : index
        %col = arith.addi %j, %nq : index
        %ii = arith.index_cast %row : index to i64
        %jj = arith.index_cast %col : index to i64
        %d = arith.subi %jj, %ii : i64
        %df = arith.sitofp %d : i64 to f32
        %bias = arith.mulf %slope, %df : f32
        %r = arith.addf %s, %bias : f32
        attn.yield %r : f32
      }
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %sl: tensor<8xf32>):
        %w = arith.constant 100 : index
        %row = arith.addi %i, %nk : index
        %col = arith.addi %j, %nq : index
        %causal = arith.cmpi ule, %col, %row : index
        %far = arith.addi %col, %w : index
        %near = arith.cmpi ugt, %far, %row : index
        %attend = arith.andi %causal, %near : i1
        attn.yield %attend : i1
      }
  return %o, %lse : tensor<?x8x?x64xf16>, tensor<?x8x?xf32>
}
