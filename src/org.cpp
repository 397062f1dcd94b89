#include "memberflow/org.hpp"

#include <boost/graph/depth_first_search.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <cstdio>
#include <unordered_set>

namespace memberflow {

namespace {

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// An id must read the same to a person and to a program: no control characters (NUL,
// tabs, newlines), no space at either end, not blank. Throws naming the row and column.
void check_id(const std::string& id, const std::string& where, const char* column) {
  auto refuse = [&](const std::string& what) {
    std::string shown;  // the id with control characters made visible
    for (unsigned char c : id) {
      if (c < 0x20 || c == 0x7F) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\x%02X", c);
        shown += hex;
      } else {
        shown += static_cast<char>(c);
      }
    }
    throw input_error(where + ": " + column + " '" + shown + "' " + what);
  };
  for (unsigned char c : id)
    if (c < 0x20 || c == 0x7F) refuse("contains a control character");
  if (id.find_first_not_of(' ') == std::string::npos) refuse("is blank");
  if (id.front() == ' ' || id.back() == ' ') refuse("has a space at the start or end");
}

std::string at(const std::vector<source_location>& where, std::size_t i) {
  return i < where.size() ? where[i].describe() : "unit " + std::to_string(i + 1);
}

// Records preorder positions and subtree sizes during Boost's depth-first visit.
struct preorder_recorder : boost::default_dfs_visitor {
  std::vector<unit_index>* order;
  std::vector<std::int32_t>* size;
  template <class Vertex, class Graph>
  void discover_vertex(Vertex v, const Graph&) const { order->push_back(static_cast<unit_index>(v)); }
  template <class Vertex, class Graph>
  void finish_vertex(Vertex v, const Graph& g) const {
    std::int32_t s = 1;
    for (auto [it, end] = boost::adjacent_vertices(v, g); it != end; ++it) s += (*size)[*it];
    (*size)[v] = s;
  }
};

}  // namespace

org::org(std::vector<unit_record> records, std::vector<attribute_column> attributes,
         std::vector<source_location> where) {
  const auto n = records.size();
  if (n == 0) throw input_error("the organisation has no units");
  if (n > static_cast<std::size_t>(INT32_MAX)) throw input_error("too many units");
  ids_.reserve(n);
  names_.reserve(n);
  kinds_.reserve(n);
  id_slots_.assign(std::bit_ceil(n + n / 2 + 1), id_slot{});
  slot_mask_ = id_slots_.size() - 1;
  for (std::size_t i = 0; i < n; ++i) {
    auto& r = records[i];
    if (r.id.empty()) throw input_error(at(where, i) + ": empty unit id");
    check_id(r.id, at(where, i), "unit_id");
    if (!r.parent_id.empty()) check_id(r.parent_id, at(where, i), "parent_id");
    ids_.push_back(std::move(r.id));
    if (const unit_index first = insert_id(static_cast<unit_index>(i)); first != no_unit)
      throw input_error(at(where, i) + ": duplicate unit id " + quoted(ids_[i]) +
                        " (first given at " + at(where, static_cast<std::size_t>(first)) + ")");
    names_.push_back(std::move(r.name));
    kinds_.push_back(std::move(r.kind));
  }
  parent_.assign(n, no_unit);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& p = records[i].parent_id;
    if (p.empty()) continue;
    parent_[i] = find(p);
    if (parent_[i] == no_unit)
      throw input_error(at(where, i) + ": unit " + quoted(ids_[i]) + " has unknown parent " + quoted(p));
  }
  for (auto& col : attributes)
    if (col.values.size() != n)
      throw input_error("attribute " + quoted(col.name) + " has " + std::to_string(col.values.size()) +
                        " values for " + std::to_string(n) + " units");
  attributes_ = std::move(attributes);
  build_graph(where);
}

