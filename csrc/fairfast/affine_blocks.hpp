// Per-row affine maps chosen by a code: out[r] = A[c] (x[r] - center[c]) + b[c] with
// c = codes[r], every row batch invariant (see affine_kernel.hpp).
//
// The steering estimators map every row with the map of its (group, label) block. The
// maps are packed once per fitted model (PackedAffine: panels of the transposed
// matrices, offsets padded to whole panels); a call then works through chunks of
// consecutive rows in parallel: a counting sort of the chunk's codes groups its rows
// by map, and each map's rows go through the register-blocked kernel, which reads
// them where they are and writes their outputs in place -- no gather or scatter copy,
// so memory sees X read once and out written once, like a bare matmul. A code can
// also copy its rows (an identity map) or add its offset only (a translation).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <vector>

#include "fairfast/affine_kernel.hpp"
#include "fairfast/common.hpp"

namespace fairfast {

enum class MapKind : std::int8_t { copy = 0, shift = 1, affine = 2 };

template <class T>
struct PackedAffine {
  std::int64_t n_codes = 0, d_in = 0, d_out = 0, n_maps = 0, n_panels = 0;
  affine::Kernel<T> kernel;
  std::vector<MapKind> kind;      // per code
  std::vector<std::int64_t> map;  // per affine code: its packed matrix
  ScratchArray<T> panels;         // n_maps x n_panels x d_in x NR
  ScratchArray<T> bias;           // n_codes x n_panels * NR, zero padded
  ScratchArray<T> center;         // n_codes x d_in, or empty
  bool has_center = false;

