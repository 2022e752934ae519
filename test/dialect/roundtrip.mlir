// RUN: attn-opt %s | attn-opt | FileCheck %s
// RUN: attn-opt %s > %t.1.mlir && attn-opt %t.1.mlir > %t.2.mlir && diff %t.1.mlir %t.2.mlir
// RUN: attn-opt %s --mlir-print-op-generic | attn-opt | FileCheck %s

// CHECK-LABEL: func.func @plain
// CHECK: %[[O:.*]] = attn.attention %{{.*}}, %{{.*}}, %{{.*}} {normalizer = #attn.normalizer<softmax>} : tensor<2x4x?x64xf16>, tensor<2x4x?x64xf16>, tensor<2x4x?x32xf16> -> tensor<2x4x?x32xf16>
// CHECK-NEXT: return %[[O]]
func.func @plain(%q: tensor<2x4x?x64xf16>, %k: tensor<2x4x?x64xf16>, %v: tensor<2x4x?x32xf16>) -> tensor<2x4x?x32xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<2x4x?x64xf16>, tensor<2x4x?x64xf16>, tensor<2x4x?x32xf16> -> tensor<2x4x?x32xf16>
  return %o : tensor<2x4x?x32xf16>
}

// CHECK-LABEL: func.func @lse_scale_gqa
// CHECK: %{{.*}}, %{{.*}} = attn.attention {{.*}} {normalizer = #attn.normalizer<softmax>, scale = 5.000000e-01 : f64} : tensor<?x8x?x128xbf16>, tensor<?x2x?x128xbf16>, tensor<?x2x?x128xbf16> -> tensor<?x8x?x128xbf16>, tensor<?x8x?xf32>
func.func @lse_scale_gqa(%q: tensor<?x8x?x128xbf16>, %k: tensor<?x2x?x128xbf16>, %v: tensor<?x2x?x128xbf16>) -> (tensor<?x8x?x128xbf16>, tensor<?x8x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>, scale = 0.5}
      : tensor<?x8x?x128xbf16>, tensor<?x2x?x128xbf16>, tensor<?x2x?x128xbf16> -> tensor<?x8x?x128xbf16>, tensor<?x8x?xf32>
  return %o, %lse : tensor<?x8x?x128xbf16>, tensor<?x8x?xf32>
}

// Sink logits come after the captures; the regions never see them.
// CHECK-LABEL: func.func @sink_logits
// CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} captures(%{{.*}} : tensor<8xf32>) sink_logits(%{{.*}} : tensor<8xf32>) {normalizer = #attn.normalizer<softmax>} : tensor<?x8x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16> -> tensor<?x8x?x64xf16>, tensor<?x8x?xf32>
// CHECK: score
// CHECK: ^bb0(%{{.*}}: f32, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: tensor<8xf32>):
func.func @sink_logits(%q: tensor<?x8x?x64xf16>, %k: tensor<?x2x?x64xf16>, %v: tensor<?x2x?x64xf16>, %bias: tensor<8xf32>, %sinks: tensor<8xf32>) -> (tensor<?x8x?x64xf16>, tensor<?x8x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v captures(%bias : tensor<8xf32>) sink_logits(%sinks : tensor<8xf32>)
      {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16> -> tensor<?x8x?x64xf16>, tensor<?x8x?xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %t: tensor<8xf32>):
        %x = tensor.extract %t[%h] : tensor<8xf32>
        %r = arith.addf %s, %x : f32
        attn.yield %r : f32
      }
  return %o, %lse : tensor<?x8x?x64xf16>, tensor<?x8x?xf32>
}

// CHECK-LABEL: func.func @kv_splits
// CHECK: %[[S:.*]] = attn.kv_splits : index
// CHECK: return %[[S]]
func.func @kv_splits() -> index {
  %s = attn.kv_splits : index
  return %s : index
}

