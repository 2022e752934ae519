// Benchmark variant of examples/causal.mlir with 2 static heads (the example
// has 8): causal softmax attention, query i sees keys j <= i.
func.func @causal(%q: tensor<?x2x?x64xf16>, %k: tensor<?x2x?x64xf16>, %v: tensor<?x2x?x64xf16>) -> (tensor<?x2x?x64xf16>, tensor<?x2x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16> -> tensor<?x2x?x64xf16>, tensor<?x2x?xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %attend = arith.cmpi ule, %j, %i : index
        attn.yield %attend : i1
      }
  return %o, %lse : tensor<?x2x?x64xf16>, tensor<?x2x?xf32>
}
