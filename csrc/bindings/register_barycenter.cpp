// Bindings of the barycenter kernels: the fit's group partition and tables, and
// BarycenterStage64/32, one fitted stage validated once and transformed many times.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "checks.hpp"
#include "fairfast/barycenter_stage.hpp"

namespace py = pybind11;
using namespace fairfast;
using fairfast::bind::carray;

namespace {

void require_jitter(double jitter) {
  if (!(jitter >= 0.0) || !std::isfinite(jitter)) throw py::value_error("jitter must be finite and >= 0");
}

template <class T>
py::tuple partition(const carray<T>& x, const carray<std::int32_t>& codes, std::int32_t n_groups,
                    std::uint64_t seed, std::uint64_t row_offset, double jitter, bool with_rows,
                    const py::object& out) {
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
  carray<T> grouped = bind::output_array<T>(out, n, "the scores'");
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

// The array itself when it owns its data, else an owning copy; made read-only either
// way: the stage validates its arrays once and trusts them afterwards.
template <class A>
A take_readonly(const A& a) {
  A owned = a.owndata() ? a : py::reinterpret_steal<A>(a.attr("copy")().release());
  owned.attr("setflags")(py::arg("write") = false);
  return owned;
}

template <class A>
void require_matrix(const A& a, const char* name, py::ssize_t rows, py::ssize_t cols) {
  if (a.ndim() != 2 || a.shape(0) != rows || a.shape(1) != cols)
    throw py::value_error(std::string(name) + " must have shape (" + std::to_string(rows) + ", " +
                          std::to_string(cols) + ")");
}

// A fitted stage as seen from Python: the stage and the arrays it reads, kept alive and
// read-only here.
template <class T>
class PyStage {
 public:
  carray<T> values;                // (n_tasks, n)
  carray<std::uint64_t> keys;      // (n_tasks, n)
  carray<double> table;            // (n_tasks, n + k)
  std::unique_ptr<BarycenterStage<T>> stage;

  // A stage with its group offsets checked against the values' shape, arrays not yet attached.
  static std::unique_ptr<PyStage> empty_stage(const carray<T>& values, const carray<std::int64_t>& offsets,
                                              std::uint64_t seed, double jitter) {
    if (values.ndim() != 2 || values.shape(0) < 1)
      throw py::value_error("values must have shape (n_tasks, n) with n_tasks >= 1");
    bind::require_1d(offsets, "offsets");
    auto self = std::make_unique<PyStage>();
    self->stage = std::make_unique<BarycenterStage<T>>(
        checked_offsets(offsets.data(), static_cast<std::size_t>(offsets.shape(0)),
                        static_cast<std::size_t>(values.shape(1))),
        static_cast<std::size_t>(values.shape(0)), seed, jitter);
    return self;
  }

  // Loads a stage from its arrays (a model file, a pickle): everything is checked.
  static std::unique_ptr<PyStage> load(const carray<T>& values, const carray<std::uint64_t>& keys,
                                       const carray<std::int64_t>& offsets, const carray<double>& table,
                                       std::uint64_t seed, double jitter) {
    auto self = empty_stage(values, offsets, seed, jitter);
    const py::ssize_t n_tasks = values.shape(0), n = values.shape(1);
    const py::ssize_t k = self->stage->n_groups();
    require_matrix(keys, "keys", n_tasks, n);
    require_matrix(table, "table", n_tasks, n + k);
    self->values = take_readonly(values);
    self->keys = take_readonly(keys);
    self->table = take_readonly(table);
    StageIssue issue;
    {
      py::gil_scoped_release release;
      for (py::ssize_t t = 0; t < n_tasks && issue.ok(); ++t) {
        issue = self->stage->index_values(t, self->values.data(t, 0), self->keys.data(t, 0));
        if (issue.ok()) issue = self->stage->check_table(t, self->table.data(t, 0));
        if (issue.ok()) self->stage->attach(t, self->keys.data(t, 0), self->table.data(t, 0));
      }
    }
    if (!issue.ok()) throw py::value_error(issue.message());
    return self;
  }

  // Fits a stage on values already partitioned by group and sorted within each group
  // (one row per task): tie keys, weights' running sums and tables are computed here,
  // so only the values need checking (while the index is built).
  static std::unique_ptr<PyStage> fit(const carray<T>& values, const carray<std::int64_t>& offsets,
                                      const std::vector<carray<T>>& columns, const carray<std::int32_t>& codes,
                                      const py::object& rows, const py::object& sample_weight,
                                      const carray<double>& weights, const carray<std::int64_t>& blocks, int mode,
                                      std::uint64_t seed, double jitter) {
    if (mode != 0 && mode != 1) throw py::value_error("interpolation code must be 0 (step) or 1 (linear)");
    auto self = empty_stage(values, offsets, seed, jitter);
    const py::ssize_t n_tasks = values.shape(0), n = values.shape(1);
    BarycenterStage<T>& st = *self->stage;
    const std::int32_t k = st.n_groups();
    const std::int64_t* o = st.offsets().data();
    if (static_cast<py::ssize_t>(columns.size()) != n_tasks)
      throw py::value_error("columns must hold one score array per task");
    for (const auto& c : columns) bind::require_length(c, "columns", n);
    bind::require_length(codes, "codes", n);
    bind::require_length(weights, "group_weights", k);
    bind::require_1d(blocks, "blocks");
    const std::int64_t* bl = blocks.data();
    const py::ssize_t nb = blocks.shape(0);
    if (nb < 2 || bl[0] != 0 || bl[nb - 1] != k) throw py::value_error("blocks must run from 0 to n_groups");
    for (py::ssize_t b = 0; b + 1 < nb; ++b)
      if (bl[b + 1] <= bl[b]) throw py::value_error("blocks must be strictly increasing");
    std::vector<std::uint32_t*> row_ptrs(static_cast<std::size_t>(n_tasks), nullptr);
    std::vector<carray<std::uint32_t>> row_keep;
    if (!rows.is_none()) {
      row_keep = rows.cast<std::vector<carray<std::uint32_t>>>();
      if (static_cast<py::ssize_t>(row_keep.size()) != n_tasks)
        throw py::value_error("rows must hold one array per task");
      for (py::ssize_t t = 0; t < n_tasks; ++t) {
        bind::require_length(row_keep[t], "rows", n);
        if (!row_keep[t].writeable()) throw py::value_error("rows must be writeable");
        row_ptrs[t] = row_keep[t].mutable_data();
        for (py::ssize_t i = 0; i < n; ++i)
          if (row_ptrs[t][i] >= static_cast<std::uint64_t>(n)) throw py::index_error("rows holds an index outside [0, n)");
      }
    }
    carray<double> w_keep;
    const double* w = bind::optional_f64(sample_weight, "sample_weight", n, w_keep);
    if (w && rows.is_none()) throw py::value_error("sample_weight needs the rows of the sorted values");
    const double w_scale = w ? weight_scale(w, static_cast<std::size_t>(n)) : 1.0;  // running sums stay finite
    self->values = take_readonly(values);
    // Zero-filled by calloc: only tied positions are ever written.
    self->keys = py::module_::import("numpy").attr("zeros")(py::make_tuple(n_tasks, n), "uint64").cast<carray<std::uint64_t>>();
    self->table = carray<double>({n_tasks, n + k});
    std::vector<const T*> xs;
    for (const auto& c : columns) xs.push_back(c.data());
    std::size_t tied = 0;
    StageIssue issue;
    {
      py::gil_scoped_release release;
      std::vector<double> cumw(w ? static_cast<std::size_t>(n) : 0);
      std::vector<std::int64_t> sub(static_cast<std::size_t>(k) + 1);
      for (py::ssize_t t = 0; t < n_tasks; ++t) {
        const T* v = self->values.data(t, 0);
        issue = st.index_values(t, v, nullptr);
        if (!issue.ok()) break;
        std::uint64_t* kt = self->keys.mutable_data(t, 0);
        tied = compute_tie_keys(v, o, k, st.indexes(t), xs[t], codes.data(), static_cast<std::size_t>(n), seed, 0,
                                jitter, row_ptrs[t], kt);
        if (tied == tie_keys_bad_code) break;
        if (w) {  // running sums of the weights in sorted order, restarting at each group
          for (std::int32_t g = 0; g < k; ++g) {
            double acc = 0.0;
            for (std::int64_t i = o[g]; i < o[g + 1]; ++i) cumw[i] = acc += w[row_ptrs[t][i]] * w_scale;
          }
        }
        double* tab = self->table.mutable_data(t, 0);
        for (py::ssize_t b = 0; b + 1 < nb; ++b) {  // one table per block of groups
          const std::int64_t a = bl[b], e = bl[b + 1];
          for (std::int64_t g = a; g <= e; ++g) sub[g - a] = o[g] - o[a];
          barycenter_tables(v + o[a], w ? cumw.data() + o[a] : nullptr, sub.data(), static_cast<std::int32_t>(e - a),
                            weights.data() + a, static_cast<Interpolation>(mode), tab + o[a] + a);
        }
        st.attach(t, kt, tab);
      }
    }
    if (!issue.ok()) throw py::value_error(issue.message());
    if (tied == tie_keys_bad_code) throw py::index_error("codes holds a group code outside [0, n_groups)");
    self->keys.attr("setflags")(py::arg("write") = false);
    self->table.attr("setflags")(py::arg("write") = false);
    return self;
  }

  // Fair values of one task's scores. Returns (out, status, row): status is Status.ok
  // (row -1) or what was wrong with the first invalid row (a group code outside
  // [0, n_groups), a non-finite score), whose output is then unspecified.
  py::tuple transform(const carray<T>& x, const carray<std::int32_t>& codes, double epsilon,
                      std::uint64_t row_offset, const py::object& out, py::ssize_t task, int path) {
    if (task < 0 || task >= static_cast<py::ssize_t>(stage->n_tasks()))
      throw py::index_error("task must lie in [0, n_tasks)");
    if (path < 0 || path > 4)
      throw py::value_error("path must be 0 (automatic), 1 (plain), 2 (pipelined), 3 (sliced) or 4 (lookup)");
    bind::require_1d(x, "scores");
    bind::require_1d(codes, "codes");
    bind::require_same_length(x, "scores", codes, "codes");
    if (!(epsilon >= 0.0 && epsilon <= 1.0)) throw py::value_error("epsilon must lie in [0, 1]");
    const py::ssize_t n = x.shape(0);
    carray<T> result = bind::output_array<T>(out, n, "the scores'");
    RowIssue issue;
    {
      py::gil_scoped_release release;
      issue = stage->transform(static_cast<std::size_t>(task), x.data(), codes.data(), static_cast<std::size_t>(n),
                               epsilon, row_offset, result.mutable_data(), static_cast<TransformPath>(path), task == 0);
    }
    const py::ssize_t row = issue.ok() ? -1 : static_cast<py::ssize_t>(issue.row);
    return py::make_tuple(result, issue.status, row);
  }
};

template <class T>
py::array_t<std::int64_t> offsets_view(const py::object& self_obj) {
  const PyStage<T>& self = self_obj.cast<const PyStage<T>&>();
  const auto& o = self.stage->offsets();
  py::array_t<std::int64_t> view({static_cast<py::ssize_t>(o.size())}, {sizeof(std::int64_t)}, o.data(), self_obj);
  view.attr("setflags")(py::arg("write") = false);
  return view;
}

template <class T>
void register_typed(py::module_& m, const char* stage_class) {
  using S = PyStage<T>;
  py::class_<S>(m, stage_class, R"doc(
A fitted barycenter stage: per task the sorted calibration values, tie keys and
barycenter table, with the group offsets, validated once (when built by ``fit`` or
loaded from its arrays) and then transformed any number of times at a cost that does
not grow with the calibration size.

``BarycenterStageXX(values, keys, offsets, table, seed, jitter)`` loads a stage from
its arrays (e.g. a model file's) and checks everything the transform relies on; the
arrays are kept (copied unless they own their data) and made read-only. Pickles
(the bucket indexes and lookups are derived data, rebuilt).)doc")
      .def(py::init(&S::load), py::arg("values").noconvert(), py::arg("keys").noconvert(),
           py::arg("offsets").noconvert(), py::arg("table").noconvert(), py::arg("seed"), py::arg("jitter"))
      .def_static("fit", &S::fit, py::arg("values").noconvert(), py::arg("offsets").noconvert(), py::arg("columns"),
                  py::arg("codes").noconvert(), py::arg("rows"), py::arg("sample_weight"),
                  py::arg("group_weights").noconvert(), py::arg("blocks").noconvert(), py::arg("mode"),
                  py::arg("seed"), py::arg("jitter"),
                  "Fit a stage on values partitioned by group and sorted within each group (see _stage.fit_stage).")
      .def("transform", &S::transform, py::arg("scores").noconvert(), py::arg("codes").noconvert(),
           py::arg("epsilon"), py::arg("row_offset") = 0, py::arg("out") = py::none(), py::arg("task") = 0,
           py::arg("path") = 0,
           "(out, status, row): fair values of one task's scores; status names the first invalid row's problem.")
      .def("build_lookups", [](S& self) {
             py::gil_scoped_release release;
             return self.stage->build_lookups();
           }, "Build every task's rank lookup now; returns their bytes.")
      .def_property_readonly("values", [](const S& self) { return self.values; })
      .def_property_readonly("keys", [](const S& self) { return self.keys; })
      .def_property_readonly("table", [](const S& self) { return self.table; })
      .def_property_readonly("offsets", &offsets_view<T>)
      .def_property_readonly("n_tasks", [](const S& self) { return self.stage->n_tasks(); })
      .def_property_readonly("n_groups", [](const S& self) { return self.stage->n_groups(); })
      .def_property_readonly("n_rows", [](const S& self) { return self.stage->n_rows(); })
      .def_property_readonly("seed", [](const S& self) { return self.stage->seed(); })
      .def_property_readonly("jitter", [](const S& self) { return self.stage->jitter(); })
      .def_property_readonly("dtype", [](const S&) { return py::dtype::of<T>(); })
      .def_property_readonly("lookups_ready", [](const S& self) { return self.stage->lookups_ready(); })
      .def_property_readonly("lookup_bytes", [](const S& self) { return self.stage->lookup_bytes(); })
      .def_property_readonly("rows_seen", [](const S& self) { return self.stage->rows_seen(); })
      .def(py::pickle(
          [](const S& self) {
            const auto& o = self.stage->offsets();
            carray<std::int64_t> offsets(static_cast<py::ssize_t>(o.size()));
            std::copy(o.begin(), o.end(), offsets.mutable_data());
            return py::make_tuple(self.values, self.keys, offsets, self.table, self.stage->seed(),
                                  self.stage->jitter());
          },
          [](const py::tuple& s) {
            if (s.size() != 6) throw py::value_error("a pickled stage is a 6-tuple");
            return S::load(s[0].cast<carray<T>>(), s[1].cast<carray<std::uint64_t>>(),
                           s[2].cast<carray<std::int64_t>>(), s[3].cast<carray<double>>(),
                           s[4].cast<std::uint64_t>(), s[5].cast<double>());
          }));
  m.def("partition", &partition<T>, py::arg("scores").noconvert(), py::arg("codes").noconvert(),
        py::arg("n_groups"), py::arg("seed"), py::arg("row_offset"), py::arg("jitter"), py::arg("with_rows"),
        py::arg("out") = py::none());
  m.def("tables", &tables<T>, py::arg("values").noconvert(), py::arg("cumw"), py::arg("offsets").noconvert(),
        py::arg("group_weights").noconvert(), py::arg("mode"));
}

}  // namespace

void register_barycenter(py::module_& m) {
  register_typed<double>(m, "BarycenterStage64");
  register_typed<float>(m, "BarycenterStage32");
  m.attr("LOOKUP_ROWS") = py::make_tuple(BarycenterStage<double>::lookup_min_rows,
                                         BarycenterStage<double>::lookup_max_rows);
  m.attr("LOOKUP_AFTER") = BarycenterStage<double>::lookup_after;
}
