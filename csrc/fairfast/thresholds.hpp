// Group-threshold search (fairfast.postprocessing.GroupThresholds). Pure C++17.
//
// Each group's monotone rules form a polyline over the group's score blocks sorted by
// decreasing score: breakpoint k (k = 0..B) accepts the k best blocks; between k and
// k + 1 a fraction q of block k (the boundary tie block) is accepted at random. Along
// the polyline the constrained metric is a ratio of two linear functions of q,
//   metric(k, q) = (num[k] + q (num[k+1] - num[k])) / (den[k] + q (den[k+1] - den[k])),
// (rates: den constant; predictive parity: num = true positives, den = selections),
// and the utility gain[k] + q (gain[k+1] - gain[k]) is linear in q. Both are monotone
// in q on a segment, so the best utility among the rules whose metric lies in a window
// is reached at a breakpoint inside the window or where the polyline crosses a window
// end. search_windows() evaluates the per-group upper envelope of utility on a sorted
// grid of metric values, slides a window of width `tol` over the grid, and returns the
// window with the largest summed utility plus each group's operating point in it.
//
// Serial on purpose: the work is linear in the number of breakpoints after the sort
// (done by NumPy), memory-bound, and the groups are few.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <vector>

#include "common.hpp"
#include "random.hpp"

