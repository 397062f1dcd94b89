#include "memberflow/simulate.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <limits>
#include <mutex>
#include <numeric>
#include <optional>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "memberflow/random.hpp"

namespace memberflow {

namespace {

// Stream domains: independent uses of the same counters.
constexpr std::uint64_t unit_domain = 0, course_domain = 1, uncertainty_domain = 2, first_domain = 3;
constexpr std::size_t n_events = event_names.size();
enum { ev_admissions, ev_confirmations, ev_arrivals, ev_exits, ev_leavers };

std::size_t event_index(std::string_view name) {
  for (std::size_t e = 0; e < n_events; ++e)
    if (event_names[e] == name) return e;
  return n_events;
}

// The cells the histograms of one run may hold in all (the memory they and the pmfs
// made of them may take): a deep tree's nodes have ever wider ranges of subtree totals,
// so that a chain of 200,000 units would fill any memory. Shared by the workers.
struct cell_budget {
  std::atomic<long long> used{0};
  long long limit = 0;
  void spend(long long cells) {
    if ((used += cells) > limit)
      throw input_error("simulate: the distributions of the tracked counts need more than " +
                        detail::format_bytes(static_cast<double>(limit) * 24) +
                        " of memory (each node's histogram spans the values of its subtree's total; deep or "
                        "large trees widen them): track fewer quantities or simulate a subtree");
  }
};

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
};

// The histograms of many counts (every node x every tracked count, node-major). Most
// counts stay within a few values of the first one seen: they are counted in a window
// of `width` cells, laid out count after count, so that tallying the paths of a batch
// node by node walks memory in order (one heap histogram each made this a cache miss a
// count). Values outside a count's window go to a growing histogram of its own.
class window_histograms {
 public:
  static constexpr long long width = 8;
  explicit window_histograms(std::size_t counts, cell_budget* budget = nullptr)
      : lo_(counts, unset), window_(counts * width, 0), budget_(budget) {}

  void add(std::size_t u, long long k, std::int64_t times = 1) {
    const auto i = static_cast<unsigned long long>(k - lo_[u]);  // past the window: huge
    if (i < static_cast<unsigned long long>(width)) window_[u * width + i] += static_cast<cell>(times);
    else add_outside(u, k, times);
  }

  // Counts first .. first + m - 1 see the values k[0 .. m - 1] once.
  void add_each(std::size_t first, const std::int64_t* k, std::size_t m) {
    const long long* lo = &lo_[first];
    cell* window = &window_[first * width];
    for (std::size_t j = 0; j < m; ++j) {
      const auto i = static_cast<unsigned long long>(k[j] - lo[j]);
      if (i < static_cast<unsigned long long>(width)) ++window[j * width + i];
      else add_outside(first + j, k[j], 1);
    }
  }

  void merge(const window_histograms& other) {
    for (std::size_t u = 0; u < lo_.size(); ++u) {
      for (long long i = 0; i < width; ++i)
        if (const auto c = other.window_[u * width + static_cast<std::size_t>(i)]) add(u, other.lo_[u] + i, c);
    }
    for (const auto& [u, w] : other.wide_)
      for (std::size_t i = 0; i < w.counts.size(); ++i)
        if (w.counts[i]) add(u, w.offset + static_cast<long long>(i), w.counts[i]);
  }

  [[gnu::noinline]] void add_outside(std::size_t u, long long k, std::int64_t times) {
    if (lo_[u] == unset) {
      lo_[u] = std::max(0LL, k - width / 2);
      add(u, k, times);
    } else {
      auto& h = wide_[u];
      const auto before = h.counts.size();
      if (budget_) {  // charge the growth before making it
        const long long after = h.counts.empty() ? 1
                                : k < h.offset ? static_cast<long long>(before) + (h.offset - k)
                                               : std::max<long long>(static_cast<long long>(before), k - h.offset + 1);
        budget_->spend(after - static_cast<long long>(before));
      }
      h.add(k, times);
    }
  }

  // Appends count u's histogram divided by `paths` to `table`.
  void append_pmf(std::size_t u, double paths, pmf_table& table) const {
    const cell* window = &window_[u * width];
    const auto found = wide_.find(u);
    const histogram* wide = found == wide_.end() ? nullptr : &found->second;
    long long first = std::numeric_limits<long long>::max(), last = std::numeric_limits<long long>::min();
    for (long long i = 0; i < width; ++i)
      if (window[i]) first = std::min(first, lo_[u] + i), last = std::max(last, lo_[u] + i);
    if (wide && !wide->counts.empty())
      first = std::min(first, wide->offset),
      last = std::max(last, wide->offset + static_cast<long long>(wide->counts.size()) - 1);
    const auto at = table.probs.size();
    table.offsets.push_back(first);
    table.tails.push_back(0);
    table.probs.resize(at + static_cast<std::size_t>(last - first + 1), 0.0);
    double* p = &table.probs[at];
    for (long long i = 0; i < width; ++i)
      if (window[i]) p[lo_[u] + i - first] = static_cast<double>(window[i]) / paths;
    if (wide)
      for (std::size_t i = 0; i < wide->counts.size(); ++i)
        if (wide->counts[i]) p[wide->offset + static_cast<long long>(i) - first] = static_cast<double>(wide->counts[i]) / paths;
    table.starts.push_back(table.probs.size());
  }

