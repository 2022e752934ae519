//===- RuntimeTestSupport.h - JIT runtime test helpers ----------*- C++ -*-===//
//
// Temporary directories, host tensors exposed as DLPack (in BHSD or BSHD
// memory order), seeded inputs and the float64 reference from the
// interpreter, shared by the runtime's unit tests.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TEST_UNIT_RUNTIME_RUNTIMETESTSUPPORT_H
#define ATTN_TEST_UNIT_RUNTIME_RUNTIMETESTSUPPORT_H

#include "attn/Interpreter/Interpreter.h"
#include "attn/Runtime.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"

#include <dlpack/dlpack.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace attn::test {

/// A fresh directory under $TMPDIR, removed with its contents on
/// destruction.
class TempDir {
public:
  TempDir();
  ~TempDir();
  const std::string &path() const { return dir; }

private:
  std::string dir;
};

/// The text of examples/<name>.
std::string readExample(const std::string &name);

/// The signature the compiler gives examples/<name> (fails the test on a
/// compile error).
Signature exampleSignature(const std::string &name);

/// DLPack dtypes the tests build tensors of.
inline constexpr DLDataType kF16{kDLFloat, 16, 1}, kF32{kDLFloat, 32, 1},
    kI32{kDLInt, 32, 1};

/// Removes a directory tree.
void removeTree(const std::string &path);

/// The files under `dir` (recursively) whose name ends with `suffix`.
std::vector<std::string> filesUnder(const std::string &dir,
                                    const std::string &suffix);

/// A host tensor behind a DLTensor. Elements are stored in `dtype`; the
/// logical index order is always the IR's (B, H, S, D).
struct HostTensor {
  std::vector<uint64_t> storage; // 8-byte aligned
  std::vector<int64_t> shape, strides;
  DLTensor dl{};

  /// A tensor of `shape`; `bshd` swaps the memory order of dims 1 and 2 of
  /// a rank-4 tensor; `compact` leaves strides null (row-major).
  HostTensor(std::vector<int64_t> shape, DLDataType dtype, bool bshd,
             bool compact = false);
  /// The DLTensor points into this object: no copies.
  HostTensor(const HostTensor &) = delete;
  HostTensor &operator=(const HostTensor &) = delete;
  /// Stores `values` (row-major logical order), rounded to the dtype.
  void fill(const std::vector<double> &values);
  /// Fills every element with NaN (floats) so unwritten outputs show.
  void poison();
  /// The elements in row-major logical order.
  std::vector<double> read() const;
};

/// A parsed variant with its seeded inputs and float64 reference results.
struct Reference {
  std::unique_ptr<mlir::MLIRContext> ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::vector<attn::interp::Tensor> inputs, results;
  std::map<std::string, int64_t> sizes;
};

/// Parses `text`, binds nq/nk (and the batch when `b` > 0; others from the
/// IR or defaults), draws inputs with `seed` and runs the interpreter.
/// Fails the test on errors.
Reference makeReference(const std::string &text, int64_t nq, int64_t nk,
                        uint64_t seed, int64_t b = 0);

/// o and lse (empty when the variant has none) of a run on a reference's
/// inputs, read back in row-major logical order.
struct RunOutputs {
  Status status;
  std::vector<double> o, lse;
};

/// Runs `plan` on `ref`'s q, k and v, stored as `dtype` in BHSD order, and
/// its other inputs as the captures (typed as the plan's signature says),
/// with o (`dtype`) and lse (f32) poisoned first.
RunOutputs runOnReference(const Plan &plan, const Reference &ref,
                          DLDataType dtype, const RunOptions &options = {});

/// DLPack dtype of the IR's element type name ("f16", "f32", ...).
DLDataType dlType(mlir::Type type);

/// ‖a − b‖ / ‖b‖.
double relativeError(const std::vector<double> &a,
                     const std::vector<double> &b);

/// A RuntimeConfig with the disk cache at `dir`, dumps off and diagnostics
/// collected into `*lines` (when given).
RuntimeConfig testConfig(const std::string &dir,
                         std::vector<std::string> *lines = nullptr);

/// Runs `plan` (compiled from examples/causal.mlir) on a small ragged
/// problem with fresh random inputs and checks o and lse against the
/// interpreter: a loaded artifact must be a working one.
void expectCausalRunsCorrectly(const attn::Plan &plan);

/// The build tree's persistent cache shared by tests that do not inspect
/// cache counters (so each kernel is host-compiled once per build tree).
std::string sharedCacheDir();

} // namespace attn::test

#endif // ATTN_TEST_UNIT_RUNTIME_RUNTIMETESTSUPPORT_H