namespace fairfast::thresholds {

struct Choice {
  std::int64_t k = -1;  // block index (breakpoint when q == 0)
  double q = 0.0;       // accepted fraction of block k
  double value = -std::numeric_limits<double>::infinity();
};

struct WindowResult {
  std::int64_t lo = -1, hi = -1;  // grid indices of the chosen window (-1: no feasible window)
  double total = -std::numeric_limits<double>::infinity();
  double bound = -std::numeric_limits<double>::infinity();  // upper bound over all window starts
};

namespace detail {

constexpr double neg_inf = -std::numeric_limits<double>::infinity();

// q in [0, 1] at which segment k's metric equals c (c strictly between its endpoints).
inline double crossing(double c, double n0, double d0, double n1, double d1) {
  const double dn = n1 - n0, dd = d1 - d0;
  const double denom = dn - c * dd;
  if (denom == 0.0) return 0.0;
  double q = (c * d0 - n0) / denom;
  return q < 0.0 ? 0.0 : (q > 1.0 ? 1.0 : q);
}

// First index in [lo, hi) with grid[i] >= v (upper = false) or > v (upper = true),
// searched by galloping from `hint`: linear overall when successive queries move
// monotonically (rate curves), logarithmic otherwise.
inline std::int64_t gallop(const double* grid, std::int64_t lo, std::int64_t hi, std::int64_t hint, double v,
                           bool upper) {
  auto before = [&](std::int64_t i) { return upper ? grid[i] <= v : grid[i] < v; };  // i is left of the answer
  if (hint < lo) hint = lo;
  if (hint > hi) hint = hi;
  std::int64_t a, b;  // answer in (a, b]: before(a) holds (or a = lo - 1), before(b) fails (or b = hi)
  if (hint < hi && before(hint)) {
    std::int64_t step = 1;
    a = hint;
    b = hint + 1;
    while (b < hi && before(b)) {
      a = b;
      step <<= 1;
      b = std::min(hi, b + step);
    }
  } else {
    std::int64_t step = 1;
    b = hint;
    a = hint - 1;
    while (a >= lo && !before(a)) {
      b = a;
      step <<= 1;
      a = std::max(lo - 1, a - step);
    }
  }
  while (b - a > 1) {
    const std::int64_t mid = a + (b - a) / 2;
    if (before(mid))
      a = mid;
    else
      b = mid;
  }
  return b;
}

// Visit every (grid index, k, q, gain) where group [b, e) reaches a grid value inside
// grid[ilo..ihi] (inclusive): allowed breakpoints (q = 0) and strict crossings of allowed
// segments. flags[k] bit 0: point k is allowed; bit 1: the segment k -> k + 1 is allowed
// (per-group bounds cut the polyline into allowed and forbidden parts).
template <class F>
void visit(const double* num, const double* den, const double* gain, const std::uint8_t* flags, std::int64_t b,
           std::int64_t e, const double* grid, std::int64_t ilo, std::int64_t ihi, F&& f) {
  const std::int64_t end = ihi + 1;
  std::int64_t hint = ilo;
  for (std::int64_t k = b; k < e; ++k) {
    if (!(den[k] > 0.0) || !(flags[k] & 1)) continue;
    const double m = num[k] / den[k];
    const std::int64_t i = gallop(grid, ilo, end, hint, m, false);
    hint = i;
    if (i < end && grid[i] == m) f(i, k - b, 0.0, gain[k]);
  }
  hint = ilo;
  for (std::int64_t k = b; k + 1 < e; ++k) {
    if (!(den[k] > 0.0) || !(flags[k] & 2)) continue;
    const double m0 = num[k] / den[k], m1 = num[k + 1] / den[k + 1];
    const double lo = std::min(m0, m1), hi = std::max(m0, m1);
    if (!(lo < hi)) continue;
    std::int64_t i = gallop(grid, ilo, end, hint, lo, true);
    hint = i;
    for (; i < end && grid[i] < hi; ++i) {
      const double q = crossing(grid[i], num[k], den[k], num[k + 1], den[k + 1]);
      f(i, k - b, q, gain[k] + q * (gain[k + 1] - gain[k]));
    }
  }
}

// Upper end of the window that starts at c: min(c + tol, c * inv_ratio), either term
// dropped when infinite (a difference constraint, a ratio constraint, or both).
inline double window_end(double c, double tol, double inv_ratio) {
  double r = std::numeric_limits<double>::infinity();
  if (std::isfinite(tol)) r = c + tol;
  if (std::isfinite(inv_ratio)) r = std::min(r, c * inv_ratio);
  return r;
}

}  // namespace detail

// num, den, gain, flags: concatenated path arrays; offsets[g]..offsets[g+1] is group g.
// grid: sorted, distinct metric values (m of them) at which the paths are evaluated;
// is_start[i] marks the window starts (the grid must hold every start's window end).
// Window i holds every grid value in [grid[i], window_end(grid[i])] (+ slack for
// rounding); tol == 0 without a ratio means windows of one value. choices receives
// n_groups entries. res.bound is an upper bound on the best total over *every* window
// start c, including c between starts: when no metric value crosses either window end
// while c moves between two consecutive starts, each group's candidates move
// monotonically and stay feasible at the closed ends, so its best there is at most its
// best at one of the two starts, and max over consecutive starts s < s' of
// sum_g max(W_g(s), W_g(s')) bounds it; interval_bound[s] (m entries) receives that
// bound for the interval from start s to the next start (-inf elsewhere).
inline WindowResult search_windows(const double* num, const double* den, const double* gain,
                                   const std::uint8_t* flags, const std::int64_t* offsets, std::int64_t n_groups,
                                   const double* grid, const std::uint8_t* is_start, std::int64_t m, double tol,
                                   double inv_ratio, Choice* choices, double* interval_bound) {
  WindowResult res;
  if (m <= 0 || n_groups <= 0) return res;
  const bool single = tol == 0.0 && !std::isfinite(inv_ratio);
  // Window ends (two pointers): hi_of[i] is the last grid index inside window i, or
  // i - 1 for an empty window (a ratio window below 0).
  std::vector<std::int64_t> hi_of(single ? 0 : static_cast<std::size_t>(m));
  if (!single) {
    std::int64_t j = 0;
    for (std::int64_t i = 0; i < m; ++i) {
      const double r = detail::window_end(grid[i], tol, inv_ratio);
      if (!(r >= grid[i])) {
        hi_of[static_cast<std::size_t>(i)] = i - 1;
        continue;
      }
      const double slack = std::isfinite(r) ? 4.0 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::fabs(r))
                                            : 0.0;
      if (j < i) j = i;
      while (j + 1 < m && grid[j + 1] <= r + slack) ++j;
      hi_of[static_cast<std::size_t>(i)] = j;
    }
  }
  std::vector<double> total(static_cast<std::size_t>(m), 0.0);
  std::vector<double> upper(static_cast<std::size_t>(m), 0.0);
  std::vector<double> env(static_cast<std::size_t>(m));
  std::vector<double> win(single ? 0 : static_cast<std::size_t>(m));
  std::deque<std::int64_t> dq;
  for (std::int64_t g = 0; g < n_groups; ++g) {
    std::fill(env.begin(), env.end(), detail::neg_inf);
    detail::visit(num, den, gain, flags, offsets[g], offsets[g + 1], grid, 0, m - 1,
                  [&](std::int64_t i, std::int64_t, double, double v) {
                    if (v > env[static_cast<std::size_t>(i)]) env[static_cast<std::size_t>(i)] = v;
                  });
    const std::vector<double>* w = &env;
    if (!single) {  // sliding-window maximum of env over [i, hi_of[i]] (both ends non-decreasing)
      dq.clear();
      std::int64_t next = 0;
      for (std::int64_t i = 0; i < m; ++i) {
        const std::int64_t j = hi_of[static_cast<std::size_t>(i)];
        for (; next <= j; ++next) {
          while (!dq.empty() && env[static_cast<std::size_t>(dq.back())] <= env[static_cast<std::size_t>(next)])
            dq.pop_back();
          dq.push_back(next);
        }
        while (!dq.empty() && dq.front() < i) dq.pop_front();
        win[static_cast<std::size_t>(i)] = (j >= i && !dq.empty()) ? env[static_cast<std::size_t>(dq.front())]
                                                                    : detail::neg_inf;
      }
      w = &win;
    }
    const std::vector<double>& W = *w;
    std::int64_t prev = -1;  // previous window start
    for (std::int64_t i = 0; i < m; ++i) {
      if (!is_start[i]) continue;
      total[static_cast<std::size_t>(i)] += W[static_cast<std::size_t>(i)];
      if (prev >= 0) {
        const double a = W[static_cast<std::size_t>(prev)], c = W[static_cast<std::size_t>(i)];
        upper[static_cast<std::size_t>(prev)] += (a > detail::neg_inf && c > detail::neg_inf) ? std::max(a, c)
                                                                                                : detail::neg_inf;
      }
      prev = i;
    }
  }
  for (std::int64_t i = 0; i < m; ++i)
    if (is_start[i] && total[static_cast<std::size_t>(i)] > res.total) {
      res.total = total[static_cast<std::size_t>(i)];
      res.lo = i;
    }
  res.bound = res.total;
  {
    std::int64_t prev = -1;
    for (std::int64_t i = 0; i < m; ++i) interval_bound[i] = detail::neg_inf;
    for (std::int64_t i = 0; i < m; ++i) {
      if (!is_start[i]) continue;
      if (prev >= 0) {
        res.bound = std::max(res.bound, upper[static_cast<std::size_t>(prev)]);
        interval_bound[prev] = upper[static_cast<std::size_t>(prev)];
      }
      prev = i;
    }
  }
  if (res.lo < 0) return res;  // every window misses some group
  res.hi = single ? res.lo : hi_of[static_cast<std::size_t>(res.lo)];
  for (std::int64_t g = 0; g < n_groups; ++g) {
    Choice best;
    detail::visit(num, den, gain, flags, offsets[g], offsets[g + 1], grid, res.lo, res.hi,
                  [&](std::int64_t, std::int64_t k, double q, double v) {
                    if (v > best.value) best = Choice{k, q, v};
                  });
    choices[g] = best;
  }
  return res;
}

