//===- TuningDb.cpp - the tuning database ---------------------------------===//

#include "attn/Support/TuningDb.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>

using namespace attn;
using nlohmann::json;

static int64_t ceilLog2(int64_t x) {
  int64_t bits = 0;
  while ((int64_t(1) << bits) < x && bits < 62)
    ++bits;
  return bits;
}

TuningBucket attn::tuningBucket(int64_t nq, int64_t nk, int64_t slices) {
  return {ceilLog2(nq), ceilLog2(nk), ceilLog2(slices)};
}

/// The integer member `key` of `object` into `out`; false when it is absent
/// or not an integer.
static bool integerAt(const json &object, const char *key, int64_t &out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer())
    return false;
  out = it->get<int64_t>();
  return true;
}

static bool stringAt(const json &object, const char *key, std::string &out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string())
    return false;
  out = it->get<std::string>();
  return true;
}

/// Decodes one entry line; an empty string on success, else what is wrong.
static std::string decodeEntry(const json &j, TuningEntry &e) {
  if (!j.is_object())
    return "an entry is a JSON object";
  for (auto [key, slot] : {std::pair<const char *, std::string *>{
                               "ir_hash", &e.irHash},
                           {"function", &e.function},
                           {"dtype", &e.dtype},
                           {"arch", &e.arch},
                           {"source", &e.source}})
    if (!stringAt(j, key, *slot))
      return std::string("no string \"") + key + "\"";
  if (e.source != "measured" && e.source != "modelled")
    return "\"source\" is \"measured\" or \"modelled\", not \"" + e.source +
           "\"";
  auto bucket = j.find("bucket");
  if (bucket == j.end() || !bucket->is_array() || bucket->size() != 3)
    return "\"bucket\" is [log2 nq, log2 nk, log2 B*Hq]";
  for (size_t k = 0; k < 3; ++k) {
    if (!(*bucket)[k].is_number_integer())
      return "\"bucket\" holds integers";
    e.bucket[k] = (*bucket)[k].get<int64_t>();
  }
  auto score = j.find("score_us");
  if (score == j.end() || !score->is_number() || score->get<double>() < 0)
    return "no non-negative number \"score_us\"";
  e.scoreUs = score->get<double>();
  auto s = j.find("schedule");
  if (s == j.end() || !s->is_object())
    return "no object \"schedule\"";
  TuningSchedule &t = e.schedule;
  if (!integerAt(*s, "block_m", t.blockM) ||
      !integerAt(*s, "block_n", t.blockN) || !integerAt(*s, "warps", t.warps) ||
      !integerAt(*s, "stages", t.stages) || !stringAt(*s, "path", t.path) ||
      !stringAt(*s, "split_kv", t.splitKv))
    return "\"schedule\" needs block_m, block_n, warps, stages (integers), "
           "path and split_kv (strings)";
  if (t.blockM < 0 || t.blockN < 0 || t.warps < 0 || t.stages < 1)
    return "\"schedule\" has a negative size or fewer than 1 stage";
  if (t.path != "auto" && t.path != "simt" && t.path != "mma")
    return "\"path\" is auto, simt or mma";
  if (t.splitKv != "auto" && t.splitKv != "never" && t.splitKv != "always")
    return "\"split_kv\" is auto, never or always";
  return "";
}

bool TuningDb::load(const std::string &path, std::string &error) {
  all.clear();
  std::ifstream in(path);
  if (!in) {
    error = path + ": cannot read the tuning database";
    return false;
  }
  std::string text;
  int line = 0;
  bool header = false;
  while (std::getline(in, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    std::string where = path + ":" + std::to_string(line) + ": ";
    if (j.is_discarded()) {
      error = where + "not a JSON line";
      return false;
    }
    if (!header) {
      int64_t version = 0;
      if (!j.is_object() || !integerAt(j, "attn_tuning_db", version)) {
        error = where + "not a tuning database (the first line is "
                        "{\"attn_tuning_db\": " +
                std::to_string(kTuningDbVersion) + "})";
        return false;
      }
      if (version != kTuningDbVersion) {
        error = where + "format version " + std::to_string(version) +
                "; this build reads version " +
                std::to_string(kTuningDbVersion);
        return false;
      }
      header = true;
      continue;
    }
    TuningEntry e;
    std::string why = decodeEntry(j, e);
    if (!why.empty()) {
      error = where + why;
      return false;
    }
    e.line = line;
    all.push_back(std::move(e));
  }
  if (!header) {
    error = path + ": empty (no {\"attn_tuning_db\": " +
            std::to_string(kTuningDbVersion) + "} header)";
    return false;
  }
  return true;
}

const TuningEntry *TuningDb::lookup(const std::string &irHash,
                                    const std::string &dtype,
                                    const std::string &arch,
                                    const TuningBucket &bucket,
                                    int64_t *distance) const {
  const TuningEntry *best = nullptr;
  int64_t bestDistance = 0;
  for (const TuningEntry &e : all) {
    if (e.irHash != irHash || e.dtype != dtype ||
        (!arch.empty() && e.arch != arch))
      continue;
    int64_t d = 0;
    for (size_t k = 0; k < 3; ++k)
      d += std::llabs(e.bucket[k] - bucket[k]);
    bool better = !best || d < bestDistance;
    if (best && d == bestDistance) {
      bool measured = e.source == "measured", bestMeasured =
                                                  best->source == "measured";
      better = measured != bestMeasured ? measured : e.scoreUs < best->scoreUs;
    }
    if (better) {
      best = &e;
      bestDistance = d;
    }
  }
  if (distance)
    *distance = bestDistance;
  return best;
}
