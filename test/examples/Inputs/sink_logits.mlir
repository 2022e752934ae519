// Sink logits beside the gpt-oss example (examples/sink_logits.mlir):
// dynamic head counts (the logits bound to Hq through attn.dims), rows that
// attend to no key (bottom-right causal with nq > nk: o = 0, lse = sigma_h),
// no mask at all, and a score region.

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

func.func @dense_softcap(%q: tensor<?x4x?x128xbf16>, %k: tensor<?x4x?x128xbf16>, %v: tensor<?x4x?x128xbf16>,
                         %sinks: tensor<4xf32> {attn.gen = #attn.gen<uniform, 0.0, 6.0>})
    -> tensor<?x4x?x128xbf16> {
  %o = attn.attention %q, %k, %v sink_logits(%sinks : tensor<4xf32>)
      {normalizer = #attn.normalizer<softmax>}
      : tensor<?x4x?x128xbf16>, tensor<?x4x?x128xbf16>, tensor<?x4x?x128xbf16>
      -> tensor<?x4x?x128xbf16>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c = arith.constant 5.0 : f32
        %x = arith.divf %s, %c : f32
        %t = math.tanh %x : f32
        %r = arith.mulf %t, %c : f32
        attn.yield %r : f32
      }
  return %o : tensor<?x4x?x128xbf16>
}
