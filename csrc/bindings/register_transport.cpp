// Bindings of csrc/fairfast/transport.hpp.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <string>

#include "checks.hpp"
#include "fairfast/random.hpp"
#include "fairfast/transport.hpp"

namespace py = pybind11;
using namespace fairfast;
using fairfast::bind::carray;

namespace {

Interpolation to_mode(int mode) {
  if (mode != 0 && mode != 1) throw py::value_error("interpolation code must be 0 (step) or 1 (linear)");
  return static_cast<Interpolation>(mode);
}

struct Sample {
  SampleView view;
  std::vector<std::uint32_t> start;
  BucketIndex index;
};

template <class T>
Sample make_sample(const carray<T>& sorted, const py::object& cumw, carray<double>& keep, bool with_index) {
  bind::require_1d(sorted, "sorted");
  const py::ssize_t n = sorted.shape(0);
  bind::require_nonempty(n, "sorted");
  if (static_cast<std::uint64_t>(n) >= (std::uint64_t(1) << 32))
    throw py::value_error("samples of 2**32 or more values are not supported");
  // The searches assume sorted values (NaN would break the order too), and running
  // sums of weights: finite, non-negative, non-decreasing, with a positive total (NaN
  // ones made the weighted merges loop forever). One branch-free pass checks both.
  const T* v = sorted.data();
  const double* c = bind::optional_f64(cumw, "cumw", n, keep);
  int unsorted = 0, bad_cumw = c ? !(c[0] >= 0.0 && std::isfinite(c[n - 1]) && c[n - 1] > 0.0) : 0;
  {
    py::gil_scoped_release release;
    const int nt = threads_for(static_cast<std::size_t>(n), 1 << 18);
    if (c) {
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) reduction(| : unsorted, bad_cumw)
#endif
      for (py::ssize_t i = 1; i < n; ++i) {
        unsorted |= !(v[i - 1] <= v[i]);
        bad_cumw |= !(c[i - 1] <= c[i]);
      }
    } else {
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) reduction(| : unsorted)
#endif
      for (py::ssize_t i = 1; i < n; ++i) unsorted |= !(v[i - 1] <= v[i]);
    }
  }
  if (unsorted) throw py::value_error("sorted must be sorted ascending and free of NaN");
  if (bad_cumw)
    throw py::value_error("cumw must be finite running sums of non-negative weights with a positive total");
  Sample s;
  s.view.n = static_cast<std::size_t>(n);
  s.view.cumw = c;
  if (with_index) {
    s.start.resize(static_cast<std::size_t>(n) + 1);
    build_bucket_index(sorted.data(), static_cast<std::size_t>(n), static_cast<std::uint32_t>(n), s.start.data(),
                       s.index);
  }
  return s;
}

// out[i] = f(i) for i < n, in parallel without the GIL.
template <class F>
carray<double> evaluate(py::ssize_t n, F f) {
  carray<double> out(n);
  double* o = out.mutable_data();
  py::gil_scoped_release release;
  const int nt = threads_for(static_cast<std::size_t>(n), 8192);
#ifdef FAIRFAST_OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
  for (py::ssize_t i = 0; i < n; ++i) o[i] = f(i);
  return out;
}

template <class T>
carray<double> ecdf(const carray<T>& sorted, const py::object& cumw, const carray<T>& queries, int mode) {
  const Interpolation im = to_mode(mode);
  bind::require_1d(queries, "queries");
  carray<double> keep;
  const Sample s = make_sample(sorted, cumw, keep, true);
  const T* x = sorted.data();
  const T* q = queries.data();
  return evaluate(queries.shape(0), [&](py::ssize_t i) { return ecdf_at(x, s.view, s.index, q[i], im); });
}

template <class T>
carray<double> quantile(const carray<T>& sorted, const py::object& cumw, const carray<double>& levels, int mode) {
  const Interpolation im = to_mode(mode);
  bind::require_1d(levels, "q");
  carray<double> keep;
  const Sample s = make_sample(sorted, cumw, keep, false);
  const T* x = sorted.data();
  const double* q = levels.data();
  return evaluate(levels.shape(0), [&](py::ssize_t i) { return quantile_at(x, s.view, q[i], im); });
}

