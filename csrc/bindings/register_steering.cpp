// Bindings of csrc/fairfast/affine_blocks.hpp: packed per-code affine maps and their
// batch-invariant application.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "checks.hpp"
#include "fairfast/affine_blocks.hpp"

namespace py = pybind11;
using namespace fairfast;
using fairfast::bind::carray;

namespace {

constexpr std::int64_t kCopy = -1, kShift = -2;

affine::Isa isa_from_name(const std::string& name) {
  if (name == "auto") return affine::best_isa();
  for (affine::Isa isa : {affine::Isa::avx512, affine::Isa::avx2, affine::Isa::generic}) {
    if (name != affine::isa_name(isa)) continue;
    if (!affine::isa_available(isa)) throw py::value_error("isa '" + name + "' is not supported by this CPU");
    return isa;
  }
  throw py::value_error("isa must be 'auto', 'avx512', 'avx2' or 'generic'; got '" + name + "'");
}

std::vector<std::string> available_isas() {
  std::vector<std::string> out;
  for (affine::Isa isa : {affine::Isa::avx512, affine::Isa::avx2, affine::Isa::generic})
    if (affine::isa_available(isa)) out.emplace_back(affine::isa_name(isa));
  return out;
}

// A C-contiguous (rows, cols) array of T, or None when `optional`.
template <class T>
const T* matrix_of(const py::object& obj, const char* name, py::ssize_t rows, py::ssize_t cols, carray<T>& keep,
                   bool optional) {
  if (optional && obj.is_none()) return nullptr;
  if (!py::isinstance<carray<T>>(obj))
    throw py::type_error(std::string(name) + " must be a C-contiguous " + (sizeof(T) == 8 ? "float64" : "float32") +
                         " array" + (optional ? " or None" : ""));
  keep = py::reinterpret_borrow<carray<T>>(obj);
  if (keep.ndim() != 2 || keep.shape(0) != rows || keep.shape(1) != cols)
    throw py::value_error(std::string(name) + " must have shape (" + std::to_string(rows) + ", " +
                          std::to_string(cols) + ")");
  return keep.data();
}

template <class T, class Src>
bool pack_if(PackedAffine<T>& m, std::int64_t index, const py::handle& obj) {
  if (!py::isinstance<carray<Src>>(obj)) return false;
  auto A = py::reinterpret_borrow<carray<Src>>(obj);
  if (A.ndim() != 2 || A.shape(0) != m.d_out || A.shape(1) != m.d_in)
    throw py::value_error("every matrix must have shape (d_out, d_in) = (" + std::to_string(m.d_out) + ", " +
                          std::to_string(m.d_in) + ")");
  const Src* data = A.data();
  py::gil_scoped_release release;
  pack_matrix(m, index, data);
  return true;
}

template <class T>
std::unique_ptr<PackedAffine<T>> pack(const py::list& matrices, const carray<std::int64_t>& map_index,
                                      const py::object& offset, const py::object& center, std::int64_t d_in,
                                      std::int64_t d_out, const std::string& isa) {
  bind::require_1d(map_index, "map_index");
  const py::ssize_t K = map_index.shape(0), M = static_cast<py::ssize_t>(py::len(matrices));
  if (K < 1) throw py::value_error("map_index must hold at least one code");
  if (d_in < 1 || d_out < 1) throw py::value_error("d_in and d_out must be positive");
  carray<T> off_keep, ctr_keep;
  const T* off = matrix_of<T>(offset, "offset", K, d_out, off_keep, true);
  const T* ctr = matrix_of<T>(center, "center", K, d_in, ctr_keep, true);
  auto m = std::make_unique<PackedAffine<T>>(make_packed<T>(isa_from_name(isa), K, M, d_in, d_out, ctr != nullptr));
  for (py::ssize_t c = 0; c < K; ++c) {
    const std::int64_t idx = map_index.data()[c];
    if (idx >= M || idx < kShift)
      throw py::value_error("map_index entries must be -2 (offset only), -1 (copy) or a matrix index below " +
                            std::to_string(M));
    if (idx < 0 && d_in != d_out)
      throw py::value_error("copy (-1) and offset-only (-2) codes need d_in == d_out");
    m->kind[c] = idx >= 0 ? MapKind::affine : idx == kShift ? MapKind::shift : MapKind::copy;
    m->map[c] = idx;
    if (off) std::copy(off + c * d_out, off + (c + 1) * d_out, m->bias.get() + c * m->panel_values());
  }
  if (ctr) std::copy(ctr, ctr + K * d_in, m->center.get());
  for (py::ssize_t i = 0; i < M; ++i)
    if (!pack_if<T, double>(*m, i, matrices[i]) && !pack_if<T, float>(*m, i, matrices[i]))
      throw py::type_error("every matrix must be a C-contiguous float32 or float64 array");
  return m;
}

bool overlap(const void* a, std::size_t a_bytes, const void* b, std::size_t b_bytes) {
  const auto* x = static_cast<const char*>(a);
  const auto* y = static_cast<const char*>(b);
  return x < y + b_bytes && y < x + a_bytes;
}

template <class T>
void apply(const PackedAffine<T>& maps, const carray<T>& X, const py::object& codes, carray<T> out,
           const py::object& init) {
  if (X.ndim() != 2 || X.shape(1) != maps.d_in)
    throw py::value_error("X must be two-dimensional with " + std::to_string(maps.d_in) + " columns");
  const py::ssize_t n = X.shape(0);
  if (out.ndim() != 2 || out.shape(0) != n || out.shape(1) != maps.d_out)
    throw py::value_error("out must have shape (" + std::to_string(n) + ", " + std::to_string(maps.d_out) + ")");
  const std::size_t x_bytes = sizeof(T) * std::size_t(n * maps.d_in), out_bytes = sizeof(T) * std::size_t(n * maps.d_out);
  if (overlap(X.data(), x_bytes, out.data(), out_bytes)) throw py::value_error("out must not overlap X");
  const std::int64_t* code = nullptr;
  carray<std::int64_t> code_keep;
  if (!codes.is_none()) {
    if (!py::isinstance<carray<std::int64_t>>(codes))
      throw py::type_error("codes must be a C-contiguous int64 array or None");
    code_keep = py::reinterpret_borrow<carray<std::int64_t>>(codes);
    bind::require_length(code_keep, "codes", n);
    code = code_keep.data();
  } else if (maps.n_codes != 1) {
    throw py::value_error("codes is required when there is more than one map");
  }
  carray<T> init_keep;
  const T* start = matrix_of<T>(init, "init", n, maps.d_out, init_keep, true);
  if (start) {
    for (MapKind k : maps.kind)
      if (k != MapKind::affine) throw py::value_error("init needs every code to be an affine map");
    if (start != out.data() && overlap(start, out_bytes, out.data(), out_bytes))
      throw py::value_error("init must be out itself or not overlap it");
  }
  T* dst = out.mutable_data();
  Status st;
  {
    py::gil_scoped_release release;
    st = apply_affine_blocks<T>(X.data(), n, code, maps, dst, start);
  }
  if (st == Status::bad_value) throw py::value_error("X must be finite; found NaN or inf");
  bind::raise_status(st, "codes");
}

template <class T>
void bind_packed(py::module_& m, const char* name) {
  py::class_<PackedAffine<T>>(m, name,
                              "Per-code affine maps x -> A (x - center) + b packed for the batch-invariant kernel "
                              "(made by pack_affine_maps).")
      .def_property_readonly("isa", [](const PackedAffine<T>& p) { return std::string(affine::isa_name(p.kernel.isa)); })
      .def_property_readonly("n_codes", [](const PackedAffine<T>& p) { return p.n_codes; })
      .def_property_readonly("d_in", [](const PackedAffine<T>& p) { return p.d_in; })
      .def_property_readonly("d_out", [](const PackedAffine<T>& p) { return p.d_out; })
      .def_property_readonly("nbytes", &PackedAffine<T>::nbytes)
      .def("apply", &apply<T>, py::arg("X").noconvert(), py::arg("codes"), py::arg("out").noconvert(),
           py::arg("init") = py::none(),
           "out[r] = A[c] (X[r] - center[c]) + b[c] for c = codes[r] (None: one map for every row); init (n, d_out), "
           "possibly out itself, replaces b as the starting values. Every output element is accumulated in one "
           "fixed order, so a row's result never depends on the other rows, the chunking or the threads.");
}

void sum_squares_by_row(const carray<double>& R, carray<double> out) {
  if (R.ndim() != 2) throw py::value_error("R must be two-dimensional");
  bind::require_length(out, "out", R.shape(0));
  const std::int64_t n = R.shape(0), d = R.shape(1);
  const double* r = R.data();
  double* s = out.mutable_data();
  py::gil_scoped_release release;
  for (std::int64_t i = 0; i < n; ++i) {  // in column order, whatever the number of rows
    double acc = 0.0;
    for (std::int64_t j = 0; j < d; ++j) acc = affine::portable_madd(r[i * d + j], r[i * d + j], acc);
    s[i] = acc;
  }
}

}  // namespace

