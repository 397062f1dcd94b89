#include "memberflow/scenario.hpp"
#include "memberflow/org_io.hpp"

#include <cmath>
#include <map>
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
    return std::isfinite(v) && v >= 0 && (rate || v <= 1);
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

void parameter_set::apply(const text_table& t, const org& o, const pipeline& p) {
  const auto scope_col = t.require_column("scope");
  const auto stage_col = t.require_column("stage");
  const auto param_col = t.require_column("param");
  const auto value_col = t.require_column("value");
  struct row_override {
    int level;  // 0: "*", 1: kind, 2: unit
    std::size_t row;
    std::vector<unit_index> units;
    std::size_t stage;
    param which;
    double value;
  };
  std::vector<row_override> rows;
  std::map<std::tuple<std::string, std::size_t, param>, std::size_t> seen;
  std::map<std::string, std::vector<unit_index>> by_kind;
  for (std::size_t u = 0; u < o.size(); ++u) by_kind[o.kinds()[u]].push_back(static_cast<unit_index>(u));

  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    const auto where = t.where(r).describe();
    const auto& scope = row[scope_col];
    row_override ov{};
    ov.row = r;
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
    detail::check_param_domain(ov.which, ov.value, where + ": scope '" + scope + "', stage '" +
                                                       p.stages()[ov.stage].name + "'");
    if (scope == "*") {
      ov.level = 0;
    } else if (scope.rfind("kind:", 0) == 0) {
      ov.level = 1;
      auto it = by_kind.find(scope.substr(5));
      if (it == by_kind.end())
        throw unknown_id(where + ": no unit has kind '" + scope.substr(5) + "' (scope '" + scope + "')");
      ov.units = it->second;
    } else {
      ov.level = 2;
      if (!o.contains(scope)) throw unknown_id(where + ": unknown unit '" + scope + "' in column scope");
      ov.units = {o.index(scope)};
    }
    auto [it, fresh] = seen.emplace(std::make_tuple(scope, ov.stage, ov.which), r);
    if (!fresh)
      throw input_error(where + ": scope '" + scope + "', stage '" + p.stages()[ov.stage].name + "', param '" +
                        row[param_col] + "' is already set at " + t.where(it->second).describe());
    rows.push_back(std::move(ov));
  }
  // The more specific scope wins, whatever the order of the rows. Applied to a copy, so
  // that a table refused by the final check leaves this set as it was.
  parameter_set updated = *this;
  for (int level = 0; level <= 2; ++level)
    for (const auto& ov : rows) {
      if (ov.level != level) continue;
      if (level == 0)
        for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u) updated.set(u, ov.stage, ov.which, ov.value);
      else
        for (auto u : ov.units) updated.set(u, ov.stage, ov.which, ov.value);
    }
  updated.validate(o, p);
  *this = std::move(updated);
}

text_table parameter_set::to_table(const org& o, const pipeline& p) const {
  text_table t;
  t.source = "parameters";
  t.columns = {"scope", "stage", "param", "value"};
  const auto base = defaults(o, p);
  for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u)
    for (std::size_t s = 0; s < p.size(); ++s)
      for (auto q : all_params)
        if (p.takes(s, q) && get(u, s, q) != base.get(u, s, q))
          t.add_row({o.id(u), p.stages()[s].name, std::string(param_name(q)),
                     detail::format_attribute(get(u, s, q))});
  return t;
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
        if (!std::isfinite(c) || c < 0 || c != std::floor(c))
          throw input_error(unit_stage(o, u, p, s) + ": the stock must be a whole number >= 0, got " +
                            detail::format_attribute(c));
      }
  if (targets.size() != n) throw input_error("targets must have one value per unit (NaN = none)");
  for (unit_index u = 0; u < n; ++u)
    if (!std::isnan(targets(u)) && (!std::isfinite(targets(u)) || targets(u) < 0))
      throw input_error("unit '" + o.id(u) + "': the target must be a number >= 0");
}

}  // namespace memberflow
