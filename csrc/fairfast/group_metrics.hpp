// Group metrics in one pass, and the bootstrap resampling of their sufficient
// statistics. Pure C++17.
//
// Every group metric of fairfast.metrics is a function of a few per-group sums
// (the "stats" of a group), laid out as
//
//   [0] rows            number of rows (unweighted)
//   [1] weight          sum of w
//   [2] w[y=0, p=0]     true negatives      (missing y or p counts as 0)
//   [3] w[y=0, p=1]     false positives
//   [4] w[y=1, p=0]     false negatives
//   [5] w[y=1, p=1]     true positives
//   [6] w * score
//   [7 + 3b + 0] w            in calibration bin b   (b = 0 .. n_bins-1)
//   [7 + 3b + 1] w * y        in calibration bin b
//   [7 + 3b + 2] w * score    in calibration bin b
//
// Sums are accumulated in fixed blocks of rows whose size depends only on n, and
// the block partials are added in block order, so the result does not depend on
// the number of threads.
#pragma once

#include <algorithm>
#include <cmath>
#include <math.h>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common.hpp"
#include "random.hpp"

namespace fairfast {

// Stream number of the bootstrap generators (the streams 0-2 of random.hpp are taken).
constexpr std::uint64_t stream_bootstrap = 16;

constexpr int gs_rows = 0, gs_weight = 1, gs_cells = 2, gs_score = 6, gs_bins = 7;

inline int group_stat_count(int n_bins) { return gs_bins + 3 * n_bins; }

struct GroupInputs {
  const std::int32_t* codes = nullptr;
  std::size_t n = 0;
  std::int32_t n_groups = 0;
  const std::uint8_t* y_true = nullptr;  // 0/1 or nullptr
  const std::uint8_t* y_pred = nullptr;  // 0/1 or nullptr
  const double* weights = nullptr;       // or nullptr (all ones)
  int n_bins = 0;                        // calibration bins (needs scores and y_true)
};

namespace detail {

inline int calibration_bin(double s, int n_bins) {
  // Bins [0, 1/B), [1/B, 2/B), ..., [(B-1)/B, 1]; values outside [0, 1] are clamped.
  const double f = std::floor(s * n_bins);
  if (!(f > 0.0)) return 0;
  return f >= n_bins ? n_bins - 1 : static_cast<int>(f);
}

// Adds one row (labels y, p in {0, 1}, score s, weight w) to the stats `acc` of its group.
inline void add_values(int n_bins, bool has_scores, std::uint8_t y, std::uint8_t p, double s, double w, double* acc) {
  acc[gs_rows] += 1.0;
  acc[gs_weight] += w;
  acc[gs_cells + 2 * y + p] += w;
  if (has_scores) {
    acc[gs_score] += w * s;
    if (n_bins > 0) {
      double* b = acc + gs_bins + 3 * calibration_bin(s, n_bins);
      b[0] += w;
      b[1] += w * y;
      b[2] += w * s;
    }
  }
}

// Adds row i (with weight w) to the stats `acc` of its group.
template <class T>
inline bool add_row(const GroupInputs& in, const T* scores, std::size_t i, double w, double* acc) {
  const std::uint8_t y = in.y_true ? in.y_true[i] : 0;
  const std::uint8_t p = in.y_pred ? in.y_pred[i] : 0;
  if ((y | p) > 1) return false;
  add_values(in.n_bins, scores != nullptr, y, p, scores ? static_cast<double>(scores[i]) : 0.0, w, acc);
  return true;
}

// The hot loop without weights, scores or bins: four counters per group.
inline Status add_block_counts(const GroupInputs& in, std::size_t lo, std::size_t hi, int stride, double* acc) {
  const std::int32_t k = in.n_groups;
  const std::uint8_t* y = in.y_true;
  const std::uint8_t* p = in.y_pred;
  std::uint8_t bad = 0;
  for (std::size_t i = lo; i < hi; ++i) {
    const std::int32_t g = in.codes[i];
    if (g < 0 || g >= k) return Status::group_out_of_range;
    const std::uint8_t yi = y ? y[i] : 0, pi = p ? p[i] : 0;
    bad |= static_cast<std::uint8_t>(yi | pi);
    acc[static_cast<std::size_t>(g) * stride + gs_cells + ((2 * yi + pi) & 3)] += 1.0;
  }
  if (bad > 1) return Status::bad_value;
  return Status::ok;
}

}  // namespace detail

// Per-group stats (n_groups x group_stat_count(n_bins), row-major) of the rows.
template <class T>
Status group_sums(const GroupInputs& in, const T* scores, double* out) {
  const int S = group_stat_count(in.n_bins);
  const std::size_t KS = static_cast<std::size_t>(in.n_groups) * S;
  std::fill(out, out + KS, 0.0);
  if (in.n == 0) return Status::ok;
  // Block size depends on n only (never on the thread count).
  std::size_t block = std::max<std::size_t>(std::size_t(1) << 16, (in.n + 63) / 64);
  if (KS * ((in.n + block - 1) / block) > (std::size_t(1) << 24)) block = in.n;  // huge K: one block
  const std::size_t nb = (in.n + block - 1) / block;
  std::vector<double> part(nb * KS, 0.0);
  const bool counts_only = !in.weights && !scores;
  // Memory-bound and ~1 ns a row: a second thread pays off only on millions of rows.
  const int nt = static_cast<int>(std::min<std::size_t>(nb, static_cast<std::size_t>(threads_for(in.n, std::size_t(1) << 21))));
  int status = 0;
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) reduction(max : status)
#endif
  for (std::ptrdiff_t b = 0; b < static_cast<std::ptrdiff_t>(nb); ++b) {
    const std::size_t lo = static_cast<std::size_t>(b) * block, hi = std::min(in.n, lo + block);
    double* acc = part.data() + static_cast<std::size_t>(b) * KS;
    if (counts_only) {
      const Status st = detail::add_block_counts(in, lo, hi, S, acc);
      if (st != Status::ok) status = std::max(status, static_cast<int>(st));
      continue;
    }
    for (std::size_t i = lo; i < hi; ++i) {
      const std::int32_t g = in.codes[i];
      if (g < 0 || g >= in.n_groups) {
        status = std::max(status, static_cast<int>(Status::group_out_of_range));
        break;
      }
      if (!detail::add_row(in, scores, i, in.weights ? in.weights[i] : 1.0, acc + static_cast<std::size_t>(g) * S)) {
        status = std::max(status, static_cast<int>(Status::bad_value));
        break;
      }
    }
  }
  if (status) return static_cast<Status>(status);
  for (std::size_t b = 0; b < nb; ++b) {
    const double* p = part.data() + b * KS;
    for (std::size_t j = 0; j < KS; ++j) out[j] += p[j];
  }
  if (counts_only) {
    for (std::int32_t g = 0; g < in.n_groups; ++g) {
      double* a = out + static_cast<std::size_t>(g) * S;
      a[gs_rows] = a[gs_cells] + a[gs_cells + 1] + a[gs_cells + 2] + a[gs_cells + 3];
      a[gs_weight] = a[gs_rows];
    }
  }
  return Status::ok;
}

