//===- attn-opt.cpp - the attn compiler driver ----------------------------===//
//
// mlir-opt for attn: parses, verifies, runs passes and prints IR. Registers
// the attn dialect with the upstream dialects its regions and cascades use,
// and adds `--report=json` (tile and pass-count report for concrete sizes)
// and `--emit=cuda` (CUDA C++ from kernel IR instead of MLIR).
//
//===----------------------------------------------------------------------===//

#include "attn/Codegen/CudaEmitter.h"
#include "attn/Dialect/AttnDialect.h"
#include "attn/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

/// Rewrites the `--report=json` shorthand into the -attn-report pass:
/// `--report=json --nq=N --nk=N --b=N --block-m=M --block-n=N --captures=..`
/// becomes `--attn-report="nq=N nk=N ..."` and, unless an output file is
/// given, `-o /dev/null` so that only the JSON reaches stdout. Returns false
/// (after printing why) for an unknown report format.
static bool expandReportFlags(std::vector<std::string> &args) {
  static const char *const reportOptions[] = {"nq", "nk", "b", "block-m",
                                              "block-n", "captures"};
  bool report = false, hasOutput = false;
  std::string options;
  std::vector<std::string> kept;
  for (const std::string &arg : args) {
    llvm::StringRef a(arg);
    if (a.consume_front("--report=")) {
      if (a != "json") {
        llvm::errs() << "attn-opt: unknown report format '" << a
                     << "' (supported: json)\n";
        return false;
      }
      report = true;
      continue;
    }
    bool isReportOption = false;
    for (const char *name : reportOptions) {
      llvm::StringRef value = arg;
      if (value.consume_front("--") && value.consume_front(name) &&
          value.consume_front("=")) {
        options += std::string(options.empty() ? "" : " ") +
                   (llvm::StringRef(name) == "b" ? "batch" : name) + "=" +
                   value.str();
        isReportOption = true;
      }
    }
    if (a == "-o" || a.starts_with("-o=") || a.starts_with("--o="))
      hasOutput = true;
    if (!isReportOption)
      kept.push_back(arg);
  }
  if (!report) {
    if (!options.empty()) {
      llvm::errs() << "attn-opt: --nq/--nk/--b/--block-m/--block-n/--captures "
                      "are report options; add --report=json\n";
      return false;
    }
    return true;
  }
  kept.push_back("--attn-report=" + options);
  if (!hasOutput) {
    kept.push_back("-o");
    kept.push_back("/dev/null");
  }
  args = std::move(kept);
  return true;
}

/// Rewrites `--emit=cuda [--emit-debug=MODE]` into the -attn-emit-cuda pass
/// at the end of the pipeline, writing to the `-o` file (stdout by default)
/// while the MLIR output goes to /dev/null. `--emit=mlir` is the default.
/// Returns false (after printing why) for an unknown format.
static bool expandEmitFlags(std::vector<std::string> &args) {
  bool cuda = false;
  std::string output = "-", debug = "none";
  std::vector<std::string> kept;
  for (size_t k = 0; k < args.size(); ++k) {
    llvm::StringRef a(args[k]);
    if (a.consume_front("--emit=")) {
      if (a != "cuda" && a != "mlir") {
        llvm::errs() << "attn-opt: unknown --emit format '" << a
                     << "' (supported: mlir, cuda)\n";
        return false;
      }
      cuda = a == "cuda";
      continue;
    }
    if (a.consume_front("--emit-debug=")) {
      debug = a.str();
      continue;
    }
    kept.push_back(args[k]);
  }
  if (!cuda)
    return debug == "none" || (llvm::errs() << "attn-opt: --emit-debug needs "
                                               "--emit=cuda\n",
                               false);
  // Take over -o: the CUDA source goes there, the MLIR nowhere.
  std::vector<std::string> rest;
  for (size_t k = 0; k < kept.size(); ++k) {
    llvm::StringRef a(kept[k]);
    if (a == "-o" && k + 1 < kept.size()) {
      output = kept[++k];
      continue;
    }
    if (a.consume_front("-o=") || a.consume_front("--o=")) {
      output = a.str();
      continue;
    }
    rest.push_back(kept[k]);
  }
  std::string pass = "attn-emit-cuda{output=" + output + " debug=" + debug + "}";
  bool inPipeline = false;
  for (std::string &arg : rest) {
    llvm::StringRef a(arg);
    if (a.consume_front("--pass-pipeline=") && a.ends_with(")")) {
      // builtin.module(a,b) -> builtin.module(a,b,attn-emit-cuda{..})
      std::string text = a.str();
      bool emptyList = llvm::StringRef(text).ends_with("()");
      text.insert(text.size() - 1, (emptyList ? "" : ",") + pass);
      arg = "--pass-pipeline=" + text;
      inPipeline = true;
    }
  }
  if (!inPipeline)
    rest.push_back("--attn-emit-cuda=output=" + output + " debug=" + debug);
  rest.push_back("-o");
  rest.push_back("/dev/null");
  args = std::move(rest);
  return true;
}

int main(int argc, char **argv) {
  std::vector<std::string> args(argv, argv + argc);
  if (!expandReportFlags(args) || !expandEmitFlags(args))
    return 1;
  std::vector<char *> newArgv;
  for (std::string &arg : args)
    newArgv.push_back(arg.data());
  newArgv.push_back(nullptr);
  argc = static_cast<int>(args.size());
  argv = newArgv.data();

  mlir::DialectRegistry registry;
  registry.insert<attn::AttnDialect, mlir::func::FuncDialect,
                  mlir::arith::ArithDialect, mlir::math::MathDialect,
                  mlir::tensor::TensorDialect, mlir::scf::SCFDialect>();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  attn::registerAttnPasses();
  attn::codegen::registerCodegenPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "attn compiler driver: attention variants to kernels\n",
      registry));
}
