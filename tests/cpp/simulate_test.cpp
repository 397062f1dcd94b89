// The simulation engine (simulate.hpp) against the model of shared/spec/pipeline-model.md
// and the documented semantics of each policy:
//   - all policies off: the simulated distributions agree with the exact engine
//     (chi-square) and the means with the exact and expected engines (standard errors),
//     on the example district and on small random scenarios with other pipelines;
//   - reproducibility: the same bits for 1, 2 and 16 threads, a path's outcome depends on
//     (seed, path) only (a 100-path run is the first 100 paths of a 300-path run);
//   - each policy on its own against an answer derived here: inflow profile (Poisson
//     arrivals scaled by month), uncertainty (beta-binomial and negative-binomial laws,
//     shared draws), course (binomial completions at sessions, hypergeometric seats),
//     target rule (stopping, boosting, the lowered bar at confirmation);
//   - people are conserved in every path under every policy; invalid inputs are refused.
//
// Thresholds are derived, never tuned: chi-square statistics are held to the 0.999
// quantile (Wilson-Hilferty), or, when a test makes K comparisons, to the 1 - 0.001/K
// quantile (Bonferroni: the whole test then errs with probability <= 0.001); means to 5
// standard errors, or to the Bonferroni normal quantile for K comparisons.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "catch.hpp"
#include "statistics.hpp"
#include "memberflow/datasets.hpp"
#include "memberflow/exact.hpp"
#include "memberflow/expected.hpp"
#include "memberflow/simulate.hpp"
#include "../../src/simulate_setup.hpp"  // ladder_sharing
#include "../../src/simulate_tally.hpp"  // window_histograms, for the merge test

using namespace memberflow;

namespace {

using mf_test::chi_square;
using mf_test::chi_square_quantile;
using mf_test::chi_square_result;
using mf_test::counts;
using mf_test::normal_upper_quantile;
using mf_test::tabulate;

// -- statistics -----------------------------------------------------------------------------------



// A normal quantile for K two-sided comparisons erring together with probability 0.001,
// never below 5.
double z_for(std::size_t comparisons) {
  return std::max(5.0, normal_upper_quantile(0.001 / (2.0 * static_cast<double>(comparisons))));
}




// The counts behind a simulated (empirical) pmf of `paths` paths.
counts counts_of(const pmf& simulated, long long paths) {
  counts c;
  for (std::size_t k = 0; k < simulated.p.size(); ++k)
    if (simulated.p[k] > 0)
      c[simulated.offset + static_cast<long long>(k)] = std::llround(simulated.p[k] * static_cast<double>(paths));
  return c;
}


double log_choose(double n, double k) { return std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1); }

pmf binomial_reference(long long n, double p) {
  return tabulate(0, n, [&](long long k) {
    if (p <= 0) return k == 0 ? 1.0 : 0.0;
    if (p >= 1) return k == n ? 1.0 : 0.0;
    const double dk = static_cast<double>(k), dn = static_cast<double>(n);
    return std::exp(log_choose(dn, dk) + dk * std::log(p) + (dn - dk) * std::log1p(-p));
  });
}

pmf poisson_reference(double mu) {
  const auto hi = static_cast<long long>(mu + 15 * std::sqrt(mu) + 30);
  return tabulate(0, hi, [&](long long k) {
    const double dk = static_cast<double>(k);
    return std::exp(dk * std::log(mu) - mu - std::lgamma(dk + 1));
  });
}

struct mean_sd {
  double mean = 0, var = 0;
};
mean_sd column_stats(const std::vector<std::int64_t>& kept, std::size_t nodes, std::size_t node) {
  const std::size_t paths = kept.size() / nodes;
  double s = 0, s2 = 0;
  for (std::size_t i = 0; i < paths; ++i) s += static_cast<double>(kept[i * nodes + node]);
  const double mean = s / static_cast<double>(paths);
  for (std::size_t i = 0; i < paths; ++i) {
    const double d = static_cast<double>(kept[i * nodes + node]) - mean;
    s2 += d * d;
  }
  return {mean, s2 / static_cast<double>(paths - 1)};
}

counts column_counts(const std::vector<std::int64_t>& kept, std::size_t nodes, std::size_t node) {
  counts c;
  for (std::size_t i = node; i < kept.size(); i += nodes) ++c[kept[i]];
  return c;
}

// -- scenarios --------------------------------------------------------------------------------------

std::shared_ptr<const org> org_of(std::vector<unit_record> records) {
  return std::make_shared<const org>(std::move(records));
}

// The party pipeline's shape with every rate given (defaults zero: nothing moves).
struct party_rates {
  double source_advance = 0, source_exit = 0, training_advance = 0, training_exit = 0;
  int probation_months = 12;
  double probation_exit = 0, pass_rate = 1, attrition = 0;
};
std::shared_ptr<const pipeline> party_like(const party_rates& r) {
  return std::make_shared<const pipeline>(
      pipeline({stage::markov("source", r.source_advance, r.source_exit),
                stage::markov("training", r.training_advance, r.training_exit),
                stage::fixed("probation", r.probation_months, r.probation_exit, r.pass_rate),
                stage::terminal("full", r.attrition)},
               "probation"));
}

constexpr Eigen::Index source_slot = 0, training_slot = 1;

std::size_t tracked_index(const simulation_result& r, const std::string& q, int first, int last) {
  for (std::size_t i = 0; i < r.tracked.size(); ++i)
    if (r.tracked[i].quantity == q && r.tracked[i].window.first == first && r.tracked[i].window.last == last) return i;
  FAIL("not tracked: " << q << " [" << first << ", " << last << ")");
  return 0;
}

// Kept values of a tracked quantity at one node, path by path.
std::vector<std::int64_t> kept_at(const simulation_result& r, std::size_t tracked, std::size_t node) {
  const auto n = r.means.units().size();
  std::vector<std::int64_t> out;
  for (long long i = 0; i < r.path_count; ++i) out.push_back(r.paths[tracked][static_cast<std::size_t>(i) * n + node]);
  return out;
}

// Tracks every event over [0, H) and every stage's stock at 0 and H: enough to check that
// each path conserves people.
std::vector<tracked_quantity> conservation_tracking(const pipeline& p, int horizon) {
  std::vector<tracked_quantity> t;
  for (auto e : event_names) t.push_back({std::string(e), {0, horizon}});
  for (const auto& s : p.stages()) {
    t.push_back({s.name, {0, 0}});
    t.push_back({s.name, {horizon, horizon}});
  }
  return t;
}

// In every path and at every node: people at H = people at 0 + arrivals - exits - leavers.
void require_conservation(const simulation_result& r, const pipeline& p, int horizon) {
  const auto n = r.means.units().size();
  auto value = [&](const std::string& q, int first, int last, std::size_t path, std::size_t u) {
    return r.paths[tracked_index(r, q, first, last)][path * n + u];
  };
  std::size_t broken = 0;
  for (std::size_t path = 0; path < static_cast<std::size_t>(r.path_count); ++path)
    for (std::size_t u = 0; u < n; ++u) {
      std::int64_t now = 0, then = 0;
      for (const auto& s : p.stages()) {
        now += value(s.name, 0, 0, path, u);
        then += value(s.name, horizon, horizon, path, u);
      }
      const auto flow = value("arrivals", 0, horizon, path, u) - value("exits", 0, horizon, path, u) -
                        value("leavers", 0, horizon, path, u);
      if (then != now + flow) ++broken;
    }
  REQUIRE(broken == 0);
}

// -- the example district, all policies off -----------------------------------------------------

constexpr long long district_paths = 6000;
constexpr int district_horizon = 12;

std::vector<tracked_quantity> district_tracking() {
  return {{"admissions", {0, 12}}, {"admissions", {6, 9}}, {"confirmations", {0, 12}}, {"confirmations", {0, 3}},
          {"exits", {0, 12}},      {"leavers", {0, 12}},   {"arrivals", {0, 12}},      {"source", {6, 6}},
          {"training", {12, 12}},  {"probation", {3, 3}},  {"probation", {12, 12}},   {"full", {12, 12}}};
}

struct district_run {
  scenario sc = datasets::example_district();
  simulation_result sim;
  forecast_result expected;
  district_run()
      : sim(simulate(sc, district_horizon,
                     [] {
                       simulation_options o;
                       o.paths = district_paths;
                       o.seed = 20210201;
                       o.track = district_tracking();
                       return o;
                     }())),
        expected(forecast_expected(sc, district_horizon, {.threads = 1})) {}
};

const district_run& district() {
  static const district_run run;
  return run;
}

node_distributions exact_of(const exact_forecast& ex, const tracked_quantity& t) {
  const bool stock = std::find(event_names.begin(), event_names.end(), t.quantity) == event_names.end();
  return stock ? ex.stock(t.quantity, t.window.first) : ex.events(t.quantity, t.window);
}

// Every tracked quantity of a run at every node: the simulated pmf against the exact
// engine's by chi-square, and the mean within z standard errors (Bonferroni over all).
void require_matches_exact(const simulation_result& sim, const exact_forecast& ex, const std::string& label) {
  const auto paths = sim.path_count;
  const auto nodes = sim.means.units().size();
  const std::size_t tests = sim.tracked.size() * nodes;
  const double tail = 1e-3 / static_cast<double>(tests), z = z_for(tests);
  for (std::size_t i = 0; i < sim.tracked.size(); ++i) {
    const auto exact = exact_of(ex, sim.tracked[i]);
    for (std::size_t u = 0; u < nodes; ++u) {
      const auto& simulated = sim.distributions[i][u];
      const auto& reference = exact.nodes[u];
      const auto r = chi_square(counts_of(simulated, paths), paths, reference, tail);
      INFO(label << ": " << sim.tracked[i].quantity << " [" << sim.tracked[i].window.first << ", "
                 << sim.tracked[i].window.last << ") at unit " << u << ": " << r.describe() << "; means "
                 << simulated.mean() << " vs " << reference.mean());
      REQUIRE(r.passes());
      REQUIRE(std::abs(simulated.mean() - reference.mean()) <=
              z * std::sqrt(reference.variance() / static_cast<double>(paths)) + 1e-9);
    }
  }
}

}  // namespace

TEST_CASE("Simulation, all policies off: the example district's distributions agree with the exact engine",
          "[simulate]") {
  const auto& run = district();
  const auto& o = run.sc.units();
  const exact_forecast ex(run.sc, district_horizon);
  // Nodes: the root, the commune committee with most expected admissions, and a leaf
  // under it with people in training.
  const auto root = o.root();
  const auto adm = run.expected.total("admissions", {0, 12});
  unit_index busiest = no_unit, leaf = no_unit;
  for (auto c : o.children(root))
    if (busiest == no_unit || adm(c) > adm(busiest)) busiest = c;
  for (auto c : o.children(busiest))
    if (o.children(c).empty() && (leaf == no_unit || adm(c) > adm(leaf))) leaf = c;
  REQUIRE(busiest != no_unit);
  REQUIRE(leaf != no_unit);
  struct check {
    std::string quantity;
    month_window window;
    unit_index node;
  };
  const std::vector<check> checks{
      {"admissions", {0, 12}, root},   {"admissions", {0, 12}, busiest}, {"admissions", {6, 9}, root},
      {"admissions", {0, 12}, leaf},   {"confirmations", {0, 12}, root}, {"confirmations", {0, 3}, busiest},
      {"exits", {0, 12}, root},        {"leavers", {0, 12}, root},       {"arrivals", {0, 12}, root},
      {"probation", {12, 12}, root},   {"probation", {3, 3}, busiest},   {"training", {12, 12}, root},
      {"full", {12, 12}, busiest},     {"source", {6, 6}, root}};
  for (const auto& c : checks) {
    const auto i = tracked_index(run.sim, c.quantity, c.window.first, c.window.last);
    const auto exact = exact_of(ex, run.sim.tracked[i]);
    const auto& simulated = run.sim.distributions[i][static_cast<std::size_t>(c.node)];
    const auto& reference = exact.nodes[static_cast<std::size_t>(c.node)];
    const auto r = chi_square(counts_of(simulated, district_paths), district_paths, reference);
    INFO(c.quantity << " [" << c.window.first << ", " << c.window.last << ") at " << o.id(c.node) << ": "
                    << r.describe() << "; means " << simulated.mean() << " vs " << reference.mean());
    REQUIRE(r.dof >= 1);
    REQUIRE(r.passes());
  }
}

