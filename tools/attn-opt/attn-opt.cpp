//===- attn-opt.cpp - the attn compiler driver ----------------------------===//
//
// mlir-opt for attn: parses, verifies, runs passes and prints IR. Registers
// the attn dialect with the upstream dialects its regions and cascades use.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/AttnDialect.h"
#include "attn/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<attn::AttnDialect, mlir::func::FuncDialect,
                  mlir::arith::ArithDialect, mlir::math::MathDialect,
                  mlir::tensor::TensorDialect, mlir::scf::SCFDialect>();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  attn::registerAttnPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "attn compiler driver: attention variants to kernels\n",
      registry));
}
