#include <nlohmann/json.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "memberflow/org_io.hpp"

namespace memberflow {

namespace detail {

namespace {

std::optional<bool> as_bool(const std::string& s) {
  static const std::array<const char*, 3> yes{"true", "True", "TRUE"}, no{"false", "False", "FALSE"};
  for (auto* t : yes)
    if (s == t) return true;
  for (auto* f : no)
    if (s == f) return false;
  return std::nullopt;
}

std::optional<std::int64_t> as_integer(const std::string& s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || std::to_string(v) != s) return std::nullopt;
  return v;
}

std::optional<double> as_real(const std::string& s) {
  // Digits only but too large for an integer: a real would round it (an id-like code).
  std::int64_t i = 0;
  if (s.find_first_not_of("-0123456789") == std::string::npos &&
      std::from_chars(s.data(), s.data() + s.size(), i).ec == std::errc::result_out_of_range)
    return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

template <class Parse>
bool all_cells(const std::vector<std::string>& cells, Parse parse) {
  for (const auto& c : cells)
    if (!c.empty() && !parse(c)) return false;
  return true;
}

}  // namespace

attribute_column infer_attribute(std::string name, const std::vector<std::string>& cells) {
  attribute_column col{std::move(name), attribute_type::text, {}};
  col.values.reserve(cells.size());
  const bool any = std::any_of(cells.begin(), cells.end(), [](const auto& c) { return !c.empty(); });
  if (any && all_cells(cells, as_bool)) col.type = attribute_type::boolean;
  else if (any && all_cells(cells, as_integer)) col.type = attribute_type::integer;
  else if (any && all_cells(cells, as_real)) col.type = attribute_type::real;
  for (const auto& c : cells) {
    if (c.empty()) col.values.emplace_back(std::monostate{});
    else if (col.type == attribute_type::boolean) col.values.emplace_back(*as_bool(c));
    else if (col.type == attribute_type::integer) col.values.emplace_back(*as_integer(c));
    else if (col.type == attribute_type::real) col.values.emplace_back(*as_real(c));
    else col.values.emplace_back(c);
  }
  return col;
}

std::string format_attribute(const attribute_value& v) {
  struct {
    std::string operator()(std::monostate) const { return {}; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const {
      std::array<char, 32> buf{};
      auto [p, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), d);  // shortest round trip
      return std::string(buf.data(), p);
    }
    std::string operator()(const std::string& s) const { return s; }
  } visit;
  return std::visit(visit, v);
}

}  // namespace detail

namespace {
// The text of a real attribute value: a whole number keeps a decimal point ("2.0"), so
// that the column is read back as real, not integer.
std::string real_text(double d) {
  auto s = detail::format_attribute(d);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}
std::string attribute_text(const attribute_column& a, std::size_t u) {
  if (a.type == attribute_type::real && std::holds_alternative<double>(a.values[u]))
    return real_text(std::get<double>(a.values[u]));
  return detail::format_attribute(a.values[u]);
}
constexpr std::array<const char*, 4> fixed_columns{"unit_id", "parent_id", "name", "kind"};
bool is_fixed_column(const std::string& c) {
  return std::find(fixed_columns.begin(), fixed_columns.end(), c) != fixed_columns.end();
}
}  // namespace

org org::from_table(const text_table& t) {
  const auto id_col = t.require_column("unit_id");
  const auto parent_col = t.require_column("parent_id");
  const auto name_col = t.find_column("name");
  const auto kind_col = t.find_column("kind");
  std::vector<unit_record> records;
  std::vector<source_location> where;
  records.reserve(t.rows.size());
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    records.push_back({row[id_col], row[parent_col], name_col == text_table::npos ? "" : row[name_col],
                       kind_col == text_table::npos ? "" : row[kind_col]});
    where.push_back(t.where(r));
  }
  if (records.empty()) throw input_error(source_location{t.source, 0, t.noun, {}}.describe() + ": no units");
  std::vector<attribute_column> attributes;
  for (std::size_t c = 0; c < t.columns.size(); ++c) {
    if (is_fixed_column(t.columns[c])) continue;
    std::vector<std::string> cells;
    cells.reserve(t.rows.size());
    for (const auto& row : t.rows) cells.push_back(row[c]);
    attributes.push_back(detail::infer_attribute(t.columns[c], cells));
  }
  return org(std::move(records), std::move(attributes), std::move(where));
}

text_table org::to_table() const {
  text_table t;
  t.source = "org";
  t.columns = {"unit_id", "parent_id", "name", "kind"};
  for (const auto& a : attributes_) t.columns.push_back(a.name);
  t.rows.reserve(size());
  for (std::size_t u = 0; u < size(); ++u) {
    std::vector<std::string> row{ids_[u], parent_[u] == no_unit ? "" : ids_[parent_[u]], names_[u], kinds_[u]};
    for (const auto& a : attributes_) row.push_back(attribute_text(a, u));
    t.add_row(std::move(row));
  }
  return t;
}

org read_units_csv(const std::string& path) { return org::from_table(read_csv(path)); }

void write_units_csv(const org& o, const std::string& path) { write_csv(o.to_table(), path); }

void read_overseers_csv(org& o, const std::string& path) { o.set_overseers(read_csv(path)); }

