// memberflow._core.forecast_expected and ForecastResult. Per-unit series leave as numpy
// views of the result's own memory: at national scale (300,000 units x 60 months x 9
// quantities) a copy would double a gigabyte.
#include <pybind11/eigen.h>

#include "bindings.hpp"
#include "memberflow/expected.hpp"

namespace memberflow::python {

void register_forecast(py::module_& m) {
  using namespace pybind11::literals;
  py::class_<forecast_result, std::shared_ptr<forecast_result>>(m, "ForecastResult")
      .def_property_readonly("horizon", &forecast_result::horizon)
      .def_property_readonly("quantities", &forecast_result::quantities)
      .def("is_stock", &forecast_result::is_stock, "quantity"_a)
      .def("own", [](py::object self, const std::string& q) { return view(self.cast<const forecast_result&>().own(q), self); },
           "quantity"_a, "Each unit's own expected values, units x months (a read-only view).")
      .def("total",
           [](const forecast_result& f, const std::string& q, int first, int last) {
             return Eigen::ArrayXd(f.total(q, {first, last}));
           },
           "event"_a, "first"_a, "last"_a)
      .def("stock", [](const forecast_result& f, const std::string& s, int month) { return Eigen::ArrayXd(f.stock(s, month)); },
           "stage"_a, "month"_a)
      .def("rolled", [](const forecast_result& f, const std::string& q) { return Eigen::ArrayXXd(f.rolled(q)); }, "quantity"_a);

  // The engine's options as a keyword-only class; defaults read from expected_options.
  const expected_options defaults;
  py::class_<expected_options>(m, "ExpectedOptions")
      .def(py::init([](int threads) { return expected_options{.threads = threads}; }), py::kw_only(),
           "threads"_a = defaults.threads)
      .def_readwrite("threads", &expected_options::threads,
                     "Threads (0 or less: one per core); no effect on the result.")
      .def("__repr__",
           [](const expected_options& o) { return "ExpectedOptions(threads=" + std::to_string(o.threads) + ")"; });

  // The engine touches only C++ data, so other Python threads may run meanwhile.
  m.def("forecast_expected",
        [](std::shared_ptr<scenario> s, int horizon, int threads) {
          py::gil_scoped_release release;
          return std::make_shared<forecast_result>(forecast_expected(*s, horizon, {.threads = threads}));
        },
        "scenario"_a, "horizon"_a, "threads"_a = defaults.threads, "Expected-value forecast (exact means of the model).");
  m.def("forecast_expected",
        [](std::shared_ptr<scenario> s, int horizon, const expected_options& options) {
          py::gil_scoped_release release;
          return std::make_shared<forecast_result>(forecast_expected(*s, horizon, options));
        },
        "scenario"_a, "horizon"_a, "options"_a, "Expected-value forecast with ExpectedOptions.");
}

}  // namespace memberflow::python
