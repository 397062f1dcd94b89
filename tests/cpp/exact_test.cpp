// The exact-distribution engine (exact_forecast) against independent references:
//
// - brute force: every person's possible paths month by month, written from
//   shared/spec/pipeline-model.md, and the count at every node from summing per-person
//   indicators over the product of those paths (tiny organisations, a few months), with
//   Poisson arrivals enumerated up to a cap whose neglected mass is bounded;
// - the expected-value engine: every mean, on random scenarios;
// - a Monte Carlo of individual people written here: chi-square goodness of fit with a
//   threshold derived from the chi-square distribution, not tuned;
// and the tail bookkeeping, the tolerance, and refusals.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "statistics.hpp"
#include "random_scenarios.hpp"
#include "memberflow/exact.hpp"
#include "memberflow/expected.hpp"

using namespace memberflow;
using mf_test::pipelines;
using mf_test::random_org;
using mf_test::random_scenario;
using mf_test::share;

namespace {


// Events in the order the reference records them.
enum event_id { ev_admissions, ev_confirmations, ev_arrivals, ev_exits, ev_leavers, n_events };
const std::array<std::string, n_events> event_name{"admissions", "confirmations", "arrivals", "exits", "leavers"};

// ------------------------------------------------------------------------------------------
// Brute force: one person's paths.

// One complete path of one person: its probability, its stage at the start of every month
// 0..H (-1: not in the pipeline, i.e. gone or not yet arrived), and its events by month.
struct person_path {
  double prob = 1;
  std::vector<int> stage_at;
  std::vector<std::array<int, n_events>> events;
};

// Every path of a person who is in (stage, age) at the start of month `start` (age: months
// spent so far in a fixed stage, else 0), taking one decision a month per the spec until
// month H - 1. `arrival_month` >= 0 records the arrival event in that month. Branches of
// probability zero are dropped.
std::vector<person_path> enumerate_paths(const scenario& sc, unit_index u, int horizon, int start, int stage, int age,
                                         int arrival_month) {
  const auto& p = sc.model();
  const auto& ps = sc.params;
  struct partial {
    int stage, age;
    person_path path;
  };
  person_path init;
  init.stage_at.assign(static_cast<std::size_t>(horizon) + 1, -1);
  init.events.assign(static_cast<std::size_t>(horizon), {});
  if (arrival_month >= 0) init.events[static_cast<std::size_t>(arrival_month)][ev_arrivals] = 1;
  if (start <= horizon) init.stage_at[static_cast<std::size_t>(start)] = stage;
  std::vector<partial> current{{stage, age, init}};
  for (int m = start; m < horizon; ++m) {
    std::vector<partial> next;
    for (const auto& x : current) {
      // Moves this month to (s2, a2) with probability q, with up to two events.
      auto branch = [&](double q, int s2, int a2, int e1, int e2) {
        if (!(q > 0)) return;
        partial y = x;
        y.path.prob *= q;
        y.stage = s2;
        y.age = a2;
        if (e1 >= 0) ++y.path.events[static_cast<std::size_t>(m)][static_cast<std::size_t>(e1)];
        if (e2 >= 0) ++y.path.events[static_cast<std::size_t>(m)][static_cast<std::size_t>(e2)];
        y.path.stage_at[static_cast<std::size_t>(m) + 1] = s2;
        next.push_back(std::move(y));
      };
      if (x.stage < 0) {  // gone for good
        branch(1.0, -1, 0, -1, -1);
        continue;
      }
      const auto s = static_cast<std::size_t>(x.stage);
      const auto si = static_cast<Eigen::Index>(s);
      const auto& st = p.stages()[s];
      // Entering stage s + 1 is an admission if s + 1 is the admission stage and a
      // confirmation if it is the terminal stage.
      const int enter1 = s + 1 == p.admission() ? ev_admissions : -1;
      const int enter2 = s + 1 == p.terminal() ? ev_confirmations : -1;
      const int following = static_cast<int>(s) + 1;
      switch (st.kind) {
        case stage_kind::markov: {
          const double a = ps.advance(u, si), e = ps.exit(u, si);
          branch(a, following, 0, enter1, enter2);
          branch(e, -1, 0, ev_exits, -1);
          branch(1 - a - e, x.stage, 0, -1, -1);
          break;
        }
        case stage_kind::fixed: {
          const double e = ps.exit(u, si), pass = ps.pass_rate(u, si);
          branch(e, -1, 0, ev_exits, -1);  // leaves during the month, at any age
          if (x.age + 1 < st.months) {
            branch(1 - e, x.stage, x.age + 1, -1, -1);
          } else {  // the month in which its age reaches D: pass on, or leave
            branch((1 - e) * pass, following, 0, enter1, enter2);
            branch((1 - e) * (1 - pass), -1, 0, ev_exits, -1);
          }
          break;
        }
        case stage_kind::terminal: {
          const double att = ps.attrition(u, si);
          branch(att, -1, 0, ev_leavers, -1);
          branch(1 - att, x.stage, 0, -1, -1);
          break;
        }
      }
    }
    current.swap(next);
  }
  std::vector<person_path> out;
  for (auto& x : current) out.push_back(std::move(x.path));
  return out;
}

// A quantity the engine reports: an event over months [first, last), or a stage's stock
// at the start of month `first`.
struct quantity {
  bool stock = false;
  int what = 0;  // event_id or stage index
  int first = 0, last = 0;
};

int indicator(const person_path& path, const quantity& q) {
  if (q.stock) return path.stage_at[static_cast<std::size_t>(q.first)] == q.what ? 1 : 0;
  int n = 0;
  for (int m = q.first; m < q.last; ++m) n += path.events[static_cast<std::size_t>(m)][static_cast<std::size_t>(q.what)];
  return n;
}

// Every event over every window of months and every stage's stock at every month.
std::vector<quantity> all_quantities(const pipeline& p, int horizon) {
  std::vector<quantity> qs;
  for (int e = 0; e < n_events; ++e)
    for (int f = 0; f < horizon; ++f)
      for (int l = f + 1; l <= horizon; ++l) qs.push_back({false, e, f, l});
  for (int s = 0; s < static_cast<int>(p.size()); ++s)
    for (int m = 0; m <= horizon; ++m) qs.push_back({true, s, m, m});
  return qs;
}

std::string describe(const pipeline& p, const quantity& q) {
  if (q.stock) return p.stages()[static_cast<std::size_t>(q.what)].name + " at month " + std::to_string(q.first);
  return event_name[static_cast<std::size_t>(q.what)] + " over months [" + std::to_string(q.first) + ", " +
         std::to_string(q.last) + ")";
}

// The people present at month 0, each with its unit and slot, from the scenario's stocks.
struct person {
  unit_index unit;
  int stage, age;
};

std::vector<person> people_of(const scenario& sc) {
  const auto& p = sc.model();
  std::vector<person> out;
  for (unit_index u = 0; u < static_cast<unit_index>(sc.units().size()); ++u)
    for (std::size_t s = 0; s < p.size(); ++s)
      for (std::size_t a = 0; a < p.width(s); ++a)
        for (int k = 0; k < static_cast<int>(sc.stocks(u, static_cast<Eigen::Index>(p.offset(s) + a))); ++k)
          out.push_back({u, static_cast<int>(s), static_cast<int>(a)});
  return out;
}

// Whether unit v lies in node's subtree, by walking v's parent chain.
bool in_subtree(const org& o, unit_index node, unit_index v) {
  for (unit_index w = v; w != no_unit; w = o.parent(w))
    if (w == node) return true;
  return false;
}

// Reference pmfs: [quantity][node] -> P(count = k), as dense vectors from 0.
using reference = std::vector<std::vector<std::vector<double>>>;

// The product of every person's paths: each joint path's probability is the product of the
// persons' path probabilities, and its count at a node the sum of the indicators of the
// people of the node's subtree. No arrivals (the scenario must have none).
reference brute_product(const scenario& sc, int horizon, const std::vector<quantity>& qs) {
  const auto& o = sc.units();
  const auto people = people_of(sc);
  const auto n_nodes = static_cast<unit_index>(o.size());
  std::vector<std::vector<person_path>> paths;
  for (const auto& x : people) paths.push_back(enumerate_paths(sc, x.unit, horizon, 0, x.stage, x.age, -1));
  // member[i][node]: person i counts at node.
  std::vector<std::vector<char>> member(people.size(), std::vector<char>(static_cast<std::size_t>(n_nodes)));
  for (std::size_t i = 0; i < people.size(); ++i)
    for (unit_index v = 0; v < n_nodes; ++v) member[i][static_cast<std::size_t>(v)] = in_subtree(o, v, people[i].unit);
  // ind[i][path][q]
  std::vector<std::vector<std::vector<int>>> ind(people.size());
  for (std::size_t i = 0; i < people.size(); ++i)
    for (const auto& path : paths[i]) {
      std::vector<int> row;
      for (const auto& q : qs) row.push_back(indicator(path, q));
      ind[i].push_back(std::move(row));
    }
  reference out(qs.size(), std::vector<std::vector<double>>(static_cast<std::size_t>(n_nodes),
                                                             std::vector<double>(people.size() + 1, 0.0)));
  std::vector<std::size_t> pick(people.size(), 0);  // an odometer over the joint paths
  std::vector<int> count(static_cast<std::size_t>(n_nodes));
  while (true) {
    double prob = 1;
    for (std::size_t i = 0; i < people.size(); ++i) prob *= paths[i][pick[i]].prob;
    for (std::size_t q = 0; q < qs.size(); ++q) {
      std::fill(count.begin(), count.end(), 0);
      for (std::size_t i = 0; i < people.size(); ++i) {
        const int x = ind[i][pick[i]][q];
        if (x)
          for (unit_index v = 0; v < n_nodes; ++v)
            if (member[i][static_cast<std::size_t>(v)]) count[static_cast<std::size_t>(v)] += x;
      }
      for (unit_index v = 0; v < n_nodes; ++v)
        out[q][static_cast<std::size_t>(v)][static_cast<std::size_t>(count[static_cast<std::size_t>(v)])] += prob;
    }
    std::size_t i = 0;
    while (i < people.size() && ++pick[i] == paths[i].size()) pick[i++] = 0;
    if (i == people.size()) break;
  }
  return out;
}

// An independent contributor to a unit's counts: one person present at month 0, or the
// Poisson(rate) people arriving at a unit in one month (into the first stage, or into the
// terminal stage for transfers in), enumerated as n = 0..cap arrivals, each with its own
// paths.
struct agent {
  unit_index unit;
  std::vector<std::vector<double>> dist;  // [quantity] -> P(this agent adds k)
};

std::vector<double> add_independent(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> c(a.size() + b.size() - 1, 0.0);
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = 0; j < b.size(); ++j) c[i + j] += a[i] * b[j];
  return c;
}

