// One-cache-line rank lookup for the barycenter transform.
//
// The bucket index of barycenter.hpp needs three dependent memory reads per row (the
// bucket bounds, a window of calibration values, the table entry), each a cache miss
// once the tables outgrow L2. Here every bucket is one 64-byte line holding its first
// rank, its values and the table entries of its ranks, so a row costs one read:
//
//   rank = start + #{bucket values <= t},   fair value = line.fair[rank - start].
//
// Buckets come from a two-level monotone map: the value range is cut into equal-width
// segments, and each segment into as many equal-width buckets as it has calibration
// values (divided by the target occupancy). Buckets therefore follow the density, and
// most hold at most `capacity` values. Rows whose bucket holds more, or whose score
// ties a calibration value (ordered by tie key), take the exact path of barycenter.hpp.
//
// The map is non-decreasing in t, so values in lower buckets are < t and values in
// higher buckets are > t: the rank is exact whatever the occupancy.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common.hpp"

namespace fairfast {

template <class T>
struct LookupLine {
  // Values per line: 3 doubles (+ 4 table entries) or 4 floats (+ 5) fill 64 bytes.
  static constexpr int capacity = sizeof(T) == 8 ? 3 : 4;
  std::uint32_t start;  // rank of the bucket's first value within its group
  std::uint32_t count;  // values in the bucket (may exceed capacity)
  T value[capacity];    // the first values, padded with +inf
  double fair[capacity + 1];
};
static_assert(sizeof(LookupLine<double>) == 64 && sizeof(LookupLine<float>) == 64,
              "a lookup line must fill one cache line");

// floor(f) clamped to [0, top] for finite top >= 0, without branches; f may be
// infinite or NaN (then 0).
inline std::uint32_t clamped_floor(double f, double top) {
  return static_cast<std::uint32_t>(std::min(std::max(0.0, f), top));
}

// Lookup lines of every group of a fitted stage (one task), built from its sorted
// values, offsets (k + 1) and barycenter table (n + k entries, group g's n_g + 1 at
// offsets[g] + g). Immutable once built; owns its memory.
//
// The bucket map: group g's range [lo, hi] is cut into `segments` equal parts; part s
// is split into max(1, ceil(count_s / occupancy)) equal buckets, numbered globally
// (the line index). Both levels are floor((t - origin) * scale) clamped to the part,
// so the map is non-decreasing in t.
template <class T>
class RankLookup {
 public:
  using Line = LookupLine<T>;

  struct GroupMap {
    double lo, scale, top;      // segment = clamped_floor((t - lo) * scale, top)
    std::uint32_t first;        // its first segment
  };
  struct Segment {
    double lo, scale, top;      // bucket = base + clamped_floor((t - lo) * scale, top)
    std::uint64_t base;         // its first line
  };

  RankLookup(const T* values, const std::int64_t* offsets, std::int32_t k, const double* table,
             double occupancy = 1.0)
      : offsets_(offsets, offsets + k + 1), maps_(static_cast<std::size_t>(k)) {
    std::vector<std::uint32_t> counts;
    std::size_t lines = 0;
    for (std::int32_t g = 0; g < k; ++g) {
      const T* xs = values + offsets[g];
      const std::size_t n = static_cast<std::size_t>(offsets[g + 1] - offsets[g]);
      const std::uint32_t parts = static_cast<std::uint32_t>(std::clamp<std::size_t>(n / 64, 1, 1024));
      const double lo = n ? static_cast<double>(xs[0]) : 0.0;
      const double range = n ? static_cast<double>(xs[n - 1]) - lo : 0.0;
      GroupMap& gm = maps_[g];
      gm.lo = lo;
      gm.scale = (range > 0.0 && std::isfinite(range)) ? parts / range : 0.0;
      gm.top = parts - 1;
      gm.first = static_cast<std::uint32_t>(segments_.size());
      counts.assign(parts, 0);
      for (std::size_t i = 0; i < n; ++i) ++counts[segment_of(gm, static_cast<double>(xs[i])) - gm.first];
      for (std::uint32_t s = 0; s < parts; ++s) {
        const double nb = std::max(1.0, std::ceil(counts[s] / occupancy));
        // Part s covers [lo + s / scale, lo + (s + 1) / scale); with scale 0 every
        // score is in part 0, bucket 0.
        const double a = gm.scale > 0.0 ? lo + s / gm.scale : lo;
        const double b = gm.scale > 0.0 ? lo + (s + 1) / gm.scale : lo;
        segments_.push_back(Segment{a, b > a ? nb / (b - a) : 0.0, nb - 1.0, lines});
        lines += static_cast<std::size_t>(nb);
      }
    }
    segments_.push_back(Segment{0.0, 0.0, 0.0, lines});  // sentinel: end of the last part
    n_lines_ = lines;
    // Lines are read at random: on 2 MB pages (see scratch_array) a lookup of a few MB
    // needs a handful of TLB entries instead of thousands.
    lines_ = scratch_array<Line>(n_lines_);
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(std::max(1, std::min<int>(threads_for(n_lines_, 65536), k))) schedule(dynamic, 1)
#endif
    for (std::int32_t g = 0; g < k; ++g) fill_group(values, table, g);
  }

