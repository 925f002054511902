// Cheap re-checks at the binding layer: the public Python API validates everything,
// but a wrong direct call of fairfast._core must raise, never crash.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "fairfast/common.hpp"

namespace fairfast::bind {

namespace py = pybind11;

template <class T>
using carray = py::array_t<T, py::array::c_style>;

template <class T>
inline void require_1d(const carray<T>& a, const char* name) {
  if (a.ndim() != 1)
    throw py::value_error(std::string(name) + " must be one-dimensional, got " +
                          std::to_string(a.ndim()) + " dimensions");
}

template <class T, class U>
inline void require_same_length(const carray<T>& a, const char* an, const carray<U>& b, const char* bn) {
  if (a.shape(0) != b.shape(0))
    throw py::value_error(std::string(bn) + " has " + std::to_string(b.shape(0)) + " rows but " + an +
                          " has " + std::to_string(a.shape(0)));
}

template <class T>
inline void require_length(const carray<T>& a, const char* name, py::ssize_t n) {
  if (a.ndim() != 1 || a.shape(0) != n)
    throw py::value_error(std::string(name) + " must be one-dimensional with " + std::to_string(n) +
                          " entries");
}

inline void raise_status(Status s, const char* codes_name) {
  switch (s) {
    case Status::ok:
      return;
    case Status::group_out_of_range:
      throw py::index_error(std::string(codes_name) + " holds a group code outside [0, n_groups)");
    case Status::bad_value:
      throw py::value_error("scores must be finite; found NaN or inf");
  }
}

// Offsets must start at 0, be non-decreasing and end at n.
inline void require_offsets(const carray<std::int64_t>& offsets, py::ssize_t n, const char* name) {
  if (offsets.ndim() != 1 || offsets.shape(0) < 2)
    throw py::value_error(std::string(name) + " must be one-dimensional with at least 2 entries");
  const std::int64_t* o = offsets.data();
  const py::ssize_t k = offsets.shape(0) - 1;
  if (o[0] != 0 || o[k] != n)
    throw py::value_error(std::string(name) + " must start at 0 and end at the number of values");
  for (py::ssize_t g = 0; g < k; ++g)
    if (o[g + 1] <= o[g]) throw py::value_error(std::string(name) + " must be strictly increasing (no empty group)");
}

}  // namespace fairfast::bind

namespace fairfast::bind {

// An optional float64 C-contiguous array of length n: nullptr for None.
inline const double* optional_f64(const py::object& obj, const char* name, py::ssize_t n,
                                  carray<double>& keep) {
  if (obj.is_none()) return nullptr;
  if (!py::isinstance<carray<double>>(obj))
    throw py::type_error(std::string(name) + " must be a C-contiguous float64 array or None");
  keep = py::reinterpret_borrow<carray<double>>(obj);
  require_length(keep, name, n);
  return keep.data();
}

// The output array: a new one of n entries for None, else `out` itself, checked to be a
// writeable C-contiguous array of T with n entries (`dtype_of` names whose dtype T is).
template <class T>
carray<T> output_array(const py::object& out, py::ssize_t n, const char* dtype_of) {
  if (out.is_none()) return carray<T>(n);
  if (!py::isinstance<carray<T>>(out))
    throw py::type_error(std::string("out must be a C-contiguous array of ") + dtype_of + " dtype");
  carray<T> result = py::reinterpret_borrow<carray<T>>(out);
  require_length(result, "out", n);
  if (!result.writeable()) throw py::value_error("out must be writeable");
  return result;
}

inline void require_nonempty(py::ssize_t n, const char* name) {
  if (n < 1) throw py::value_error(std::string(name) + " must hold at least one value");
}

}  // namespace fairfast::bind
