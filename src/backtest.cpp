#include "memberflow/backtest.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <tuple>

#include "memberflow/estimate.hpp"
#include "memberflow/exact.hpp"
#include "memberflow/forecast.hpp"
#include "memberflow/math.hpp"

namespace memberflow {

// -- scoring ----------------------------------------------------------------------------------------

double crps(const pmf& f, long long y) {
  const double total = f.sum();
  if (!(total > 0)) throw input_error("crps: the pmf has no mass");
  // Below the support F = 0: a term of 1 for each k with y <= k < first; above it F = 1: a
  // term of 1 for each k with last < k < y.
  double s = static_cast<double>(std::max(0LL, f.first() - y)) + static_cast<double>(std::max(0LL, y - f.last() - 1));
  double below = 0;  // mass at values <= k, summed upwards
  for (std::size_t i = 0; i < f.p.size(); ++i) {
    below += f.p[i];
    const long long k = f.offset + static_cast<long long>(i);
    const double F = std::min(1.0, below / total);
    const double d = y <= k ? 1.0 - F : F;
    s += d * d;
  }
  return s;
}

std::pair<long long, long long> central_interval(const pmf& f, double level) {
  if (!(level > 0 && level < 1)) throw input_error("central_interval: level must be a fraction in (0, 1)");
  const double a = (1 - level) / 2;
  return {f.quantile(a), f.quantile(1 - a)};
}

double negative_binomial_log_pmf(long long y, double mean, double alpha) {
  if (y < 0) return -std::numeric_limits<double>::infinity();
  if (mean == 0) return y == 0 ? 0.0 : -std::numeric_limits<double>::infinity();
  const double dy = static_cast<double>(y);
  if (alpha == 0) return dy * std::log(mean) - mean - log_gamma(dy + 1);
  // With r = 1 / alpha: log[Gamma(y + r) / Gamma(r) / y!] + r log(r / (r + m)) + y log(m / (r + m))
  //   = sum_{j<y} [log1p(alpha j) - log1p(alpha m)] + y log m - log y! - log1p(alpha m) / alpha,
  // which stays accurate as alpha -> 0 (the lgamma form loses digits to cancellation).
  const double l1 = std::log1p(alpha * mean);
  double s = 0;
  for (long long j = 0; j < y; ++j) s += std::log1p(alpha * static_cast<double>(j));
  return s - dy * l1 + dy * std::log(mean) - log_gamma(dy + 1) - l1 / alpha;
}

pmf negative_binomial_pmf(double mean, double alpha, double eps) {
  if (!(mean >= 0) || !std::isfinite(mean) || !(alpha >= 0) || !std::isfinite(alpha))
    throw parameter_error("negative_binomial_pmf: need a finite mean >= 0 and alpha >= 0");
  if (mean == 0) return pmf{};
  if (alpha == 0) return poisson_pmf(mean, eps);
  const double r = 1 / alpha, q = mean / (r + mean);
  auto ratio = [&](long long k) { return (static_cast<double>(k) + r) / static_cast<double>(k + 1) * q; };
  const auto mode = r > 1 ? static_cast<long long>(std::floor((r - 1) * q / (1 - q))) : 0LL;
  std::vector<double> up{std::exp(negative_binomial_log_pmf(mode, mean, alpha))}, down;
  // Upwards the ratios f(k+1)/f(k) fall towards q (r > 1) or rise towards it (r < 1), so
  // beyond a term t the rest is at most t rho / (1 - rho), rho = max(ratio now, q).
  double tail = 0;
  for (long long k = mode;; ++k) {
    const double rho = std::max(ratio(k), q);
    const double next = up.back() * ratio(k);
    if (rho < 1 && next * rho / (1 - rho) + next < eps * 1e-3) {
      tail += next / (1 - rho);
      break;
    }
    up.push_back(next);
  }
  // Downwards the terms fall (below the mode), at most k of them remain.
  for (long long k = mode; k > 0; --k) {
    const double prev = (down.empty() ? up.front() : down.back()) / ratio(k - 1);
    if (prev * static_cast<double>(k) < eps * 1e-3) {
      tail += prev * static_cast<double>(k);
      break;
    }
    down.push_back(prev);
  }
  return detail::from_walk(mode, up, down, tail, eps);
}

double fit_dispersion(const std::vector<double>& y, const std::vector<double>& m, double alpha_max) {
  if (y.size() != m.size()) throw input_error("fit_dispersion: y and m differ in length");
  auto loglik = [&](double alpha) {
    double s = 0;
    for (std::size_t i = 0; i < y.size(); ++i)
      if (m[i] > 0) s += negative_binomial_log_pmf(static_cast<long long>(std::llround(y[i])), m[i], alpha);
    return s;
  };
  if (std::none_of(m.begin(), m.end(), [](double v) { return v > 0; })) return 0;
  // A grid in log alpha, then golden section around the best point; alpha = 0 (Poisson)
  // competes with the result.
  const double a = std::log(1e-6), b = std::log(alpha_max);
  const int n = 40;
  int best = 0;
  double best_value = -std::numeric_limits<double>::infinity();
  for (int i = 0; i <= n; ++i) {
    const double v = loglik(std::exp(a + (b - a) * i / n));
    if (v > best_value) best_value = v, best = i;
  }
  double l = a + (b - a) * std::max(0, best - 1) / n, r = a + (b - a) * std::min(n, best + 1) / n;
  const double g = (std::sqrt(5.0) - 1) / 2;
  double x1 = r - g * (r - l), x2 = l + g * (r - l), f1 = loglik(std::exp(x1)), f2 = loglik(std::exp(x2));
  for (int it = 0; it < 50; ++it) {
    if (f1 < f2) l = x1, x1 = x2, f1 = f2, x2 = l + g * (r - l), f2 = loglik(std::exp(x2));
    else r = x2, x2 = x1, f2 = f1, x1 = r - g * (r - l), f1 = loglik(std::exp(x1));
  }
  double alpha = std::exp((l + r) / 2), value = loglik(alpha);
  if (value < best_value) alpha = std::exp(a + (b - a) * best / n), value = best_value;
  return loglik(0) >= value ? 0.0 : alpha;
}

// -- what happened ----------------------------------------------------------------------------------

std::size_t quantity_stage(const pipeline& p, std::string_view quantity) {
  if (quantity == "admissions") return p.admission() - 1;
  if (quantity == "confirmations") return p.terminal() - 1;
  throw unknown_id("backtest: unknown quantity '" + std::string(quantity) + "' (admissions, confirmations)");
}

namespace {

// The stages whose people make the quantity's moves: before admission for admissions,
// from admission to the terminal stage for confirmations.
std::pair<std::size_t, std::size_t> pool_stages(const pipeline& p, std::string_view quantity) {
  return quantity_stage(p, quantity) + 1 == p.admission() ? std::pair<std::size_t, std::size_t>{0, p.admission()}
                                                         : std::pair<std::size_t, std::size_t>{p.admission(), p.terminal()};
}

Eigen::ArrayXd rolled(const org& o, Eigen::ArrayXd own) {
  o.rollup_inplace(own);
  return own;
}

long months_between(const calendar_month& a, const calendar_month& b) { return month_index(b) - month_index(a); }

}  // namespace

Eigen::ArrayXd observed_counts(const event_log& log, std::string_view quantity, const calendar_month& first,
                               int months) {
  if (months < 1) throw input_error("observed_counts: months must be >= 1");
  const auto s = quantity_stage(log.model(), quantity);
  const auto x = exposures(log, first, first.plus(months - 1));
  return rolled(log.units(), x.advanced[s].rowwise().sum());
}

Eigen::ArrayXd pool_at(const event_log& log, std::string_view quantity, const calendar_month& month) {
  const auto& p = log.model();
  const auto [from, to] = pool_stages(p, quantity);
  const auto stocks = log.stocks_at(month);
  const auto a = static_cast<Eigen::Index>(p.offset(from)), b = static_cast<Eigen::Index>(p.offset(to));
  return rolled(log.units(), stocks.middleCols(a, b - a).rowwise().sum());
}

// -- the backtest -----------------------------------------------------------------------------------

std::vector<calendar_month> default_cutoffs(const event_log& log, const backtest_options& options) {
  const auto first = options.first ? *options.first : log.complete_from();
  const auto last = log.last_month();
  std::vector<calendar_month> out;
  for (auto c = last.plus(1 - options.horizon); months_between(first, c) >= 12L * std::max(1, options.min_years);
       c = c.plus(-12))
    out.push_back(c);
  std::reverse(out.begin(), out.end());
  return out;
}

namespace {

// The records as the backtest reads them: exposures over every month from the start of
// the records to their end, sliced per window, and the pools at the months asked for.
class records_view {
 public:
  records_view(const event_log& log, calendar_month first)
      : log_(log), first_(first), x_(exposures(log, first, log.last_month())) {}

