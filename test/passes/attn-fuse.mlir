// RUN: attn-opt %s --attn-decompose --attn-tile="block-m=32" --attn-online="tile-n=16" --attn-fuse --split-input-file | FileCheck %s
// RUN: not attn-opt %s --attn-decompose --attn-online --attn-fuse --split-input-file 2>&1 | FileCheck %s --check-prefix=UNTILED

// Every KV tile is classified from the mask's index arithmetic; empty tiles
// pass the running values through, full tiles run without the mask, partial
// tiles with it.
// CHECK-LABEL: func.func private @prefix_mask
// CHECK-SAME: (%{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index) -> i1
// CHECK-LABEL: func.func @prefix
// CHECK-SAME: %[[P:[a-z0-9_]+]]: index)
// CHECK: scf.for %[[B:[a-z0-9_]+]] =
// CHECK: scf.for %[[H:[a-z0-9_]+]] =
// CHECK: scf.for %[[I:[a-z0-9_]+]] = %{{.*}} to %[[NQ:.*]] step %[[BM:[a-z0-9_]+]]
// The row tile, and the closed-form key range of its rows (j <= i or j < p:
// keys up to max(i1 - 1, p - 1)), widened to whole KV tiles, bound the loop.
// CHECK: %[[IE:.*]] = arith.addi %[[I]], %[[BM]]
// CHECK: %[[I1:.*]] = arith.minsi %[[IE]], %[[NQ]]
// CHECK: %[[FD:.*]] = arith.floordivsi %{{.*}}, %[[BN:c16[a-z0-9_]*]] : index
// CHECK: %[[FIRST:.*]] = arith.muli %[[FD]], %[[BN]] : index
// CHECK: %[[CD:.*]] = arith.ceildivsi %{{.*}}, %[[BN]] : index
// CHECK: %[[PAST:.*]] = arith.muli %[[CD]], %[[BN]] : index
// CHECK: %[[LB:.*]] = arith.maxsi %{{.*}}, %[[FIRST]] : index
// CHECK: %[[UB:.*]] = arith.minsi %{{.*}}, %[[PAST]] : index
// CHECK: scf.for %[[T:[a-z0-9_]+]] = %[[LB]] to %[[UB]] step %[[BN]] iter_args(%[[M:[a-z0-9_]+]] = %{{.*}}, %[[D:[a-z0-9_]+]] = %{{.*}}, %[[N:[a-z0-9_]+]] = %{{.*}})
// CHECK:   %[[JE:.*]] = arith.addi %[[T]], %[[BN]]
// CHECK:   %[[J1:.*]] = arith.minsi %[[JE]], %[[UB]]
// CHECK:   %[[CLS:.*]] = attn.tile_class slice(%[[B]], %[[H]]) rows(%[[I]], %[[I1]]) cols(%[[T]], %[[J1]]) sizes(%{{.*}}, %{{.*}}) captures(%[[P]] : index) mask {
// CHECK:     arith.cmpi ule
// CHECK:     arith.cmpi ult
// CHECK:     arith.ori
// CHECK:     attn.yield %{{.*}} : i1
// CHECK:   %[[EMPTY:.*]] = arith.cmpi eq, %[[CLS]], %{{.*}} : index
// CHECK:   scf.if %[[EMPTY]]
// CHECK:     scf.yield %[[M]], %[[D]], %[[N]]
// CHECK:   } else {
// CHECK:     %[[FULL:.*]] = arith.cmpi eq, %[[CLS]], %{{.*}} : index
// CHECK:     scf.if %[[FULL]]
// The full branch's scores map has no mask code.
// CHECK:       attn.map "bhij->bhij"
// CHECK-NOT:     arith.cmpi
// CHECK-NOT:     arith.select
// CHECK:         attn.yield
// CHECK:     } else {
// The partial branch evaluates the mask per element.
// CHECK:       attn.map "bhij->bhij"
// CHECK:         arith.cmpi ule
// CHECK:         arith.select %{{.*}} {attn.mask = @prefix_mask}
// CHECK:   } {attn.tile_branch = #attn.tile_branch<full_or_partial>}
// CHECK: } {attn.kv_loop}
func.func @prefix(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>, %p: index) -> tensor<1x2x?x16xf32> {
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

// Without a mask there is nothing to classify: the loop is left as it is.
// CHECK-LABEL: func.func @dense
// CHECK-NOT: attn.tile_class
// CHECK-NOT: scf.if
// CHECK: return
func.func @dense(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
  return %o : tensor<1x2x?x16xf32>
}

// UNTILED: error: -attn-fuse: no Q-tile grid loop around the KV loop (run -attn-tile first)
