//===- NvrtcEmitTest.cpp - emitted kernels compile under NVRTC -------------===//
//
// Every example, compiled to kernel IR and emitted as CUDA, must compile with
// NVRTC (loaded with dlopen; no GPU needed) to a cubin for sm_80 and sm_90
// with no register spills in ptxas' -v report. Prints registers, stack frame
// and compile time per kernel. Skipped only when libnvrtc cannot be loaded.
//
//===----------------------------------------------------------------------===//

#include "attn/Codegen/CudaEmitter.h"
#include "attn/Dialect/AttnDialect.h"
#include "attn/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

#include <gtest/gtest.h>

#include <chrono>
#include <dlfcn.h>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

/// The few NVRTC entry points the test needs, resolved at run time.
class Nvrtc {
public:
  using Program = void *;

  Nvrtc() {
    for (const char *name :
         {"libnvrtc.so.13", ATTN_CUDA_ROOT "/lib64/libnvrtc.so", "libnvrtc.so"})
      if ((handle = dlopen(name, RTLD_NOW | RTLD_LOCAL)))
        break;
    if (!handle)
      return;
    bool all = resolve(createProgram, "nvrtcCreateProgram") &&
               resolve(compileProgram, "nvrtcCompileProgram") &&
               resolve(getLogSize, "nvrtcGetProgramLogSize") &&
               resolve(getLog, "nvrtcGetProgramLog") &&
               resolve(getPtxSize, "nvrtcGetPTXSize") &&
               resolve(getPtx, "nvrtcGetPTX") &&
               resolve(getCubinSize, "nvrtcGetCUBINSize") &&
               resolve(getCubin, "nvrtcGetCUBIN") &&
               resolve(destroyProgram, "nvrtcDestroyProgram");
    if (!all) {
      dlclose(handle);
      handle = nullptr;
    }
  }
  ~Nvrtc() {
    if (handle)
      dlclose(handle);
  }
  bool available() const { return handle != nullptr; }

  struct Output {
    int status = -1;
    std::string log, ptx, cubin;
  };

  /// Compiles `source`; PTX for compute_* targets, a cubin for sm_* ones.
  Output compile(const std::string &source,
                 const std::vector<std::string> &options, bool wantCubin) {
    Output out;
    Program program = nullptr;
    if (createProgram(&program, source.c_str(), "all_primitives.cu", 0,
                      nullptr, nullptr) != 0)
      return out;
    std::vector<const char *> argv;
    for (const std::string &o : options)
      argv.push_back(o.c_str());
    out.status = compileProgram(program, static_cast<int>(argv.size()),
                                argv.data());
    size_t size = 0;
    getLogSize(program, &size);
    out.log.resize(size);
    getLog(program, out.log.data());
    if (out.status == 0) {
      std::string &dest = wantCubin ? out.cubin : out.ptx;
      (wantCubin ? getCubinSize : getPtxSize)(program, &size);
      dest.resize(size);
      (wantCubin ? getCubin : getPtx)(program, dest.data());
    }
    destroyProgram(&program);
    return out;
  }

private:
  template <typename Fn> bool resolve(Fn &fn, const char *name) {
    fn = reinterpret_cast<Fn>(dlsym(handle, name));
    return fn != nullptr;
  }

  void *handle = nullptr;
  int (*createProgram)(Program *, const char *, const char *, int,
                       const char *const *, const char *const *) = nullptr;
  int (*compileProgram)(Program, int, const char *const *) = nullptr;
  int (*getLogSize)(Program, size_t *) = nullptr;
  int (*getLog)(Program, char *) = nullptr;
  int (*getPtxSize)(Program, size_t *) = nullptr;
  int (*getPtx)(Program, char *) = nullptr;
  int (*getCubinSize)(Program, size_t *) = nullptr;
  int (*getCubin)(Program, char *) = nullptr;
  int (*destroyProgram)(Program *) = nullptr;
};

class NvrtcEmitTest : public ::testing::TestWithParam<const char *> {};

TEST_P(NvrtcEmitTest, CompilesWithoutSpills) {
  Nvrtc nvrtc;
  if (!nvrtc.available())
    GTEST_SKIP() << "libnvrtc could not be loaded";
  mlir::DialectRegistry registry;
  registry.insert<attn::AttnDialect, mlir::func::FuncDialect,
                  mlir::arith::ArithDialect, mlir::math::MathDialect,
                  mlir::tensor::TensorDialect, mlir::scf::SCFDialect>();
  mlir::MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  std::string path = std::string(ATTN_EXAMPLES_DIR "/") + GetParam() + ".mlir";
  auto module = mlir::parseSourceFile<mlir::ModuleOp>(path, &ctx);
  ASSERT_TRUE(module) << path;
  static bool registered = [] {
    attn::registerAttnPasses();
    mlir::registerCSEPass();
    return true;
  }();
  (void)registered;
  mlir::PassManager pm(&ctx);
  std::string errors;
  llvm::raw_string_ostream es(errors);
  ASSERT_TRUE(mlir::succeeded(mlir::parsePassPipeline(
      "attn-decompose,attn-tile{block-m=64},attn-online{tile-n=64},"
      "attn-fuse,cse",
      pm, es)))
      << errors;
  ASSERT_TRUE(mlir::succeeded(pm.run(*module)));
  mlir::func::FuncOp func;
  for (auto f : module->getOps<mlir::func::FuncOp>())
    if (f.isPublic() && !f.isExternal())
      func = f;
  auto kernel = attn::codegen::emitCudaKernel(func);
  ASSERT_TRUE(mlir::succeeded(kernel));
  for (const char *arch : {"sm_80", "sm_90"}) {
    auto t0 = std::chrono::steady_clock::now();
    Nvrtc::Output out = nvrtc.compile(
        kernel->source,
        {"-std=c++17", "--include-path=" ATTN_CUDA_ROOT "/include",
         "--include-path=" ATTN_RUNTIME_INCLUDE_DIR,
         std::string("-arch=") + arch, "--ptxas-options=-v"},
        true);
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - t0)
                         .count();
    ASSERT_EQ(out.status, 0) << arch << ":\n" << out.log;
    EXPECT_NE(out.log.find("0 bytes spill stores, 0 bytes spill loads"),
              std::string::npos)
        << arch << " spills:\n" << out.log;
    std::smatch m;
    std::string registers = std::regex_search(out.log, m,
                                              std::regex("Used (\\d+) registers"))
                                ? m[1].str()
                                : "?";
    std::string stack = std::regex_search(out.log, m,
                                          std::regex("(\\d+) bytes stack frame"))
                            ? m[1].str()
                            : "?";
    std::printf("  %-22s %s: %3s registers, %5s bytes stack, %.2f s\n",
                GetParam(), arch, registers.c_str(), stack.c_str(), seconds);
    RecordProperty(std::string(arch) + "_registers", registers);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Examples, NvrtcEmitTest,
    ::testing::Values("softmax", "causal", "causal_bottom_right",
                      "sliding_window", "alibi", "softcap", "sigmoid", "gqa",
                      "cross_attention", "prefix_lm", "document",
                      "neighborhood_2d"));

} // namespace
