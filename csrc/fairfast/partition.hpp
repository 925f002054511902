// Stable parallel LSD radix sort of unsigned integer keys with an optional payload,
// and a stable parallel counting sort by small integer codes. Sorting dominates the
// fit of every transport kernel, so this is where the time goes.
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
  auto chunk = [&](int t, std::size_t& lo, std::size_t& hi) {
    lo = n * static_cast<std::size_t>(t) / nt;
    hi = n * static_cast<std::size_t>(t + 1) / nt;
  };
#ifdef FAIRFAST_OPENMP
#pragma omp parallel num_threads(nt)
#endif
  {
    const int t = thread_id();
    std::size_t lo, hi;
    chunk(t, lo, hi);
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

// LSD radix sort of a short range (it should fit in cache), 8-bit digits over bits
// [0, top), skipping digits that are constant in the range; tmp buffers hold len items.
template <class Key, class Pay>
void lsd_sort_range(Key* keys, Pay* payload, std::size_t len, int top, std::vector<Key>& tk,
                    std::vector<std::conditional_t<std::is_same_v<Pay, std::nullptr_t>, char, Pay>>& tp) {
  constexpr bool has_payload = !std::is_same_v<Pay, std::nullptr_t>;
  if (len < 2 || top <= 0) return;
  if (len <= 32) {  // insertion sort: stable, and cheapest for tiny ranges
    for (std::size_t i = 1; i < len; ++i) {
      const Key k = keys[i];
      std::conditional_t<has_payload, Pay, char> p{};
      if constexpr (has_payload) p = payload[i];
      std::size_t j = i;
      while (j > 0 && keys[j - 1] > k) {
        keys[j] = keys[j - 1];
        if constexpr (has_payload) payload[j] = payload[j - 1];
        --j;
      }
      keys[j] = k;
      if constexpr (has_payload) payload[j] = p;
    }
    return;
  }
  Key all_or = 0, all_and = static_cast<Key>(~Key(0));
  for (std::size_t i = 0; i < len; ++i) {
    all_or |= keys[i];
    all_and &= keys[i];
  }
  const Key varying = static_cast<Key>(all_or ^ all_and);
  if (tk.size() < len) tk.resize(len);
  if constexpr (has_payload) {
    if (tp.size() < len) tp.resize(len);
  }
  Key* src_k = keys;
  Key* dst_k = tk.data();
  Pay* src_p = payload;
  Pay* dst_p = nullptr;
  if constexpr (has_payload) dst_p = tp.data();
  for (int shift = 0; shift < top; shift += 8) {
    if (((varying >> shift) & Key(0xFF)) == 0) continue;
    std::size_t h[256] = {0};
    for (std::size_t i = 0; i < len; ++i) ++h[(src_k[i] >> shift) & 0xFF];
    std::size_t run = 0;
    for (std::size_t& c : h) {
      const std::size_t count = c;
      c = run;
      run += count;
    }
    for (std::size_t i = 0; i < len; ++i) {
      const std::size_t pos = h[(src_k[i] >> shift) & 0xFF]++;
      dst_k[pos] = src_k[i];
      if constexpr (has_payload) dst_p[pos] = src_p[i];
    }
    std::swap(src_k, dst_k);
    if constexpr (has_payload) std::swap(src_p, dst_p);
  }
  if (src_k != keys) {
    std::copy(src_k, src_k + len, keys);
    if constexpr (has_payload) std::copy(src_p, src_p + len, payload);
  }
}

}  // namespace detail

// Sorts keys[0..n) ascending, stably, carrying payload[0..n) along (Pay may be
// std::nullptr_t for no payload, with payload == nullptr).
//
// One parallel most-significant-digit pass on the top 12 varying bits splits the data
// into cache-sized buckets, then each bucket is finished by an in-cache LSD radix sort.
// (A plain LSD sort scatters every pass over the whole array; on the machines we
// measured, scattering to thousands of far-apart streams costs ~10 ns per item.)
template <class Key, class Pay>
void radix_sort(Key* keys, Pay* payload, std::size_t n, int threads) {
  constexpr bool has_payload = !std::is_same_v<Pay, std::nullptr_t>;
  using PayBuf = std::conditional_t<has_payload, Pay, char>;
  if (n < 2) return;
  std::vector<Key> tk;
  std::vector<PayBuf> tp;
  if (n < 4096) {
    detail::lsd_sort_range(keys, payload, n, static_cast<int>(sizeof(Key) * 8), tk, tp);
    return;
  }
  const int nt = std::max(1, std::min(threads, static_cast<int>(n / 65536) + 1));
  Key all_or = 0, all_and = static_cast<Key>(~Key(0));
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) reduction(| : all_or) reduction(& : all_and)
#endif
  for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(n); ++i) {
    all_or |= keys[i];
    all_and &= keys[i];
  }
  const Key varying = static_cast<Key>(all_or ^ all_and);
  if (varying == 0) return;
  int top = static_cast<int>(sizeof(Key) * 8);
  while (!((varying >> (top - 1)) & Key(1))) --top;
  constexpr int msd_bits = 12;
  const int shift = std::max(0, top - msd_bits);
  const std::size_t nb = std::size_t(1) << (top - shift);
  const Key mask = static_cast<Key>(nb - 1);

  std::vector<Key> kbuf(n);
  std::vector<PayBuf> pbuf(has_payload ? n : 0);
  Pay* dst_p = nullptr;
  if constexpr (has_payload) dst_p = pbuf.data();
  std::vector<std::size_t> hist;
  detail::stable_scatter(
      keys, payload, kbuf.data(), dst_p, n, nb,
      [shift, mask](Key k, std::size_t) { return static_cast<std::size_t>((k >> shift) & mask); }, nt, hist);
  // After the scatter, hist[(nt - 1) * nb + b] is the end of bucket b.
  std::vector<std::size_t> bounds(nb + 1, 0);
  for (std::size_t b = 0; b < nb; ++b) bounds[b + 1] = hist[static_cast<std::size_t>(nt - 1) * nb + b];

#ifdef FAIRFAST_OPENMP
#pragma omp parallel num_threads(nt)
#endif
  {
    std::vector<Key> lk;
    std::vector<PayBuf> lp;
#ifdef FAIRFAST_OPENMP
#pragma omp for schedule(dynamic, 16)
#endif
    for (std::ptrdiff_t b = 0; b < static_cast<std::ptrdiff_t>(nb); ++b) {
      const std::size_t a = bounds[b], e = bounds[b + 1];
      if (e == a) continue;
      Pay* bp = nullptr;
      if constexpr (has_payload) bp = pbuf.data() + a;
      detail::lsd_sort_range(kbuf.data() + a, bp, e - a, shift, lk, lp);
      std::copy(kbuf.data() + a, kbuf.data() + e, keys + a);
      if constexpr (has_payload) std::copy(pbuf.data() + a, pbuf.data() + e, payload + a);
    }
  }
}

}  // namespace fairfast
