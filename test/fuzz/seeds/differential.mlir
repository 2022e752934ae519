// Differential attention (Ye et al. 2024, "Differential Transformer"): two
// softmax maps over the same values, subtracted, o = softmax(Q1 K1ᵀ) V −
// λ · softmax(Q2 K2ᵀ) V, causal; λ is a learned scalar (a captured
// argument). The two attention ops and the epilogue map share the grid and
// the KV loop, so they compile to one kernel: both score tiles from one
// staged V tile. q2 and k2 bind their sizes to q's and k's with attn.dims.
func.func @differential(%q1: tensor<?x8x?x64xf16>, %k1: tensor<?x8x?x64xf16>, %v: tensor<?x8x?x64xf16>,
                        %q2: tensor<?x8x?x64xf16> {attn.dims = ["b", 8, "nq", 64]},
                        %k2: tensor<?x8x?x64xf16> {attn.dims = ["b", 8, "nk", 64]},
                        %lambda: f32 {attn.gen = #attn.gen<uniform, 0.1, 0.9>})
    -> tensor<?x8x?x64xf16> {
  %o1 = attn.attention %q1, %k1, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16> -> tensor<?x8x?x64xf16>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %attend = arith.cmpi ule, %j, %i : index
        attn.yield %attend : i1
      }
  %o2 = attn.attention %q2, %k2, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16> -> tensor<?x8x?x64xf16>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %attend = arith.cmpi ule, %j, %i : index
        attn.yield %attend : i1
      }
  %o = attn.map "bhid,bhid->bhid" ins(%o1, %o2 : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>)
      captures(%lambda : f32) -> tensor<?x8x?x64xf16> {
  ^bb0(%b: index, %h: index, %i: index, %d: index, %x: f16, %y: f16, %l: f32):
    %xf = arith.extf %x : f16 to f32
    %yf = arith.extf %y : f16 to f32
    %t = arith.mulf %l, %yf : f32
    %r = arith.subf %xf, %t : f32
    %rh = arith.truncf %r : f32 to f16
    attn.yield %rh : f16
  }
  return %o : tensor<?x8x?x64xf16>
}
