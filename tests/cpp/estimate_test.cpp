// Partial pooling along the tree: recovery of known heterogeneous rates (pooled beats
// no pooling and complete pooling; 90% posterior intervals cover about 90% of the truth),
// the limits of no and complete heterogeneity, and the conjugate posterior by hand.
#include <cmath>
#include <random>
#include <vector>

#include "catch.hpp"
#include "memberflow/datasets.hpp"
#include "memberflow/estimate.hpp"
#include "memberflow/exact.hpp"
#include "memberflow/expected.hpp"
#include "memberflow/math.hpp"
#include "memberflow/records.hpp"

using namespace memberflow;

namespace {

double expit(double x) { return logistic(x); }

struct truth {
  std::vector<double> rate;
  detail::rate_data data;
};

// Rates drawn down the tree: logit(p_child) = logit(p_parent) + N(0, sd); trials per
// unit from 0 to max_trials (many small units, as in rural cells), events binomial.
truth draw(const org& o, double root_rate, double sd, int max_trials, std::mt19937& rng) {
  const auto n = static_cast<Eigen::Index>(o.size());
  truth t{std::vector<double>(o.size()), {Eigen::ArrayXd::Zero(n), Eigen::ArrayXd::Zero(n)}};
  std::normal_distribution<double> noise(0, sd);
  std::uniform_int_distribution<int> trials(0, max_trials);
  for (auto u : o.preorder()) {
    t.rate[u] = u == o.root() ? root_rate : expit(logit(t.rate[o.parent(u)]) + noise(rng));
    const int m = trials(rng);
    t.data.exposure(u) = m;
    t.data.events(u) = std::binomial_distribution<int>(m, t.rate[u])(rng);
  }
  return t;
}

}  // namespace

TEST_CASE("partial pooling recovers heterogeneous rates better than no pooling or complete pooling",
          "[estimate]") {
  const auto o = datasets::synthetic({{20, 6, 4}, {"region", "district", "branch", "cell"}, 20, 0.6, 3}).units();
  std::mt19937 rng(20210201);
  double se_pooled = 0, se_none = 0, se_complete = 0;
  long units = 0, covered = 0, total = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t = draw(o, 0.08, 0.45, 24, rng);
    const auto f = detail::fit_rate(t.data, true, o, 0.5, {});
    const double complete = t.data.events.sum() / t.data.exposure.sum();
    for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u) {
      ++total;
      if (f.quantile(u, 0.05) <= t.rate[u] && t.rate[u] <= f.quantile(u, 0.95)) ++covered;
      if (t.data.exposure(u) == 0) continue;  // no pooling has no estimate there
      ++units;
      se_pooled += std::pow(f.mean(u) - t.rate[u], 2);
      se_none += std::pow(f.mle(u) - t.rate[u], 2);
      se_complete += std::pow(complete - t.rate[u], 2);
    }
  }
  const double coverage = static_cast<double>(covered) / total;
  INFO("MSE pooled " << se_pooled / units << ", none " << se_none / units << ", complete " << se_complete / units
                     << "; 90% coverage " << coverage << " of " << total << " unit-rates");
  CHECK(se_pooled < 0.8 * se_none);
  CHECK(se_pooled < 0.8 * se_complete);
  CHECK(coverage >= 0.85);
  CHECK(coverage <= 0.95);
}

TEST_CASE("with no heterogeneity pooling is complete, with a lot it barely pools", "[estimate]") {
  const auto o = datasets::synthetic({{30, 8}, {"root", "branch", "cell"}, 20, 0.6, 5}).units();
  std::mt19937 rng(7);
  const auto same = draw(o, 0.2, 0.0, 200, rng);
  const auto f = detail::fit_rate(same.data, true, o, 0.5, {});
  // Units that do not differ: strong pooling, each unit's own data (<= 200 trials)
  // outweighed by its prior.
  CHECK(f.kappa[1] > 1000);
  CHECK(f.kappa[2] > 1000);
  const auto wild = draw(o, 0.2, 2.5, 200, rng);
  const auto g = detail::fit_rate(wild.data, true, o, 0.5, {});
  CHECK(g.kappa[2] < 10);
  // with kappa small, a unit's mean is close to its own proportion
  for (unit_index u = 1; u < 20; ++u)
    if (wild.data.exposure(u) >= 100 && o.depth(u) == 2) CHECK(std::abs(g.mean(u) - g.mle(u)) < 0.05);
}

