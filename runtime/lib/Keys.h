//===- Keys.h - cache keys of plans and artifacts ---------------*- C++ -*-===//
//
// Three keys, each a digest of everything that determines what it names:
//
//  - the in-memory key: the variant's text and the compile options with the
//    device and arch resolved. Computing it hashes the text once and
//    parses nothing, so a repeated compile costs microseconds;
//  - the plan key (MLIR → generated source, on disk): the text, the
//    frontend options (the split-KV plan's include its splits), the
//    compiler's build fingerprint and the device headers;
//  - the artifact key (generated source → cubin/PTX/.so, on disk): the
//    source, the device headers' contents, the compiler options, the arch
//    and the NVRTC build (cuda), or the host compiler's path and version,
//    its flags, the emulator build and the host CPU (emu, built with
//    -march=native).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_JIT_KEYS_H
#define ATTN_RUNTIME_JIT_KEYS_H

#include "CompilerApi.h"
#include "EmbeddedHeaders.h"
#include "Hash.h"

#include "attn/Runtime.h"

#include <string>
#include <string_view>
#include <vector>

namespace attn::jit {

/// The digest of headers' names and contents.
Digest digestHeaders(const std::vector<HeaderFile> &headers);

/// The digest of the embedded headers (computed once).
const Digest &embeddedHeadersDigest();

/// What a compile targets once Auto and the arch are resolved.
struct Target {
  DeviceKind device = DeviceKind::Emu;
  /// cuda: the arch compiled for ("sm_90"); on the emulator "emu", or the
  /// arch whose kernel it runs (CompileOptions::arch).
  std::string arch = "emu";
  /// cuda: a cubin (the running arch is known to attn) or PTX.
  bool cubin = false;
};

/// The in-memory key of compiling `text` with `options` for `target`: the
/// plain plan, or with `splitKv` > 0 the split-KV plan with that many
/// splits; `packGqa`: the GQA-packed decode plan; `layout`: the plan of
/// variable-length batches or a paged KV cache (FrontendOptions).
Digest memoryKey(std::string_view text, const CompileOptions &options,
                 const Target &target, int64_t splitKv = 0,
                 bool packGqa = false, SequenceLayout layout = {});

/// The frontend options `options` imply for `target`.
FrontendOptions frontendOptions(const CompileOptions &options,
                                const Target &target);

/// The disk key of the plan compiled from `text`.
Digest planKey(std::string_view text, const FrontendOptions &options,
               std::string_view compilerFingerprint,
               const Digest &headersDigest);

/// What a cuda artifact depends on.
struct CudaKeyInputs {
  std::string_view source;
  Digest headersDigest;
  std::string arch;
  bool cubin = true;
  /// The NVRTC options the wrapper passes (besides the arch).
  std::string options;
  /// Identifies the NVRTC build (library path, size, mtime).
  std::string nvrtc;
};

/// The disk key of a cubin/PTX.
Digest cudaArtifactKey(const CudaKeyInputs &inputs);

/// What an emulator kernel .so depends on.
struct EmuKeyInputs {
  std::string_view source;
  Digest headersDigest;
  /// The host compiler's resolved path and `--version` banner.
  std::string compiler;
  /// Its flags, space separated.
  std::string flags;
  /// The emulator's build fingerprint (kernel ABI, fixed flags).
  std::string emulator;
  /// The host CPU (model and feature flags: -march=native).
  std::string cpu;
};

/// The disk key of a kernel .so.
Digest emuArtifactKey(const EmuKeyInputs &inputs);

} // namespace attn::jit

#endif // ATTN_RUNTIME_JIT_KEYS_H
