// The expected-value engine (forecast_expected) against the model of
// shared/spec/pipeline-model.md: conservation of people, a dense transition-matrix
// reference, a Monte Carlo simulation of individual people written here, hand-computed
// cases of the fixed-stage timing rule, subtree totals, and refusals.
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "catch.hpp"
#include "random_scenarios.hpp"
#include "memberflow/datasets.hpp"
#include "memberflow/expected.hpp"

using namespace memberflow;
using mf_test::pipelines;
using mf_test::random_org;
using mf_test::random_scenario;
using mf_test::share;

namespace {

const std::vector<std::string> events{"admissions", "confirmations", "arrivals", "exits", "leavers"};


// The model as one linear map per unit, x(t+1) = M x(t) + b, written from the spec slot by
// slot; events as linear functionals of x(t).
struct dense_unit_model {
  Eigen::MatrixXd m;
  Eigen::VectorXd b;
  Eigen::RowVectorXd admissions, confirmations, exits, leavers;
  double arrivals = 0;
};

dense_unit_model dense_model(const scenario& sc, unit_index u) {
  const auto& p = sc.model();
  const auto n = static_cast<Eigen::Index>(p.state_size());
  dense_unit_model d;
  d.m = Eigen::MatrixXd::Zero(n, n);
  d.b = Eigen::VectorXd::Zero(n);
  d.admissions = d.confirmations = d.exits = d.leavers = Eigen::RowVectorXd::Zero(n);
  auto entry = [&](std::size_t s) { return static_cast<Eigen::Index>(p.offset(s)); };
  auto move_on = [&](std::size_t s, Eigen::Index from, double prob) {  // from stage s into s + 1
    d.m(entry(s + 1), from) += prob;
    if (s + 1 == p.admission()) d.admissions(from) += prob;
    if (s + 1 == p.terminal()) d.confirmations(from) += prob;
  };
  for (std::size_t s = 0; s < p.size(); ++s) {
    const auto si = static_cast<Eigen::Index>(s);
    const auto& st = p.stages()[s];
    const auto i = entry(s);
    if (st.kind == stage_kind::markov) {
      const double a = sc.params.advance(u, si), e = sc.params.exit(u, si);
      d.m(i, i) += 1 - a - e;
      move_on(s, i, a);
      d.exits(i) += e;
    } else if (st.kind == stage_kind::fixed) {
      const double e = sc.params.exit(u, si), pass = sc.params.pass_rate(u, si);
      for (int age = 0; age < st.months; ++age) {
        d.exits(i + age) += e;
        if (age + 1 < st.months) d.m(i + age + 1, i + age) += 1 - e;
      }
      const auto last = i + st.months - 1;
      move_on(s, last, (1 - e) * pass);
      d.exits(last) += (1 - e) * (1 - pass);
    } else {
      const double attr = sc.params.attrition(u, si);
      d.m(i, i) += 1 - attr;
      d.leavers(i) += attr;
    }
  }
  d.b(entry(0)) += sc.params.inflow(u);
  d.b(entry(p.terminal())) += sc.params.transfer_in(u);
  d.arrivals = sc.params.inflow(u) + sc.params.transfer_in(u);
  return d;
}

// Naive subtree sum: add each unit's value to itself and every unit on its parent chain.
Eigen::ArrayXd naive_rollup(const org& o, const Eigen::ArrayXd& own) {
  Eigen::ArrayXd total = Eigen::ArrayXd::Zero(own.size());
  for (unit_index v = 0; v < static_cast<unit_index>(o.size()); ++v)
    for (unit_index u = v; u != no_unit; u = o.parent(u)) total(u) += own(v);
  return total;
}

// A single unit D with the given pipeline, no arrivals and no attrition unless set.
scenario one_unit(std::shared_ptr<const pipeline> p) {
  auto o = std::make_shared<const org>(std::vector<unit_record>{{"D", "", "District", "district"}});
  scenario sc(o, std::move(p));
  sc.params.inflow.setZero();
  sc.params.transfer_in.setZero();
  sc.params.attrition.setZero();
  return sc;
}

}  // namespace

