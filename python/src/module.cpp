// memberflow._core: the compiled half of the memberflow Python package. Users import
// `memberflow`, whose Python layer owns the API (pandas in and out, display, the CLI).
#include "bindings.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "Compiled core of memberflow (private: use the memberflow package).";
  // The one version: CMakeLists.txt's project(VERSION), which pyproject.toml reads too.
  m.attr("__version__") = MEMBERFLOW_VERSION;
  using namespace memberflow::python;
  register_errors(m);
  register_org(m);
  register_pipeline(m);
  register_scenario(m);
  register_forecast(m);
  register_funnel(m);
  register_datasets(m);
  register_exact(m);
  register_history(m);
  register_records(m);
  register_estimate(m);
  register_simulate(m);  // after estimate: its options take estimate's ParameterDraws
  register_backtest(m);
  register_allocate(m);
}
