// memberflow._core synthetic history of the example district (memberflow.datasets.example_history).
#include <filesystem>
#include <tuple>

#include "bindings.hpp"
#include "memberflow/history.hpp"
#include "memberflow/scenario_io.hpp"

namespace memberflow::python {

namespace {

// The truth as tidy columns: one row per unit, year, stage and parameter the stage takes.
py::dict truth_columns(const datasets::history& h) {
  const auto& o = h.start.units();
  const auto& p = h.start.model();
  std::vector<std::string> units, stages, params;
  std::vector<int> years;
  std::vector<double> values;
  for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u)
    for (std::size_t k = 0; k < h.truth.size(); ++k)
      for (std::size_t s = 0; s < p.size(); ++s)
        for (auto prm : all_params)
          if (p.takes(s, prm)) {
            units.push_back(o.id(u));
            years.push_back(h.years[k]);
            stages.push_back(p.stages()[s].name);
            params.emplace_back(param_name(prm));
            values.push_back(h.truth[k].get(u, s, prm));
          }
  py::dict out;
  out["unit_id"] = units;
  out["year"] = py::array_t<int>(static_cast<py::ssize_t>(years.size()), years.data());
  out["stage"] = stages;
  out["param"] = params;
  out["value"] = py::array_t<double>(static_cast<py::ssize_t>(values.size()), values.data());
  return out;
}

// The history options from Python's arguments, seed and years range-checked.
datasets::history_options history_options_of(py::handle seed, py::handle years, std::vector<double> level_sd,
                                             double year_sd, double unit_drift_sd, double transfer_out_share) {
  return {.seed = integer_arg<std::uint64_t>(seed, "seed", 0, UINT64_MAX),
          .years = integer_arg<int>(years, "years", 2, 30),
          .level_sd = std::move(level_sd),
          .year_sd = year_sd,
          .unit_drift_sd = unit_drift_sd,
          .transfer_out_share = transfer_out_share};
}

// The records and scenarios of a history as Python values: events and yearly as columns,
// the truth tidy, the start and end scenarios.
py::dict history_dict(datasets::history&& h) {
  py::dict out;
  out["events"] = table_to_columns(h.events);
  out["yearly"] = table_to_columns(h.yearly);
  out["truth"] = truth_columns(h);
  out["years"] = h.years;
  out["start"] = std::make_shared<scenario>(std::move(h.start));
  out["end"] = std::make_shared<scenario>(std::move(h.end));
  return out;
}

}  // namespace

void register_history(py::module_& m) {
  using namespace pybind11::literals;
  m.def(
      "example_history",
      [](py::handle seed, py::handle years, std::vector<double> level_sd, double year_sd, double unit_drift_sd,
         double transfer_out_share) {
        const auto o = history_options_of(seed, years, std::move(level_sd), year_sd, unit_drift_sd, transfer_out_share);
        auto h = [&] {
          py::gil_scoped_release release;
          return datasets::example_history(o);
        }();
        auto calibration = py::dict("inflow_scale"_a = h.inflow_scale, "last_year_shift"_a = h.last_year_shift);
        auto out = history_dict(std::move(h));
        out["calibration"] = calibration;
        return out;
      },
      "seed"_a, "years"_a, "level_sd"_a, "year_sd"_a, "unit_drift_sd"_a, "transfer_out_share"_a);
  m.def(
      "simulate_history",
      [](const scenario& start, const std::vector<std::shared_ptr<scenario>>& truth, py::handle seed,
         double transfer_out_share) {
        // truth[k]'s parameters apply to year k; each must be of start's organisation.
        std::vector<parameter_set> sets;
        for (const auto& t : truth) {
          if (!t || t->organisation != start.organisation)
            throw input_error("simulate_history: every year's scenario must have the start's organisation");
          sets.push_back(t->params);
        }
        const auto s = integer_arg<std::uint64_t>(seed, "seed", 0, UINT64_MAX);
        auto h = [&] {
          py::gil_scoped_release release;
          return datasets::simulate_history(start, sets, s, transfer_out_share);
        }();
        return history_dict(std::move(h));
      },
      "start"_a, "truth"_a, "seed"_a, "transfer_out_share"_a,
      "The history simulated person by person from start (a January) with truth[k]'s parameters in year k "
      "(datasets::simulate_history, docs/history.md).");
  m.def(
      "write_synthetic_history",
      [](const std::string& directory, std::vector<double> fanout, std::vector<std::string> kinds,
         double members_per_leaf, double rural_share, py::handle org_seed, py::handle seed, py::handle years,
         std::vector<double> level_sd, double year_sd, double unit_drift_sd, double transfer_out_share) {
        datasets::synthetic_options so{std::move(fanout), std::move(kinds), members_per_leaf, rural_share,
                                       integer_arg<std::uint64_t>(org_seed, "org_seed", 0, UINT64_MAX)};
        const auto o = history_options_of(seed, years, std::move(level_sd), year_sd, unit_drift_sd, transfer_out_share);
        // Everything in C++ with the GIL released: nationally the log is ~1.5 million rows,
        // which as Python strings would take longer to build than to simulate.
        const std::filesystem::path dir(directory);
        const auto written = [&] {
          py::gil_scoped_release release;
          const auto h = datasets::synthetic_history(so, o, false);
          std::filesystem::create_directories(dir);
          write_csv(h.events, (dir / "events.csv").string());
          write_scenario(h.start, (dir / "start").string());
          return std::tuple{h.start.units().size(), h.events.rows.size(), h.start.start->str(),
                            h.end.start->plus(-1).str()};
        }();
        return py::dict("events"_a = (dir / "events.csv").string(), "start"_a = (dir / "start").string(),
                        "units"_a = std::get<0>(written), "rows"_a = std::get<1>(written),
                        "first"_a = std::get<2>(written), "last"_a = std::get<3>(written));
      },
      "directory"_a, "fanout"_a, "kinds"_a, "members_per_leaf"_a, "rural_share"_a, "org_seed"_a, "seed"_a,
      "years"_a, "level_sd"_a, "year_sd"_a, "unit_drift_sd"_a, "transfer_out_share"_a);
}

}  // namespace memberflow::python
