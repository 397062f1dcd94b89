// The synthetic history: reproducible, its yearly counts and end stocks are what its own
// event log says (recounted here from the rows), the log is one the model can produce, the
// last year is near the article's 89 admissions and 141 confirmations, and the mean over
// many seeds is what the expected-value engine gives on the truth.
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "catch.hpp"
#include "memberflow/expected.hpp"
#include "memberflow/history.hpp"
#include "memberflow/records.hpp"

using namespace memberflow;

namespace {

// One person's events, from the log alone.
struct row {
  std::string unit, event;
  long month;  // months since year 0
};

long month_of(const std::string& date) { return std::stol(date.substr(0, 4)) * 12 + std::stol(date.substr(5, 2)) - 1; }

std::map<std::string, std::vector<row>> by_person(const text_table& events) {
  REQUIRE(events.columns == std::vector<std::string>{"person_id", "unit_id", "event", "date", "to_unit_id"});
  std::map<std::string, std::vector<row>> people;
  for (const auto& r : events.rows) {
    REQUIRE(r[3].size() == 10);
    people[r[0]].push_back({r[1], r[2], month_of(r[3])});
  }
  return people;
}

// The district total of a yearly column, by year.
std::map<int, long long> district(const text_table& yearly, const std::string& column) {
  const auto c = yearly.require_column(column), y = yearly.require_column("year");
  std::map<int, long long> out;
  for (const auto& r : yearly.rows) out[std::stoi(r[y])] += std::stoll(r[c]);
  return out;
}

const std::vector<std::string> stage_names{"source", "training", "probation", "full"};

int stage_of(const std::string& event) {
  for (std::size_t s = 0; s < stage_names.size(); ++s)
    if (event == stage_names[s]) return static_cast<int>(s);
  return event == "transfer_in" ? 3 : -1;
}

// The yearly table recounted from the log: (unit, year) -> column -> count. A person's
// stage at the start of a year is the stage of their last entry before it, unless they
// left before it.
std::map<std::pair<std::string, int>, std::map<std::string, long long>> recount(const datasets::history& h) {
  std::map<std::pair<std::string, int>, std::map<std::string, long long>> out;
  const long first = h.years.front() * 12L;
  for (const auto& [id, rows] : by_person(h.events)) {
    for (int year : h.years) {
      for (const long boundary : {year * 12L, (year + 1) * 12L}) {
        int stage = -1;
        std::string unit;
        for (const auto& r : rows)
          if (r.month < boundary) {
            stage = stage_of(r.event);
            unit = r.unit;
          }
        if (stage >= 0) ++out[{unit, year}][stage_names[stage] + (boundary == year * 12L ? "_start" : "_end")];
      }
    }
    int stage = -1;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      auto& c = out[{r.unit, static_cast<int>(r.month / 12)}];
      const int entered = stage_of(r.event);
      if (r.month >= first) {
        if (r.event == "source" && i == 0) ++c["arrivals"];
        else if (r.event == "training") ++c["training_entries"];
        else if (r.event == "probation") ++c["admissions"];
        else if (r.event == "full") ++c["confirmations"];
        else if (r.event == "transfer_in") ++c["transfers_in"];
        else if (r.event == "transfer_out") ++c["transfers_out"];
        else if (r.event == "not_confirmed") ++c["not_confirmed"];
        else if (r.event == "left") ++c[stage_names.at(static_cast<std::size_t>(stage)) + "_exits"];
      }
      if (entered >= 0) stage = entered;
    }
  }
  return out;
}