void org::build_graph(const std::vector<source_location>& where) {
  const auto n = ids_.size();
  std::vector<std::size_t> roots;
  for (std::size_t i = 0; i < n; ++i)
    if (parent_[i] == no_unit) roots.push_back(i);
  if (roots.empty())
    throw input_error(at(where, 0) + ": no root: every unit has a parent, so the parent links loop (" +
                      describe_loop(0) + "); give the top unit an empty parent_id");
  if (roots.size() > 1)
    throw input_error(std::to_string(roots.size()) + " roots: " + quoted(ids_[roots[0]]) + " (" +
                      at(where, roots[0]) + ") and " + quoted(ids_[roots[1]]) + " (" +
                      at(where, roots[1]) + ") both have an empty parent_id; exactly one unit may");
  root_ = static_cast<unit_index>(roots[0]);

  // Edges sorted by parent, children in input order, as the CSR constructor expects.
  std::vector<std::pair<std::size_t, std::size_t>> edges;
  edges.reserve(n - 1);
  for (std::size_t i = 0; i < n; ++i)
    if (parent_[i] != no_unit) edges.emplace_back(static_cast<std::size_t>(parent_[i]), i);
  std::stable_sort(edges.begin(), edges.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  graph_ = graph_type(boost::edges_are_sorted, edges.begin(), edges.end(), n);

  preorder_.clear();
  preorder_.reserve(n);
  subtree_size_.assign(n, 0);
  std::vector<boost::default_color_type> colour(n, boost::white_color);
  preorder_recorder visitor;
  visitor.order = &preorder_;
  visitor.size = &subtree_size_;
  boost::depth_first_visit(graph_, static_cast<std::size_t>(root_), visitor,
                           boost::make_iterator_property_map(colour.begin(),
                                                             boost::get(boost::vertex_index, graph_)));
  if (preorder_.size() != n) {
    // A unit not reached from the root has a parent chain that loops: name the loop.
    std::size_t start = 0;
    while (colour[start] != boost::white_color) ++start;
    const auto u = loop_member(static_cast<unit_index>(start));
    throw input_error(at(where, static_cast<std::size_t>(u)) + ": cycle in the parent links: " +
                      describe_loop(static_cast<unit_index>(start)));
  }
  position_.assign(n, 0);
  depth_.assign(n, 0);
  height_ = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const auto u = preorder_[k];
    position_[u] = static_cast<std::int32_t>(k);
    if (parent_[u] != no_unit) depth_[u] = depth_[parent_[u]] + 1;  // parents come first
    height_ = std::max(height_, depth_[u]);
  }
}

unit_index org::loop_member(unit_index start) const {
  std::vector<char> seen(ids_.size(), 0);
  auto u = start;
  while (!seen[u]) {
    seen[u] = 1;
    u = parent_[u];
  }
  return u;
}

std::string org::describe_loop(unit_index start) const {
  // A loop of thousands of units is named by its first few and its length.
  constexpr std::size_t shown = 6;
  const auto u = loop_member(start);
  std::string loop = quoted(ids_[u]);
  std::size_t length = 1;
  for (auto v = parent_[u]; v != u; v = parent_[v], ++length)
    if (length < shown) loop += " -> " + quoted(ids_[v]);
  if (length > shown) return loop + " -> ... (a loop of " + std::to_string(length) + " units)";
  return loop + " -> " + quoted(ids_[u]);
}

unit_index org::check(unit_index u) const {
  if (u < 0 || static_cast<std::size_t>(u) >= ids_.size())
    throw unknown_id("unit index " + std::to_string(u) + " is out of range (the organisation has " +
                     std::to_string(ids_.size()) + " units)");
  return u;
}

unit_index org::index(std::string_view id) const {
  const unit_index u = find(id);
  if (u == no_unit) throw unknown_id("unknown unit " + quoted(std::string(id)));
  return u;
}

namespace {
std::size_t id_hash(std::string_view id) { return std::hash<std::string_view>{}(id); }
}  // namespace

org::id_slot org::key_of(std::string_view id) {
  id_slot key;
  if (id.size() > id_slot::inline_size) {
    key.size = id_slot::long_id;
  } else {
    key.size = static_cast<std::uint8_t>(id.size());
    std::copy(id.begin(), id.end(), key.text);
  }
  return key;
}

// An inline id's text is compared as one zero-padded fixed-size block (no call to memcmp
// of a variable length); a long one with ids_.
std::size_t org::probe(std::string_view id, const id_slot& key, std::size_t slot) const {
  for (;; slot = (slot + 1) & slot_mask_) {  // ends: some slot is always empty
    const id_slot& s = id_slots_[slot];
    if (s.unit == no_unit) return slot;
    if (s.size == key.size && (key.size == id_slot::long_id ? ids_[static_cast<std::size_t>(s.unit)] == id
                                                            : std::memcmp(s.text, key.text, id_slot::inline_size) == 0))
      return slot;
  }
}

unit_index org::insert_id(unit_index u) {
  const std::string& id = ids_[static_cast<std::size_t>(u)];
  const id_slot key = key_of(id);
  id_slot& s = id_slots_[probe(id, key, id_hash(id) & slot_mask_)];
  if (s.unit != no_unit) return s.unit;
  s = key;
  s.unit = u;
  return no_unit;
}

unit_index org::find(std::string_view id) const {
  if (id_slots_.empty()) return no_unit;
  return id_slots_[probe(id, key_of(id), id_hash(id) & slot_mask_)].unit;
}

