// Variants for the non-finite semantics (README "Non-finite values"): a
// score region that yields NaN at one attended position (i = 5, j = 3) and
// one masked position (i = 2, j = 7) of a causal mask, and plain causal
// attention for inputs with NaN planted by the test.

func.func @nan_score(%q: tensor<1x2x?x64xf16>, %k: tensor<1x2x?x64xf16>, %v: tensor<1x2x?x64xf16>) -> (tensor<1x2x?x64xf16>, tensor<1x2x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf16>, tensor<1x2x?xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c2 = arith.constant 2 : index
        %c3 = arith.constant 3 : index
        %c5 = arith.constant 5 : index
        %c7 = arith.constant 7 : index
        %i5 = arith.cmpi eq, %i, %c5 : index
        %j3 = arith.cmpi eq, %j, %c3 : index
        %i2 = arith.cmpi eq, %i, %c2 : index
        %j7 = arith.cmpi eq, %j, %c7 : index
        %attended = arith.andi %i5, %j3 : i1
        %masked = arith.andi %i2, %j7 : i1
        %any = arith.ori %attended, %masked : i1
        %nan = arith.constant 0x7FC00000 : f32
        %r = arith.select %any, %nan, %s : f32
        attn.yield %r : f32
      }
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c = arith.cmpi ule, %j, %i : index
        attn.yield %c : i1
      }
  return %o, %lse : tensor<1x2x?x64xf16>, tensor<1x2x?xf32>
}

func.func @sigmoid_nan_score(%q: tensor<1x2x?x64xf16>, %k: tensor<1x2x?x64xf16>, %v: tensor<1x2x?x64xf16>) -> tensor<1x2x?x64xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<sigmoid>}
      : tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf16>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c3 = arith.constant 3 : index
        %c5 = arith.constant 5 : index
        %i5 = arith.cmpi eq, %i, %c5 : index
        %j3 = arith.cmpi eq, %j, %c3 : index
        %attended = arith.andi %i5, %j3 : i1
        %nan = arith.constant 0x7FC00000 : f32
        %r = arith.select %attended, %nan, %s : f32
        attn.yield %r : f32
      }
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c = arith.cmpi ule, %j, %i : index
        attn.yield %c : i1
      }
  return %o : tensor<1x2x?x64xf16>
}

func.func @causal(%q: tensor<1x2x?x64xf16>, %k: tensor<1x2x?x64xf16>, %v: tensor<1x2x?x64xf16>) -> (tensor<1x2x?x64xf16>, tensor<1x2x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf16>, tensor<1x2x?xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c = arith.cmpi ule, %j, %i : index
        attn.yield %c : i1
      }
  return %o, %lse : tensor<1x2x?x64xf16>, tensor<1x2x?xf32>
}
