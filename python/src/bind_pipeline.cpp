// memberflow._core.Stage and Pipeline: the model's stages and their default parameters.
#include "bindings.hpp"
#include "memberflow/scenario_io.hpp"
#include "memberflow/pipeline.hpp"

namespace memberflow::python {

void register_pipeline(py::module_& m) {
  using namespace pybind11::literals;
  py::enum_<stage_kind>(m, "StageKind")
      .value("markov", stage_kind::markov)
      .value("fixed", stage_kind::fixed)
      .value("terminal", stage_kind::terminal);

  py::class_<stage>(m, "Stage", "One stage of a pipeline with its default parameters.")
      .def_static("markov", &stage::markov, "name"_a, "advance"_a, "exit"_a, "inflow"_a = 0.0)
      .def_static("fixed", &stage::fixed, "name"_a, "months"_a, "exit"_a, "pass_rate"_a)
      .def_static("terminal", &stage::terminal, "name"_a, "attrition"_a, "transfer_in"_a = 0.0)
      .def_readonly("name", &stage::name)
      .def_readonly("kind", &stage::kind)
      .def_readonly("months", &stage::months)
      .def_readonly("advance", &stage::advance)
      .def_readonly("exit", &stage::exit)
      .def_readonly("pass_rate", &stage::pass_rate)
      .def_readonly("attrition", &stage::attrition)
      .def_readonly("inflow", &stage::inflow)
      .def_readonly("transfer_in", &stage::transfer_in);

  py::class_<pipeline, std::shared_ptr<pipeline>>(m, "Pipeline", "A chain of stages (C++ core; use memberflow.Pipeline).")
      .def(py::init<std::vector<stage>, std::string>(), "stages"_a, "admission"_a)
      .def_static("party", &pipeline::party)
      .def_static("from_json", &pipeline_from_json, "text"_a, "source"_a = "pipeline JSON")
      .def_static("read_json", &read_pipeline_json, "path"_a)
      .def("to_json", &pipeline_to_json)
      .def_property_readonly("stages", &pipeline::stages)
      .def_property_readonly("admission", &pipeline::admission)
      .def_property_readonly("terminal", &pipeline::terminal)
      .def_property_readonly("state_size", &pipeline::state_size)
      .def("index", &pipeline::index, "stage"_a)
      .def("offset", &pipeline::offset, "stage"_a)
      .def("width", &pipeline::width, "stage"_a)
      .def("takes", [](const pipeline& p, std::size_t s, const std::string& name) { return p.takes(s, param_from_name(name)); },
           "stage"_a, "param"_a);
  m.attr("EVENT_NAMES") = std::vector<std::string>(event_names.begin(), event_names.end());
  m.attr("PARAM_NAMES") = [] {
    std::vector<std::string> names;
    for (auto p : all_params) names.emplace_back(param_name(p));
    return names;
  }();
}

}  // namespace memberflow::python
