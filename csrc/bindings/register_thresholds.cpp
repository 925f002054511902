// Bindings of csrc/fairfast/thresholds.hpp (group-threshold search).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "checks.hpp"
#include "fairfast/threshold_boxes.hpp"
#include "fairfast/thresholds.hpp"

namespace py = pybind11;
using fairfast::bind::carray;
namespace th = fairfast::thresholds;

namespace {

// Offsets over breakpoints: start at 0, end at n, every group holds >= 2 breakpoints.
void require_curve_offsets(const carray<std::int64_t>& offsets, py::ssize_t n) {
  if (offsets.ndim() != 1 || offsets.shape(0) < 2)
    throw py::value_error("offsets must be one-dimensional with at least 2 entries");
  const std::int64_t* o = offsets.data();
  const py::ssize_t k = offsets.shape(0) - 1;
  if (o[0] != 0 || o[k] != n) throw py::value_error("offsets must start at 0 and end at the number of breakpoints");
  for (py::ssize_t g = 0; g < k; ++g)
    if (o[g + 1] - o[g] < 2) throw py::value_error("offsets: every group needs at least 2 breakpoints");
}

void require_finite(const carray<double>& a, const char* name) {
  const double* p = a.data();
  for (py::ssize_t i = 0; i < a.shape(0); ++i)
    if (!std::isfinite(p[i])) throw py::value_error(std::string(name) + " must be finite; found NaN or inf");
}

// (position, fraction, value) arrays of the per-group picks of a search.
template <class Pick, class Pos>
py::tuple picks_to_arrays(const std::vector<Pick>& picks, Pos pos) {
  const py::ssize_t n = static_cast<py::ssize_t>(picks.size());
  carray<std::int64_t> k(n);
  carray<double> q(n), value(n);
  for (py::ssize_t g = 0; g < n; ++g) {
    k.mutable_data()[g] = pos(picks[static_cast<std::size_t>(g)]);
    q.mutable_data()[g] = picks[static_cast<std::size_t>(g)].q;
    value.mutable_data()[g] = picks[static_cast<std::size_t>(g)].value;
  }
  return py::make_tuple(k, q, value);
}

// flags: one uint8 per path point (bit 0: point allowed, bit 1: segment to the next allowed).
void require_flags(const carray<std::uint8_t>& flags, py::ssize_t n) {
  if (flags.ndim() != 1 || flags.shape(0) != n)
    throw py::value_error("flags must be one-dimensional with one entry per path point");
  const std::uint8_t* f = flags.data();
  for (py::ssize_t i = 0; i < n; ++i)
    if (f[i] > 3) throw py::value_error("flags must hold values 0..3 (bit 0: point allowed, bit 1: segment allowed)");
}

void require_all_finite(const carray<double>& a, const carray<double>& b, const carray<double>& c, const char* what) {
  const double *x = a.data(), *y = b.data(), *z = c.data();
  double acc = 0.0;  // NaN/inf anywhere makes the sum non-finite
  for (py::ssize_t i = 0; i < a.shape(0); ++i) acc += x[i] * 0.0 + y[i] * 0.0 + z[i] * 0.0;
  if (!std::isfinite(acc)) throw py::value_error(std::string(what) + " must be finite; found NaN or inf");
}

py::tuple search_windows(const carray<double>& num, const carray<double>& den, const carray<double>& gain,
                         const carray<std::uint8_t>& flags, const carray<std::int64_t>& offsets,
                         const carray<double>& grid, const carray<std::uint8_t>& is_start, double tol,
                         double inv_ratio) {
  fairfast::bind::require_1d(num, "num");
  fairfast::bind::require_same_length(num, "num", den, "den");
  fairfast::bind::require_same_length(num, "num", gain, "gain");
  require_flags(flags, num.shape(0));
  fairfast::bind::require_1d(grid, "grid");
  require_curve_offsets(offsets, num.shape(0));
  if (is_start.ndim() != 1 || is_start.shape(0) != grid.shape(0))
    throw py::value_error("is_start must be one-dimensional with one entry per grid value");
  if (!(tol >= 0.0)) throw py::value_error("tol must be >= 0 (inf: no difference constraint)");
  if (!(inv_ratio >= 1.0)) throw py::value_error("inv_ratio must be >= 1 (inf: no ratio constraint)");
  require_all_finite(num, den, gain, "num, den and gain");
  const double* gr = grid.data();
  if (grid.shape(0) > 0 && !std::isfinite(gr[0])) throw py::value_error("grid must be finite");
  for (py::ssize_t i = 1; i < grid.shape(0); ++i)
    if (!(gr[i - 1] < gr[i]) || !std::isfinite(gr[i])) throw py::value_error("grid must be strictly increasing and finite");
  const std::int64_t n_groups = static_cast<std::int64_t>(offsets.shape(0) - 1);
  std::vector<th::Choice> choices(static_cast<std::size_t>(n_groups));
  th::WindowResult res;
  carray<double> intervals(grid.shape(0));
  double* ib = intervals.mutable_data();
  {
    py::gil_scoped_release release;  // inputs are C-contiguous, read-only and kept alive by the caller
    res = th::search_windows(num.data(), den.data(), gain.data(), flags.data(), offsets.data(), n_groups, gr,
                             is_start.data(), static_cast<std::int64_t>(grid.shape(0)), tol, inv_ratio,
                             choices.data(), ib);
  }
  const py::tuple kqv = picks_to_arrays(choices, [](const th::Choice& c) { return c.k; });
  return py::make_tuple(res.lo, res.hi, res.total, kqv[0], kqv[1], kqv[2], res.bound, intervals);
}

void check_box_inputs(const carray<double>& x, const carray<double>& y, const carray<double>& gain,
                      const carray<std::uint8_t>& flags, const carray<std::int64_t>& offsets) {
  fairfast::bind::require_1d(x, "x");
  fairfast::bind::require_same_length(x, "x", y, "y");
  fairfast::bind::require_same_length(x, "x", gain, "gain");
  require_flags(flags, x.shape(0));
  require_curve_offsets(offsets, x.shape(0));
  require_all_finite(x, y, gain, "x, y and gain");
  const double *a = x.data(), *b = y.data();
  const std::int64_t* o = offsets.data();
  for (py::ssize_t g = 0; g + 1 < offsets.shape(0); ++g)
    for (std::int64_t i = o[g] + 1; i < o[g + 1]; ++i)
      if (a[i] < a[i - 1] || b[i] < b[i - 1]) throw py::value_error("x and y must be non-decreasing within each group");
}

carray<double> evaluate_boxes(const carray<double>& x, const carray<double>& y, const carray<double>& gain,
                              const carray<std::uint8_t>& flags, const carray<std::int64_t>& offsets,
                              const carray<double>& c1, const carray<double>& c2, double w1, double w2) {
  check_box_inputs(x, y, gain, flags, offsets);
  fairfast::bind::require_1d(c1, "c1");
  fairfast::bind::require_same_length(c1, "c1", c2, "c2");
  if (!(w1 >= 0.0) || !(w2 >= 0.0) || !std::isfinite(w1) || !std::isfinite(w2))
    throw py::value_error("w1 and w2 must be finite and >= 0");
  const py::ssize_t nb = c1.shape(0);
  carray<double> total(nb);
  {
    py::gil_scoped_release release;
    th::evaluate_boxes(x.data(), y.data(), gain.data(), flags.data(), offsets.data(),
                       static_cast<std::int64_t>(offsets.shape(0) - 1), c1.data(), c2.data(), nb, w1, w2,
                       total.mutable_data());
  }
  return total;
}

py::tuple box_choices(const carray<double>& x, const carray<double>& y, const carray<double>& gain,
                      const carray<std::uint8_t>& flags, const carray<std::int64_t>& offsets, double c1, double c2,
                      double w1, double w2) {
  check_box_inputs(x, y, gain, flags, offsets);
  const std::int64_t n_groups = static_cast<std::int64_t>(offsets.shape(0) - 1);
  std::vector<th::BoxPick> picks(static_cast<std::size_t>(n_groups));
  th::box_choices(x.data(), y.data(), gain.data(), flags.data(), offsets.data(), n_groups, c1, c2, w1, w2,
                  picks.data());
  return picks_to_arrays(picks, [](const th::BoxPick& p) { return p.j; });
}

py::tuple convex_hulls(const carray<double>& x, const carray<double>& y, const carray<std::int64_t>& offsets) {
  fairfast::bind::require_1d(x, "x");
  fairfast::bind::require_same_length(x, "x", y, "y");
  require_curve_offsets(offsets, x.shape(0));
  require_finite(x, "x");
  require_finite(y, "y");
  std::vector<std::int64_t> vertices, vertex_offsets;
  {
    py::gil_scoped_release release;
    th::convex_hulls(x.data(), y.data(), offsets.data(), static_cast<std::int64_t>(offsets.shape(0) - 1), vertices,
                     vertex_offsets);
  }
  carray<std::int64_t> v(static_cast<py::ssize_t>(vertices.size()));
  std::copy(vertices.begin(), vertices.end(), v.mutable_data());
  carray<std::int64_t> vo(static_cast<py::ssize_t>(vertex_offsets.size()));
  std::copy(vertex_offsets.begin(), vertex_offsets.end(), vo.mutable_data());
  return py::make_tuple(v, vo);
}

py::tuple group_curves(const carray<double>& scores, const carray<std::uint8_t>& labels,
                       const carray<std::int32_t>& codes, std::int32_t n_groups) {
  fairfast::bind::require_1d(scores, "scores");
  fairfast::bind::require_same_length(scores, "scores", labels, "labels");
  fairfast::bind::require_same_length(scores, "scores", codes, "codes");
  if (n_groups < 1) throw py::value_error("n_groups must be >= 1");
  const py::ssize_t n = scores.shape(0);
  carray<double> values(n);
  carray<std::int64_t> offsets(2 * static_cast<py::ssize_t>(n_groups) + 1);
  bool ok;
  {
    py::gil_scoped_release release;
    ok = th::partition_labels(scores.data(), labels.data(), codes.data(), static_cast<std::size_t>(n), n_groups,
                              offsets.mutable_data(), values.mutable_data());
  }
  if (!ok) throw py::index_error("codes holds a group code outside [0, n_groups)");
  return py::make_tuple(values, offsets);
}

py::tuple merge_counts(const carray<double>& values, const carray<std::int64_t>& offsets) {
  fairfast::bind::require_1d(values, "values");
  if (offsets.ndim() != 1 || offsets.shape(0) < 3 || offsets.shape(0) % 2 == 0)
    throw py::value_error("offsets must hold 2 * n_groups + 1 entries");
  const std::int64_t* o = offsets.data();
  const py::ssize_t nb = offsets.shape(0) - 1;
  if (o[0] != 0 || o[nb] != values.shape(0)) throw py::value_error("offsets must start at 0 and end at len(values)");
  for (py::ssize_t b = 0; b < nb; ++b)
    if (o[b + 1] < o[b]) throw py::value_error("offsets must be non-decreasing");
  const double* v = values.data();
  for (py::ssize_t b = 0; b < nb; ++b)
    for (std::int64_t i = o[b] + 1; i < o[b + 1]; ++i)
      if (!(v[i - 1] <= v[i])) throw py::value_error("every bucket of values must be sorted ascending (no NaN)");
  const std::int32_t n_groups = static_cast<std::int32_t>(nb / 2);
  const py::ssize_t n = values.shape(0);
  // Outputs sized for the worst case (every score distinct); the caller slices them.
  carray<double> b_out(n), s_out(n + n_groups), p_out(n + n_groups);
  carray<std::int64_t> block_offsets(n_groups + 1);
  {
    py::gil_scoped_release release;
    th::merge_counts(v, o, n_groups, b_out.mutable_data(), block_offsets.mutable_data(), s_out.mutable_data(),
                     p_out.mutable_data());
  }
  return py::make_tuple(b_out, block_offsets, s_out, p_out);
}

py::object apply_rules(const carray<double>& scores, const carray<std::int32_t>& codes, const carray<double>& t,
                       const carray<double>& q, const carray<double>& w, bool decide, std::uint64_t seed,
                       std::uint64_t stream, std::uint64_t row_offset) {
  fairfast::bind::require_1d(scores, "scores");
  fairfast::bind::require_same_length(scores, "scores", codes, "codes");
  if (t.ndim() != 2 || q.ndim() != 2 || w.ndim() != 2 || q.shape(0) != t.shape(0) || w.shape(0) != t.shape(0) ||
      q.shape(1) != t.shape(1) || w.shape(1) != t.shape(1) || t.shape(0) < 1 || t.shape(1) < 1)
    throw py::value_error("thresholds, tie fractions and weights must be 2-D arrays of one shape (n_groups, n_mix)");
  const py::ssize_t n = scores.shape(0);
  const std::int32_t n_groups = static_cast<std::int32_t>(t.shape(0));
  const std::int32_t* c = codes.data();
  for (py::ssize_t i = 0; i < n; ++i)
    if (c[i] < 0 || c[i] >= n_groups) throw py::index_error("codes holds a group code outside [0, n_groups)");
  const fairfast::CounterRng rng(seed, stream);
  if (decide) {
    carray<std::int64_t> out(n);
    std::int64_t* o = out.mutable_data();
    py::gil_scoped_release release;
    th::apply_rules(scores.data(), c, static_cast<std::size_t>(n), t.data(), q.data(), w.data(), t.shape(1), &rng,
                    row_offset, nullptr, o);
    return std::move(out);
  }
  carray<double> out(n);
  double* o = out.mutable_data();
  py::gil_scoped_release release;
  th::apply_rules(scores.data(), c, static_cast<std::size_t>(n), t.data(), q.data(), w.data(), t.shape(1), &rng,
                  row_offset, o, nullptr);
  return std::move(out);
}

py::tuple sweep_rates(const carray<double>& selected, const carray<double>& positives,
                      const carray<std::int64_t>& offsets, int kind, double gp, double gn) {
  fairfast::bind::require_1d(selected, "selected");
  fairfast::bind::require_same_length(selected, "selected", positives, "positives");
  require_curve_offsets(offsets, selected.shape(0));
  if (kind < 0 || kind > 2) throw py::value_error("kind must be 0 (selection rate), 1 (TPR) or 2 (FPR)");
  if (!std::isfinite(gp) || !std::isfinite(gn)) throw py::value_error("gp and gn must be finite");
  const double *s = selected.data(), *p = positives.data();
  const std::int64_t* o = offsets.data();
  const std::int64_t n_groups = static_cast<std::int64_t>(offsets.shape(0) - 1);
  for (std::int64_t g = 0; g < n_groups; ++g) {
    const std::int64_t last = o[g + 1] - 1;
    const double slack = 1e-9 * (std::fabs(s[last]) + 1.0);  // rounding of weighted running sums
    for (std::int64_t k = o[g] + 1; k <= last; ++k)
      if (!std::isfinite(s[k]) || !std::isfinite(p[k]) || s[k] < s[k - 1] - slack || p[k] < p[k - 1] - slack ||
          (s[k] - p[k]) < (s[k - 1] - p[k - 1]) - slack)
        throw py::value_error("selected, positives and selected - positives must be finite and non-decreasing "
                              "within each group");
    const double den = kind == 0 ? s[last] : (kind == 1 ? p[last] : s[last] - p[last]);
    if (!(den > 0.0) || s[o[g]] != 0.0 || p[o[g]] != 0.0)
      throw py::value_error("every group must start at 0 and have a positive total for the rate");
  }
  std::vector<th::Choice> choices(static_cast<std::size_t>(n_groups));
  double total;
  {
    py::gil_scoped_release release;
    total = th::sweep_rates(s, p, o, n_groups, kind, gp, gn, choices.data());
  }
  const py::tuple kqv = picks_to_arrays(choices, [](const th::Choice& c) { return c.k; });
  return py::make_tuple(total, kqv[0], kqv[1], kqv[2]);
}

}  // namespace

