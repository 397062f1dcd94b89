// The event log: exposures and stocks against a month-by-month simulation written here
// (the people's true states, counted directly), a small history checked by hand, every
// class of bad record with its message, and the quarantine's accounting.
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "catch.hpp"
#include "memberflow/estimate.hpp"
#include "memberflow/history.hpp"
#include "memberflow/records.hpp"

using namespace memberflow;

namespace {

// D -> {A, B}.
std::shared_ptr<const org> two_units() {
  return std::make_shared<const org>(
      std::vector<unit_record>{{"D", "", "District", "district"}, {"A", "D", "A", "cell"}, {"B", "D", "B", "cell"}});
}

// source -> training -> probation (3 months) -> full; admission = probation.
std::shared_ptr<const pipeline> short_party() {
  return std::make_shared<const pipeline>(
      std::vector<stage>{stage::markov("source", 0.1, 0.1), stage::markov("training", 0.1, 0.1),
                         stage::fixed("probation", 3, 0.1, 0.8), stage::terminal("full", 0.05)},
      "probation");
}

event_log read(const std::string& csv, bool quarantine = false) {
  return event_log(read_csv_text(csv, "events.csv"), two_units(), short_party(), read_options{quarantine});
}

const std::string header = "person_id,unit_id,event,date,to_unit_id\n";

std::string period_text_for_test(long first) { return calendar_month{}.plus(first).str(); }

}  // namespace

TEST_CASE("a hand-made history gives the exposures and stocks counted by hand", "[records]") {
  // p1 arrives in A in 2021-01, trains from 2021-03, is admitted in 2021-04 (probation at
  // ages 0, 1, 2 at the start of May, June, July), moves to B in 2021-05 and is confirmed
  // in 2021-07. p2 was in training before the records (opening entry), leaves in 2021-02.
  // p3 transfers in to B in 2021-06.
  const auto log = read(header +
                        "p1,A,candidate,2021-01-15,\n"
                        "p1,A,training,2021-03,\n"
                        "p1,A,admitted,2021-04-30,\n"
                        "p1,A,moved,2021-05,B\n"
                        "p1,B,confirmed,2021-07,\n"
                        "p2,A,training,2020-12,\n"
                        "p2,A,left,2021-02,\n"
                        "p3,B,transfer_in,2021-06,\n");
  CHECK(log.rows_read() == 8);
  CHECK(log.quarantined().empty());
  CHECK(log.first_month() == calendar_month{2020, 12});
  CHECK(log.last_month() == calendar_month{2021, 7});
  const auto x = exposures(log, {2021, 1}, {2021, 7});  // columns: Jan .. Jul
  const unit_index A = 1, B = 2;
  using row = std::vector<double>;
  auto months = [](const Eigen::ArrayXXd& a, unit_index u) {
    row r;
    for (Eigen::Index c = 0; c < a.cols(); ++c) r.push_back(a(u, c));
    return r;
  };
  CHECK(months(x.arrivals, A) == row{1, 0, 0, 0, 0, 0, 0});
  CHECK(months(x.at_risk[0], A) == row{0, 1, 1, 0, 0, 0, 0});  // source: Feb, Mar
  CHECK(months(x.advanced[0], A) == row{0, 0, 1, 0, 0, 0, 0});
  CHECK(months(x.at_risk[1], A) == row{1, 1, 0, 1, 0, 0, 0});  // training: p2 Jan, Feb; p1 Apr
  CHECK(months(x.exited[1], A) == row{0, 1, 0, 0, 0, 0, 0});
  CHECK(months(x.advanced[1], A) == row{0, 0, 0, 1, 0, 0, 0});
  CHECK(months(x.at_risk[2], A) == row{0, 0, 0, 0, 1, 0, 0});  // probation in A in May, moved out
  CHECK(months(x.at_risk[2], B) == row{0, 0, 0, 0, 0, 1, 1});
  CHECK(months(x.completing[2], B) == row{0, 0, 0, 0, 0, 0, 1});  // age 2 = D - 1 in July
  CHECK(months(x.advanced[2], B) == row{0, 0, 0, 0, 0, 0, 1});
  CHECK(months(x.transfers_in, B) == row{0, 0, 0, 0, 0, 1, 0});
  CHECK(months(x.at_risk[3], B) == row{0, 0, 0, 0, 0, 0, 1});  // p3 from July
  CHECK(x.exited[2].sum() == 0);
  CHECK(x.completing[0].sum() == 0);

  const auto people = log.people_at({2021, 6});
  REQUIRE(people.rows.size() == 1);
  CHECK(people.rows[0] == std::vector<std::string>{"p1", "B", "probation", "1"});
  const auto april = log.people_at({2021, 4});
  REQUIRE(april.rows.size() == 1);
  CHECK(april.rows[0] == std::vector<std::string>{"p1", "A", "training", "0"});
  CHECK(log.people_at({2021, 2}).rows == std::vector<std::vector<std::string>>{{"p1", "A", "source", "0"},
                                                                              {"p2", "A", "training", "1"}});
  const auto june = log.stocks_at({2021, 6});
  CHECK(june(B, 2 + 1) == 1);  // p1 in probation at age 1 (slots: source, training, probation 0..2, full)
  CHECK(june.sum() == 1);
  const auto august = log.stocks_at({2021, 8});
  CHECK(august(B, 5) == 2);  // p1 and p3 full members
  CHECK(august.sum() == 2);
  CHECK(log.stocks_at({2019, 1}).sum() == 0);
  REQUIRE_THROWS_WITH(log.stocks_at({2021, 9}), mf_test::contains("the records end in 2021-07"));
  REQUIRE_THROWS_WITH(exposures(log, {2021, 1}, {2021, 8}), mf_test::contains("the records end in 2021-07"));
}