// CHECK-LABEL: func.func @normalizers
// CHECK: #attn.normalizer<sigmoid>
// CHECK: #attn.normalizer<sigmoid, bias = -4.5>
// CHECK: #attn.normalizer<softplus>
// CHECK: #attn.normalizer<none>
func.func @normalizers(%q: tensor<1x1x?x32xf32>, %k: tensor<1x1x?x32xf32>, %v: tensor<1x1x?x32xf32>) -> (tensor<1x1x?x32xf32>, tensor<1x1x?x32xf32>, tensor<1x1x?x32xf32>, tensor<1x1x?x32xf32>) {
  %a = attn.attention %q, %k, %v {normalizer = #attn.normalizer<sigmoid>}
      : tensor<1x1x?x32xf32>, tensor<1x1x?x32xf32>, tensor<1x1x?x32xf32> -> tensor<1x1x?x32xf32>
  %b = attn.attention %q, %k, %v {normalizer = #attn.normalizer<sigmoid, bias = -4.5>}
      : tensor<1x1x?x32xf32>, tensor<1x1x?x32xf32>, tensor<1x1x?x32xf32> -> tensor<1x1x?x32xf32>
  %c = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softplus>}
      : tensor<1x1x?x32xf32>, tensor<1x1x?x32xf32>, tensor<1x1x?x32xf32> -> tensor<1x1x?x32xf32>
  %d = attn.attention %q, %k, %v {normalizer = #attn.normalizer<none>}
      : tensor<1x1x?x32xf32>, tensor<1x1x?x32xf32>, tensor<1x1x?x32xf32> -> tensor<1x1x?x32xf32>
  return %a, %b, %c, %d : tensor<1x1x?x32xf32>, tensor<1x1x?x32xf32>, tensor<1x1x?x32xf32>, tensor<1x1x?x32xf32>
}

// CHECK-LABEL: func.func @regions_and_captures
// CHECK-SAME: %{{.*}}: tensor<4xf32> {attn.gen = #attn.gen<uniform, 0.0, 1.0>}
// CHECK-SAME: %{{.*}}: tensor<?xi32> {attn.dims = ["nk"], attn.gen = #attn.gen<segments, 1.0, 64.0>}
// CHECK: attn.attention {{.*}} captures(%{{.*}}, %{{.*}} : tensor<4xf32>, tensor<?xi32>)
// CHECK: score {
// CHECK-NEXT: ^bb0(%[[S:.*]]: f32, %{{.*}}: index, %[[H:.*]]: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %[[SL:.*]]: tensor<4xf32>, %{{.*}}: tensor<?xi32>):
// CHECK: tensor.extract %[[SL]][%[[H]]]
// CHECK: attn.yield %{{.*}} : f32
// CHECK: } mask {
// CHECK: attn.yield %{{.*}} : i1
func.func @regions_and_captures(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>,
    %slopes: tensor<4xf32> {attn.gen = #attn.gen<uniform, 0.0, 1.0>},
    %doc: tensor<?xi32> {attn.gen = #attn.gen<segments, 1.0, 64.0>, attn.dims = ["nk"]}) -> tensor<1x4x?x64xf16> {
  %o = attn.attention %q, %k, %v captures(%slopes, %doc : tensor<4xf32>, tensor<?xi32>)
      {normalizer = #attn.normalizer<softmax>}
      : tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16> -> tensor<1x4x?x64xf16>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %sl: tensor<4xf32>, %d: tensor<?xi32>):
        %m = tensor.extract %sl[%h] : tensor<4xf32>
        %r = arith.addf %s, %m : f32
        attn.yield %r : f32
      }
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %sl: tensor<4xf32>, %d: tensor<?xi32>):
        %di = tensor.extract %d[%i] : tensor<?xi32>
        %dj = tensor.extract %d[%j] : tensor<?xi32>
        %c = arith.cmpi eq, %di, %dj : i32
        attn.yield %c : i1
      }
  return %o : tensor<1x4x?x64xf16>
}

// CHECK-LABEL: func.func @cascade
// CHECK: %[[S:.*]] = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %{{.*}}, %{{.*}} : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x?xf32>
// CHECK: %[[M:.*]] = attn.reduce max "bhij->bhi" %[[S]] : tensor<1x2x?x?xf32> -> tensor<1x2x?xf32>
// CHECK: attn.map "bhij,bhi->bhij" ins(%[[S]], %[[M]] : tensor<1x2x?x?xf32>, tensor<1x2x?xf32>) captures(%{{.*}} : index) -> tensor<1x2x?x?xf32> {
// CHECK: attn.contract "ij->" combine(add) reduce(max)
func.func @cascade(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %n: index, %x: tensor<3x4xf32>) -> (tensor<1x2x?x?xf32>, tensor<f32>) {
  %s = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %q, %k
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x?xf32>
  %m = attn.reduce max "bhij->bhi" %s : tensor<1x2x?x?xf32> -> tensor<1x2x?xf32>
  %p = attn.map "bhij,bhi->bhij" ins(%s, %m : tensor<1x2x?x?xf32>, tensor<1x2x?xf32>) captures(%n : index) -> tensor<1x2x?x?xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %sv: f32, %mv: f32, %nn: index):
    %d = arith.subf %sv, %mv : f32
    %e = math.exp %d : f32
    attn.yield %e : f32
  }
  %t = attn.contract "ij->" combine(add) reduce(max) %x : tensor<3x4xf32> -> tensor<f32>
  return %p, %t : tensor<1x2x?x?xf32>, tensor<f32>
}