void register_thresholds(py::module_& m) {
  m.def("search_windows", &search_windows, py::arg("num").noconvert(), py::arg("den").noconvert(),
        py::arg("gain").noconvert(), py::arg("flags").noconvert(), py::arg("offsets").noconvert(),
        py::arg("grid").noconvert(), py::arg("is_start").noconvert(), py::arg("tol"), py::arg("inv_ratio"),
        "Best window [grid[lo], min(grid[lo] + tol, grid[lo] * inv_ratio)] (lo a marked start) of a ratio metric\n"
        "over groups'"
        "threshold paths. Returns (lo, hi, total, k, q, value, bound, interval_bounds); lo == -1 when no window\n"
        "reaches every group; bound is an upper bound over every window start (grid values and between them),\n"
        "interval_bounds[s] the bound between start s and the next start.");
  m.def("evaluate_boxes", &evaluate_boxes, py::arg("x").noconvert(), py::arg("y").noconvert(),
        py::arg("gain").noconvert(), py::arg("flags").noconvert(), py::arg("offsets").noconvert(),
        py::arg("c1").noconvert(), py::arg("c2").noconvert(), py::arg("w1"), py::arg("w2"),
        "Summed best utility of the groups' monotone rules inside each box [c1, c1 + w1] x [c2, c2 + w2]\n"
        "(-inf where a group has no allowed rule in it).");
  m.def("box_choices", &box_choices, py::arg("x").noconvert(), py::arg("y").noconvert(),
        py::arg("gain").noconvert(), py::arg("flags").noconvert(), py::arg("offsets").noconvert(), py::arg("c1"),
        py::arg("c2"), py::arg("w1"), py::arg("w2"),
        "Each group's best rule (path point j, fraction q along segment j -> j + 1, value) in one box.");
  m.def("convex_hulls", &convex_hulls, py::arg("x").noconvert(), py::arg("y").noconvert(),
        py::arg("offsets").noconvert(),
        "Convex hull vertex indices (local to each group, counter-clockwise) and their offsets.");
  m.def("group_curves", &group_curves, py::arg("scores").noconvert(), py::arg("labels").noconvert(),
        py::arg("codes").noconvert(), py::arg("n_groups"),
        "Scores scattered into buckets (group, 0/1 label) in row order, and the 2 n_groups + 1 bucket offsets.");
  m.def("merge_counts", &merge_counts, py::arg("values").noconvert(), py::arg("offsets").noconvert(),
        "From ascending-sorted (group, label) buckets: distinct scores per group (decreasing), their offsets,\n"
        "and the accepted count and accepted positives at every breakpoint (group g from offsets[g] + g).");
  m.def("apply_rules", &apply_rules, py::arg("scores").noconvert(), py::arg("codes").noconvert(),
        py::arg("thresholds").noconvert(), py::arg("tie_fractions").noconvert(), py::arg("weights").noconvert(),
        py::arg("decide"), py::arg("seed"), py::arg("stream"), py::arg("row_offset"),
        "Acceptance probabilities (decide=False) or 0/1 decisions from counter-based uniforms (decide=True).");
  m.def("sweep_rates", &sweep_rates, py::arg("selected").noconvert(), py::arg("positives").noconvert(),
        py::arg("offsets").noconvert(), py::arg("kind"), py::arg("gp"), py::arg("gn"),
        "Exact tolerance-0 optimum of a rate constraint (kind 0: selection rate, 1: TPR, 2: FPR) from breakpoint\n"
        "counts. Returns (total, k, q, value).");
}