// The distribution, for each quantity, of one person's indicator from its paths.
std::vector<std::vector<double>> indicator_distributions(const std::vector<person_path>& paths,
                                                         const std::vector<quantity>& qs) {
  std::vector<std::vector<double>> dist(qs.size());
  for (std::size_t q = 0; q < qs.size(); ++q)
    for (const auto& path : paths) {
      const auto k = static_cast<std::size_t>(indicator(path, qs[q]));
      if (dist[q].size() <= k) dist[q].resize(k + 1, 0.0);
      dist[q][k] += path.prob;
    }
  return dist;
}

// The agents of a scenario; `neglected` accumulates an upper bound of the Poisson mass
// beyond the cap, P(N > cap) <= P(N = cap + 1) / (1 - rate / (cap + 2)).
std::vector<agent> agents_of(const scenario& sc, int horizon, const std::vector<quantity>& qs, int cap,
                             double& neglected) {
  std::vector<agent> out;
  for (const auto& x : people_of(sc))
    out.push_back({x.unit, indicator_distributions(enumerate_paths(sc, x.unit, horizon, 0, x.stage, x.age, -1), qs)});
  const auto& p = sc.model();
  for (unit_index u = 0; u < static_cast<unit_index>(sc.units().size()); ++u)
    for (int stream = 0; stream < 2; ++stream) {
      const double rate = stream == 0 ? sc.params.inflow(u) : sc.params.transfer_in(u);
      const int stage = stream == 0 ? 0 : static_cast<int>(p.terminal());
      if (rate == 0) continue;
      std::vector<double> poisson(static_cast<std::size_t>(cap) + 2);
      poisson[0] = std::exp(-rate);
      for (int n = 1; n <= cap + 1; ++n) poisson[static_cast<std::size_t>(n)] = poisson[static_cast<std::size_t>(n) - 1] * rate / n;
      for (int t = 0; t < horizon; ++t) {
        neglected += poisson[static_cast<std::size_t>(cap) + 1] / (1 - rate / (cap + 2));
        // Arrivals of month t land at the start of month t + 1 at age 0.
        const auto one = indicator_distributions(enumerate_paths(sc, u, horizon, t + 1, stage, 0, t), qs);
        agent a{u, std::vector<std::vector<double>>(qs.size())};
        for (std::size_t q = 0; q < qs.size(); ++q) {
          std::vector<double> n_of{1.0}, mix{0.0};  // n arrivals' total; the mixture over n
          for (int n = 0; n <= cap; ++n) {
            if (n > 0) n_of = add_independent(n_of, one[q]);
            if (mix.size() < n_of.size()) mix.resize(n_of.size(), 0.0);
            for (std::size_t k = 0; k < n_of.size(); ++k) mix[k] += poisson[static_cast<std::size_t>(n)] * n_of[k];
          }
          a.dist[q] = std::move(mix);
        }
        out.push_back(std::move(a));
      }
    }
  return out;
}

