// Mistral-7B attention (Jiang et al. 2023): 32 query heads share 8 KV heads
// (GQA), head dim 128, causal with a sliding window of 4096 tokens (query i
// sees keys i - 4096 <= j <= i, bottom-right aligned for decoding); bf16.
func.func @mistral_7b(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>)
    -> tensor<?x32x?x128xbf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x32x?x128xbf16>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        // With i' = i + nk - nq (the query's position among the keys):
        // j <= i' and j + 4096 >= i', in signed arithmetic.
        %w = arith.constant 4096 : index
        %ik = arith.addi %i, %nk : index
        %jq = arith.addi %j, %nq : index
        %causal = arith.cmpi sle, %jq, %ik : index
        %jqw = arith.addi %jq, %w : index
        %inWindow = arith.cmpi sge, %jqw, %ik : index
        %attend = arith.andi %causal, %inWindow : i1
        attn.yield %attend : i1
      }
  return %o : tensor<?x32x?x128xbf16>
}