 private:
  static constexpr long long unset = std::numeric_limits<long long>::min() / 2;  // no value yet
  using cell = std::uint32_t;  // paths < 2^32 (make_setup)
  std::vector<long long> lo_;                        // per count: the value of its window's first cell
  std::vector<cell> window_;                         // counts x width
  std::unordered_map<std::size_t, histogram> wide_;  // per count that has any: the values outside its window
  cell_budget* budget_ = nullptr;
};

// What one worker accumulates; merged by integer addition, so order does not matter.
struct accumulator {
  // Units x quantities (stages, then events) x months, unit-major so that simulating
  // unit after unit writes it in order: for stages the net change of the stock in each
  // month, for events their count.
  std::vector<std::int64_t> sums;
  window_histograms hist{0};  // nodes x tracked quantities
};

// A person's chances in one stage. Each stage's random outcomes are drawn as binomials
// whose default outcome (nothing happens) is 0:
//   markov    advance ~ Bin(n, p1 = advance), then exit ~ Bin(n - advance, p2 = exit / (1 - advance));
//   fixed     exit ~ Bin(cohort, p1 = exit) at every age, then at the last age
//             fail ~ Bin(survivors, p2 = 1 - pass_rate);
//   terminal  leave ~ Bin(n, p1 = attrition).
// log_q = log1p(-p): the log-chance that one person takes the default.
struct chances {
  double p1 = 0, p2 = 0, log_q1 = 0, log_q2 = 0;
  static chances of(double p1, double p2) { return {p1, p2, std::log1p(-p1), std::log1p(-p2)}; }
  // a + e may exceed 1 by a rounding (0.9 + 0.1, or an advance capped at 1 - e), so the
  // ratio may exceed 1 by an ulp.
  static chances markov(double advance, double exit) {
    return of(advance, advance < 1 ? std::min(1.0, exit / (1 - advance)) : 0.0);
  }
};

// The chances of every unit and stage, and the arrival rates, for one set of parameters.
struct unit_chances {
  std::vector<chances> stage;             // units x stages
  std::vector<chances> low;               // units: the target rule's lowered-bar cohort
  std::vector<double> person_h;           // units x stages: -log(chance of a person's default), but
                                          // at the last age of a fixed stage (see hazard)
  std::vector<double> inflow, exp_inflow;  // exp(-rate): the Poisson draws reuse them
  std::vector<double> transfer, exp_transfer;
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
  // Filled after the checks:
  unit_chances chances;                  // without uncertainty: the same for every path
  std::vector<std::int64_t> x0, total0;  // the state at month 0 (see path_simulator), stage totals
  std::vector<std::vector<std::vector<std::size_t>>> tracked_at;  // [event][month]: tracked windows holding it
  std::vector<std::vector<std::size_t>> stocks_tracked_at;         // [month 0..horizon]: tracked stocks
  std::size_t n_quantities() const { return sc.model().size() + n_events; }
  // Parameters that change from path to path (drawn, or given per path).
  bool per_path_parameters() const { return !opt.uncertainty.empty() || !opt.parameter_sets.empty(); }
};

unit_chances make_chances(const setup& su, const parameter_set& ps) {
  const auto& p = su.sc.model();
  const auto n = su.sc.units().size();
  unit_chances c;
  c.stage.resize(n * p.size());
  for (std::size_t u = 0; u < n; ++u) {
    const auto ui = static_cast<Eigen::Index>(u);
    for (std::size_t s = 0; s < p.size(); ++s) {
      const auto si = static_cast<Eigen::Index>(s);
      auto& ch = c.stage[u * p.size() + s];
      switch (p.stages()[s].kind) {
        case stage_kind::markov: ch = chances::markov(ps.advance(ui, si), ps.exit(ui, si)); break;
        case stage_kind::fixed: ch = chances::of(ps.exit(ui, si), 1 - ps.pass_rate(ui, si)); break;
        case stage_kind::terminal: ch = chances::of(ps.attrition(ui, si), 0); break;
      }
    }
    for (std::size_t s = 0; s < p.size(); ++s) {
      const auto& ch = c.stage[u * p.size() + s];
      c.person_h.push_back(p.stages()[s].kind == stage_kind::markov ? -(ch.log_q1 + ch.log_q2) : -ch.log_q1);
    }
    if (su.low_class) {
      const auto a = static_cast<Eigen::Index>(p.admission());
      c.low.push_back(
          chances::of(ps.exit(ui, a), 1 - std::max(0.0, ps.pass_rate(ui, a) - su.opt.target_rule->pass_penalty)));
    }
  }
  for (std::size_t u = 0; u < n; ++u) {
    const auto ui = static_cast<Eigen::Index>(u);
    c.inflow.push_back(ps.inflow(ui));
    c.exp_inflow.push_back(std::exp(-ps.inflow(ui)));
    c.transfer.push_back(ps.transfer_in(ui));
    c.exp_transfer.push_back(std::exp(-ps.transfer_in(ui)));
  }
  return c;
}

void apply_draws(const setup& su, std::uint64_t path, parameter_set& ps) {
  for (std::size_t i = 0; i < su.opt.uncertainty.size(); ++i) {
    const auto& d = su.opt.uncertainty[i];
    random::stream rs(su.opt.seed, path, i, 0, uncertainty_domain);
    const double v = d.distribution == "beta" ? random::beta(rs, d.a, d.b) : random::gamma(rs, d.a, d.b);
    for (auto u : su.draw_units[i]) ps.set(u, su.draw_stage[i], su.draw_param[i], v);
  }
}

// A unit's draws, as a race in "hazard time". Every random outcome of the model is a
// component whose default (nothing happens) has a chance d = exp(-h): h = -n log(1 - p)
// for a binomial, h = the mean for a Poisson. The unit keeps a budget r ~ Exp(1) and
// walks its components in a fixed order: a component with r >= h takes its default and
// r -= h (by memorylessness the rest is again Exp(1)); one with r < h does not, and
// v = exp(-r), uniform on (d, 1], draws its outcome given that (random::*_positive);
// then a fresh r = -log(U) is drawn. Whole quiet months are the same walk over the sum
// of their components' h. So a default costs a subtraction and each event one uniform.
class race {
 public:
  race(random::stream& s, double& budget) : s_(s), r_(budget) {}

  long long binomial(long long n, double p, double log_q) {
    if (n == 0 || p == 0) return 0;
    const double h = -static_cast<double>(n) * log_q;
    if (r_ >= h) {
      r_ -= h;
      return 0;
    }
    return binomial_event(n, p, h);
  }

  // Whether every component of total hazard h takes its default (then h is spent): a
  // group of components walked one by one only when it holds an event.
  bool all_default(double h) {
    if (r_ < h) return false;
    r_ -= h;
    return true;
  }

  long long poisson(double mu, double exp_minus_mu) {
    if (mu == 0) return 0;
    if (r_ >= mu) {
      r_ -= mu;
      return 0;
    }
    return poisson_event(mu, exp_minus_mu);
  }

 private:
  // Given r < h, the outcome is 1 when v = exp(-r) <= f(0) + f(1) = exp(-h) (1 + f(1)/f(0)),
  // i.e. when r >= h - log1p(f(1)/f(0)): the usual single event is settled in log space,
  // and v itself is needed only for two or more.
  [[gnu::noinline]] long long binomial_event(long long n, double p, double h) {
    long long k = 1;
    if (n > 1 && !(random::detail::binomial_is_small(n, p) && r_ >= h - std::log1p(static_cast<double>(n) * p / (1 - p))))
      k = random::binomial_positive(s_, std::exp(-r_), n, p, std::exp(-h));
    r_ = -std::log(s_.uniform());
    return k;
  }

