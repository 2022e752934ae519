//===- InputLimitsTest.cpp - the runtime refuses what it cannot hold -------===//
//
// Input that would crash a host instead of failing: MLIR text nested deeper
// than MLIR's recursive parser can take (refused with its location, and
// compiled on a stack of the runtime's own whatever the host thread has),
// and runs whose host-side buffers exceed the memory left (refused by
// Plan::run with the figures).
//
//===----------------------------------------------------------------------===//

#include "NestedSource.h"
#include "RuntimeTestSupport.h"

#include <gtest/gtest.h>

#include <pthread.h>

using namespace attn;
using namespace attn::test;

namespace {

/// A variant (examples/causal.mlir) preceded by a function whose argument
/// type nests `depth` tensor types.
std::string withNestedTensors(int depth) {
  return nestedTensors(depth, "func.func private @deep") +
         readExample("causal.mlir");
}

/// `text` compiled for the emulator, as buffer `name`.
Expected<Plan> compileForEmu(Runtime &rt, const std::string &text,
                             const std::string &name) {
  CompileOptions options;
  options.device = DeviceKind::Emu;
  return rt.compileText(text, options, name);
}

/// The message of compiling `text` on `rt` (empty when it compiles).
std::string compileError(Runtime &rt, const std::string &text) {
  auto plan = compileForEmu(rt, text, "deep.mlir");
  return plan ? "" : plan.message();
}

/// Runs `fn` on a thread with a `stackBytes` stack, as a host might.
void onSmallStack(size_t stackBytes, void (*fn)(void *), void *arg) {
  struct Call {
    void (*fn)(void *);
    void *arg;
  } call{fn, arg};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stackBytes);
  pthread_t thread;
  ASSERT_EQ(pthread_create(
                &thread, &attr,
                [](void *p) -> void * {
                  auto *c = static_cast<Call *>(p);
                  c->fn(c->arg);
                  return nullptr;
                },
                &call),
            0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
}

} // namespace

// 20,000 nested `tensor<` and 10,000 nested regions overflowed the stack in
// MLIR's parser, inside the host process: now an error naming the buffer,
// line and column, from compileText (and compileFile, which reads the file
// and compiles its text).
TEST(InputLimits, DeepNestingIsAnErrorWithItsLocation) {
  TempDir dir;
  Runtime rt(testConfig(dir.path()));
  std::string tensors = compileError(rt, withNestedTensors(20000));
  EXPECT_EQ(tensors.rfind("deep.mlir:1:", 0), 0u) << tensors;
  EXPECT_NE(tensors.find(": error: nesting deeper than 256 levels"),
            std::string::npos)
      << tensors;
  std::string regions =
      compileError(rt, nestedRegions(10000, "func.func private @deep") +
                           readExample("causal.mlir"));
  EXPECT_EQ(regions.rfind("deep.mlir:257:", 0), 0u) << regions;
}

// Within the bound, parsing recurses ~250 levels: more than a small host
// thread's stack (128 KiB here), so the runtime compiles on its own stack.
// The nested type is invalid (a tensor of tensors): the parser's located
// error comes back, the host thread survives.
TEST(InputLimits, CompilesOnItsOwnStackWhateverTheHostThreadHas) {
  TempDir dir;
  Runtime rt(testConfig(dir.path()));
  struct Job {
    Runtime *rt;
    std::string message;
  } job{&rt, ""};
  onSmallStack(
      128 << 10,
      [](void *p) {
        auto *j = static_cast<Job *>(p);
        j->message = compileError(*j->rt, withNestedTensors(250));
      },
      &job);
  EXPECT_NE(job.message.find("deep.mlir:1:"), std::string::npos)
      << job.message;
  EXPECT_NE(job.message.find("invalid tensor element type"),
            std::string::npos)
      << job.message;
}

namespace {
/// A DLTensor of `shape` over `data` (strides may be null: compact).
DLTensor view(void *data, int64_t *shape, int64_t *strides, int ndim) {
  DLTensor t{};
  t.data = data;
  t.device = {kDLCPU, 0};
  t.ndim = ndim;
  t.dtype = kF16;
  t.shape = shape;
  t.strides = strides;
  return t;
}
} // namespace

// The host buffers Plan::run allocates for a run (here the lse workspace of
// 8 x 2^36 query rows, 2 TiB) are checked against the memory the machine
// has left before they are allocated: an error with the figures, never an
// out-of-memory abort. (Nothing is launched, so q and o need not be real:
// q broadcasts one row with zero strides, o's data is never touched.)
TEST(InputLimits, RunBuffersBeyondMemoryAreRefusedWithTheFigures) {
  Runtime rt(testConfig(sharedCacheDir()));
  auto plan = compileForEmu(rt, readExample("causal.mlir"), "causal.mlir");
  ASSERT_TRUE(plan) << plan.message();
  std::vector<uint16_t> row(64 * 16, 0x3c00); // 1.0
  int64_t nq = int64_t(1) << 36;
  int64_t qShape[4] = {1, 8, nq, 64}, qStrides[4] = {0, 0, 0, 1};
  int64_t kShape[4] = {1, 8, 16, 64}, kStrides[4] = {0, 0, 64, 1};
  int64_t oShape[4] = {1, 8, nq, 64};
  DLTensor q = view(row.data(), qShape, qStrides, 4),
           k = view(row.data(), kShape, kStrides, 4),
           o = view(row.data(), oShape, nullptr, 4);
  Arguments args;
  args.q = &q;
  args.k = &k;
  args.v = &k;
  args.o = &o;
  Status s = plan->run(args); // no lse: the runtime would provide it
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("the run's buffers (lse: 2.0 TiB) need 2.0 TiB "
                              "of host memory but ",
                              0),
            0u)
      << s.message();
}

// RunOptions::hostMemoryLimit sets the limit instead (attn-run passes what
// its --max-memory leaves): a decoding run's split-KV workspaces do not fit
// in 4 KiB, and run with the default limit.
TEST(InputLimits, HostMemoryLimitBoundsTheRunsBuffers) {
  Runtime rt(testConfig(sharedCacheDir()));
  auto plan = compileForEmu(rt, readExample("causal_bottom_right.mlir"),
                            "causal_bottom_right.mlir");
  ASSERT_TRUE(plan) << plan.message();
  Reference ref =
      makeReference(readExample("causal_bottom_right.mlir"), 1, 1000, 5);
  RunOptions run;
  run.splitKv = SplitKvMode::Always;
  run.hostMemoryLimit = 4096;
  RunOutputs out = runOnReference(*plan, ref, kF16, run);
  ASSERT_FALSE(out.status.ok());
  const std::string &message = out.status.message();
  EXPECT_EQ(message.rfind("the run's buffers (split-KV workspace 0: ", 0), 0u)
      << message;
  EXPECT_NE(message.find("but 4.0 KiB are available "
                         "(RunOptions::hostMemoryLimit)"),
            std::string::npos)
      << message;
  run.hostMemoryLimit = 0;
  out = runOnReference(*plan, ref, kF16, run);
  ASSERT_TRUE(out.status.ok()) << out.status.message();
  EXPECT_LT(relativeError(out.o, ref.results[0].data), 2e-3);
}
