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

/// Every "N bytes spill stores/loads" line of a ptxas -v log says 0, and
/// there is at least one.
void expectNoSpills(const std::string &log) {
  std::regex spill(R"((\d+) bytes spill (stores|loads))");
  int reports = 0;
  for (std::sregex_iterator it(log.begin(), log.end(), spill), end; it != end;
       ++it, ++reports)
    EXPECT_EQ((*it)[1].str(), "0") << log;
  EXPECT_GT(reports, 0) << "no ptxas resource report in the log:\n" << log;
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
  expectNoSpills(out.log);
}

TEST_F(NvrtcCompileTest, Sm90PrimitivesAssembleForSm90a) {
  std::string hopper = readFile(ATTN_TEST_KERNEL_DIR "/sm90_primitives.cu");
  ASSERT_FALSE(hopper.empty());
  Nvrtc::Output out = nvrtc.compile(hopper, optionsFor("compute_90a"), false);
  ASSERT_EQ(out.status, 0) << out.log;
  for (const char *instruction :
       {"wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16",
        "wgmma.fence.sync.aligned", "wgmma.commit_group.sync.aligned",
        "wgmma.wait_group.sync.aligned", "mbarrier.init.shared::cta.b64",
        "mbarrier.arrive.expect_tx.shared::cta.b64",
        "mbarrier.try_wait.parity.shared::cta.b64",
        "mbarrier.arrive.shared::cta.b64", "bar.sync", "bar.arrive",
        "elect.sync", "setmaxnreg.inc.sync.aligned.u32",
        "setmaxnreg.dec.sync.aligned.u32", "fence.proxy.async.shared::cta",
        "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::"
        "bytes",
        "cp.async.bulk.tensor.2d.global.shared::cta.bulk_group",
        "cp.async.bulk.commit_group", "cp.async.bulk.wait_group.read",
        "prefetch.tensormap"})
    EXPECT_NE(out.ptx.find(instruction), std::string::npos)
        << "PTX lacks " << instruction;

  // ptxas accepts every instruction and keeps the consumer's accumulators in
  // registers, without spills.
  std::vector<std::string> options = optionsFor("sm_90a");
  options.push_back("--ptxas-options=-v");
  Nvrtc::Output cubin = nvrtc.compile(hopper, options, true);
  ASSERT_EQ(cubin.status, 0) << cubin.log;
  EXPECT_FALSE(cubin.cubin.empty());
  expectNoSpills(cubin.log);
  // No "Potential Performance Loss" advisory: ptxas reports there when it
  // serialises wgmmas (accumulators touched inside a pipeline stage) or
  // ignores setmaxnreg (no register count known at entry).
  EXPECT_EQ(cubin.log.find("Potential Performance Loss"), std::string::npos)
      << cubin.log;
}

// Every generated wgmma wrapper (wgmma_asm.h: each N, both input types,
// shared or register A, both majors) and every TMA and mbarrier form the
// kernel above does not use assemble for sm_90a.
TEST_F(NvrtcCompileTest, EveryWgmmaAndTmaFormAssembles) {
  std::string every = R"cu(
#include "attn/device/attn_device.h"
#include "attn/device/sm90.h"
using namespace attn::device;
template <typename T, int N>
__device__ void forms(uint64_t da, uint64_t db, const uint32_t (&a)[4],
                      float *out) {
  WgmmaAccumulator<N> acc;
  wgmma_fence();
  wgmma_ss<T, N>(acc, da, db, false);
  wgmma_ss<T, N, WgmmaMajor::MN, WgmmaMajor::MN>(acc, da, db, true);
  wgmma_rs<T, N>(acc, a, db, true);
  wgmma_rs<T, N, WgmmaMajor::MN>(acc, a, db, true);
  wgmma_commit_group();
  wgmma_wait_group<0>(acc);
  for (int i = 0; i < N / 2; ++i)
    out[threadIdx.x * (N / 2) + i] = acc[i];
}
extern "C" __global__ void __launch_bounds__(128, 1)
    every_wgmma(uint64_t da, uint64_t db, float *out) {
  const uint32_t a[4] = {threadIdx.x, 2 * threadIdx.x, 3, 4};
  forms<f16, 8>(da, db, a, out);
  forms<bf16, 8>(da, db, a, out);
  forms<f16, 16>(da, db, a, out);
  forms<bf16, 16>(da, db, a, out);
  forms<f16, 32>(da, db, a, out);
  forms<bf16, 32>(da, db, a, out);
  forms<f16, 64>(da, db, a, out);
  forms<bf16, 64>(da, db, a, out);
  forms<f16, 128>(da, db, a, out);
  forms<bf16, 128>(da, db, a, out);
  forms<f16, 256>(da, db, a, out);
  forms<bf16, 256>(da, db, a, out);
}
extern "C" __global__ void every_tma(const __grid_constant__ TensorMap map,
                                     int c) {
  ATTN_DYNAMIC_SHARED_1024(unsigned char, smem);
  auto *bar = reinterpret_cast<mbarrier_t *>(smem + 65536);
  mbarrier_init(bar, 1);
  mbarrier_expect_tx(bar, 3 * 4096);
  tma_load_3d(smem, &map, 0, c, c, bar);
  tma_load_4d(smem + 4096, &map, 0, c, c, c, bar);
  mbarrier_complete_tx(bar, 4096);
  mbarrier_arrive(bar);
  mbarrier_wait_parity(bar, 0);
  tma_store_3d(&map, 0, c, c, smem);
  tma_store_4d(&map, 0, c, c, c, smem + 4096);
  tma_store_commit_group();
  tma_store_wait_group_read<1>();
}
)cu";
  std::vector<std::string> options = optionsFor("sm_90a");
  Nvrtc::Output ptx = nvrtc.compile(every, optionsFor("compute_90a"), false);
  ASSERT_EQ(ptx.status, 0) << ptx.log;
  for (int n : {8, 16, 32, 64, 128, 256})
    for (const char *type : {"f16", "bf16"}) {
      std::string instruction = "wgmma.mma_async.sync.aligned.m64n" +
                                std::to_string(n) + "k16.f32." + type + "." +
                                type;
      size_t count = 0;
      for (size_t at = ptx.ptx.find(instruction); at != std::string::npos;
           at = ptx.ptx.find(instruction, at + 1))
        ++count;
      EXPECT_EQ(count, 4u) << instruction; // ss, ss MN, rs, rs MN
    }
  for (const char *instruction :
       {"cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx",
        "cp.async.bulk.tensor.4d.shared::cluster.global.mbarrier::complete_tx",
        "cp.async.bulk.tensor.3d.global.shared::cta.bulk_group",
        "cp.async.bulk.tensor.4d.global.shared::cta.bulk_group",
        "mbarrier.expect_tx.relaxed.cta.shared::cta.b64",
        "mbarrier.complete_tx.relaxed.cta.shared::cta.b64",
        "cp.async.bulk.wait_group.read 1"})
    EXPECT_NE(ptx.ptx.find(instruction), std::string::npos)
        << "PTX lacks " << instruction;
  Nvrtc::Output cubin = nvrtc.compile(every, options, true);
  ASSERT_EQ(cubin.status, 0) << cubin.log;
  EXPECT_FALSE(cubin.cubin.empty());
}

} // namespace
