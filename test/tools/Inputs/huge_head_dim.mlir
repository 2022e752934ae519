// A head dim of 2^31: beyond the emitted code's 32-bit sizes
// (test/tools/attn-limits.test).
func.func @huge_d(%q: tensor<1x1x?x2147483648xf32>, %k: tensor<1x1x?x2147483648xf32>, %v: tensor<1x1x?x16xf32>) -> tensor<1x1x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x1x?x2147483648xf32>, tensor<1x1x?x2147483648xf32>, tensor<1x1x?x16xf32> -> tensor<1x1x?x16xf32>
  return %o : tensor<1x1x?x16xf32>
}
