// RUN: attn-opt %s --split-input-file --verify-diagnostics

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<4x?x64xf16>, %v: tensor<1x4x?x64xf16>) {
  // expected-error @+1 {{'k' must have rank 4 [B,Hkv,Nk,D], got rank 3}}
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>} : tensor<1x4x?x64xf16>, tensor<4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x?x64xf16>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf64>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>) {
  // expected-error @+1 {{element type of 'q' is 'f64'; supported: f16, bf16, f32}}
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>} : tensor<1x4x?x64xf64>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x?x64xf16>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x?x64xf32>, %v: tensor<1x4x?x64xf16>) {
  // expected-error @+1 {{element type of 'k' ('f32') differs from that of 'q' ('f16')}}
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>} : tensor<1x4x?x64xf16>, tensor<1x4x?x64xf32>, tensor<1x4x?x64xf16> -> tensor<1x4x?x64xf16>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x?xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>) {
  // expected-error @+1 {{head dim of 'q' (dimension 3) must be static}}
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>} : tensor<1x4x?x?xf16>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x?x64xf16>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<2x4x?x64xf16>, %v: tensor<1x4x?x64xf16>) {
  // expected-error @+1 {{batch size of 'k' (dimension 0) is 2 but 'q' (dimension 0) has 1}}
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>} : tensor<1x4x?x64xf16>, tensor<2x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x?x64xf16>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x2x?x64xf16>) {
  // expected-error @+1 {{number of KV heads of 'v' (dimension 1) is 2 but 'k' (dimension 1) has 4}}
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>} : tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x4x?x64xf16>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>) {
  // expected-error @+1 {{number of heads of 'o' (dimension 1) is 8 but 'q' (dimension 1) has 4}}
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>} : tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x8x?x64xf16>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x?x32xf16>, %v: tensor<1x4x?x64xf16>) {
  // expected-error @+1 {{head dim of 'k' (dimension 3) is 32 but 'q' (dimension 3) has 64}}
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>} : tensor<1x4x?x64xf16>, tensor<1x4x?x32xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x?x64xf16>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x10x64xf16>, %v: tensor<1x4x20x64xf16>) {
  // expected-error @+1 {{sequence length of 'v' (dimension 2) is 20 but 'k' (dimension 2) has 10}}
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>} : tensor<1x4x?x64xf16>, tensor<1x4x10x64xf16>, tensor<1x4x20x64xf16> -> tensor<1x4x?x64xf16>
  return
}

// -----

func.func @f(%q: tensor<1x4x7x64xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>) {
  // expected-error @+1 {{sequence length of 'o' (dimension 2) is 5 but 'q' (dimension 2) has 7}}
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>} : tensor<1x4x7x64xf16>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x5x64xf16>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>) {
  // expected-error @+1 {{value head dim of 'o' (dimension 3) is 32 but 'v' (dimension 3) has 64}}
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>} : tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x?x32xf16>
  return
}

// -----

