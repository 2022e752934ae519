// Prefix-LM (T5 / UniLM / PaliGemma): the first `prefix` tokens attend
// bidirectionally among themselves, the rest causally:
// attend iff j <= i or j < prefix. The prefix length is a captured scalar.
func.func @prefix_lm(%q: tensor<?x8x?x64xf16>, %k: tensor<?x8x?x64xf16>, %v: tensor<?x8x?x64xf16>,
                     %prefix: index {attn.gen = #attn.gen<int_range, 1.0, 200.0>})
    -> tensor<?x8x?x64xf16> {
  %o = attn.attention %q, %k, %v captures(%prefix : index)
      {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16> -> tensor<?x8x?x64xf16>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index,
           %p: index):
        %causal = arith.cmpi ule, %j, %i : index
        %inPrefix = arith.cmpi ult, %j, %p : index
        %attend = arith.ori %causal, %inPrefix : i1
        attn.yield %attend : i1
      }
  return %o : tensor<?x8x?x64xf16>
}
