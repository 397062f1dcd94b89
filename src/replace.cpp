#include "memberflow/replace.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>

namespace memberflow {

namespace {

std::string num(double v) {
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  return detail::number_text(v);
}

std::string scope_words(std::string_view scope) {
  if (scope == "*") return "every unit";
  if (scope.starts_with("kind:")) return "kind '" + std::string(scope.substr(5)) + "'";
  if (scope.starts_with("subtree:")) return "the subtree of '" + std::string(scope.substr(8)) + "'";
  return "unit '" + std::string(scope) + "'";
}

const std::string& stage_name(const pipeline& p, std::size_t s) { return p.stages()[s].name; }

std::string unit_stage(const org& o, unit_index u, const pipeline& p, std::size_t s) {
  return "unit '" + o.id(u) + "', stage '" + stage_name(p, s) + "'";
}

// advance and exit of a markov stage: the checks of their sum run once all changes are in.
bool sums_to_check(const pipeline& p, std::size_t s, param q) {
  return p.stages()[s].kind == stage_kind::markov && (q == param::advance || q == param::exit);
}

struct applied_change {
  std::size_t stage = 0;
  param which = param::advance;
  bool is_param = false;
};

void change_target(scenario& out, const change& c, const std::vector<unit_index>& units) {
  if (!c.stage.empty()) throw input_error("a target belongs to a node, not to a stage: leave stage empty");
  if (c.month_in_stage) throw input_error("month_in_stage applies to stocks of fixed-duration stages only");
  switch (c.op) {
    case change_op::set:
      if (!std::isnan(c.value) && !(std::isfinite(c.value) && c.value >= 0))
        throw input_error("a target must be a number >= 0 (or NaN for none), got " + num(c.value));
      for (auto u : units) out.targets(u) = c.value;
      return;
    case change_op::scale:
      if (!std::isfinite(c.value) || c.value < 0)
        throw input_error("a target's factor must be a finite number >= 0, got " + num(c.value));
      for (auto u : units) out.targets(u) *= c.value;  // NaN (no target) stays NaN
      return;
    case change_op::add:
      if (!std::isfinite(c.value)) throw input_error("the amount must be a finite number, got " + num(c.value));
      for (auto u : units) {
        if (std::isnan(out.targets(u))) continue;
        const double t = out.targets(u) + c.value;
        if (t < 0)
          throw input_error("unit '" + out.units().id(u) + "': the target would be " + num(t) + " (" +
                            num(out.targets(u)) + " + " + num(c.value) + "), below 0");
        out.targets(u) = t;
      }
      return;
  }
}

void change_stock(scenario& out, const change& c, const std::vector<unit_index>& units) {
  const auto& o = out.units();
  const auto& p = out.model();
  if (c.stage.empty()) throw input_error("say which stage's stock to change");
  const auto s = p.index(c.stage);
  const auto width = p.width(s);
  const bool fixed = p.stages()[s].kind == stage_kind::fixed;
  std::size_t first = p.offset(s), last = p.offset(s) + width;  // slots acted on
  if (c.month_in_stage) {
    if (!fixed)
      throw input_error("month_in_stage applies to fixed-duration stages only; stage '" + c.stage + "' is not one");
    const int m = *c.month_in_stage;
    if (m < 0 || m >= static_cast<int>(width))
      throw input_error("month_in_stage " + std::to_string(m) + " is outside 0.." + std::to_string(width - 1) +
                        " (stage '" + c.stage + "' lasts " + std::to_string(width) + " months)");
    first = p.offset(s) + static_cast<std::size_t>(m), last = first + 1;
  } else if (fixed && c.op != change_op::scale) {
    throw input_error("stage '" + c.stage + "' lasts " + std::to_string(width) +
                      " months: say which month_in_stage (0.." + std::to_string(width - 1) + ") to " +
                      std::string(change_op_name(c.op)));
  }
  if (!std::isfinite(c.value)) throw input_error("the value must be a finite number, got " + num(c.value));
  const double max = static_cast<double>(detail::max_count);
  if (c.op != change_op::scale && (c.value != std::floor(c.value) || std::fabs(c.value) > max))
    throw input_error("a stock is a whole number of people: got " + num(c.value));
  if (c.op == change_op::set && c.value < 0) throw input_error("a stock cannot be negative: got " + num(c.value));
  if (c.op == change_op::scale && c.value < 0)
    throw input_error("a stock's factor must be >= 0, got " + num(c.value));
  for (auto u : units)
    for (std::size_t a = first; a < last; ++a) {
      double& cell = out.stocks(u, static_cast<Eigen::Index>(a));
      const double v = c.op == change_op::set     ? c.value
                       : c.op == change_op::add   ? cell + c.value
                                                  : std::nearbyint(cell * c.value);
      if (v < 0 || v > max)
        throw input_error(unit_stage(o, u, p, s) + ": the stock would be " + num(v) + " (" + num(cell) +
                          (c.op == change_op::add ? " + " : " x ") + num(c.value) + "), outside 0 to 2^53");
      cell = v;
    }
}

applied_change change_param(scenario& out, const change& c, const std::vector<unit_index>& units) {
  const auto& o = out.units();
  const auto& p = out.model();
  param q;
  try {
    q = param_from_name(c.what);
  } catch (const unknown_id&) {
    throw unknown_id("unknown quantity '" + c.what +
                     "' (valid: advance, exit, pass_rate, attrition, inflow, transfer_in, stock, target)");
  }
  std::size_t s;
  if (c.stage.empty() && q == param::inflow) s = 0;
  else if (c.stage.empty() && q == param::transfer_in) s = p.terminal();
  else if (c.stage.empty()) throw input_error("say which stage's " + c.what + " to change");
  else s = p.index(c.stage);
  if (!p.takes(s, q))
    throw input_error("stage '" + stage_name(p, s) + "' does not take parameter '" + c.what + "'");
  if (c.month_in_stage) throw input_error("month_in_stage applies to stocks of fixed-duration stages only");
  if (c.op == change_op::add)
    throw input_error("add applies to stocks and targets; set or scale a parameter");
  if (c.op == change_op::set) detail::check_param_domain(q, c.value, "the value");
  if (c.op == change_op::scale && (!std::isfinite(c.value) || c.value < 0))
    throw parameter_error("a parameter's factor must be a finite number >= 0, got " + num(c.value));
  auto& ps = out.params;
  std::shared_ptr<std::vector<double>> results;
  if (c.op == change_op::scale) results = std::make_shared<std::vector<double>>(units.size());
  for (std::size_t k = 0; k < units.size(); ++k) {
    const auto u = units[k];
    const double v = c.op == change_op::set ? c.value : ps.get(u, s, q) * c.value;
    if (results) {
      detail::check_param_domain(q, v, unit_stage(o, u, p, s) + " after scaling by " + num(c.value));
      (*results)[k] = v;
    }
    ps.set(u, s, q, v);
  }
  ps.replaced.push_back({c.scope, s, q, c.op == change_op::scale, c.value, c.describe(), std::move(results)});
  return {s, q, true};
}

[[noreturn]] void rethrow_naming(const std::string& where) {
  try {
    throw;
  } catch (const unknown_id& e) {
    throw unknown_id(where + ": " + e.what());
  } catch (const parameter_error& e) {
    throw parameter_error(where + ": " + e.what());
  } catch (const input_error& e) {
    throw input_error(where + ": " + e.what());
  } catch (const error& e) {
    throw error(where + ": " + e.what());
  }
}

}  // namespace

std::string_view change_op_name(change_op op) {
  switch (op) {
    case change_op::set: return "set";
    case change_op::scale: return "scale";
    case change_op::add: return "add";
  }
  return "?";
}

change_op change_op_from_name(std::string_view name) {
  if (name == "set") return change_op::set;
  if (name == "scale") return change_op::scale;
  if (name == "add") return change_op::add;
  throw unknown_id("unknown op '" + std::string(name) + "' (valid: set, scale, add)");
}

std::string change::describe() const {
  std::string thing = what == "stock" ? "the stock" : what;
  if (!stage.empty()) thing += " of stage '" + stage + "'";
  if (month_in_stage) thing += " (month " + std::to_string(*month_in_stage) + " in stage)";
  std::string text;
  switch (op) {
    case change_op::set: text = "set " + thing + " to " + num(value); break;
    case change_op::scale: text = "scale " + thing + " by " + num(value); break;
    case change_op::add: text = "add " + num(value) + " to " + thing; break;
  }
  return text + " for " + scope_words(scope);
}

std::vector<unit_index> units_in_scope(const org& o, std::string_view scope) {
  const auto n = static_cast<unit_index>(o.size());
  std::vector<unit_index> out;
  if (scope == "*") {
    out.resize(o.size());
    for (unit_index u = 0; u < n; ++u) out[static_cast<std::size_t>(u)] = u;
  } else if (scope.starts_with("kind:")) {
    const auto kind = scope.substr(5);
    for (unit_index u = 0; u < n; ++u)
      if (o.kind(u) == kind) out.push_back(u);
    if (out.empty()) throw unknown_id("no unit has kind '" + std::string(kind) + "' (scope '" + std::string(scope) + "')");
  } else if (scope.starts_with("subtree:")) {
    const auto id = scope.substr(8);
    if (!o.contains(id)) throw unknown_id("unknown unit '" + std::string(id) + "' (scope '" + std::string(scope) + "')");
    const auto sub = o.subtree(o.index(id));
    out.assign(sub.begin(), sub.end());
    std::sort(out.begin(), out.end());
  } else {
    if (!o.contains(scope))
      throw unknown_id("unknown unit '" + std::string(scope) +
                       "' (a scope is *, kind:<kind>, subtree:<unit id> or a unit id)");
    out.push_back(o.index(scope));
  }
  return out;
}

scenario replace(const scenario& s, std::span<const change> changes) {
  scenario out = s;  // shares the organisation and the pipeline
  const auto& o = s.units();
  const auto& p = s.model();
  const auto count = std::to_string(changes.size());
  auto where = [&](std::size_t i) {
    return "replace, change " + std::to_string(i + 1) + " of " + count + " (" + changes[i].describe() + ")";
  };
  std::vector<applied_change> done(changes.size());
  std::set<std::size_t> markov_touched;
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const auto& c = changes[i];
    try {
      const auto units = units_in_scope(o, c.scope);
      if (c.what == "target") change_target(out, c, units);
      else if (c.what == "stock") change_stock(out, c, units);
      else {
        done[i] = change_param(out, c, units);
        if (sums_to_check(p, done[i].stage, done[i].which)) markov_touched.insert(done[i].stage);
      }
    } catch (const error&) {
      rethrow_naming(where(i));
    }
  }
  // advance + exit <= 1 where a change set either, named by the changes that set them.
  for (auto st : markov_touched)
    for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u) {
      const double a = out.params.advance(u, st), e = out.params.exit(u, st);
      if (a + e <= 1 + 1e-12) continue;
      auto set_by = [&](param q) {
        for (std::size_t i = changes.size(); i-- > 0;) {
          if (!done[i].is_param || done[i].stage != st || done[i].which != q) continue;
          const auto units = units_in_scope(o, changes[i].scope);
          if (std::binary_search(units.begin(), units.end(), u)) return where(i);
        }
        return std::string("the scenario before the changes");
      };
      try {
        detail::check_markov_total(a, e, unit_stage(o, u, p, st));
      } catch (const parameter_error& err) {
        throw parameter_error(std::string(err.what()) + " (advance set by " + set_by(param::advance) +
                              "; exit set by " + set_by(param::exit) + ")");
      }
    }
  return out;
}

}  // namespace memberflow
