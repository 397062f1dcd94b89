// memberflow._core.allocate: splitting a target down the tree (allocate.hpp). Returns
// the per-unit columns as numpy arrays; an infeasible_target comes back as a dict with
// "error", "unit" and "constraint", which the Python layer raises as
// memberflow.InfeasibleTargetError.
#include <limits>

#include "bindings.hpp"
#include "memberflow/allocate.hpp"
#include "memberflow/apportion.hpp"

namespace memberflow::python {

void register_allocate(py::module_& m) {
  using namespace pybind11::literals;
  m.def(
      "allocate",
      [](const scenario& s, const std::string& node, py::object target, const std::string& method, py::object horizon,
         std::vector<double> weights, std::vector<long long> minimum, std::vector<long long> maximum,
         double tolerance) -> py::dict {
        allocation_options opt;
        opt.method = parse_allocation_method(method);
        opt.horizon = integer_arg<int>(horizon, "horizon", 1, 100000);
        opt.weights = std::move(weights);
        opt.minimum = std::move(minimum);
        opt.maximum = std::move(maximum);
        opt.tolerance = tolerance;
        const auto t = integer_arg<long long>(target, "target", 0, std::numeric_limits<long long>::max() / 4);
        const auto u = s.units().index(node);
        allocation a;
        try {
          py::gil_scoped_release release;
          a = allocate(s, u, t, opt);
        } catch (const infeasible_target& e) {
          return py::dict("error"_a = std::string(e.what()), "unit"_a = e.unit(), "constraint"_a = e.constraint());
        }
        auto arr = [](const auto& v) { return py::array(py::cast(v)); };
        std::vector<bool> in_plan(a.in_plan.begin(), a.in_plan.end());
        return py::dict("in_plan"_a = arr(in_plan), "share"_a = arr(a.share), "own_share"_a = arr(a.own_share),
                        "expected"_a = arr(a.expected), "own_expected"_a = arr(a.own_expected),
                        "p_meet"_a = arr(a.p_meet), "own_p_meet"_a = arr(a.own_p_meet),
                        "exact_evaluations"_a = a.exact_evaluations, "greedy_steps"_a = a.greedy_steps);
      },
      "scenario"_a, "node"_a, "target"_a, "method"_a, "horizon"_a, "weights"_a, "minimum"_a, "maximum"_a,
      "tolerance"_a = allocation_options{}.tolerance);
  m.attr("NO_MAXIMUM") = no_maximum;
  // Hamilton's largest remainders (apportion.hpp): whole parts in proportion, adding up.
  m.def(
      "apportion", [](py::object total, const std::vector<double>& weights) {
        return apportion(integer_arg<long long>(total, "total", 0, std::numeric_limits<long long>::max() / 4), weights);
      },
      "total"_a, "weights"_a);
}

}  // namespace memberflow::python