void org::find(std::span<const std::string_view> ids, std::span<unit_index> out) const {
  if (out.size() != ids.size()) throw input_error("org::find: as many outputs as ids are needed");
  if (id_slots_.empty()) return std::fill(out.begin(), out.end(), no_unit);
  // Each id is hashed, its key made and its slot asked for `ahead` ids before it is
  // probed, so that the cache misses of the slots overlap instead of following one another.
  constexpr std::size_t ahead = 16, ring = 32;  // ring > ahead, a power of 2
  std::size_t slot[ring];
  id_slot key[ring];
  for (std::size_t i = 0; i < ids.size() + ahead; ++i) {
    if (i < ids.size()) {
      slot[i % ring] = id_hash(ids[i]) & slot_mask_;
      detail::prefetch(&id_slots_[slot[i % ring]]);
      key[i % ring] = key_of(ids[i]);
    }
    if (i >= ahead) {
      const auto j = i - ahead;
      out[j] = id_slots_[probe(ids[j], key[j % ring], slot[j % ring])].unit;
    }
  }
}

std::vector<unit_index> org::children(unit_index u) const {
  std::vector<unit_index> out;
  for (auto [it, end] = boost::adjacent_vertices(static_cast<std::size_t>(check(u)), graph_); it != end; ++it)
    out.push_back(static_cast<unit_index>(*it));
  return out;
}

std::vector<unit_index> org::ancestors(unit_index u) const {
  std::vector<unit_index> out;
  for (auto p = parent_[check(u)]; p != no_unit; p = parent_[p]) out.push_back(p);
  return out;
}

std::span<const unit_index> org::subtree(unit_index u) const {
  return std::span<const unit_index>(preorder_).subspan(position_[check(u)], subtree_size_[u]);
}

std::span<const unit_index> org::descendants(unit_index u) const { return subtree(u).subspan(1); }

bool org::is_ancestor_or_self(unit_index a, unit_index u) const {
  const auto pa = position_[check(a)], pu = position_[check(u)];
  return pa <= pu && pu < pa + subtree_size_[a];
}

unit_index org::lca(unit_index a, unit_index b) const {
  check(a);
  check(b);
  while (depth_[a] > depth_[b]) a = parent_[a];
  while (depth_[b] > depth_[a]) b = parent_[b];
  while (a != b) {
    a = parent_[a];
    b = parent_[b];
  }
  return a;
}

unit_index org::lca(std::span<const unit_index> units) const {
  if (units.empty()) throw input_error("lca of an empty set of units");
  // The LCA of a set is the LCA of its first and last members in preorder.
  auto first = units[0], last = units[0];
  for (auto u : units) {
    check(u);
    if (position_[u] < position_[first]) first = u;
    if (position_[u] > position_[last]) last = u;
  }
  return lca(first, last);
}

const attribute_column& org::attribute(std::string_view name) const {
  for (const auto& c : attributes_)
    if (c.name == name) return c;
  throw unknown_id("unknown attribute " + quoted(std::string(name)));
}

void org::set_overseers(const text_table& table) {
  const auto oc = table.require_column("overseer_id");
  const auto uc = table.require_column("unit_id");
  std::vector<overseer> result;
  std::unordered_map<std::string, std::size_t> slot;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const auto& oid = table.rows[r][oc];
    const auto& uid = table.rows[r][uc];
    if (oid.empty()) throw input_error(table.where(r).describe() + ": empty overseer_id");
    check_id(oid, table.where(r).describe(), "overseer_id");
    const unit_index u = find(uid);
    if (u == no_unit)
      throw input_error(table.where(r).describe() + ": overseer " + quoted(oid) +
                        " is assigned to unknown unit " + quoted(uid));
    auto [s, fresh] = slot.emplace(oid, result.size());
    if (fresh) result.push_back({oid, {}});
    auto& units = result[s->second].units;
    if (std::find(units.begin(), units.end(), u) != units.end())
      throw input_error(table.where(r).describe() + ": overseer " + quoted(oid) +
                        " is assigned to unit " + quoted(uid) + " twice");
    units.push_back(u);
  }
  overseers_ = std::move(result);
}

const overseer& org::overseer_by_id(std::string_view id) const {
  for (const auto& o : overseers_)
    if (o.id == id) return o;
  throw unknown_id("unknown overseer " + quoted(std::string(id)));
}

std::vector<std::string> org::overseers_of(unit_index u) const {
  check(u);
  std::vector<std::string> out;
  for (const auto& o : overseers_)
    if (std::find(o.units.begin(), o.units.end(), u) != o.units.end()) out.push_back(o.id);
  return out;
}

text_table org::overseers_table() const {
  text_table t;
  t.source = "overseers";
  t.columns = {"overseer_id", "unit_id"};
  for (const auto& o : overseers_)
    for (auto u : o.units) t.add_row({o.id, ids_[u]});
  return t;
}

}  // namespace memberflow