// The expected district admissions and confirmations of every year, from the start's
// stocks with each year's truth: the expected-value engine's own month.
std::pair<std::vector<double>, std::vector<double>> expected_by_year(const datasets::history& h) {
  const auto& p = h.start.model();
  Eigen::ArrayXXd state = h.start.stocks, next(state.rows(), state.cols()), events(state.rows(), 5),
                  stocks(state.rows(), static_cast<Eigen::Index>(p.size()));
  std::vector<double> admissions, confirmations;
  for (const auto& ps : h.truth) {
    admissions.push_back(0);
    confirmations.push_back(0);
    for (int t = 0; t < 12; ++t) {
      detail::expected_month(p, ps, state, next, events, stocks);
      admissions.back() += events.col(0).sum();
      confirmations.back() += events.col(1).sum();
      state.swap(next);
    }
  }
  return {admissions, confirmations};
}

}  // namespace

TEST_CASE("the same seed gives the same history to the bit, another seed another", "[history]") {
  const auto a = datasets::example_history(), b = datasets::example_history();
  CHECK(a.events.rows == b.events.rows);
  CHECK(a.yearly.rows == b.yearly.rows);
  for (std::size_t k = 0; k < a.truth.size(); ++k) {
    CHECK((a.truth[k].advance == b.truth[k].advance).all());
    CHECK((a.truth[k].inflow == b.truth[k].inflow).all());
  }
  const auto c = datasets::example_history({.seed = 1});
  CHECK(c.events.rows != a.events.rows);
  CHECK((c.truth[0].inflow != a.truth[0].inflow).any());
}

TEST_CASE("the history covers 2016-01 to 2020-12 of the example district, ending near its 2021 stocks", "[history]") {
  const auto h = datasets::example_history();
  CHECK(h.years == std::vector<int>{2016, 2017, 2018, 2019, 2020});
  CHECK(h.start.start->str() == "2016-01");
  CHECK(h.end.start->str() == "2021-01");
  CHECK(h.start.units().size() == 267);
  const auto full = static_cast<Eigen::Index>(h.end.model().offset(h.end.model().terminal()));
  const double members = h.end.stocks.col(full).sum();
  INFO("full members at the start of 2021: " << members);
  CHECK(std::abs(members - 6113) < 150);  // expected 6,113 (example_district(2021)); sd about 30
  CHECK(h.end.targets(h.end.units().root()) == 160);
  CHECK(h.yearly.rows.size() == 267 * 5);
}

TEST_CASE("the yearly counts and the end stocks are what the event log says", "[history]") {
  const auto h = datasets::example_history({.seed = 3});
  const auto counted = recount(h);
  const auto uc = h.yearly.require_column("unit_id"), yc = h.yearly.require_column("year");
  long long compared = 0;
  for (const auto& r : h.yearly.rows) {
    const auto it = counted.find({r[uc], std::stoi(r[yc])});
    for (std::size_t c = 2; c < h.yearly.columns.size(); ++c) {
      const auto& name = h.yearly.columns[c];
      long long expected = 0;
      if (it != counted.end())
        if (const auto v = it->second.find(name); v != it->second.end()) expected = v->second;
      INFO(r[uc] << " " << r[yc] << " " << name);
      CHECK(std::stoll(r[c]) == expected);
      compared += expected;
    }
  }
  CHECK(compared > 10000);
  // Each unit's end stocks by slot, probation by age: age at the start of 2021-01 is
  // months since the entry month minus one.
  const auto& o = h.end.units();
  const auto& p = h.end.model();
  Eigen::ArrayXXd stocks = Eigen::ArrayXXd::Zero(h.end.stocks.rows(), h.end.stocks.cols());
  const long end = 2021 * 12;
  for (const auto& [id, rows] : by_person(h.events)) {
    const auto& last = rows.back();
    const int s = stage_of(last.event);
    if (s < 0) continue;
    const long age = p.stages()[static_cast<std::size_t>(s)].kind == stage_kind::fixed ? end - 1 - last.month : 0;
    stocks(o.index(last.unit), static_cast<Eigen::Index>(p.offset(static_cast<std::size_t>(s)) + age)) += 1;
  }
  CHECK((stocks == h.end.stocks).all());
}