  const org& units() const { return log_.units(); }
  const pipeline& model() const { return log_.model(); }
  const calendar_month& first() const { return first_; }
  long offset(const calendar_month& m) const { return months_between(first_, m); }
  bool covers(const calendar_month& m, int months) const { return offset(m) >= 0 && offset(m) + months <= x_.months; }

  // Every node's count over [m, m + months).
  const Eigen::ArrayXd& count(std::string_view quantity, const calendar_month& m, int months) {
    const auto s = quantity_stage(model(), quantity);
    auto& slot = counts_[{std::string(quantity), month_index(m), months}];
    if (slot.size() == 0)
      slot = rolled(units(), x_.advanced[s].middleCols(offset(m), months).rowwise().sum());
    return slot;
  }
  const Eigen::ArrayXd& pool(std::string_view quantity, const calendar_month& m) {
    auto& slot = pools_[{std::string(quantity), month_index(m), 0}];
    if (slot.size() == 0) slot = pool_at(log_, quantity, m);
    return slot;
  }
  // The exposures of `years` whole years before c.
  exposure_table window(const calendar_month& c, int years) const {
    const long months = 12L * years, at = offset(c) - months;
    exposure_table w;
    w.start = c.plus(-months);
    w.months = static_cast<int>(months);
    auto cut = [&](const Eigen::ArrayXXd& a) -> Eigen::ArrayXXd { return a.middleCols(at, months); };
    for (std::size_t s = 0; s < x_.at_risk.size(); ++s) {
      w.at_risk.push_back(cut(x_.at_risk[s]));
      w.advanced.push_back(cut(x_.advanced[s]));
      w.exited.push_back(cut(x_.exited[s]));
      w.completing.push_back(cut(x_.completing[s]));
    }
    w.arrivals = cut(x_.arrivals);
    w.transfers_in = cut(x_.transfers_in);
    return w;
  }

