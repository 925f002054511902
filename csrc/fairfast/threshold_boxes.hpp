// Two coupled rate constraints over monotone group rules (equalized odds without mixing).
// Pure C++17.
//
// Each group's monotone rules form a path of points j = 0..J (position p in [0, J]; p
// between j and j + 1 is on segment j), along which two metrics x and y (e.g. FPR and
// TPR) are non-decreasing and linear on every segment, and the utility `gain` is linear
// on every segment. A box [c1, c1 + w1] x [c2, c2 + w2] holds the positions whose x is in
// the first and y in the second interval: one contiguous range [l, h] of p (both metrics
// are monotone). A group's best rule in the box is the best allowed point strictly
// inside the range or one of its two ends; the total over groups is what the search
// maximises over box corners (c1, c2). flags[j] bit 0: point j allowed; bit 1: segment
// j -> j + 1 allowed.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "common.hpp"

namespace fairfast::thresholds {

// Maximum of `gain` over allowed points, by range (iterative segment tree over all
// groups' points; forbidden points count as -inf).
class RangeMax {
 public:
  RangeMax(const double* gain, const std::uint8_t* flags, std::int64_t n) : n_(n), tree_(2 * std::size_t(n)) {
    for (std::int64_t i = 0; i < n; ++i)
      tree_[std::size_t(n + i)] = (flags[i] & 1) ? gain[i] : -std::numeric_limits<double>::infinity();
    for (std::int64_t i = n - 1; i > 0; --i)
      tree_[std::size_t(i)] = std::max(tree_[std::size_t(2 * i)], tree_[std::size_t(2 * i + 1)]);
  }
  // max over [lo, hi] (inclusive); -inf when empty
  double query(std::int64_t lo, std::int64_t hi) const {
    double r = -std::numeric_limits<double>::infinity();
    for (std::int64_t a = lo + n_, b = hi + n_ + 1; a < b; a >>= 1, b >>= 1) {
      if (a & 1) r = std::max(r, tree_[std::size_t(a++)]);
      if (b & 1) r = std::max(r, tree_[std::size_t(--b)]);
    }
    return r;
  }

