#include "memberflow/scenario.hpp"
#include "memberflow/org_io.hpp"
#include "memberflow/replace.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <set>
#include <tuple>

namespace memberflow {

namespace {

Eigen::ArrayXXd& stage_array(parameter_set& ps, param p) {
  switch (p) {
    case param::advance: return ps.advance;
    case param::exit: return ps.exit;
    case param::pass_rate: return ps.pass_rate;
    default: return ps.attrition;
  }
}

std::string unit_stage(const org& o, unit_index u, const pipeline& p, std::size_t s) {
  return "unit '" + o.id(u) + "', stage '" + p.stages()[s].name + "'";
}

}  // namespace

parameter_set parameter_set::defaults(const org& o, const pipeline& p) {
  const auto n = static_cast<Eigen::Index>(o.size());
  const auto m = static_cast<Eigen::Index>(p.size());
  parameter_set ps;
  ps.advance.resize(n, m);
  ps.exit.resize(n, m);
  ps.pass_rate.resize(n, m);
  ps.attrition.resize(n, m);
  for (Eigen::Index s = 0; s < m; ++s) {
    const auto& st = p.stages()[s];
    ps.advance.col(s).setConstant(st.advance);
    ps.exit.col(s).setConstant(st.exit);
    ps.pass_rate.col(s).setConstant(st.pass_rate);
    ps.attrition.col(s).setConstant(st.attrition);
  }
  ps.inflow = Eigen::ArrayXd::Constant(n, p.stages().front().inflow);
  ps.transfer_in = Eigen::ArrayXd::Constant(n, p.stages().back().transfer_in);
  return ps;
}

double parameter_set::get(unit_index u, std::size_t s, param p) const {
  if (p == param::inflow) return inflow(u);
  if (p == param::transfer_in) return transfer_in(u);
  return stage_array(const_cast<parameter_set&>(*this), p)(u, s);
}

void parameter_set::set(unit_index u, std::size_t s, param p, double value) {
  if (p == param::inflow) inflow(u) = value;
  else if (p == param::transfer_in) transfer_in(u) = value;
  else stage_array(*this, p)(u, s) = value;
}

void parameter_set::validate(const org& o, const pipeline& p) const {
  const auto n = static_cast<Eigen::Index>(o.size());
  const auto m = static_cast<Eigen::Index>(p.size());
  for (const auto* a : {&advance, &exit, &pass_rate, &attrition})
    if (a->rows() != n || a->cols() != m)
      throw parameter_error("parameter arrays must be units x stages = " + std::to_string(n) + " x " +
                            std::to_string(m));
  if (inflow.size() != n || transfer_in.size() != n)
    throw parameter_error("arrival arrays must have one value per unit (" + std::to_string(n) + ")");
  // The checks run on every unit before each forecast: build a message only on failure.
  auto in_domain = [](param q, double v) {
    const bool rate = q == param::inflow || q == param::transfer_in;
    return std::isfinite(v) && v >= 0 && v <= (rate ? max_arrival_rate : 1.0);
  };
  for (unit_index u = 0; u < n; ++u)
    for (std::size_t s = 0; s < p.size(); ++s) {
      for (auto q : all_params)
        if (p.takes(s, q) && !in_domain(q, get(u, s, q)))
          detail::check_param_domain(q, get(u, s, q), unit_stage(o, u, p, s));
      if (p.stages()[s].kind == stage_kind::markov && advance(u, s) + exit(u, s) > 1 + 1e-12)
        detail::check_markov_total(advance(u, s), exit(u, s), unit_stage(o, u, p, s));
    }
}

namespace {

// One row of an override table, parsed.
struct override_row {
  std::size_t row;
  std::string scope;
  int level;  // 0: "*", 1: "kind:<kind>", 2: a unit
  std::size_t stage;
  param which;
  double value;
};

// Where the rows of one table act: for each (stage, param), the "*" row, the row of
// each kind and the row of each unit.
struct override_index {
  struct slot {
    std::size_t all = text_table::npos;
    std::map<std::string, std::size_t> kind;
    std::map<unit_index, std::size_t> unit;
  };
  std::map<std::pair<std::size_t, param>, slot> slots;
  std::vector<override_row> rows;

