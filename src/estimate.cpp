#include "memberflow/estimate.hpp"

#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <limits>

#include "memberflow/math.hpp"

namespace memberflow {

namespace {

double log_beta(double a, double b) { return log_gamma(a) + log_gamma(b) - log_gamma(a + b); }

// The maximiser of a function of log kappa over [lo, hi]: a grid, then golden section
// around the best grid point. The marginal likelihood in kappa is smooth and, in
// practice, unimodal; the grid guards against a flat start.
template <class F>
double argmax_log(F f, double lo, double hi) {
  const double a = std::log(lo), b = std::log(hi);
  const int n = 48;
  int best = 0;
  double best_value = -std::numeric_limits<double>::infinity();
  for (int i = 0; i <= n; ++i) {
    const double v = f(a + (b - a) * i / n);
    if (v > best_value) best_value = v, best = i;
  }
  double l = a + (b - a) * std::max(0, best - 1) / n, r = a + (b - a) * std::min(n, best + 1) / n;
  const double g = (std::sqrt(5.0) - 1) / 2;
  double x1 = r - g * (r - l), x2 = l + g * (r - l), f1 = f(x1), f2 = f(x2);
  for (int it = 0; it < 60; ++it) {
    if (f1 < f2) l = x1, x1 = x2, f1 = f2, x2 = l + g * (r - l), f2 = f(x2);
    else r = x2, x2 = x1, f2 = f1, x1 = r - g * (r - l), f1 = f(x1);
  }
  const double x = (l + r) / 2;
  return std::exp(f(x) >= best_value ? x : a + (b - a) * best / n);
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
  return is_probability ? boost::math::ibeta_inv(shape(u), scale(u), q) : boost::math::gamma_p_inv(shape(u), q) / scale(u);
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
  // log marginal likelihood of (kk, kt) under the prior (a, b), without terms free of it.
  auto marginal = [&](std::pair<double, double> ab, double kk, double kt) {
    const auto [a, b] = ab;
    if (is_probability) return log_beta(a + kk, b + kt - kk) - log_beta(a, b);
    return log_gamma(a + kk) - log_gamma(a) + a * std::log(b / (b + kt)) - kk * std::log(b + kt);
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
  std::vector<belief> centre(o.size());
  std::vector<std::vector<unit_index>> by_depth(static_cast<std::size_t>(o.height()) + 1);
  for (auto u : o.preorder()) by_depth[static_cast<std::size_t>(o.depth(u))].push_back(u);
  f.kappa.assign(by_depth.size(), options.kappa_max);
  for (std::size_t d = 1; d < by_depth.size(); ++d) {
    const auto& level = by_depth[d];
    for (auto v : level) {
      const auto w = o.parent(v);
      centre[v] = update(subtree_prior[w], k(w) - k(v), t(w) - t(v));
    }
    auto loglik = [&](double log_kappa) {
      const double kappa = std::exp(log_kappa);
      double s = 0;
      for (auto v : level) s += marginal(prior(centre[v], kappa), k(v), t(v));
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

namespace {

Eigen::ArrayXd row_sums(const Eigen::ArrayXXd& a) { return a.rowwise().sum(); }

}  // namespace

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
  auto add = [&](std::size_t s, param q, detail::rate_data data, bool probability) {
    auto f = detail::fit_rate(data, probability, o, p.stages()[s].get(q), options);
    f.stage = s;
    f.which = q;
    out.rates.push_back(std::move(f));
  };
  for (std::size_t s = 0; s < p.size(); ++s) {
    const auto& st = p.stages()[s];
    const Eigen::ArrayXd at_risk = row_sums(x.at_risk[s]), advanced = row_sums(x.advanced[s]),
                         exited = row_sums(x.exited[s]);
    switch (st.kind) {
      case stage_kind::markov: {
        add(s, param::advance, {advanced, at_risk}, true);
        // exit given not advancing; turned back into exit by means()
        add(s, param::exit, {exited, at_risk - advanced}, true);
        break;
      }
      case stage_kind::fixed:
        add(s, param::exit, {exited, at_risk}, true);
        add(s, param::pass_rate, {advanced, row_sums(x.completing[s])}, true);
        break;
      case stage_kind::terminal:
        add(s, param::attrition, {exited, at_risk}, true);
        break;
    }
  }
  const Eigen::ArrayXd months = Eigen::ArrayXd::Constant(n, static_cast<double>(x.months));
  add(0, param::inflow, {row_sums(x.arrivals), months}, false);
  add(p.terminal(), param::transfer_in, {row_sums(x.transfers_in), months}, false);
  return out;
}

parameter_set fit_result::means(const org& o, const pipeline& p) const {
  auto ps = parameter_set::defaults(o, p);
  for (const auto& r : rates)
    for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u) {
      double v = r.mean(u);
      if (r.which == param::exit && p.stages()[r.stage].kind == stage_kind::markov)
        v *= 1 - at(r.stage, param::advance).mean(u);
      ps.set(u, r.stage, r.which, v);
    }
  ps.validate(o, p);
  return ps;
}

}  // namespace memberflow