template <class T>
carray<double> randomized_cdf(const carray<T>& sorted, const py::object& cumw, const carray<T>& queries,
                              std::uint64_t seed, std::uint64_t row_offset) {
  bind::require_1d(queries, "queries");
  carray<double> keep;
  const Sample s = make_sample(sorted, cumw, keep, true);
  const T* x = sorted.data();
  const T* q = queries.data();
  const CounterRng rng(seed, stream_randomized_cdf);
  return evaluate(queries.shape(0), [&](py::ssize_t i) {
    return randomized_cdf_at(x, s.view, s.index, q[i], rng.uniform(row_offset + static_cast<std::uint64_t>(i)));
  });
}

template <class T>
double wasserstein(const carray<T>& u, const py::object& ucum, const carray<T>& v, const py::object& vcum, double p) {
  if (!(p >= 1.0)) throw py::value_error("p must be >= 1");
  carray<double> ku, kv;
  Sample su = make_sample(u, ucum, ku, false);
  Sample sv = make_sample(v, vcum, kv, false);
  py::gil_scoped_release release;
  return wasserstein_pow(u.data(), su.view, v.data(), sv.view, p);
}

template <class T>
double ks(const carray<T>& u, const py::object& ucum, const carray<T>& v, const py::object& vcum) {
  carray<double> ku, kv;
  Sample su = make_sample(u, ucum, ku, false);
  Sample sv = make_sample(v, vcum, kv, false);
  py::gil_scoped_release release;
  return ks_statistic(u.data(), su.view, v.data(), sv.view);
}

template <class T>
void register_typed(py::module_& m) {
  m.def("ecdf", &ecdf<T>, py::arg("sorted").noconvert(), py::arg("cumw"), py::arg("queries").noconvert(),
        py::arg("mode"));
  m.def("quantile", &quantile<T>, py::arg("sorted").noconvert(), py::arg("cumw"), py::arg("q").noconvert(),
        py::arg("mode"));
  m.def("randomized_cdf", &randomized_cdf<T>, py::arg("sorted").noconvert(), py::arg("cumw"),
        py::arg("queries").noconvert(), py::arg("seed"), py::arg("row_offset"));
  m.def("wasserstein_pow", &wasserstein<T>, py::arg("u").noconvert(), py::arg("ucumw"), py::arg("v").noconvert(),
        py::arg("vcumw"), py::arg("p"));
  m.def("ks", &ks<T>, py::arg("u").noconvert(), py::arg("ucumw"), py::arg("v").noconvert(), py::arg("vcumw"));
}

}  // namespace

void register_transport(py::module_& m) {
  register_typed<double>(m);
  register_typed<float>(m);
  m.def(
      "counter_uniform",
      [](py::ssize_t n, std::uint64_t seed, std::uint64_t stream, std::uint64_t row_offset) {
        if (n < 0) throw py::value_error("n must be >= 0");
        carray<double> out(n);
        double* o = out.mutable_data();
        const CounterRng rng(seed, stream);
        py::gil_scoped_release release;
        for (py::ssize_t i = 0; i < n; ++i) o[i] = rng.uniform(row_offset + static_cast<std::uint64_t>(i));
        return out;
      },
      py::arg("n"), py::arg("seed"), py::arg("stream"), py::arg("row_offset"));
  m.def(
      "counter_bits",
      [](py::ssize_t n, std::uint64_t seed, std::uint64_t stream, std::uint64_t row_offset) {
        if (n < 0) throw py::value_error("n must be >= 0");
        carray<std::uint64_t> out(n);
        std::uint64_t* o = out.mutable_data();
        const CounterRng rng(seed, stream);
        py::gil_scoped_release release;
        for (py::ssize_t i = 0; i < n; ++i) o[i] = rng.bits(row_offset + static_cast<std::uint64_t>(i));
        return out;
      },
      py::arg("n"), py::arg("seed"), py::arg("stream"), py::arg("row_offset"));
}