  [[gnu::noinline]] long long poisson_event(double mu, double exp_minus_mu) {
    long long k = 1;
    if (!(mu < random::detail::small_mean && r_ >= mu - std::log1p(mu)))
      k = random::poisson_positive(s_, std::exp(-r_), mu, exp_minus_mu);
    r_ = -std::log(s_.uniform());
    return k;
  }

  random::stream& s_;
  double& r_;
};

// Paths in batches; in each path, unit by unit (by month when a policy couples units).
//
// State: per unit, one count per markov or terminal stage, and per fixed stage of D
// months a ring of D cohorts: the cohort that entered at the start of month m sits in
// slot m mod D, so ageing moves no one; at month t the cohort of age a is in slot
// (t - a) mod D, and the last age's slot (t + 1) mod D is, once its cohort has left,
// where the month's entrants land. Stages are updated in place from the last to the
// first, so each stage draws on its start-of-month count before its entrants arrive.
//
// Quiet months: most units, most months, see nothing happen (everyone stays, ages, and
// passes at the end of a fixed stage; no arrivals). Each unit's outcomes are drawn as a
// race in hazard time (see `race`) from its own stream (seed, path, unit); H, the sum of
// the h of a month's components, changes only with the unit's state or chances, so a
// stretch of months that share one H is skipped whole (unit_months) with the default
// moves only (the last age of each fixed stage passes on).
class path_simulator {
 public:
  path_simulator(const setup& su, accumulator& acc, std::vector<std::vector<std::int64_t>>* kept)
      : su_(su), acc_(acc), kept_(kept), p_(su.sc.model()), o_(su.sc.units()), n_(o_.size()), slots_(p_.state_size()),
        adm_(p_.admission()), terminal_(p_.terminal()), adm_width_(p_.width(adm_)), course_(su.opt.course.has_value()),
        adjusts_entry_(course_ || su.opt.target_rule.has_value()),
        month_varies_(course_ || su.opt.target_rule.has_value() || !su.opt.inflow_profile.empty()),
        coupled_(course_ || su.opt.target_rule.has_value()), horizon_(static_cast<std::size_t>(su.horizon)),
        quantities_(su.n_quantities()), stages_(p_.size()), same_start_(!month_varies_ && !su.per_path_parameters()) {
    for (std::size_t s = 0; s < p_.size(); ++s) {
      const auto& st = p_.stages()[s];
      stage_plan plan{st.kind, p_.offset(s), static_cast<int>(p_.width(s)), {}};
      for (int t = 0; t <= su.horizon + 1; ++t) plan.mod.push_back(static_cast<std::size_t>(t % plan.months));
      plan_.push_back(std::move(plan));
    }
    for (std::size_t s = p_.size(); s-- > 0;)
      if (plan_[s].kind == stage_kind::fixed) fixed_stages_.push_back(s);
    for (int t = 0; t < su.horizon; ++t) {  // the first month m >= t before a tracked stock's month or the horizon
      int m = t;
      while (m + 1 < su.horizon && su.stocks_tracked_at[static_cast<std::size_t>(m) + 1].empty()) ++m;
      next_boundary_.push_back(m);
    }
    budget_.resize(n_);
    x_.resize(n_ * slots_);
    total_.resize(plan_.size() * n_);
    streams_.assign(n_, random::stream(0, 0, 0, 0));
    first_block_.resize(n_ * 4);
    first_quad_.assign(n_, std::numeric_limits<std::uint64_t>::max());
    if (same_start_) prepare_same_start();
  }

  // Paths first .. first + count - 1: their tracked counts are kept side by side, rolled
  // up the tree and tallied together.
  void run_batch(std::uint64_t first, std::size_t count) {
    const auto T = su_.tracked.size();
    width_ = count * T;
    batch_.assign(n_ * width_, 0);
    if (coupled_ || su_.per_path_parameters()) {
      for (std::size_t b = 0; b < count; ++b) {
        column_ = b * T;
        run_path(first + b);
      }
    } else {
      run_batch_by_unit_blocks(first, count);
    }
    rollup_batch();
    for (std::size_t u = 0; u < n_; ++u)
      for (std::size_t b = 0; b < count; ++b)
        acc_.hist.add_each(u * T, &batch_[u * width_ + b * T], T);
    if (kept_)
      for (std::size_t u = 0; u < n_; ++u)
        for (std::size_t b = 0; b < count; ++b)
          for (std::size_t i = 0; i < T; ++i) (*kept_)[i][(first + b) * n_ + u] = batch_[u * width_ + b * T + i];
  }

 private:
  // Every node's row of the batch becomes its subtree's total (children before parents).
  void rollup_batch() {
    const auto parents = o_.parents();
    const auto order = o_.preorder();
    for (auto it = order.rbegin(); it != order.rend(); ++it)
      if (const auto p = parents[static_cast<std::size_t>(*it)]; p != no_unit) {
        std::int64_t* to = &batch_[static_cast<std::size_t>(p) * width_];
        const std::int64_t* from = &batch_[static_cast<std::size_t>(*it) * width_];
        for (std::size_t c = 0; c < width_; ++c) to[c] += from[c];
      }
  }

  // The current path's tracked count i of unit u.
  std::int64_t& tracked(std::size_t u, std::size_t i) { return batch_[u * width_ + column_ + i]; }

  // Paths with policies or drawn parameters: one path at a time.
  void run_path(std::uint64_t path) {
    path_ = path;
    if (!su_.opt.parameter_sets.empty()) {
      const auto& sets = su_.opt.parameter_sets;
      drawn_chances_ = make_chances(su_, sets[path % sets.size()]);
      ps_ = &sets[path % sets.size()];
      ch_ = &drawn_chances_;
    } else if (su_.opt.uncertainty.empty()) {
      ps_ = &su_.sc.params;
      ch_ = &su_.chances;
    } else {
      drawn_params_ = su_.sc.params;
      apply_draws(su_, path, drawn_params_);
      drawn_params_.validate(o_, p_);
      drawn_chances_ = make_chances(su_, drawn_params_);
      ps_ = &drawn_params_;
      ch_ = &drawn_chances_;
    }
    low_.assign(su_.low_class ? n_ * adm_width_ : 0, 0);
    month_admissions_.assign(su_.opt.target_rule ? n_ : 0, 0);
    year_admissions_.assign(n_, 0);
    stopped_.assign(n_, 0);
    boosted_.assign(n_, 0);
    ready_.assign(course_ ? n_ : 0, 0);
    for (std::size_t u = 0; u < n_; ++u) start_unit(u);
    const int horizon = su_.horizon;
    if (coupled_) {  // the policies act across units at each month's end
      for (int t = 0; t < horizon; ++t) {
        for (std::size_t u = 0; u < n_; ++u) unit_month(u, t);
        if (course_ && session(t)) seat_the_ready(t);
        target_rule_after(t);
      }
    } else {
      for (std::size_t u = 0; u < n_; ++u) unit_months(u);
    }
    for (std::size_t u = 0; u < n_; ++u) end_unit(u);
  }

