// Barycenter tables of many groups by one sweep over the merged breakpoints of every
// group's step quantile function (Interpolation::step, unit or cumulative weights).
//
// B_s[j] = sum_g p_g Q_g(u) at u = F_s(j). The direct evaluation (barycenter_tables)
// costs O((n + K) K): every group's quantile at every one of the n + K levels. Here the
// levels and the quantile functions' breakpoints are sorted once, and a sweep keeps the
// running sum, in which a breakpoint of group g replaces p_g x_g[i - 1] by p_g x_g[i]:
// O(n log n) whatever K.
//
// Exactness: the running sum is kept in an exact accumulator (exact_sum.hpp), so an
// entry is the correctly rounded sum of the rounded products p_g Q_g(u) (the direct
// evaluation adds them left to right, which can differ in the last bits), then clamped
// to [min_g Q_g(u), max_g Q_g(u)] over the groups of positive weight, as there. Entries
// are therefore non-decreasing in u, equal quantiles give exactly that value, and equal
// levels of different groups get the same entry. A level u uses breakpoint i of group g
// (its quantile moves from x_g[i - 1] to x_g[i]) exactly when the direct evaluation
// would: when i / n_g < u in exact rational arithmetic (unit weights), or when
// cumw_g[i - 1] / total_g < u in the same floating-point expressions (weights).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <queue>
#include <utility>
#include <vector>

#include "exact_sum.hpp"
#include "transport.hpp"

