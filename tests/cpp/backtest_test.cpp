// Backtests (backtest.hpp): the CRPS of a pmf against brute force and the closed forms
// for a point mass and a Poisson, central intervals, the negative binomial and its
// fitted dispersion, the observed counts against the synthetic history's yearly table,
// and the baselines on a small log worked out by hand.
#include <boost/math/special_functions/bessel.hpp>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "catch.hpp"
#include "memberflow/backtest.hpp"
#include "memberflow/history.hpp"

using namespace memberflow;

namespace {

// E|X - y| - E|X - X'| / 2 by direct sums over the support (Gneiting & Raftery 2007, eq. 21).
double crps_brute_force(const pmf& f, long long y) {
  double a = 0, b = 0;
  for (std::size_t i = 0; i < f.p.size(); ++i) {
    const double xi = static_cast<double>(f.offset) + static_cast<double>(i);
    a += f.p[i] * std::abs(xi - static_cast<double>(y));
    for (std::size_t j = 0; j < f.p.size(); ++j) b += f.p[i] * f.p[j] * std::abs(xi - static_cast<double>(f.offset) - static_cast<double>(j));
  }
  return a - b / 2;
}

// The Poisson's CRPS in closed form (Wei & Held 2014, "Calibration tests for count data",
// TEST 23): (y - mu)(2F(y) - 1) + 2 mu f(y) - mu e^{-2 mu} (I0(2 mu) + I1(2 mu)).
double crps_poisson(double mu, long long y) {
  double F = 0, f = 0, term = std::exp(-mu);
  for (long long k = 0; k <= y; ++k) {
    if (k > 0) term *= mu / static_cast<double>(k);
    F += term;
    f = term;
  }
  const double dy = static_cast<double>(y);
  return (dy - mu) * (2 * F - 1) + 2 * mu * f -
         mu * std::exp(-2 * mu) * (boost::math::cyl_bessel_i(0, 2 * mu) + boost::math::cyl_bessel_i(1, 2 * mu));
}

pmf point_mass(long long m) {
  pmf f;
  f.offset = m;
  return f;
}

}  // namespace

TEST_CASE("the CRPS of a point mass is the absolute error", "[backtest]") {
  for (long long m : {0LL, 3LL, 17LL})
    for (long long y : {0LL, 1LL, 3LL, 20LL}) CHECK(crps(point_mass(m), y) == static_cast<double>(std::abs(y - m)));
}

TEST_CASE("the CRPS of a Poisson equals its closed form and brute force", "[backtest]") {
  for (double mu : {0.3, 2.5, 14.0, 150.0}) {
    const auto f = poisson_pmf(mu, 1e-14);
    for (long long y : {0LL, 1LL, 5LL, 14LL, 150LL, 190LL}) {
      INFO("mu " << mu << ", y " << y);
      CHECK(crps(f, y) == Catch::Approx(crps_poisson(mu, y)).epsilon(1e-9).margin(1e-12));
      if (mu < 20) CHECK(crps(f, y) == Catch::Approx(crps_brute_force(f, y)).epsilon(1e-10).margin(1e-12));
    }
  }
}

TEST_CASE("the CRPS of an irregular pmf equals brute force, inside and outside its support", "[backtest]") {
  pmf f;
  f.offset = 4;
  f.p = {0.1, 0.0, 0.35, 0.05, 0.3, 0.2};
  for (long long y = 0; y <= 14; ++y) CHECK(crps(f, y) == Catch::Approx(crps_brute_force(f, y)).epsilon(1e-13));
}

TEST_CASE("central intervals hold at least their level", "[backtest]") {
  pmf f;
  f.p.assign(10, 0.1);  // uniform on 0..9
  CHECK(central_interval(f, 0.5) == std::pair<long long, long long>{2, 7});   // F(2) = 0.3 >= 0.25, F(7) = 0.8 >= 0.75
  CHECK(central_interval(f, 0.9) == std::pair<long long, long long>{0, 9});
  CHECK(central_interval(point_mass(5), 0.9) == std::pair<long long, long long>{5, 5});
  REQUIRE_THROWS_AS(central_interval(f, 90), input_error);  // a fraction, not percent
}

