// The funnel: absorbing Markov chains against published numbers, and the pipeline funnel
// against closed forms and a Monte Carlo simulation of single persons written here.
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "catch.hpp"
#include "memberflow/funnel.hpp"

using namespace memberflow;

namespace {

Eigen::MatrixXd matrix(std::initializer_list<std::initializer_list<double>> rows) {
  Eigen::MatrixXd m(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(rows.begin()->size()));
  Eigen::Index i = 0;
  for (const auto& r : rows) {
    Eigen::Index j = 0;
    for (double v : r) m(i, j++) = v;
    ++i;
  }
  return m;
}

void require_matrix_near(const Eigen::MatrixXd& got, const Eigen::MatrixXd& expected) {
  REQUIRE(got.rows() == expected.rows());
  REQUIRE(got.cols() == expected.cols());
  for (Eigen::Index i = 0; i < got.rows(); ++i)
    for (Eigen::Index j = 0; j < got.cols(); ++j) {
      INFO("entry (" << i << ", " << j << ")");
      REQUIRE(got(i, j) == Catch::Approx(expected(i, j)).margin(1e-12));
    }
}

// The Drunkard's Walk: states 0..4, 0 and 4 absorbing, a step left or right with p = 1/2.
// Transient states 1, 2, 3 in that order; absorbing columns 0 then 4.
absorbing_chain drunkards_walk() {
  return absorbing_chain(matrix({{0, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0}}),
                         matrix({{0.5, 0}, {0, 0}, {0, 0.5}}));
}

// Mean and standard error of a sample.
struct sample {
  double sum = 0, sum_sq = 0;
  long n = 0;
  void add(double x) {
    sum += x;
    sum_sq += x * x;
    ++n;
  }
  double mean() const { return sum / static_cast<double>(n); }
  double standard_error() const {
    const double m = mean();
    return std::sqrt(std::max(0.0, sum_sq / static_cast<double>(n) - m * m) / static_cast<double>(n - 1));
  }
};

}  // namespace

TEST_CASE("the Drunkard's Walk has the published N, t and B", "[funnel]") {
  // Grinstead & Snell, Introduction to Probability, 2nd rev. ed. (AMS, 1997), section 11.2
  // "Absorbing Markov Chains": the Drunkard's Walk on 0..4 with
  // absorbing 0 and 4 and p = 1/2 has
  //   N = [[3/2, 1, 1/2], [1, 2, 1], [1/2, 1, 3/2]],  t = (3, 4, 3),
  //   B = [[3/4, 1/4], [1/2, 1/2], [1/4, 3/4]].
  const auto chain = drunkards_walk();
  CHECK(chain.transient_count() == 3);
  CHECK(chain.absorbing_count() == 2);
  require_matrix_near(chain.fundamental(), matrix({{1.5, 1, 0.5}, {1, 2, 1}, {0.5, 1, 1.5}}));
  require_matrix_near(chain.expected_steps(), matrix({{3}, {4}, {3}}));
  require_matrix_near(chain.absorption_probabilities(), matrix({{0.75, 0.25}, {0.5, 0.5}, {0.25, 0.75}}));
}

TEST_CASE("the Drunkard's Walk reach probabilities and conditional times match the gambler's ruin", "[funnel]") {
  // Classical gambler's ruin for the symmetric walk on 0..M started at i: it reaches M
  // before 0 with probability i / M, and given that, after (M^2 - i^2) / 3 steps on average.
  const auto chain = drunkards_walk();
  // Reaching transient state 3 (walk position 3) from 1 means reaching 3 before 0: M = 3.
  const auto h = chain.reach_probabilities();
  CHECK(h(0, 2) == Catch::Approx(1.0 / 3));
  CHECK(h(1, 2) == Catch::Approx(2.0 / 3));
  CHECK(h(0, 1) == Catch::Approx(1.0 / 2));  // position 2 from 1, before 0: M = 2
  CHECK(h(2, 1) == Catch::Approx(1.0 / 2));  // by symmetry
  for (Eigen::Index i = 0; i < 3; ++i) CHECK(h(i, i) == 1.0);
  const auto to3 = chain.steps_to_transient(2);
  CHECK(to3(0) == Catch::Approx((9.0 - 1) / 3));
  CHECK(to3(1) == Catch::Approx((9.0 - 4) / 3));
  CHECK(to3(2) == 0.0);
  // Absorption at 4 given absorbed there: M = 4; at 0 by symmetry, from 4 - i.
  const auto to4 = chain.steps_to_absorbing(1);
  const auto to0 = chain.steps_to_absorbing(0);
  for (int i = 1; i <= 3; ++i) {
    INFO("start " << i);
    CHECK(to4(i - 1) == Catch::Approx((16.0 - i * i) / 3));
    CHECK(to0(i - 1) == Catch::Approx((16.0 - (4 - i) * (4 - i)) / 3));
  }
}

