// Scenario directories: the manifest, lossless round trips through the files (the same
// forecast to the bit), parameter provenance and shadowed rows, pipelines written by hand.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "catch.hpp"
#include "memberflow/datasets.hpp"
#include "memberflow/exact.hpp"
#include "memberflow/expected.hpp"
#include "memberflow/scenario_io.hpp"
#include "random_scenarios.hpp"

using namespace memberflow;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("memberflow_io_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write_file(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every quantity of the expected engine, every unit and month, compared bit for bit.
void require_same_expected(const scenario& a, const scenario& b, int horizon) {
  const auto fa = forecast_expected(a, horizon, {.threads = 1});
  const auto fb = forecast_expected(b, horizon, {.threads = 1});
  REQUIRE(fa.quantities() == fb.quantities());
  for (const auto& q : fa.quantities()) {
    INFO("quantity " << q);
    REQUIRE((fa.own(q) == fb.own(q)).all());
  }
}

// The exact engine's pmfs of admissions over the horizon and of the last stage's stock,
// at every node, compared exactly.
void require_same_pmfs(const scenario& a, const scenario& b, int horizon) {
  const exact_forecast ea(a, horizon), eb(b, horizon);
  const auto last_stage = a.model().stages().back().name;
  for (const auto& [da, db] : {std::pair{ea.events("admissions", {0, horizon}), eb.events("admissions", {0, horizon})},
                               std::pair{ea.stock(last_stage, horizon), eb.stock(last_stage, horizon)}}) {
    REQUIRE(da.nodes.size() == db.nodes.size());
    for (std::size_t u = 0; u < da.nodes.size(); ++u) {
      REQUIRE(da.nodes[u].offset == db.nodes[u].offset);
      REQUIRE(da.nodes[u].p == db.nodes[u].p);
      REQUIRE(da.nodes[u].tail == db.nodes[u].tail);
    }
  }
}

void require_same_scenario(const scenario& a, const scenario& b) {
  REQUIRE(a.units().ids() == b.units().ids());
  REQUIRE(a.units().kinds() == b.units().kinds());
  REQUIRE(pipeline_to_json(a.model()) == pipeline_to_json(b.model()));
  REQUIRE((a.params.advance == b.params.advance).all());
  REQUIRE((a.params.exit == b.params.exit).all());
  REQUIRE((a.params.pass_rate == b.params.pass_rate).all());
  REQUIRE((a.params.attrition == b.params.attrition).all());
  REQUIRE((a.params.inflow == b.params.inflow).all());
  REQUIRE((a.params.transfer_in == b.params.transfer_in).all());
  REQUIRE((a.stocks == b.stocks).all());
  REQUIRE(((a.targets == b.targets) || (a.targets.isNaN() && b.targets.isNaN())).all());
  REQUIRE(a.start == b.start);
}

scenario round_trip(const scenario& sc, const std::string& name) {
  const auto dir = fresh_dir(name);
  write_scenario(sc, dir.string());
  return read_scenario(dir.string());
}

const char* church_manifest = R"({
  "memberflow_scenario": 1,
  "start": "2024-09",
  "pipeline": {
    "admission": "catechumen",
    "stages": [
      {"name": "seeker", "kind": "markov", "advance": 0.1, "exit": 0.05, "inflow": 2},
      {"name": "catechumen", "kind": "fixed", "months": 9, "exit": 0.01, "pass_rate": 0.9},
      {"name": "baptised", "kind": "terminal", "attrition": 0.001}
    ]
  },
  "files": {"units": "units.csv", "stocks": "stocks.csv"}
})";

}  // namespace

TEST_CASE("the example district reads back from its files to the same forecast, to the bit", "[scenario_io]") {
  for (int year : {2020, 2021}) {
    const auto sc = datasets::example_district(year);
    const auto back = round_trip(sc, "example" + std::to_string(year));
    require_same_scenario(sc, back);
    require_same_expected(sc, back, 24);
    require_same_pmfs(sc, back, 12);
  }
}

