// RUN: attn-opt %s --pass-pipeline="builtin.module(attn-decompose,attn-tile{block-m=16},attn-online{tile-n=32},attn-split-kv{splits=4})" --split-input-file --verify-diagnostics | FileCheck %s

// The plan is a second function; the original names it. Inside each grid
// tile the KV loop runs once per split over whole KV tiles, each writing its
// running values to a workspace slot; the merge takes the max of the split
// maxima, rescales each split's sums by the correction map at (split max,
// total max) — the online rewrite's own exp map — and adds them up.
// CHECK-LABEL: func.func @softmax
// CHECK-SAME: attributes {attn.split_kv_plan = @softmax_split_kv}
// CHECK-LABEL: func.func private @softmax_split_kv
// CHECK: scf.for
// CHECK: %[[S:.*]] = arith.constant 4 : index
// CHECK: %[[SPAN:.*]] = arith.subi %[[NK:.*]], %[[LB:.*]] : index
// CHECK: %[[PER:.*]] = arith.ceildivsi %[[SPAN]], %[[S]]
// CHECK: %[[TILES:.*]] = arith.ceildivsi %[[PER]], %[[STEP:.*]] : index
// CHECK: %[[CHUNK:.*]] = arith.muli %[[TILES]], %[[STEP]]
// CHECK: %[[WM:.*]] = tensor.empty(%{{.*}}) : tensor<4x1x1x?xf32>
// CHECK: %[[WD:.*]] = tensor.empty(%{{.*}}) : tensor<4x1x1x?xf32>
// CHECK: %[[WN:.*]] = tensor.empty(%{{.*}}) : tensor<4x1x1x?x16xf32>
// CHECK: %[[PARTS:.*]]:3 = scf.for %[[SP:.*]] = %{{.*}} to %[[S]] step %{{.*}} iter_args(%{{.*}} = %[[WM]], %{{.*}} = %[[WD]], %{{.*}} = %[[WN]])
// CHECK:   %[[BEGIN:.*]] = arith.addi %[[LB]], %{{.*}}
// CHECK:   %[[END:.*]] = arith.minsi %{{.*}}, %[[NK]]
// CHECK:   %[[KV:.*]]:3 = scf.for %{{.*}} = %[[BEGIN]] to %[[END]] step %[[STEP]]
// CHECK:   } {attn.kv_loop}
// CHECK:   tensor.insert_slice %[[KV]]#0 into %{{.*}}[%[[SP]], 0, 0, 0] [1, 1, 1, %{{.*}}]
// CHECK: } {attn.grid = #attn.grid<"s", split>}
// CHECK: %[[M:.*]] = attn.reduce max "sbhi->bhi" %[[PARTS]]#0
// CHECK: %[[C:.*]] = attn.map "sbhi,bhi->sbhi" ins(%[[PARTS]]#0, %[[M]]
// CHECK:   math.exp
// CHECK: attn.contract "sbhi,sbhi->bhi" combine(mul) reduce(add) %[[PARTS]]#1, %[[C]]
// CHECK: attn.contract "sbhif,sbhi->bhif" combine(mul) reduce(add) %[[PARTS]]#2, %[[C]]
func.func @softmax(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
  return %o : tensor<1x2x?x16xf32>
}

// -----

// Sigmoid's partial states are plain sums: the merge adds them.
// CHECK-LABEL: func.func private @sigmoid_split_kv
// CHECK-NOT: attn.reduce max
// CHECK: attn.reduce add "sbhif->bhif"
func.func @sigmoid(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<sigmoid>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
  return %o : tensor<1x2x?x16xf32>
}

// -----

// After -attn-fuse the KV loop holds the tile branches: split first.
// RUN: attn-opt %s --pass-pipeline="builtin.module(attn-decompose,attn-tile,attn-online,attn-fuse,attn-split-kv{in-place=true})" --split-input-file 2>&1 | FileCheck %s --check-prefix=ORDER
// ORDER: remark: not split: run -attn-split-kv before -attn-fuse
func.func @causal(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c = arith.cmpi ule, %j, %i : index
        attn.yield %c : i1
      }
  return %o : tensor<1x2x?x16xf32>
}
