// Llama-3-8B attention (Meta 2024): 32 query heads share 8 KV heads (GQA),
// head dim 128, causal; bf16. Decoding appends one query to each sequence:
// the mask is bottom-right aligned (query i of nq sees keys j <= i + nk - nq),
// which is top-left causal when nq = nk (prefill).
func.func @llama3_8b(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>)
    -> (tensor<?x32x?x128xbf16>, tensor<?x32x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16> -> tensor<?x32x?x128xbf16>, tensor<?x32x?xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %ik = arith.addi %i, %nk : index
        %jq = arith.addi %j, %nq : index
        %attend = arith.cmpi sle, %jq, %ik : index
        attn.yield %attend : i1
      }
  return %o, %lse : tensor<?x32x?x128xbf16>, tensor<?x32x?xf32>
}
