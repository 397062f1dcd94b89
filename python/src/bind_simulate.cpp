// memberflow._core.simulate: the simulation engine, run without the GIL. Progress is
// reported from the calling thread about ten times a second; there the GIL is taken
// back briefly to check for Ctrl-C (PyErr_CheckSignals) and to call the Python
// progress callback. Either can stop the run: the workers finish their current path,
// are joined (no thread outlives the call) and KeyboardInterrupt propagates.
#include <climits>
#include <limits>
#include <string_view>

#include <pybind11/eigen.h>

#include "bindings.hpp"
#include "memberflow/random.hpp"
#include "memberflow/simulate.hpp"

namespace memberflow::python {

namespace {

// The regimes' names in Python (as simulate's regime= argument below).
const char* regime_name(simulation_regime r) {
  switch (r) {
    case simulation_regime::automatic: return "auto";
    case simulation_regime::race: return "race";
    case simulation_regime::counts: return "counts";
  }
  return "auto";
}

simulation_regime regime_from_name(const std::string& name) {
  if (name == "auto") return simulation_regime::automatic;
  if (name == "race") return simulation_regime::race;
  if (name == "counts") return simulation_regime::counts;
  throw input_error("regime must be 'auto', 'race' or 'counts', got '" + name + "'");
}

// The C++ option structs as plain classes with the C++ defaults (default-constructed):
// memberflow.options builds its typed, checked, picklable classes on them and reads
// their defaults from here, so that the defaults live in one place (simulate.hpp).
void register_options(py::module_& m) {
  using namespace pybind11::literals;
  py::class_<parameter_draw>(m, "ParameterDraw", "C++ parameter_draw (use memberflow.ParameterDraw).")
      .def(py::init<>())
      .def_readwrite("scope", &parameter_draw::scope)
      .def_readwrite("stage", &parameter_draw::stage)
      .def_readwrite("param", &parameter_draw::param)
      .def_readwrite("distribution", &parameter_draw::distribution)
      .def_readwrite("a", &parameter_draw::a)
      .def_readwrite("b", &parameter_draw::b);
  py::class_<course_policy>(m, "CoursePolicy", "C++ course_policy (use memberflow.CoursePolicy).")
      .def(py::init<>())
      .def_readwrite("seats", &course_policy::seats)
      .def_readwrite("months", &course_policy::session_months);
  py::class_<target_policy>(m, "TargetRule", "C++ target_policy (use memberflow.TargetRule).")
      .def(py::init<>())
      .def_readwrite("stop_when_met", &target_policy::stop_when_met)
      .def_readwrite("margin", &target_policy::margin)
      .def_readwrite("advance_boost", &target_policy::advance_boost)
      .def_readwrite("pass_penalty", &target_policy::pass_penalty);
  py::class_<simulation_options>(m, "SimulationOptions",
                                 "C++ simulation_options (use memberflow.SimulationOptions); progress is not a field: "
                                 "simulate() takes it beside the options.")
      .def(py::init<>())
      .def_readwrite("paths", &simulation_options::paths)
      .def_readwrite("first_path", &simulation_options::first_path)
      .def_readwrite("seed", &simulation_options::seed)
      .def_property(
          "regime", [](const simulation_options& o) { return std::string(regime_name(o.regime)); },
          [](simulation_options& o, const std::string& name) { o.regime = regime_from_name(name); })
      .def_readwrite("threads", &simulation_options::threads)
      .def_readwrite("keep_paths", &simulation_options::keep_paths)
      .def_property(
          "track",
          [](const simulation_options& o) {
            std::vector<std::tuple<std::string, int, int>> out;
            for (const auto& t : o.track) out.emplace_back(t.quantity, t.window.first, t.window.last);
            return out;
          },
          [](simulation_options& o, const std::vector<std::tuple<std::string, int, int>>& track) {
            o.track.clear();
            for (const auto& [q, a, b] : track) o.track.push_back({q, {a, b}});
          },
          "(quantity, first, last) triples; a stock's is (stage, month, month).")
      .def_readwrite("inflow_profile", &simulation_options::inflow_profile)
      .def_readwrite("uncertainty", &simulation_options::uncertainty)
      .def_property(
          "parameter_sets", [](const simulation_options& o) { return o.parameter_sets.size(); },
          [](simulation_options& o, std::shared_ptr<parameter_draws> draws) {
            if (draws) o.parameter_sets = draws->sets;
            else o.parameter_sets.clear();
          },
          "Set from a ParameterDraws (or None); reads as the number of sets.")
      .def_readwrite("course", &simulation_options::course)
      .def_readwrite("target_rule", &simulation_options::target_rule);

  // Parameter sets as arrays and back: how a fit's draws travel to Dask workers (the
  // options' pickling, memberflow/options.py). The six arrays are all the engine reads;
  // the provenance (explain's) stays behind.
  using set_state = std::tuple<Eigen::ArrayXXd, Eigen::ArrayXXd, Eigen::ArrayXXd, Eigen::ArrayXXd, Eigen::ArrayXd,
                               Eigen::ArrayXd>;
  m.def(
      "parameter_draws_state",
      [](const parameter_draws& d) {
        std::vector<set_state> out;
        for (const auto& p : d.sets) out.emplace_back(p.advance, p.exit, p.pass_rate, p.attrition, p.inflow, p.transfer_in);
        return out;
      },
      "draws"_a, "Each set's advance, exit, pass_rate, attrition (units x stages), inflow, transfer_in (units).");
  m.def(
      "parameter_draws_from_state",
      [](std::vector<set_state> state) {
        auto d = std::make_shared<parameter_draws>();
        for (auto& [advance, exit, pass_rate, attrition, inflow, transfer_in] : state) {
          for (const auto* a : {&exit, &pass_rate, &attrition})
            if (a->rows() != advance.rows() || a->cols() != advance.cols())
              throw input_error("parameter set " + std::to_string(d->sets.size()) + ": arrays of different shapes");
          if (inflow.size() != advance.rows() || transfer_in.size() != advance.rows())
            throw input_error("parameter set " + std::to_string(d->sets.size()) + ": arrays of different shapes");
          parameter_set p;
          p.advance = std::move(advance);
          p.exit = std::move(exit);
          p.pass_rate = std::move(pass_rate);
          p.attrition = std::move(attrition);
          p.inflow = std::move(inflow);
          p.transfer_in = std::move(transfer_in);
          d->sets.push_back(std::move(p));
        }
        return d;
      },
      "state"_a, "ParameterDraws from parameter_draws_state's arrays.");
}

}  // namespace

void register_simulate(py::module_& m) {
  using namespace pybind11::literals;
  register_options(m);
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

  // The options as positional arguments (the original call convention, kept for callers
  // of _core.simulate; first_path: the run's first path; regime: "auto", "race" or
  // "counts").
  using track_arg = std::vector<std::tuple<std::string, int, int>>;
  using uncertainty_arg = std::vector<std::tuple<std::string, std::string, std::string, std::string, double, double>>;
  using course_arg = std::optional<std::pair<long long, std::vector<int>>>;
  using target_arg = std::optional<std::tuple<bool, double, double, double>>;
  auto options_of = [](py::object paths_arg, py::object seed_arg, py::object threads_arg, bool keep_paths,
                       track_arg track, std::vector<double> profile, uncertainty_arg uncertainty, course_arg course,
                       target_arg target_rule, const std::shared_ptr<parameter_draws>& parameter_sets,
                       py::object first_path_arg, const std::string& regime) {
    // Types and the C++ types' ranges here; simulate() checks the meaningful ranges.
    simulation_options o;
    o.paths = integer_arg<long long>(paths_arg, "paths", LLONG_MIN, LLONG_MAX);
    o.first_path = integer_arg<long long>(first_path_arg, "first_path", LLONG_MIN, LLONG_MAX);
    o.seed = integer_arg<std::uint64_t>(seed_arg, "seed", 0, std::numeric_limits<std::uint64_t>::max());
    o.threads = integer_arg<int>(threads_arg, "threads", INT_MIN, INT_MAX);
    o.keep_paths = keep_paths;
    o.regime = regime_from_name(regime);
    for (auto& [q, a, b] : track) o.track.push_back({q, {a, b}});
    o.inflow_profile = std::move(profile);
    for (auto& [scope, stage, param, dist, a, b] : uncertainty) o.uncertainty.push_back({scope, stage, param, dist, a, b});
    if (parameter_sets) o.parameter_sets = parameter_sets->sets;
    if (course) o.course = course_policy{course->first, course->second};
    if (target_rule) {
      auto [stop, margin, boost, penalty] = *target_rule;
      o.target_rule = target_policy{stop, margin, boost, penalty};
    }
    return o;
  };
  // Runs `run` without the GIL, with o.progress checking Ctrl-C and calling `progress`.
  auto with_progress = [](simulation_options& o, py::object progress, auto run) {
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
    try {
      py::gil_scoped_release release;
      run();
    } catch (const cancelled&) {
      if (interrupted && PyErr_Occurred()) throw py::error_already_set();
      throw;
    }
    // The last progress call, made once every path is done, may also have met Ctrl-C
    // or an exception from the callback: raise it rather than return with it set.
    if (interrupted && PyErr_Occurred()) throw py::error_already_set();
  };

  m.def(
      "simulate",
      [=](std::shared_ptr<scenario> s, py::object horizon_arg, py::object paths_arg, py::object seed_arg,
          py::object threads_arg, bool keep_paths, track_arg track, std::vector<double> profile,
          uncertainty_arg uncertainty, course_arg course, target_arg target_rule, py::object progress,
          std::shared_ptr<parameter_draws> parameter_sets, py::object first_path, std::string regime) {
        const int horizon = integer_arg<int>(horizon_arg, "horizon", INT_MIN, INT_MAX);
        auto o = options_of(paths_arg, seed_arg, threads_arg, keep_paths, std::move(track), std::move(profile),
                            std::move(uncertainty), std::move(course), std::move(target_rule), parameter_sets,
                            first_path, regime);
        std::shared_ptr<simulation_result> result;
        with_progress(o, progress, [&] { result = std::make_shared<simulation_result>(simulate(*s, horizon, o)); });
        return result;
      },
      "scenario"_a, "horizon"_a, "paths"_a, "seed"_a, "threads"_a, "keep_paths"_a, "track"_a, "profile"_a,
      "uncertainty"_a, "course"_a, "target_rule"_a, "progress"_a, "parameter_sets"_a = nullptr, "first_path"_a = 0,
      "regime"_a = "auto");

  // simulate, simulate_tally and simulate_finish with the options as one SimulationOptions
  // (memberflow.SimulationOptions fills it: memberflow/options.py).
  m.def(
      "simulate",
      [=](std::shared_ptr<scenario> s, py::object horizon_arg, simulation_options o, py::object progress) {
        const int horizon = integer_arg<int>(horizon_arg, "horizon", INT_MIN, INT_MAX);
        std::shared_ptr<simulation_result> result;
        with_progress(o, progress, [&] { result = std::make_shared<simulation_result>(simulate(*s, horizon, o)); });
        return result;
      },
      "scenario"_a, "horizon"_a, "options"_a, "progress"_a = py::none());
  m.def(
      "simulate_tally",
      [=](std::shared_ptr<scenario> s, py::object horizon_arg, simulation_options o, py::object progress) {
        const int horizon = integer_arg<int>(horizon_arg, "horizon", INT_MIN, INT_MAX);
        std::string bytes;
        with_progress(o, progress, [&] { bytes = simulate_tally(*s, horizon, o).to_bytes(); });
        return py::bytes(bytes);
      },
      "scenario"_a, "horizon"_a, "options"_a, "progress"_a = py::none());
  // The tallies' bytes merged, without the GIL. The bytes are read where Python holds them
  // (immutable, and alive in `tallies` for the call), not copied: a national tally is
  // 430 MB. The first one read becomes the total (moved, not copied into it).
  auto merged = [](const std::vector<py::bytes>& tallies) {
    std::vector<std::string_view> views;
    for (const auto& b : tallies) {
      char* data = nullptr;
      Py_ssize_t size = 0;
      if (PyBytes_AsStringAndSize(b.ptr(), &data, &size) != 0) throw py::error_already_set();
      views.emplace_back(data, static_cast<std::size_t>(size));
    }
    py::gil_scoped_release release;
    simulation_tally total = views.empty() ? simulation_tally{} : simulation_tally::from_bytes(views[0]);
    for (std::size_t i = 1; i < views.size(); ++i) merge(total, simulation_tally::from_bytes(views[i]));
    return total;
  };
  m.def(
      "simulate_finish",
      [=](std::shared_ptr<scenario> s, py::object horizon_arg, const simulation_options& o,
          const std::vector<py::bytes>& tallies) {
        const int horizon = integer_arg<int>(horizon_arg, "horizon", INT_MIN, INT_MAX);
        auto total = merged(tallies);
        py::gil_scoped_release release;
        return std::make_shared<simulation_result>(finish(*s, horizon, o, std::move(total)));
      },
      "scenario"_a, "horizon"_a, "options"_a, "tallies"_a);
  m.def(
      "simulate_merge",
      [=](const std::vector<py::bytes>& tallies) {
        const std::string bytes = merged(tallies).to_bytes();
        return py::bytes(bytes);
      },
      "tallies"_a, "One tally (bytes) from the tallies of some batches of a run: merged where they are (a Dask worker).");

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
