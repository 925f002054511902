// Stable parallel counting sort (scatter by small integer codes) with an optional
// payload. Comparison sorts of floating-point values are left to NumPy, whose
// vectorised sorts (x86-simd-sort, Highway) beat a hand-written radix sort here.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "common.hpp"

namespace fairfast {

namespace detail {

// One stable scatter pass: dst[pos(i)] = src[i] where pos follows bucket = digit(i),
// chunked over `nt` threads. hist must hold nt * nbuckets counts.
template <class Key, class Pay, class Digit>
void stable_scatter(const Key* src_k, const Pay* src_p, Key* dst_k, Pay* dst_p, std::size_t n,
                    std::size_t nbuckets, Digit digit, int nt, std::vector<std::size_t>& hist) {
  hist.assign(static_cast<std::size_t>(nt) * nbuckets, 0);
  auto chunk = [&](int t, int tn, std::size_t& lo, std::size_t& hi) {
    lo = n * static_cast<std::size_t>(t) / static_cast<std::size_t>(tn);
    hi = n * static_cast<std::size_t>(t + 1) / static_cast<std::size_t>(tn);
  };
#ifdef FAIRFAST_OPENMP
#pragma omp parallel num_threads(nt)
#endif
  {
    const int t = thread_id();
    std::size_t lo, hi;
    chunk(t, team_size(), lo, hi);
    std::size_t* h = hist.data() + static_cast<std::size_t>(t) * nbuckets;
    for (std::size_t i = lo; i < hi; ++i) ++h[digit(src_k[i], i)];
#ifdef FAIRFAST_OPENMP
#pragma omp barrier
#pragma omp single
#endif
    {
      std::size_t run = 0;
      for (std::size_t b = 0; b < nbuckets; ++b) {
        for (int u = 0; u < nt; ++u) {
          std::size_t& c = hist[static_cast<std::size_t>(u) * nbuckets + b];
          const std::size_t count = c;
          c = run;
          run += count;
        }
      }
    }
    // implicit barrier after single
    for (std::size_t i = lo; i < hi; ++i) {
      const std::size_t pos = h[digit(src_k[i], i)]++;
      dst_k[pos] = src_k[i];
      if constexpr (!std::is_same_v<Pay, std::nullptr_t>) dst_p[pos] = src_p[i];
    }
  }
}

// stable_scatter without a source array: row i's element is made on the fly (make(i))
// and its bucket computed from the row (digit(i), called twice per row), so a pass that
// would only materialise the elements is saved: dst[pos(i)] = make(i).
// starts (if not nullptr) receives where each bucket begins in dst (nbuckets + 1 entries).
template <class Item, class Digit, class Make>
void stable_scatter_rows(Item* dst, std::size_t n, std::size_t nbuckets, Digit digit, Make make, int nt,
                         std::vector<std::size_t>& hist, std::vector<std::size_t>* starts = nullptr) {
  hist.assign(static_cast<std::size_t>(nt) * nbuckets, 0);
#ifdef FAIRFAST_OPENMP
#pragma omp parallel num_threads(nt)
#endif
  {
    const int t = thread_id(), tn = team_size();
    const std::size_t lo = n * static_cast<std::size_t>(t) / static_cast<std::size_t>(tn);
    const std::size_t hi = n * static_cast<std::size_t>(t + 1) / static_cast<std::size_t>(tn);
    std::size_t* h = hist.data() + static_cast<std::size_t>(t) * nbuckets;
    for (std::size_t i = lo; i < hi; ++i) ++h[digit(i)];
#ifdef FAIRFAST_OPENMP
#pragma omp barrier
#pragma omp single
#endif
    {
      std::size_t run = 0;
      if (starts) starts->assign(nbuckets + 1, n);
      for (std::size_t b = 0; b < nbuckets; ++b) {
        if (starts) (*starts)[b] = run;
        for (int u = 0; u < nt; ++u) {
          std::size_t& c = hist[static_cast<std::size_t>(u) * nbuckets + b];
          const std::size_t count = c;
          c = run;
          run += count;
        }
      }
    }
    // implicit barrier after single
    for (std::size_t i = lo; i < hi; ++i) dst[h[digit(i)]++] = make(i);
  }
}

}  // namespace detail

}  // namespace fairfast