TEST_CASE("the negative binomial has mean m and variance m + alpha m^2; alpha 0 is Poisson", "[backtest]") {
  for (double m : {0.4, 3.0, 60.0})
    for (double alpha : {0.01, 0.3, 2.0, 20.0}) {
      INFO("m " << m << ", alpha " << alpha);
      const auto f = negative_binomial_pmf(m, alpha);
      CHECK(f.sum() + f.tail == Catch::Approx(1).epsilon(1e-12));
      CHECK(f.tail < 1e-11);
      CHECK(f.mean() == Catch::Approx(m).epsilon(1e-9));
      CHECK(f.variance() == Catch::Approx(m + alpha * m * m).epsilon(1e-7));
      // against the lgamma form of the pmf
      const double r = 1 / alpha;
      for (long long k : {0LL, 1LL, 7LL}) {
        const double direct = std::lgamma(k + r) - std::lgamma(r) - std::lgamma(k + 1.0) + r * std::log(r / (r + m)) +
                              static_cast<double>(k) * std::log(m / (r + m));
        CHECK(negative_binomial_log_pmf(k, m, alpha) == Catch::Approx(direct).epsilon(1e-9));
      }
    }
  const auto p = poisson_pmf(7.5, 1e-12), nb = negative_binomial_pmf(7.5, 0);
  CHECK(nb.offset == p.offset);
  CHECK(nb.p == p.p);
  CHECK(negative_binomial_pmf(0, 3).p == std::vector<double>{1.0});
  CHECK(negative_binomial_log_pmf(3, 2.0, 1e-12) == Catch::Approx(3 * std::log(2.0) - 2 - std::log(6.0)).epsilon(1e-9));
}

TEST_CASE("the dispersion fitted to errors recovers the variance that made them", "[backtest]") {
  std::mt19937_64 rng(20210201);
  std::vector<double> y, m, y_poisson;
  const double alpha = 0.25;
  for (int i = 0; i < 4000; ++i) {
    const double mean = 1 + (i % 40);
    std::gamma_distribution<double> g(1 / alpha, mean * alpha);  // E = mean, var = alpha mean^2
    std::poisson_distribution<long long> pois(g(rng));
    y.push_back(static_cast<double>(pois(rng)));
    m.push_back(mean);
    y_poisson.push_back(static_cast<double>(std::poisson_distribution<long long>(mean)(rng)));
  }
  CHECK(fit_dispersion(y, m) == Catch::Approx(alpha).epsilon(0.1));
  CHECK(fit_dispersion(y_poisson, m) < 0.01);
  // forecasts of 0 say nothing of alpha; no usable pairs -> Poisson
  CHECK(fit_dispersion({3, 1}, {0, 0}) == 0);
  CHECK(fit_dispersion({}, {}) == 0);
}

namespace {

// R -> {A, B}, the party pipeline (probation 12 months).
struct hand_log {
  std::shared_ptr<const org> o = std::make_shared<const org>(
      std::vector<unit_record>{{"R", "", "Root", "district"}, {"A", "R", "A", "cell"}, {"B", "R", "B", "cell"}});
  std::shared_ptr<const pipeline> p = std::make_shared<const pipeline>(pipeline::party());
  // Records from 2016-01 (the opening entries are dated 2015-12) to 2019-12. Admissions:
  // A: 2016 a1 a7, 2017 a2, 2018 a3, 2019 a6; B: 2016 b5 b6, 2018 b1. Someone leaves each
  // stage (a8, b4, a7, a1) and b5 fails probation, so that every rate has data both ways.
  event_log log{read_csv_text("person_id,unit_id,event,date\n"
                              "a1,A,training,2015-12\n"
                              "a1,A,probation,2016-03\n"
                              "a1,A,full,2017-03\n"
                              "a1,A,left,2018-08\n"
                              "a2,A,source,2016-01\n"
                              "a2,A,training,2016-02\n"
                              "a2,A,probation,2017-05\n"
                              "a2,A,full,2018-05\n"
                              "a3,A,source,2017-01\n"
                              "a3,A,training,2017-02\n"
                              "a3,A,probation,2018-01\n"
                              "a3,A,full,2019-01\n"
                              "a4,A,source,2018-06\n"
                              "a5,A,training,2015-12\n"
                              "a6,A,source,2018-01\n"
                              "a6,A,training,2018-09\n"
                              "a6,A,probation,2019-07\n"
                              "b1,B,training,2015-12\n"
                              "b1,B,probation,2018-04\n"
                              "b1,B,full,2019-04\n"
                              "b2,B,source,2016-05\n"
                              "b2,B,training,2016-08\n"
                              "a7,A,source,2016-02\n"
                              "a7,A,training,2016-03\n"
                              "a7,A,probation,2016-06\n"
                              "a7,A,left,2016-10\n"
                              "a8,A,source,2016-04\n"
                              "a8,A,left,2016-07\n"
                              "b4,B,training,2015-12\n"
                              "b4,B,left,2017-03\n"
                              "b5,B,training,2015-12\n"
                              "b5,B,probation,2016-02\n"
                              "b5,B,not_confirmed,2017-02\n"
                              "b6,B,training,2015-12\n"
                              "b6,B,probation,2016-05\n"
                              "b6,B,full,2017-05\n"
                              "t1,B,transfer_in,2017-06\n"
                              "b3,B,source,2019-12\n",
                              "hand.csv"),
                o, p};
  unit_index R = o->index("R"), A = o->index("A"), B = o->index("B");
};

const backtest_row& find(const backtest_result& r, const std::string& method, unit_index u, const std::string& q) {
  for (const auto& row : r.rows)
    if (row.method == method && row.unit == u && row.quantity == q) return row;
  throw std::runtime_error("no row " + method);
}

}  // namespace