TEST_CASE("exposures and stocks equal the counts of a month-by-month simulation", "[records]") {
  const auto o = two_units();
  const auto p = short_party();
  const int T = 30, D = 3, units = 3;
  const calendar_month start{2020, 1};
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> U(0, 1);
  struct person {
    unit_index unit;
    int stage, age;  // age: months in a fixed stage at the start of the month
    bool gone = false;
  };
  std::vector<person> people;
  text_table t;
  t.source = "sim";
  t.columns = {"person_id", "unit_id", "event", "date", "to_unit_id"};
  auto emit = [&](std::size_t who, unit_index u, const std::string& ev, long month, unit_index to = no_unit) {
    const auto m = start.plus(month);
    const auto date = who % 2 ? m.str() : m.str() + "-28";
    t.add_row({"p" + std::to_string(who), o->id(u), ev, date, to == no_unit ? "" : o->id(to)});
  };
  const char* names[] = {"source", "training", "probation", "full"};
  // Truth: [quantity][stage][unit][month].
  std::map<std::string, std::vector<std::vector<std::vector<double>>>> truth;
  for (auto q : {"at_risk", "advanced", "exited", "completing"})
    truth[q].assign(4, std::vector<std::vector<double>>(units, std::vector<double>(T, 0)));
  std::vector<std::vector<double>> arrivals(units, std::vector<double>(T, 0)), transfers(units, std::vector<double>(T, 0));
  std::vector<std::vector<std::vector<double>>> stocks(T + 1, std::vector<std::vector<double>>(units, std::vector<double>(6, 0)));
  // Everybody present at the start: opening entries (fixed stages dated by their age).
  for (int i = 0; i < 40; ++i) {
    person x{unit_index(1 + i % 2), i % 4, 0};
    if (x.stage == 2) x.age = i % D;
    people.push_back(x);
    emit(people.size() - 1, x.unit, names[x.stage], x.stage == 2 ? -1 - x.age : -1 - i % 5);
  }
  for (int m = 0; m < T; ++m) {
    const auto n = people.size();
    for (std::size_t i = 0; i < n; ++i) {
      auto& x = people[i];
      if (x.gone) continue;
      stocks[m][x.unit][x.stage == 2 ? 2 + x.age : x.stage > 2 ? 5 : x.stage] += 1;
      truth["at_risk"][x.stage][x.unit][m] += 1;
      const double r = U(rng);
      const unit_index other = x.unit == 1 ? 2 : 1;
      if (x.stage < 2) {
        if (r < 0.2) truth["advanced"][x.stage][x.unit][m] += 1, ++x.stage, x.age = 0, emit(i, x.unit, names[x.stage], m);
        else if (r < 0.3) truth["exited"][x.stage][x.unit][m] += 1, x.gone = true, emit(i, x.unit, "left", m);
        else if (r < 0.35) emit(i, x.unit, "moved", m, other), x.unit = other;
      } else if (x.stage == 2) {
        if (r < 0.1) truth["exited"][2][x.unit][m] += 1, x.gone = true, emit(i, x.unit, "left", m);
        else if (x.age == D - 1) {
          truth["completing"][2][x.unit][m] += 1;
          if (r < 0.8) truth["advanced"][2][x.unit][m] += 1, x.stage = 3, emit(i, x.unit, "confirmed", m);
          else x.gone = true, emit(i, x.unit, "not_confirmed", m);
        } else {
          if (r < 0.15) emit(i, x.unit, "moved", m, other), x.unit = other;
          ++x.age;
        }
      } else {
        if (r < 0.05) truth["exited"][3][x.unit][m] += 1, x.gone = true, emit(i, x.unit, "left", m);
        else if (r < 0.1) truth["exited"][3][x.unit][m] += 1, x.gone = true, emit(i, x.unit, "transfer_out", m);
        else if (r < 0.15) emit(i, x.unit, "moved", m, other), x.unit = other;
      }
    }
    for (unit_index u = 1; u < units; ++u) {
      for (int k = 0, a = static_cast<int>(U(rng) * 3); k < a; ++k)
        people.push_back({u, 0, 0}), emit(people.size() - 1, u, k % 2 ? "candidate" : "source", m), arrivals[u][m] += 1;
      if (U(rng) < 0.3) people.push_back({u, 3, 0}), emit(people.size() - 1, u, "transfer_in", m), transfers[u][m] += 1;
    }
  }
  for (const auto& x : people)
    if (!x.gone) stocks[T][x.unit][x.stage == 2 ? 2 + x.age : x.stage > 2 ? 5 : x.stage] += 1;

  const event_log log(t, o, p);
  REQUIRE(log.quarantined().empty());
  REQUIRE(log.last_month() == start.plus(T - 1));
  const auto x = exposures(log, start, start.plus(T - 1));
  REQUIRE(x.months == T);
  for (std::size_t s = 0; s < 4; ++s)
    for (unit_index u = 0; u < units; ++u)
      for (int m = 0; m < T; ++m) {
        INFO("stage " << names[s] << ", unit " << u << ", month " << m);
        CHECK(x.at_risk[s](u, m) == truth["at_risk"][s][u][m]);
        CHECK(x.advanced[s](u, m) == truth["advanced"][s][u][m]);
        CHECK(x.exited[s](u, m) == truth["exited"][s][u][m]);
        CHECK(x.completing[s](u, m) == truth["completing"][s][u][m]);
        if (s == 0) CHECK(x.arrivals(u, m) == arrivals[u][m]);
        if (s == 0) CHECK(x.transfers_in(u, m) == transfers[u][m]);
      }
  CHECK(x.at_risk[2].sum() > 50);  // the simulation reached every stage
  CHECK(x.completing[2].sum() > 10);
  for (int m = 0; m <= T; ++m) {
    const auto s = log.stocks_at(start.plus(m));
    const auto who = log.people_at(start.plus(m));
    CHECK(static_cast<double>(who.rows.size()) == s.sum());
    for (const auto& row : who.rows)
      if (row[2] == "probation") CHECK(s(o->index(row[1]), 2 + std::stoi(row[3])) >= 1);
    for (unit_index u = 0; u < units; ++u)
      for (int c = 0; c < 6; ++c) {
        INFO("month " << m << ", unit " << u << ", slot " << c);
        CHECK(s(u, c) == stocks[m][u][c]);
      }
  }
}

