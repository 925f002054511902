// Bindings of csrc/fairfast/group_metrics.hpp and csrc/fairfast/cherry_picking.hpp.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "checks.hpp"
#include "fairfast/cherry_picking.hpp"
#include "fairfast/group_metrics.hpp"

namespace py = pybind11;
using namespace fairfast;
using fairfast::bind::carray;

namespace {

// An optional uint8 (0/1) C-contiguous array of length n: nullptr for None.
const std::uint8_t* optional_u8(const py::object& obj, const char* name, py::ssize_t n, carray<std::uint8_t>& keep) {
  if (obj.is_none()) return nullptr;
  if (!py::isinstance<carray<std::uint8_t>>(obj))
    throw py::type_error(std::string(name) + " must be a C-contiguous uint8 array of 0/1 or None");
  keep = py::reinterpret_borrow<carray<std::uint8_t>>(obj);
  bind::require_length(keep, name, n);
  return keep.data();
}

void raise_metrics_status(Status st) {
  if (st == Status::bad_value)
    throw py::value_error("y_true and y_pred must hold only 0 and 1");
  bind::raise_status(st, "codes");
}

struct Prepared {
  GroupInputs in;
  carray<std::uint8_t> y_keep, p_keep;
  carray<double> w_keep;
  py::object scores;  // None, float64 or float32 array
};

Prepared prepare(const carray<std::int32_t>& codes, std::int32_t n_groups, const py::object& y_true,
                 const py::object& y_pred, const py::object& scores, const py::object& weights,
                 std::int64_t n_bins) {
  bind::require_1d(codes, "codes");
  if (n_groups < 1) throw py::value_error("n_groups must be >= 1");
  if (n_bins < 0 || n_bins > max_calibration_bins)
    throw py::value_error("n_bins must lie in [0, " + std::to_string(max_calibration_bins) + "], got " +
                          std::to_string(n_bins));
  const py::ssize_t n = codes.shape(0);
  Prepared p;
  p.in.codes = codes.data();
  p.in.n = static_cast<std::size_t>(n);
  p.in.n_groups = n_groups;
  p.in.y_true = optional_u8(y_true, "y_true", n, p.y_keep);
  p.in.y_pred = optional_u8(y_pred, "y_pred", n, p.p_keep);
  p.in.weights = bind::optional_f64(weights, "sample_weight", n, p.w_keep);
  if (!scores.is_none()) {
    if (py::isinstance<carray<double>>(scores)) {
      bind::require_length(py::reinterpret_borrow<carray<double>>(scores), "scores", n);
    } else if (py::isinstance<carray<float>>(scores)) {
      bind::require_length(py::reinterpret_borrow<carray<float>>(scores), "scores", n);
    } else {
      throw py::type_error("scores must be a C-contiguous float64 or float32 array or None");
    }
  }
  p.scores = scores;
  p.in.n_bins = (scores.is_none() || !p.in.y_true) ? 0 : static_cast<int>(n_bins);
  return p;
}

// Calls f(typed scores pointer) with the right score type.
template <class F>
Status with_scores(const py::object& scores, F&& f) {
  if (scores.is_none()) return f(static_cast<const double*>(nullptr));
  if (py::isinstance<carray<double>>(scores)) {
    const double* s = py::reinterpret_borrow<carray<double>>(scores).data();
    py::gil_scoped_release release;
    return f(s);
  }
  const float* s = py::reinterpret_borrow<carray<float>>(scores).data();
  py::gil_scoped_release release;
  return f(s);
}

carray<double> group_sums_py(const carray<std::int32_t>& codes, std::int32_t n_groups, const py::object& y_true,
                             const py::object& y_pred, const py::object& scores, const py::object& weights,
                             std::int64_t n_bins) {
  Prepared p = prepare(codes, n_groups, y_true, y_pred, scores, weights, n_bins);
  const int S = group_stat_count(p.in.n_bins);
  bind::require_table_size({static_cast<std::size_t>(n_groups), static_cast<std::size_t>(S)}, "group sums");
  carray<double> out({static_cast<py::ssize_t>(n_groups), static_cast<py::ssize_t>(S)});
  double* o = out.mutable_data();
  Status st;
  if (scores.is_none()) {
    py::gil_scoped_release release;
    st = group_sums<double>(p.in, nullptr, o);
  } else {
    st = with_scores(p.scores, [&](auto s) { return group_sums(p.in, s, o); });
  }
  raise_metrics_status(st);
  return out;
}

carray<double> index_bootstrap_py(const carray<std::int32_t>& codes, std::int32_t n_groups, const py::object& y_true,
                                  const py::object& y_pred, const py::object& scores, const py::object& weights,
                                  std::int64_t n_bins, std::int64_t n_replicates, std::uint64_t seed,
                                  std::int64_t first_replicate) {
  if (n_replicates < 1) throw py::value_error("n_replicates must be >= 1");
  if (first_replicate < 0) throw py::value_error("first_replicate must be >= 0");
  Prepared p = prepare(codes, n_groups, y_true, y_pred, scores, weights, n_bins);
  const int S = group_stat_count(p.in.n_bins);
  bind::require_table_size({static_cast<std::size_t>(n_replicates), static_cast<std::size_t>(n_groups),
                            static_cast<std::size_t>(S)}, "bootstrap replicates");
  const py::ssize_t n = codes.shape(0);
  carray<std::int64_t> offsets(n_groups + 1), order(n);
  {
    const std::int32_t* c = codes.data();
    for (py::ssize_t i = 0; i < n; ++i)
      if (c[i] < 0 || c[i] >= n_groups) throw py::index_error("codes holds a group code outside [0, n_groups)");
  }
  carray<double> out({static_cast<py::ssize_t>(n_replicates), static_cast<py::ssize_t>(n_groups),
                      static_cast<py::ssize_t>(S)});
  double* o = out.mutable_data();
  std::int64_t* off = offsets.mutable_data();
  std::int64_t* ord = order.mutable_data();
  Status st;
  {
    py::gil_scoped_release release;
    order_by_group(codes.data(), static_cast<std::size_t>(n), n_groups, off, ord);
  }
  if (scores.is_none()) {
    py::gil_scoped_release release;
    st = index_bootstrap<double>(p.in, nullptr, ord, off, n_replicates, seed, o, first_replicate);
  } else {
    st = with_scores(p.scores,
                     [&](auto s) { return index_bootstrap(p.in, s, ord, off, n_replicates, seed, o, first_replicate); });
  }
  raise_metrics_status(st);
  return out;
}

carray<std::int64_t> multinomial_bootstrap_py(const carray<std::int64_t>& counts, std::int64_t n_replicates,
                                              std::uint64_t seed, std::int64_t first_replicate) {
  if (counts.ndim() != 2) throw py::value_error("counts must be two-dimensional (strata x cells)");
  if (n_replicates < 1) throw py::value_error("n_replicates must be >= 1");
  if (first_replicate < 0) throw py::value_error("first_replicate must be >= 0");
  if (counts.shape(0) < 1 || counts.shape(1) < 1)  // else 2**40 empty replicates loop for hours
    throw py::value_error("counts must hold at least one stratum and one cell");
  if (counts.shape(0) > INT32_MAX || counts.shape(1) > INT32_MAX)
    throw py::value_error("counts must have fewer than 2**31 strata and cells");
  bind::require_table_size({static_cast<std::size_t>(n_replicates), static_cast<std::size_t>(counts.shape(0)),
                            static_cast<std::size_t>(counts.shape(1))}, "bootstrap replicates");
  const auto s = static_cast<std::int32_t>(counts.shape(0)), c = static_cast<std::int32_t>(counts.shape(1));
  carray<std::int64_t> out({static_cast<py::ssize_t>(n_replicates), static_cast<py::ssize_t>(s),
                            static_cast<py::ssize_t>(c)});
  Status st;
  {
    py::gil_scoped_release release;
    st = multinomial_bootstrap(counts.data(), s, c, n_replicates, seed, out.mutable_data(), first_replicate);
  }
  if (st != Status::ok) throw py::value_error("counts must be non-negative");
  return out;
}

template <class T>
carray<double> cherry_picking_py(const carray<T>& scores, const carray<double>& decisions,
                                 const carray<std::int32_t>& codes, std::int32_t n_groups) {
  bind::require_1d(scores, "reference_scores");
  bind::require_1d(decisions, "decisions");
  bind::require_1d(codes, "codes");
  bind::require_same_length(scores, "reference_scores", decisions, "decisions");
  bind::require_same_length(scores, "reference_scores", codes, "codes");
  if (n_groups < 1) throw py::value_error("n_groups must be >= 1");
  carray<double> out({static_cast<py::ssize_t>(n_groups), static_cast<py::ssize_t>(cp_stats)});
  Status st;
  {
    py::gil_scoped_release release;
    st = cherry_picking_stats(scores.data(), decisions.data(), codes.data(), static_cast<std::size_t>(scores.shape(0)),
                              n_groups, out.mutable_data());
  }
  if (st == Status::bad_value)
    throw py::value_error("decisions must lie in [0, 1] and reference_scores must be finite");
  bind::raise_status(st, "codes");
  return out;
}

// Calls f(typed pointer) for a C-contiguous 1-D integer array of any common width.
template <class F>
void with_integers(const py::array& x, const char* name, F&& f) {
  if (x.ndim() != 1) throw py::value_error(std::string(name) + " must be one-dimensional");
  if (py::isinstance<carray<std::int64_t>>(x)) return f(py::reinterpret_borrow<carray<std::int64_t>>(x).data());
  if (py::isinstance<carray<std::int32_t>>(x)) return f(py::reinterpret_borrow<carray<std::int32_t>>(x).data());
  if (py::isinstance<carray<std::int16_t>>(x)) return f(py::reinterpret_borrow<carray<std::int16_t>>(x).data());
  if (py::isinstance<carray<std::int8_t>>(x)) return f(py::reinterpret_borrow<carray<std::int8_t>>(x).data());
  if (py::isinstance<carray<std::uint8_t>>(x)) return f(py::reinterpret_borrow<carray<std::uint8_t>>(x).data());
  if (py::isinstance<carray<std::uint16_t>>(x)) return f(py::reinterpret_borrow<carray<std::uint16_t>>(x).data());
  if (py::isinstance<carray<std::uint32_t>>(x)) return f(py::reinterpret_borrow<carray<std::uint32_t>>(x).data());
  throw py::type_error(std::string(name) + " must be a C-contiguous array of int8/16/32/64 or uint8/16/32");
}

py::tuple integer_range_py(const py::array& x) {
  if (x.ndim() != 1 || x.shape(0) < 1) throw py::value_error("labels must be one-dimensional and non-empty");
  std::int64_t lo = 0, hi = 0;
  const auto n = static_cast<std::size_t>(x.shape(0));
  with_integers(x, "labels", [&](auto p) {
    py::gil_scoped_release release;
    integer_range(p, n, lo, hi);
  });
  return py::make_tuple(lo, hi);
}

// codes (int32, length n) <- mixed-radix combination of the label columns.
void combine_codes_py(const py::list& columns, const carray<std::int64_t>& lows, const carray<std::int32_t>& sizes,
                      carray<std::int32_t>& out) {
  const auto m = static_cast<py::ssize_t>(columns.size());
  bind::require_length(lows, "lows", m);
  bind::require_length(sizes, "sizes", m);
  bind::require_1d(out, "out");
  if (!out.writeable()) throw py::value_error("out must be writeable");
  double total = 1.0;
  for (py::ssize_t j = 0; j < m; ++j) total *= static_cast<double>(sizes.data()[j]);
  if (m < 1 || total >= 2147483647.0) throw py::value_error("the product of the sizes must be below 2**31");
  const auto n = static_cast<std::size_t>(out.shape(0));
  std::int32_t* o = out.mutable_data();
  for (py::ssize_t j = 0; j < m; ++j) {
    py::array col = py::reinterpret_borrow<py::array>(columns[static_cast<std::size_t>(j)]);
    if (col.ndim() != 1 || static_cast<std::size_t>(col.shape(0)) != n)
      throw py::value_error("every label column must have as many rows as out");
    const std::int64_t lo = lows.data()[j];
    const std::int32_t k = sizes.data()[j];
    bool ok = true;
    with_integers(col, "labels", [&](auto p) {
      py::gil_scoped_release release;
      ok = accumulate_codes(p, n, lo, k, j == 0, o);
    });
    if (!ok) throw py::index_error("a label column holds values outside [low, low + size)");
  }
}

// Counts-only group sums straight from integer label columns (all int64 or all int32)
// and raw label arrays y_true, y_pred (uint8 or int64, the same dtype; None allowed).
template <class I, class L>
carray<double> counts_columns_typed(const py::list& columns, const carray<std::int64_t>& lows,
                                    const carray<std::int32_t>& sizes, const py::object& y, const py::object& p,
                                    std::int64_t pos, std::size_t n, std::int64_t k) {
  std::vector<const I*> cols;
  for (auto c : columns) cols.push_back(py::reinterpret_borrow<carray<I>>(c).data());
  const L* yp = y.is_none() ? nullptr : py::reinterpret_borrow<carray<L>>(y).data();
  const L* pp = p.is_none() ? nullptr : py::reinterpret_borrow<carray<L>>(p).data();
  carray<double> out({static_cast<py::ssize_t>(k), static_cast<py::ssize_t>(group_stat_count(0))});
  double* o = out.mutable_data();
  Status st;
  {
    py::gil_scoped_release release;
    st = group_counts_columns<I, L>(cols, lows.data(), sizes.data(), n, yp, pp, pos, o);
  }
  if (st != Status::ok) throw py::index_error("a label column holds values outside [low, low + size)");
  return out;
}

template <class I>
carray<double> counts_columns_label(const py::list& columns, const carray<std::int64_t>& lows,
                                    const carray<std::int32_t>& sizes, const py::object& y, const py::object& p,
                                    std::int64_t pos, std::size_t n, std::int64_t k) {
  const py::object& any = y.is_none() ? p : y;
  if (any.is_none() || py::isinstance<carray<std::uint8_t>>(any)) {
    for (const py::object* a : {&y, &p})
      if (!a->is_none() && !py::isinstance<carray<std::uint8_t>>(*a))
        throw py::type_error("y_true and y_pred must have the same dtype (uint8 or int64)");
    return counts_columns_typed<I, std::uint8_t>(columns, lows, sizes, y, p, pos, n, k);
  }
  for (const py::object* a : {&y, &p})
    if (!a->is_none() && !py::isinstance<carray<std::int64_t>>(*a))
      throw py::type_error("y_true and y_pred must have the same dtype (uint8 or int64)");
  return counts_columns_typed<I, std::int64_t>(columns, lows, sizes, y, p, pos, n, k);
}

carray<double> group_counts_columns_py(const py::list& columns, const carray<std::int64_t>& lows,
                                       const carray<std::int32_t>& sizes, const py::object& y_true,
                                       const py::object& y_pred, std::int64_t pos_label) {
  const auto m = static_cast<py::ssize_t>(columns.size());
  if (m < 1) throw py::value_error("columns must hold at least one label column");
  bind::require_length(lows, "lows", m);
  bind::require_length(sizes, "sizes", m);
  double total = 1.0;
  for (py::ssize_t j = 0; j < m; ++j) {
    if (sizes.data()[j] < 1) throw py::value_error("sizes must be >= 1");
    total *= static_cast<double>(sizes.data()[j]);
  }
  if (total >= 2147483647.0) throw py::value_error("the product of the sizes must be below 2**31");
  py::array first = py::reinterpret_borrow<py::array>(columns[0]);
  if (first.ndim() != 1) throw py::value_error("label columns must be one-dimensional");
  const py::ssize_t n = first.shape(0);
  const bool i64 = py::isinstance<carray<std::int64_t>>(first);
  for (auto c : columns) {
    const bool ok = i64 ? py::isinstance<carray<std::int64_t>>(c) : py::isinstance<carray<std::int32_t>>(c);
    if (!ok) throw py::type_error("label columns must all be C-contiguous int64, or all int32");
    py::array a = py::reinterpret_borrow<py::array>(c);
    if (a.ndim() != 1 || a.shape(0) != n) throw py::value_error("label columns must be 1-D of equal length");
  }
  for (const py::object* a : {&y_true, &y_pred}) {
    if (a->is_none()) continue;
    py::array arr = py::reinterpret_borrow<py::array>(*a);
    if (arr.ndim() != 1 || arr.shape(0) != n) throw py::value_error("y_true/y_pred must be 1-D with one entry per row");
  }
  const auto k = static_cast<std::int64_t>(total);
  return i64 ? counts_columns_label<std::int64_t>(columns, lows, sizes, y_true, y_pred, pos_label,
                                                  static_cast<std::size_t>(n), k)
             : counts_columns_label<std::int32_t>(columns, lows, sizes, y_true, y_pred, pos_label,
                                                  static_cast<std::size_t>(n), k);
}

}  // namespace