TEST_CASE("the records reader takes the whole log and finds the same stocks and counts", "[history]") {
  const auto h = datasets::example_history();
  const event_log log(h.events, h.start.organisation, h.start.stages);
  CHECK(log.quarantined().empty());
  CHECK(log.rows_read() == h.events.rows.size());
  CHECK((log.stocks_at(calendar_month{2016, 1}) == h.start.stocks).all());
  CHECK((log.stocks_at(calendar_month{2021, 1}) == h.end.stocks).all());
  const auto ex = exposures(log, calendar_month{2016, 1}, calendar_month{2020, 12});
  REQUIRE(ex.months == 60);
  const auto& o = h.start.units();
  const auto uc = h.yearly.require_column("unit_id"), yc = h.yearly.require_column("year");
  auto column = [&](const char* name) { return h.yearly.require_column(name); };
  for (const auto& r : h.yearly.rows) {
    const auto u = o.index(r[uc]);
    const auto k = static_cast<Eigen::Index>(12 * (std::stoi(r[yc]) - 2016));
    auto year = [&](const Eigen::ArrayXXd& a) { return static_cast<long long>(a.row(u).segment(k, 12).sum()); };
    INFO(r[uc] << " " << r[yc]);
    CHECK(year(ex.arrivals) == std::stoll(r[column("arrivals")]));
    CHECK(year(ex.advanced[0]) == std::stoll(r[column("training_entries")]));
    CHECK(year(ex.advanced[1]) == std::stoll(r[column("admissions")]));
    CHECK(year(ex.advanced[2]) == std::stoll(r[column("confirmations")]));
    CHECK(year(ex.exited[2]) == std::stoll(r[column("probation_exits")]));
    CHECK(year(ex.exited[3]) == std::stoll(r[column("full_exits")]) + std::stoll(r[column("transfers_out")]));
    CHECK(year(ex.transfers_in) == std::stoll(r[column("transfers_in")]));
    CHECK(static_cast<long long>(ex.at_risk[3](u, k)) == std::stoll(r[column("full_start")]));
  }
}

TEST_CASE("every person's events are a path the model can take", "[history]") {
  const auto h = datasets::example_history({.seed = 5});
  const long first = 2016 * 12, end = 2021 * 12;
  for (const auto& [id, rows] : by_person(h.events)) {
    INFO("person " << id);
    const auto& start = rows.front();
    const int s0 = stage_of(start.event);
    REQUIRE(s0 >= 0);
    // Entries before the history are the people present at its start: dated the month
    // before it, probation within the 12 months before it.
    if (start.month < first) CHECK(start.month >= (s0 == 2 ? first - 12 : first - 1));
    else CHECK((start.event == "source" || start.event == "transfer_in"));
    int stage = s0;
    long entered = start.month;
    for (std::size_t i = 1; i < rows.size(); ++i) {
      const auto& r = rows[i];
      INFO("event " << r.event << " in month " << r.month);
      CHECK(r.unit == start.unit);
      CHECK(r.month > rows[i - 1].month);  // one move a month
      CHECK((r.month >= first && r.month < end));
      REQUIRE(stage >= 0);  // nobody acts after leaving
      const int next = stage_of(r.event);
      if (next >= 0) {
        CHECK(r.event != "transfer_in");
        CHECK(next == stage + 1);  // the next stage, never skipping one
        if (stage == 2) CHECK(r.month == entered + 12);  // confirmed 12 months after admission
        stage = next;
        entered = r.month;
      } else {
        if (r.event == "not_confirmed") CHECK((stage == 2 && r.month == entered + 12));
        if (r.event == "transfer_out") CHECK(stage == 3);
        if (r.event == "left" && stage == 2) CHECK(r.month < entered + 13);
        CHECK((r.event == "left" || r.event == "not_confirmed" || r.event == "transfer_out"));
        stage = -1;
      }
    }
  }
}