TEST_CASE("the expected engine conserves people: stock change = arrivals - exits - leavers", "[expected]") {
  std::mt19937 rng(20210201);
  const auto shapes = pipelines();
  for (int trial = 0; trial < 30; ++trial) {
    const int n = 1 + trial % 9;
    const auto sc = random_scenario(random_org(n, rng), shapes[trial % shapes.size()], rng);
    INFO("trial " << trial << ", units " << n << ", pipeline " << trial % shapes.size());
    const int horizon = 24;
    const auto fc = forecast_expected(sc, horizon);
    for (unit_index u = 0; u < n; ++u)
      for (int t = 0; t < horizon; ++t) {
        double before = 0, after = 0;
        for (const auto& st : sc.model().stages()) {
          before += fc.own(st.name)(u, t);
          after += fc.own(st.name)(u, t + 1);
        }
        const double arrivals = fc.own("arrivals")(u, t);
        REQUIRE(arrivals == Catch::Approx(sc.params.inflow(u) + sc.params.transfer_in(u)).epsilon(1e-12));
        const double change = arrivals - fc.own("exits")(u, t) - fc.own("leavers")(u, t);
        REQUIRE(std::abs((after - before) - change) <= 1e-9 * std::max(1.0, before));
      }
  }
}

TEST_CASE("the expected engine matches a dense month-by-month transition matrix built from the spec",
          "[expected]") {
  std::mt19937 rng(7);
  const auto shapes = pipelines();
  for (int trial = 0; trial < 12; ++trial) {
    const int n = 1 + trial % 5;
    const auto sc = random_scenario(random_org(n, rng), shapes[trial % shapes.size()], rng);
    INFO("trial " << trial << ", pipeline " << trial % shapes.size());
    const int horizon = 30;
    const auto fc = forecast_expected(sc, horizon);
    const auto& p = sc.model();
    for (unit_index u = 0; u < n; ++u) {
      const auto d = dense_model(sc, u);
      Eigen::VectorXd x = sc.stocks.row(u).transpose();
      for (int t = 0; t <= horizon; ++t) {
        for (std::size_t s = 0; s < p.size(); ++s) {
          const double stock = x.segment(static_cast<Eigen::Index>(p.offset(s)),
                                         static_cast<Eigen::Index>(p.width(s))).sum();
          REQUIRE(fc.own(p.stages()[s].name)(u, t) == Catch::Approx(stock).epsilon(1e-10).margin(1e-10));
        }
        if (t == horizon) break;
        REQUIRE(fc.own("admissions")(u, t) == Catch::Approx((d.admissions * x).value()).epsilon(1e-10).margin(1e-10));
        REQUIRE(fc.own("confirmations")(u, t) == Catch::Approx((d.confirmations * x).value()).epsilon(1e-10).margin(1e-10));
        REQUIRE(fc.own("exits")(u, t) == Catch::Approx((d.exits * x).value()).epsilon(1e-10).margin(1e-10));
        REQUIRE(fc.own("leavers")(u, t) == Catch::Approx((d.leavers * x).value()).epsilon(1e-10).margin(1e-10));
        REQUIRE(fc.own("arrivals")(u, t) == Catch::Approx(d.arrivals).epsilon(1e-12));
        x = d.m * x + d.b;
      }
    }
  }
}

namespace {

// Per-unit rates of the Monte Carlo case, party() stage order.
struct unit_rates {
  double inflow, transfer_in;
  double advance[2], exit[3], pass, attrition;
};

// Mean and standard error of a sample accumulated one path at a time.
struct moments {
  double sum = 0, sum_sq = 0;
  void add(double x) {
    sum += x;
    sum_sq += x * x;
  }
  double mean(double n) const { return sum / n; }
  double standard_error(double n) const {
    const double m = mean(n);
    return std::sqrt(std::max(0.0, sum_sq / n - m * m) / (n - 1));
  }
};

}  // namespace