namespace fairfast {

// Groups from which the sweep beats the direct evaluation (measured: the direct one
// costs about 1.5 ns per (level, group), the sweep about 60 ns per level).
constexpr std::int32_t sweep_min_groups = 128;

namespace detail {

// One level or breakpoint: its position as a sort key, its group, and its index (a
// level's j or a breakpoint's i) times 2 plus 1 for breakpoints, so that at equal
// positions levels come first (a breakpoint applies strictly above its position).
struct SweepItem {
  std::uint64_t key;
  std::int32_t group;
  std::uint32_t tag;
};

inline bool sweep_before(const SweepItem& a, const SweepItem& b) {
  return a.key != b.key ? a.key < b.key : (a.tag & 1) < (b.tag & 1);
}

// Unit weights: u = num / den with den < 2**32 is keyed by floor(u 2**64) (u = 1 by
// 2**64 - 1). Two different such fractions differ by more than 2**-64, so their keys
// differ and keep their order; equal fractions get equal keys.
inline std::uint64_t rational_key(std::uint64_t num, std::uint64_t den) {
  if (num >= den) return ~std::uint64_t(0);
  return static_cast<std::uint64_t>((u128(num) << 64) / den);
}

// Sorts items by (key, tag & 1): a counting sort on the keys' top bits into buckets,
// then an insertion sort inside each bucket of a few items (std::sort in crowded ones).
inline void sort_sweep_items(std::vector<SweepItem>& items) {
  const std::size_t m = items.size();
  int bits = 1;
  while (bits < 24 && (std::size_t(1) << bits) < m) ++bits;
  const int shift = 64 - bits;
  std::vector<std::uint32_t> start((std::size_t(1) << bits) + 1, 0);
  for (const SweepItem& it : items) ++start[(it.key >> shift) + 1];
  for (std::size_t b = 1; b < start.size(); ++b) start[b] += start[b - 1];
  std::vector<SweepItem> sorted(m);
  {
    std::vector<std::uint32_t> next(start.begin(), start.end() - 1);
    for (const SweepItem& it : items) sorted[next[it.key >> shift]++] = it;
  }
  for (std::size_t b = 0; b + 1 < start.size(); ++b) {
    if (start[b + 1] - start[b] > 16) {  // a crowded bucket (small groups share positions such as 1/2)
      std::sort(sorted.begin() + start[b], sorted.begin() + start[b + 1], sweep_before);
      continue;
    }
    for (std::size_t q = start[b] + 1; q < start[b + 1]; ++q) {
      const SweepItem it = sorted[q];
      std::size_t r = q;
      while (r > start[b] && sweep_before(it, sorted[r - 1])) {
        sorted[r] = sorted[r - 1];
        --r;
      }
      sorted[r] = it;
    }
  }
  items.swap(sorted);
}

}  // namespace detail

// Same contract as barycenter_tables with mode == Interpolation::step.
template <class T>
void barycenter_tables_sweep(const T* values, const double* cumw, const std::int64_t* offsets, std::int32_t k,
                             const double* p, double* table) {
  using detail::SweepItem;
  const std::size_t n = static_cast<std::size_t>(offsets[k]);
  std::vector<SweepItem> items;
  items.reserve(2 * n + static_cast<std::size_t>(k));
  // With weights, positions are doubles in [0, 1]: their bit patterns sort as unsigned
  // integers (non-negative doubles), so they are the keys.
  auto weighted_key = [](double u) {
    u += 0.0;  // -0.0 cannot occur (masses are non-negative), but fold it anyway
    std::uint64_t bits;
    std::memcpy(&bits, &u, sizeof(bits));
    return bits;
  };
  for (std::int32_t g = 0; g < k; ++g) {
    const std::uint64_t ng = static_cast<std::uint64_t>(offsets[g + 1] - offsets[g]);
    const double* cg = cumw ? cumw + offsets[g] : nullptr;
    const double tg = cg ? cg[ng - 1] : 0.0;
    // the mass of the first i points over the total, as the direct evaluation computes it
    auto key = [&](std::uint64_t i) {
      return cg ? weighted_key(i == 0 ? 0.0 : cg[i - 1] / tg) : detail::rational_key(i, ng);
    };
    for (std::uint64_t j = 0; j <= ng; ++j) items.push_back({key(j), g, static_cast<std::uint32_t>(2 * j)});
    if (p[g] > 0.0)  // breakpoints: Q_g moves to x_g[i] above i / n_g
      for (std::uint64_t i = 1; i < ng; ++i) items.push_back({key(i), g, static_cast<std::uint32_t>(2 * i + 1)});
  }
  if (cumw) std::sort(items.begin(), items.end(), detail::sweep_before);  // keys bunch up by exponent
  else detail::sort_sweep_items(items);
  ExactSum sum;
  double qmax = -HUGE_VAL;
  std::vector<T> current(static_cast<std::size_t>(k));
  // min-heap of (value, group); entries whose value is no longer their group's are stale
  std::priority_queue<std::pair<T, std::int32_t>, std::vector<std::pair<T, std::int32_t>>, std::greater<>> low;
  for (std::int32_t g = 0; g < k; ++g) {
    const T x0 = values[offsets[g]];
    current[g] = x0;
    if (p[g] > 0.0) {
      sum.add(p[g] * static_cast<double>(x0));
      low.emplace(x0, g);
      qmax = std::max(qmax, static_cast<double>(x0));
    }
  }
  double entry = 0.0;
  bool changed = true;
  for (const SweepItem& it : items) {
    const std::int32_t g = it.group;
    const std::uint32_t index = it.tag >> 1;
    if ((it.tag & 1) == 0) {  // a level: the table entry of rank `index` of group g
      if (changed) {
        while (low.top().first != current[low.top().second]) low.pop();
        entry = std::clamp(sum.value(), static_cast<double>(low.top().first), qmax);
        changed = false;
      }
      table[offsets[g] + g + index] = entry;
    } else {
      const T from = current[g], to = values[offsets[g] + index];
      if (to != from) {
        sum.subtract(p[g] * static_cast<double>(from));
        sum.add(p[g] * static_cast<double>(to));
        current[g] = to;
        low.emplace(to, g);
        qmax = std::max(qmax, static_cast<double>(to));
        changed = true;
      }
    }
  }
}

}  // namespace fairfast