TEST_CASE("an absorbing chain refuses singular I - Q, rows not summing to 1, negatives and bad shapes",
          "[funnel]") {
  REQUIRE_THROWS_AS_WITH(absorbing_chain(matrix({{0, 1}, {1, 0}}), matrix({{0}, {0}})), parameter_error,
                         mf_test::contains("absorbing chain: I - Q is singular"));
  REQUIRE_THROWS_AS_WITH(absorbing_chain(matrix({{1}}), matrix({{0}})), parameter_error,
                         mf_test::contains("I - Q is singular, so some transient state is never left"));
  REQUIRE_THROWS_AS_WITH(absorbing_chain(matrix({{0.5, 0.2}, {0.1, 0.1}}), matrix({{0.3}, {0.5}})),
                         parameter_error, mf_test::contains("absorbing chain: row 1 of [Q R] sums to 0.7"));
  REQUIRE_THROWS_AS_WITH(absorbing_chain(matrix({{0.5}}), matrix({{0.6}})), parameter_error,
                         mf_test::contains("row 0 of [Q R] sums to 1.1"));
  REQUIRE_THROWS_AS_WITH(absorbing_chain(matrix({{-0.1}}), matrix({{1.1}})), parameter_error,
                         mf_test::contains("absorbing chain: negative transition probability"));
  REQUIRE_THROWS_AS_WITH(absorbing_chain(matrix({{0.5, 0.5}}), matrix({{0.5}})), input_error,
                         mf_test::contains("Q must be square"));
  REQUIRE_THROWS_AS_WITH(absorbing_chain(matrix({{0.5}}), matrix({{0.25}, {0.25}})), input_error,
                         mf_test::contains("R must have as many rows as Q"));
}

TEST_CASE("the party funnel from source matches the closed forms of its stages", "[funnel]") {
  const auto p = pipeline::party();
  const auto rates = stage_rates::defaults(p);
  const double a0 = rates.advance[0], e0 = rates.exit[0], a1 = rates.advance[1], e1 = rates.exit[1];
  const double ep = rates.exit[2], pass = rates.pass_rate[2], attr = rates.attrition[3];
  const int D = 12;
  REQUIRE(a0 == 0.05);  // the rates the closed forms below are read with
  REQUIRE(ep == 0.002);

  const double reach_training = a0 / (a0 + e0);
  const double reach_probation = reach_training * a1 / (a1 + e1);
  const double reach_full = reach_probation * std::pow(1 - ep, D) * pass;
  double months_in_probation = 0;  // ages 0..D-1, age k reached with (1 - e)^k
  for (int k = 0; k < D; ++k) months_in_probation += std::pow(1 - ep, k);

  const auto rows = funnel(p, rates, 0);
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].stage == "source");
  CHECK(rows[0].prob_reach == 1.0);
  CHECK(rows[0].expected_time == Catch::Approx(1 / (a0 + e0)));
  CHECK(rows[0].expected_time_to_reach == 0.0);

  CHECK(rows[1].stage == "training");
  CHECK(rows[1].prob_reach == Catch::Approx(reach_training));
  CHECK(rows[1].expected_time == Catch::Approx(reach_training / (a1 + e1)));
  CHECK(rows[1].expected_time_to_reach == Catch::Approx(1 / (a0 + e0)));

  CHECK(rows[2].stage == "probation");
  CHECK(rows[2].prob_reach == Catch::Approx(reach_probation));
  CHECK(rows[2].expected_time == Catch::Approx(reach_probation * months_in_probation));
  CHECK(rows[2].expected_time_to_reach == Catch::Approx(1 / (a0 + e0) + 1 / (a1 + e1)));

  CHECK(rows[3].stage == "full");
  CHECK(rows[3].prob_reach == Catch::Approx(reach_full));
  CHECK(rows[3].expected_time == Catch::Approx(reach_full / attr));
  CHECK(rows[3].expected_time_to_reach == Catch::Approx(1 / (a0 + e0) + 1 / (a1 + e1) + D));
}

