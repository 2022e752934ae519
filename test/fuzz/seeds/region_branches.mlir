// Variants whose regions branch (scf.if yielding values), for
// emu-region-branches.test: -attn-if-convert turns every branch into a
// select, with safe operands where a branch is not taken.

// Soft-capping written as a branch: scores above the cap go through tanh.
func.func @softcap_branch(%q: tensor<?x2x?x64xf16>, %k: tensor<?x2x?x64xf16>, %v: tensor<?x2x?x64xf16>) -> tensor<?x2x?x64xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16> -> tensor<?x2x?x64xf16>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %a = math.absf %s : f32
        %cap = arith.constant 0.5 : f32
        %big = arith.cmpf ogt, %a, %cap : f32
        %r = scf.if %big -> (f32) {
          %x = arith.divf %s, %cap : f32
          %t = math.tanh %x : f32
          %y = arith.mulf %t, %cap : f32
          scf.yield %y : f32
        } else {
          scf.yield %s : f32
        }
        attn.yield %r : f32
      }
  return %o : tensor<?x2x?x64xf16>
}

// A relative-position bias whose table holds 16 distances: nearer keys read
// it, farther ones its last entry. Unguarded, the hoisted read would index
// past the table.
func.func @bias_table(%q: tensor<?x2x?x64xf16>, %k: tensor<?x2x?x64xf16>, %v: tensor<?x2x?x64xf16>,
                      %table: tensor<16x2xf32> {attn.gen = #attn.gen<uniform, -1.0, 1.0>}) -> tensor<?x2x?x64xf16> {
  %o = attn.attention %q, %k, %v captures(%table : tensor<16x2xf32>) {normalizer = #attn.normalizer<softmax>}
      : tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16> -> tensor<?x2x?x64xf16>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %t: tensor<16x2xf32>):
        %d = arith.subi %i, %j : index
        %c16 = arith.constant 16 : index
        %near = arith.cmpi ult, %d, %c16 : index
        %bias = scf.if %near -> (f32) {
          %x = tensor.extract %t[%d, %h] : tensor<16x2xf32>
          scf.yield %x : f32
        } else {
          %c15 = arith.constant 15 : index
          %x = tensor.extract %t[%c15, %h] : tensor<16x2xf32>
          scf.yield %x : f32
        }
        %r = arith.addf %s, %bias : f32
        attn.yield %r : f32
      }
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %t: tensor<16x2xf32>):
        %attend = arith.cmpi ule, %j, %i : index
        attn.yield %attend : i1
      }
  return %o : tensor<?x2x?x64xf16>
}

// A division only where its divisor is positive: unguarded, the hoisted
// division would divide by zero on the diagonal.
func.func @guarded_div(%q: tensor<?x2x?x64xf16>, %k: tensor<?x2x?x64xf16>, %v: tensor<?x2x?x64xf16>) -> tensor<?x2x?x64xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16> -> tensor<?x2x?x64xf16>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %ii = arith.index_cast %i : index to i64
        %jj = arith.index_cast %j : index to i64
        %d = arith.subi %jj, %ii : i64
        %c0 = arith.constant 0 : i64
        %after = arith.cmpi sgt, %d, %c0 : i64
        %r = scf.if %after -> (f32) {
          %c64 = arith.constant 64 : i64
          %q2 = arith.divsi %c64, %d : i64
          %qf = arith.sitofp %q2 : i64 to f32
          %w = arith.constant 0.03125 : f32
          %pen = arith.mulf %qf, %w : f32
          %y = arith.subf %s, %pen : f32
          scf.yield %y : f32
        } else {
          scf.yield %s : f32
        }
        attn.yield %r : f32
      }
  return %o : tensor<?x2x?x64xf16>
}

// A dilated causal window written with nested branches, and the same mask
// as one expression: the mask analysis must skip the same tiles.
func.func @dilated_branch(%q: tensor<?x2x?x64xf16>, %k: tensor<?x2x?x64xf16>, %v: tensor<?x2x?x64xf16>) -> tensor<?x2x?x64xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16> -> tensor<?x2x?x64xf16>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %causal = arith.cmpi ule, %j, %i : index
        %r = scf.if %causal -> (i1) {
          %d = arith.subi %i, %j : index
          %c96 = arith.constant 96 : index
          %near = arith.cmpi ult, %d, %c96 : index
          %s = scf.if %near -> (i1) {
            %c3 = arith.constant 3 : index
            %m = arith.remui %d, %c3 : index
            %c0 = arith.constant 0 : index
            %e = arith.cmpi eq, %m, %c0 : index
            scf.yield %e : i1
          } else {
            %f = arith.constant false
            scf.yield %f : i1
          }
          scf.yield %s : i1
        } else {
          %f = arith.constant false
          scf.yield %f : i1
        }
        attn.yield %r : i1
      }
  return %o : tensor<?x2x?x64xf16>
}

func.func @dilated_select(%q: tensor<?x2x?x64xf16>, %k: tensor<?x2x?x64xf16>, %v: tensor<?x2x?x64xf16>) -> tensor<?x2x?x64xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16> -> tensor<?x2x?x64xf16>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %causal = arith.cmpi ule, %j, %i : index
        %d = arith.subi %i, %j : index
        %c96 = arith.constant 96 : index
        %near = arith.cmpi ult, %d, %c96 : index
        %c3 = arith.constant 3 : index
        %m = arith.remui %d, %c3 : index
        %c0 = arith.constant 0 : index
        %e = arith.cmpi eq, %m, %c0 : index
        %a = arith.andi %causal, %near : i1
        %r = arith.andi %a, %e : i1
        attn.yield %r : i1
      }
  return %o : tensor<?x2x?x64xf16>
}