TEST_CASE("the expected engine agrees with a Monte Carlo simulation of individual people", "[expected][monte-carlo]") {
  // Three units: D (root) with A and B under it; the party pipeline with fast rates so
  // that admissions made during the horizon are confirmed within it.
  auto o = std::make_shared<const org>(std::vector<unit_record>{{"D", "", "District", "district"},
                                                                {"A", "D", "Cell A", "cell"},
                                                                {"B", "D", "Cell B", "cell"}});
  scenario sc(o, share(pipeline::party()));
  const std::vector<unit_rates> rates{{0.8, 0.2, {0.2, 0.3}, {0.05, 0.05, 0.01}, 0.9, 0.01},
                                      {1.5, 0.0, {0.1, 0.25}, {0.1, 0.1, 0.02}, 0.8, 0.02},
                                      {0.3, 0.5, {0.4, 0.5}, {0.0, 0.02, 0.05}, 0.7, 0.03}};
  const int units = 3, slots = 15, D = 12, probation = 2, full = 14, horizon = 15;
  for (int u = 0; u < units; ++u) {
    const auto& r = rates[u];
    sc.params.inflow(u) = r.inflow;
    sc.params.transfer_in(u) = r.transfer_in;
    for (int s = 0; s < 2; ++s) sc.params.advance(u, s) = r.advance[s];
    for (int s = 0; s < 3; ++s) sc.params.exit(u, s) = r.exit[s];
    sc.params.pass_rate(u, 2) = r.pass;
    sc.params.attrition(u, 3) = r.attrition;
  }
  // Initial stocks, by slot: source, training, probation ages 0..11, full.
  const std::map<int, std::vector<std::pair<int, double>>> initial{
      {0, {{0, 5}, {1, 3}, {2 + 0, 1}, {2 + 3, 2}, {2 + 6, 1}, {2 + 11, 2}, {full, 12}}},
      {1, {{0, 8}, {1, 2}, {2 + 10, 3}, {2 + 11, 1}, {full, 8}}},
      {2, {{1, 4}, {2 + 5, 2}, {full, 5}}}};
  for (const auto& [u, cells] : initial)
    for (const auto& [slot, count] : cells) sc.stocks(u, slot) = count;
  const auto fc = forecast_expected(sc, horizon);

  // The simulation: each person decides each month on the state at the start of the month;
  // moves and Poisson arrivals land at the start of the next month.
  const int paths = 200000;
  std::mt19937_64 rng(0x5eed2021);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  std::vector<std::poisson_distribution<int>> inflow, transfer;
  for (const auto& r : rates) {
    inflow.emplace_back(r.inflow);
    transfer.emplace_back(r.transfer_in > 0 ? r.transfer_in : 1.0);
  }
  // Accumulators: [quantity][unit or 3 = root][month].
  enum { q_adm, q_conf, q_arr, q_exit, q_leave, q_source, q_training, q_probation, q_full, q_count };
  std::vector<moments> acc(static_cast<std::size_t>(q_count) * 4 * (horizon + 1));
  auto at = [&](int q, int u, int t) -> moments& { return acc[(static_cast<std::size_t>(q) * 4 + u) * (horizon + 1) + t]; };
  moments admissions_year_root;
  for (int path = 0; path < paths; ++path) {
    int state[3][slots] = {};
    for (const auto& [u, cells] : initial)
      for (const auto& [slot, count] : cells) state[u][slot] = static_cast<int>(count);
    double adm_year = 0;
    for (int t = 0; t <= horizon; ++t) {
      int stock_root[4] = {0, 0, 0, 0};
      for (int u = 0; u < units; ++u) {
        int by_stage[4] = {state[u][0], state[u][1], 0, state[u][full]};
        for (int a = 0; a < D; ++a) by_stage[2] += state[u][2 + a];
        for (int s = 0; s < 4; ++s) {
          at(q_source + s, u, t).add(by_stage[s]);
          stock_root[s] += by_stage[s];
        }
      }
      for (int s = 0; s < 4; ++s) at(q_source + s, 3, t).add(stock_root[s]);
      if (t == horizon) break;
      int next[3][slots] = {};
      int ev_root[5] = {0, 0, 0, 0, 0};
      for (int u = 0; u < units; ++u) {
        const auto& r = rates[u];
        int ev[5] = {0, 0, 0, 0, 0};  // admissions, confirmations, arrivals, exits, leavers
        for (int s = 0; s < 2; ++s)   // source, training: markov
          for (int k = 0; k < state[u][s]; ++k) {
            const double x = unif(rng);
            if (x < r.advance[s]) {
              ++next[u][s + 1];  // training, or probation at age 0
              if (s + 1 == probation) ++ev[0];
            } else if (x < r.advance[s] + r.exit[s]) {
              ++ev[3];
            } else {
              ++next[u][s];
            }
          }
        for (int a = 0; a < D; ++a)  // probation ages 0..11
          for (int k = 0; k < state[u][2 + a]; ++k) {
            if (unif(rng) < r.exit[2]) {
              ++ev[3];
            } else if (a + 1 < D) {
              ++next[u][2 + a + 1];
            } else if (unif(rng) < r.pass) {
              ++next[u][full];
              ++ev[1];
            } else {
              ++ev[3];
            }
          }
        for (int k = 0; k < state[u][full]; ++k) {
          if (unif(rng) < r.attrition) ++ev[4];
          else ++next[u][full];
        }
        const int arriving = inflow[u](rng);
        const int transferred = r.transfer_in > 0 ? transfer[u](rng) : 0;
        next[u][0] += arriving;
        next[u][full] += transferred;
        ev[2] = arriving + transferred;
        for (int e = 0; e < 5; ++e) {
          at(e, u, t).add(ev[e]);
          ev_root[e] += ev[e];
        }
      }
      for (int e = 0; e < 5; ++e) at(e, 3, t).add(ev_root[e]);
      if (t < 12) adm_year += ev_root[0];
      std::copy(&next[0][0], &next[0][0] + 3 * slots, &state[0][0]);
    }
    admissions_year_root.add(adm_year);
  }

  // Engine figures, rolled up: unit rows D, A, B; the root row is D's subtree.
  const std::vector<std::string> names{"admissions", "confirmations", "arrivals", "exits", "leavers",
                                       "source",     "training",      "probation", "full"};
  const double n = paths;
  int compared = 0;
  double worst = 0;
  for (int q = 0; q < q_count; ++q) {
    const bool stock = q >= q_source;
    const auto own = fc.own(names[q]);
    const auto rolled = fc.rolled(names[q]);
    for (int u = 0; u < 4; ++u)
      for (int t = 0; t < (stock ? horizon + 1 : horizon); ++t) {
        const double engine = u < 3 ? own(u, t) : rolled(o->root(), t);
        const auto& m = at(q, u, t);
        const double se = m.standard_error(n);
        INFO(names[q] << ", " << (u < 3 ? o->id(u) : std::string("root")) << ", month " << t << ": engine "
                      << engine << ", simulation " << m.mean(n) << " +- " << se);
        CHECK(std::abs(engine - m.mean(n)) <= 5 * se + 1e-12);
        if (se > 0) worst = std::max(worst, std::abs(engine - m.mean(n)) / se);
        ++compared;
      }
  }
  const double year = fc.total("admissions", {0, 12})(o->root());
  CHECK(std::abs(year - admissions_year_root.mean(n)) <= 5 * admissions_year_root.standard_error(n));
  CHECK(compared == 4 * (5 * horizon + 4 * (horizon + 1)));
  INFO("largest deviation " << worst << " standard errors over " << compared << " comparisons");
  CHECK(worst < 5);
  // The comparison has teeth: admissions and confirmations are substantial.
  CHECK(fc.total("confirmations", fc.whole())(o->root()) > 5);
  CHECK(fc.total("admissions", fc.whole())(o->root()) > 5);
}

