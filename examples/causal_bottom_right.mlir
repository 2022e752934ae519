// Bottom-right aligned causal attention (FlashAttention >= 2.1, chunked
// prefill / KV-cache decoding): query i sees keys j <= i + nk - nq. With
// nq > nk the first nq - nk rows see no key at all and produce o = 0.
func.func @causal_bottom_right(%q: tensor<?x8x?x64xf16>, %k: tensor<?x8x?x64xf16>, %v: tensor<?x8x?x64xf16>) -> (tensor<?x8x?x64xf16>, tensor<?x8x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16> -> tensor<?x8x?x64xf16>, tensor<?x8x?xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        // j <= i + nk - nq, kept in signed arithmetic: j + nq <= i + nk.
        %lhs = arith.addi %j, %nq : index
        %rhs = arith.addi %i, %nk : index
        %attend = arith.cmpi sle, %lhs, %rhs : index
        attn.yield %attend : i1
      }
  return %o, %lse : tensor<?x8x?x64xf16>, tensor<?x8x?xf32>
}
