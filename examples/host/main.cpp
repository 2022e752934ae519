//===- main.cpp - a C++ host of the attn runtime --------------------------===//
//
// Compiles a causal softmax variant (examples/causal.mlir) with the attn
// runtime, runs it on random inputs held in DLPack tensors (device `auto`:
// a GPU when one is visible, else the CPU emulator) and checks the output
// against a plain float64 causal softmax attention computed here.
//
//   attn-host-example examples/causal.mlir [--device=auto|cuda|emu]
//                     [--b=2] [--nq=100] [--nk=100] [--seed=1] [--race]
//
// --race (emu): the run is also race-checked under ThreadSanitizer
// (RunOptions::raceCheck) and the reports are printed; any fails the run.
//
// With --builder instead of a file, the same variant is built in C++ with
// attn::VariantBuilder (attn/VariantBuilder.h), no MLIR text in the host.
//
//===----------------------------------------------------------------------===//

#include <attn/Runtime.h>
#include <attn/VariantBuilder.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

//===- f16 / bf16 conversions (round to nearest even) ---------------------===//

uint16_t toHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  int32_t exponent = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
  uint32_t mantissa = x & 0x7fffffu;
  if (((x >> 23) & 0xff) == 0xff) // inf / nan
    return static_cast<uint16_t>(sign | 0x7c00u | (mantissa ? 0x200u : 0));
  if (exponent >= 31)
    return static_cast<uint16_t>(sign | 0x7c00u);
  if (exponent <= 0) { // subnormal or zero
    if (exponent < -10)
      return static_cast<uint16_t>(sign);
    mantissa |= 0x800000u;
    uint32_t shift = static_cast<uint32_t>(14 - exponent);
    uint32_t half = mantissa >> shift, rest = mantissa & ((1u << shift) - 1);
    uint32_t midpoint = 1u << (shift - 1);
    if (rest > midpoint || (rest == midpoint && (half & 1)))
      ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half =
      sign | (static_cast<uint32_t>(exponent) << 10) | (mantissa >> 13);
  uint32_t rest = mantissa & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1)))
    ++half; // may carry into the exponent: still correct
  return static_cast<uint16_t>(half);
}

