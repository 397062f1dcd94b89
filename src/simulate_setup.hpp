#pragma once
// The simulation engine's shared pieces (include/memberflow/simulate.hpp): a run's checked
// setup, a person's chances per unit and stage, and the random streams' domains.
//   src/simulate.cpp           entry points, options checks, setup, the workers driving batches
//   src/simulate_step.cpp      the core: a unit's month, drawn as a race or as counts
//   src/simulate_policies.cpp  path parameters (uncertainty, parameter sets), inflow profile,
//                              course seats, the target rule
//   src/simulate_tally.cpp     histograms, sums, merge, bytes, the means and pmfs at the end
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "memberflow/random.hpp"
#include "memberflow/simulate.hpp"

namespace memberflow::sim {

// Stream domains: independent uses of the same counters. A unit's stream is
// (seed, path, unit) in unit_domain; its first uniform comes from first_domain (see
// path_simulator::first_uniform); the course's keys (seed, path, -1, month) from
// course_domain; the uncertainty's draws (seed, path, entry) from uncertainty_domain.
inline constexpr std::uint64_t unit_domain = 0, course_domain = 1, uncertainty_domain = 2, first_domain = 3;
// Events are counted at their places in event_names (pipeline.hpp: event_at::, find_event).
inline constexpr std::size_t n_events = event_names.size();

// A person's chances in one stage. Each stage's random outcomes are drawn as binomials
// whose default outcome (nothing happens) is 0:
//   markov    advance ~ Bin(n, p1 = advance), then exit ~ Bin(n - advance, p2 = exit / (1 - advance));
//   fixed     exit ~ Bin(cohort, p1 = exit) at every age, then at the last age
//             fail ~ Bin(survivors, p2 = 1 - pass_rate);
//   terminal  leave ~ Bin(n, p1 = attrition).
// log_q = log1p(-p): the log-chance that one person takes the default.
struct chances {
  double p1 = 0, p2 = 0, log_q1 = 0, log_q2 = 0;
  static chances of(double p1, double p2) { return {p1, p2, std::log1p(-p1), std::log1p(-p2)}; }
  // a + e may exceed 1 by a rounding (0.9 + 0.1, or an advance capped at 1 - e), so the
  // ratio may exceed 1 by an ulp.
  static chances markov(double advance, double exit) {
    return of(advance, advance < 1 ? std::min(1.0, exit / (1 - advance)) : 0.0);
  }
};

// The chances of every unit and stage, and the arrival rates, for one set of parameters.
struct unit_chances {
  std::vector<chances> stage;              // units x stages
  std::vector<chances> low;                // units: the target rule's lowered-bar cohort
  std::vector<double> person_h;            // units x stages: -log(chance of a person's default), but
                                           // at the last age of a fixed stage (see hazard)
  std::vector<double> inflow, exp_inflow;  // exp(-rate): the Poisson draws reuse them
  std::vector<double> transfer, exp_transfer;
  // Where a unit's arrivals are counted with one mean in every month and path (the
  // scenario's chances, no inflow profile or one of a single factor): their sampler, made
  // once per mean (add_arrival_tables: streams of one mean share it).
  // Per unit and stream an index into `tables`, 0 for none (streams that race have none;
  // the index vectors stay empty when no unit has a table).
  std::vector<std::uint32_t> inflow_table_at, transfer_table_at;
  std::vector<random::poisson_table> tables;  // tables[i - 1] for index i
  const random::poisson_table* inflow_table(std::size_t u) const { return table(inflow_table_at, u); }
  const random::poisson_table* transfer_table(std::size_t u) const { return table(transfer_table_at, u); }

