// Splitting a target down the tree: exact sums, bounds, errors, and the risk-balanced
// greedy against exhaustive search over every split.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "catch.hpp"
#include "memberflow/allocate.hpp"
#include "memberflow/datasets.hpp"
#include "random_scenarios.hpp"

using namespace memberflow;

namespace {

// A random count: a sum of one to three binomials and a Poisson, its pmf exact to 1e-15.
pmf random_count(std::mt19937& rng) {
  std::uniform_real_distribution<double> unif(0, 1);
  const double eps = 1e-15;
  pmf f = poisson_pmf(3 * unif(rng) * unif(rng), eps);
  const int parts = std::uniform_int_distribution<int>(1, 3)(rng);
  for (int i = 0; i < parts; ++i)
    f = convolve(f, binomial_pmf(std::uniform_int_distribution<int>(0, 8)(rng), unif(rng), eps), eps);
  return f;
}

// The best objective over every split of `total` within the bounds (brute force).
double exhaustive_best(long long total, const std::vector<pmf>& parts, const std::vector<long long>& lo,
                       const std::vector<long long>& hi) {
  std::vector<long long> t(parts.size());
  double best = -std::numeric_limits<double>::infinity();
  std::function<void(std::size_t, long long)> go = [&](std::size_t j, long long left) {
    if (j + 1 == parts.size()) {
      if (left < lo[j] || left > hi[j]) return;
      t[j] = left;
      best = std::max(best, risk_objective(parts, t));
      return;
    }
    for (long long v = lo[j]; v <= std::min(hi[j], left); ++v) {
      t[j] = v;
      go(j + 1, left - v);
    }
  };
  go(0, total);
  return best;
}

long long sum(const std::vector<long long>& v) { return std::accumulate(v.begin(), v.end(), 0LL); }

}  // namespace

TEST_CASE("the risk greedy reaches the exhaustive optimum on random binomial/Poisson sums", "[allocate]") {
  std::mt19937 rng(20261129);
  int finite = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const int n = std::uniform_int_distribution<int>(1, 4)(rng);
    std::vector<pmf> parts;
    std::vector<long long> lo(n), hi(n);
    long long sum_lo = 0, sum_hi = 0;
    for (int j = 0; j < n; ++j) {
      parts.push_back(random_count(rng));
      lo[j] = std::uniform_int_distribution<int>(0, 2)(rng);
      hi[j] = lo[j] + std::uniform_int_distribution<int>(0, 12)(rng);
      sum_lo += lo[j], sum_hi += hi[j];
    }
    const long long total = std::uniform_int_distribution<long long>(sum_lo, std::min(sum_hi, sum_lo + 25))(rng);
    long long steps = 0;
    const auto t = split_risk(total, parts, lo, hi, &steps);
    REQUIRE(sum(t) == total);
    CHECK(steps == total - sum_lo);
    for (int j = 0; j < n; ++j) CHECK((lo[j] <= t[j] && t[j] <= hi[j]));
    const double best = exhaustive_best(total, parts, lo, hi);
    const double got = risk_objective(parts, t);
    if (std::isinf(best)) {
      CHECK(std::isinf(got));
    } else {
      ++finite;
      CHECK(got >= best - 1e-9 * (1 + std::abs(best)));
    }
  }
  CHECK(finite > 150);  // most cases have a split with a positive chance
}

TEST_CASE("risk split: ties go to the lower index; P = 0 parts wait; the impossible rest spreads by expected count",
          "[allocate]") {
  const pmf same = binomial_pmf(10, 0.5, 1e-15);
  const std::vector<pmf> two{same, same};
  const std::vector<long long> lo{0, 0}, hi{no_maximum, no_maximum};
  CHECK(split_risk(1, two, lo, hi) == std::vector<long long>{1, 0});
  CHECK(split_risk(7, two, lo, hi) == std::vector<long long>{4, 3});
  // A part that can never admit anyone gets nothing while another part can still take a unit.
  const std::vector<pmf> with_zero{pmf{}, binomial_pmf(4, 0.5, 1e-15)};
  CHECK(split_risk(4, with_zero, lo, hi) == std::vector<long long>{0, 4});
  // Beyond every support: the rest goes where the share exceeds the expected count least.
  const std::vector<pmf> tiny{binomial_pmf(2, 0.5, 1e-15), binomial_pmf(6, 0.5, 1e-15)};  // means 1 and 3
  const auto t = split_risk(12, tiny, lo, hi);
  CHECK(sum(t) == 12);
  CHECK(t == std::vector<long long>{5, 7});  // 2 + 6 within the supports, then excess 4, 4
}

