#pragma once
// Estimation with partial pooling along the organisation tree (docs/estimation.md).
//
// Each parameter of the model is a rate per unit: a monthly probability (advance, exit,
// pass_rate, attrition) observed as k events in n trials, or an arrival rate (inflow,
// transfer_in) observed as y arrivals in T months. Small units have little data of their
// own, so each unit's rate is drawn around its parent's:
//
//   probabilities  p_u ~ Beta(kappa_d m_w, kappa_d (1 - m_w)),   k_u | p_u ~ Binomial(n_u, p_u)
//   arrival rates  r_u ~ Gamma(kappa_d c_w, kappa_d),              y_u | r_u ~ Poisson(T r_u)
//
// where w is u's parent, d = depth(u), m_w (c_w) the rate of the rest of w's subtree (all
// of it but u's own subtree: leave one out, so that a small unit's data do not pull its
// own centre) and kappa_d the strength of pooling at depth d: large when the units of a
// level hardly differ (complete pooling as kappa -> inf), small when they differ a lot
// (no pooling as kappa -> 0). Empirical Bayes, a level at a time down the tree: kappa_d
// maximises the marginal likelihood of the subtree totals of the level's nodes
// (beta-binomial, negative binomial); the centre's own uncertainty is added to the prior's
// variance (moment matching); each unit's rate has the conjugate posterior
//   Beta(a_u + k_u, b_u + n_u - k_u)   or   Gamma(a_u + y_u, b_u + T_u)
// with (a_u, b_u) its prior. The root's subtree starts from Jeffreys' Beta(1/2, 1/2) (a
// nearly flat Gamma for rates). docs/estimation.md has the details and the recovery tests.
//
// Markov stages have two outcomes a month besides staying: advance is fitted on
// (advanced, at risk), and exit on (exited, at risk - advanced), the chance of leaving
// given not advancing, so that exit = q (1 - advance) and advance + exit <= 1 always.
#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "memberflow/org.hpp"
#include "memberflow/pipeline.hpp"
#include "memberflow/records.hpp"
#include "memberflow/scenario.hpp"

namespace memberflow {

// The year-to-year drift of one rate, shared by the whole organisation: a local-level
// model (a random walk observed with noise) on the logit of a probability or the log of
// an arrival rate (docs/estimation.md, "Drift"):
//   x_y = x_{y-1} + eta_y,  eta_y ~ N(0, tau^2)          the organisation's rate in year y
//   z_y = x_y + e_y,        e_y ~ N(0, v_y)               its observed value, v_y the sampling variance
// over the window's consecutive 12-month blocks (the last block ends with the window).
// tau is one for the organisation (every rate's series informs it) with a posterior on a
// grid (uniform prior); given tau, the Kalman filter's level at the last block, one step
// ahead, gives next year's rate as a shift on the logit (log) scale from the window's
// average rate: N(grid_shift_mean, grid_shift_var = P_last + tau^2). The predictive shift
// is the mixture of these normals over tau's posterior; shift_mean and shift_var are its
// moments and `tau` its posterior mean.
struct drift_fit {
  std::vector<double> observed, sampling_var;  // z_y and v_y per block, oldest first
  std::vector<double> tau_grid, tau_weight;    // tau's posterior
  std::vector<double> grid_shift_mean, grid_shift_var;
  double tau = 0;
  double shift_mean = 0, shift_var = 0;
};

// One parameter of one stage, fitted for every unit.
struct rate_fit {
  std::size_t stage = 0;
  param which = param::advance;
  bool is_probability = true;       // Beta posterior; else Gamma (shape, rate)
  Eigen::ArrayXd events, exposure;  // each unit's own data: k and n, or y and T
  Eigen::ArrayXd centre;            // the prior mean of each unit: the rest of its parent's subtree
  Eigen::ArrayXd shape, scale;      // posterior: Beta(shape, scale), or Gamma(shape, rate = scale)
  std::vector<double> kappa;        // pooling strength by depth (kappa[0]: the root's own)
  bool no_data = false;             // nobody at risk anywhere: every unit keeps the default, as a point
  drift_fit drift;                  // without drift (fit_options::drift false): shift 0, variance 0

