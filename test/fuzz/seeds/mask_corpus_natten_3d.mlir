func.func @natten_3d(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %w = arith.constant 4 : index
        %plane = arith.constant 16 : index
        %one = arith.constant 1 : index
        %qz = arith.divui %i, %plane : index
        %kz = arith.divui %j, %plane : index
        %qyx = arith.remui %i, %plane : index
        %kyx = arith.remui %j, %plane : index
        %qy = arith.divui %qyx, %w : index
        %ky = arith.divui %kyx, %w : index
        %qx = arith.remui %qyx, %w : index
        %kx = arith.remui %kyx, %w : index
        %dz = arith.subi %qz, %kz : index
        %dy = arith.subi %qy, %ky : index
        %dx = arith.subi %qx, %kx : index
        %az = math.absi %dz : index
        %ay = arith.maxsi %dy, %dy : index
        %ny = arith.subi %ky, %qy : index
        %ay2 = arith.maxsi %ay, %ny : index
        %nx = arith.subi %kx, %qx : index
        %ax = arith.maxsi %dx, %nx : index
        %okz = arith.cmpi sle, %az, %one : index
        %oky = arith.cmpi sle, %ay2, %one : index
        %okx = arith.cmpi sle, %ax, %one : index
        %a = arith.andi %okz, %oky : i1
        %r = arith.andi %a, %okx : i1
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}
