// Learned sink logits with a sliding window (gpt-oss): one learned logit
// sigma[h] per query head joins every row's softmax denominator as a key
// that always attends and carries no value,
//   p_ij = e^(s_ij - m_i) / (sum_j e^(s_ij - m_i) + e^(sigma_h - m_i)),
// so a head can put weight "nowhere". 64 query heads share 8 KV heads
// (GQA); query i sees the 128 keys i - 127 <= j <= i. Sink logits are not
// sink tokens (keys every query sees: a mask, see sliding_window.mlir).
func.func @sink_logits(%q: tensor<?x64x?x64xf16>, %k: tensor<?x8x?x64xf16>, %v: tensor<?x8x?x64xf16>,
                       %sinks: tensor<64xf32> {attn.gen = #attn.gen<uniform, -4.0, 4.0>})
    -> (tensor<?x64x?x64xf16>, tensor<?x64x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v sink_logits(%sinks : tensor<64xf32>)
      {normalizer = #attn.normalizer<softmax>}
      : tensor<?x64x?x64xf16>, tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>
      -> tensor<?x64x?x64xf16>, tensor<?x64x?xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %w = arith.constant 127 : index
        %causal = arith.cmpi ule, %j, %i : index
        %jw = arith.addi %j, %w : index
        %inWindow = arith.cmpi uge, %jw, %i : index
        %attend = arith.andi %causal, %inWindow : i1
        attn.yield %attend : i1
      }
  return %o, %lse : tensor<?x64x?x64xf16>, tensor<?x64x?xf32>
}