void register_metrics(py::module_& m) {
  m.attr("STAT_COUNT_BASE") = gs_bins;
  m.attr("MAX_N_BINS") = max_calibration_bins;
  m.def("group_sums", &group_sums_py, py::arg("codes").noconvert(), py::arg("n_groups"), py::arg("y_true"),
        py::arg("y_pred"), py::arg("scores"), py::arg("sample_weight"), py::arg("n_bins"),
        "Per-group sums (n_groups x (7 + 3 n_bins)); see csrc/fairfast/group_metrics.hpp for the layout.");
  m.def("index_bootstrap", &index_bootstrap_py, py::arg("codes").noconvert(), py::arg("n_groups"),
        py::arg("y_true"), py::arg("y_pred"), py::arg("scores"), py::arg("sample_weight"), py::arg("n_bins"),
        py::arg("n_replicates"), py::arg("seed"), py::arg("first_replicate") = 0,
        "Group sums of stratified row-level bootstrap replicates (n_replicates x n_groups x stats).");
  m.def("multinomial_bootstrap", &multinomial_bootstrap_py, py::arg("counts").noconvert(), py::arg("n_replicates"),
        py::arg("seed"), py::arg("first_replicate") = 0, "Stratified multinomial resampling of cell counts (n_replicates x strata x cells).");
  m.def("group_counts_columns", &group_counts_columns_py, py::arg("columns"), py::arg("lows").noconvert(),
        py::arg("sizes").noconvert(), py::arg("y_true"), py::arg("y_pred"), py::arg("pos_label"),
        "Counts-only group sums (prod(sizes) x 7) straight from integer label columns and raw labels.");
  m.def("integer_range", &integer_range_py, py::arg("labels"), "(min, max) of an integer label column.");
  m.def("combine_codes", &combine_codes_py, py::arg("columns"), py::arg("lows").noconvert(),
        py::arg("sizes").noconvert(), py::arg("out").noconvert(),
        "out = mixed-radix codes of integer label columns (checked against [low, low + size)).");
  m.def("cherry_picking", &cherry_picking_py<double>, py::arg("reference_scores").noconvert(),
        py::arg("decisions").noconvert(), py::arg("codes").noconvert(), py::arg("n_groups"));
  m.def("cherry_picking", &cherry_picking_py<float>, py::arg("reference_scores").noconvert(),
        py::arg("decisions").noconvert(), py::arg("codes").noconvert(), py::arg("n_groups"));
}
