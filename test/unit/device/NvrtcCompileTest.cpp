//===- NvrtcCompileTest.cpp - the device library's CUDA half under NVRTC
//----===//
//
// Compiles kernels/all_primitives.cu (every device primitive) and
// kernels/sm90_primitives.cu (the sm_90 ones, for sm_90a) with NVRTC,
// loaded with dlopen so that no GPU or link-time CUDA dependency is needed:
// PTX for compute_80 must contain the tensor-core, ldmatrix and cp.async
// instructions; a cubin for sm_90 must build without register spills.
// Skipped only when libnvrtc cannot be loaded.
//
//===----------------------------------------------------------------------===//

#include <gtest/gtest.h>

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
  // Never unloaded, as codegen's loader never unloads it: unloading NVRTC
  // leaves the memory of its own C++ runtime behind, which LeakSanitizer
  // (scripts/test-sanitizers.sh) reports as a leak of an unknown module.
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

std::string readFile(const std::string &path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::string> optionsFor(const std::string &arch) {
  return {"-std=c++17", "--include-path=" ATTN_CUDA_ROOT "/include",
          "--include-path=" ATTN_DEVICE_INCLUDE_DIR,
          "--include-path=" ATTN_TEST_KERNEL_DIR, "-arch=" + arch};
}

class NvrtcCompileTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!nvrtc.available())
      GTEST_SKIP() << "libnvrtc could not be loaded (looked for libnvrtc.so.13 "
                      "and " ATTN_CUDA_ROOT "/lib64/libnvrtc.so)";
    source = readFile(ATTN_TEST_KERNEL_DIR "/all_primitives.cu");
    ASSERT_FALSE(source.empty());
  }
  Nvrtc nvrtc;
  std::string source;
};

TEST_F(NvrtcCompileTest, PtxForSm80UsesTheHardwareInstructions) {
  Nvrtc::Output out = nvrtc.compile(source, optionsFor("compute_80"), false);
  ASSERT_EQ(out.status, 0) << out.log;
  for (const char *instruction :
       {"mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32",
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32",
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16",
        "ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16",
        "ldmatrix.sync.aligned.m8n8.x1.shared.b16", "cp.async.cg.shared.global",
        "cp.async.ca.shared.global", "cp.async.commit_group",
        "cp.async.wait_group", "ex2.approx.ftz.f32", "shfl.sync.bfly"})
    EXPECT_NE(out.ptx.find(instruction), std::string::npos)
        << "PTX lacks " << instruction;
}

TEST_F(NvrtcCompileTest, CubinForSm90HasNoSpills) {
  std::vector<std::string> options = optionsFor("sm_90");
  options.push_back("--ptxas-options=-v");
  Nvrtc::Output out = nvrtc.compile(source, options, true);
  ASSERT_EQ(out.status, 0) << out.log;
  EXPECT_FALSE(out.cubin.empty());
  std::regex spill(R"((\d+) bytes spill (stores|loads))");
  int reports = 0;
  for (std::sregex_iterator it(out.log.begin(), out.log.end(), spill), end;
       it != end; ++it, ++reports)
    EXPECT_EQ((*it)[1].str(), "0") << out.log;
  EXPECT_GT(reports, 0) << "no ptxas resource report in the log:\n" << out.log;
}

TEST_F(NvrtcCompileTest, Sm90PrimitivesAssembleForSm90a) {
  std::string hopper = readFile(ATTN_TEST_KERNEL_DIR "/sm90_primitives.cu");
  ASSERT_FALSE(hopper.empty());
  Nvrtc::Output out = nvrtc.compile(hopper, optionsFor("compute_90a"), false);
  ASSERT_EQ(out.status, 0) << out.log;
  for (const char *instruction :
       {"wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16",
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16",
        "wgmma.fence.sync.aligned",
        "wgmma.commit_group.sync.aligned",
        "wgmma.wait_group.sync.aligned",
        "mbarrier.init.shared::cta.b64",
        "mbarrier.arrive.expect_tx.shared::cta.b64",
        "mbarrier.complete_tx.relaxed.cta.shared::cta.b64",
        "mbarrier.try_wait.parity.shared::cta.b64",
        "mbarrier.arrive.shared::cta.b64",
        "bar.sync",
        "bar.arrive",
        "elect.sync",
        "setmaxnreg.inc.sync.aligned.u32",
        "setmaxnreg.dec.sync.aligned.u32",
        "fence.proxy.async.shared::cta",
        "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::"
        "bytes",
        "cp.async.bulk.tensor.3d.global.shared::cta.bulk_group",
        "cp.async.bulk.commit_group",
        "cp.async.bulk.wait_group.read",
        "prefetch.tensormap"})
    EXPECT_NE(out.ptx.find(instruction), std::string::npos)
        << "PTX lacks " << instruction;

  // ptxas accepts every instruction and keeps the 96 accumulator registers
  // of the consumer in registers, without spills.
  std::vector<std::string> options = optionsFor("sm_90a");
  options.push_back("--ptxas-options=-v");
  Nvrtc::Output cubin = nvrtc.compile(hopper, options, true);
  ASSERT_EQ(cubin.status, 0) << cubin.log;
  EXPECT_FALSE(cubin.cubin.empty());
  std::regex spill(R"((\d+) bytes spill (stores|loads))");
  int reports = 0;
  for (std::sregex_iterator it(cubin.log.begin(), cubin.log.end(), spill), end;
       it != end; ++it, ++reports)
    EXPECT_EQ((*it)[1].str(), "0") << cubin.log;
  EXPECT_GT(reports, 0) << cubin.log;
  // No "Potential Performance Loss" advisory: ptxas reports there when it
  // serialises wgmmas (accumulators touched inside a pipeline stage) or
  // ignores setmaxnreg (no register count known at entry).
  EXPECT_EQ(cubin.log.find("Potential Performance Loss"), std::string::npos)
      << cubin.log;
}

} // namespace
