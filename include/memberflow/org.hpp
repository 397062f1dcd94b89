#pragma once
// The organisation: a rooted tree of units (district -> committees -> cells ...) held as
// a Boost.Graph compressed-sparse-row graph of parent -> child edges, plus a second
// relation beside the tree: overseers, each assigned to a set of units.
//
// Units are addressed by index (0..size()-1, in the order they were given) in C++ and by
// their string id at the edges (files, Python). All queries are O(1) or O(answer) after
// an O(units) preparation: a depth-first preorder in which every subtree is a contiguous
// slice, so descendants are a span, and roll-ups are one reverse pass over that order.
#include <boost/graph/compressed_sparse_row_graph.hpp>

#include <Eigen/Core>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "memberflow/error.hpp"
#include "memberflow/table.hpp"

namespace memberflow {

using unit_index = std::int32_t;
inline constexpr unit_index no_unit = -1;

// A typed per-unit attribute such as `rural` (boolean) or `population` (integer).
// std::monostate marks a missing value.
using attribute_value = std::variant<std::monostate, bool, std::int64_t, double, std::string>;
enum class attribute_type { boolean, integer, real, text };

struct attribute_column {
  std::string name;
  attribute_type type = attribute_type::text;
  std::vector<attribute_value> values;  // one per unit
};

// One unit as given by its source, before validation.
struct unit_record {
  std::string id;
  std::string parent_id;  // empty for the root
  std::string name;
  std::string kind;  // free text: "district", "commune_committee", "cell", ...
};

struct overseer {
  std::string id;
  std::vector<unit_index> units;
};

namespace detail {
// A hint to load memory that will be read soon (no effect on any result): batched
// lookups issue their loads early so that the cache misses overlap.
inline void prefetch(const void* p) {
#if defined(__GNUC__)
  __builtin_prefetch(p);
#else
  (void)p;
#endif
}
}  // namespace detail

class org {
 public:
  // parent -> child edges; the vertex index is the unit index.
  using graph_type = boost::compressed_sparse_row_graph<boost::directedS>;

  org() = default;
  // Validates and builds. `where[i]` locates records[i] for messages (may be empty).
  // Throws input_error for an empty or duplicate id, an unknown parent, no root or
  // several roots, or a cycle; the message names the line and the units involved.
  org(std::vector<unit_record> records, std::vector<attribute_column> attributes = {},
      std::vector<source_location> where = {});

  // Reads columns unit_id, parent_id and optional name, kind; every other column is an
  // attribute whose type is inferred (boolean, integer, real, else text).
  static org from_table(const text_table& table);
  // The inverse of from_table: same columns, same row order.
  text_table to_table() const;

  std::size_t size() const { return ids_.size(); }
  unit_index root() const { return root_; }
  const graph_type& graph() const { return graph_; }

  // Id <-> index. index() throws unknown_id naming the id; find() returns no_unit for
  // an id that names no unit. The batch find() interleaves its lookups so that their
  // memory accesses overlap: for a large organisation several times faster than one
  // find() after another (placing a Series by id in Python goes through it).
  unit_index index(std::string_view id) const;
  unit_index find(std::string_view id) const;
  void find(std::span<const std::string_view> ids, std::span<unit_index> out) const;
  bool contains(std::string_view id) const { return find(id) != no_unit; }
  const std::string& id(unit_index u) const { return ids_[check(u)]; }
  const std::string& name(unit_index u) const { return names_[check(u)]; }
  const std::string& kind(unit_index u) const { return kinds_[check(u)]; }
  const std::vector<std::string>& ids() const { return ids_; }
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<std::string>& kinds() const { return kinds_; }

  // Tree queries.
  unit_index parent(unit_index u) const { return parent_[check(u)]; }
  std::span<const unit_index> parents() const { return parent_; }
  std::vector<unit_index> children(unit_index u) const;
  // Nearest first, root last; empty for the root.
  std::vector<unit_index> ancestors(unit_index u) const;
  // Every unit strictly below u, in preorder.
  std::span<const unit_index> descendants(unit_index u) const;
  // u followed by its descendants.
  std::span<const unit_index> subtree(unit_index u) const;
  int depth(unit_index u) const { return depth_[check(u)]; }
  int height() const { return height_; }
  bool is_ancestor_or_self(unit_index a, unit_index u) const;
  // Lowest common ancestor of a non-empty set of units (a unit is its own ancestor).
  unit_index lca(std::span<const unit_index> units) const;
  unit_index lca(unit_index a, unit_index b) const;
  // Depth-first preorder of all units: every subtree is a contiguous slice.
  std::span<const unit_index> preorder() const { return preorder_; }