TEST_CASE("one person at probation age 0 with pass rate 0.9 is confirmed in month 11 and not before",
          "[expected]") {
  auto sc = one_unit(share(pipeline::party()));
  sc.params.exit(0, 2) = 0;
  sc.params.pass_rate(0, 2) = 0.9;
  sc.stocks(0, 2 + 0) = 1;  // probation, age 0
  const int horizon = 16;
  const auto fc = forecast_expected(sc, horizon);
  const auto& conf = fc.own("confirmations");
  for (int t = 0; t < horizon; ++t) {
    INFO("month " << t);
    CHECK(conf(0, t) == (t == 11 ? 0.9 : 0.0));
    CHECK(fc.own("admissions")(0, t) == 0.0);
    CHECK(fc.own("exits")(0, t) == Catch::Approx(t == 11 ? 0.1 : 0.0).margin(1e-15));
  }
  for (int t = 0; t <= horizon; ++t) {
    INFO("month " << t);
    CHECK(fc.own("probation")(0, t) == (t <= 11 ? 1.0 : 0.0));
    CHECK(fc.own("full")(0, t) == (t >= 12 ? 0.9 : 0.0));
  }
  CHECK(fc.total("confirmations", {0, 11})(0) == 0.0);
  CHECK(fc.total("confirmations", {0, 12})(0) == 0.9);
}

