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

// Open-addressing table from a key (`width` bytes) to its index. Each slot keeps the
// upper half of the key's hash beside the index, so a probe compares bytes only when
// the hashes agree; the keys are copied into one contiguous buffer (cache friendly when
// the keys are many and the rows that held them far apart).
class FixedWidthTable {
 public:
  FixedWidthTable(std::size_t width, std::size_t expected) : width_(width) {
    keys_.reserve(expected * width);
    reserve(expected);
  }

  // Index of `key`, or -1.
  std::int32_t find(const unsigned char* key) const {
    const std::uint64_t h = hash_fixed(key, width_);
    const std::uint32_t tag = static_cast<std::uint32_t>(h >> 32);
    std::size_t s = h & mask_;
    while (true) {
      const Slot slot = slots_[s];
      if (slot.index < 0) return -1;
      if (slot.tag == tag && std::memcmp(key_at(slot.index), key, width_) == 0) return slot.index;
      s = (s + 1) & mask_;
    }
  }

  // Index of `key`, inserting a copy of it if new.
  std::int32_t insert(const unsigned char* key) {
    if (2 * (size_ + 1) > slots_.size()) reserve(slots_.size());
    const std::uint64_t h = hash_fixed(key, width_);
    const std::uint32_t tag = static_cast<std::uint32_t>(h >> 32);
    std::size_t s = h & mask_;
    while (true) {
      const Slot slot = slots_[s];
      if (slot.index < 0) {
        slots_[s] = Slot{tag, static_cast<std::int32_t>(size_)};
        keys_.insert(keys_.end(), key, key + width_);
        return static_cast<std::int32_t>(size_++);
      }
      if (slot.tag == tag && std::memcmp(key_at(slot.index), key, width_) == 0) return slot.index;
      s = (s + 1) & mask_;
    }
  }

  std::size_t size() const { return size_; }

 private:
  struct Slot {
    std::uint32_t tag;
    std::int32_t index;
  };

  const unsigned char* key_at(std::int32_t i) const { return keys_.data() + static_cast<std::size_t>(i) * width_; }

  void reserve(std::size_t want) {
    std::size_t cap = 16;
    while (cap < 2 * want) cap <<= 1;
    if (cap <= slots_.size()) return;
    slots_.assign(cap, Slot{0, -1});
    mask_ = cap - 1;
    for (std::size_t i = 0; i < size_; ++i) {
      const std::uint64_t h = hash_fixed(key_at(static_cast<std::int32_t>(i)), width_);
      std::size_t s = h & mask_;
      while (slots_[s].index >= 0) s = (s + 1) & mask_;
      slots_[s] = Slot{static_cast<std::uint32_t>(h >> 32), static_cast<std::int32_t>(i)};
    }
  }

  std::size_t width_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  std::vector<Slot> slots_;
  std::vector<unsigned char> keys_;
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