// Reference pmfs from independent agents: a node's count adds the contributions of the
// agents of its subtree.
reference brute_agents(const scenario& sc, const std::vector<agent>& agents, std::size_t n_quantities) {
  const auto& o = sc.units();
  reference out(n_quantities);
  for (std::size_t q = 0; q < n_quantities; ++q)
    for (unit_index v = 0; v < static_cast<unit_index>(o.size()); ++v) {
      std::vector<double> d{1.0};
      for (const auto& a : agents)
        if (in_subtree(o, v, a.unit)) d = add_independent(d, a.dist[q]);
      out[q].push_back(std::move(d));
    }
  return out;
}

// The engine's pmf of every quantity at every node against the reference, entry by entry.
// Returns the largest absolute difference.
double compare_with_engine(const scenario& sc, int horizon, const std::vector<quantity>& qs, const reference& ref,
                           double tol) {
  const exact_forecast ex(sc, horizon);
  const auto& p = sc.model();
  double worst = 0;
  for (std::size_t qi = 0; qi < qs.size(); ++qi) {
    const auto& q = qs[qi];
    const auto d = q.stock ? ex.stock(p.stages()[static_cast<std::size_t>(q.what)].name, q.first)
                           : ex.events(event_name[static_cast<std::size_t>(q.what)], {q.first, q.last});
    REQUIRE(d.nodes.size() == sc.units().size());
    REQUIRE(d.max_tail() <= ex.tolerance());
    for (unit_index v = 0; v < static_cast<unit_index>(sc.units().size()); ++v) {
      const auto& f = d.nodes[static_cast<std::size_t>(v)];
      const auto& r = ref[qi][static_cast<std::size_t>(v)];
      INFO(describe(p, q) << " at " << sc.units().id(v));
      REQUIRE(std::abs(f.sum() - 1) <= 1e-12);
      REQUIRE(f.first() >= 0);
      const long long top = std::max<long long>(f.last(), static_cast<long long>(r.size()) - 1);
      for (long long k = 0; k <= top; ++k) {
        const double rk = k < static_cast<long long>(r.size()) ? r[static_cast<std::size_t>(k)] : 0.0;
        INFO("k = " << k << ": engine " << f.at(k) << ", brute force " << rk);
        REQUIRE(std::abs(f.at(k) - rk) <= tol);
        worst = std::max(worst, std::abs(f.at(k) - rk));
      }
    }
  }
  return worst;
}

