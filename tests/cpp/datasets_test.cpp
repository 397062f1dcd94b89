// Ready-made scenarios: the example district (shape, targets, overseers, calibration) and
// synthetic organisations (reproducible, level sizes, steady-state stocks).
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "catch.hpp"
#include "memberflow/apportion.hpp"
#include "memberflow/datasets.hpp"
#include "memberflow/expected.hpp"

using namespace memberflow;

namespace {

// Full members in each unit's subtree, by walking every unit's parent chain.
std::vector<double> subtree_members(const scenario& sc) {
  const auto& o = sc.units();
  const auto full = static_cast<Eigen::Index>(sc.model().offset(sc.model().terminal()));
  std::vector<double> total(o.size(), 0);
  for (unit_index v = 0; v < static_cast<unit_index>(o.size()); ++v)
    for (unit_index u = v; u != no_unit; u = o.parent(u)) total[u] += sc.stocks(v, full);
  return total;
}

bool is_rural(const org& o, unit_index u) {
  const auto& v = o.attribute("rural").values[u];
  return std::holds_alternative<bool>(v) && std::get<bool>(v);
}

int depth_by_walk(const org& o, unit_index u) {
  int d = 0;
  for (auto p = o.parent(u); p != no_unit; p = o.parent(p)) ++d;
  return d;
}

}  // namespace

TEST_CASE("the example district has 48 base organisations and 218 sub-cells under its 17 committees",
          "[datasets]") {
  const auto sc = datasets::example_district();
  const auto& o = sc.units();
  CHECK(o.kind(o.root()) == "district");
  std::map<std::string, int> base_kinds;
  std::set<unit_index> bases, committees;
  for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u)
    if (o.parent(u) == o.root()) {
      bases.insert(u);
      ++base_kinds[o.kind(u)];
      if (o.kind(u) != "cell") committees.insert(u);
    }
  CHECK(bases.size() == 48);
  CHECK(base_kinds == std::map<std::string, int>{{"agency_committee", 4}, {"cell", 31}, {"commune_committee", 13}});
  int sub_cells = 0;
  std::map<unit_index, int> under;
  for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u) {
    if (u == o.root() || bases.count(u)) continue;
    INFO("unit " << o.id(u));
    CHECK(o.kind(u) == "sub_cell");
    CHECK(committees.count(o.parent(u)) == 1);  // never under a cell, never deeper
    ++sub_cells;
    ++under[o.parent(u)];
  }
  CHECK(sub_cells == 218);
  CHECK(under.size() == 17);  // every committee has sub-cells
  CHECK(o.size() == 1 + 48 + 218);
  CHECK(o.attribute("rural").type == attribute_type::boolean);
}

TEST_CASE("the example district has over 6000 full members and whole, valid stocks", "[datasets]") {
  const auto sc = datasets::example_district();
  CHECK_NOTHROW(sc.validate());
  const auto members = subtree_members(sc);
  CHECK(members[sc.units().root()] > 6000);
  CHECK(members[sc.units().root()] < 7000);  // "about 6,000"
  CHECK((sc.stocks == sc.stocks.floor()).all());
  CHECK((sc.stocks >= 0).all());
  // Somebody in every stage.
  for (std::size_t s = 0; s < sc.model().size(); ++s) {
    INFO(sc.model().stages()[s].name);
    CHECK(sc.stocks.middleCols(static_cast<Eigen::Index>(sc.model().offset(s)),
                               static_cast<Eigen::Index>(sc.model().width(s)))
              .sum() > 0);
  }
}

TEST_CASE("the 2021 target of 160 is set at the district and split over the 48 base organisations by members",
          "[datasets]") {
  const auto sc = datasets::example_district();
  const auto& o = sc.units();
  CHECK(sc.targets(o.root()) == 160);
  const auto members = subtree_members(sc);
  double base_members = 0;
  for (auto b : o.children(o.root())) base_members += members[b];
  double sum = 0;
  int with_target = 0;
  for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u) {
    if (std::isnan(sc.targets(u))) continue;
    ++with_target;
    if (u == o.root()) continue;
    INFO("unit " << o.id(u));
    REQUIRE(o.parent(u) == o.root());
    CHECK(sc.targets(u) == std::floor(sc.targets(u)));
    CHECK(std::abs(sc.targets(u) - 160 * members[u] / base_members) < 1);  // within one of the quota
    sum += sc.targets(u);
  }
  CHECK(with_target == 49);
  CHECK(sum == 160);
}

TEST_CASE("seven overseers cover all 48 base organisations and nothing else", "[datasets]") {
  const auto sc = datasets::example_district();
  const auto& o = sc.units();
  CHECK(o.overseers().size() == 7);
  std::multiset<unit_index> covered;
  for (const auto& ov : o.overseers()) {
    CHECK_FALSE(ov.units.empty());
    covered.insert(ov.units.begin(), ov.units.end());
  }
  const auto bases = o.children(o.root());
  CHECK(std::set<unit_index>(covered.begin(), covered.end()) == std::set<unit_index>(bases.begin(), bases.end()));
  CHECK(covered.size() == 48);  // each base organisation has one overseer
}