// Convex hull (counter-clockwise vertex indices, local to each group) of the points
// (x[k], y[k]) of each group; points are sorted by (x, y) within a group (ROC points by
// decreasing threshold are). Andrew's monotone chain; collinear points are dropped.
inline void convex_hulls(const double* x, const double* y, const std::int64_t* offsets, std::int64_t n_groups,
                         std::vector<std::int64_t>& vertices, std::vector<std::int64_t>& vertex_offsets) {
  vertices.clear();
  vertex_offsets.assign(1, 0);
  std::vector<std::int64_t> h;
  auto cross = [&](std::int64_t o, std::int64_t a, std::int64_t b) {
    return (x[a] - x[o]) * (y[b] - y[o]) - (y[a] - y[o]) * (x[b] - x[o]);
  };
  for (std::int64_t g = 0; g < n_groups; ++g) {
    const std::int64_t b = offsets[g], e = offsets[g + 1];
    h.clear();
    if (e - b <= 2) {
      for (std::int64_t k = b; k < e; ++k) h.push_back(k);
    } else {
      for (std::int64_t k = b; k < e; ++k) {  // lower hull
        while (h.size() >= 2 && cross(h[h.size() - 2], h.back(), k) <= 0.0) h.pop_back();
        h.push_back(k);
      }
      const std::size_t lower = h.size() + 1;
      for (std::int64_t k = e - 2; k >= b; --k) {  // upper hull
        while (h.size() >= lower && cross(h[h.size() - 2], h.back(), k) <= 0.0) h.pop_back();
        h.push_back(k);
      }
      h.pop_back();  // the first point again
    }
    for (std::int64_t v : h) vertices.push_back(v - b);
    vertex_offsets.push_back(static_cast<std::int64_t>(vertices.size()));
  }
}