 private:
  struct key {
    std::string quantity;
    long month;
    int months;
    bool operator<(const key& o) const {
      return std::tie(quantity, month, months) < std::tie(o.quantity, o.month, o.months);
    }
  };
  const event_log& log_;
  calendar_month first_;
  exposure_table x_;
  std::map<key, Eigen::ArrayXd> counts_, pools_;
};

// A baseline's point forecast for every node from origin t, and the years it used; an
// empty array when the records before t cannot give it.
struct point_forecast {
  Eigen::ArrayXd mean;
  int years = 0;
};

point_forecast baseline_point(records_view& r, std::string_view method, std::string_view quantity,
                              const calendar_month& t, int horizon) {
  const auto last_year = t.plus(-12);
  if (r.offset(last_year) < 0) return {};
  const Eigen::ArrayXd& previous = r.count(quantity, last_year, horizon);
  if (method == "last_year") return {previous, 1};
  if (method == "mean_3y") {
    Eigen::ArrayXd sum = Eigen::ArrayXd::Zero(previous.size());
    int k = 0;
    for (; k < 3 && r.offset(t.plus(-12 * (k + 1))) >= 0; ++k) sum += r.count(quantity, t.plus(-12 * (k + 1)), horizon);
    return {sum / k, k};
  }
  // conversion: last year's count per person in the pool at its start, times the pool now;
  // a node with nobody in the pool a year ago has no rate: last year's count.
  const Eigen::ArrayXd& then = r.pool(quantity, last_year);
  const Eigen::ArrayXd& now = r.pool(quantity, t);
  Eigen::ArrayXd m = previous;
  for (Eigen::Index u = 0; u < m.size(); ++u)
    if (then(u) > 0) m(u) = previous(u) / then(u) * now(u);
  return {m, 1};
}

// The dispersion of a baseline's negative binomial, one per depth: alpha by maximum
// likelihood over the method's own one-step errors at the earlier origins c - 12, c - 24,
// ... (each with a whole year of records before it), pooled over the nodes of the depth.
std::vector<double> baseline_dispersion(records_view& r, const org& o, std::string_view method,
                                        std::string_view quantity, const calendar_month& c, int horizon) {
  int max_depth = 0;
  for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u) max_depth = std::max(max_depth, o.depth(u));
  std::vector<std::vector<double>> ys(static_cast<std::size_t>(max_depth) + 1), ms(ys.size());
  for (auto t = c.plus(-12); r.offset(t) >= 12; t = t.plus(-12)) {
    const auto past = baseline_point(r, method, quantity, t, horizon);
    const Eigen::ArrayXd& happened = r.count(quantity, t, horizon);
    for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u) {
      ys[static_cast<std::size_t>(o.depth(u))].push_back(happened(u));
      ms[static_cast<std::size_t>(o.depth(u))].push_back(past.mean(u));
    }
  }
  std::vector<double> alpha(ys.size());
  for (std::size_t d = 0; d < ys.size(); ++d) alpha[d] = fit_dispersion(ys[d], ms[d]);
  return alpha;
}