// A root R with two units A and B under it.
std::shared_ptr<const org> tiny_org() {
  return std::make_shared<const org>(std::vector<unit_record>{
      {"R", "", "Root", "district"}, {"A", "R", "Unit A", "cell"}, {"B", "R", "Unit B", "cell"}});
}

// source (markov) -> training (markov) -> probation (fixed, 2 months) -> full; admission =
// entry into probation. Rates differ per unit.
scenario tiny_party(bool arrivals) {
  scenario sc(tiny_org(), share(pipeline({stage::markov("source", 0.3, 0.2), stage::markov("training", 0.4, 0.1),
                                          stage::fixed("probation", 2, 0.1, 0.8), stage::terminal("full", 0.05)},
                                         "probation")));
  auto& ps = sc.params;
  const unit_index R = 0, A = 1, B = 2;
  ps.advance(B, 0) = 0.5;
  ps.exit(B, 0) = 0.05;
  ps.advance(A, 1) = 0.6;
  ps.exit(R, 1) = 0.25;
  ps.exit(B, 2) = 0.2;
  ps.pass_rate(B, 2) = 0.6;
  ps.pass_rate(R, 2) = 0.9;
  ps.attrition(A, 3) = 0.15;
  ps.attrition(R, 3) = 0.02;
  ps.inflow.setZero();
  ps.transfer_in.setZero();
  if (arrivals) {
    ps.inflow(A) = 0.3;
    ps.inflow(B) = 0.15;
    ps.transfer_in(A) = 0.1;
    ps.transfer_in(R) = 0.05;
  }
  return sc;
}

// trial (fixed, 3 months, first stage) -> wait (markov) -> probation (fixed, 1 month) ->
// member; admission = entry into wait, from the fixed stage's last month.
scenario tiny_trial() {
  scenario sc(tiny_org(), share(pipeline({stage::fixed("trial", 3, 0.1, 0.7), stage::markov("wait", 0.5, 0.2),
                                          stage::fixed("probation", 1, 0.15, 0.9), stage::terminal("member", 0.1)},
                                         "wait")));
  auto& ps = sc.params;
  ps.pass_rate(1, 0) = 0.9;
  ps.exit(2, 0) = 0.3;
  ps.advance(0, 1) = 0.8;
  ps.exit(0, 1) = 0.0;
  ps.pass_rate(2, 2) = 0.5;
  ps.inflow.setZero();
  ps.transfer_in.setZero();
  return sc;
}

// ------------------------------------------------------------------------------------------
// Random scenarios: tests/cpp/random_scenarios.hpp.

// ------------------------------------------------------------------------------------------
// Chi-square goodness of fit.




// Samples against a pmf (see statistics.hpp); alpha is the test's false-alarm rate.
mf_test::chi_square_result chi_square(const pmf& f, const std::vector<long long>& samples, double alpha) {
  mf_test::counts observed;
  for (auto x : samples) ++observed[x];
  return mf_test::chi_square(observed, static_cast<long long>(samples.size()), f, alpha);
}

}  // namespace

// ------------------------------------------------------------------------------------------

TEST_CASE("the reference's chi-square quantiles are those of the tables", "[exact][reference]") {
  // Published values: z(0.999) = 3.0902; chi-square 0.999 quantiles 20.515 (df 5),
  // 29.588 (df 10), 45.315 (df 20), 59.703 (df 30). Wilson-Hilferty errs by 1.2% at df 5
  // and 0.6% at df 10 (on the high, conservative side), by less than 0.5% from df 20 on.
  REQUIRE(mf_test::normal_upper_quantile(0.001) == Catch::Approx(3.090232).epsilon(1e-6));
  REQUIRE(mf_test::chi_square_quantile(5, 0.001) == Catch::Approx(20.515).epsilon(0.015));
  REQUIRE(mf_test::chi_square_quantile(5, 0.001) > 20.515);
  REQUIRE(mf_test::chi_square_quantile(10, 0.001) == Catch::Approx(29.588).epsilon(0.01));
  REQUIRE(mf_test::chi_square_quantile(20, 0.001) == Catch::Approx(45.315).epsilon(0.005));
  REQUIRE(mf_test::chi_square_quantile(30, 0.001) == Catch::Approx(59.703).epsilon(0.005));
}

