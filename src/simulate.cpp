#include "memberflow/simulate.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>

#include "memberflow/random.hpp"

namespace memberflow {

namespace {

// Stream domains: independent uses of the same (path, unit, month) counters.
constexpr std::uint64_t moves_domain = 0, course_domain = 1, uncertainty_domain = 2;
constexpr std::size_t n_events = event_names.size();
enum { ev_admissions, ev_confirmations, ev_arrivals, ev_exits, ev_leavers };

std::size_t event_index(std::string_view name) {
  for (std::size_t e = 0; e < n_events; ++e)
    if (event_names[e] == name) return e;
  return n_events;
}

// A growing histogram of integer counts.
struct histogram {
  long long offset = 0;
  std::vector<std::int64_t> counts;
  void add(long long k, std::int64_t times = 1) {
    if (counts.empty()) offset = k;
    if (k < offset) {
      counts.insert(counts.begin(), static_cast<std::size_t>(offset - k), 0);
      offset = k;
    }
    const auto i = static_cast<std::size_t>(k - offset);
    if (i >= counts.size()) counts.resize(i + 1, 0);
    counts[i] += times;
  }
  void merge(const histogram& other) {
    for (std::size_t i = 0; i < other.counts.size(); ++i)
      if (other.counts[i]) add(other.offset + static_cast<long long>(i), other.counts[i]);
  }
};

// What one worker accumulates; merged by integer addition, so order does not matter.
struct accumulator {
  std::vector<std::vector<std::int64_t>> sums;  // per quantity (stages, then events): units x months
  std::vector<std::vector<histogram>> hist;     // per tracked quantity: per node
};

struct setup {
  const scenario& sc;
  int horizon;
  const simulation_options& opt;
  std::vector<tracked_quantity> tracked;
  std::vector<std::size_t> tracked_stage;  // stage index, or npos for events
  std::vector<std::size_t> tracked_event;
  std::vector<std::vector<unit_index>> draw_units;  // per uncertainty entry
  std::vector<std::size_t> draw_stage;
  std::vector<param> draw_param;
  std::vector<unit_index> target_nodes;
  bool low_class = false;  // the target rule's lowered-bar cohort in the admission stage
  std::size_t n_quantities() const { return sc.model().size() + n_events; }
};

struct path_state {
  std::vector<std::int64_t> x, low;  // units x slots; units x admission-stage width
};

void apply_draws(const setup& su, std::uint64_t path, parameter_set& ps) {
  for (std::size_t i = 0; i < su.opt.uncertainty.size(); ++i) {
    const auto& d = su.opt.uncertainty[i];
    random::stream rs(su.opt.seed, path, i, 0, uncertainty_domain);
    const double v = d.distribution == "beta" ? random::beta(rs, d.a, d.b) : random::gamma(rs, d.a, d.b);
    for (auto u : su.draw_units[i]) ps.set(u, su.draw_stage[i], su.draw_param[i], v);
  }
}

class path_simulator {
 public:
  path_simulator(const setup& su, accumulator& acc, std::vector<std::vector<std::int64_t>>* kept)
      : su_(su), acc_(acc), kept_(kept), p_(su.sc.model()), o_(su.sc.units()), n_(o_.size()) {}

  void run(std::uint64_t path) {
    const parameter_set* ps = &su_.sc.params;
    parameter_set drawn;
    if (!su_.opt.uncertainty.empty()) {
      drawn = su_.sc.params;
      apply_draws(su_, path, drawn);
      drawn.validate(o_, p_);
      ps = &drawn;
    }
    const auto slots = p_.state_size();
    const auto adm_width = p_.width(p_.admission());
    state_.x.assign(n_ * slots, 0);
    for (std::size_t u = 0; u < n_; ++u)
      for (std::size_t j = 0; j < slots; ++j)
        state_.x[u * slots + j] = static_cast<std::int64_t>(su_.sc.stocks(static_cast<Eigen::Index>(u), static_cast<Eigen::Index>(j)));
    state_.low.assign(su_.low_class ? n_ * adm_width : 0, 0);
    exp_inflow_.resize(n_);
    exp_transfer_.resize(n_);
    for (std::size_t u = 0; u < n_; ++u) {
      exp_inflow_[u] = std::exp(-ps->inflow(static_cast<Eigen::Index>(u)));
      exp_transfer_[u] = std::exp(-ps->transfer_in(static_cast<Eigen::Index>(u)));
    }
    // Buffers are sized once per simulator and refilled: allocating them per path would
    // make every path page-fault fresh memory, which serialises threads in the kernel.
    tracked_counts_.resize(su_.tracked.size());
    for (auto& c : tracked_counts_) c.assign(n_, 0);
    year_admissions_.assign(n_, 0);
    stopped_.assign(n_, 0);
    boosted_.assign(n_, 0);
    next_ = state_;
    events_.assign(n_ * n_events, 0);
    path_events_.resize(n_events);
    for (auto& e : path_events_) e.assign(n_ * static_cast<std::size_t>(su_.horizon), 0);
    for (int t = 0; t <= su_.horizon; ++t) {
      record_stocks(t);
      if (t == su_.horizon) break;
      month(path, t, *ps);
      record_events(t);
      target_rule_after(t);
      std::swap(state_, next_);
    }
    sum_tracked_events();
    finish_path(path);
  }