TEST_CASE("observed counts, pools and the start of the records on a log worked by hand", "[backtest]") {
  hand_log h;
  CHECK(h.log.complete_from() == calendar_month{2016, 1});  // the month after the latest opening entry
  const auto y2018 = observed_counts(h.log, "admissions", {2018, 1}, 12);
  CHECK(y2018(h.A) == 1);
  CHECK(y2018(h.B) == 1);
  CHECK(y2018(h.R) == 2);
  const auto c2019 = observed_counts(h.log, "confirmations", {2019, 1}, 12);
  CHECK(c2019(h.A) == 1);  // a3
  CHECK(c2019(h.B) == 1);  // b1
  // the pool of admissions: source and training at the start of the month
  const auto pool = pool_at(h.log, "admissions", {2018, 1});
  CHECK(pool(h.A) == 2);  // a3 (training), a5; a6 enters source in 2018-01, there from 2018-02
  CHECK(pool(h.B) == 2);  // b1, b2 (b4 left in 2017)
  CHECK(pool(h.R) == 4);
  const auto probation = pool_at(h.log, "confirmations", {2019, 1});
  CHECK(probation(h.A) == 1);  // a3, confirmed in 2019-01
  CHECK(probation(h.B) == 1);  // b1
  REQUIRE_THROWS_AS(observed_counts(h.log, "members", {2018, 1}, 12), unknown_id);
}

