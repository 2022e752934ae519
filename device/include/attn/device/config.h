//===- config.h - Device library: target selection and basic types -*- C++ -*-===//
//
// Every device-library header starts here. It decides which half of each
// primitive is compiled: the CUDA half (NVRTC or nvcc; inline PTX and
// intrinsics) or the C++ half that the CPU emulator runs (plain C++ following
// the PTX ISA's fragment layouts, calling the emulator through cuda_emu.h).
//
// NVRTC ships no C++ standard headers, so the fixed-width integer names the
// library uses are provided inside `attn::device` on that side.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DEVICE_CONFIG_H
#define ATTN_DEVICE_CONFIG_H

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
/// 1 when compiling for a GPU (NVRTC or nvcc), 0 for the CPU emulator.
#define ATTN_DEVICE_CUDA 1
#else
#define ATTN_DEVICE_CUDA 0
#endif

#if ATTN_DEVICE_CUDA
#include <cuda_bf16.h>
#include <cuda_fp16.h>
namespace attn::device {
using uint16_t = unsigned short;
using uint32_t = unsigned int;
using uint64_t = unsigned long long;
using int64_t = long long;
} // namespace attn::device
/// Exports a kernel for the emulator's KernelLibrary; nothing to do on a GPU.
#define ATTN_KERNEL_ENTRY(kernel)
#else
#include "attn/emu/cuda_emu.h"
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
namespace attn::device {
using std::int64_t;
using std::uint16_t;
using std::uint32_t;
using std::uint64_t;
} // namespace attn::device
#endif

/// Linkage of every device-library function.
#define ATTN_DEVICE_FN __device__ __forceinline__
/// Linkage of the constexpr layout functions kernels, host code and tests
/// share (wgmma fragment and shared-memory layouts).
#define ATTN_HOST_DEVICE_FN __host__ __device__ constexpr

/// Linkage of the functions the emitter outlines (large score/mask regions,
/// codegen/lib/Outline.cpp): never inlined, so that their code exists once
/// and compile time grows linearly with them.
#if ATTN_DEVICE_CUDA
#define ATTN_OUTLINED_FN static __device__ __noinline__
#else
#define ATTN_OUTLINED_FN static __attribute__((noinline))
#endif

/// Linkage of the device library's cold paths (a fallback a kernel takes
/// only for unusual inputs): never inlined, so the hot loop that may call
/// them holds a call, not their code.
#if ATTN_DEVICE_CUDA
#define ATTN_COLD_FN __device__ __noinline__
#else
#define ATTN_COLD_FN __attribute__((noinline))
#endif

/// Fully unrolls the next loop. g++ ignores `#pragma unroll` (and warns), so
/// the emulator's g++ builds get GCC's spelling; NVRTC and clang the CUDA one.
#if ATTN_DEVICE_CUDA || defined(__clang__) || !defined(__GNUC__)
#define ATTN_UNROLL _Pragma("unroll")
#else
#define ATTN_UNROLL _Pragma("GCC unroll 64")
#endif

#endif // ATTN_DEVICE_CONFIG_H
