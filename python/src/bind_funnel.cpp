// memberflow._core funnel analytics: the pipeline as an absorbing Markov chain.
#include <pybind11/eigen.h>

#include "bindings.hpp"
#include "memberflow/funnel.hpp"
#include "memberflow/scenario.hpp"

namespace memberflow::python {

void register_funnel(py::module_& m) {
  using namespace pybind11::literals;
  py::class_<absorbing_chain>(m, "AbsorbingChain")
      .def(py::init<Eigen::MatrixXd, Eigen::MatrixXd>(), "q"_a, "r"_a)
      .def_property_readonly("fundamental", &absorbing_chain::fundamental)
      .def("expected_steps", &absorbing_chain::expected_steps)
      .def("absorption_probabilities", &absorbing_chain::absorption_probabilities)
      .def("reach_probabilities", &absorbing_chain::reach_probabilities)
      .def("steps_to_transient", &absorbing_chain::steps_to_transient, "j"_a)
      .def("steps_to_absorbing", &absorbing_chain::steps_to_absorbing, "k"_a);

  m.def("funnel",
        [](const pipeline& p, std::size_t from, int age, std::shared_ptr<scenario> s, int unit) {
          stage_rates rates = stage_rates::defaults(p);
          if (s) {  // one unit's resolved parameters
            for (std::size_t k = 0; k < p.size(); ++k) {
              const auto ki = static_cast<Eigen::Index>(k);
              rates.advance[k] = s->params.advance(unit, ki);
              rates.exit[k] = s->params.exit(unit, ki);
              rates.pass_rate[k] = s->params.pass_rate(unit, ki);
              rates.attrition[k] = s->params.attrition(unit, ki);
            }
          }
          py::dict cols;
          py::list stage, reach, time, to_reach;
          for (const auto& row : funnel(p, rates, from, age)) {
            stage.append(row.stage);
            reach.append(row.prob_reach);
            time.append(row.expected_time);
            to_reach.append(row.expected_time_to_reach);
          }
          cols["stage"] = stage;
          cols["prob_reach"] = reach;
          cols["expected_time"] = time;
          cols["expected_time_to_reach"] = to_reach;
          return cols;
        },
        "pipeline"_a, "from_stage"_a, "age"_a = 0, "scenario"_a = nullptr, "unit"_a = 0);
}

}  // namespace memberflow::python
