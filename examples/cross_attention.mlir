// Cross attention (encoder-decoder, Vaswani et al. 2017; Whisper, T5):
// decoder queries attend to every encoder key; Nq and Nk are independent,
// and the value head dim (Dv = 32) differs from the query/key head dim.
func.func @cross_attention(%q: tensor<?x8x?x64xf16>, %k: tensor<?x8x?x64xf16>, %v: tensor<?x8x?x32xf16>)
    -> tensor<?x8x?x32xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>, tensor<?x8x?x32xf16> -> tensor<?x8x?x32xf16>
  return %o : tensor<?x8x?x32xf16>
}