TEST_CASE("the example district of 2020 forecasts the article's 89 admissions and 141 confirmations",
          "[datasets]") {
  const auto sc = datasets::example_district(2020);
  const auto fc = forecast_expected(sc, 12);
  const auto root = sc.units().root();
  const double admissions = fc.total("admissions", {0, 12})(root);
  const double confirmations = fc.total("confirmations", {0, 12})(root);
  INFO("admissions " << admissions << ", confirmations " << confirmations);
  CHECK(std::abs(admissions - 89) <= 0.02 * 89);
  CHECK(std::abs(confirmations - 141) <= 0.02 * 141);
  CHECK(datasets::example_admissions_2020 == 89);
  CHECK(datasets::example_confirmations_2020 == 141);
  CHECK(datasets::example_target_2021 == 160);
  CHECK(std::isnan(sc.targets(root)));  // targets are for 2021
}

TEST_CASE("the example district of 2021 is the 2020 state one expected year on, rounded to whole people",
          "[datasets]") {
  const auto before = datasets::example_district(2020);
  const auto after = datasets::example_district(2021);
  const auto fc = forecast_expected(before, 12);
  const auto& p = after.model();
  for (std::size_t s = 0; s < p.size(); ++s) {
    const auto& name = p.stages()[s].name;
    INFO(name);
    const Eigen::ArrayXd per_unit = after.stocks.middleCols(static_cast<Eigen::Index>(p.offset(s)),
                                                            static_cast<Eigen::Index>(p.width(s)))
                                        .rowwise()
                                        .sum();
    CHECK(std::abs(per_unit.sum() - fc.stock(name, 12)(before.units().root())) <= 0.5 + 1e-9);
    CHECK(((per_unit - fc.own(name).col(12)).abs() <= 1 + 1e-9).all());
  }
}

TEST_CASE("rural units have a thinner source and slower training than the others", "[datasets]") {
  const auto sc = datasets::example_district();
  const auto& o = sc.units();
  const auto training = static_cast<Eigen::Index>(sc.model().index("training"));
  double max_rural = 0, min_other = 1e300;
  int rural_leaves = 0, other_leaves = 0;
  for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u) {
    if (!o.children(u).empty()) continue;  // people arrive in the leaves
    INFO("unit " << o.id(u));
    CHECK(sc.params.inflow(u) > 0);
    if (is_rural(o, u)) {
      ++rural_leaves;
      max_rural = std::max(max_rural, sc.params.inflow(u));
      CHECK(sc.params.advance(u, training) == 0.10);
    } else {
      ++other_leaves;
      min_other = std::min(min_other, sc.params.inflow(u));
      CHECK(sc.params.advance(u, training) == 0.15);
    }
  }
  CHECK(rural_leaves > 50);
  CHECK(other_leaves > 50);
  CHECK(max_rural < min_other);
}

TEST_CASE("example_district refuses a year other than 2020 or 2021", "[datasets]") {
  REQUIRE_THROWS_AS_WITH(datasets::example_district(2019), input_error,
                         mf_test::contains("example_district: year must be 2020 (the calibration year) or 2021, got 2019"));
}

TEST_CASE("synthetic() is reproducible from its seed and differs between seeds", "[datasets]") {
  datasets::synthetic_options opt;
  opt.fanout = {3, 4.6, 2.5};
  opt.kinds = {"nation", "province", "district", "cell"};
  opt.seed = 5;
  const auto a = datasets::synthetic(opt);
  const auto b = datasets::synthetic(opt);
  REQUIRE(a.units().ids() == b.units().ids());
  CHECK(std::vector<int>(a.units().parents().begin(), a.units().parents().end()) ==
        std::vector<int>(b.units().parents().begin(), b.units().parents().end()));
  CHECK((a.stocks == b.stocks).all());
  CHECK((a.params.inflow == b.params.inflow).all());
  CHECK(a.units().attribute("rural").values == b.units().attribute("rural").values);
  opt.seed = 6;
  const auto c = datasets::synthetic(opt);
  REQUIRE(c.stocks.rows() == a.stocks.rows());  // level sizes depend on the fanout only
  CHECK((c.stocks != a.stocks).any());
  CHECK((c.params.inflow != a.params.inflow).any());
}

