func.func @natten_2d(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %w = arith.constant 8 : index
        %ks = arith.constant 3 : index
        %rad = arith.constant 1 : index
        %z = arith.constant 0 : index
        %h2 = arith.divui %nk, %w : index
        %qr = arith.divui %i, %w : index
        %qc = arith.remui %i, %w : index
        %kr = arith.divui %j, %w : index
        %kc = arith.remui %j, %w : index
        %ar = arith.subi %qr, %rad : index
        %lr = arith.subi %h2, %ks : index
        %br = arith.minsi %ar, %lr : index
        %sr = arith.maxsi %br, %z : index
        %er = arith.addi %sr, %ks : index
        %ac = arith.subi %qc, %rad : index
        %lc = arith.subi %w, %ks : index
        %bc = arith.minsi %ac, %lc : index
        %sc = arith.maxsi %bc, %z : index
        %ec = arith.addi %sc, %ks : index
        %r1 = arith.cmpi sge, %kr, %sr : index
        %r2 = arith.cmpi slt, %kr, %er : index
        %c1 = arith.cmpi sge, %kc, %sc : index
        %c2 = arith.cmpi slt, %kc, %ec : index
        %rr = arith.andi %r1, %r2 : i1
        %cc = arith.andi %c1, %c2 : i1
        %r = arith.andi %rr, %cc : i1
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}
