// Grouped-query attention (Ainslie et al. 2023; Llama 2 70B, Mistral): 8
// query heads share 2 KV heads, query head h reads KV head h / 4. Causal.
func.func @gqa(%q: tensor<?x?x?x64xf16>, %k: tensor<?x2x?x64xf16>, %v: tensor<?x2x?x64xf16>) -> (tensor<?x?x?x64xf16>, tensor<?x?x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x?x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16> -> tensor<?x?x?x64xf16>, tensor<?x?x?xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %attend = arith.cmpi ule, %j, %i : index
        attn.yield %attend : i1
      }
  return %o, %lse : tensor<?x?x?x64xf16>, tensor<?x?x?xf32>
}
