// Hashing of fixed-width labels (numpy "U"/"S" arrays: every row is `width` bytes,
// shorter strings padded with zero bytes), for encoding string group labels in one
// pass without a Python object per row. Pure C++17.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fairfast/common.hpp"

namespace fairfast {

inline std::uint64_t hash_fixed(const unsigned char* p, std::size_t width) {
  std::uint64_t h = 0x243F6A8885A308D3ull ^ width;
  std::size_t i = 0;
  for (; i + 8 <= width; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
  }
  if (i < width) {
    std::uint64_t w = 0;
    std::memcpy(&w, p + i, width - i);
    h = (h ^ w) * 0x9E3779B97F4A7C15ull;
  }
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  return h ^ (h >> 32);
}

// Open-addressing table from a key (a row of `width` bytes somewhere) to its index.
class FixedWidthTable {
 public:
  FixedWidthTable(std::size_t width, std::size_t expected) : width_(width) { reserve(expected); }

  // Index of `key`, or -1.
  std::int32_t find(const unsigned char* key) const {
    std::size_t s = hash_fixed(key, width_) & mask_;
    while (true) {
      const std::int32_t idx = slots_[s];
      if (idx < 0) return -1;
      if (std::memcmp(keys_[static_cast<std::size_t>(idx)], key, width_) == 0) return idx;
      s = (s + 1) & mask_;
    }
  }

  // Index of `key`, inserting it (pointer kept, not copied) if new.
  std::int32_t insert(const unsigned char* key) {
    if (2 * (keys_.size() + 1) > slots_.size()) reserve(2 * slots_.size());
    std::size_t s = hash_fixed(key, width_) & mask_;
    while (true) {
      const std::int32_t idx = slots_[s];
      if (idx < 0) {
        slots_[s] = static_cast<std::int32_t>(keys_.size());
        keys_.push_back(key);
        return slots_[s];
      }
      if (std::memcmp(keys_[static_cast<std::size_t>(idx)], key, width_) == 0) return idx;
      s = (s + 1) & mask_;
    }
  }

  std::size_t size() const { return keys_.size(); }
  const unsigned char* key(std::size_t i) const { return keys_[i]; }

 private:
  void reserve(std::size_t want) {
    std::size_t cap = 16;
    while (cap < 2 * want) cap <<= 1;
    if (cap <= slots_.size()) return;
    slots_.assign(cap, -1);
    mask_ = cap - 1;
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      std::size_t s = hash_fixed(keys_[i], width_) & mask_;
      while (slots_[s] >= 0) s = (s + 1) & mask_;
      slots_[s] = static_cast<std::int32_t>(i);
    }
  }

  std::size_t width_;
  std::size_t mask_ = 0;
  std::vector<std::int32_t> slots_;
  std::vector<const unsigned char*> keys_;
};

// codes[i] = index of row i's value in order of first appearance; returns the first row
// of every distinct value. Serial: discovery order must not depend on threads.
inline std::vector<std::size_t> discover_fixed(const unsigned char* data, std::size_t width, std::size_t n,
                                               std::int32_t* codes) {
  FixedWidthTable table(width, 64);
  std::vector<std::size_t> first;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char* row = data + i * width;
    const std::size_t before = table.size();
    const std::int32_t c = table.insert(row);
    if (table.size() != before) first.push_back(i);
    codes[i] = c;
  }
  return first;
}

// codes[i] = index of row i's value among the n_keys `keys` (rows of the same width),
// or -1 when it is none of them. Parallel over rows (the table is read-only).
inline void lookup_fixed(const unsigned char* keys, std::size_t n_keys, const unsigned char* data, std::size_t width,
                         std::size_t n, std::int32_t* codes) {
  FixedWidthTable table(width, n_keys);
  for (std::size_t k = 0; k < n_keys; ++k) table.insert(keys + k * width);
  const int threads = threads_for(n, 16384);
#ifdef FAIRFAST_OPENMP
#pragma omp parallel num_threads(threads) if (threads > 1)
#endif
  {
    const RowRange r = thread_rows(n);
    for (std::size_t i = r.lo; i < r.hi; ++i) codes[i] = table.find(data + i * width);
  }
}

}  // namespace fairfast