 private:
  const random::poisson_table* table(const std::vector<std::uint32_t>& at, std::size_t u) const {
    return at.empty() || !at[u] ? nullptr : &tables[at[u] - 1];
  }
};

// A run, checked (make_setup): what every worker reads.
struct setup {
  const scenario& sc;
  int horizon;
  const simulation_options& opt;
  std::vector<tracked_quantity> tracked;
  std::vector<std::size_t> tracked_stage;  // stage index, or npos for events
  std::vector<std::size_t> tracked_event;
  std::vector<std::vector<unit_index>> draw_units;  // per uncertainty entry
  std::vector<std::size_t> draw_stage;
  std::vector<param> draw_param;
  std::vector<unit_index> target_nodes;
  bool low_class = false;  // the target rule's lowered-bar cohort in the admission stage
  // Filled after the checks:
  unit_chances chances;                  // without per-path parameters: the same for every path
  std::vector<std::int64_t> x0, total0;  // the state at month 0 (see path_simulator), stage totals
  std::vector<std::vector<std::vector<std::size_t>>> tracked_at;  // [event][month]: tracked windows holding it
  std::vector<std::vector<std::size_t>> stocks_tracked_at;         // [month 0..horizon]: tracked stocks
  // The chances p in (0, 1/2] whose counted draws come from a binomial ladder
  // (random::binomial_ladder, one per p and worker, numbered as here), in increasing order:
  // each p that at least ladder_sharing of the units' stage chances hold (p1 and p2 of
  // every unit and stage, without per-path parameters), and each grid point (ladder_grid)
  // to which at least ladder_sharing of the others round up, as chances estimated unit by
  // unit do (their draws are thinned: path_simulator::stage_binomial). A ladder's tables
  // pay for themselves only over many units' draws: a unit of chances all its own draws
  // binomial_count.
  std::vector<double> ladder_chances;
  // The number of p in ladder_chances, or ladder_chances.size() when it is not there.
  std::size_t ladder_chance(double p) const {
    const auto it = std::lower_bound(ladder_chances.begin(), ladder_chances.end(), p);
    return it != ladder_chances.end() && *it == p ? static_cast<std::size_t>(it - ladder_chances.begin()) : ladder_chances.size();
  }
  std::size_t n_quantities() const { return sc.model().size() + n_events; }
  // Parameters that change from path to path (drawn, or given per path).
  bool per_path_parameters() const { return !opt.uncertainty.empty() || !opt.parameter_sets.empty(); }
  // Policies that act across units at each month's end.
  bool coupled() const { return opt.course.has_value() || opt.target_rule.has_value(); }
};

// p rounded up to 7 significant bits, exact in a double: for p in (0, 1/2] a grid point
// in [p, p (1 + 1/64)], at most 1/2. Own chances near one another share the ladder of
// their grid point (setup::ladder_chances).
inline double ladder_grid(double p) {
  int e = 0;
  const double m = std::frexp(p, &e);  // p = m 2^e, m in [1/2, 1)
  return std::ldexp(std::ceil(m * 128), e - 7);
}

// Chances shared by at least this many unit stage chances get a binomial ladder, and so do
// grid points that many round up to (setup::ladder_chances): with a ladder for every
// unit's own chances a run at ~3,740 people a unit was 1.8x slower (each unit's tables
// miss the cache), while chances shared by all 2,000 units made it 1.2x faster
// (benchmarks/RESULTS.md).
inline constexpr std::size_t ladder_sharing = 32;
// A chance thinned from its grid point's ladder is drawn so from this mean on, below it as
// binomial_count (path_simulator::stage_binomial): the ladder and the thinning cost 17 to
// 23 ns a draw at means 8 to 250, binomial_count 18 at mean 8, 22 at 12, 26 at 16 and 28
// to 37 from 20 on (BM_BinomialLadder); a driver of every unit its own chances at ~3,740
// people a unit ran 875 / 889 / 941 ms with 8 / 14 / 4 (benchmarks/RESULTS.md).
inline constexpr double thin_above = 8;

// Checks the options against the scenario (throwing what simulate.hpp lists) and prepares
// the run; without `to_draw` (finish: the checks and the layout only), not the chances
// and arrival tables the draws read.
setup make_setup(const scenario& sc, int horizon, const simulation_options& opt, bool to_draw = true);

// The chances of every unit and stage under one set of parameters.
unit_chances make_chances(const setup& su, const parameter_set& ps);
// Fills su.ladder_chances from su.chances.
void number_ladder_chances(setup& su);
// The scenario's chances' arrival tables: for each stream whose mean is the same every
// month and that the regime counts with a table (count_threshold(regime, true)), up to
// random::poisson_table::max_mean. A stream with a table is counted, every month.
void add_arrival_tables(unit_chances& c, const setup& su);

}  // namespace memberflow::sim
