#pragma once
// Backtests with a rolling origin (docs/backtest.md): for each cut-off c, fit on the
// records before c, forecast the next `horizon` months, and score the forecast against
// what the records say happened, at every node of the tree, beside naive baselines
// computed from the same records on the same cut-offs.
//
// Methods, each a predictive distribution (a pmf) of a node's count over [c, c + h):
//   memberflow   fit_pooled on the whole years before c, S parameter sets from
//                draw_parameters, the exact engine's mixture over them (exact_mixture)
//                from the stocks the log implies at c;
//   last_year    the count over the same window a year earlier;
//   mean_3y      the mean of the counts over the same window 1, 2 and 3 years earlier
//                (as many of the three as the records hold; `years` says how many);
//   conversion   last year's count / the pool at the start of last year's window, times
//                the pool at c. The pool: people in the stages the quantity's moves come
//                from (admissions: the stages before admission; confirmations: from the
//                admission stage to the one before the terminal stage).
// A baseline's point forecast m gets a negative binomial with mean m and variance
// m + alpha m^2, alpha fitted by maximum likelihood to the same method's own one-step
// errors at the earlier origins inside the records before c (c - 12, c - 24, ...), pooled
// over the nodes of one depth (one alpha per method, quantity, depth and cut-off); alpha
// = 0 is Poisson, the choice when there are no earlier errors to learn from.
//
// Scores (Gneiting & Raftery 2007): the continuous ranked probability score of a pmf F
// against the observed count y, CRPS = sum over integers k of (F(k) - 1{y <= k})^2, which
// equals E|X - y| - E|X - X'| / 2; the absolute error of the mean; whether y lies in the
// central intervals [q(a), q(1 - a)], a = (1 - level) / 2, q(p) the smallest k with
// F(k) >= p (at least `level` of the mass: a count's intervals cover more than their
// level when the counts are small); and the PIT pair F(y - 1), F(y), from which the
// randomised PIT's coverage, free of that discreteness, follows (Czado, Gneiting & Held
// 2009).
#include <Eigen/Core>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "memberflow/distribution.hpp"
#include "memberflow/exact.hpp"
#include "memberflow/records.hpp"
#include "memberflow/scenario.hpp"
#include "memberflow/table.hpp"

namespace memberflow {

// -- scoring a predictive pmf against an observed count ---------------------------------------

// CRPS of the pmf against y: sum_k (F(k) - 1{y <= k})^2, exact over the kept support (F
// normalised to the kept mass) plus the integers between y and the support, where each
// term is 1.
double crps(const pmf& f, long long y);

// The central interval holding at least `level` (a fraction in (0, 1)) of the mass:
// {q(a), q(1 - a)}, a = (1 - level) / 2.
std::pair<long long, long long> central_interval(const pmf& f, double level);

// Negative binomial with mean `mean` >= 0 and variance mean + alpha mean^2 (alpha >= 0;
// 0 is Poisson), truncated to mass eps per tail. Mean 0 is a point mass at 0.
pmf negative_binomial_pmf(double mean, double alpha, double eps = 1e-12);

// log P(Y = y) under that negative binomial.
double negative_binomial_log_pmf(long long y, double mean, double alpha);

// The alpha in [0, alpha_max] that maximises sum_i log NB(y_i | m_i, alpha) over the pairs
// with m_i > 0 (a forecast of 0 is a point mass whatever alpha); 0 without such pairs.
double fit_dispersion(const std::vector<double>& y, const std::vector<double>& m, double alpha_max = 100);

// -- what happened --------------------------------------------------------------------------------

// The quantities scored: "admissions" (entries into the admission stage from the stage
// before it) and "confirmations" (entries into the terminal stage from the stage before
// it). Opening entries (docs/records.md) are neither.
std::size_t quantity_stage(const pipeline& p, std::string_view quantity);  // the stage the move leaves

// Every node's count (its subtree total) of `quantity` over months [first, first + months).
Eigen::ArrayXd observed_counts(const event_log& log, std::string_view quantity, const calendar_month& first,
                               int months);

// Every node's pool for `quantity` at the start of `month` (subtree totals).
Eigen::ArrayXd pool_at(const event_log& log, std::string_view quantity, const calendar_month& month);

// -- the backtest ---------------------------------------------------------------------------------

struct backtest_options {
  int horizon = 12;                                 // months after each cut-off, 1..12
  std::vector<std::string> quantities{"admissions"};
  std::size_t draws = 200;                          // parameter sets of the memberflow mixture
  std::uint64_t seed = 0;                           // draws of cut-off c: a seed derived from (seed, c)
  int years = 0;                                    // fitting window in whole years before c; 0: all
  std::vector<double> levels{50, 90};               // central intervals, in percent
  std::optional<calendar_month> first;              // records begin (default: log.complete_from())
  int min_years = 2;                                // default cut-offs need this many years before them
  bool drift = true;                                // fit_options::drift of the memberflow fit
  double tolerance = exact_options{}.tolerance;     // tail mass the exact engine may drop per node
};

inline constexpr const char* backtest_methods[] = {"memberflow", "last_year", "mean_3y", "conversion"};

struct backtest_row {
  calendar_month cutoff;
  unit_index unit = 0;
  int depth = 0;
  std::string method, quantity;
  int years = 0;                    // years of records the method used
  double actual = 0, mean = 0;
  long long median = 0;
  std::vector<long long> lo, hi;    // one per level
  std::vector<bool> inside;         // lo <= actual <= hi, per level
  double abs_error = 0;             // |mean - actual|; mean: a baseline's point forecast, memberflow's predictive mean
  double crps = 0;
  double pit_lo = 0, pit_hi = 0;    // F(actual - 1), F(actual)
  double dispersion = 0;            // baselines: the alpha of their negative binomial; NaN for memberflow
};

struct backtest_result {
  std::vector<double> levels;       // percent
  std::vector<backtest_row> rows;   // by cut-off, quantity, method, unit

  // Columns: cutoff, unit_id, depth, method, quantity, years, actual, mean, median, then
  // lo-L, hi-L per level, abs_error, crps, then in_L per level, pit_lo, pit_hi, dispersion.
  text_table table(const org& o) const;
};

// The default cut-offs: from the last whose window the records cover (last month + 1 -
// horizon) back by 12 months, while `min_years` whole years of records lie before it. The
// records begin at options.first, by default event_log::complete_from() (the month after
// the latest opening entry): before it the log knows only some of the people.
std::vector<calendar_month> default_cutoffs(const event_log& log, const backtest_options& options = {});

// Runs the backtest; empty cutoffs: default_cutoffs. Throws input_error naming the cut-off
// when fewer than one whole year of records lies before it, or when the records end
// before its window does.
backtest_result backtest(const event_log& log, const std::vector<calendar_month>& cutoffs,
                         const backtest_options& options = {});

}  // namespace memberflow
