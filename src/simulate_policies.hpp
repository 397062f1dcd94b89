#pragma once
// The simulation's policies (include/memberflow/simulate.hpp lists them; src/simulate_setup.hpp
// the engine's files): each path's parameters (uncertainty, parameter sets), the inflow
// profile, course seats and the target rule. The core step (src/simulate_step.cpp) asks
// them for a unit's chances and tells them what happened.
#include <cstdint>
#include <vector>

#include "simulate_setup.hpp"

namespace memberflow::sim {

// Each path's parameters: the scenario's, parameter_sets[path mod size], or the
// scenario's with the uncertainty's entries drawn from (seed, path, entry).
class path_parameters {
 public:
  explicit path_parameters(const setup& su) : su_(su) {}
  void select(std::uint64_t path);
  const parameter_set& params() const { return *ps_; }
  const unit_chances& chances() const { return *ch_; }

 private:
  const setup& su_;
  const parameter_set* ps_ = &su_.sc.params;
  const unit_chances* ch_ = &su_.chances;
  parameter_set drawn_params_;
  unit_chances drawn_chances_;
};

// Arrivals into the first stage in month t: Poisson(inflow x profile[t mod size]).
inline double inflow_rate(const simulation_options& opt, const unit_chances& ch, std::size_t u, int t) {
  const auto& f = opt.inflow_profile;
  return f.empty() ? ch.inflow[u] : ch.inflow[u] * f[static_cast<std::size_t>(t) % f.size()];
}
inline double exp_minus_inflow(const simulation_options& opt, const unit_chances& ch, std::size_t u, int t) {
  return opt.inflow_profile.empty() ? ch.exp_inflow[u] : std::exp(-inflow_rate(opt, ch, u, t));
}

// Course seats: training completes only in session months; the ready trainees of every
// unit compete for the seats, which go to a uniformly random subset of them.
class course_seats {
 public:
  explicit course_seats(const setup& su);
  bool active() const { return active_; }
  bool session(int t) const { return active_ && session_[static_cast<std::size_t>(t)]; }
  void start_path() { ready_.assign(active_ ? n_ : 0, 0); }
  std::int64_t& ready(std::size_t u) { return ready_[u]; }
  // After month t's moves: how many of each unit's ready trainees get a seat. Each ready
  // trainee gets a uniform key from the month's course stream, in unit order; the
  // `seats` smallest keys win.
  const std::vector<std::int64_t>& seat(std::uint64_t path, int t);

 private:
  const setup& su_;
  bool active_;
  std::size_t n_;
  std::vector<char> session_;  // per month
  std::vector<std::int64_t> ready_, winners_;
};

// The target rule: per node with a target, stop its subtree once the year's admissions
// meet it; at quarter ends boost the advance into admission of those behind, and the
// people admitted under that lowered bar form the lowered-bar cohort (src/simulate_step.cpp).
class target_rule_state {
 public:
  explicit target_rule_state(const setup& su);
  bool active() const { return active_; }
  void start_path();
  bool stopped(std::size_t u) const { return active_ && stopped_[u]; }
  bool boosted(std::size_t u) const { return active_ && boosted_[u]; }
  void admitted(std::size_t u, std::int64_t k) {
    if (active_) month_admissions_[u] += k;
  }
  // After month t's moves: stop the nodes that met their target, and at quarter ends
  // boost those behind.
  void after(int t);

 private:
  const setup& su_;
  bool active_;
  std::size_t n_;
  std::vector<std::int64_t> month_admissions_, year_admissions_;
  std::vector<char> stopped_, boosted_;
};

// The chances of unit u in stage s in month t under the policies: the path's, with the
// advance into admission stopped, boosted or outside a course session.
struct policies {
  explicit policies(const setup& su) : su(su), course(su), target(su), adjusts_entry(course.active() || target.active()) {}
  const setup& su;
  course_seats course;
  target_rule_state target;
  const bool adjusts_entry;

  void start_path() {
    course.start_path();
    target.start_path();
  }
  // Whether the policies may change stage s's chances (the stage before admission).
  bool adjusts(std::size_t s) const { return adjusts_entry && s + 1 == su.sc.model().admission(); }
  // Stage s = admission - 1's chances in month t.
  chances entry_chances(const parameter_set& ps, std::size_t u, std::size_t s, int t) const;
};

}  // namespace memberflow::sim