TEST_CASE("Simulation, all policies off: every node's mean of every tracked count is the exact one within "
          "5 standard errors",
          "[simulate]") {
  const auto& run = district();
  const auto& o = run.sc.units();
  const exact_forecast ex(run.sc, district_horizon);
  const double n = district_paths;
  std::size_t compared = 0;
  for (std::size_t i = 0; i < run.sim.tracked.size(); ++i) {
    const auto& t = run.sim.tracked[i];
    const auto exact = exact_of(ex, t);
    const bool stock = t.window.first == t.window.last;
    const Eigen::ArrayXd sim_means =
        stock ? run.sim.means.stock(t.quantity, t.window.first) : run.sim.means.total(t.quantity, t.window);
    for (std::size_t u = 0; u < o.size(); ++u) {
      const auto& simulated = run.sim.distributions[i][u];
      const auto& reference = exact.nodes[u];
      const double se = std::sqrt(reference.variance() / n);
      INFO(t.quantity << " [" << t.window.first << ", " << t.window.last << ") at " << o.id(static_cast<unit_index>(u))
                      << ": simulated " << simulated.mean() << ", exact " << reference.mean() << ", se " << se);
      // The distribution's mean and the monthly sums' mean are the same number.
      REQUIRE(simulated.mean() == Catch::Approx(sim_means(static_cast<Eigen::Index>(u))).epsilon(1e-12).margin(1e-12));
      REQUIRE(simulated.sum() == Catch::Approx(1.0).epsilon(1e-12));
      REQUIRE(std::abs(simulated.mean() - reference.mean()) <= 5 * se + 1e-9);
      ++compared;
    }
  }
  REQUIRE(compared == run.sim.tracked.size() * o.size());
}

TEST_CASE("Simulation, all policies off: every unit's monthly means are the expected engine's", "[simulate]") {
  // Every count here (a stock, or an event that happens to a person at most once, plus
  // Poisson arrivals) is a sum of independent Bernoulli and Poisson terms, so its
  // variance is at most its mean: sqrt(mean / paths) bounds the standard error.
  const auto& run = district();
  const auto& o = run.sc.units();
  const auto quantities = run.expected.quantities();
  std::size_t k = 0;
  for (const auto& q : quantities) k += o.size() * static_cast<std::size_t>(run.expected.own(q).cols()) * 2;
  const double z = z_for(k), n = district_paths;
  std::size_t compared = 0;
  for (const auto& q : quantities) {
    const Eigen::ArrayXXd sim_own = run.sim.means.own(q), exp_own = run.expected.own(q);
    const Eigen::ArrayXXd sim_rolled = run.sim.means.rolled(q), exp_rolled = run.expected.rolled(q);
    REQUIRE(sim_own.cols() == exp_own.cols());
    for (Eigen::Index u = 0; u < sim_own.rows(); ++u)
      for (Eigen::Index t = 0; t < sim_own.cols(); ++t) {
        INFO(q << " at " << o.id(static_cast<unit_index>(u)) << ", month " << t << ": simulated " << sim_own(u, t)
                << " (subtree " << sim_rolled(u, t) << "), expected " << exp_own(u, t) << " (subtree "
                << exp_rolled(u, t) << ")");
        REQUIRE(std::abs(sim_own(u, t) - exp_own(u, t)) <= z * std::sqrt(std::max(exp_own(u, t), 0.0) / n) + 1e-9);
        REQUIRE(std::abs(sim_rolled(u, t) - exp_rolled(u, t)) <=
                z * std::sqrt(std::max(exp_rolled(u, t), 0.0) / n) + 1e-9);
        compared += 2;
      }
  }
  REQUIRE(compared == k);
}

TEST_CASE("Simulation, all policies off: small random scenarios with other pipelines match the exact engine at "
          "every node",
          "[simulate]") {
  // Pipelines that start with a fixed stage, have a one-month fixed stage, or admit into
  // a markov stage; random trees, parameters and stocks; a horizon across a year's end.
  std::vector<std::shared_ptr<const pipeline>> pipelines{
      std::make_shared<const pipeline>(pipeline({stage::fixed("trial", 3, 0.1, 0.9), stage::markov("wait", 0.2, 0.1),
                                                 stage::fixed("probation", 5, 0.02, 0.8),
                                                 stage::terminal("full", 0.01)},
                                                "wait")),
      std::make_shared<const pipeline>(pipeline({stage::markov("source", 0.3, 0.1), stage::fixed("short", 1, 0.1, 0.5),
                                                 stage::terminal("full", 0.02)},
                                                "short")),
      std::make_shared<const pipeline>(pipeline::party())};
  const int horizon = 15;
  const long long paths = 20000;
  std::mt19937 rng(20210201);
  std::uniform_real_distribution<double> unif(0, 1);
  for (std::size_t which = 0; which < pipelines.size(); ++which) {
    const auto& p = *pipelines[which];
    std::vector<unit_record> records;
    for (int i = 0; i < 7; ++i) {
      const int parent = i == 0 ? -1 : std::uniform_int_distribution<int>(0, i - 1)(rng);
      records.push_back({"u" + std::to_string(i), parent < 0 ? "" : "u" + std::to_string(parent), "", "k"});
    }
    scenario sc(org_of(records), pipelines[which]);
    for (unit_index u = 0; u < 7; ++u) {
      for (std::size_t s = 0; s < p.size(); ++s) {
        const auto si = static_cast<Eigen::Index>(s);
        switch (p.stages()[s].kind) {
          case stage_kind::markov:
            sc.params.advance(u, si) = 0.5 * unif(rng);
            sc.params.exit(u, si) = 0.3 * unif(rng);
            break;
          case stage_kind::fixed:
            sc.params.exit(u, si) = 0.1 * unif(rng);
            sc.params.pass_rate(u, si) = 0.5 + 0.5 * unif(rng);
            break;
          case stage_kind::terminal:
            sc.params.attrition(u, si) = 0.05 * unif(rng);
            break;
        }
      }
      sc.params.inflow(u) = unif(rng) < 0.3 ? 0.0 : 3 * unif(rng);
      sc.params.transfer_in(u) = unif(rng) < 0.5 ? 0.0 : unif(rng);
      for (Eigen::Index c = 0; c < sc.stocks.cols(); ++c)
        sc.stocks(u, c) = unif(rng) < 0.4 ? 0 : std::uniform_int_distribution<int>(0, 12)(rng);
    }
    simulation_options opt;
    opt.paths = paths;
    opt.seed = which;
    opt.threads = 2;
    for (auto e : event_names) {
      opt.track.push_back({std::string(e), {0, horizon}});
      opt.track.push_back({std::string(e), {3, 14}});
    }
    for (const auto& s : p.stages()) {
      opt.track.push_back({s.name, {7, 7}});
      opt.track.push_back({s.name, {horizon, horizon}});
    }
    require_matches_exact(simulate(sc, horizon, opt), exact_forecast(sc, horizon), "pipeline " + std::to_string(which));
  }
}

TEST_CASE("Simulation with advance + exit = 1 runs (0.9 + 0.1 exceeds 1 by a rounding)", "[simulate]") {
  // 1 - 0.9 is 0.09999999999999998, so the chance of exit given no advance, 0.1 / (1 - 0.9),
  // is 1 + 2e-16: the run must treat it as 1, not fail on a parameter the model accepts.
  auto p = party_like({.training_advance = 0.9, .training_exit = 0.1});
  scenario sc(org_of({{"U", "", "", "k"}}), p);
  sc.stocks(0, training_slot) = 1000;
  simulation_options opt;
  opt.paths = 2000;
  opt.track = {{"admissions", {0, 1}}, {"exits", {0, 1}}, {"training", {1, 1}}};
  opt.keep_paths = true;
  const auto r = simulate(sc, 2, opt);
  // Everyone leaves training in month 0: admitted ~ Binomial(1000, 0.9), the rest exit.
  const auto adm = kept_at(r, 0, 0), exits = kept_at(r, 1, 0), left = kept_at(r, 2, 0);
  for (std::size_t i = 0; i < adm.size(); ++i) {
    REQUIRE(adm[i] + exits[i] == 1000);
    REQUIRE(left[i] == 0);
  }
  const auto chi = chi_square(column_counts(r.paths[0], 1, 0), opt.paths, binomial_reference(1000, 0.9));
  INFO(chi.describe());
  REQUIRE(chi.passes());
}

// -- reproducibility --------------------------------------------------------------------------------

namespace {

// The example district's options, keeping paths, with every policy or none.
simulation_options district_options(long long paths, int threads, bool policies, std::uint64_t seed = 5) {
  simulation_options o;
  o.paths = paths;
  o.threads = threads;
  o.seed = seed;
  o.keep_paths = true;
  if (policies) {
    o.inflow_profile = {1, 1, 0.5, 1, 2, 1, 1, 1, 0, 1, 1, 3};
    o.uncertainty = {{"kind:cell", "training", "advance", "beta", 3, 17}, {"*", "source", "inflow", "gamma", 4, 0.01}};
    o.course = course_policy{6, {2, 5, 8, 11, 14}};
    o.target_rule = target_policy{true, 1, 0.05, 0.1};
  }
  return o;
}

simulation_result district_run_with(long long paths, int threads, std::uint64_t seed, bool policies) {
  static const scenario sc = datasets::example_district();
  return simulate(sc, 15, district_options(paths, threads, policies, seed));
}

void require_identical(const simulation_result& a, const simulation_result& b) {
  REQUIRE(a.path_count == b.path_count);
  for (const auto& q : a.means.quantities()) {
    const Eigen::ArrayXXd x = a.means.own(q), y = b.means.own(q);
    INFO(q);
    REQUIRE((x == y).all());  // bit for bit
  }
  REQUIRE(a.distributions.size() == b.distributions.size());
  for (std::size_t i = 0; i < a.distributions.size(); ++i)
    for (std::size_t u = 0; u < a.distributions[i].size(); ++u) {
      REQUIRE(a.distributions[i][u].offset == b.distributions[i][u].offset);
      REQUIRE(a.distributions[i][u].p == b.distributions[i][u].p);
    }
  REQUIRE(a.paths == b.paths);
}

}  // namespace

TEST_CASE("The same seed gives the same bits with 1, 2 or 16 threads", "[simulate]") {
  for (bool policies : {false, true}) {
    INFO((policies ? "every policy on" : "no policy"));
    const auto one = district_run_with(300, 1, 7, policies);
    const auto two = district_run_with(300, 2, 7, policies);
    const auto sixteen = district_run_with(300, 16, 7, policies);
    require_identical(one, two);
    require_identical(one, sixteen);
    // The summaries are those of the kept paths.
    const auto n = one.means.units().size();
    for (std::size_t i = 0; i < one.tracked.size(); ++i)
      for (std::size_t u = 0; u < n; u += 17) {
        const auto c = column_counts(one.paths[i], n, u);
        REQUIRE(counts_of(one.distributions[i][u], 300) == c);
      }
  }
}

TEST_CASE("A path's outcome depends only on (seed, path): 100 paths are the first 100 of 300", "[simulate]") {
  for (bool policies : {false, true}) {
    INFO((policies ? "every policy on" : "no policy"));
    const auto short_run = district_run_with(100, 3, 11, policies);
    const auto long_run = district_run_with(300, 2, 11, policies);
    const auto n = short_run.means.units().size();
    for (std::size_t i = 0; i < short_run.tracked.size(); ++i) {
      REQUIRE(short_run.paths[i].size() == 100 * n);
      REQUIRE(std::equal(short_run.paths[i].begin(), short_run.paths[i].end(), long_run.paths[i].begin()));
    }
    // ... and the 100-path distributions are the histograms of the long run's first 100 rows.
    for (std::size_t i = 0; i < short_run.tracked.size(); ++i) {
      const std::vector<std::int64_t> first(long_run.paths[i].begin(),
                                            long_run.paths[i].begin() + static_cast<std::ptrdiff_t>(100 * n));
      for (std::size_t u = 0; u < n; u += 13)
        REQUIRE(counts_of(short_run.distributions[i][u], 100) == column_counts(first, n, u));
    }
  }
}

