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
// where w is u's parent, d = depth(u), m_w (c_w) the pooled rate of w's whole subtree and
// kappa_d the strength of pooling at depth d: large when the units of a level hardly
// differ (complete pooling as kappa -> inf), small when they differ a lot (no pooling as
// kappa -> 0). Empirical Bayes: going down the tree a level at a time, kappa_d maximises
// the marginal likelihood of the subtree totals of the level's nodes (beta-binomial,
// negative binomial), and each node's subtree rate, the centre for its children, is its
// posterior mean given its subtree's data. A unit's own rate has the conjugate posterior
//   Beta(kappa_d m_w + k_u, kappa_d (1 - m_w) + n_u - k_u)   or   Gamma(kappa_d c_w + y_u, kappa_d + T_u).
// The root is centred on the whole organisation's rate (Jeffreys: (K + 1/2) / (N + 1)).
//
// Markov stages have two outcomes a month besides staying: advance is fitted on
// (advanced, at risk), and exit on (exited, at risk - advanced), the chance of leaving
// given not advancing, so that exit = q (1 - advance) and advance + exit <= 1 always.
#include <Eigen/Core>
#include <string>
#include <vector>

#include "memberflow/org.hpp"
#include "memberflow/pipeline.hpp"
#include "memberflow/records.hpp"
#include "memberflow/scenario.hpp"

namespace memberflow {

// One parameter of one stage, fitted for every unit.
struct rate_fit {
  std::size_t stage = 0;
  param which = param::advance;
  bool is_probability = true;       // Beta posterior; else Gamma (shape, rate)
  Eigen::ArrayXd events, exposure;  // each unit's own data: k and n, or y and T
  Eigen::ArrayXd centre;            // the prior mean of each unit: its parent's subtree rate
  Eigen::ArrayXd shape, scale;      // posterior: Beta(shape, scale), or Gamma(shape, rate = scale)
  std::vector<double> kappa;        // pooling strength by depth (kappa[0]: the root's own)
  bool no_data = false;             // nobody at risk anywhere: every unit keeps the default, as a point

  double mean(unit_index u) const;
  double mle(unit_index u) const;  // events / exposure; NaN with no exposure
  // Central posterior quantile, q in (0, 1).
  double quantile(unit_index u, double q) const;
};

struct fit_options {
  // Bounds of the search for kappa: below, practically no pooling; above, complete.
  double kappa_min = 1e-3, kappa_max = 1e8;
};

struct fit_result {
  std::vector<rate_fit> rates;  // one per (stage, parameter) the pipeline takes

  const rate_fit& at(std::size_t stage, param which) const;  // throws unknown_id
  // The posterior means as the model's parameters (exit of markov stages: q (1 - advance)).
  parameter_set means(const org& o, const pipeline& p) const;
};

// Per-unit, per-stage totals over the months of `x` and the fit above.
fit_result fit_pooled(const exposure_table& x, const org& o, const pipeline& p, const fit_options& options = {});

namespace detail {
// The data of one rate, every unit's own total over the months of the table.
struct rate_data {
  Eigen::ArrayXd events, exposure;
};
// Fits one rate from per-unit data (exposed for tests that draw data directly).
rate_fit fit_rate(const rate_data& data, bool is_probability, const org& o, double prior_mean_if_no_data,
                  const fit_options& options);
}  // namespace detail

}  // namespace memberflow
