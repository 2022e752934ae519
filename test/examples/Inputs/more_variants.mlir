// Variants beyond examples/ that exercise the general mechanisms: a captured
// bias table read at (h, i, j), per-head window sizes read from a captured
// tensor (a mask over data), dynamic head counts, D != Dv, f32, and a score
// region that uses nq and nk.

// Relative-position bias table [Hq, Nq, Nk] added to the score (T5-style
// buckets precomputed), no mask.
func.func @bias_table(%q: tensor<1x4x?x128xf32>, %k: tensor<1x4x?x128xf32>, %v: tensor<1x4x?x96xf32>,
                      %bias: tensor<4x?x?xf32> {attn.dims = [4, "nq", "nk"]}) -> tensor<1x4x?x96xf32> {
  %o = attn.attention %q, %k, %v captures(%bias : tensor<4x?x?xf32>) {normalizer = #attn.normalizer<softmax>}
      : tensor<1x4x?x128xf32>, tensor<1x4x?x128xf32>, tensor<1x4x?x96xf32> -> tensor<1x4x?x96xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %t: tensor<4x?x?xf32>):
        %x = tensor.extract %t[%h, %i, %j] : tensor<4x?x?xf32>
        %r = arith.addf %s, %x : f32
        attn.yield %r : f32
      }
  return %o : tensor<1x4x?x96xf32>
}

// Per-head causal window sizes read from a captured tensor (Gemma-style
// local heads with different spans).
func.func @per_head_window(%q: tensor<2x4x?x32xf16>, %k: tensor<2x2x?x32xf16>, %v: tensor<2x2x?x32xf16>,
                           %w: tensor<4xi32> {attn.gen = #attn.gen<int_range, 1.0, 40.0>}) -> (tensor<2x4x?x32xf16>, tensor<2x4x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v captures(%w : tensor<4xi32>) {normalizer = #attn.normalizer<softmax>}
      : tensor<2x4x?x32xf16>, tensor<2x2x?x32xf16>, tensor<2x2x?x32xf16> -> tensor<2x4x?x32xf16>, tensor<2x4x?xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %ws: tensor<4xi32>):
        %wh = tensor.extract %ws[%h] : tensor<4xi32>
        %wi = arith.index_cast %wh : i32 to index
        %causal = arith.cmpi ule, %j, %i : index
        %jw = arith.addi %j, %wi : index
        %in = arith.cmpi uge, %jw, %i : index
        %r = arith.andi %causal, %in : i1
        attn.yield %r : i1
      }
  return %o, %lse : tensor<2x4x?x32xf16>, tensor<2x4x?xf32>
}

// Dynamic head counts (Hq = Hkv at run time) and a length-dependent
// temperature: s · log(nk) / log(512) (log-length scaling).
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
func.func @sigmoid_mqa(%q: tensor<1x6x?x64xf16>, %k: tensor<1x1x?x64xf16>, %v: tensor<1x1x?x64xf16>) -> tensor<1x6x?x64xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<sigmoid, bias = -3.0>}
      : tensor<1x6x?x64xf16>, tensor<1x1x?x64xf16>, tensor<1x1x?x64xf16> -> tensor<1x6x?x64xf16>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %r = arith.cmpi ule, %j, %i : index
        attn.yield %r : i1
      }
  return %o : tensor<1x6x?x64xf16>
}