TEST_CASE("Different seeds give different paths", "[simulate]") {
  const auto a = district_run_with(100, 2, 1, false), b = district_run_with(100, 2, 2, false);
  const auto c = district_run_with(100, 2, 1ULL << 63, true), d = district_run_with(100, 2, (1ULL << 63) + 1, true);
  for (std::size_t i = 0; i < a.tracked.size(); ++i) {
    INFO(a.tracked[i].quantity << " [" << a.tracked[i].window.first << ", " << a.tracked[i].window.last << ")");
    // Any count that varies at all differs somewhere among a hundred paths.
    auto varies = [](const std::vector<std::int64_t>& v) {
      return std::any_of(v.begin(), v.end(), [&](auto x) { return x != v[0]; });
    };
    if (varies(a.paths[i]) || varies(b.paths[i])) REQUIRE(a.paths[i] != b.paths[i]);
    if (varies(c.paths[i]) || varies(d.paths[i])) REQUIRE(c.paths[i] != d.paths[i]);
  }
  REQUIRE(a.paths != b.paths);
  REQUIRE(c.paths != d.paths);
}

// -- batches for a cluster: simulate_tally, merge, finish ---------------------------------------------

namespace {

// The tallies of paths [0, total) in batches of the given sizes, each with its own
// thread count, merged in the given order (a permutation of the batches).
simulation_tally tally_in_batches(const scenario& sc, int horizon, simulation_options o, const std::vector<long long>& sizes,
                                  const std::vector<int>& threads, const std::vector<std::size_t>& order) {
  std::vector<simulation_tally> parts;
  long long first = 0;
  for (std::size_t b = 0; b < sizes.size(); ++b) {
    o.first_path = first;
    o.paths = sizes[b];
    o.threads = threads[b % threads.size()];
    parts.push_back(simulate_tally(sc, horizon, o));
    first += sizes[b];
  }
  simulation_tally total;
  for (auto b : order) merge(total, simulation_tally::from_bytes(parts[b].to_bytes()));
  return total;
}

}  // namespace

TEST_CASE("Batches: the merged tallies of any split of the paths finish to simulate()'s result, bit for bit",
          "[simulate][batches]") {
  const scenario sc = datasets::example_district();
  for (bool policies : {false, true}) {
    INFO((policies ? "every policy on" : "no policy"));
    const auto whole_run = district_options(97, 2, policies);
    const auto whole = simulate(sc, 15, whole_run);
    SECTION("uneven batches, merged out of order, 1 to 3 threads") {
      const auto total = tally_in_batches(sc, 15, whole_run, {1, 40, 13, 43}, {1, 3, 2}, {2, 0, 3, 1});
      require_identical(finish(sc, 15, whole_run, total), whole);
    }
    SECTION("one path a batch") {
      std::vector<long long> ones(97, 1);
      std::vector<std::size_t> order(97);
      std::iota(order.begin(), order.end(), 0);
      std::reverse(order.begin(), order.end());
      const auto total = tally_in_batches(sc, 15, whole_run, ones, {1}, order);
      require_identical(finish(sc, 15, whole_run, total), whole);
    }
    SECTION("a batch away from 0 is the same paths as in the whole run") {
      auto o = whole_run;
      o.first_path = 60;
      o.paths = 37;
      const auto part = simulate(sc, 15, o);
      const auto n = whole.means.units().size();
      for (std::size_t i = 0; i < whole.tracked.size(); ++i)
        REQUIRE(std::equal(part.paths[i].begin(), part.paths[i].end(),
                           whole.paths[i].begin() + static_cast<std::ptrdiff_t>(60 * n)));
    }
  }
}

TEST_CASE("Batches: tallies without kept paths merge too; finish checks the paths are those of the run",
          "[simulate][batches]") {
  const scenario sc = datasets::example_district();
  auto whole_run = district_options(50, 1, false);
  whole_run.keep_paths = false;
  const auto whole = simulate(sc, 12, whole_run);
  const auto total = tally_in_batches(sc, 12, whole_run, {20, 30}, {2}, {1, 0});
  REQUIRE(total.path_count() == 50);
  require_identical(finish(sc, 12, whole_run, total), whole);
  // A missing batch, a batch twice, another seed, another horizon: refused.
  const auto part = tally_in_batches(sc, 12, whole_run, {20}, {1}, {0});
  REQUIRE_THROWS_AS_WITH(finish(sc, 12, whole_run, part), input_error, mf_test::contains("holds paths up to 20"));
  auto twice = part;
  REQUIRE_THROWS_AS_WITH(merge(twice, part), input_error, mf_test::contains("are in both"));
  auto other = whole_run;
  other.seed = 6;
  other.paths = 30;
  other.first_path = 20;
  auto mixed = part;
  REQUIRE_THROWS_AS_WITH(merge(mixed, simulate_tally(sc, 12, other)), input_error, mf_test::contains("seeds differ"));
  REQUIRE_THROWS_AS_WITH(finish(sc, 11, whole_run, total), input_error, mf_test::contains("another horizon"));
}

TEST_CASE("Batches: a tally's bytes read back to the same tally; a corrupt buffer is refused", "[simulate][batches]") {
  const scenario sc = datasets::example_district();
  const auto o = district_options(20, 2, true);
  const auto t = simulate_tally(sc, 12, o);
  const auto bytes = t.to_bytes();
  const auto back = simulation_tally::from_bytes(bytes);
  REQUIRE(back.to_bytes() == bytes);
  require_identical(finish(sc, 12, o, back), finish(sc, 12, o, t));
  auto flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x10;
  REQUIRE_THROWS_AS_WITH(simulation_tally::from_bytes(flipped), input_error, mf_test::contains("checksum"));
  REQUIRE_THROWS_AS_WITH(simulation_tally::from_bytes(std::string_view(bytes).substr(0, bytes.size() - 9)), input_error,
                         mf_test::contains("not a valid tally"));
  REQUIRE_THROWS_AS_WITH(simulation_tally::from_bytes("hello"), input_error, mf_test::contains("not a valid tally"));
  auto version = bytes;
  version[8] = 99;
  REQUIRE_THROWS_AS_WITH(simulation_tally::from_bytes(version), input_error, mf_test::contains("version 99"));
  // A unit count 2^63 too large, resealed: with an even number of quantities x months,
  // tracked counts and paths, every shape's product wraps round to the true one, which a
  // check by plain multiplication accepted (a tally of 2^63 units for the finish to index).
  std::uint64_t units = 0;
  std::memcpy(&units, bytes.data() + 24, sizeof units);  // after the mark, version, horizon, seed
  REQUIRE(units == sc.units().size());
  REQUIRE((t.quantities * 12) % 2 == 0);
  REQUIRE(t.tracked.size() % 2 == 0);
  auto huge = bytes.substr(0, bytes.size() - 8);
  units += std::uint64_t{1} << 63;
  std::memcpy(huge.data() + 24, &units, sizeof units);
  const auto seal = simulation_tally::checksum(huge);
  huge.append(reinterpret_cast<const char*>(&seal), sizeof seal);
  REQUIRE_THROWS_AS_WITH(simulation_tally::from_bytes(huge), input_error, mf_test::contains("of the wrong size"));
  // Well-formed bytes whose histograms are not a run's: finish refuses a tracked count
  // that holds fewer values than the paths (here none), or more.
  auto emptied = simulation_tally::from_bytes(bytes);
  emptied.histograms() = detail::window_histograms(sc.units().size() * t.tracked.size());
  REQUIRE_THROWS_AS_WITH(finish(sc, 12, o, simulation_tally::from_bytes(emptied.to_bytes())), input_error,
                         mf_test::contains("tracked count 0 holds 0 values for 20 paths"));
  auto doubled = simulation_tally::from_bytes(bytes);
  doubled.histograms().merge(t.histograms());
  REQUIRE_THROWS_AS_WITH(finish(sc, 12, o, simulation_tally::from_bytes(doubled.to_bytes())), input_error,
                         mf_test::contains("more values than its 20 paths"));
}

// -- regimes: the race, counts and the cost rule draw from the same law ---------------------------

namespace {

constexpr simulation_regime all_regimes[] = {simulation_regime::race, simulation_regime::counts,
                                             simulation_regime::automatic};
const char* regime_name(simulation_regime r) {
  return r == simulation_regime::race ? "race" : r == simulation_regime::counts ? "counts" : "automatic";
}

// A root and `children` units below it, every one with the same stocks: per unit `source`,
// `training`, `per_age` at each of probation's 12 ages and `full`, arrivals `inflow` and
// `transfer` a month; the example district's sub-cell rates unless given.
scenario party_units(int children, double source, double training, double per_age, double full, double inflow,
                     double transfer, party_rates r = {0.05, 0.02, 0.10, 0.02, 12, 0.002, 0.97, 0.0015}) {
  std::vector<unit_record> records{{"root", "", "", "k"}};
  for (int i = 0; i < children; ++i) records.push_back({"c" + std::to_string(i), "root", "", "k"});
  scenario sc(org_of(records), party_like(r));
  const auto& p = sc.model();
  for (Eigen::Index u = 0; u < sc.stocks.rows(); ++u) {
    sc.stocks(u, static_cast<Eigen::Index>(p.offset(0))) = source;
    sc.stocks(u, static_cast<Eigen::Index>(p.offset(1))) = training;
    for (Eigen::Index a = 0; a < 12; ++a) sc.stocks(u, static_cast<Eigen::Index>(p.offset(2)) + a) = per_age;
    sc.stocks(u, static_cast<Eigen::Index>(p.offset(3))) = full;
    sc.params.inflow(u) = inflow;
    sc.params.transfer_in(u) = transfer;
  }
  return sc;
}

// Every event over the horizon and over months [1, H - 1), every stage's stock in the
// middle and at the horizon.
std::vector<tracked_quantity> every_quantity(const pipeline& p, int horizon) {
  std::vector<tracked_quantity> t;
  for (auto e : event_names) {
    t.push_back({std::string(e), {0, horizon}});
    if (horizon > 2) t.push_back({std::string(e), {1, horizon - 1}});
  }
  for (const auto& s : p.stages()) {
    t.push_back({s.name, {horizon / 2, horizon / 2}});
    t.push_back({s.name, {horizon, horizon}});
  }
  return t;
}

// In each regime, every tracked quantity at every node against the exact engine.
void require_exact_law(const scenario& sc, int horizon, long long paths, std::uint64_t seed, const std::string& label) {
  const exact_forecast ex(sc, horizon);
  for (auto regime : all_regimes) {
    simulation_options opt;
    opt.paths = paths;
    opt.seed = seed;
    opt.threads = 2;
    opt.regime = regime;
    opt.track = every_quantity(sc.model(), horizon);
    require_matches_exact(simulate(sc, horizon, opt), ex, label + ", " + regime_name(regime));
  }
}

// Two samples of equal size from one law? Pearson's statistic of homogeneity over the
// values, adjacent values merged until each bin holds >= 10 of both together.
mf_test::chi_square_result two_sample(const counts& a, const counts& b, double tail) {
  std::map<long long, std::pair<double, double>> both;
  for (const auto& [k, c] : a) both[k].first += static_cast<double>(c);
  for (const auto& [k, c] : b) both[k].second += static_cast<double>(c);
  std::vector<std::pair<double, double>> bins;
  std::pair<double, double> open{0, 0};
  for (const auto& [k, c] : both) {
    open.first += c.first;
    open.second += c.second;
    if (open.first + open.second >= 10) {
      bins.push_back(open);
      open = {0, 0};
    }
  }
  if (bins.empty()) bins.push_back(open);
  else bins.back().first += open.first, bins.back().second += open.second;
  mf_test::chi_square_result r;
  for (const auto& [x, y] : bins) r.statistic += (x - y) * (x - y) / (x + y);
  r.dof = static_cast<int>(bins.size()) - 1;
  r.threshold = chi_square_quantile(r.dof, tail);
  return r;
}

}  // namespace

