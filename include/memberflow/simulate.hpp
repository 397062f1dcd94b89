#pragma once
// The simulation engine: the model of docs/pipeline-model.md path by path, month by
// month, for every unit, with policies that make people depend on each other or on the
// running count (which the exact engine cannot express).
//
// Reproducible to the bit: every draw of a path comes from Philox streams keyed by the
// seed and counted by (path, unit) (src/simulate_setup.hpp says which domain serves
// what), and summaries are integer counts (histograms, sums) merged by addition, so the
// result is the same for any number of threads and any split of the paths into batches
// (simulate_tally, merge, finish below).
//
// How it is fast (docs/simulation.md): each unit-month's random outcomes are components
// (binomials and Poissons whose default, nothing happens, is 0). A component expected to
// have many events is drawn as a count (random::binomial / poisson, whose cost hardly
// grows with the number of people; a markov stage's multinomial as chained binomials);
// the others run a race in "hazard time": the unit holds a budget E ~ Exp(1) and walks
// its components month after month, spending h = -log P(default) on each default; where
// E < h that component has an event, drawn given "not 0" from v = exp(-E), uniform on
// (d, 1], and a fresh E follows. This is exact sampling (the memorylessness of the
// exponential), and a quiet month costs a subtraction; months that share one hazard are
// skipped together (floor(E / H) quiet months, then a busy one). Which components are
// counts is the `regime` option's cost rule, a function of the state and chances only.
//
// Policies (each off unless given):
//   inflow_profile   arrivals into the first stage in month t are
//                    Poisson(inflow x profile[t mod size]): a campaign month, a season.
//   uncertainty      per path, a parameter of a scope (a unit, "kind:<kind>" or "*") is
//                    drawn from Beta(a, b) (probabilities) or Gamma(shape, scale)
//                    (rates), one draw per path and entry, shared by the scope's units.
//   parameter_sets   path i runs with parameter_sets[i mod size]: parameters drawn from
//                    a fit's predictive distribution (draw_parameters, estimate.hpp),
//                    whose shared year shift moves all units of a path together.
//                    Not together with `uncertainty`.
//   course           training completes only at course sessions: in a session month
//                    each trainee is ready with the unit's advance probability; when
//                    more are ready than `seats` across the organisation, the seats go
//                    to a uniformly random subset of the ready, and the rest wait in
//                    training; outside session months no one advances from training
//                    (exits still happen). Training = the stage before admission.
//   target_rule      for every node with a target (admissions over each year from
//                    month 0): once the subtree's admissions this year reach the target,
//                    its units admit no one until the year ends (if stop_when_met); at
//                    the end of each quarter q, if the subtree's admissions this year
//                    are below target x q/4 - margin, its units' advance into admission
//                    is raised by advance_boost (capped so advance + exit <= 1) for the
//                    next quarter, and the people admitted under that lowered bar pass
//                    probation with pass_rate - pass_penalty (floored at 0).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "memberflow/distribution.hpp"
#include "memberflow/forecast.hpp"
#include "memberflow/scenario.hpp"

