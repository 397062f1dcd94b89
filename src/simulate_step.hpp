#pragma once
// The core of the simulation engine (src/simulate_setup.hpp lists its files): paths in
// batches, and in each path every unit's months as the model says (docs/pipeline-model.md),
// each month's random outcomes drawn as a race in hazard time or as counts
// (docs/simulation.md).
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "memberflow/random.hpp"
#include "simulate_policies.hpp"
#include "simulate_setup.hpp"

namespace memberflow::sim {

// A unit's draws. Every random outcome of the model is a component: a binomial (people
// who advance, exit, fail, leave) or a Poisson (arrivals), whose default (nothing
// happens) is 0. A component whose mean exceeds `count_above` is drawn as a count
// (random::binomial_count / poisson_count: O(1) whatever the number of people);
// the others race in "hazard time": the default has a chance d = exp(-h) (h = -n log(1 - p)
// for a binomial, h = the mean for a Poisson); the unit keeps a budget r ~ Exp(1) and
// walks its components in a fixed order: one with r >= h takes its default and r -= h
// (by memorylessness the rest is again Exp(1)); one with r < h does not, and v = exp(-r),
// uniform on (d, 1], draws its outcome given that (random::*_positive); then a fresh
// r ~ Exp(1) is drawn (random::exponential). So a default costs a subtraction and each
// event about one random number.
// Both ways draw each component from its own law, independently of the others.
class draws {
 public:
  draws(random::stream& s, double& budget, double count_above) : s_(s), r_(budget), count_above_(count_above) {}

  // Whether a component of this mean is drawn as a count.
  static bool counted(double mean, double count_above) { return mean > count_above; }

  long long binomial(long long n, double p, double log_q) {
    if (n == 0 || p == 0) return 0;
    if (counted(static_cast<double>(n) * p, count_above_)) return binomial_count(n, p, log_q);
    return raced_binomial(n, p, log_q);
  }
  // A counted binomial drawn from a ladder of its p (random::binomial_ladder).
  long long binomial_from(random::binomial_ladder& ladder, long long n) { return ladder(s_, n); }

  // binomial() for a component known to race (n p at most count_above, p > 0); n may be 0
  // (h = 0: its default, nothing spent).
  long long raced_binomial(long long n, double p, double log_q) {
    const double h = -static_cast<double>(n) * log_q;
    if (r_ >= h) {
      r_ -= h;
      return 0;
    }
    return binomial_event(n, p, h);
  }

  // raced_binomial of chance p for components 0 .. count - 1 in turn, each n = at(i) (a
  // reference) less its outcome; returns the outcomes' sum. The budget stays in a register
  // through the defaults (raced_binomial's is in memory: a store and a load on each
  // component's dependent chain).
  template <class At>
  long long raced_each(std::size_t count, double p, double log_q, At at) {
    double r = r_;
    long long sum = 0;
    for (std::size_t i = 0; i < count; ++i) {
      auto& n = at(i);
      const double h = -static_cast<double>(n) * log_q;
      if (r >= h) {
        r -= h;
        continue;
      }
      r_ = r;
      const auto k = binomial_event(n, p, h);
      r = r_;
      n -= k;
      sum += k;
    }
    r_ = r;
    return sum;
  }

  // Whether every raced component of total hazard h takes its default (then h is spent):
  // a group of components walked one by one only when it holds an event.
  bool all_default(double h) {
    if (r_ < h) return false;
    r_ -= h;
    return true;
  }

  // `table`: the stream's sampler, if it has one (unit_chances::table): it is counted.
  long long poisson(double mu, double exp_minus_mu, const random::poisson_table* table = nullptr) {
    if (table) return (*table)(s_);
    if (mu == 0) return 0;
    if (counted(mu, count_above_)) return poisson_count(mu, exp_minus_mu);
    if (r_ >= mu) {
      r_ -= mu;
      return 0;
    }
    return poisson_event(mu, exp_minus_mu);
  }

  double count_above() const { return count_above_; }

 private:
  // random::binomial_count and poisson_count without their checks (the setup made them).
  [[gnu::noinline]] long long binomial_count(long long n, double p, double log_q) {
    return random::detail::binomial_count_unchecked(s_, n, p, log_q);
  }
  [[gnu::noinline]] long long poisson_count(double mu, double exp_minus_mu) {
    return random::detail::poisson_count_unchecked(s_, mu, exp_minus_mu);
  }
  [[gnu::noinline]] long long binomial_event(long long n, double p, double h);
  [[gnu::noinline]] long long poisson_event(double mu, double exp_minus_mu);

