#include "simulate_step.hpp"

#include <algorithm>
#include <limits>
#include <numeric>

#include "simulate_tally.hpp"

namespace memberflow::sim {

// Given r < h, the outcome is 1 when v = exp(-r) <= f(0) + f(1) = exp(-h) (1 + f(1)/f(0)),
// i.e. when r >= h - log1p(f(1)/f(0)): the usual single event is settled in log space
// (mostly without the logarithm: at_least_minus_log1p), and v itself is needed only for
// two or more.
long long draws::binomial_event(long long n, double p, double h) {
  long long k = 1;
  if (n > 1 && !(random::detail::binomial_is_small(n, p) && at_least_minus_log1p(r_, h, static_cast<double>(n) * p, 1 - p)))
    k = random::binomial_positive(s_, std::exp(-r_), n, p, std::exp(-h));
  r_ = random::exponential(s_);
  return k;
}

long long draws::poisson_event(double mu, double exp_minus_mu) {
  long long k = 1;
  if (!(mu < random::detail::small_mean && at_least_minus_log1p(r_, mu, mu)))
    k = random::poisson_positive(s_, std::exp(-r_), mu, exp_minus_mu);
  r_ = random::exponential(s_);
  return k;
}

double count_threshold(simulation_regime regime, bool table) {
  switch (regime) {
    case simulation_regime::race: return std::numeric_limits<double>::infinity();
    case simulation_regime::counts: return -1;
    case simulation_regime::automatic: break;
  }
  return table ? count_cost_per_table : count_cost_per_component;
}

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
// passes at the end of a fixed stage; no arrivals). Each unit's outcomes are drawn from
// its own stream (seed, path, unit) by `draws`; H, the sum of the h of a month's raced
// components, changes only with the unit's state or chances, so a stretch of months that
// share one H and count nothing is skipped whole (unit_months) with the default moves
// only (the last age of each fixed stage passes on).
path_simulator::path_simulator(const setup& su, simulation_tally& tally, std::vector<std::vector<std::int64_t>>* kept,
                               long long kept_first)
    : su_(su), tally_(tally), sums_(tally.sums), kept_(kept), kept_first_(kept_first), p_(su.sc.model()),
      o_(su.sc.units()), n_(o_.size()), slots_(p_.state_size()), adm_(p_.admission()), terminal_(p_.terminal()),
      adm_width_(p_.width(adm_)), horizon_(static_cast<std::size_t>(su.horizon)), quantities_(su.n_quantities()),
      stages_(p_.size()), count_above_(count_threshold(su.opt.regime)), params_(su), policies_(su),
      month_varies_(su.coupled() || !su.opt.inflow_profile.empty()),
      same_start_(!month_varies_ && !su.per_path_parameters()) {
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
  if (!su.ladder_chances.empty()) {
    ladder_at_.assign(n_ * stages_ * ladder_slots, ladder_slot{});
    for (double p : su.ladder_chances) ladders_.push_back({random::binomial_ladder(p, std::log1p(-p))});
  }
  first_block_.resize(n_ * 4);
  first_quad_.assign(n_, std::numeric_limits<std::uint64_t>::max());
  if (same_start_) prepare_same_start();
}

void path_simulator::run_batch(std::uint64_t first, std::size_t count) {
  const auto T = su_.tracked.size();
  width_ = count * T;
  row_ = padded_row(width_);
  batch_.assign(n_ * row_, 0);
  if (su_.coupled() || su_.per_path_parameters()) {
    for (std::size_t b = 0; b < count; ++b) {
      column_ = b * T;
      run_path(first + b);
    }
  } else {
    run_batch_by_unit_blocks(first, count);
  }
  rollup_batch();
  auto& hist = tally_.histograms();
  for (std::size_t u = 0; u < n_; ++u)
    for (std::size_t b = 0; b < count; ++b) hist.add_each(u * T, &batch_[u * row_ + b * T], T);
  if (kept_)
    for (std::size_t u = 0; u < n_; ++u)
      for (std::size_t b = 0; b < count; ++b)
        for (std::size_t i = 0; i < T; ++i)
          (*kept_)[i][(first + b - static_cast<std::uint64_t>(kept_first_)) * n_ + u] = batch_[u * row_ + b * T + i];
}

// A unit's row of the batch is `width` counts long and starts an odd number of cache
// lines after the one before: with an even number, a power of two above all (32 paths x
// 14 counts = 56 lines), the rows of a block's units map into a few of the L1 cache's
// sets and evict one another as the block's paths write them (2,000 units at ~4 people
// a unit ran 1.4x faster with batches of 4 paths than of 32 before this padding).
std::size_t path_simulator::padded_row(std::size_t width) {
  constexpr std::size_t per_line = 64 / sizeof(std::int64_t);
  const std::size_t lines = (width + per_line - 1) / per_line;
  return (lines % 2 ? lines : lines + 1) * per_line;
}

// The most paths of a batch. Where units hold few people, those whose tracked counts, for
// a block of units, fill about a 32 KiB L1 data cache: larger batches spill them while
// the block's paths are written (a 2,000-unit run at ~4 people a unit, 14 tracked counts,
// made 80 M unit-path-months/s with batches of 4 or 8 paths against 68-72 M with 32,
// 1 thread, padded rows both). Where they hold many (64 or more a unit on average), 32:
// each tracked count then spreads over a wide histogram of its own, a cache miss when a
// batch adds its paths' values, which larger batches share out (with 32 paths instead of
// 4, a unit-month at ~3,740 people a unit 312.5/313.8 against 331.9/333.2 ns, at ~1,182
// 215.0/219.6 against 226.8/223.9; at ~37, 74.5/74.9 against 72.0/69.5).
std::size_t path_simulator::batch_paths(const setup& su) {
  const auto tracked = std::max<std::size_t>(1, su.tracked.size());
  const auto units = std::max<std::size_t>(1, su.sc.units().size());
  const double people = static_cast<double>(std::accumulate(su.total0.begin(), su.total0.end(), std::int64_t{0}));
  if (people / static_cast<double>(units) >= 64) return 32;
  constexpr std::size_t budget = 32 * 1024;
  return std::max<std::size_t>(1, budget / (unit_block * sizeof(std::int64_t) * tracked));
}

// Every node's row of the batch becomes its subtree's total (children before parents).
void path_simulator::rollup_batch() {
  const auto parents = o_.parents();
  const auto order = o_.preorder();
  for (auto it = order.rbegin(); it != order.rend(); ++it)
    if (const auto p = parents[static_cast<std::size_t>(*it)]; p != no_unit) {
      std::int64_t* to = &batch_[static_cast<std::size_t>(p) * row_];
      const std::int64_t* from = &batch_[static_cast<std::size_t>(*it) * row_];
      for (std::size_t c = 0; c < width_; ++c) to[c] += from[c];
    }
}

// Paths with policies or per-path parameters: one path at a time.
void path_simulator::run_path(std::uint64_t path) {
  path_ = path;
  params_.select(path);
  low_.assign(su_.low_class ? n_ * adm_width_ : 0, 0);
  policies_.start_path();
  for (std::size_t u = 0; u < n_; ++u) start_unit(u);
  if (su_.coupled()) {  // the policies act across units at each month's end
    for (int t = 0; t < su_.horizon; ++t) {
      for (std::size_t u = 0; u < n_; ++u) unit_month(u, t);
      if (policies_.course.session(t)) seat_the_ready(t);
      policies_.target.after(t);
    }
  } else {
    for (std::size_t u = 0; u < n_; ++u) unit_months(u);
  }
  for (std::size_t u = 0; u < n_; ++u) end_unit(u);
  if (!ladders_.empty()) trim_ladders();
}

// Without policies or drawn parameters units are independent: a block of units runs
// through every path of the batch before the next block, so that the block's state,
// sums and tracked counts stay in cache.
void path_simulator::run_batch_by_unit_blocks(std::uint64_t first, std::size_t count) {
  params_.select(first);
  for (std::size_t u0 = 0; u0 < n_; u0 += unit_block) {
    const auto u1 = std::min(n_, u0 + unit_block);
    for (std::size_t b = 0; b < count; ++b) {
      column_ = b * su_.tracked.size();
      path_ = first + b;
      for (std::size_t u = u0; u < u1; ++u) {
        start_unit(u);
        unit_months(u);
        end_unit(u);
      }
    }
    if (!ladders_.empty()) trim_ladders();
  }
}

// Unit u at month 0 of path path_: its stocks, its stream and a first budget.
void path_simulator::start_unit(std::size_t u) {
  std::copy_n(&su_.x0[u * slots_], slots_, &x_[u * slots_]);
  std::copy_n(&su_.total0[u * stages_], stages_, &total_[u * stages_]);
  streams_[u] = random::stream(su_.opt.seed, path_, u, 0, unit_domain);
  if (!same_start_) budget_[u] = -std::log(first_uniform(u));
}

// The first uniform of (path, unit): word path mod 4 of the Philox block with counters
// (path / 4, unit) in the first-draw domain, so that four paths share one Philox call
// (most units need no other number in most paths). Later ones come from streams_[u].
double path_simulator::first_uniform(std::size_t u) {
  const auto quad = path_ / 4;
  double* block = &first_block_[u * 4];
  if (first_quad_[u] != quad) {
    random::stream rs(su_.opt.seed, quad, u, 0, first_domain);
    for (std::size_t j = 0; j < 4; ++j) block[j] = rs.uniform();
    first_quad_[u] = quad;
  }
  return block[path_ % 4];
}

void path_simulator::end_unit(std::size_t u) {
  for (auto i : su_.stocks_tracked_at[horizon_]) tracked(u, i) = total_[u * stages_ + su_.tracked_stage[i]];
}

// Unit u's whole horizon, when its chances do not change from month to month (no
// policy, no inflow profile). The months up to the next change of its state (a cohort
// that reaches the last age of a fixed stage, or leaves it) share one H: the quiet
// ones among them are skipped together. With budget E, the first k = floor(E / H)
// months are quiet and month k is busy with E - kH left, exactly as month by month.
// A month with counted components is drawn in full.
void path_simulator::unit_months(std::size_t u) {
  if (month_varies_) {
    for (int t = 0; t < su_.horizon; ++t) unit_month(u, t);
    return;
  }
  double& budget = budget_[u];
  int t = 0;
  if (same_start_) {  // the first stretch is the same in every path: its chance of quiet is known
    const double first = first_uniform(u);
    if (!start_counted_[u] && first <= start_quiet_[u]) {
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
    bool counted = false;
    const double h = same_start_ && t == 0 ? (counted = start_counted_[u], start_hazard_[u]) : hazard(u, t, counted);
    if (counted) {
      busy(u, t);
      ++t;
      continue;
    }
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
void path_simulator::prepare_same_start() {
  params_.select(0);
  start_quiet_.resize(n_);
  start_last_.resize(n_);
  start_hazard_.resize(n_);
  start_counted_.resize(n_);
  for (std::size_t u = 0; u < n_; ++u) {
    std::copy_n(&su_.x0[u * slots_], slots_, &x_[u * slots_]);
    std::copy_n(&su_.total0[u * stages_], stages_, &total_[u * stages_]);
    start_last_[u] = same_hazard_until(u, 0);
    bool counted = false;
    start_hazard_[u] = hazard(u, 0, counted);
    start_counted_[u] = counted;
    start_quiet_[u] = std::exp(-start_hazard_[u] * (start_last_[u] + 1));
  }
}

// The last month from t on whose H is month t's, and before which no one moves by
// default: the month before a tracked stock's month, or one in which a fixed stage's
// last age is occupied or will be the next month.
int path_simulator::same_hazard_until(std::size_t u, int t) const {
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

void path_simulator::snapshot(std::size_t u, int t) {
  for (auto i : su_.stocks_tracked_at[static_cast<std::size_t>(t)])
    tracked(u, i) = total_[u * stages_ + su_.tracked_stage[i]];
}

// One month of unit u, where the chances vary by month (a policy, an inflow profile).
void path_simulator::unit_month(std::size_t u, int t) {
  snapshot(u, t);
  if (policies_.course.active()) policies_.course.ready(u) = 0;
  bool counted = false;
  const double h = hazard(u, t, counted);
  if (!counted && budget_[u] >= h) {
    budget_[u] -= h;
    quiet(u, t);
  } else {
    busy(u, t);
  }
}

// The chances of unit u in stage s in month t: the path's, with the policies' changes to
// the advance into admission.
chances path_simulator::stage_chances(std::size_t u, std::size_t s, int t) const {
  if (policies_.adjusts(s)) return policies_.entry_chances(params_.params(), u, s, t);
  return ch().stage[u * stages_ + s];
}

// H: minus the log of the chance that no raced component of unit u has an event in
// month t; `counted` says whether some component is drawn as a count.
double path_simulator::hazard(std::size_t u, int t, bool& counted) {
  counted = false;
  if (policies_.adjusts_entry || su_.low_class) return hazard_by_component(u, t, counted);
  const std::int64_t* x = &x_[u * slots_];
  const auto& c = ch();
  const double inflow = inflow_rate(su_.opt, c, u, t);
  // Arrivals drawn as a count: the month is counted (and H not used), whatever the stages.
  if (arrivals_counted(u, inflow)) return counted = true, 0.0;
  double h = inflow + c.transfer[u];
  bool maybe_counted = false;
  const double* person = &c.person_h[u * stages_];  // a person's h per stage, precomputed
  for (std::size_t s = 0; s < stages_; ++s)
    if (const auto n = total_[u * stages_ + s]) {
      h += static_cast<double>(n) * person[s];
      const auto& sc = c.stage[u * stages_ + s];
      if (draws::counted(static_cast<double>(n) * std::max(sc.p1, sc.p2), count_above_)) {
        // A markov or terminal stage's whole count is its components' n: counted for sure
        // (H is then not used). A fixed stage's is spread over cohorts: maybe.
        if (plan_[s].kind != stage_kind::fixed) return counted = true, h;
        maybe_counted = true;
      }
    }
  if (maybe_counted) return hazard_by_component(u, t, counted);
  for (auto s : fixed_stages_)
    if (const auto n = x[plan_[s].offset + entry_slot(s, t)]) h -= static_cast<double>(n) * c.stage[u * stages_ + s].log_q2;
  return h;
}

// Whether unit u's arrivals (`inflow` this month) are drawn as a count: a stream with a
// table always (add_arrival_tables), one without as the regime's rule says.
bool path_simulator::arrivals_counted(std::size_t u, double inflow) const {
  const auto& c = ch();
  return c.inflow_table(u) || c.transfer_table(u) || draws::counted(inflow, count_above_) ||
         draws::counted(c.transfer[u], count_above_);
}

// H component by component: where policies adjust chances, or some may be counted.
double path_simulator::hazard_by_component(std::size_t u, int t, bool& counted) {
  const std::int64_t* x = &x_[u * slots_];
  const double ca = count_above_;
  double h = 0;
  auto add = [&](std::int64_t n, double p, double log_q) {
    if (n == 0 || p == 0) return;
    if (draws::counted(static_cast<double>(n) * p, ca)) counted = true;
    else h -= static_cast<double>(n) * log_q;
  };
  // H is used only when nothing is counted: once something is, the month is drawn in full.
  if (const double inflow = inflow_rate(su_.opt, ch(), u, t); arrivals_counted(u, inflow)) {
    counted = true;
  } else {
    h += inflow;
    h += ch().transfer[u];
  }
  for (std::size_t s = 0; s < stages_ && !counted; ++s) {
    const auto& st = plan_[s];
    const auto c = stage_chances(u, s, t);
    switch (st.kind) {
      case stage_kind::markov:
        add(x[st.offset], c.p1, c.log_q1);
        add(x[st.offset], c.p2, c.log_q2);
        break;
      case stage_kind::terminal: add(x[st.offset], c.p1, c.log_q1); break;
      case stage_kind::fixed: {
        const auto last = entry_slot(s, t);
        auto cohorts = [&](const std::int64_t* ring, const chances& cc) {
          for (int a = 0; a < st.months; ++a) add(ring[a], cc.p1, cc.log_q1);
          add(ring[last], cc.p2, cc.log_q2);
        };
        cohorts(x + st.offset, c);
        if (su_.low_class && s == adm_) cohorts(&low_[u * adm_width_], ch().low[u]);
        break;
      }
    }
  }
  return h;
}

// A quiet month: only the default moves, i.e. the last age of each fixed stage passes on.
void path_simulator::quiet(std::size_t u, int t) {
  std::int64_t* x = &x_[u * slots_];
  for (auto s : fixed_stages_) {
    graduate(u, s, t, x + plan_[s].offset);
    if (su_.low_class && s == adm_) graduate(u, s, t, &low_[u * adm_width_]);
  }
}

void path_simulator::graduate(std::size_t u, std::size_t s, int t, std::int64_t* ring) {
  auto& last = ring[entry_slot(s, t)];
  if (last) {
    const auto k = last;
    last = 0;
    restock(s, u, t, -k);
    enter(u, s + 1, k, t);
  }
}

// A month in full: every stage's draws, from the last stage to the first, then arrivals.
void path_simulator::busy(std::size_t u, int t) {
  draws d(streams_[u], budget_[u], count_above_);
  std::int64_t* x = &x_[u * slots_];
  for (std::size_t s = stages_; s-- > 0;) {
    const auto& st = plan_[s];
    if (total_[u * stages_ + s] == 0) continue;  // no one to draw for
    const auto c = stage_chances(u, s, t);
    const auto off = st.offset;
    switch (st.kind) {
      case stage_kind::terminal: {
        const auto leave = stage_binomial(d, u, s, 0, x[off], c);
        x[off] -= leave;
        restock(s, u, t, -leave);
        count(u, t, event_at::leavers, leave);
        break;
      }
      case stage_kind::fixed:
        step_cohorts(d, u, s, t, x + off, c, 0);
        if (su_.low_class && s == adm_) step_cohorts(d, u, s, t, &low_[u * adm_width_], ch().low[u], 2);
        break;
      case stage_kind::markov: {
        // advance ~ Bin(n, a), exit ~ Bin(n - advance, e / (1 - a)): the multinomial as
        // chained binomials.
        const auto n = x[off];
        const auto advance = stage_binomial(d, u, s, 0, n, c);
        const auto exit = stage_binomial(d, u, s, 1, n - advance, c);
        x[off] -= exit;
        restock(s, u, t, -exit);
        count(u, t, event_at::exits, exit);
        if (policies_.course.active() && s + 1 == adm_) {
          policies_.course.ready(u) = advance;  // they wait in training until the seats are allocated
        } else {
          x[off] -= advance;
          restock(s, u, t, -advance);
          enter(u, s + 1, advance, t);
        }
        break;
      }
    }
  }
  const auto& c = ch();
  const auto in = d.poisson(inflow_rate(su_.opt, c, u, t), exp_minus_inflow(su_.opt, c, u, t), c.inflow_table(u));
  enter(u, 0, in, t);
  const auto transfer = d.poisson(c.transfer[u], c.exp_transfer[u], c.transfer_table(u));
  x[plan_[terminal_].offset] += transfer;
  restock(terminal_, u, t, transfer);
  count(u, t, event_at::arrivals, in + transfer);
}

// A fixed stage's cohorts: exits at every age (youngest first), then at the last age
// the survivors pass on or fail.
void path_simulator::step_cohorts(draws& d, std::size_t u, std::size_t s, int t, std::int64_t* ring, const chances& c,
                                  int slot) {
  const auto months = static_cast<std::size_t>(plan_[s].months);
  std::int64_t exits = 0;
  // The raced cohorts' exits share one chance: with no cohort counted, the stage's exits
  // as one group first.
  const auto people = std::accumulate(ring, ring + months, std::int64_t{0});
  bool any_counted = false;
  // No cohort holds more than the stage: with its whole count not counted, none is.
  if (draws::counted(static_cast<double>(people) * c.p1, d.count_above()))
    for (std::size_t a = 0; a < months; ++a) any_counted |= draws::counted(static_cast<double>(ring[a]) * c.p1, d.count_above());
  // Age a is in slot (t - a) mod D, youngest first.
  const std::size_t youngest = plan_[s].mod[static_cast<std::size_t>(t)];
  auto cohort = [&](std::size_t a) -> std::int64_t& {
    return ring[a <= youngest ? youngest - a : youngest + months - a];
  };
  if (c.p1 > 0) {
    if (any_counted) {
      for (std::size_t a = 0; a < months; ++a) {
        auto& n = cohort(a);
        const auto ex = stage_binomial(d, u, s, slot, n, c);
        n -= ex;
        exits += ex;
      }
    } else if (!d.all_default(-static_cast<double>(people) * c.log_q1)) {
      exits += d.raced_each(months, c.p1, c.log_q1, cohort);
    }
  }
  auto& last = ring[entry_slot(s, t)];
  const auto fail = stage_binomial(d, u, s, slot + 1, last, c);
  const auto passed = last - fail;
  exits += fail;
  last = 0;
  restock(s, u, t, -(exits + passed));
  count(u, t, event_at::exits, exits);
  enter(u, s + 1, passed, t);
}

void path_simulator::see_chance(ladder_slot& slot, double p) {
  slot = ladder_slot{p, 0, 0};
  const auto none = su_.ladder_chances.size();
  if (const auto i = su_.ladder_chance(p); i < none) {
    slot.ladder = static_cast<std::uint32_t>(i + 1);
  } else if (const auto j = su_.ladder_chance(ladder_grid(p)); j < none) {
    slot.ladder = static_cast<std::uint32_t>(j + 1);
    auto [it, first] = thinning_of_.try_emplace(p, static_cast<std::uint32_t>(thinnings_.size() + 1));
    if (first) {
      const double thin = 1 - p / su_.ladder_chances[j];
      thinnings_.push_back({thin, std::log1p(-thin)});
    }
    slot.thinning = it->second;
  }
}

long long path_simulator::ladder_binomial(draws& d, std::uint32_t i, std::int64_t n) {
  auto& e = ladders_[i];
  if (e.used != ladder_count_) {
    e.used = ladder_count_;
    ladders_used_.push_back(i);
  }
  return d.binomial_from(e.ladder, n);
}

// The ladders' tables are a cache: made again when needed, with the same numbers. Many
// shared chances (a tree of many kinds) could still fill memory with them, so past
// ladder_bytes they are forgotten (counted between blocks of units and between paths).
void path_simulator::trim_ladders() {
  for (const auto i : ladders_used_) {
    auto& e = ladders_[i];
    const auto bytes = e.ladder.bytes();
    if (!e.bytes && bytes) ladders_holding_.push_back(i);
    ladder_total_ += bytes - e.bytes;  // tables only grow between clears
    e.bytes = bytes;
  }
  ladders_used_.clear();
  ++ladder_count_;
  if (ladder_total_ <= ladder_bytes) return;
  for (const auto i : ladders_holding_) {
    ladders_[i].ladder.clear();
    ladders_[i].bytes = 0;
  }
  ladders_holding_.clear();
  ladder_total_ = 0;
}

// k people of unit u enter stage s in month t (they are there at the start of t + 1).
void path_simulator::enter_some(std::size_t u, std::size_t s, std::int64_t k, int t) {
  restock(s, u, t, k);
  if (s == terminal_) count(u, t, event_at::confirmations, k);
  if (s == adm_) {
    count(u, t, event_at::admissions, k);
    if (su_.low_class && policies_.target.boosted(u)) {
      low_[u * adm_width_ + entry_slot(s, t)] += k;
      return;
    }
  }
  x_[u * slots_ + plan_[s].offset + entry_slot(s, t)] += k;
}

void path_simulator::count_some(std::size_t u, int t, std::size_t e, std::int64_t k) {
  const auto month = static_cast<std::size_t>(t);
  sum(u, stages_ + e, t) += k;
  for (auto i : su_.tracked_at[e][month]) tracked(u, i) += k;
  if (e == event_at::admissions) policies_.target.admitted(u, k);
}

// The course's seats: the winners among each unit's ready trainees are admitted.
void path_simulator::seat_the_ready(int t) {
  const auto& winners = policies_.course.seat(path_, t);
  const std::size_t training = adm_ - 1;
  for (std::size_t u = 0; u < n_; ++u) {
    if (!winners[u]) continue;
    x_[u * slots_ + plan_[training].offset] -= winners[u];
    restock(training, u, t, -winners[u]);
    enter(u, adm_, winners[u], t);
  }
}

}  // namespace memberflow::sim
