//===- memory.h - Device library: shared memory, global accessors, cp.async -*- C++ -*-===//
//
// Generated kernels reach memory only through this header:
//  - shared memory is declared with ATTN_SHARED / ATTN_DYNAMIC_SHARED (CUDA's
//    `extern __shared__` cannot be rewritten by a macro, so the project owns
//    the spelling on both sides);
//  - every global load and store goes through ld_global / st_global (or their
//    predicated forms), which carry the extent of the tensor they touch. On the
//    GPU they are plain accesses; in the emulator they bounds-check (memcheck)
//    and feed the access counters, the hook points DESIGN.md asks for;
//  - tiles are staged with cp_async, which zero-fills past the extent so ragged
//    tiles need no branches. In the emulator a copy lands only at the
//    cp_async_wait that covers its group, so a missing wait reads the 0xFF
//    poison of shared memory instead of passing by luck.
//
// Indices and extents are in elements of T, relative to `ptr`.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DEVICE_MEMORY_H
#define ATTN_DEVICE_MEMORY_H

#include "attn/device/config.h"

#if ATTN_DEVICE_CUDA
/// Declares a static shared array `type name[count]`, 16-byte aligned (the
/// emulator's definition is in cuda_emu.h).
#define ATTN_SHARED(type, name, count) __shared__ __align__(16) type name[count]
/// Binds `type *name` to the CTA's dynamic shared memory. One byte array for
/// every kernel and type, so several kernels in one module never conflict.
#define ATTN_DYNAMIC_SHARED(type, name)                                        \
  extern __shared__ __align__(16) unsigned char attnDynamicShared[];           \
  type *const name = reinterpret_cast<type *>(attnDynamicShared)
/// ATTN_DYNAMIC_SHARED for sm_90 kernels: 1024-byte aligned, as TMA boxes
/// and wgmma operands with the 128-byte swizzle need (the emulator's dynamic
/// shared memory always is). A module's kernels use one of the two.
#define ATTN_DYNAMIC_SHARED_1024(type, name)                                   \
  extern __shared__ __align__(1024) unsigned char attnDynamicShared1024[];     \
  type *const name = reinterpret_cast<type *>(attnDynamicShared1024)
#endif

namespace attn::device {

#if ATTN_DEVICE_CUDA

/// Loads ptr[index]; the caller guarantees 0 <= index < extent (checked and
/// reported in the emulator).
template <typename T>
ATTN_DEVICE_FN T ld_global(const T *ptr, int64_t index, int64_t extent) {
  return ptr[index];
}
/// Stores ptr[index] = value; the caller guarantees 0 <= index < extent.
template <typename T>
ATTN_DEVICE_FN void st_global(T *ptr, int64_t index, int64_t extent, T value) {
  ptr[index] = value;
}
/// Stores the 16 bytes at `src` (shared memory, 16-byte aligned) to
/// ptr[index, index + 16 / sizeof(T)); the caller guarantees the range lies in
/// [0, extent) and is 16-byte aligned.
template <typename T>
ATTN_DEVICE_FN void st_global_16(T *ptr, int64_t index, int64_t extent,
                                 const T *src) {
  *reinterpret_cast<uint4 *>(ptr + index) =
      *reinterpret_cast<const uint4 *>(src);
}
/// ptr[index] += value as one atomic f32 read-modify-write (the backward's
/// dQ and capture gradients); the caller guarantees 0 <= index < extent.
ATTN_DEVICE_FN void atomic_add_global(float *ptr, int64_t index,
                                      int64_t extent, float value) {
  atomicAdd(ptr + index, value);
}
/// ptr[index] when 0 <= index < extent, else `fallback` (no access).
template <typename T>
ATTN_DEVICE_FN T ld_global_or(const T *ptr, int64_t index, int64_t extent,
                              T fallback) {
  return index >= 0 && index < extent ? ptr[index] : fallback;
}
/// Stores ptr[index] = value only when 0 <= index < extent.
template <typename T>
ATTN_DEVICE_FN void st_global_if(T *ptr, int64_t index, int64_t extent,
                                 T value) {
  if (index >= 0 && index < extent)
    ptr[index] = value;
}

/// Asynchronously copies `Bytes` (4, 8 or 16) bytes from &gmem[index] to
/// `smem`; bytes of elements at or past `extent` are zero-filled instead of
/// read. Both addresses must be `Bytes`-aligned. Lands at cp_async_wait.
template <int Bytes, typename T>
ATTN_DEVICE_FN void cp_async(void *smem, const T *gmem, int64_t index,
                             int64_t extent) {
  static_assert(Bytes == 4 || Bytes == 8 || Bytes == 16,
                "cp.async copies 4, 8 or 16 bytes");
  int64_t available = (extent - index) * static_cast<int64_t>(sizeof(T));
  unsigned srcBytes =
      available <= 0 ? 0u : (available >= Bytes ? Bytes : unsigned(available));
  // With src-size 0 nothing is read, so the base pointer stands in for a
  // possibly out-of-range address.
  const void *src = srcBytes ? static_cast<const void *>(gmem + index)
                             : static_cast<const void *>(gmem);
  unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  if constexpr (Bytes == 16)
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst),
                 "l"(src), "r"(srcBytes)
                 : "memory");
  else
    asm volatile("cp.async.ca.shared.global [%0], [%1], %2, %3;\n" ::"r"(dst),
                 "l"(src), "n"(Bytes), "r"(srcBytes)
                 : "memory");
}
/// Closes the calling thread's current group of cp_async copies.
ATTN_DEVICE_FN void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}
/// Waits until at most `Pending` of the thread's committed groups are still
/// in flight. Other threads see the data only after a following barrier.
template <int Pending> ATTN_DEVICE_FN void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending) : "memory");
}

