func.func @dynamic_heads(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>, scale = 0.125}
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16> -> tensor<?x?x?x64xbf16>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %n = arith.index_cast %nk : index to i64
        %nf = arith.sitofp %n : i64 to f32
        %l = math.log %nf : f32
        %c = arith.constant 6.23832462 : f32
        %t = arith.divf %l, %c : f32
        %r = arith.mulf %s, %t : f32
        attn.yield %r : f32
      }
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %lhs = arith.addi %j, %nq : index
        %rhs = arith.addi %i, %nk : index
        %r = arith.cmpi sle, %lhs, %rhs : index
        attn.yield %r : i1
      }
  return %o : tensor<?x?x?x64xbf16>
}

// Sigmoid with an explicit bias and a causal mask, MQA (one KV head).