float fromHalf(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exponent = (h >> 10) & 0x1f,
           mantissa = h & 0x3ffu;
  uint32_t x;
  if (exponent == 0x1f) {
    x = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent == 0) {
    float f = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -f : f;
  } else {
    x = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

uint16_t toBf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((x >> 16) | 0x40);
  x += 0x7fffu + ((x >> 16) & 1);
  return static_cast<uint16_t>(x >> 16);
}

float fromBf16(uint16_t b) {
  uint32_t x = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

//===- Host tensors -------------------------------------------------------===//

/// A tensor's elements as bytes in the plan's dtype, compact row-major.
struct HostData {
  DLDataType dtype;
  std::vector<int64_t> shape;
  std::vector<unsigned char> bytes;

  size_t count() const {
    size_t n = 1;
    for (int64_t d : shape)
      n *= static_cast<size_t>(d);
    return n;
  }
  unsigned elementBytes() const { return dtype.bits / 8; }

  HostData(DLDataType dtype, std::vector<int64_t> shape)
      : dtype(dtype), shape(std::move(shape)) {
    bytes.resize(count() * elementBytes());
  }
  /// Stores `x` rounded to the dtype; returns the rounded value.
  double set(size_t i, double x) {
    if (dtype.bits == 32) {
      float f = static_cast<float>(x);
      std::memcpy(&bytes[i * 4], &f, 4);
      return f;
    }
    uint16_t bits = dtype.code == kDLBfloat ? toBf16(static_cast<float>(x))
                                            : toHalf(static_cast<float>(x));
    std::memcpy(&bytes[i * 2], &bits, 2);
    return get(i);
  }
  double get(size_t i) const {
    if (dtype.bits == 32) {
      float f;
      std::memcpy(&f, &bytes[i * 4], 4);
      return f;
    }
    uint16_t bits;
    std::memcpy(&bits, &bytes[i * 2], 2);
    return dtype.code == kDLBfloat ? fromBf16(bits) : fromHalf(bits);
  }
};

/// The data on the plan's device, and the DLTensor describing it.
struct DeviceTensor {
  attn::Buffer buffer;
  std::vector<int64_t> shape;
  DLTensor dl{};
};

bool upload(attn::Runtime &rt, attn::DeviceKind device, const HostData &h,
            DeviceTensor &out) {
  auto buffer = rt.allocate(device, h.bytes.size());
  if (!buffer) {
    std::fprintf(stderr, "error: %s\n", buffer.message().c_str());
    return false;
  }
  out.buffer = *buffer;
  attn::Status s = out.buffer.copyFromHost(h.bytes.data(), h.bytes.size());
  if (!s.ok()) {
    std::fprintf(stderr, "error: %s\n", s.message().c_str());
    return false;
  }
  out.shape = h.shape;
  out.dl.data = out.buffer.data();
  out.dl.device = out.buffer.dlDevice();
  out.dl.ndim = static_cast<int>(out.shape.size());
  out.dl.dtype = h.dtype;
  out.dl.shape = out.shape.data();
  out.dl.strides = nullptr; // compact row-major: BHSD
  out.dl.byte_offset = 0;
  return true;
}

//===- The float64 reference ----------------------------------------------===//

/// Causal (j <= i) softmax attention with scale 1/sqrt(D), in float64.
void reference(const HostData &q, const HostData &k, const HostData &v,
               std::vector<double> &o, std::vector<double> &lse) {
  int64_t B = q.shape[0], Hq = q.shape[1], Nq = q.shape[2], D = q.shape[3];
  int64_t Hkv = k.shape[1], Nk = k.shape[2], Dv = v.shape[3];
  double scale = 1.0 / std::sqrt(static_cast<double>(D));
  o.assign(static_cast<size_t>(B * Hq * Nq * Dv), 0.0);
  lse.assign(static_cast<size_t>(B * Hq * Nq), -INFINITY);
  std::vector<double> s(static_cast<size_t>(Nk));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hq; ++h) {
      int64_t hk = h / (Hq / Hkv);
      for (int64_t i = 0; i < Nq; ++i) {
        double max = -INFINITY;
        for (int64_t j = 0; j < Nk; ++j) {
          if (j > i) {
            s[j] = -INFINITY;
            continue;
          }
          double dot = 0;
          for (int64_t d = 0; d < D; ++d)
            dot += q.get(((b * Hq + h) * Nq + i) * D + d) *
                   k.get(((b * Hkv + hk) * Nk + j) * D + d);
          s[j] = dot * scale;
          max = std::max(max, s[j]);
        }
        if (max == -INFINITY)
          continue; // no key attended: o = 0, lse = -inf
        double sum = 0;
        for (int64_t j = 0; j < Nk; ++j)
          sum += s[j] == -INFINITY ? 0 : std::exp(s[j] - max);
        lse[(b * Hq + h) * Nq + i] = max + std::log(sum);
        for (int64_t j = 0; j < Nk; ++j) {
          if (s[j] == -INFINITY)
            continue;
          double p = std::exp(s[j] - max) / sum;
          for (int64_t d = 0; d < Dv; ++d)
            o[((b * Hq + h) * Nq + i) * Dv + d] +=
                p * v.get(((b * Hkv + hk) * Nk + j) * Dv + d);
        }
      }
    }
}

double relativeError(const std::vector<double> &a,
                     const std::vector<double> &b) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isinf(b[i]) && a[i] == b[i])
      continue;
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return std::sqrt(diff / (norm > 0 ? norm : 1));
}

