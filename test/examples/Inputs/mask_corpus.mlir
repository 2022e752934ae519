// The mask corpus of test/unit/MaskAnalysisTest.cpp as variants, for the
// end-to-end check of tile classification and closed-form key ranges.

func.func @causal(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %r = arith.cmpi ule, %j, %i : index
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

func.func @causal_swapped(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %r = arith.cmpi uge, %i, %j : index
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

func.func @causal_noop_arith(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c5 = arith.constant 5 : index
        %c1 = arith.constant 1 : index
        %x = arith.addi %i, %c5 : index
        %y = arith.addi %c5, %j : index
        %z = arith.muli %y, %c1 : index
        %r = arith.cmpi sle, %z, %x : index
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

func.func @causal_via_i64(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %ii = arith.index_cast %i : index to i64
        %jj = arith.index_cast %j : index to i64
        %d = arith.subi %ii, %jj : i64
        %z = arith.constant 0 : i64
        %r = arith.cmpi sge, %d, %z : i64
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

func.func @bottom_right(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %lhs = arith.addi %j, %nq : index
        %rhs = arith.addi %i, %nk : index
        %r = arith.cmpi sle, %lhs, %rhs : index
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

func.func @bottom_right_rewritten(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %d = arith.subi %j, %i : index
        %off = arith.subi %nk, %nq : index
        %r = arith.cmpi sle, %d, %off : index
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

func.func @sliding_window(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %w = arith.constant 20 : index
        %causal = arith.cmpi ule, %j, %i : index
        %jw = arith.addi %j, %w : index
        %in = arith.cmpi uge, %jw, %i : index
        %r = arith.andi %causal, %in : i1
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

func.func @sliding_window_rewritten(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %w = arith.constant 20 : index
        %d = arith.subi %i, %j : index
        %z = arith.constant 0 : index
        %a = arith.cmpi sle, %d, %w : index
        %b2 = arith.cmpi sge, %d, %z : index
        %r = arith.andi %b2, %a : i1
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

func.func @sliding_window_unsigned_wrap(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %w = arith.constant 20 : index
        %lo = arith.subi %i, %w : index
        %a = arith.cmpi uge, %j, %lo : index
        %c = arith.cmpi ule, %j, %i : index
        %r = arith.andi %a, %c : i1
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

func.func @window_and_sinks(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %w = arith.constant 16 : index
        %s = arith.constant 4 : index
        %causal = arith.cmpi ule, %j, %i : index
        %jw = arith.addi %j, %w : index
        %in = arith.cmpi uge, %jw, %i : index
        %band = arith.andi %causal, %in : i1
        %sink = arith.cmpi ult, %j, %s : index
        %r = arith.ori %band, %sink : i1
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

func.func @prefix_lm(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>, %cp: index {attn.gen = #attn.gen<int_range, 0.0, 60.0>}) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v captures(%cp : index) {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %p: index):
        %causal = arith.cmpi ule, %j, %i : index
        %pre = arith.cmpi ult, %j, %p : index
        %r = arith.ori %causal, %pre : i1
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

func.func @chunked_local(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c = arith.constant 24 : index
        %qi = arith.divui %i, %c : index
        %kj = arith.divui %j, %c : index
        %same = arith.cmpi eq, %qi, %kj : index
        %causal = arith.cmpi ule, %j, %i : index
        %r = arith.andi %same, %causal : i1
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

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

func.func @float_math(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %ii = arith.index_cast %i : index to i64
        %jj = arith.index_cast %j : index to i64
        %fi = arith.sitofp %ii : i64 to f32
        %fj = arith.sitofp %jj : i64 to f32
        %r = arith.cmpf ole, %fj, %fi : f32
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

func.func @select_based(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %even = arith.constant 2 : index
        %m = arith.remui %i, %even : index
        %z = arith.constant 0 : index
        %isEven = arith.cmpi eq, %m, %z : index
        %causal = arith.cmpi ule, %j, %i : index
        %t = arith.constant true
        %r = arith.select %isEven, %causal, %t : i1
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

// Key padding: keys past the batch entry's length len[b] are masked (a
// per-(b, h) value read from a captured tensor: one element per tile).
func.func @key_padding(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>, %len: tensor<?xi32> {attn.gen = #attn.gen<int_range, 1.0, 200.0>, attn.dims = ["b"]}) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v captures(%len : tensor<?xi32>) {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %l: tensor<?xi32>):
        %n = tensor.extract %l[%b] : tensor<?xi32>
        %ni = arith.index_cast %n : i32 to index
        %r = arith.cmpi slt, %j, %ni : index
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

// Block diffusion (BD3-LM) over [x_t, x_0], each nk / 2 tokens, blocks of
// 8: three bands in a union, with negations (xori ..., true).
func.func @block_diffusion(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %two = arith.constant 2 : index
        %bs = arith.constant 8 : index
        %true = arith.constant true
        %half = arith.divsi %nk, %two : index
        %qn = arith.cmpi slt, %i, %half : index
        %kn = arith.cmpi slt, %j, %half : index
        %notq = arith.xori %qn, %true : i1
        %notk = arith.xori %kn, %true : i1
        %bi = arith.divsi %i, %bs : index
        %bj = arith.divsi %j, %bs : index
        %sameb = arith.cmpi eq, %bi, %bj : index
        %d0 = arith.andi %qn, %kn : i1
        %diag = arith.andi %d0, %sameb : i1
        %jx = arith.subi %j, %half : index
        %bjx = arith.divsi %jx, %bs : index
        %earlier = arith.cmpi slt, %bjx, %bi : index
        %o0 = arith.andi %qn, %notk : i1
        %offset = arith.andi %o0, %earlier : i1
        %ix = arith.subi %i, %half : index
        %bix = arith.divsi %ix, %bs : index
        %upto = arith.cmpi sle, %bjx, %bix : index
        %c0 = arith.andi %notq, %notk : i1
        %causal = arith.andi %c0, %upto : i1
        %u = arith.ori %diag, %offset : i1
        %r = arith.ori %u, %causal : i1
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

// Generalized neighborhood attention (GNA), 1-D with stride 8: the queries
// of a group of 8 share one window of 33 keys, centred on the group,
// clamped inside the sequence.
func.func @gna_1d_strided(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %ks = arith.constant 33 : index
        %st = arith.constant 8 : index
        %half = arith.constant 4 : index
        %rad = arith.constant 16 : index
        %z = arith.constant 0 : index
        %g = arith.divsi %i, %st : index
        %g0 = arith.muli %g, %st : index
        %c = arith.addi %g0, %half : index
        %a = arith.subi %c, %rad : index
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