TEST_CASE("the brute-force reference follows the spec's timing on hand-checked paths", "[exact][reference]") {
  // One person at probation age 0 (D = 2, exit 0.1, pass 0.8 at unit A): exits in month 0
  // (0.1) or month 1 (0.9 * 0.1 + 0.9 * 0.9 * 0.2), passes at the end of month 1 (0.648).
  const auto sc = tiny_party(false);
  const auto paths = enumerate_paths(sc, 1, 3, 0, 2, 0, -1);
  double pass = 0, total = 0;
  for (const auto& path : paths) {
    total += path.prob;
    if (path.events[1][ev_confirmations]) {
      pass += path.prob;
      REQUIRE(path.stage_at == std::vector<int>{2, 2, 3, path.stage_at[3]});
      REQUIRE(path.events[0][ev_confirmations] == 0);
    }
  }
  REQUIRE(total == Catch::Approx(1.0).epsilon(1e-15));
  REQUIRE(pass == Catch::Approx(0.9 * 0.9 * 0.8).epsilon(1e-15));
  // An arrival of month 1 is absent at months 0 and 1 and in the first stage at month 2.
  for (const auto& path : enumerate_paths(sc, 1, 3, 2, 0, 0, 1)) {
    REQUIRE(path.stage_at[0] == -1);
    REQUIRE(path.stage_at[1] == -1);
    REQUIRE(path.stage_at[2] == 0);
    REQUIRE(path.events[1][ev_arrivals] == 1);
  }
}

TEST_CASE("exact pmfs equal a brute-force enumeration of every person's paths (no arrivals)", "[exact][brute-force]") {
  const int horizon = 4;
  struct config {
    const char* label;
    scenario sc;
    std::vector<std::tuple<unit_index, int, int>> stocks;  // unit, slot, count
  };
  // Slots: party 0 source, 1 training, 2-3 probation ages 0-1, 4 full; trial 0-2 trial
  // ages, 3 wait, 4 probation, 5 member. R = 0, A = 1, B = 2.
  std::vector<config> configs{
      {"two in training at A (one binomial of 2), one at probation age 0 at B", tiny_party(false),
       {{1, 1, 2}, {2, 2, 1}}},
      {"source at A, probation's last month at B, a full member at R", tiny_party(false),
       {{1, 0, 1}, {2, 3, 1}, {0, 4, 1}}},
      {"training at R, probation age 1 at A, source at B", tiny_party(false), {{0, 1, 1}, {1, 3, 1}, {2, 0, 1}}},
      {"trial ages 0 and 2 (fixed first stage, D = 3) and probation (D = 1)", tiny_trial(),
       {{1, 0, 1}, {2, 2, 1}, {0, 4, 1}}},
      {"two at trial age 1 at B, one waiting at A", tiny_trial(), {{2, 1, 2}, {1, 3, 1}}},
  };
  for (auto& c : configs) {
    INFO(c.label);
    for (const auto& [u, slot, count] : c.stocks) c.sc.stocks(u, slot) = count;
    const auto qs = all_quantities(c.sc.model(), horizon);
    const auto product = brute_product(c.sc, horizon, qs);
    // The reference is a distribution: every pmf sums to 1.
    for (const auto& per_node : product)
      for (const auto& r : per_node) {
        double s = 0;
        for (double v : r) s += v;
        REQUIRE(s == Catch::Approx(1.0).epsilon(1e-13));
      }
    // Its two constructions agree (the product of paths, and independent people's
    // indicator distributions added).
    double neglected = 0;
    const auto added = brute_agents(c.sc, agents_of(c.sc, horizon, qs, 0, neglected), qs.size());
    REQUIRE(neglected == 0);
    for (std::size_t q = 0; q < qs.size(); ++q)
      for (std::size_t v = 0; v < product[q].size(); ++v)
        for (std::size_t k = 0; k < std::max(product[q][v].size(), added[q][v].size()); ++k) {
          const double a = k < product[q][v].size() ? product[q][v][k] : 0.0;
          const double b = k < added[q][v].size() ? added[q][v][k] : 0.0;
          REQUIRE(std::abs(a - b) <= 1e-14);
        }
    const double worst = compare_with_engine(c.sc, horizon, qs, product, 1e-12);
    INFO("largest difference " << worst);
    CHECK(worst <= 1e-12);
  }
}

TEST_CASE("exact pmfs equal a brute-force enumeration with Poisson arrivals and transfers in", "[exact][brute-force]") {
  // Arrivals per unit and month are enumerated as n = 0..12 people, each with its own
  // paths; the Poisson mass beyond 12 (rates <= 0.3) is bounded below and is < 1e-14 in all.
  const int horizon = 4, cap = 12;
  auto sc = tiny_party(true);
  sc.stocks(1, 0) = 1;  // A: one in source
  sc.stocks(2, 3) = 2;  // B: two in probation's last month
  sc.stocks(0, 4) = 1;  // R: one full member
  const auto qs = all_quantities(sc.model(), horizon);
  double neglected = 0;
  const auto agents = agents_of(sc, horizon, qs, cap, neglected);
  INFO("neglected Poisson mass " << neglected);
  REQUIRE(neglected < 1e-14);
  REQUIRE(agents.size() == 4 + 4 * 4);  // 4 people; 4 streams x 4 months
  const auto ref = brute_agents(sc, agents, qs.size());
  for (const auto& per_node : ref)
    for (const auto& r : per_node) {
      double s = 0;
      for (double v : r) s += v;
      REQUIRE(std::abs(s - 1) <= neglected + 1e-13);
    }
  // Arrivals matter here: at the root, P(some arrival in 4 months) = 1 - e^-(4 * 0.6).
  const std::size_t arrivals_0_4 = static_cast<std::size_t>(std::find_if(qs.begin(), qs.end(), [](const quantity& q) {
                                                              return !q.stock && q.what == ev_arrivals && q.first == 0 && q.last == 4;
                                                            }) - qs.begin());
  REQUIRE(ref[arrivals_0_4][0][0] == Catch::Approx(std::exp(-2.4)).epsilon(1e-12));
  const double worst = compare_with_engine(sc, horizon, qs, ref, 1e-12);
  INFO("largest difference " << worst);
  CHECK(worst <= 1e-12);
}