  double mean(unit_index u) const;  // posterior mean: the unit's rate over the window
  // The mean for the year after the window: the posterior moved by the drift (for
  // arrival rates E[r] E[e^s] over the mixture, exact; for probabilities
  // E_s[logistic(logit(mean) + s)] with s normal of the shift's mean and variance, the
  // posterior's own spread not mixed in: draw_parameters has both).
  double predictive_mean(unit_index u) const;
  double mle(unit_index u) const;  // events / exposure; NaN with no exposure
  // Central posterior quantile, q in (0, 1).
  double quantile(unit_index u, double q) const;
};

// The seasonal profile of arrivals into the first stage, one for the organisation: the
// share of a year's arrivals that falls in each calendar month, times 12 (mean 1).
// Counts by calendar month over the window, y_m, are Dirichlet-multinomial given their
// total: shares ~ Dirichlet(kappa, ..., kappa), kappa by maximum marginal likelihood (large:
// no season); a month's share has the posterior Beta(kappa + y_m, 11 kappa + Y - y_m).
// A window shorter than 12 months, or without arrivals, has no profile (empty()).
struct seasonal_fit {
  std::vector<double> arrivals;  // y_m, m = 0 (January) .. 11
  double kappa = 0;

  bool empty() const { return arrivals.empty(); }
  double factor(int month) const;                // 12 x the posterior mean share, month 0..11
  double quantile(int month, double q) const;    // of 12 x the share
  // The factors month by month from `start` on, one year: simulate's inflow_profile.
  std::vector<double> profile(const calendar_month& start) const;
};

struct fit_options {
  // Bounds of the search for kappa: below, practically no pooling; above, complete.
  double kappa_min = 1e-3, kappa_max = 1e8;
  // Model the year-to-year drift (needs two 12-month blocks or more; else none).
  bool drift = true;
};

struct fit_result {
  std::vector<rate_fit> rates;  // one per (stage, parameter) the pipeline takes
  seasonal_fit seasonal;
  calendar_month first, last;   // the months fitted

  const rate_fit& at(std::size_t stage, param which) const;  // throws unknown_id
  // The means of the predictive distribution for the year after the window (posterior
  // and drift) as the model's parameters (exit of markov stages: q (1 - advance)).
  parameter_set means(const org& o, const pipeline& p) const;
};

// `count` parameter sets drawn from the predictive distribution for the year after the
// window: per draw, one tau from its posterior for every rate, each rate's shift from
// its normal given that tau, shared by every unit (the year effect moves the whole
// organisation), then each unit's rate drawn from its posterior and moved by the shift
// on the logit (log) scale. Reproducible: draw i
// depends only on (seed, i). For the simulation engine (one set per path) and the exact
// engine's predictive mixture (exact_mixture).
std::vector<parameter_set> draw_parameters(const fit_result& f, const org& o, const pipeline& p, std::size_t count,
                                           std::uint64_t seed);

// Every rate the pipeline takes, fitted from each unit's totals over the months of `x`.
fit_result fit_pooled(const exposure_table& x, const org& o, const pipeline& p, const fit_options& options = {});

namespace detail {
// Which rates the pipeline's stages take, in the order of fit_result::rates, and whether
// each is a probability (else an arrival rate).
struct rate_spec {
  std::size_t stage;
  param which;
  bool probability;
};
std::vector<rate_spec> rates_of(const pipeline& p);
// tau (posterior mean), shift_mean and shift_var from the grid of a drift_fit.
void finish_drift(drift_fit& d);
// A posterior (shape, scale) as a hash key: units that share one share its figures
// (siblings without data of their own: nationally most cells for most rates).
struct posterior_hash {
  std::size_t operator()(const std::pair<double, double>& x) const {
    const std::hash<double> h;
    return h(x.first) * 0x9E3779B97F4A7C15ULL ^ h(x.second);
  }
};

// The data of one rate, every unit's own total over the months of the table.
struct rate_data {
  Eigen::ArrayXd events, exposure;
};
// Fits one rate from per-unit data (exposed for tests that draw data directly).
rate_fit fit_rate(const rate_data& data, bool is_probability, const org& o, double prior_mean_if_no_data,
                  const fit_options& options);
}  // namespace detail

}  // namespace memberflow
