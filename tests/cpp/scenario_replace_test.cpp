// What-ifs (replace.hpp): each scope and change against the same scenario built by hand,
// the original untouched, refusals naming the change, shared parts, provenance, and a
// round trip through a scenario directory.
#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <unistd.h>

#include "catch.hpp"
#include "memberflow/datasets.hpp"
#include "memberflow/expected.hpp"
#include "memberflow/replace.hpp"
#include "memberflow/scenario_io.hpp"

using namespace memberflow;

namespace {

// Exact equality, NaN equal to NaN (targets).
bool same(const Eigen::ArrayXXd& a, const Eigen::ArrayXXd& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (Eigen::Index i = 0; i < a.size(); ++i) {
    const double x = a.data()[i], y = b.data()[i];
    if (!(x == y || (std::isnan(x) && std::isnan(y)))) return false;
  }
  return true;
}

bool same_values(const scenario& a, const scenario& b) {
  return same(a.params.advance, b.params.advance) && same(a.params.exit, b.params.exit) &&
         same(a.params.pass_rate, b.params.pass_rate) && same(a.params.attrition, b.params.attrition) &&
         same(a.params.inflow, b.params.inflow) && same(a.params.transfer_in, b.params.transfer_in) &&
         same(a.stocks, b.stocks) && same(a.targets, b.targets);
}

bool same_forecast(const scenario& a, const scenario& b, int horizon = 12) {
  const auto fa = forecast_expected(a, horizon);
  const auto fb = forecast_expected(b, horizon);
  for (const auto& q : fa.quantities())
    if (!same(fa.own(q), fb.own(q))) return false;
  return true;
}

// The units of a scope, found independently of units_in_scope.
std::vector<unit_index> by_hand(const org& o, const std::function<bool(unit_index)>& in) {
  std::vector<unit_index> out;
  for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u)
    if (in(u)) out.push_back(u);
  return out;
}

const scenario& base() {
  static const scenario s = [] {
    auto sc = datasets::example_district();
    sc.validate();
    return sc;
  }();
  return s;
}

template <class E>
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "(nothing thrown)";
}

}  // namespace

TEST_CASE("replace: scopes name the units they should", "[replace]") {
  const auto& o = base().units();
  CHECK(units_in_scope(o, "*").size() == o.size());
  CHECK(units_in_scope(o, "C01-03") == std::vector<unit_index>{o.index("C01-03")});
  CHECK(units_in_scope(o, "kind:sub_cell") == by_hand(o, [&](unit_index u) { return o.kind(u) == "sub_cell"; }));
  CHECK(units_in_scope(o, "subtree:C01") ==
        by_hand(o, [&](unit_index u) { return o.is_ancestor_or_self(o.index("C01"), u); }));
  CHECK(units_in_scope(o, "subtree:C01").size() > 2);
}

TEST_CASE("replace: a parameter set or scaled for each scope equals the scenario set by hand", "[replace]") {
  const auto& o = base().units();
  const auto& p = base().model();
  const auto training = p.index("training");
  struct scope_case {
    std::string scope;
    std::function<bool(unit_index)> in;
  };
  const std::vector<scope_case> scopes{
      {"*", [](unit_index) { return true; }},
      {"kind:sub_cell", [&](unit_index u) { return o.kind(u) == "sub_cell"; }},
      {"subtree:C01", [&](unit_index u) { return o.is_ancestor_or_self(o.index("C01"), u); }},
      {"C01-03", [&](unit_index u) { return u == o.index("C01-03"); }}};
  for (const auto& sc : scopes) {
    DYNAMIC_SECTION("set advance, scope " << sc.scope) {
      const auto what_if = replace(base(), change{sc.scope, "training", "advance", change_op::set, 0.2});
      auto hand = base();
      for (auto u : by_hand(o, sc.in)) hand.params.advance(u, static_cast<Eigen::Index>(training)) = 0.2;
      CHECK(same_values(what_if, hand));
      CHECK(same_forecast(what_if, hand));
      CHECK_FALSE(same_forecast(what_if, base()));
    }
    DYNAMIC_SECTION("scale exit, scope " << sc.scope) {
      const auto what_if = replace(base(), change{sc.scope, "training", "exit", change_op::scale, 1.5});
      auto hand = base();
      for (auto u : by_hand(o, sc.in)) hand.params.exit(u, static_cast<Eigen::Index>(training)) *= 1.5;
      CHECK(same_values(what_if, hand));
      CHECK(same_forecast(what_if, hand));
    }
    DYNAMIC_SECTION("arrivals, scope " << sc.scope) {
      const auto what_if = replace(base(), {{sc.scope, "", "inflow", change_op::set, 0.75},
                                            {sc.scope, "", "transfer_in", change_op::set, 0.25}});
      auto hand = base();
      for (auto u : by_hand(o, sc.in)) hand.params.inflow(u) = 0.75, hand.params.transfer_in(u) = 0.25;
      CHECK(same_values(what_if, hand));
      CHECK(same_forecast(what_if, hand));
    }
  }
}