TEST_CASE("proportional split: whole numbers, exact sums, within bounds, largest remainder", "[allocate]") {
  const std::vector<double> w{0.5, 0.3, 0.2};
  const std::vector<long long> none_lo{0, 0, 0}, none_hi{no_maximum, no_maximum, no_maximum};
  CHECK(split_proportional(7, w, none_lo, none_hi) == std::vector<long long>{4, 2, 1});
  // A cap moves the rest to the others in proportion.
  const std::vector<long long> hi{2, no_maximum, no_maximum};
  CHECK(split_proportional(10, w, none_lo, hi) == std::vector<long long>{2, 5, 3});
  // A minimum above its quota.
  const std::vector<long long> lo{0, 0, 5};
  CHECK(split_proportional(10, w, lo, none_hi) == std::vector<long long>{3, 2, 5});
  // Weights that cannot carry the total: the rest is split equally among the others.
  const std::vector<double> w0{1, 0, 0};
  const std::vector<long long> hi0{3, no_maximum, no_maximum};
  CHECK(split_proportional(9, w0, none_lo, hi0) == std::vector<long long>{3, 3, 3});
  std::mt19937 rng(7);
  for (int trial = 0; trial < 500; ++trial) {
    const int n = std::uniform_int_distribution<int>(1, 6)(rng);
    std::vector<double> ws(n);
    std::vector<long long> a(n), b(n);
    long long sa = 0, sb = 0;
    for (int j = 0; j < n; ++j) {
      ws[j] = std::uniform_int_distribution<int>(0, 3)(rng) == 0 ? 0.0 : std::uniform_real_distribution<double>(0, 50)(rng);
      a[j] = std::uniform_int_distribution<int>(0, 3)(rng);
      b[j] = a[j] + std::uniform_int_distribution<int>(0, 30)(rng);
      sa += a[j], sb += b[j];
    }
    const long long total = std::uniform_int_distribution<long long>(sa, sb)(rng);
    const auto t = split_proportional(total, ws, a, b);
    REQUIRE(sum(t) == total);
    for (int j = 0; j < n; ++j) CHECK((a[j] <= t[j] && t[j] <= b[j]));
  }
}

TEST_CASE("allocate splits the district's target to the leaves, adding up at every node", "[allocate]") {
  const scenario sc = datasets::example_district();
  const auto& o = sc.units();
  for (auto method : {allocation_method::risk, allocation_method::expected, allocation_method::weight}) {
    allocation_options opt;
    opt.method = method;
    if (method == allocation_method::weight) {
      opt.weights.assign(o.size(), 0.0);
      for (std::size_t u = 0; u < o.size(); ++u)
        opt.weights[u] = sc.stocks(static_cast<Eigen::Index>(u), sc.stocks.cols() - 1);  // full members
    }
    const auto a = allocate(sc, o.root(), 160, opt);
    CHECK(a.exact_evaluations == 2);
    CHECK(a.share[static_cast<std::size_t>(o.root())] == 160);
    long long leaves = 0, owns = 0;
    for (auto u : o.preorder()) {
      const auto i = static_cast<std::size_t>(u);
      long long below = a.own_share[i];
      for (auto c : o.children(u)) below += a.share[static_cast<std::size_t>(c)];
      if (!o.children(u).empty()) CHECK(below == a.share[i]);
      if (o.children(u).empty()) {
        CHECK(a.own_share[i] == a.share[i]);
        leaves += a.share[i];
      }
      owns += a.own_share[i];
      CHECK(a.share[i] >= 0);
      CHECK((a.p_meet[i] >= 0 && a.p_meet[i] <= 1));
    }
    CHECK(owns == 160);
    CHECK(leaves <= 160);
  }
}