func.func @f(%q: tensor<1x6x?x64xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>) {
  // expected-error @+1 {{number of query heads of 'q' (dimension 1, 6) must be a multiple of the number of KV heads of 'k' (dimension 1, 4)}}
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>} : tensor<1x6x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x6x?x64xf16>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>) {
  // expected-error @+1 {{an 'lse' result is defined for the softmax normalizer only, not for 'sigmoid'}}
  %o, %l = attn.attention %q, %k, %v {normalizer = #attn.normalizer<sigmoid>} : tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x?x64xf16>, tensor<1x4x?xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>, %s: tensor<4xf32>) {
  // expected-error @+1 {{'sink_logits' are defined for the softmax normalizer only, not for 'sigmoid'}}
  %o = attn.attention %q, %k, %v sink_logits(%s : tensor<4xf32>) {normalizer = #attn.normalizer<sigmoid>} : tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x?x64xf16>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>, %s: tensor<4xf16>) {
  // expected-error @+1 {{'sink_logits' must be a rank-1 f32 tensor [Hq] (one logit per query head), got 'tensor<4xf16>'}}
  %o = attn.attention %q, %k, %v sink_logits(%s : tensor<4xf16>) {normalizer = #attn.normalizer<softmax>} : tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x?x64xf16>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x2x?x64xf16>, %v: tensor<1x2x?x64xf16>, %s: tensor<2xf32>) {
  // expected-error @+1 {{'sink_logits' has 2 logits but 'q' has 4 query heads (dimension 1)}}
  %o = attn.attention %q, %k, %v sink_logits(%s : tensor<2xf32>) {normalizer = #attn.normalizer<softmax>} : tensor<1x4x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x4x?x64xf16>
  return
}

// -----

// attn-pack-gqa's form: each head holds gqa_packed query heads' rows.
func.func @f(%q: tensor<1x2x8x64xf16>, %k: tensor<1x2x?x64xf16>, %v: tensor<1x2x?x64xf16>, %s: tensor<2xf32>) {
  // expected-error @+1 {{'sink_logits' has 2 logits but 'q' has 8 query heads (dimension 1 x gqa_packed)}}
  %o = attn.attention %q, %k, %v sink_logits(%s : tensor<2xf32>) {gqa_packed = 4 : i64, normalizer = #attn.normalizer<softmax>} : tensor<1x2x8x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x8x64xf16>
  return
}

// -----

func.func @f(%q: tensor<1x2x6x64xf16>, %k: tensor<1x2x?x64xf16>, %v: tensor<1x2x?x64xf16>) {
  // expected-error @+1 {{'q' has 6 rows (dimension 2), not a multiple of the 4 query heads 'gqa_packed' packs}}
  %o = attn.attention %q, %k, %v {gqa_packed = 4 : i64, normalizer = #attn.normalizer<softmax>} : tensor<1x2x6x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x6x64xf16>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x2x?x64xf16>, %v: tensor<1x2x?x64xf16>) {
  // expected-error @+1 {{'gqa_packed' needs as many heads in 'q' as in 'k', static (the packed form), got 4 and 2}}
  %o = attn.attention %q, %k, %v {gqa_packed = 2 : i64, normalizer = #attn.normalizer<softmax>} : tensor<1x4x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x4x?x64xf16>
  return
}

// -----

func.func @f(%q: tensor<1x?x?x64xf16>, %k: tensor<1x?x?x64xf16>, %v: tensor<1x?x?x64xf16>) {
  // expected-error @+1 {{'gqa_packed' needs as many heads in 'q' as in 'k', static (the packed form), got ? and ?}}
  %o = attn.attention %q, %k, %v {gqa_packed = 2 : i64, normalizer = #attn.normalizer<softmax>} : tensor<1x?x?x64xf16>, tensor<1x?x?x64xf16>, tensor<1x?x?x64xf16> -> tensor<1x?x?x64xf16>
  return
}

// -----

func.func @f(%q: tensor<1x2x?x64xf16>, %k: tensor<1x2x?x64xf16>, %v: tensor<1x2x?x64xf16>) {
  // expected-error @+1 {{'gqa_packed' (query heads packed into each head's rows) must be at least 2, got 1}}
  %o = attn.attention %q, %k, %v {gqa_packed = 1 : i64, normalizer = #attn.normalizer<softmax>} : tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf16>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>) {
  // expected-error @+1 {{'lse' must be a rank-3 f32 tensor [B,Hq,Nq], got 'tensor<1x4x?xf16>'}}
  %o, %l = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>} : tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x?x64xf16>, tensor<1x4x?xf16>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>) {
  // expected-error @+1 {{dimension 1 of 'lse' is 3 but 'q' has 4}}
  %o, %l = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>} : tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x?x64xf16>, tensor<1x3x?xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>) {
  // expected-error @+1 {{'scale' must be finite, got INF}}
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>, scale = 0x7FF0000000000000 : f64} : tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x?x64xf16>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>, %c: tuple<i32>) {
  // expected-error @+1 {{capture 0 has type 'tuple<i32>'; captures are ranked tensors or scalars of integer, index or float type}}
  %o = attn.attention %q, %k, %v captures(%c : tuple<i32>) {normalizer = #attn.normalizer<softmax>} : tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x?x64xf16>
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>) {
  // expected-error @+1 {{'score' region must have 7 block arguments (s: f32, b, h, i, j, nq, nk: index, then 0 capture(s)), got 6}}
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>} : tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x?x64xf16> score {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
    %c = arith.constant 0.0 : f32
    attn.yield %c : f32
  }
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>) {
  // expected-error @+1 {{'score' region argument 0 has type 'f16', expected 'f32'}}
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>} : tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x?x64xf16> score {
  ^bb0(%s: f16, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
    %c = arith.constant 0.0 : f32
    attn.yield %c : f32
  }
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>, %c: tensor<4xf32>) {
  // expected-error @+1 {{'mask' region argument 6 has type 'tensor<3xf32>', expected 'tensor<4xf32>'}}
  %o = attn.attention %q, %k, %v captures(%c : tensor<4xf32>) {normalizer = #attn.normalizer<softmax>} : tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x?x64xf16> mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %x: tensor<3xf32>):
    %t = arith.constant true
    attn.yield %t : i1
  }
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>, %c: index) {
  // expected-error @+1 {{'mask' region must have 7 block arguments (b, h, i, j, nq, nk: index, then 1 capture(s)), got 6}}
  %o = attn.attention %q, %k, %v captures(%c : index) {normalizer = #attn.normalizer<softmax>} : tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x?x64xf16> mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
    %t = arith.constant true
    attn.yield %t : i1
  }
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>) {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x?x64xf16>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c = arith.constant 0.0 : f32
        // expected-error @+1 {{'attn.yield' op in the 'mask' region must yield one value of type 'i1', got 'f32'}}
        attn.yield %c : f32
      }
  return
}

// -----

func.func @f(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>) {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x?x64xf16>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        // expected-error @+1 {{'attn.yield' op in the 'score' region must yield one value of type 'f32', got 'f32', 'f32'}}
        attn.yield %s, %s : f32, f32
      }
  return
}

// -----

func.func @f() {
  %c = arith.constant 0.0 : f32
  // expected-error @+1 {{'attn.yield' op expects parent op to be one of 'attn.attention, attn.map, attn.scatter_add, attn.tile_class'}}
  attn.yield %c : f32
}

// -----

// expected-error @+1 {{normalizer 'softmax' takes no bias (only sigmoid does)}}
func.func @f() attributes {n = #attn.normalizer<softmax, bias = 1.0>} { return }

// -----

// expected-error @+1 {{sigmoid 'bias' must be finite, got nan}}
func.func @f() attributes {n = #attn.normalizer<sigmoid, bias = 0x7FF8000000000000>} { return }

// -----

// expected-error @+1 {{sigmoid 'bias' must be finite, got -INF}}
func.func @f() attributes {n = #attn.normalizer<sigmoid, bias = 0xFFF0000000000000>} { return }

// -----

// expected-error @+1 {{unknown normalizer 'relu'; expected one of: softmax, sigmoid, softplus, none}}
func.func @f() attributes {n = #attn.normalizer<relu>} { return }

// -----

// expected-error @+1 {{generator 'normal' takes no range}}
func.func @f() attributes {g = #attn.gen<normal, 0.0, 1.0>} { return }

// -----

// expected-error @+1 {{generator 'uniform' needs a range: #attn.gen<uniform, lo, hi>}}
func.func @f() attributes {g = #attn.gen<uniform>} { return }

// -----

// expected-error @+1 {{generator range is empty: lo 2 > hi 1}}
func.func @f() attributes {g = #attn.gen<int_range, 2.0, 1.0>} { return }

// -----

// expected-error @+1 {{segment lengths must be at least 1, got lo = 0}}
func.func @f() attributes {g = #attn.gen<segments, 0.0, 8.0>} { return }

// -----

// expected-error @+1 {{unknown input generator 'zeros'; expected one of: normal, uniform, int_range, segments}}
func.func @f() attributes {g = #attn.gen<zeros>} { return }

// -----

// expected-error @+1 {{argument 0: 'attn.gen' must be a #attn.gen<...> generator}}
func.func @f(%a: tensor<4xf32> {attn.gen = 1 : i32}) { return }

// -----

// expected-error @+1 {{argument 0: 'attn.dims' has 1 entries but the argument has rank 2}}
func.func @f(%a: tensor<?x?xi32> {attn.dims = ["nk"]}) { return }

// -----

// expected-error @+1 {{argument 0: 'attn.dims' entry 0 is 'n'; expected one of b, hq, hkv, nq, nk or an integer}}
func.func @f(%a: tensor<?xi32> {attn.dims = ["n"]}) { return }

// -----

// expected-error @+1 {{argument 0: 'attn.dims' entry 0 is 3 but dimension 0 of the argument is 4}}
func.func @f(%a: tensor<4xi32> {attn.dims = [3]}) { return }

// -----

// A negative size would reach attn-run's input allocation as a huge one.
// expected-error @+1 {{argument 0: 'attn.dims' entry 1 is -3; a size must not be negative}}
func.func @f(%a: tensor<?x?xi32> {attn.dims = ["b", -3]}) { return }

// -----

// expected-error @+1 {{argument 0: 'attn.dims' must be an array on a ranked tensor argument}}
func.func @f(%a: index {attn.dims = ["nk"]}) { return }

// -----

// expected-error @+1 {{argument 0: unknown attn argument attribute 'attn.generator' (known: attn.gen, attn.dims)}}
func.func @f(%a: index {attn.generator = 1}) { return }


// -----

func.func @f(%a0: tensor<1x2x3x4xf32>, %a1: tensor<1x2x3x4xf32>) {
  // expected-error @+1 {{malformed equation: equation 'bhid,bhjd' has no '->'}}
  %r = attn.contract "bhid,bhjd" combine(mul) reduce(add) %a0, %a1 : tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32> -> tensor<1x2x3x3xf32>
  return
}

// -----

func.func @f(%a0: tensor<1x2x3x4xf32>, %a1: tensor<1x2x3x4xf32>) {
  // expected-error @+1 {{malformed equation: invalid character 'I' in input 0 'bhId' (letters a-z only)}}
  %r = attn.contract "bhId,bhjd->bhij" combine(mul) reduce(add) %a0, %a1 : tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32> -> tensor<1x2x3x3xf32>
  return
}

// -----

func.func @f(%a0: tensor<1x2x3x4xf32>, %a1: tensor<1x2x3x4xf32>) {
  // expected-error @+1 {{malformed equation: letter 'h' repeated in output 'bhih'}}
  %r = attn.contract "bhid,bhjd->bhih" combine(mul) reduce(add) %a0, %a1 : tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32> -> tensor<1x2x3x2xf32>
  return
}

// -----

func.func @f(%a0: tensor<1x2x3x4xf32>, %a1: tensor<1x2x3x4xf32>) {
  // expected-error @+1 {{equation 'bhid->bhi' has 1 input term(s) but the op has 2 input(s)}}
  %r = attn.contract "bhid->bhi" combine(mul) reduce(add) %a0, %a1 : tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32> -> tensor<1x2x3xf32>
  return
}

// -----

func.func @f(%a0: tensor<1x2x3x4xf32>, %a1: tensor<1x3x4xf32>) {
  // expected-error @+1 {{input 1 has rank 3 but its term 'bhjd' has 4 letter(s)}}
  %r = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %a0, %a1 : tensor<1x2x3x4xf32>, tensor<1x3x4xf32> -> tensor<1x2x3x3xf32>
  return
}

// -----

func.func @f(%a0: tensor<1x2x3x4xf32>, %a1: tensor<1x2x3x8xf32>) {
  // expected-error @+1 {{letter 'd' has two sizes: 4 (input 0, dimension 3) and 8 (input 1, dimension 3)}}
  %r = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %a0, %a1 : tensor<1x2x3x4xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x3xf32>
  return
}

// -----

func.func @f(%a0: tensor<1x2x3x4xf32>, %a1: tensor<1x2x3x4xf32>) {
  // expected-error @+1 {{output letter 'x' appears in no input of equation 'bhid,bhjd->bhix'}}
  %r = attn.contract "bhid,bhjd->bhix" combine(mul) reduce(add) %a0, %a1 : tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32> -> tensor<1x2x3x3xf32>
  return
}

// -----

func.func @f(%a0: tensor<1x2x3x4xf32>, %a1: tensor<1x2x3x4xf32>) {
  // expected-error @+1 {{result has rank 3 but the output term 'bhij' has 4 letter(s)}}
  %r = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %a0, %a1 : tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32> -> tensor<1x2x3xf32>
  return
}

// -----

func.func @f(%a0: tensor<1x2x3x4xf32>, %a1: tensor<1x2x5x4xf32>) {
  // expected-error @+1 {{letter 'j' has two sizes: 5 (input 1, dimension 2) and 6 (result, dimension 3)}}
  %r = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %a0, %a1 : tensor<1x2x3x4xf32>, tensor<1x2x5x4xf32> -> tensor<1x2x3x6xf32>
  return
}

// -----

func.func @f(%a0: tensor<1x2x3x4xf32>) {
  // expected-error @+1 {{must reduce exactly one letter, equation 'bhij->bh' reduces 2 ('ij')}}
  %r = attn.reduce max "bhij->bh" %a0 : tensor<1x2x3x4xf32> -> tensor<1x2xf32>
  return
}

// -----

func.func @f(%a0: tensor<1x2x3x4xf32>) {
  // expected-error @+1 {{must reduce exactly one letter, equation 'bhij->bhij' reduces 0}}
  %r = attn.reduce add "bhij->bhij" %a0 : tensor<1x2x3x4xf32> -> tensor<1x2x3x4xf32>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{'attn.contract' op needs at least one input}}
  %r = "attn.contract"() <{equation = #attn.einsum<"->">, combine = 0 : i32, reduce = 0 : i32}> : () -> tensor<f32>
  return
}

// -----

func.func @f(%s: tensor<2x3xf32>) {
  // expected-error @+1 {{'body' region must have 3 block arguments (one index per output letter, one element per input, then 0 capture(s)), got 2}}
  %r = attn.map "ij->ij" ins(%s : tensor<2x3xf32>) -> tensor<2x3xf32> {
  ^bb0(%i: index, %x: f32):
    attn.yield %x : f32
  }
  return
}

// -----

func.func @f(%s: tensor<2x3xf32>) {
  // expected-error @+1 {{'body' region argument 2 has type 'f16', expected 'f32'}}
  %r = attn.map "ij->ij" ins(%s : tensor<2x3xf32>) -> tensor<2x3xf32> {
  ^bb0(%i: index, %j: index, %x: f16):
    %c = arith.constant 0.0 : f32
    attn.yield %c : f32
  }
  return
}

// -----

func.func @f(%s: tensor<2x3xf32>) {
  %r = attn.map "ij->ij" ins(%s : tensor<2x3xf32>) -> tensor<2x3xi1> {
  ^bb0(%i: index, %j: index, %x: f32):
    // expected-error @+1 {{'attn.yield' op in the 'body' region must yield one value of type 'i1', got 'f32'}}
    attn.yield %x : f32
  }
  return
}

// -----

// Region ops come from one registry (attn/Dialect/RegionOps.h): an op without
// a rule is rejected where it stands, not later by the interpreter or the
// emitter.
func.func @f(%q: tensor<1x1x?x8xf32>, %k: tensor<1x1x?x8xf32>, %v: tensor<1x1x?x8xf32>) -> tensor<1x1x?x8xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32> -> tensor<1x1x?x8xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        // expected-error @+1 {{'math.cbrt' op is not supported in the 'score' region of attn ops (supported math ops: exp, exp2,}}
        %r = math.cbrt %s : f32
        attn.yield %r : f32
      }
  return %o : tensor<1x1x?x8xf32>
}

// -----

func.func @f(%q: tensor<1x1x?x8xf32>, %k: tensor<1x1x?x8xf32>, %v: tensor<1x1x?x8xf32>) -> tensor<1x1x?x8xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32> -> tensor<1x1x?x8xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c = arith.cmpi ule, %j, %i : index
        %r = scf.if %c -> (i1) {
          scf.yield %c : i1
        } else {
          %one = arith.constant 1.0 : f32
          // expected-error @+1 {{'math.cbrt' op is not supported in the 'mask' region of attn ops (supported math ops: exp, exp2,}}
          %f = math.cbrt %one : f32
          %t = arith.constant false
          scf.yield %t : i1
        }
        attn.yield %r : i1
      }
  return %o : tensor<1x1x?x8xf32>
}

// -----

func.func @f(%q: tensor<1x1x?x8xf32>, %k: tensor<1x1x?x8xf32>, %v: tensor<1x1x?x8xf32>) -> tensor<1x1x?x8xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32> -> tensor<1x1x?x8xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c = arith.cmpi ule, %j, %i : index
        // expected-error @+1 {{'scf.if' op without results does nothing in the 'score' region of attn ops (region code has no side effects): yield the values it computes}}
        scf.if %c {
          %x = arith.addf %s, %s : f32
        }
        attn.yield %s : f32
      }
  return %o : tensor<1x1x?x8xf32>
}

// -----

func.func @f(%q: tensor<1x1x?x8xf32>, %k: tensor<1x1x?x8xf32>, %v: tensor<1x1x?x8xf32>,
             %t: tensor<4xf32>) -> tensor<1x1x?x8xf32> {
  %o = attn.attention %q, %k, %v captures(%t : tensor<4xf32>) {normalizer = #attn.normalizer<softmax>}
      : tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32> -> tensor<1x1x?x8xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %tt: tensor<4xf32>):
        %c = arith.cmpi ule, %j, %i : index
        // expected-error @+1 {{'scf.if' op in the 'score' region must yield scalars, not 'tensor<4xf32>'}}
        %r = scf.if %c -> (tensor<4xf32>) {
          scf.yield %tt : tensor<4xf32>
        } else {
          scf.yield %tt : tensor<4xf32>
        }
        attn.yield %s : f32
      }
  return %o : tensor<1x1x?x8xf32>
}

// -----

func.func @f(%s: tensor<2x3xf32>) {
  %r = attn.map "ij->ij" ins(%s : tensor<2x3xf32>) -> tensor<2x3xf32> {
  ^bb0(%i: index, %j: index, %x: f32):
    // expected-error @+1 {{'math.sinh' op is not supported in the 'body' region of attn ops}}
    %y = math.sinh %x : f32
    attn.yield %y : f32
  }
  return
}

// -----

// The kernel IR's annotations are known to the verifier: kind and place.
func.func @f(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{'attn.grid' must be a #attn.grid<letter, role>}}
  scf.for %b = %c0 to %n step %c1 {
  } {attn.grid = "b"}
  return
}

// -----

func.func @f(%a: index, %b: index) {
  // expected-error @+1 {{'attn.kv_offset' belongs on an arith.addi in a KV loop's body (its tile's key offset)}}
  %s = arith.addi %a, %b {attn.kv_offset} : index
  return
}

// -----

func.func @f(%c: i1) {
  // expected-error @+1 {{'attn.kv_loop' belongs on an scf.for (the online rewrite's KV loop)}}
  scf.if %c {
  } {attn.kv_loop}
  return
}

// -----

func.func @f(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{'attn.schedule' belongs on the outermost grid loop (an scf.for with attn.grid)}}
  scf.for %b = %c0 to %n step %c1 {
  } {attn.schedule = #attn.schedule<block_m = 64, warps = 4, stages = 2>}
  return
}

// -----

func.func @f(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+2 {{block_m, warps and stages must be positive (got 64, 0, 2; warps may be 0 -- the schedule's choice -- until the path is decided)}}
  scf.for %b = %c0 to %n step %c1 {
  } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 64, warps = 0, stages = 2, path = simt>}
  return
}

// -----

func.func @f(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+2 {{warps x rows_per_warp must be block_m x col_groups: 4 x 16 != 64 x 2}}
  scf.for %b = %c0 to %n step %c1 {
  } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 64, warps = 4, stages = 2, rows_per_warp = 16, path = mma, col_groups = 2>}
  return
}

// -----

func.func @f(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+2 {{only a tensor-core schedule splits a row group's columns over warps (col_groups)}}
  scf.for %b = %c0 to %n step %c1 {
  } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 64, warps = 2, stages = 2, path = simt, col_groups = 2>}
  return
}

// -----

func.func @f(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+2 {{col_groups must be positive (got 0)}}
  scf.for %b = %c0 to %n step %c1 {
  } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 64, warps = 4, stages = 2, col_groups = 0>}
  return
}

// -----

func.func @f(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+2 {{a grid dimension is one lower-case index letter, got 'bh'}}
  scf.for %b = %c0 to %n step %c1 {
  } {attn.grid = #attn.grid<"bh", slice>}
  return
}

// -----

// expected-error @+1 {{unknown attn attribute 'attn.warps'}}
func.func @f() attributes {attn.warps = 4 : i64} {
  return
}

// -----

func.func @f(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{malformed equation}}
  %r = attn.reduce add "ij->iJ" %a : tensor<2x3xf32> -> tensor<2xf32>
  return
}

// -----

func.func @f(%s: tensor<2x3xf32>, %t: tensor<4xf32>) {
  // expected-error @+1 {{'attn.scatter_add' op body must yield 1 index position(s) and one f32 value}}
  %r = attn.scatter_add "ij->ij" ins(%s : tensor<2x3xf32>) like(%t : tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%i: index, %j: index, %x: f32):
    attn.yield %x : f32
  }
  return
}

// -----

func.func @f(%s: tensor<2x3xf32>, %t: tensor<4xf32>) {
  // expected-error @+1 {{'attn.scatter_add' op result 'tensor<5xf32>' is not shaped like 'tensor<4xf32>'}}
  %r = attn.scatter_add "ij->ij" ins(%s : tensor<2x3xf32>) like(%t : tensor<4xf32>) -> tensor<5xf32> {
  ^bb0(%i: index, %j: index, %x: f32):
    attn.yield %i, %x : index, f32
  }
  return
}

// -----

func.func @f(%s: tensor<2x3xf32>, %t: tensor<4xf16>) {
  // expected-error @+1 {{'attn.scatter_add' op result must hold f32, got 'tensor<4xf16>'}}
  %r = attn.scatter_add "ij->ij" ins(%s : tensor<2x3xf32>) like(%t : tensor<4xf16>) -> tensor<4xf16> {
  ^bb0(%i: index, %j: index, %x: f32):
    attn.yield %i, %x : index, f32
  }
  return
}

// -----

// expected-error @+1 {{'attn.gradients' belongs on a func.func (a backward: its results' arguments)}}
%c = arith.constant {attn.gradients = array<i64: 0>} 0 : index

// -----

func.func @f(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+2 {{a wgmma schedule is a tensor-core schedule of whole warpgroups: 16 rows per warp, col_groups 1, warps a multiple of 4 (got path mma, 4 warps x 32 rows, col_groups 1)}}
  scf.for %b = %c0 to %n step %c1 {
  } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 128, warps = 4, stages = 2, rows_per_warp = 32, path = mma, wgmma = true>}
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{swizzle must be 32, 64 or 128 bytes, got 16}}
  %buf = attn.shared_buffer offset(0) {swizzle = 16 : i64} : memref<2x64x64xf16, strided<[4096, 64, 1]>, 3>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{a swizzled buffer is unpadded rows of whole 128-byte blocks, in groups of 8 rows: got 64 rows of 64 columns, pitch 72}}
  %buf = attn.shared_buffer offset(0) {swizzle = 128 : i64} : memref<2x64x64xf16, strided<[4608, 72, 1]>, 3>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{a swizzled buffer is unpadded rows of whole 128-byte blocks, in groups of 8 rows: got 64 rows of 96 columns, pitch 96}}
  %buf = attn.shared_buffer offset(0) {swizzle = 128 : i64} : memref<2x64x96xf16, strided<[6144, 96, 1]>, 3>
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{a 128-byte swizzle needs the offset (512) and the stage stride (8192 bytes) to be multiples of 1024 bytes}}
  %buf = attn.shared_buffer offset(512) {swizzle = 128 : i64} : memref<2x64x64xf16, strided<[4096, 64, 1]>, 3>
  return
}

// -----

func.func @f(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+2 {{ping-pong takes turns between two warpgroups on wgmma (wgmma = true, warps = 8)}}
  scf.for %b = %c0 to %n step %c1 {
  } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 64, warps = 4, stages = 2, rows_per_warp = 16, path = mma, wgmma = true, pingpong = true>}
  return
}
