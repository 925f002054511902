// Wasserstein-barycenter post-processing tables (Chzhen et al. 2020 plug-in).
//
// Fit: rows are partitioned by group and sorted by (value, tie key), where the tie key
// of row r is a counter-based random 64-bit number keyed by (seed, r). This is the
// limit of infinitesimal jitter: it only orders ties, never distinct values, so the
// map stays non-decreasing within a group and calibration rows get distinct ranks.
// Optionally a real additive jitter U[-sigma, sigma] (stream 1) is applied first.
//
// Table: for group s and rank j = 0..n_s, B_s[j] = sum_k p_k Q_k(F_s(j)), with
// F_s(j) = mass of the first j points of s over its total and Q_k the step (generalised
// inverse) or linear quantile of group k. Unit weights use exact integer arithmetic.
//
// Transform: j = #{calibration points of s at or below (t, key)} in lexicographic
// order; output (1 - eps) B_s[j] + eps * t.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

#include "common.hpp"
#include "random.hpp"
#include "sort.hpp"
#include "transport.hpp"

namespace fairfast {

struct Grouping {
  const std::int32_t* codes;
  std::int32_t n_groups;
};

// Counts rows per group; returns group_out_of_range on a bad code.
inline Status count_groups(const std::int32_t* codes, std::size_t n, std::int32_t k,
                           std::int64_t* counts) {
  const int nt = threads_for(n);
  std::vector<std::int64_t> local(static_cast<std::size_t>(nt) * k, 0);
  int bad = 0;
#ifdef FAIRFAST_OPENMP
#pragma omp parallel num_threads(nt) reduction(| : bad)
#endif
  {
    const int t = thread_id();
    std::int64_t* h = local.data() + static_cast<std::size_t>(t) * k;
    const std::size_t lo = n * t / nt, hi = n * (t + 1) / nt;
    for (std::size_t i = lo; i < hi; ++i) {
      const std::int32_t c = codes[i];
      if (c < 0 || c >= k) bad = 1;
      else ++h[c];
    }
  }
  if (bad) return Status::group_out_of_range;
  for (std::int32_t g = 0; g < k; ++g) {
    counts[g] = 0;
    for (int t = 0; t < nt; ++t) counts[g] += local[static_cast<std::size_t>(t) * k + g];
  }
  return Status::ok;
}

// Partition rows by group and sort each group by (value [+ jitter], tie key).
// Outputs have n entries (values, tie_keys, weights if w != nullptr) and offsets has
// k + 1. Codes must have been checked with count_groups.
template <class T>
void grouped_sort(const T* x, const double* w, const std::int32_t* codes, std::size_t n,
                  std::int32_t k, std::uint64_t seed, std::uint64_t row_offset, double jitter,
                  const std::int64_t* offsets, T* values, std::uint64_t* tie_keys, double* weights) {
  using K = typename key_of<T>::type;
  const int nt = threads_for(n);
  const CounterRng jit(seed, stream_jitter), ties(seed, stream_ties);

  std::vector<K> keys(n);
  std::vector<std::uint32_t> rows(n);
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
  for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(n); ++i) {
    T v = x[i];
    if (jitter > 0.0)
      v = static_cast<T>(static_cast<double>(x[i]) + jitter * (2.0 * jit.uniform(row_offset + i) - 1.0));
    keys[i] = order_key(v);
    rows[i] = static_cast<std::uint32_t>(i);
  }

  // Stable partition by group code.
  std::vector<K> gkeys(n);
  std::vector<std::uint32_t> grows(n);
  std::vector<std::size_t> hist;
  detail::stable_scatter(
      keys.data(), rows.data(), gkeys.data(), grows.data(), n, static_cast<std::size_t>(k),
      [codes](K, std::size_t i) { return static_cast<std::size_t>(codes[i]); }, nt, hist);
  keys.clear();
  keys.shrink_to_fit();
  rows.clear();
  rows.shrink_to_fit();