TEST_CASE("every bad record is refused with its line and reason", "[records]") {
  struct bad_case {
    std::string rows, message;
  };
  const std::vector<bad_case> cases{
      {"p1,Z,source,2021-01,\n", "events.csv line 2: unknown unit 'Z'"},
      {"p1,A,moved,2021-01,Z\n", "events.csv line 2: unknown to_unit_id 'Z'"},
      {"p1,A,source,2021-01,\np1,A,moved,2021-02,\n", "line 3: moved needs to_unit_id"},
      {"p1,A,source,2021-01,B\n", "line 2: to_unit_id 'B' is only for moved events"},
      {"p1,A,joined,2021-01,\n", "line 2: unknown event 'joined' (a stage: source, training, probation, full, or"},
      {"p1,A,source,2021-13,\n", "line 2: date '2021-13' is not a date YYYY-MM-DD or a month YYYY-MM"},
      {"p1,A,source,2021-02-30,\n", "line 2: date '2021-02-30' is not a date"},
      {"p1,A,source,March 2021,\n", "line 2: date 'March 2021' is not a date"},
      {"\"p1 \",A,source,2021-01,\n", "line 2: person_id 'p1 ' has a space at the start or end"},
      {"p1,A,source,2021-01,\np1,A,source,2021-01-20,\n", "line 3: duplicate of line 2"},
      {"p1,A,source,2021-01,\np1,A,probation,2021-03,\n",
       "line 3: person 'p1': 'probation' in 2021-03 enters 'probation' from 'source' (in 'source' of unit 'A' since line 2); "
       "the stage after 'source' is 'training'"},
      {"p1,A,training,2021-01,\np1,A,confirmed,2021-03,\np1,A,admitted,2021-05,\n",
       "line 3: person 'p1': 'confirmed' in 2021-03 enters 'full' from 'training'"},
      {"p1,A,training,2021-01,\np1,A,confirmed,2021-03,\n", "(confirmed before admitted)"},
      {"p1,A,probation,2021-01,\np1,A,admitted,2021-02,\n", "(admitted again without leaving)"},
      {"p1,A,source,2021-01,\np1,A,left,2021-03,\np1,A,source,2021-05,\n",
       "line 4: person 'p1': 'source' in 2021-05 after the person left (line 3)"},
      {"p1,A,full,2021-01,\np1,A,moved,2021-03,B\np1,B,moved,2021-03,D\n",
       "line 4: person 'p1': 'moved' in 2021-03: a second event in that month (line 3); the model moves a person at most "
       "once a month"},
      {"p1,A,probation,2021-01,\np1,A,confirmed,2021-03,\n",
       "line 3: person 'p1': 'confirmed' in 2021-03 passes 'probation' before its 3 months: entered in 2021-01 (line 2), "
       "it is passed in 2021-04"},
      {"p1,A,probation,2021-01,\np1,A,not_confirmed,2021-02,\n", "'not_confirmed' in 2021-02 before the end of 'probation'"},
      {"p1,A,probation,2021-01,\np1,A,left,2021-06,\n",
       "'left' in 2021-06, but 'probation' entered in 2021-01 (line 2) ends in 2021-04"},
      {"p1,A,probation,2021-01,\np2,A,source,2021-06,\n",
       "line 2: person 'p1': 'probation' in 2021-01: the person should pass or fail 'probation' in 2021-04 but has no "
       "event then, while the records run to 2021-06"},
      {"p1,A,left,2021-01,\n", "'left' in 2021-01 for a person in no stage"},
      {"p1,A,source,2021-01,\np1,B,left,2021-03,\n", "'left' in 2021-03 in unit 'B', but the person is in unit 'A'"},
      {"p1,A,training,2021-01,\np1,A,transfer_out,2021-03,\n", "only the terminal stage 'full' transfers out (use left)"},
      {"p1,A,full,2021-01,\np1,A,transfer_in,2021-03,\n", "'transfer_in' in 2021-03 for a person already present"},
      {"p1,A,source,2021-01,\np1,A,moved,2021-03,A\n", "moved to its own unit 'A'"},
  };
  for (const auto& c : cases) {
    INFO(c.rows);
    REQUIRE_THROWS_AS(read(header + c.rows), input_error);
    REQUIRE_THROWS_WITH(read(header + c.rows), mf_test::contains(c.message));
    REQUIRE_THROWS_WITH(read(header + c.rows), mf_test::contains("read with quarantine"));
    const auto q = read(header + c.rows, true);
    CHECK(q.rows_read() == q.events().size() + q.quarantined().size());
    CHECK(!q.quarantined().empty());
  }
  REQUIRE_THROWS_WITH(read("person_id,unit_id,event\n"), mf_test::contains("date"));
}