  // Without policies or drawn parameters units are independent: a block of units runs
  // through every path of the batch before the next block, so that the block's state,
  // sums and tracked counts stay in cache.
  void run_batch_by_unit_blocks(std::uint64_t first, std::size_t count) {
    ps_ = &su_.sc.params;
    ch_ = &su_.chances;
    constexpr std::size_t block = 64;
    for (std::size_t u0 = 0; u0 < n_; u0 += block) {
      const auto u1 = std::min(n_, u0 + block);
      for (std::size_t b = 0; b < count; ++b) {
        column_ = b * su_.tracked.size();
        path_ = first + b;
        for (std::size_t u = u0; u < u1; ++u) {
          start_unit(u);
          unit_months(u);
          end_unit(u);
        }
      }
    }
  }

  // Unit u at month 0 of path path_: its stocks, its stream and a first budget.
  void start_unit(std::size_t u) {
    std::copy_n(&su_.x0[u * slots_], slots_, &x_[u * slots_]);
    std::copy_n(&su_.total0[u * stages_], stages_, &total_[u * stages_]);
    streams_[u] = random::stream(su_.opt.seed, path_, u, 0, unit_domain);
    if (!same_start_) budget_[u] = -std::log(first_uniform(u));
  }

  // The first uniform of (path, unit): word path mod 4 of the Philox block with counters
  // (path / 4, unit) in the first-draw domain, so that four paths share one Philox call
  // (most units need no other number in most paths). Later ones come from streams_[u].
  double first_uniform(std::size_t u) {
    const auto quad = path_ / 4;
    double* block = &first_block_[u * 4];
    if (first_quad_[u] != quad) {
      random::stream rs(su_.opt.seed, quad, u, 0, first_domain);
      for (std::size_t j = 0; j < 4; ++j) block[j] = rs.uniform();
      first_quad_[u] = quad;
    }
    return block[path_ % 4];
  }

  void end_unit(std::size_t u) {
    for (auto i : su_.stocks_tracked_at[horizon_]) tracked(u, i) = total_[u * stages_ + su_.tracked_stage[i]];
  }

  std::int64_t& sum(std::size_t u, std::size_t q, int t) {
    return acc_.sums[(u * quantities_ + q) * horizon_ + static_cast<std::size_t>(t)];
  }

  // k people more (or fewer) in stage s of unit u from month t + 1 on. Sums keep the net
  // change per month: stocks are the month-0 stocks plus their cumulated changes, which
  // costs nothing in quiet months.
  void restock(std::size_t s, std::size_t u, int t, std::int64_t k) {
    if (k == 0) return;
    total_[u * stages_ + s] += k;
    sum(u, s, t) += k;
  }
  // A fixed stage's slot of the last age in month t, where the month's entrants land.
  std::size_t entry_slot(std::size_t s, int t) const { return plan_[s].mod[static_cast<std::size_t>(t) + 1]; }

  // Unit u's whole horizon, when its chances do not change from month to month (no
  // policy, no inflow profile). The months up to the next change of its state (a cohort
  // that reaches the last age of a fixed stage, or leaves it) share one H: the quiet
  // ones among them are skipped together. With budget E, the first k = floor(E / H)
  // months are quiet and month k is busy with E - kH left, exactly as month by month.
  void unit_months(std::size_t u) {
    if (month_varies_) {
      for (int t = 0; t < su_.horizon; ++t) unit_month(u, t);
      return;
    }
    double& budget = budget_[u];
    int t = 0;
    if (same_start_) {  // the first stretch is the same in every path: its chance of quiet is known
      const double first = first_uniform(u);
      if (first <= start_quiet_[u]) {
        snapshot(u, 0);
        quiet(u, start_last_[u]);
        t = start_last_[u] + 1;
        if (t < su_.horizon) budget = -std::log(first / start_quiet_[u]);  // E - H m, E = -log(first)
      } else {
        budget = -std::log(first);
      }
    }
    while (t < su_.horizon) {
      snapshot(u, t);
      const double h = same_start_ && t == 0 ? start_hazard_[u] : hazard(u, t);
      const int last = same_hazard_until(u, t);
      const int months = last - t + 1;
      if (budget >= h * months) {
        budget -= h * months;
        quiet(u, last);
        t = last + 1;
        continue;
      }
      // budget < h x months, so k < months; the min guards a division that rounds up.
      int k = std::min(static_cast<int>(std::floor(budget / h)), months - 1);  // h > 0: budget >= 0
      if (k > 0) {
        double rest = budget - k * h;
        if (rest < 0) rest += h, --k;  // a rounding of the division
        budget = rest;
      }
      busy(u, t + k);
      t += k + 1;
    }
  }

  // With the path's chances those of the scenario and constant over the months, every
  // path starts alike: each unit's first stretch of one hazard, and its chance of
  // passing quietly, are computed once.
  void prepare_same_start() {
    ch_ = &su_.chances;
    start_quiet_.resize(n_);
    start_last_.resize(n_);
    start_hazard_.resize(n_);
    for (std::size_t u = 0; u < n_; ++u) {
      std::copy_n(&su_.x0[u * slots_], slots_, &x_[u * slots_]);
      std::copy_n(&su_.total0[u * stages_], stages_, &total_[u * stages_]);
      start_last_[u] = same_hazard_until(u, 0);
      start_hazard_[u] = hazard(u, 0);
      start_quiet_[u] = std::exp(-start_hazard_[u] * (start_last_[u] + 1));
    }
  }

  // The last month from t on whose H is month t's, and before which no one moves by
  // default: the month before a tracked stock's month, or one in which a fixed stage's
  // last age is occupied or will be the next month.
  int same_hazard_until(std::size_t u, int t) const {
    int end = next_boundary_[static_cast<std::size_t>(t)];
    for (auto s : fixed_stages_) {
      if (total_[u * stages_ + s] == 0) continue;
      const std::int64_t* ring = &x_[u * slots_ + plan_[s].offset];
      const std::size_t* mod = plan_[s].mod.data();
      for (int m = t; m < end; ++m)
        if (ring[mod[m + 1]] || ring[mod[m + 2]]) {
          end = m;
          break;
        }
    }
    return end;
  }