void register_steering(py::module_& m) {
  bind_packed<double>(m, "PackedAffineFloat64");
  bind_packed<float>(m, "PackedAffineFloat32");
  const char* doc =
      "pack_affine_maps(matrices, map_index, offset, center, d_in, d_out, dtype, isa='auto'): per code c, "
      "map_index[c] >= 0 maps rows with matrices[map_index[c]] (d_out x d_in, float32 or float64, converted to "
      "dtype), -1 copies them and -2 adds offset[c] only; offset (n_codes, d_out) and center (n_codes, d_in) "
      "of dtype or None (zero). isa: 'auto' (the widest this CPU runs), 'avx512', 'avx2' or 'generic'.";
  m.def(
      "pack_affine_maps",
      [](const py::list& matrices, const carray<std::int64_t>& map_index, const py::object& offset,
         const py::object& center, std::int64_t d_in, std::int64_t d_out, const std::string& dtype,
         const std::string& isa) -> py::object {
        if (dtype == "float64") return py::cast(pack<double>(matrices, map_index, offset, center, d_in, d_out, isa));
        if (dtype == "float32") return py::cast(pack<float>(matrices, map_index, offset, center, d_in, d_out, isa));
        throw py::value_error("dtype must be 'float32' or 'float64'; got '" + dtype + "'");
      },
      py::arg("matrices"), py::arg("map_index").noconvert(), py::arg("offset"), py::arg("center"), py::arg("d_in"),
      py::arg("d_out"), py::arg("dtype"), py::arg("isa") = "auto", doc);
  m.def("affine_isas", &available_isas,
        "The instruction sets of the affine kernel this CPU runs, widest first ('generic' always).");
  m.def("sum_squares_by_row", &sum_squares_by_row, py::arg("R").noconvert(), py::arg("out").noconvert(),
        "out[i] = sum_j R[i, j]**2, accumulated in column order (a row's value never depends on the other rows).");
}
