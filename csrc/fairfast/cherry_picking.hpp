// Cherry-picking statistics of a (possibly randomised) selection rule relative to a
// reference score, per group, in O(n log n) with one sort. Pure C++17.
//
// For group a with reference scores s_i and acceptance probabilities d_i in [0, 1]:
//   A = sum d_i, R = sum (1 - d_i),
//   D = sum_{i,j} d_i (1 - d_j) [s_j > s_i] + 1/2 sum_{i != j} d_i (1 - d_j) [s_j = s_i]
//   CPI = D / (A R)  (0 when A R = 0)
//   E   = max(sum_i d_i [s_i < t], sum_i (1 - d_i) [s_i > t]), t the score of the
//         ceil(A)-th largest row: the least acceptance mass that must move to make the
//         rule a threshold rule with the same total (accepted rows below the boundary
//         block, or rejected rows above it, whichever is larger; the boundary block
//         absorbs the rest)
//   dU  = (sum of the top floor(A) scores + frac(A) * next score) - sum_i d_i s_i
// Rows are sorted by (group, score descending); walking each group's blocks of equal
// scores from the top keeps R_above = rejected mass strictly above the block, and
//   D += A_b R_above + 1/2 (A_b R_b - Q_b),   Q_b = sum_b d_i (1 - d_i).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "common.hpp"

namespace fairfast {

constexpr int cp_rows = 0, cp_accepted = 1, cp_rejected = 2, cp_discordant = 3, cp_excess = 4, cp_regret = 5,
              cp_stats = 6;

// out: n_groups x cp_stats, row-major.
template <class T>
Status cherry_picking_stats(const T* s, const double* d, const std::int32_t* codes, std::size_t n,
                            std::int32_t k, double* out) {
  using Key = double;  // scores are finite: compare them directly (-0.0 == 0.0)
  std::fill(out, out + static_cast<std::size_t>(k) * cp_stats, 0.0);
  std::vector<std::int64_t> pos(static_cast<std::size_t>(k) + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t g = codes[i];
    if (g < 0 || g >= k) return Status::group_out_of_range;
    if (!(d[i] >= 0.0 && d[i] <= 1.0) || !std::isfinite(static_cast<double>(s[i]))) return Status::bad_value;
    ++pos[static_cast<std::size_t>(g) + 1];
  }
  for (std::int32_t g = 0; g < k; ++g) pos[g + 1] += pos[g];
  const std::vector<std::int64_t> offsets(pos);
  // One sort: rows ordered by group (counting sort), then by score descending.
  std::vector<std::pair<Key, double>> rows(n);
  for (std::size_t i = 0; i < n; ++i) rows[pos[codes[i]]++] = {static_cast<double>(s[i]), d[i]};
  const int nt = threads_for(n, 1 << 14);
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
#endif
  for (std::int32_t g = 0; g < k; ++g) {
    auto* first = rows.data() + offsets[g];
    auto* last = rows.data() + offsets[g + 1];
    std::sort(first, last, [](const std::pair<Key, double>& a, const std::pair<Key, double>& b) {
      return a.first > b.first;
    });
    const std::size_t len = static_cast<std::size_t>(last - first);
    double A = 0.0, R = 0.0, D = 0.0;
    std::size_t i = 0;
    while (i < len) {
      std::size_t j = i;
      double Ab = 0.0, Rb = 0.0, Qb = 0.0;
      for (; j < len && first[j].first == first[i].first; ++j) {
        const double di = first[j].second;
        Ab += di;
        Rb += 1.0 - di;
        Qb += di * (1.0 - di);
      }
      D += Ab * R + 0.5 * (Ab * Rb - Qb);
      R += Rb;
      A += Ab;
      i = j;
    }
    // Excess selections and merit regret against the top-fill of the same mass A: the
    // top floor(A) rows and a fraction frac(A) of the next one. The regret is summed per
    // block of equal scores as (top-fill mass - accepted mass) x score, so that it is
    // exactly 0 for any threshold rule, even one that splits its boundary tie block.
    double E = 0.0, regret = 0.0;
    if (A > 0.0) {
      const double whole = std::min(static_cast<double>(len), std::floor(A + 1e-9 * std::max(1.0, A)));
      const double frac = std::max(0.0, A - whole);
      const std::size_t w = static_cast<std::size_t>(whole);
      const std::size_t m = std::min<std::size_t>(len, w + (frac > 1e-9 ? 1 : 0));  // ceil(A)
      const Key t = first[std::max<std::size_t>(m, 1) - 1].first;  // score of the ceil(A)-th row
      double accepted_below = 0.0, rejected_above = 0.0;
      i = 0;
      while (i < len) {
        std::size_t j = i;
        double Ab = 0.0, Rb = 0.0;
        for (; j < len && first[j].first == first[i].first; ++j) {
          Ab += first[j].second;
          Rb += 1.0 - first[j].second;
        }
        double top = static_cast<double>(std::min(j, w) > i ? std::min(j, w) - i : 0);
        if (w >= i && w < j) top += frac;
        regret += (top - Ab) * first[i].first;
        if (first[i].first < t) accepted_below += Ab;
        if (first[i].first > t) rejected_above += Rb;
        i = j;
      }
      E = std::max(accepted_below, rejected_above);
      regret = std::max(0.0, regret);
    }
    double* o = out + static_cast<std::size_t>(g) * cp_stats;
    o[cp_rows] = static_cast<double>(len);
    o[cp_accepted] = A;
    o[cp_rejected] = R;
    o[cp_discordant] = D;
    o[cp_excess] = E;
    o[cp_regret] = regret;
  }
  return Status::ok;
}

}  // namespace fairfast