TEST_CASE("the error lists the first 20 bad rows and counts them all", "[records]") {
  std::string csv = header;
  for (int i = 0; i < 25; ++i) csv += "p" + std::to_string(i) + ",Z,source,2021-01,\n";
  csv += "ok,A,source,2021-01,\n";
  try {
    read(csv);
    FAIL("no error");
  } catch (const input_error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("events.csv: 25 bad rows in the event log (the first 20)") == 0);
    CHECK(msg.find("events.csv line 21: unknown unit 'Z'") != std::string::npos);
    CHECK(msg.find("events.csv line 22:") == std::string::npos);
  }
}

TEST_CASE("quarantine sets a bad person aside whole and a duplicate alone; rows in = used + quarantined",
          "[records]") {
  const auto log = read(header +
                        "p1,A,source,2021-01,\n"      // 2
                        "p1,A,probation,2021-02,\n"   // 3 bad: skips training
                        "p1,A,left,2021-04,\n"        // 4 with line 3
                        "p2,A,source,2021-01,\n"      // 5
                        "p2,A,source,2021-01-09,\n"   // 6 duplicate of 5
                        "p2,A,training,2021-03,\n"    // 7
                        "p3,Q,source,2021-02,\n"      // 8 unknown unit
                        "p3,A,training,2021-03,\n",   // 9 with line 8
                        true);
  CHECK(log.rows_read() == 8);
  CHECK(log.events().size() == 2);
  REQUIRE(log.quarantined().size() == 6);
  std::map<long, std::string> why;
  for (const auto& q : log.quarantined()) why[q.line] = q.reason;
  CHECK(why[3].find("person 'p1': 'probation' in 2021-02 enters 'probation' from 'source'") == 0);
  CHECK(why[4] == "with line 3, a bad row of person 'p1'");
  CHECK(why[2] == "with line 3, a bad row of person 'p1'");
  CHECK(why[6] == "duplicate of line 5");
  CHECK(why[8] == "unknown unit 'Q'");
  CHECK(why[9] == "with line 8, a bad row of person 'p3'");
  CHECK(log.quarantined()[0].cells == std::vector<std::string>{"p1", "A", "source", "2021-01", ""});
  const auto x = exposures(log, {2021, 1}, {2021, 3});
  CHECK(x.arrivals.sum() == 1);  // p2 only
  CHECK(x.advanced[0].sum() == 1);
  CHECK(x.at_risk[0].sum() == 2);  // p2 in source in February and March
}

