// Masks written in the score region (FlexAttention's score_mod idiom
// where(cond, score, -inf)); -attn-score-mask turns them into masks.

// Causal: the same tiles as examples/causal.mlir.
func.func @score_causal(%q: tensor<?x8x?x64xf16>, %k: tensor<?x8x?x64xf16>, %v: tensor<?x8x?x64xf16>) -> (tensor<?x8x?x64xf16>, tensor<?x8x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16> -> tensor<?x8x?x64xf16>, tensor<?x8x?xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %ninf = arith.constant 0xFF800000 : f32
        %c = arith.cmpi ule, %j, %i : index
        %r = arith.select %c, %s, %ninf : f32
        attn.yield %r : f32
      }
  return %o, %lse : tensor<?x8x?x64xf16>, tensor<?x8x?xf32>
}

// Strictly causal, capped, with a captured window: row 0 has no key left
// (o = 0, lse = -inf, as for a mask), and the rest of the region stays.
func.func @score_strict_window(%q: tensor<?x8x?x64xf16>, %k: tensor<?x8x?x64xf16>, %v: tensor<?x8x?x64xf16>,
                               %w: index {attn.gen = #attn.gen<int_range, 20.0, 90.0>}) -> (tensor<?x8x?x64xf16>, tensor<?x8x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v captures(%w : index) {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16> -> tensor<?x8x?x64xf16>, tensor<?x8x?xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %ww: index):
        %cap = arith.constant 30.0 : f32
        %x = arith.divf %s, %cap : f32
        %t = math.tanh %x : f32
        %y = arith.mulf %t, %cap : f32
        %ninf = arith.constant 0xFF800000 : f32
        %late = arith.cmpi sge, %j, %i : index
        %jw = arith.addi %j, %ww : index
        %early = arith.cmpi slt, %jw, %i : index
        %out = arith.ori %late, %early : i1
        %r = arith.select %out, %ninf, %y : f32
        attn.yield %r : f32
      }
  return %o, %lse : tensor<?x8x?x64xf16>, tensor<?x8x?xf32>
}
