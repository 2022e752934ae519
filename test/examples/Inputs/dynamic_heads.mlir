// Variants with head counts known only at run time (GQA/MQA with a group
// size G = Hq / Hkv that is a run-time value): query head h reads KV head
// h / G, and the score and mask regions see the query head.

// Softmax with lse, both head counts dynamic.
func.func @softmax(%q: tensor<?x?x?x64xf16>, %k: tensor<?x?x?x64xf16>, %v: tensor<?x?x?x64xf16>) -> (tensor<?x?x?x64xf16>, tensor<?x?x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x?x?x64xf16>, tensor<?x?x?x64xf16>, tensor<?x?x?x64xf16> -> tensor<?x?x?x64xf16>, tensor<?x?x?xf32>
  return %o, %lse : tensor<?x?x?x64xf16>, tensor<?x?x?xf32>
}

// ALiBi with one slope per query head (a capture sized by hq) and a causal
// mask: the regions must see the query head, not the KV head.
func.func @alibi(%q: tensor<?x?x?x64xf16>, %k: tensor<?x?x?x64xf16>, %v: tensor<?x?x?x64xf16>,
                 %slopes: tensor<?xf32> {attn.gen = #attn.gen<uniform, 0.0039, 1.0>, attn.dims = ["hq"]})
    -> tensor<?x?x?x64xf16> {
  %o = attn.attention %q, %k, %v captures(%slopes : tensor<?xf32>)
      {normalizer = #attn.normalizer<softmax>}
      : tensor<?x?x?x64xf16>, tensor<?x?x?x64xf16>, tensor<?x?x?x64xf16> -> tensor<?x?x?x64xf16>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index,
           %sl: tensor<?xf32>):
        %slope = tensor.extract %sl[%h] : tensor<?xf32>
        %ii = arith.index_cast %i : index to i64
        %jj = arith.index_cast %j : index to i64
        %d = arith.subi %jj, %ii : i64
        %df = arith.sitofp %d : i64 to f32
        %bias = arith.mulf %slope, %df : f32
        %r = arith.addf %s, %bias : f32
        attn.yield %r : f32
      }
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index,
           %sl: tensor<?xf32>):
        %c = arith.cmpi ule, %j, %i : index
        attn.yield %c : i1
      }
  return %o : tensor<?x?x?x64xf16>
}

// MQA with a dynamic query head count over one static KV head.
func.func @mqa(%q: tensor<?x?x?x64xf16>, %k: tensor<?x1x?x64xf16>, %v: tensor<?x1x?x64xf16>) -> tensor<?x?x?x64xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x?x?x64xf16>, tensor<?x1x?x64xf16>, tensor<?x1x?x64xf16> -> tensor<?x?x?x64xf16>
  return %o : tensor<?x?x?x64xf16>
}
