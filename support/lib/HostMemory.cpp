//===- HostMemory.cpp - how much host memory a run may still use ----------===//

#include "attn/Support/HostMemory.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

using namespace attn;

namespace {

/// The first line of `path`, or nullopt when it cannot be read.
std::optional<std::string> firstLine(const std::string &path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line))
    return std::nullopt;
  return line;
}

/// The value of `key` in a "key value" or "key: value kB" file (meminfo,
/// memory.stat), scaled to bytes when it says kB.
std::optional<uint64_t> keyedValue(const std::string &path,
                                   std::string_view key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name, unit;
    uint64_t value;
    if (!(fields >> name >> value))
      continue;
    if (!name.empty() && name.back() == ':')
      name.pop_back();
    if (name != key)
      continue;
    fields >> unit;
    return unit == "kB" ? mulBytes(value, 1024) : value;
  }
  return std::nullopt;
}

std::optional<uint64_t> number(const std::optional<std::string> &text) {
  if (!text || text->empty() || !std::isdigit(static_cast<unsigned char>((*text)[0])))
    return std::nullopt;
  return std::strtoull(text->c_str(), nullptr, 10);
}

/// What one cgroup directory leaves: its limit minus what it uses, file
/// pages it could drop not counted as used.
struct CgroupFiles {
  const char *limit, *usage, *inactiveFile, *name;
};
constexpr CgroupFiles kV2{"memory.max", "memory.current", "inactive_file",
                          "memory.max"};
constexpr CgroupFiles kV1{"memory.limit_in_bytes", "memory.usage_in_bytes",
                          "total_inactive_file", "memory.limit_in_bytes"};

/// Lowers `best` to what the cgroup `dir` and its ancestors up to `mount`
/// leave, if that is less.
void applyCgroup(std::string dir, const std::string &mount,
                 const CgroupFiles &files, HostMemoryLimit &best) {
  while (dir.size() >= mount.size()) {
    auto limit = number(firstLine(dir + "/" + files.limit));
    // v1 reports "no limit" as a page-rounded 2^63.
    if (limit && *limit < (uint64_t(1) << 62)) {
      uint64_t used = number(firstLine(dir + "/" + files.usage)).value_or(0);
      uint64_t inactive =
          keyedValue(dir + "/memory.stat", files.inactiveFile).value_or(0);
      used -= std::min(used, inactive);
      uint64_t left = *limit - std::min(*limit, used);
      if (left < best.bytes) {
        best.bytes = left;
        best.source = "the cgroup limit of " + dir + " (" + files.name +
                      " " + formatBytes(*limit) + ", less what the cgroup "
                      "uses)";
      }
    }
    size_t slash = dir.find_last_of('/');
    if (dir.size() == mount.size() || slash == std::string::npos)
      break;
    dir.resize(std::max(slash, mount.size()));
  }
}

} // namespace

HostMemoryLimit attn::availableHostMemory(const std::string &root) {
  HostMemoryLimit best;
  best.source = "nothing (no /proc/meminfo)";
  if (auto available = keyedValue(root + "/proc/meminfo", "MemAvailable")) {
    best.bytes = *available;
    best.source = "MemAvailable in /proc/meminfo";
  }
  std::ifstream cgroups(root + "/proc/self/cgroup");
  std::string line;
  while (std::getline(cgroups, line)) {
    // hierarchy-id:controllers:path; v2 has an empty controller list.
    size_t first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos)
      continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    if (path == "/")
      path.clear();
    bool v2 = controllers.empty();
    bool v1 = ("," + controllers + ",").find(",memory,") != std::string::npos;
    if (!v1 && !v2)
      continue;
    std::string mount = root + (v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory");
    std::string dir = mount + path;
    // In a cgroup namespace the path may not exist below the mount: the
    // mount itself is then the process's cgroup.
    if (!firstLine(dir + "/" + (v2 ? kV2 : kV1).limit))
      dir = mount;
    applyCgroup(dir, mount, v2 ? kV2 : kV1, best);
  }
  return best;
}

std::optional<uint64_t> attn::parseByteSize(std::string_view text) {
  size_t i = 0;
  while (i < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  std::string digits(text.substr(0, i));
  if (digits.empty() || digits == "." ||
      digits.find('.') != digits.rfind('.'))
    return std::nullopt;
  double value = std::strtod(digits.c_str(), nullptr);
  std::string unit;
  for (char c : text.substr(i))
    unit += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static const std::pair<const char *, int> kUnits[] = {
      {"", 0},    {"B", 0},    {"K", 10},   {"KB", 10}, {"KIB", 10},
      {"M", 20},  {"MB", 20},  {"MIB", 20}, {"G", 30},  {"GB", 30},
      {"GIB", 30}, {"T", 40},  {"TB", 40},  {"TIB", 40}};
  for (auto [name, shift] : kUnits) {
    if (unit != name)
      continue;
    double bytes = std::ldexp(value, shift);
    if (!(bytes < 18446744073709551616.0))
      return std::nullopt;
    return static_cast<uint64_t>(bytes);
  }
  return std::nullopt;
}

std::string attn::formatBytes(uint64_t bytes) {
  if (bytes < 1024)
    return std::to_string(bytes) + " bytes";
  static const char *const kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB",
                                       "EiB"};
  double value = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (value >= 1024 && unit < 5) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
  return text;
}

uint64_t attn::addBytes(uint64_t a, uint64_t b) {
  uint64_t sum;
  return __builtin_add_overflow(a, b, &sum) ? UINT64_MAX : sum;
}

uint64_t attn::mulBytes(uint64_t a, uint64_t b) {
  uint64_t product;
  return __builtin_mul_overflow(a, b, &product) ? UINT64_MAX : product;
}
