// RUN: attn-opt %s --attn-sparsify --split-input-file --verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @dense
// CHECK: attn.attention {{.*}}attn.sparsity = #attn.sparsity<dense>
func.func @dense(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
  return %o : tensor<1x2x?x16xf32>
}

// -----

// Index arithmetic and captured scalars only: classified without data.
// CHECK-LABEL: func.func @static
// CHECK: attn.attention {{.*}}attn.sparsity = #attn.sparsity<static>
func.func @static(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>, %p: index) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v captures(%p : index) {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %pp: index):
        %c = arith.cmpi ule, %j, %i : index
        %d = arith.cmpi ult, %j, %pp : index
        %r = arith.ori %c, %d : i1
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

// -----

// Reads captured document ids: classified at run time.
// CHECK-LABEL: func.func @runtime
// CHECK: attn.attention {{.*}}attn.sparsity = #attn.sparsity<runtime>
func.func @runtime(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>, %doc: tensor<?xi32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v captures(%doc : tensor<?xi32>) {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %d: tensor<?xi32>):
        %di = tensor.extract %d[%i] : tensor<?xi32>
        %dj = tensor.extract %d[%j] : tensor<?xi32>
        %r = arith.cmpi eq, %di, %dj : i32
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}

// -----

// Float arithmetic on the indices is not modelled: still static, and the
// pass says which op makes its tiles partial.
// CHECK-LABEL: func.func @unmodelled
// CHECK: attn.sparsity = #attn.sparsity<static>
func.func @unmodelled(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  // expected-remark @+1 {{mask analysis does not model 'arith.sitofp': tiles depending on it are evaluated (partial)}}
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %ii = arith.index_cast %i : index to i64
        %fi = arith.sitofp %ii : i64 to f32
        %c = arith.constant 3.5 : f32
        %r = arith.cmpf olt, %fi, %c : f32
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x16xf32>
}