TEST_CASE("an admission in month t is confirmed in month t + D, never earlier or later", "[expected]") {
  SECTION("one person in training who surely advances, D = 12") {
    auto sc = one_unit(share(pipeline::party()));
    sc.params.advance(0, 1) = 1;
    sc.params.exit(0, 1) = 0;
    sc.params.exit(0, 2) = 0;
    sc.params.pass_rate(0, 2) = 1;
    sc.stocks(0, 1) = 1;
    const auto fc = forecast_expected(sc, 20);
    for (int t = 0; t < 20; ++t) {
      INFO("month " << t);
      CHECK(fc.own("admissions")(0, t) == (t == 0 ? 1.0 : 0.0));
      CHECK(fc.own("confirmations")(0, t) == (t == 12 ? 1.0 : 0.0));
    }
    for (int t = 0; t <= 20; ++t) {
      INFO("month " << t);
      CHECK(fc.own("training")(0, t) == (t == 0 ? 1.0 : 0.0));
      CHECK(fc.own("probation")(0, t) == (t >= 1 && t <= 12 ? 1.0 : 0.0));
      CHECK(fc.own("full")(0, t) == (t >= 13 ? 1.0 : 0.0));
    }
  }
  SECTION("a steady stream of arrivals through a stage of D = 3 months") {
    const double lambda = 2.5;
    auto sc = one_unit(share(pipeline({stage::markov("source", 1.0, 0.0), stage::fixed("probation", 3, 0.0, 1.0),
                                       stage::terminal("full", 0.0)},
                                      "probation")));
    sc.params.inflow(0) = lambda;
    const auto fc = forecast_expected(sc, 10);
    for (int t = 0; t < 10; ++t) {
      INFO("month " << t);
      // Arrivals of month t are in source at t + 1, admitted in month t + 1, confirmed in t + 4.
      CHECK(fc.own("arrivals")(0, t) == lambda);
      CHECK(fc.own("admissions")(0, t) == (t >= 1 ? lambda : 0.0));
      CHECK(fc.own("confirmations")(0, t) == (t >= 4 ? lambda : 0.0));
      CHECK(fc.own("source")(0, t) == (t >= 1 ? lambda : 0.0));
      CHECK(fc.own("probation")(0, t) == std::min(std::max(t - 1, 0), 3) * lambda);
      CHECK(fc.own("full")(0, t) == std::max(t - 4, 0) * lambda);
    }
  }
}