TEST_CASE("the posterior is the conjugate update of a prior centred on the rest of the parent's subtree",
          "[estimate]") {
  const org o({{"R", "", "", "root"}, {"A", "R", "", "unit"}, {"B", "R", "", "unit"}});
  detail::rate_data d{Eigen::ArrayXd(3), Eigen::ArrayXd(3)};
  d.events << 1, 2, 30;  // two units that clearly differ: a finite kappa
  d.exposure << 10, 40, 40;
  const auto f = detail::fit_rate(d, true, o, 0.5, {});
  // A's centre: Jeffreys updated with the organisation's data except A's (31 in 50).
  const double ca = 0.5 + 31, cb = 0.5 + 19, m = ca / (ca + cb);
  const double centre_var = ca * cb / ((ca + cb) * (ca + cb) * (ca + cb + 1));
  CHECK(f.centre(1) == Approx(m).epsilon(1e-14));
  // Its prior: mean m, variance m(1-m)/(kappa+1) (siblings' spread) + the centre's variance.
  auto prior = [&](double kappa) {
    const double conc = m * (1 - m) / (m * (1 - m) / (kappa + 1) + centre_var) - 1;
    return std::pair{conc * m, conc * (1 - m)};
  };
  const double kappa = f.kappa[1];
  const auto [a, b] = prior(kappa);
  CHECK(f.shape(1) == Approx(a + 2).epsilon(1e-12));
  CHECK(f.scale(1) == Approx(b + 38).epsilon(1e-12));
  CHECK(f.mean(1) == Approx((a + 2) / (a + b + 40)).epsilon(1e-12));
  CHECK(kappa < 100);
  // kappa maximises the beta-binomial marginal likelihood of A's and B's data, each
  // under its own leave-one-out prior.
  auto loglik = [&](double k) {
    double s = 0;
    for (int u : {1, 2}) {
      const double ua = 0.5 + d.events.sum() - d.events(u), ub = 0.5 + (d.exposure.sum() - d.exposure(u)) - (d.events.sum() - d.events(u));
      const double mu = ua / (ua + ub), vu = ua * ub / ((ua + ub) * (ua + ub) * (ua + ub + 1));
      const double conc = mu * (1 - mu) / (mu * (1 - mu) / (k + 1) + vu) - 1;
      const double pa = conc * mu, pb = conc * (1 - mu);
      s += std::lgamma(pa + d.events(u)) + std::lgamma(pb + d.exposure(u) - d.events(u)) -
           std::lgamma(pa + pb + d.exposure(u)) - (std::lgamma(pa) + std::lgamma(pb) - std::lgamma(pa + pb));
    }
    return s;
  };
  CHECK(loglik(kappa) >= loglik(kappa * 1.05));
  CHECK(loglik(kappa) >= loglik(kappa / 1.05));
}

TEST_CASE("arrival rates pool with the gamma-Poisson model", "[estimate]") {
  const org o({{"R", "", "", "root"}, {"A", "R", "", "unit"}, {"B", "R", "", "unit"}, {"C", "R", "", "unit"}});
  detail::rate_data d{Eigen::ArrayXd(4), Eigen::ArrayXd::Constant(4, 12.0)};
  d.events << 6, 6, 6, 6;  // identical units: complete pooling
  const auto f = detail::fit_rate(d, false, o, 0.0, {});
  CHECK(f.kappa[1] > 1e4);
  CHECK(std::abs(f.mean(1) - 0.5) < 0.02);  // 6 arrivals in 12 months everywhere
  CHECK(f.quantile(1, 0.05) < f.mean(1));
  CHECK(f.quantile(1, 0.95) > f.mean(1));
}