TEST_CASE("Regimes: sparse units (~4 people) match the exact engine in each regime", "[simulate][regime]") {
  // Small means: the race's single events and bottom-up inversions, and counts' bottom-up
  // inversions (a unit's components have means well below 1).
  const auto sc = party_units(4, 1, 1, 0.0, 2, 0.3, 0.015, {0.2, 0.05, 0.3, 0.05, 12, 0.02, 0.9, 0.01});
  require_exact_law(sc, 12, 20000, 31, "sparse");
}

TEST_CASE("Regimes: dense units (~3,500 people) match the exact engine in each regime", "[simulate][regime]") {
  // Means from 0.04 (a probation cohort's exits) to 40 (source's advance) and 30 (arrivals):
  // counts' BTRS and bottom-up inversion (two units: no chance shared enough for a ladder)
  // and arrivals' poisson_table (counts and automatic), the automatic rule's mix of counts
  // and race.
  const auto sc = party_units(1, 800, 200, 20, 2500, 30, 1.5);
  require_exact_law(sc, 4, 6000, 32, "dense");
}

TEST_CASE("Regimes: dense units sharing their chances (binomial ladders) match the exact engine in each regime",
          "[simulate][regime]") {
  // 40 units of one set of chances: each chance is shared by sim::ladder_sharing or more
  // unit stages, so the counted binomials (means 4-40) come from ladders (the two-unit dense
  // case above draws binomial_count: a unit's own chances get no ladder).
  const auto sc = party_units(40, 800, 200, 20, 2500, 30, 1.5);
  static_assert(sim::ladder_sharing <= 40);
  require_exact_law(sc, 3, 3000, 36, "dense, shared chances");
}

namespace {

// party_units' 40 dense units, each with its own advance chances: all within 0.25% of one
// another, just above the grid points 102/2048 and 102/1024, so none is shared, but every
// one rounds up to the grid point 103/2048 or 103/1024 (about 1% above it).
scenario own_chances_near_one_another(int children) {
  auto sc = party_units(children, 800, 200, 20, 2500, 30, 1.5);
  for (unit_index u = 0; u < sc.units().size(); ++u) {
    const double jitter = 1 + static_cast<double>(u + 1) / 16384;
    sc.params.set(u, 0, param::advance, 102.0 / 2048 * jitter);
    sc.params.set(u, 1, param::advance, 102.0 / 1024 * jitter);
  }
  return sc;
}

bool holds(const std::vector<double>& v, double x) { return std::find(v.begin(), v.end(), x) != v.end(); }

}  // namespace

TEST_CASE("ladder_grid rounds a chance up to 7 significant bits, at most 1/64 above it", "[simulate][regime]") {
  std::vector<double> ps{0.5, 0.25, 0.05, 0.1, 0.0015, 1e-9, 102.0 / 2048, 103.0 / 2048, 0.3333333333333333};
  for (double p = 1e-7; p <= 0.5; p *= 1.0137) ps.push_back(p);
  for (double p : ps) {
    CAPTURE(p);
    const double grid = sim::ladder_grid(p);
    CHECK(grid >= p);
    CHECK(grid <= p * (1 + 1.0 / 64));
    CHECK(grid <= 0.5);
    int e = 0;
    const double m = std::frexp(grid, &e) * 128;
    CHECK(m == std::floor(m));  // 7 significant bits
    CHECK(sim::ladder_grid(grid) == grid);
  }
  CHECK(sim::ladder_grid(102.0 / 2048 * (1 + 1.0 / 16384)) == 103.0 / 2048);
  CHECK(sim::ladder_grid(102.0 / 2048 * (1 + 41.0 / 16384)) == 103.0 / 2048);
}

TEST_CASE("Ladder chances: those many units share, and the grid points many units' own chances round up to",
          "[simulate][regime]") {
  simulation_options o;
  o.paths = 1;
  const auto sc = own_chances_near_one_another(40);
  const auto su = sim::make_setup(sc, 3, o);  // holds a reference to sc
  const auto& l = su.ladder_chances;
  CHECK(std::is_sorted(l.begin(), l.end()));
  CHECK(holds(l, 0.0015));  // full members' attrition: every unit's
  CHECK(holds(l, 103.0 / 2048));
  CHECK(holds(l, 103.0 / 1024));
  const std::size_t stages = su.sc.model().size();
  for (std::size_t u = 0; u < su.sc.units().size(); ++u)
    for (std::size_t s : {0, 1}) CHECK_FALSE(holds(l, su.chances.stage[u * stages + s].p1));  // each unit's own advance
  // 10 units: too few near one another for a ladder of their grid point.
  const auto sc10 = own_chances_near_one_another(10);
  const auto few = sim::make_setup(sc10, 3, o);
  static_assert(sim::ladder_sharing > 11);
  CHECK_FALSE(holds(few.ladder_chances, 103.0 / 2048));
  CHECK_FALSE(holds(few.ladder_chances, 0.0015));
}

TEST_CASE("Arrival tables: one per mean, shared by the units whose streams have it", "[simulate][regime]") {
  simulation_options o;
  o.paths = 1;
  auto sc = party_units(40, 800, 200, 20, 2500, 30, 1.5);
  sc.params.inflow(7) = 20;  // one unit of its own inflow
  const auto su = sim::make_setup(sc, 3, o);
  const auto& c = su.chances;
  REQUIRE(c.tables.size() == 3);  // inflow 30 and 20, transfers 1.5
  CHECK(c.inflow_table(0) == c.inflow_table(40));
  CHECK(c.inflow_table(0) != c.inflow_table(7));
  CHECK(c.transfer_table(0) == c.transfer_table(7));
  CHECK(c.inflow_table(0)->mean() == 30);
  CHECK(c.inflow_table(7)->mean() == 20);
  CHECK(c.transfer_table(40)->mean() == 1.5);
}

TEST_CASE("Regimes: dense units of their own chances near one another (thinned ladders) match the exact engine in "
          "each regime",
          "[simulate][regime]") {
  // The advances (means 20 and 40, above sim::thin_above) are drawn from their grid point's
  // ladder and thinned by 1 - p/P ~ 1%: drawn at P unthinned, every unit's admissions would
  // be ~0.2 sd high.
  require_exact_law(own_chances_near_one_another(40), 3, 3000, 37, "dense, own chances near one another");
}

TEST_CASE("Regimes: arrivals counted from their table below mean 1 match the exact engine in each regime",
          "[simulate][regime]") {
  // Arrivals 0.8 and 0.6 a month: counted from their tables under the automatic rule
  // (count_cost_per_table), which makes every month busy while the stages' small
  // components still race; raced in the race, counted in counts.
  const auto sc = party_units(2, 10, 3, 1, 40, 0.8, 0.6);
  require_exact_law(sc, 6, 20000, 34, "arrivals 0.8 and 0.6");
}

TEST_CASE("Regimes: chances above 1/2 and large means match the exact engine in each regime",
          "[simulate][regime]") {
  // The samplers' other branches inside the engine: p > 1/2 (advance 0.6, exit given no advance 0.75,
  // failing probation 0.8), means >= 10 and below, in the race given "not 0" by rejection.
  const auto p = std::make_shared<const pipeline>(pipeline(
      {stage::markov("source", 0.6, 0.3, 12), stage::markov("training", 0.1, 0.05), stage::fixed("probation", 2, 0.05, 0.2),
       stage::terminal("full", 0.05, 0.5)},
      "probation"));
  scenario sc(org_of({{"root", "", "", "k"}, {"a", "root", "", "k"}}), p);
  for (Eigen::Index u = 0; u < 2; ++u) {
    sc.stocks(u, 0) = 300;
    sc.stocks(u, 1) = 50;
    sc.stocks(u, 2) = 20;
    sc.stocks(u, 3) = 7;
    sc.stocks(u, 4) = 400;
  }
  require_exact_law(sc, 5, 10000, 33, "p > 1/2");
}

TEST_CASE("Regimes: with every policy on, race and counts draw the same law (two-sample chi-square)",
          "[simulate][regime][policy]") {
  // Dense units, so that counts are drawn; a course with few seats, the target rule with
  // stopping, boost and penalty, an inflow profile and a drawn advance.
  auto sc = party_units(3, 400, 100, 10, 1200, 15, 0.8, {0.05, 0.02, 0.10, 0.02, 12, 0.002, 0.9, 0.0015});
  sc.targets(0) = 150;
  sc.targets(1) = 30;
  const int horizon = 13;
  std::vector<simulation_result> runs;
  for (auto regime : {simulation_regime::race, simulation_regime::counts}) {
    simulation_options o;
    o.paths = 6000;
    o.seed = 34;  // the same seed: the regimes spend it differently
    o.threads = 2;
    o.regime = regime;
    o.track = every_quantity(sc.model(), horizon);
    o.inflow_profile = {1, 2, 0.5};
    o.uncertainty = {{"kind:k", "source", "advance", "beta", 50, 950}};
    o.course = course_policy{40, {1, 4, 7, 10}};
    o.target_rule = target_policy{true, 2, 0.05, 0.2};
    runs.push_back(simulate(sc, horizon, o));
  }
  const auto& race = runs[0];
  const auto& count = runs[1];
  const std::size_t tests = race.tracked.size() * sc.units().size();
  const double tail = 1e-3 / static_cast<double>(tests);
  for (std::size_t i = 0; i < race.tracked.size(); ++i)
    for (std::size_t u = 0; u < sc.units().size(); ++u) {
      const auto r = two_sample(counts_of(race.distributions[i][u], 6000), counts_of(count.distributions[i][u], 6000), tail);
      INFO(race.tracked[i].quantity << " [" << race.tracked[i].window.first << ", " << race.tracked[i].window.last
                                    << ") at unit " << u << ": " << r.describe() << "; means "
                                    << race.distributions[i][u].mean() << " vs " << count.distributions[i][u].mean());
      REQUIRE(r.passes());
    }
}

TEST_CASE("Regimes: the same seed gives the same bits for 1, 2, 3 threads and any batch split, in each regime",
          "[simulate][regime][batches]") {
  auto sc = party_units(5, 300, 60, 6, 900, 10, 0.5);
  sc.targets(0) = 200;
  for (bool policies : {false, true})
    for (auto regime : all_regimes) {
      INFO(regime_name(regime) << (policies ? ", every policy on" : ", no policy"));
      simulation_options o;
      o.paths = 41;
      o.seed = 35;
      o.regime = regime;
      o.keep_paths = true;
      if (policies) {
        o.inflow_profile = {1, 3};
        o.uncertainty = {{"*", "training", "advance", "beta", 20, 180}};
        o.course = course_policy{25, {2, 5, 8}};
        o.target_rule = target_policy{true, 1, 0.05, 0.1};
      }
      o.threads = 1;
      const auto one = simulate(sc, 9, o);
      o.threads = 2;
      require_identical(simulate(sc, 9, o), one);
      o.threads = 3;
      require_identical(simulate(sc, 9, o), one);
      require_identical(finish(sc, 9, o, tally_in_batches(sc, 9, o, {7, 1, 20, 13}, {2, 1, 3}, {3, 1, 0, 2})), one);
    }
}

TEST_CASE("Regimes: the regimes differ in bits only (an unknown regime is refused)", "[simulate][regime]") {
  const auto sc = party_units(1, 800, 200, 20, 2500, 30, 1.5);
  simulation_options o;
  o.paths = 50;
  o.seed = 36;
  o.regime = simulation_regime::race;
  const auto race = simulate(sc, 3, o);
  o.regime = simulation_regime::counts;
  const auto counted = simulate(sc, 3, o);
  REQUIRE(race.distributions[0][0].p != counted.distributions[0][0].p);
  o.regime = static_cast<simulation_regime>(7);
  REQUIRE_THROWS_AS_WITH(simulate(sc, 3, o), input_error, mf_test::contains("regime must be"));
}

// -- inflow profile -----------------------------------------------------------------------------------

