#pragma once
// The exact-distribution engine: the full probability mass function of a count, for
// every unit and every node above it, under the model of docs/pipeline-model.md.
//
// Why it is exact: given the parameters people act independently, and each event of
// interest happens to a person at most once (admission, confirmation, an exit, leaving
// the terminal stage), as does "being in stage s at month t". So a unit's count is a sum
// of Binomial(c_j, p_j), one per state slot j holding c_j people, each with the chance
// p_j of the event, plus a Poisson count for the arrivals (a Poisson stream thinned by
// the chance that an arrival produces the event in time is Poisson). A node's count is
// the sum over its subtree, independent across units: its pmf is the convolution of its
// own pmf and its children's, built bottom-up in one pass over the tree.
//
// The chances p_j come from a backward recursion over months, vectorised over units
// like the expected-value engine: G_j(n) = P(event within n months | in slot j now)
// satisfies G(n) = d + T G(n - 1), where T is one month's moves between slots and d_j
// the chance that this month's move from j is the event. An event within months
// [a, b) then has chance G_j(b) - G_j(a), since it happens at most once.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "memberflow/distribution.hpp"
#include "memberflow/forecast.hpp"
#include "memberflow/scenario.hpp"

namespace memberflow {

// The distributions of one quantity (an event over a window, or a stage's stock at a
// month) for every node: nodes[u] is the pmf of u's subtree total.
struct node_distributions {
  std::string quantity;
  month_window window;  // for a stock: {month, month}
  std::vector<pmf> nodes;

  // The largest tail mass any node's pmf dropped (each is at most the tolerance).
  double max_tail() const;
};

// How the exact engine runs (the defaults are here only).
struct exact_options {
  // The probability mass any node's pmf may drop from its tails, in (0, 1).
  double tolerance = 1e-12;
  // Threads sharing the units' pmfs and each depth's convolutions
  // (detail::thread_count: 0 or less, one per core); the pmfs do not depend on it, to
  // the bit.
  int threads = 0;
};

class exact_forecast {
 public:
  // Throws what scenario::validate throws, and input_error for horizon < 1 or a
  // tolerance outside (0, 1).
  exact_forecast(scenario sc, int horizon, const exact_options& options = {});

  const scenario& source() const { return scenario_; }
  int horizon() const { return horizon_; }
  const exact_options& options() const { return options_; }
  double tolerance() const { return options_.tolerance; }

  // admissions, confirmations, exits, leavers (each at most once per person) and
  // arrivals (Poisson), summed over months [first, last).
  node_distributions events(std::string_view event, month_window w) const;
  // The same event's pmf of each unit's own count (its own people and arrivals, not its
  // subtree's): no convolution up the tree. For a leaf it equals events().
  node_distributions own_events(std::string_view event, month_window w) const;
  // The stock of a stage at the start of `month` (0..horizon).
  node_distributions stock(std::string_view stage, int month) const;

 private:
  node_distributions assemble(std::string quantity, month_window w, const Eigen::ArrayXXd& chance,
                              const Eigen::ArrayXd& arrival_mean, bool subtree = true) const;
  node_distributions event_pmfs(std::string_view event, month_window w, bool subtree) const;

  scenario scenario_;
  int horizon_;
  exact_options options_;
};

// The predictive distribution under parameter uncertainty as an exact mixture: given
// parameter sets theta_1..theta_S drawn from their posterior (draw_parameters), a count's
// pmf is (1/S) sum_i P(count | theta_i), each term the exact engine's. Exact for the
// mixture over those draws; the draws themselves are a Monte Carlo sample of the
// posterior (their number sets that error, not the pmfs').
class exact_mixture {
 public:
  exact_mixture(const scenario& sc, const std::vector<parameter_set>& draws, int horizon,
                const exact_options& options = {});

  std::size_t size() const { return parts_.size(); }
  node_distributions events(std::string_view event, month_window w) const;
  node_distributions stock(std::string_view stage, int month) const;

 private:
  std::vector<exact_forecast> parts_;
};

// The equal-weight mixture of distributions of the same quantity over the same nodes;
// each node's tail is the mean of the parts' tails.
node_distributions mix(const std::vector<node_distributions>& parts);

namespace detail {

// What the exact engine refuses up front (before it allocates or convolves), from each
// node's standard deviation s: a pmf keeps about 20 s + 20 entries (mass <= 1e-20 per
// tail). A pmf of more than max_pmf_entries (2^24, 128 MB; s ~ 800,000: counts of about
// 10^12 people), convolutions of more than max_convolution_work multiply-adds (10^12,
// minutes of work), or pmfs that together exceed the memory the process may use.
inline constexpr double max_pmf_entries = 16777216.0;
inline constexpr double max_convolution_work = 1e12;

// One backward month: next = d + T g (see above), for every unit at once. `g` and
// `next` are units x slots.
void backward_month(const pipeline& p, const parameter_set& ps, const Eigen::ArrayXXd& g, const Eigen::ArrayXXd& d,
                    Eigen::ArrayXXd& next);

// d for an event: units x slots, the chance that one month's move from each slot is
// the event. Throws unknown_id for a name that is not an event with at most one
// occurrence per person.
Eigen::ArrayXXd direct_event_chance(const pipeline& p, const parameter_set& ps, std::string_view event);

}  // namespace detail

}  // namespace memberflow
