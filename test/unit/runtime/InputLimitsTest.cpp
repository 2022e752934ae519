//===- InputLimitsTest.cpp - the runtime refuses what it cannot hold -------===//
//
// Input that would crash a host instead of failing: MLIR text nested deeper
// than MLIR's recursive parser can take (refused with its location, and
// compiled on a stack of the runtime's own whatever the host thread has),
// and runs whose host-side buffers exceed the memory left (refused by
// Plan::run with the figures).
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestSupport.h"

#include <gtest/gtest.h>

#include <pthread.h>

using namespace attn;
using namespace attn::test;

namespace {

std::string repeat(const std::string &s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i)
    out += s;
  return out;
}

/// A variant (examples/causal.mlir) preceded by a function whose argument
/// type nests `depth` tensor types.
std::string withNestedTensors(int depth) {
  return "func.func private @deep(%a: " + repeat("tensor<", depth) + "f32" +
         repeat(">", depth) + ")\n" + readExample("causal.mlir");
}

/// The message of compiling `text` on `rt` (empty when it compiles).
std::string compileError(Runtime &rt, const std::string &text) {
  CompileOptions options;
  options.device = DeviceKind::Emu;
  auto plan = rt.compileText(text, options, "deep.mlir");
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
      compileError(rt, "func.func private @deep(%c: i1) {\n" +
                           repeat("scf.if %c {\n", 10000) +
                           repeat("}\n", 10000) + "return\n}\n" +
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
