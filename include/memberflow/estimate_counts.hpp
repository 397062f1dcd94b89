#pragma once
// Estimation from aggregate counts (docs/estimation.md, "From aggregate counts").
//
// A count table (records.hpp) gives, per unit and period of m months (a year, a quarter
// or a month), the stocks at the start and the counts of each move. The pooled model of
// estimate.hpp needs, per unit and rate, events and trials (person-months at risk). The
// events are counted directly (admissions are training's advances, ...); the
// person-months are not, and are reconstructed from the counts under the monthly model:
//
//   In a stage with a monthly chance h of leaving it by a random move (markov: advance +
//   exit; fixed: exit; terminal: attrition), a person present for at most w months of
//   the period is at risk T = min(time of leaving, w) months. The S people at the start
//   have w = m (a fixed stage of D months: w = min(m, D - a), age a uniform on 0..D-1);
//   an entry in month j is at risk from month j + 1: w = m - 1 - j (fixed stage:
//   min(m - 1 - j, D)), the entries timed evenly into the first stage (Poisson arrivals)
//   and, into a later stage, as the expected stock of the stage before it (which moves
//   them on at a constant rate) month by month. The
//   period's L leavers (advances + exits) fix how many of each group left: given L,
//   the number L1 of starters who left has Fisher's noncentral hypergeometric law
//   P(L1 = l) ~ Bin(l | S, p1) Bin(L - l | E, p2), p_g the chance that a person of
//   group g leaves within the period. Then the person-months are, in expectation,
//     E[N | S, E, L, h] = E[L1] t1 + (S - E[L1]) r1 + E[L2] t2 + (E - E[L2]) r2,
//   with L2 = L - L1, t_g = E[T | leaves] and r_g = E[T | stays] of group g.
//   This is the E step of EM for the complete-data likelihood h^L (1 - h)^(N - L): the
//   trials are replaced by their conditional expectation given the counts. The M step is
//   the pooled fit of estimate.hpp on these trials; h is each unit's posterior mean from
//   the previous fit (the first from the trapezoid below) times its year's factor (the
//   organisation's rate in the year's 12-month block over the window's). 10 to 30
//   iterations converge. Known limit: with h the unit's pooled rate, its data agree with
//   that rate, and the sub-cells' kappa goes to its bound (intervals too narrow);
//   count_approximation::matched (below) keeps more of their spread.
//
// The trapezoid, for comparison (count_approximation::trapezoid): the stock moves
// linearly from start to end over the period, N = m S + (end - S)(m - 1)/2 person-months
// (the stocks at the starts of months 0..m-1), and at least the leavers L.
//
// Events and trials need no reconstruction for pass_rate (passes and passes + failures
// are counted), inflow (arrivals in m months) and transfer_in.
#include <Eigen/Core>

#include "memberflow/estimate.hpp"
#include "memberflow/records.hpp"

namespace memberflow {

enum class count_approximation {
  model,      // E[person-months | counts] under the monthly model, iterated with the fit (EM)
  matched,    // the binomial with the slope and curvature of the counts' likelihood near the unit's rate
  trapezoid,  // linear stocks between the start and the end of each period
};

struct count_options {
  count_approximation approximation = count_approximation::model;
  int max_iterations = 50;
  // Stop when no unit's person-months of any stage change by more than this share.
  double tolerance = 1e-7;
};

// The exposure table (records.hpp) the counts imply over months first..last, under the
// given per-unit rates (model) or none (trapezoid): each period's events and
// reconstructed person-months spread evenly over its months, so that sums over a period
// (and over 12-month blocks aligned with the periods) are the period's. Every unit must
// have counts for every month of the window, in periods wholly inside it, with every
// count the rates need known: otherwise an input_error naming the unit, the period and
// the table line.
exposure_table count_exposures(const count_table& c, const org& o, const pipeline& p, const calendar_month& first,
                               const calendar_month& last, const parameter_set* rates,
                               count_approximation approximation = count_approximation::model);

// The exposures of the EM iteration's fixed point (model) or of the trapezoid, and the
// iterations taken.
struct count_fit {
  exposure_table exposures;
  fit_result fit;
  int iterations = 0;
};
count_fit fit_counts(const count_table& c, const org& o, const pipeline& p, const calendar_month& first,
                     const calendar_month& last, const fit_options& options = {}, const count_options& counts = {});

// Every rate the pipeline takes, fitted from the counts of months first..last.
fit_result fit_pooled(const count_table& c, const org& o, const pipeline& p, const calendar_month& first,
                      const calendar_month& last, const fit_options& options = {}, const count_options& counts = {});

// The stocks at the start of `month` (units x state slots, as scenario::stocks): each
// unit's <stage>_end of its period ending just before `month` (or, where it is not given,
// the balance of that period's counts), else <stage>_start of its period beginning at
// `month`. The counts do not give the ages in a fixed stage: its stock
// is spread over the ages by the admissions of the months they were admitted in (age a
// at `month` = admitted in month - 1 - a; uniform where the counts do not say) and
// rounded to whole people keeping the total (apportion.hpp). input_error for a unit with
// neither, or with the stock unknown.
Eigen::ArrayXXd count_stocks(const count_table& c, const org& o, const pipeline& p, const calendar_month& month);

namespace detail {
struct binomial_data {
  double events = 0, trials = 0;
};
// The binomial data (k events in n trials) whose log-likelihood k log h + (n - k) log(1 - h)
// has the slope and curvature at h of the exact log-likelihood of L leavers among S
// starters and E entrants (windows as below): its location is the unit's own data's, its
// curvature their information. Monthly periods give k = L, n = S exactly.
binomial_data matched_binomial(double S, double E, double L, double h, const Eigen::ArrayXd& starters,
                               const Eigen::ArrayXd& entrants);
// E[person-months | L leavers] in a stage for S starters at risk for w = m months... as
// above: `starters` and `entrants` are the distributions of w (index = w, value = the
// share of the group), h the monthly chance of leaving.
double expected_person_months(double S, double E, double L, double h, const Eigen::ArrayXd& starters,
                              const Eigen::ArrayXd& entrants);
}  // namespace detail

}  // namespace memberflow
