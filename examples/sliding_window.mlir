// Causal sliding-window attention (Mistral 7B, Longformer's local band):
// query i sees the inclusive window of the 256 previous tokens,
// i - 256 <= j <= i.
func.func @sliding_window(%q: tensor<?x8x?x64xf16>, %k: tensor<?x8x?x64xf16>, %v: tensor<?x8x?x64xf16>) -> tensor<?x8x?x64xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16> -> tensor<?x8x?x64xf16>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %w = arith.constant 256 : index
        %causal = arith.cmpi ule, %j, %i : index
        %jw = arith.addi %j, %w : index
        %inWindow = arith.cmpi uge, %jw, %i : index
        %attend = arith.andi %causal, %inWindow : i1
        attn.yield %attend : i1
      }
  return %o : tensor<?x8x?x64xf16>
}
