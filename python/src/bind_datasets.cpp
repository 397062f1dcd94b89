// memberflow._core example and synthetic scenarios.
#include "bindings.hpp"
#include "memberflow/datasets.hpp"

namespace memberflow::python {

void register_datasets(py::module_& m) {
  using namespace pybind11::literals;
  m.def("example_district", [](int year) { return std::make_shared<scenario>(datasets::example_district(year)); },
        "year"_a = 2021);
  m.def("synthetic",
        [](std::vector<double> fanout, std::vector<std::string> kinds, double members, double rural, std::uint64_t seed) {
          datasets::synthetic_options o{std::move(fanout), std::move(kinds), members, rural, seed};
          py::gil_scoped_release release;
          return std::make_shared<scenario>(datasets::synthetic(o));
        },
        "fanout"_a, "kinds"_a, "members_per_leaf"_a, "rural_share"_a, "seed"_a);
}

}  // namespace memberflow::python