namespace memberflow {

struct tracked_quantity {
  std::string quantity;  // an event or a stage name
  month_window window;   // events: months [first, last); stocks: {month, month}
};

struct parameter_draw {
  std::string scope;  // unit id, "kind:<kind>" or "*"
  std::string stage;
  std::string param;
  std::string distribution;  // "beta" or "gamma"
  double a = 1, b = 1;       // beta: alpha, beta; gamma: shape, scale
};

struct course_policy {
  long long seats = 0;
  std::vector<int> session_months;  // forecast months (0-based) in which a session ends
};

struct target_policy {
  bool stop_when_met = true;
  double margin = 0;
  double advance_boost = 0;
  double pass_penalty = 0;
};

// How a unit's month is drawn (docs/simulation.md). Every regime draws from the model's
// law exactly; they spend the random numbers differently, so they give different bits.
//   race       the race in hazard time for every component: a subtraction per quiet
//              component, a conditional draw and a fresh uniform per component with
//              an event; its cost grows with the events.
//   counts     every component's count drawn at once (binomials, a markov stage's two
//              outcomes as chained binomials, Poissons), one draw per non-empty
//              component whatever the number of people; a stage's binomials from the
//              ladder of their chance (random::binomial_ladder) where many units share
//              it and the parameters do not change by path.
//   automatic  the cost rule, per unit, month and component (a stage's draw, a cohort's
//              exits, an arrival stream): a count when the component's expected number
//              of events (n p, or the Poisson mean) exceeds count_cost_per_component
//              (count_cost_per_table for an arrival stream whose mean is the same in
//              every month and path), else the race. Summed over a unit-month: counts
//              where the expected events exceed the constant x the counted components.
//              The choice is a function of the unit's state and chances only, never of
//              the thread or the batch, so the same seed gives the same bits for any
//              thread count or split.
enum class simulation_regime { automatic, race, counts };
// The cost rule's constant: the mean from which counting a component pays. Alone, a count
// from its binomial ladder is cheaper than the race from mean ~0.2 (benchmarks/cpp/
// simulate_benchmark.cpp, BM_Draw: 9 against 15 ns at 0.5, 22 at 1), but a counted
// component makes its month busy (drawn in full, not skipped with the quiet months), and
// the engine is fastest at 1 (a C++ driver at ~37 / ~118 / ~374 people a unit, 1 thread:
// 378 / 651 / 746 ms at 1, 387 / 669 / 794 at 0.5, 453 / 676 / 818 at 0.3).
inline constexpr double count_cost_per_component = 1.0;
// The same for an arrival stream whose mean is the same in every month and path: counted
// from a table made once (random::poisson_table, 4-5 ns a draw against ~30 for a sampler's
// count at mean 1, BM_PoissonTable), it is cheaper counted than raced from a lower mean.
// Not much lower: a counted component makes every month of its unit busy (drawn in full),
// where the race skips the quiet ones. In the density sweep (1 thread) a unit-month at
// ~118 people (arrivals 0.95 a month) 143.2 -> 136.2 ns with 0.5 instead of 1; at ~37
// people (0.3 a month) 78.3 at 1, 78.6 at 0.5, 81.0 at 0.25; at ~12 (0.095) 34.9 at 1 and
// 0.25, 53.4 at 0.08.
inline constexpr double count_cost_per_table = 0.5;

struct simulation_options {
  long long paths = 1000;
  // The run simulates paths [first_path, first_path + paths); path i's draws depend on
  // (seed, i) only, so batches of one run on other machines give the same paths.
  long long first_path = 0;
  std::uint64_t seed = 0;
  simulation_regime regime = simulation_regime::automatic;
  int threads = 0;  // 0: one per core
  bool keep_paths = false;
  std::vector<tracked_quantity> track;  // empty: the default set (see default_tracking)
  std::vector<double> inflow_profile;
  std::vector<parameter_draw> uncertainty;
  std::vector<parameter_set> parameter_sets;
  std::optional<course_policy> course;
  std::optional<target_policy> target_rule;
  // Called on the calling thread about ten times a second with the paths done, and once
  // at the end; return false to stop (simulate then throws `cancelled`).
  std::function<bool(long long done, long long total)> progress;
};

class cancelled : public error {
 public:
  using error::error;
};

// Admissions and confirmations over the whole horizon, the first year and each
// quarter; every stage's stock at the horizon.
std::vector<tracked_quantity> default_tracking(const pipeline& p, int horizon);

struct simulation_result {
  forecast_result means;  // per unit and month: the mean over paths (own figures)
  std::vector<tracked_quantity> tracked;
  // distributions[i][u]: the empirical pmf of tracked[i] at node u (subtree total).
  std::vector<pmf_table> distributions;
  // With keep_paths: paths[i] is paths x nodes (row-major) of subtree totals.
  std::vector<std::vector<std::int64_t>> paths;
  long long path_count = 0;
};

// What simulate refuses up front, with the size the run would need:
//   threads above max_threads (results do not depend on the thread count);
//   a unit that could see more than max_people_per_unit people over the horizon (its
//     stocks plus horizon x (inflow x the largest profile factor + transfer_in), with
//     drawn rates at their mean + 10 standard deviations): draws cost O(sqrt(count)),
//     and subtree sums x paths must fit 64-bit integers;
//   paths x units x horizon above max_unit_months (hours of work);
//   per-thread tallies and keep_paths' arrays that exceed the memory the process may use.
// A worker thread that cannot be started stops the run with an `error` (no abort).
inline constexpr int max_threads = 1024;
inline constexpr double max_people_per_unit = 1e9;
inline constexpr double max_unit_months = 1e12;

simulation_result simulate(const scenario& sc, int horizon, const simulation_options& options);

namespace detail {
class window_histograms;
}

// The raw result of a batch of paths: integer histograms and integer sums, everything
// before dividing by the number of paths, so that batches merge by addition.
//
// Batches for a cluster: split the paths [0, P) of a run into any batches
// [f_i, f_i + p_i) (options.first_path = f_i, options.paths = p_i, all else the same),
// run simulate_tally on each (anywhere, any thread count), merge the tallies in any
// order, and finish with the whole run's options (first_path 0, paths P): the result is
// bit-identical to simulate() with P paths, means and distributions alike (and kept
// paths, with keep_paths). simulate() is simulate_tally + finish.
struct simulation_tally {
  int horizon = 0;
  std::uint64_t seed = 0;
  std::size_t units = 0;
  std::size_t quantities = 0;  // stages, then events (event_names)
  simulation_regime regime = simulation_regime::automatic;
  std::vector<tracked_quantity> tracked;
  // The paths tallied: disjoint ranges [first, first + count), sorted.
  std::vector<std::pair<long long, long long>> ranges;
  // Units x quantities x months: for stages the net change of the stock in each month,
  // for events their count, summed over the paths.
  std::vector<std::int64_t> sums;
  // With keep_paths: per range, tracked x (count x nodes) subtree totals.
  std::vector<std::vector<std::vector<std::int64_t>>> kept;