TEST_CASE("Inflow profile: arrivals in month t are Poisson(inflow x profile[t mod size])", "[simulate][policy]") {
  // Nobody moves out of the source, so its stock grows by exactly the month's arrivals.
  auto p = party_like({});
  scenario sc(org_of({{"R", "", "", "k"}, {"A", "R", "", "k"}, {"B", "R", "", "k"}}), p);
  sc.params.inflow(1) = 4;
  sc.params.inflow(2) = 1.5;
  sc.params.transfer_in(1) = 0.5;  // transfers into the terminal stage are not scaled
  const std::vector<double> profile{1, 0, 2.5, 0.5};
  const int horizon = 10;
  const long long paths = 20000;
  simulation_options opt;
  opt.paths = paths;
  opt.seed = 3;
  opt.inflow_profile = profile;
  opt.keep_paths = true;
  opt.track = conservation_tracking(*p, horizon);
  for (int t = 0; t <= horizon; ++t) opt.track.push_back({"source", {t, t}});
  for (int t = 0; t < horizon; ++t) opt.track.push_back({"arrivals", {t, t + 1}});
  const auto r = simulate(sc, horizon, opt);
  require_conservation(r, *p, horizon);
  const auto& arrivals = r.means.own("arrivals");
  const double z = z_for(3 * horizon);
  double factor_sum = 0;
  for (int t = 0; t < horizon; ++t) {
    const double f = profile[static_cast<std::size_t>(t) % profile.size()];
    factor_sum += f;
    const double mean[] = {0.0, 4 * f + 0.5, 1.5 * f};
    for (Eigen::Index u = 0; u < 3; ++u) {
      INFO("unit " << u << ", month " << t << ": mean arrivals " << arrivals(u, t) << ", Poisson mean " << mean[u]);
      REQUIRE(std::abs(arrivals(u, t) - mean[u]) <= z * std::sqrt(mean[u] / paths) + 1e-12);
    }
    // A zero factor: no arrival into the source that month in any path, at any node.
    const auto before = tracked_index(r, "source", t, t), after = tracked_index(r, "source", t + 1, t + 1);
    if (f == 0) {
      REQUIRE(r.paths[before] == r.paths[after]);
      const auto& at_b = r.distributions[tracked_index(r, "arrivals", t, t + 1)][2];
      REQUIRE(at_b.offset == 0);
      REQUIRE(at_b.p == std::vector<double>{1.0});
    } else {
      REQUIRE(r.paths[before] != r.paths[after]);
    }
  }
  // Over the horizon B's source receives Poisson(1.5 x the sum of the factors).
  const auto b_source = kept_at(r, tracked_index(r, "source", horizon, horizon), 2);
  const auto chi = chi_square(column_counts(b_source, 1, 0), paths, poisson_reference(1.5 * factor_sum));
  INFO(chi.describe());
  REQUIRE(chi.passes());
}

TEST_CASE("Inflow profile: all ones is no profile, bit for bit; bad factors are refused", "[simulate][policy]") {
  const scenario sc = datasets::example_district();
  simulation_options opt;
  opt.paths = 200;
  opt.seed = 5;
  opt.keep_paths = true;
  const auto plain = simulate(sc, 12, opt);
  opt.inflow_profile = {1.0};
  require_identical(plain, simulate(sc, 12, opt));
  opt.inflow_profile = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  require_identical(plain, simulate(sc, 12, opt));
  // Also where arrivals are counted from their tables (means 30 and 0.8: automatic rule).
  for (double inflow : {30.0, 0.8}) {
    const auto busy = party_units(2, 10, 3, 1, 40, inflow, 0.6);
    simulation_options o;
    o.paths = 300;
    o.seed = 6;
    const auto none = simulate(busy, 6, o);
    o.inflow_profile = {1, 1, 1};
    require_identical(none, simulate(busy, 6, o));
  }
  opt.inflow_profile = {1, -0.5};
  REQUIRE_THROWS_AS_WITH(simulate(sc, 12, opt), parameter_error, mf_test::contains("inflow_profile"));
  opt.inflow_profile = {1, std::nan("")};
  REQUIRE_THROWS_AS_WITH(simulate(sc, 12, opt), parameter_error, mf_test::contains("finite and >= 0"));
  opt.inflow_profile = {HUGE_VAL};
  REQUIRE_THROWS_AS(simulate(sc, 12, opt), parameter_error);
}

// -- parameter uncertainty ----------------------------------------------------------------------------

namespace {

// One unit with `trainees` in training, nobody else; training exit 0 and advance `advance`
// (overridden per path by an uncertainty entry).
scenario trainees_scenario(std::vector<unit_record> units, std::vector<double> trainees, double advance,
                           double exit = 0) {
  auto p = party_like({.training_advance = advance, .training_exit = exit});
  scenario sc(org_of(std::move(units)), p);
  for (std::size_t u = 0; u < trainees.size(); ++u)
    sc.stocks(static_cast<Eigen::Index>(u), training_slot) = trainees[u];
  return sc;
}

// Beta-binomial(n, a, b): a binomial whose p is drawn from Beta(a, b).
pmf beta_binomial_reference(long long n, double a, double b) {
  const double dn = static_cast<double>(n);
  auto log_beta = [](double x, double y) { return std::lgamma(x) + std::lgamma(y) - std::lgamma(x + y); };
  return tabulate(0, n, [&](long long k) {
    const double dk = static_cast<double>(k);
    return std::exp(log_choose(dn, dk) + log_beta(dk + a, dn - dk + b) - log_beta(a, b));
  });
}

// Poisson(c G) with G ~ Gamma(shape, scale): negative binomial with r = shape and
// P(k) = Gamma(k + r) / (Gamma(r) k!) (1 / (1 + c scale))^r (c scale / (1 + c scale))^k.
pmf negative_binomial_reference(double r, double c_scale) {
  const double mean = r * c_scale, sd = std::sqrt(mean * (1 + c_scale));
  return tabulate(0, static_cast<long long>(mean + 20 * sd + 30), [&](long long k) {
    const double dk = static_cast<double>(k);
    return std::exp(std::lgamma(dk + r) - std::lgamma(r) - std::lgamma(dk + 1) - r * std::log1p(c_scale) +
                    dk * (std::log(c_scale) - std::log1p(c_scale)));
  });
}

}  // namespace

TEST_CASE("Uncertainty: a Beta-drawn advance makes month-0 admissions beta-binomial", "[simulate][policy]") {
  // Admissions in month 0 are Binomial(1000, A) given the path's A ~ Beta(2, 6): linear
  // in A, so their mean is 1000 a / (a + b) and their law beta-binomial.
  const long long paths = 20000, n = 1000;
  const double a = 2, b = 6;
  auto sc = trainees_scenario({{"U", "", "", "cell"}}, {static_cast<double>(n)}, 0.25);
  simulation_options opt;
  opt.paths = paths;
  opt.seed = 9;
  opt.keep_paths = true;
  opt.track = {{"admissions", {0, 1}}};
  const auto fixed = simulate(sc, 1, opt);
  opt.uncertainty = {{"U", "training", "advance", "beta", a, b}};
  const auto drawn = simulate(sc, 1, opt);
  const auto s_fixed = column_stats(fixed.paths[0], 1, 0), s_drawn = column_stats(drawn.paths[0], 1, 0);
  // Analytic moments: Var = n E[A(1 - A)] + n^2 Var(A).
  const double m = a / (a + b), var_a = a * b / ((a + b) * (a + b) * (a + b + 1));
  const double var = n * (m - (var_a + m * m)) + n * n * var_a;
  INFO("mean " << s_drawn.mean << " vs " << n * m << "; variance " << s_drawn.var << " vs " << var
               << " (fixed advance: " << s_fixed.var << ")");
  // The mean of the drawn parameter is a / (a + b) within its standard error.
  REQUIRE(std::abs(s_drawn.mean / n - m) <= 5 * std::sqrt(var / paths) / n);
  // The spread across paths exceeds the fixed-parameter spread, which is binomial.
  REQUIRE(std::abs(s_fixed.var - n * 0.25 * 0.75) <= 5 * n * 0.25 * 0.75 * std::sqrt(2.0 / paths));
  REQUIRE(s_drawn.var > s_fixed.var * (1 + 10 * std::sqrt(2.0 / paths)));
  const auto chi = chi_square(column_counts(drawn.paths[0], 1, 0), paths, beta_binomial_reference(n, a, b));
  INFO(chi.describe());
  REQUIRE(chi.passes());
  // ... whereas the same draws held to the binomial of the mean parameter fail.
  REQUIRE(!chi_square(column_counts(drawn.paths[0], 1, 0), paths, binomial_reference(n, m)).passes());
}

TEST_CASE("Uncertainty: a Beta with huge a + b is the fixed parameter, within standard errors", "[simulate][policy]") {
  const long long paths = 20000, n = 1000;
  auto sc = trainees_scenario({{"U", "", "", "cell"}}, {static_cast<double>(n)}, 0.25);
  simulation_options opt;
  opt.paths = paths;
  opt.seed = 10;
  opt.keep_paths = true;
  opt.track = {{"admissions", {0, 1}}};
  const auto fixed = simulate(sc, 1, opt);
  opt.uncertainty = {{"U", "training", "advance", "beta", 0.25e8, 0.75e8}};  // sd of A: 4e-5
  const auto drawn = simulate(sc, 1, opt);
  const auto s_fixed = column_stats(fixed.paths[0], 1, 0), s_drawn = column_stats(drawn.paths[0], 1, 0);
  INFO("means " << s_drawn.mean << " and " << s_fixed.mean);
  REQUIRE(std::abs(s_drawn.mean - s_fixed.mean) <= 5 * std::sqrt((s_drawn.var + s_fixed.var) / paths));
  const auto chi = chi_square(column_counts(drawn.paths[0], 1, 0), paths, binomial_reference(n, 0.25));
  INFO(chi.describe());
  REQUIRE(chi.passes());
}

TEST_CASE("Uncertainty: a Gamma-drawn inflow makes arrivals negative binomial", "[simulate][policy]") {
  // Arrivals over 6 months are Poisson(6 G) given the path's G ~ Gamma(4, 0.5).
  const long long paths = 20000;
  auto sc = trainees_scenario({{"U", "", "", "cell"}}, {0}, 0.0);
  sc.params.inflow(0) = 2;
  simulation_options opt;
  opt.paths = paths;
  opt.seed = 11;
  opt.keep_paths = true;
  opt.track = {{"arrivals", {0, 6}}};
  opt.uncertainty = {{"*", "source", "inflow", "gamma", 4, 0.5}};
  const auto r = simulate(sc, 6, opt);
  const auto s = column_stats(r.paths[0], 1, 0);
  const double mean = 6 * 4 * 0.5, var = mean + 36 * 4 * 0.25;
  INFO("mean " << s.mean << " vs " << mean << ", variance " << s.var << " vs " << var);
  REQUIRE(std::abs(s.mean - mean) <= 5 * std::sqrt(var / paths));
  const auto chi = chi_square(column_counts(r.paths[0], 1, 0), paths, negative_binomial_reference(4, 6 * 0.5));
  INFO(chi.describe());
  REQUIRE(chi.passes());
  REQUIRE(!chi_square(column_counts(r.paths[0], 1, 0), paths, poisson_reference(mean)).passes());
}

