#include "memberflow/pipeline.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

namespace memberflow {

namespace {
constexpr std::array<std::string_view, 6> param_names{"advance", "exit", "pass_rate",
                                                      "attrition", "inflow", "transfer_in"};
std::string fmt(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}
}  // namespace

std::string_view param_name(param p) { return param_names[static_cast<std::size_t>(p)]; }

param param_from_name(std::string_view name) {
  for (std::size_t i = 0; i < param_names.size(); ++i)
    if (param_names[i] == name) return static_cast<param>(i);
  std::string valid;
  for (auto n : param_names) valid += (valid.empty() ? "" : ", ") + std::string(n);
  throw unknown_id("unknown parameter '" + std::string(name) + "' (valid: " + valid + ")");
}

std::string event_list() {
  std::string out;
  for (auto e : event_names) out += (out.empty() ? "" : ", ") + std::string(e);
  return out;
}

std::size_t event_index(std::string_view name) {
  const auto e = find_event(name);
  if (e == event_names.size())
    throw unknown_id("unknown event '" + std::string(name) + "' (events: " + event_list() + ")");
  return e;
}

std::string entry_name(const pipeline& p, std::size_t s) {
  if (s == 0) return std::string(event_names[event_at::arrivals]);
  if (s == p.admission()) return std::string(event_names[event_at::admissions]);
  if (s == p.terminal()) return std::string(event_names[event_at::confirmations]);
  return p.stages()[s].name + "_entries";
}

stage stage::markov(std::string name, double advance, double exit, double inflow) {
  stage s;
  s.name = std::move(name);
  s.kind = stage_kind::markov;
  s.advance = advance;
  s.exit = exit;
  s.inflow = inflow;
  return s;
}

stage stage::fixed(std::string name, int months, double exit, double pass_rate) {
  stage s;
  s.name = std::move(name);
  s.kind = stage_kind::fixed;
  s.months = months;
  s.exit = exit;
  s.pass_rate = pass_rate;
  return s;
}

stage stage::terminal(std::string name, double attrition, double transfer_in) {
  stage s;
  s.name = std::move(name);
  s.kind = stage_kind::terminal;
  s.attrition = attrition;
  s.transfer_in = transfer_in;
  return s;
}

double stage::get(param p) const {
  switch (p) {
    case param::advance: return advance;
    case param::exit: return exit;
    case param::pass_rate: return pass_rate;
    case param::attrition: return attrition;
    case param::inflow: return inflow;
    case param::transfer_in: return transfer_in;
  }
  return 0;
}

void stage::set(param p, double value) {
  switch (p) {
    case param::advance: advance = value; break;
    case param::exit: exit = value; break;
    case param::pass_rate: pass_rate = value; break;
    case param::attrition: attrition = value; break;
    case param::inflow: inflow = value; break;
    case param::transfer_in: transfer_in = value; break;
  }
}

namespace detail {

void check_param_domain(param p, double value, const std::string& context) {
  const bool rate = p == param::inflow || p == param::transfer_in;
  if (!std::isfinite(value) || value < 0 || value > (rate ? max_arrival_rate : 1.0))
    throw parameter_error(context + ": " + std::string(param_name(p)) + " = " + fmt(value) + " is outside " +
                          (rate ? "[0, 1e9] (people per month)" : "[0, 1] (a probability per month)"));
}

void check_markov_total(double advance, double exit, const std::string& context) {
  if (advance + exit > 1 + 1e-12)
    throw parameter_error(context + ": advance + exit = " + fmt(advance) + " + " + fmt(exit) + " = " +
                          fmt(advance + exit) + " > 1");
}

}  // namespace detail

bool pipeline::takes(std::size_t s, param p) const {
  const auto kind = stages_[s].kind;
  switch (p) {
    case param::advance: return kind == stage_kind::markov;
    case param::exit: return kind != stage_kind::terminal;
    case param::pass_rate: return kind == stage_kind::fixed;
    case param::attrition: return kind == stage_kind::terminal;
    case param::inflow: return s == 0;
    case param::transfer_in: return kind == stage_kind::terminal;
  }
  return false;
}

pipeline::pipeline(std::vector<stage> stages, std::string admission_stage) : stages_(std::move(stages)) {
  if (stages_.size() < 2) throw parameter_error("a pipeline needs at least two stages");
  std::set<std::string> seen;
  for (std::size_t s = 0; s < stages_.size(); ++s) {
    const auto& st = stages_[s];
    const auto ctx = "stage '" + st.name + "'";
    if (st.name.empty()) throw parameter_error("stage " + std::to_string(s + 1) + " has an empty name");
    if (!seen.insert(st.name).second) throw parameter_error("two stages are named '" + st.name + "'");
    if (std::find(event_names.begin(), event_names.end(), st.name) != event_names.end())
      throw parameter_error(ctx + ": the name is reserved for an event quantity");
    const bool last = s + 1 == stages_.size();
    if (last != (st.kind == stage_kind::terminal))
      throw parameter_error(ctx + (last ? ": the last stage must be terminal" : ": only the last stage may be terminal"));
    if (st.kind == stage_kind::fixed && (st.months < 1 || st.months > max_stage_months))
      throw parameter_error(ctx + ": months = " + std::to_string(st.months) + " must be from 1 to " +
                            std::to_string(max_stage_months));
    for (auto p : all_params) {
      if (takes(s, p)) detail::check_param_domain(p, st.get(p), ctx);
      else if (st.get(p) != (p == param::pass_rate ? 1.0 : 0.0))
        throw parameter_error(ctx + ": a " + (st.kind == stage_kind::markov ? std::string("markov")
                                              : st.kind == stage_kind::fixed ? "fixed" : "terminal") +
                              (s == 0 ? " first" : "") + " stage does not take " + std::string(param_name(p)));
    }
    if (st.kind == stage_kind::markov) detail::check_markov_total(st.advance, st.exit, ctx);
  }
  admission_ = index(admission_stage);
  if (admission_ == 0) throw parameter_error("the admission stage '" + admission_stage + "' cannot be the first stage");
  offset_.resize(stages_.size());
  for (std::size_t s = 0; s < stages_.size(); ++s) {
    offset_[s] = state_size_;
    state_size_ += width(s);
  }
}

std::size_t pipeline::index(std::string_view stage_name) const {
  for (std::size_t s = 0; s < stages_.size(); ++s)
    if (stages_[s].name == stage_name) return s;
  std::string valid;
  for (const auto& st : stages_) valid += (valid.empty() ? "" : ", ") + st.name;
  throw unknown_id("unknown stage '" + std::string(stage_name) + "' (stages: " + valid + ")");
}

pipeline pipeline::party() {
  return pipeline({stage::markov("source", 0.05, 0.02, 1.0), stage::markov("training", 0.15, 0.02),
                   stage::fixed("probation", 12, 0.002, 0.97), stage::terminal("full", 0.002)},
                  "probation");
}

}  // namespace memberflow