TEST_CASE("the last year is near the article's 89 admissions and 141 confirmations", "[history]") {
  const auto h = datasets::example_history();
  const auto admissions = district(h.yearly, "admissions"), confirmations = district(h.yearly, "confirmations");
  INFO("admissions by year: " << admissions.at(2016) << " " << admissions.at(2017) << " " << admissions.at(2018)
                              << " " << admissions.at(2019) << " " << admissions.at(2020));
  INFO("confirmations 2020: " << confirmations.at(2020));
  // Expected 89 and 141 by calibration; Poisson-like noise has sd about 9 and 12: the
  // default seed's figures are within 2 sd.
  CHECK(std::abs(admissions.at(2020) - 89.0) <= 18);
  CHECK(std::abs(confirmations.at(2020) - 141.0) <= 24);
  CHECK(admissions.at(2019) > admissions.at(2020) + 25);  // the 2019 cohort is the larger
}

TEST_CASE("over many seeds the history's yearly means are the expected-value engine's on the truth", "[history]") {
  const auto h = datasets::example_history();
  const auto [admissions, confirmations] = expected_by_year(h);
  const int seeds = 200;
  std::vector<double> sum(10, 0), sum2(10, 0);
  for (int seed = 1; seed <= seeds; ++seed) {
    const auto run = datasets::simulate_history(h.start, h.truth, static_cast<std::uint64_t>(seed));
    const auto a = district(run.yearly, "admissions"), c = district(run.yearly, "confirmations");
    for (std::size_t k = 0; k < 5; ++k) {
      const double x = static_cast<double>(a.at(2016 + static_cast<int>(k))),
                   y = static_cast<double>(c.at(2016 + static_cast<int>(k)));
      sum[k] += x;
      sum2[k] += x * x;
      sum[5 + k] += y;
      sum2[5 + k] += y * y;
    }
  }
  for (std::size_t i = 0; i < 10; ++i) {
    const double mean = sum[i] / seeds, se = std::sqrt((sum2[i] / seeds - mean * mean) / (seeds - 1));
    const double expected = i < 5 ? admissions[i] : confirmations[i - 5];
    INFO((i < 5 ? "admissions " : "confirmations ") << 2016 + static_cast<int>(i % 5) << ": mean " << mean
                                                    << ", expected " << expected << ", se " << se);
    CHECK(std::abs(mean - expected) < 4 * se);
  }
}

TEST_CASE("the calibration holds in expectation: over seeds, 2020 has 89 admissions and 141 confirmations",
          "[history]") {
  // Each seed draws its own truth and start, calibrated so that the expected 2020 figures
  // are the article's; so the mean over seeds estimates them with the sampling noise only.
  const int seeds = 100;
  double sa = 0, sa2 = 0, sc = 0, sc2 = 0;
  for (int seed = 100; seed < 100 + seeds; ++seed) {
    const auto h = datasets::example_history({.seed = static_cast<std::uint64_t>(seed)});
    const double a = static_cast<double>(district(h.yearly, "admissions").at(2020)),
                 c = static_cast<double>(district(h.yearly, "confirmations").at(2020));
    sa += a, sa2 += a * a, sc += c, sc2 += c * c;
  }
  const double ma = sa / seeds, mc = sc / seeds;
  const double se_a = std::sqrt((sa2 / seeds - ma * ma) / (seeds - 1)),
               se_c = std::sqrt((sc2 / seeds - mc * mc) / (seeds - 1));
  INFO("admissions " << ma << " (se " << se_a << "), confirmations " << mc << " (se " << se_c << ")");
  CHECK(std::abs(ma - 89) < 4 * se_a);
  CHECK(std::abs(mc - 141) < 4 * se_c);
}

