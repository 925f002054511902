// Wasserstein-barycenter post-processing tables (Chzhen et al. 2020 plug-in).
//
// Fit: rows are partitioned by group (here), sorted within each group (by NumPy's
// vectorised sort, in the Python layer), and runs of equal values are ordered by a tie
// key: a counter-based random 64-bit number keyed by (seed, row). This is the limit of
// infinitesimal jitter: it only orders ties, never distinct values, so the map stays
// non-decreasing within a group and calibration rows get distinct ranks. Optionally a
// real additive jitter U[-sigma, sigma] (stream 1) is applied first.
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
#include <memory>
#include <numeric>
#include <type_traits>
#include <vector>

#include "common.hpp"
#include "random.hpp"
#include "partition.hpp"
#include "rank_lookup.hpp"
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
// over the input (x, codes; the jitter recomputed), located through the bucket index.
// Returns the number of tied positions, or tie_keys_bad_code for a code outside [0, k).
constexpr std::size_t tie_keys_bad_code = ~std::size_t(0);

template <class T>
std::size_t compute_tie_keys(const T* values, const std::int64_t* offsets, std::int32_t k,
                             const std::uint32_t* start, const double* lo, const double* scale,
                             const T* x, const std::int32_t* codes, std::size_t n, std::uint64_t seed,
                             std::uint64_t row_offset, double jitter, std::uint32_t* rows,
                             std::uint64_t* tie_keys) {
  const CounterRng jit(seed, stream_jitter), ties(seed, stream_ties);
  // tie_keys arrives zero-filled (calloc'd pages cost nothing until written).
  std::vector<std::pair<std::size_t, std::size_t>> runs;
  for (std::int32_t g = 0; g < k; ++g) {
    std::size_t i = static_cast<std::size_t>(offsets[g]);
    const std::size_t end = static_cast<std::size_t>(offsets[g + 1]);
    while (i < end) {
      std::size_t e = i + 1;
      while (e < end && values[e] == values[i]) ++e;
      if (e - i > 1) runs.emplace_back(i, e);
      i = e;
    }
  }
  if (runs.empty()) return 0;
  std::size_t tied = 0;
  for (const auto& r : runs) tied += r.second - r.first;
  if (rows) {
    for (const auto& r : runs)
      for (std::size_t i = r.first; i < r.second; ++i) tie_keys[i] = ties.bits(row_offset + rows[i]);
  } else {
    // Next free slot and length of each run, indexed by the run's start. The length
    // bounds the writes even if the values were not sorted as promised.
    std::vector<std::uint32_t> fill(n, 0), run_len(n, 0);
    for (const auto& q : runs) run_len[q.first] = static_cast<std::uint32_t>(q.second - q.first);
    for (std::size_t r = 0; r < n; ++r) {
      const std::int32_t c = codes[r];
      if (c < 0 || c >= k) return tie_keys_bad_code;
      T v = x[r];
      if (jitter > 0.0)
        v = static_cast<T>(static_cast<double>(v) + jitter * (2.0 * jit.uniform(row_offset + r) - 1.0));
      const std::size_t off = static_cast<std::size_t>(offsets[c]);
      BucketIndex idx;
      idx.lo = lo[c];
      idx.scale = scale[c];
      idx.m = static_cast<std::uint32_t>(std::max<std::int64_t>(1, offsets[c + 1] - offsets[c]));
      idx.start = start + off + c;
      const T* xs = values + off;
      const std::size_t a = count_lt(xs, idx, v);  // start of v's run
      const std::size_t len = static_cast<std::size_t>(offsets[c + 1] - offsets[c]);
      if (a + 1 < len && xs[a + 1] == v && fill[off + a] < run_len[off + a])
        tie_keys[off + a + fill[off + a]++] = ties.bits(row_offset + r);
    }
  }
  const int rt = std::min<int>(threads_for(tied, 65536), static_cast<int>(runs.size()));
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(std::max(1, rt)) schedule(dynamic, 1)
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

// Per-group bucket indexes: start has n + k entries (group g at offsets[g] + g, n_g + 1
// of them), lo and scale have k.
template <class T>
void build_group_indexes(const T* values, const std::int64_t* offsets, std::int32_t k,
                         std::uint32_t* start, double* lo, double* scale) {
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(std::min<int>(threads_for(static_cast<std::size_t>(offsets[k]), 65536), k)) \
    schedule(dynamic, 1)
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
//
// Unit weights: for group s, rank j and group g, the step quantile index is
// ceil(j n_g / n_s) - 1 and the linear position is j (n_g - 1) / n_s; both are tracked
// incrementally in exact integer arithmetic along j (no division in the loop).
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

struct BarycenterModel {
  std::int32_t n_groups;
  const std::int64_t* offsets;   // k + 1
  const std::uint64_t* tie_keys; // n
  const std::uint32_t* start;    // n + k
  const double* lo;              // k
  const double* scale;           // k
  const double* table;           // n + k
};

namespace detail {

template <class T>
struct GroupTables {
  const T* values;
  const std::uint64_t* tie_keys;
  const std::uint32_t* start;
  const double* table;
  BucketIndex index;
  std::uint32_t size;
};

}  // namespace detail

namespace detail {

// The lookup path over rows lo..hi-1 of one thread: the line of row i is located and
// prefetched D rows before it is read, so D lines are in flight. Returns the status
// bits (1: group code out of range, 2: non-finite score). `exact(c, t, row, line)`
// gives the fair value of a row the line cannot answer.
template <class T, bool Jittered, bool Blended, bool Streamed, class Exact>
int lookup_rows(const RankLookup<T>& lookup, const T* x_, const std::int32_t* codes_, std::size_t lo,
                std::size_t hi, std::int32_t k, double epsilon, double jitter, const CounterRng& jit,
                std::uint64_t row_offset, T* out, const Exact& exact) {
  constexpr std::size_t D = 16;  // a power of two: ring slots are i & (D - 1)
  constexpr int cap = LookupLine<T>::capacity;
  // Locals (not captured references): stores to the ring and the output cannot alias them.
  const T* __restrict x = x_;
  const std::int32_t* __restrict codes = codes_;
  const auto* maps = lookup.maps();
  const auto* segs = lookup.segments();
  const LookupLine<T>* lines = lookup.lines();
  const std::uint32_t kk = static_cast<std::uint32_t>(k);
  const double keep = 1.0 - epsilon;
  OutputWriter<T, Streamed> writer(out, lo);
  const LookupLine<T>* ring_line[D];
  T ring_t[D];
  int status = 0;
  auto locate = [&](std::size_t i) {
    const std::size_t r = i & (D - 1);
    const std::int32_t c = codes[i];
    T t = x[i];
    if ((static_cast<std::uint32_t>(c) >= kk) | !std::isfinite(t)) {
      status |= static_cast<std::uint32_t>(c) >= kk ? 1 : 2;
      ring_line[r] = nullptr;
      return;
    }
    if constexpr (Jittered)
      t = static_cast<T>(static_cast<double>(t) + jitter * (2.0 * jit.uniform(row_offset + i) - 1.0));
    const double td = static_cast<double>(t);
    const LookupLine<T>* ln = lines + RankLookup<T>::line_of(segs[RankLookup<T>::segment_of(maps[c], td)], td);
    __builtin_prefetch(ln);
    ring_line[r] = ln;
    ring_t[r] = t;
  };
  auto answer = [&](std::size_t row) {
    const std::size_t r = row & (D - 1);
    const LookupLine<T>* ln = ring_line[r];
    const T xi = x[row];
    if (!ln) {  // invalid row (reported): keep the writer's line complete
      writer.put(row, xi);
      return;
    }
    const T t = ring_t[r];
    unsigned le = 0, eq = 0;
    for (int q = 0; q < cap; ++q) {
      le += ln->value[q] <= t;
      eq |= ln->value[q] == t;
    }
    const double fair = (ln->count <= static_cast<std::uint32_t>(cap)) & !eq ? ln->fair[le] : exact(codes[row], t, row, *ln);
    if constexpr (Blended)
      writer.put(row, static_cast<T>(keep * fair + epsilon * static_cast<double>(xi)));
    else
      writer.put(row, static_cast<T>(fair));
  };
  const std::size_t primed = std::min(hi, lo + D);
  for (std::size_t i = lo; i < primed; ++i) locate(i);
  for (std::size_t i = primed; i < hi; ++i) {
    answer(i - D);  // frees the slot of row i
    locate(i);
  }
  for (std::size_t row = hi - lo >= D ? hi - D : lo; row < hi; ++row) answer(row);
  writer.finish(hi);
  return status;
}

}  // namespace detail

// out[i] = (1 - eps) B_{c_i}[j_i] + eps x[i]. Returns group_out_of_range on a bad code
// and bad_value on a non-finite score (checked here, fused with the pass over the data).
//
// How the rows are visited (the output never depends on it; `automatic` chooses by the
// tables' size and whether a RankLookup is given, the others exist so that tests can
// compare every path on small data; `lookup` needs one).
enum class TransformPath : int { automatic = 0, plain = 1, pipelined = 2, sliced = 3, lookup = 4 };

template <class T>
Status barycenter_transform(const T* values, const BarycenterModel& m, const T* x,
                            const std::int32_t* codes, std::size_t n, double epsilon, double jitter,
                            std::uint64_t seed, std::uint64_t row_offset, T* out,
                            TransformPath path = TransformPath::automatic, const RankLookup<T>* lookup = nullptr) {
  const CounterRng jit(seed, stream_jitter), ties(seed, stream_ties);
  const std::int32_t k = m.n_groups;
  std::vector<detail::GroupTables<T>> groups(static_cast<std::size_t>(k));
  for (std::int32_t g = 0; g < k; ++g) {
    const std::size_t off = static_cast<std::size_t>(m.offsets[g]);
    auto& gt = groups[g];
    gt.values = values + off;
    gt.tie_keys = m.tie_keys + off;
    gt.start = m.start + off + g;
    gt.table = m.table + off + g;
    gt.index.lo = m.lo[g];
    gt.index.scale = m.scale[g];
    gt.index.m = static_cast<std::uint32_t>(std::max<std::int64_t>(1, m.offsets[g + 1] - m.offsets[g]));
    gt.index.start = gt.start;
    gt.size = static_cast<std::uint32_t>(m.offsets[g + 1] - m.offsets[g]);
  }
  constexpr std::uint32_t window = 8;
  const int nt = threads_for(n, 16384);
  int bad = 0;
  // Rank of t among group g's calibration values in (value, tie key) order.
  auto rank_in = [&](const detail::GroupTables<T>& gt, T t, std::size_t i, std::uint32_t a,
                     std::uint32_t e) -> std::uint32_t {
    const T* xs = gt.values;
    std::uint32_t j;
    if (e - a <= window && a + window <= gt.size) {
      // Branch-free count over a fixed window: values past the bucket are in higher
      // buckets, hence > t, and add nothing.
      std::uint32_t c = 0;
      for (std::uint32_t q = 0; q < window; ++q) c += (xs[a + q] <= t);
      j = a + c;
    } else {
      j = static_cast<std::uint32_t>(std::upper_bound(xs + a, xs + e, t) - xs);
    }
    // Does t tie with calibration points? (Below the bucket every value is < t, so no
    // need to test j > a; computed without a branch on j, which would mispredict.)
    const std::uint32_t prev = j - (j > 0);
    if ((j > 0) & (xs[prev] == t)) {  // order by tie key
      const std::size_t l = static_cast<std::size_t>(std::lower_bound(xs + a, xs + j, t) - xs);
      const std::uint64_t key = ties.bits(row_offset + i);
      const std::uint64_t* kb = gt.tie_keys;
      j = static_cast<std::uint32_t>(std::upper_bound(kb + l, kb + j, key) - kb);
    }
    return j;
  };
  auto rank = [&](const detail::GroupTables<T>& gt, T t, std::size_t i) -> std::uint32_t {
    const std::uint32_t b = gt.index.bucket(static_cast<double>(t));
    return rank_in(gt, t, i, gt.start[b], gt.start[b + 1]);
  };
  // Validates row i (group code c, score xi) and applies the jitter; nullptr when invalid.
  auto query = [&](std::size_t i, std::int32_t c, T xi, int& status, T& t) -> const detail::GroupTables<T>* {
    if (c < 0 || c >= k) {
      status |= 1;
      return nullptr;
    }
    if (!std::isfinite(xi)) {
      status |= 2;
      return nullptr;
    }
    t = jitter > 0.0 ? static_cast<T>(static_cast<double>(xi) + jitter * (2.0 * jit.uniform(row_offset + i) - 1.0))
                     : xi;
    return &groups[static_cast<std::size_t>(c)];
  };
  auto blend = [epsilon](double fair, T xi) {
    return epsilon == 0.0 ? static_cast<T>(fair)
                          : static_cast<T>((1.0 - epsilon) * fair + epsilon * static_cast<double>(xi));
  };
  auto emit = [&](std::size_t i, T xi, const detail::GroupTables<T>& gt, std::uint32_t j) {
    out[i] = blend(gt.table[j], xi);
  };
  auto process = [&](std::size_t i, std::int32_t c, T xi, int& status) {
    T t;
    if (const detail::GroupTables<T>* gt = query(i, c, xi, status, t)) emit(i, xi, *gt, rank(*gt, t, i));
  };

  // Which path: with a RankLookup (the caller builds one for mid-sized fits, see
  // rank_lookup.hpp), one prefetched cache line per row. Without, tables that fit in L2
  // (a few hundred KB) are read in row order. Beyond, the lookups of successive rows are
  // software-pipelined (measured faster than sorting each block of rows in cache by
  // L1-sized slices of the tables, at 2-60 MB of tables). Tables far larger than the
  // caches (beyond ~100 MB) make every row pay three cache misses: all rows are then
  // counting-sorted by slices whose tables fit in L2 ("sliced"). The result does not
  // depend on the order in which rows are visited.
  const std::size_t n_fit = static_cast<std::size_t>(m.offsets[k]);
  const std::size_t table_bytes = n_fit * (sizeof(T) + sizeof(std::uint32_t) + sizeof(double));
  constexpr std::size_t slice_bytes = std::size_t(1) << 18;
  const bool row_ids_fit = n < (std::size_t(1) << 32);
  if (path == TransformPath::lookup && lookup == nullptr) path = TransformPath::automatic;
  if (path == TransformPath::automatic) {
    if (lookup != nullptr)
      path = TransformPath::lookup;
    else if (table_bytes > (std::size_t(96) << 20) && n >= n_fit / 4 && row_ids_fit)
      path = TransformPath::sliced;
    else if (table_bytes > (std::size_t(1) << 18))
      path = TransformPath::pipelined;
    else
      path = TransformPath::plain;
  }
  if (path == TransformPath::sliced && !row_ids_fit) path = TransformPath::pipelined;
  // Coarse slices of each group's value range whose tables take about `bytes` each; the
  // last slice collects invalid rows.
  struct Slicing {
    std::vector<std::uint32_t> count, first;
    std::size_t n_slices = 0;
  };
  auto slicing = [&](std::size_t bytes) {
    Slicing sl{std::vector<std::uint32_t>(static_cast<std::size_t>(k)),
               std::vector<std::uint32_t>(static_cast<std::size_t>(k) + 1, 0), 0};
    for (std::int32_t g = 0; g < k; ++g) {
      const std::size_t group_bytes = static_cast<std::size_t>(groups[g].size) * (sizeof(T) + 12);
      sl.count[g] = static_cast<std::uint32_t>(std::min<std::size_t>(4096, std::max<std::size_t>(1, group_bytes / bytes)));
      sl.first[g + 1] = sl.first[g] + sl.count[g];
    }
    sl.n_slices = sl.first[k] + 1;
    return sl;
  };
  auto slice_of = [&](const Slicing& sl, std::size_t i) -> std::size_t {
    const std::int32_t c = codes[i];
    if (c < 0 || c >= k || !std::isfinite(x[i])) return sl.n_slices - 1;
    const detail::GroupTables<T>& gt = groups[static_cast<std::size_t>(c)];
    const std::uint64_t b = gt.index.bucket(static_cast<double>(x[i]));
    return sl.first[c] + static_cast<std::size_t>(b * sl.count[c] / gt.index.m);
  };
  // Large outputs bypass the caches (see OutputWriter); it needs T-aligned rows.
  const bool stream = n * sizeof(T) >= (std::size_t(32) << 20) && reinterpret_cast<std::uintptr_t>(out) % sizeof(T) == 0;
  if (path == TransformPath::lookup) {
    // Rows that tie a calibration value or fall in an overfull bucket take the exact
    // search of rank_in (with the bucket's bounds from the line).
    auto exact = [&](std::int32_t c, T t, std::size_t row, const LookupLine<T>& ln) {
      const detail::GroupTables<T>& gt = groups[static_cast<std::size_t>(c)];
      return gt.table[rank_in(gt, t, row, ln.start, ln.start + ln.count)];
    };
    // Compiled once per (jitter?, epsilon?, streamed output?) so that the common case
    // carries none of these tests.
    auto run = [&](auto jittered, auto blended, auto streamed) {
#ifdef FAIRFAST_OPENMP
#pragma omp parallel num_threads(nt) reduction(| : bad)
#endif
      {
        const auto [lo, hi] = thread_rows(n);
        bad |= detail::lookup_rows<T, decltype(jittered)::value, decltype(blended)::value, decltype(streamed)::value>(
            *lookup, x, codes, lo, hi, k, epsilon, jitter, jit, row_offset, out, exact);
      }
    };
    using yes = std::true_type;
    using no = std::false_type;
    auto with_stream = [&](auto j, auto e) {
      if (stream) run(j, e, yes{});
      else run(j, e, no{});
    };
    const bool J = jitter > 0.0, E = epsilon != 0.0;
    if (J && E) with_stream(yes{}, yes{});
    else if (J) with_stream(yes{}, no{});
    else if (E) with_stream(no{}, yes{});
    else with_stream(no{}, no{});
  } else if (path == TransformPath::pipelined) {
    // Software pipeline: the bucket bounds of row i + 2D and the values/table lines of
    // row i + D are prefetched while row i is computed, so the (mostly cache-missing)
    // lookups of different rows overlap instead of forming one dependent chain per row.
    constexpr std::size_t D = 16, R = 4 * D;
#ifdef FAIRFAST_OPENMP
#pragma omp parallel num_threads(nt) reduction(| : bad)
#endif
    {
      const auto [lo, hi] = thread_rows(n);
      OutputWriter<T, true> writer(out, lo, stream);
      std::uint32_t rb[R], ra[R], re[R];
      T rt[R];
      const detail::GroupTables<T>* rg[R];
      for (std::size_t i = lo; i < hi + 2 * D; ++i) {
        if (i < hi) {  // stage A: bucket of row i
          const std::size_t r = i % R;
          rg[r] = query(i, codes[i], x[i], bad, rt[r]);
          if (rg[r]) {
            rb[r] = rg[r]->index.bucket(static_cast<double>(rt[r]));
            __builtin_prefetch(rg[r]->start + rb[r]);
          }
        }
        if (i >= lo + D && i - D < hi) {  // stage B: bucket bounds of row i - D
          const std::size_t r = (i - D) % R;
          if (rg[r]) {
            ra[r] = rg[r]->start[rb[r]];
            re[r] = rg[r]->start[rb[r] + 1];
            __builtin_prefetch(rg[r]->values + ra[r]);
            __builtin_prefetch(rg[r]->table + ra[r]);
          }
        }
        if (i >= lo + 2 * D) {  // stage C: row i - 2D
          const std::size_t row = i - 2 * D;
          const std::size_t r = row % R;
          writer.put(row, rg[r] ? blend(rg[r]->table[rank_in(*rg[r], rt[r], row, ra[r], re[r])], x[row]) : x[row]);
        }
      }
      writer.finish(hi);
    }
  } else if (path == TransformPath::sliced) {
    const Slicing sl = slicing(slice_bytes);
    // Rows travel with their score and code, so the slice pass reads them sequentially.
    struct Item {
      T x;
      std::int32_t code;
      std::uint32_t row;
    };
    // Rows are scattered straight from the inputs into slice order (their slice is
    // recomputed rather than stored). Uninitialised: every entry is written first.
    std::unique_ptr<Item[]> sorted(new Item[n]);
    std::vector<std::size_t> hist, starts;
    detail::stable_scatter_by(
        n, sl.n_slices, [&](std::size_t i) { return slice_of(sl, i); },
        [&](std::size_t pos, std::size_t i) { sorted[pos] = Item{x[i], codes[i], static_cast<std::uint32_t>(i)}; },
        nt, hist, &starts);
    // Slice by slice: its rows look up random positions of its part of the tables, so
    // that part is first prefetched in order (the hardware streams it at full bandwidth)
    // instead of being brought in by one demand miss per line.
    auto prefetch_slice = [&](std::size_t slice) {
      std::int32_t g = 0;
      while (g + 1 < k && sl.first[g + 1] <= slice) ++g;
      const detail::GroupTables<T>& gt = groups[static_cast<std::size_t>(g)];
      const std::uint64_t local = slice - sl.first[g], count = sl.count[g], m_b = gt.index.m;
      const std::uint64_t b0 = (local * m_b + count - 1) / count, b1 = ((local + 1) * m_b + count - 1) / count;
      const std::uint32_t p0 = gt.start[std::min<std::uint64_t>(b0, m_b)], p1 = gt.start[std::min<std::uint64_t>(b1, m_b)];
      for (std::uint64_t b = b0; b < b1; b += 16) __builtin_prefetch(gt.start + b);
      for (std::uint32_t p = p0; p <= p1; p += 64 / sizeof(T)) __builtin_prefetch(gt.values + p);
      for (std::uint32_t p = p0; p <= p1; p += 8) __builtin_prefetch(gt.table + p);
    };
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) reduction(| : bad)
#endif
    for (std::ptrdiff_t q0 = 0; q0 < static_cast<std::ptrdiff_t>(sl.n_slices); ++q0) {
      const std::size_t slice = static_cast<std::size_t>(q0);
      const std::size_t lo = starts[slice], hi = starts[slice + 1];
      if (lo == hi) continue;
      if (slice + 1 < sl.n_slices) prefetch_slice(slice);
      for (std::size_t q = lo; q < hi; ++q) {
        const Item& it = sorted[q];
        process(it.row, it.code, it.x, bad);
      }
    }
  } else {
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) reduction(| : bad)
#endif
    for (std::ptrdiff_t ii = 0; ii < static_cast<std::ptrdiff_t>(n); ++ii)
      process(static_cast<std::size_t>(ii), codes[ii], x[ii], bad);
  }
  if (bad & 1) return Status::group_out_of_range;
  return (bad & 2) ? Status::bad_value : Status::ok;
}

}  // namespace fairfast
