// Sorting float32/float64 values: a parallel LSD radix sort on order-preserving integer
// keys, and the sort of every segment of an array (the groups of a barycenter fit).
//
// Keys follow the IEEE total order: -0.0 sorts before +0.0 (and NaNs, which callers
// refuse, go to the ends by sign). Equal keys are identical bit patterns, so the sorted
// array is one fixed sequence whatever the method or the thread count.
//
// Radix: 11-bit digits (6 passes for float64, 3 for float32); one first pass counts
// every digit, and digits equal in every value (e.g. the sign and exponent bits of
// scores in a narrow range) are skipped. Each pass is a stable, chunked counting sort:
// thread t counts its contiguous chunk, then scatters it after the chunks of lower
// threads, so the passes compose into a sort whatever the thread count. Measured on the
// 2-core development machine at about half the CPU time of NumPy's np.sort per core
// (docs/barycenter.md, "Speed"), so it is used for every size but the smallest.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common.hpp"

namespace fairfast {

// Key in the IEEE total order (order_key without folding -0.0 onto +0.0).
template <class T>
inline typename key_of<T>::type total_order_key(T x) {
  using K = typename key_of<T>::type;
  constexpr K top = K(1) << (sizeof(K) * 8 - 1);
  K bits;
  std::memcpy(&bits, &x, sizeof(K));
  return (bits & top) ? static_cast<K>(~bits) : static_cast<K>(bits | top);
}

namespace detail {

constexpr int radix_bits = 11;
constexpr std::size_t radix_buckets = std::size_t(1) << radix_bits;

template <class K>
constexpr int radix_passes() {
  return static_cast<int>((sizeof(K) * 8 + radix_bits - 1) / radix_bits);
}

template <class T>
inline void load_key(const T* x, std::size_t i, typename key_of<T>::type& k) {
  k = total_order_key(x[i]);
}
template <class T>
inline void store_value(T* x, std::size_t i, typename key_of<T>::type k) {
  x[i] = from_order_key<T>(k);
}

// Small inputs: a comparison sort on the keys.
template <class T>
void sort_small(T* x, std::size_t n) {
  using K = typename key_of<T>::type;
  if (n < 2) return;
  if (n <= 24) {  // insertion sort
    for (std::size_t i = 1; i < n; ++i) {
      const T v = x[i];
      const K kv = total_order_key(v);
      std::size_t j = i;
      while (j > 0 && total_order_key(x[j - 1]) > kv) {
        x[j] = x[j - 1];
        --j;
      }
      x[j] = v;
    }
    return;
  }
  std::vector<K> keys(n);
  for (std::size_t i = 0; i < n; ++i) keys[i] = total_order_key(x[i]);
  std::sort(keys.begin(), keys.end());
  for (std::size_t i = 0; i < n; ++i) x[i] = from_order_key<T>(keys[i]);
}

}  // namespace detail

// x[0..n) <- src[0..n) sorted ascending in the total order (src == x sorts in place),
// on `nt` threads (1: serially).
template <class T>
void radix_sort(const T* src, T* x, std::size_t n, int nt) {
  using K = typename key_of<T>::type;
  constexpr int P = detail::radix_passes<K>();
  constexpr std::size_t R = detail::radix_buckets;
  constexpr K mask = static_cast<K>(R - 1);
  if (n < 4096) {  // measured: below this a comparison sort on the keys is faster
    if (src != x) std::copy(src, src + n, x);
    detail::sort_small(x, n);
    return;
  }
  nt = std::max(1, std::min<int>(nt, static_cast<int>(n / 65536) + 1));
  // Counts of every digit, per thread, over the input order.
  std::vector<std::size_t> counts(static_cast<std::size_t>(nt) * P * R, 0);
  int counted_team = 1;  // the team that counted (its chunks are reused by the first pass)
#ifdef FAIRFAST_OPENMP
#pragma omp parallel num_threads(nt)
#endif
  {
    if (thread_id() == 0) counted_team = team_size();
    const auto [lo, hi] = thread_rows(n);
    std::size_t* c = counts.data() + static_cast<std::size_t>(thread_id()) * P * R;
    for (std::size_t i = lo; i < hi; ++i) {
      const K k = total_order_key(src[i]);
      for (int p = 0; p < P; ++p) ++c[static_cast<std::size_t>(p) * R + ((k >> (p * detail::radix_bits)) & mask)];
    }
  }
  std::vector<int> passes;
  for (int p = 0; p < P; ++p) {
    std::size_t top = 0;
    for (std::size_t b = 0; b < R; ++b) {
      std::size_t total = 0;
      for (int t = 0; t < counted_team; ++t) total += counts[(static_cast<std::size_t>(t) * P + p) * R + b];
      top = std::max(top, total);
    }
    if (top < n) passes.push_back(p);  // a digit shared by every value orders nothing
  }
  if (passes.empty()) {  // every value has the same bits
    if (src != x) std::copy(src, src + n, x);
    return;
  }
  ScratchArray<K> buf = scratch_array<K>(n);
  // Pass q reads from `x` (as values when q == 0, as keys stored in x's memory after)
  // or from buf, and writes to the other; the last pass writes values into x.
  const int np = static_cast<int>(passes.size());
  const bool odd_end_in_buf = (np % 2) == 1;  // x -> buf -> x ...: odd counts end in buf
  std::vector<std::size_t> hist(static_cast<std::size_t>(nt) * R);
  for (int q = 0; q < np; ++q) {
    const int p = passes[q];
    const int shift = p * detail::radix_bits;
    const bool from_x = (q % 2) == 0;
    const bool first = q == 0, last_into_x = (q == np - 1) && !from_x;
#ifdef FAIRFAST_OPENMP
#pragma omp parallel num_threads(nt)
#endif
    {
      const int t = thread_id(), tn = team_size();
      const auto [lo, hi] = thread_rows(n);
      std::size_t* h = hist.data() + static_cast<std::size_t>(t) * R;
      auto key_at = [&](std::size_t i) -> K {
        if (from_x) {
          if (first) return total_order_key(src[i]);
          K k;
          std::memcpy(&k, x + i, sizeof(K));
          return k;
        }
        return buf[i];
      };
      if (first && tn == counted_team) {
        const std::size_t* c = counts.data() + (static_cast<std::size_t>(t) * P + p) * R;
        std::copy(c, c + R, h);
      } else {
        std::fill(h, h + R, std::size_t(0));
        for (std::size_t i = lo; i < hi; ++i) ++h[(key_at(i) >> shift) & mask];
      }
#ifdef FAIRFAST_OPENMP
#pragma omp barrier
#pragma omp single
#endif
      {
        std::size_t run = 0;
        for (std::size_t b = 0; b < R; ++b)
          for (int u = 0; u < tn; ++u) {
            std::size_t& c = hist[static_cast<std::size_t>(u) * R + b];
            const std::size_t count = c;
            c = run;
            run += count;
          }
      }
      for (std::size_t i = lo; i < hi; ++i) {
        const K k = key_at(i);
        const std::size_t pos = h[(k >> shift) & mask]++;
        if (from_x) buf[pos] = k;
        else if (last_into_x) detail::store_value(x, pos, k);
        else std::memcpy(x + pos, &k, sizeof(K));
      }
    }
  }
  if (odd_end_in_buf) {  // the last pass wrote keys into buf
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
    for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(n); ++i) detail::store_value(x, i, buf[i]);
  }
}