TEST_CASE("Uncertainty: one draw per path and entry, shared by the scope's units", "[simulate][policy]") {
  // R (no one) over A and B (kind cell) and C (kind other), 400 trainees each.
  const long long paths = 10000;
  const double n = 400, a = 2, b = 6;
  auto sc = trainees_scenario(
      {{"R", "", "", "district"}, {"A", "R", "", "cell"}, {"B", "R", "", "cell"}, {"C", "R", "", "other"}},
      {0, n, n, n}, 0.3);
  simulation_options opt;
  opt.paths = paths;
  opt.seed = 12;
  opt.keep_paths = true;
  opt.track = {{"admissions", {0, 1}}};
  auto correlation = [&](const simulation_result& r, std::size_t x, std::size_t y) {
    const auto sx = column_stats(r.paths[0], 4, x), sy = column_stats(r.paths[0], 4, y);
    double c = 0;
    for (long long i = 0; i < paths; ++i)
      c += (static_cast<double>(r.paths[0][static_cast<std::size_t>(i) * 4 + x]) - sx.mean) *
           (static_cast<double>(r.paths[0][static_cast<std::size_t>(i) * 4 + y]) - sy.mean);
    return c / static_cast<double>(paths - 1) / std::sqrt(sx.var * sy.var);
  };
  const double var_a = a * b / ((a + b) * (a + b) * (a + b + 1)), m = a / (a + b);
  // Two units sharing A: Cov = n^2 Var(A), Var = n E[A(1 - A)] + n^2 Var(A).
  const double rho = n * n * var_a / (n * (m - var_a - m * m) + n * n * var_a);
  const double independent = 5 / std::sqrt(static_cast<double>(paths));
  SECTION("scope kind:cell: A and B share the draw, C keeps its fixed advance") {
    opt.uncertainty = {{"kind:cell", "training", "advance", "beta", a, b}};
    const auto r = simulate(sc, 1, opt);
    const double ab = correlation(r, 1, 2), ac = correlation(r, 1, 3);
    INFO("corr(A, B) = " << ab << " (expected " << rho << "), corr(A, C) = " << ac);
    REQUIRE(std::abs(ab - rho) <= 5 * (1 - rho * rho) / std::sqrt(static_cast<double>(paths)));
    REQUIRE(std::abs(ac) <= independent);
    const auto c = column_stats(r.paths[0], 4, 3);
    REQUIRE(std::abs(c.mean - n * 0.3) <= 5 * std::sqrt(n * 0.3 * 0.7 / paths));
    REQUIRE(std::abs(c.var - n * 0.3 * 0.7) <= 5 * n * 0.3 * 0.7 * std::sqrt(2.0 / paths));
  }
  SECTION("scope *: every unit shares the draw") {
    opt.uncertainty = {{"*", "training", "advance", "beta", a, b}};
    const auto r = simulate(sc, 1, opt);
    REQUIRE(std::abs(correlation(r, 1, 3) - rho) <= 5 * (1 - rho * rho) / std::sqrt(static_cast<double>(paths)));
  }
  SECTION("one entry per unit: independent draws") {
    opt.uncertainty = {{"A", "training", "advance", "beta", a, b}, {"B", "training", "advance", "beta", a, b}};
    const auto r = simulate(sc, 1, opt);
    const double ab = correlation(r, 1, 2);
    INFO("corr(A, B) = " << ab);
    REQUIRE(std::abs(ab) <= independent);
    REQUIRE(column_stats(r.paths[0], 4, 1).var > n * n * var_a / 2);  // both are drawn
    REQUIRE(column_stats(r.paths[0], 4, 2).var > n * n * var_a / 2);
  }
}

TEST_CASE("Uncertainty: invalid entries are refused with a clear message", "[simulate][policy]") {
  const scenario sc = datasets::example_district();
  simulation_options opt;
  opt.paths = 10;
  auto with = [&](parameter_draw d) {
    opt.uncertainty = {d};
    return simulate(sc, 12, opt);
  };
  REQUIRE_THROWS_AS_WITH(with({"*", "training", "advance", "normal", 1, 1}), parameter_error,
                         mf_test::contains("must be 'beta' or 'gamma', got 'normal'"));
  REQUIRE_THROWS_AS_WITH(with({"*", "source", "inflow", "beta", 2, 2}), parameter_error,
                         mf_test::contains("use beta for probabilities and gamma for rates ('inflow')"));
  REQUIRE_THROWS_AS_WITH(with({"*", "training", "advance", "gamma", 2, 2}), parameter_error,
                         mf_test::contains("use beta for probabilities and gamma for rates ('advance')"));
  REQUIRE_THROWS_AS_WITH(with({"*", "training", "advance", "beta", 0, 2}), parameter_error, mf_test::contains("> 0"));
  REQUIRE_THROWS_AS_WITH(with({"*", "training", "advance", "beta", 2, -1}), parameter_error, mf_test::contains("> 0"));
  REQUIRE_THROWS_AS_WITH(with({"nowhere", "training", "advance", "beta", 2, 2}), unknown_id,
                         mf_test::contains("'nowhere' names no unit"));
  REQUIRE_THROWS_AS_WITH(with({"kind:nosuchkind", "training", "advance", "beta", 2, 2}), unknown_id,
                         mf_test::contains("names no unit"));
  REQUIRE_THROWS_AS(with({"*", "nosuchstage", "advance", "beta", 2, 2}), unknown_id);
  REQUIRE_THROWS_AS(with({"*", "training", "nosuchparam", "beta", 2, 2}), unknown_id);
  REQUIRE_THROWS_AS_WITH(with({"*", "training", "pass_rate", "beta", 2, 2}), input_error,
                         mf_test::contains("does not take 'pass_rate'"));
  // A draw the model cannot take (advance + exit > 1 with exit 0.02 and Beta(1, 1) on
  // advance) stops the run with the unit and stage named; nothing is clamped.
  opt.paths = 2000;
  REQUIRE_THROWS_AS_WITH(with({"*", "training", "advance", "beta", 1, 1}), parameter_error,
                         mf_test::contains("stage 'training': advance + exit"));
}

// -- course -------------------------------------------------------------------------------------------

TEST_CASE("Course with seats to spare: trainees complete only at sessions, each as the model says",
          "[simulate][policy]") {
  // R over A (300 trainees) and B (200); no inflow. Outside sessions a trainee only
  // exits (e); at a session it is admitted (a), exits (e) or stays. So each trainee is
  // admitted at session j with chance (1 - e)^(months before it that are not sessions)
  // (1 - a - e)^(sessions before it) a, independently of the others.
  const double a = 0.2, e = 0.05;
  const std::vector<int> sessions{2, 5, 8, 11};
  const int horizon = 12;
  const long long paths = 10000;
  auto sc = trainees_scenario({{"R", "", "", "k"}, {"A", "R", "", "k"}, {"B", "R", "", "k"}}, {0, 300, 200}, a, e);
  simulation_options opt;
  opt.paths = paths;
  opt.seed = 13;
  opt.keep_paths = true;
  opt.course = course_policy{1000000, sessions};
  opt.track = conservation_tracking(sc.model(), horizon);
  for (int t = 0; t < horizon; ++t) opt.track.push_back({"admissions", {t, t + 1}});
  const auto r = simulate(sc, horizon, opt);
  require_conservation(r, sc.model(), horizon);
  std::vector<double> chance(horizon, 0.0);
  double alive = 1;
  for (int t = 0; t < horizon; ++t) {
    const bool session = std::find(sessions.begin(), sessions.end(), t) != sessions.end();
    chance[static_cast<std::size_t>(t)] = session ? alive * a : 0.0;
    alive *= session ? 1 - a - e : 1 - e;
  }
  const auto& own = r.means.own("admissions");
  for (int t = 0; t < horizon; ++t) {
    const auto& at_root = r.distributions[tracked_index(r, "admissions", t, t + 1)][0];
    const double c = chance[static_cast<std::size_t>(t)];
    INFO("month " << t << ": mean admissions at A " << own(1, t) << ", expected " << 300 * c);
    if (c == 0) {  // not a session: no one admitted in any path
      REQUIRE(at_root.offset == 0);
      REQUIRE(at_root.p == std::vector<double>{1.0});
    } else {
      REQUIRE(std::abs(own(1, t) - 300 * c) <= 5 * std::sqrt(300 * c * (1 - c) / paths));
      REQUIRE(std::abs(own(2, t) - 200 * c) <= 5 * std::sqrt(200 * c * (1 - c) / paths));
    }
  }
  // Over the year: Binomial(500, sum of the chances) at the root.
  const double total = std::accumulate(chance.begin(), chance.end(), 0.0);
  const auto& year = r.distributions[tracked_index(r, "admissions", 0, horizon)][0];
  const auto chi = chi_square(counts_of(year, paths), paths, binomial_reference(500, total));
  INFO(chi.describe());
  REQUIRE(chi.passes());
}

TEST_CASE("Course with few seats: the seats go to a uniformly random subset of the ready", "[simulate][policy]") {
  // Everyone in training is ready at the session (advance 1): 30 in A and 10 in B for 20
  // seats, so A's seats are hypergeometric(40, 30, 20) and the rest wait in training.
  const long long paths = 20000;
  auto sc = trainees_scenario({{"R", "", "", "k"}, {"A", "R", "", "k"}, {"B", "R", "", "k"}}, {0, 30, 10}, 1.0);
  simulation_options opt;
  opt.paths = paths;
  opt.seed = 14;
  opt.keep_paths = true;
  opt.course = course_policy{20, {0}};
  opt.track = {{"admissions", {0, 1}}, {"training", {1, 1}}};
  const auto r = simulate(sc, 1, opt);
  const auto adm = r.paths[0], waiting = r.paths[1];
  for (long long i = 0; i < paths; ++i) {
    const auto row = static_cast<std::size_t>(i) * 3;
    REQUIRE(adm[row] == 20);                     // every seat is taken
    REQUIRE(adm[row + 1] + waiting[row + 1] == 30);  // the others wait
    REQUIRE(adm[row + 2] + waiting[row + 2] == 10);
  }
  const pmf hypergeometric = tabulate(10, 20, [](long long k) {
    return std::exp(log_choose(30, static_cast<double>(k)) + log_choose(10, static_cast<double>(20 - k)) -
                    log_choose(40, 20));
  });
  const auto chi = chi_square(column_counts(adm, 3, 1), paths, hypergeometric);
  INFO(chi.describe());
  REQUIRE(chi.passes());
}

TEST_CASE("Course with random readiness: admissions are min(seats, ready)", "[simulate][policy]") {
  // Ready trainees ~ Binomial(40, 0.5) across the organisation; 18 seats.
  const long long paths = 20000;
  auto sc = trainees_scenario({{"R", "", "", "k"}, {"A", "R", "", "k"}, {"B", "R", "", "k"}}, {0, 25, 15}, 0.5);
  simulation_options opt;
  opt.paths = paths;
  opt.seed = 15;
  opt.course = course_policy{18, {0}};
  opt.track = {{"admissions", {0, 1}}};
  const auto r = simulate(sc, 1, opt);
  const pmf ready = binomial_reference(40, 0.5);
  const pmf capped = tabulate(0, 18, [&](long long k) {
    if (k < 18) return ready.at(k);
    double rest = 0;
    for (long long j = 18; j <= 40; ++j) rest += ready.at(j);
    return rest;
  });
  const auto chi = chi_square(counts_of(r.distributions[0][0], paths), paths, capped);
  INFO(chi.describe());
  REQUIRE(r.distributions[0][0].last() <= 18);
  REQUIRE(chi.passes());
}

TEST_CASE("Course on the example district: nothing outside sessions, never more than the seats", "[simulate][policy]") {
  const scenario sc = datasets::example_district();
  const int horizon = 12;
  simulation_options opt;
  opt.paths = 1000;
  opt.seed = 16;
  opt.keep_paths = true;
  opt.course = course_policy{6, {2, 5, 8, 11}};
  opt.track = conservation_tracking(sc.model(), horizon);
  for (int t = 0; t < horizon; ++t) opt.track.push_back({"admissions", {t, t + 1}});
  const auto r = simulate(sc, horizon, opt);
  require_conservation(r, sc.model(), horizon);
  for (int t = 0; t < horizon; ++t) {
    const auto& root = r.distributions[tracked_index(r, "admissions", t, t + 1)][0];
    INFO("month " << t);
    if (t % 3 == 2) {
      REQUIRE(root.last() <= 6);
      // About 9 of the ~60 trainees (advance 0.15) are ready at the first session, more
      // later as the unseated wait: the 6 seats are nearly always all taken.
      REQUIRE(root.mean() > 5);
    } else {
      REQUIRE(root.offset == 0);
      REQUIRE(root.p == std::vector<double>{1.0});
    }
  }
  opt.course = course_policy{0, {2, 5, 8, 11}};
  const auto none = simulate(sc, horizon, opt);
  REQUIRE(none.distributions[tracked_index(none, "admissions", 0, horizon)][0].p == std::vector<double>{1.0});
  opt.course = course_policy{-1, {2}};
  REQUIRE_THROWS_AS_WITH(simulate(sc, horizon, opt), parameter_error, mf_test::contains("seats must be >= 0"));
  // The stage before admission must be a markov (training) stage.
  auto fixed_before = std::make_shared<const pipeline>(pipeline(
      {stage::fixed("trial", 3, 0.1, 0.9), stage::fixed("probation", 5, 0.0, 1.0), stage::terminal("full", 0.0)},
      "probation"));
  scenario other(org_of({{"U", "", "", "k"}}), fixed_before);
  opt.course = course_policy{5, {2}};
  opt.track.clear();
  REQUIRE_THROWS_AS_WITH(simulate(other, horizon, opt), parameter_error, mf_test::contains("markov (training) stage"));
}

