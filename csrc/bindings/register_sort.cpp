// Bindings of csrc/fairfast/sort.hpp.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>

#include "checks.hpp"
#include "fairfast/sort.hpp"

namespace py = pybind11;
using namespace fairfast;
using fairfast::bind::carray;

namespace {

template <class T>
carray<T> sorted(const carray<T>& x, const py::object& out) {
  bind::require_1d(x, "values");
  const py::ssize_t n = x.shape(0);
  carray<T> result = bind::output_array<T>(out, n, "the values'");
  const T* src = x.data();
  T* dst = result.mutable_data();
  if (src != dst && !(dst + n <= src || src + n <= dst))
    throw py::value_error("out must be the values themselves or not overlap them");
  {
    py::gil_scoped_release release;
    radix_sort(src, dst, static_cast<std::size_t>(n), max_threads());
  }
  return result;
}

template <class T>
void sort_segments_py(carray<T>& values, const carray<std::int64_t>& offsets) {
  bind::require_1d(values, "values");
  bind::require_1d(offsets, "offsets");
  const std::int64_t* o = offsets.data();
  const py::ssize_t k = offsets.shape(0) - 1;
  if (k < 0 || o[0] != 0 || o[k] != values.shape(0))
    throw py::value_error("offsets must start at 0 and end at the number of values");
  for (py::ssize_t g = 0; g < k; ++g)
    if (o[g + 1] < o[g]) throw py::value_error("offsets must be non-decreasing");
  if (!values.writeable()) throw py::value_error("values must be writeable");
  T* v = values.mutable_data();
  py::gil_scoped_release release;
  sort_segments(v, offsets.data(), static_cast<std::int32_t>(offsets.shape(0) - 1), max_threads());
}

template <class T>
void register_typed(py::module_& m) {
  m.def("sorted", &sorted<T>, py::arg("values").noconvert(), py::arg("out") = py::none(),
        "values sorted ascending (IEEE total order: -0.0 before +0.0), into out if given (may be values).");
  m.def("sort_segments", &sort_segments_py<T>, py::arg("values").noconvert(), py::arg("offsets").noconvert(),
        "Sort values[offsets[g]:offsets[g + 1]] in place for every g (total order; empty segments allowed).");
}

}  // namespace

void register_sort(py::module_& m) {
  register_typed<double>(m);
  register_typed<float>(m);
}
