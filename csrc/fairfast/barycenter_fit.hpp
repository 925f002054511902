// Wasserstein-barycenter fit (Chzhen et al. 2020 plug-in): group partition, tie keys,
// per-group bucket indexes and the barycenter tables.
//
// Rows are partitioned by group (here), sorted within each group (see sort.hpp), and
// runs of equal values are ordered by a tie key: a counter-based random 64-bit number
// keyed by (seed, row). This is the limit of infinitesimal jitter: it only orders ties,
// never distinct values, so the map stays non-decreasing within a group and
// calibration rows get distinct ranks. Optionally a real additive jitter
// U[-sigma, sigma] (stream 1) is applied first.
//
// Table: for group s and rank j = 0..n_s, B_s[j] = sum_k p_k Q_k(F_s(j)), with
// F_s(j) = mass of the first j points of s over its total and Q_k the step (generalised
// inverse) or linear quantile of group k. Unit weights use exact integer arithmetic.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "barycenter_sweep.hpp"
#include "common.hpp"
#include "partition.hpp"
#include "random.hpp"
#include "transport.hpp"

namespace fairfast {


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
    std::int64_t* h = local.data() + static_cast<std::size_t>(thread_id()) * k;
    const auto [lo, hi] = thread_rows(n);
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

// Stable partition of the rows by group: grouped[offsets[g]:offsets[g+1]] holds group g's
// values (after the optional additive jitter U[-sigma, sigma] of stream 1, keyed by the
// global row index), in row order; rows (if not nullptr) their row indices. Codes must
// have been checked with count_groups.
template <class T>
void partition_by_group(const T* x, const std::int32_t* codes, std::size_t n, std::int32_t k,
                        std::uint64_t seed, std::uint64_t row_offset, double jitter, T* grouped,
                        std::uint32_t* rows) {
  const int nt = threads_for(n);
  const CounterRng jit(seed, stream_jitter);
  std::vector<T> shifted;
  const T* src = x;
  if (jitter > 0.0) {
    shifted.resize(n);
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(n); ++i)
      shifted[i] = static_cast<T>(static_cast<double>(x[i]) + jitter * (2.0 * jit.uniform(row_offset + i) - 1.0));
    src = shifted.data();
  }
  std::vector<std::size_t> hist;
  if (rows) {
    std::vector<std::uint32_t> ids(n);
    std::iota(ids.begin(), ids.end(), std::uint32_t(0));
    detail::stable_scatter(
        src, ids.data(), grouped, rows, n, static_cast<std::size_t>(k),
        [codes](T, std::size_t i) { return static_cast<std::size_t>(codes[i]); }, nt, hist);
  } else {
    detail::stable_scatter(
        src, static_cast<std::nullptr_t*>(nullptr), grouped, static_cast<std::nullptr_t*>(nullptr), n,
        static_cast<std::size_t>(k), [codes](T, std::size_t i) { return static_cast<std::size_t>(codes[i]); }, nt,
        hist);
  }
}

// Tie keys of the sorted calibration values (each group sorted ascending).
//
// Every row r has a random 64-bit key ties.bits(row_offset + r); a run of equal values
// is ordered by key, and tie_keys[i] holds the key of the row at sorted position i. A
// value that occurs once keeps key 0: a query equal to it then counts it as below
// (upper-bound placement), which still gives that calibration row its own rank.
//
// With rows (the row index at each sorted position; the weighted path), runs are sorted
// by key carrying rows. Without rows, the rows of tied values are found again by a pass
// over the input (x, codes; the jitter recomputed), located through the groups' bucket
// indexes (index[g] for group g, see BarycenterStage::index_values). Returns the number of tied positions, or tie_keys_bad_code for a code outside [0, k).
constexpr std::size_t tie_keys_bad_code = ~std::size_t(0);

namespace detail {

// Runs of equal values (length > 1, inside one group) as (start, end) pairs in order,
// found by the threads over contiguous chunks (a thread keeps the runs starting in its
// chunk), so the list is the serial one whatever the thread count.
template <class T>
std::vector<std::pair<std::size_t, std::size_t>> tie_runs(const T* values, const std::int64_t* offsets,
                                                           std::int32_t k) {
  const std::size_t n = static_cast<std::size_t>(offsets[k]);
  const int nt = threads_for(n, 1 << 18);
  std::vector<std::vector<std::pair<std::size_t, std::size_t>>> found(static_cast<std::size_t>(nt));
#ifdef FAIRFAST_OPENMP
#pragma omp parallel num_threads(nt)
#endif
  {
    const auto [lo, hi] = thread_rows(n);
    auto& mine = found[thread_id()];
    std::int32_t g = static_cast<std::int32_t>(std::upper_bound(offsets, offsets + k + 1, static_cast<std::int64_t>(lo)) -
                                               offsets - 1);
    std::size_t i = lo;
    while (i < hi) {
      while (static_cast<std::int64_t>(i) >= offsets[g + 1]) ++g;
      const std::size_t first = static_cast<std::size_t>(offsets[g]), end = static_cast<std::size_t>(offsets[g + 1]);
      if (i > first && values[i - 1] == values[i]) {  // inside a run that started before
        ++i;
        continue;
      }
      std::size_t e = i + 1;
      while (e < end && values[e] == values[i]) ++e;
      if (e - i > 1) mine.emplace_back(i, e);
      i = e;
    }
  }
  std::vector<std::pair<std::size_t, std::size_t>> runs;
  for (auto& part : found) runs.insert(runs.end(), part.begin(), part.end());
  return runs;
}

}  // namespace detail