#else

namespace detail {
/// Reports an in-bounds access to the emulator when counters or memcheck
/// asked for it (one predictable branch otherwise).
inline void traceGlobal(const char *op, const void *base, int64_t index,
                        int64_t extent, unsigned elementBytes, unsigned bytes,
                        bool isStore, const char *file, unsigned line) {
  if (__builtin_expect(emu::detail::self().flags & emu::kTraceGlobalAccesses,
                       0))
    emu::detail::rt().globalAccess(
        {op, base, index, extent, elementBytes, bytes, isStore, file, line});
}
/// Reports an access outside [0, extent); always checked (a compare the
/// accessor makes anyway), so an emulator run never touches memory a GPU run
/// would fault on or silently corrupt.
inline void outOfBounds(const char *op, const void *base, int64_t index,
                        int64_t extent, unsigned elementBytes, bool isStore,
                        const char *file, unsigned line) {
  emu::detail::rt().outOfBounds({op, base, index, extent, elementBytes,
                                 elementBytes, isStore, file, line});
}
} // namespace detail

/// Loads ptr[index]; the caller guarantees 0 <= index < extent. Out of range
/// is recorded as an out-of-bounds violation and yields T{} without touching
/// memory.
template <typename T>
ATTN_DEVICE_FN T ld_global(const T *ptr, int64_t index, int64_t extent,
                           const char *file = __builtin_FILE(),
                           unsigned line = __builtin_LINE()) {
  if (__builtin_expect(index < 0 || index >= extent, 0)) {
    detail::outOfBounds("ld_global", ptr, index, extent, sizeof(T), false,
                        file, line);
    return T{};
  }
  detail::traceGlobal("ld_global", ptr, index, extent, sizeof(T), sizeof(T),
                      false, file, line);
  return ptr[index];
}
/// Stores ptr[index] = value; the caller guarantees 0 <= index < extent. Out
/// of range is recorded as an out-of-bounds violation and the store is
/// dropped.
template <typename T>
ATTN_DEVICE_FN void st_global(T *ptr, int64_t index, int64_t extent, T value,
                              const char *file = __builtin_FILE(),
                              unsigned line = __builtin_LINE()) {
  if (__builtin_expect(index < 0 || index >= extent, 0)) {
    detail::outOfBounds("st_global", ptr, index, extent, sizeof(T), true,
                        file, line);
    return;
  }
  detail::traceGlobal("st_global", ptr, index, extent, sizeof(T), sizeof(T),
                      true, file, line);
  ptr[index] = value;
}
/// Stores the 16 bytes at `src` to ptr[index, index + 16 / sizeof(T)); the
/// caller guarantees the range lies in [0, extent). Out of range is recorded
/// as an out-of-bounds violation and nothing is stored.
template <typename T>
ATTN_DEVICE_FN void st_global_16(T *ptr, int64_t index, int64_t extent,
                                 const T *src,
                                 const char *file = __builtin_FILE(),
                                 unsigned line = __builtin_LINE()) {
  constexpr int64_t n = 16 / sizeof(T);
  if (__builtin_expect(index < 0 || index + n > extent, 0)) {
    // The first element out of range.
    int64_t first = index < 0 ? index : (index > extent ? index : extent);
    detail::outOfBounds("st_global_16", ptr, first, extent, sizeof(T), true,
                        file, line);
    return;
  }
  detail::traceGlobal("st_global_16", ptr, index, extent, sizeof(T), 16, true,
                      file, line);
  std::memcpy(ptr + index, src, 16);
}
/// ptr[index] += value as one atomic f32 read-modify-write; the caller
/// guarantees 0 <= index < extent. Out of range is recorded as an
/// out-of-bounds violation and nothing is added. Counters and memcheck see a
/// load and a store of 4 bytes; the add is a real atomic (CTAs run on several
/// OS threads, and ThreadSanitizer sees it as one).
ATTN_DEVICE_FN void atomic_add_global(float *ptr, int64_t index,
                                      int64_t extent, float value,
                                      const char *file = __builtin_FILE(),
                                      unsigned line = __builtin_LINE()) {
  if (__builtin_expect(index < 0 || index >= extent, 0)) {
    detail::outOfBounds("atomic_add_global", ptr, index, extent, sizeof(float),
                        true, file, line);
    return;
  }
  detail::traceGlobal("atomic_add_global", ptr, index, extent, sizeof(float),
                      sizeof(float), false, file, line);
  detail::traceGlobal("atomic_add_global", ptr, index, extent, sizeof(float),
                      sizeof(float), true, file, line);
  atomicAdd(ptr + index, value);
}
/// ptr[index] when 0 <= index < extent, else `fallback` (no access).
template <typename T>
ATTN_DEVICE_FN T ld_global_or(const T *ptr, int64_t index, int64_t extent,
                              T fallback, const char *file = __builtin_FILE(),
                              unsigned line = __builtin_LINE()) {
  if (index < 0 || index >= extent)
    return fallback;
  detail::traceGlobal("ld_global_or", ptr, index, extent, sizeof(T),
                      sizeof(T), false, file, line);
  return ptr[index];
}
/// Stores ptr[index] = value only when 0 <= index < extent.
template <typename T>
ATTN_DEVICE_FN void st_global_if(T *ptr, int64_t index, int64_t extent,
                                 T value, const char *file = __builtin_FILE(),
                                 unsigned line = __builtin_LINE()) {
  if (index < 0 || index >= extent)
    return;
  detail::traceGlobal("st_global_if", ptr, index, extent, sizeof(T),
                      sizeof(T), true, file, line);
  ptr[index] = value;
}

