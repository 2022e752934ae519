func.func @bottom_right(%q: tensor<?x?x?x64xf16>, %k: tensor<?x?x?x64xf16>, %v: tensor<?x?x?x64xf16>,
                        %sinks: tensor<?xf32> {attn.dims = ["hq"], attn.gen = #attn.gen<uniform, -3.0, 3.0>})
    -> (tensor<?x?x?x64xf16>, tensor<?x?x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v sink_logits(%sinks : tensor<?xf32>)
      {normalizer = #attn.normalizer<softmax>}
      : tensor<?x?x?x64xf16>, tensor<?x?x?x64xf16>, tensor<?x?x?x64xf16>
      -> tensor<?x?x?x64xf16>, tensor<?x?x?xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %lhs = arith.addi %j, %nq : index
        %rhs = arith.addi %i, %nk : index
        %attend = arith.cmpi ule, %lhs, %rhs : index
        attn.yield %attend : i1
      }
  return %o, %lse : tensor<?x?x?x64xf16>, tensor<?x?x?xf32>
}