TEST_CASE("totals, stocks and roll-ups at a node are sums of its subtree's own values", "[expected]") {
  std::mt19937 rng(99);
  const auto o = random_org(40, rng);
  const auto sc = random_scenario(o, share(pipeline::party()), rng);
  const auto fc = forecast_expected(sc, 24);
  for (const auto& e : events)
    for (const month_window w : {month_window{0, 12}, month_window{3, 6}, month_window{23, 24}, fc.whole()}) {
      INFO(e << " over [" << w.first << ", " << w.last << ")");
      const Eigen::ArrayXd own = fc.own(e).middleCols(w.first, w.last - w.first).rowwise().sum();
      const auto expect = naive_rollup(*o, own);
      const auto got = fc.total(e, w);
      for (unit_index u = 0; u < 40; ++u) REQUIRE(got(u) == Catch::Approx(expect(u)).epsilon(1e-12));
    }
  for (const auto& st : sc.model().stages())
    for (int month : {0, 1, 12, 24}) {
      INFO(st.name << " at month " << month);
      const auto expect = naive_rollup(*o, fc.own(st.name).col(month));
      const auto got = fc.stock(st.name, month);
      const auto all = fc.rolled(st.name);
      for (unit_index u = 0; u < 40; ++u) {
        REQUIRE(got(u) == Catch::Approx(expect(u)).epsilon(1e-12));
        REQUIRE(all(u, month) == Catch::Approx(expect(u)).epsilon(1e-12));
      }
    }
  // The root's yearly admissions are the sum over every unit.
  CHECK(fc.total("admissions", {0, 12})(o->root()) ==
        Catch::Approx(fc.own("admissions").leftCols(12).sum()).epsilon(1e-12));
}

TEST_CASE("a forecast lists its quantities and refuses bad windows, months and names", "[expected]") {
  auto sc = one_unit(share(pipeline::party()));
  const auto fc = forecast_expected(sc, 12);
  CHECK(fc.horizon() == 12);
  CHECK(fc.quantities() == std::vector<std::string>{"source", "training", "probation", "full", "admissions",
                                                    "confirmations", "arrivals", "exits", "leavers"});
  CHECK(fc.is_stock("probation"));
  CHECK_FALSE(fc.is_stock("admissions"));
  CHECK(fc.own("full").cols() == 13);
  CHECK(fc.own("leavers").cols() == 12);
  const auto window = mf_test::contains("must satisfy 0 <= first < last <= horizon = 12");
  REQUIRE_THROWS_AS_WITH(fc.total("admissions", {5, 5}), input_error, mf_test::contains("window [5, 5)") && window);
  REQUIRE_THROWS_AS_WITH(fc.total("admissions", {-1, 3}), input_error, mf_test::contains("window [-1, 3)") && window);
  REQUIRE_THROWS_AS_WITH(fc.total("admissions", {0, 13}), input_error, mf_test::contains("window [0, 13)") && window);
  REQUIRE_THROWS_AS_WITH(fc.total("admissions", {6, 2}), input_error, window);
  REQUIRE_THROWS_AS_WITH(fc.total("members", {0, 12}), unknown_id,
                         mf_test::contains("unknown quantity 'members' (quantities: source, training, probation, full, "
                                           "admissions, confirmations, arrivals, exits, leavers)"));
  REQUIRE_THROWS_AS_WITH(fc.own("members"), unknown_id, mf_test::contains("unknown quantity 'members'"));
  REQUIRE_THROWS_AS_WITH(fc.total("probation", {0, 12}), input_error,
                         mf_test::contains("'probation' is a stock: ask for it at a month, not summed over a window"));
  REQUIRE_THROWS_AS_WITH(fc.stock("admissions", 3), input_error,
                         mf_test::contains("'admissions' is an event, not a stage's stock"));
  REQUIRE_THROWS_AS_WITH(fc.stock("full", 13), input_error, mf_test::contains("month 13 is outside 0..12"));
  REQUIRE_THROWS_AS_WITH(fc.stock("full", -1), input_error, mf_test::contains("month -1 is outside 0..12"));
  CHECK_NOTHROW(fc.stock("full", 12));
  REQUIRE_THROWS_AS_WITH(forecast_expected(sc, 0), input_error,
                         mf_test::contains("the horizon must be at least 1 month, got 0"));
  sc.params.pass_rate(0, 2) = 1.5;
  REQUIRE_THROWS_AS_WITH(forecast_expected(sc, 12), parameter_error,
                         mf_test::contains("unit 'D', stage 'probation': pass_rate = 1.5 is outside [0, 1]"));
}

