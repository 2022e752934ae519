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
