func.func @natten_1d(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %ks = arith.constant 7 : index
        %rad = arith.constant 3 : index
        %z = arith.constant 0 : index
        %a = arith.subi %i, %rad : index
        %last = arith.subi %nk, %ks : index
        %b0 = arith.minsi %a, %last : index
        %start = arith.maxsi %b0, %z : index
        %end = arith.addi %start, %ks : index
        %ge = arith.cmpi sge, %j, %start : index
        %lt = arith.cmpi slt, %j, %end : index
        %r = arith.andi %ge, %lt : i1
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}