namespace detail {

// Rows [lo, hi) of group_counts_columns; M = number of columns (0: runtime `m`).
// Local __restrict copies keep the compiler from reloading the inputs after every
// counter store (the counters are int64, like the label columns).
template <class I, class L, int M, bool HY, bool HP>
bool count_rows(const I* const* cols, const std::int64_t* lows, const std::int32_t* sizes, std::size_t lo,
                std::size_t hi, const L* __restrict y, const L* __restrict p, L pos, std::int64_t* __restrict acc,
                std::size_t m) {
  const std::size_t mm = M > 0 ? static_cast<std::size_t>(M) : m;
  const I* __restrict c0 = cols[0];
  const I* __restrict c1 = mm > 1 ? cols[1] : nullptr;
  const std::int64_t lo0 = lows[0], lo1 = mm > 1 ? lows[1] : 0;
  const std::int64_t k0 = sizes[0], k1 = mm > 1 ? sizes[1] : 1;
  std::int64_t bad = 0;
  for (std::size_t i = lo; i < hi; ++i) {
    std::int64_t code;
    if constexpr (M == 1) {
      code = static_cast<std::int64_t>(c0[i]) - lo0;
      bad |= (code < 0) | (code >= k0);
    } else if constexpr (M == 2) {
      const std::int64_t v0 = static_cast<std::int64_t>(c0[i]) - lo0, v1 = static_cast<std::int64_t>(c1[i]) - lo1;
      bad |= (v0 < 0) | (v0 >= k0) | (v1 < 0) | (v1 >= k1);
      code = v0 * k1 + v1;
    } else {
      code = 0;
      for (std::size_t j = 0; j < mm; ++j) {
        const std::int64_t v = static_cast<std::int64_t>(cols[j][i]) - lows[j];
        bad |= (v < 0) | (v >= sizes[j]);
        code = code * sizes[j] + v;
      }
    }
    if (bad) return false;
    int cell = 0;
    if constexpr (HY) cell += 2 * (y[i] == pos);
    if constexpr (HP) cell += (p[i] == pos);
    ++acc[static_cast<std::size_t>(code) * 4 + cell];
  }
  return true;
}

template <class I, class L, int M>
bool count_block(const I* const* cols, const std::int64_t* lows, const std::int32_t* sizes, std::size_t lo,
                 std::size_t hi, const L* y, const L* p, L pos, std::int64_t* acc, std::size_t m = 0) {
  if (y && p) return count_rows<I, L, M, true, true>(cols, lows, sizes, lo, hi, y, p, pos, acc, m);
  if (y) return count_rows<I, L, M, true, false>(cols, lows, sizes, lo, hi, y, p, pos, acc, m);
  if (p) return count_rows<I, L, M, false, true>(cols, lows, sizes, lo, hi, y, p, pos, acc, m);
  return count_rows<I, L, M, false, false>(cols, lows, sizes, lo, hi, y, p, pos, acc, m);
}

}  // namespace detail