// Scatter scores into 2 * n_groups buckets (bucket 2 g + label), keeping row order.
// counts: 2 * n_groups entries, filled here; out: n values. Returns false when a code
// is outside [0, n_groups).
inline bool partition_labels(const double* scores, const std::uint8_t* labels, const std::int32_t* codes,
                             std::size_t n, std::int32_t n_groups, std::int64_t* offsets, double* out) {
  const std::size_t nb = 2 * static_cast<std::size_t>(n_groups);
  std::vector<std::int64_t> count(nb, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t g = codes[i];
    if (g < 0 || g >= n_groups) return false;
    ++count[2 * static_cast<std::size_t>(g) + (labels[i] ? 1 : 0)];
  }
  offsets[0] = 0;
  for (std::size_t b = 0; b < nb; ++b) offsets[b + 1] = offsets[b] + count[b];
  std::vector<std::int64_t> pos(offsets, offsets + nb);
  for (std::size_t i = 0; i < n; ++i)
    out[pos[2 * static_cast<std::size_t>(codes[i]) + (labels[i] ? 1 : 0)]++] = scores[i];
  return true;
}

// Per group, merge its ascending-sorted negative and positive buckets from the top:
// distinct scores in decreasing order and, at every breakpoint, the number of accepted
// members and accepted positives. Group g's blocks are written from block_offsets[g]
// (= breakpoint offset minus g); its B + 1 breakpoints from block_offsets[g] + g.
inline void merge_counts(const double* values, const std::int64_t* offsets, std::int32_t n_groups,
                         double* block_scores, std::int64_t* block_offsets, double* selected, double* positives) {
  std::int64_t nb = 0;
  block_offsets[0] = 0;
  for (std::int32_t g = 0; g < n_groups; ++g) {
    const double* neg = values + offsets[2 * g];
    const double* pos = values + offsets[2 * g + 1];
    std::int64_t i = offsets[2 * g + 1] - offsets[2 * g];      // remaining negatives (from the top)
    std::int64_t j = offsets[2 * g + 2] - offsets[2 * g + 1];  // remaining positives
    double* sel = selected + nb + g;
    double* tp = positives + nb + g;
    double cs = 0.0, cp = 0.0;
    std::int64_t b = 0;
    sel[0] = tp[0] = 0.0;
    while (i > 0 || j > 0) {
      const double v = (j == 0 || (i > 0 && neg[i - 1] > pos[j - 1])) ? neg[i - 1] : pos[j - 1];
      while (i > 0 && neg[i - 1] == v) {
        --i;
        cs += 1.0;
      }
      while (j > 0 && pos[j - 1] == v) {
        --j;
        cs += 1.0;
        cp += 1.0;
      }
      block_scores[nb + b] = v;
      ++b;
      sel[b] = cs;
      tp[b] = cp;
    }
    nb += b;
    block_offsets[g + 1] = nb;
  }
}

// Acceptance probability of each row under per-group mixtures of threshold rules
// (t, q, w: n_groups x n_mix, row-major); with decide, 1 when a counter-based uniform
// of (seed, stream, row_offset + i) falls below it.
inline void apply_rules(const double* scores, const std::int32_t* codes, std::size_t n, const double* t,
                        const double* q, const double* w, std::int64_t n_mix, const CounterRng* rng,
                        std::uint64_t row_offset, double* proba, std::int64_t* decision) {
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for schedule(static) num_threads(threads_for(n))
#endif
  for (std::int64_t ii = 0; ii < static_cast<std::int64_t>(n); ++ii) {
    const std::size_t i = static_cast<std::size_t>(ii);
    const double s = scores[i];
    const std::size_t base = static_cast<std::size_t>(codes[i]) * static_cast<std::size_t>(n_mix);
    double p = 0.0;
    for (std::int64_t c = 0; c < n_mix; ++c) {
      const double tc = t[base + c];
      p += w[base + c] * (s > tc ? 1.0 : (s == tc ? q[base + c] : 0.0));
    }
    p = p < 0.0 ? 0.0 : (p > 1.0 ? 1.0 : p);
    if (proba) proba[i] = p;
    if (decision) decision[i] = rng->uniform(row_offset + static_cast<std::uint64_t>(i)) < p ? 1 : 0;
  }
}