/// The value of `--name=value` in argv, or `fallback`.
long option(int argc, char **argv, const char *name, long fallback) {
  std::string prefix = std::string("--") + name + "=";
  for (int i = 2; i < argc; ++i)
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0)
      return std::strtol(argv[i] + prefix.size(), nullptr, 10);
  return fallback;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s <causal.mlir>|--builder [--device=auto|cuda|emu] "
                 "[--b=N] [--nq=N] [--nk=N] [--seed=N] [--race]\n",
                 argv[0]);
    return 2;
  }
  attn::CompileOptions options;
  attn::RunOptions runOptions;
  for (int i = 2; i < argc; ++i)
    if (std::strcmp(argv[i], "--race") == 0)
      runOptions.raceCheck = true;
  for (int i = 2; i < argc; ++i)
    if (std::strncmp(argv[i], "--device=", 9) == 0 &&
        !attn::parseDevice(argv[i] + 9, options.device)) {
      std::fprintf(stderr, "error: unknown device '%s'\n", argv[i] + 9);
      return 2;
    }
  attn::Runtime &rt = attn::Runtime::global();
  attn::Expected<attn::Plan> plan = attn::Status::error("no variant");
  if (std::strcmp(argv[1], "--builder") == 0) {
    // examples/causal.mlir, built in C++.
    attn::VariantBuilder causal("causal");
    causal.lse().mask(attn::mods::causal());
    attn::Expected<std::string> text = causal.toMlir();
    if (!text) {
      std::fprintf(stderr, "error: %s\n", text.message().c_str());
      return 2;
    }
    plan = rt.compileText(*text, options, "causal (VariantBuilder)");
  } else {
    plan = rt.compileFile(argv[1], options);
  }
  if (!plan) {
    std::fprintf(stderr, "error: %s\n", plan.message().c_str());
    return 2;
  }
  const attn::Signature &sig = plan->signature();
  if (sig.inputs.size() != 3) {
    std::fprintf(stderr, "error: this example runs variants without "
                         "captures\n");
    return 2;
  }
  // Sizes: static ones from the variant, the others from the command line.
  auto size = [&](const attn::ArgumentSignature &a, int d, long fallback) {
    return a.dims[d].size >= 0 ? a.dims[d].size : int64_t(fallback);
  };
  int64_t B = option(argc, argv, "b", 2), Nq = option(argc, argv, "nq", 100),
          Nk = option(argc, argv, "nk", Nq);
  int64_t Hq = size(sig.inputs[0], 1, 8), Hkv = size(sig.inputs[1], 1, Hq),
          D = size(sig.inputs[0], 3, 64), Dv = size(sig.inputs[2], 3, D);

  HostData q(sig.inputs[0].dtype, {B, Hq, Nq, D}),
      k(sig.inputs[1].dtype, {B, Hkv, Nk, D}),
      v(sig.inputs[2].dtype, {B, Hkv, Nk, Dv}),
      o(sig.outputs[0].dtype, {B, Hq, Nq, Dv});
  std::mt19937_64 rng(static_cast<uint64_t>(option(argc, argv, "seed", 1)));
  std::normal_distribution<double> normal;
  for (HostData *t : {&q, &k, &v})
    for (size_t i = 0; i < t->count(); ++i)
      t->set(i, normal(rng));

  attn::DeviceKind device = plan->device();
  DeviceTensor dq, dk, dv, dout, dlse;
  HostData lse({kDLFloat, 32, 1}, {B, Hq, Nq});
  if (!upload(rt, device, q, dq) || !upload(rt, device, k, dk) ||
      !upload(rt, device, v, dv) || !upload(rt, device, o, dout) ||
      !upload(rt, device, lse, dlse))
    return 2;
  attn::Arguments args;
  args.q = &dq.dl;
  args.k = &dk.dl;
  args.v = &dv.dl;
  args.o = &dout.dl;
  args.lse = sig.hasLse() ? &dlse.dl : nullptr;
  attn::RunStats stats;
  attn::Status status = plan->run(args, runOptions, &stats);
  if (!status.ok()) {
    std::fprintf(stderr, "error: %s\n", status.message().c_str());
    return 2;
  }
  if (runOptions.raceCheck) {
    std::printf("race: %zu ThreadSanitizer reports, %u data races\n",
                stats.raceReports.size(), stats.dataRaces);
    for (const std::string &report : stats.raceReports)
      std::printf("%s", report.c_str());
    if (!stats.raceReports.empty())
      return 1;
  }
  if (!dout.buffer.copyToHost(o.bytes.data(), o.bytes.size()).ok() ||
      !dlse.buffer.copyToHost(lse.bytes.data(), lse.bytes.size()).ok()) {
    std::fprintf(stderr, "error: cannot read the results back\n");
    return 2;
  }

  std::vector<double> refO, refLse, gotO(o.count()), gotLse(lse.count());
  reference(q, k, v, refO, refLse);
  double checksum = 0;
  for (size_t i = 0; i < o.count(); ++i) {
    gotO[i] = o.get(i);
    checksum += gotO[i];
  }
  for (size_t i = 0; i < lse.count(); ++i)
    gotLse[i] = lse.get(i);
  double errO = relativeError(gotO, refO);
  double errLse = sig.hasLse() ? relativeError(gotLse, refLse) : 0;
  // f16/bf16 inputs, f32 arithmetic and f16/bf16 output rounding.
  double tol = sig.outputs[0].dtype.bits == 32          ? 1e-5
               : sig.outputs[0].dtype.code == kDLBfloat ? 1.6e-2
                                                        : 2e-3;
  bool pass = errO <= tol && errLse <= 1e-5;
  std::printf("device: %s  kernel: %s (%s, %lld threads)\n",
              attn::deviceName(device), plan->kernel().name.c_str(),
              plan->kernel().path.c_str(),
              static_cast<long long>(plan->kernel().threads));
  std::printf("sizes: b=%lld hq=%lld hkv=%lld nq=%lld nk=%lld d=%lld\n",
              static_cast<long long>(B), static_cast<long long>(Hq),
              static_cast<long long>(Hkv), static_cast<long long>(Nq),
              static_cast<long long>(Nk), static_cast<long long>(D));
  std::printf("checksum(o): %.6f\n", checksum);
  std::printf("rel_err o: %.3e  lse: %.3e  tol %.1e  %s\n", errO, errLse, tol,
              pass ? "PASS" : "FAIL");
  return pass ? 0 : 1;
}
