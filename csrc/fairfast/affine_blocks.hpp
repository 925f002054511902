// Per-row affine maps chosen by a code: out[r] = A[codes[r]] @ x[r] + b[codes[r]].
//
// The steering estimators map every row with the affine map of its (group, label)
// block. Gathering all rows of a block into one array, multiplying, and scattering the
// result back costs two extra passes over n x d values in memory, which at small d is
// as much as the product itself. Here rows are processed in chunks that stay in cache:
// a counting sort of the chunk's codes, a sequential read of its rows into per-code
// slots of a thread-local buffer, one BLAS gemm per code into a second buffer, and a
// sequential write of the rows that adds the offset. Memory sees X read once and out
// written once, in order, like a bare matmul.
//
// The gemm is the caller's (Fortran BLAS signature, e.g. scipy.linalg.cython_blas):
// the kernel stays free of a link-time BLAS dependency. The caller must make that BLAS
// single-threaded while the kernel runs its own threads.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fairfast/common.hpp"

namespace fairfast {

template <class T>
using fortran_gemm = void (*)(char* transa, char* transb, int* m, int* n, int* k, T* alpha, T* a, int* lda,
                              T* b, int* ldb, T* beta, T* c, int* ldc);

template <class T>
struct AffineBlocks {
  const T* linear;             // n_codes x d x d, row-major: out = linear[c] @ x
  const T* offset;             // n_codes x d
  const std::uint8_t* identity;  // n_codes flags: copy the row (map is the identity)
  std::int64_t n_codes;
  std::int64_t d;
};

// Rows per chunk: the chunk's two buffers take about 512 KiB each (a core's L2 holds
// both) but every code still gets products of some height when d is large.
inline std::int64_t affine_chunk_rows(std::int64_t d, std::int64_t n_codes, std::size_t itemsize) {
  const std::int64_t fit = static_cast<std::int64_t>((std::size_t(512) << 10) / (std::size_t(d) * itemsize));
  const std::int64_t tall = std::clamp<std::int64_t>(d, 128, 1024) * std::clamp<std::int64_t>(n_codes, 1, 16);
  return std::clamp<std::int64_t>(std::max(fit, tall), 16, 1 << 16);
}

// Applies the maps to rows [0, n). Returns Status::group_out_of_range for a code outside
// [0, n_codes) and Status::bad_value for a non-finite entry of X; `out` is then only
// partly written and must be discarded. `out` may alias `X`.
//
// Per chunk of consecutive rows: a counting sort of the codes gives each row a slot;
// X's rows are read in order into their slots of `in` (memory is read sequentially and
// the random access stays in cache), one gemm per code maps its contiguous slots of
// `in` into `res`, and out's rows are written in order from their slots, plus offset.
template <class T>
Status apply_affine_blocks(const T* X, std::int64_t n, const std::int64_t* codes, const AffineBlocks<T>& maps,
                           T* out, fortran_gemm<T> gemm) {
  using U = typename key_of<T>::type;
  constexpr U exponent = sizeof(T) == 8 ? U(0x7FF0000000000000ULL) : U(0x7F800000U);
  const std::int64_t d = maps.d, K = maps.n_codes;
  if (n == 0 || d == 0) return Status::ok;
  const std::int64_t chunk = std::min(n, affine_chunk_rows(d, K, sizeof(T)));
  const std::int64_t n_chunks = (n + chunk - 1) / chunk;
  const int n_threads = static_cast<int>(std::min<std::int64_t>(
      threads_for(static_cast<std::size_t>(n * d), std::size_t(1) << 16), n_chunks));
  std::atomic<int> status{static_cast<int>(Status::ok)};

#pragma omp parallel num_threads(n_threads) if (n_threads > 1)
  {
    std::vector<T> in(static_cast<std::size_t>(chunk * d)), res(static_cast<std::size_t>(chunk * d));
    std::vector<std::int64_t> start(static_cast<std::size_t>(K + 1)), next(static_cast<std::size_t>(K)),
        slot(static_cast<std::size_t>(chunk));
    char transa = 'T', transb = 'N';
    int m_ = static_cast<int>(d), k_ = static_cast<int>(d), ld = static_cast<int>(d);
    T one = 1, zero = 0;
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t c = 0; c < n_chunks; ++c) {
      if (status.load(std::memory_order_relaxed) != static_cast<int>(Status::ok)) continue;
      const std::int64_t lo = c * chunk, m = std::min(n, lo + chunk) - lo;
      const std::int64_t* code = codes + lo;
      std::fill(start.begin(), start.end(), 0);
      bool in_range = true;
      for (std::int64_t i = 0; i < m; ++i) {
        if (code[i] < 0 || code[i] >= K) {
          in_range = false;
          break;
        }
        ++start[static_cast<std::size_t>(code[i] + 1)];
      }
      if (!in_range) {
        status.store(static_cast<int>(Status::group_out_of_range));
        continue;
      }
      for (std::int64_t g = 0; g < K; ++g) start[g + 1] += start[g];
      std::copy(start.begin(), start.end() - 1, next.begin());
      for (std::int64_t i = 0; i < m; ++i) slot[i] = next[code[i]]++;
      U nonfinite = 0;
      for (std::int64_t i = 0; i < m; ++i) {
        const T* src = X + (lo + i) * d;
        T* dst = in.data() + slot[i] * d;
        for (std::int64_t j = 0; j < d; ++j) {
          U bits;
          std::memcpy(&bits, src + j, sizeof(U));
          dst[j] = src[j];
          nonfinite |= static_cast<U>((bits & exponent) == exponent);
        }
      }
      if (nonfinite) {
        status.store(static_cast<int>(Status::bad_value));
        continue;
      }
      for (std::int64_t g = 0; g < K; ++g) {
        const std::int64_t rows = start[g + 1] - start[g];
        if (rows == 0 || maps.identity[g]) continue;
        // Row-major (rows x d) buffers are column-major (d x rows): res^T = A @ in^T.
        int n_ = static_cast<int>(rows);
        gemm(&transa, &transb, &m_, &n_, &k_, &one, const_cast<T*>(maps.linear + g * d * d), &ld,
             in.data() + start[g] * d, &ld, &zero, res.data() + start[g] * d, &ld);
      }
      for (std::int64_t i = 0; i < m; ++i) {
        const std::int64_t g = code[i];
        T* dst = out + (lo + i) * d;
        if (maps.identity[g]) {
          std::memcpy(dst, in.data() + slot[i] * d, sizeof(T) * std::size_t(d));
          continue;
        }
        const T* src = res.data() + slot[i] * d;
        const T* b = maps.offset + g * d;
        for (std::int64_t j = 0; j < d; ++j) dst[j] = src[j] + b[j];
      }
    }
  }
  return static_cast<Status>(status.load());
}

}  // namespace fairfast