 private:
  std::int64_t n_;
  std::vector<double> tree_;
};

struct BoxPick {
  std::int64_t j = -1;  // path point (local to the group); q > 0: on segment j -> j + 1
  double q = 0.0;
  double value = -std::numeric_limits<double>::infinity();
};

namespace detail {

// Lowest position with v(p) >= c on the non-decreasing path v[b..e); -1 if none.
inline double first_at_least(const double* v, std::int64_t b, std::int64_t e, double c) {
  const std::int64_t j = std::lower_bound(v + b, v + e, c) - v;
  if (j == e) return -1.0;
  if (j == b || v[j] == c) return double(j - b);
  const double t = (c - v[j - 1]) / (v[j] - v[j - 1]);
  return double(j - 1 - b) + std::min(1.0, std::max(0.0, t));
}

// Highest position with v(p) <= c; -1 if none.
inline double last_at_most(const double* v, std::int64_t b, std::int64_t e, double c) {
  const std::int64_t j = (std::upper_bound(v + b, v + e, c) - v) - 1;
  if (j < b) return -1.0;
  if (j == e - 1 || v[j] == c) return double(j - b);
  const double t = (c - v[j]) / (v[j + 1] - v[j]);
  return double(j - b) + std::min(1.0, std::max(0.0, t));
}

// Utility at position p of group [b, e), or -inf where the path is forbidden.
inline double value_at(const double* gain, const std::uint8_t* flags, std::int64_t b, std::int64_t e, double p,
                       std::int64_t* j_out, double* q_out) {
  std::int64_t j = static_cast<std::int64_t>(std::floor(p));
  double q = p - double(j);
  if (b + j >= e - 1) {
    j = e - 1 - b;
    q = 0.0;
  }
  *j_out = j;
  *q_out = q;
  const std::int64_t k = b + j;
  if (q == 0.0) return (flags[k] & 1) ? gain[k] : -std::numeric_limits<double>::infinity();
  if (!(flags[k] & 2)) return -std::numeric_limits<double>::infinity();
  return gain[k] + q * (gain[k + 1] - gain[k]);
}

}  // namespace detail

// Best allowed rule of group [b, e) inside box [c1, d1] x [c2, d2]. `eps` (in positions)
// absorbs rounding when the box touches the path at a single point.
inline BoxPick best_in_box(const double* x, const double* y, const double* gain, const std::uint8_t* flags,
                           const RangeMax& rmq, std::int64_t b, std::int64_t e, double c1, double d1, double c2,
                           double d2, double eps = 1e-9) {
  BoxPick best;
  // box edges widened by a few ulps of the metric: corners computed as a value minus a
  // width land an ulp off the points they were computed from
  const double s1 = 8 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::max(std::fabs(c1), std::fabs(d1)));
  const double s2 = 8 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::max(std::fabs(c2), std::fabs(d2)));
  c1 -= s1;
  d1 += s1;
  c2 -= s2;
  d2 += s2;
  const double lx = detail::first_at_least(x, b, e, c1), hx = detail::last_at_most(x, b, e, d1);
  const double ly = detail::first_at_least(y, b, e, c2), hy = detail::last_at_most(y, b, e, d2);
  if (lx < 0 || hx < 0 || ly < 0 || hy < 0) return best;
  double l = std::max(lx, ly), h = std::min(hx, hy);
  if (l > h + eps) return best;
  if (h < l) h = l;
  std::int64_t j;
  double q;
  double v = detail::value_at(gain, flags, b, e, l, &j, &q);
  if (v > best.value) best = BoxPick{j, q, v};
  v = detail::value_at(gain, flags, b, e, h, &j, &q);
  if (v > best.value) best = BoxPick{j, q, v};
  const std::int64_t lo = static_cast<std::int64_t>(std::ceil(l)), hi = static_cast<std::int64_t>(std::floor(h));
  if (lo <= hi) {
    const double inner = rmq.query(b + lo, b + hi);
    if (inner > best.value) {
      // locate the point (rare: only when it beats both ends)
      for (std::int64_t i = b + lo; i <= b + hi; ++i)
        if ((flags[i] & 1) && gain[i] == inner) {
          best = BoxPick{i - b, 0.0, inner};
          break;
        }
    }
  }
  return best;
}

// Total of the groups' best utilities for each box corner (c1[i], c2[i]) with widths
// (w1, w2); -inf where some group has no allowed rule in the box.
inline void evaluate_boxes(const double* x, const double* y, const double* gain, const std::uint8_t* flags,
                           const std::int64_t* offsets, std::int64_t n_groups, const double* c1, const double* c2,
                           std::int64_t n_boxes, double w1, double w2, double* total) {
  const RangeMax rmq(gain, flags, offsets[n_groups]);
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads_for(std::size_t(n_boxes) * std::size_t(n_groups), 4096))
#endif
  for (std::int64_t i = 0; i < n_boxes; ++i) {
    double t = 0.0;
    for (std::int64_t g = 0; g < n_groups && t > -std::numeric_limits<double>::infinity(); ++g)
      t += best_in_box(x, y, gain, flags, rmq, offsets[g], offsets[g + 1], c1[i], c1[i] + w1, c2[i], c2[i] + w2)
               .value;
    total[i] = t;
  }
}

// Each group's best rule in one box.
inline void box_choices(const double* x, const double* y, const double* gain, const std::uint8_t* flags,
                        const std::int64_t* offsets, std::int64_t n_groups, double c1, double c2, double w1,
                        double w2, BoxPick* picks) {
  const RangeMax rmq(gain, flags, offsets[n_groups]);
  for (std::int64_t g = 0; g < n_groups; ++g)
    picks[g] = best_in_box(x, y, gain, flags, rmq, offsets[g], offsets[g + 1], c1, c1 + w1, c2, c2 + w2);
}

}  // namespace fairfast::thresholds
