// memberflow._core.simulate: the simulation engine, run without the GIL. Progress is
// reported from the calling thread about ten times a second; there the GIL is taken
// back briefly to check for Ctrl-C (PyErr_CheckSignals) and to call the Python
// progress callback. Either can stop the run: the workers finish their current path,
// are joined (no thread outlives the call) and KeyboardInterrupt propagates.
#include <climits>
#include <limits>

#include "bindings.hpp"
#include "memberflow/random.hpp"
#include "memberflow/simulate.hpp"

namespace memberflow::python {


void register_simulate(py::module_& m) {
  using namespace pybind11::literals;
  py::register_exception<cancelled>(m, "Cancelled", PyExc_RuntimeError);
  py::class_<simulation_result, std::shared_ptr<simulation_result>>(m, "SimulationResult")
      .def_property_readonly("means",
                             [](std::shared_ptr<simulation_result> r) {
                               return std::shared_ptr<forecast_result>(r, &r->means);  // shares ownership
                             })
      .def_property_readonly("path_count", [](const simulation_result& r) { return r.path_count; })
      .def_property_readonly("tracked",
                             [](const simulation_result& r) {
                               py::list out;
                               for (const auto& t : r.tracked) out.append(py::make_tuple(t.quantity, t.window.first, t.window.last));
                               return out;
                             })
      .def("distribution", [](const simulation_result& r, std::size_t i) { return pmfs_to_python(r.distributions.at(i)); },
           "index"_a)
      .def("paths",
           [](py::object self, std::size_t i) {
             const auto& r = self.cast<const simulation_result&>();
             if (r.paths.empty()) throw input_error("paths were not kept: simulate with keep_paths=True");
             const auto& v = r.paths.at(i);
             const auto nodes = static_cast<py::ssize_t>(r.means.units().size());
             return py::array_t<std::int64_t>({static_cast<py::ssize_t>(r.path_count), nodes},
                                              {static_cast<py::ssize_t>(sizeof(std::int64_t)) * nodes,
                                               static_cast<py::ssize_t>(sizeof(std::int64_t))},
                                              v.data(), self);
           },
           "index"_a, "Paths x nodes of one tracked quantity (a view, no copy).");

  m.def(
      "simulate",
      [](std::shared_ptr<scenario> s, py::object horizon_arg, py::object paths_arg, py::object seed_arg,
         py::object threads_arg, bool keep_paths,
         std::vector<std::tuple<std::string, int, int>> track, std::vector<double> profile,
         std::vector<std::tuple<std::string, std::string, std::string, std::string, double, double>> uncertainty,
         std::optional<std::pair<long long, std::vector<int>>> course,
         std::optional<std::tuple<bool, double, double, double>> target_rule, py::object progress,
         std::shared_ptr<parameter_draws> parameter_sets) {
        // Types and the C++ types' ranges here; simulate() checks the meaningful ranges.
        const int horizon = integer_arg<int>(horizon_arg, "horizon", INT_MIN, INT_MAX);
        simulation_options o;
        o.paths = integer_arg<long long>(paths_arg, "paths", LLONG_MIN, LLONG_MAX);
        o.seed = integer_arg<std::uint64_t>(seed_arg, "seed", 0, std::numeric_limits<std::uint64_t>::max());
        o.threads = integer_arg<int>(threads_arg, "threads", INT_MIN, INT_MAX);
        o.keep_paths = keep_paths;
        for (auto& [q, a, b] : track) o.track.push_back({q, {a, b}});
        o.inflow_profile = std::move(profile);
        for (auto& [scope, stage, param, dist, a, b] : uncertainty) o.uncertainty.push_back({scope, stage, param, dist, a, b});
        if (parameter_sets) o.parameter_sets = parameter_sets->sets;
        if (course) o.course = course_policy{course->first, course->second};
        if (target_rule) {
          auto [stop, margin, boost, penalty] = *target_rule;
          o.target_rule = target_policy{stop, margin, boost, penalty};
        }
        bool interrupted = false;
        o.progress = [&](long long done, long long total) {
          py::gil_scoped_acquire gil;
          if (PyErr_CheckSignals() != 0) {  // Ctrl-C: the KeyboardInterrupt stays set
            interrupted = true;
            return false;
          }
          if (!progress.is_none()) {
            try {
              progress(done, total);
            } catch (py::error_already_set& e) {
              e.restore();
              interrupted = true;
              return false;
            }
          }
          return true;
        };
        std::shared_ptr<simulation_result> result;
        try {
          py::gil_scoped_release release;
          result = std::make_shared<simulation_result>(simulate(*s, horizon, o));
        } catch (const cancelled&) {
          if (interrupted && PyErr_Occurred()) throw py::error_already_set();
          throw;
        }
        // The last progress call, made once every path is done, may also have met Ctrl-C
        // or an exception from the callback: raise it rather than return with it set.
        if (interrupted && PyErr_Occurred()) throw py::error_already_set();
        return result;
      },
      "scenario"_a, "horizon"_a, "paths"_a, "seed"_a, "threads"_a, "keep_paths"_a, "track"_a, "profile"_a,
      "uncertainty"_a, "course"_a, "target_rule"_a, "progress"_a, "parameter_sets"_a = nullptr);

  m.def("philox4x64",
        [](std::array<std::uint64_t, 4> ctr, std::array<std::uint64_t, 2> key) {
          random::stream::philox::ctr_type c{{ctr[0], ctr[1], ctr[2], ctr[3]}};
          random::stream::philox::key_type k{{key[0], key[1]}};
          const auto r = random::stream::philox()(c, k);
          return std::array<std::uint64_t, 4>{r[0], r[1], r[2], r[3]};
        },
        "counter"_a, "key"_a, "Philox-4x64-10 of one counter and key (for known-answer tests).");
}

}  // namespace memberflow::python