namespace {

// ordered_json keeps keys in file order, so attribute columns keep their order.
using json = nlohmann::ordered_json;

std::string json_cell(const json& v, const std::string& where, const std::string& key) {
  if (v.is_null()) return {};
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  if (v.is_number()) return detail::format_attribute(v.get<double>());
  throw input_error(where + ": '" + key + "' must be a string, number, boolean or null");
}

// An id: a string, or an integer written exactly as the file has it. A real number or a
// boolean is refused (1e3, 1.0 and true are not ids anyone means).
std::string json_id(const json& v, const std::string& where, const std::string& key) {
  if (v.is_null() || v.is_string() || v.is_number_integer()) return json_cell(v, where, key);
  throw input_error(where + ": '" + key + "' must be a string or an integer, got " + v.dump(-1).substr(0, 40) +
                    " (write ids as strings)");
}

bool is_id_key(const std::string& key) { return key == "unit_id" || key == "parent_id"; }

}  // namespace

org org_from_json(const std::string& text, const std::string& source) {
  detail::check_text(text, source);
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number such as 1e400
    throw input_error(source + ": malformed JSON: " + e.what());
  }
  if (!doc.is_object() || !doc.contains("units") || !doc["units"].is_array())
    throw input_error(source + ": expected an object with a \"units\" array");
  text_table t;
  t.source = source;
  t.noun = "unit";
  t.columns = {"unit_id", "parent_id", "name", "kind"};
  // Attribute columns in order of first appearance.
  for (const auto& u : doc["units"])
    if (u.is_object() && u.contains("attributes") && u["attributes"].is_object())
      for (const auto& [k, v] : u["attributes"].items())
        if (std::find(t.columns.begin(), t.columns.end(), k) == t.columns.end()) t.columns.push_back(k);
  long n = 0;
  for (const auto& u : doc["units"]) {
    ++n;
    const auto where = source + " unit " + std::to_string(n);
    if (!u.is_object()) throw input_error(where + ": expected an object");
    std::vector<std::string> row(t.columns.size());
    for (std::size_t c = 0; c < 4; ++c)
      if (u.contains(t.columns[c]))
        row[c] = (is_id_key(t.columns[c]) ? json_id : json_cell)(u[t.columns[c]], where, t.columns[c]);
    if (u.contains("attributes")) {
      if (!u["attributes"].is_object()) throw input_error(where + ": \"attributes\" must be an object");
      for (std::size_t c = 4; c < t.columns.size(); ++c)
        if (u["attributes"].contains(t.columns[c])) {
          const auto& v = u["attributes"][t.columns[c]];
          row[c] = v.is_number_float() ? real_text(v.get<double>()) : json_cell(v, where, t.columns[c]);
        }
    }
    t.rows.push_back(std::move(row));
    t.lines.push_back(n);
  }
  org result = org::from_table(t);
  if (doc.contains("overseers")) {
    if (!doc["overseers"].is_array()) throw input_error(source + ": \"overseers\" must be an array");
    text_table ov;
    ov.source = source + " overseers";
    ov.noun = "entry";
    ov.columns = {"overseer_id", "unit_id"};
    long k = 0;
    for (const auto& o : doc["overseers"]) {
      ++k;
      const auto where = ov.source + " entry " + std::to_string(k);
      if (!o.is_object() || !o.contains("overseer_id") || !o.contains("units") || !o["units"].is_array())
        throw input_error(where + ": expected {\"overseer_id\": ..., \"units\": [...]}");
      for (const auto& u : o["units"]) {
        ov.rows.push_back({json_id(o["overseer_id"], where, "overseer_id"), json_id(u, where, "units")});
        ov.lines.push_back(k);
      }
    }
    result.set_overseers(ov);
  }
  return result;
}

std::string org_to_json(const org& o) {
  json units = json::array();
  for (std::size_t u = 0; u < o.size(); ++u) {
    json unit;
    const auto idx = static_cast<unit_index>(u);
    unit["unit_id"] = o.id(idx);
    unit["parent_id"] = o.parent(idx) == no_unit ? json(nullptr) : json(o.id(o.parent(idx)));
    unit["name"] = o.name(idx);
    unit["kind"] = o.kind(idx);
    json attrs = json::object();
    for (const auto& a : o.attributes()) {
      std::visit([&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::monostate>) attrs[a.name] = nullptr;
        else attrs[a.name] = v;
      }, a.values[u]);
    }
    unit["attributes"] = std::move(attrs);
    units.push_back(std::move(unit));
  }
  json doc{{"units", std::move(units)}};
  if (!o.overseers().empty()) {
    json ovs = json::array();
    for (const auto& ov : o.overseers()) {
      json ids = json::array();
      for (auto u : ov.units) ids.push_back(o.id(u));
      ovs.push_back({{"overseer_id", ov.id}, {"units", std::move(ids)}});
    }
    doc["overseers"] = std::move(ovs);
  }
  return doc.dump(2);
}

org read_org_json(const std::string& path) { return org_from_json(detail::read_text_file(path), path); }

void write_org_json(const org& o, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw input_error(path + ": cannot open the file for writing");
  out << org_to_json(o) << '\n';
}

}  // namespace memberflow