TEST_CASE("synthetic organisations and random scenarios with custom pipelines round-trip exactly", "[scenario_io]") {
  datasets::synthetic_options opt;
  opt.fanout = {6, 4, 3};
  opt.kinds = {"region", "branch", "cell", "team"};
  opt.seed = 7;
  const auto syn = datasets::synthetic(opt);
  require_same_expected(syn, round_trip(syn, "synthetic"), 12);

  std::mt19937 rng(20210201);
  int cases = 0;
  for (const auto& p : mf_test::pipelines())
    for (int n : {1, 2, 9, 40}) {
      auto sc = mf_test::random_scenario(mf_test::random_org(n, rng), p, rng);
      // Values that need all 17 digits, a stage default nobody keeps, targets, a start.
      sc.params.inflow(0) = 1.0 / 3.0;
      sc.targets(0) = 12.5;
      sc.start = calendar_month{2021, 1 + n % 12};
      const auto back = round_trip(sc, "random" + std::to_string(cases++));
      require_same_scenario(sc, back);
      require_same_expected(sc, back, 7);
      require_same_pmfs(sc, back, 4);
    }
  CHECK(cases == 12);
}

TEST_CASE("the manifest names its files, holds the pipeline and the start, and nothing comes from a preset",
          "[scenario_io]") {
  const auto dir = fresh_dir("manifest");
  const auto sc = datasets::example_district();
  const auto files = write_scenario(sc, dir.string());
  const auto text = read_file(dir / manifest_file_name);
  CHECK(text.find("\"memberflow_scenario\": 1") != std::string::npos);
  CHECK(text.find("\"start\": \"2021-01\"") != std::string::npos);
  CHECK(text.find("\"admission\": \"probation\"") != std::string::npos);
  CHECK(text.find("\"attrition\": 0.0015") != std::string::npos);  // the example's, not the preset's 0.002
  CHECK(fs::exists(files.params));
  // The params file uses general scopes: far fewer rows than units x parameters.
  const auto params = read_csv(files.params);
  CHECK(params.rows.size() < 200);
  CHECK(params.rows.front()[0].rfind("kind:", 0) == 0);
}

TEST_CASE("a pipeline written by hand (a church's seeker -> catechumen -> baptised) reads without code",
          "[scenario_io]") {
  const auto dir = fresh_dir("church");
  write_file(dir / "scenario.json", church_manifest);
  write_file(dir / "units.csv", "unit_id,parent_id,name,kind\nP,,Parish,parish\nA,P,Chapel A,chapel\n");
  write_file(dir / "stocks.csv", "unit_id,stage,count,months_in_stage\nA,seeker,10,\nA,catechumen,3,8\nP,baptised,200,\n");
  const auto sc = read_scenario(dir.string());
  CHECK(sc.model().size() == 3);
  CHECK(sc.model().stages()[sc.model().admission()].name == "catechumen");
  CHECK(sc.model().stages()[1].months == 9);
  CHECK(sc.params.inflow(0) == 2);
  REQUIRE(sc.start);
  CHECK(sc.start->str() == "2024-09");
  CHECK(sc.stocks(1, static_cast<Eigen::Index>(sc.model().offset(1) + 8)) == 3);
  // The three who finish their ninth month pass with p = 0.9 * (1 - exit): confirmations in month 0.
  const auto fc = forecast_expected(sc, 1, {.threads = 1});
  CHECK(fc.total("confirmations", {0, 1})(0) == Approx(3 * 0.99 * 0.9).epsilon(1e-15));
  // Written back, it is the same scenario.
  require_same_scenario(sc, round_trip(sc, "church_again"));
}

TEST_CASE("loose files given beside the manifest replace the files it names", "[scenario_io]") {
  const auto dir = fresh_dir("override");
  write_scenario(datasets::example_district(), dir.string());
  write_file(dir / "other_targets.csv", "unit_id,target\nD,200\n");
  scenario_files over;
  over.targets = (dir / "other_targets.csv").string();
  const auto sc = read_scenario((dir / manifest_file_name).string(), over);
  CHECK(sc.targets(sc.units().root()) == 200);
  CHECK(std::isnan(sc.targets(1)));
}

