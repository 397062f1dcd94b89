// Scenario tables: parameter overrides (precedence and refusals), stocks, targets.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "catch.hpp"
#include "memberflow/scenario.hpp"
#include "memberflow/scenario_io.hpp"

using namespace memberflow;

namespace {

std::string data(const std::string& name) { return std::string(MEMBERFLOW_TEST_DATA) + "/" + name; }

// D -> C1 -> {X1, X2}; D -> C2 -> X3; D -> B1.
org small_org() {
  return org({{"D", "", "District", "district"},
              {"C1", "D", "Commune 1", "commune_committee"},
              {"C2", "D", "Commune 2", "commune_committee"},
              {"X1", "C1", "Cell 1", "cell"},
              {"X2", "C1", "Cell 2", "cell"},
              {"X3", "C2", "Cell 3", "cell"},
              {"B1", "D", "Base cell", "cell"}});
}

text_table table(std::string source, std::vector<std::string> columns, std::vector<std::vector<std::string>> rows) {
  text_table t;
  t.source = std::move(source);
  t.columns = std::move(columns);
  for (auto& r : rows) t.add_row(std::move(r));
  return t;
}

text_table overrides(std::vector<std::vector<std::string>> rows) {
  return table("params", {"scope", "stage", "param", "value"}, std::move(rows));
}

text_table stocks(std::vector<std::vector<std::string>> rows) {
  return table("stocks", {"unit_id", "stage", "count", "months_in_stage"}, std::move(rows));
}

struct fixture {
  org o = small_org();
  pipeline p = pipeline::party();
  parameter_set ps = parameter_set::defaults(o, p);
  Eigen::Index source = 0, training = 1, probation = 2, full = 3;
  unit_index u(const char* id) const { return o.index(id); }
};

std::filesystem::path temp_file(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("memberflow_scenario_test_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("defaults give every unit the pipeline's stage values", "[scenario]") {
  fixture f;
  REQUIRE(f.ps.advance.rows() == 7);
  REQUIRE(f.ps.advance.cols() == 4);
  for (unit_index u = 0; u < 7; ++u) {
    CHECK(f.ps.advance(u, f.source) == 0.05);
    CHECK(f.ps.exit(u, f.training) == 0.02);
    CHECK(f.ps.pass_rate(u, f.probation) == 0.97);
    CHECK(f.ps.attrition(u, f.full) == 0.002);
    CHECK(f.ps.inflow(u) == 1.0);
    CHECK(f.ps.transfer_in(u) == 0.0);
    CHECK(f.ps.get(u, 2, param::pass_rate) == 0.97);
    CHECK(f.ps.get(u, 0, param::inflow) == 1.0);
  }
}

TEST_CASE("overrides resolve '*' < 'kind:<kind>' < unit id whatever the order of the rows", "[scenario]") {
  const std::vector<std::vector<std::string>> rows{{"*", "source", "advance", "0.1"},
                                                   {"kind:cell", "source", "advance", "0.2"},
                                                   {"X1", "source", "advance", "0.3"}};
  std::vector<int> order{0, 1, 2};
  int permutations = 0;
  do {
    fixture f;
    std::vector<std::vector<std::string>> shuffled;
    for (int i : order) shuffled.push_back(rows[i]);
    shuffled.push_back({"kind:commune_committee", "training", "exit", "0.05"});
    shuffled.push_back({"X2", "", "inflow", "3.5"});
    shuffled.push_back({"B1", "", "transfer_in", "0.25"});
    shuffled.push_back({"*", "probation", "pass_rate", "0.9"});
    INFO("row order " << order[0] << order[1] << order[2]);
    f.ps.apply(overrides(shuffled), f.o, f.p);
    CHECK(f.ps.advance(f.u("X1"), f.source) == 0.3);
    for (const char* cell : {"X2", "X3", "B1"}) CHECK(f.ps.advance(f.u(cell), f.source) == 0.2);
    for (const char* other : {"D", "C1", "C2"}) CHECK(f.ps.advance(f.u(other), f.source) == 0.1);
    for (const char* c : {"C1", "C2"}) CHECK(f.ps.exit(f.u(c), f.training) == 0.05);
    for (const char* c : {"D", "X1", "X2", "X3", "B1"}) CHECK(f.ps.exit(f.u(c), f.training) == 0.02);
    CHECK(f.ps.inflow(f.u("X2")) == 3.5);
    CHECK(f.ps.inflow(f.u("X1")) == 1.0);
    CHECK(f.ps.transfer_in(f.u("B1")) == 0.25);
    CHECK(f.ps.transfer_in(f.u("D")) == 0.0);
    for (unit_index u = 0; u < 7; ++u) {
      CHECK(f.ps.pass_rate(u, f.probation) == 0.9);
      CHECK(f.ps.advance(u, f.training) == 0.15);  // untouched
      CHECK(f.ps.attrition(u, f.full) == 0.002);
    }
    ++permutations;
  } while (std::next_permutation(order.begin(), order.end()));
  CHECK(permutations == 6);
}

TEST_CASE("to_table writes the most general scope that holds, and apply() turns it back into the same set",
          "[scenario]") {
  fixture f;
  f.ps.apply(overrides({{"kind:cell", "source", "advance", "0.2"},
                        {"C2", "probation", "exit", "0.01"},
                        {"X3", "", "inflow", "0.125"}}),
             f.o, f.p);
  const auto t = f.ps.to_table(f.o, f.p);
  // One kind row, not four unit rows; the units that differ alone get rows of their own.
  CHECK(t.rows == std::vector<std::vector<std::string>>{{"kind:cell", "source", "advance", "0.2"},
                                                        {"C2", "probation", "exit", "0.01"},
                                                        {"X3", "source", "inflow", "0.125"}});
  auto again = parameter_set::defaults(f.o, f.p);
  again.apply(t, f.o, f.p);
  CHECK((again.advance == f.ps.advance).all());
  CHECK((again.exit == f.ps.exit).all());
  CHECK((again.pass_rate == f.ps.pass_rate).all());
  CHECK((again.attrition == f.ps.attrition).all());
  CHECK((again.inflow == f.ps.inflow).all());
  CHECK((again.transfer_in == f.ps.transfer_in).all());
}

TEST_CASE("an override naming an unknown unit, kind, stage or parameter is refused naming the row", "[scenario]") {
  fixture f;
  REQUIRE_THROWS_AS_WITH(f.ps.apply(overrides({{"*", "source", "advance", "0.1"}, {"ZZ", "source", "exit", "0.1"}}),
                                    f.o, f.p),
                         unknown_id, mf_test::contains("params line 2: unknown unit 'ZZ' in column scope"));
  REQUIRE_THROWS_AS_WITH(f.ps.apply(overrides({{"kind:village", "source", "exit", "0.1"}}), f.o, f.p), unknown_id,
                         mf_test::contains("params line 1: no unit has kind 'village' (scope 'kind:village')"));
  REQUIRE_THROWS_AS_WITH(f.ps.apply(overrides({{"*", "novice", "exit", "0.1"}}), f.o, f.p), unknown_id,
                         mf_test::contains("params line 1: unknown stage 'novice'"));
  REQUIRE_THROWS_AS_WITH(f.ps.apply(overrides({{"*", "source", "speed", "0.1"}}), f.o, f.p), unknown_id,
                         mf_test::contains("params line 1: unknown parameter 'speed'"));
  // A subtree scope is replace()'s: a table's rows act by how specific their scope is.
  const auto before = f.ps.advance;
  REQUIRE_THROWS_AS_WITH(f.ps.apply(overrides({{"subtree:C2", "source", "advance", "0.1"}}), f.o, f.p), input_error,
                         mf_test::contains("params line 1: scope 'subtree:C2': a parameter table's scope is *, "
                                           "kind:<kind> or a unit id"));
  CHECK((f.ps.advance == before).all());
}

TEST_CASE("an override of a parameter the stage does not take is refused", "[scenario]") {
  fixture f;
  REQUIRE_THROWS_AS_WITH(f.ps.apply(overrides({{"*", "full", "advance", "0.1"}}), f.o, f.p), input_error,
                         mf_test::contains("params line 1: stage 'full' does not take parameter 'advance'"));
  REQUIRE_THROWS_AS_WITH(f.ps.apply(overrides({{"X1", "training", "inflow", "2"}}), f.o, f.p), input_error,
                         mf_test::contains("params line 1: stage 'training' does not take parameter 'inflow'"));
  REQUIRE_THROWS_AS_WITH(f.ps.apply(overrides({{"X1", "source", "pass_rate", "0.5"}}), f.o, f.p), input_error,
                         mf_test::contains("params line 1: stage 'source' does not take parameter 'pass_rate'"));
}

TEST_CASE("the same scope, stage and parameter twice is refused naming both lines", "[scenario]") {
  fixture f;
  const auto file = data("params_duplicate.csv");
  REQUIRE_THROWS_AS_WITH(f.ps.apply(read_csv(file), f.o, f.p), input_error,
                         mf_test::contains(file + " line 4: scope '*', stage 'source', param 'advance' is already set at " +
                                           file + " line 2"));
  // The same stage and parameter in different scopes is no duplicate.
  CHECK_NOTHROW(f.ps.apply(overrides({{"*", "source", "advance", "0.1"}, {"X1", "source", "advance", "0.2"}}), f.o,
                           f.p));
}

TEST_CASE("an override value that is no number or outside its domain is refused", "[scenario]") {
  fixture f;
  REQUIRE_THROWS_AS_WITH(f.ps.apply(read_csv(data("params_bad_value.csv")), f.o, f.p), input_error,
                         mf_test::contains("params_bad_value.csv line 3: column 'value' must be a finite number, "
                                           "got 'lots'"));
  REQUIRE_THROWS_AS_WITH(f.ps.apply(overrides({{"X1", "probation", "pass_rate", "1.2"}}), f.o, f.p),
                         parameter_error,
                         mf_test::contains("params line 1: scope 'X1', stage 'probation': pass_rate = 1.2 is "
                                           "outside [0, 1]"));
  REQUIRE_THROWS_AS_WITH(f.ps.apply(overrides({{"*", "", "inflow", "-2"}}), f.o, f.p), parameter_error,
                         mf_test::contains("inflow = -2 is outside [0, 1e9]"));
  REQUIRE_THROWS_AS_WITH(f.ps.apply(table("p", {"scope", "stage", "param"}, {}), f.o, f.p), input_error,
                         mf_test::contains("p: missing column 'value'"));
}

TEST_CASE("advance + exit above 1 after resolution is refused naming the unit and stage", "[scenario]") {
  fixture f;
  // Each row is in its domain; only X2 ends with 0.6 + 0.5.
  REQUIRE_THROWS_AS_WITH(f.ps.apply(overrides({{"X2", "source", "exit", "0.5"}, {"*", "source", "advance", "0.6"}}),
                                    f.o, f.p),
                         parameter_error,
                         mf_test::contains("unit 'X2', stage 'source': advance + exit = 0.6 + 0.5 = 1.1 > 1"));
  // The refused table left the set as it was.
  const auto defaults = parameter_set::defaults(f.o, f.p);
  CHECK((f.ps.advance == defaults.advance).all());
  CHECK((f.ps.exit == defaults.exit).all());
}

TEST_CASE("validate names the unit and stage of an invalid value set directly", "[scenario]") {
  fixture f;
  f.ps.set(f.u("X3"), 3, param::attrition, 1.5);
  REQUIRE_THROWS_AS_WITH(f.ps.validate(f.o, f.p), parameter_error,
                         mf_test::contains("unit 'X3', stage 'full': attrition = 1.5 is outside [0, 1]"));
  fixture g;
  g.ps.inflow.resize(3);
  REQUIRE_THROWS_AS_WITH(g.ps.validate(g.o, g.p), parameter_error,
                         mf_test::contains("arrival arrays must have one value per unit (7)"));
}

TEST_CASE("a stocks table fills the state slots, ages of a fixed stage included", "[scenario]") {
  fixture f;
  const auto s = stocks_from_table(stocks({{"C1", "source", "10", ""},
                                           {"X1", "probation", "3", "4"},
                                           {"X1", "probation", "2", "11"},
                                           {"X1", "full", "40", ""},
                                           {"X2", "training", "2", ""}}),
                                   f.o, f.p);
  REQUIRE(s.rows() == 7);
  REQUIRE(s.cols() == 15);
  CHECK(s.sum() == 57);
  CHECK(s(f.u("C1"), 0) == 10);
  CHECK(s(f.u("X1"), 2 + 4) == 3);
  CHECK(s(f.u("X1"), 2 + 11) == 2);
  CHECK(s(f.u("X1"), 14) == 40);
  CHECK(s(f.u("X2"), 1) == 2);
  // Round trip through the table form.
  const auto back = stocks_from_table(stocks_to_table(s, f.o, f.p), f.o, f.p);
  CHECK((back == s).all());
  // A table without the months_in_stage column is fine for markov and terminal stages.
  const auto plain = stocks_from_table(table("s", {"unit_id", "stage", "count"}, {{"B1", "full", "7"}}), f.o, f.p);
  CHECK(plain(f.u("B1"), 14) == 7);
}

TEST_CASE("a stocks row is refused when months_in_stage is missing, misplaced or out of range", "[scenario]") {
  fixture f;
  REQUIRE_THROWS_AS_WITH(stocks_from_table(read_csv(data("stocks_missing_age.csv")), f.o, f.p), input_error,
                         mf_test::contains("stocks_missing_age.csv line 3: stage 'probation' lasts 12 months, so "
                                           "months_in_stage (0..11) is required"));
  REQUIRE_THROWS_AS_WITH(stocks_from_table(stocks({{"C1", "source", "10", "0"}}), f.o, f.p), input_error,
                         mf_test::contains("stocks line 1: months_in_stage is given, but stage 'source' is not a "
                                           "fixed-duration stage"));
  REQUIRE_THROWS_AS_WITH(stocks_from_table(stocks({{"C1", "probation", "1", "12"}}), f.o, f.p), input_error,
                         mf_test::contains("stocks line 1: months_in_stage = 12 but stage 'probation' lasts 12 "
                                           "months (ages 0..11)"));
  REQUIRE_THROWS_AS_WITH(stocks_from_table(stocks({{"C1", "probation", "1", "-1"}}), f.o, f.p), input_error,
                         mf_test::contains("stocks line 1: column 'months_in_stage' must be >= 0, got -1"));
}

TEST_CASE("a stocks row that repeats a slot or has a bad count, unit or stage is refused", "[scenario]") {
  fixture f;
  REQUIRE_THROWS_AS_WITH(stocks_from_table(stocks({{"X1", "probation", "3", "4"},
                                                   {"X1", "probation", "1", "5"},
                                                   {"X1", "probation", "2", "4"}}),
                                           f.o, f.p),
                         input_error,
                         mf_test::contains("stocks line 3: unit 'X1', stage 'probation', months_in_stage 4 is already "
                                           "given at stocks line 1"));
  REQUIRE_THROWS_AS_WITH(stocks_from_table(stocks({{"X1", "full", "3", ""}, {"X1", "full", "4", ""}}), f.o, f.p),
                         input_error,
                         mf_test::contains("stocks line 2: unit 'X1', stage 'full' is already given at stocks line 1"));
  REQUIRE_THROWS_AS_WITH(stocks_from_table(stocks({{"X1", "full", "-2", ""}}), f.o, f.p), input_error,
                         mf_test::contains("stocks line 1: column 'count' must be >= 0, got -2"));
  REQUIRE_THROWS_AS_WITH(stocks_from_table(stocks({{"X1", "full", "9007199254740993", ""}}), f.o, f.p), input_error,
                         mf_test::contains("stocks line 1: column 'count' must be an integer of at most 2^53"));
  CHECK(stocks_from_table(stocks({{"X1", "full", "9007199254740992", ""}}), f.o, f.p)(f.u("X1"), 14) ==
        9007199254740992.0);
  REQUIRE_THROWS_AS_WITH(stocks_from_table(read_csv(data("stocks_fractional.csv")), f.o, f.p), input_error,
                         mf_test::contains("stocks_fractional.csv line 3: column 'count' must be an integer, got '2.5'"));
  REQUIRE_THROWS_AS_WITH(stocks_from_table(stocks({{"ZZ", "full", "1", ""}}), f.o, f.p), unknown_id,
                         mf_test::contains("stocks line 1: unknown unit 'ZZ'"));
  REQUIRE_THROWS_AS_WITH(stocks_from_table(stocks({{"X1", "novice", "1", ""}}), f.o, f.p), unknown_id,
                         mf_test::contains("stocks line 1: unknown stage 'novice'"));
}

TEST_CASE("a targets table sets per-node targets and leaves the rest NaN", "[scenario]") {
  fixture f;
  const auto t = targets_from_table(table("targets", {"unit_id", "target"}, {{"D", "20"}, {"C1", "5.5"}}), f.o);
  REQUIRE(t.size() == 7);
  CHECK(t(f.u("D")) == 20);
  CHECK(t(f.u("C1")) == 5.5);
  for (const char* id : {"C2", "X1", "X2", "X3", "B1"}) CHECK(std::isnan(t(f.u(id))));
  const auto back = targets_from_table(targets_to_table(t, f.o), f.o);
  CHECK(back(f.u("D")) == 20);
  CHECK(back(f.u("C1")) == 5.5);
  CHECK(std::isnan(back(f.u("X1"))));
}

TEST_CASE("a targets row that repeats a unit or has a bad value or unit is refused", "[scenario]") {
  fixture f;
  const auto file = data("targets_duplicate.csv");
  REQUIRE_THROWS_AS_WITH(targets_from_table(read_csv(file), f.o), input_error,
                         mf_test::contains(file + " line 4: unit 'D' has a target already"));
  REQUIRE_THROWS_AS_WITH(targets_from_table(table("t", {"unit_id", "target"}, {{"D", "-1"}}), f.o), input_error,
                         mf_test::contains("t line 1: target must be >= 0"));
  REQUIRE_THROWS_AS_WITH(targets_from_table(table("t", {"unit_id", "target"}, {{"D", "many"}}), f.o), input_error,
                         mf_test::contains("t line 1: column 'target' must be a finite number, got 'many'"));
  REQUIRE_THROWS_AS_WITH(targets_from_table(table("t", {"unit_id", "target"}, {{"Q", "1"}}), f.o), unknown_id,
                         mf_test::contains("t line 1: unknown unit 'Q'"));
}

TEST_CASE("a scenario starts empty and validate refuses fractional or negative stocks and bad targets",
          "[scenario]") {
  auto o = std::make_shared<const org>(small_org());
  auto p = std::make_shared<const pipeline>(pipeline::party());
  scenario sc(o, p);
  CHECK(sc.stocks.rows() == 7);
  CHECK(sc.stocks.cols() == 15);
  CHECK((sc.stocks == 0).all());
  CHECK(sc.targets.isNaN().all());
  CHECK_NOTHROW(sc.validate());
  sc.stocks(o->index("X1"), 2 + 3) = 2.5;
  REQUIRE_THROWS_AS_WITH(sc.validate(), input_error,
                         mf_test::contains("unit 'X1', stage 'probation': the stock must be a whole number from 0 to "
                                           "2^53, got 2.5"));
  sc.stocks(o->index("X1"), 2 + 3) = -1;
  REQUIRE_THROWS_AS_WITH(sc.validate(), input_error, mf_test::contains("got -1"));
  sc.stocks(o->index("X1"), 2 + 3) = 9223372036854775807.0;  // whole, but not every count near it is a double
  REQUIRE_THROWS_AS_WITH(sc.validate(), input_error, mf_test::contains("from 0 to 2^53, got 9223372036854775808"));
  sc.stocks(o->index("X1"), 2 + 3) = 1;
  sc.targets(o->index("C2")) = -4;
  REQUIRE_THROWS_AS_WITH(sc.validate(), input_error, mf_test::contains("unit 'C2': the target must be a number >= 0"));
  sc.targets(o->index("C2")) = 4;
  sc.stocks.resize(7, 14);
  REQUIRE_THROWS_AS_WITH(sc.validate(), input_error, mf_test::contains("stocks must be units x state slots = 7 x 15"));
  REQUIRE_THROWS_AS_WITH(scenario(nullptr, p), input_error, mf_test::contains("needs an organisation and a pipeline"));
}

TEST_CASE("read_scenario reads units, overrides, stocks and targets from files", "[scenario]") {
  const auto units = temp_file("units.csv", "unit_id,parent_id,name,kind\nD,,District,district\nA,D,A,cell\n");
  const auto params = temp_file("params.csv", "scope,stage,param,value\nkind:cell,,inflow,2.5\n");
  const auto stock = temp_file("stocks.csv", "unit_id,stage,count,months_in_stage\nA,probation,4,7\n");
  const auto targets = temp_file("targets.csv", "unit_id,target\nD,12\n");
  const auto sc = read_scenario(units.string(), pipeline::party(), params.string(), stock.string(), targets.string());
  const auto empty = read_scenario(units.string(), pipeline::party(), "", "", "");
  const auto bad = temp_file("bad_params.csv", "scope,stage,param,value\nkind:cell,,inflow,x\n");
  CHECK_THROWS_AS(read_scenario(units.string(), pipeline::party(), bad.string(), "", ""), input_error);
  for (const auto& path : {units, params, stock, targets, bad}) std::filesystem::remove(path);
  const auto a = sc.units().index("A");
  CHECK(sc.params.inflow(a) == 2.5);
  CHECK(sc.params.inflow(sc.units().root()) == 1.0);
  CHECK(sc.stocks(a, 2 + 7) == 4);
  CHECK(sc.stocks.sum() == 4);
  CHECK(sc.targets(sc.units().root()) == 12);
  CHECK(std::isnan(sc.targets(a)));
  CHECK(empty.stocks.sum() == 0);
  CHECK(empty.targets.isNaN().all());
}

TEST_CASE("arrival rates above a billion people a month are refused, naming the row", "[scenario]") {
  fixture f;
  REQUIRE_THROWS_AS_WITH(f.ps.apply(overrides({{"X1", "", "inflow", "1e300"}}), f.o, f.p), parameter_error,
                         mf_test::contains("params line 1: scope 'X1', stage 'source': inflow = 1e+300 is outside "
                                           "[0, 1e9] (people per month)"));
  CHECK_NOTHROW(f.ps.apply(overrides({{"X1", "", "inflow", "1e9"}}), f.o, f.p));
  f.ps.transfer_in(f.u("B1")) = 9.2e18;  // set in memory: validate() catches it
  REQUIRE_THROWS_AS(f.ps.validate(f.o, f.p), parameter_error);
}