  // The index (into rows) of the row that sets (u, s, q), or npos: the most specific wins.
  std::size_t origin(const org& o, unit_index u, std::size_t s, param q) const {
    const auto it = slots.find({s, q});
    if (it == slots.end()) return text_table::npos;
    const auto& sl = it->second;
    if (auto r = sl.unit.find(u); r != sl.unit.end()) return r->second;
    if (auto r = sl.kind.find(o.kind(u)); r != sl.kind.end()) return r->second;
    return sl.all;
  }
};

override_index parse_overrides(const text_table& t, const org& o, const pipeline& p) {
  const auto scope_col = t.require_column("scope");
  const auto stage_col = t.require_column("stage");
  const auto param_col = t.require_column("param");
  const auto value_col = t.require_column("value");
  std::set<std::string> kinds(o.kinds().begin(), o.kinds().end());
  override_index idx;
  std::map<std::tuple<std::string, std::size_t, param>, std::size_t> seen;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    const auto where = t.where(r).describe();
    override_row ov{r, row[scope_col], 0, 0, param::advance, 0};
    try {
      ov.which = param_from_name(row[param_col]);
    } catch (const unknown_id& e) {
      throw unknown_id(where + ": " + e.what());
    }
    if (row[stage_col].empty() && ov.which == param::inflow) ov.stage = 0;
    else if (row[stage_col].empty() && ov.which == param::transfer_in) ov.stage = p.terminal();
    else {
      try {
        ov.stage = p.index(row[stage_col]);
      } catch (const unknown_id& e) {
        throw unknown_id(where + ": " + e.what());
      }
    }
    if (!p.takes(ov.stage, ov.which))
      throw input_error(where + ": stage '" + p.stages()[ov.stage].name + "' does not take parameter '" +
                        row[param_col] + "'");
    ov.value = detail::parse_double(row[value_col], t.where(r), "value");
    detail::check_param_domain(ov.which, ov.value, where + ": scope '" + ov.scope + "', stage '" +
                                                       p.stages()[ov.stage].name + "'");
    auto& slot = idx.slots[{ov.stage, ov.which}];
    const auto n = idx.rows.size();
    // The scopes of replace.hpp's units_in_scope (which resolves them below), but not
    // "subtree:<unit id>": a table's rows act by how specific their scope is (a unit's
    // row over its kind's over "*", whatever their order), and a subtree is neither more
    // nor less specific than a kind, so it would have no place in that order.
    if (ov.scope.starts_with("subtree:"))
      throw input_error(where + ": scope '" + ov.scope +
                        "': a parameter table's scope is *, kind:<kind> or a unit id (a subtree is for replace)");
    if (ov.scope == "*") {
      ov.level = 0;
      slot.all = n;
    } else if (ov.scope.starts_with("kind:")) {
      ov.level = 1;
      const auto kind = ov.scope.substr(5);
      if (!kinds.count(kind))
        throw unknown_id(where + ": no unit has kind '" + kind + "' (scope '" + ov.scope + "')");
      slot.kind[kind] = n;
    } else {
      ov.level = 2;
      if (!o.contains(ov.scope)) throw unknown_id(where + ": unknown unit '" + ov.scope + "' in column scope");
      slot.unit[o.index(ov.scope)] = n;
    }
    auto [it, fresh] = seen.emplace(std::make_tuple(ov.scope, ov.stage, ov.which), r);
    if (!fresh)
      throw input_error(where + ": scope '" + ov.scope + "', stage '" + p.stages()[ov.stage].name + "', param '" +
                        row[param_col] + "' is already set at " + t.where(it->second).describe());
    idx.rows.push_back(std::move(ov));
  }
  return idx;
}

std::string describe_row(const text_table& t, const override_row& r) {
  return t.where(r.row).describe() + " (scope '" + r.scope + "')";
}

// A row is shadowed when more specific rows of the same table cover every unit it names.
std::vector<std::string> shadow_warnings(const text_table& t, const override_index& idx, const org& o,
                                         const pipeline& p) {
  std::vector<std::string> out;
  for (const auto& ov : idx.rows) {
    if (ov.level == 2) continue;
    std::size_t covered = 0, units = 0, example = text_table::npos;
    for (auto u : units_in_scope(o, ov.scope)) {
      ++units;
      const auto r = idx.origin(o, u, ov.stage, ov.which);
      if (r != text_table::npos && idx.rows[r].level > ov.level) {
        ++covered;
        if (example == text_table::npos) example = r;
      }
    }
    if (units == 0 || covered < units) continue;
    out.push_back(t.where(ov.row).describe() + ": scope '" + ov.scope + "', stage '" +
                  p.stages()[ov.stage].name + "', param '" + std::string(param_name(ov.which)) +
                  "' changes nothing: more specific rows set it for all " + std::to_string(units) +
                  " units it covers (e.g. " + describe_row(t, idx.rows[example]) + ")");
  }
  return out;
}

}  // namespace