TEST_CASE("with nobody at risk anywhere a rate keeps its default, as a point", "[estimate]") {
  const org o({{"R", "", "", "root"}, {"A", "R", "", "unit"}});
  detail::rate_data d{Eigen::ArrayXd::Zero(2), Eigen::ArrayXd::Zero(2)};
  for (double fallback : {0.0, 0.3, 1.0}) {
    const auto f = detail::fit_rate(d, true, o, fallback, {});
    CHECK(f.no_data);
    for (unit_index u : {0, 1}) {
      CHECK(f.mean(u) == fallback);
      CHECK(f.quantile(u, 0.05) == fallback);
      CHECK(f.quantile(u, 0.95) == fallback);
      CHECK(std::isnan(f.mle(u)));
    }
  }
}

namespace {

// An exposure table of `years` 12-month blocks for a one-stage-at-a-time view: every
// unit's data of a block sits in the block's first month (drift and pooling only see
// block and window totals). The source stage's advance rate of year y at the root is
// expit(level[y]) for every unit; `trials` people at risk per unit and year.
exposure_table yearly_table(const scenario& sc, const std::vector<double>& level, double trials, std::mt19937& rng) {
  const auto& p = sc.model();
  const auto n = static_cast<Eigen::Index>(sc.units().size());
  const int months = 12 * static_cast<int>(level.size());
  exposure_table x;
  x.start = {2000, 1};
  x.months = months;
  for (std::size_t s = 0; s < p.size(); ++s) {
    x.at_risk.push_back(Eigen::ArrayXXd::Zero(n, months));
    x.advanced.push_back(Eigen::ArrayXXd::Zero(n, months));
    x.exited.push_back(Eigen::ArrayXXd::Zero(n, months));
    x.completing.push_back(Eigen::ArrayXXd::Zero(n, months));
  }
  x.arrivals = Eigen::ArrayXXd::Zero(n, months);
  x.transfers_in = Eigen::ArrayXXd::Zero(n, months);
  for (std::size_t y = 0; y < level.size(); ++y)
    for (Eigen::Index u = 0; u < n; ++u) {
      const auto m = static_cast<Eigen::Index>(12 * y);
      x.at_risk[0](u, m) = trials;
      x.advanced[0](u, m) = std::binomial_distribution<int>(static_cast<int>(trials), expit(level[y]))(rng);
    }
  return x;
}

std::vector<double> random_walk(std::size_t years, double start, double tau, std::mt19937& rng) {
  std::normal_distribution<double> step(0, tau);
  std::vector<double> level{start};
  while (level.size() < years) level.push_back(level.back() + step(rng));
  return level;
}

}  // namespace

TEST_CASE("the drift's step size is recovered from yearly rates that walk at random", "[estimate][drift]") {
  const auto sc = datasets::synthetic({{4, 3}, {"root", "branch", "cell"}, 20, 0.6, 5});
  std::mt19937 rng(11);
  // 30 years, 17 units x 2,000 trials a year: sampling noise on the logit ~0.02, far below tau
  for (double tau : {0.15, 0.4}) {
    double sum = 0;
    const int reps = 8;
    for (int rep = 0; rep < reps; ++rep) {
      const auto level = random_walk(30, logit(0.1), tau, rng);
      const auto f = fit_pooled(yearly_table(sc, level, 2000, rng), sc.units(), sc.model());
      const auto& d = f.at(0, param::advance).drift;
      REQUIRE(d.observed.size() == 30);
      sum += d.tau;
      // the filtered level sits near the last year's; the shift is measured from the window's rate
      const double window = logit(f.at(0, param::advance).events.sum() / f.at(0, param::advance).exposure.sum());
      CHECK(std::abs(window + d.shift_mean - level.back()) < 0.1);
      CHECK(d.shift_var > d.tau * d.tau);  // one step ahead: the filter's variance + tau^2
    }
    INFO("true tau " << tau << ", mean fitted " << sum / reps);
    CHECK(std::abs(sum / reps - tau) < 0.25 * tau);
  }
}

