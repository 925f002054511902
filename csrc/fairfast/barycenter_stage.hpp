// A fitted barycenter stage: the arrays of every task, validated once, with the derived
// data the transform needs (per-group bucket indexes, lazily built rank lookups).
//
// The stage does not own the fitted arrays (the binding keeps them alive and read-only);
// it owns the offsets and everything derived. Validation happens when a task's arrays
// are attached (index_values, check_table), so a transform call costs nothing that
// grows with the calibration size: it checks its own rows only.
//
// Memory safety does not rest on the values being sorted: every search stays inside the
// bucket bounds of an index built here, so even arrays changed behind the stage's back
// could give wrong numbers, never an out-of-bounds read.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "barycenter_fit.hpp"
#include "barycenter_transform.hpp"
#include "common.hpp"
#include "rank_lookup.hpp"
#include "transport.hpp"

namespace fairfast {

// The first problem found in a task's arrays; `position` is within the group (0..n_g-1
// for values and keys, 0..n_g for the table).
struct StageIssue {
  enum Kind : int { none = 0, value_not_finite, values_unsorted, keys_unsorted, table_not_finite, table_decreasing };
  Kind kind = none;
  std::size_t task = 0, group = 0, position = 0;
  std::size_t row = RowIssue::none;  // global position, to keep the first problem across threads

  bool ok() const { return kind == none; }
  void note(std::size_t at, Kind what) {
    if (at < row) {
      row = at;
      kind = what;
    }
  }
  std::string message() const {
    static const char* what[] = {"", "values hold a non-finite number", "values are not sorted within their group",
                                 "keys are not sorted within a run of equal values",
                                 "table holds a non-finite number", "table decreases within its group"};
    return std::string(what[kind]) + " (task " + std::to_string(task) + ", group " + std::to_string(group) +
           ", position " + std::to_string(position) + ")";
  }
};

// Checked group offsets of n values: k + 1 entries from 0 to n, strictly increasing (no
// empty group), n below 2**32 (ranks are 32-bit). Throws std::invalid_argument.
inline std::vector<std::int64_t> checked_offsets(const std::int64_t* o, std::size_t entries, std::size_t n) {
  if (entries < 2) throw std::invalid_argument("offsets must have at least 2 entries (one group)");
  if (n >= (std::size_t(1) << 32)) throw std::invalid_argument("a stage holds fewer than 2**32 calibration rows");
  if (entries - 1 > static_cast<std::size_t>(INT32_MAX)) throw std::invalid_argument("too many groups");
  if (o[0] != 0 || o[entries - 1] != static_cast<std::int64_t>(n))
    throw std::invalid_argument("offsets must start at 0 and end at the number of values");
  for (std::size_t g = 0; g + 1 < entries; ++g)
    if (o[g + 1] <= o[g]) throw std::invalid_argument("offsets must be strictly increasing (no empty group)");
  return std::vector<std::int64_t>(o, o + entries);
}

template <class T>
class BarycenterStage {
 public:
  // A rank lookup (rank_lookup.hpp) is built for stages of more than lookup_min_rows and
  // at most lookup_max_rows calibration rows, once they have transformed lookup_after
  // times their calibration rows (counting every call): it costs about as much as
  // transforming 3-7 rows per calibration row saves, so a one-off fit_transform never
  // pays for it. Below the range the tables sit in L1/L2 anyway; above it the lookup
  // would cost several times the model's own memory (64 bytes per row and task).
  static constexpr std::size_t lookup_min_rows = 4096, lookup_max_rows = std::size_t(1) << 20, lookup_after = 4;

  // offsets: checked_offsets output.
  BarycenterStage(std::vector<std::int64_t> offsets, std::size_t n_tasks, std::uint64_t seed, double jitter)
      : offsets_(std::move(offsets)),
        k_(static_cast<std::int32_t>(offsets_.size() - 1)),
        n_(static_cast<std::size_t>(offsets_.back())),
        seed_(seed),
        jitter_(jitter),
        tasks_(n_tasks) {
    if (!(jitter >= 0.0) || !std::isfinite(jitter)) throw std::invalid_argument("jitter must be finite and >= 0");
  }

  std::int32_t n_groups() const { return k_; }
  std::size_t n_rows() const { return n_; }
  std::size_t n_tasks() const { return tasks_.size(); }
  const std::vector<std::int64_t>& offsets() const { return offsets_; }
  std::uint64_t seed() const { return seed_; }
  double jitter() const { return jitter_; }
  const BucketIndex* indexes(std::size_t t) const { return tasks_[t].index.data(); }

