// 1-D optimal transport on empirical distributions: sorting with weights, CDF and
// quantile evaluation ("step" and "linear" conventions), a bucketed search index,
// the tie-exact randomised CDF, Wasserstein-p and Kolmogorov-Smirnov distances.
//
// A sample is held sorted, with optional inclusive cumulative weights
// cumw[i] = w[0] + ... + w[i]; cumw == nullptr means unit weights.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common.hpp"
#include "random.hpp"

namespace fairfast {

enum class Interpolation : int { step = 0, linear = 1 };

using u128 = unsigned __int128;

// ---------------------------------------------------------------------------
// Bucketed search index over a sorted array.
//
// bucket(t) = clamp(floor((t - lo) * scale), 0, m - 1) is non-decreasing in t, and
// start[b] is the first position whose value falls in a bucket >= b. Then every value
// in a bucket below bucket(t) is < t and every value in a bucket above it is > t, so
// both lower_bound(t) and upper_bound(t) lie in [start[b], start[b + 1]]: the search is
// exact whatever the rounding of the bucket formula.
struct BucketIndex {
  double lo = 0.0;
  double scale = 0.0;
  std::uint32_t m = 1;
  const std::uint32_t* start = nullptr;  // m + 1 entries

  std::uint32_t bucket(double t) const {
    const double f = (t - lo) * scale;
    if (!(f >= 0.0)) return 0;
    if (f >= static_cast<double>(m)) return m - 1;
    return static_cast<std::uint32_t>(f);
  }
};

// Fills start[0..m] for the sorted x[0..n); returns lo and scale through idx.
template <class T>
void build_bucket_index(const T* x, std::size_t n, std::uint32_t m, std::uint32_t* start,
                        BucketIndex& idx) {
  idx.m = std::max<std::uint32_t>(1, m);
  idx.lo = n ? static_cast<double>(x[0]) : 0.0;
  const double range = n ? static_cast<double>(x[n - 1]) - idx.lo : 0.0;
  idx.scale = (range > 0.0 && std::isfinite(range)) ? static_cast<double>(idx.m) / range : 0.0;
  idx.start = start;
  // start = exclusive prefix sum of the bucket counts: no data-dependent branches.
  std::fill(start, start + idx.m + 1, std::uint32_t(0));
  for (std::size_t i = 0; i < n; ++i) ++start[idx.bucket(static_cast<double>(x[i])) + 1];
  for (std::uint32_t b = 0; b < idx.m; ++b) start[b + 1] += start[b];
}

// Number of x[k] <= t (right) or < t (left), using the index to narrow the search.
template <class T>
inline std::size_t count_le(const T* x, const BucketIndex& idx, T t) {
  const std::uint32_t b = idx.bucket(static_cast<double>(t));
  return static_cast<std::size_t>(std::upper_bound(x + idx.start[b], x + idx.start[b + 1], t) - x);
}
template <class T>
inline std::size_t count_lt(const T* x, const BucketIndex& idx, T t) {
  const std::uint32_t b = idx.bucket(static_cast<double>(t));
  return static_cast<std::size_t>(std::lower_bound(x + idx.start[b], x + idx.start[b + 1], t) - x);
}

// ---------------------------------------------------------------------------
// CDF and quantile of one sorted sample.

struct SampleView {
  std::size_t n = 0;
  const double* cumw = nullptr;  // inclusive cumulative weights, or nullptr (unit weights)
  double total() const { return cumw ? cumw[n - 1] : static_cast<double>(n); }
  // Mass of the first k points (k = 0..n).
  double mass(std::size_t k) const { return k == 0 ? 0.0 : (cumw ? cumw[k - 1] : static_cast<double>(k)); }
  // Mass of point i.
  double weight(std::size_t i) const { return cumw ? (i ? cumw[i] - cumw[i - 1] : cumw[0]) : 1.0; }
};

// Plotting position of point i for the "linear" convention: the mass strictly before
// it over the total mass less the last point's, i.e. i / (n - 1) for unit weights.
inline double linear_position(const SampleView& s, std::size_t i) {
  if (!s.cumw) return static_cast<double>(i) / static_cast<double>(s.n - 1);
  return s.mass(i) / (s.total() - s.weight(s.n - 1));
}

// The "linear" convention needs mass before the last point; without any (all the
// weight on the largest value) the law is a point mass and both conventions agree.
inline bool linear_degenerate(const SampleView& s) {
  return s.n == 1 || (s.cumw && !(s.total() - s.weight(s.n - 1) > 0.0));
}

template <class T>
double ecdf_at(const T* x, const SampleView& s, const BucketIndex& idx, T t, Interpolation mode) {
  const std::size_t n = s.n;
  if (mode == Interpolation::step || linear_degenerate(s)) return s.mass(count_le(x, idx, t)) / s.total();
  if (t < x[0]) return 0.0;
  if (t >= x[n - 1]) return 1.0;
  const std::size_t i = count_le(x, idx, t) - 1;  // x[i] <= t < x[i + 1]
  const double p0 = linear_position(s, i), p1 = linear_position(s, i + 1);
  const double frac = (static_cast<double>(t) - x[i]) / (static_cast<double>(x[i + 1]) - x[i]);
  return p0 + frac * (p1 - p0);
}

// Step: the generalised inverse inf{y : F(y) >= q}, with F computed exactly as ecdf_at
// does (mass / total), so that quantile(ecdf(x_i)) == x_i on sample points.
template <class T>
double quantile_at(const T* x, const SampleView& s, double q, Interpolation mode) {
  const std::size_t n = s.n;
  if (mode == Interpolation::linear && linear_degenerate(s)) return static_cast<double>(x[n - 1]);
  if (mode == Interpolation::step || n == 1) {
    const double total = s.total();
    std::size_t lo = 0, hi = n - 1;  // smallest i with mass(i + 1) / total >= q
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (s.mass(mid + 1) / total >= q) hi = mid;
      else lo = mid + 1;
    }
    return static_cast<double>(x[lo]);
  }
  if (q <= 0.0) return static_cast<double>(x[0]);
  if (q >= 1.0) return static_cast<double>(x[n - 1]);
  if (!s.cumw) {
    const double h = q * static_cast<double>(n - 1);
    std::size_t i = static_cast<std::size_t>(h);
    if (i >= n - 1) return static_cast<double>(x[n - 1]);
    const double frac = h - static_cast<double>(i);
    return static_cast<double>(x[i]) + frac * (static_cast<double>(x[i + 1]) - x[i]);
  }
  std::size_t lo = 0, hi = n - 1;  // largest i with position(i) <= q
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo + 1) / 2;
    if (linear_position(s, mid) <= q) lo = mid;
    else hi = mid - 1;
  }
  if (lo == n - 1) return static_cast<double>(x[n - 1]);
  const double p0 = linear_position(s, lo), p1 = linear_position(s, lo + 1);
  const double frac = (q - p0) / (p1 - p0);
  return static_cast<double>(x[lo]) + frac * (static_cast<double>(x[lo + 1]) - x[lo]);
}