/// Asynchronously copies `Bytes` (4, 8 or 16) bytes from &gmem[index] to
/// `smem`; bytes of elements at or past `extent` are zero-filled instead of
/// read. Both addresses must be `Bytes`-aligned. The emulator reads the source
/// now and writes shared memory at the cp_async_wait covering this copy.
template <int Bytes, typename T>
ATTN_DEVICE_FN void cp_async(void *smem, const T *gmem, int64_t index,
                             int64_t extent,
                             const char *file = __builtin_FILE(),
                             unsigned line = __builtin_LINE()) {
  static_assert(Bytes == 4 || Bytes == 8 || Bytes == 16,
                "cp.async copies 4, 8 or 16 bytes");
  if (__builtin_expect(index < 0, 0)) {
    detail::outOfBounds("cp_async", gmem, index, extent, sizeof(T), false,
                        file, line);
    return;
  }
  int64_t available = (extent - index) * static_cast<int64_t>(sizeof(T));
  unsigned srcBytes =
      available <= 0 ? 0u : (available >= Bytes ? Bytes : unsigned(available));
  const T *src = srcBytes ? gmem + index : gmem;
  if (srcBytes)
    detail::traceGlobal("cp_async", gmem, index, extent, sizeof(T), srcBytes,
                        false, file, line);
  emu::detail::rt().cpAsync(smem, src, Bytes, srcBytes, file, line);
}
/// Closes the calling thread's current group of cp_async copies.
ATTN_DEVICE_FN void cp_async_commit() { emu::detail::rt().cpAsyncCommit(); }
/// Waits until at most `Pending` of the thread's committed groups are still
/// in flight; in the emulator the older groups land in shared memory now.
template <int Pending> ATTN_DEVICE_FN void cp_async_wait() {
  static_assert(Pending >= 0, "cp.async.wait_group takes a count >= 0");
  emu::detail::rt().cpAsyncWait(Pending);
}

#endif

/// The element offset of key row `j` of a sequence in a paged KV cache: the
/// row lies in page table[j >> shift] (`table` is the sequence's row of the
/// block table, int32 page indices) at slot j & (2^shift - 1); a page spans
/// `pageStride` elements and a slot `rowStride`. Pages of a power-of-two
/// size make the split a shift and a mask.
ATTN_DEVICE_FN int64_t paged_row_offset(const int *table, int64_t tableExtent,
                                        int64_t shift, int64_t pageStride,
                                        int64_t rowStride, int64_t j) {
  const int64_t page = ld_global(table, j >> shift, tableExtent);
  return page * pageStride + (j & ((int64_t(1) << shift) - 1)) * rowStride;
}

} // namespace attn::device

#endif // ATTN_DEVICE_MEMORY_H
