//===- CompilerApi.h - the runtime's view of the MLIR compiler --*- C++ -*-===//
//
// The runtime itself does not link MLIR: loading libMLIR costs a process
// tens of milliseconds, which a warm start served from the disk cache must
// not pay. The compiler (parse, the attn pass pipeline, the CUDA emitter,
// NVRTC through attn::codegen::compileWithNvrtc) sits behind this table of
// functions, provided either by code linked into the process (the compiler
// objects register themselves at static-initialisation time) or by the
// plugin libattn_compiler.so, dlopen'ed on the first cache miss.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_JIT_COMPILERAPI_H
#define ATTN_RUNTIME_JIT_COMPILERAPI_H

#include "EmbeddedHeaders.h"
#include "PlanSpec.h"
#include "attn/Support/BackwardAbi.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attn::jit {

/// Options of the MLIR → kernel step (all part of the plan key).
struct FrontendOptions {
  std::string entry;
  int64_t blockM = 64, blockN = 0;
  /// The schedule: warps (0: the schedule's choice), K/V stages, KV loop
  /// unroll factor.
  int64_t warps = 0, stages = 2, unroll = 1;
  std::string dtype;
  std::string kernelPath = "auto";
  /// cuda: the target arch, whose shared-memory limit the emitter checks;
  /// empty on the emulator (the portable limit).
  std::string arch;
  /// 0: the plain plan. 1: the split-KV plan whose split count each launch
  /// chooses (attn-split-kv{in-place splits=0} between attn-online and
  /// attn-fuse); N >= 2: N splits compiled in. When the variant cannot be
  /// split the spec has no kernels and says why (PlanSpec::unavailable).
  int64_t splitKv = 0;
  /// True: the decode plan of a GQA variant, its query-head groups packed
  /// into the query rows (attn-pack-gqa before the pipeline). When the
  /// variant cannot be packed the spec has no kernels and says why.
  bool packGqa = false;
  /// The plan of variable-length batches and/or of a paged KV cache. When
  /// the variant's kernels cannot take them the spec has no kernels and
  /// says why.
  SequenceLayout layout;
};

/// Options of the backward's MLIR → kernels step.
struct BackwardFrontendOptions {
  std::string entry;
  std::string dtype;
  bool deterministic = false;
  /// Read the forward's results and recover the state from them where
  /// that is proven (attn::buildKernelBackward).
  bool stateFromResults = true;
};

/// The backward kernels of a variant (attn/Codegen/BackwardKernels.h) and
/// what binding them needs.
struct BackwardSpec {
  /// The forward's signature: q, k, v, captures; o [, lse].
  Signature signature;
  abi::BackwardKernels kernels;
  /// True when the kernels read the forward's results (o [, lse]) and
  /// recover its state from them; else they recompute it, and
  /// `recomputesBecause` says why when reading them was asked for.
  bool readsResults = false;
  std::string recomputesBecause;
  /// The backward function's arguments: the forward's (q, k, v, captures),
  /// the forward's results when `readsResults` (o [, lse]), then one f32
  /// cotangent per float tensor result (do [, dlse]): element type and
  /// whether it is a tensor.
  std::vector<DLDataType> argTypes;
  std::vector<bool> argIsTensor;
  /// For each gradient (result), the forward argument it belongs to.
  std::vector<int64_t> gradientOf;
};

/// A CUDA compile request.
struct CudaCompileRequest {
  std::string source;
  /// Names the program in diagnostics.
  std::string programName;
  /// "sm_80", ... (one attn supports).
  std::string arch;
  /// True: a cubin; false: PTX.
  bool cubin = true;
  /// In-memory headers handed to NVRTC (the embedded device library).
  const std::vector<HeaderFile> *headers = nullptr;
};

/// The compiler's entry points. Strings cross the boundary as std::string:
/// the runtime and the plugin are built together.
struct CompilerApi {
  /// kCompilerAbiVersion of the side that built the table.
  uint32_t abiVersion;
  /// MLIR text → PlanSpec; false with `*error` (the diagnostics) on failure.
  bool (*compileText)(std::string_view text, std::string_view bufferName,
                      const FrontendOptions &options, PlanSpec *spec,
                      std::string *error);
  /// CUDA source → cubin/PTX bytes (and NVRTC's log).
  bool (*compileCuda)(const CudaCompileRequest &request, std::string *binary,
                      std::string *log, std::string *error);
  /// MLIR text → the backward kernels of its variant; false with `*error`.
  bool (*compileBackwardText)(std::string_view text,
                              std::string_view bufferName,
                              const BackwardFrontendOptions &options,
                              BackwardSpec *spec, std::string *error);
};

/// Bumped whenever CompilerApi or the types it passes change.
inline constexpr uint32_t kCompilerAbiVersion = 4;

/// Makes `api` the compiler of this process (called by compiler objects
/// linked into it, from a static initialiser).
void registerCompiler(const CompilerApi *api);

/// The compiler: the registered one, else the plugin ($ATTN_COMPILER_LIBRARY,
/// else libattn_compiler.so beside the runtime library) loaded now. Null
/// with `*error` when neither is available.
const CompilerApi *findCompiler(std::string *error);

/// Name of the plugin's entry point: `const CompilerApi *()`.
inline constexpr const char *kCompilerEntrySymbol = "attn_jit_compiler_api";

} // namespace attn::jit

#endif // ATTN_RUNTIME_JIT_COMPILERAPI_H
