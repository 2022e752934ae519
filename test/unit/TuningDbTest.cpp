//===- TuningDbTest.cpp - the tuning database's reader and lookup ---------===//

#include "attn/Support/TuningDb.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

using namespace attn;

namespace {

/// A database file with `lines` after the header (or instead of it when
/// `header` is false), removed at the end of the test.
class DbFile {
public:
  DbFile(const std::string &lines, bool header = true) {
    path = ::testing::TempDir() + "attn-tuning-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name() +
           ".jsonl";
    std::ofstream out(path);
    if (header)
      out << "{\"attn_tuning_db\": 1}\n";
    out << lines;
  }
  ~DbFile() { std::remove(path.c_str()); }
  std::string path;
};

std::string entry(const std::string &hash, const std::string &arch,
                  const std::string &bucket, double score,
                  const std::string &source, int blockM) {
  return "{\"ir_hash\": \"" + hash +
         "\", \"function\": \"f\", \"dtype\": \"f16\", \"arch\": \"" + arch +
         "\", \"bucket\": " + bucket + ", \"score_us\": " +
         std::to_string(score) + ", \"source\": \"" + source +
         "\", \"schedule\": {\"block_m\": " + std::to_string(blockM) +
         ", \"block_n\": 64, \"warps\": 4, \"stages\": 2, \"path\": "
         "\"mma\", \"split_kv\": \"never\"}}\n";
}

TEST(TuningDbTest, BucketsAreCeilLog2) {
  EXPECT_EQ(tuningBucket(1, 1, 1), (TuningBucket{0, 0, 0}));
  EXPECT_EQ(tuningBucket(1000, 1024, 1025), (TuningBucket{10, 10, 11}));
  EXPECT_EQ(tuningBucket(0, 2, 3), (TuningBucket{0, 1, 2}));
}

TEST(TuningDbTest, TheNearestBucketOfTheSameKeyWins) {
  DbFile file(entry("aa", "sm_80", "[10, 10, 4]", 50, "modelled", 128) +
              entry("aa", "sm_80", "[4, 12, 4]", 20, "modelled", 16) +
              entry("aa", "sm_90", "[10, 10, 4]", 10, "modelled", 64) +
              entry("bb", "sm_80", "[10, 10, 4]", 5, "modelled", 32));
  TuningDb db;
  std::string error;
  ASSERT_TRUE(db.load(file.path, error)) << error;
  ASSERT_EQ(db.entries().size(), 4u);
  int64_t distance = -1;
  const TuningEntry *e = db.lookup("aa", "f16", "sm_80", {11, 11, 4}, &distance);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->schedule.blockM, 128);
  EXPECT_EQ(distance, 2);
  EXPECT_EQ(e->line, 2);
  e = db.lookup("aa", "f16", "sm_80", {0, 13, 4}, &distance);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->schedule.blockM, 16);
  // Another arch, dtype or variant: nothing.
  EXPECT_EQ(db.lookup("aa", "f16", "sm_86", {10, 10, 4}, nullptr), nullptr);
  EXPECT_EQ(db.lookup("aa", "bf16", "sm_80", {10, 10, 4}, nullptr), nullptr);
  EXPECT_EQ(db.lookup("cc", "f16", "sm_80", {10, 10, 4}, nullptr), nullptr);
  // No arch: every arch's entries (sm_90's is as near and scores lower).
  e = db.lookup("aa", "f16", "", {10, 10, 4}, &distance);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->arch, "sm_90");
  EXPECT_EQ(distance, 0);
}

TEST(TuningDbTest, TiesGoToMeasuredThenTheLowerScore) {
  DbFile file(entry("aa", "sm_80", "[10, 10, 4]", 5, "modelled", 16) +
              entry("aa", "sm_80", "[10, 10, 4]", 50, "measured", 128) +
              entry("aa", "sm_80", "[10, 10, 4]", 40, "measured", 64));
  TuningDb db;
  std::string error;
  ASSERT_TRUE(db.load(file.path, error)) << error;
  const TuningEntry *e = db.lookup("aa", "f16", "sm_80", {10, 10, 4}, nullptr);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->schedule.blockM, 64);
}

TEST(TuningDbTest, BadFilesAreErrorsWithTheirLine) {
  TuningDb db;
  std::string error;
  EXPECT_FALSE(db.load("/nonexistent/db.jsonl", error));
  EXPECT_NE(error.find("cannot read"), std::string::npos) << error;
  {
    DbFile file("{\"x\": 1}\n", /*header=*/false);
    EXPECT_FALSE(db.load(file.path, error));
    EXPECT_NE(error.find(":1: not a tuning database"), std::string::npos)
        << error;
  }
  {
    DbFile file("{\"attn_tuning_db\": 7}\n", /*header=*/false);
    EXPECT_FALSE(db.load(file.path, error));
    EXPECT_NE(error.find("format version 7"), std::string::npos) << error;
  }
  {
    DbFile file(entry("aa", "sm_80", "[1, 2]", 5, "modelled", 16));
    EXPECT_FALSE(db.load(file.path, error));
    EXPECT_NE(error.find(":2: \"bucket\""), std::string::npos) << error;
  }
  {
    DbFile file(entry("aa", "sm_80", "[1, 2, 3]", 5, "guessed", 16));
    EXPECT_FALSE(db.load(file.path, error));
    EXPECT_NE(error.find("\"source\""), std::string::npos) << error;
  }
  {
    DbFile file("{not json\n");
    EXPECT_FALSE(db.load(file.path, error));
    EXPECT_NE(error.find(":2: not a JSON line"), std::string::npos) << error;
  }
  {
    DbFile file("", /*header=*/false);
    EXPECT_FALSE(db.load(file.path, error));
    EXPECT_NE(error.find("empty"), std::string::npos) << error;
  }
}

} // namespace
