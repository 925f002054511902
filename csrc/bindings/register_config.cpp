// Build information and the thread count shared by every kernel.
#include <pybind11/pybind11.h>

#include "fairfast/common.hpp"

namespace py = pybind11;

void register_config(py::module_& m) {
  py::enum_<fairfast::Status>(m, "Status", "What a kernel found wrong with a row (returned with the row's position).")
      .value("ok", fairfast::Status::ok)
      .value("group_out_of_range", fairfast::Status::group_out_of_range)
      .value("bad_value", fairfast::Status::bad_value);
  m.def("set_num_threads", [](int n) {
    if (n < 0) throw py::value_error("n_threads must be >= 0 (0 follows OpenMP's default), got " + std::to_string(n));
    fairfast::thread_setting().store(n);
  });
  m.def("get_num_threads", []() { return fairfast::max_threads(); });
  m.def("get_thread_setting", []() { return fairfast::thread_setting().load(); });
  m.def("build_info", []() {
    py::dict d;
#ifdef FAIRFAST_OPENMP
    d["openmp"] = true;
    d["openmp_version"] = std::string(FAIRFAST_OPENMP_VERSION);
#else
    d["openmp"] = false;
    d["openmp_version"] = py::none();
#endif
    d["compiler"] = std::string(FAIRFAST_COMPILER);
    d["build_type"] = std::string(FAIRFAST_BUILD_TYPE);
    d["cplusplus"] = static_cast<long>(__cplusplus);
    return d;
  });
}
