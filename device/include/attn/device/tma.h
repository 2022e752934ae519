//===- tma.h - Device library: sm_90 tensor memory accelerator -*- C++ -*-===//
//
// TMA copies a box of a 2-4-D tensor between global and shared memory in one
// instruction issued by one thread: cp.async.bulk.tensor. The tensor's shape,
// strides, box and shared-memory swizzle live in a 128-byte tensor map that
// the host encodes (the driver's cuTensorMapEncodeTiled on a GPU, the
// emulator's attn::emu::encodeTensorMap on the CPU) and the kernel receives
// as a `const __grid_constant__ TensorMap` parameter.
//
//  - A load writes the box into shared memory row-major (innermost dimension
//    first), swizzled like wgmma operands (Swizzle<B,4,3> on address bits;
//    the box's inner extent is at most the swizzle's 32/64/128 bytes), fills
//    elements outside the tensor with zeros, and completes the box's bytes as
//    transactions on an mbarrier (mbarrier_arrive_expect_tx announces them).
//  - A store reads the box from shared memory and writes the elements inside
//    the tensor, dropping the rest; tma_store_commit_group and
//    tma_store_wait_group_read<N> track when its shared memory may be reused.
//
// In the emulator a load lands when a thread finds its mbarrier's phase
// incomplete (so reading the box without waiting sees the poison), a store
// reads shared memory at issue and reports a change to it before the wait
// that releases it; memcheck checks that the whole tensor a map describes
// lies inside one of the launch's buffers. Boxes live in dynamic shared
// memory, the emulator's shared window, as wgmma operands do.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DEVICE_TMA_H
#define ATTN_DEVICE_TMA_H

#include "attn/device/config.h"
#include "attn/device/mbarrier.h"

namespace attn::device {

/// A tensor map: CUtensorMap's size and alignment on both sides.
struct alignas(64) TensorMap {
  uint64_t opaque[16];
};

/// Whether TMA can address the 4-D tensor at `base` (sizes n0..n3, strides
/// s0..s3 in elements of `ElementBytes`, dimension 3 innermost): a 16-byte
/// aligned address, a contiguous innermost dimension, the outer strides
/// positive multiples of 16 bytes below 2^40, every size in 1..2^32. The
/// host packer leaves the tensor's map zeroed when this is false
/// (attn::abi::packParams), so a kernel tests it before using the map and
/// copies the tensor another way otherwise. The same on every thread.
template <int ElementBytes>
ATTN_DEVICE_FN bool tma_view_ok(const void *base, long long s0, long long s1,
                                long long s2, long long s3, long long n0,
                                long long n1, long long n2, long long n3) {
  auto strideOk = [](long long s) {
    return s > 0 && (s * ElementBytes) % 16 == 0 &&
           s * ElementBytes < (1LL << 40);
  };
  auto sizeOk = [](long long n) { return n >= 1 && n <= (1LL << 32); };
  return base != nullptr && reinterpret_cast<uint64_t>(base) % 16 == 0 &&
         s3 == 1 && strideOk(s0) && strideOk(s1) && strideOk(s2) &&
         sizeOk(n0) && sizeOk(n1) && sizeOk(n2) && sizeOk(n3);
}

#if ATTN_DEVICE_CUDA

/// Loads the box at (c0, c1) into `smem`, completing its bytes on `bar`.
ATTN_DEVICE_FN void tma_load_2d(void *smem, const TensorMap *map, int c0,
                                int c1, mbarrier_t *bar) {
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::"
               "complete_tx::bytes [%0], [%1, {%3, %4}], [%2];\n"
               :
               : "r"(shared_address(smem)), "l"(map), "r"(shared_address(bar)),
                 "r"(c0), "r"(c1)
               : "memory");
}
/// Loads the box at (c0, c1, c2) into `smem`, completing its bytes on `bar`.
ATTN_DEVICE_FN void tma_load_3d(void *smem, const TensorMap *map, int c0,
                                int c1, int c2, mbarrier_t *bar) {
  asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::"
               "complete_tx::bytes [%0], [%1, {%3, %4, %5}], [%2];\n"
               :
               : "r"(shared_address(smem)), "l"(map), "r"(shared_address(bar)),
                 "r"(c0), "r"(c1), "r"(c2)
               : "memory");
}
/// Loads the box at (c0, c1, c2, c3) into `smem`, completing on `bar`.
ATTN_DEVICE_FN void tma_load_4d(void *smem, const TensorMap *map, int c0,
                                int c1, int c2, int c3, mbarrier_t *bar) {
  asm volatile("cp.async.bulk.tensor.4d.shared::cluster.global.mbarrier::"
               "complete_tx::bytes [%0], [%1, {%3, %4, %5, %6}], [%2];\n"
               :
               : "r"(shared_address(smem)), "l"(map), "r"(shared_address(bar)),
                 "r"(c0), "r"(c1), "r"(c2), "r"(c3)
               : "memory");
}
/// Stores the box in `smem` to (c0, c1).
ATTN_DEVICE_FN void tma_store_2d(const TensorMap *map, int c0, int c1,
                                 const void *smem) {
  asm volatile("cp.async.bulk.tensor.2d.global.shared::cta.bulk_group "
               "[%0, {%2, %3}], [%1];\n"
               :
               : "l"(map), "r"(shared_address(smem)), "r"(c0), "r"(c1)
               : "memory");
}
/// Stores the box in `smem` to (c0, c1, c2).
ATTN_DEVICE_FN void tma_store_3d(const TensorMap *map, int c0, int c1, int c2,
                                 const void *smem) {
  asm volatile("cp.async.bulk.tensor.3d.global.shared::cta.bulk_group "
               "[%0, {%2, %3, %4}], [%1];\n"
               :
               : "l"(map), "r"(shared_address(smem)), "r"(c0), "r"(c1), "r"(c2)
               : "memory");
}
/// Stores the box in `smem` to (c0, c1, c2, c3).
ATTN_DEVICE_FN void tma_store_4d(const TensorMap *map, int c0, int c1, int c2,
                                 int c3, const void *smem) {
  asm volatile("cp.async.bulk.tensor.4d.global.shared::cta.bulk_group "
               "[%0, {%2, %3, %4, %5}], [%1];\n"
               :
               : "l"(map), "r"(shared_address(smem)), "r"(c0), "r"(c1), "r"(c2),
                 "r"(c3)
               : "memory");
}
/// Closes the thread's current group of TMA stores.
ATTN_DEVICE_FN void tma_store_commit_group() {
  asm volatile("cp.async.bulk.commit_group;\n" ::: "memory");
}
/// Waits until all but the newest `Pending` store groups have read their
/// shared memory.
template <int Pending> ATTN_DEVICE_FN void tma_store_wait_group_read() {
  asm volatile("cp.async.bulk.wait_group.read %0;\n" ::"n"(Pending) : "memory");
}
/// Prefetches a tensor map into the TMA unit's cache.
ATTN_DEVICE_FN void tma_prefetch_descriptor(const TensorMap *map) {
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(map) : "memory");
}