  std::int32_t n_groups() const { return static_cast<std::int32_t>(maps_.size()); }
  const std::vector<std::int64_t>& offsets() const { return offsets_; }
  std::size_t n_lines() const { return n_lines_; }
  std::size_t nbytes() const {
    return n_lines_ * sizeof(Line) + segments_.size() * sizeof(Segment) + maps_.size() * sizeof(GroupMap);
  }
  const GroupMap* maps() const { return maps_.data(); }
  const Segment* segments() const { return segments_.data(); }
  const Line* lines() const { return lines_.get(); }

  static std::uint32_t segment_of(const GroupMap& gm, double t) {
    return gm.first + clamped_floor((t - gm.lo) * gm.scale, gm.top);
  }
  static std::uint64_t line_of(const Segment& sg, double t) {
    return sg.base + clamped_floor((t - sg.lo) * sg.scale, sg.top);
  }
  // Line of score t (not NaN) in group g (in range).
  const Line* line(std::int32_t g, double t) const {
    return lines_.get() + line_of(segments_[segment_of(maps_[g], t)], t);
  }

 private:
  void fill_group(const T* values, const double* table, std::int32_t g) {
    const T* xs = values + offsets_[g];
    const double* tab = table + offsets_[g] + g;
    const std::size_t n = static_cast<std::size_t>(offsets_[g + 1] - offsets_[g]);
    const std::size_t first_line = segments_[maps_[g].first].base;
    const std::size_t end_line = segments_[maps_[g].first + static_cast<std::size_t>(maps_[g].top) + 1].base;
    const std::size_t m = end_line - first_line;
    std::vector<std::uint32_t> first(m + 1, 0);
    for (std::size_t i = 0; i < n; ++i) ++first[line(g, static_cast<double>(xs[i])) - lines_.get() - first_line + 1];
    for (std::size_t b = 0; b < m; ++b) first[b + 1] += first[b];
    Line* out = lines_.get() + first_line;
    for (std::size_t b = 0; b < m; ++b) {
      Line& ln = out[b];
      ln.start = first[b];
      ln.count = first[b + 1] - first[b];
      for (int q = 0; q < Line::capacity; ++q)
        ln.value[q] = static_cast<std::uint32_t>(q) < ln.count ? xs[first[b] + q] : std::numeric_limits<T>::infinity();
      for (int q = 0; q <= Line::capacity; ++q)
        ln.fair[q] = static_cast<std::uint32_t>(q) <= ln.count ? tab[first[b] + q] : 0.0;
    }
  }

  std::vector<std::int64_t> offsets_;
  std::vector<GroupMap> maps_;
  std::vector<Segment> segments_;
  std::size_t n_lines_ = 0;
  ScratchArray<Line> lines_;  // trivial: every field is written by fill_group
};

// Writes a thread's contiguous range of outputs out[lo:hi], sending whole 64-byte lines
// past the caches (non-temporal stores) when Streamed and `enabled`: a large output is
// not read back soon, and keeping it out of the caches leaves them to the lookup lines
// (it also saves the read that an ordinary store of a missing line costs). `out` must
// be aligned to sizeof(T). Call finish(hi) after the last put.
template <class T, bool Streamed>
class OutputWriter {
 public:
  static constexpr std::size_t per_line = 64 / sizeof(T);

  OutputWriter(T* out, std::size_t lo, bool enabled = true) : out_(out), lo_(lo), stream_(Streamed && enabled) {}

  void put(std::size_t i, T v) {
#if defined(__SSE2__)
    if constexpr (Streamed) {
      if (stream_) {
        const std::uintptr_t addr = reinterpret_cast<std::uintptr_t>(out_ + i);
        buf_[(addr & 63) / sizeof(T)] = v;
        if (((addr + sizeof(T)) & 63) == 0) {  // i ends a line
          if (i + 1 >= per_line && i + 1 - per_line >= lo_) {
            char* line = reinterpret_cast<char*>(out_ + (i + 1 - per_line));
            for (std::size_t q = 0; q < 64; q += 16)
              _mm_stream_si128(reinterpret_cast<__m128i*>(line + q),
                               _mm_load_si128(reinterpret_cast<const __m128i*>(reinterpret_cast<const char*>(buf_) + q)));
          } else {  // the line starts before this thread's range: only our part is ours
            for (std::size_t j = lo_; j <= i; ++j) out_[j] = buf_[per_line - 1 - (i - j)];
          }
        }
        return;
      }
    }
#endif
    out_[i] = v;
  }

  // Stores the outputs of the last, unfinished line (its rows up to hi - 1).
  void finish(std::size_t hi) {
#if defined(__SSE2__)
    if (!stream_ || hi <= lo_) return;
    const std::uintptr_t end = reinterpret_cast<std::uintptr_t>(out_ + hi);
    const std::size_t in_line = (end & 63) / sizeof(T);  // rows of the unfinished line
    const std::size_t first = hi >= in_line ? hi - in_line : 0;
    for (std::size_t j = std::max(first, lo_); j < hi; ++j) out_[j] = buf_[in_line - (hi - j)];
    _mm_sfence();  // order the streamed lines before the threads join
#else
    (void)hi;
#endif
  }

 private:
  T* out_;
  std::size_t lo_;
  bool stream_;
  alignas(64) T buf_[per_line];
};

}  // namespace fairfast