// splitmix64: the seed of a cut-off's draws, so that a cut-off's forecast does not depend on
// which other cut-offs are run.
std::uint64_t mix_seed(std::uint64_t seed, const calendar_month& c) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(month_index(c) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// P(X <= k) with the kept mass as the whole (as crps() takes it).
double normalised_cdf(const pmf& f, long long k) {
  if (k < f.first()) return 0;
  if (k >= f.last()) return 1;
  double below = 0, total = 0;
  for (std::size_t i = 0; i < f.p.size(); ++i) {
    total += f.p[i];
    if (f.offset + static_cast<long long>(i) <= k) below += f.p[i];
  }
  return std::min(1.0, below / total);
}

backtest_row score(const pmf& f, double actual, const std::vector<double>& levels) {
  backtest_row row;
  const auto y = static_cast<long long>(std::llround(actual));
  row.actual = actual;
  row.mean = f.mean();
  row.median = f.quantile(0.5);
  for (double level : levels) {
    const auto [lo, hi] = central_interval(f, level / 100);
    row.lo.push_back(lo);
    row.hi.push_back(hi);
    row.inside.push_back(lo <= y && y <= hi);
  }
  row.abs_error = std::abs(row.mean - actual);
  row.crps = crps(f, y);
  row.pit_lo = normalised_cdf(f, y - 1);
  row.pit_hi = normalised_cdf(f, y);
  return row;
}

void check_options(const backtest_options& o) {
  if (o.horizon < 1 || o.horizon > 12)
    throw input_error("backtest: horizon must be from 1 to 12 months (the baselines look one year back), got " +
                      std::to_string(o.horizon));
  if (o.draws < 1) throw input_error("backtest: draws must be >= 1");
  if (o.years < 0) throw input_error("backtest: years must be >= 0 (0: every whole year before the cut-off)");
  if (o.quantities.empty()) throw input_error("backtest: give at least one quantity (admissions, confirmations)");
  for (double l : o.levels)
    if (!(l > 0 && l < 100)) throw input_error("backtest: levels are in percent, in (0, 100), got " + std::to_string(l));
}

// The memberflow forecast from cut-off c: the fit on the whole years before it, S draws and
// the exact mixture from the stocks at c; one node_distributions per quantity.
std::vector<node_distributions> memberflow_forecast(const event_log& log, records_view& r,
                                                    const std::shared_ptr<const org>& o,
                                                    const std::shared_ptr<const pipeline>& p, const calendar_month& c,
                                                    int years, const backtest_options& options) {
  fit_options fo;
  fo.drift = options.drift;
  const auto fit = fit_pooled(r.window(c, years), *o, *p, fo);
  scenario sc(o, p);
  sc.params = fit.means(*o, *p);
  sc.stocks = log.stocks_at(c);
  sc.start = c;
  const auto draws = draw_parameters(fit, *o, *p, options.draws, mix_seed(options.seed, c));
  const exact_mixture mixture(sc, draws, options.horizon, {.tolerance = options.tolerance});
  std::vector<node_distributions> out;
  for (const auto& q : options.quantities) out.push_back(mixture.events(q, {0, options.horizon}));
  return out;
}

}  // namespace

