#pragma once
// Synthetic records with a known truth: an organisation's history simulated person by
// person from parameters that differ between units and drift from year to year, written
// as the event log of records.hpp and as yearly counts per unit. Estimators are tested
// on it (docs/history.md): the truth they should recover is returned beside the records.
#include <cstdint>
#include <vector>

#include "memberflow/datasets.hpp"
#include "memberflow/scenario.hpp"
#include "memberflow/table.hpp"

namespace memberflow::datasets {

struct history {
  // One row per event: person_id, unit_id, event, date (YYYY-MM-DD), to_unit_id (always
  // empty: the model has no moves between units). Everybody present at the start has an
  // entry event of their stage dated in the month before the first month (a fixed stage:
  // dated so that their age at the start is right), so the log alone says who is where.
  // Rows: these opening entries unit by unit, then the months in order, unit by unit.
  text_table events;
  // One row per unit and calendar year: unit_id, year, <stage>_start for every stage
  // (stocks at the start of the year), arrivals (into the first stage from outside), the
  // entries into every later stage (training_entries, admissions, confirmations),
  // not_confirmed (failures at the end of a fixed stage), <stage>_exits (`left` from the
  // stage; the terminal stage's transfer_out apart), transfers_in, transfers_out and
  // <stage>_end (stocks at the start of the next year).
  text_table yearly;
  std::vector<int> years;            // calendar years, first to last
  std::vector<parameter_set> truth;  // the parameters of every unit, one set per year
  scenario start;                    // stocks at the start of the first year, its parameters
  scenario end;                      // stocks the log implies at the start of the year after
  // example_history's calibration: the factor on every unit's inflow and the shift of the
  // last year's logit of the advance rate into admission (1 and 0 from simulate_history).
  double inflow_scale = 1, last_year_shift = 0;
};

// Simulates people one by one, month by month, under the model of
// docs/pipeline-model.md with truth[k] for the months of year k, from start.stocks (whole
// people) at start.start, which must be a January. Random numbers: a Philox stream per
// (seed, unit, month) (random.hpp), so the same arguments give the same records to the
// bit. Of the terminal stage's attrition, a share `transfer_out_share` is written as
// transfer_out and the rest as left. end.params is truth.back(), start.params truth[0].
// yearly = false leaves `yearly` empty (nationally it would be ~1.5 million rows).
history simulate_history(const scenario& start, const std::vector<parameter_set>& truth, std::uint64_t seed,
                         double transfer_out_share = 1.0 / 3, bool yearly = true);

struct history_options {
  std::uint64_t seed = 0;
  int years = 5;  // 2..30, ending with 2020
  // Unit effects: standard deviations, on the logit of probabilities and the log of
  // arrival rates, of a normal effect of each unit at depth 1, 2, ... (deeper levels use
  // the last); a unit's effect is the sum of its own and its ancestors'.
  std::vector<double> level_sd{0.3, 0.2};
  // Drift, on the same scales: a district-wide random walk (each parameter's step from
  // one year to the next is normal with this sd) and each unit's own random walk.
  double year_sd = 0.15;
  double unit_drift_sd = 0.05;
  double transfer_out_share = 1.0 / 3;
};

// The example district's history, years ending with 2020 (default 2016-01 .. 2020-12):
// example_district()'s organisation and parameters (rural units thinner) with unit
// effects and drift drawn from the seed, then calibrated in expectation to the article:
// the inflow is scaled so that the expected 2020 confirmations are 141, and a year effect
// on training's advance rate in 2020 is solved so that the expected 2020 admissions are
// 89 (the 2019 admissions are then about 149). The start is the steady state of the
// first year's parameters (Poisson counts, the model's stationary law) with full members
// scaled so that the expected end total is example_district(2021)'s; end.targets are
// example_district(2021)'s.
history example_history(const history_options& options = {});

// One parameter set per year (options.years) from base.params, with the unit effects and
// drift of `options` (level_sd, year_sd, unit_drift_sd, seed): what example_history draws
// for the district, for any organisation, without its calibration.
std::vector<parameter_set> drifting_parameters(const scenario& base, const history_options& options);

// The history of synthetic(org_options) (datasets.hpp) over options.years years ending
// with 2020: from its stocks (near the steady state) in January of the first year, under
// drifting_parameters of its parameters. Not calibrated. The national organisation with
// members_per_leaf = 3.5 gives ~300,000 units and ~1.5 million events over five years
// (benchmarks/python/bench_estimate.py).
history synthetic_history(const synthetic_options& org_options, const history_options& options = {},
                          bool yearly = true);

}  // namespace memberflow::datasets
