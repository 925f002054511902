// Bindings of csrc/fairfast/affine_blocks.hpp.
#include <Python.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "checks.hpp"
#include "fairfast/affine_blocks.hpp"

namespace py = pybind11;
using namespace fairfast;
using fairfast::bind::carray;

namespace {

// The gemm of scipy.linalg.cython_blas.__pyx_capi__: a capsule whose name is the C
// signature; the element type is checked so that a float gemm never gets double data.
template <class T>
fortran_gemm<T> gemm_from_capsule(const py::object& obj) {
  if (!PyCapsule_CheckExact(obj.ptr()))
    throw py::type_error("gemm must be a capsule of a Fortran BLAS ?gemm (scipy.linalg.cython_blas.__pyx_capi__)");
  const char* name = PyCapsule_GetName(obj.ptr());
  // scipy names the element type by a Cython typedef (..._cython_blas_d *) or plainly
  const char* typedef_name = sizeof(T) == 8 ? "cython_blas_d *" : "cython_blas_s *";
  const char* plain_name = sizeof(T) == 8 ? "double *" : "float *";
  const char* head = "void (char *, char *, int *, int *, int *,";
  if (name == nullptr || std::strncmp(name, head, std::strlen(head)) != 0 ||
      (std::strstr(name, typedef_name) == nullptr && std::strstr(name, plain_name) == nullptr))
    throw py::type_error(std::string("gemm must be scipy.linalg.cython_blas's ") + (sizeof(T) == 8 ? "dgemm" : "sgemm") +
                         " capsule for " + (sizeof(T) == 8 ? "float64" : "float32") + " data");
  void* p = PyCapsule_GetPointer(obj.ptr(), name);
  if (p == nullptr) throw py::error_already_set();
  return reinterpret_cast<fortran_gemm<T>>(p);
}

template <class T>
void apply(const carray<T>& X, const carray<std::int64_t>& codes, const carray<T>& linear, const carray<T>& offset,
           const carray<std::uint8_t>& identity, carray<T> out, const py::object& gemm) {
  if (X.ndim() != 2) throw py::value_error("X must be two-dimensional");
  const py::ssize_t n = X.shape(0), d = X.shape(1);
  bind::require_length(codes, "codes", n);
  if (linear.ndim() != 3 || linear.shape(1) != d || linear.shape(2) != d)
    throw py::value_error("linear must have shape (n_codes, " + std::to_string(d) + ", " + std::to_string(d) + ")");
  const py::ssize_t K = linear.shape(0);
  if (K < 1) throw py::value_error("linear must hold at least one map");
  if (offset.ndim() != 2 || offset.shape(0) != K || offset.shape(1) != d)
    throw py::value_error("offset must have shape (n_codes, " + std::to_string(d) + ")");
  bind::require_length(identity, "identity", K);
  if (out.ndim() != 2 || out.shape(0) != n || out.shape(1) != d)
    throw py::value_error("out must have the shape of X");
  if (d > (py::ssize_t(1) << 30)) throw py::value_error("X has too many columns for a BLAS int");
  auto g = gemm_from_capsule<T>(gemm);
  AffineBlocks<T> maps{linear.data(), offset.data(), identity.data(), K, d};
  Status st;
  {
    py::gil_scoped_release release;
    st = apply_affine_blocks<T>(X.data(), n, codes.data(), maps, out.mutable_data(), g);
  }
  if (st == Status::bad_value) throw py::value_error("X must be finite; found NaN or inf");
  bind::raise_status(st, "codes");
}

}  // namespace

void register_steering(py::module_& m) {
  const char* doc =
      "apply_affine_blocks(X, codes, linear, offset, identity, out, gemm): out[r] = linear[c] @ X[r] + "
      "offset[c] with c = codes[r], rows with identity[c] copied; gemm is the BLAS ?gemm capsule of "
      "X's dtype. The caller keeps that BLAS single-threaded during the call.";
  m.def("apply_affine_blocks", &apply<double>, py::arg("X"), py::arg("codes"), py::arg("linear"), py::arg("offset"),
        py::arg("identity"), py::arg("out").noconvert(), py::arg("gemm"), doc);
  m.def("apply_affine_blocks", &apply<float>, py::arg("X"), py::arg("codes"), py::arg("linear"), py::arg("offset"),
        py::arg("identity"), py::arg("out").noconvert(), py::arg("gemm"));
}