  for (std::int32_t g = 0; g < k; ++g) {
    const std::size_t off = static_cast<std::size_t>(offsets[g]);
    const std::size_t len = static_cast<std::size_t>(offsets[g + 1]) - off;
    radix_sort(gkeys.data() + off, grows.data() + off, len, max_threads());
  }

#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
  for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(n); ++i) {
    values[i] = from_order_key<T>(gkeys[i]);
    tie_keys[i] = ties.bits(row_offset + grows[i]);
  }

  // Runs of equal values (inside one group) are ordered by tie key.
  std::vector<std::pair<std::size_t, std::size_t>> runs;
  for (std::int32_t g = 0; g < k; ++g) {
    std::size_t i = static_cast<std::size_t>(offsets[g]);
    const std::size_t end = static_cast<std::size_t>(offsets[g + 1]);
    while (i < end) {
      std::size_t e = i + 1;
      while (e < end && gkeys[e] == gkeys[i]) ++e;
      if (e - i > 1) runs.emplace_back(i, e);
      i = e;
    }
  }
  const int rt = std::min<int>(max_threads(), static_cast<int>(std::max<std::size_t>(1, runs.size())));
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(rt) schedule(dynamic, 1)
#endif
  for (std::ptrdiff_t r = 0; r < static_cast<std::ptrdiff_t>(runs.size()); ++r) {
    const std::size_t a = runs[r].first, b = runs[r].second;
    std::vector<std::pair<std::uint64_t, std::uint32_t>> block(b - a);
    for (std::size_t i = a; i < b; ++i) block[i - a] = {tie_keys[i], grows[i]};
    std::sort(block.begin(), block.end());
    for (std::size_t i = a; i < b; ++i) {
      tie_keys[i] = block[i - a].first;
      grows[i] = block[i - a].second;
    }
  }
  if (weights) {
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(n); ++i) weights[i] = w[grows[i]];
  }
}

// Per-group bucket indexes: start has n + k entries (group g at offsets[g] + g, n_g + 1
// of them), lo and scale have k.
template <class T>
void build_group_indexes(const T* values, const std::int64_t* offsets, std::int32_t k,
                         std::uint32_t* start, double* lo, double* scale) {
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(std::min<int>(max_threads(), k)) schedule(dynamic, 1)
#endif
  for (std::int32_t g = 0; g < k; ++g) {
    const std::size_t off = static_cast<std::size_t>(offsets[g]);
    const std::size_t len = static_cast<std::size_t>(offsets[g + 1]) - off;
    BucketIndex idx;
    build_bucket_index(values + off, len, static_cast<std::uint32_t>(std::max<std::size_t>(1, len)),
                       start + off + g, idx);
    lo[g] = idx.lo;
    scale[g] = idx.scale;
  }
}

// Barycenter tables: table has n + k entries, group g's n_g + 1 at offsets[g] + g.
// cumw: inclusive cumulative weights restarting at each group, or nullptr.
template <class T>
void barycenter_tables(const T* values, const double* cumw, const std::int64_t* offsets,
                       std::int32_t k, const double* p, Interpolation mode, double* table) {
  std::vector<SampleView> views(k);
  for (std::int32_t g = 0; g < k; ++g) {
    views[g].n = static_cast<std::size_t>(offsets[g + 1] - offsets[g]);
    views[g].cumw = cumw ? cumw + offsets[g] : nullptr;
  }
  for (std::int32_t s = 0; s < k; ++s) {
    const std::int64_t ns = offsets[s + 1] - offsets[s];
    double* out = table + offsets[s] + s;
    const int nt = threads_for(static_cast<std::size_t>(ns) * k, 8192);
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (std::int64_t j = 0; j <= ns; ++j) {
      double acc = 0.0;
      for (std::int32_t g = 0; g < k; ++g) {
        const T* xg = values + offsets[g];
        const std::int64_t ng = offsets[g + 1] - offsets[g];
        double q;
        if (!cumw && mode == Interpolation::step) {
          // smallest i with (i + 1) / ng >= j / ns, i.e. ceil(j ng / ns) - 1, clipped
          const u128 num = u128(j) * u128(ng);
          std::int64_t i = static_cast<std::int64_t>((num + u128(ns) - 1) / u128(ns)) - 1;
          i = std::clamp<std::int64_t>(i, 0, ng - 1);
          q = static_cast<double>(xg[i]);
        } else if (!cumw) {
          if (ng == 1) {
            q = static_cast<double>(xg[0]);
          } else {  // position j / ns on the grid i / (ng - 1)
            const u128 num = u128(j) * u128(ng - 1);
            const std::int64_t i = static_cast<std::int64_t>(num / u128(ns));
            const double frac = static_cast<double>(num % u128(ns)) / static_cast<double>(ns);
            q = (i >= ng - 1) ? static_cast<double>(xg[ng - 1])
                              : static_cast<double>(xg[i]) + frac * (static_cast<double>(xg[i + 1]) - xg[i]);
          }
        } else {
          const double u = views[s].mass(static_cast<std::size_t>(j)) / views[s].total();
          q = quantile_at(xg, views[g], u, mode);
        }
        acc += p[g] * q;
      }
      out[j] = acc;
    }
  }
}