// -- target rule --------------------------------------------------------------------------------------

namespace {

// Monthly admissions of every node, path by path: paths x months x nodes.
struct monthly {
  std::vector<std::vector<std::int64_t>> by_month;  // month -> paths x nodes
  std::size_t nodes;
  std::int64_t at(std::size_t path, int month, std::size_t node) const {
    return by_month[static_cast<std::size_t>(month)][path * nodes + node];
  }
};

simulation_options monthly_admissions(int horizon, long long paths, std::uint64_t seed) {
  simulation_options o;
  o.paths = paths;
  o.seed = seed;
  o.keep_paths = true;
  for (int t = 0; t < horizon; ++t) o.track.push_back({"admissions", {t, t + 1}});
  return o;
}

monthly monthly_of(const simulation_result& r, int horizon) {
  monthly m{{}, r.means.units().size()};
  for (int t = 0; t < horizon; ++t) m.by_month.push_back(r.paths[tracked_index(r, "admissions", t, t + 1)]);
  return m;
}

// Trainees admitted in month t with chance prod_{j<t}(1 - a_j - e) a_t for an advance
// schedule a_t (deterministic: the unit is always behind, or never).
std::vector<double> admission_chances(const std::vector<double>& advance, double exit) {
  std::vector<double> c;
  double alive = 1;
  for (double a : advance) {
    c.push_back(alive * a);
    alive *= 1 - a - exit;
  }
  return c;
}

}  // namespace

TEST_CASE("Target rule, stop when met: a unit admits no one from the month after it meets its target to the "
          "year's end",
          "[simulate][policy]") {
  // One unit, 400 trainees admitted at ~2% a month (about 8 a month), target 30: met in
  // the fourth month or so, again in the second year. Up to the month the target is met
  // the path is the plain path, draw for draw (the same streams); then nothing until
  // month 12; then admissions resume.
  const int horizon = 18;
  const long long paths = 3000;
  auto sc = trainees_scenario({{"U", "", "", "k"}}, {400}, 0.02);
  sc.targets(0) = 30;
  auto opt = monthly_admissions(horizon, paths, 17);
  const auto plain = monthly_of(simulate(sc, horizon, opt), horizon);
  opt.target_rule = target_policy{true, 0, 0, 0};
  const auto rule_result = simulate(sc, horizon, opt);
  const auto ruled = monthly_of(rule_result, horizon);
  long long resumed = 0, stopped_early = 0, met_year_one = 0;
  for (std::size_t i = 0; i < static_cast<std::size_t>(paths); ++i) {
    std::int64_t sum = 0;
    int met = -1;
    for (int t = 0; t < 12; ++t) {
      if (met < 0) {
        REQUIRE(ruled.at(i, t, 0) == plain.at(i, t, 0));
        sum += ruled.at(i, t, 0);
        if (sum >= 30) met = t;
      } else {
        REQUIRE(ruled.at(i, t, 0) == 0);
      }
    }
    if (met >= 0) ++met_year_one;
    if (met >= 0 && met < 11) ++stopped_early;
    // The second year starts afresh, and stops again once 30 are admitted in it.
    std::int64_t second = 0;
    bool met2 = false;
    for (int t = 12; t < horizon; ++t) {
      if (met2) REQUIRE(ruled.at(i, t, 0) == 0);
      second += ruled.at(i, t, 0);
      met2 = second >= 30;
    }
    if (ruled.at(i, 12, 0) > 0) ++resumed;
  }
  INFO("paths meeting the target in year one: " << met_year_one << ", resuming in month 12: " << resumed);
  REQUIRE(met_year_one == paths);  // 96 expected against 30: every path meets it
  REQUIRE(stopped_early == paths);
  REQUIRE(resumed > paths / 2);  // ~8 expected in month 12 (P(0) ~ 3e-4)
}

TEST_CASE("Target rule, stop when met: a node's target stops its whole subtree, and only it", "[simulate][policy]") {
  // R (target 40 over its subtree) over A and B; C elsewhere with a target of its own
  // that it cannot meet. All have trainees.
  const int horizon = 12;
  const long long paths = 2000;
  auto sc = trainees_scenario(
      {{"T", "", "", "k"}, {"R", "T", "", "k"}, {"A", "R", "", "k"}, {"B", "R", "", "k"}, {"C", "T", "", "k"}},
      {0, 0, 300, 200, 300}, 0.03);
  sc.targets(1) = 40;
  sc.targets(4) = 1e6;
  auto opt = monthly_admissions(horizon, paths, 18);
  const auto plain = monthly_of(simulate(sc, horizon, opt), horizon);
  opt.target_rule = target_policy{true, 0, 0, 0};
  const auto ruled = monthly_of(simulate(sc, horizon, opt), horizon);
  for (std::size_t i = 0; i < static_cast<std::size_t>(paths); ++i) {
    std::int64_t sum = 0;
    int met = -1;
    for (int t = 0; t < horizon; ++t) {
      // C's target is never met and no boost is set: C is the plain path throughout.
      REQUIRE(ruled.at(i, t, 4) == plain.at(i, t, 4));
      if (met < 0) {
        for (std::size_t u : {1u, 2u, 3u}) REQUIRE(ruled.at(i, t, u) == plain.at(i, t, u));
        sum += ruled.at(i, t, 1);
        if (sum >= 40) met = t;
      } else {
        for (std::size_t u : {1u, 2u, 3u}) REQUIRE(ruled.at(i, t, u) == 0);
      }
    }
    REQUIRE(met >= 0);
  }
}

TEST_CASE("Target rule without stopping, boost or penalty changes nothing, bit for bit", "[simulate][policy]") {
  const scenario sc = datasets::example_district();
  simulation_options opt;
  opt.paths = 200;
  opt.seed = 19;
  opt.keep_paths = true;
  const auto plain = simulate(sc, 15, opt);
  opt.target_rule = target_policy{false, 0, 0, 0};
  require_identical(plain, simulate(sc, 15, opt));
  // A boost applies only when behind: with a margin no one is behind by, nothing changes.
  opt.target_rule = target_policy{false, 1e9, 0.2, 0.3};
  require_identical(plain, simulate(sc, 15, opt));
}

TEST_CASE("Target rule, boost: a unit behind at a quarter's end admits more in the next quarter",
          "[simulate][policy]") {
  // One unit, 2000 trainees, advance 0.05, exit 0.01, target out of reach: behind at the
  // end of every quarter but the year's last, so boosted in months 3-11 and 15-17, not
  // 0-2 and 12-14. Each trainee follows that fixed schedule independently: admissions
  // over a window are Binomial(2000, sum of the chances).
  const int horizon = 18;
  const long long paths = 5000;
  const double a = 0.05, e = 0.01, boost = 0.04;
  auto sc = trainees_scenario({{"U", "", "", "k"}}, {2000}, a, e);
  sc.targets(0) = 1e6;
  simulation_options opt;
  opt.paths = paths;
  opt.seed = 20;
  for (int q = 0; q < 6; ++q) opt.track.push_back({"admissions", {3 * q, 3 * q + 3}});
  const auto plain = simulate(sc, horizon, opt);
  opt.target_rule = target_policy{true, 0, boost, 0};
  const auto boosted = simulate(sc, horizon, opt);
  std::vector<double> schedule;
  for (int t = 0; t < horizon; ++t) schedule.push_back((t >= 3 && t < 12) || t >= 15 ? a + boost : a);
  const auto chances = admission_chances(schedule, e);
  const auto plain_chances = admission_chances(std::vector<double>(horizon, a), e);
  for (int q = 0; q < 6; ++q) {
    const double p = std::accumulate(chances.begin() + 3 * q, chances.begin() + 3 * q + 3, 0.0);
    const double p0 = std::accumulate(plain_chances.begin() + 3 * q, plain_chances.begin() + 3 * q + 3, 0.0);
    const auto& sim = boosted.distributions[static_cast<std::size_t>(q)][0];
    const auto& base = plain.distributions[static_cast<std::size_t>(q)][0];
    const auto chi = chi_square(counts_of(sim, paths), paths, binomial_reference(2000, p));
    INFO("quarter " << q << ": boosted mean " << sim.mean() << " (model " << 2000 * p << "), plain " << base.mean()
                    << " (model " << 2000 * p0 << "); " << chi.describe());
    REQUIRE(chi.passes());
    REQUIRE(std::abs(base.mean() - 2000 * p0) <= 5 * std::sqrt(2000 * p0 * (1 - p0) / paths));
    if (q == 1) {  // the quarter after the first: more admissions than without the rule
      REQUIRE(sim.mean() - base.mean() > 5 * std::sqrt((sim.variance() + base.variance()) / paths));
    }
  }
}

TEST_CASE("Target rule, boost capped at 1 - exit: the run goes on at advance = 1 - exit", "[simulate][policy]") {
  // advance 0.85 + boost 0.2 is capped at 1 - 0.1 = 0.9, whose exit ratio 0.1 / (1 - 0.9)
  // exceeds 1 by a rounding. A steady Poisson(50) a month reaches training (the source
  // passes everyone on); in boosted months 0.9 of the trainees are admitted.
  const int horizon = 6;
  const long long paths = 4000;
  auto p = party_like({.source_advance = 1.0, .training_advance = 0.85, .training_exit = 0.1});
  scenario sc(org_of({{"U", "", "", "k"}}), p);
  sc.params.inflow(0) = 50;
  sc.targets(0) = 1e6;
  simulation_options opt;
  opt.paths = paths;
  opt.seed = 21;
  opt.target_rule = target_policy{true, 0, 0.2, 0};
  const auto r = simulate(sc, horizon, opt);
  // Expected values month by month: source(t + 1) = inflow; training(t + 1) =
  // training(t) (1 - a_t - e) + source(t); admissions(t) = a_t training(t).
  double source = 0, training = 0;
  const auto& adm = r.means.own("admissions");
  for (int t = 0; t < horizon; ++t) {
    const double at = t >= 3 ? 0.9 : 0.85, expected = at * training;
    INFO("month " << t << ": mean admissions " << adm(0, t) << ", expected " << expected);
    REQUIRE(std::abs(adm(0, t) - expected) <= 5 * std::sqrt(expected / paths) + 1e-12);  // Var <= mean
    training = training * (1 - at - 0.1) + source;
    source = 50;
  }
}

