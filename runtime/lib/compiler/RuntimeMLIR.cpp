//===- RuntimeMLIR.cpp - compiling an in-memory MLIR module ---------------===//

#include "attn/RuntimeMLIR.h"

#include "../RuntimeImpl.h"
#include "EmittedPlan.h"
#include "Frontend.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/SourceMgr.h"
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

Expected<mlir::OwningOpRef<mlir::ModuleOp>>
attn::buildModule(const VariantBuilder &builder, mlir::MLIRContext &context) {
  Expected<std::string> text = builder.toMlir();
  if (!text)
    return text.status();
  mlir::DialectRegistry registry;
  registerVariantDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(*text, builder.name()),
      llvm::SMLoc());
  std::string diagnostics;
  llvm::raw_string_ostream os(diagnostics);
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context, os);
  // parseSourceFile verifies what it parsed.
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr,
                                            mlir::ParserConfig(&context));
  if (!module)
    return Status::error("the builder's text of '" + builder.name() +
                         "' does not verify:\n" + diagnostics);
  return module;
}

Expected<Plan> attn::jit::compileEmitted(Runtime &runtime,
                                         mlir::func::FuncOp func,
                                         const codegen::CudaPlan &plan,
                                         const CompileOptions &options) {
  PlanSpec spec;
  std::string error;
  if (!specOfEmitted(func, plan, &spec, &error))
    return Status::error(error);
  return runtime.implementation().adopt(std::move(spec), options);
}