std::vector<std::string> parameter_set::apply(const text_table& t, const org& o, const pipeline& p) {
  const auto idx = parse_overrides(t, o, p);
  // Applied to a copy, general scopes first, so that the more specific scope wins
  // whatever the order of the rows and a refused table leaves this set as it was.
  parameter_set updated = *this;
  for (int level = 0; level <= 2; ++level)
    for (const auto& ov : idx.rows)
      if (ov.level == level)
        for (auto u : units_in_scope(o, ov.scope)) updated.set(u, ov.stage, ov.which, ov.value);
  // advance + exit <= 1, named by the rows that set them.
  for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u)
    for (std::size_t s = 0; s < p.size(); ++s) {
      if (p.stages()[s].kind != stage_kind::markov) continue;
      const double a = updated.advance(u, s), e = updated.exit(u, s);
      if (a + e <= 1 + 1e-12) continue;
      auto set_by = [&](param q) {
        const auto r = idx.origin(o, u, s, q);
        return r == text_table::npos ? std::string("the value before this table")
                                     : describe_row(t, idx.rows[r]);
      };
      try {
        detail::check_markov_total(a, e, unit_stage(o, u, p, s));
      } catch (const parameter_error& err) {
        throw parameter_error(std::string(err.what()) + " (advance set at " + set_by(param::advance) +
                              ", exit set at " + set_by(param::exit) + ")");
      }
    }
  updated.validate(o, p);
  updated.applied.push_back(t);
  *this = std::move(updated);
  return shadow_warnings(t, idx, o, p);
}

namespace {

// The values of one (stage, param) over a group of units: how many units hold each.
using value_counts = std::map<double, std::size_t>;

// The mode of a group, the smallest value among equals.
std::pair<double, std::size_t> mode(const value_counts& counts) {
  std::pair<double, std::size_t> best{0, 0};
  for (const auto& [v, c] : counts)
    if (c > best.second) best = {v, c};
  return best;
}

std::size_t holding(const value_counts& counts, double v) {
  const auto it = counts.find(v);
  return it == counts.end() ? 0 : it->second;
}

// Rows a kind needs when the value above it is `base`: unit rows for the units that
// differ from base, or one kind row with the kind's mode and unit rows for the rest;
// base is kept on a tie. Returns the kind's value and the number of rows. `modal` is
// mode(counts), computed once by the caller: general_value tries every distinct value as
// base, and recounting the mode each time was quadratic in the units (minutes nationally
// with unit effects, where every unit's value differs).
std::pair<double, std::size_t> kind_choice(const value_counts& counts, std::pair<double, std::size_t> modal,
                                           std::size_t units, double base) {
  const auto [v, c] = modal;
  const auto keep = units - holding(counts, base);
  return keep <= 1 + units - c ? std::pair{base, keep} : std::pair{v, 1 + units - c};
}

// The "*" value that needs the fewest rows in all (the stage default on a tie, else the
// smallest value), so that the file is as general as the values allow.
double general_value(const std::vector<value_counts>& per_kind, const std::vector<std::size_t>& sizes,
                     double stage_default) {
  std::set<double> candidates{stage_default};
  std::vector<std::pair<double, std::size_t>> modes;
  for (const auto& k : per_kind) {
    modes.push_back(mode(k));
    for (const auto& [v, c] : k) candidates.insert(v);
  }
  auto rows = [&](double b) {
    std::size_t n = b != stage_default;
    for (std::size_t k = 0; k < per_kind.size(); ++k) n += kind_choice(per_kind[k], modes[k], sizes[k], b).second;
    return n;
  };
  double best = stage_default;
  std::size_t best_rows = rows(stage_default);
  for (double b : candidates)
    if (auto r = rows(b); r < best_rows) best = b, best_rows = r;
  return best;
}

}  // namespace

