// memberflow._core.ExactForecast: the exact-distribution engine. A request returns the
// pmfs of every node at once as flat numpy arrays (offsets, lengths, one concatenated
// probability vector, tails), which the Python layer slices per node without copying.
#include <limits>

#include "bindings.hpp"
#include "memberflow/exact.hpp"

namespace memberflow::python {


void register_exact(py::module_& m) {
  using namespace pybind11::literals;
  py::class_<exact_forecast, std::shared_ptr<exact_forecast>>(m, "ExactForecast")
      .def(py::init([](const scenario& s, py::object horizon, double tolerance) {
             return std::make_shared<exact_forecast>(
                 s, integer_arg<int>(horizon, "horizon", std::numeric_limits<int>::min(), std::numeric_limits<int>::max()), tolerance);
           }),
           "scenario"_a, "horizon"_a, "tolerance"_a = 1e-12)
      .def_property_readonly("horizon", &exact_forecast::horizon)
      .def_property_readonly("tolerance", &exact_forecast::tolerance)
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
