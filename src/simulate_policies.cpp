#include "simulate_policies.hpp"

#include <algorithm>
#include <numeric>
#include <span>

#include "memberflow/random.hpp"

namespace memberflow::sim {

namespace {

// The uncertainty's draws for one path: entry i from (seed, path, i), shared by its scope.
void apply_draws(const setup& su, std::uint64_t path, parameter_set& ps) {
  for (std::size_t i = 0; i < su.opt.uncertainty.size(); ++i) {
    const auto& d = su.opt.uncertainty[i];
    random::stream rs(su.opt.seed, path, i, 0, uncertainty_domain);
    const double v = d.distribution == "beta" ? random::beta(rs, d.a, d.b) : random::gamma(rs, d.a, d.b);
    for (auto u : su.draw_units[i]) ps.set(u, su.draw_stage[i], su.draw_param[i], v);
  }
}

}  // namespace

void path_parameters::select(std::uint64_t path) {
  if (!su_.opt.parameter_sets.empty()) {
    const auto& sets = su_.opt.parameter_sets;
    ps_ = &sets[path % sets.size()];
    drawn_chances_ = make_chances(su_, *ps_);
    ch_ = &drawn_chances_;
  } else if (!su_.opt.uncertainty.empty()) {
    drawn_params_ = su_.sc.params;
    apply_draws(su_, path, drawn_params_);
    drawn_params_.validate(su_.sc.units(), su_.sc.model());
    drawn_chances_ = make_chances(su_, drawn_params_);
    ps_ = &drawn_params_;
    ch_ = &drawn_chances_;
  } else {
    ps_ = &su_.sc.params;
    ch_ = &su_.chances;
  }
}

course_seats::course_seats(const setup& su)
    : su_(su), active_(su.opt.course.has_value()), n_(su.sc.units().size()) {
  session_.assign(static_cast<std::size_t>(su.horizon), 0);
  if (active_)
    for (int t : su.opt.course->session_months)
      if (t >= 0 && t < su.horizon) session_[static_cast<std::size_t>(t)] = 1;
}

const std::vector<std::int64_t>& course_seats::seat(std::uint64_t path, int t) {
  const auto total_ready = std::accumulate(ready_.begin(), ready_.end(), std::int64_t{0});
  winners_ = ready_;
  if (total_ready > su_.opt.course->seats) {
    random::stream rs(su_.opt.seed, path, static_cast<std::uint64_t>(-1), static_cast<std::uint64_t>(t), course_domain);
    std::vector<std::pair<double, std::size_t>> keys;
    keys.reserve(static_cast<std::size_t>(total_ready));
    for (std::size_t u = 0; u < n_; ++u)
      for (std::int64_t k = 0; k < ready_[u]; ++k) keys.emplace_back(rs.uniform(), u);
    const auto seats = static_cast<std::size_t>(su_.opt.course->seats);
    std::nth_element(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(seats), keys.end());
    std::fill(winners_.begin(), winners_.end(), 0);
    for (std::size_t i = 0; i < seats; ++i) ++winners_[keys[i].second];
  }
  return winners_;
}

target_rule_state::target_rule_state(const setup& su)
    : su_(su), active_(su.opt.target_rule.has_value()), n_(su.sc.units().size()) {}

void target_rule_state::start_path() {
  if (!active_) return;
  month_admissions_.assign(n_, 0);
  year_admissions_.assign(n_, 0);
  stopped_.assign(n_, 0);
  boosted_.assign(n_, 0);
}

void target_rule_state::after(int t) {
  if (!active_) return;
  const auto& rule = *su_.opt.target_rule;
  const auto& o = su_.sc.units();
  for (std::size_t u = 0; u < n_; ++u) year_admissions_[u] += month_admissions_[u];
  std::fill(month_admissions_.begin(), month_admissions_.end(), 0);
  const auto subtree = o.rollup(std::span<const std::int64_t>(year_admissions_));
  const bool year_end = (t + 1) % 12 == 0, quarter_end = (t + 1) % 3 == 0;
  if (quarter_end) std::fill(boosted_.begin(), boosted_.end(), 0);
  for (auto node : su_.target_nodes) {
    const double target = su_.sc.targets(node);
    const auto done = static_cast<double>(subtree[static_cast<std::size_t>(node)]);
    const bool met = rule.stop_when_met && done >= target;
    const int quarter = ((t % 12) + 1) / 3;
    const bool behind = quarter_end && !year_end && done < target * quarter / 4.0 - rule.margin;
    for (auto v : o.subtree(node)) {
      if (met) stopped_[static_cast<std::size_t>(v)] = 1;
      if (behind) boosted_[static_cast<std::size_t>(v)] = 1;
    }
  }
  if (year_end) {
    std::fill(year_admissions_.begin(), year_admissions_.end(), 0);
    std::fill(stopped_.begin(), stopped_.end(), 0);
  }
}

chances policies::entry_chances(const parameter_set& ps, std::size_t u, std::size_t s, int t) const {
  const auto ui = static_cast<Eigen::Index>(u), si = static_cast<Eigen::Index>(s);
  double a = ps.advance(ui, si);
  const double e = ps.exit(ui, si);
  if (target.stopped(u)) a = 0;
  else if (target.boosted(u)) a = std::min(a + su.opt.target_rule->advance_boost, 1 - e);
  if (course.active() && !course.session(t)) a = 0;
  return chances::markov(a, e);
}

}  // namespace memberflow::sim