TEST_CASE("exact means equal the expected engine's on random scenarios; pmfs sum to 1 with tails <= tolerance",
          "[exact][expected]") {
  std::mt19937 rng(20210302);
  const int horizon = 15;
  const std::vector<month_window> windows{{0, horizon}, {0, 3}, {3, 9}, {horizon - 1, horizon}, {0, 1}, {7, 8}, {0, 12}};
  const std::vector<int> months{0, 1, 6, horizon};
  const std::vector<std::string> events{"admissions", "confirmations", "arrivals", "exits", "leavers"};
  int compared = 0, narrower = 0;
  for (const auto& p : pipelines())
    for (int n : {1, 6, 25}) {
      const auto sc = random_scenario(random_org(n, rng), p, rng);
      const auto fc = forecast_expected(sc, horizon);
      const exact_forecast ex(sc, horizon), loose(sc, horizon, {.tolerance = 1e-6});
      REQUIRE(ex.tolerance() == 1e-12);
      REQUIRE(ex.horizon() == horizon);
      auto check = [&](const node_distributions& d, const node_distributions& dl, const Eigen::ArrayXd& mean,
                       const std::string& what) {
        REQUIRE(d.max_tail() <= 1e-12);
        REQUIRE(dl.max_tail() <= 1e-6);
        for (unit_index u = 0; u < static_cast<unit_index>(n); ++u) {
          const auto& f = d.nodes[static_cast<std::size_t>(u)];
          const auto& g = dl.nodes[static_cast<std::size_t>(u)];
          INFO(what << " at " << sc.units().id(u) << ": exact mean " << f.mean() << ", expected engine " << mean(u));
          REQUIRE(std::abs(f.mean() - mean(u)) <= 1e-9 * std::abs(mean(u)));
          REQUIRE(std::abs(f.sum() - 1) <= 1e-12);
          REQUIRE(std::abs(f.sum() + f.tail - 1) <= 1e-12);
          // The looser tolerance keeps a sub-range of the support, entries within 1e-6.
          REQUIRE(std::abs(g.sum() + g.tail - 1) <= 1e-12);
          REQUIRE(g.first() >= f.first());
          REQUIRE(g.last() <= f.last());
          if (g.last() - g.first() < f.last() - f.first()) ++narrower;
          for (long long k = g.first(); k <= g.last(); ++k) REQUIRE(std::abs(g.at(k) - f.at(k)) <= 1e-6);
          REQUIRE(std::abs(g.mean() - mean(u)) <= 1e-5 * std::max(1.0, std::abs(mean(u))));
          ++compared;
        }
      };
      for (const auto& e : events)
        for (const auto& w : windows) {
          INFO(e << " over [" << w.first << ", " << w.last << "), " << n << " units");
          check(ex.events(e, w), loose.events(e, w), fc.total(e, w), e);
        }
      for (const auto& st : sc.model().stages())
        for (int m : months) {
          INFO(st.name << " at month " << m << ", " << n << " units");
          check(ex.stock(st.name, m), loose.stock(st.name, m), fc.stock(st.name, m), st.name);
        }
    }
  CHECK(compared == 3 * 32 * (5 * 7) + 32 * 4 * (4 + 4 + 3));
  // The looser tolerance does cut supports (most of the time).
  CHECK(narrower > compared / 2);
}

