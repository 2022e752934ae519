//===- ExampleKernels.h - the examples, lowered to kernel IR ----*- C++ -*-===//
//
// For codegen unit tests that run over every example: the examples
// directory's variants (globbed, so a new example is covered without a list
// to update), each parsed and lowered with attn-pipeline.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TEST_UNIT_CODEGEN_EXAMPLEKERNELS_H
#define ATTN_TEST_UNIT_CODEGEN_EXAMPLEKERNELS_H

#include "attn/Codegen/Pipeline.h"
#include "attn/Dialect/AttnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace attn::test {

/// The examples directory's variants, by file stem, sorted.
inline std::vector<std::string> exampleNames() {
  std::vector<std::string> names;
  for (const auto &entry :
       std::filesystem::directory_iterator(ATTN_EXAMPLES_DIR))
    if (entry.path().extension() == ".mlir")
      names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

/// An example lowered to kernel IR: its context, module and public function
/// (null when parsing or the pipeline failed).
struct LoweredExample {
  std::unique_ptr<mlir::MLIRContext> context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  mlir::func::FuncOp func;
};

/// Parses examples/`name`.mlir and runs attn-pipeline with `options`.
inline LoweredExample
lowerExample(const std::string &name,
             const attn::AttnPipelineOptions &options = {}) {
  mlir::DialectRegistry registry;
  registry.insert<attn::AttnDialect, mlir::func::FuncDialect,
                  mlir::arith::ArithDialect, mlir::math::MathDialect,
                  mlir::tensor::TensorDialect, mlir::scf::SCFDialect>();
  LoweredExample out;
  out.context = std::make_unique<mlir::MLIRContext>(registry);
  out.context->loadAllAvailableDialects();
  std::string path = std::string(ATTN_EXAMPLES_DIR "/") + name + ".mlir";
  out.module = mlir::parseSourceFile<mlir::ModuleOp>(path, out.context.get());
  if (!out.module)
    return out;
  mlir::PassManager pm(out.context.get());
  attn::buildAttnPipeline(pm, options);
  if (mlir::failed(pm.run(*out.module)))
    return out;
  for (auto f : out.module->getOps<mlir::func::FuncOp>())
    if (f.isPublic() && !f.isExternal())
      out.func = f;
  return out;
}

} // namespace attn::test

#endif // ATTN_TEST_UNIT_CODEGEN_EXAMPLEKERNELS_H