 private:
  std::int64_t stage_stock(std::size_t u, std::size_t s) const {
    std::int64_t total = 0;
    const auto slots = p_.state_size();
    for (std::size_t a = 0; a < p_.width(s); ++a) total += state_.x[u * slots + p_.offset(s) + a];
    if (su_.low_class && s == p_.admission())
      for (std::size_t a = 0; a < p_.width(s); ++a) total += state_.low[u * p_.width(s) + a];
    return total;
  }

  void record_stocks(int t) {
    const auto months = static_cast<std::size_t>(su_.horizon + 1);
    for (std::size_t s = 0; s < p_.size(); ++s) {
      auto& sums = acc_.sums[s];
      for (std::size_t u = 0; u < n_; ++u) sums[u * months + static_cast<std::size_t>(t)] += stage_stock(u, s);
    }
    for (std::size_t i = 0; i < su_.tracked.size(); ++i)
      if (su_.tracked_event[i] == n_events && su_.tracked[i].window.first == t)
        for (std::size_t u = 0; u < n_; ++u) tracked_counts_[i][u] = stage_stock(u, su_.tracked_stage[i]);
  }

  void record_events(int t) {
    const auto h = static_cast<std::size_t>(su_.horizon);
    for (std::size_t e = 0; e < n_events; ++e) {
      auto& sums = acc_.sums[p_.size() + e];
      auto& mine = path_events_[e];
      for (std::size_t u = 0; u < n_; ++u) {
        const auto v = events_[u * n_events + e];
        sums[u * h + static_cast<std::size_t>(t)] += v;
        mine[u * h + static_cast<std::size_t>(t)] = v;
      }
    }
  }

  // Tracked events: each unit's sum over the window, from this path's monthly events.
  void sum_tracked_events() {
    const auto h = static_cast<std::size_t>(su_.horizon);
    for (std::size_t i = 0; i < su_.tracked.size(); ++i) {
      const auto e = su_.tracked_event[i];
      if (e == n_events) continue;
      const auto& w = su_.tracked[i].window;
      const auto& mine = path_events_[e];
      for (std::size_t u = 0; u < n_; ++u) {
        std::int64_t sum = 0;
        for (auto t = static_cast<std::size_t>(w.first); t < static_cast<std::size_t>(w.last); ++t) sum += mine[u * h + t];
        tracked_counts_[i][u] = sum;
      }
    }
  }

  // The course policy: is month t a session, and how many of each unit's ready trainees
  // get a seat.
  bool session(int t) const {
    const auto& c = su_.opt.course;
    return c && std::find(c->session_months.begin(), c->session_months.end(), t) != c->session_months.end();
  }