TEST_CASE("exact pmfs agree with a Monte Carlo of individual people (chi-square, 0.999 quantile)",
          "[exact][monte-carlo]") {
  // 30 units: a district D, 5 committees under it, 24 cells under the committees; the party
  // pipeline with per-unit rates, arrivals and transfers in; about 500 people.
  std::mt19937 setup(4242);
  std::uniform_real_distribution<double> unif(0, 1);
  std::vector<unit_record> records{{"D", "", "District", "district"}};
  for (int c = 1; c <= 5; ++c) records.push_back({"C" + std::to_string(c), "D", "", "committee"});
  for (int k = 1; k <= 24; ++k)
    records.push_back({"K" + std::to_string(k), "C" + std::to_string(1 + k % 5), "", "cell"});
  auto o = std::make_shared<const org>(records);
  scenario sc(o, share(pipeline::party()));
  const int n_units = static_cast<int>(o->size()), D = 12, full = 3;
  auto& ps = sc.params;
  for (int u = 0; u < n_units; ++u) {
    ps.advance(u, 0) = 0.05 + 0.2 * unif(setup);
    ps.exit(u, 0) = 0.05 * unif(setup);
    ps.advance(u, 1) = 0.1 + 0.2 * unif(setup);
    ps.exit(u, 1) = 0.05 * unif(setup);
    ps.exit(u, 2) = 0.02 * unif(setup);
    ps.pass_rate(u, 2) = 0.85 + 0.15 * unif(setup);
    ps.attrition(u, 3) = 0.02 * unif(setup);
    ps.inflow(u) = 1.2 * unif(setup);
    ps.transfer_in(u) = 0.2 * unif(setup);
    sc.stocks(u, 0) = std::uniform_int_distribution<int>(0, 8)(setup);
    sc.stocks(u, 1) = std::uniform_int_distribution<int>(0, 5)(setup);
    for (int a = 0; a < D; ++a) sc.stocks(u, 2 + a) = std::uniform_int_distribution<int>(0, 1)(setup);
    sc.stocks(u, 2 + D) = std::uniform_int_distribution<int>(0, 10)(setup);
  }
  const int horizon = 12;
  const unit_index root = o->root(), c1 = o->index("C1");
  std::vector<char> under_c1(static_cast<std::size_t>(n_units));
  for (int u = 0; u < n_units; ++u) under_c1[static_cast<std::size_t>(u)] = in_subtree(*o, c1, u);
  REQUIRE(people_of(sc).size() > 300);

  // The simulation: a person is (unit, stage, age); each month every person present at its
  // start decides on that state; moves and Poisson arrivals land at the start of the next.
  struct who {
    int unit, stage, age;
  };
  std::vector<who> initial;
  for (const auto& x : people_of(sc)) initial.push_back({x.unit, x.stage, x.age});
  std::vector<std::poisson_distribution<int>> inflow, transfer;
  for (int u = 0; u < n_units; ++u) {
    inflow.emplace_back(ps.inflow(u));
    transfer.emplace_back(ps.transfer_in(u));
  }
  const int paths = 20000;
  std::mt19937_64 rng(0x6d656d62);
  std::uniform_real_distribution<double> draw(0.0, 1.0);
  std::vector<long long> root_admissions, c1_admissions, root_probation, c1_exits;
  std::vector<who> now, next;
  for (int path = 0; path < paths; ++path) {
    now = initial;
    long long adm = 0, adm_c1 = 0, exits_c1 = 0;
    for (int t = 0; t < horizon; ++t) {
      next.clear();
      for (const auto& x : now) {
        const double r = draw(rng);
        const bool in_c1 = under_c1[static_cast<std::size_t>(x.unit)];
        if (x.stage < 2) {  // source, training: markov
          const double a = ps.advance(x.unit, x.stage), e = ps.exit(x.unit, x.stage);
          if (r < a) {
            next.push_back({x.unit, x.stage + 1, 0});
            if (x.stage + 1 == 2) {
              ++adm;
              adm_c1 += in_c1;
            }
          } else if (r < a + e) {
            exits_c1 += in_c1;
          } else {
            next.push_back(x);
          }
        } else if (x.stage == 2) {  // probation, ages 0..D-1
          const double e = ps.exit(x.unit, 2), pass = ps.pass_rate(x.unit, 2);
          if (r < e) {
            exits_c1 += in_c1;
          } else if (x.age + 1 < D) {
            next.push_back({x.unit, 2, x.age + 1});
          } else if (r < e + (1 - e) * pass) {
            next.push_back({x.unit, full, 0});
          } else {
            exits_c1 += in_c1;
          }
        } else if (r >= ps.attrition(x.unit, full)) {  // full: stays unless it leaves
          next.push_back(x);
        }
      }
      for (int u = 0; u < n_units; ++u) {
        for (int k = inflow[static_cast<std::size_t>(u)](rng); k > 0; --k) next.push_back({u, 0, 0});
        for (int k = transfer[static_cast<std::size_t>(u)](rng); k > 0; --k) next.push_back({u, full, 0});
      }
      now.swap(next);
    }
    long long in_probation = 0;
    for (const auto& x : now) in_probation += x.stage == 2;
    root_admissions.push_back(adm);
    c1_admissions.push_back(adm_c1);
    root_probation.push_back(in_probation);
    c1_exits.push_back(exits_c1);
  }

  const exact_forecast ex(sc, horizon);
  const double alpha = 0.001;
  struct check_case {
    const char* label;
    pmf f;
    const std::vector<long long>& samples;
  };
  const std::vector<check_case> cases{
      {"admissions over months 0-11 at the root", ex.events("admissions", {0, 12}).nodes[static_cast<std::size_t>(root)],
       root_admissions},
      {"admissions over months 0-11 at committee C1", ex.events("admissions", {0, 12}).nodes[static_cast<std::size_t>(c1)],
       c1_admissions},
      {"exits over months 0-11 at committee C1", ex.events("exits", {0, 12}).nodes[static_cast<std::size_t>(c1)],
       c1_exits},
      {"probation stock at month 12 at the root", ex.stock("probation", 12).nodes[static_cast<std::size_t>(root)],
       root_probation}};
  for (const auto& c : cases) {
    const auto g = chi_square(c.f, c.samples, alpha);
    INFO(c.label << ": chi-square " << g.statistic << " on " << g.dof << " df, 0.999 quantile " << g.threshold
                 << "; exact mean " << c.f.mean());
    // Enough bins for the test to see the shape, not just the mean.
    REQUIRE(g.dof >= 8);
    CHECK(g.statistic < g.threshold);
  }
}