  void snapshot(std::size_t u, int t) {
    for (auto i : su_.stocks_tracked_at[static_cast<std::size_t>(t)])
      tracked(u, i) = total_[u * stages_ + su_.tracked_stage[i]];
  }

  // One month of unit u, where the chances vary by month (a policy, an inflow profile).
  void unit_month(std::size_t u, int t) {
    snapshot(u, t);
    if (course_) ready_[u] = 0;
    const double h = hazard(u, t);
    if (budget_[u] >= h) {
      budget_[u] -= h;
      quiet(u, t);
    } else {
      busy(u, t);
    }
  }

  // The chances of unit u in stage s in month t: the path's, with the policies' changes to
  // the advance into admission.
  const chances& stage_chances(std::size_t u, std::size_t s, int t) {
    if (adjusts_entry_ && s + 1 == adm_) {
      const auto ui = static_cast<Eigen::Index>(u), si = static_cast<Eigen::Index>(s);
      double a = ps_->advance(ui, si);
      const double e = ps_->exit(ui, si);
      if (stopped_[u]) a = 0;
      else if (boosted_[u]) a = std::min(a + su_.opt.target_rule->advance_boost, 1 - e);
      if (course_ && !session(t)) a = 0;
      return adjusted_ = chances::markov(a, e);
    }
    return ch_->stage[u * stages_ + s];
  }

  double inflow_rate(std::size_t u, int t) const {
    const auto& f = su_.opt.inflow_profile;
    return f.empty() ? ch_->inflow[u] : ch_->inflow[u] * f[static_cast<std::size_t>(t) % f.size()];
  }
  double exp_minus_inflow(std::size_t u, int t) const {
    return su_.opt.inflow_profile.empty() ? ch_->exp_inflow[u] : std::exp(-inflow_rate(u, t));
  }

  // H: minus the log of the chance that nothing happens in unit u in month t.
  double hazard(std::size_t u, int t) {
    const std::int64_t* x = &x_[u * slots_];
    double h = inflow_rate(u, t) + ch_->transfer[u];
    auto add = [&h](std::int64_t n, double log_q) {
      if (n) h -= static_cast<double>(n) * log_q;
    };
    if (!adjusts_entry_ && !su_.low_class) {  // a person's h per stage, precomputed
      const double* person = &ch_->person_h[u * stages_];
      for (std::size_t s = 0; s < stages_; ++s)
        if (const auto n = total_[u * stages_ + s]) h += static_cast<double>(n) * person[s];
      for (auto s : fixed_stages_) add(x[plan_[s].offset + entry_slot(s, t)], ch_->stage[u * stages_ + s].log_q2);
      return h;
    }
    for (std::size_t s = 0; s < stages_; ++s) {
      const auto& st = plan_[s];
      const auto c = stage_chances(u, s, t);
      switch (st.kind) {
        case stage_kind::markov: add(x[st.offset], c.log_q1 + c.log_q2); break;
        case stage_kind::terminal: add(x[st.offset], c.log_q1); break;
        case stage_kind::fixed: {
          const auto last = entry_slot(s, t);
          std::int64_t in_ring = total_[u * stages_ + s];
          if (su_.low_class && s == adm_) {
            const std::int64_t* low = &low_[u * adm_width_];
            const auto in_low = std::accumulate(low, low + adm_width_, std::int64_t{0});
            in_ring -= in_low;
            add(in_low, ch_->low[u].log_q1);
            add(low[last], ch_->low[u].log_q2);
          }
          add(in_ring, c.log_q1);
          add(x[st.offset + last], c.log_q2);
          break;
        }
      }
    }
    return h;
  }

  // A quiet month: only the default moves, i.e. the last age of each fixed stage passes on.
  void quiet(std::size_t u, int t) {
    std::int64_t* x = &x_[u * slots_];
    for (auto s : fixed_stages_) {
      graduate(u, s, t, x + plan_[s].offset);
      if (su_.low_class && s == adm_) graduate(u, s, t, &low_[u * adm_width_]);
    }
  }

  void graduate(std::size_t u, std::size_t s, int t, std::int64_t* ring) {
    auto& last = ring[entry_slot(s, t)];
    if (last) {
      const auto k = last;
      last = 0;
      restock(s, u, t, -k);
      enter(u, s + 1, k, t);
    }
  }

  // A month in full: every stage's draws, from the last stage to the first, then arrivals.
  void busy(std::size_t u, int t) {
    race d(streams_[u], budget_[u]);
    std::int64_t* x = &x_[u * slots_];
    for (std::size_t s = stages_; s-- > 0;) {
      const auto& st = plan_[s];
      if (total_[u * stages_ + s] == 0) continue;  // no one to draw for
      const auto& c = stage_chances(u, s, t);
      const auto off = st.offset;
      switch (st.kind) {
        case stage_kind::terminal: {
          const auto leave = d.binomial(x[off], c.p1, c.log_q1);
          x[off] -= leave;
          restock(s, u, t, -leave);
          count(u, t, ev_leavers, leave);
          break;
        }
        case stage_kind::fixed:
          step_cohorts(d, u, s, t, x + off, c);
          if (su_.low_class && s == adm_) step_cohorts(d, u, s, t, &low_[u * adm_width_], ch_->low[u]);
          break;
        case stage_kind::markov: {
          const auto n = x[off];
          const auto advance = d.binomial(n, c.p1, c.log_q1);
          const auto exit = d.binomial(n - advance, c.p2, c.log_q2);
          x[off] -= exit;
          restock(s, u, t, -exit);
          count(u, t, ev_exits, exit);
          if (course_ && s + 1 == adm_) {
            ready_[u] = advance;  // they wait in training until the seats are allocated
          } else {
            x[off] -= advance;
            restock(s, u, t, -advance);
            enter(u, s + 1, advance, t);
          }
          break;
        }
      }
    }
    const auto in = d.poisson(inflow_rate(u, t), exp_minus_inflow(u, t));
    enter(u, 0, in, t);
    const auto transfer = d.poisson(ch_->transfer[u], ch_->exp_transfer[u]);
    x[plan_[terminal_].offset] += transfer;
    restock(terminal_, u, t, transfer);
    count(u, t, ev_arrivals, in + transfer);
  }