  random::stream& s_;
  double& r_;
  double count_above_;
};

// The threshold of `draws` for a regime: the race draws nothing as a count, counts draw
// everything as one, automatic draws a component as a count when its mean exceeds
// count_cost_per_component, or count_cost_per_table for an arrival stream with a table
// (simulate.hpp).
double count_threshold(simulation_regime regime, bool table = false);

// Paths in batches (see the class comment in simulate_step.cpp).
class path_simulator {
 public:
  // `kept` (with keep_paths): tracked x (paths x nodes) for the paths from `kept_first` on.
  path_simulator(const setup& su, simulation_tally& tally, std::vector<std::vector<std::int64_t>>* kept,
                 long long kept_first);
  // Paths first .. first + count - 1: their tracked counts are kept side by side, rolled
  // up the tree and tallied together.
  void run_batch(std::uint64_t first, std::size_t count);
  // Without policies units run in blocks of this many through every path of a batch.
  static constexpr std::size_t unit_block = 64;
  // The most memory a worker's binomial ladders' tables keep (see trim_ladders), and the
  // ladders a unit's stage may use (its chances p1 and p2, and the target rule's lowered-bar
  // cohort's; stage_binomial).
  static constexpr std::size_t ladder_bytes = std::size_t{16} << 20, ladder_slots = 4;
  // A chance p seen in a unit's stage (one of its ladder_slots) and its ladder: index + 1
  // (0: none), and for a ladder of a grid point P, its thinning's index + 1 (0: p's own
  // ladder). 16 bytes: a worker keeps one per unit, stage and slot.
  struct ladder_slot {
    double p = -1;
    std::uint32_t ladder = 0, thinning = 0;
  };
  static_assert(sizeof(ladder_slot) == 16);
  // The most paths a batch should hold (see simulate_step.cpp).
  static std::size_t batch_paths(const setup& su);

 private:
  void rollup_batch();
  std::int64_t& tracked(std::size_t u, std::size_t i) { return batch_[u * row_ + column_ + i]; }
  static std::size_t padded_row(std::size_t width);
  void run_path(std::uint64_t path);
  void run_batch_by_unit_blocks(std::uint64_t first, std::size_t count);
  void start_unit(std::size_t u);
  double first_uniform(std::size_t u);
  void end_unit(std::size_t u);
  std::int64_t& sum(std::size_t u, std::size_t q, int t) {
    return sums_[(u * quantities_ + q) * horizon_ + static_cast<std::size_t>(t)];
  }
  void restock(std::size_t s, std::size_t u, int t, std::int64_t k) {
    if (k == 0) return;
    total_[u * stages_ + s] += k;
    sum(u, s, t) += k;
  }
  std::size_t entry_slot(std::size_t s, int t) const { return plan_[s].mod[static_cast<std::size_t>(t) + 1]; }
  void unit_months(std::size_t u);
  void prepare_same_start();
  int same_hazard_until(std::size_t u, int t) const;
  void snapshot(std::size_t u, int t);
  void unit_month(std::size_t u, int t);
  chances stage_chances(std::size_t u, std::size_t s, int t) const;
  double hazard(std::size_t u, int t, bool& counted);
  double hazard_by_component(std::size_t u, int t, bool& counted);
  bool arrivals_counted(std::size_t u, double inflow) const;
  void quiet(std::size_t u, int t);
  void graduate(std::size_t u, std::size_t s, int t, std::int64_t* ring);
  void busy(std::size_t u, int t);
  // `slot`: the ladder slot of c.p1 (0, or 2 for the lowered-bar cohort; ladder_slots).
  void step_cohorts(draws& d, std::size_t u, std::size_t s, int t, std::int64_t* ring, const chances& c, int slot);
  // d.binomial of stage s's chance `which` (0: p1, 1: p2; 2, 3: those of the target rule's
  // lowered-bar cohort) in unit u; counted, from the ladder of its p where many units share
  // that chance (setup::ladder_chances). Where many units' own chances round up to one grid
  // point P = ladder_grid(p), a draw of mean thin_above or more is X ~ Bin(n, P) from P's
  // ladder, thinned: X - Bin(X, 1 - p/P) is Bin(n, p) (each person kept with chance P, then
  // p/P), the second draw of mean below X / 64. So a draw depends on (n, p), on which
  // chances the scenario's units share, exactly or near, and on its uniforms, never on
  // what the policies do to other units.
  long long stage_binomial(draws& d, std::size_t u, std::size_t s, int which, std::int64_t n, const chances& c) {
    const double p = which % 2 ? c.p2 : c.p1, log_q = which % 2 ? c.log_q2 : c.log_q1;
    const double mean = static_cast<double>(n) * p;
    if (ladders_.empty() || n == 0 || !(p > 0 && p <= 0.5) || !draws::counted(mean, d.count_above()))
      return d.binomial(n, p, log_q);
    auto& slot = ladder_at_[(u * stages_ + s) * ladder_slots + static_cast<std::size_t>(which)];
    if (slot.p != p) see_chance(slot, p);  // first seen, or a policy changed it
    if (!slot.ladder) return d.binomial(n, p, log_q);
    if (!slot.thinning) return ladder_binomial(d, slot.ladder - 1, n);
    if (mean < thin_above) return d.binomial(n, p, log_q);
    const auto& th = thinnings_[slot.thinning - 1];
    const auto x = ladder_binomial(d, slot.ladder - 1, n);
    return x - d.binomial(x, th.thin, th.log_keep);
  }
  [[gnu::noinline]] void see_chance(ladder_slot& slot, double p);
  [[gnu::noinline]] long long ladder_binomial(draws& d, std::uint32_t ladder, std::int64_t n);
  void trim_ladders();
  void enter(std::size_t u, std::size_t s, std::int64_t k, int t) {
    if (k) enter_some(u, s, k, t);
  }
  [[gnu::noinline]] void enter_some(std::size_t u, std::size_t s, std::int64_t k, int t);
  void count(std::size_t u, int t, std::size_t e, std::int64_t k) {
    if (k) count_some(u, t, e, k);
  }
  [[gnu::noinline]] void count_some(std::size_t u, int t, std::size_t e, std::int64_t k);
  void seat_the_ready(int t);
  const unit_chances& ch() const { return params_.chances(); }

