// fairfast._core: one submodule per kernel family, each registered by its own file.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void register_config(py::module_& m);
void register_transport(py::module_& m);
void register_barycenter(py::module_& m);
void register_metrics(py::module_& m);
void register_thresholds(py::module_& m);
void register_steering(py::module_& m);
void register_grouping(py::module_& m);
void register_sort(py::module_& m);

PYBIND11_MODULE(_core, m) {
  m.doc() = "fairfast compiled kernels (C++17). Use the public API in fairfast.*; these "
            "functions trust validated, C-contiguous inputs of the exact dtype.";
  register_config(m);
  auto sort = m.def_submodule("sort", "Parallel radix sort of float32/float64 values (IEEE total order)");
  register_sort(sort);
  auto transport = m.def_submodule("transport", "1-D optimal transport kernels");
  register_transport(transport);
  auto barycenter = m.def_submodule("barycenter", "Wasserstein-barycenter post-processing kernels");
  register_barycenter(barycenter);
  auto metrics = m.def_submodule("metrics", "Group metrics, bootstrap and cherry-picking kernels");
  register_metrics(metrics);
  auto thresholds = m.def_submodule("thresholds", "Group-threshold search kernels");
  register_thresholds(thresholds);
  auto steering = m.def_submodule("steering", "Blockwise affine maps of the steering estimators");
  register_steering(steering);
  auto grouping = m.def_submodule("grouping", "One-pass encoding of group labels");
  register_grouping(grouping);
}
