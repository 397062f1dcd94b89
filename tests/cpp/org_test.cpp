// The organisation tree: queries and roll-ups against naive references on random trees,
// refusal of bad input with messages that locate it, CSV/JSON round trips, overseers.
#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include "catch.hpp"
#include "memberflow/org.hpp"
#include "memberflow/org_io.hpp"

using namespace memberflow;

namespace {

std::string data(const std::string& name) { return std::string(MEMBERFLOW_TEST_DATA) + "/" + name; }

std::filesystem::path temp_file(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("memberflow_org_test_" + std::to_string(::getpid()) + "_" + name);
}

// A random tree given as records in shuffled order (children may precede parents), and
// the reference structure computed from the records alone, by id.
struct random_tree {
  std::vector<unit_record> records;
  std::vector<int> parent;           // by record position; -1 for the root
  std::vector<std::vector<int>> up;  // up[v]: v, its parent, ..., the root (naive walk)
  std::vector<char> in_chain;        // in_chain[v * n + u]: u is on v's chain (ancestor or self)
  int n = 0;
  bool on_chain(int v, int u) const { return in_chain[static_cast<std::size_t>(v) * n + u] != 0; }
};

// shape 0: random recursive tree; 1: long chains; 2: a few very wide nodes.
random_tree make_tree(int n, unsigned seed, int shape) {
  std::mt19937 rng(seed);
  std::vector<int> created_parent(n, -1);
  for (int k = 1; k < n; ++k) {
    if (shape == 1 && std::uniform_real_distribution<>(0, 1)(rng) < 0.8) created_parent[k] = k - 1;
    else if (shape == 2) created_parent[k] = std::uniform_int_distribution<>(0, std::min(k, 3) - 1)(rng);
    else created_parent[k] = std::uniform_int_distribution<>(0, k - 1)(rng);
  }
  std::vector<int> order(n);  // order[position] = creation label
  for (int i = 0; i < n; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  random_tree t;
  t.n = n;
  for (int pos = 0; pos < n; ++pos) {
    const int label = order[pos];
    const int p = created_parent[label];
    t.records.push_back({"u" + std::to_string(label * 7 + 3), p < 0 ? "" : "u" + std::to_string(p * 7 + 3),
                         "Unit " + std::to_string(label), label % 2 ? "odd" : "even"});
  }
  std::map<std::string, int> position;
  for (int i = 0; i < n; ++i) position[t.records[i].id] = i;
  t.parent.resize(n);
  for (int i = 0; i < n; ++i)
    t.parent[i] = t.records[i].parent_id.empty() ? -1 : position.at(t.records[i].parent_id);
  t.up.resize(n);
  t.in_chain.assign(static_cast<std::size_t>(n) * n, 0);
  for (int v = 0; v < n; ++v)
    for (int u = v; u != -1; u = t.parent[u]) {
      t.up[v].push_back(u);
      t.in_chain[static_cast<std::size_t>(v) * n + u] = 1;
    }
  return t;
}

std::vector<int> sorted(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  return v;
}

template <class Range>
std::vector<int> as_ints(const Range& r) {
  return std::vector<int>(r.begin(), r.end());
}

// Naive LCA of a set: the deepest unit on every member's chain.
int naive_lca(const random_tree& t, const std::vector<int>& set) {
  int best = -1;
  for (int u = 0; u < t.n; ++u) {
    bool common = true;
    for (int v : set) common = common && t.on_chain(v, u);
    if (common && (best == -1 || t.up[u].size() > t.up[best].size())) best = u;
  }
  return best;
}

struct tree_case {
  int n;
  unsigned seed;
  int shape;
};

std::vector<tree_case> tree_cases() {
  std::vector<tree_case> cases;
  for (int n : {1, 2, 3, 5, 17, 64, 200, 500})
    for (unsigned seed : {11u, 12u, 13u})
      for (int shape : {0, 1, 2}) cases.push_back({n, seed * 101 + static_cast<unsigned>(n), shape});
  return cases;
}

void require_same_attributes(const org& a, const org& b) {
  REQUIRE(a.attributes().size() == b.attributes().size());
  for (std::size_t c = 0; c < a.attributes().size(); ++c) {
    INFO("attribute " << a.attributes()[c].name);
    CHECK(a.attributes()[c].name == b.attributes()[c].name);
    CHECK(a.attributes()[c].type == b.attributes()[c].type);
    CHECK(a.attributes()[c].values == b.attributes()[c].values);
  }
}

void require_same_org(const org& a, const org& b) {
  REQUIRE(a.size() == b.size());
  CHECK(a.ids() == b.ids());
  CHECK(a.names() == b.names());
  CHECK(a.kinds() == b.kinds());
  CHECK(as_ints(a.parents()) == as_ints(b.parents()));
  require_same_attributes(a, b);
  CHECK(a.overseers_table().rows == b.overseers_table().rows);
}

}  // namespace

TEST_CASE("tree queries agree with naive parent walks on random trees", "[org]") {
  for (const auto& c : tree_cases()) {
    INFO("n = " << c.n << ", seed = " << c.seed << ", shape = " << c.shape);
    const auto t = make_tree(c.n, c.seed, c.shape);
    const org o(t.records);
    REQUIRE(o.size() == static_cast<std::size_t>(c.n));
    const int root = static_cast<int>(std::find(t.parent.begin(), t.parent.end(), -1) - t.parent.begin());
    REQUIRE(o.root() == root);
    int height = 0;
    for (int u = 0; u < c.n; ++u) {
      REQUIRE(o.parent(u) == t.parent[u]);
      REQUIRE(o.depth(u) == static_cast<int>(t.up[u].size()) - 1);
      height = std::max(height, o.depth(u));
      REQUIRE(as_ints(o.ancestors(u)) == std::vector<int>(t.up[u].begin() + 1, t.up[u].end()));
      std::vector<int> kids, below;
      for (int v = 0; v < c.n; ++v) {
        if (t.parent[v] == u) kids.push_back(v);
        if (v != u && t.on_chain(v, u)) below.push_back(v);
      }
      REQUIRE(sorted(as_ints(o.children(u))) == kids);
      REQUIRE(sorted(as_ints(o.descendants(u))) == below);
      const auto sub = as_ints(o.subtree(u));
      REQUIRE(sub.size() == below.size() + 1);
      REQUIRE(sub.front() == u);
      // Preorder: each next unit's parent is on the chain of the unit before it.
      for (std::size_t k = 1; k < sub.size(); ++k) REQUIRE(t.on_chain(sub[k - 1], t.parent[sub[k]]));
    }
    REQUIRE(o.height() == height);
    REQUIRE(sorted(as_ints(o.preorder())) == sorted(as_ints(o.subtree(root))));
    REQUIRE(o.preorder().size() == static_cast<std::size_t>(c.n));

    std::mt19937 rng(c.seed + 1);
    std::uniform_int_distribution<int> pick(0, c.n - 1);
    for (int k = 0; k < 200; ++k) {
      const int a = pick(rng), b = pick(rng);
      REQUIRE(o.is_ancestor_or_self(a, b) == t.on_chain(b, a));
      REQUIRE(o.lca(a, b) == naive_lca(t, {a, b}));
      std::vector<int> set(1 + k % 6);
      for (auto& u : set) u = pick(rng);
      const std::vector<unit_index> units(set.begin(), set.end());
      REQUIRE(o.lca(std::span<const unit_index>(units)) == naive_lca(t, set));
    }
  }
}

TEST_CASE("roll-ups equal the brute-force sum over every unit whose ancestor chain holds the node", "[org]") {
  for (const auto& c : tree_cases()) {
    INFO("n = " << c.n << ", seed = " << c.seed << ", shape = " << c.shape);
    const auto t = make_tree(c.n, c.seed, c.shape);
    const org o(t.records);
    std::mt19937 rng(c.seed + 2);
    std::uniform_int_distribution<int> value(-50, 1000);
    std::vector<double> own(c.n);
    std::vector<long long> own_ll(c.n);
    Eigen::ArrayXXd cols(c.n, 3);
    for (int u = 0; u < c.n; ++u) {
      own[u] = value(rng);
      own_ll[u] = value(rng);
      for (int j = 0; j < 3; ++j) cols(u, j) = std::uniform_real_distribution<>(0, 1)(rng);
    }
    const auto total = o.rollup(std::span<const double>(own));
    const auto total_ll = o.rollup(std::span<const long long>(own_ll));
    Eigen::ArrayXXd rolled = cols;
    o.rollup_inplace(rolled);
    for (int u = 0; u < c.n; ++u) {
      double expect = 0;
      long long expect_ll = 0;
      Eigen::Array3d expect_cols = Eigen::Array3d::Zero();
      for (int v = 0; v < c.n; ++v)
        if (t.on_chain(v, u)) {
          expect += own[v];
          expect_ll += own_ll[v];
          expect_cols += cols.row(v).transpose();
        }
      REQUIRE(total[u] == expect);  // integers in doubles: exact
      REQUIRE(total_ll[u] == expect_ll);
      for (int j = 0; j < 3; ++j) REQUIRE(rolled(u, j) == Catch::Approx(double(expect_cols(j))).epsilon(1e-12));
    }
  }
}

TEST_CASE("rollup refuses values whose count differs from the number of units", "[org]") {
  const org o({{"D", "", "", ""}, {"A", "D", "", ""}});
  const std::vector<double> three{1, 2, 3};
  REQUIRE_THROWS_AS_WITH(o.rollup(std::span<const double>(three)), input_error,
                         mf_test::contains("rollup: 3 values for 2 units"));
  Eigen::ArrayXXd wrong(3, 2);
  REQUIRE_THROWS_AS_WITH(o.rollup_inplace(wrong), input_error, mf_test::contains("rollup: 3 rows for 2 units"));
}

TEST_CASE("ids map to indices in input order and unknown ids or indices are refused", "[org]") {
  const org o({{"A", "D", "Unit A", "cell"}, {"D", "", "District", "district"}});
  CHECK(o.index("A") == 0);
  CHECK(o.index("D") == 1);
  CHECK(o.root() == 1);
  CHECK(o.contains("A"));
  CHECK_FALSE(o.contains("Z"));
  CHECK(o.name(0) == "Unit A");
  CHECK(o.kind(1) == "district");
  REQUIRE_THROWS_AS_WITH(o.index("Z"), unknown_id, mf_test::contains("unknown unit 'Z'"));
  REQUIRE_THROWS_AS_WITH(o.id(2), unknown_id, mf_test::contains("unit index 2 is out of range"));
  REQUIRE_THROWS_AS_WITH(o.depth(-1), unknown_id, mf_test::contains("unit index -1 is out of range"));
  REQUIRE_THROWS_AS_WITH(o.attribute("rural"), unknown_id, mf_test::contains("unknown attribute 'rural'"));
  REQUIRE_THROWS_AS_WITH(o.lca(std::span<const unit_index>()), input_error,
                         mf_test::contains("lca of an empty set"));
}

TEST_CASE("find, one id or a batch, gives each id's position in the input or no_unit", "[org]") {
  // Against a std::map built from the records; many ids so that the table's probing
  // runs past other ids, and batches that are not whole blocks.
  for (const int n : {1, 17, 5000}) {
    const auto t = make_tree(n, 40 + static_cast<unsigned>(n), 0);
    const org o(t.records);
    std::map<std::string, unit_index> reference;
    for (int i = 0; i < n; ++i) reference[t.records[static_cast<std::size_t>(i)].id] = i;
    std::vector<std::string> asked;
    std::mt19937 rng(static_cast<unsigned>(n));
    for (int k = 0; k < 3 * n + 5; ++k) {
      const int label = std::uniform_int_distribution<>(-3, n + 3)(rng);
      asked.push_back(k % 7 == 0 ? "" : "u" + std::to_string(label * 7 + 3 + (k % 5 == 0 ? 1 : 0)));
    }
    const std::vector<std::string_view> views(asked.begin(), asked.end());
    std::vector<unit_index> found(asked.size(), 12345);
    o.find(views, found);
    for (std::size_t k = 0; k < asked.size(); ++k) {
      const auto it = reference.find(asked[k]);
      const unit_index expected = it == reference.end() ? no_unit : it->second;
      CHECK(found[k] == expected);
      CHECK(o.find(asked[k]) == expected);
      CHECK(o.contains(asked[k]) == (expected != no_unit));
    }
  }
  // Ids longer than a slot holds (27 bytes) beside short ones, and one byte apart.
  std::vector<unit_record> records{{"root", "", "", ""}};
  for (int i = 0; i < 300; ++i) {
    const std::string id = i % 2 ? std::string(26 + i % 5, 'x') + std::to_string(i) : "s" + std::to_string(i);
    records.push_back({id, "root", "", ""});
  }
  const org mixed(records);
  std::map<std::string, unit_index> where;
  for (std::size_t i = 0; i < records.size(); ++i) where[records[i].id] = static_cast<unit_index>(i);
  auto expected = [&](const std::string& id) { return where.count(id) ? where.at(id) : no_unit; };
  std::vector<std::string> variants;  // one at a time, then as one batch (compared in fixed-size blocks)
  for (const auto& r : records)
    for (const std::string& id : {r.id, r.id + "y", r.id.substr(0, r.id.size() - 1), r.id.substr(1), r.id + '\0'}) {
      CHECK(mixed.find(id) == expected(id));
      variants.push_back(id);
    }
  const std::vector<std::string_view> batch(variants.begin(), variants.end());
  std::vector<unit_index> at(batch.size());
  mixed.find(batch, at);
  for (std::size_t k = 0; k < variants.size(); ++k) CHECK(at[k] == expected(variants[k]));
  const org empty;
  std::vector<unit_index> none(1);
  const std::vector<std::string_view> one{"A"};
  empty.find(one, none);
  CHECK(none[0] == no_unit);
  CHECK_THROWS_AS(empty.find(one, std::span<unit_index>()), input_error);
}

TEST_CASE("a duplicate unit id is refused with both of its lines", "[org]") {
  const auto f = data("units_duplicate_id.csv");
  REQUIRE_THROWS_AS_WITH(read_units_csv(f), input_error,
                         mf_test::contains(f + " line 5: duplicate unit id 'A' (first given at " + f + " line 3)"));
}

TEST_CASE("an unknown parent is refused naming the line, the unit and the parent", "[org]") {
  REQUIRE_THROWS_AS_WITH(read_units_csv(data("units_unknown_parent.csv")), input_error,
                         mf_test::contains("units_unknown_parent.csv line 4: unit 'B' has unknown parent 'X'"));
}

TEST_CASE("a cycle in the parent links is refused and the message lists the loop only", "[org]") {
  // A -> C -> B -> A (child -> parent); T hangs off the loop and is not part of it.
  using mf_test::contains;
  REQUIRE_THROWS_AS_WITH(read_units_csv(data("units_cycle.csv")), input_error,
                         contains("cycle in the parent links: ") &&
                             (contains("'A' -> 'C' -> 'B' -> 'A'") || contains("'C' -> 'B' -> 'A' -> 'C'") ||
                              contains("'B' -> 'A' -> 'C' -> 'B'")) &&
                             !contains("'T'") && !contains("'R'"));
  // A unit that is its own parent.
  REQUIRE_THROWS_AS_WITH((org({{"R", "", "", ""}, {"S", "S", "", ""}})), input_error,
                         contains("unit 2: cycle in the parent links: 'S' -> 'S'"));
}

TEST_CASE("an organisation without a root or with several roots is refused", "[org]") {
  REQUIRE_THROWS_AS_WITH(read_units_csv(data("units_no_root.csv")), input_error,
                         mf_test::contains("no root: every unit has a parent"));
  const auto f = data("units_two_roots.csv");
  REQUIRE_THROWS_AS_WITH(read_units_csv(f), input_error,
                         mf_test::contains("2 roots: 'D' (" + f + " line 2) and 'E' (" + f + " line 4)"));
  REQUIRE_THROWS_AS_WITH(org(std::vector<unit_record>{}), input_error,
                         mf_test::contains("the organisation has no units"));
}

TEST_CASE("an empty unit id is refused naming its line", "[org]") {
  REQUIRE_THROWS_AS_WITH(read_units_csv(data("units_empty_id.csv")), input_error,
                         mf_test::contains("units_empty_id.csv line 3: empty unit id"));
}

TEST_CASE("a row with the wrong number of fields is refused naming its line", "[org]") {
  REQUIRE_THROWS_AS_WITH(read_units_csv(data("units_bad_field_count.csv")), input_error,
                         mf_test::contains("units_bad_field_count.csv line 4: 3 fields where the header has 4"));
}

TEST_CASE("a units file without parent_id is refused naming the column", "[org]") {
  REQUIRE_THROWS_AS_WITH(read_units_csv(data("units_missing_column.csv")), input_error,
                         mf_test::contains("units_missing_column.csv: missing column 'parent_id'"));
}

TEST_CASE("a malformed or unterminated quote is refused naming its line", "[org]") {
  REQUIRE_THROWS_AS_WITH(read_units_csv(data("units_bad_quote.csv")), input_error,
                         mf_test::contains("units_bad_quote.csv line 3: malformed CSV"));
  REQUIRE_THROWS_AS_WITH(read_units_csv(data("units_unterminated_quote.csv")), input_error,
                         mf_test::contains("units_unterminated_quote.csv line 3: malformed CSV"));
}

TEST_CASE("attribute types are inferred from the cells and missing cells stay missing", "[org]") {
  const auto o = read_units_csv(data("units_attributes.csv"));
  REQUIRE(o.ids() == std::vector<std::string>{"D", "C1", "C1-1", "B1"});
  CHECK(o.name(0) == "District, the whole");
  CHECK(o.name(2) == "Village 1\n(two lines)");
  CHECK(o.parent(2) == 1);
  const std::monostate none;
  const auto& rural = o.attribute("rural");
  CHECK(rural.type == attribute_type::boolean);
  CHECK(rural.values == std::vector<attribute_value>{false, true, true, none});
  const auto& population = o.attribute("population");
  CHECK(population.type == attribute_type::integer);
  CHECK(population.values == std::vector<attribute_value>{std::int64_t{52000}, none, std::int64_t{812},
                                                          std::int64_t{-3}});
  const auto& share = o.attribute("share");
  CHECK(share.type == attribute_type::real);
  CHECK(share.values == std::vector<attribute_value>{0.25, 1.5, none, 2.0});
  const auto& note = o.attribute("note");
  CHECK(note.type == attribute_type::text);
  CHECK(note.values == std::vector<attribute_value>{std::string("says \"hello\""), none, std::string("plain"),
                                                    std::string("a, b")});
  // A real column whose values happen to be whole numbers is still real.
  const auto& area = o.attribute("area");
  CHECK(area.type == attribute_type::real);
  CHECK(area.values == std::vector<attribute_value>{1.0, 2.0, none, 3.0});
  // Column order: fixed columns, then attributes as in the file.
  CHECK(o.to_table().columns == std::vector<std::string>{"unit_id", "parent_id", "name", "kind", "rural",
                                                         "population", "share", "note", "area"});
}

TEST_CASE("writing units to CSV and reading them back gives the same organisation and table", "[org]") {
  const auto o = read_units_csv(data("units_attributes.csv"));
  const auto path = temp_file("units.csv");
  write_units_csv(o, path.string());
  const auto back = read_units_csv(path.string());
  std::filesystem::remove(path);
  require_same_org(o, back);
  CHECK(back.to_table().columns == o.to_table().columns);
  CHECK(back.to_table().rows == o.to_table().rows);
  // The written table is the file's own text cells.
  const auto original = read_csv(data("units_attributes.csv"));
  auto expected_rows = original.rows;
  expected_rows[2][4] = "true";  // "TRUE" is written canonically
  expected_rows[1][8] = "2.0";   // a real column's whole numbers keep a decimal point
  expected_rows[3][6] = "2.0";
  CHECK(o.to_table().rows == expected_rows);
}

TEST_CASE("JSON units with attributes and overseers read, and round trip through JSON", "[org]") {
  const auto o = read_org_json(data("org.json"));
  REQUIRE(o.ids() == std::vector<std::string>{"D", "C1", "B1"});
  CHECK(o.root() == 0);
  CHECK(o.parent(2) == 0);
  const std::monostate none;
  CHECK(o.attribute("rural").type == attribute_type::boolean);
  CHECK(o.attribute("rural").values == std::vector<attribute_value>{false, true, none});
  CHECK(o.attribute("population").type == attribute_type::integer);
  CHECK(o.attribute("population").values == std::vector<attribute_value>{std::int64_t{52000}, none, none});
  CHECK(o.attribute("share").type == attribute_type::real);
  CHECK(o.attribute("share").values == std::vector<attribute_value>{none, 0.5, none});
  REQUIRE(o.overseers().size() == 1);
  CHECK(o.overseer_by_id("S1").units == std::vector<unit_index>{1, 2});

  const auto back = org_from_json(org_to_json(o));
  require_same_org(o, back);
  const auto path = temp_file("org.json");
  write_org_json(o, path.string());
  const auto from_file = read_org_json(path.string());
  std::filesystem::remove(path);
  require_same_org(o, from_file);

  // CSV -> JSON -> organisation keeps every attribute too.
  const auto csv = read_units_csv(data("units_attributes.csv"));
  require_same_org(csv, org_from_json(org_to_json(csv)));
}

TEST_CASE("malformed JSON is refused naming the source", "[org]") {
  REQUIRE_THROWS_AS_WITH(read_org_json(data("org_malformed.json")), input_error,
                         mf_test::contains("org_malformed.json: malformed JSON"));
  REQUIRE_THROWS_AS_WITH(org_from_json("[1, 2]", "inline"), input_error,
                         mf_test::contains("inline: expected an object with a \"units\" array"));
  REQUIRE_THROWS_AS_WITH(org_from_json(R"({"units": [{"unit_id": "D", "parent_id": null}, 3]})", "inline"),
                         input_error, mf_test::contains("inline unit 2: expected an object"));
}

TEST_CASE("overseers are read beside the tree and listed per unit", "[org]") {
  auto o = read_units_csv(data("units_attributes.csv"));
  read_overseers_csv(o, data("overseers.csv"));
  REQUIRE(o.overseers().size() == 2);
  CHECK(o.overseer_by_id("S1").units == std::vector<unit_index>{o.index("C1"), o.index("B1")});
  CHECK(o.overseer_by_id("S2").units == std::vector<unit_index>{o.index("C1")});
  CHECK(o.overseers_of(o.index("C1")) == std::vector<std::string>{"S1", "S2"});
  CHECK(o.overseers_of(o.index("B1")) == std::vector<std::string>{"S1"});
  CHECK(o.overseers_of(o.index("D")).empty());
  CHECK(o.overseers_table().rows == read_csv(data("overseers.csv")).rows);
  REQUIRE_THROWS_AS_WITH(o.overseer_by_id("S3"), unknown_id, mf_test::contains("unknown overseer 'S3'"));
}

TEST_CASE("an overseer of an unknown unit or assigned twice to a unit is refused naming the line", "[org]") {
  auto o = read_units_csv(data("units_attributes.csv"));
  REQUIRE_THROWS_AS_WITH(
      read_overseers_csv(o, data("overseers_unknown_unit.csv")), input_error,
      mf_test::contains("overseers_unknown_unit.csv line 3: overseer 'S2' is assigned to unknown unit 'Z9'"));
  REQUIRE_THROWS_AS_WITH(
      read_overseers_csv(o, data("overseers_duplicate.csv")), input_error,
      mf_test::contains("overseers_duplicate.csv line 4: overseer 'S1' is assigned to unit 'C1' twice"));
  text_table t;
  t.source = "ov";
  t.columns = {"overseer_id", "unit_id"};
  t.add_row({"", "C1"});
  REQUIRE_THROWS_AS_WITH(o.set_overseers(t), input_error, mf_test::contains("ov line 1: empty overseer_id"));
  text_table no_unit_column;
  no_unit_column.source = "ov2";
  no_unit_column.columns = {"overseer_id"};
  REQUIRE_THROWS_AS_WITH(o.set_overseers(no_unit_column), input_error,
                         mf_test::contains("ov2: missing column 'unit_id'"));
  CHECK(o.overseers().empty());  // failed reads left nothing behind
}
