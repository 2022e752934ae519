// -attn-narrow-indices: a map body's index arithmetic in i32 where integer
// range analysis bounds it (tensor extents <= 2^30, local indices below the
// output's extent, captures as computed outside); what it cannot bound stays
// index.
// RUN: attn-opt %s --attn-narrow-indices | FileCheck %s
// RUN: attn-opt %examples/neighborhood_2d.mlir --pass-pipeline='builtin.module(attn-pipeline)' | FileCheck %s --check-prefix=NATTEN
// RUN: attn-opt %examples/neighborhood_2d.mlir --pass-pipeline='builtin.module(attn-pipeline)' --emit=cuda | FileCheck %s --check-prefix=CUDA
// RUN: attn-run %examples/neighborhood_2d.mlir --device=emu --check --nq=192 --nk=192 --memcheck | FileCheck %s --check-prefix=EMU

// CHECK-LABEL: func.func @bounded
// The local index plus a sequence length: at most 2^31 - 1, so i32; the
// compare on it too (unsigned: sign extension keeps the order).
// CHECK: %[[N:.*]] = tensor.dim
// CHECK: attn.map "ij->ij"
// CHECK-NEXT: ^bb0(%[[I:.*]]: index, %[[J:.*]]: index, %[[X:.*]]: f32, %[[NC:.*]]: index, %[[W:.*]]: index):
// CHECK-DAG: %[[I32:.*]] = arith.index_cast %[[I]] : index to i32
// CHECK-DAG: %[[J32:.*]] = arith.index_cast %[[J]] : index to i32
// CHECK-DAG: %[[N32:.*]] = arith.index_cast %[[NC]] : index to i32
// CHECK-DAG: %[[A:.*]] = arith.addi %[[I32]], %[[N32]] : i32
// CHECK-DAG: %[[ATTEND:.*]] = arith.cmpi ule, %[[J32]], %[[A]] : i32
// A captured scalar has no bound: the window arithmetic stays index.
// CHECK-DAG: %[[D:.*]] = arith.subi %[[J]], %[[W]] : index
// CHECK-DAG: arith.cmpi slt, %[[D]], %[[I]] : index
// A product that may not fit stays index too.
// CHECK-DAG: arith.muli %[[I]], %[[NC]] : index
// Division of non-negative values narrows; sitofp converts the i32.
// CHECK-DAG: %[[Q:.*]] = arith.divui %[[J32]], %{{.*}} : i32
// CHECK-DAG: arith.sitofp %[[Q]] : i32 to f32
// CHECK-NOT: arith.extsi
// CHECK: attn.yield
func.func @bounded(%t: tensor<?x?xf32>, %w: index) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %t, %c0 : tensor<?x?xf32>
  %r = attn.map "ij->ij" ins(%t : tensor<?x?xf32>) captures(%n, %w : index, index) -> tensor<?x?xf32> {
  ^bb0(%i: index, %j: index, %x: f32, %nc: index, %win: index):
    %a = arith.addi %i, %nc : index
    %attend = arith.cmpi ule, %j, %a : index
    %d = arith.subi %j, %win : index
    %inWindow = arith.cmpi slt, %d, %i : index
    %p = arith.muli %i, %nc : index
    %c7 = arith.constant 7 : index
    %big = arith.cmpi sgt, %p, %c7 : index
    %c32 = arith.constant 32 : index
    %q = arith.divui %j, %c32 : index
    %q64 = arith.index_cast %q : index to i64
    %qf = arith.sitofp %q64 : i64 to f32
    %y = arith.addf %x, %qf : f32
    %both = arith.andi %attend, %inWindow : i1
    %all = arith.andi %both, %big : i1
    %ninf = arith.constant 0xFF800000 : f32
    %v = arith.select %all, %y, %ninf : f32
    attn.yield %v : f32
  }
  return %r : tensor<?x?xf32>
}

// CHECK-LABEL: func.func @static_tile
// Static extents bound the local indices tighter: i * 1024 of a 64-row tile
// fits; j - i may be negative, so the unsigned division of it stays index.
// CHECK: arith.muli %{{.*}}, %{{.*}} : i32
// CHECK: %[[DIFF:.*]] = arith.subi %{{.*}}, %{{.*}} : i32
// CHECK: %[[WIDE:.*]] = arith.index_cast %[[DIFF]] : i32 to index
// CHECK: arith.divui %[[WIDE]], %{{.*}} : index
func.func @static_tile(%t: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %r = attn.map "ij->ij" ins(%t : tensor<64x64xf32>) -> tensor<64x64xf32> {
  ^bb0(%i: index, %j: index, %x: f32):
    %c1024 = arith.constant 1024 : index
    %p = arith.muli %i, %c1024 : index
    %diff = arith.subi %j, %i : index
    %c3 = arith.constant 3 : index
    %q = arith.divui %diff, %c3 : index
    %s = arith.addi %p, %q : index
    %s64 = arith.index_cast %s : index to i64
    %f = arith.sitofp %s64 : i64 to f32
    %y = arith.addf %x, %f : f32
    attn.yield %y : f32
  }
  return %r : tensor<64x64xf32>
}

// NATTEN's window of a 32-wide map: the coordinates (i / 32, i % 32), the
// clamped window starts and the compares are i32 in the edge version's mask.
// NATTEN: attn.map "bhij->bhij"
// NATTEN: arith.divui %{{.*}}, %{{.*}} : i32
// NATTEN: arith.remui %{{.*}}, %{{.*}} : i32
// NATTEN: arith.minsi %{{.*}}, %{{.*}} : i32
// NATTEN: arith.cmpi sge, %{{.*}}, %{{.*}} : i32
// CUDA: const int {{x[0-9]+}} = (int)((unsigned int){{x[0-9]+}} / (unsigned int){{.*}});
// CUDA-NOT: (unsigned long long){{x[0-9]+}} / (unsigned long long)32LL

// EMU: check o: rel_err={{.*}} PASS