text_table parameter_set::to_table(const org& o, const pipeline& p) const {
  text_table t;
  t.source = "parameters";
  t.columns = {"scope", "stage", "param", "value"};
  const auto n = static_cast<unit_index>(o.size());
  // Kinds in the order of their first unit, so that the file reads in the tree's order.
  std::vector<std::string> kinds;
  std::map<std::string, std::size_t> kind_slot;
  std::vector<std::size_t> kind_of(o.size());
  for (unit_index u = 0; u < n; ++u) {
    auto [it, fresh] = kind_slot.emplace(o.kind(u), kinds.size());
    if (fresh) kinds.push_back(o.kind(u));
    kind_of[u] = it->second;
  }
  std::vector<std::size_t> kind_sizes(kinds.size());
  for (auto k : kind_of) ++kind_sizes[k];
  std::vector<std::vector<std::string>> general, by_kind, by_unit;
  std::vector<unit_index> unit_of_row;  // by_unit's units, to sort without looking ids up
  for (std::size_t s = 0; s < p.size(); ++s)
    for (auto q : all_params) {
      if (!p.takes(s, q)) continue;
      const auto stage_name = p.stages()[s].name;
      const auto name = std::string(param_name(q));
      std::vector<value_counts> per_kind(kinds.size());
      for (unit_index u = 0; u < n; ++u) ++per_kind[kind_of[u]][get(u, s, q)];
      const double stage_default = p.stages()[s].get(q);
      const double base = general_value(per_kind, kind_sizes, stage_default);
      if (base != stage_default) general.push_back({"*", stage_name, name, detail::format_attribute(base)});
      std::vector<double> kind_base(kinds.size());
      for (std::size_t k = 0; k < kinds.size(); ++k) {
        kind_base[k] = kind_choice(per_kind[k], mode(per_kind[k]), kind_sizes[k], base).first;
        if (kind_base[k] != base)
          by_kind.push_back({"kind:" + kinds[k], stage_name, name, detail::format_attribute(kind_base[k])});
      }
      for (unit_index u = 0; u < n; ++u)
        if (get(u, s, q) != kind_base[kind_of[u]]) {
          by_unit.push_back({o.id(u), stage_name, name, detail::format_attribute(get(u, s, q))});
          unit_of_row.push_back(u);
        }
    }
  // Unit rows grouped by unit (the order of the tree), stages and params within.
  std::vector<std::size_t> order(by_unit.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return unit_of_row[a] < unit_of_row[b]; });
  for (auto* rows : {&general, &by_kind})
    for (auto& r : *rows) t.add_row(std::move(r));
  for (auto i : order) t.add_row(std::move(by_unit[i]));
  return t;
}

