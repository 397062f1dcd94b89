#include <cmath>
#include <map>

#include "memberflow/org_io.hpp"
#include "memberflow/scenario.hpp"

namespace memberflow {

namespace {

unit_index unit_of(const text_table& t, std::size_t r, std::size_t col, const org& o) {
  const auto& id = t.rows[r][col];
  if (!o.contains(id)) throw unknown_id(t.where(r).describe() + ": unknown unit '" + id + "'");
  return o.index(id);
}

long long whole_number(const text_table& t, std::size_t r, std::size_t col) {
  const auto v = detail::parse_integer(t.rows[r][col], t.where(r), t.columns[col]);
  if (v < 0)
    throw input_error(t.where(r).describe() + ": column '" + t.columns[col] + "' must be >= 0, got " +
                      t.rows[r][col]);
  return v;
}

}  // namespace

Eigen::ArrayXXd stocks_from_table(const text_table& t, const org& o, const pipeline& p) {
  const auto unit_col = t.require_column("unit_id");
  const auto stage_col = t.require_column("stage");
  const auto count_col = t.require_column("count");
  const auto age_col = t.find_column("months_in_stage");
  Eigen::ArrayXXd stocks = Eigen::ArrayXXd::Zero(static_cast<Eigen::Index>(o.size()),
                                                 static_cast<Eigen::Index>(p.state_size()));
  std::map<std::pair<unit_index, std::size_t>, std::size_t> seen;  // (unit, slot) -> row
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto where = t.where(r).describe();
    const auto u = unit_of(t, r, unit_col, o);
    std::size_t s = 0;
    try {
      s = p.index(t.rows[r][stage_col]);
    } catch (const unknown_id& e) {
      throw unknown_id(where + ": " + e.what());
    }
    const auto& st = p.stages()[s];
    const bool has_age = age_col != text_table::npos && !t.rows[r][age_col].empty();
    std::size_t age = 0;
    if (st.kind == stage_kind::fixed) {
      if (!has_age)
        throw input_error(where + ": stage '" + st.name + "' lasts " + std::to_string(st.months) +
                          " months, so months_in_stage (0.." + std::to_string(st.months - 1) + ") is required");
      const auto a = whole_number(t, r, age_col);
      if (a >= st.months)
        throw input_error(where + ": months_in_stage = " + std::to_string(a) + " but stage '" + st.name +
                          "' lasts " + std::to_string(st.months) + " months (ages 0.." +
                          std::to_string(st.months - 1) + ")");
      age = static_cast<std::size_t>(a);
    } else if (has_age) {
      throw input_error(where + ": months_in_stage is given, but stage '" + st.name +
                        "' is not a fixed-duration stage (leave it empty)");
    }
    const auto slot = p.offset(s) + age;
    auto [it, fresh] = seen.emplace(std::make_pair(u, slot), r);
    if (!fresh)
      throw input_error(where + ": unit '" + o.id(u) + "', stage '" + st.name + "'" +
                        (st.kind == stage_kind::fixed ? ", months_in_stage " + std::to_string(age) : "") +
                        " is already given at " + t.where(it->second).describe());
    stocks(u, static_cast<Eigen::Index>(slot)) = static_cast<double>(whole_number(t, r, count_col));
  }
  return stocks;
}

text_table stocks_to_table(const Eigen::ArrayXXd& stocks, const org& o, const pipeline& p) {
  text_table t;
  t.source = "stocks";
  t.columns = {"unit_id", "stage", "count", "months_in_stage"};
  for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u)
    for (std::size_t s = 0; s < p.size(); ++s)
      for (std::size_t a = 0; a < p.width(s); ++a) {
        const double c = stocks(u, static_cast<Eigen::Index>(p.offset(s) + a));
        if (c == 0) continue;
        t.add_row({o.id(u), p.stages()[s].name, detail::format_attribute(c),
                   p.stages()[s].kind == stage_kind::fixed ? std::to_string(a) : ""});
      }
  return t;
}

Eigen::ArrayXd targets_from_table(const text_table& t, const org& o) {
  const auto unit_col = t.require_column("unit_id");
  const auto target_col = t.require_column("target");
  Eigen::ArrayXd targets = Eigen::ArrayXd::Constant(static_cast<Eigen::Index>(o.size()),
                                                    std::numeric_limits<double>::quiet_NaN());
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto u = unit_of(t, r, unit_col, o);
    if (!std::isnan(targets(u)))
      throw input_error(t.where(r).describe() + ": unit '" + o.id(u) + "' has a target already");
    const double v = detail::parse_double(t.rows[r][target_col], t.where(r), "target");
    if (v < 0) throw input_error(t.where(r).describe() + ": target must be >= 0");
    targets(u) = v;
  }
  return targets;
}

text_table targets_to_table(const Eigen::ArrayXd& targets, const org& o) {
  text_table t;
  t.source = "targets";
  t.columns = {"unit_id", "target"};
  for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u)
    if (!std::isnan(targets(u))) t.add_row({o.id(u), detail::format_attribute(targets(u))});
  return t;
}

scenario read_scenario(const std::string& units_path, const pipeline& p, const std::string& params_path,
                       const std::string& stocks_path, const std::string& targets_path) {
  const bool json = units_path.size() >= 5 && units_path.substr(units_path.size() - 5) == ".json";
  auto o = std::make_shared<const org>(json ? read_org_json(units_path) : read_units_csv(units_path));
  scenario sc(o, std::make_shared<const pipeline>(p));
  if (!params_path.empty()) sc.params.apply(read_csv(params_path), *o, p);
  if (!stocks_path.empty()) sc.stocks = stocks_from_table(read_csv(stocks_path), *o, p);
  if (!targets_path.empty()) sc.targets = targets_from_table(read_csv(targets_path), *o);
  sc.validate();
  return sc;
}

}  // namespace memberflow