  // Attaches task t's values (sorted within each group) and builds its bucket indexes,
  // checking in the same pass that the values are finite and sorted within each group
  // and, when `keys` is given, that keys are non-decreasing within runs of equal values.
  StageIssue index_values(std::size_t t, const T* values, const std::uint64_t* keys) {
    Task& task = tasks_[t];
    task.values = values;
    task.start = scratch_array<std::uint32_t>(n_ + static_cast<std::size_t>(k_));
    task.index.assign(static_cast<std::size_t>(k_), BucketIndex{});
    for (std::int32_t g = 0; g < k_; ++g) {
      const std::size_t off = static_cast<std::size_t>(offsets_[g]), len = group_size(g);
      BucketIndex& idx = task.index[g];
      idx.m = static_cast<std::uint32_t>(len);
      idx.lo = static_cast<double>(values[off]);
      const double range = static_cast<double>(values[off + len - 1]) - idx.lo;
      idx.scale = (range > 0.0 && std::isfinite(range)) ? static_cast<double>(len) / range : 0.0;
      idx.start = task.start.get() + off + static_cast<std::size_t>(g);
    }
    // In sorted values the bucket is non-decreasing, so start[b] (the first position of a
    // bucket >= b) is written by the row whose bucket reaches b: a pass over contiguous
    // chunks of rows, whatever the groups' sizes, with no histogram.
    const int nt = threads_for(n_, 65536);
    std::vector<StageIssue> issues(static_cast<std::size_t>(nt));
#ifdef FAIRFAST_OPENMP
#pragma omp parallel num_threads(nt)
#endif
    {
      const auto [lo, hi] = thread_rows(n_);
      StageIssue& issue = issues[thread_id()];
      std::int32_t g = lo < hi ? group_of(lo) : 0;
      std::int64_t b_prev = -1;
      for (std::size_t i = lo; i < hi; ++i) {
        while (static_cast<std::int64_t>(i) >= offsets_[g + 1]) ++g;
        const std::size_t off = static_cast<std::size_t>(offsets_[g]), r = i - off, len = group_size(g);
        const BucketIndex& idx = task.index[g];
        std::uint32_t* start = task.start.get() + off + static_cast<std::size_t>(g);
        const T v = values[i];
        if (!std::isfinite(v)) {
          issue.note(i, StageIssue::value_not_finite);
          break;
        }
        if (r == 0) {
          b_prev = -1;
        } else {
          const T u = values[i - 1];
          if (!(u <= v)) {
            issue.note(i, StageIssue::values_unsorted);
            break;
          }
          if (keys && u == v && keys[i - 1] > keys[i]) {
            issue.note(i, StageIssue::keys_unsorted);
            break;
          }
          if (i == lo) b_prev = idx.bucket(static_cast<double>(u));
        }
        const std::uint32_t b = idx.bucket(static_cast<double>(v));
        for (std::int64_t q = b_prev + 1; q <= static_cast<std::int64_t>(b); ++q) start[q] = static_cast<std::uint32_t>(r);
        if (r + 1 == len)
          for (std::uint32_t q = b + 1; q <= idx.m; ++q) start[q] = static_cast<std::uint32_t>(len);
        b_prev = b;
      }
    }
    return located(t, first_of(issues), false);
  }

  // Checks task t's table: finite and non-decreasing within each group (a barycenter
  // table is: a positive combination of non-decreasing quantile functions, clamped to
  // their range, is non-decreasing in the rank even after rounding).
  StageIssue check_table(std::size_t t, const double* table) const {
    const std::size_t entries = n_ + static_cast<std::size_t>(k_);
    const int nt = threads_for(entries, 65536);
    std::vector<StageIssue> issues(static_cast<std::size_t>(nt));
#ifdef FAIRFAST_OPENMP
#pragma omp parallel num_threads(nt)
#endif
    {
      const auto [lo, hi] = thread_rows(entries);
      StageIssue& issue = issues[thread_id()];
      std::int32_t g = lo < hi ? table_group_of(lo) : 0;
      for (std::size_t e = lo; e < hi; ++e) {
        while (static_cast<std::int64_t>(e) >= offsets_[g + 1] + g + 1) ++g;
        if (!std::isfinite(table[e])) {
          issue.note(e, StageIssue::table_not_finite);
          break;
        }
        if (static_cast<std::int64_t>(e) > offsets_[g] + g && table[e - 1] > table[e]) {
          issue.note(e, StageIssue::table_decreasing);
          break;
        }
      }
    }
    return located(t, first_of(issues), true);
  }

