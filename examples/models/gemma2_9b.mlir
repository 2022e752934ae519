// Gemma-2-9B local attention layers (Gemma Team 2024): 16 query heads share
// 8 KV heads (GQA), head dim 256, tanh logit soft-capping at 50 and a
// causal sliding window of 4096 tokens (bottom-right aligned for decoding);
// bf16.
func.func @gemma2_9b(%q: tensor<?x16x?x256xbf16>, %k: tensor<?x8x?x256xbf16>, %v: tensor<?x8x?x256xbf16>)
    -> tensor<?x16x?x256xbf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x16x?x256xbf16>, tensor<?x8x?x256xbf16>, tensor<?x8x?x256xbf16> -> tensor<?x16x?x256xbf16>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %cap = arith.constant 50.0 : f32
        %x = arith.divf %s, %cap : f32
        %t = math.tanh %x : f32
        %r = arith.mulf %t, %cap : f32
        attn.yield %r : f32
      }
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %w = arith.constant 4096 : index
        %ik = arith.addi %i, %nk : index
        %jq = arith.addi %j, %nq : index
        %causal = arith.cmpi sle, %jq, %ik : index
        %jqw = arith.addi %jq, %w : index
        %inWindow = arith.cmpi sge, %jqw, %ik : index
        %attend = arith.andi %causal, %inWindow : i1
        attn.yield %attend : i1
      }
  return %o : tensor<?x16x?x256xbf16>
}
