// -attn-specialize-interior: the KV tile's computation is versioned on
// "a full tile of block_m rows and block_n keys" (the staged K tile's rows at
// the loop's step, the Q tile's rows at block_m); the interior version has
// static tiles (tensor.cast of what flows in, every cascade op re-typed) and
// the full branch inlined (no mask), the edge version is the computation as
// it was. Its input: causal attention's kernel IR after the schedule passes.
// RUN: attn-opt %S/emit-cuda-mma.mlir --pass-pipeline='builtin.module(attn-decompose,attn-tile{block-m=64},attn-online{tile-n=64},attn-fuse,cse,attn-schedule,attn-hoist-fragments,attn-stage-kv,attn-mark-accumulate)' -o %t.mlir
// RUN: attn-opt %t.mlir --attn-specialize-interior | FileCheck %s
// Running it twice changes nothing.
// RUN: attn-opt %t.mlir --attn-specialize-interior --attn-specialize-interior | FileCheck %s
// Without a tensor-core schedule there is nothing to version.
// RUN: attn-opt %S/emit-cuda-mma.mlir --pass-pipeline='builtin.module(attn-decompose,attn-tile{block-m=64},attn-online{tile-n=64},attn-fuse,cse,attn-specialize-interior)' | FileCheck %s --check-prefix=NONE

// CHECK-LABEL: func.func @causal(
// CHECK: scf.for %[[KV:.*]] = {{.*}} step %c64
// CHECK: %[[Q:.*]] = attn.load_fragments
// CHECK: %[[K:.*]] = attn.read_stage {{.*}} -> tensor<1x1x?x64xf16>
// CHECK: %[[V:.*]] = attn.read_stage {{.*}} -> tensor<1x1x?x64xf16>
// CHECK: %[[FULL:.*]] = arith.cmpi eq, %[[CLASS:.*]], %c1 : index
// CHECK: %[[ROWS:.*]] = tensor.dim %[[Q]], %c2
// CHECK: %[[R64:.*]] = arith.cmpi eq, %[[ROWS]], %c64
// CHECK: %[[C1:.*]] = arith.andi %[[FULL]], %[[R64]] : i1
// CHECK: %[[KEYS:.*]] = tensor.dim %[[K]], %c2
// CHECK: %[[K64:.*]] = arith.cmpi eq, %[[KEYS]], %c64
// CHECK: %[[INTERIOR:.*]] = arith.andi %[[C1]], %[[K64]] : i1
// CHECK: scf.if %[[INTERIOR]] ->
// CHECK-DAG: tensor.cast %[[Q]] : tensor<1x1x?x64xf16> to tensor<1x1x64x64xf16>
// CHECK-DAG: tensor.cast %[[K]] : tensor<1x1x?x64xf16> to tensor<1x1x64x64xf16>
// CHECK-DAG: tensor.cast %[[V]] : tensor<1x1x?x64xf16> to tensor<1x1x64x64xf16>
// CHECK: attn.contract "bhid,bhjd->bhij" {{.*}} -> tensor<1x1x64x64xf32>
// The full branch inlined: the scale alone, no mask, no class test.
// CHECK-NOT: arith.cmpi
// CHECK: attn.map "bhij->bhij" {{.*}} -> tensor<1x1x64x64xf32>
// CHECK-NOT: attn.mask
// CHECK: attn.reduce max "bhij->bhi" {{.*}} -> tensor<1x1x64xf32>
// CHECK-NOT: scf.if
// CHECK: attn.contract "bhij,bhjf->bhif" {{.*}} {attn.accumulate} : tensor<1x1x64x64xf32>, tensor<1x1x64x64xf16> -> tensor<1x1x64x64xf32>
// What the loop carries keeps its dynamic type.
// CHECK: tensor.cast {{.*}} : tensor<1x1x64xf32> to tensor<1x1x?xf32>
// CHECK: scf.yield
// CHECK: } else {
// CHECK: attn.contract "bhid,bhjd->bhij" {{.*}} -> tensor<1x1x?x?xf32>
// CHECK: scf.if
// CHECK: attn.mask
// CHECK: } {attn.tile_branch = #attn.tile_branch<full_or_partial>}
// CHECK: attn.contract "bhij,bhjf->bhif" {{.*}} {attn.accumulate}
// CHECK: } {attn.tile_branch = #attn.tile_branch<interior_or_edge>}
// CHECK-NOT: interior_or_edge

// NONE-NOT: interior_or_edge
// NONE-NOT: tensor.cast