// The counts-only group stats (no weights, scores or bins) straight from the raw
// columns: integer label columns (mixed-radix codes sum_j (x_j - lo_j) * stride_j,
// computed on the fly, never stored) and label arrays y, p compared with `pos` (either
// may be nullptr). Same layout and block order as group_sums, so the result is equal.
template <class I, class L>
Status group_counts_columns(const std::vector<const I*>& cols, const std::int64_t* lows, const std::int32_t* sizes,
                            std::size_t n, const L* y, const L* p, std::int64_t pos, double* out) {
  const int S = group_stat_count(0);
  std::int64_t k64 = 1;
  for (std::size_t j = 0; j < cols.size(); ++j) k64 *= sizes[j];
  const std::size_t K = static_cast<std::size_t>(k64);
  std::fill(out, out + K * S, 0.0);
  if (n == 0) return Status::ok;
  std::size_t block = std::max<std::size_t>(std::size_t(1) << 16, (n + 63) / 64);
  if (K * 4 * ((n + block - 1) / block) > (std::size_t(1) << 24)) block = n;
  const std::size_t nb = (n + block - 1) / block;
  std::vector<std::int64_t> part(nb * K * 4, 0);
  const int nt = static_cast<int>(std::min<std::size_t>(nb, static_cast<std::size_t>(threads_for(n, std::size_t(1) << 21))));
  const std::size_t m = cols.size();
  const L lpos = static_cast<L>(pos);
  const bool pos_fits = static_cast<std::int64_t>(lpos) == pos;
  int status = 0;
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) reduction(max : status)
#endif
  for (std::ptrdiff_t b = 0; b < static_cast<std::ptrdiff_t>(nb); ++b) {
    const std::size_t lo = static_cast<std::size_t>(b) * block, hi = std::min(n, lo + block);
    std::int64_t* acc = part.data() + static_cast<std::size_t>(b) * K * 4;
    bool ok;
    const L* yy = pos_fits ? y : nullptr;
    const L* pp = pos_fits ? p : nullptr;
    if (m == 1)
      ok = detail::count_block<I, L, 1>(cols.data(), lows, sizes, lo, hi, yy, pp, lpos, acc);
    else if (m == 2)
      ok = detail::count_block<I, L, 2>(cols.data(), lows, sizes, lo, hi, yy, pp, lpos, acc);
    else
      ok = detail::count_block<I, L, 0>(cols.data(), lows, sizes, lo, hi, yy, pp, lpos, acc, m);
    if (!ok) status = static_cast<int>(Status::group_out_of_range);
  }
  if (status) return static_cast<Status>(status);
  for (std::size_t b = 0; b < nb; ++b) {
    const std::int64_t* q = part.data() + b * K * 4;
    for (std::size_t g = 0; g < K; ++g)
      for (int c = 0; c < 4; ++c) out[g * S + gs_cells + c] += static_cast<double>(q[g * 4 + c]);
  }
  for (std::size_t g = 0; g < K; ++g) {
    double* a = out + g * S;
    a[gs_rows] = a[gs_weight] = a[gs_cells] + a[gs_cells + 1] + a[gs_cells + 2] + a[gs_cells + 3];
  }
  return Status::ok;
}

