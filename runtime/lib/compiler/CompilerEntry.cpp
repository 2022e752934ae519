//===- CompilerEntry.cpp - the compiler's table for the runtime -----------===//
//
// Makes the compiler available to the runtime both ways: a static
// initialiser registers it when these objects are linked into a program
// (attn-run, the tests), and the plugin build (libattn_compiler.so) exports
// the table under kCompilerEntrySymbol for the runtime to dlopen.
//
//===----------------------------------------------------------------------===//

#include "Frontend.h"

#include "attn/Codegen/Nvrtc.h"

#include "llvm/Support/Error.h"

using namespace attn::jit;

namespace {
bool compileText(std::string_view text, std::string_view bufferName,
                 const FrontendOptions &options, PlanSpec *spec,
                 std::string *error) {
  return compileVariantText(text, bufferName, options, spec, error);
}

bool compileCuda(const CudaCompileRequest &request, std::string *binary,
                 std::string *log, std::string *error) {
  auto arch = attn::codegen::lookupCudaArch(request.arch);
  if (!arch) {
    *error = "unknown arch '" + request.arch + "' (" +
             attn::codegen::supportedCudaArchs() + ")";
    return false;
  }
  std::vector<attn::codegen::NvrtcHeader> headers;
  if (request.headers)
    for (const HeaderFile &h : *request.headers)
      headers.push_back({h.name, h.contents});
  auto out = attn::codegen::compileWithNvrtc(
      request.source, request.programName, *arch,
      request.cubin ? attn::codegen::NvrtcTarget::Cubin
                    : attn::codegen::NvrtcTarget::Ptx,
      headers);
  if (!out) {
    *error = llvm::toString(out.takeError());
    return false;
  }
  *binary = std::move(out->binary);
  *log = std::move(out->log);
  return true;
}

bool compileBackward(std::string_view text, std::string_view bufferName,
                     const BackwardFrontendOptions &options, BackwardSpec *spec,
                     std::string *error) {
  return attn::jit::compileBackwardText(text, bufferName, options, spec, error);
}

const CompilerApi kApi = {kCompilerAbiVersion, &compileText, &compileCuda,
                          &compileBackward};

/// Registers the compiler when this object is part of the program.
struct Registrar {
  Registrar() { registerCompiler(&kApi); }
} registrar;
} // namespace

extern "C" __attribute__((visibility("default"))) const CompilerApi *
attn_jit_compiler_api() {
  return &kApi;
}