TEST_CASE("the funnel from inside probation depends only on the months left", "[funnel]") {
  const auto p = pipeline::party();
  auto rates = stage_rates::defaults(p);
  rates.exit[2] = 0.03;
  rates.pass_rate[2] = 0.8;
  for (int age : {0, 5, 11}) {
    INFO("age " << age);
    const auto rows = funnel(p, rates, 2, age);
    REQUIRE(rows.size() == 2);
    double months = 0;
    for (int k = 0; k < 12 - age; ++k) months += std::pow(0.97, k);
    CHECK(rows[0].prob_reach == 1.0);
    CHECK(rows[0].expected_time == Catch::Approx(months));
    CHECK(rows[1].prob_reach == Catch::Approx(std::pow(0.97, 12 - age) * 0.8));
    CHECK(rows[1].expected_time_to_reach == Catch::Approx(12 - age));
  }
  rates.attrition[3] = 0;
  CHECK(funnel(p, rates, 2).back().expected_time == std::numeric_limits<double>::infinity());
  const auto chain = pipeline_chain(p, rates);
  CHECK(chain.transient_count() == 14);
  CHECK(chain.absorbing_count() == 2);
}

TEST_CASE("the funnel refuses a start at the terminal stage or an age outside the stage", "[funnel]") {
  const auto p = pipeline::party();
  const auto rates = stage_rates::defaults(p);
  REQUIRE_THROWS_AS_WITH(funnel(p, rates, 3), input_error,
                         mf_test::contains("funnel: start from a stage before the terminal stage 'full'"));
  REQUIRE_THROWS_AS_WITH(funnel(p, rates, 2, 12), input_error,
                         mf_test::contains("funnel: age 12 is outside 0..11 for stage 'probation'"));
  REQUIRE_THROWS_AS_WITH(funnel(p, rates, 0, 1), input_error,
                         mf_test::contains("funnel: age 1 is outside 0..0 for stage 'source'"));
  auto stuck = rates;
  stuck.advance[1] = 0;
  stuck.exit[1] = 0;  // nobody ever leaves training
  REQUIRE_THROWS_AS_WITH(funnel(p, stuck, 0), parameter_error, mf_test::contains("I - Q is singular"));
}

TEST_CASE("the party funnel agrees with a Monte Carlo simulation of single persons", "[funnel][monte-carlo]") {
  const auto p = pipeline::party();
  const auto rates = stage_rates::defaults(p);
  const auto rows = funnel(p, rates, 0);
  const double a[2] = {rates.advance[0], rates.advance[1]}, e[2] = {rates.exit[0], rates.exit[1]};
  const double ep = rates.exit[2], pass = rates.pass_rate[2], attr = rates.attrition[3];
  const int D = 12;

  // One person starts in source at the start of month 0; each month it acts per the model.
  std::mt19937_64 rng(112233);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  const long persons = 100000;
  sample reached[4], time_in[4], time_to[4];
  for (long k = 0; k < persons; ++k) {
    int month = 0;
    double months_in[4] = {0, 0, 0, 0};
    bool got[4] = {true, false, false, false};
    double entered_at[4] = {0, 0, 0, 0};
    int stage = 0;  // 0 source, 1 training, 2 probation, 3 full, -1 gone
    int age = 0;
    while (stage >= 0) {
      months_in[stage] += 1;
      const double x = unif(rng);
      int next = stage;
      if (stage < 2) {
        if (x < a[stage]) next = stage + 1;
        else if (x < a[stage] + e[stage]) next = -1;
      } else if (stage == 2) {
        if (x < ep) next = -1;
        else if (age + 1 < D) ++age;
        else next = unif(rng) < pass ? 3 : -1;
      } else if (x < attr) {
        next = -1;
      }
      ++month;
      if (next != stage && next >= 0) {
        got[next] = true;
        entered_at[next] = month;
        age = 0;
      }
      stage = next;
    }
    for (int s = 0; s < 4; ++s) {
      reached[s].add(got[s] ? 1 : 0);
      time_in[s].add(months_in[s]);
      if (got[s]) time_to[s].add(entered_at[s]);
    }
  }
  for (int s = 0; s < 4; ++s) {
    INFO("stage " << rows[s].stage);
    INFO("reach: funnel " << rows[s].prob_reach << ", simulation " << reached[s].mean() << " +- "
                          << reached[s].standard_error());
    CHECK(std::abs(rows[s].prob_reach - reached[s].mean()) <= 5 * reached[s].standard_error() + 1e-12);
    INFO("time in stage: funnel " << rows[s].expected_time << ", simulation " << time_in[s].mean() << " +- "
                                  << time_in[s].standard_error());
    CHECK(std::abs(rows[s].expected_time - time_in[s].mean()) <= 5 * time_in[s].standard_error());
    INFO("time to reach: funnel " << rows[s].expected_time_to_reach << ", simulation " << time_to[s].mean()
                                  << " +- " << time_to[s].standard_error());
    CHECK(std::abs(rows[s].expected_time_to_reach - time_to[s].mean()) <= 5 * time_to[s].standard_error() + 1e-12);
  }
  // The sample is large enough to tell the closed forms apart from near misses.
  CHECK(reached[3].standard_error() < 0.002);
  CHECK(time_to[3].n > 50000);
}