// Exact tolerance-0 search for a rate constraint straight from the breakpoint counts
// (the layout merge_counts writes: group g's B_g + 1 breakpoints from offsets[g]).
// kind 0: selection rate, 1: true positive rate, 2: false positive rate. The utility of
// breakpoint k is gp * positives[k] + gn * (selected[k] - positives[k]). One merge walk
// over the union of the groups' (non-decreasing) rate values: at each common rate r a
// group contributes the best breakpoint with rate r, or the point of the segment that
// crosses r. Same result as search_windows on the union grid with tol = 0, without
// materialising the grid. The next common rate is always larger than r, so the walk
// ends even if rounding makes a weighted rate dip. choices receives n_groups entries.
inline double sweep_rates(const double* selected, const double* positives, const std::int64_t* offsets,
                          std::int64_t n_groups, int kind, double gp, double gn, Choice* choices) {
  struct G {
    std::int64_t b, e;  // breakpoint range [b, e)
    double den;
    std::int64_t k;  // first breakpoint with rate >= r
  };
  std::vector<G> gs(static_cast<std::size_t>(n_groups));
  auto num = [&](std::int64_t k) {
    return kind == 0 ? selected[k] : (kind == 1 ? positives[k] : selected[k] - positives[k]);
  };
  for (std::int64_t g = 0; g < n_groups; ++g) {
    const std::int64_t b = offsets[g], e = offsets[g + 1];
    gs[static_cast<std::size_t>(g)] = G{b, e, num(e - 1), b};
  }
  auto rate = [&](const G& x, std::int64_t k) { return num(k) / x.den; };
  auto util = [&](std::int64_t k) { return gp * positives[k] + gn * (selected[k] - positives[k]); };
  double r = std::numeric_limits<double>::infinity();
  for (const G& x : gs) r = std::min(r, rate(x, x.b));
  double best = detail::neg_inf;
  std::vector<Choice> cur(static_cast<std::size_t>(n_groups));
  while (true) {
    double total = 0.0, next = std::numeric_limits<double>::infinity();
    for (std::size_t g = 0; g < gs.size(); ++g) {
      G& x = gs[g];
      while (x.k < x.e && rate(x, x.k) < r) ++x.k;
      Choice c;
      if (x.k == x.e) {  // r above the group's range: infeasible (cannot happen for rates)
        total = detail::neg_inf;
        continue;
      }
      const double mk = rate(x, x.k);
      if (mk == r) {
        std::int64_t j = x.k;
        for (; j < x.e; ++j) {  // the run at r (values <= r: rounding dips of weighted sums)
          const double mj = rate(x, j);
          if (mj > r) break;
          if (mj < r) continue;
          const double v = util(j);
          if (v > c.value) c = Choice{j - x.b, 0.0, v};
        }
        if (j < x.e) next = std::min(next, rate(x, j));
      } else if (x.k > x.b) {
        const double m0 = rate(x, x.k - 1);
        double q = (r - m0) / (mk - m0);
        q = q < 0.0 ? 0.0 : (q > 1.0 ? 1.0 : q);
        const double u0 = util(x.k - 1);
        c = Choice{x.k - 1 - x.b, q, u0 + q * (util(x.k) - u0)};
        next = std::min(next, mk);
      } else {  // r below the group's range
        total = detail::neg_inf;
        next = std::min(next, mk);
        continue;
      }
      total += c.value;
      cur[g] = c;
    }
    if (total > best) {
      best = total;
      std::copy(cur.begin(), cur.end(), choices);
    }
    if (!(next < std::numeric_limits<double>::infinity())) break;
    r = next;
  }
  return best;
}

}  // namespace fairfast::thresholds
