// RUN: attn-opt --attn-analyze --split-input-file --verify-diagnostics %s -o /dev/null
// RUN: attn-opt --attn-analyze --split-input-file --mlir-print-op-on-diagnostic=false %s -o /dev/null 2>&1 | FileCheck %s

// The FuseMax pass-count analysis: passes over K/V as written and after the
// online rewrite, derived from the dependences of the cascade ops. Each
// function's remark is checked twice: by --verify-diagnostics (location) and by
// FileCheck (the full text with the reason per dependence).

// Softmax as decomposed: max, exp(s - max), sum, divide, P·V = 3 passes; the
// running-max and deferred-division corrections make it 1.
// CHECK: attn-analyze.mlir:[[@LINE+5]]:1: remark: pass count: 3 as written, 1 after the online rewrite (KV letter 'j')
// CHECK-SAME: ; 'attn.reduce' max over 'j' feeds 'attn.map' through exp(x - max): corrected online
// CHECK-SAME: ; 'attn.reduce' add over 'j' feeds 'attn.map' as a scale factor: corrected online
// CHECK-NOT: remark:
// expected-remark @+1 {{pass count: 3 as written, 1 after the online rewrite (KV letter 'j')}}
func.func @softmax(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %s = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %q, %k : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x?xf32>
  %m = attn.reduce max "bhij->bhi" %s : tensor<1x2x?x?xf32> -> tensor<1x2x?xf32>
  %e = attn.map "bhij,bhi->bhij" ins(%s, %m : tensor<1x2x?x?xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?x?xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32, %mx: f32):
    %d = arith.subf %x, %mx : f32
    %ex = math.exp %d : f32
    attn.yield %ex : f32
  }
  %l = attn.reduce add "bhij->bhi" %e : tensor<1x2x?x?xf32> -> tensor<1x2x?xf32>
  %p = attn.map "bhij,bhi->bhij" ins(%e, %l : tensor<1x2x?x?xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?x?xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32, %y: f32):
    %r = arith.divf %x, %y : f32
    attn.yield %r : f32
  }
  %o = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %p, %v : tensor<1x2x?x?xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
  return %o : tensor<1x2x?x16xf32>
}

// -----

// Softmax with the fully-masked-row guards of the real decomposition: the max
// is compared with -inf and the sum with 0 only to pick a constant 0, which
// does not stop the corrections. The scale and the mask are applied before the
// max; lse = max + log(sum) is computed outside the K/V loop.
// CHECK: attn-analyze.mlir:[[@LINE+5]]:1: remark: pass count: 3 as written, 1 after the online rewrite (KV letter 'j')
// CHECK-SAME: ; 'attn.reduce' max over 'j' feeds 'attn.map' through exp(x - max): corrected online
// CHECK-SAME: ; 'attn.reduce' add over 'j' feeds 'attn.map' as a scale factor: corrected online
// CHECK-NOT: remark:
// expected-remark @+1 {{pass count: 3 as written, 1 after the online rewrite (KV letter 'j')}}
func.func @softmax_guarded(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> (tensor<1x2x?x16xf32>, tensor<1x2x?xf32>) {
  %raw = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %q, %k : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x?xf32>
  %s = attn.map "bhij->bhij" ins(%raw : tensor<1x2x?x?xf32>) -> tensor<1x2x?x?xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32):
    %scale = arith.constant 0.25 : f32
    %neginf = arith.constant 0xFF800000 : f32
    %xs = arith.mulf %x, %scale : f32
    %keep = arith.cmpi ule, %j, %i : index
    %r = arith.select %keep, %xs, %neginf : f32
    attn.yield %r : f32
  }
  %m = attn.reduce max "bhij->bhi" %s : tensor<1x2x?x?xf32> -> tensor<1x2x?xf32>
  %e = attn.map "bhij,bhi->bhij" ins(%s, %m : tensor<1x2x?x?xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?x?xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32, %mx: f32):
    %neginf = arith.constant 0xFF800000 : f32
    %zero = arith.constant 0.0 : f32
    %isinf = arith.cmpf oeq, %mx, %neginf : f32
    %d = arith.subf %x, %mx : f32
    %ex = math.exp %d : f32
    %r = arith.select %isinf, %zero, %ex : f32
    attn.yield %r : f32
  }
  %l = attn.reduce add "bhij->bhi" %e : tensor<1x2x?x?xf32> -> tensor<1x2x?xf32>
  %p = attn.map "bhij,bhi->bhij" ins(%e, %l : tensor<1x2x?x?xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?x?xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32, %y: f32):
    %zero = arith.constant 0.0 : f32
    %empty = arith.cmpf oeq, %y, %zero : f32
    %q1 = arith.divf %x, %y : f32
    %r = arith.select %empty, %zero, %q1 : f32
    attn.yield %r : f32
  }
  %o = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %p, %v : tensor<1x2x?x?xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
  %lse = attn.map "bhi,bhi->bhi" ins(%m, %l : tensor<1x2x?xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?xf32> {
  ^bb0(%b: index, %h: index, %i: index, %mx: f32, %y: f32):
    %lg = math.log %y : f32
    %r = arith.addf %mx, %lg : f32
    attn.yield %r : f32
  }
  return %o, %lse : tensor<1x2x?x16xf32>, tensor<1x2x?xf32>
}

