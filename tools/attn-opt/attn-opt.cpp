//===- attn-opt.cpp - the attn compiler driver ----------------------------===//
//
// mlir-opt for attn: parses, verifies, runs passes and prints IR. Registers
// the attn dialect with the upstream dialects its regions and cascades use,
// and adds `--report=json` (tile and pass-count report for concrete sizes),
// `--emit=cuda` (CUDA C++ from kernel IR instead of MLIR) and
// `--emit=ptx|cubin --arch=sm_XX` (that CUDA compiled with NVRTC; with
// `--report=json`, ptxas' per-kernel resources instead of the tile report).
//
//===----------------------------------------------------------------------===//

#include "attn/Codegen/CudaEmitter.h"
#include "attn/Codegen/Nvrtc.h"
#include "attn/Dialect/AttnDialect.h"
#include "attn/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/DialectRegistry.h"
#include "attn/Support/SourceNesting.h"

#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ProgramStack.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

/// Rewrites the `--report=json` shorthand into the -attn-report pass:
/// `--report=json --nq=N --nk=N --b=N --block-m=M --block-n=N --captures=..`
/// becomes `--attn-report="nq=N nk=N ..."` and, unless an output file is
/// given, `-o /dev/null` so that only the JSON reaches stdout. Returns false
/// (after printing why) for an unknown report format.
static const char *const reportOptions[] = {"nq",      "nk",      "b",
                                            "block-m", "block-n", "captures"};

/// True if `args` asks for PTX or a cubin: then `--report=json` means the
/// resource report of the emit pass (expandEmitFlags), not -attn-report.
static bool emitsCompiled(const std::vector<std::string> &args) {
  for (const std::string &arg : args)
    if (arg == "--emit=ptx" || arg == "--emit=cubin")
      return true;
  return false;
}