struct BarycenterModel {
  std::int32_t n_groups;
  const std::int64_t* offsets;   // k + 1
  const std::uint64_t* tie_keys; // n
  const std::uint32_t* start;    // n + k
  const double* lo;              // k
  const double* scale;           // k
  const double* table;           // n + k
};

// out[i] = (1 - eps) B_{c_i}[j_i] + eps x[i]. Returns group_out_of_range on a bad code.
template <class T>
Status barycenter_transform(const T* values, const BarycenterModel& m, const T* x,
                            const std::int32_t* codes, std::size_t n, double epsilon, double jitter,
                            std::uint64_t seed, std::uint64_t row_offset, T* out) {
  const CounterRng jit(seed, stream_jitter), ties(seed, stream_ties);
  const std::int32_t k = m.n_groups;
  const int nt = threads_for(n, 16384);
  int bad = 0;
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) reduction(| : bad)
#endif
  for (std::ptrdiff_t ii = 0; ii < static_cast<std::ptrdiff_t>(n); ++ii) {
    const std::size_t i = static_cast<std::size_t>(ii);
    const std::int32_t c = codes[i];
    if (c < 0 || c >= k) {
      bad |= 1;
      continue;
    }
    T t = x[i];
    if (!std::isfinite(t)) {  // validated here, fused with the pass over the data
      bad |= 2;
      continue;
    }
    if (jitter > 0.0)
      t = static_cast<T>(static_cast<double>(t) + jitter * (2.0 * jit.uniform(row_offset + i) - 1.0));
    const std::size_t off = static_cast<std::size_t>(m.offsets[c]);
    const T* xs = values + off;
    BucketIndex idx;
    idx.lo = m.lo[c];
    idx.scale = m.scale[c];
    idx.m = static_cast<std::uint32_t>(std::max<std::int64_t>(1, m.offsets[c + 1] - m.offsets[c]));
    idx.start = m.start + off + c;
    const std::uint32_t b = idx.bucket(static_cast<double>(t));
    const T* first = xs + idx.start[b];
    const T* last = xs + idx.start[b + 1];
    const T* up = std::upper_bound(first, last, t);
    std::size_t j = static_cast<std::size_t>(up - xs);
    if (up != first && *(up - 1) == t) {  // t ties with calibration points: order by tie key
      const std::size_t lo = static_cast<std::size_t>(std::lower_bound(first, up, t) - xs);
      const std::uint64_t key = ties.bits(row_offset + i);
      const std::uint64_t* kb = m.tie_keys + off;
      j = static_cast<std::size_t>(std::upper_bound(kb + lo, kb + j, key) - kb);
    }
    const double fair = m.table[off + c + j];
    out[i] = epsilon == 0.0 ? static_cast<T>(fair)
                            : static_cast<T>((1.0 - epsilon) * fair + epsilon * static_cast<double>(x[i]));
  }
  if (bad & 1) return Status::group_out_of_range;
  return (bad & 2) ? Status::bad_value : Status::ok;
}

}  // namespace fairfast