// -----

// Sigmoid: p = σ(s + bias) needs no reduction over the keys: 1 pass.
// CHECK: attn-analyze.mlir:[[@LINE+4]]:1: remark: pass count: 1 as written, 1 after the online rewrite (KV letter 'j')
// CHECK-SAME: ; no reduction over 'j' feeds a later op over 'j'
// CHECK-NOT: remark:
// expected-remark @+1 {{pass count: 1 as written, 1 after the online rewrite (KV letter 'j')}}
func.func @sigmoid(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %s = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %q, %k : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x?xf32>
  %p = attn.map "bhij->bhij" ins(%s : tensor<1x2x?x?xf32>) -> tensor<1x2x?x?xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32):
    %one = arith.constant 1.0 : f32
    %bias = arith.constant -4.5 : f32
    %y = arith.addf %x, %bias : f32
    %n = arith.negf %y : f32
    %ex = math.exp %n : f32
    %den = arith.addf %one, %ex : f32
    %r = arith.divf %one, %den : f32
    attn.yield %r : f32
  }
  %o = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %p, %v : tensor<1x2x?x?xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
  return %o : tensor<1x2x?x16xf32>
}

// -----

// Softplus normalised before P·V: the sum over the keys divides every p, a
// scale factor that the online rewrite defers: 2 passes become 1.
// CHECK: attn-analyze.mlir:[[@LINE+4]]:1: remark: pass count: 2 as written, 1 after the online rewrite (KV letter 'j')
// CHECK-SAME: ; 'attn.reduce' add over 'j' feeds 'attn.map' as a scale factor: corrected online
// CHECK-NOT: remark:
// expected-remark @+1 {{pass count: 2 as written, 1 after the online rewrite (KV letter 'j')}}
func.func @softplus(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %s = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %q, %k : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x?xf32>
  %p = attn.map "bhij->bhij" ins(%s : tensor<1x2x?x?xf32>) -> tensor<1x2x?x?xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32):
    %ex = math.exp %x : f32
    %r = math.log1p %ex : f32
    attn.yield %r : f32
  }
  %l = attn.reduce add "bhij->bhi" %p : tensor<1x2x?x?xf32> -> tensor<1x2x?xf32>
  %a = attn.map "bhij,bhi->bhij" ins(%p, %l : tensor<1x2x?x?xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?x?xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32, %y: f32):
    %r = arith.divf %x, %y : f32
    attn.yield %r : f32
  }
  %o = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %a, %v : tensor<1x2x?x?xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
  return %o : tensor<1x2x?x16xf32>
}

