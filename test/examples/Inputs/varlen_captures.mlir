// Captured tensors in variable-length batches (varlen.test): packed along
// the keys (no batch dimension: [total_k]) or along both sequences
// ([total_q, total_k], each sequence's block on the diagonal), and one row
// per sequence ([b]).

// A learned per-key bias, packed like k.
func.func @key_bias(%q: tensor<?x4x?x64xf16>, %k: tensor<?x4x?x64xf16>, %v: tensor<?x4x?x64xf16>,
                    %bias: tensor<?xf32> {attn.dims = ["nk"], attn.gen = #attn.gen<uniform, -2.0, 2.0>})
    -> (tensor<?x4x?x64xf16>, tensor<?x4x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v captures(%bias : tensor<?xf32>)
      {normalizer = #attn.normalizer<softmax>}
      : tensor<?x4x?x64xf16>, tensor<?x4x?x64xf16>, tensor<?x4x?x64xf16> -> tensor<?x4x?x64xf16>, tensor<?x4x?xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index,
           %bi: tensor<?xf32>):
        %x = tensor.extract %bi[%j] : tensor<?xf32>
        %r = arith.addf %s, %x : f32
        attn.yield %r : f32
      }
  return %o, %lse : tensor<?x4x?x64xf16>, tensor<?x4x?xf32>
}

// Keys a packed integer flag keeps (key 0 always), causal bottom-right: a
// mask over a packed captured tensor (no tile summaries in varlen plans).
func.func @key_keep(%q: tensor<?x4x?x64xf16>, %k: tensor<?x4x?x64xf16>, %v: tensor<?x4x?x64xf16>,
                    %keep: tensor<?xi32> {attn.dims = ["nk"], attn.gen = #attn.gen<int_range, 0.0, 1.0>})
    -> tensor<?x4x?x64xf16> {
  %o = attn.attention %q, %k, %v captures(%keep : tensor<?xi32>)
      {normalizer = #attn.normalizer<softmax>}
      : tensor<?x4x?x64xf16>, tensor<?x4x?x64xf16>, tensor<?x4x?x64xf16> -> tensor<?x4x?x64xf16>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index,
           %kp: tensor<?xi32>):
        %f = tensor.extract %kp[%j] : tensor<?xi32>
        %c0 = arith.constant 0 : i32
        %kept = arith.cmpi ne, %f, %c0 : i32
        %z = arith.constant 0 : index
        %first = arith.cmpi eq, %j, %z : index
        %ik = arith.addi %i, %nk : index
        %jq = arith.addi %j, %nq : index
        %causal = arith.cmpi ule, %jq, %ik : index
        %any = arith.ori %kept, %first : i1
        %r = arith.andi %any, %causal : i1
        attn.yield %r : i1
      }
  return %o : tensor<?x4x?x64xf16>
}

// A bias over (query, key) pairs, packed along both.
func.func @pair_bias(%q: tensor<?x4x?x64xf16>, %k: tensor<?x4x?x64xf16>, %v: tensor<?x4x?x64xf16>,
                     %bias: tensor<?x?xf32> {attn.dims = ["nq", "nk"], attn.gen = #attn.gen<uniform, -2.0, 2.0>})
    -> tensor<?x4x?x64xf16> {
  %o = attn.attention %q, %k, %v captures(%bias : tensor<?x?xf32>)
      {normalizer = #attn.normalizer<softmax>}
      : tensor<?x4x?x64xf16>, tensor<?x4x?x64xf16>, tensor<?x4x?x64xf16> -> tensor<?x4x?x64xf16>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index,
           %bi: tensor<?x?xf32>):
        %x = tensor.extract %bi[%i, %j] : tensor<?x?xf32>
        %r = arith.addf %s, %x : f32
        attn.yield %r : f32
      }
  return %o : tensor<?x4x?x64xf16>
}

// Key padding by a per-sequence length (one entry per sequence: [b]).
func.func @key_padding(%q: tensor<?x4x?x64xf16>, %k: tensor<?x4x?x64xf16>, %v: tensor<?x4x?x64xf16>,
                       %len: tensor<?xi32> {attn.gen = #attn.gen<int_range, 1.0, 60.0>, attn.dims = ["b"]})
    -> tensor<?x4x?x64xf16> {
  %o = attn.attention %q, %k, %v captures(%len : tensor<?xi32>) {normalizer = #attn.normalizer<softmax>}
      : tensor<?x4x?x64xf16>, tensor<?x4x?x64xf16>, tensor<?x4x?x64xf16> -> tensor<?x4x?x64xf16>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %l: tensor<?xi32>):
        %n = tensor.extract %l[%b] : tensor<?xi32>
        %ni = arith.index_cast %n : i32 to index
        %r = arith.cmpi slt, %j, %ni : index
        attn.yield %r : i1
      }
  return %o : tensor<?x4x?x64xf16>
}