  void month(std::uint64_t path, int t, const parameter_set& ps) {
    const auto slots = p_.state_size();
    std::fill(next_.x.begin(), next_.x.end(), 0);
    std::fill(next_.low.begin(), next_.low.end(), 0);
    std::fill(events_.begin(), events_.end(), 0);
    const std::size_t training = p_.admission() - 1;
    const bool course = su_.opt.course.has_value();
    ready_.assign(course ? n_ : 0, 0);
    const double profile = su_.opt.inflow_profile.empty()
                               ? 1.0
                               : su_.opt.inflow_profile[static_cast<std::size_t>(t) % su_.opt.inflow_profile.size()];
    for (std::size_t u = 0; u < n_; ++u) {
      random::stream rs(su_.opt.seed, path, u, static_cast<std::uint64_t>(t), moves_domain);
      const auto ui = static_cast<Eigen::Index>(u);
      std::int64_t* x = &state_.x[u * slots];
      std::int64_t* nx = &next_.x[u * slots];
      std::int64_t* ev = &events_[u * n_events];
      std::int64_t entering = 0, entering_low = 0;
      for (std::size_t s = 0; s < p_.size(); ++s) {
        const auto& st = p_.stages()[s];
        const auto si = static_cast<Eigen::Index>(s);
        const auto off = p_.offset(s);
        std::int64_t moving = 0, moving_low = 0;
        switch (st.kind) {
          case stage_kind::markov: {
            double a = ps.advance(ui, si);
            const double e = ps.exit(ui, si);
            if (s + 1 == p_.admission()) {
              if (stopped_[u]) a = 0;
              else if (boosted_[u]) a = std::min(a + su_.opt.target_rule->advance_boost, 1 - e);
            }
            if (course && s == training && !session(t)) a = 0;
            const auto n = x[off];
            const auto adv = random::binomial(rs, n, a);
            // The chance of exit given no advance; a + e may exceed 1 by a rounding (0.9 + 0.1,
            // or an advance capped at 1 - e), so the ratio may exceed 1 by an ulp.
            const auto ex = a < 1 ? random::binomial(rs, n - adv, std::min(1.0, e / (1 - a))) : 0;
            ev[ev_exits] += ex;
            nx[off] += n - adv - ex;
            if (course && s == training) {
              ready_[u] = adv;  // seats are allocated after every unit has drawn
              nx[off] += adv;   // provisionally waiting; winners move on below
            } else {
              moving = adv;
            }
            break;
          }
          case stage_kind::fixed: {
            const double e = ps.exit(ui, si), pass = ps.pass_rate(ui, si);
            auto step = [&](std::int64_t* ages, std::int64_t* next_ages, double pass_rate, std::int64_t& out) {
              for (int a = 0; a + 1 < st.months; ++a) {
                const auto ex = random::binomial(rs, ages[a], e);
                ev[ev_exits] += ex;
                next_ages[a + 1] += ages[a] - ex;
              }
              const auto last = ages[st.months - 1];
              const auto ex = random::binomial(rs, last, e);
              const auto passed = random::binomial(rs, last - ex, pass_rate);
              ev[ev_exits] += last - passed;
              out = passed;
            };
            step(x + off, nx + off, pass, moving);
            if (su_.low_class && s == p_.admission()) {
              const auto w = p_.width(s);
              step(&state_.low[u * w], &next_.low[u * w], std::max(0.0, pass - su_.opt.target_rule->pass_penalty),
                   moving_low);
            }
            break;
          }
          case stage_kind::terminal: {
            const auto n = x[off];
            const auto leave = random::binomial(rs, n, ps.attrition(ui, si));
            ev[ev_leavers] += leave;
            nx[off] += n - leave;
            break;
          }
        }
        if (s > 0) {  // people entering stage s this month (from s - 1)
          if (su_.low_class && s == p_.admission() && boosted_[u]) next_.low[u * p_.width(s)] += entering;
          else nx[off] += entering;
          nx[off] += entering_low;
          if (s == p_.admission()) ev[ev_admissions] += entering;
          if (s == p_.terminal()) ev[ev_confirmations] += entering + entering_low;
        }
        entering = moving;
        entering_low = moving_low;
      }
      const auto in = random::poisson(rs, ps.inflow(ui) * profile,
                                      su_.opt.inflow_profile.empty() ? exp_inflow_[u] : -1.0);
      const auto transfer = random::poisson(rs, ps.transfer_in(ui), exp_transfer_[u]);
      nx[0] += in;
      nx[p_.offset(p_.terminal())] += transfer;
      ev[ev_arrivals] += in + transfer;
    }
    if (course && session(t)) seat_the_ready(path, t);
  }