text_table parameter_set::explain(const org& o, const pipeline& p, const std::vector<unit_index>& units) const {
  std::vector<override_index> tables;
  for (const auto& t : applied) tables.push_back(parse_overrides(t, o, p));
  std::vector<unit_index> which = units;
  if (which.empty())
    for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u) which.push_back(u);
  // The units each what-if change covered (replace.hpp): each unit's place in the scope, or -1.
  std::vector<std::vector<std::int32_t>> replaced_units;
  for (const auto& r : replaced) {
    replaced_units.emplace_back(o.size(), -1);
    std::int32_t k = 0;
    for (auto u : units_in_scope(o, r.scope)) replaced_units.back()[static_cast<std::size_t>(u)] = k++;
  }
  text_table out;
  out.source = "parameters";
  out.columns = {"unit_id", "stage", "param", "value", "scope", "source"};
  for (auto u : which)
    for (std::size_t s = 0; s < p.size(); ++s)
      for (auto q : all_params) {
        if (!p.takes(s, q)) continue;
        // The last table that sets it wins (tables apply on top of each other).
        double value = p.stages()[s].get(q);
        std::string scope = "default", source = defaults_source + ", stage '" + p.stages()[s].name + "'";
        for (std::size_t k = 0; k < tables.size(); ++k) {
          const auto r = tables[k].origin(o, u, s, q);
          if (r == text_table::npos) continue;
          const auto& ov = tables[k].rows[r];
          value = ov.value, scope = ov.scope, source = applied[k].where(ov.row).describe();
        }
        for (std::size_t k = 0; k < replaced.size(); ++k) {
          const auto& r = replaced[k];
          const auto at = replaced_units[k][static_cast<std::size_t>(u)];
          if (r.stage != s || r.which != q || at < 0) continue;
          value = r.scaled && r.results ? (*r.results)[static_cast<std::size_t>(at)] : r.value;
          scope = r.scope, source = "set by replace: " + r.description;
        }
        if (get(u, s, q) != value) scope = "memory", source = "set in memory";
        out.add_row({o.id(u), p.stages()[s].name, std::string(param_name(q)), detail::format_attribute(get(u, s, q)),
                     scope, source});
      }
  return out;
}

calendar_month calendar_month::parse(std::string_view text, const std::string& context) {
  auto bad = [&] {
    return input_error(context + ": expected a calendar month YYYY-MM (e.g. 2021-01), got '" + std::string(text) + "'");
  };
  if (text.size() != 7 || text[4] != '-') throw bad();
  calendar_month m;
  for (std::size_t i = 0; i < 7; ++i) {
    if (i == 4) continue;
    if (text[i] < '0' || text[i] > '9') throw bad();
  }
  m.year = std::stoi(std::string(text.substr(0, 4)));
  m.month = std::stoi(std::string(text.substr(5, 2)));
  if (m.year < 1 || m.month < 1 || m.month > 12) throw bad();
  return m;
}

std::string calendar_month::str() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", year, month);
  return buf;
}

calendar_month calendar_month::plus(long months) const {
  const long total = static_cast<long>(year) * 12 + (month - 1) + months;
  return {static_cast<int>(total / 12), static_cast<int>(total % 12) + 1};
}

scenario::scenario(std::shared_ptr<const org> o, std::shared_ptr<const pipeline> p)
    : organisation(std::move(o)), stages(std::move(p)) {
  if (!organisation || !stages) throw input_error("a scenario needs an organisation and a pipeline");
  params = parameter_set::defaults(*organisation, *stages);
  stocks = Eigen::ArrayXXd::Zero(static_cast<Eigen::Index>(organisation->size()),
                                 static_cast<Eigen::Index>(stages->state_size()));
  targets = Eigen::ArrayXd::Constant(static_cast<Eigen::Index>(organisation->size()),
                                     std::numeric_limits<double>::quiet_NaN());
}

void scenario::validate() const {
  const auto& o = units();
  const auto& p = model();
  params.validate(o, p);
  const auto n = static_cast<Eigen::Index>(o.size());
  if (stocks.rows() != n || stocks.cols() != static_cast<Eigen::Index>(p.state_size()))
    throw input_error("stocks must be units x state slots = " + std::to_string(n) + " x " +
                      std::to_string(p.state_size()));
  for (unit_index u = 0; u < n; ++u)
    for (std::size_t s = 0; s < p.size(); ++s)
      for (std::size_t a = 0; a < p.width(s); ++a) {
        const double c = stocks(u, static_cast<Eigen::Index>(p.offset(s) + a));
        if (!std::isfinite(c) || c < 0 || c != std::floor(c) || c > static_cast<double>(detail::max_count))
          throw input_error(unit_stage(o, u, p, s) + ": the stock must be a whole number from 0 to 2^53, got " +
                            detail::format_attribute(c));
      }
  if (targets.size() != n) throw input_error("targets must have one value per unit (NaN = none)");
  for (unit_index u = 0; u < n; ++u)
    if (!std::isnan(targets(u)) && (!std::isfinite(targets(u)) || targets(u) < 0))
      throw input_error("unit '" + o.id(u) + "': the target must be a number >= 0");
}

}  // namespace memberflow
