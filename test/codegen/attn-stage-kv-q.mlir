// The Q tile through shared memory (#attn.schedule's q_staged): at 32 rows
// per warp and head dim 128, Q's mma fragments beside the S and O
// accumulators would make ptxas spill, so -attn-schedule stages Q;
// -attn-stage-kv copies it into a one-stage buffer of block_m rows before
// the K/V prologue (the first commit group, landed by the loop's first wait)
// and the contractions read it after the loop's barrier; no
// attn.load_fragments. The printer reads its A fragments with ldmatrix.x4.
// RUN: attn-opt %s --pass-pipeline='builtin.module(attn-pipeline{block-m=128 block-n=64 warps=4 arch=sm_80})' | FileCheck %s
// RUN: attn-opt %s --pass-pipeline='builtin.module(attn-pipeline{block-m=128 block-n=64 warps=4 arch=sm_80})' --emit=cuda | FileCheck %s --check-prefix=CUDA
// 16 rows per warp: Q stays in registers.
// RUN: attn-opt %s --pass-pipeline='builtin.module(attn-pipeline{block-m=64 block-n=64 warps=4 arch=sm_80})' | FileCheck %s --check-prefix=REGS
// Without room for the Q buffer beside two K/V stages (no arch: every
// supported GPU's shared memory), Q stays in registers.
// RUN: attn-opt %s --pass-pipeline='builtin.module(attn-pipeline{block-m=128 block-n=64 warps=4})' | FileCheck %s --check-prefix=REGS
// The warps left to the schedule: 4 of 32 rows with Q staged on sm_80; for
// no particular arch, whose shared memory cannot hold the Q buffer too,
// 8 warps of 16 rows (Q in registers) rather than 4 that would spill.
// RUN: attn-opt %s --pass-pipeline='builtin.module(attn-pipeline{block-m=128 block-n=64 arch=sm_80})' | FileCheck %s --check-prefix=SM80
// RUN: attn-opt %s --pass-pipeline='builtin.module(attn-pipeline{block-m=128 block-n=64})' | FileCheck %s --check-prefix=PORTABLE
// The staged kernel computes the right thing (ragged lengths, memcheck).
// RUN: attn-run %s --device=emu --arch=sm_80 --block-m=128 --block-n=64 --warps=4 --check --memcheck --nq=150 --nk=270 | FileCheck %s --check-prefix=RUNS

// CHECK: attn.barrier
// CHECK: attn.shared_buffer offset(0) : memref<2x64x128xf16
// CHECK: attn.shared_buffer offset(34816) : memref<2x64x128xf16
// CHECK: %[[QB:.*]] = attn.shared_buffer offset(69632) : memref<1x128x128xf16, strided<[17408, 136, 1]>, 3>
// CHECK: %[[ROWS:.*]] = tensor.dim %[[Q:.*]], %c2
// CHECK: attn.async_copy %[[Q]] into %[[QB]][%{{.*}}] rows(%[[ROWS]])
// CHECK-NEXT: attn.async_commit
// CHECK: scf.for
// CHECK: attn.async_wait pending(1)
// CHECK-NEXT: attn.barrier
// CHECK-NEXT: %{{.*}} = arith.constant 0 : index
// CHECK-NEXT: %[[QS:.*]] = attn.read_stage %[[QB]][%{{.*}}] rows(%[[ROWS]])
// CHECK: attn.contract "bhid,bhjd->bhij" {{.*}} %[[QS]],
// CHECK-NOT: attn.load_fragments
// CHECK: q_staged = true

// CUDA: // Shared buffer: 1 stage of 128 x 128 f16, row pitch 136.
// CUDA: a_fragment_row_major<136>(a[mt], {{stage[0-9]+}}, mRow0 + 16 * mt, 16 * kk, mLane);
// CUDA-NOT: load_a_fragment

// SM80: #attn.schedule<block_m = 128, warps = 4, stages = 2, rows_per_warp = 32, path = mma, q_staged = true>
// PORTABLE: #attn.schedule<block_m = 128, warps = 8, stages = 2, rows_per_warp = 16, path = mma>

// REGS: attn.load_fragments
// REGS-NOT: q_staged

// RUNS: kernel: mma, 128 threads
// RUNS: check o: {{.*}} PASS
// RUNS: check lse: {{.*}} PASS
func.func @causal(%q: tensor<?x8x?x128xf16>, %k: tensor<?x8x?x128xf16>, %v: tensor<?x8x?x128xf16>) -> (tensor<?x8x?x128xf16>, tensor<?x8x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x128xf16>, tensor<?x8x?x128xf16>, tensor<?x8x?x128xf16> -> tensor<?x8x?x128xf16>, tensor<?x8x?xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %attend = arith.cmpi ule, %j, %i : index
        attn.yield %attend : i1
      }
  return %o, %lse : tensor<?x8x?x128xf16>, tensor<?x8x?xf32>
}