  // Seats go to a uniformly random subset of the ready trainees: each gets a uniform
  // key from the month's course stream, in unit order; the `seats` smallest keys win.
  void seat_the_ready(std::uint64_t path, int t) {
    const auto slots = p_.state_size();
    const std::size_t training = p_.admission() - 1;
    const auto total = std::accumulate(ready_.begin(), ready_.end(), std::int64_t{0});
    std::vector<std::int64_t> winners(ready_);
    if (total > su_.opt.course->seats) {
      random::stream rs(su_.opt.seed, path, static_cast<std::uint64_t>(-1), static_cast<std::uint64_t>(t), course_domain);
      std::vector<std::pair<double, std::size_t>> keys;
      keys.reserve(static_cast<std::size_t>(total));
      for (std::size_t u = 0; u < n_; ++u)
        for (std::int64_t k = 0; k < ready_[u]; ++k) keys.emplace_back(rs.uniform(), u);
      const auto seats = static_cast<std::size_t>(su_.opt.course->seats);
      std::nth_element(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(seats), keys.end());
      std::fill(winners.begin(), winners.end(), 0);
      for (std::size_t i = 0; i < seats; ++i) ++winners[keys[i].second];
    }
    for (std::size_t u = 0; u < n_; ++u) {
      const auto w = winners[u];
      next_.x[u * slots + p_.offset(training)] -= w;
      const auto adm = p_.offset(p_.admission());
      if (su_.low_class && boosted_[u]) next_.low[u * p_.width(p_.admission())] += w;
      else next_.x[u * slots + adm] += w;
      events_[u * n_events + ev_admissions] += w;
      if (p_.admission() == p_.terminal()) events_[u * n_events + ev_confirmations] += w;
    }
  }

  // The target rule, applied after month t's moves: stop nodes that met their target,
  // and at quarter ends boost those behind.
  void target_rule_after(int t) {
    if (!su_.opt.target_rule) return;
    const auto& rule = *su_.opt.target_rule;
    for (std::size_t u = 0; u < n_; ++u) year_admissions_[u] += events_[u * n_events + ev_admissions];
    const auto subtree = o_.rollup(std::span<const std::int64_t>(year_admissions_));
    const bool year_end = (t + 1) % 12 == 0, quarter_end = (t + 1) % 3 == 0;
    if (quarter_end) std::fill(boosted_.begin(), boosted_.end(), 0);
    for (auto node : su_.target_nodes) {
      const double target = su_.sc.targets(node);
      const auto done = static_cast<double>(subtree[static_cast<std::size_t>(node)]);
      const bool met = rule.stop_when_met && done >= target;
      const int quarter = ((t % 12) + 1) / 3;
      const bool behind = quarter_end && !year_end && done < target * quarter / 4.0 - rule.margin;
      for (auto v : o_.subtree(node)) {
        if (met) stopped_[static_cast<std::size_t>(v)] = 1;
        if (behind) boosted_[static_cast<std::size_t>(v)] = 1;
      }
    }
    if (year_end) {
      std::fill(year_admissions_.begin(), year_admissions_.end(), 0);
      std::fill(stopped_.begin(), stopped_.end(), 0);
    }
  }

  void finish_path(std::uint64_t path) {
    for (std::size_t i = 0; i < su_.tracked.size(); ++i) {
      const auto totals = o_.rollup(std::span<const std::int64_t>(tracked_counts_[i]));
      for (std::size_t u = 0; u < n_; ++u) acc_.hist[i][u].add(totals[u]);
      if (kept_) std::copy(totals.begin(), totals.end(), (*kept_)[i].begin() + static_cast<std::ptrdiff_t>(path * n_));
    }
  }

