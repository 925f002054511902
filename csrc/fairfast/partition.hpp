// Stable parallel counting sort (scatter by small integer codes) with an optional
// payload. Comparison sorts of floating-point values are left to NumPy, whose
// vectorised sorts (x86-simd-sort, Highway) beat a hand-written radix sort here.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <type_traits>
#include <utility>
#include <vector>

#include "common.hpp"

namespace fairfast {

namespace detail {

// One stable counting-sort pass over rows 0..n-1, chunked over `nt` threads: row i goes
// to bucket digit(i) and emit(pos, i) writes it at position pos of the output, rows of a
// bucket keeping their order. digit is called twice per row (count, then place), so the
// bucket is recomputed rather than stored. hist receives nt * nbuckets counts; starts
// (if not nullptr) where each bucket begins (nbuckets + 1 entries).
template <class Digit, class Emit>
void stable_scatter_by(std::size_t n, std::size_t nbuckets, Digit digit, Emit emit, int nt,
                       std::vector<std::size_t>& hist, std::vector<std::size_t>* starts = nullptr) {
  hist.assign(static_cast<std::size_t>(nt) * nbuckets, 0);
#ifdef FAIRFAST_OPENMP
#pragma omp parallel num_threads(nt)
#endif
  {
    const auto [lo, hi] = thread_rows(n);
    std::size_t* h = hist.data() + static_cast<std::size_t>(thread_id()) * nbuckets;
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
    for (std::size_t i = lo; i < hi; ++i) emit(h[digit(i)]++, i);
  }
}

// dst[pos(i)] = src[i] (and the payload) with pos following bucket = digit(key, i).
template <class Key, class Pay, class Digit>
void stable_scatter(const Key* src_k, const Pay* src_p, Key* dst_k, Pay* dst_p, std::size_t n,
                    std::size_t nbuckets, Digit digit, int nt, std::vector<std::size_t>& hist) {
  stable_scatter_by(
      n, nbuckets, [&](std::size_t i) { return static_cast<std::size_t>(digit(src_k[i], i)); },
      [&](std::size_t pos, std::size_t i) {
        dst_k[pos] = src_k[i];
        if constexpr (!std::is_same_v<Pay, std::nullptr_t>) dst_p[pos] = src_p[i];
      },
      nt, hist);
}

}  // namespace detail

}  // namespace fairfast