// Kernel IR annotations (Level 3) and an einsum standing alone.
// CHECK-LABEL: func.func @kernel_annotations
// CHECK-SAME: attributes {attn.split_kv_plan = @kernel_annotations, test.eq = #attn.einsum<"bhid,bhjd->bhij">}
// CHECK: arith.select %{{.*}} {attn.mask = @kernel_annotations}
// CHECK: scf.if %{{.*}} {
// CHECK: } {attn.tile_branch = #attn.tile_branch<full_or_partial>}
// CHECK: } {attn.kv_loop}
// CHECK: } {attn.grid = #attn.grid<"i", rows>}
// CHECK: } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 64, warps = 4, stages = 2>}
// CHECK: } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 16, warps = 4, stages = 1, rows_per_warp = 16, path = mma, q_staged = true, col_groups = 4>}
// CHECK: attn.shared_buffer offset(1024) {swizzle = 128 : i64} : memref<2x64x128xf16, strided<[8192, 128, 1]>, 3>
// CHECK: } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 128, warps = 8, stages = 2, rows_per_warp = 16, path = mma, wgmma = true, pingpong = true>}
func.func @kernel_annotations(%n: index, %c: i1, %x: f32) attributes {attn.split_kv_plan = @kernel_annotations, test.eq = #attn.einsum<"bhid,bhjd->bhij">} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  scf.for %b = %c0 to %n step %c1 {
    scf.for %i = %c0 to %n step %c64 {
      scf.for %j = %c0 to %n step %c64 {
        %s = arith.select %c, %x, %x {attn.mask = @kernel_annotations} : f32
        scf.if %c {
        } {attn.tile_branch = #attn.tile_branch<full_or_partial>}
      } {attn.kv_loop}
    } {attn.grid = #attn.grid<"i", rows>}
  } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 64, warps = 4, stages = 2>}
  // A decided schedule whose row group of 16 rows four warps share.
  scf.for %b = %c0 to %n step %c1 {
  } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 16, warps = 4, stages = 1, rows_per_warp = 16, path = mma, q_staged = true, col_groups = 4>}
  // A wgmma schedule (two warpgroups) and a swizzled K/V buffer.
  scf.for %b = %c0 to %n step %c1 {
    %buf = attn.shared_buffer offset(1024) {swizzle = 128 : i64} : memref<2x64x128xf16, strided<[8192, 128, 1]>, 3>
  } {attn.grid = #attn.grid<"b", slice>, attn.schedule = #attn.schedule<block_m = 128, warps = 8, stages = 2, rows_per_warp = 16, path = mma, wgmma = true, pingpong = true>}
  return
}

// CHECK-LABEL: func.func @scatter_add
// CHECK-SAME: attributes {attn.gradients = array<i64: 3>}
// CHECK: attn.scatter_add "bhij,bhij->bhij" ins(%{{.*}}, %{{.*}} : tensor<1x2x?x?xf32>, tensor<1x2x?x?xf32>) captures(%{{.*}} : tensor<2x8xf32>) like(%{{.*}} : tensor<2x8xf32>) -> tensor<2x8xf32> {
// CHECK: attn.yield %{{.*}}, %{{.*}}, %{{.*}} : index, index, f32
func.func @scatter_add(%s: tensor<1x2x?x?xf32>, %g: tensor<1x2x?x?xf32>, %t: tensor<2x8xf32>) -> tensor<2x8xf32> attributes {attn.gradients = array<i64: 3>} {
  %r = attn.scatter_add "bhij,bhij->bhij" ins(%s, %g : tensor<1x2x?x?xf32>, tensor<1x2x?x?xf32>) captures(%t : tensor<2x8xf32>) like(%t : tensor<2x8xf32>) -> tensor<2x8xf32> {
  ^bb0(%b: index, %h: index, %i: index, %j: index, %x: f32, %y: f32, %tt: tensor<2x8xf32>):
    %c7 = arith.constant 7 : index
    %d = arith.minui %j, %c7 : index
    %p = arith.mulf %x, %y : f32
    attn.yield %h, %d, %p : index, index, f32
  }
  return %r : tensor<2x8xf32>
}
