// Head dimensions of the tensor-core path: D in {32, 96, 128, 256}, and
// Dv != D; multiples of 8 that are not of 16 (8, 40 as in Stable
// Diffusion's first blocks, 72 with Dv = 24), which run padded to 16. Each function is plain softmax attention (with a causal mask for
// some) so that the emulator runs exercise the staging and fragment shapes.
func.func @d32(%q: tensor<1x2x?x32xf16>, %k: tensor<1x2x?x32xf16>, %v: tensor<1x2x?x32xf16>) -> tensor<1x2x?x32xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x32xf16>, tensor<1x2x?x32xf16>, tensor<1x2x?x32xf16> -> tensor<1x2x?x32xf16>
  return %o : tensor<1x2x?x32xf16>
}
func.func @d96(%q: tensor<1x2x?x96xbf16>, %k: tensor<1x2x?x96xbf16>, %v: tensor<1x2x?x96xbf16>) -> tensor<1x2x?x96xbf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x96xbf16>, tensor<1x2x?x96xbf16>, tensor<1x2x?x96xbf16> -> tensor<1x2x?x96xbf16>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %attend = arith.cmpi ule, %j, %i : index
        attn.yield %attend : i1
      }
  return %o : tensor<1x2x?x96xbf16>
}
func.func @d128(%q: tensor<1x2x?x128xf16>, %k: tensor<1x2x?x128xf16>, %v: tensor<1x2x?x128xf16>) -> tensor<1x2x?x128xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x128xf16>, tensor<1x2x?x128xf16>, tensor<1x2x?x128xf16> -> tensor<1x2x?x128xf16>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %attend = arith.cmpi ule, %j, %i : index
        attn.yield %attend : i1
      }
  return %o : tensor<1x2x?x128xf16>
}
func.func @d256(%q: tensor<1x1x?x256xf16>, %k: tensor<1x1x?x256xf16>, %v: tensor<1x1x?x256xf16>) -> tensor<1x1x?x256xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x1x?x256xf16>, tensor<1x1x?x256xf16>, tensor<1x1x?x256xf16> -> tensor<1x1x?x256xf16>
  return %o : tensor<1x1x?x256xf16>
}
func.func @d128_dv64(%q: tensor<1x2x?x128xbf16>, %k: tensor<1x2x?x128xbf16>, %v: tensor<1x2x?x64xbf16>) -> tensor<1x2x?x64xbf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x128xbf16>, tensor<1x2x?x128xbf16>, tensor<1x2x?x64xbf16> -> tensor<1x2x?x64xbf16>
  return %o : tensor<1x2x?x64xbf16>
}
func.func @d8(%q: tensor<1x2x?x8xf16>, %k: tensor<1x2x?x8xf16>, %v: tensor<1x2x?x8xf16>) -> tensor<1x2x?x8xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x8xf16>, tensor<1x2x?x8xf16>, tensor<1x2x?x8xf16> -> tensor<1x2x?x8xf16>
  return %o : tensor<1x2x?x8xf16>
}
func.func @d40(%q: tensor<?x8x?x40xf16>, %k: tensor<?x8x?x40xf16>, %v: tensor<?x8x?x40xf16>) -> tensor<?x8x?x40xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x40xf16>, tensor<?x8x?x40xf16>, tensor<?x8x?x40xf16> -> tensor<?x8x?x40xf16>
  return %o : tensor<?x8x?x40xf16>
}
func.func @d72_dv24(%q: tensor<1x4x?x72xbf16>, %k: tensor<1x2x?x72xbf16>, %v: tensor<1x2x?x24xbf16>) -> tensor<1x4x?x24xbf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x4x?x72xbf16>, tensor<1x2x?x72xbf16>, tensor<1x2x?x24xbf16> -> tensor<1x4x?x24xbf16>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %attend = arith.cmpi ule, %j, %i : index
        attn.yield %attend : i1
      }
  return %o : tensor<1x4x?x24xbf16>
}