TEST_CASE("arrivals over a window are Poisson((inflow + transfer_in) x months) at every node", "[exact]") {
  auto sc = tiny_party(true);
  const exact_forecast ex(sc, 6);
  const auto d = ex.events("arrivals", {1, 4});
  const double rates[3] = {0.05, 0.4, 0.15};  // R, A, B: own inflow + transfer_in
  for (unit_index u = 0; u < 3; ++u) {
    const double mu = 3 * (u == 0 ? rates[0] + rates[1] + rates[2] : rates[u]);
    const auto& f = d.nodes[static_cast<std::size_t>(u)];
    for (int k = 0; k < 30; ++k) {
      double direct = std::exp(-mu);
      for (int j = 1; j <= k; ++j) direct *= mu / j;
      REQUIRE(std::abs(f.at(k) - direct) <= 1e-14);
    }
  }
}

TEST_CASE("the exact engine refuses bad horizons, tolerances, windows, months and names", "[exact]") {
  auto sc = tiny_party(true);
  REQUIRE_THROWS_AS_WITH(exact_forecast(sc, 0), input_error, mf_test::contains("horizon must be at least 1"));
  for (double tol : {0.0, 1.0, -1e-3, std::numeric_limits<double>::quiet_NaN()})
    REQUIRE_THROWS_AS_WITH(exact_forecast(sc, 3, {.tolerance = tol}), input_error, mf_test::contains("tolerance"));
  const exact_forecast ex(sc, 6);
  for (auto w : {month_window{-1, 3}, month_window{0, 7}, month_window{3, 3}, month_window{4, 2}})
    REQUIRE_THROWS_AS_WITH(ex.events("admissions", w), input_error, mf_test::contains("horizon = 6"));
  REQUIRE_THROWS_AS_WITH(ex.events("admissions", {4, 2}), input_error,
                         mf_test::contains("window [4, 2) must satisfy 0 <= first < last <= horizon = 6"));
  const auto events = mf_test::contains("(events: admissions, confirmations, arrivals, exits, leavers)");
  REQUIRE_THROWS_AS_WITH(ex.events("admission", {0, 3}), unknown_id,
                         mf_test::contains("unknown event 'admission'") && events);
  REQUIRE_THROWS_AS_WITH(ex.own_events("source", {0, 3}), unknown_id,
                         mf_test::contains("unknown event 'source'") && events);
  REQUIRE_THROWS_AS(ex.stock("sourc", 3), unknown_id);
  REQUIRE_THROWS_AS(ex.stock("admissions", 3), unknown_id);
  for (int m : {-1, 7})
    REQUIRE_THROWS_AS_WITH(ex.stock("full", m), input_error,
                           mf_test::contains("month " + std::to_string(m) + " is outside 0..6"));
  // Stock at the horizon itself is allowed.
  REQUIRE(ex.stock("full", 6).nodes.size() == 3);
  // An invalid scenario is refused at construction.
  sc.params.pass_rate(1, 2) = 1.5;
  REQUIRE_THROWS_AS(exact_forecast(sc, 3), parameter_error);
}

TEST_CASE("exact pmfs are the same bits for 1, 2 and 3 threads, and the options are kept", "[exact][threads]") {
  // A random tree of a few hundred units over several depths: the units' own pmfs and
  // each depth's convolutions are shared between threads.
  std::mt19937 rng(20260311);
  const auto sc = random_scenario(random_org(300, rng), pipelines()[0], rng);
  const exact_forecast one(sc, 9, {.threads = 1});
  CHECK(one.options().threads == 1);
  CHECK(one.tolerance() == exact_options{}.tolerance);
  CHECK(exact_forecast(sc, 9, {.tolerance = 1e-9}).tolerance() == 1e-9);
  const auto same = [](const node_distributions& a, const node_distributions& b) {
    REQUIRE(a.nodes.size() == b.nodes.size());
    for (std::size_t u = 0; u < a.nodes.size(); ++u) {
      INFO("node " << u);
      REQUIRE(a.nodes[u].offset == b.nodes[u].offset);
      REQUIRE(a.nodes[u].p == b.nodes[u].p);  // bit for bit
      REQUIRE(a.nodes[u].tail == b.nodes[u].tail);
    }
  };
  for (int threads : {2, 3}) {
    INFO("threads " << threads);
    const exact_forecast many(sc, 9, {.threads = threads});
    for (const auto& event : {"admissions", "confirmations", "arrivals", "exits", "leavers"}) {
      INFO(event);
      same(one.events(event, {2, 9}), many.events(event, {2, 9}));
      same(one.own_events(event, {0, 4}), many.own_events(event, {0, 4}));
    }
    same(one.stock("full", 9), many.stock("full", 9));
  }
}