template <class T>
std::size_t compute_tie_keys(const T* values, const std::int64_t* offsets, std::int32_t k,
                             const BucketIndex* index, const T* x, const std::int32_t* codes, std::size_t n,
                             std::uint64_t seed, std::uint64_t row_offset, double jitter, std::uint32_t* rows,
                             std::uint64_t* tie_keys) {
  const CounterRng jit(seed, stream_jitter), ties(seed, stream_ties);
  // tie_keys arrives zero-filled (calloc'd pages cost nothing until written).
  const std::vector<std::pair<std::size_t, std::size_t>> runs = detail::tie_runs(values, offsets, k);
  if (runs.empty()) return 0;
  std::size_t tied = 0;
  for (const auto& r : runs) tied += r.second - r.first;
  const int nr = static_cast<int>(std::min<std::size_t>(runs.size(), static_cast<std::size_t>(threads_for(tied, 65536))));
  if (rows) {
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(std::max(1, nr)) schedule(dynamic, 16)
#endif
    for (std::ptrdiff_t q = 0; q < static_cast<std::ptrdiff_t>(runs.size()); ++q)
      for (std::size_t i = runs[q].first; i < runs[q].second; ++i) tie_keys[i] = ties.bits(row_offset + rows[i]);
  } else {
    // Each row whose value is tied in its group puts its key into the next free slot of
    // that run (slots taken atomically: the run's keys are sorted below, so the order
    // in which rows arrive does not matter). The run's length bounds the writes even if
    // the values were not sorted as promised.
    std::vector<std::uint32_t> fill(runs.size(), 0);
    int bad = 0;
    const int nt = threads_for(n, 65536);
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) reduction(| : bad)
#endif
    for (std::ptrdiff_t ri = 0; ri < static_cast<std::ptrdiff_t>(n); ++ri) {
      const std::size_t r = static_cast<std::size_t>(ri);
      const std::int32_t c = codes[r];
      if (c < 0 || c >= k) {
        bad = 1;
        continue;
      }
      T v = x[r];
      if (jitter > 0.0)
        v = static_cast<T>(static_cast<double>(v) + jitter * (2.0 * jit.uniform(row_offset + r) - 1.0));
      const std::size_t off = static_cast<std::size_t>(offsets[c]);
      const T* xs = values + off;
      const std::size_t a = count_lt(xs, index[c], v);  // start of v's run
      const std::size_t len = static_cast<std::size_t>(offsets[c + 1] - offsets[c]);
      if (!(a + 1 < len && xs[a + 1] == v)) continue;
      const auto it = std::lower_bound(runs.begin(), runs.end(), std::make_pair(off + a, std::size_t(0)));
      if (it == runs.end() || it->first != off + a) continue;
      const std::size_t q = static_cast<std::size_t>(it - runs.begin());
      std::uint32_t slot;
#ifdef FAIRFAST_OPENMP
#pragma omp atomic capture
#endif
      slot = fill[q]++;
      if (slot < it->second - it->first) tie_keys[it->first + slot] = ties.bits(row_offset + r);
    }
    if (bad) return tie_keys_bad_code;
  }
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(std::max(1, nr)) schedule(dynamic, 1)
#endif
  for (std::ptrdiff_t q = 0; q < static_cast<std::ptrdiff_t>(runs.size()); ++q) {
    const std::size_t a = runs[q].first, b = runs[q].second;
    if (rows) {
      std::vector<std::pair<std::uint64_t, std::uint32_t>> block(b - a);
      for (std::size_t i = a; i < b; ++i) block[i - a] = {tie_keys[i], rows[i]};
      std::sort(block.begin(), block.end());
      for (std::size_t i = a; i < b; ++i) {
        tie_keys[i] = block[i - a].first;
        rows[i] = block[i - a].second;
      }
    } else {
      std::sort(tie_keys + a, tie_keys + b);
    }
  }
  return tied;
}