TEST_CASE("the truth differs between units and years, rural units thinner", "[history]") {
  const auto h = datasets::example_history();
  const auto& o = h.start.units();
  const auto training = 1;
  const auto& rural = o.attribute("rural").values;
  double rural_inflow = 0, urban_inflow = 0;
  int rural_n = 0, urban_n = 0;
  std::map<double, int> distinct;
  for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u) {
    if (o.kind(u) != "sub_cell" && o.kind(u) != "cell") continue;
    ++distinct[h.truth[0].advance(u, training)];
    if (std::get<bool>(rural[u])) rural_inflow += h.truth[0].inflow(u), ++rural_n;
    else urban_inflow += h.truth[0].inflow(u), ++urban_n;
  }
  CHECK(distinct.size() == 249);
  CHECK(rural_inflow / rural_n < 0.6 * urban_inflow / urban_n);
  // The last year's training advance carries the calibrated drop.
  CHECK(h.truth[4].advance.col(training).mean() < 0.8 * h.truth[3].advance.col(training).mean());
  CHECK((h.truth[1].exit != h.truth[0].exit).any());
}

TEST_CASE("the history refuses what it cannot simulate", "[history]") {
  REQUIRE_THROWS_AS_WITH(datasets::example_history({.years = 1}),
                    input_error, mf_test::contains("years must be from 2 to 30"));
  const auto h = datasets::example_history();
  auto sc = h.start;
  sc.start = calendar_month{2016, 3};
  REQUIRE_THROWS_AS_WITH(datasets::simulate_history(sc, h.truth, 0), input_error,
                         mf_test::contains("must be a January"));
  sc.start = calendar_month{2016, 1};
  REQUIRE_THROWS_AS_WITH(datasets::simulate_history(sc, {}, 0), input_error, mf_test::contains("at least one year"));
  REQUIRE_THROWS_AS_WITH(datasets::simulate_history(sc, h.truth, 0, 1.5), input_error,
                         mf_test::contains("transfer_out_share"));
}

TEST_CASE("a synthetic organisation's history: its parameters drift as asked and its log reads whole",
          "[history]") {
  // A small tree (1 + 3 + ~9 + ~27 units) so that the test stays fast; the benchmark of
  // estimation runs the same generator nationally.
  const datasets::synthetic_options org{.fanout = {3, 3, 3}, .kinds = {"root", "a", "b", "c"},
                                        .members_per_leaf = 6, .seed = 2};
  const auto base = datasets::synthetic(org);
  const auto flat = datasets::drifting_parameters(base, {.years = 3, .level_sd = {0.0}, .year_sd = 0.0,
                                                         .unit_drift_sd = 0.0});
  REQUIRE(flat.size() == 3);
  for (const auto& ps : flat) {  // no effects, no drift: the base parameters, every year (through logit and back)
    CHECK((ps.advance - base.params.advance).abs().maxCoeff() < 1e-15);
    CHECK((ps.inflow == base.params.inflow).all());
  }
  const auto drifting = datasets::drifting_parameters(base, {.seed = 4, .years = 3});
  CHECK((drifting[0].inflow != base.params.inflow).any());     // unit effects from the first year
  CHECK((drifting[2].exit != drifting[1].exit).any());         // drift between years

  const auto h = datasets::synthetic_history(org, {.seed = 4, .years = 3});
  CHECK(h.start.start == calendar_month{2018, 1});
  CHECK(h.end.start == calendar_month{2021, 1});
  CHECK((h.start.stocks == base.stocks).all());
  CHECK((h.truth[1].exit == drifting[1].exit).all());
  const event_log log(h.events, h.start.organisation, h.start.stages);
  CHECK(log.quarantined().empty());
  CHECK((log.stocks_at(calendar_month{2018, 1}) == h.start.stocks).all());
  CHECK((log.stocks_at(calendar_month{2021, 1}) == h.end.stocks).all());
  CHECK(h.yearly.rows.size() == 3 * base.units().size());
  // Without the yearly table the records are the same, to the bit.
  const auto lean = datasets::synthetic_history(org, {.seed = 4, .years = 3}, false);
  CHECK(lean.yearly.rows.empty());
  CHECK(lean.events.rows == h.events.rows);
  REQUIRE_THROWS_AS_WITH(datasets::synthetic_history(org, {.years = 1}), input_error,
                         mf_test::contains("years must be from 2 to 30"));
}
