// Partial pooling along the tree: recovery of known heterogeneous rates (pooled beats
// no pooling and complete pooling; 90% posterior intervals cover about 90% of the truth),
// the limits of no and complete heterogeneity, and the conjugate posterior by hand.
#include <cmath>
#include <random>
#include <vector>

#include "catch.hpp"
#include "memberflow/datasets.hpp"
#include "memberflow/estimate.hpp"

using namespace memberflow;

namespace {

double logit(double p) { return std::log(p / (1 - p)); }
double expit(double x) { return 1 / (1 + std::exp(-x)); }

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
