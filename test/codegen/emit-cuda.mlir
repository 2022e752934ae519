// The CUDA emitter's SIMT path on causal attention's kernel IR (the tensor-
// core path is in emit-cuda-mma.mlir): the grid from blockIdx,
// the KV loop with the IR's bounds and step, the tile classification as
// straight-line tile_class.h calls, the skip / full / partial branches, the
// online update, and every global access through ld_global / st_global.
// RUN: attn-opt %s --pass-pipeline='builtin.module(attn-decompose,attn-tile{block-m=64},attn-online{tile-n=64},attn-fuse,cse)' --emit=cuda --emit-path=simt | FileCheck %s

// A hand-edited kernel IR: the shared tile-size constant 64 -> 32 (Q tile and
// KV step) shows up as 32 threads, a KV step of 32 and 32-wide score arrays.
// RUN: attn-opt %s --pass-pipeline='builtin.module(attn-decompose,attn-tile{block-m=64},attn-online{tile-n=64},attn-fuse,cse)' \
// RUN:   | sed -e 's/block_m = 64/block_m = 32/' -e 's/%c64 = arith.constant 64 : index/%c64 = arith.constant 32 : index/' \
// RUN:   | attn-opt --emit=cuda --emit-path=simt | FileCheck %s --check-prefix=EDIT

// The output is deterministic.
// RUN: attn-opt %s --pass-pipeline='builtin.module(attn-decompose,attn-tile{block-m=64},attn-online{tile-n=64},attn-fuse,cse)' --emit=cuda --emit-path=simt -o %t.a.cu
// RUN: attn-opt %s --pass-pipeline='builtin.module(attn-decompose,attn-tile{block-m=64},attn-online{tile-n=64},attn-fuse,cse)' --emit=cuda --emit-path=simt -o %t.b.cu
// RUN: cmp %t.a.cu %t.b.cu

// CHECK: #include "attn/device/attn_device.h"
// CHECK: #include "attn/device/tile_class.h"
// CHECK-LABEL: struct attn_causal_params {
// CHECK-NEXT:   const f16 *q;
// CHECK-NEXT:   const f16 *k;
// CHECK-NEXT:   const f16 *v;
// CHECK-NEXT:   f16 *o;
// CHECK-NEXT:   float *lse;
// CHECK-NEXT:   long long q_extent;
// CHECK-NEXT:   long long q_s0;
// CHECK: long long Nk;
// CHECK-NEXT: };
// CHECK: extern "C" __global__ void __launch_bounds__(64, 1)
// CHECK-NEXT: attn_causal(const attn_causal_params p) {
// CHECK: const long long [[B:g[0-9]+]] = {{.*}}blockIdx.z
// CHECK: const long long [[H:g[0-9]+]] = {{.*}}blockIdx.y
// CHECK: const long long [[I0:g[0-9]+]] = {{.*}}blockIdx.x * 64LL
// CHECK: const long long tr = threadIdx.x;
// CHECK-NEXT: if ([[I0]] + tr >= p.Nq) return;
// Running max, sum and accumulator, initialised before the KV loop.
// CHECK: float [[M0:t[0-9]+]];
// CHECK-NEXT: [[M0]] = sc::f32_bits(0xff800000u);
// CHECK: float [[ACC0:t[0-9]+]][64];
// CHECK: // KV loop
// CHECK-NEXT: #pragma unroll 1
// The loop bounds are the closed-form key range of the Q tile (-attn-fuse).
// CHECK-NEXT: for (long long [[KV:kv[0-9]+]] = [[LO:x[0-9]+]]; [[KV]] < [[HI:x[0-9]+]]; [[KV]] += 64LL) {
// CHECK: long long [[CLS:cls[0-9]+]];
// CHECK: const tc::Tile tcT = {[[I0]], {{x[0-9]+}}, [[KV]], {{x[0-9]+}}};
// CHECK: const tc::Val [[I:a[0-9]+]] = tc::rowIndex(tcT);
// CHECK-NEXT: const tc::Val [[J:a[0-9]+]] = tc::colIndex(tcT);
// CHECK: const tc::Val [[R:a[0-9]+]] = tc::apply(tcT, tc::kOpCmpi, 7LL, 0LL, 0LL, [[J]], [[I]], tc::unknown()) /* ule */;
// CHECK-NEXT: [[CLS]] = tc::classify([[R]]);
// Skipped tiles keep the running values.
// CHECK: const bool [[SKIP:x[0-9]+]] = ([[CLS]] == 0LL);
// CHECK: if ([[SKIP]]) {
// CHECK: } else {
// S = Q K^T once; only the score map differs between full and partial tiles.
// CHECK: acc{{[0-9]+}} += to_float(ld_global(p.q, {{.*}}, p.q_extent)) * to_float(ld_global(p.k, {{.*}}, p.k_extent));
// CHECK: const bool [[FULL:x[0-9]+]] = ([[CLS]] == 1LL);
// CHECK: // tile branch: full_or_partial
// CHECK-NEXT: if ([[FULL]]) {
// Full tiles: the score map without mask code.
// CHECK-NOT: <= (unsigned long long)
// CHECK: } else {
// Partial tiles evaluate the mask on global indices (local + tile origin).
// CHECK: const long long [[GJ:x[0-9]+]] = ({{j[0-9]+}} + [[KV]]);
// CHECK-NEXT: const long long [[GI:x[0-9]+]] = (tr + [[I0]]);
// CHECK: const bool {{x[0-9]+}} = ((unsigned long long)[[GJ]] <= (unsigned long long)[[GI]]);
// Online update: new max, correction exp(m_old - m_new), rescaled sum and P V.
// CHECK: sc::maximumf(
// CHECK: sc::exp(
// CHECK: ld_global(p.v,
// After the loop: normalise, lse, round to f16, store.
// CHECK: sc::log(
// CHECK: sc::round_f16(
// CHECK: st_global(p.lse, {{.*}}, p.lse_extent, {{t[0-9]+}});
// CHECK: st_global(p.o, {{.*}}, p.o_extent, from_float<f16>(
// CHECK: ATTN_KERNEL_ENTRY(attn_causal)

// EDIT: __launch_bounds__(32, 1)
// EDIT: blockIdx.x * 32LL
// EDIT: for (long long [[KV:kv[0-9]+]] = {{x[0-9]+}}; [[KV]] < {{x[0-9]+}}; [[KV]] += 32LL) {
// EDIT: float {{t[0-9]+}}[32];

func.func @causal(%q: tensor<?x8x?x64xf16>, %k: tensor<?x8x?x64xf16>, %v: tensor<?x8x?x64xf16>) -> (tensor<?x8x?x64xf16>, tensor<?x8x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16> -> tensor<?x8x?x64xf16>, tensor<?x8x?xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %attend = arith.cmpi ule, %j, %i : index
        attn.yield %attend : i1
      }
  return %o, %lse : tensor<?x8x?x64xf16>, tensor<?x8x?xf32>
}