// Barycenter tables: table has n + k entries, group g's n_g + 1 at offsets[g] + g.
// cumw: inclusive cumulative weights restarting at each group, or nullptr.
//
// Unit weights: for group s, rank j and group g, the step quantile index is
// ceil(j n_g / n_s) - 1 and the linear position is j (n_g - 1) / n_s; both are tracked
// incrementally in exact integer arithmetic along j (no division in the loop). That
// costs O((n + k) k); from sweep_min_groups groups the step tables come from a sweep in
// O(n log n) instead (barycenter_sweep.hpp, which says how its rounding differs).
template <class T>
void barycenter_tables(const T* values, const double* cumw, const std::int64_t* offsets,
                       std::int32_t k, const double* p, Interpolation mode, double* table) {
  if (mode == Interpolation::step && k >= sweep_min_groups) {
    barycenter_tables_sweep(values, cumw, offsets, k, p, table);
    return;
  }
  std::vector<SampleView> views(k);
  for (std::int32_t g = 0; g < k; ++g) {
    views[g].n = static_cast<std::size_t>(offsets[g + 1] - offsets[g]);
    views[g].cumw = cumw ? cumw + offsets[g] : nullptr;
  }
  for (std::int32_t s = 0; s < k; ++s) {
    const std::int64_t ns = offsets[s + 1] - offsets[s];
    double* out = table + offsets[s] + s;
    const std::int64_t rows = ns + 1;
    const int nt = threads_for(static_cast<std::size_t>(rows) * k, 65536);
#ifdef FAIRFAST_OPENMP
#pragma omp parallel num_threads(nt)
#endif
    {
      const RowRange share = thread_rows(static_cast<std::size_t>(rows));
      const std::int64_t j0 = static_cast<std::int64_t>(share.lo), j1 = static_cast<std::int64_t>(share.hi);
      // Per-group position along j, advanced incrementally in exact integer arithmetic
      // (64 bits suffice: every product is at most n_s n_g < 2**64 for groups below 2**32):
      // step: c = ceil(j n_g / n_s) with cden = c n_s; linear: i = floor(j (n_g - 1) / n_s)
      // with iden = i n_s.
      std::vector<std::uint64_t> num(static_cast<std::size_t>(k)), pos(static_cast<std::size_t>(k)), den(static_cast<std::size_t>(k));
      const std::uint64_t ds = static_cast<std::uint64_t>(ns);
      for (std::int32_t g = 0; g < k; ++g) {
        const std::int64_t ng = offsets[g + 1] - offsets[g];
        const std::uint64_t step = static_cast<std::uint64_t>(mode == Interpolation::step ? ng : ng - 1);
        num[g] = std::uint64_t(j0) * step;
        pos[g] = mode == Interpolation::step ? (num[g] + ds - 1) / ds : num[g] / ds;
        den[g] = pos[g] * ds;
      }
      for (std::int64_t j = j0; j < j1; ++j) {
        double acc = 0.0, qmin = HUGE_VAL, qmax = -HUGE_VAL;
        for (std::int32_t g = 0; g < k; ++g) {
          const T* xg = values + offsets[g];
          const std::int64_t ng = offsets[g + 1] - offsets[g];
          double q;
          if (cumw) {
            q = quantile_at(xg, views[g], views[s].mass(static_cast<std::size_t>(j)) / views[s].total(), mode);
          } else if (mode == Interpolation::step) {
            // smallest i with (i + 1) / n_g >= j / n_s, i.e. ceil(j n_g / n_s) - 1, clipped.
            // With n_g <= n_s the position moves by at most one per j: no branch.
            if (ng <= ns) {
              const unsigned inc = den[g] < num[g];
              pos[g] += inc;
              den[g] += inc ? ds : std::uint64_t(0);
            } else {
              while (den[g] < num[g]) {
                ++pos[g];
                den[g] += ds;
              }
            }
            const std::int64_t i = std::clamp<std::int64_t>(static_cast<std::int64_t>(pos[g]) - 1, 0, ng - 1);
            q = static_cast<double>(xg[i]);
            num[g] += static_cast<std::uint64_t>(ng);
          } else if (ng == 1) {
            q = static_cast<double>(xg[0]);
          } else {  // position j / n_s on the grid i / (n_g - 1)
            if (ng <= ns) {
              const unsigned inc = den[g] + ds <= num[g];
              pos[g] += inc;
              den[g] += inc ? ds : std::uint64_t(0);
            } else {
              while (den[g] + ds <= num[g]) {
                ++pos[g];
                den[g] += ds;
              }
            }
            const std::int64_t i = static_cast<std::int64_t>(pos[g]);
            if (i >= ng - 1) {
              q = static_cast<double>(xg[ng - 1]);
            } else {
              const double frac = static_cast<double>(num[g] - den[g]) / static_cast<double>(ns);
              q = static_cast<double>(xg[i]) + frac * (static_cast<double>(xg[i + 1]) - xg[i]);
            }
            num[g] += static_cast<std::uint64_t>(ng - 1);
          }
          acc += p[g] * q;
          if (p[g] > 0.0) {
            qmin = std::min(qmin, q);
            qmax = std::max(qmax, q);
          }
        }
        // A convex combination of the groups' quantiles: clamped to their range, so
        // rounding in sum(p_k q_k) never steps outside it (scores in [0, 1] stay there;
        // equal quantiles give exactly that value).
        out[j] = std::clamp(acc, qmin, qmax);
      }
    }
  }
}

}  // namespace fairfast
