// Head dims that fit no tensor-core tile (D = 100, Dv = 8), a static batch
// of 3 and a softcapped score with a captured scalar cap.
func.func @odd(%q: tensor<3x2x?x100xf32>, %k: tensor<3x1x?x100xf32>, %v: tensor<3x1x?x8xf32>,
               %cap: f32 {attn.gen = #attn.gen<uniform, 10.0, 50.0>}) -> tensor<3x2x?x8xf32> {
  %o = attn.attention %q, %k, %v captures(%cap : f32) {normalizer = #attn.normalizer<softplus>, scale = 0.1}
      : tensor<3x2x?x100xf32>, tensor<3x1x?x100xf32>, tensor<3x1x?x8xf32> -> tensor<3x2x?x8xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %c: f32):
        %x = arith.divf %s, %c : f32
        %t = math.tanh %x : f32
        %r = arith.mulf %t, %c : f32
        attn.yield %r : f32
      }
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %c: f32):
        %c3 = arith.constant 3 : index
        %d = arith.remsi %j, %c3 : index
        %c0 = arith.constant 0 : index
        %r = arith.cmpi ne, %d, %c0 : index
        attn.yield %r : i1
      }
  return %o : tensor<3x2x?x8xf32>
}
