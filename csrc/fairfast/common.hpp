// Shared building blocks of the fairfast kernels: thread count, status codes,
// order-preserving integer keys for floating-point values. Pure C++17.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#ifdef FAIRFAST_OPENMP
#include <omp.h>
#endif

namespace fairfast {

// 0 means "follow OpenMP's own setting" (OMP_NUM_THREADS, threadpoolctl).
inline std::atomic<int>& thread_setting() {
  static std::atomic<int> value{0};
  return value;
}

inline int max_threads() {
  const int n = thread_setting().load(std::memory_order_relaxed);
  if (n > 0) return n;
#ifdef FAIRFAST_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// Threads worth using for `work` items of cheap work each: small inputs stay serial
// because waking a team costs more than it saves.
inline int threads_for(std::size_t work, std::size_t grain = 32768) {
  const std::size_t useful = std::max<std::size_t>(1, work / grain);
  return static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(max_threads()), useful));
}

// Threads in the current team: what manual chunking must divide the work by. It can
// be smaller than requested (a nested region runs with one thread, OMP_THREAD_LIMIT).
inline int team_size() {
#ifdef FAIRFAST_OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

inline int thread_id() {
#ifdef FAIRFAST_OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// This thread's share [lo, hi) of rows 0..n-1 inside a parallel region: contiguous and
// in thread order, which chunked counting sorts and streamed outputs rely on.
struct RowRange {
  std::size_t lo, hi;
};
inline RowRange thread_rows(std::size_t n) {
  const std::size_t t = static_cast<std::size_t>(thread_id()), tn = static_cast<std::size_t>(team_size());
  return {n * t / tn, n * (t + 1) / tn};
}

// Kernels never throw inside a parallel region: they record a status and the caller
// (binding layer) turns it into a Python exception.
enum class Status : int { ok = 0, group_out_of_range = 1, bad_value = 2 };

// The first invalid row a kernel met (smallest row index) and what was wrong with it.
// Threads keep one each and merge them after the parallel region.
struct RowIssue {
  static constexpr std::size_t none = ~std::size_t(0);
  std::size_t row = none;
  Status status = Status::ok;

  void note(std::size_t i, Status s) {
    if (i < row) {
      row = i;
      status = s;
    }
  }
  void merge(const RowIssue& other) {
    if (other.row != none) note(other.row, other.status);
  }
  bool ok() const { return row == none; }
};

// Order-preserving map from a floating-point value to an unsigned integer of the same
// width: a < b  <=>  key(a) < key(b) for non-NaN values, with -0.0 folded onto +0.0.
template <class T>
struct key_of;

template <>
struct key_of<double> {
  using type = std::uint64_t;
};
template <>
struct key_of<float> {
  using type = std::uint32_t;
};

template <class T>
inline typename key_of<T>::type order_key(T x) {
  using K = typename key_of<T>::type;
  constexpr K top = K(1) << (sizeof(K) * 8 - 1);
  x += T(0);  // -0.0 + 0.0 == +0.0
  K bits;
  std::memcpy(&bits, &x, sizeof(K));
  return (bits & top) ? static_cast<K>(~bits) : static_cast<K>(bits | top);
}

template <class T>
inline T from_order_key(typename key_of<T>::type key) {
  using K = typename key_of<T>::type;
  constexpr K top = K(1) << (sizeof(K) * 8 - 1);
  const K bits = (key & top) ? static_cast<K>(key & ~top) : static_cast<K>(~key);
  T x;
  std::memcpy(&x, &bits, sizeof(K));
  return x;
}

// Uninitialised array of n trivial T, 64-byte aligned; from 2 MB up on 2 MB pages where
// the kernel grants them on request (transparent huge pages in "madvise" mode): fewer
// page faults when it is first written and fewer TLB misses when it is read at random.
struct FreeAligned {
  std::size_t align = 64;
  void operator()(void* p) const { ::operator delete(p, std::align_val_t(align)); }
};
template <class T>
using ScratchArray = std::unique_ptr<T[], FreeAligned>;

template <class T>
ScratchArray<T> scratch_array(std::size_t n) {
  static_assert(std::is_trivial_v<T>, "scratch arrays hold trivial types");
  constexpr std::size_t huge = std::size_t(2) << 20;
  const std::size_t want = std::max<std::size_t>(1, n) * sizeof(T);
  const std::size_t align = want >= huge ? huge : 64;
  const std::size_t bytes = (want + align - 1) / align * align;
  T* p = static_cast<T*>(::operator new(bytes, std::align_val_t(align)));
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (align == huge) madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return ScratchArray<T>(p, FreeAligned{align});
}

}  // namespace fairfast