TEST_CASE("a constant rate has no drift; without drift the predictive mean is the posterior mean",
          "[estimate][drift]") {
  const auto sc = datasets::synthetic({{4, 3}, {"root", "branch", "cell"}, 20, 0.6, 5});
  std::mt19937 rng(12);
  const auto x = yearly_table(sc, std::vector<double>(10, logit(0.1)), 2000, rng);
  const auto f = fit_pooled(x, sc.units(), sc.model());
  CHECK(f.at(0, param::advance).drift.tau < 0.05);
  fit_options off;
  off.drift = false;
  const auto g = fit_pooled(x, sc.units(), sc.model(), off);
  const auto& r = g.at(0, param::advance);
  CHECK(r.drift.observed.empty());
  for (unit_index u = 0; u < static_cast<unit_index>(sc.units().size()); ++u) CHECK(r.predictive_mean(u) == r.mean(u));
  // a window shorter than two years has no drift either
  const auto short_x = yearly_table(sc, {logit(0.1)}, 2000, rng);
  CHECK(fit_pooled(short_x, sc.units(), sc.model()).at(0, param::advance).drift.observed.empty());
}

TEST_CASE("drawn parameter sets: reproducible, one shift shared by all units, means match the predictive ones",
          "[estimate][drift]") {
  const auto sc = datasets::synthetic({{4, 3}, {"root", "branch", "cell"}, 20, 0.6, 5});
  const auto& o = sc.units();
  const auto& p = sc.model();
  std::mt19937 rng(13);
  auto x = yearly_table(sc, random_walk(12, logit(0.1), 0.5, rng), 2000, rng);
  for (int y = 0; y < 12; ++y) x.arrivals.col(12 * y).setConstant(30);  // inflow: 30 a year per unit
  const auto f = fit_pooled(x, o, p);
  const auto& adv = f.at(0, param::advance);
  REQUIRE(adv.drift.shift_var > 0.01);
  const auto a = draw_parameters(f, o, p, 2000, 5), b = draw_parameters(f, o, p, 2000, 5);
  const auto c = draw_parameters(f, o, p, 3, 6);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK((a[i].advance == b[i].advance).all());
    CHECK((a[i].inflow == b[i].inflow).all());
    CHECK((a[i].advance != c[i].advance).any());
  }
  // Units with much data barely differ from their posterior means: their logits move
  // together, by the draw's shift (sd >= 0.1), so two units' deviations are correlated.
  const auto u = o.preorder()[1], v = o.preorder().back();
  double suv = 0, suu = 0, svv = 0, mean_inflow = 0;
  for (const auto& ps : a) {
    const double du = logit(ps.advance(u, 0)) - logit(adv.mean(u)), dv = logit(ps.advance(v, 0)) - logit(adv.mean(v));
    suv += du * dv, suu += du * du, svv += dv * dv;
    mean_inflow += ps.inflow(u) / static_cast<double>(a.size());
  }
  CHECK(suv / std::sqrt(suu * svv) > 0.9);
  // arrival rates: E[r e^s] = mean x exp(shift_mean + shift_var / 2), within Monte Carlo error
  const auto& inflow = f.at(0, param::inflow);
  CHECK(mean_inflow == Catch::Approx(inflow.predictive_mean(u)).epsilon(0.03));
  // the scenario's parameters are the predictive means
  CHECK(f.means(o, p).advance(u, 0) == adv.predictive_mean(u));
}