// F(t-) + V (F(t) - F(t-)), V ~ U[0, 1) from the counter-based generator at row
// offset + i: uniform on [0, 1] for t drawn from the sample's law, ties or not.
template <class T>
double randomized_cdf_at(const T* x, const SampleView& s, const BucketIndex& idx, T t, double v) {
  const double total = s.total();
  const double below = s.mass(count_lt(x, idx, t));
  const double upto = s.mass(count_le(x, idx, t));
  return (below + v * (upto - below)) / total;
}

// ---------------------------------------------------------------------------
// Distances between two sorted samples.

inline double power_abs(double d, double p) {
  d = std::fabs(d);
  if (p == 1.0) return d;
  if (p == 2.0) return d * d;
  if (p == 3.0) return d * d * d;
  return std::pow(d, p);
}

// The merges of two sorted samples with unit weights are cut into blocks of the larger
// sample's indices: each block starts from the state the serial merge has there, and
// blocks are combined in order. Block bounds depend on the sizes only, so the result is
// the same bits whatever the thread count (and equals the serial merge's below one
// block).
constexpr std::size_t merge_block = std::size_t(1) << 16;

namespace detail {

// W_p^p * n m of unit-weight samples, with n >= m: breakpoints (i + 1) m and (j + 1) n
// in units of 1 / (n m), merged exactly in integers.
template <class T>
double wasserstein_unit(const T* u, std::size_t n, const T* v, std::size_t m, double p) {
  const std::size_t nb = (n + merge_block - 1) / merge_block;
  std::vector<double> part(nb, 0.0);
  const int nt = static_cast<int>(std::min<std::size_t>(nb, static_cast<std::size_t>(threads_for(n + m, 1 << 17))));
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(std::max(1, nt)) schedule(static)
#endif
  for (std::ptrdiff_t blk = 0; blk < static_cast<std::ptrdiff_t>(nb); ++blk) {
    const std::size_t i0 = static_cast<std::size_t>(blk) * merge_block, i1 = std::min(n, i0 + merge_block);
    // Where the serial merge stands when u's index reaches i0: every v breakpoint
    // (j + 1) n <= i0 m passed.
    std::size_t i = i0, j = static_cast<std::size_t>(u128(i0) * m / n);
    u128 prev = u128(i0) * m;
    double cost = 0.0;
    while (i < i1 && j < m) {
      const u128 a = u128(i + 1) * m, b = u128(j + 1) * n;
      const u128 next = a < b ? a : b;
      cost += static_cast<double>(next - prev) * power_abs(static_cast<double>(u[i]) - v[j], p);
      prev = next;
      if (a == next) ++i;
      if (b == next) ++j;
    }
    part[blk] = cost;
  }
  double cost = 0.0;
  for (double c : part) cost += c;
  return cost;
}

// max |i m - j n| over the merged distinct values of unit-weight samples, n >= m. Block
// bounds are moved to the start of a run of equal values of u; a block evaluates the
// values from its first u value (from -inf for the first block) up to the next block's.
template <class T>
std::int64_t ks_unit(const T* u, std::size_t n, const T* v, std::size_t m) {
  const std::size_t nb = (n + merge_block - 1) / merge_block;
  std::vector<std::size_t> first(nb + 1);
  for (std::size_t blk = 0; blk < nb; ++blk) {
    const std::size_t at = blk * merge_block;
    first[blk] = blk == 0 ? 0 : static_cast<std::size_t>(std::lower_bound(u, u + n, u[at]) - u);
  }
  first[nb] = n;
  std::vector<std::int64_t> part(nb, 0);
  const int nt = static_cast<int>(std::min<std::size_t>(nb, static_cast<std::size_t>(threads_for(n + m, 1 << 17))));
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(std::max(1, nt)) schedule(static)
#endif
  for (std::ptrdiff_t blk = 0; blk < static_cast<std::ptrdiff_t>(nb); ++blk) {
    const std::size_t i1 = first[blk + 1];
    const bool last = static_cast<std::size_t>(blk) + 1 == nb;
    std::size_t i = first[blk];
    std::size_t j = blk == 0 ? 0 : static_cast<std::size_t>(std::lower_bound(v, v + m, u[i]) - v);
    std::int64_t best = 0;
    while (i < i1 || (j < m && (last || v[j] < u[i1]))) {
      const T t = (j == m || (i < i1 && u[i] <= v[j])) ? u[i] : v[j];
      while (i < n && u[i] <= t) ++i;
      while (j < m && v[j] <= t) ++j;
      const __int128 d = __int128(i) * m - __int128(j) * n;
      const __int128 ad = d < 0 ? -d : d;
      if (ad > best) best = static_cast<std::int64_t>(ad);
    }
    part[blk] = best;
  }
  std::int64_t best = 0;
  for (std::int64_t b : part) best = std::max(best, b);
  return best;
}

}  // namespace detail

