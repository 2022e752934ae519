//===- RuntimeMLIR.cpp - compiling an in-memory MLIR module ---------------===//

#include "attn/RuntimeMLIR.h"

#include "../RuntimeImpl.h"
#include "Frontend.h"

#include "llvm/Support/raw_ostream.h"

using namespace attn;

Expected<Plan> attn::compileModule(Runtime &runtime, mlir::ModuleOp module,
                                   const CompileOptions &options) {
  // The printed module is the cache key: the same IR always prints the same.
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os);
  detail::Frontend frontend = [&](const jit::FrontendOptions &frontOptions,
                                  jit::PlanSpec *spec, std::string *error) {
    return jit::compileVariantModule(module, frontOptions, spec, error);
  };
  return runtime.implementation().compile(text, "<module>", options, &frontend);
}

void attn::registerVariantDialects(mlir::DialectRegistry &registry) {
  jit::registerVariantDialects(registry);
}
