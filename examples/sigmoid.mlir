// Sigmoid attention (Ramapuram et al. 2024, "Theory, Analysis, and Best
// Practices for Sigmoid Self-Attention", FlashSigmoid): p = σ(s + b) with
// b = -ln(nk) (the normalizer's default bias); no row reduction at all.
func.func @sigmoid(%q: tensor<?x8x?x64xf16>, %k: tensor<?x8x?x64xf16>, %v: tensor<?x8x?x64xf16>) -> tensor<?x8x?x64xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<sigmoid>}
      : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16> -> tensor<?x8x?x64xf16>
  return %o : tensor<?x8x?x64xf16>
}
