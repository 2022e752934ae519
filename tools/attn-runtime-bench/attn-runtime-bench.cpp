//===- attn-runtime-bench.cpp - timings of the JIT runtime's caches -------===//
//
// A host of the runtime that links attn::runtime alone (no MLIR), as a C++
// application would, to measure what the caches buy:
//
//   attn-runtime-bench FILE [--device=emu|cuda|auto] [--run]
//       compiles FILE (and with --run launches it once on a tiny problem),
//       prints what the runtime did; run it twice with the same
//       ATTN_CACHE_DIR and time the second process to get the warm start;
//   attn-runtime-bench FILE --repeat=N
//       compiles FILE once, then N more times in the process, and prints
//       the median time of one repeated compile (compileFile and compileText);
//   attn-runtime-bench --cache-scan=N DIR
//       fills a disk cache at DIR with N entries of 19 KB (the size of
//       the 2,000-variant workload's average entry) and prints the median
//       time of the eviction scan every write runs, and of one hit.
//
//===----------------------------------------------------------------------===//

#include "attn/Runtime.h"

#include "DiskCache.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

/// Median microseconds per call of `fn` over `batches` batches of `n` calls.
template <typename Fn> double medianMicros(int n, int batches, Fn fn) {
  std::vector<double> perCall;
  for (int b = 0; b < batches; ++b) {
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i)
      if (!fn())
        return -1;
    double us =
        std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    perCall.push_back(us / n);
  }
  std::sort(perCall.begin(), perCall.end());
  return perCall[perCall.size() / 2];
}

/// Runs the plan once on a tiny problem (B=1, Nq=Nk=16, zero-filled inputs
/// are fine here: this measures launch overhead, not numerics).
bool runTiny(attn::Runtime &rt, const attn::Plan &plan) {
  const attn::Signature &sig = plan.signature();
  std::vector<attn::Buffer> buffers;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<DLTensor> tensors;
  tensors.reserve(8);
  shapes.reserve(8);
  auto make = [&](const attn::ArgumentSignature &a) -> DLTensor * {
    std::vector<int64_t> shape;
    for (const attn::DimSignature &d : a.dims)
      shape.push_back(d.size >= 0 ? d.size : (d.symbol == "b" ? 1 : 16));
    size_t bytes = (a.dtype.bits + 7) / 8;
    for (int64_t n : shape)
      bytes *= static_cast<size_t>(n);
    auto buffer = rt.allocate(plan.device(), bytes);
    if (!buffer)
      return nullptr;
    std::vector<char> zeros(bytes, 0);
    if (!buffer->copyFromHost(zeros.data(), bytes).ok())
      return nullptr;
    buffers.push_back(*buffer);
    shapes.push_back(shape);
    DLTensor t{};
    t.data = buffer->data();
    t.device = buffer->dlDevice();
    t.ndim = static_cast<int>(shape.size());
    t.dtype = a.dtype;
    t.shape = shapes.back().data();
    tensors.push_back(t);
    return &tensors.back();
  };
  if (sig.inputs.size() != 3) {
    std::fprintf(stderr, "--run supports variants without captures\n");
    return false;
  }
  attn::Arguments args;
  args.q = make(sig.inputs[0]);
  args.k = make(sig.inputs[1]);
  args.v = make(sig.inputs[2]);
  args.o = make(sig.outputs[0]);
  if (sig.hasLse())
    args.lse = make(sig.outputs[1]);
  attn::Status s = plan.run(args);
  if (!s.ok())
    std::fprintf(stderr, "error: %s\n", s.message().c_str());
  return s.ok();
}

std::string readFile(const char *path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// --cache-scan: the cost of the size bound (DiskCache::trim) and of a hit
/// (open, fstat, read, checksum, access time) in a cache of `entries`.
int benchCacheScan(int entries, const std::string &dir) {
  attn::jit::DiskCache cache(dir, true, nullptr);
  std::string payload(19000, 'x'), read;
  for (int i = 0; i < entries; ++i)
    if (!cache.write(i % 2 ? "emu" : "plan",
                     attn::jit::digestOf("entry " + std::to_string(i)), ".x",
                     payload))
      return 1;
  double scan = medianMicros(1, 11, [&] {
    cache.trim();
    return true;
  });
  int next = 0;
  double hit = medianMicros(entries / 11 + 1, 11, [&] {
    int i = 2 * (next++ % (entries / 2)) + 1;
    return cache.read("emu", attn::jit::digestOf("entry " + std::to_string(i)),
                      ".x", &read) == attn::jit::CacheRead::Hit;
  });
  std::printf("cache of %d entries (%.1f MB): eviction scan %.2f ms, hit of "
              "a 19 KB entry %.1f us\n",
              entries, entries * (payload.size() + 48) / 1e6, scan / 1000,
              hit);
  return hit < 0 ? 1 : 0;
}

} // namespace

int main(int argc, char **argv) {
  if (argc == 3 && std::strncmp(argv[1], "--cache-scan=", 13) == 0)
    return benchCacheScan(std::max(2, std::atoi(argv[1] + 13)), argv[2]);
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s FILE [--device=D] [--run] [--repeat=N]\n"
                 "       %s --cache-scan=N DIR\n",
                 argv[0], argv[0]);
    return 2;
  }
  attn::CompileOptions options;
  bool run = false;
  int repeat = 0;
  for (int i = 2; i < argc; ++i) {
    if (std::strncmp(argv[i], "--device=", 9) == 0) {
      if (!attn::parseDevice(argv[i] + 9, options.device))
        return 2;
    } else if (std::strcmp(argv[i], "--run") == 0) {
      run = true;
    } else if (std::strncmp(argv[i], "--repeat=", 9) == 0) {
      repeat = std::atoi(argv[i] + 9);
    } else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  attn::Runtime &rt = attn::Runtime::global();
  auto t0 = Clock::now();
  auto plan = rt.compileFile(argv[1], options);
  double compileMs =
      std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (!plan) {
    std::fprintf(stderr, "error: %s\n", plan.message().c_str());
    return 1;
  }
  attn::RuntimeStats s = rt.stats();
  std::printf("compile: %.3f ms (device %s; plan %s, artifact %s)\n", compileMs,
              attn::deviceName(plan->device()),
              s.planDiskHits ? "from disk" : "compiled",
              s.artifactDiskHits ? "from disk"
                                 : (s.nvrtcRuns ? "NVRTC" : "host compiler"));
  if (run && !runTiny(rt, *plan))
    return 1;
  if (repeat > 0) {
    std::string text = readFile(argv[1]);
    int batches = 11, n = std::max(1, repeat / batches);
    double file = medianMicros(n, batches, [&] {
      return static_cast<bool>(rt.compileFile(argv[1], options));
    });
    double textUs = medianMicros(n, batches, [&] {
      return static_cast<bool>(rt.compileText(text, options));
    });
    std::printf("repeated compile: compileFile %.2f us, compileText %.2f us "
                "(median of %d batches of %d; text %zu bytes)\n",
                file, textUs, batches, n, text.size());
    std::printf("memory hits: %llu of %llu compiles\n",
                static_cast<unsigned long long>(rt.stats().memoryHits),
                static_cast<unsigned long long>(rt.stats().compiles));
  }
  return 0;
}