  // A fixed stage's cohorts: exits at every age (youngest first), then at the last age
  // the survivors pass on or fail.
  void step_cohorts(race& d, std::size_t u, std::size_t s, int t, std::int64_t* ring, const chances& c) {
    const auto months = static_cast<std::size_t>(plan_[s].months);
    std::int64_t exits = 0;
    // Every cohort's exits share one chance: the stage's exits as one group first.
    const auto people = std::accumulate(ring, ring + months, std::int64_t{0});
    if (!(c.p1 == 0 || d.all_default(-static_cast<double>(people) * c.log_q1))) {
      // Age a is in slot (t - a) mod D: from slot t mod D downwards, wrapping.
      for (std::size_t a = 0, slot = plan_[s].mod[static_cast<std::size_t>(t)]; a < months; ++a) {
        if (auto& cohort = ring[slot]; cohort) {
          const auto ex = d.binomial(cohort, c.p1, c.log_q1);
          cohort -= ex;
          exits += ex;
        }
        slot = slot == 0 ? months - 1 : slot - 1;
      }
    }
    auto& last = ring[entry_slot(s, t)];
    const auto fail = d.binomial(last, c.p2, c.log_q2);
    const auto passed = last - fail;
    exits += fail;
    last = 0;
    restock(s, u, t, -(exits + passed));
    count(u, t, ev_exits, exits);
    enter(u, s + 1, passed, t);
  }

  // k people of unit u enter stage s in month t (they are there at the start of t + 1).
  void enter(std::size_t u, std::size_t s, std::int64_t k, int t) {
    if (k) enter_some(u, s, k, t);
  }

  [[gnu::noinline]] void enter_some(std::size_t u, std::size_t s, std::int64_t k, int t) {
    restock(s, u, t, k);
    if (s == terminal_) count(u, t, ev_confirmations, k);
    if (s == adm_) {
      count(u, t, ev_admissions, k);
      if (su_.low_class && boosted_[u]) {
        low_[u * adm_width_ + entry_slot(s, t)] += k;
        return;
      }
    }
    x_[u * slots_ + plan_[s].offset + entry_slot(s, t)] += k;
  }

  void count(std::size_t u, int t, std::size_t e, std::int64_t k) {
    if (k) count_some(u, t, e, k);
  }

  [[gnu::noinline]] void count_some(std::size_t u, int t, std::size_t e, std::int64_t k) {
    const auto month = static_cast<std::size_t>(t);
    sum(u, stages_ + e, t) += k;
    for (auto i : su_.tracked_at[e][month]) tracked(u, i) += k;
    if (e == ev_admissions && su_.opt.target_rule) month_admissions_[u] += k;
  }

  // The course policy: is month t a session, and how many of each unit's ready trainees
  // get a seat.
  bool session(int t) const {
    const auto& c = su_.opt.course;
    return c && std::find(c->session_months.begin(), c->session_months.end(), t) != c->session_months.end();
  }

  // Seats go to a uniformly random subset of the ready trainees: each gets a uniform
  // key from the month's course stream, in unit order; the `seats` smallest keys win.
  void seat_the_ready(int t) {
    const auto total_ready = std::accumulate(ready_.begin(), ready_.end(), std::int64_t{0});
    std::vector<std::int64_t> winners(ready_);
    if (total_ready > su_.opt.course->seats) {
      random::stream rs(su_.opt.seed, path_, static_cast<std::uint64_t>(-1), static_cast<std::uint64_t>(t), course_domain);
      std::vector<std::pair<double, std::size_t>> keys;
      keys.reserve(static_cast<std::size_t>(total_ready));
      for (std::size_t u = 0; u < n_; ++u)
        for (std::int64_t k = 0; k < ready_[u]; ++k) keys.emplace_back(rs.uniform(), u);
      const auto seats = static_cast<std::size_t>(su_.opt.course->seats);
      std::nth_element(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(seats), keys.end());
      std::fill(winners.begin(), winners.end(), 0);
      for (std::size_t i = 0; i < seats; ++i) ++winners[keys[i].second];
    }
    const std::size_t training = adm_ - 1;
    for (std::size_t u = 0; u < n_; ++u) {
      if (!winners[u]) continue;
      x_[u * slots_ + plan_[training].offset] -= winners[u];
      restock(training, u, t, -winners[u]);
      enter(u, adm_, winners[u], t);
    }
  }

