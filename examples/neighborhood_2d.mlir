// 2-D neighborhood attention (Hassani et al. 2023, NATTEN): tokens of a
// 32-pixel-wide feature map, flattened row-major (i = row·32 + col), attend
// to the 7x7 window around them, shifted inwards at the borders so every
// window has 7x7 keys (NATTEN's clamping). nq = nk = rows·32.
func.func @neighborhood_2d(%q: tensor<?x8x?x64xf16>, %k: tensor<?x8x?x64xf16>, %v: tensor<?x8x?x64xf16>) -> tensor<?x8x?x64xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16> -> tensor<?x8x?x64xf16>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %width = arith.constant 32 : index
        %kernel = arith.constant 7 : index
        %radius = arith.constant 3 : index
        %zero = arith.constant 0 : index
        %rows = arith.divui %nk, %width : index
        // Query and key coordinates.
        %qr = arith.divui %i, %width : index
        %qc = arith.remui %i, %width : index
        %kr = arith.divui %j, %width : index
        %kc = arith.remui %j, %width : index
        // Window start per axis: clamp(q - radius, 0, extent - kernel).
        %r0 = arith.subi %qr, %radius : index
        %rLast = arith.subi %rows, %kernel : index
        %r1 = arith.minsi %r0, %rLast : index
        %rStart = arith.maxsi %r1, %zero : index
        %c0 = arith.subi %qc, %radius : index
        %cLast = arith.subi %width, %kernel : index
        %c1 = arith.minsi %c0, %cLast : index
        %cStart = arith.maxsi %c1, %zero : index
        %rEnd = arith.addi %rStart, %kernel : index
        %cEnd = arith.addi %cStart, %kernel : index
        %inR0 = arith.cmpi sge, %kr, %rStart : index
        %inR1 = arith.cmpi slt, %kr, %rEnd : index
        %inC0 = arith.cmpi sge, %kc, %cStart : index
        %inC1 = arith.cmpi slt, %kc, %cEnd : index
        %inR = arith.andi %inR0, %inR1 : i1
        %inC = arith.andi %inC0, %inC1 : i1
        %attend = arith.andi %inR, %inC : i1
        attn.yield %attend : i1
      }
  return %o : tensor<?x8x?x64xf16>
}
