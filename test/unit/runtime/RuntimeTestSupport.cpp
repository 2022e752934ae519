//===- RuntimeTestSupport.cpp - helpers for the JIT runtime tests ---------===//

#include "RuntimeTestSupport.h"

#include "compiler/Frontend.h"

#include "attn/Interpreter/Inputs.h"
#include "attn/RuntimeMLIR.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Parser/Parser.h"

#include "llvm/ADT/APFloat.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace attn;
using namespace attn::test;

TempDir::TempDir() {
  const char *tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp && *tmp ? tmp : "/tmp") + "/attn-rt-test-XXXXXX";
  if (mkdtemp(pattern.data()))
    dir = pattern;
}

TempDir::~TempDir() {
  if (!dir.empty())
    removeTree(dir);
}

void attn::test::removeTree(const std::string &path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  // Tests make directories unwritable or unreadable on purpose: each is
  // opened up as it is reached (before the iterator descends into it).
  fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
  for (fs::recursive_directory_iterator
           it(path, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec))
    if (it->is_directory(ec) && !it->is_symlink(ec))
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add,
                      ec);
  fs::remove_all(path, ec);
}

std::vector<std::string> attn::test::filesUnder(const std::string &dir,
                                                const std::string &suffix) {
  std::vector<std::string> out;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..")
        continue;
      std::string child = dir + "/" + name;
      struct stat st;
      if (lstat(child.c_str(), &st) != 0)
        continue;
      if (S_ISDIR(st.st_mode)) {
        for (std::string &f : filesUnder(child, suffix))
          out.push_back(std::move(f));
      } else if (name.size() >= suffix.size() &&
                 name.compare(name.size() - suffix.size(), suffix.size(),
                              suffix) == 0) {
        out.push_back(child);
      }
    }
    closedir(d);
  }
  return out;
}