TEST_CASE("the exact mixture over drawn sets averages the exact engine's pmfs", "[estimate][exact]") {
  auto sc = datasets::example_district(2021);
  const auto& o = sc.units();
  const auto& p = sc.model();
  auto low = sc.params, high = sc.params;
  low.advance *= 0.5;
  high.inflow *= 2;
  const exact_mixture m(sc, {low, high}, 12);
  CHECK(m.size() == 2);
  auto with = [&](const parameter_set& ps) {
    scenario s = sc;
    s.params = ps;
    return exact_forecast(s, 12).events("admissions", {0, 12});
  };
  const auto a = with(low), b = with(high), mixed = m.events("admissions", {0, 12});
  for (auto u : o.preorder()) {
    const auto& f = mixed.nodes[static_cast<std::size_t>(u)];
    const auto& fa = a.nodes[static_cast<std::size_t>(u)];
    const auto& fb = b.nodes[static_cast<std::size_t>(u)];
    for (long long k = f.first(); k <= f.last(); ++k) CHECK(f.at(k) == Catch::Approx((fa.at(k) + fb.at(k)) / 2).margin(1e-300));
    CHECK(f.mean() == Catch::Approx((fa.mean() + fb.mean()) / 2).epsilon(1e-12));
    CHECK(f.tail <= 1e-12);
  }
  // one set: the exact engine itself
  const auto one = exact_mixture(sc, {sc.params}, 12).stock("probation", 12);
  const auto ref = exact_forecast(sc, 12).stock("probation", 12);
  for (auto u : o.preorder()) CHECK(one.nodes[static_cast<std::size_t>(u)].p == ref.nodes[static_cast<std::size_t>(u)].p);
  CHECK_THROWS_AS(exact_mixture(sc, {}, 12), input_error);
  CHECK_THROWS_AS(mix({a, exact_forecast(sc, 12).events("confirmations", {0, 12})}), input_error);
  (void)p;
}

TEST_CASE("the seasonal profile of arrivals is recovered, and flat arrivals have none", "[estimate][seasonal]") {
  const auto sc = datasets::synthetic({{4, 3}, {"root", "branch", "cell"}, 20, 0.6, 5});
  std::mt19937 rng(14);
  // A September campaign: factor 3 in September, the rest share what is left; 5 years
  // from a July start (the profile is by calendar month, not by column).
  std::vector<double> truth(12, (12.0 - 3.0) / 11);
  truth[8] = 3;
  auto x = yearly_table(sc, std::vector<double>(5, logit(0.1)), 100, rng);
  x.start = {2015, 7};
  const auto n = x.arrivals.rows();
  for (int t = 0; t < x.months; ++t)
    for (Eigen::Index u = 0; u < n; ++u)
      x.arrivals(u, t) = std::poisson_distribution<int>(2.0 * truth[static_cast<std::size_t>((6 + t) % 12)])(rng);
  const auto f = fit_pooled(x, sc.units(), sc.model());
  const auto& s = f.seasonal;
  REQUIRE(!s.empty());
  int covered = 0;
  for (int m = 0; m < 12; ++m) {
    INFO("month " << m << ": truth " << truth[static_cast<std::size_t>(m)] << ", factor " << s.factor(m));
    CHECK(std::abs(s.factor(m) - truth[static_cast<std::size_t>(m)]) < 0.25);
    covered += s.quantile(m, 0.05) <= truth[static_cast<std::size_t>(m)] && truth[static_cast<std::size_t>(m)] <= s.quantile(m, 0.95);
  }
  CHECK(covered >= 9);  // 90% intervals: 9 or more of 12 (P ~ 0.97 under the model)
  double mean = 0;
  for (int m = 0; m < 12; ++m) mean += s.factor(m) / 12;
  CHECK(mean == Catch::Approx(1).epsilon(1e-12));
  // the profile from a start month: October first
  const auto from_october = s.profile({2021, 10});
  REQUIRE(from_october.size() == 12);
  CHECK(from_october[11] == s.factor(8));
  // flat arrivals: kappa large, every factor near 1
  for (int t = 0; t < x.months; ++t)
    for (Eigen::Index u = 0; u < n; ++u) x.arrivals(u, t) = std::poisson_distribution<int>(2.0)(rng);
  const auto flat = fit_pooled(x, sc.units(), sc.model()).seasonal;
  CHECK(flat.kappa > 1000);
  for (int m = 0; m < 12; ++m) CHECK(std::abs(flat.factor(m) - 1) < 0.05);
  // under a year: none
  x.months = 11;
  CHECK(fit_pooled(x, sc.units(), sc.model()).seasonal.empty());
}