  // The target rule, applied after month t's moves: stop nodes that met their target,
  // and at quarter ends boost those behind.
  void target_rule_after(int t) {
    if (!su_.opt.target_rule) return;
    const auto& rule = *su_.opt.target_rule;
    for (std::size_t u = 0; u < n_; ++u) year_admissions_[u] += month_admissions_[u];
    std::fill(month_admissions_.begin(), month_admissions_.end(), 0);
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

  const setup& su_;
  accumulator& acc_;
  std::vector<std::vector<std::int64_t>>* kept_;
  const pipeline& p_;
  const org& o_;
  const std::size_t n_, slots_, adm_, terminal_, adm_width_;
  const bool course_, adjusts_entry_, month_varies_, coupled_;
  const std::size_t horizon_, quantities_, stages_;
  const bool same_start_;
  std::vector<double> start_hazard_, start_quiet_;  // per unit, when same_start_: month 0's H, P(the first stretch is quiet)
  std::vector<int> start_last_;      // its last month
  // Per stage: kind, first slot, width (a fixed stage's months, else 1), t mod width for
  // t = 0 .. horizon + 1.
  struct stage_plan {
    stage_kind kind;
    std::size_t offset;
    int months;
    std::vector<std::size_t> mod;
  };
  std::vector<stage_plan> plan_;
  std::vector<std::size_t> fixed_stages_;  // last first, the order in which months update them
  std::vector<int> next_boundary_;         // per month t: see same_hazard_until
  std::uint64_t path_ = 0;
  const parameter_set* ps_ = nullptr;
  const unit_chances* ch_ = nullptr;
  chances adjusted_;  // stage_chances' answer where a policy adjusts the path's chances
  parameter_set drawn_params_;  // with uncertainty: this path's parameters
  unit_chances drawn_chances_;
  std::vector<std::int64_t> x_, low_, total_;  // units x slots; units x admission width; units x stages
  std::vector<random::stream> streams_;       // per unit
  std::vector<double> first_block_;           // units x 4: see first_uniform
  std::vector<std::uint64_t> first_quad_;     // per unit: the path / 4 of first_block_
  std::vector<double> budget_;                // per unit: the race's budget
  std::vector<std::int64_t> ready_, month_admissions_, year_admissions_;
  std::vector<std::int64_t> batch_;  // units x (paths of the batch x tracked counts)
  std::size_t width_ = 0, column_ = 0;  // of a row of batch_; the current path's first column
  std::vector<char> stopped_, boosted_;
};

// The stocks in path_simulator's layout (a fixed stage's age a at month 0 in slot -a mod D),
// and each stage's total per unit.
void set_initial_state(setup& su) {
  const auto& p = su.sc.model();
  const auto n = su.sc.units().size(), slots = p.state_size();
  su.x0.assign(n * slots, 0);
  su.total0.assign(p.size() * n, 0);
  for (std::size_t u = 0; u < n; ++u)
    for (std::size_t s = 0; s < p.size(); ++s)
      for (std::size_t a = 0; a < p.width(s); ++a) {
        const auto count = static_cast<std::int64_t>(
            su.sc.stocks(static_cast<Eigen::Index>(u), static_cast<Eigen::Index>(p.offset(s) + a)));
        su.x0[u * slots + p.offset(s) + (p.width(s) - a) % p.width(s)] = count;
        su.total0[u * p.size() + s] += count;
      }
}

std::string format_count(double x) {
  char out[32];
  std::snprintf(out, sizeof out, "%.3g", x);
  return out;
}

// Refuses a unit that could see more than max_people_per_unit people (see simulate.hpp),
// and a total that, summed over the paths, would overflow the 64-bit tallies.
void check_people(const setup& su) {
  const auto& sc = su.sc;
  const auto& p = sc.model();
  const auto n = sc.units().size();
  double profile = su.opt.inflow_profile.empty() ? 1.0 : 0.0;
  for (double f : su.opt.inflow_profile) profile = std::max(profile, f);
  std::vector<double> inflow(sc.params.inflow.begin(), sc.params.inflow.end()),
      transfer(sc.params.transfer_in.begin(), sc.params.transfer_in.end());
  for (std::size_t k = 0; k < su.opt.uncertainty.size(); ++k) {  // a drawn rate: its mean + 10 sd
    const auto& d = su.opt.uncertainty[k];
    const double high = d.a * d.b + 10 * std::sqrt(d.a) * d.b;
    auto* rate = su.draw_param[k] == param::inflow ? &inflow : su.draw_param[k] == param::transfer_in ? &transfer : nullptr;
    if (rate)
      for (auto u : su.draw_units[k]) (*rate)[static_cast<std::size_t>(u)] = std::max((*rate)[static_cast<std::size_t>(u)], high);
  }
  for (const auto& ps : su.opt.parameter_sets)  // the largest rates any path runs with
    for (std::size_t u = 0; u < n; ++u) {
      inflow[u] = std::max(inflow[u], ps.inflow(static_cast<Eigen::Index>(u)));
      transfer[u] = std::max(transfer[u], ps.transfer_in(static_cast<Eigen::Index>(u)));
    }
  double total = 0;
  for (std::size_t u = 0; u < n; ++u) {
    double stock = 0;
    for (std::size_t s = 0; s < p.size(); ++s) stock += static_cast<double>(su.total0[u * p.size() + s]);
    const double arrivals = su.horizon * (inflow[u] * profile + transfer[u]);
    const double people = stock + arrivals;
    if (!(people <= max_people_per_unit))
      throw input_error("unit '" + sc.units().id(static_cast<unit_index>(u)) + "' could see " + format_count(people) +
                        " people over " + std::to_string(su.horizon) + " months (stocks " + format_count(stock) +
                        ", arrivals " + format_count(arrivals) + " at inflow " + format_count(inflow[u]) +
                        " and transfer_in " + format_count(transfer[u]) +
                        " a month); the simulation handles at most 10^9 people per unit");
    total += people;
  }
  if (total * static_cast<double>(su.opt.paths) > 4e18)
    throw input_error("the organisation could see " + format_count(total) + " people over the horizon; summed over " +
                      std::to_string(su.opt.paths) + " paths that overflows 64-bit counts: use fewer paths");
}

setup make_setup(const scenario& sc, int horizon, const simulation_options& opt) {
  sc.validate();
  if (horizon < 1) throw input_error("the horizon must be at least 1 month, got " + std::to_string(horizon));
  if (opt.paths < 1 || opt.paths > 0xFFFFFFFFLL)
    throw input_error("paths must be in 1 .. 4,294,967,295, got " + std::to_string(opt.paths));
  if (opt.threads < 0 || opt.threads > max_threads)
    throw input_error("threads must be 0 (one per core) .. " + std::to_string(max_threads) + ", got " +
                      std::to_string(opt.threads));
  const auto& p = sc.model();
  const auto& o = sc.units();
  if (const double work = static_cast<double>(opt.paths) * static_cast<double>(o.size()) * horizon;
      work > max_unit_months)
    throw input_error("paths x units x months = " + std::to_string(opt.paths) + " x " + std::to_string(o.size()) +
                      " x " + std::to_string(horizon) + " = " + format_count(work) +
                      " unit-months, above the limit of 10^12 (hours of work): use fewer paths");
  setup su{sc, horizon, opt, opt.track.empty() ? default_tracking(p, horizon) : opt.track, {}, {}, {}, {}, {}, {}, false, {}, {}, {}, {}, {}};
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
  if (!opt.parameter_sets.empty()) {
    if (!opt.uncertainty.empty())
      throw input_error("parameter_sets and uncertainty: give one or the other (each sets every path's parameters)");
    for (std::size_t i = 0; i < opt.parameter_sets.size(); ++i) {
      const auto& ps = opt.parameter_sets[i];
      if (ps.advance.rows() != static_cast<Eigen::Index>(o.size()) || ps.advance.cols() != static_cast<Eigen::Index>(p.size()))
        throw input_error("parameter set " + std::to_string(i) + " does not match the scenario's units and stages");
      ps.validate(o, p);
    }
  }
  if (!su.per_path_parameters()) su.chances = make_chances(su, sc.params);
  set_initial_state(su);
  check_people(su);
  su.tracked_at.assign(n_events, std::vector<std::vector<std::size_t>>(static_cast<std::size_t>(horizon)));
  for (std::size_t i = 0; i < su.tracked.size(); ++i)
    if (const auto e = su.tracked_event[i]; e < n_events)
      for (int t = su.tracked[i].window.first; t < su.tracked[i].window.last; ++t)
        su.tracked_at[e][static_cast<std::size_t>(t)].push_back(i);
  su.stocks_tracked_at.resize(static_cast<std::size_t>(horizon) + 1);
  for (std::size_t i = 0; i < su.tracked.size(); ++i)
    if (su.tracked_event[i] == n_events) su.stocks_tracked_at[static_cast<std::size_t>(su.tracked[i].window.first)].push_back(i);
  return su;
}

accumulator make_accumulator(const setup& su, cell_budget* budget) {
  accumulator acc;
  const auto n = su.sc.units().size();
  acc.sums.assign(n * su.n_quantities() * static_cast<std::size_t>(su.horizon), 0);
  acc.hist = window_histograms(n * su.tracked.size(), budget);
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
  {
    // Per worker: the tallies, and the state (a count per unit and slot, a few times over).
    const double tallies = static_cast<double>(n) *
                           static_cast<double>(su.n_quantities() * horizon + su.tracked.size() * 4 + 4 * sc.model().state_size()) * 8;
    const double kept_bytes = opt.keep_paths ? static_cast<double>(su.tracked.size()) * static_cast<double>(opt.paths) * n * 8 : 0;
    detail::check_fits_memory(threads * tallies + kept_bytes,
                              "simulate (" + std::to_string(threads) + " threads' tallies of " + std::to_string(n) +
                                  " units" + (opt.keep_paths ? ", and keep_paths' " + std::to_string(su.tracked.size()) +
                                                                   " x paths x nodes counts" : std::string()) + ")");
  }
  cell_budget budget;
  budget.limit = static_cast<long long>(detail::available_memory() / 24);  // int64 counts, then double pmfs
  std::vector<accumulator> accs;
  for (int i = 0; i < threads; ++i) accs.push_back(make_accumulator(su, &budget));
  std::vector<std::vector<std::int64_t>> kept;
  if (opt.keep_paths) kept.assign(su.tracked.size(), std::vector<std::int64_t>(static_cast<std::size_t>(opt.paths) * n));

  std::atomic<long long> next_path{0}, done{0};
  std::atomic<bool> stop{false};
  std::exception_ptr failure;
  std::mutex failure_mutex, finished_mutex;
  std::condition_variable finished_cv;
  int finished = 0;
  // Paths go to the workers in batches (see path_simulator::run_batch) of at most about
  // a million unit-months, so that a stop request is seen within tens of milliseconds,
  // and shrinking towards the end (a share of what is left), so that the workers finish
  // together. The batches do not change the results: every path's draws are its own,
  // and the tallies are integer sums.
  const long long unit_months = static_cast<long long>(n) * horizon;
  const long long largest = std::clamp((1LL << 20) / std::max(1LL, unit_months), 1LL, 32LL);
  auto take_batch = [&](long long& first) {
    long long next = next_path.load();
    for (;;) {
      const long long left = opt.paths - next;
      if (left <= 0) return 0LL;
      const long long size = std::clamp(left / (2LL * threads), 1LL, largest);
      if (next_path.compare_exchange_weak(next, next + size)) {
        first = next;
        return size;
      }
    }
  };
  auto work = [&](int id) {
    try {
      path_simulator sim(su, accs[static_cast<std::size_t>(id)], opt.keep_paths ? &kept : nullptr);
      for (long long first = 0, count; !stop && (count = take_batch(first)) > 0;) {
        sim.run_batch(static_cast<std::uint64_t>(first), static_cast<std::size_t>(count));
        done += count;
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      stop = true;
    }
    {
      std::lock_guard<std::mutex> lock(finished_mutex);
      ++finished;
    }
    finished_cv.notify_one();
  };
  std::vector<std::thread> pool;
  try {
    for (int i = 0; i < threads; ++i) pool.emplace_back(work, i);
  } catch (const std::system_error& e) {  // out of threads or of address space: stop those started
    stop = true;
    for (auto& t : pool) t.join();
    throw error("simulate: could not start worker thread " + std::to_string(pool.size() + 1) + " of " +
                std::to_string(threads) + " (" + e.what() + "); use fewer threads");
  }
  // The calling thread reports progress every 100 ms and relays a request to stop; it
  // wakes as soon as the last worker is done.
  bool cancelled_by_caller = false;
  {
    std::unique_lock<std::mutex> lock(finished_mutex);
    while (!finished_cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return finished == threads; })) {
      lock.unlock();
      try {  // a callback that throws stops the run like a worker that throws
        if (opt.progress && !stop && !opt.progress(done.load(), opt.paths)) {
          cancelled_by_caller = true;
          stop = true;
        }
      } catch (...) {
        std::lock_guard<std::mutex> failed(failure_mutex);
        if (!failure) failure = std::current_exception();
        stop = true;
      }
      lock.lock();
    }
  }
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
  if (cancelled_by_caller) throw cancelled("simulation stopped after " + std::to_string(done.load()) + " paths");
  if (opt.progress) opt.progress(opt.paths, opt.paths);