backtest_result backtest(const event_log& log, const std::vector<calendar_month>& cutoffs_in,
                         const backtest_options& options) {
  check_options(options);
  for (const auto& q : options.quantities) quantity_stage(log.model(), q);
  const auto first = options.first ? *options.first : log.complete_from();
  const auto cutoffs = cutoffs_in.empty() ? default_cutoffs(log, options) : cutoffs_in;
  if (cutoffs.empty())
    throw input_error("backtest: no cut-off has " + std::to_string(options.min_years) + " whole years of records (from " +
                      first.str() + ") before it and " + std::to_string(options.horizon) + " months after it (to " +
                      log.last_month().str() + ")");
  records_view r(log, first);
  for (const auto& c : cutoffs) {
    if (r.offset(c) < 12)
      throw input_error("backtest: cut-off " + c.str() + " has less than a whole year of records before it (they begin " +
                        first.str() + ")");
    if (!r.covers(c, options.horizon))
      throw input_error("backtest: the records end " + log.last_month().str() + ", before the window of cut-off " +
                        c.str() + " (" + std::to_string(options.horizon) + " months) does");
  }
  const auto o = std::make_shared<const org>(log.units());
  const auto p = std::make_shared<const pipeline>(log.model());
  const auto n = static_cast<unit_index>(o->size());
  backtest_result out;
  out.levels = options.levels;
  for (const auto& c : cutoffs) {
    const int fit_years = static_cast<int>(r.offset(c) / 12);
    const int years = options.years == 0 ? fit_years : std::min(options.years, fit_years);
    const auto predicted = memberflow_forecast(log, r, o, p, c, years, options);
    for (std::size_t qi = 0; qi < options.quantities.size(); ++qi) {
      const auto& q = options.quantities[qi];
      const Eigen::ArrayXd actual = r.count(q, c, options.horizon);
      // `mean`: the method's point forecast when it has one (the baselines'), else the pmf's.
      auto add = [&](const pmf& f, unit_index u, const char* method, int used, double dispersion, double mean) {
        auto row = score(f, actual(u), options.levels);
        if (!std::isnan(mean)) row.mean = mean, row.abs_error = std::abs(mean - actual(u));
        row.cutoff = c;
        row.unit = u;
        row.depth = o->depth(u);
        row.method = method;
        row.quantity = q;
        row.years = used;
        row.dispersion = dispersion;
        out.rows.push_back(std::move(row));
      };
      for (unit_index u = 0; u < n; ++u)
        add(predicted[qi].nodes[static_cast<std::size_t>(u)], u, "memberflow", years,
            std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN());
      for (const char* method : {"last_year", "mean_3y", "conversion"}) {
        const auto point = baseline_point(r, method, q, c, options.horizon);
        const auto alpha = baseline_dispersion(r, *o, method, q, c, options.horizon);
        for (unit_index u = 0; u < n; ++u) {
          const double a = alpha[static_cast<std::size_t>(o->depth(u))];
          add(negative_binomial_pmf(point.mean(u), a, options.tolerance), u, method, point.years, a, point.mean(u));
        }
      }
    }
  }
  return out;
}

namespace {

std::string number_text(double v) {
  if (std::isnan(v)) return "";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round trip
  (void)ec;
  return std::string(buf, end);
}

}  // namespace

text_table backtest_result::table(const org& o) const {
  text_table t;
  t.source = "backtest";
  t.noun = "row";
  t.columns = {"cutoff", "unit_id", "depth", "method", "quantity", "years", "actual", "mean", "median"};
  std::vector<std::string> names;
  for (double l : levels) names.push_back(number_text(l));
  for (const auto& l : names) t.columns.push_back("lo-" + l), t.columns.push_back("hi-" + l);
  t.columns.push_back("abs_error");
  t.columns.push_back("crps");
  for (const auto& l : names) t.columns.push_back("in_" + l);
  for (const char* c : {"pit_lo", "pit_hi", "dispersion"}) t.columns.push_back(c);
  for (const auto& r : rows) {
    std::vector<std::string> cells{r.cutoff.str(), o.id(r.unit), std::to_string(r.depth), r.method, r.quantity,
                                   std::to_string(r.years), number_text(r.actual), number_text(r.mean),
                                   std::to_string(r.median)};
    for (std::size_t i = 0; i < r.lo.size(); ++i) cells.push_back(std::to_string(r.lo[i])), cells.push_back(std::to_string(r.hi[i]));
    cells.push_back(number_text(r.abs_error));
    cells.push_back(number_text(r.crps));
    for (bool in : r.inside) cells.push_back(in ? "true" : "false");
    cells.push_back(number_text(r.pit_lo));
    cells.push_back(number_text(r.pit_hi));
    cells.push_back(number_text(r.dispersion));
    t.add_row(std::move(cells));
  }
  return t;
}

}  // namespace memberflow