static bool expandReportFlags(std::vector<std::string> &args) {
  if (emitsCompiled(args))
    return true;
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

/// Rewrites `--emit=cuda|ptx|cubin [--arch=sm_XX] [--report=json]
/// [--emit-debug=MODE] [--emit-path=auto|simt|mma]` into the -attn-emit-cuda pass at the end of the
/// pipeline, writing to the `-o` file (stdout by default) while the MLIR
/// output goes to /dev/null. `--emit=mlir` is the default. A cubin is binary,
/// so it needs `-o` (`-o -` for stdout) unless `--report=json` asks for the
/// resource report only. Returns false (after printing why) for bad flags.
static bool expandEmitFlags(std::vector<std::string> &args) {
  std::string format = "mlir", output = "-", debug = "none", arch,
              path = "auto";
  bool report = false, hasOutput = false;
  std::vector<std::string> kept;
  for (size_t k = 0; k < args.size(); ++k) {
    llvm::StringRef a(args[k]);
    if (a.consume_front("--emit=")) {
      if (a != "cuda" && a != "mlir" && a != "ptx" && a != "cubin") {
        llvm::errs() << "attn-opt: unknown --emit format '" << a
                     << "' (supported: mlir, cuda, ptx, cubin)\n";
        return false;
      }
      format = a.str();
      continue;
    }
    if (a.consume_front("--emit-debug=")) {
      debug = a.str();
      continue;
    }
    if (a.consume_front("--emit-path=")) {
      path = a.str();
      continue;
    }
    if (a.consume_front("--arch=")) {
      arch = a.str();
      continue;
    }
    // Only left over when emitsCompiled(): the resource report.
    if (a == "--report=json") {
      report = true;
      continue;
    }
    kept.push_back(args[k]);
  }
  bool compiled = format == "ptx" || format == "cubin";
  if (!compiled && !arch.empty()) {
    llvm::errs() << "attn-opt: --arch needs --emit=ptx or --emit=cubin\n";
    return false;
  }
  if (compiled) {
    if (arch.empty()) {
      llvm::errs() << "attn-opt: --emit=" << format
                   << " needs --arch=sm_80|sm_86|sm_89|sm_90|sm_90a\n";
      return false;
    }
    if (!attn::codegen::lookupCudaArch(arch)) {
      llvm::errs() << "attn-opt: unknown --arch '" << arch
                   << "' (supported: " << attn::codegen::supportedCudaArchs()
                   << ")\n";
      return false;
    }
    if (report && format != "cubin") {
      llvm::errs() << "attn-opt: --report=json with --emit=" << format
                   << ": resources come from ptxas; use --emit=cubin\n";
      return false;
    }
    for (const std::string &arg : kept)
      for (const char *name : reportOptions)
        if (llvm::StringRef(arg).starts_with(std::string("--") + name + "=")) {
          llvm::errs() << "attn-opt: " << arg
                       << " is a tile-report option; with --emit=" << format
                       << " --report=json is the resource report\n";
          return false;
        }
  }
  if (format == "mlir") {
    if (debug != "none" || path != "auto") {
      llvm::errs() << "attn-opt: --emit-debug and --emit-path need "
                      "--emit=cuda|ptx|cubin\n";
      return false;
    }
    // Drop the consumed --emit=mlir (MlirOptMain does not know it).
    args = std::move(kept);
    return true;
  }
  // Take over -o: the emitted output goes there, the MLIR nowhere.
  std::vector<std::string> rest;
  for (size_t k = 0; k < kept.size(); ++k) {
    llvm::StringRef a(kept[k]);
    if (a == "-o" && k + 1 < kept.size()) {
      output = kept[++k];
      hasOutput = true;
      continue;
    }
    if (a.consume_front("-o=") || a.consume_front("--o=")) {
      output = a.str();
      hasOutput = true;
      continue;
    }
    rest.push_back(kept[k]);
  }
  if (format == "cubin" && !hasOutput) {
    if (!report) {
      llvm::errs() << "attn-opt: --emit=cubin writes a binary: give -o FILE "
                      "(-o - for stdout)\n";
      return false;
    }
    // Only the resource report was asked for.
    output = "/dev/null";
  }
  std::string options =
      "output=" + output + " debug=" + debug + " path=" + path;
  if (compiled)
    options +=
        " format=" + format + " arch=" + arch + (report ? " report=json" : "");
  std::string pass = "attn-emit-cuda{" + options + "}";
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
    rest.push_back("--attn-emit-cuda=" + options);
  rest.push_back("-o");
  rest.push_back("/dev/null");
  args = std::move(rest);
  return true;
}

int main(int argc, char **argv) {
  std::vector<std::string> args(argv, argv + argc);
  if (!expandReportFlags(args) || !expandEmitFlags(args))
    return 1;
  // A diagnostic names its file:line:col; dumping the whole module after it
  // (MLIR's default) buries the message. --mlir-print-op-on-diagnostic=true
  // brings the dump back.
  if (llvm::none_of(args, [](const std::string &a) {
        return llvm::StringRef(a).starts_with("--mlir-print-op-on-diagnostic");
      }))
    args.insert(args.begin() + 1, "--mlir-print-op-on-diagnostic=false");
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
  // MlirOptMain(argc, argv, ...) unrolled so that the input can be checked
  // before MLIR parses it: nesting deeper than attn accepts is an error with
  // its line and column, never a stack overflow; what the check cannot see
  // runs on a large stack.
  auto [inputFilename, outputFilename] = mlir::registerAndParseCLIOptions(
      argc, argv, "attn compiler driver: attention variants to kernels\n",
      registry);
  llvm::InitLLVM initLLVM(argc, argv);
  mlir::MlirOptMainConfig config =
      mlir::MlirOptMainConfig::createFromCLOptions();
  // Listing dialects or passes reads no input.
  if (config.shouldShowDialects() || config.shouldListPasses())
    return mlir::asMainReturnCode(mlir::MlirOptMain(
        llvm::outs(), llvm::MemoryBuffer::getMemBuffer(""), registry, config));
  std::string errorMessage;
  std::unique_ptr<llvm::MemoryBuffer> input =
      mlir::openInputFile(inputFilename, &errorMessage);
  if (!input) {
    llvm::errs() << errorMessage << "\n";
    return 1;
  }
  llvm::StringRef text = input->getBuffer();
  if (auto deep = attn::findDeepNesting({text.data(), text.size()})) {
    llvm::errs() << attn::formatDeepNesting(input->getBufferIdentifier().str(),
                                            *deep)
                 << "\n";
    return 1;
  }
  std::unique_ptr<llvm::ToolOutputFile> output =
      mlir::openOutputFile(outputFilename, &errorMessage);
  if (!output) {
    llvm::errs() << errorMessage << "\n";
    return 1;
  }
  mlir::LogicalResult result = mlir::failure();
  llvm::runOnNewStack(attn::kCompilerStackBytes, [&] {
    result =
        mlir::MlirOptMain(output->os(), std::move(input), registry, config);
  });
  if (mlir::failed(result))
    return 1;
  output->keep();
  return 0;
}
