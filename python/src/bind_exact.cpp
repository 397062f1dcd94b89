// memberflow._core.ExactForecast: the exact-distribution engine. A request returns the
// pmfs of every node at once as flat numpy arrays (offsets, lengths, one concatenated
// probability vector, tails), which the Python layer slices per node without copying.
#include <limits>

#include "bindings.hpp"
#include "memberflow/exact.hpp"

namespace memberflow::python {


void register_exact(py::module_& m) {
  using namespace pybind11::literals;
  // The engine's options as a keyword-only class; defaults read from exact_options.
  const exact_options defaults;
  py::class_<exact_options>(m, "ExactOptions")
      .def(py::init([](double tolerance, int threads) {
             return exact_options{.tolerance = tolerance, .threads = threads};
           }),
           py::kw_only(), "tolerance"_a = defaults.tolerance, "threads"_a = defaults.threads)
      .def_readwrite("tolerance", &exact_options::tolerance, "Tail mass any node's pmf may drop, in (0, 1).")
      .def_readwrite("threads", &exact_options::threads, "Threads (0 or less: one per core); no effect on the pmfs.")
      .def("__repr__", [](const exact_options& o) {
        return "ExactOptions(tolerance=" + py::str(py::float_(o.tolerance)).cast<std::string>() +
               ", threads=" + std::to_string(o.threads) + ")";
      });

  const auto int_horizon = [](py::object horizon) {
    return integer_arg<int>(horizon, "horizon", std::numeric_limits<int>::min(), std::numeric_limits<int>::max());
  };
  py::class_<exact_forecast, std::shared_ptr<exact_forecast>>(m, "ExactForecast")
      .def(py::init([int_horizon](const scenario& s, py::object horizon, const exact_options& options) {
             return std::make_shared<exact_forecast>(s, int_horizon(horizon), options);
           }),
           "scenario"_a, "horizon"_a, "options"_a)
      .def(py::init([int_horizon](const scenario& s, py::object horizon, double tolerance, int threads) {
             return std::make_shared<exact_forecast>(s, int_horizon(horizon),
                                                     exact_options{.tolerance = tolerance, .threads = threads});
           }),
           "scenario"_a, "horizon"_a, "tolerance"_a = defaults.tolerance, "threads"_a = defaults.threads)
      .def_property_readonly("horizon", &exact_forecast::horizon)
      .def_property_readonly("tolerance", &exact_forecast::tolerance)
      .def_property_readonly("options", [](const exact_forecast& f) { return f.options(); })  // a copy
      .def("events",
           [](const exact_forecast& f, const std::string& event, int first, int last) {
             node_distributions d;
             {
               py::gil_scoped_release release;  // C++ only: a national request takes about a second
               d = f.events(event, {first, last});
             }
             return pmfs_to_python(d.nodes);
           },
           "event"_a, "first"_a, "last"_a)
      .def("stock",
           [](const exact_forecast& f, const std::string& stage, int month) {
             node_distributions d;
             {
               py::gil_scoped_release release;
               d = f.stock(stage, month);
             }
             return pmfs_to_python(d.nodes);
           },
           "stage"_a, "month"_a);
  m.def("binomial_pmf", [](long long n, double p, double eps) {
    const auto f = binomial_pmf(n, p, eps);
    return py::make_tuple(f.offset, f.p, f.tail);
  });
  m.def("poisson_pmf", [](double mu, double eps) {
    const auto f = poisson_pmf(mu, eps);
    return py::make_tuple(f.offset, f.p, f.tail);
  });
}

}  // namespace memberflow::python
