// Estimation from aggregate counts: the person-months given the counts against a brute
// force over every person's path; on the synthetic history, the reconstructed exposures
// and the fitted rates against those of the event log of the same history; bad windows
// and unknown counts refused with the unit and line.
#include <cmath>
#include <string>
#include <vector>

#include "catch.hpp"
#include "memberflow/estimate_counts.hpp"
#include "memberflow/history.hpp"
#include "memberflow/records.hpp"

using namespace memberflow;

namespace {

// One person's outcomes in a period: (probability, months at risk, left or not).
struct outcome {
  double prob;
  int months;
  int left;
};

// A person who can be at risk for w months, drawn from the shares of `windows`.
std::vector<outcome> outcomes(const Eigen::ArrayXd& windows, double h) {
  std::vector<outcome> out;
  for (int w = 0; w < windows.size(); ++w) {
    if (windows(w) == 0) continue;
    for (int i = 1; i <= w; ++i) out.push_back({windows(w) * h * std::pow(1 - h, i - 1), i, 1});
    out.push_back({windows(w) * std::pow(1 - h, w), w, 0});
  }
  return out;
}

// E[person-months | L leavers] by convolving every person's outcomes: p[l] = P(l leave),
// pn[l] = E[N; l leave].
double brute_force(int S, int E, int L, double h, const Eigen::ArrayXd& starters, const Eigen::ArrayXd& entrants) {
  std::vector<double> p{1}, pn{0};
  auto add = [&](const std::vector<outcome>& person) {
    std::vector<double> q(p.size() + 1, 0), qn(p.size() + 1, 0);
    for (std::size_t l = 0; l < p.size(); ++l)
      for (const auto& o : person) {
        q[l + o.left] += p[l] * o.prob;
        qn[l + o.left] += (pn[l] + p[l] * o.months) * o.prob;
      }
    p = q, pn = qn;
  };
  for (int i = 0; i < S; ++i) add(outcomes(starters, h));
  for (int i = 0; i < E; ++i) add(outcomes(entrants, h));
  return pn[static_cast<std::size_t>(L)] / p[static_cast<std::size_t>(L)];
}

// The windows of estimate_counts.hpp: starters m months (fixed stage: min(m, D - a), a
// uniform), entries uniform over the months, at risk from the month after.
Eigen::ArrayXd starters_of(int m, int D) {
  Eigen::ArrayXd w = Eigen::ArrayXd::Zero(m + 1);
  if (D == 0) w(m) = 1;
  else
    for (int a = 0; a < D; ++a) w(std::min(m, D - a)) += 1.0 / D;
  return w;
}
Eigen::ArrayXd entrants_of(int m, int D) {
  Eigen::ArrayXd w = Eigen::ArrayXd::Zero(m + 1);
  for (int j = 0; j < m; ++j) w(D == 0 ? m - 1 - j : std::min(m - 1 - j, D)) += 1.0 / m;
  return w;
}

// The organisation's rate in a fit's data: its events over its person-months.
double org_rate(const rate_fit& r) { return r.events.sum() / r.exposure.sum(); }

}  // namespace

TEST_CASE("person-months given the counts are the conditional expectation of the model", "[estimate_counts]") {
  struct example {
    int S, E, L, m, D;
    double h;
  };
  for (const auto& x : std::vector<example>{{3, 2, 2, 12, 0, 0.09},
                                            {1, 0, 1, 12, 0, 0.1},
                                            {0, 1, 1, 12, 0, 0.1},
                                            {4, 3, 0, 3, 0, 0.2},
                                            {2, 2, 4, 12, 0, 0.5},
                                            {5, 4, 1, 12, 12, 0.01},
                                            {3, 3, 2, 3, 12, 0.05},
                                            {2, 3, 1, 12, 6, 0.05},
                                            {6, 0, 3, 1, 0, 0.3}}) {
    INFO("S " << x.S << " E " << x.E << " L " << x.L << " m " << x.m << " D " << x.D << " h " << x.h);
    const auto s = starters_of(x.m, x.D), e = entrants_of(x.m, x.D);
    CHECK(detail::expected_person_months(x.S, x.E, x.L, x.h, s, e) ==
          Approx(brute_force(x.S, x.E, x.L, x.h, s, e)).epsilon(1e-10));
  }
  // One starter who left within the year at h = 0.1: about 5 months, not the 6.5 of a
  // linear stock nor the 1 that h = 1 (the unit's own estimate) would give.
  const double one = detail::expected_person_months(1, 0, 1, 0.1, starters_of(12, 0), entrants_of(12, 0));
  CHECK(one > 4.9);
  CHECK(one < 5.3);
}

