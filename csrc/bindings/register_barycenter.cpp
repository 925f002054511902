// Bindings of csrc/fairfast/barycenter.hpp.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "checks.hpp"
#include "fairfast/barycenter.hpp"

namespace py = pybind11;
using namespace fairfast;
using fairfast::bind::carray;

namespace {

// Each group's bucket bounds must be non-decreasing within [0, n_g], or a search could
// leave the group. O(n): cheap next to any transform worth calling.
void require_valid_index(const carray<std::uint32_t>& start, const carray<std::int64_t>& offsets) {
  const std::uint32_t* s = start.data();
  const std::int64_t* o = offsets.data();
  const py::ssize_t k = offsets.shape(0) - 1;
  for (py::ssize_t g = 0; g < k; ++g) {
    const std::uint64_t len = static_cast<std::uint64_t>(o[g + 1] - o[g]);
    const std::uint32_t* sg = s + o[g] + g;
    if (sg[0] != 0 || sg[len] != len) throw py::value_error("start is not a valid index for these values");
    for (std::uint64_t b = 0; b < len; ++b)
      if (sg[b + 1] < sg[b] || sg[b + 1] > len) throw py::value_error("start is not a valid index for these values");
  }
}

void require_jitter(double jitter) {
  if (!(jitter >= 0.0) || !std::isfinite(jitter)) throw py::value_error("jitter must be finite and >= 0");
}

template <class T>
py::tuple partition(const carray<T>& x, const carray<std::int32_t>& codes, std::int32_t n_groups,
                    std::uint64_t seed, std::uint64_t row_offset, double jitter, bool with_rows) {
  bind::require_1d(x, "scores");
  bind::require_1d(codes, "codes");
  bind::require_same_length(x, "scores", codes, "codes");
  require_jitter(jitter);
  if (n_groups < 1) throw py::value_error("n_groups must be >= 1");
  const py::ssize_t n = x.shape(0);
  if (static_cast<std::uint64_t>(n) >= (std::uint64_t(1) << 32))
    throw py::value_error("fitting on 2**32 or more rows is not supported");
  carray<std::int64_t> counts(n_groups);
  Status st;
  {
    py::gil_scoped_release release;
    st = count_groups(codes.data(), static_cast<std::size_t>(n), n_groups, counts.mutable_data());
  }
  bind::raise_status(st, "codes");
  carray<std::int64_t> offsets(n_groups + 1);
  std::int64_t* o = offsets.mutable_data();
  o[0] = 0;
  for (std::int32_t g = 0; g < n_groups; ++g) {
    if (counts.data()[g] == 0) throw py::value_error("group code " + std::to_string(g) + " has no rows");
    o[g + 1] = o[g] + counts.data()[g];
  }
  carray<T> grouped(n);
  py::object rows_obj = py::none();
  std::uint32_t* rows = nullptr;
  if (with_rows) {
    carray<std::uint32_t> r(n);
    rows = r.mutable_data();
    rows_obj = r;
  }
  {
    py::gil_scoped_release release;
    partition_by_group(x.data(), codes.data(), static_cast<std::size_t>(n), n_groups, seed, row_offset, jitter,
                       grouped.mutable_data(), rows);
  }
  return py::make_tuple(grouped, rows_obj, offsets);
}

template <class T>
std::size_t tie_keys(const carray<T>& values, const carray<std::int64_t>& offsets, const carray<std::uint32_t>& start,
                   const carray<double>& lo, const carray<double>& scale, const carray<T>& x,
                   const carray<std::int32_t>& codes, std::uint64_t seed, std::uint64_t row_offset, double jitter,
                   const py::object& rows, carray<std::uint64_t>& keys) {
  bind::require_1d(values, "values");
  const py::ssize_t n = values.shape(0);
  bind::require_offsets(offsets, n, "offsets");
  const std::int32_t k = static_cast<std::int32_t>(offsets.shape(0) - 1);
  bind::require_length(start, "start", n + k);
  bind::require_length(lo, "lo", k);
  bind::require_length(scale, "scale", k);
  bind::require_length(x, "scores", n);
  bind::require_length(codes, "codes", n);
  require_jitter(jitter);
  require_valid_index(start, offsets);
  std::uint32_t* r = nullptr;
  carray<std::uint32_t> keep;
  if (!rows.is_none()) {
    if (!py::isinstance<carray<std::uint32_t>>(rows)) throw py::type_error("rows must be a C-contiguous uint32 array");
    keep = py::reinterpret_borrow<carray<std::uint32_t>>(rows);
    bind::require_length(keep, "rows", n);
    r = keep.mutable_data();
    for (py::ssize_t i = 0; i < n; ++i)
      if (r[i] >= static_cast<std::uint64_t>(n)) throw py::index_error("rows holds an index outside [0, n)");
  }
  bind::require_length(keys, "keys", n);
  if (!keys.writeable()) throw py::value_error("keys must be writeable");
  std::size_t tied;
  {
    py::gil_scoped_release release;
    tied = compute_tie_keys(values.data(), offsets.data(), k, start.data(), lo.data(), scale.data(), x.data(),
                            codes.data(), static_cast<std::size_t>(n), seed, row_offset, jitter, r,
                            keys.mutable_data());
  }
  if (tied == tie_keys_bad_code) throw py::index_error("codes holds a group code outside [0, n_groups)");
  return tied;
}

template <class T>
py::tuple index(const carray<T>& values, const carray<std::int64_t>& offsets) {
  bind::require_1d(values, "values");
  bind::require_offsets(offsets, values.shape(0), "offsets");
  const std::int32_t k = static_cast<std::int32_t>(offsets.shape(0) - 1);
  carray<std::uint32_t> start(values.shape(0) + k);
  carray<double> lo(k), scale(k);
  {
    py::gil_scoped_release release;
    build_group_indexes(values.data(), offsets.data(), k, start.mutable_data(), lo.mutable_data(),
                        scale.mutable_data());
  }
  return py::make_tuple(start, lo, scale);
}

// Lookup lines of a fitted stage (derived data for the transform; see rank_lookup.hpp).
template <class T>
RankLookup<T>* make_lookup(const carray<T>& values, const carray<std::int64_t>& offsets, const carray<double>& table) {
  bind::require_1d(values, "values");
  bind::require_offsets(offsets, values.shape(0), "offsets");
  const std::int32_t k = static_cast<std::int32_t>(offsets.shape(0) - 1);
  bind::require_length(table, "table", values.shape(0) + k);
  if (static_cast<std::uint64_t>(values.shape(0)) >= (std::uint64_t(1) << 32))
    throw py::value_error("a lookup holds ranks below 2**32: values is too long");
  py::gil_scoped_release release;
  return new RankLookup<T>(values.data(), offsets.data(), k, table.data());
}

template <class T>
carray<double> tables(const carray<T>& values, const py::object& cumw, const carray<std::int64_t>& offsets,
                      const carray<double>& p, int mode) {
  bind::require_1d(values, "values");
  bind::require_offsets(offsets, values.shape(0), "offsets");
  const std::int32_t k = static_cast<std::int32_t>(offsets.shape(0) - 1);
  bind::require_length(p, "group_weights", k);
  if (mode != 0 && mode != 1) throw py::value_error("interpolation code must be 0 (step) or 1 (linear)");
  carray<double> keep;
  const double* cw = bind::optional_f64(cumw, "cumw", values.shape(0), keep);
  carray<double> table(values.shape(0) + k);
  {
    py::gil_scoped_release release;
    barycenter_tables(values.data(), cw, offsets.data(), k, p.data(), static_cast<Interpolation>(mode),
                      table.mutable_data());
  }
  return table;
}

template <class T>
carray<T> transform(const carray<T>& values, const carray<std::uint64_t>& tie_keys,
                    const carray<std::int64_t>& offsets, const carray<std::uint32_t>& start,
                    const carray<double>& lo, const carray<double>& scale, const carray<double>& table,
                    const carray<T>& x, const carray<std::int32_t>& codes, double epsilon, double jitter,
                    std::uint64_t seed, std::uint64_t row_offset, const py::object& out, int path,
                    const py::object& lookup) {
  if (path < 0 || path > 4)
    throw py::value_error("path must be 0 (automatic), 1 (plain), 2 (pipelined), 3 (sliced) or 4 (lookup)");
  bind::require_1d(values, "values");
  const py::ssize_t n_fit = values.shape(0);
  bind::require_offsets(offsets, n_fit, "offsets");
  const std::int32_t k = static_cast<std::int32_t>(offsets.shape(0) - 1);
  bind::require_length(tie_keys, "tie_keys", n_fit);
  bind::require_length(start, "start", n_fit + k);
  bind::require_length(lo, "lo", k);
  bind::require_length(scale, "scale", k);
  bind::require_length(table, "table", n_fit + k);
  bind::require_1d(x, "scores");
  bind::require_1d(codes, "codes");
  bind::require_same_length(x, "scores", codes, "codes");
  if (!(epsilon >= 0.0 && epsilon <= 1.0)) throw py::value_error("epsilon must lie in [0, 1]");
  require_jitter(jitter);
  require_valid_index(start, offsets);
  const std::uint32_t* s = start.data();
  const std::int64_t* o = offsets.data();
  const py::ssize_t n = x.shape(0);
  carray<T> result;
  if (out.is_none()) {
    result = carray<T>(n);
  } else {
    if (!py::isinstance<carray<T>>(out))
      throw py::type_error("out must be a C-contiguous array of the scores' dtype");
    result = py::reinterpret_borrow<carray<T>>(out);
    bind::require_length(result, "out", n);
    if (!result.writeable()) throw py::value_error("out must be writeable");
  }
  const RankLookup<T>* lk = nullptr;
  if (!lookup.is_none()) {
    if (!py::isinstance<RankLookup<T>>(lookup))
      throw py::type_error("lookup must be a lookup built from values of the scores' dtype, or None");
    lk = lookup.cast<const RankLookup<T>*>();
    // Its lines hold ranks within each group: the groups' sizes must be these.
    if (lk->offsets().size() != static_cast<std::size_t>(k + 1) || !std::equal(o, o + k + 1, lk->offsets().begin()))
      throw py::value_error("lookup was built for other offsets than these");
  }
  BarycenterModel m{k, o, tie_keys.data(), s, lo.data(), scale.data(), table.data()};
  Status st;
  {
    py::gil_scoped_release release;
    st = barycenter_transform(values.data(), m, x.data(), codes.data(), static_cast<std::size_t>(n), epsilon,
                              jitter, seed, row_offset, result.mutable_data(), static_cast<TransformPath>(path), lk);
  }
  bind::raise_status(st, "codes");
  return result;
}

template <class T>
void register_typed(py::module_& m, const char* lookup_class) {
  py::class_<RankLookup<T>>(m, lookup_class,
                            "Lookup lines of a fitted barycenter stage (one task); build with lookup().")
      .def_property_readonly("nbytes", &RankLookup<T>::nbytes)
      .def_property_readonly("n_lines", &RankLookup<T>::n_lines)
      .def_property_readonly("n_groups", &RankLookup<T>::n_groups);
  m.def("lookup", &make_lookup<T>, py::arg("values").noconvert(), py::arg("offsets").noconvert(),
        py::arg("table").noconvert(), py::return_value_policy::take_ownership);
  m.def("partition", &partition<T>, py::arg("scores").noconvert(), py::arg("codes").noconvert(),
        py::arg("n_groups"), py::arg("seed"), py::arg("row_offset"), py::arg("jitter"), py::arg("with_rows"));
  m.def("tie_keys", &tie_keys<T>, py::arg("values").noconvert(), py::arg("offsets").noconvert(),
        py::arg("start").noconvert(), py::arg("lo").noconvert(), py::arg("scale").noconvert(),
        py::arg("scores").noconvert(), py::arg("codes").noconvert(), py::arg("seed"), py::arg("row_offset"),
        py::arg("jitter"), py::arg("rows"), py::arg("keys").noconvert());
  m.def("index", &index<T>, py::arg("values").noconvert(), py::arg("offsets").noconvert());
  m.def("tables", &tables<T>, py::arg("values").noconvert(), py::arg("cumw"), py::arg("offsets").noconvert(),
        py::arg("group_weights").noconvert(), py::arg("mode"));
  m.def("transform", &transform<T>, py::arg("values").noconvert(), py::arg("tie_keys").noconvert(),
        py::arg("offsets").noconvert(), py::arg("start").noconvert(), py::arg("lo").noconvert(),
        py::arg("scale").noconvert(), py::arg("table").noconvert(), py::arg("scores").noconvert(),
        py::arg("codes").noconvert(), py::arg("epsilon"), py::arg("jitter"), py::arg("seed"),
        py::arg("row_offset"), py::arg("out") = py::none(), py::arg("path") = 0, py::arg("lookup") = py::none());
}

}  // namespace

void register_barycenter(py::module_& m) {
  register_typed<double>(m, "RankLookup64");
  register_typed<float>(m, "RankLookup32");
}