TEST_CASE("the mean forecast over parameter sets averages the expected engine's", "[estimate][expected]") {
  auto sc = datasets::example_district(2021);
  auto low = sc.params, high = sc.params;
  low.advance *= 0.5;
  high.inflow *= 2;
  const auto mean = forecast_expected(sc, {low, high}, 12);
  auto with = [&](const parameter_set& ps) {
    scenario s = sc;
    s.params = ps;
    return forecast_expected(s, 12);
  };
  const auto a = with(low), b = with(high);
  for (const auto& q : mean.quantities()) {
    const Eigen::ArrayXXd avg = (a.own(q) + b.own(q)) / 2;
    CHECK((mean.own(q) - avg).abs().maxCoeff() <= 1e-12 * (1 + avg.abs().maxCoeff()));
  }
  // ... and equals the exact mixture's means
  const auto pmfs = exact_mixture(sc, {low, high}, 12).events("admissions", {0, 12});
  const auto totals = mean.total("admissions", {0, 12});
  for (auto u : sc.units().preorder())
    CHECK(pmfs.nodes[static_cast<std::size_t>(u)].mean() == Catch::Approx(totals(u)).epsilon(1e-9).margin(1e-12));
  CHECK_THROWS_AS(forecast_expected(sc, std::vector<parameter_set>{}, 12), input_error);
}

TEST_CASE("draws stay finite where pooling found no information (a parent without data of its own)",
          "[estimate][drift]") {
  // Unit A passes probation 2 of 2, B fails 1 of 1: the level's kappa hits its lower bound,
  // and R, with no data of its own, keeps a prior Beta with shapes near 1e-13.
  auto o = std::make_shared<const org>(std::vector<unit_record>{{"R", "", "Root", "district"},
                                                                {"A", "R", "A", "cell"}, {"B", "R", "B", "cell"}});
  auto p = std::make_shared<const pipeline>(pipeline::party());
  event_log log{read_csv_text("person_id,unit_id,event,date\n"
                              "a1,A,training,2015-12\na1,A,probation,2016-03\na1,A,full,2017-03\na1,A,left,2018-08\n"
                              "a2,A,source,2016-01\na2,A,training,2016-02\na2,A,probation,2017-05\na2,A,full,2018-05\n"
                              "a3,A,source,2017-01\na3,A,training,2017-02\na3,A,probation,2018-01\na3,A,full,2019-01\n"
                              "a4,A,source,2018-06\na5,A,training,2015-12\na6,A,source,2018-01\na6,A,training,2018-09\na6,A,probation,2019-07\n"
                              "b1,B,training,2015-12\nb1,B,probation,2018-04\nb1,B,full,2019-04\nb2,B,source,2016-05\nb2,B,training,2016-08\n"
                              "a7,A,source,2016-02\na7,A,training,2016-03\na7,A,probation,2016-06\na7,A,left,2016-10\n"
                              "a8,A,source,2016-04\na8,A,left,2016-07\nb4,B,training,2015-12\nb4,B,left,2017-03\n"
                              "b5,B,training,2015-12\nb5,B,probation,2016-02\nb5,B,not_confirmed,2017-02\nt1,B,transfer_in,2017-06\nb3,B,source,2019-12\n",
                              "hand.csv"), o, p};
  const auto fit = fit_pooled(exposures(log, {2016, 1}, {2018, 12}), *o, *p);
  const auto draws = draw_parameters(fit, *o, *p, 50, 1);
  for (const auto& ps : draws) {
    CHECK(ps.pass_rate.allFinite());
    CHECK(ps.advance.allFinite());
    CHECK(ps.inflow.allFinite());
  }
}