TEST_CASE("the baselines' point forecasts on a log worked by hand", "[backtest]") {
  hand_log h;
  backtest_options o;
  o.draws = 5;
  o.quantities = {"admissions", "confirmations"};
  const auto r = backtest(h.log, {{2019, 1}}, o);
  // one row per cut-off x quantity x method x node
  CHECK(r.rows.size() == 1 * 2 * 4 * 3);
  // actual 2019 admissions: a6 in A
  CHECK(find(r, "memberflow", h.A, "admissions").actual == 1);
  CHECK(find(r, "last_year", h.R, "admissions").actual == 1);
  // last year (2018): a3 in A, b1 in B
  CHECK(find(r, "last_year", h.A, "admissions").mean == Catch::Approx(1).epsilon(1e-9));
  CHECK(find(r, "last_year", h.B, "admissions").mean == Catch::Approx(1).epsilon(1e-9));
  CHECK(find(r, "last_year", h.R, "admissions").mean == Catch::Approx(2).epsilon(1e-9));
  // the mean of 2016-2018: A 2, 1, 1; B 2, 0, 1
  CHECK(find(r, "mean_3y", h.A, "admissions").mean == Catch::Approx(4.0 / 3).epsilon(1e-9));
  CHECK(find(r, "mean_3y", h.B, "admissions").mean == Catch::Approx(1).epsilon(1e-9));
  CHECK(find(r, "mean_3y", h.R, "admissions").mean == Catch::Approx(7.0 / 3).epsilon(1e-9));
  CHECK(find(r, "mean_3y", h.R, "admissions").years == 3);
  // conversion: 2018's admissions / the pool at 2018-01 x the pool at 2019-01
  // (A: a4, a5, a6 now, 3; B: b2, 1; R: 4)
  CHECK(find(r, "conversion", h.A, "admissions").mean == Catch::Approx(1.0 / 2 * 3).epsilon(1e-9));
  CHECK(find(r, "conversion", h.B, "admissions").mean == Catch::Approx(1.0 / 2 * 1).epsilon(1e-9));
  CHECK(find(r, "conversion", h.R, "admissions").mean == Catch::Approx(2.0 / 4 * 4).epsilon(1e-9));
  // confirmations in 2018: a2 (A); probation at 2018-01: a2 (A; a3 enters it in 2018-01);
  // at 2019-01: a3 (A), b1 (B)
  CHECK(find(r, "last_year", h.A, "confirmations").mean == Catch::Approx(1).epsilon(1e-9));
  CHECK(find(r, "conversion", h.A, "confirmations").mean == Catch::Approx(1.0 / 1 * 1).epsilon(1e-9));
  CHECK(find(r, "conversion", h.B, "confirmations").mean == 0);  // nobody a year ago: last year's 0
  CHECK(find(r, "conversion", h.R, "confirmations").mean == Catch::Approx(1.0 / 1 * 2).epsilon(1e-9));
  for (const auto& row : r.rows) {
    INFO(row.method << " " << h.o->id(row.unit) << " " << row.quantity);
    CHECK(row.crps >= 0);
    CHECK(row.lo[0] <= row.median);
    CHECK(row.median <= row.hi[0]);
    CHECK(row.lo[1] <= row.lo[0]);
    CHECK(row.hi[0] <= row.hi[1]);
    CHECK(row.abs_error == Catch::Approx(std::abs(row.mean - row.actual)).margin(1e-12));
    CHECK(row.inside[1] == (row.lo[1] <= row.actual && row.actual <= row.hi[1]));
    CHECK(row.pit_lo <= row.pit_hi);
    CHECK(row.depth == h.o->depth(row.unit));
    if (row.method == "memberflow") CHECK(row.years == 3);  // 2016-2018
  }
  // a baseline forecast of 0 is a point mass: its CRPS is the count
  const auto& zero = find(r, "conversion", h.B, "confirmations");
  CHECK(zero.crps == zero.actual);
  // the text table: fixed columns, one row per result row
  const auto t = r.table(*h.o);
  CHECK(t.columns == std::vector<std::string>{"cutoff", "unit_id", "depth", "method", "quantity", "years", "actual",
                                              "mean", "median", "lo-50", "hi-50", "lo-90", "hi-90", "abs_error",
                                              "crps", "in_50", "in_90", "pit_lo", "pit_hi", "dispersion"});
  REQUIRE(t.rows.size() == r.rows.size());
  CHECK(t.rows[0][0] == "2019-01");
  CHECK(t.rows[0][3] == "memberflow");
  CHECK(t.rows[0].back().empty());  // memberflow has no dispersion
}

TEST_CASE("cut-offs: the defaults, and those the records cannot score", "[backtest]") {
  hand_log h;
  backtest_options o;
  CHECK(default_cutoffs(h.log, o) == std::vector<calendar_month>{{2018, 1}, {2019, 1}});
  o.horizon = 6;
  CHECK(default_cutoffs(h.log, o) == std::vector<calendar_month>{{2018, 7}, {2019, 7}});
  o.horizon = 12;
  REQUIRE_THROWS_AS_WITH(backtest(h.log, {{2016, 6}}, o), input_error, mf_test::contains("cut-off 2016-06"));
  REQUIRE_THROWS_AS_WITH(backtest(h.log, {{2019, 6}}, o), input_error, mf_test::contains("before the window of cut-off 2019-06"));
  o.horizon = 13;
  REQUIRE_THROWS_AS(backtest(h.log, {}, o), input_error);
}

TEST_CASE("observed counts equal the synthetic history's yearly table, rolled up the tree", "[backtest]") {
  datasets::history_options ho;
  ho.years = 3;
  const auto h = datasets::example_history(ho);
  const event_log log(h.events, h.start.organisation, h.start.stages);
  const auto& o = log.units();
  CHECK(log.complete_from() == calendar_month{h.years.front(), 1});
  const auto& y = h.yearly;
  const auto ui = y.find_column("unit_id"), yi = y.find_column("year"), ai = y.find_column("admissions"),
             ci = y.find_column("confirmations");
  for (int year : h.years) {
    Eigen::ArrayXd admissions = Eigen::ArrayXd::Zero(static_cast<Eigen::Index>(o.size())), confirmations = admissions;
    for (const auto& row : y.rows)
      if (std::stoi(row[yi]) == year) {
        admissions(o.index(row[ui])) = std::stod(row[ai]);
        confirmations(o.index(row[ui])) = std::stod(row[ci]);
      }
    o.rollup_inplace(admissions);
    o.rollup_inplace(confirmations);
    INFO("year " << year);
    CHECK((observed_counts(log, "admissions", {year, 1}, 12) == admissions).all());
    CHECK((observed_counts(log, "confirmations", {year, 1}, 12) == confirmations).all());
  }
}