  const setup& su_;
  accumulator& acc_;
  std::vector<std::vector<std::int64_t>>* kept_;
  const pipeline& p_;
  const org& o_;
  std::size_t n_;
  path_state state_, next_;
  std::vector<std::int64_t> events_, ready_, year_admissions_;
  std::vector<std::vector<std::int64_t>> tracked_counts_, path_events_;
  std::vector<char> stopped_, boosted_;
  std::vector<double> exp_inflow_, exp_transfer_;  // exp(-rate): the path's Poisson draws reuse them
};

setup make_setup(const scenario& sc, int horizon, const simulation_options& opt) {
  sc.validate();
  if (horizon < 1) throw input_error("the horizon must be at least 1 month, got " + std::to_string(horizon));
  if (opt.paths < 1) throw input_error("paths must be at least 1, got " + std::to_string(opt.paths));
  const auto& p = sc.model();
  const auto& o = sc.units();
  setup su{sc, horizon, opt, opt.track.empty() ? default_tracking(p, horizon) : opt.track, {}, {}, {}, {}, {}, {}, false};
  for (const auto& t : su.tracked) {
    const auto e = event_index(t.quantity);
    if (e < n_events) {
      if (t.window.first < 0 || t.window.last > horizon || t.window.first >= t.window.last)
        throw input_error("tracked '" + t.quantity + "': window [" + std::to_string(t.window.first) + ", " +
                          std::to_string(t.window.last) + ") must satisfy 0 <= first < last <= " + std::to_string(horizon));
      su.tracked_event.push_back(e);
      su.tracked_stage.push_back(static_cast<std::size_t>(-1));
    } else {
      su.tracked_stage.push_back(p.index(t.quantity));  // throws unknown_id
      su.tracked_event.push_back(n_events);
      if (t.window.first < 0 || t.window.first > horizon)
        throw input_error("tracked stock '" + t.quantity + "': month " + std::to_string(t.window.first) +
                          " is outside 0.." + std::to_string(horizon));
    }
  }
  for (double f : opt.inflow_profile)
    if (!(f >= 0) || !std::isfinite(f)) throw parameter_error("inflow_profile: every factor must be finite and >= 0");
  for (const auto& d : opt.uncertainty) {
    if (d.distribution != "beta" && d.distribution != "gamma")
      throw parameter_error("uncertainty: distribution must be 'beta' or 'gamma', got '" + d.distribution + "'");
    if (!(d.a > 0) || !(d.b > 0)) throw parameter_error("uncertainty: both parameters of the distribution must be > 0");
    const auto s = p.index(d.stage);
    const auto q = param_from_name(d.param);
    if (!p.takes(s, q)) throw input_error("uncertainty: stage '" + d.stage + "' does not take '" + d.param + "'");
    const bool probability = q != param::inflow && q != param::transfer_in;
    if (probability != (d.distribution == "beta"))
      throw parameter_error("uncertainty: use beta for probabilities and gamma for rates ('" + d.param + "')");
    std::vector<unit_index> units;
    for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u)
      if (d.scope == "*" || d.scope == o.id(u) || (d.scope.rfind("kind:", 0) == 0 && o.kind(u) == d.scope.substr(5)))
        units.push_back(u);
    if (units.empty()) throw unknown_id("uncertainty: scope '" + d.scope + "' names no unit");
    su.draw_units.push_back(std::move(units));
    su.draw_stage.push_back(s);
    su.draw_param.push_back(q);
  }
  if (opt.course) {
    if (opt.course->seats < 0) throw parameter_error("course: seats must be >= 0");
    if (p.stages()[p.admission() - 1].kind != stage_kind::markov)
      throw parameter_error("course: the stage before admission must be a markov (training) stage");
  }
  if (opt.target_rule) {
    const auto& r = *opt.target_rule;
    if (!(r.advance_boost >= 0 && r.advance_boost <= 1) || !(r.pass_penalty >= 0 && r.pass_penalty <= 1) ||
        !std::isfinite(r.margin))
      throw parameter_error("target rule: advance_boost and pass_penalty must be in [0, 1]");
    for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u)
      if (!std::isnan(sc.targets(u))) su.target_nodes.push_back(u);
    if (su.target_nodes.empty()) throw input_error("target rule: the scenario has no targets");
    if (p.stages()[p.admission() - 1].kind != stage_kind::markov)
      throw parameter_error("target rule: the stage before admission must be a markov stage");
    su.low_class = r.pass_penalty > 0;
    if (su.low_class && p.stages()[p.admission()].kind != stage_kind::fixed)
      throw parameter_error("target rule: pass_penalty needs a fixed-duration admission stage");
  }
  return su;
}

accumulator make_accumulator(const setup& su) {
  accumulator acc;
  const auto n = su.sc.units().size();
  for (std::size_t s = 0; s < su.sc.model().size(); ++s)
    acc.sums.emplace_back(n * static_cast<std::size_t>(su.horizon + 1), 0);
  for (std::size_t e = 0; e < n_events; ++e) acc.sums.emplace_back(n * static_cast<std::size_t>(su.horizon), 0);
  acc.hist.assign(su.tracked.size(), std::vector<histogram>(n));
  return acc;
}

}  // namespace