TEST_CASE("Target rule, penalty: those admitted under the lowered bar pass probation less often, 12 months on",
          "[simulate][policy]") {
  // As in the boost test, with probation 12 months, no exits, pass 0.9, penalty 0.3:
  // the cohort admitted in boosted months 3-5 is confirmed in months 15-17 with chance
  // 0.6 instead of 0.9; the cohort of months 0-2 (not boosted) in months 12-14 with 0.9.
  const int horizon = 18;
  const long long paths = 5000;
  const double a = 0.05, e = 0.0, boost = 0.05;
  auto p = party_like({.training_advance = a, .training_exit = e, .probation_months = 12, .pass_rate = 0.9});
  scenario sc(org_of({{"U", "", "", "k"}}), p);
  sc.stocks(0, training_slot) = 2000;
  sc.targets(0) = 1e6;
  simulation_options opt;
  opt.paths = paths;
  opt.seed = 22;
  opt.keep_paths = true;
  opt.track = conservation_tracking(*p, horizon);
  for (auto w : {month_window{0, 3}, month_window{3, 6}, month_window{12, 15}, month_window{15, 18}}) {
    opt.track.push_back({"admissions", w});
    opt.track.push_back({"confirmations", w});
  }
  opt.track.push_back({"probation", {6, 6}});
  opt.track.push_back({"admissions", {0, 6}});
  opt.target_rule = target_policy{true, 0, boost, 0};
  const auto no_penalty = simulate(sc, horizon, opt);
  opt.target_rule = target_policy{true, 0, boost, 0.3};
  const auto penalty = simulate(sc, horizon, opt);
  require_conservation(penalty, *p, horizon);
  std::vector<double> schedule;
  for (int t = 0; t < horizon; ++t) schedule.push_back((t >= 3 && t < 12) || t >= 15 ? a + boost : a);
  const auto chances = admission_chances(schedule, e);
  const double first = chances[0] + chances[1] + chances[2], second = chances[3] + chances[4] + chances[5];
  struct expectation {
    const simulation_result* run;
    const char* label;
    month_window window;
    double p;
  };
  const std::vector<expectation> cases{
      {&no_penalty, "no penalty", {12, 15}, first * 0.9}, {&no_penalty, "no penalty", {15, 18}, second * 0.9},
      {&penalty, "penalty", {12, 15}, first * 0.9},       {&penalty, "penalty", {15, 18}, second * 0.6},
      {&penalty, "penalty", {3, 6}, second}};
  for (const auto& c : cases) {
    const auto quantity = c.window.first == 3 ? "admissions" : "confirmations";
    const auto i = tracked_index(*c.run, quantity, c.window.first, c.window.last);
    const auto& sim = c.run->distributions[i][0];
    const auto chi = chi_square(counts_of(sim, paths), paths, binomial_reference(2000, c.p));
    INFO(c.label << ", window [" << c.window.first << ", " << c.window.last << "): mean " << sim.mean()
                 << ", model " << 2000 * c.p << "; " << chi.describe());
    REQUIRE(chi.passes());
  }
  const auto& with = penalty.distributions[tracked_index(penalty, "confirmations", 15, 18)][0];
  const auto& without = no_penalty.distributions[tracked_index(no_penalty, "confirmations", 15, 18)][0];
  REQUIRE(without.mean() - with.mean() > 5 * std::sqrt((with.variance() + without.variance()) / paths));
  // The lowered-bar cohort is in the probation stock like any other: with no exits,
  // probation at month 6 holds everyone admitted in months 0-5, in every path.
  REQUIRE(penalty.paths[tracked_index(penalty, "probation", 6, 6)] ==
          penalty.paths[tracked_index(penalty, "admissions", 0, 6)]);
}

TEST_CASE("Target rule: invalid settings are refused", "[simulate][policy]") {
  scenario sc = datasets::example_district();
  simulation_options opt;
  opt.paths = 10;
  sc.targets.setConstant(std::nan(""));
  opt.target_rule = target_policy{true, 0, 0, 0};
  REQUIRE_THROWS_AS_WITH(simulate(sc, 12, opt), input_error, mf_test::contains("the scenario has no targets"));
  sc.targets(0) = 100;
  for (const auto& bad : {target_policy{true, 0, 1.5, 0}, target_policy{true, 0, -0.1, 0}, target_policy{true, 0, 0, 2},
                          target_policy{true, std::nan(""), 0, 0}}) {
    opt.target_rule = bad;
    REQUIRE_THROWS_AS_WITH(simulate(sc, 12, opt), parameter_error, mf_test::contains("target rule"));
  }
  // A penalty needs a fixed-duration admission stage to apply at its end.
  auto markov_admission = std::make_shared<const pipeline>(pipeline(
      {stage::markov("lead", 0.1, 0.0), stage::markov("member_candidate", 0.1, 0.0), stage::terminal("full", 0.0)},
      "member_candidate"));
  scenario other(org_of({{"U", "", "", "k"}}), markov_admission);
  other.targets(0) = 5;
  opt.target_rule = target_policy{true, 0, 0.1, 0.2};
  REQUIRE_THROWS_AS_WITH(simulate(other, 12, opt), parameter_error,
                         mf_test::contains("fixed-duration admission stage"));
}

TEST_CASE("Simulation refuses bad options", "[simulate]") {
  const scenario sc = datasets::example_district();
  simulation_options opt;
  opt.paths = 0;
  REQUIRE_THROWS_AS_WITH(simulate(sc, 12, opt), input_error, mf_test::contains("paths must be in 1 .. 4,294,967,295, got 0"));
  opt.paths = 10;
  REQUIRE_THROWS_AS_WITH(simulate(sc, 0, opt), input_error, mf_test::contains("horizon must be at least 1"));
  opt.track = {{"admissions", {3, 3}}};
  REQUIRE_THROWS_AS_WITH(simulate(sc, 12, opt), input_error,
                         mf_test::contains("tracked 'admissions': window [3, 3) must satisfy 0 <= first < last <= horizon = 12"));
  opt.track = {{"admissions", {0, 13}}};
  REQUIRE_THROWS_AS(simulate(sc, 12, opt), input_error);
  opt.track = {{"probation", {13, 13}}};
  REQUIRE_THROWS_AS_WITH(simulate(sc, 12, opt), input_error,
                         mf_test::contains("tracked stock 'probation': month 13 is outside 0..12"));
  opt.track = {{"nosuch", {1, 1}}};
  REQUIRE_THROWS_AS(simulate(sc, 12, opt), unknown_id);
}

TEST_CASE("A progress callback sees the paths done and can stop the run", "[simulate]") {
  const scenario sc = datasets::example_district();
  simulation_options opt;
  opt.paths = 3000;
  opt.threads = 2;
  std::vector<long long> seen;
  opt.progress = [&](long long done, long long total) {
    REQUIRE(total == 3000);
    seen.push_back(done);
    return true;
  };
  simulate(sc, 12, opt);
  REQUIRE(!seen.empty());
  REQUIRE(std::is_sorted(seen.begin(), seen.end()));
  REQUIRE(seen.back() == 3000);
  // Returning false stops the run: `cancelled`, long before the paths are done.
  opt.paths = 10000000;
  int calls = 0;
  opt.progress = [&](long long done, long long total) {
    REQUIRE(done < total);
    return ++calls < 2;
  };
  std::string message;
  try {
    simulate(sc, 12, opt);
  } catch (const cancelled& e) {
    message = e.what();
  }
  REQUIRE_THAT(message, mf_test::contains("simulation stopped after"));
  REQUIRE(calls == 2);
  // A callback that throws stops the run too, and its exception reaches the caller.
  opt.progress = [](long long, long long) -> bool { throw std::runtime_error("callback failed"); };
  REQUIRE_THROWS_WITH(simulate(sc, 12, opt), "callback failed");
}

TEST_CASE("Parameter sets: path i runs with set i mod their number", "[simulate][policy]") {
  // Two sets: training advance 0.1 and 0.5 for 1000 trainees; path i admits in month 0
  // Binomial(1000, 0.1) for even i and Binomial(1000, 0.5) for odd i.
  const long long paths = 4000, n = 1000;
  auto sc = trainees_scenario({{"U", "", "", "cell"}}, {static_cast<double>(n)}, 0.25);
  auto low = sc.params, high = sc.params;
  low.advance(0, 1) = 0.1;
  high.advance(0, 1) = 0.5;
  simulation_options opt;
  opt.paths = paths;
  opt.seed = 12;
  opt.keep_paths = true;
  opt.track = {{"admissions", {0, 1}}};
  opt.parameter_sets = {low, high};
  const auto r = simulate(sc, 1, opt);
  std::vector<std::int64_t> even, odd;
  for (long long i = 0; i < paths; ++i) (i % 2 ? odd : even).push_back(r.paths[0][static_cast<std::size_t>(i)]);
  const auto e = column_stats(even, 1, 0), o = column_stats(odd, 1, 0);
  CHECK(std::abs(e.mean - 100) < 5 * std::sqrt(90.0 / 2000));
  CHECK(std::abs(o.mean - 500) < 5 * std::sqrt(250.0 / 2000));
  REQUIRE(chi_square(column_counts(even, 1, 0), paths / 2, binomial_reference(n, 0.1)).passes());
  REQUIRE(chi_square(column_counts(odd, 1, 0), paths / 2, binomial_reference(n, 0.5)).passes());
  // the same bits with any number of threads
  opt.threads = 1;
  const auto one = simulate(sc, 1, opt);
  opt.threads = 2;
  CHECK(simulate(sc, 1, opt).paths == one.paths);
  CHECK(one.paths == r.paths);
  // refused: a set of another shape, an invalid set, sets with uncertainty
  opt.parameter_sets = {parameter_set::defaults(*org_of({{"A", "", "", "cell"}, {"B", "A", "", "cell"}}), sc.model())};
  CHECK_THROWS_AS(simulate(sc, 1, opt), input_error);
  auto bad = low;
  bad.advance(0, 1) = 1.5;
  opt.parameter_sets = {bad};
  CHECK_THROWS_AS(simulate(sc, 1, opt), parameter_error);
  opt.parameter_sets = {low};
  opt.uncertainty = {{"U", "training", "advance", "beta", 2, 6}};
  CHECK_THROWS_AS(simulate(sc, 1, opt), input_error);
}

TEST_CASE("Batches: histogram bytes carry 64-bit counts; one beyond a 32-bit cell is refused", "[simulate][batches]") {
  detail::window_histograms h(1);
  h.add(0, 100);
  h.add(0, 500, 3);  // outside the window: a wide histogram, its one cell last in the bytes
  std::string bytes;
  h.write(bytes);
  std::int64_t last = 0;
  std::memcpy(&last, bytes.data() + bytes.size() - 8, 8);
  REQUIRE(last == 3);
  std::size_t at = 0;
  const auto back = detail::window_histograms::read(bytes, at);
  std::string again;
  back.write(again);
  REQUIRE(again == bytes);
  for (const std::int64_t bad : {std::int64_t{-1}, std::int64_t{1} << 32}) {
    auto wrong = bytes;
    std::memcpy(wrong.data() + wrong.size() - 8, &bad, 8);
    auto read = [&] {  // from the start at every call (the macro calls it twice)
      std::size_t from = 0;
      return detail::window_histograms::read(wrong, from);
    };
    REQUIRE_THROWS_AS_WITH(read(), input_error, mf_test::contains("a histogram count out of range"));
  }
}

TEST_CASE("Batches: merging histograms adds whole ranges as adding each value alone would", "[simulate][batches]") {
  // Two tallies' histograms of the same counts, values spread so that merging meets every
  // case: a count the merged-into side has not seen, values inside, below, above and on
  // both sides of its window, wide histograms to widen at either end, values far apart.
  std::mt19937_64 rng(20261129);
  constexpr std::size_t counts = 40;
  for (int trial = 0; trial < 200; ++trial) {
    detail::window_histograms a(counts), b(counts), alone(counts);
    std::vector<std::vector<long long>> seen_a(counts), seen_b(counts);
    for (std::size_t u = 0; u < counts; ++u) {
      const long long centre = std::uniform_int_distribution<long long>(0, 500)(rng);
      const long long spread = std::uniform_int_distribution<long long>(0, 3)(rng) == 0 ? 2 : 60;
      std::normal_distribution<double> value(static_cast<double>(centre), static_cast<double>(spread));
      const int in_a = u % 7 == 0 ? 0 : u % 5 == 0 ? 60 : 30, in_b = 60 - in_a;  // one side may see nothing
      for (int i = 0; i < in_a; ++i) seen_a[u].push_back(std::max(0LL, std::llround(value(rng))));
      for (int i = 0; i < in_b; ++i) seen_b[u].push_back(std::max(0LL, std::llround(value(rng) + (u % 3 == 0 ? 90 : 0))));
      for (auto k : seen_a[u]) a.add(u, k), alone.add(u, k);
      for (auto k : seen_b[u]) b.add(u, k), alone.add(u, k);
    }
    a.merge(b);
    pmf_table merged, each;
    for (std::size_t u = 0; u < counts; ++u) {
      a.append_pmf(u, 60, merged);
      alone.append_pmf(u, 60, each);
    }
    REQUIRE(merged.offsets == each.offsets);
    REQUIRE(merged.starts == each.starts);
    REQUIRE(merged.probs == each.probs);
  }
}