// Smallest and largest value of an integer label column, in one pass (min and max are
// exact, so the threads' chunks combine to the same result).
template <class I>
void integer_range(const I* x, std::size_t n, std::int64_t& lo, std::int64_t& hi) {
  I a = n ? x[0] : I(0), b = a;
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(threads_for(n, std::size_t(1) << 20)) schedule(static) reduction(min : a) \
    reduction(max : b)
#endif
  for (std::ptrdiff_t i = 1; i < static_cast<std::ptrdiff_t>(n); ++i) {
    a = x[i] < a ? x[i] : a;
    b = x[i] > b ? x[i] : b;
  }
  lo = static_cast<std::int64_t>(a);
  hi = static_cast<std::int64_t>(b);
}

// Mixed-radix group codes of integer label columns: out = (x - lo) for the first
// column, out = out * k + (x - lo) for the next ones. Returns false if a label lies
// outside [lo, lo + k).
template <class I>
bool accumulate_codes(const I* x, std::size_t n, std::int64_t lo, std::int32_t k, bool first, std::int32_t* out) {
  int bad = 0;
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(threads_for(n, std::size_t(1) << 20)) schedule(static) reduction(| : bad)
#endif
  for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(n); ++i) {
    const std::int64_t v = static_cast<std::int64_t>(x[i]) - lo;
    bad |= (v < 0) | (v >= k);
    out[i] = first ? static_cast<std::int32_t>(v) : out[i] * k + static_cast<std::int32_t>(v);
  }
  return !bad;
}

// Rows ordered by group (stable counting sort): order[offsets[g] .. offsets[g+1]) are
// the rows of group g. Codes must be valid.
inline void order_by_group(const std::int32_t* codes, std::size_t n, std::int32_t k, std::int64_t* offsets,
                           std::int64_t* order) {
  std::vector<std::int64_t> pos(static_cast<std::size_t>(k) + 1, 0);
  for (std::size_t i = 0; i < n; ++i) ++pos[static_cast<std::size_t>(codes[i]) + 1];
  for (std::int32_t g = 0; g < k; ++g) pos[g + 1] += pos[g];
  std::copy(pos.begin(), pos.end(), offsets);
  for (std::size_t i = 0; i < n; ++i) order[pos[codes[i]]++] = static_cast<std::int64_t>(i);
}

// ---------------------------------------------------------------------------------
// Bootstrap.
//
// Replicate r resamples, within every group g, n_g rows with replacement from the
// n_g rows of g (the stratified bootstrap: group sizes are fixed). All randomness of
// (replicate r, group g) comes from CounterRng(bootstrap_key(seed, r, g),
// stream_bootstrap), draw j = 0, 1, 2, ..., so a replicate is the same whatever the
// thread count, and replicates are computed independently of each other.
// ---------------------------------------------------------------------------------

inline std::uint64_t bootstrap_key(std::uint64_t seed, std::uint64_t replicate, std::uint64_t group) {
  return mix64(mix64(seed ^ 0x5851F42D4C957F2DULL) + mix64(replicate * 0x9E3779B97F4A7C15ULL + group + 1));
}

namespace detail {

// Uniform integer in [0, m) from 64 random bits (multiply-high; bias < m / 2^64).
inline std::uint64_t below(std::uint64_t bits, std::uint64_t m) {
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(bits) * m) >> 64);
}