TEST_CASE("the synthetic history's yearly counts read cleanly and agree with its event log", "[records]") {
  datasets::history_options options;
  options.years = 2;
  options.seed = 5;
  const auto h = datasets::example_history(options);
  const auto& o = h.start.organisation;
  const auto& p = h.start.stages;
  const event_log log(h.events, o, p);
  const count_table counts(h.yearly, *o, *p);
  REQUIRE(counts.quarantined.empty());
  REQUIRE(counts.periods.size() == 2 * o->size());
  const auto first = calendar_month{h.years.front(), 1};
  const auto x = exposures(log, first, first.plus(23));
  for (std::size_t k = 0; k < counts.periods.size(); ++k) {
    const auto& period = counts.periods[k];
    REQUIRE(period.months == 12);
    const auto u = period.unit;
    const auto c0 = static_cast<Eigen::Index>(period.first - month_index(first));
    const auto stocks = log.stocks_at(calendar_month{}.plus(period.first));
    for (std::size_t s = 0; s < p->size(); ++s) {
      INFO("unit " << o->id(u) << ", year " << period_text_for_test(period.first) << ", stage " << s);
      CHECK(counts.start(k, s) == stocks.row(u).segment(p->offset(s), p->width(s)).sum());
      const double entered = s == 0 ? x.arrivals.row(u).segment(c0, 12).sum()
                                    : x.advanced[s - 1].row(u).segment(c0, 12).sum();
      CHECK(counts.entries(k, s) == entered);
      if (s != p->terminal()) CHECK(counts.exits(k, s) == x.exited[s].row(u).segment(c0, 12).sum());
    }
    CHECK(counts.transfers_in(k) == x.transfers_in.row(u).segment(c0, 12).sum());
  }
}