// W_p(u, v)^p = int_0^1 |Q_u(t) - Q_v(t)|^p dt, by merging the two step quantile
// functions' breakpoints. Unit weights use exact integer breakpoints (k/n vs l/m), in
// parallel blocks (see merge_block).
template <class T>
double wasserstein_pow(const T* u, const SampleView& su, const T* v, const SampleView& sv, double p) {
  const std::size_t n = su.n, m = sv.n;
  std::size_t i = 0, j = 0;
  double cost = 0.0;
  if (!su.cumw && !sv.cumw) {
    // |u - v| is symmetric: block over the larger sample.
    cost = n >= m ? detail::wasserstein_unit(u, n, v, m, p) : detail::wasserstein_unit(v, m, u, n, p);
    return cost / (static_cast<double>(n) * static_cast<double>(m));
  }
  const double tu = su.total(), tv = sv.total();
  double prev = 0.0;
  while (i < n && j < m) {
    const double a = (i + 1 == n) ? 1.0 : su.mass(i + 1) / tu;
    const double b = (j + 1 == m) ? 1.0 : sv.mass(j + 1) / tv;
    const double next = a < b ? a : b;
    if (next > prev) cost += (next - prev) * power_abs(static_cast<double>(u[i]) - v[j], p);
    prev = std::max(prev, next);
    if (a <= next) ++i;
    if (b <= next) ++j;
  }
  return cost;
}

// sup_t |F_u(t) - F_v(t)|, evaluated after each distinct value of the merged samples
// (unit weights: exactly, in integers, in parallel blocks).
template <class T>
double ks_statistic(const T* u, const SampleView& su, const T* v, const SampleView& sv) {
  const std::size_t n = su.n, m = sv.n;
  std::size_t i = 0, j = 0;
  if (!su.cumw && !sv.cumw) {
    const std::int64_t best = n >= m ? detail::ks_unit(u, n, v, m) : detail::ks_unit(v, m, u, n);
    return static_cast<double>(best) / (static_cast<double>(n) * static_cast<double>(m));
  }
  const double tu = su.total(), tv = sv.total();
  double best = 0.0;
  while (i < n || j < m) {
    const T t = (j == m || (i < n && u[i] <= v[j])) ? u[i] : v[j];
    while (i < n && u[i] <= t) ++i;
    while (j < m && v[j] <= t) ++j;
    best = std::max(best, std::fabs(su.mass(i) / tu - sv.mass(j) / tv));
  }
  return best;
}

}  // namespace fairfast