  const setup& su_;
  simulation_tally& tally_;
  std::vector<std::int64_t>& sums_;
  std::vector<std::vector<std::int64_t>>* kept_;
  long long kept_first_;
  const pipeline& p_;
  const org& o_;
  const std::size_t n_, slots_, adm_, terminal_, adm_width_;
  const std::size_t horizon_, quantities_, stages_;
  const double count_above_;  // see draws
  path_parameters params_;
  policies policies_;
  const bool month_varies_;  // chances that change from month to month: month by month
  const bool same_start_;    // every path starts with the same chances and state
  std::vector<double> start_hazard_, start_quiet_;  // per unit, when same_start_: month 0's H, P(the first stretch is quiet)
  std::vector<int> start_last_;                     // its last month
  std::vector<char> start_counted_;                 // whether month 0 has counted components
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
  std::vector<std::int64_t> x_, low_, total_;  // units x slots; units x admission width; units x stages
  std::vector<random::stream> streams_;       // per unit
  std::vector<double> first_block_;           // units x 4: see first_uniform
  std::vector<std::uint64_t> first_quad_;     // per unit: the path / 4 of first_block_
  std::vector<double> budget_;                // per unit: the race's budget
  std::vector<std::int64_t> batch_;           // units x (paths of the batch x tracked counts)
  // The binomial ladders, one per ladder chance (setup::ladder_chances, in its numbering),
  // and per unit, stage and slot the chance last seen there and its ladder (ladder_slot).
  // Their tables are forgotten when they outgrow ladder_bytes (trim_ladders).
  struct ladder_entry {
    random::binomial_ladder ladder;
    std::size_t bytes = 0;   // its tables' memory when last counted (trim_ladders)
    std::uint64_t used = 0;  // the last count it was used before (ladder_count_)
  };
  std::vector<ladder_entry> ladders_;
  std::vector<ladder_slot> ladder_at_;
  // A thinned chance p's 1 - p/P and its log1p, one per p seen (thinning_of_).
  struct thinning {
    double thin, log_keep;
  };
  std::vector<thinning> thinnings_;
  std::unordered_map<double, std::uint32_t> thinning_of_;
  // trim_ladders counts only the ladders used since it last counted (ladders_used_) and
  // clears only those that hold tables (ladders_holding_): never a walk over them all.
  std::vector<std::uint32_t> ladders_used_, ladders_holding_;
  std::uint64_t ladder_count_ = 1;
  std::size_t ladder_total_ = 0;
  std::size_t width_ = 0, row_ = 0, column_ = 0;  // a unit's counts in batch_; their stride (padded_row); the current path's first
};

}  // namespace memberflow::sim