TEST_CASE("the expected forecast is bit-identical for 1, 2, 3 and 7 threads across many blocks of units",
          "[expected][threads]") {
  // ~13,000 units: four blocks of 4,096 and a partial one.
  datasets::synthetic_options options;
  options.fanout = {3, 12, 60, 6};
  options.seed = 7;
  const auto sc = datasets::synthetic(options);
  REQUIRE(sc.units().size() > 3 * 4096);
  const auto one = forecast_expected(sc, 14, {.threads = 1});
  for (int threads : {2, 3, 7}) {
    const auto many = forecast_expected(sc, 14, {.threads = threads});
    for (const auto& q : one.quantities()) {
      INFO("quantity " << q << ", threads " << threads);
      CHECK((one.own(q) == many.own(q)).all());
    }
  }
  // And the blocks are stitched at the right rows: the root's totals equal a plain sum.
  const auto total = one.total("admissions", one.whole());
  CHECK(total(sc.units().root()) == Catch::Approx(one.own("admissions").sum()).epsilon(1e-12));
}

TEST_CASE("the engines' window, month and horizon checks name what they refuse", "[expected][checks]") {
  for (auto w : {month_window{0, 1}, month_window{0, 12}, month_window{11, 12}}) CHECK_NOTHROW(check_window(w, 12));
  const auto rule = mf_test::contains("must satisfy 0 <= first < last <= horizon = 12");
  REQUIRE_THROWS_AS_WITH(check_window({3, 3}, 12), input_error, mf_test::contains("window [3, 3) ") && rule);
  REQUIRE_THROWS_AS_WITH(check_window({4, 2}, 12), input_error, mf_test::contains("window [4, 2) ") && rule);
  REQUIRE_THROWS_AS_WITH(check_window({-1, 2}, 12), input_error, mf_test::contains("window [-1, 2) ") && rule);
  REQUIRE_THROWS_AS_WITH(check_window({0, 13}, 12), input_error, mf_test::contains("window [0, 13) ") && rule);
  REQUIRE_THROWS_AS_WITH(check_window({0, 13}, 12, "tracked 'admissions'"), input_error,
                         mf_test::contains("tracked 'admissions': window [0, 13) must satisfy"));
  for (int m : {0, 6, 12}) CHECK_NOTHROW(check_month(m, 12));
  REQUIRE_THROWS_AS_WITH(check_month(13, 12), input_error, mf_test::contains("month 13 is outside 0..12"));
  REQUIRE_THROWS_AS_WITH(check_month(-1, 12), input_error, mf_test::contains("month -1 is outside 0..12"));
  REQUIRE_THROWS_AS_WITH(check_month(-1, 12, "tracked stock 'full'"), input_error,
                         mf_test::contains("tracked stock 'full': month -1 is outside 0..12"));
  CHECK_NOTHROW(check_horizon(1));
  REQUIRE_THROWS_AS_WITH(check_horizon(0), input_error,
                         mf_test::contains("the horizon must be at least 1 month, got 0"));
  // The result's own check is the same one.
  const auto fc = forecast_expected(one_unit(share(pipeline::party())), 12, {.threads = 2});
  REQUIRE_THROWS_AS_WITH(fc.check_window({0, 13}), input_error, mf_test::contains("window [0, 13) ") && rule);
}