#else

namespace detail {
inline void tmaCopy(const TensorMap *map, void *smem, int c0, int c1, int c2,
                    int c3, mbarrier_t *bar, bool isStore, const char *file,
                    unsigned line) {
  emu::TmaCopy copy{map,
                    static_cast<unsigned char *>(smem),
                    {c0, c1, c2, c3, 0},
                    bar,
                    isStore,
                    file,
                    line};
  emu::detail::rt().tmaCopy(copy);
}
} // namespace detail

/// Loads the box at (c0, c1) into `smem`, completing its bytes on `bar`.
ATTN_DEVICE_FN void tma_load_2d(void *smem, const TensorMap *map, int c0,
                                int c1, mbarrier_t *bar,
                                const char *file = __builtin_FILE(),
                                unsigned line = __builtin_LINE()) {
  detail::tmaCopy(map, smem, c0, c1, 0, 0, bar, false, file, line);
}
/// Loads the box at (c0, c1, c2) into `smem`, completing its bytes on `bar`.
ATTN_DEVICE_FN void tma_load_3d(void *smem, const TensorMap *map, int c0,
                                int c1, int c2, mbarrier_t *bar,
                                const char *file = __builtin_FILE(),
                                unsigned line = __builtin_LINE()) {
  detail::tmaCopy(map, smem, c0, c1, c2, 0, bar, false, file, line);
}
/// Stores the box in `smem` to (c0, c1).
ATTN_DEVICE_FN void tma_store_2d(const TensorMap *map, int c0, int c1,
                                 const void *smem,
                                 const char *file = __builtin_FILE(),
                                 unsigned line = __builtin_LINE()) {
  detail::tmaCopy(map, const_cast<void *>(smem), c0, c1, 0, 0, nullptr, true,
                  file, line);
}
/// Stores the box in `smem` to (c0, c1, c2).
ATTN_DEVICE_FN void tma_store_3d(const TensorMap *map, int c0, int c1, int c2,
                                 const void *smem,
                                 const char *file = __builtin_FILE(),
                                 unsigned line = __builtin_LINE()) {
  detail::tmaCopy(map, const_cast<void *>(smem), c0, c1, c2, 0, nullptr, true,
                  file, line);
}
/// Loads the box at (c0, c1, c2, c3) into `smem`, completing on `bar`.
ATTN_DEVICE_FN void tma_load_4d(void *smem, const TensorMap *map, int c0,
                                int c1, int c2, int c3, mbarrier_t *bar,
                                const char *file = __builtin_FILE(),
                                unsigned line = __builtin_LINE()) {
  detail::tmaCopy(map, smem, c0, c1, c2, c3, bar, false, file, line);
}
/// Stores the box in `smem` to (c0, c1, c2, c3).
ATTN_DEVICE_FN void tma_store_4d(const TensorMap *map, int c0, int c1, int c2,
                                 int c3, const void *smem,
                                 const char *file = __builtin_FILE(),
                                 unsigned line = __builtin_LINE()) {
  detail::tmaCopy(map, const_cast<void *>(smem), c0, c1, c2, c3, nullptr, true,
                  file, line);
}
/// Closes the thread's current group of TMA stores.
ATTN_DEVICE_FN void tma_store_commit_group() {
  emu::detail::rt().tmaStoreCommit();
}
/// Waits until all but the newest `Pending` store groups have read their
/// shared memory.
template <int Pending>
ATTN_DEVICE_FN void
tma_store_wait_group_read(const char *file = __builtin_FILE(),
                          unsigned line = __builtin_LINE()) {
  emu::detail::rt().tmaStoreWait(Pending, file, line);
}
/// Prefetches a tensor map: nothing to do on a CPU.
ATTN_DEVICE_FN void tma_prefetch_descriptor(const TensorMap *) {}

#endif

} // namespace attn::device

#endif // ATTN_DEVICE_TMA_H
