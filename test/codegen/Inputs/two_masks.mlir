// Differential attention (test/examples/Inputs/differential.mlir) with two
// different masks: causal for the first map, a 4-token causal window for the
// second. A backward sweep accumulating both maps' terms (dV) gains from an
// element the causal mask removes whatever the window does there, and the
// other way round: neither mask's tiles may be skipped for it.
func.func @two_masks(%q1: tensor<?x8x?x64xf16>, %k1: tensor<?x8x?x64xf16>, %v: tensor<?x8x?x64xf16>,
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
        %causal = arith.cmpi ule, %j, %i : index
        %c4 = arith.constant 4 : index
        %jw = arith.addi %j, %c4 : index
        %near = arith.cmpi uge, %jw, %i : index
        %attend = arith.andi %causal, %near : i1
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