// Sorts every segment x[offsets[g] .. offsets[g + 1]) of the k segments: large ones one
// after the other on every thread, small ones side by side, one thread each.
template <class T>
void sort_segments(T* x, const std::int64_t* offsets, std::int32_t k, int nt) {
  constexpr std::size_t large = std::size_t(1) << 17;
  std::vector<std::int32_t> small;
  std::size_t small_rows = 0;
  for (std::int32_t g = 0; g < k; ++g) {
    const std::size_t len = static_cast<std::size_t>(offsets[g + 1] - offsets[g]);
    if (len >= large) {
      radix_sort(x + offsets[g], x + offsets[g], len, nt);
    } else if (len > 1) {
      small.push_back(g);
      small_rows += len;
    }
  }
  const int st = std::min<int>(std::max(1, threads_for(small_rows, 16384)), std::min<int>(nt, static_cast<int>(small.size()) + 1));
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(std::max(1, st)) schedule(dynamic, 1)
#endif
  for (std::ptrdiff_t q = 0; q < static_cast<std::ptrdiff_t>(small.size()); ++q) {
    const std::int32_t g = small[q];
    T* seg = x + offsets[g];
    radix_sort(seg, seg, static_cast<std::size_t>(offsets[g + 1] - offsets[g]), 1);
  }
}

}  // namespace fairfast
