// A variant the verifier rejects (test/tools/attn-limits.test).

func.func @negative_dims(%q: tensor<?x2x?x16xf32>, %k: tensor<?x2x?x16xf32>, %v: tensor<?x2x?x16xf32>,
                         %c: tensor<?xf32> {attn.dims = [-3]}) -> tensor<?x2x?x16xf32> {
  %o = attn.attention %q, %k, %v captures(%c : tensor<?xf32>) {normalizer = #attn.normalizer<softmax>}
      : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32> -> tensor<?x2x?x16xf32>
  return %o : tensor<?x2x?x16xf32>
}
