// Two attention ops whose keys may differ in length (k1 has nk keys, k2 a
// static 50): one KV loop cannot serve both, so attn-tile refuses them
// (emu-differential.test).
func.func @mismatched(%q1: tensor<?x8x?x64xf16>, %k1: tensor<?x8x?x64xf16>, %v: tensor<?x8x?x64xf16>,
                      %q2: tensor<?x8x?x64xf16> {attn.dims = ["b", 8, "nq", 64]},
                      %k2: tensor<?x8x50x64xf16> {attn.dims = ["b", 8, 50, 64]},
                      %v2: tensor<?x8x50x64xf16> {attn.dims = ["b", 8, 50, 64]})
    -> tensor<?x8x?x64xf16> {
  %o1 = attn.attention %q1, %k1, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16> -> tensor<?x8x?x64xf16>
  %o2 = attn.attention %q2, %k2, %v2 {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x8x50x64xf16>, tensor<?x8x50x64xf16> -> tensor<?x8x?x64xf16>
  %o = attn.map "bhid,bhid->bhid" ins(%o1, %o2 : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>) -> tensor<?x8x?x64xf16> {
  ^bb0(%b: index, %h: index, %i: index, %d: index, %x: f16, %y: f16):
    %r = arith.subf %x, %y : f16
    attn.yield %r : f16
  }
  return %o : tensor<?x8x?x64xf16>
}