TEST_CASE("replace: a set equals the same override applied as a parameter table", "[replace]") {
  for (const std::string scope : {"*", "kind:sub_cell", "C01-03"}) {
    text_table t;
    t.source = "params";
    t.columns = {"scope", "stage", "param", "value"};
    t.add_row({scope, "probation", "pass_rate", "0.9"});
    auto by_table = base();
    by_table.params.apply(t, by_table.units(), by_table.model());
    const auto what_if = replace(base(), change{scope, "probation", "pass_rate", change_op::set, 0.9});
    CHECK(same_values(what_if, by_table));
    CHECK(same_forecast(what_if, by_table));
  }
}

TEST_CASE("replace: stocks set, added and scaled", "[replace]") {
  const auto& o = base().units();
  const auto& p = base().model();
  const auto src = static_cast<Eigen::Index>(p.offset(p.index("source")));
  const auto prob = static_cast<Eigen::Index>(p.offset(p.index("probation")));
  const auto width = static_cast<Eigen::Index>(p.width(p.index("probation")));
  const auto c0103 = o.index("C01-03");
  auto subtree = units_in_scope(o, "subtree:C02");

  const auto what_if = replace(base(), {{"C01-03", "source", "stock", change_op::set, 7},
                                        {"subtree:C02", "source", "stock", change_op::add, 3},
                                        {"kind:sub_cell", "probation", "stock", change_op::add, 2, 4},
                                        {"*", "probation", "stock", change_op::scale, 1.5}});
  auto hand = base();
  hand.stocks(c0103, src) = 7;
  for (auto u : subtree) hand.stocks(u, src) += 3;
  for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u) {
    if (o.kind(u) == "sub_cell") hand.stocks(u, prob + 4) += 2;
    for (Eigen::Index a = 0; a < width; ++a) hand.stocks(u, prob + a) = std::nearbyint(hand.stocks(u, prob + a) * 1.5);
  }
  CHECK(same_values(what_if, hand));
  CHECK(same_forecast(what_if, hand));
  CHECK_NOTHROW(what_if.validate());
  // Halves round to even: 1 x 1.5 = 1.5 -> 2, 3 x 1.5 = 4.5 -> 4.
  auto odd = base();
  odd.stocks(c0103, src) = 3;
  CHECK(replace(odd, change{"C01-03", "source", "stock", change_op::scale, 1.5}).stocks(c0103, src) == 4);
  // A scale of one fixed-stage slot leaves the others.
  const auto one_slot = replace(base(), change{"*", "probation", "stock", change_op::scale, 0, 0});
  CHECK((one_slot.stocks.col(prob) == 0).all());
  CHECK(same(one_slot.stocks.middleCols(prob + 1, width - 1), base().stocks.middleCols(prob + 1, width - 1)));
}

TEST_CASE("replace: targets set, scaled and added", "[replace]") {
  const auto& o = base().units();
  const auto d = o.index("D");
  REQUIRE(base().targets(d) == 160);
  const auto what_if = replace(base(), {{"D", "", "target", change_op::set, 180},
                                        {"kind:commune_committee", "", "target", change_op::scale, 2},
                                        {"C01", "", "target", change_op::add, 1}});
  auto hand = base();
  hand.targets(d) = 180;
  for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u)
    if (o.kind(u) == "commune_committee") hand.targets(u) *= 2;
  hand.targets(o.index("C01")) += 1;
  CHECK(same_values(what_if, hand));
  // NaN removes a target; scale leaves units without one without one.
  const auto none = replace(base(), change{"D", "", "target", change_op::set, std::nan("")});
  CHECK(std::isnan(none.targets(d)));
  const auto sub = units_in_scope(o, "subtree:C01");
  const auto scaled = replace(base(), change{"subtree:C01", "", "target", change_op::scale, 3});
  for (auto u : sub) CHECK((std::isnan(base().targets(u)) ? std::isnan(scaled.targets(u)) : scaled.targets(u) == 3 * base().targets(u)));
}

TEST_CASE("replace: the original is unchanged and the copy shares the organisation and pipeline", "[replace]") {
  const auto before = base();
  const auto what_if = replace(base(), {{"*", "training", "advance", change_op::scale, 1.1},
                                        {"*", "source", "stock", change_op::add, 1},
                                        {"D", "", "target", change_op::set, 200}});
  CHECK(same_values(base(), before));
  CHECK(base().params.replaced.empty());
  CHECK(what_if.organisation.get() == base().organisation.get());
  CHECK(what_if.stages.get() == base().stages.get());
  CHECK_FALSE(same_values(what_if, base()));
}