// Sequential draws from one counter-based stream.
struct Draws {
  CounterRng rng;
  std::uint64_t next = 0;
  double uniform() { return rng.uniform(next++); }
  std::uint64_t bits() { return rng.bits(next++); }
};

// log Gamma(x) without touching the global `signgam` (std::lgamma may write it, which
// is a data race inside a parallel region).
inline double log_gamma(double x) {
#if defined(__GLIBC__) || defined(__APPLE__)
  int sign;
  return ::lgamma_r(x, &sign);
#else
  return std::lgamma(x);
#endif
}

// Binomial(n, p) with p <= 1/2: inversion when n p < 10, otherwise Hormann's BTRS
// transformed rejection (W. Hormann, "The generation of binomial random variates",
// J. Statist. Comput. Simul. 46, 1993). Both are exact.
inline std::int64_t binomial_small_p(std::int64_t n, double p, Draws& d) {
  if (n <= 0 || p <= 0.0) return 0;
  const double np = static_cast<double>(n) * p;
  if (np < 10.0) {
    const double q = 1.0 - p, s = p / q, a = (static_cast<double>(n) + 1.0) * s;
    for (;;) {
      double r = std::exp(static_cast<double>(n) * std::log1p(-p));
      double u = d.uniform();
      std::int64_t x = 0;
      bool ok = true;
      while (u > r) {
        u -= r;
        ++x;
        if (x > n) {  // rounding ran off the end: draw again
          ok = false;
          break;
        }
        r *= a / static_cast<double>(x) - s;
      }
      if (ok) return x;
    }
  }
  const double nd = static_cast<double>(n);
  const double spq = std::sqrt(np * (1.0 - p));
  const double b = 1.15 + 2.53 * spq;
  const double a = -0.0873 + 0.0248 * b + 0.01 * p;
  const double c = np + 0.5;
  const double vr = 0.92 - 4.2 / b;
  const double alpha = (2.83 + 5.1 / b) * spq;
  const double lpq = std::log(p / (1.0 - p));
  const double m = std::floor((nd + 1.0) * p);
  for (;;) {
    const double u = d.uniform() - 0.5;
    double v = d.uniform();
    const double us = 0.5 - std::fabs(u);
    const double k = std::floor((2.0 * a / us + b) * u + c);
    if (k < 0.0 || k > nd) continue;
    if (us >= 0.07 && v <= vr) return static_cast<std::int64_t>(k);
    v = std::log(v * alpha / (a / (us * us) + b));
    const double bound = log_gamma(m + 1.0) + log_gamma(nd - m + 1.0) - log_gamma(k + 1.0) -
                         log_gamma(nd - k + 1.0) + (k - m) * lpq;  // log f(k) / f(m)
    if (v <= bound) return static_cast<std::int64_t>(k);
  }
}

inline std::int64_t binomial(std::int64_t n, double p, Draws& d) {
  if (p >= 1.0) return n;
  if (p > 0.5) return n - binomial_small_p(n, 1.0 - p, d);
  return binomial_small_p(n, p, d);
}

}  // namespace detail

