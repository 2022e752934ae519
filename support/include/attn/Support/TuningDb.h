//===- TuningDb.h - the tuning database: schedules by shape bucket -*- C++ -*-===//
//
// tools/tune/attn-tune writes, and attn-run (and, later, the runtime) reads,
// a JSON-lines file: a header line {"attn_tuning_db": 1} and one entry per
// line, keyed by the variant's fingerprint (attn/Passes/Fingerprint.h: its
// Level 1 function printed without locations), the element type, the arch
// and a shape bucket (ceil(log2 nq), ceil(log2 nk), ceil(log2 B*Hq)), with
// the schedule that won there and its score. A lookup takes the entry of the
// same variant, dtype and arch in the nearest bucket (smallest L1 distance;
// ties: measured before modelled, then the lower score). Plain C++ (the
// runtime links it without LLVM); the format is docs/tuning.md's.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SUPPORT_TUNINGDB_H
#define ATTN_SUPPORT_TUNINGDB_H

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace attn {

/// The format version of the header line.
inline constexpr int kTuningDbVersion = 1;

/// A schedule: attn-pipeline's knobs and the split-KV policy.
struct TuningSchedule {
  int64_t blockM = 0, blockN = 0, warps = 0, stages = 2;
  /// "auto", "simt" or "mma".
  std::string path = "auto";
  /// "auto", "never" or "always".
  std::string splitKv = "auto";
};

/// (ceil(log2 nq), ceil(log2 nk), ceil(log2 B*Hq)), each of max(1, x).
using TuningBucket = std::array<int64_t, 3>;

/// The bucket of a run.
TuningBucket tuningBucket(int64_t nq, int64_t nk, int64_t slices);

/// One entry.
struct TuningEntry {
  std::string irHash, function, dtype, arch;
  TuningBucket bucket{};
  TuningSchedule schedule;
  double scoreUs = 0;
  /// "measured" (a GPU) or "modelled" (the static cost model).
  std::string source;
  /// The line of the file it was read from (1-based).
  int line = 0;
};

/// A loaded database.
class TuningDb {
public:
  /// Reads `path`; false with a message naming the file and line for a file
  /// that cannot be read, a missing or other-version header, or a malformed
  /// entry.
  bool load(const std::string &path, std::string &error);

  /// The entry for (irHash, dtype, arch) nearest `bucket`, or null; its L1
  /// distance in `*distance`. An empty `arch` matches every arch.
  const TuningEntry *lookup(const std::string &irHash, const std::string &dtype,
                            const std::string &arch, const TuningBucket &bucket,
                            int64_t *distance) const;

  const std::vector<TuningEntry> &entries() const { return all; }

private:
  std::vector<TuningEntry> all;
};

} // namespace attn

#endif // ATTN_SUPPORT_TUNINGDB_H
