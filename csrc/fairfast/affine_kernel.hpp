// Deterministic product of a set of rows with one packed affine map:
// out[r] = A (x[r] - center) + b, each output element accumulated in one fixed order.
//
// Batch invariance. BLAS products give a row results that depend on the other rows of
// the call (a 1-row product takes the matrix-vector path; edge tiles and threads split
// the inner dimension differently). Here every output element is computed the same way
// wherever its row falls:
//
//     acc = b[j]  (or init[r, j]);  for k = 0, 1, ..., d_in - 1:  acc = fma(x[k], A[j, k], acc)
//
// in that order. Blocks of k are processed in increasing order and the partial sums are
// carried in the output row (stored and reloaded exactly), rows that pad a tile and
// columns that pad a panel only go to scratch, and the vector lanes do the scalar
// operation above. So the micro-kernel's shape (rows per tile, panel width, k-block),
// the instruction set and the thread that runs it never change a result: every SIMD
// path (AVX-512, AVX2+FMA, and the portable one wherever the target has a fused
// multiply-add) gives the same bits. Only the portable path on a target without one
// (x86-64 before AVX2) rounds the product and the sum separately -- the same way for
// every element, so results are still batch invariant there.
//
// Register blocking: a tile of MR rows times NR = NV vectors of outputs stays in
// registers; per k it broadcasts MR inputs and loads NV vectors of the packed map.
// The map is packed once (affine_blocks.hpp) into panels of NR outputs, k-major, so a
// panel's k-block is one contiguous stream.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define FAIRFAST_AFFINE_X86 1
#include <immintrin.h>
#endif

#if defined(__GNUC__) || defined(__clang__)
// The SIMD wrappers below inline the whole row loop (flatten) into a function compiled
// for their instruction set; 64-byte vectors in inline helpers make GCC warn about an
// ABI that never crosses a call here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
#define FAIRFAST_FLATTEN __attribute__((flatten))
#else
#define FAIRFAST_FLATTEN
#endif

namespace fairfast::affine {

enum class Isa : int { generic = 0, avx2 = 1, avx512 = 2 };

inline const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512:
      return "avx512";
    case Isa::avx2:
      return "avx2";
    default:
      return "generic";
  }
}

