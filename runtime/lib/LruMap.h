//===- LruMap.h - a map that keeps its most recently used entries -*- C++ -*-===//
//
// The runtime's in-memory plan cache: at most `capacity` entries; finding
// an entry makes it the most recently used, and inserting beyond the
// capacity drops the least recently used one. Not thread-safe (the runtime
// holds its map mutex).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_JIT_LRUMAP_H
#define ATTN_RUNTIME_JIT_LRUMAP_H

#include <cstddef>
#include <list>
#include <unordered_map>
#include <utility>

namespace attn::jit {

/// A bounded map from K to V (V default-constructs to "absent").
template <typename K, typename V, typename Hash> class LruMap {
public:
  /// A map of at most `capacity` entries (at least one).
  explicit LruMap(std::size_t capacity)
      : capacity(capacity ? capacity : 1) {}

  /// The value of `key`, made the most recently used; V() when absent.
  V find(const K &key) {
    auto it = index.find(key);
    if (it == index.end())
      return V();
    order.splice(order.begin(), order, it->second);
    return it->second->second;
  }

  /// Sets `key` to `value` as the most recently used entry, dropping the
  /// least recently used beyond the capacity.
  void insert(const K &key, V value) {
    if (auto it = index.find(key); it != index.end()) {
      it->second->second = std::move(value);
      order.splice(order.begin(), order, it->second);
      return;
    }
    order.emplace_front(key, std::move(value));
    index[key] = order.begin();
    if (order.size() > capacity) {
      index.erase(order.back().first);
      order.pop_back();
    }
  }

  /// The number of entries.
  std::size_t size() const { return order.size(); }

private:
  std::size_t capacity;
  std::list<std::pair<K, V>> order;
  std::unordered_map<K, typename std::list<std::pair<K, V>>::iterator, Hash>
      index;
};

} // namespace attn::jit

#endif // ATTN_RUNTIME_JIT_LRUMAP_H