TEST_CASE("aggregate counts: periods, unknowns and every bad row with its reason", "[records]") {
  const auto o = two_units();
  const auto p = short_party();
  const std::string head =
      "unit_id,period,source_start,training_start,probation_start,full_start,arrivals,training_entries,admissions,"
      "confirmations,not_confirmed,source_exits,training_exits,probation_exits,full_exits,transfers_in,transfers_out,"
      "full_end\n";
  auto read_counts = [&](const std::string& rows, bool quarantine = false) {
    return count_table(read_csv_text(head + rows, "counts.csv"), *o, *p, read_options{quarantine});
  };
  const auto ok = read_counts(
      "A,2020,5,2,1,10,3,2,1,1,0,1,0,0,1,1,0,11\n"
      "A,2021Q1,5,2,1,11,,,,,,,,,,,,\n"
      "B,2021-03,0,0,0,4,0,0,0,0,0,0,0,0,0,0,1,3\n");
  REQUIRE(ok.periods.size() == 3);
  CHECK(ok.periods[0].first == month_index({2020, 1}));
  CHECK(ok.periods[0].months == 12);
  CHECK(ok.periods[1].first == month_index({2021, 1}));
  CHECK(ok.periods[1].months == 3);
  CHECK(ok.periods[2].first == month_index({2021, 3}));
  CHECK(ok.periods[2].months == 1);
  CHECK(ok.entries(0, 2) == 1);
  CHECK(std::isnan(ok.entries(1, 2)));  // empty is unknown, not 0
  CHECK(std::isnan(ok.end(0, 0)));      // no source_end column
  CHECK(ok.end(0, 3) == 11);

  const std::vector<std::pair<std::string, std::string>> bad{
      {"Z,2020,1,0,0,0,,,,,,,,,,,,\n", "counts.csv line 2: unknown unit 'Z'"},
      {"A,2020Q5,1,0,0,0,,,,,,,,,,,,\n", "line 2: period '2020Q5' is not a year (2020), a quarter (2020Q1) or a month"},
      {"A,2020,-1,0,0,0,,,,,,,,,,,,\n", "line 2: column 'source_start' must be a whole number from 0 to 2^53, got '-1'"},
      {"A,2020,1.5,0,0,0,,,,,,,,,,,,\n", "column 'source_start' must be a whole number"},
      {"A,2020,,0,0,0,,,,,,,,,,,,\n", "column 'source_start' is empty (stocks are required)"},
      {"A,2020,5,2,1,10,0,9,,,,,,,,,,\n",
       "line 2: more people leave 'source' (9) than were there: 5 at the start and 0 entering"},
      {"A,2020,5,2,1,10,3,2,1,1,0,1,0,0,1,1,0,12\n",
       "line 2: 'full': start 10 + entries 2 - moves out 1 = 11, but the end is 12"},
      {"A,2020,1,0,0,0,,,,,,,,,,,,\nA,2020Q3,1,0,0,0,,,,,,,,,,,,\n",
       "line 3: unit 'A', period 2020Q3 overlaps 2020 of counts.csv line 2"},
  };
  for (const auto& [rows, message] : bad) {
    INFO(rows);
    REQUIRE_THROWS_WITH(read_counts(rows), mf_test::contains(message));
    REQUIRE_THROWS_WITH(read_counts(rows), mf_test::contains("bad row"));
    const auto q = read_counts(rows + "B,2020,0,0,0,0,,,,,,,,,,,,\n", true);
    CHECK(q.rows_read == q.periods.size() + q.quarantined.size());
    CHECK(q.periods.size() >= 1);
  }
  REQUIRE_THROWS_WITH(count_table(read_csv_text("unit_id,period,source_start\nA,2020,1\n", "c.csv"), *o, *p),
                      mf_test::contains("c.csv: missing column 'training_start'"));
  REQUIRE_THROWS_WITH(count_table(read_csv_text("unit_id,year,source_start,training_start,probation_start,"
                                                "full_start\nA,2020Q1,1,0,0,0\n", "y.csv"), *o, *p),
                      mf_test::contains("y.csv line 2: year '2020Q1' is not a year such as 2020"));
}

TEST_CASE("20,000 copies of one row: the first is used, every other set aside as its duplicate", "[records]") {
  std::string csv = header + "p1,A,source,2021-01,\n";
  for (int i = 0; i < 20000; ++i) csv += "p1,A,source,2021-01,\n";
  const auto log = read(csv, true);
  CHECK(log.events().size() == 1);
  CHECK(log.quarantined().size() == 20000);
  CHECK(log.quarantined().back().reason == "duplicate of line 2");
}