std::string attn::test::readExample(const std::string &name) {
  std::ifstream in(std::string(ATTN_EXAMPLES_DIR) + "/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

namespace {
unsigned elementBytes(DLDataType t) { return (t.bits + 7) / 8; }

const llvm::fltSemantics *semantics(DLDataType t) {
  if (t.code == kDLBfloat && t.bits == 16)
    return &llvm::APFloat::BFloat();
  if (t.code == kDLFloat && t.bits == 16)
    return &llvm::APFloat::IEEEhalf();
  if (t.code == kDLFloat && t.bits == 32)
    return &llvm::APFloat::IEEEsingle();
  if (t.code == kDLFloat && t.bits == 64)
    return &llvm::APFloat::IEEEdouble();
  return nullptr;
}

uint64_t encode(double x, DLDataType t) {
  if (const llvm::fltSemantics *s = semantics(t)) {
    llvm::APFloat v(x);
    bool lost = false;
    v.convert(*s, llvm::APFloat::rmNearestTiesToEven, &lost);
    return v.bitcastToAPInt().getZExtValue();
  }
  return static_cast<uint64_t>(static_cast<int64_t>(x));
}

double decode(uint64_t bits, DLDataType t) {
  if (const llvm::fltSemantics *s = semantics(t))
    return llvm::APFloat(*s, llvm::APInt(t.bits, bits)).convertToDouble();
  return static_cast<double>(llvm::APInt(t.bits, bits).getSExtValue());
}

/// Calls fn(linear index, element offset) for every element.
template <typename Fn>
void forEach(const std::vector<int64_t> &shape,
             const std::vector<int64_t> &strides, Fn fn) {
  int64_t count = 1;
  for (int64_t n : shape)
    count *= n;
  std::vector<int64_t> at(shape.size(), 0);
  for (int64_t i = 0; i < count; ++i) {
    int64_t offset = 0;
    for (size_t d = 0; d < at.size(); ++d)
      offset += at[d] * strides[d];
    fn(i, offset);
    for (size_t d = at.size(); d-- > 0;) {
      if (++at[d] < shape[d])
        break;
      at[d] = 0;
    }
  }
}
} // namespace

HostTensor::HostTensor(std::vector<int64_t> shapeIn, DLDataType dtype,
                       bool bshd, bool compact)
    : shape(std::move(shapeIn)) {
  size_t rank = shape.size();
  std::vector<size_t> order(rank);
  for (size_t d = 0; d < rank; ++d)
    order[d] = d;
  if (bshd && rank == 4)
    std::swap(order[1], order[2]);
  strides.assign(rank, 1);
  int64_t stride = 1;
  for (size_t k = rank; k-- > 0;) {
    strides[order[k]] = stride;
    stride *= shape[order[k]];
  }
  storage.assign((stride * elementBytes(dtype) + 7) / 8 + 1, 0);
  dl.data = storage.data();
  dl.device = {kDLCPU, 0};
  dl.ndim = static_cast<int>(rank);
  dl.dtype = dtype;
  dl.shape = shape.data();
  dl.strides = compact ? nullptr : strides.data();
  dl.byte_offset = 0;
}

void HostTensor::fill(const std::vector<double> &values) {
  unsigned size = elementBytes(dl.dtype);
  forEach(shape, strides, [&](int64_t i, int64_t offset) {
    uint64_t bits = encode(values[i], dl.dtype);
    std::memcpy(reinterpret_cast<char *>(storage.data()) + offset * size, &bits,
                size);
  });
}

void HostTensor::poison() {
  std::vector<double> nan(storage.size() * 8, NAN);
  fill(nan);
}

std::vector<double> HostTensor::read() const {
  std::vector<double> out;
  unsigned size = elementBytes(dl.dtype);
  forEach(shape, strides, [&](int64_t, int64_t offset) {
    uint64_t bits = 0;
    std::memcpy(&bits,
                reinterpret_cast<const char *>(storage.data()) + offset * size,
                size);
    out.push_back(decode(bits, dl.dtype));
  });
  return out;
}

DLDataType attn::test::dlType(mlir::Type type) {
  if (type.isF16())
    return {kDLFloat, 16, 1};
  if (type.isBF16())
    return {kDLBfloat, 16, 1};
  if (type.isF64())
    return {kDLFloat, 64, 1};
  if (type.isIndex())
    return {kDLInt, 64, 1};
  if (type.isInteger())
    return {kDLInt, static_cast<uint8_t>(type.getIntOrFloatBitWidth()), 1};
  return {kDLFloat, 32, 1};
}

Signature attn::test::exampleSignature(const std::string &name) {
  attn::jit::PlanSpec spec;
  std::string error;
  EXPECT_TRUE(attn::jit::compileVariantText(readExample(name), name, {}, &spec,
                                            &error))
      << error;
  return spec.signature;
}

Reference attn::test::makeReference(const std::string &text, int64_t nq,
                                    int64_t nk, uint64_t seed, int64_t b) {
  Reference r;
  mlir::DialectRegistry registry;
  attn::registerVariantDialects(registry);
  r.ctx = std::make_unique<mlir::MLIRContext>(registry);
  r.ctx->loadAllAvailableDialects();
  r.module = mlir::parseSourceString<mlir::ModuleOp>(
      text, mlir::ParserConfig(r.ctx.get()));
  EXPECT_TRUE(r.module);
  if (!r.module)
    return r;
  mlir::func::FuncOp func;
  for (auto f : r.module->getOps<mlir::func::FuncOp>())
    if (f.isPublic() && !f.isExternal())
      func = f;
  attn::interp::SizeBindings bindings;
  bindings.nq = nq;
  bindings.nk = nk;
  if (b > 0)
    bindings.b = b;
  auto shapes = attn::interp::bindShapes(func, bindings);
  EXPECT_TRUE(static_cast<bool>(shapes));
  if (!shapes) {
    llvm::consumeError(shapes.takeError());
    return r;
  }
  r.sizes = shapes->sizes;
  auto inputs = attn::interp::makeInputs(func, *shapes, seed);
  EXPECT_TRUE(static_cast<bool>(inputs));
  if (!inputs) {
    llvm::consumeError(inputs.takeError());
    return r;
  }
  r.inputs = *inputs;
  auto results = attn::interp::runFunction(func, r.inputs);
  EXPECT_TRUE(static_cast<bool>(results));
  if (!results) {
    llvm::consumeError(results.takeError());
    return r;
  }
  r.results = *results;
  return r;
}

attn::test::RunOutputs attn::test::runOnReference(const Plan &plan,
                                                  const Reference &ref,
                                                  DLDataType dtype,
                                                  const RunOptions &options) {
  DLDataType f32{kDLFloat, 32, 1};
  HostTensor q(ref.inputs[0].shape, dtype, false),
      k(ref.inputs[1].shape, dtype, false), v(ref.inputs[2].shape, dtype, false),
      o(ref.results[0].shape, dtype, false);
  q.fill(ref.inputs[0].data);
  k.fill(ref.inputs[1].data);
  v.fill(ref.inputs[2].data);
  o.poison();
  std::unique_ptr<HostTensor> lse;
  Arguments args;
  args.q = &q.dl;
  args.k = &k.dl;
  args.v = &v.dl;
  args.o = &o.dl;
  // The reference's other inputs are the captures, typed as the plan's
  // signature says.
  const Signature &sig = plan.signature();
  std::vector<std::unique_ptr<HostTensor>> captured;
  for (size_t i = 3; i < sig.inputs.size() && i < ref.inputs.size(); ++i) {
    if (!sig.inputs[i].isTensor) {
      args.captures.push_back(Capture::scalar(ref.inputs[i].data[0]));
      continue;
    }
    captured.push_back(std::make_unique<HostTensor>(ref.inputs[i].shape,
                                                    sig.inputs[i].dtype, false));
    captured.back()->fill(ref.inputs[i].data);
    args.captures.push_back(Capture::of(&captured.back()->dl));
  }
  if (ref.results.size() > 1) {
    lse = std::make_unique<HostTensor>(ref.results[1].shape, f32, false);
    lse->poison();
    args.lse = &lse->dl;
  }
  RunOutputs out;
  out.status = plan.run(args, options);
  out.o = o.read();
  if (lse)
    out.lse = lse->read();
  return out;
}

double attn::test::relativeError(const std::vector<double> &a,
                                 const std::vector<double> &b) {
  if (a.size() != b.size())
    return INFINITY;
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i]))
      return NAN;
    if (std::isinf(a[i]) || std::isinf(b[i])) {
      if (a[i] != b[i])
        return INFINITY;
      continue;
    }
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return norm == 0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

RuntimeConfig attn::test::testConfig(const std::string &dir,
                                     std::vector<std::string> *lines) {
  RuntimeConfig c;
  c.cacheDir = dir;
  c.diskCache = !dir.empty();
  c.dumpDir = "";
  if (lines)
    c.diagnostic = [lines](const std::string &line) { lines->push_back(line); };
  else
    c.diagnostic = [](const std::string &) {};
  return c;
}

std::string attn::test::sharedCacheDir() { return ATTN_TEST_CACHE_DIR; }

void attn::test::expectCausalRunsCorrectly(const Plan &plan) {
  static Reference ref = makeReference(readExample("causal.mlir"), 37, 37, 7);
  ASSERT_EQ(ref.results.size(), 2u);
  RunOutputs out = runOnReference(plan, ref, DLDataType{kDLFloat, 16, 1});
  ASSERT_TRUE(out.status.ok()) << out.status.message();
  EXPECT_LT(relativeError(out.o, ref.results[0].data), 2e-3);
  EXPECT_LT(relativeError(out.lse, ref.results[1].data), 1e-5);
}
