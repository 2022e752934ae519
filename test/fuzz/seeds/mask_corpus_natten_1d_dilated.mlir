func.func @natten_1d_dilated(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %ks = arith.constant 3 : index
        %rad = arith.constant 1 : index
        %d = arith.constant 2 : index
        %z = arith.constant 0 : index
        %gi = arith.remsi %i, %d : index
        %gj = arith.remsi %j, %d : index
        %same = arith.cmpi eq, %gi, %gj : index
        %pi = arith.divsi %i, %d : index
        %pj = arith.divsi %j, %d : index
        %ng0 = arith.subi %nk, %gi : index
        %ng = arith.ceildivsi %ng0, %d : index
        %a = arith.subi %pi, %rad : index
        %last = arith.subi %ng, %ks : index
        %b0 = arith.minsi %a, %last : index
        %start = arith.maxsi %b0, %z : index
        %end = arith.addi %start, %ks : index
        %ge = arith.cmpi sge, %pj, %start : index
        %lt = arith.cmpi slt, %pj, %end : index
        %in = arith.andi %ge, %lt : i1
        %r = arith.andi %in, %same : i1
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}
