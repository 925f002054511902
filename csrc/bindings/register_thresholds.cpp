// Bindings of csrc/fairfast/thresholds.hpp (group-threshold search).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "checks.hpp"
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

py::tuple search_windows(const carray<double>& num, const carray<double>& den, const carray<double>& gain,
                         const carray<std::int64_t>& offsets, const carray<double>& grid, double tol) {
  fairfast::bind::require_1d(num, "num");
  fairfast::bind::require_same_length(num, "num", den, "den");
  fairfast::bind::require_same_length(num, "num", gain, "gain");
  fairfast::bind::require_1d(grid, "grid");
  require_curve_offsets(offsets, num.shape(0));
  if (!(tol >= 0.0) || !std::isfinite(tol)) throw py::value_error("tol must be finite and >= 0");
  require_finite(num, "num");
  require_finite(den, "den");
  require_finite(gain, "gain");
  require_finite(grid, "grid");
  const double* gr = grid.data();
  for (py::ssize_t i = 1; i < grid.shape(0); ++i)
    if (!(gr[i - 1] < gr[i])) throw py::value_error("grid must be strictly increasing");
  const std::int64_t n_groups = static_cast<std::int64_t>(offsets.shape(0) - 1);
  std::vector<th::Choice> choices(static_cast<std::size_t>(n_groups));
  th::WindowResult res;
  {
    py::gil_scoped_release release;  // inputs are C-contiguous, read-only and kept alive by the caller
    res = th::search_windows(num.data(), den.data(), gain.data(), offsets.data(), n_groups, gr,
                             static_cast<std::int64_t>(grid.shape(0)), tol, choices.data());
  }
  carray<std::int64_t> k(n_groups);
  carray<double> q(n_groups), value(n_groups);
  for (std::int64_t g = 0; g < n_groups; ++g) {
    k.mutable_data()[g] = choices[static_cast<std::size_t>(g)].k;
    q.mutable_data()[g] = choices[static_cast<std::size_t>(g)].q;
    value.mutable_data()[g] = choices[static_cast<std::size_t>(g)].value;
  }
  return py::make_tuple(res.lo, res.hi, res.total, k, q, value);
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

}  // namespace

void register_thresholds(py::module_& m) {
  m.def("search_windows", &search_windows, py::arg("num").noconvert(), py::arg("den").noconvert(),
        py::arg("gain").noconvert(), py::arg("offsets").noconvert(), py::arg("grid").noconvert(), py::arg("tol"),
        "Best window [grid[lo], grid[lo] + tol] of a ratio metric over groups' threshold polylines.\n"
        "Returns (lo, hi, total, k, q, value); lo == -1 when no window reaches every group.");
  m.def("convex_hulls", &convex_hulls, py::arg("x").noconvert(), py::arg("y").noconvert(),
        py::arg("offsets").noconvert(),
        "Convex hull vertex indices (local to each group, counter-clockwise) and their offsets.");
}