TEST_CASE("exposures in blocks are the sums of the monthly table, and fit to the same rates", "[records]") {
  const auto h = datasets::example_history({.seed = 3});
  const event_log log(h.events, h.start.organisation, h.start.stages);
  const auto& p = h.start.model();
  // 2016-04 .. 2020-12: 57 months, so 12-month blocks leave 9 months in the first column.
  const calendar_month first{2016, 4}, last{2020, 12};
  const auto monthly = exposures(log, first, last);
  for (int block : {12, 7, 57, 100}) {
    INFO("block " << block);
    const auto x = exposures(log, first, last, block);
    REQUIRE(x.months == 57);
    REQUIRE(x.columns() == (57 + block - 1) / block);
    CHECK(x.column_start(0) == 0);
    CHECK(x.column_start(x.columns()) == 57);
    CHECK(x.column_start(x.columns() - 1) == 57 - std::min(block, 57));  // the last block ends with the window
    auto check_blocks = [&](const Eigen::ArrayXXd& blocks, const Eigen::ArrayXXd& months) {
      REQUIRE(blocks.cols() == x.columns());
      for (int c = 0; c < x.columns(); ++c) {
        const int from = x.column_start(c), to = x.column_start(c + 1);
        CHECK((blocks.col(c) == months.middleCols(from, to - from).rowwise().sum()).all());
      }
      CHECK((x.unit_totals(blocks, 0, 57) == monthly.unit_totals(months, 0, 57)).all());
    };
    for (std::size_t s = 0; s < p.size(); ++s) {
      check_blocks(x.at_risk[s], monthly.at_risk[s]);
      check_blocks(x.advanced[s], monthly.advanced[s]);
      check_blocks(x.exited[s], monthly.exited[s]);
      check_blocks(x.completing[s], monthly.completing[s]);
    }
    check_blocks(x.arrivals, monthly.arrivals);
    check_blocks(x.transfers_in, monthly.transfers_in);
    // The organisation's monthly totals kept beside the blocks are the monthly table's column sums.
    auto plain = monthly;
    plain.monthly = {};
    const auto by_month = plain.organisation_monthly(), kept = x.organisation_monthly();
    for (std::size_t s = 0; s < p.size(); ++s) {
      CHECK((kept.at_risk[s] == by_month.at_risk[s]).all());
      CHECK((kept.advanced[s] == by_month.advanced[s]).all());
      CHECK((kept.exited[s] == by_month.exited[s]).all());
      CHECK((kept.completing[s] == by_month.completing[s]).all());
    }
    CHECK((kept.arrivals == by_month.arrivals).all());
    CHECK((kept.transfers_in == by_month.transfers_in).all());
  }
  const auto yearly = exposures(log, first, last, 12);
  // 12-month blocks counted back from the end are whole columns; other spans are refused.
  CHECK((yearly.unit_totals(yearly.arrivals, 45, 12) == monthly.arrivals.middleCols(45, 12).rowwise().sum()).all());
  CHECK((yearly.unit_totals(yearly.at_risk[3], 9, 24) == monthly.unit_totals(monthly.at_risk[3], 9, 24)).all());
  REQUIRE_THROWS_AS_WITH(yearly.unit_totals(yearly.arrivals, 0, 12), error, mf_test::contains("not whole columns"));
  auto no_totals = yearly;
  no_totals.monthly = {};
  REQUIRE_THROWS_AS(no_totals.organisation_monthly(), error);
  REQUIRE_THROWS_AS_WITH(exposures(log, first, last, 0), input_error, mf_test::contains("block must be 1 to 1200"));

  // The fit reads only what blocks keep: the same rates, pooling, drift and seasons.
  const auto& o = h.start.units();
  const auto a = fit_pooled(monthly, o, p), b = fit_pooled(yearly, o, p);
  REQUIRE(a.rates.size() == b.rates.size());
  for (std::size_t j = 0; j < a.rates.size(); ++j) {
    CHECK((a.rates[j].shape == b.rates[j].shape).all());
    CHECK((a.rates[j].scale == b.rates[j].scale).all());
    CHECK(a.rates[j].kappa == b.rates[j].kappa);
    CHECK(a.rates[j].drift.observed == b.rates[j].drift.observed);
    CHECK(a.rates[j].drift.shift_mean == b.rates[j].drift.shift_mean);
  }
  CHECK(a.seasonal.arrivals == b.seasonal.arrivals);
  CHECK(a.seasonal.kappa == b.seasonal.kappa);
  CHECK((a.means(o, p).advance == b.means(o, p).advance).all());
}