  std::int64_t panel_values() const { return n_panels * kernel.panel_width; }
  std::size_t nbytes() const {
    return sizeof(T) * std::size_t(n_maps * n_panels * d_in * kernel.panel_width + n_codes * panel_values() +
                                   (has_center ? n_codes * d_in : 0));
  }
};

// Empty maps for n_codes codes with the kernel of `isa`; fill with pack_matrix and
// the kind/map/bias/center entries.
template <class T>
PackedAffine<T> make_packed(affine::Isa isa, std::int64_t n_codes, std::int64_t n_maps, std::int64_t d_in,
                            std::int64_t d_out, bool has_center) {
  PackedAffine<T> m;
  m.n_codes = n_codes, m.n_maps = n_maps, m.d_in = d_in, m.d_out = d_out, m.has_center = has_center;
  m.kernel = affine::choose_kernel<T>(isa, d_out);
  const std::int64_t nr = m.kernel.panel_width;
  m.n_panels = (d_out + nr - 1) / nr;
  m.kind.assign(static_cast<std::size_t>(n_codes), MapKind::copy);
  m.map.assign(static_cast<std::size_t>(n_codes), -1);
  m.panels = scratch_array<T>(static_cast<std::size_t>(n_maps * m.n_panels * d_in * nr));
  m.bias = scratch_array<T>(static_cast<std::size_t>(n_codes * m.panel_values()));
  std::fill(m.bias.get(), m.bias.get() + n_codes * m.panel_values(), T(0));
  if (has_center) m.center = scratch_array<T>(static_cast<std::size_t>(n_codes * d_in));
  return m;
}

// Packs the row-major d_out x d_in matrix A as matrix `index` of `m`: panel p holds
// A[p*NR + l, k] at (k * NR + l), zero for rows past d_out.
template <class T, class Src>
void pack_matrix(PackedAffine<T>& m, std::int64_t index, const Src* A) {
  const std::int64_t nr = m.kernel.panel_width, d_in = m.d_in, d_out = m.d_out;
  T* dst = m.panels.get() + index * m.n_panels * d_in * nr;
  const int n_threads = static_cast<int>(
      std::min<std::int64_t>(threads_for(static_cast<std::size_t>(d_in * d_out), std::size_t(1) << 18), m.n_panels));
#pragma omp parallel for num_threads(n_threads) if (n_threads > 1) schedule(static)
  for (std::int64_t p = 0; p < m.n_panels; ++p) {
    T* panel = dst + p * d_in * nr;
    const std::int64_t rows = std::min(nr, d_out - p * nr);
    std::fill(panel, panel + d_in * nr, T(0));
    for (std::int64_t k0 = 0; k0 < d_in; k0 += 64) {  // a block of A's rows stays in cache
      const std::int64_t k1 = std::min(d_in, k0 + 64);
      for (std::int64_t l = 0; l < rows; ++l) {
        const Src* a = A + (p * nr + l) * d_in;
        for (std::int64_t k = k0; k < k1; ++k) panel[k * nr + l] = static_cast<T>(a[k]);
      }
    }
  }
}

// Rows per chunk: enough rows per code that a large map, streamed from memory once per
// chunk, serves many tiles; small enough that the threads share the work evenly. The
// chunking never changes a result.
inline std::int64_t affine_chunk_rows(std::int64_t n, std::int64_t n_codes, int n_threads) {
  const std::int64_t per_codes = 256 * std::clamp<std::int64_t>(n_codes, 1, 16);
  const std::int64_t balanced = (n + 8 * std::int64_t(n_threads) - 1) / (8 * std::int64_t(n_threads));
  return std::max<std::int64_t>(1, std::min(per_codes, std::max<std::int64_t>(128, balanced)));
}

// Applies the maps to rows [0, n): `codes` (nullptr: every row has code 0) choose each
// row's map; `init` (nullptr, or n x d_out values, possibly `out` itself) replaces the
// offsets as the starting values of affine codes. Returns Status::group_out_of_range
// for a code outside [0, n_codes) and Status::bad_value for a non-finite entry of X;
// `out` is then only partly written and must be discarded. `out` must not overlap X.
template <class T>
Status apply_affine_blocks(const T* X, std::int64_t n, const std::int64_t* codes, const PackedAffine<T>& maps,
                           T* out, const T* init) {
  const std::int64_t d_in = maps.d_in, d_out = maps.d_out, K = maps.n_codes;
  if (n == 0 || d_out == 0) return Status::ok;
  int n_threads = threads_for(static_cast<std::size_t>(n * std::max(d_in, d_out)), std::size_t(1) << 15);
  const std::int64_t chunk = affine_chunk_rows(n, codes ? K : 1, n_threads);
  const std::int64_t n_chunks = (n + chunk - 1) / chunk;
  n_threads = static_cast<int>(std::min<std::int64_t>(n_threads, n_chunks));
  std::atomic<int> status{static_cast<int>(Status::ok)};

#pragma omp parallel num_threads(n_threads) if (n_threads > 1)
  {
    ScratchArray<T> scratch = scratch_array<T>(static_cast<std::size_t>(maps.kernel.scratch));
    std::fill(scratch.get(), scratch.get() + maps.kernel.scratch, T(0));
    std::vector<std::int64_t> start(static_cast<std::size_t>(K + 1)), next(static_cast<std::size_t>(K)),
        order(static_cast<std::size_t>(chunk));
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t c = 0; c < n_chunks; ++c) {
      if (status.load(std::memory_order_relaxed) != static_cast<int>(Status::ok)) continue;
      const std::int64_t lo = c * chunk, m = std::min(n, lo + chunk) - lo;
      if (codes == nullptr) {
        std::iota(order.begin(), order.begin() + m, lo);
        start[0] = 0;
        std::fill(start.begin() + 1, start.end(), m);
      } else {
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
        for (std::int64_t i = 0; i < m; ++i) order[next[code[i]]++] = lo + i;
      }
      bool nonfinite = false;
      for (std::int64_t g = 0; g < K && !nonfinite; ++g) {
        const std::int64_t* rows = order.data() + start[g];
        const std::int64_t count = start[g + 1] - start[g];
        if (count == 0) continue;
        const T* b = maps.bias.get() + g * maps.panel_values();
        switch (maps.kind[g]) {
          case MapKind::copy:
            for (std::int64_t i = 0; i < count; ++i) {
              const T* x = X + rows[i] * d_in;
              nonfinite |= affine::any_nonfinite(x, d_in);
              std::memcpy(out + rows[i] * d_out, x, sizeof(T) * std::size_t(d_in));
            }
            break;
          case MapKind::shift:
            for (std::int64_t i = 0; i < count; ++i) {
              const T* x = X + rows[i] * d_in;
              T* y = out + rows[i] * d_out;
              nonfinite |= affine::any_nonfinite(x, d_in);
              for (std::int64_t j = 0; j < d_in; ++j) y[j] = x[j] + b[j];
            }
            break;
          case MapKind::affine: {
            const affine::RowsJob<T> job{X, rows, count, out, init,
                                         maps.panels.get() + maps.map[g] * maps.n_panels * d_in * maps.kernel.panel_width,
                                         b, maps.has_center ? maps.center.get() + g * d_in : nullptr, d_in, d_out};
            nonfinite |= maps.kernel.run(job, scratch.get());
            break;
          }
        }
      }
      if (nonfinite) status.store(static_cast<int>(Status::bad_value));
    }
  }
  return static_cast<Status>(status.load());
}

}  // namespace fairfast