// Whether this CPU (and OS, for the register state) runs `isa`.
inline bool isa_available(Isa isa) {
  if (isa == Isa::generic) return true;
#if FAIRFAST_AFFINE_X86
  __builtin_cpu_init();
  if (isa == Isa::avx512) return __builtin_cpu_supports("avx512f");
  if (isa == Isa::avx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return false;
}

inline Isa best_isa() {
  static const Isa best = isa_available(Isa::avx512) ? Isa::avx512
                          : isa_available(Isa::avx2) ? Isa::avx2
                                                     : Isa::generic;
  return best;
}

// ------------------------------------------------------------------ lane types

// Portable lanes: plain arrays the compiler vectorises. The multiply-add is fused
// (std::fma) exactly when the target has the instruction -- then it is the SIMD paths'
// operation; without one, a separate multiply and add (nothing the compiler could fuse).
template <class T>
inline T portable_madd(T x, T a, T acc) {
#if defined(__ARM_FEATURE_FMA) || (defined(__FP_FAST_FMA) && defined(__FP_FAST_FMAF))
  return std::fma(x, a, acc);
#else
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  const T prod = x * a;
  return acc + prod;
#endif
}

template <class T>
struct Portable {
  static constexpr int W = 32 / int(sizeof(T));
  static constexpr int MR = 4;
  struct V {
    T v[W];
  };
  static V load(const T* p) {
    V r;
    for (int l = 0; l < W; ++l) r.v[l] = p[l];
    return r;
  }
  static void store(T* p, const V& a) {
    for (int l = 0; l < W; ++l) p[l] = a.v[l];
  }
  static V set1(T x) {
    V r;
    for (int l = 0; l < W; ++l) r.v[l] = x;
    return r;
  }
  static V madd(const V& x, const V& a, const V& acc) {
    V r;
    for (int l = 0; l < W; ++l) r.v[l] = portable_madd(x.v[l], a.v[l], acc.v[l]);
    return r;
  }
};

#if FAIRFAST_AFFINE_X86
#define FAIRFAST_AVX2 __attribute__((target("avx2,fma")))
#define FAIRFAST_AVX512 __attribute__((target("avx512f")))

template <class T>
struct Avx2;
template <>
struct Avx2<float> {
  static constexpr int W = 8, MR = 6;
  using V = __m256;
  FAIRFAST_AVX2 static V load(const float* p) { return _mm256_loadu_ps(p); }
  FAIRFAST_AVX2 static void store(float* p, V a) { _mm256_storeu_ps(p, a); }
  FAIRFAST_AVX2 static V set1(float x) { return _mm256_set1_ps(x); }
  FAIRFAST_AVX2 static V madd(V x, V a, V acc) { return _mm256_fmadd_ps(x, a, acc); }
};
template <>
struct Avx2<double> {
  static constexpr int W = 4, MR = 6;
  using V = __m256d;
  FAIRFAST_AVX2 static V load(const double* p) { return _mm256_loadu_pd(p); }
  FAIRFAST_AVX2 static void store(double* p, V a) { _mm256_storeu_pd(p, a); }
  FAIRFAST_AVX2 static V set1(double x) { return _mm256_set1_pd(x); }
  FAIRFAST_AVX2 static V madd(V x, V a, V acc) { return _mm256_fmadd_pd(x, a, acc); }
};

template <class T>
struct Avx512;
template <>
struct Avx512<float> {
  static constexpr int W = 16, MR = 12;
  using V = __m512;
  FAIRFAST_AVX512 static V load(const float* p) { return _mm512_loadu_ps(p); }
  FAIRFAST_AVX512 static void store(float* p, V a) { _mm512_storeu_ps(p, a); }
  FAIRFAST_AVX512 static V set1(float x) { return _mm512_set1_ps(x); }
  FAIRFAST_AVX512 static V madd(V x, V a, V acc) { return _mm512_fmadd_ps(x, a, acc); }
};
template <>
struct Avx512<double> {
  static constexpr int W = 8, MR = 12;
  using V = __m512d;
  FAIRFAST_AVX512 static V load(const double* p) { return _mm512_loadu_pd(p); }
  FAIRFAST_AVX512 static void store(double* p, V a) { _mm512_storeu_pd(p, a); }
  FAIRFAST_AVX512 static V set1(double x) { return _mm512_set1_pd(x); }
  FAIRFAST_AVX512 static V madd(V x, V a, V acc) { return _mm512_fmadd_pd(x, a, acc); }
};
#endif

// ------------------------------------------------------------------ micro-kernel

// One tile: rows i < MR, outputs l < NV*W of one panel, k < kb of one k-block.
// acc[i] starts from src[i] (the offset, the initial rows or the partial sums of the
// previous k-blocks) and ends in dst[i]. The input of row i at k is xp[k*MR + i]
// (Packed: a tile packed by pack_tile) or xr[i][k] (rows read in place).
template <class S, class T, int NV, bool Packed>
inline void micro_tile(std::int64_t kb, const T* xp, const T* const* xr, const T* a, const T* const* src,
                       T* const* dst) {
  constexpr int MR = S::MR, W = S::W;
  typename S::V acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = S::load(src[i] + v * W);
  for (std::int64_t k = 0; k < kb; ++k) {
    typename S::V col[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) col[v] = S::load(a + v * W);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const typename S::V x = S::set1(Packed ? xp[i] : xr[i][k]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = S::madd(x, col[v], acc[i][v]);
    }
    a += NV * W;
    if (Packed) xp += MR;
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) S::store(dst[i] + v * W, acc[i][v]);
}

// ------------------------------------------------------------------ rows x one map

template <class T>
struct RowsJob {
  const T* X;                 // input rows, d_in values each
  const std::int64_t* rows;   // the rows to map (indices into X, out and init)
  std::int64_t n_rows;
  T* out;                     // output rows, d_out values each
  const T* init;              // rows to start from instead of the offset, or nullptr
  const T* panels;            // the packed map: n_panels x d_in x NR
  const T* bias;              // the offset, zero padded to n_panels * NR
  const T* center;            // d_in values subtracted from x first, or nullptr
  std::int64_t d_in, d_out;
};

template <class T>
inline bool any_nonfinite(const T* x, std::int64_t n) {
  using U = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;
  constexpr U exponent = sizeof(T) == 8 ? U(0x7FF0000000000000ULL) : U(0x7F800000U);
  U found = 0;
  for (std::int64_t j = 0; j < n; ++j) {
    U bits;
    std::memcpy(&bits, x + j, sizeof(U));
    found |= static_cast<U>((bits & exponent) == exponent);
  }
  return found != 0;
}

// k-block length: a panel's block (kc x NR values) takes about 32 KiB.
template <class T, int NR>
constexpr std::int64_t k_block() {
  return std::max<std::int64_t>(64, (std::int64_t(32) << 10) / (NR * std::int64_t(sizeof(T))));
}

// Scratch values a thread needs for rows_times_map<S, T, NV>: the packed tile, the
// padded-panel tile and a dummy row for the rows that pad a tile.
template <class S, class T, int NV>
constexpr std::int64_t scratch_values() {
  constexpr int NR = NV * S::W;
  return k_block<T, NR>() * S::MR + S::MR * NR + NR;
}

// Maps job.rows. Returns true when an input value is NaN or infinite (the caller
// discards the output). `scratch` holds scratch_values<S, T, NV>() values, the last NR
// of them zero.
template <class S, class T, int NV>
inline bool rows_times_map(const RowsJob<T>& job, T* scratch) {
  constexpr int MR = S::MR, NR = NV * S::W;
  constexpr std::int64_t KC = k_block<T, NR>();
  T* const tile = scratch;
  T* const pad = tile + KC * MR;
  T* const dummy = pad + MR * NR;
  const std::int64_t d_in = job.d_in, d_out = job.d_out, n_panels = (d_out + NR - 1) / NR;
  // Inputs are read in place when one k-block covers them and nothing is subtracted;
  // otherwise each tile is packed (contiguous, so rows far apart in memory do not
  // evict each other from cache). Either way a tile sees the same input values.
  const bool in_place = job.center == nullptr && d_in <= KC;
  bool nonfinite = false;
  for (std::int64_t k0 = 0; k0 < d_in; k0 += KC) {
    const std::int64_t kb = std::min(KC, d_in - k0);
    for (std::int64_t t = 0; t < job.n_rows; t += MR) {
      const int m = static_cast<int>(std::min<std::int64_t>(MR, job.n_rows - t));
      const T* xr[MR];
      for (int i = 0; i < MR; ++i) xr[i] = job.X + job.rows[t + std::min(i, m - 1)] * d_in + k0;
      for (int i = 0; i < m; ++i) nonfinite |= any_nonfinite(xr[i], kb);
      if (!in_place) {
        const T* c = job.center ? job.center + k0 : nullptr;
        for (std::int64_t k = 0; k < kb; ++k)
          for (int i = 0; i < MR; ++i) tile[k * MR + i] = i >= m ? T(0) : c ? xr[i][k] - c[k] : xr[i][k];
      }
      for (std::int64_t p = 0; p < n_panels; ++p) {
        const std::int64_t j0 = p * NR, valid = std::min<std::int64_t>(NR, d_out - j0);
        const T* a = job.panels + (p * d_in + k0) * NR;
        const T* src[MR];
        T* dst[MR];
        for (int i = 0; i < MR; ++i) {
          if (i >= m) {
            src[i] = dst[i] = dummy;
            continue;
          }
          const std::int64_t r = job.rows[t + i];
          dst[i] = job.out + r * d_out + j0;
          src[i] = k0 > 0 ? dst[i] : job.init ? job.init + r * d_out + j0 : job.bias + j0;
        }
        if (valid < NR) {  // the last, partial panel: through a padded tile
          for (int i = 0; i < MR; ++i) {
            T* row = pad + i * NR;
            std::copy(src[i], src[i] + valid, row);
            std::fill(row + valid, row + NR, T(0));
            src[i] = row;
          }
          T* padded[MR];
          for (int i = 0; i < MR; ++i) padded[i] = pad + i * NR;
          if (in_place)
            micro_tile<S, T, NV, false>(kb, nullptr, xr, a, src, padded);
          else
            micro_tile<S, T, NV, true>(kb, tile, xr, a, src, padded);
          for (int i = 0; i < m; ++i) std::copy(padded[i], padded[i] + valid, dst[i]);
          continue;
        }
        if (in_place)
          micro_tile<S, T, NV, false>(kb, nullptr, xr, a, src, dst);
        else
          micro_tile<S, T, NV, true>(kb, tile, xr, a, src, dst);
      }
    }
  }
  return nonfinite;
}

// ------------------------------------------------------------------ dispatch

template <class T>
using RowsFn = bool (*)(const RowsJob<T>&, T*);

template <class T, int NV>
FAIRFAST_FLATTEN bool rows_portable(const RowsJob<T>& job, T* scratch) {
  return rows_times_map<Portable<T>, T, NV>(job, scratch);
}
#if FAIRFAST_AFFINE_X86
template <class T, int NV>
FAIRFAST_AVX2 FAIRFAST_FLATTEN bool rows_avx2(const RowsJob<T>& job, T* scratch) {
  return rows_times_map<Avx2<T>, T, NV>(job, scratch);
}
template <class T, int NV>
FAIRFAST_AVX512 FAIRFAST_FLATTEN bool rows_avx512(const RowsJob<T>& job, T* scratch) {
  return rows_times_map<Avx512<T>, T, NV>(job, scratch);
}
#endif

// The kernel for a map with d_out outputs: one vector per panel when d_out fits in one,
// two otherwise.
template <class T>
struct Kernel {
  Isa isa = Isa::generic;
  int panel_width = 0;         // NR
  std::int64_t scratch = 0;    // values per thread
  RowsFn<T> run = nullptr;
};

template <class S, class T, int NV>
Kernel<T> kernel_of(Isa isa, RowsFn<T> run) {
  return Kernel<T>{isa, NV * S::W, scratch_values<S, T, NV>(), run};
}

template <class T>
Kernel<T> choose_kernel(Isa isa, std::int64_t d_out) {
#if FAIRFAST_AFFINE_X86
  if (isa == Isa::avx512)
    return d_out <= Avx512<T>::W ? kernel_of<Avx512<T>, T, 1>(isa, rows_avx512<T, 1>)
                                 : kernel_of<Avx512<T>, T, 2>(isa, rows_avx512<T, 2>);
  if (isa == Isa::avx2)
    return d_out <= Avx2<T>::W ? kernel_of<Avx2<T>, T, 1>(isa, rows_avx2<T, 1>)
                               : kernel_of<Avx2<T>, T, 2>(isa, rows_avx2<T, 2>);
#endif
  return d_out <= Portable<T>::W ? kernel_of<Portable<T>, T, 1>(Isa::generic, rows_portable<T, 1>)
                                 : kernel_of<Portable<T>, T, 2>(Isa::generic, rows_portable<T, 2>);
}

}  // namespace fairfast::affine

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic pop
#endif
