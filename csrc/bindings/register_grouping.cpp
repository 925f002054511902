// Bindings of csrc/fairfast/label_hash.hpp: one-pass encoding of fixed-width labels.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <vector>

#include "checks.hpp"
#include "fairfast/label_hash.hpp"

namespace py = pybind11;
using fairfast::bind::carray;

namespace {

// Rows of a 2-D uint8 array (n, width): the bytes of each fixed-width label.
void require_rows(const carray<std::uint8_t>& a, const char* name) {
  if (a.ndim() != 2) throw py::value_error(std::string(name) + " must be a 2-D uint8 array (rows, width)");
  if (a.shape(1) < 1) throw py::value_error(std::string(name) + " must have a width of at least one byte");
}

py::tuple discover(const carray<std::uint8_t>& data) {
  require_rows(data, "data");
  const auto n = static_cast<std::size_t>(data.shape(0));
  if (n >= (std::size_t(1) << 31)) throw py::value_error("data must have fewer than 2**31 rows");
  carray<std::int32_t> codes(static_cast<py::ssize_t>(n));
  std::vector<std::size_t> first;
  {
    py::gil_scoped_release release;
    first = fairfast::discover_fixed(data.data(), static_cast<std::size_t>(data.shape(1)), n, codes.mutable_data());
  }
  carray<std::int64_t> rows(static_cast<py::ssize_t>(first.size()));
  for (std::size_t i = 0; i < first.size(); ++i) rows.mutable_data()[i] = static_cast<std::int64_t>(first[i]);
  return py::make_tuple(codes, rows);
}

carray<std::int32_t> lookup(const carray<std::uint8_t>& keys, const carray<std::uint8_t>& data) {
  require_rows(keys, "keys");
  require_rows(data, "data");
  if (keys.shape(1) != data.shape(1)) throw py::value_error("keys and data must have the same width");
  if (keys.shape(0) >= (py::ssize_t(1) << 30)) throw py::value_error("keys must have fewer than 2**30 rows");
  const auto n = static_cast<std::size_t>(data.shape(0));
  carray<std::int32_t> codes(static_cast<py::ssize_t>(n));
  {
    py::gil_scoped_release release;
    fairfast::lookup_fixed(keys.data(), static_cast<std::size_t>(keys.shape(0)), data.data(),
                           static_cast<std::size_t>(data.shape(1)), n, codes.mutable_data());
  }
  return codes;
}

}  // namespace

void register_grouping(py::module_& m) {
  m.def("discover_fixed", &discover, py::arg("data").noconvert(),
        "Codes of fixed-width labels (rows of a 2-D uint8 array) in order of first appearance, and the "
        "first row of each distinct label.");
  m.def("lookup_fixed", &lookup, py::arg("keys").noconvert(), py::arg("data").noconvert(),
        "Index of every row of data among the rows of keys (same width), or -1.");
}