  // Completes task t (after index_values) with its tie keys and table.
  void attach(std::size_t t, const std::uint64_t* keys, const double* table) {
    Task& task = tasks_[t];
    task.keys = keys;
    task.table = table;
    task.groups.resize(static_cast<std::size_t>(k_));
    for (std::int32_t g = 0; g < k_; ++g) {
      const std::size_t off = static_cast<std::size_t>(offsets_[g]);
      GroupTables<T>& gt = task.groups[g];
      gt.values = task.values + off;
      gt.tie_keys = keys + off;
      gt.table = table + off + static_cast<std::size_t>(g);
      gt.index = task.index[g];
      gt.size = static_cast<std::uint32_t>(group_size(g));
    }
  }

  // Fair values of n rows of task t (see barycenter_transform). With count_rows, the
  // rows count towards building the lookups (count each row once, for one task).
  RowIssue transform(std::size_t t, const T* x, const std::int32_t* codes, std::size_t n, double epsilon,
                     std::uint64_t row_offset, T* out, TransformPath path, bool count_rows) {
    if (count_rows && lookup_wanted() && !lookups_ready_.load(std::memory_order_acquire)) {
      const std::uint64_t seen = rows_seen_.fetch_add(n, std::memory_order_relaxed) + n;
      if (seen >= lookup_after * n_) build_lookups();
    }
    const Task& task = tasks_[t];
    const RankLookup<T>* lookup =
        lookups_ready_.load(std::memory_order_acquire) ? task.lookup.get() : nullptr;
    return barycenter_transform(task.groups.data(), k_, n_, x, codes, n, epsilon, jitter_, seed_, row_offset, out,
                                path, lookup);
  }

  bool lookup_wanted() const { return n_ > lookup_min_rows && n_ <= lookup_max_rows; }
  bool lookups_ready() const { return lookups_ready_.load(std::memory_order_acquire); }
  std::uint64_t rows_seen() const { return rows_seen_.load(std::memory_order_relaxed); }

  // Builds every task's lookup now (whatever the stage's size); safe to call
  // concurrently with transforms. Returns their bytes.
  std::size_t build_lookups() {
    std::lock_guard<std::mutex> lock(lookup_mutex_);
    if (!lookups_ready_.load(std::memory_order_acquire)) {
      for (Task& task : tasks_)
        task.lookup = std::make_unique<RankLookup<T>>(task.values, offsets_.data(), k_, task.table);
      lookups_ready_.store(true, std::memory_order_release);
    }
    return lookup_bytes();
  }
  std::size_t lookup_bytes() const {
    if (!lookups_ready()) return 0;
    std::size_t bytes = 0;
    for (const Task& task : tasks_) bytes += task.lookup->nbytes();
    return bytes;
  }

 private:
  struct Task {
    const T* values = nullptr;
    const std::uint64_t* keys = nullptr;
    const double* table = nullptr;
    ScratchArray<std::uint32_t> start;  // n + k bucket bounds, group g's n_g + 1 at offsets[g] + g
    std::vector<BucketIndex> index;
    std::vector<GroupTables<T>> groups;
    std::unique_ptr<RankLookup<T>> lookup;
  };

  std::size_t group_size(std::int32_t g) const { return static_cast<std::size_t>(offsets_[g + 1] - offsets_[g]); }
  std::int32_t group_of(std::size_t i) const {
    return static_cast<std::int32_t>(std::upper_bound(offsets_.begin(), offsets_.end(), static_cast<std::int64_t>(i)) -
                                      offsets_.begin() - 1);
  }
  // Group of table entry e (group g holds entries offsets[g] + g .. offsets[g + 1] + g).
  std::int32_t table_group_of(std::size_t e) const {
    std::int32_t lo = 0, hi = k_ - 1;  // the last g with offsets[g] + g <= e
    while (lo < hi) {
      const std::int32_t mid = lo + (hi - lo + 1) / 2;
      if (offsets_[mid] + mid <= static_cast<std::int64_t>(e)) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
  static StageIssue first_of(const std::vector<StageIssue>& issues) {
    StageIssue first;
    for (const StageIssue& s : issues)
      if (!s.ok()) first.note(s.row, s.kind);
    return first;
  }
  // Fills in the task, group and position within the group of an issue's global row.
  StageIssue located(std::size_t t, StageIssue issue, bool table) const {
    if (issue.ok()) return issue;
    issue.task = t;
    const std::int32_t g = table ? table_group_of(issue.row) : group_of(issue.row);
    issue.group = static_cast<std::size_t>(g);
    issue.position = issue.row - static_cast<std::size_t>(offsets_[g]) - (table ? static_cast<std::size_t>(g) : 0);
    return issue;
  }

  std::vector<std::int64_t> offsets_;
  std::int32_t k_;
  std::size_t n_;
  std::uint64_t seed_;
  double jitter_;
  std::vector<Task> tasks_;
  std::atomic<std::uint64_t> rows_seen_{0};
  std::atomic<bool> lookups_ready_{false};
  std::mutex lookup_mutex_;
};

}  // namespace fairfast
