// Epilogues written with upstream element-wise ops on tensors at the
// function level, which -attn-elementwise-to-map turns into attn.map
// (emu-differential.test).

// Differential attention with arith on tensors: o1 - λ·o2, λ splat.
func.func @differential_arith(%q1: tensor<?x4x?x64xf16>, %k1: tensor<?x4x?x64xf16>, %v: tensor<?x4x?x64xf16>,
                              %q2: tensor<?x4x?x64xf16> {attn.dims = ["b", 4, "nq", 64]},
                              %k2: tensor<?x4x?x64xf16> {attn.dims = ["b", 4, "nk", 64]},
                              %lambda: f16 {attn.gen = #attn.gen<uniform, 0.1, 0.9>})
    -> tensor<?x4x?x64xf16> {
  %o1 = attn.attention %q1, %k1, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x4x?x64xf16>, tensor<?x4x?x64xf16>, tensor<?x4x?x64xf16> -> tensor<?x4x?x64xf16>
  %o2 = attn.attention %q2, %k2, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x4x?x64xf16>, tensor<?x4x?x64xf16>, tensor<?x4x?x64xf16> -> tensor<?x4x?x64xf16>
  %c2 = arith.constant 2 : index
  %c0 = arith.constant 0 : index
  %bb = tensor.dim %q1, %c0 : tensor<?x4x?x64xf16>
  %n = tensor.dim %q1, %c2 : tensor<?x4x?x64xf16>
  %l = tensor.splat %lambda[%bb, %n] : tensor<?x4x?x64xf16>
  %scaled = arith.mulf %l, %o2 : tensor<?x4x?x64xf16>
  %o = arith.subf %o1, %scaled : tensor<?x4x?x64xf16>
  return %o : tensor<?x4x?x64xf16>
}

// Output gating (o ⊙ σ(g)) with math on tensors and a splat constant.
func.func @gated(%q: tensor<1x4x?x64xf32>, %k: tensor<1x4x?x64xf32>, %v: tensor<1x4x?x64xf32>,
                 %g: tensor<1x4x?x64xf32> {attn.dims = [1, 4, "nq", 64]}) -> tensor<1x4x?x64xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32> -> tensor<1x4x?x64xf32>
  %n = arith.negf %g : tensor<1x4x?x64xf32>
  %e = math.exp %n : tensor<1x4x?x64xf32>
  %c2 = arith.constant 2 : index
  %rows = tensor.dim %g, %c2 : tensor<1x4x?x64xf32>
  %one = arith.constant 1.0 : f32
  %ones = tensor.splat %one[%rows] : tensor<1x4x?x64xf32>
  %d = arith.addf %ones, %e : tensor<1x4x?x64xf32>
  %r = arith.divf %o, %d : tensor<1x4x?x64xf32>
  return %r : tensor<1x4x?x64xf32>
}
