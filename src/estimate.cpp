#include "memberflow/estimate.hpp"

#include <boost/math/quadrature/gauss.hpp>
#include <boost/math/tools/minima.hpp>
#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>
#include <unordered_map>

#include "memberflow/math.hpp"
#include "memberflow/parallel.hpp"
#include "memberflow/random.hpp"

namespace memberflow {

namespace {

// log Gamma(x + j) - log Gamma(x). For a whole j up to 32, the log of the product
// x (x + 1) ... (x + j - 1), in chunks of 8 factors (no overflow for x below 1e38): most
// units' counts are small, and this is cheaper than two lgammas and, for a large x
// (strong pooling), more accurate than their difference.
double rising(double x, double j) {
  if (j == 0) return 0;
  if (!(j <= 32 && j == std::floor(j))) return log_gamma(x + j) - log_gamma(x);
  double sum = 0, product = 1;
  for (int i = 0; i < static_cast<int>(j); ++i) {
    product *= x + i;
    if (i % 8 == 7) sum += std::log(product), product = 1;
  }
  return sum + std::log(product);
}

// log B(a + k, b + n - k) - log B(a, b), the beta-binomial's log marginal likelihood
// without its binomial coefficient. For whole n up to 64 it is one product of n ratios,
// each below 1 (so no overflow), one log per 16 of them:
//   prod_{i<k} (a + i) / (a + b + n - k + i)  x  prod_{i<n-k} (b + i) / (a + b + i);
// otherwise the three rising() terms. Most units' trials are few: a log or two instead
// of six lgammas.
double log_beta_ratio(double a, double b, double k, double n) {
  if (!(n <= 64 && n == std::floor(n) && k == std::floor(k) && k >= 0 && k <= n))
    return rising(a, k) + rising(b, n - k) - rising(a + b, n);
  const int whole = static_cast<int>(n), events = static_cast<int>(k);
  double sum = 0, num = 1, den = 1;
  int factors = 0;
  auto factor = [&](double x, double y) {
    num *= x, den *= y;
    if (++factors % 16 == 0) sum += std::log(num / den), num = den = 1;
  };
  for (int i = 0; i < events; ++i) factor(a + i, a + b + (whole - events) + i);
  for (int i = 0; i < whole - events; ++i) factor(b + i, a + b + i);
  return sum + std::log(num / den);
}

// The maximiser of a function of log kappa over [lo, hi]: a grid, then Brent
// around the best grid point. The marginal likelihood in kappa is smooth and, in
// practice, unimodal; the grid guards against a flat start.
template <class F>
double argmax_log(F f, double lo, double hi) {
  const double a = std::log(lo), b = std::log(hi);
  const int n = 24;  // grid steps of about 1 in log kappa over the default bounds
  int best = 0;
  double best_value = -std::numeric_limits<double>::infinity();
  for (int i = 0; i <= n; ++i) {
    const double v = f(a + (b - a) * i / n);
    if (v > best_value) best_value = v, best = i;
  }
  // Brent's method (Boost.Math) on the bracket around the best grid point, to 2^-20
  // relative in log kappa: a few dozen evaluations at most, often a dozen.
  const double l = a + (b - a) * std::max(0, best - 1) / n, r = a + (b - a) * std::min(n, best + 1) / n;
  const auto [x, negative] = boost::math::tools::brent_find_minima([&](double t) { return -f(t); }, l, r, 20);
  return std::exp(-negative >= best_value ? x : a + (b - a) * best / n);
}

}  // namespace

double rate_fit::mean(unit_index u) const {
  if (no_data) return centre(u);
  return is_probability ? shape(u) / (shape(u) + scale(u)) : shape(u) / scale(u);
}

double rate_fit::mle(unit_index u) const {
  return exposure(u) > 0 ? events(u) / exposure(u) : std::numeric_limits<double>::quiet_NaN();
}

double rate_fit::quantile(unit_index u, double q) const {
  if (!(q > 0 && q < 1)) throw input_error("quantile: q must be in (0, 1), got " + std::to_string(q));
  if (no_data) return centre(u);
  // In double precision: Boost promotes doubles to long double by default, which made
  // these ten times slower (a national fit asks for millions) for a relative difference
  // below 1e-13.
  using double_policy = boost::math::policies::policy<boost::math::policies::promote_double<false>>;
  return is_probability ? boost::math::ibeta_inv(shape(u), scale(u), q, double_policy())
                        : boost::math::gamma_p_inv(shape(u), q, double_policy()) / scale(u);
}

namespace detail {

rate_fit fit_rate(const rate_data& data, bool is_probability, const org& o, double prior_mean_if_no_data,
                  const fit_options& options) {
  const auto n = static_cast<Eigen::Index>(o.size());
  rate_fit f;
  f.is_probability = is_probability;
  f.events = data.events;
  f.exposure = data.exposure;
  // Subtree totals, and for arrival rates the unit-months behind them.
  Eigen::ArrayXd k = data.events, t = data.exposure;
  o.rollup_inplace(k);
  o.rollup_inplace(t);

  // A node's subtree rate is known only up to its posterior: the prior of each child
  // carries both the spread between siblings (kappa) and that uncertainty of the centre,
  // matched by moments (mean m, variance var) to a Beta or a Gamma.
  struct belief {
    double mean, var;
  };
  auto prior = [&](const belief& centre, double kappa) -> std::pair<double, double> {
    const double m = centre.mean;
    if (is_probability) {
      const double v = m * (1 - m) / (kappa + 1) + centre.var;
      const double conc = std::max(m * (1 - m) / v - 1, 1e-12);
      return {conc * m, conc * (1 - m)};
    }
    const double v = m / kappa + centre.var;
    return {m * m / v, m / v};
  };
  auto update = [&](std::pair<double, double> ab, double kk, double kt) -> belief {
    const auto [a, b] = ab;
    if (is_probability) {
      const double a2 = a + kk, b2 = b + kt - kk;
      return {a2 / (a2 + b2), a2 * b2 / ((a2 + b2) * (a2 + b2) * (a2 + b2 + 1))};
    }
    return {(a + kk) / (b + kt), (a + kk) / ((b + kt) * (b + kt))};
  };
  // log marginal likelihood of (kk, kt) under the prior (a, b), without terms free of it:
  // log B(a + kk, b + kt - kk) - log B(a, b), or for rates log G(a + kk) - log G(a) +
  // a log(b / (b + kt)) - kk log(b + kt), written with rising() (most units' counts are
  // small whole numbers, where a product of a few factors is cheaper than two lgammas).
  auto marginal = [&](std::pair<double, double> ab, double kk, double kt) {
    const auto [a, b] = ab;
    if (is_probability) return log_beta_ratio(a, b, kk, kt);
    return rising(a, kk) + a * std::log(b / (b + kt)) - kk * std::log(b + kt);
  };

  // The terms of a level's marginal likelihood: its nodes with data, each (centre, data)
  // once with the number of nodes that share it. A node without trials adds nothing (its
  // prior integrates to 1), and siblings with the same data have the same centre (leave
  // one out), hence the same term: nationally, most cells have no candidates at all in a
  // year, or the same one or two.
  struct term {
    double mean, var, events, trials, weight;
  };
  std::vector<belief> centre(o.size());
  auto level_terms = [&](const std::vector<unit_index>& level) {
    std::vector<term> all;
    for (auto v : level)
      if (t(v) != 0) all.push_back({centre[v].mean, centre[v].var, k(v), t(v), 1});
    auto key = [](const term& x) { return std::tie(x.mean, x.var, x.events, x.trials); };
    std::sort(all.begin(), all.end(), [&](const term& x, const term& y) { return key(x) < key(y); });
    std::vector<term> out;
    for (const auto& x : all)
      if (!out.empty() && key(out.back()) == key(x)) out.back().weight += 1;
      else out.push_back(x);
    return out;
  };

  // Going down the tree, each node's centre is its parent's subtree rate given all of
  // the parent's subtree data except the node's own subtree (leave one out: with the
  // node's data in its own centre, a small unit would look closer to its siblings than
  // it is, and kappa would come out too large). The root's subtree rate starts from
  // Jeffreys' Beta(1/2, 1/2), or a nearly flat Gamma(1/2, 1e-9); with no data at all the
  // given prior mean (the stage default) is taken as a point.
  const auto root = o.root();
  using ab = std::pair<double, double>;
  std::vector<ab> subtree_prior(o.size());
  subtree_prior[root] = is_probability ? ab{0.5, 0.5} : ab{0.5, 1e-9};
  std::vector<std::vector<unit_index>> by_depth(static_cast<std::size_t>(o.height()) + 1);
  for (auto u : o.preorder()) by_depth[static_cast<std::size_t>(o.depth(u))].push_back(u);
  f.kappa.assign(by_depth.size(), options.kappa_max);
  for (std::size_t d = 1; d < by_depth.size(); ++d) {
    const auto& level = by_depth[d];
    for (auto v : level) {
      const auto w = o.parent(v);
      centre[v] = update(subtree_prior[w], k(w) - k(v), t(w) - t(v));
    }
    const auto terms = level_terms(level);
    auto loglik = [&](double log_kappa) {
      const double kappa = std::exp(log_kappa);
      double s = 0;
      for (const auto& x : terms) s += x.weight * marginal(prior({x.mean, x.var}, kappa), x.events, x.trials);
      return s;
    };
    f.kappa[d] = argmax_log(loglik, options.kappa_min, options.kappa_max);
    for (auto v : level) subtree_prior[v] = prior(centre[v], f.kappa[d]);
  }
  // The root's own members: centred on the rest of the organisation, pooled with the
  // strength of the level below the root.
  f.kappa[0] = f.kappa.size() > 1 ? f.kappa[1] : options.kappa_max;
  centre[root] = update(subtree_prior[root], k(root) - data.events(root), t(root) - data.exposure(root));

  f.centre.resize(n);
  f.shape.resize(n);
  f.scale.resize(n);
  for (unit_index u = 0; u < n; ++u) {
    if (t(root) == 0) {  // no data anywhere: the default, as a point (shape and scale unused)
      f.no_data = true;
      f.centre(u) = prior_mean_if_no_data;
      f.shape(u) = f.scale(u) = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    f.centre(u) = centre[u].mean;
    const auto [a, b] = prior(centre[u], f.kappa[static_cast<std::size_t>(o.depth(u))]);
    f.shape(u) = a + data.events(u);
    f.scale(u) = b + (is_probability ? data.exposure(u) - data.events(u) : data.exposure(u));
  }
  return f;
}

}  // namespace detail

namespace detail {

std::vector<rate_spec> rates_of(const pipeline& p) {
  std::vector<rate_spec> out;
  for (std::size_t s = 0; s < p.size(); ++s) {
    switch (p.stages()[s].kind) {
      case stage_kind::markov:
        out.push_back({s, param::advance, true});
        out.push_back({s, param::exit, true});  // exit given not advancing
        break;
      case stage_kind::fixed:
        out.push_back({s, param::exit, true});
        out.push_back({s, param::pass_rate, true});
        break;
      case stage_kind::terminal:
        out.push_back({s, param::attrition, true});
        break;
    }
  }
  out.push_back({0, param::inflow, false});
  out.push_back({p.terminal(), param::transfer_in, false});
  return out;
}

void finish_drift(drift_fit& d) {
  double mean = 0, second = 0;
  d.tau = 0;
  for (std::size_t g = 0; g < d.tau_grid.size(); ++g) {
    const double w = d.tau_weight[g];
    d.tau += w * d.tau_grid[g];
    mean += w * d.grid_shift_mean[g];
    second += w * (d.grid_shift_var[g] + d.grid_shift_mean[g] * d.grid_shift_mean[g]);
  }
  d.shift_mean = mean;
  d.shift_var = second - mean * mean;
}

}  // namespace detail

namespace {

using detail::rate_spec;
using detail::rates_of;

// Each unit's (events, trials) of one rate over months [from, from + count) of the table.
detail::rate_data observed(const exposure_table& x, const pipeline& p, const rate_spec& r, int from, int count) {
  auto sum = [&](const Eigen::ArrayXXd& a) -> Eigen::ArrayXd { return x.unit_totals(a, from, count); };
  const auto s = r.stage;
  switch (r.which) {
    case param::inflow:
      return {sum(x.arrivals), Eigen::ArrayXd::Constant(x.arrivals.rows(), count)};
    case param::transfer_in:
      return {sum(x.transfers_in), Eigen::ArrayXd::Constant(x.transfers_in.rows(), count)};
    case param::advance:
      return {sum(x.advanced[s]), sum(x.at_risk[s])};
    case param::exit:
      if (p.stages()[s].kind == stage_kind::markov) return {sum(x.exited[s]), sum(x.at_risk[s]) - sum(x.advanced[s])};
      return {sum(x.exited[s]), sum(x.at_risk[s])};
    case param::pass_rate:
      return {sum(x.advanced[s]), sum(x.completing[s])};
    case param::attrition:
      return {sum(x.exited[s]), sum(x.at_risk[s])};
  }
  throw error("estimate: unhandled parameter");  // every param is handled above
}

// The local-level model of drift_fit, its Kalman filter over the blocks' observed rates
// z (variances v) with step sd tau: the log-likelihood of the innovations after the
// first block (whose level is taken from its observation: a diffuse start), and the
// filtered level and variance at the last block.
struct level_filter {
  double loglik = 0, level = 0, var = 0;
};

level_filter filter_level(const std::vector<double>& z, const std::vector<double>& v, double tau) {
  level_filter f{0, z[0], v[0]};
  for (std::size_t y = 1; y < z.size(); ++y) {
    const double ahead = f.var + tau * tau, innovation_var = ahead + v[y], innovation = z[y] - f.level;
    f.loglik -= 0.5 * (std::log(innovation_var) + innovation * innovation / innovation_var);
    const double gain = ahead / innovation_var;
    f.level += gain * innovation;
    f.var = (1 - gain) * ahead;
  }
  return f;
}

// A block's organisation-wide rate on the drift scale (logit or log) and its sampling
// variance (delta method), with half an event added so that a block without events
// stays finite.
std::pair<double, double> drift_scale(double events, double trials, bool probability) {
  if (probability) {
    const double k = events + 0.5, rest = trials - events + 0.5;
    return {std::log(k / rest), 1 / k + 1 / rest};
  }
  return {std::log((events + 0.5) / trials), 1 / (events + 0.5)};
}

// The grid of the step sd tau, on the logit / log scale: 0 to 3 (a rate that moves by a
// factor e^3 in a typical year has no year-to-year signal left to forecast) in steps of
// 0.0125.
constexpr double max_tau = 3.0;
constexpr int tau_steps = 240;

// The posterior of tau shared by the given rates' series on the grid, under a uniform
// prior on tau (Gelman 2006, "Prior distributions for variance parameters in hierarchical
// models": uniform on the sd when there are few groups). The likelihood is the product of
// the series' Kalman likelihoods: one drift scale for the organisation, since with five
// years of data a rate's own series has four steps, too few to size its drift alone.
// With so few steps the maximum-likelihood tau is often 0 and too small on average; the
// posterior carries its uncertainty into the forecast instead.
std::vector<double> tau_posterior(const std::vector<drift_fit*>& series) {
  std::vector<double> loglik(tau_steps + 1, 0.0);
  for (int g = 0; g <= tau_steps; ++g)
    for (const auto* d : series) loglik[g] += filter_level(d->observed, d->sampling_var, max_tau * g / tau_steps).loglik;
  const double top = *std::max_element(loglik.begin(), loglik.end());
  std::vector<double> w(loglik.size());
  double total = 0;
  for (std::size_t g = 0; g < w.size(); ++g) total += w[g] = std::exp(loglik[g] - top);
  for (auto& v : w) v /= total;
  return w;
}

// The drift of every rate with data, over the table's whole 12-month blocks counted back
// from its last month; the window's own rate is the reference the shift moves from.
void fit_drift(fit_result& out, const exposure_table& x, const pipeline& p, const org& o) {
  const int blocks = x.months / 12;
  if (blocks < 2) return;
  const auto root = o.root();
  std::vector<drift_fit*> series;
  const auto specs = rates_of(p);
  for (std::size_t i = 0; i < specs.size(); ++i) {
    auto& fit = out.rates[i];
    if (fit.no_data) continue;
    auto& d = fit.drift;
    bool usable = true;
    for (int b = 0; b < blocks; ++b) {
      auto data = observed(x, p, specs[i], x.months - 12 * (blocks - b), 12);
      o.rollup_inplace(data.events);
      o.rollup_inplace(data.exposure);
      if (!(data.exposure(root) > 0)) usable = false;
      const auto [z, v] = drift_scale(data.events(root), data.exposure(root), specs[i].probability);
      d.observed.push_back(z);
      d.sampling_var.push_back(v);
    }
    if (usable) series.push_back(&d);
    else d = drift_fit{};  // a block with nobody at risk: no drift for this rate
  }
  if (series.empty()) return;
  const auto weight = tau_posterior(series);
  for (std::size_t i = 0; i < specs.size(); ++i) {
    auto& fit = out.rates[i];
    auto& d = fit.drift;
    if (d.observed.empty()) continue;
    const double window = drift_scale(fit.events.sum(), fit.exposure.sum(), specs[i].probability).first;
    for (int g = 0; g <= tau_steps; ++g) {
      const double tau = max_tau * g / tau_steps;
      const auto f = filter_level(d.observed, d.sampling_var, tau);
      d.tau_grid.push_back(tau);
      d.tau_weight.push_back(weight[static_cast<std::size_t>(g)]);
      d.grid_shift_mean.push_back(f.level - window);
      d.grid_shift_var.push_back(f.var + tau * tau);
    }
    detail::finish_drift(d);
  }
}

// The seasonal profile over the table's months (see seasonal_fit).
seasonal_fit fit_seasonal(const exposure_table& x) {
  seasonal_fit f;
  if (x.months < 12) return f;
  f.arrivals.assign(12, 0.0);
  const int first = x.start.month - 1;
  const Eigen::ArrayXd arrivals = x.organisation_monthly().arrivals;
  for (int t = 0; t < x.months; ++t) f.arrivals[static_cast<std::size_t>((first + t) % 12)] += arrivals(t);
  const double total = std::accumulate(f.arrivals.begin(), f.arrivals.end(), 0.0);
  if (!(total > 0)) return seasonal_fit{};
  // Dirichlet-multinomial log-likelihood in kappa, without the terms free of it. A window
  // of whole years covers each month equally; a partial year weighs its months more,
  // which the profile then shows (the exposure of each month is not modelled).
  auto loglik = [&](double log_kappa) {
    const double k = std::exp(log_kappa);
    double s = log_gamma(12 * k) - log_gamma(12 * k + total);
    for (double y : f.arrivals) s += log_gamma(k + y) - log_gamma(k);
    return s;
  };
  f.kappa = argmax_log(loglik, 1e-2, 1e8);
  return f;
}

}  // namespace

double seasonal_fit::factor(int month) const {
  const double total = std::accumulate(arrivals.begin(), arrivals.end(), 0.0);
  return 12 * (kappa + arrivals.at(static_cast<std::size_t>(month))) / (12 * kappa + total);
}

double seasonal_fit::quantile(int month, double q) const {
  if (!(q > 0 && q < 1)) throw input_error("quantile: q must be in (0, 1), got " + std::to_string(q));
  const double total = std::accumulate(arrivals.begin(), arrivals.end(), 0.0);
  const double y = arrivals.at(static_cast<std::size_t>(month));
  return 12 * boost::math::ibeta_inv(kappa + y, 11 * kappa + total - y, q);
}

std::vector<double> seasonal_fit::profile(const calendar_month& start) const {
  if (empty()) return {};
  std::vector<double> out;
  for (int t = 0; t < 12; ++t) out.push_back(factor((start.month - 1 + t) % 12));
  return out;
}

const rate_fit& fit_result::at(std::size_t stage, param which) const {
  for (const auto& r : rates)
    if (r.stage == stage && r.which == which) return r;
  throw unknown_id("no fitted rate for stage " + std::to_string(stage) + ", parameter '" +
                   std::string(param_name(which)) + "'");
}

fit_result fit_pooled(const exposure_table& x, const org& o, const pipeline& p, const fit_options& options) {
  const auto n = static_cast<Eigen::Index>(o.size());
  if (x.at_risk.size() != p.size() || x.arrivals.rows() != n)
    throw input_error("the exposure table does not match the organisation and pipeline (" + std::to_string(n) +
                      " units, " + std::to_string(p.size()) + " stages)");
  fit_result out;
  out.first = x.start;
  out.last = x.start.plus(x.months - 1);
  // The rates are independent fits, shared between threads (parallel.hpp).
  const auto specs = rates_of(p);
  out.rates.resize(specs.size());
  detail::for_each_item(specs.size(), [&](std::size_t j) {
    const auto& r = specs[j];
    auto f = detail::fit_rate(observed(x, p, r, 0, x.months), r.probability, o, p.stages()[r.stage].get(r.which),
                              options);
    f.stage = r.stage;
    f.which = r.which;
    out.rates[j] = std::move(f);
  });
  if (options.drift) fit_drift(out, x, p, o);
  out.seasonal = fit_seasonal(x);
  return out;
}

namespace {

// E[g(m, s)] over the drift shift s ~ N(mean, var), by Gauss-Legendre quadrature over
// mean +- 8 sd (the normal's mass outside is below 1e-15).
template <class G>
double over_shift(const drift_fit& d, G g) {
  if (d.shift_var <= 0) return g(d.shift_mean);
  const double sd = std::sqrt(d.shift_var);
  auto integrand = [&](double z) { return g(d.shift_mean + sd * z) * std::exp(-0.5 * z * z); };
  return boost::math::quadrature::gauss<double, 30>::integrate(integrand, -8.0, 8.0) / std::sqrt(2 * M_PI);
}

// A unit's rate moved by the shift s on the drift scale.
double shifted(double rate, double s, bool probability) {
  if (s == 0) return rate;  // bit for bit: no drift leaves the posterior as it is
  if (!probability) return rate * std::exp(s);
  if (rate <= 0 || rate >= 1) return rate;  // a certain outcome stays certain
  return logistic(logit(rate) + s);
}

}  // namespace

double rate_fit::predictive_mean(unit_index u) const {
  const double m = mean(u);
  if (no_data) return m;
  if (!is_probability) {  // E[e^s] over the mixture of normals: exact
    if (drift.tau_weight.empty()) return m;
    double e = 0;
    for (std::size_t g = 0; g < drift.tau_weight.size(); ++g)
      e += drift.tau_weight[g] * std::exp(drift.grid_shift_mean[g] + drift.grid_shift_var[g] / 2);
    return m * e;
  }
  return over_shift(drift, [&](double s) { return shifted(m, s, true); });
}

namespace {

}  // namespace

parameter_set fit_result::means(const org& o, const pipeline& p) const {
  // Each rate's predictive means once (a markov exit needs its stage's advance too),
  // the rates shared between threads; units with the same posterior (siblings without
  // data, nationally most cells for most rates) share the quadrature.
  const auto n = static_cast<unit_index>(o.size());
  std::vector<Eigen::ArrayXd> predictive(rates.size(), Eigen::ArrayXd(n));
  detail::for_each_item(rates.size(), [&](std::size_t j) {
    const auto& r = rates[j];
    std::unordered_map<std::pair<double, double>, double, detail::posterior_hash> seen;
    for (unit_index u = 0; u < n; ++u) {
      if (r.no_data) {
        predictive[j](u) = r.predictive_mean(u);
        continue;
      }
      const auto [it, fresh] = seen.try_emplace({r.shape(u), r.scale(u)}, 0.0);
      if (fresh) it->second = r.predictive_mean(u);
      predictive[j](u) = it->second;
    }
  });
  auto ps = parameter_set::defaults(o, p);
  for (std::size_t j = 0; j < rates.size(); ++j) {
    const auto& r = rates[j];
    const bool markov_exit = r.which == param::exit && p.stages()[r.stage].kind == stage_kind::markov;
    const auto& advance = markov_exit ? predictive[static_cast<std::size_t>(&at(r.stage, param::advance) - rates.data())]
                                      : predictive[j];
    for (unit_index u = 0; u < n; ++u)
      ps.set(u, r.stage, r.which, markov_exit ? predictive[j](u) * (1 - advance(u)) : predictive[j](u));
  }
  ps.validate(o, p);
  return ps;
}

namespace {

// The grid point whose cumulative weight first reaches u (inversion).
std::size_t pick(const std::vector<double>& weight, double u) {
  double c = 0;
  for (std::size_t g = 0; g < weight.size(); ++g)
    if ((c += weight[g]) >= u) return g;
  return weight.size() - 1;
}

}  // namespace

std::vector<parameter_set> draw_parameters(const fit_result& f, const org& o, const pipeline& p, std::size_t count,
                                           std::uint64_t seed) {
  // Streams: (seed, draw, unit, rate) for a unit's rate, unit = units() for the shifts,
  // in a domain of their own so that other uses of the seed stay independent.
  constexpr std::uint64_t domain = 7;
  const auto n = static_cast<unit_index>(o.size());
  std::vector<parameter_set> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto ps = parameter_set::defaults(o, p);
    // This draw's drift size, shared by every rate: a grid point of tau's posterior.
    random::stream tau_stream(seed, i, static_cast<std::uint64_t>(n), f.rates.size(), domain);
    const double u_tau = tau_stream.uniform();
    // Drawn rates of this draw, by rate: markov exits need their stage's advance.
    std::vector<Eigen::ArrayXd> drawn(f.rates.size(), Eigen::ArrayXd(n));
    for (std::size_t j = 0; j < f.rates.size(); ++j) {
      const auto& r = f.rates[j];
      random::stream shift_stream(seed, i, static_cast<std::uint64_t>(n), j, domain);
      const double z = random::normal(shift_stream);
      double shift = 0;
      if (!r.drift.tau_weight.empty()) {
        const auto g = pick(r.drift.tau_weight, u_tau);
        shift = r.drift.grid_shift_mean[g] + std::sqrt(r.drift.grid_shift_var[g]) * z;
      }
      for (unit_index u = 0; u < n; ++u) {
        if (r.no_data) {
          drawn[j](u) = r.centre(u);
          continue;
        }
        random::stream rs(seed, i, static_cast<std::uint64_t>(u), j, domain);
        const double own = r.is_probability ? random::beta(rs, r.shape(u), r.scale(u))
                                            : random::gamma(rs, r.shape(u), 1 / r.scale(u));
        drawn[j](u) = shifted(own, shift, r.is_probability);
      }
    }
    for (std::size_t j = 0; j < f.rates.size(); ++j) {
      const auto& r = f.rates[j];
      const bool markov_exit = r.which == param::exit && p.stages()[r.stage].kind == stage_kind::markov;
      std::size_t advance = j;
      if (markov_exit)
        for (std::size_t k = 0; k < f.rates.size(); ++k)
          if (f.rates[k].stage == r.stage && f.rates[k].which == param::advance) advance = k;
      for (unit_index u = 0; u < n; ++u)
        ps.set(u, r.stage, r.which, markov_exit ? drawn[j](u) * (1 - drawn[advance](u)) : drawn[j](u));
    }
    ps.validate(o, p);
    out.push_back(std::move(ps));
  }
  return out;
}

}  // namespace memberflow