  simulation_tally();
  ~simulation_tally();
  simulation_tally(const simulation_tally&);
  simulation_tally(simulation_tally&&) noexcept;
  simulation_tally& operator=(const simulation_tally&);
  simulation_tally& operator=(simulation_tally&&) noexcept;

  long long path_count() const;
  // The values finish's pmfs span (per node and tracked quantity, from the least value its
  // histogram holds to the greatest; 8 bytes each): the memory finish will take, which it
  // checks against the memory the process may use before it takes it.
  double pmf_cells() const;
  // Versioned and checked bytes (little-endian hosts): from_bytes throws input_error on a
  // buffer of another version, cut short, too long, or whose checksum does not match.
  std::string to_bytes() const;
  static simulation_tally from_bytes(std::string_view bytes);
  // The checksum to_bytes appends over everything before it (8 bytes, little-endian); a
  // fuzzer seals its mutated bodies with it so that from_bytes parses them.
  static std::uint64_t checksum(std::string_view bytes);

  // Nodes x tracked histograms of subtree totals (node-major); for the engine.
  detail::window_histograms& histograms();
  const detail::window_histograms& histograms() const;

 private:
  std::unique_ptr<detail::window_histograms> hist_;
};

simulation_tally simulate_tally(const scenario& sc, int horizon, const simulation_options& options);
// Adds `other` into `into`; throws input_error when they are not batches of one run
// (horizon, seed, units, tracked quantities or regime differ) or their paths overlap.
void merge(simulation_tally& into, const simulation_tally& other);
// The result of the whole run: `whole_run` are its options (first_path and paths those
// of the whole run); throws input_error unless the tally's paths are exactly its paths.
simulation_result finish(const scenario& sc, int horizon, const simulation_options& whole_run, simulation_tally tally);

}  // namespace memberflow