std::vector<tracked_quantity> default_tracking(const pipeline& p, int horizon) {
  std::vector<tracked_quantity> out;
  for (std::string e : {"admissions", "confirmations"}) {
    out.push_back({e, {0, horizon}});
    if (horizon > 12) out.push_back({e, {0, 12}});
    for (int q = 0; 3 * q + 3 <= horizon && horizon > 3; ++q) out.push_back({e, {3 * q, 3 * q + 3}});
  }
  for (const auto& st : p.stages()) out.push_back({st.name, {horizon, horizon}});
  return out;
}

simulation_result simulate(const scenario& sc, int horizon, const simulation_options& opt) {
  const setup su = make_setup(sc, horizon, opt);
  const auto n = sc.units().size();
  int threads = opt.threads > 0 ? opt.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<long long>(threads, opt.paths));
  std::vector<accumulator> accs;
  for (int i = 0; i < threads; ++i) accs.push_back(make_accumulator(su));
  std::vector<std::vector<std::int64_t>> kept;
  if (opt.keep_paths) kept.assign(su.tracked.size(), std::vector<std::int64_t>(static_cast<std::size_t>(opt.paths) * n));

  std::atomic<long long> next_path{0}, done{0};
  std::atomic<bool> stop{false};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&](int id) {
    try {
      path_simulator sim(su, accs[static_cast<std::size_t>(id)], opt.keep_paths ? &kept : nullptr);
      for (long long path; !stop && (path = next_path.fetch_add(1)) < opt.paths; ++done)
        sim.run(static_cast<std::uint64_t>(path));
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      stop = true;
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back(work, i);
  // The calling thread reports progress and relays a request to stop.
  bool cancelled_by_caller = false;
  // It wakes every 5 ms (so a short run is not held up) and reports every 100 ms.
  auto last_report = std::chrono::steady_clock::now();
  while (done < opt.paths && !stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const auto now = std::chrono::steady_clock::now();
    if (now - last_report < std::chrono::milliseconds(100)) continue;
    last_report = now;
    if (opt.progress && !opt.progress(done.load(), opt.paths)) {
      cancelled_by_caller = true;
      stop = true;
    }
  }
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
  if (cancelled_by_caller) throw cancelled("simulation stopped after " + std::to_string(done.load()) + " paths");
  if (opt.progress) opt.progress(opt.paths, opt.paths);

  // Merge (integer sums: the order of the workers does not matter).
  accumulator& total = accs[0];
  for (std::size_t i = 1; i < accs.size(); ++i) {
    for (std::size_t q = 0; q < total.sums.size(); ++q)
      for (std::size_t k = 0; k < total.sums[q].size(); ++k) total.sums[q][k] += accs[i].sums[q][k];
    for (std::size_t t = 0; t < total.hist.size(); ++t)
      for (std::size_t u = 0; u < n; ++u) total.hist[t][u].merge(accs[i].hist[t][u]);
  }
  simulation_result result{forecast_result(sc.organisation, sc.stages, horizon), su.tracked, {}, std::move(kept), opt.paths};
  const auto quantities = result.means.quantities();
  const double paths = static_cast<double>(opt.paths);
  for (std::size_t q = 0; q < quantities.size(); ++q) {
    auto& m = result.means.own(quantities[q]);
    const auto months = static_cast<std::size_t>(m.cols());
    for (std::size_t u = 0; u < n; ++u)
      for (std::size_t t = 0; t < months; ++t)
        m(static_cast<Eigen::Index>(u), static_cast<Eigen::Index>(t)) =
            static_cast<double>(total.sums[q][u * months + t]) / paths;
  }
  for (std::size_t t = 0; t < total.hist.size(); ++t) {
    std::vector<pmf> nodes(n);
    for (std::size_t u = 0; u < n; ++u) {
      nodes[u].offset = total.hist[t][u].offset;
      nodes[u].p.resize(total.hist[t][u].counts.size());
      for (std::size_t k = 0; k < nodes[u].p.size(); ++k)
        nodes[u].p[k] = static_cast<double>(total.hist[t][u].counts[k]) / paths;
    }
    result.distributions.push_back(std::move(nodes));
  }
  return result;
}

}  // namespace memberflow