TEST_CASE("replace: explain says which change set a value", "[replace]") {
  const auto what_if = replace(base(), {{"kind:sub_cell", "training", "advance", change_op::scale, 1.1},
                                        {"C01-03", "", "inflow", change_op::set, 2}});
  const auto& o = base().units();
  const auto t = what_if.params.explain(o, what_if.model(), {o.index("C01-03"), o.index("C01")});
  const auto c_stage = t.require_column("stage"), c_param = t.require_column("param"),
             c_source = t.require_column("source"), c_unit = t.require_column("unit_id"),
             c_scope = t.require_column("scope"), c_value = t.require_column("value");
  int seen = 0;
  for (const auto& row : t.rows) {
    if (row[c_unit] == "C01-03" && row[c_stage] == "training" && row[c_param] == "advance") {
      ++seen;
      CHECK(row[c_source] == "set by replace: scale advance of stage 'training' by 1.1 for kind 'sub_cell'");
      CHECK(row[c_scope] == "kind:sub_cell");
      CHECK(std::stod(row[c_value]) == what_if.params.advance(o.index("C01-03"), 1));
    }
    if (row[c_unit] == "C01-03" && row[c_param] == "inflow") {
      ++seen;
      CHECK(row[c_source] == "set by replace: set inflow to 2 for unit 'C01-03'");
    }
    if (row[c_unit] == "C01") CHECK(row[c_source].find("replace") == std::string::npos);  // a commune committee
  }
  CHECK(seen == 2);
}

TEST_CASE("replace: refusals name the change and leave the original unchanged", "[replace]") {
  const auto before = base();
  auto msg_param = message_of<parameter_error>([] {
    replace(base(), {{"*", "training", "exit", change_op::set, 0.05},
                     {"C01-03", "training", "advance", change_op::set, 0.99}});
  });
  CHECK_THAT(msg_param, mf_test::contains("unit 'C01-03', stage 'training': advance + exit"));
  CHECK_THAT(msg_param, mf_test::contains(
                            "advance set by replace, change 2 of 2 (set advance of stage 'training' to 0.99 for unit 'C01-03')"));
  CHECK_THAT(msg_param, mf_test::contains("exit set by replace, change 1 of 2"));
  CHECK_THAT(message_of<parameter_error>(
                 [] { replace(base(), change{"*", "probation", "pass_rate", change_op::scale, 2}); }),
             mf_test::contains("replace, change 1 of 1 (scale pass_rate of stage 'probation' by 2 for every unit)"));
  CHECK_THAT(message_of<input_error>([] {
               replace(base(), {{"*", "source", "stock", change_op::add, 1},
                                {"C01-03", "source", "stock", change_op::add, -1000000}});
             }),
             mf_test::contains("replace, change 2 of 2 (add -1000000 to the stock of stage 'source' for unit "
                                       "'C01-03'): unit 'C01-03', stage 'source': the stock would be"));
  CHECK_THAT(message_of<input_error>([] { replace(base(), change{"*", "full", "advance", change_op::set, 0.1}); }),
             mf_test::contains("stage 'full' does not take parameter 'advance'"));
  CHECK_THAT(message_of<unknown_id>([] { replace(base(), change{"nowhere", "training", "advance", change_op::set, 0.1}); }),
             mf_test::contains("change 1 of 1 (set advance of stage 'training' to 0.1 for unit 'nowhere'): unknown unit 'nowhere'"));
  CHECK_THAT(message_of<unknown_id>([] { replace(base(), change{"kind:villa", "training", "advance", change_op::set, 0.1}); }),
             mf_test::contains("no unit has kind 'villa'"));
  CHECK_THAT(message_of<unknown_id>([] { replace(base(), change{"subtree:Q", "training", "advance", change_op::set, 0.1}); }),
             mf_test::contains("unknown unit 'Q' (scope 'subtree:Q')"));
  CHECK_THAT(message_of<unknown_id>([] { replace(base(), change{"*", "schooling", "advance", change_op::set, 0.1}); }),
             mf_test::contains("schooling"));
  CHECK_THAT(message_of<unknown_id>([] { replace(base(), change{"*", "training", "speed", change_op::set, 0.1}); }),
             mf_test::contains("unknown quantity 'speed'"));
  CHECK_THAT(message_of<input_error>([] { replace(base(), change{"*", "probation", "stock", change_op::set, 1}); }),
             mf_test::contains("say which month_in_stage (0..11)"));
  CHECK_THAT(message_of<input_error>([] { replace(base(), change{"*", "training", "advance", change_op::add, 0.1}); }),
             mf_test::contains("set or scale a parameter"));
  CHECK_THAT(message_of<input_error>([] { replace(base(), change{"*", "source", "stock", change_op::set, 1.5}); }),
             mf_test::contains("whole number"));
  CHECK_THAT(message_of<input_error>([] { replace(base(), change{"D", "", "target", change_op::set, -1}); }),
             mf_test::contains("a target must be a number >= 0"));
  CHECK(same_values(base(), before));
}

TEST_CASE("replace: a replaced scenario reads back from its directory to the same forecast", "[replace]") {
  namespace fs = std::filesystem;
  const auto dir = fs::temp_directory_path() / ("memberflow_replace_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const auto what_if = replace(base(), {{"kind:sub_cell", "training", "advance", change_op::scale, 1.1},
                                        {"subtree:C01", "", "inflow", change_op::set, 0.3},
                                        {"C02", "probation", "stock", change_op::add, 2, 0},
                                        {"D", "", "target", change_op::set, 170}});
  write_scenario(what_if, dir.string());
  const auto back = read_scenario(dir.string());
  CHECK(same_values(back, what_if));
  CHECK(same_forecast(back, what_if, 24));
  fs::remove_all(dir);
}