  // Merge (integer sums: the order of the workers does not matter).
  accumulator& total = accs[0];
  for (std::size_t i = 1; i < accs.size(); ++i) {
    for (std::size_t k = 0; k < total.sums.size(); ++k) total.sums[k] += accs[i].sums[k];
    total.hist.merge(accs[i].hist);
  }
  simulation_result result{forecast_result(sc.organisation, sc.stages, horizon), su.tracked, {}, std::move(kept), opt.paths};
  const auto quantities = result.means.quantities();
  const double paths = static_cast<double>(opt.paths);
  const auto stages = sc.model().size();
  std::vector<decltype(&result.means.own(quantities[0]))> means;
  for (const auto& q : quantities) means.push_back(&result.means.own(q));
  for (std::size_t u = 0; u < n; ++u) {  // in the order of the sums
    const auto ui = static_cast<Eigen::Index>(u);
    for (std::size_t q = 0; q < quantities.size(); ++q) {
      auto& m = *means[q];
      const std::int64_t* sums = &total.sums[(u * quantities.size() + q) * static_cast<std::size_t>(horizon)];
      if (q < stages) {  // stocks: month 0's, then cumulated changes (in integers: exact)
        auto stock = opt.paths * su.total0[u * stages + q];
        m(ui, 0) = static_cast<double>(su.total0[u * stages + q]);
        for (int t = 0; t < horizon; ++t) {
          stock += sums[t];
          m(ui, t + 1) = static_cast<double>(stock) / paths;
        }
      } else {
        for (int t = 0; t < horizon; ++t) m(ui, t) = static_cast<double>(sums[t]) / paths;
      }
    }
  }
  const auto T = su.tracked.size();
  result.distributions.resize(T);
  for (auto& d : result.distributions) {
    d.offsets.reserve(n);
    d.tails.reserve(n);
    d.starts.reserve(n + 1);
  }
  for (std::size_t u = 0; u < n; ++u)  // in the order of the store
    for (std::size_t t = 0; t < T; ++t) total.hist.append_pmf(u * T + t, paths, result.distributions[t]);
  return result;
}

}  // namespace memberflow