TEST_CASE("a bad manifest is refused naming the file, the place and what is wrong", "[scenario_io]") {
  const auto dir = fresh_dir("bad");
  write_file(dir / "units.csv", "unit_id,parent_id,name,kind\nP,,Parish,parish\n");
  const auto manifest = (dir / "scenario.json").string();
  auto refused = [&](const std::string& text, const std::string& message) {
    write_file(manifest, text);
    INFO(text);
    REQUIRE_THROWS_WITH(read_scenario(dir.string()), mf_test::contains(message));
  };
  const std::string pipe = R"("pipeline": "party", "files": {"units": "units.csv"})";
  refused(R"({"memberflow_scenario": 1, )" + pipe + ",\n \"stat\": \"2021-01\"}",
          "scenario.json: unknown key 'stat' (valid: memberflow_scenario, start, pipeline, files)");
  refused(R"({"memberflow_scenario": 2, )" + pipe + "}", "format version 2 is not supported");
  refused(R"({)" + pipe + "}", "'memberflow_scenario' (the format version, 1) is required");
  refused(R"({"memberflow_scenario": 1, "files": {"units": "units.csv"}})", "'pipeline' is required");
  refused(R"({"memberflow_scenario": 1, "start": "2021-13", )" + pipe + "}",
          "start: expected a calendar month YYYY-MM (e.g. 2021-01), got '2021-13'");
  refused("{\"memberflow_scenario\": 1,\n  \"pipeline\": [,]}", "scenario.json line 2, column 16: not valid JSON");
  refused(R"({"memberflow_scenario": 1, "pipeline": "union", "files": {"units": "units.csv"}})",
          "unknown pipeline preset \"union\"");
  refused(R"({"memberflow_scenario": 1, "pipeline": "party", "files": {"unit": "units.csv"}})",
          "files: unknown key 'unit'");
  refused(R"({"memberflow_scenario": 1, "pipeline": "party", "files": {}})", "files: 'units' is required");
  refused(R"({"memberflow_scenario": 1, "pipeline": "party", "files": {"units": "nowhere.csv"}})", "nowhere.csv");
  const std::string head = R"({"memberflow_scenario": 1, "files": {"units": "units.csv"}, "pipeline": {"admission": "b", "stages": [)";
  refused(head + R"({"name": "a", "kind": "markov", "advance": 0.1}, {"name": "b", "kind": "fixed", "exit": 0.1},
                   {"name": "c", "kind": "terminal"}]}})",
          "stage 'b': a fixed stage needs 'months', a whole number of months from 1 to 1200");
  refused(head + R"({"name": "a", "kind": "markov", "pass_rate": 0.5}, {"name": "b", "kind": "terminal"}]}})",
          "stage 'a': a markov first stage does not take pass_rate");
  refused(head + R"({"name": "a", "kind": "markov", "advnce": 0.5}, {"name": "b", "kind": "terminal"}]}})",
          "pipeline stage 1: unknown key 'advnce'");
  refused(head + R"({"name": "a", "kind": "queue"}, {"name": "b", "kind": "terminal"}]}})",
          "stage 'a': unknown stage kind 'queue' (valid: markov, fixed, terminal)");
  refused(head + R"({"name": "a", "kind": "markov", "advance": "0.1"}, {"name": "b", "kind": "terminal"}]}})",
          "stage 'a', advance: expected a number, got \"0.1\"");
  refused(head + R"({"name": "a", "kind": "markov", "advance": 0.7, "exit": 0.6}, {"name": "b", "kind": "terminal"}]}})",
          "advance + exit = 0.7 + 0.6 = 1.3 > 1");
  CHECK_THROWS_WITH(read_scenario((dir / "missing").string()), mf_test::contains("no scenario manifest here"));
}

TEST_CASE("a parameter row that more specific rows cover entirely is reported, naming both", "[scenario_io]") {
  const auto sc0 = datasets::example_district();
  text_table t;
  t.source = "params.csv";
  t.columns = {"scope", "stage", "param", "value"};
  // Every sub-cell gets a row of its own, so the kind row below changes nothing...
  for (unit_index u = 0; u < static_cast<unit_index>(sc0.units().size()); ++u)
    if (sc0.units().kind(u) == "sub_cell") t.add_row({sc0.units().id(u), "source", "inflow", "0.1"});
  t.add_row({"kind:sub_cell", "source", "inflow", "0.2"});
  // ... while this one still reaches the other units.
  t.add_row({"*", "training", "advance", "0.3"});
  t.add_row({"C01-01", "training", "advance", "0.2"});
  auto ps = sc0.params;
  const auto warnings = ps.apply(t, sc0.units(), sc0.model());
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], mf_test::contains("params.csv line " + std::to_string(t.lines[218]) +
                                            ": scope 'kind:sub_cell', stage 'source', param 'inflow' changes nothing: "
                                            "more specific rows set it for all 218 units it covers (e.g. params.csv line 1 "
                                            "(scope 'C01-01'))"));
}