  // Roll-up: a node's total is its own value plus the totals of its children, i.e. the
  // sum over its subtree. O(units) per column. Rows are units.
  template <class T>
  std::vector<T> rollup(std::span<const T> own) const;
  template <class Derived>
  void rollup_inplace(Eigen::DenseBase<Derived>& rows_are_units) const;

  // Attributes.
  const std::vector<attribute_column>& attributes() const { return attributes_; }
  const attribute_column& attribute(std::string_view name) const;  // throws unknown_id

  // Overseers: a relation beside the tree (e.g. standing-committee members, each
  // reporting on a set of units). Reads columns overseer_id, unit_id.
  void set_overseers(const text_table& table);
  const std::vector<overseer>& overseers() const { return overseers_; }
  const overseer& overseer_by_id(std::string_view id) const;  // throws unknown_id
  std::vector<std::string> overseers_of(unit_index u) const;
  text_table overseers_table() const;

 private:
  unit_index check(unit_index u) const;
  void build_graph(const std::vector<source_location>& where);
  // For a unit whose parent chain never reaches a root: a unit on the loop, and the
  // loop written out ('A' -> 'B' -> 'A').
  unit_index loop_member(unit_index start) const;
  std::string describe_loop(unit_index start) const;

  std::vector<std::string> ids_, names_, kinds_;
  // Id -> index: open addressing with linear probing in a flat array of more slots
  // than units (at most 2/3 taken). A slot holds its id's text when the id fits (up to
  // 27 bytes), so that a lookup reads one cache line where a node-based map reads
  // three; a longer id is compared with ids_.
  struct alignas(32) id_slot {  // one slot never straddles two cache lines
    static constexpr std::size_t inline_size = 27;
    static constexpr std::uint8_t long_id = 0xFF;  // `size` of a slot whose id is not inline
    unit_index unit = no_unit;
    std::uint8_t size = 0;
    char text[inline_size] = {};
  };
  std::vector<id_slot> id_slots_;
  std::size_t slot_mask_ = 0;
  // The slot an id is compared with: its size and zero-padded text when inline, else
  // size long_id (unit no_unit).
  static id_slot key_of(std::string_view id);
  // The first slot from `slot` on that is empty or holds `id` (whose key_of is `key`).
  std::size_t probe(std::string_view id, const id_slot& key, std::size_t slot) const;
  // Adds ids_[u]; returns the unit that already has that id, or no_unit.
  unit_index insert_id(unit_index u);
  std::vector<unit_index> parent_;
  graph_type graph_;
  unit_index root_ = no_unit;
  std::vector<unit_index> preorder_;
  std::vector<std::int32_t> position_;      // position_[u]: u's place in preorder_
  std::vector<std::int32_t> subtree_size_;  // including u
  std::vector<int> depth_;
  int height_ = 0;
  std::vector<attribute_column> attributes_;
  std::vector<overseer> overseers_;
};

template <class T>
std::vector<T> org::rollup(std::span<const T> own) const {
  if (own.size() != size())
    throw input_error("rollup: " + std::to_string(own.size()) + " values for " +
                      std::to_string(size()) + " units");
  std::vector<T> total(own.begin(), own.end());
  // Reverse preorder visits every child before its parent.
  for (auto it = preorder_.rbegin(); it != preorder_.rend(); ++it)
    if (const auto p = parent_[*it]; p != no_unit) total[p] += total[*it];
  return total;
}

template <class Derived>
void org::rollup_inplace(Eigen::DenseBase<Derived>& values) const {
  if (static_cast<std::size_t>(values.rows()) != size())
    throw input_error("rollup: " + std::to_string(values.rows()) + " rows for " +
                      std::to_string(size()) + " units");
  for (Eigen::Index c = 0; c < values.cols(); ++c) {
    auto col = values.col(c);
    for (auto it = preorder_.rbegin(); it != preorder_.rend(); ++it)
      if (const auto p = parent_[*it]; p != no_unit) col(p) += col(*it);
  }
}

}  // namespace memberflow
