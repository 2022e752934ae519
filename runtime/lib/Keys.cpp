//===- Keys.cpp - cache keys of plans and artifacts -----------------------===//

#include "Keys.h"

using namespace attn;
using namespace attn::jit;

Digest attn::jit::digestHeaders(const std::vector<HeaderFile> &headers) {
  KeyBuilder b;
  for (const HeaderFile &h : headers)
    b.add(h.name, h.contents);
  return b.finish();
}

const std::vector<HeaderFile> &attn::jit::embeddedHeaders() {
  return attn::emu::deviceHeaders();
}

const Digest &attn::jit::embeddedHeadersDigest() {
  static const Digest digest = digestHeaders(embeddedHeaders());
  return digest;
}

Digest attn::jit::memoryKey(std::string_view text,
                            const CompileOptions &options, const Target &target,
                            int64_t splitKv, bool packGqa,
                            SequenceLayout layout) {
  return KeyBuilder()
      .add("text", text)
      .add("entry", options.entry)
      .add("block-m", options.blockM)
      .add("block-n", options.blockN)
      .add("warps", options.warps)
      .add("stages", options.stages)
      .add("unroll", options.unroll)
      .add("dtype", options.dtype)
      .add("path", options.kernelPath)
      .add("device", deviceName(target.device))
      .add("arch", target.arch)
      .add("cubin", target.cubin)
      .add("kv-splits", options.kvSplits)
      .add("split-kv", splitKv)
      .add("pack-gqa", int64_t(packGqa))
      .add("varlen", int64_t(layout.varlen))
      .add("paged-kv", int64_t(layout.pagedKv))
      .finish();
}

FrontendOptions attn::jit::frontendOptions(const CompileOptions &options,
                                           const Target &target) {
  FrontendOptions f;
  f.entry = options.entry;
  f.blockM = options.blockM;
  f.blockN = options.blockN;
  f.warps = options.warps;
  f.stages = options.stages;
  f.unroll = options.unroll;
  f.dtype = options.dtype;
  f.kernelPath = options.kernelPath;
  // emu: the arch whose kernel the emulator runs, if one was asked for.
  f.arch = target.device == DeviceKind::Cuda ? target.arch : options.arch;
  return f;
}

Digest attn::jit::planKey(std::string_view text, const FrontendOptions &options,
                          std::string_view compilerFingerprint,
                          const Digest &headersDigest) {
  return KeyBuilder()
      .add("kind", "plan")
      .add("text", text)
      .add("entry", options.entry)
      .add("block-m", options.blockM)
      .add("block-n", options.blockN)
      .add("warps", options.warps)
      .add("stages", options.stages)
      .add("unroll", options.unroll)
      .add("dtype", options.dtype)
      .add("path", options.kernelPath)
      .add("arch", options.arch)
      .add("split-kv", options.splitKv)
      .add("pack-gqa", int64_t(options.packGqa))
      .add("varlen", int64_t(options.layout.varlen))
      .add("paged-kv", int64_t(options.layout.pagedKv))
      .add("compiler", compilerFingerprint)
      .add("headers", headersDigest.hex())
      .finish();
}

Digest attn::jit::cudaArtifactKey(const CudaKeyInputs &in) {
  return KeyBuilder()
      .add("kind", in.cubin ? "cubin" : "ptx")
      .add("source", in.source)
      .add("headers", in.headersDigest.hex())
      .add("arch", in.arch)
      .add("options", in.options)
      .add("nvrtc", in.nvrtc)
      .finish();
}

Digest attn::jit::emuArtifactKey(const EmuKeyInputs &in) {
  return KeyBuilder()
      .add("kind", "emu-so")
      .add("source", in.source)
      .add("headers", in.headersDigest.hex())
      .add("compiler", in.compiler)
      .add("flags", in.flags)
      .add("emulator", in.emulator)
      .add("cpu", in.cpu)
      .finish();
}