TEST_CASE("counts of the synthetic history give the event log's rates", "[estimate_counts]") {
  // Seeds 0-19 of the example history, fitted on 2016-2020 from the event log (exact
  // person-months) and from its yearly counts. Measured (docs/estimation.md): the
  // organisation's rates from counts differ from the log's by -0.7% to +0.0% on average
  // (model; the trapezoid's by up to -2.6%, training); a single seed by up to 6%.
  const calendar_month first{2016, 1}, last{2020, 12};
  const int seeds = 20;
  std::vector<double> model(9), trapezoid(9), worst(9);
  for (int seed = 0; seed < seeds; ++seed) {
    const auto h = datasets::example_history({.seed = static_cast<std::uint64_t>(seed)});
    const auto& o = h.start.units();
    const auto& p = h.start.model();
    const event_log log(h.events, h.start.organisation, h.start.stages);
    const count_table counts(h.yearly, o, p);
    const auto from_log = fit_pooled(exposures(log, first, last), o, p);
    const auto m = fit_counts(counts, o, p, first, last);
    const auto t = fit_counts(counts, o, p, first, last, {}, {.approximation = count_approximation::trapezoid});
    CHECK(m.iterations > 1);
    CHECK(m.iterations < 50);  // converged
    REQUIRE(from_log.rates.size() == 9);
    for (std::size_t i = 0; i < 9; ++i) {
      const auto& a = from_log.rates[i];
      INFO("seed " << seed << " stage " << p.stages()[a.stage].name << " param " << param_name(a.which));
      // Events are counted, never reconstructed.
      CHECK((a.events - m.fit.rates[i].events).abs().maxCoeff() < 1e-9);
      const double rel = org_rate(m.fit.rates[i]) / org_rate(a) - 1;
      model[i] += rel / seeds;
      trapezoid[i] += (org_rate(t.fit.rates[i]) / org_rate(a) - 1) / seeds;
      worst[i] = std::max(worst[i], std::abs(rel));
    }
    // pass_rate, inflow and transfer_in need no reconstruction: the same data exactly.
    for (auto which : {param::inflow, param::transfer_in}) {
      const std::size_t s = which == param::inflow ? 0 : p.terminal();
      CHECK((m.fit.at(s, which).exposure - from_log.at(s, which).exposure).abs().maxCoeff() == 0);
    }
    CHECK((m.fit.at(2, param::pass_rate).exposure - from_log.at(2, param::pass_rate).exposure).abs().maxCoeff() < 1e-9);
  }
  for (std::size_t i = 0; i < 9; ++i) {
    INFO("rate " << i << ": mean relative difference " << model[i] << " (trapezoid " << trapezoid[i] << "), worst "
                 << worst[i]);
    CHECK(std::abs(model[i]) < 0.01);
    CHECK(worst[i] < 0.07);
  }
  // training's advance (index 2) and exit (3): the trapezoid overstates the person-months
  // of a stage whose entries come unevenly; the model does better.
  CHECK(trapezoid[2] < -0.015);
  CHECK(std::abs(model[2]) < std::abs(trapezoid[2]) / 2);
  CHECK(std::abs(model[3]) < std::abs(trapezoid[3]) / 2);
}

TEST_CASE("counts that do not cover the window, or lack a count, are refused by unit and line", "[estimate_counts]") {
  const auto h = datasets::example_history({.seed = 1, .years = 2});
  const auto& o = h.start.units();
  const auto& p = h.start.model();
  auto table = h.yearly;
  table.source = "yearly.csv";
  // Drop one unit's 2019.
  const auto uc = table.require_column("unit_id"), yc = table.require_column("year");
  const auto victim = table.rows[5][uc];
  for (std::size_t r = 0; r < table.rows.size(); ++r)
    if (table.rows[r][uc] == victim && table.rows[r][yc] == "2019") {
      table.rows.erase(table.rows.begin() + static_cast<long>(r));
      table.lines.erase(table.lines.begin() + static_cast<long>(r));
      break;
    }
  const count_table gap(table, o, p);
  REQUIRE_THROWS_AS_WITH(fit_pooled(gap, o, p, {2019, 1}, {2020, 12}), input_error,
                         mf_test::contains("unit '" + victim + "': no counts for 2019-01..2019-12"));
  // The same unit is fine over 2020 alone; a window cutting a year is refused.
  CHECK_NOTHROW(fit_pooled(gap, o, p, {2020, 1}, {2020, 12}));
  REQUIRE_THROWS_AS_WITH(fit_pooled(gap, o, p, {2020, 1}, {2020, 6}), input_error,
                         mf_test::contains("yearly.csv row 2 (unit 'D', period 2020)") &&
                             mf_test::contains("runs over the window 2020-01..2020-06"));
  // An unknown count is an error naming the column and the line, never a zero.
  auto blank = h.yearly;
  blank.source = "yearly.csv";
  blank.rows[3][blank.require_column("training_exits")] = "";
  const count_table unknown(blank, o, p);
  REQUIRE_THROWS_AS_WITH(fit_pooled(unknown, o, p, {2019, 1}, {2020, 12}), input_error,
                         mf_test::contains("yearly.csv row 4 (unit 'C01', period 2020)") &&
                             mf_test::contains("column 'training_exits' is unknown"));
  // Stocks: the end of the period before the month, else the start of the one at it.
  const count_table full(h.yearly, o, p);
  const auto end = count_stocks(full, o, p, {2021, 1});
  CHECK((end.rowwise().sum() == h.end.stocks.rowwise().sum()).all());
  const auto start = count_stocks(full, o, p, {2019, 1});
  CHECK((start.rowwise().sum() == h.start.stocks.rowwise().sum()).all());
  REQUIRE_THROWS_AS_WITH(count_stocks(full, o, p, {2021, 2}), input_error,
                         mf_test::contains("no period of the counts ends just before 2021-02"));
}