// Multinomial bootstrap of cell counts: counts is (n_strata x n_cells); out is
// (n_replicates x n_strata x n_cells). Replicate r of stratum g draws
// Multinomial(N_g, counts_g / N_g) by sequential conditional binomials. This is exactly
// the distribution of the cell counts of N_g rows resampled with replacement from the
// stratum, so for statistics that depend on the rows only through their cell (e.g. the
// confusion counts of unweighted data) it is the stratified bootstrap at O(cells) cost.
// Replicates first_replicate .. first_replicate + n_replicates - 1 are drawn, so a long
// run can be computed in chunks (e.g. to report progress) with the same result.
inline Status multinomial_bootstrap(const std::int64_t* counts, std::int32_t n_strata, std::int32_t n_cells,
                                    std::int64_t n_replicates, std::uint64_t seed, std::int64_t* out,
                                    std::int64_t first_replicate = 0) {
  for (std::int64_t j = 0; j < static_cast<std::int64_t>(n_strata) * n_cells; ++j)
    if (counts[j] < 0) return Status::bad_value;
  const std::size_t per = static_cast<std::size_t>(n_strata) * n_cells;
  const int nt = threads_for(static_cast<std::size_t>(n_replicates) * per, 4096);
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
  for (std::int64_t r = 0; r < n_replicates; ++r) {
    for (std::int32_t g = 0; g < n_strata; ++g) {
      detail::Draws d{CounterRng(bootstrap_key(seed, static_cast<std::uint64_t>(first_replicate + r),
                                               static_cast<std::uint64_t>(g)),
                                 stream_bootstrap)};
      const std::int64_t* c = counts + static_cast<std::size_t>(g) * n_cells;
      std::int64_t* o = out + static_cast<std::size_t>(r) * per + static_cast<std::size_t>(g) * n_cells;
      std::int64_t left = 0, left_mass = 0;
      for (std::int32_t j = 0; j < n_cells; ++j) left += c[j];
      left_mass = left;
      for (std::int32_t j = 0; j < n_cells; ++j) {
        if (left_mass <= 0 || left <= 0) {
          o[j] = 0;
          continue;
        }
        const std::int64_t x = (c[j] >= left_mass) ? left
                                                   : detail::binomial(left, static_cast<double>(c[j]) /
                                                                                static_cast<double>(left_mass),
                                                                      d);
        o[j] = x;
        left -= x;
        left_mass -= c[j];
      }
    }
  }
  return Status::ok;
}

// Row-level stratified bootstrap of the group stats: out is (n_replicates x n_groups x
// S). `order`/`offsets` come from order_by_group. Replicate r of group g draws n_g row
// positions uniformly from the group (draw j of its stream picks the j-th resampled row)
// and accumulates their stats. Cost O(n_replicates * n); threads share replicates.
// As above, the replicates drawn are first_replicate .. first_replicate + n_replicates - 1.
template <class T>
Status index_bootstrap(const GroupInputs& in, const T* scores, const std::int64_t* order,
                       const std::int64_t* offsets, std::int64_t n_replicates, std::uint64_t seed, double* out,
                       std::int64_t first_replicate = 0) {
  const int S = group_stat_count(in.n_bins);
  const std::size_t KS = static_cast<std::size_t>(in.n_groups) * S;
  // The rows packed in group order: a draw then touches one cache line, not five arrays.
  struct Packed {
    double s, w;
    std::uint8_t y, p;
  };
  std::vector<Packed> rows(in.n);
  for (std::size_t k = 0; k < in.n; ++k) {
    const auto i = static_cast<std::size_t>(order[k]);
    const std::uint8_t y = in.y_true ? in.y_true[i] : 0, p = in.y_pred ? in.y_pred[i] : 0;
    if ((y | p) > 1) return Status::bad_value;
    rows[k] = {scores ? static_cast<double>(scores[i]) : 0.0, in.weights ? in.weights[i] : 1.0, y, p};
  }
  const bool has_scores = scores != nullptr;
  const int nt = threads_for(static_cast<std::size_t>(n_replicates) * std::max<std::size_t>(in.n, 1), 1 << 16);
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(std::min<std::int64_t>(nt, std::max<std::int64_t>(n_replicates, 1))) \
    schedule(dynamic, 1)
#endif
  for (std::int64_t r = 0; r < n_replicates; ++r) {
    double* o = out + static_cast<std::size_t>(r) * KS;
    std::fill(o, o + KS, 0.0);
    for (std::int32_t g = 0; g < in.n_groups; ++g) {
      const std::int64_t lo = offsets[g], len = offsets[g + 1] - offsets[g];
      detail::Draws d{CounterRng(bootstrap_key(seed, static_cast<std::uint64_t>(first_replicate + r),
                                               static_cast<std::uint64_t>(g)),
                                 stream_bootstrap)};
      double* acc = o + static_cast<std::size_t>(g) * S;
      const Packed* base = rows.data() + lo;
      for (std::int64_t t = 0; t < len; ++t) {
        const Packed& row = base[detail::below(d.bits(), static_cast<std::uint64_t>(len))];
        detail::add_values(in.n_bins, has_scores, row.y, row.p, row.s, row.w, acc);
      }
    }
  }
  return Status::ok;
}

}  // namespace fairfast
