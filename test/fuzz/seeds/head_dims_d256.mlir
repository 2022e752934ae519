func.func @d256(%q: tensor<1x1x?x256xf16>, %k: tensor<1x1x?x256xf16>, %v: tensor<1x1x?x256xf16>) -> tensor<1x1x?x256xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x1x?x256xf16>, tensor<1x1x?x256xf16>, tensor<1x1x?x256xf16> -> tensor<1x1x?x256xf16>
  return %o : tensor<1x1x?x256xf16>
}
