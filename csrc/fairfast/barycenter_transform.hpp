// Wasserstein-barycenter transform: the rank of each row's score among its group's
// calibration values (in (value, tie key) order) and the table entry at that rank,
//
//   j = #{calibration points of s at or below (t, key)},   out = (1 - eps) B_s[j] + eps t.
//
// The fitted arrays come from a validated BarycenterStage (barycenter_stage.hpp): the
// kernels here trust them and check only the rows (group code, finite score).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "common.hpp"
#include "partition.hpp"
#include "random.hpp"
#include "rank_lookup.hpp"
#include "transport.hpp"

namespace fairfast {

// One group's fitted arrays (one task): its sorted values and tie keys, its bucket
// index (index.start has size + 1 bounds) and its size + 1 table entries.
template <class T>
struct GroupTables {
  const T* values;
  const std::uint64_t* tie_keys;
  const double* table;
  BucketIndex index;
  std::uint32_t size;
};

namespace detail {

// The lookup path over rows lo..hi-1 of one thread: the line of row i is located and
// prefetched D rows before it is read, so D lines are in flight. Invalid rows (group
// code out of range, non-finite score) are noted in `issue`. `exact(c, t, row, line)`
// gives the fair value of a row the line cannot answer.
template <class T, bool Jittered, bool Blended, bool Streamed, class Exact>
void lookup_rows(const RankLookup<T>& lookup, const T* x_, const std::int32_t* codes_, std::size_t lo,
                std::size_t hi, std::int32_t k, double epsilon, double jitter, const CounterRng& jit,
                std::uint64_t row_offset, T* out, const Exact& exact, RowIssue& issue) {
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
  auto locate = [&](std::size_t i) {
    const std::size_t r = i & (D - 1);
    const std::int32_t c = codes[i];
    T t = x[i];
    if ((static_cast<std::uint32_t>(c) >= kk) | !std::isfinite(t)) {
      issue.note(i, static_cast<std::uint32_t>(c) >= kk ? Status::group_out_of_range : Status::bad_value);
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
    unsigned le = 0;
    for (int q = 0; q < cap; ++q) le += ln->value[q] <= t;
    // The line's values are sorted (padded with +inf, never equal to a finite t): t ties
    // one of them exactly when it ties the last one at or below it.
    const unsigned eq = (le > 0) & (ln->value[le - (le > 0)] == t);
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
}

}  // namespace detail

// out[i] = (1 - eps) B_{c_i}[j_i] + eps x[i] for the k groups' tables `groups` (n_fit
// calibration rows in all). Returns the first invalid row: a group code outside [0, k)
// (group_out_of_range) or a non-finite score (bad_value), checked here, fused with the
// pass over the data; the outputs of invalid rows are unspecified.
//
// How the rows are visited (the output never depends on it; `automatic` chooses by the
// tables' size and whether a RankLookup is given, the others exist so that tests can
// compare every path on small data; `lookup` needs one).
enum class TransformPath : int { automatic = 0, plain = 1, pipelined = 2, sliced = 3, lookup = 4 };

template <class T>
RowIssue barycenter_transform(const GroupTables<T>* groups, std::int32_t k, std::size_t n_fit, const T* x,
                              const std::int32_t* codes, std::size_t n, double epsilon, double jitter,
                              std::uint64_t seed, std::uint64_t row_offset, T* out,
                              TransformPath path = TransformPath::automatic, const RankLookup<T>* lookup = nullptr) {
  const CounterRng jit(seed, stream_jitter), ties(seed, stream_ties);
  constexpr std::uint32_t window = 8;
  const int nt = threads_for(n, 16384);
  std::vector<RowIssue> issues(static_cast<std::size_t>(nt));
  // Rank of t among group g's calibration values in (value, tie key) order.
  auto rank_in = [&](const GroupTables<T>& gt, T t, std::size_t i, std::uint32_t a,
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
  auto rank = [&](const GroupTables<T>& gt, T t, std::size_t i) -> std::uint32_t {
    const std::uint32_t b = gt.index.bucket(static_cast<double>(t));
    return rank_in(gt, t, i, gt.index.start[b], gt.index.start[b + 1]);
  };
  // Validates row i (group code c, score xi) and applies the jitter; nullptr when invalid.
  auto query = [&](std::size_t i, std::int32_t c, T xi, RowIssue& issue, T& t) -> const GroupTables<T>* {
    if (c < 0 || c >= k) {
      issue.note(i, Status::group_out_of_range);
      return nullptr;
    }
    if (!std::isfinite(xi)) {
      issue.note(i, Status::bad_value);
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
  auto emit = [&](std::size_t i, T xi, const GroupTables<T>& gt, std::uint32_t j) {
    out[i] = blend(gt.table[j], xi);
  };
  auto process = [&](std::size_t i, std::int32_t c, T xi, RowIssue& issue) {
    T t;
    if (const GroupTables<T>* gt = query(i, c, xi, issue, t)) emit(i, xi, *gt, rank(*gt, t, i));
  };

  // Which path: with a RankLookup (the caller builds one for mid-sized fits, see
  // rank_lookup.hpp), one prefetched cache line per row. Without, tables that fit in L2
  // (a few hundred KB) are read in row order. Beyond, the lookups of successive rows are
  // software-pipelined (measured faster than sorting each block of rows in cache by
  // L1-sized slices of the tables, at 2-60 MB of tables). Tables far larger than the
  // caches (beyond ~100 MB) make every row pay three cache misses: all rows are then
  // counting-sorted by slices whose tables fit in L2 ("sliced"). The result does not
  // depend on the order in which rows are visited.
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
    const GroupTables<T>& gt = groups[static_cast<std::size_t>(c)];
    const std::uint64_t b = gt.index.bucket(static_cast<double>(x[i]));
    return sl.first[c] + static_cast<std::size_t>(b * sl.count[c] / gt.index.m);
  };
  // Large outputs bypass the caches (see OutputWriter); it needs T-aligned rows.
  const bool stream = n * sizeof(T) >= (std::size_t(32) << 20) && reinterpret_cast<std::uintptr_t>(out) % sizeof(T) == 0;
  if (path == TransformPath::lookup) {
    // Rows that tie a calibration value or fall in an overfull bucket take the exact
    // search of rank_in (with the bucket's bounds from the line).
    auto exact = [&](std::int32_t c, T t, std::size_t row, const LookupLine<T>& ln) {
      const GroupTables<T>& gt = groups[static_cast<std::size_t>(c)];
      return gt.table[rank_in(gt, t, row, ln.start, ln.start + ln.count)];
    };
    // Compiled once per (jitter?, epsilon?, streamed output?) so that the common case
    // carries none of these tests.
    auto run = [&](auto jittered, auto blended, auto streamed) {
#ifdef FAIRFAST_OPENMP
#pragma omp parallel num_threads(nt)
#endif
      {
        const auto [lo, hi] = thread_rows(n);
        detail::lookup_rows<T, decltype(jittered)::value, decltype(blended)::value, decltype(streamed)::value>(
            *lookup, x, codes, lo, hi, k, epsilon, jitter, jit, row_offset, out, exact, issues[thread_id()]);
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
    const bool many_groups = static_cast<std::size_t>(k) * sizeof(GroupTables<T>) > (std::size_t(1) << 16);
#ifdef FAIRFAST_OPENMP
#pragma omp parallel num_threads(nt)
#endif
    {
      const auto [lo, hi] = thread_rows(n);
      RowIssue& issue = issues[thread_id()];
      OutputWriter<T, true> writer(out, lo, stream);
      std::uint32_t rb[R], ra[R], re[R];
      T rt[R];
      const GroupTables<T>* rg[R];
      for (std::size_t i = lo; i < hi + 2 * D; ++i) {
        if (i < hi) {  // stage A: bucket of row i (and the group entry of row i + D, for many groups)
          if (many_groups && i + D < hi) {
            const std::int32_t c = codes[i + D];
            if (c >= 0 && c < k) __builtin_prefetch(groups + c);
          }
          const std::size_t r = i % R;
          rg[r] = query(i, codes[i], x[i], issue, rt[r]);
          if (rg[r]) {
            rb[r] = rg[r]->index.bucket(static_cast<double>(rt[r]));
            __builtin_prefetch(rg[r]->index.start + rb[r]);
          }
        }
        if (i >= lo + D && i - D < hi) {  // stage B: bucket bounds of row i - D
          const std::size_t r = (i - D) % R;
          if (rg[r]) {
            ra[r] = rg[r]->index.start[rb[r]];
            re[r] = rg[r]->index.start[rb[r] + 1];
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
      const GroupTables<T>& gt = groups[static_cast<std::size_t>(g)];
      const std::uint64_t local = slice - sl.first[g], count = sl.count[g], m_b = gt.index.m;
      const std::uint64_t b0 = (local * m_b + count - 1) / count, b1 = ((local + 1) * m_b + count - 1) / count;
      const std::uint32_t p0 = gt.index.start[std::min<std::uint64_t>(b0, m_b)],
                        p1 = gt.index.start[std::min<std::uint64_t>(b1, m_b)];
      for (std::uint64_t b = b0; b < b1; b += 16) __builtin_prefetch(gt.index.start + b);
      for (std::uint32_t p = p0; p <= p1; p += 64 / sizeof(T)) __builtin_prefetch(gt.values + p);
      for (std::uint32_t p = p0; p <= p1; p += 8) __builtin_prefetch(gt.table + p);
    };
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
#endif
    for (std::ptrdiff_t q0 = 0; q0 < static_cast<std::ptrdiff_t>(sl.n_slices); ++q0) {
      const std::size_t slice = static_cast<std::size_t>(q0);
      const std::size_t lo = starts[slice], hi = starts[slice + 1];
      if (lo == hi) continue;
      if (slice + 1 < sl.n_slices) prefetch_slice(slice);
      for (std::size_t q = lo; q < hi; ++q) {
        const Item& it = sorted[q];
        process(it.row, it.code, it.x, issues[thread_id()]);
      }
    }
  } else {
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (std::ptrdiff_t ii = 0; ii < static_cast<std::ptrdiff_t>(n); ++ii)
      process(static_cast<std::size_t>(ii), codes[ii], x[ii], issues[thread_id()]);
  }
  RowIssue first;
  for (const RowIssue& issue : issues) first.merge(issue);
  return first;
}

}  // namespace fairfast