// -----

// p = relu(s - mean_j s): the mean (sum / nk, computed outside the K/V loop)
// is subtracted and the difference is not under exp, so p needs the complete
// row: 2 passes either way.
// CHECK: attn-analyze.mlir:[[@LINE+4]]:1: remark: pass count: 2 as written, 2 after the online rewrite (KV letter 'j')
// CHECK-SAME: ; 'attn.reduce' add over 'j' feeds 'attn.map' through 'arith.maximumf', not a correctable factor: needs the complete row
// CHECK-NOT: remark:
// expected-remark @+1 {{pass count: 2 as written, 2 after the online rewrite (KV letter 'j')}}
func.func @relu_centered(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %c2 = arith.constant 2 : index
  %nk = tensor.dim %k, %c2 : tensor<1x2x?x16xf32>
  %s = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %q, %k : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x?xf32>
  %sum = attn.reduce add "bhij->bhi" %s : tensor<1x2x?x?xf32> -> tensor<1x2x?xf32>
  %mean = attn.map "bhi->bhi" ins(%sum : tensor<1x2x?xf32>) captures(%nk : index) -> tensor<1x2x?xf32> {
  ^bb0(%b: index, %h: index, %i: index, %x: f32, %n: index):
    %ni = arith.index_cast %n : index to i64
    %nf = arith.uitofp %ni : i64 to f32
    %r = arith.divf %x, %nf : f32
    attn.yield %r : f32
  }
  %p = attn.map "bhij,bhi->bhij" ins(%s, %mean : tensor<1x2x?x?xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?x?xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32, %mu: f32):
    %zero = arith.constant 0.0 : f32
    %d = arith.subf %x, %mu : f32
    %r = arith.maximumf %d, %zero : f32
    attn.yield %r : f32
  }
  %o = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %p, %v : tensor<1x2x?x?xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
  return %o : tensor<1x2x?x16xf32>
}

// -----

// A cascade with no contraction over a key letter has no K/V loop to count.
// CHECK: attn-analyze.mlir:[[@LINE+3]]:1: remark: no K/V loop: no attn.contract on the path to the first result reduces a letter
// CHECK-NOT: remark:
// expected-remark @+1 {{no K/V loop}}
func.func @no_kv(%x: tensor<4x8xf32>) -> tensor<4xf32> {
  %e = attn.map "ij->ij" ins(%x : tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%i: index, %j: index, %a: f32):
    %r = math.exp %a : f32
    attn.yield %r : f32
  }
  %l = attn.reduce add "ij->i" %e : tensor<4x8xf32> -> tensor<4xf32>
  return %l : tensor<4xf32>
}

// -----