TEST_CASE("allocate: the risk split beats the proportional splits on its objective at every node", "[allocate]") {
  std::mt19937 rng(11);
  const auto pipes = mf_test::pipelines();
  for (int trial = 0; trial < 20; ++trial) {
    const auto o = mf_test::random_org(std::uniform_int_distribution<int>(2, 9)(rng), rng);
    const auto sc = mf_test::random_scenario(o, pipes[static_cast<std::size_t>(trial) % pipes.size()], rng);
    allocation_options risk, expected;
    expected.method = allocation_method::expected;
    const long long target = std::uniform_int_distribution<long long>(0, 60)(rng);
    const auto a = allocate(sc, o->root(), target, risk);
    const auto b = allocate(sc, o->root(), target, expected);
    // At the root: the risk split's objective over the root's parts is the larger.
    auto objective = [&](const allocation& x) {
      double s = 0;
      for (auto c : o->children(o->root())) s += std::log(x.p_meet[static_cast<std::size_t>(c)]);
      if (!o->children(o->root()).empty() && !std::isnan(x.own_p_meet[static_cast<std::size_t>(o->root())]))
        s += std::log(x.own_p_meet[static_cast<std::size_t>(o->root())]);
      return s;
    };
    if (!o->children(o->root()).empty()) CHECK(objective(a) >= objective(b) - 1e-9);
    CHECK(sum(a.own_share) == target);
    CHECK(sum(b.own_share) == target);
  }
}

TEST_CASE("allocate honours minimums and maximums, or names the unit and the constraint", "[allocate]") {
  const scenario sc = datasets::example_district();
  const auto& o = sc.units();
  const auto n = o.size();
  const auto c01 = o.index("C01");
  allocation_options opt;
  opt.minimum.assign(n, 0);
  opt.maximum.assign(n, no_maximum);
  opt.minimum[static_cast<std::size_t>(c01)] = 20;
  opt.maximum[static_cast<std::size_t>(o.index("C02"))] = 0;
  const auto a = allocate(sc, o.root(), 160, opt);
  CHECK(a.share[static_cast<std::size_t>(c01)] >= 20);
  CHECK(a.share[static_cast<std::size_t>(o.index("C02"))] == 0);
  for (auto c : o.children(o.index("C02"))) CHECK(a.share[static_cast<std::size_t>(c)] == 0);

  auto fails = [&](allocation_options bad, long long target, const std::string& unit, const std::string& constraint) {
    try {
      (void)allocate(sc, o.root(), target, bad);
      FAIL("no error");
    } catch (const infeasible_target& e) {
      CHECK(e.unit() == unit);
      CHECK(e.constraint() == constraint);
      CHECK(std::string(e.what()).find("'" + unit + "'") != std::string::npos);
    }
  };
  allocation_options bad;
  bad.minimum.assign(n, 1);  // every unit at least 1: the leaves alone need more than 160
  fails(bad, 160, "D", "children's minimums");
  bad = allocation_options{};
  bad.maximum.assign(n, 0);
  fails(bad, 1, "D", "maximum");
  bad = opt;
  bad.maximum[static_cast<std::size_t>(c01)] = 5;  // its minimum is 20
  fails(bad, 160, "C01", "minimum above maximum");
  bad = opt;
  for (auto c : o.children(c01)) bad.maximum[static_cast<std::size_t>(c)] = 1;
  fails(bad, 160, "C01", "children's maximums");
  CHECK_THROWS_AS(allocate(sc, o.root(), -1, opt), input_error);
  allocation_options weight;
  weight.method = allocation_method::weight;
  CHECK_THROWS_AS(allocate(sc, o.root(), 160, weight), input_error);
  CHECK_THROWS_AS(parse_allocation_method("fair"), input_error);
}

TEST_CASE("allocate below a node splits only that subtree", "[allocate]") {
  const scenario sc = datasets::example_district();
  const auto& o = sc.units();
  const auto c01 = o.index("C01");
  const auto a = allocate(sc, c01, 12);
  long long total = 0;
  for (std::size_t u = 0; u < o.size(); ++u) {
    CHECK(static_cast<bool>(a.in_plan[u]) == o.is_ancestor_or_self(c01, static_cast<unit_index>(u)));
    if (!a.in_plan[u]) CHECK(a.share[u] == 0);
    total += a.own_share[u];
  }
  CHECK(total == 12);
}