TEST_CASE("explain names the file line that set each parameter, or the default, or memory", "[scenario_io]") {
  const auto dir = fresh_dir("explain");
  auto sc = datasets::example_district();
  write_scenario(sc, dir.string());
  write_file(dir / "params.csv",
             "scope,stage,param,value\n*,training,advance,0.3\nkind:sub_cell,source,inflow,0.2\nC01-01,source,inflow,0.5\n");
  auto back = read_scenario(dir.string());
  const auto u = back.units().index("C01-01");
  const auto v = back.units().index("C01-02");
  back.params.exit(v, 0) = 0.05;  // changed after reading
  const auto t = back.params.explain(back.units(), back.model(), {u, v});
  auto row = [&](const std::string& unit, const std::string& stage, const std::string& param) {
    for (const auto& r : t.rows)
      if (r[0] == unit && r[1] == stage && r[2] == param) return r;
    FAIL("no row for " << unit << " " << stage << " " << param);
    return std::vector<std::string>{};
  };
  const auto params_csv = (dir / "params.csv").string();
  CHECK(row("C01-01", "source", "inflow") ==
        std::vector<std::string>{"C01-01", "source", "inflow", "0.5", "C01-01", params_csv + " line 4"});
  CHECK(row("C01-02", "source", "inflow") ==
        std::vector<std::string>{"C01-02", "source", "inflow", "0.2", "kind:sub_cell", params_csv + " line 3"});
  CHECK(row("C01-02", "training", "advance") ==
        std::vector<std::string>{"C01-02", "training", "advance", "0.3", "*", params_csv + " line 2"});
  const auto manifest = (dir / manifest_file_name).string();
  CHECK(row("C01-01", "full", "attrition") ==
        std::vector<std::string>{"C01-01", "full", "attrition", "0.0015", "default",
                                 manifest + ": pipeline, stage 'full'"});
  CHECK(row("C01-02", "source", "exit") ==
        std::vector<std::string>{"C01-02", "source", "exit", "0.05", "memory", "set in memory"});
  // One row per parameter each stage takes: source 3, training 2, probation 2, full 2.
  CHECK(t.rows.size() == 2 * 9);
}

TEST_CASE("advance + exit > 1 names the rows that set them", "[scenario_io]") {
  const auto sc = datasets::example_district();
  text_table t;
  t.source = "params.csv";
  t.columns = {"scope", "stage", "param", "value"};
  t.add_row({"*", "source", "advance", "0.5"});
  t.add_row({"kind:cell", "source", "exit", "0.6"});
  auto ps = sc.params;
  REQUIRE_THROWS_AS_WITH(ps.apply(t, sc.units(), sc.model()), parameter_error,
                         mf_test::contains("unit 'B01', stage 'source': advance + exit = 0.5 + 0.6 = 1.1 > 1 (advance set at params.csv line 1 "
                                           "(scope '*'), exit set at params.csv line 2 (scope 'kind:cell'))"));
}

TEST_CASE("calendar months parse, print and add", "[scenario_io]") {
  const auto m = calendar_month::parse("2021-11", "start");
  CHECK(m.str() == "2021-11");
  CHECK(m.plus(2).str() == "2022-01");
  CHECK(m.plus(14).str() == "2023-01");
  CHECK(calendar_month{999, 1}.str() == "0999-01");
  for (const char* bad : {"2021-1", "2021/01", "21-01", "2021-00", "0000-05", "2021-01-01", "abcd-ef", ""})
    CHECK_THROWS_AS(calendar_month::parse(bad, "start"), input_error);
}

TEST_CASE("a pipeline survives JSON, and 'party' names the preset", "[scenario_io]") {
  for (const auto& p : mf_test::pipelines()) CHECK(pipeline_to_json(pipeline_from_json(pipeline_to_json(*p))) == pipeline_to_json(*p));
  CHECK(pipeline_to_json(pipeline_from_json("\"party\"")) == pipeline_to_json(pipeline::party()));
}