// A function without cascade ops gets no remark (the CHECK-NOT above covers
// it: the next remark is the GQA one).
func.func @not_a_cascade(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

// GQA (Hq = 4, Hkv = 2): q is expanded to [B, Hkv, G, Nq, D] and the output
// collapsed back; reshapes and tensor.dim are transparent. Softmax with the
// division deferred after P·V (epilogue outside the K/V loop): the max still
// feeds exp, 2 passes as written, 1 online.
// CHECK: attn-analyze.mlir:[[@LINE+4]]:1: remark: pass count: 2 as written, 1 after the online rewrite (KV letter 'j')
// CHECK-SAME: ; 'attn.reduce' max over 'j' feeds 'attn.map' through exp(x - max): corrected online
// CHECK-NOT: remark:
// expected-remark @+1 {{pass count: 2 as written, 1 after the online rewrite (KV letter 'j')}}
func.func @gqa(%q: tensor<1x4x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x4x?x16xf32> {
  %c2 = arith.constant 2 : index
  %nq = tensor.dim %q, %c2 : tensor<1x4x?x16xf32>
  %qg = tensor.expand_shape %q [[0], [1, 2], [3], [4]] output_shape [1, 2, 2, %nq, 16] : tensor<1x4x?x16xf32> into tensor<1x2x2x?x16xf32>
  %s = attn.contract "bhgid,bhjd->bhgij" combine(mul) reduce(add) %qg, %k : tensor<1x2x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x2x?x?xf32>
  %m = attn.reduce max "bhgij->bhgi" %s : tensor<1x2x2x?x?xf32> -> tensor<1x2x2x?xf32>
  %e = attn.map "bhgij,bhgi->bhgij" ins(%s, %m : tensor<1x2x2x?x?xf32>, tensor<1x2x2x?xf32>) -> tensor<1x2x2x?x?xf32> {
  ^bb0(%b: index, %h: index, %g: index, %i: index, %j: index, %x: f32, %mx: f32):
    %d = arith.subf %x, %mx : f32
    %ex = math.exp %d : f32
    attn.yield %ex : f32
  }
  %l = attn.reduce add "bhgij->bhgi" %e : tensor<1x2x2x?x?xf32> -> tensor<1x2x2x?xf32>
  %pv = attn.contract "bhgij,bhjf->bhgif" combine(mul) reduce(add) %e, %v : tensor<1x2x2x?x?xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x2x?x16xf32>
  %og = attn.map "bhgif,bhgi->bhgif" ins(%pv, %l : tensor<1x2x2x?x16xf32>, tensor<1x2x2x?xf32>) -> tensor<1x2x2x?x16xf32> {
  ^bb0(%b: index, %h: index, %g: index, %i: index, %f: index, %x: f32, %y: f32):
    %r = arith.divf %x, %y : f32
    attn.yield %r : f32
  }
  %o = tensor.collapse_shape %og [[0], [1, 2], [3], [4]] : tensor<1x2x2x?x16xf32> into tensor<1x4x?x16xf32>
  return %o : tensor<1x4x?x16xf32>
}

// -----

// The KV letter is found when the first result reaches only q·k (the max):
// 'd' indexes only function arguments, 'j' is materialised in the scores.
// A non-linear op after exp (e + 1) cannot be corrected by a factor, so the
// max stays a separate pass: 2 as written, 2 online.
// CHECK: attn-analyze.mlir:[[@LINE+4]]:1: remark: pass count: 2 as written, 2 after the online rewrite (KV letter 'j')
// CHECK-SAME: ; 'attn.reduce' max over 'j' feeds 'attn.map' through exp(x - max), but 'attn.map' downstream uses it through 'arith.addf': needs the complete row
// CHECK-NOT: remark:
// expected-remark @+1 {{pass count: 2 as written, 2 after the online rewrite (KV letter 'j')}}
func.func @lse_first_nonlinear(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> (tensor<1x2x?xf32>, tensor<1x2x?x16xf32>) {
  %s = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %q, %k : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x?xf32>
  %m = attn.reduce max "bhij->bhi" %s : tensor<1x2x?x?xf32> -> tensor<1x2x?xf32>
  %e = attn.map "bhij,bhi->bhij" ins(%s, %m : tensor<1x2x?x?xf32>, tensor<1x2x?xf32>) -> tensor<1x2x?x?xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32, %mx: f32):
    %d = arith.subf %x, %mx : f32
    %ex = math.exp %d : f32
    attn.yield %ex : f32
  }
  %p = attn.map "bhij->bhij" ins(%e : tensor<1x2x?x?xf32>) -> tensor<1x2x?x?xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32):
    %one = arith.constant 1.0 : f32
    %r = arith.addf %x, %one : f32
    attn.yield %r : f32
  }
  %o = attn.contract "bhij,bhjf->bhif" combine(mul) reduce(add) %p, %v : tensor<1x2x?x?xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
  return %m, %o : tensor<1x2x?xf32>, tensor<1x2x?x16xf32>
}