TEST_CASE("synthetic() builds levels of round(parents x fanout) units, each parent with a child", "[datasets]") {
  for (const std::vector<double>& fanout :
       {std::vector<double>{3, 4.6, 2.5}, std::vector<double>{40, 8, 5}, std::vector<double>{1, 1.5}}) {
    datasets::synthetic_options opt;
    opt.fanout = fanout;
    opt.kinds = {"top"};
    for (std::size_t l = 0; l < fanout.size(); ++l) opt.kinds.push_back("level" + std::to_string(l + 1));
    opt.seed = 11;
    const auto sc = datasets::synthetic(opt);
    const auto& o = sc.units();
    std::vector<long> per_level(fanout.size() + 1, 0);
    for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u) {
      const int d = depth_by_walk(o, u);
      REQUIRE(d <= static_cast<int>(fanout.size()));
      ++per_level[d];
      CHECK(o.kind(u) == opt.kinds[d]);
      if (d < static_cast<int>(fanout.size())) CHECK_FALSE(o.children(u).empty());
    }
    CHECK(per_level[0] == 1);
    for (std::size_t l = 0; l < fanout.size(); ++l) {
      INFO("level " << l + 1 << ", fanout " << fanout[l]);
      const double wanted = static_cast<double>(per_level[l]) * fanout[l];
      CHECK(std::abs(static_cast<double>(per_level[l + 1]) - wanted) <= 0.5);
    }
  }
}

TEST_CASE("synthetic() stocks sit at the closed-form steady state of each leaf's inflow", "[datasets]") {
  datasets::synthetic_options opt;
  opt.fanout = {40, 8, 5};
  opt.kinds = {"nation", "province", "district", "cell"};
  opt.seed = 3;
  const auto sc = datasets::synthetic(opt);
  CHECK_NOTHROW(sc.validate());
  const auto& o = sc.units();
  const auto& p = sc.model();
  const int D = p.stages()[2].months;
  // Per leaf: source 1/(a0+e0), training h1/(a1+e1), probation age k h2 (1-e)^k, per unit of
  // inflow. Rounding is floor(x + U): mean x, variance frac(x)(1 - frac(x)).
  double expect[3] = {0, 0, 0}, variance[3] = {0, 0, 0}, got[3] = {0, 0, 0};
  auto add = [&](int s, double x) {
    expect[s] += x;
    const double f = x - std::floor(x);
    variance[s] += f * (1 - f);
  };
  double members = 0, members_sq = 0;
  long leaves = 0, rural = 0, non_rural_parents = 0, rural_parents = 0;
  for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u) {
    for (int s = 0; s < 3; ++s)
      got[s] += sc.stocks.row(u).segment(static_cast<Eigen::Index>(p.offset(s)),
                                         static_cast<Eigen::Index>(p.width(s))).sum();
    if (!o.children(u).empty()) {
      CHECK(sc.params.inflow(u) == 0);
      if (depth_by_walk(o, u) == 2) ++(is_rural(o, u) ? rural_parents : non_rural_parents);
      continue;
    }
    ++leaves;
    rural += is_rural(o, u);
    const double in = sc.params.inflow(u);
    const double a0 = sc.params.advance(u, 0), e0 = sc.params.exit(u, 0);
    const double a1 = sc.params.advance(u, 1), e1 = sc.params.exit(u, 1), ep = sc.params.exit(u, 2);
    const double h1 = a0 / (a0 + e0), h2 = h1 * a1 / (a1 + e1);
    add(0, in / (a0 + e0));
    add(1, in * h1 / (a1 + e1));
    for (int k = 0; k < D; ++k) add(2, in * h2 * std::pow(1 - ep, k));
    const double m = sc.stocks(u, static_cast<Eigen::Index>(p.offset(3)));
    members += m;
    members_sq += m * m;
  }
  CHECK(leaves == 1600);
  for (int s = 0; s < 3; ++s) {
    INFO(p.stages()[s].name << ": stocks " << got[s] << ", steady state " << expect[s] << " +- "
                            << std::sqrt(variance[s]));
    CHECK(std::abs(got[s] - expect[s]) <= 5 * std::sqrt(variance[s]));
    CHECK(expect[s] > 100);
  }
  // Full members per leaf: members_per_leaf x (0.5 + U), so mean 20.
  const double mean = members / leaves, sd = std::sqrt(members_sq / leaves - mean * mean);
  CHECK(std::abs(mean - opt.members_per_leaf) <= 5 * sd / std::sqrt(static_cast<double>(leaves)));
  // Rural share at the level above the leaves, inherited by the leaves.
  const double share = static_cast<double>(rural_parents) / static_cast<double>(rural_parents + non_rural_parents);
  CHECK(std::abs(share - opt.rural_share) <= 5 * std::sqrt(opt.rural_share * (1 - opt.rural_share) / 320));
  CHECK(rural > 0);
  CHECK(rural < leaves);
}

TEST_CASE("synthetic() refuses inconsistent options", "[datasets]") {
  datasets::synthetic_options opt;
  opt.fanout = {3, 4};
  opt.kinds = {"a", "b"};
  REQUIRE_THROWS_AS_WITH(datasets::synthetic(opt), input_error,
                         mf_test::contains("synthetic: give one kind per level (3), got 2"));
  opt.kinds = {"a", "b", "c"};
  opt.fanout = {3, 0.5};
  REQUIRE_THROWS_AS_WITH(datasets::synthetic(opt), input_error, mf_test::contains("every fanout must be >= 1"));
  opt.fanout = {3, 4};
  opt.rural_share = 1.5;
  REQUIRE_THROWS_AS_WITH(datasets::synthetic(opt), input_error, mf_test::contains("rural_share in [0, 1]"));
}
