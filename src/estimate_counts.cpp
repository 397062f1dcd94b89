// Estimation from aggregate counts: person-months reconstructed under the monthly model,
// then the pooled fit of estimate.cpp (the model and its equations: estimate_counts.hpp
// and docs/estimation.md, "From aggregate counts").
#include "memberflow/estimate_counts.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "memberflow/apportion.hpp"
#include "memberflow/math.hpp"

namespace memberflow {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

std::string period_name(long first, int months) {
  const auto m = calendar_month{}.plus(first);
  if (months == 12) return std::to_string(m.year);
  if (months == 3) return std::to_string(m.year) + "Q" + std::to_string((m.month + 2) / 3);
  return m.str();
}

// "counts.csv line 5 (unit 'C01', period 2020)": where a row of the table came from.
std::string row_place(const count_table& c, const org& o, std::size_t row) {
  const auto& r = c.periods[row];
  return source_location{c.source, r.line, c.noun, {}}.describe() + " (unit '" + o.id(r.unit) + "', period " +
         period_name(r.first, r.months) + ")";
}

// Problems gathered over the whole table and thrown together, the first 20 in full.
struct problems {
  std::vector<std::string> items;
  std::size_t count = 0;
  void add(std::string what) {
    if (items.size() < 20) items.push_back(std::move(what));
    ++count;
  }
  void raise(const std::string& headline) const {
    if (count == 0) return;
    std::string text = headline + ": " + std::to_string(count) + (count == 1 ? " problem" : " problems");
    for (const auto& i : items) text += "\n  " + i;
    if (count > items.size()) text += "\n  ... and " + std::to_string(count - items.size()) + " more";
    throw input_error(text);
  }
};

// The counts of one stage in one period that the fit needs:
//   entries   into the stage (first stage: arrivals; terminal: confirmations + transfers in)
//   advanced  moves on to the next stage (fixed stages: passes)
//   exited    leaving from the stage (terminal: left + transfers out)
//   completing  fixed stages: passes + failures, the trials of pass_rate
//   leavers   moves out by the stage's monthly chance h: advanced + exited (markov),
//             exited (fixed and terminal; a fixed stage's completions are set by age)
struct stage_counts {
  double start = 0, entries = 0, advanced = 0, exited = 0, completing = 0, leavers = 0;
};

class row_reader {
 public:
  row_reader(const count_table& c, const org& o, const pipeline& p, problems& bad) : c_(c), o_(o), p_(p), bad_(bad) {
    for (const auto& st : p.stages()) fixed_stages_ += st.kind == stage_kind::fixed;
  }

  stage_counts stage(std::size_t row, std::size_t s) {
    const auto r = static_cast<Eigen::Index>(row);
    const auto si = static_cast<Eigen::Index>(s);
    const auto& st = p_.stages()[s];
    const auto& name = st.name;
    stage_counts out;
    out.start = need(row, c_.start(r, si), name + "_start");
    out.entries = need(row, c_.entries(r, si), entry_name(p_, s));
    if (s == p_.terminal()) out.entries += need(row, c_.transfers_in(r), "transfers_in");
    out.exited = need(row, c_.exits(r, si), name + "_exits");
    switch (st.kind) {
      case stage_kind::markov:
        out.advanced = need(row, c_.entries(r, si + 1), entry_name(p_, s + 1));
        out.leavers = out.advanced + out.exited;
        break;
      case stage_kind::fixed: {
        out.advanced = need(row, c_.entries(r, si + 1), entry_name(p_, s + 1));
        if (fixed_stages_ != 1) {
          complain(row, "not_confirmed cannot be told apart between the pipeline's " +
                            std::to_string(fixed_stages_) + " fixed-duration stages, so pass_rate of '" + name +
                            "' cannot be fitted from counts");
          out.completing = out.advanced;
        } else {
          out.completing = out.advanced + need(row, c_.not_confirmed(r), "not_confirmed");
        }
        out.leavers = out.exited;
        break;
      }
      case stage_kind::terminal:
        out.exited += need(row, c_.transfers_out(r), "transfers_out");
        out.leavers = out.exited;
        break;
    }
    return out;
  }

  double arrivals(std::size_t row) {
    return need(row, c_.entries(static_cast<Eigen::Index>(row), 0), entry_name(p_, 0));
  }
  double transfers_in(std::size_t row) {
    return need(row, c_.transfers_in(static_cast<Eigen::Index>(row)), "transfers_in");
  }

 private:
  // A count the fit needs: unknown (NaN) is a problem, reported with the row, never 0.
  double need(std::size_t row, double v, const std::string& column) {
    if (!std::isnan(v)) return v;
    complain(row, "column '" + column + "' is unknown (left out or empty), and the fit needs it");
    return 0;
  }
  void complain(std::size_t row, const std::string& what) { bad_.add(row_place(c_, o_, row) + ": " + what); }

  const count_table& c_;
  const org& o_;
  const pipeline& p_;
  problems& bad_;
  int fixed_stages_ = 0;
};

// Each unit's rows of the table whose periods lie in months [first, last], in month
// order; they must cover every month exactly once (the reader has refused overlaps).
std::vector<std::vector<std::size_t>> window_rows(const count_table& c, const org& o, long first, long last) {
  const auto n = o.size();
  std::vector<std::vector<std::size_t>> rows(n);
  std::vector<bool> cut(n);  // a unit with a period over the window's edge, reported as such
  problems bad;
  for (std::size_t r = 0; r < c.periods.size(); ++r) {
    const auto& q = c.periods[r];
    const long end = q.first + q.months - 1;
    if (end < first || q.first > last) continue;  // outside the window
    if (q.first < first || end > last) {
      bad.add(row_place(c, o, r) + ": the period runs over the window " + calendar_month{}.plus(first).str() +
              ".." + calendar_month{}.plus(last).str() + " (a period's counts cannot be split between months)");
      cut[static_cast<std::size_t>(q.unit)] = true;
      continue;
    }
    rows[static_cast<std::size_t>(q.unit)].push_back(r);
  }
  auto span = [](long a, long b) {
    return a == b ? calendar_month{}.plus(a).str() : calendar_month{}.plus(a).str() + ".." + calendar_month{}.plus(b).str();
  };
  for (std::size_t u = 0; u < n; ++u) {
    if (cut[u]) continue;
    auto& mine = rows[u];
    std::sort(mine.begin(), mine.end(), [&](auto a, auto b) { return c.periods[a].first < c.periods[b].first; });
    const std::string unit = "unit '" + o.id(static_cast<unit_index>(u)) + "'";
    if (mine.empty()) {
      bad.add(unit + ": no counts in the window " + span(first, last));
      continue;
    }
    long next = first;
    for (auto r : mine) {
      if (c.periods[r].first > next) bad.add(unit + ": no counts for " + span(next, c.periods[r].first - 1));
      next = c.periods[r].first + c.periods[r].months;
    }
    if (next <= last) bad.add(unit + ": no counts for " + span(next, last));
  }
  bad.raise("the counts do not cover every unit's months of the window " + span(first, last));
  return rows;
}

// The months a person of each group could be at risk in a period of m months (index w,
// value the share of the group): the starters, and the entries, of which a share
// timing[j] enters in month j and is at risk from month j + 1 (see the header).
struct risk_windows {
  Eigen::ArrayXd starters, entrants;
};

risk_windows windows_of(const stage& st, int m, const Eigen::ArrayXd& timing) {
  risk_windows out{Eigen::ArrayXd::Zero(m + 1), Eigen::ArrayXd::Zero(m + 1)};
  if (st.kind != stage_kind::fixed) {
    out.starters(m) = 1;
    for (int j = 0; j < m; ++j) out.entrants(m - 1 - j) += timing(j);
    return out;
  }
  // A fixed stage of D months: a starter at age a (uniform: admissions spread evenly)
  // has D - a months left; an entry stays at most D months.
  const int D = st.months;
  for (int a = 0; a < D; ++a) out.starters(std::min(m, D - a)) += 1.0 / D;
  for (int j = 0; j < m; ++j) out.entrants(std::min(m - 1 - j, D)) += timing(j);
  return out;
}

// When in the period the entries into the stage after s come, as shares by month: the
// first stage's arrivals and the terminal stage's entries evenly (Poisson arrivals; the
// terminal stage's rate hardly depends on it); after a markov stage, in proportion to its
// expected stock month by month, n(t + 1) = n(t) (1 - h) + E timing(t) from n(0) = S
// (its advances are a constant share of it). So a stage that fills up or drains within
// the period (its rates moved in January) passes its people on late or early.
Eigen::ArrayXd next_timing(const stage& st, const stage_counts& x, double h, const Eigen::ArrayXd& timing, bool last) {
  const auto m = timing.size();
  Eigen::ArrayXd out = Eigen::ArrayXd::Constant(m, 1.0 / static_cast<double>(m));
  if (st.kind != stage_kind::markov || last) return out;
  double n = x.start;
  for (Eigen::Index t = 0; t < m; ++t) {
    out(t) = n;
    n = n * (1 - h) + x.entries * timing(t);
  }
  const double sum = out.sum();
  if (!(sum > 0)) return Eigen::ArrayXd::Constant(m, 1.0 / static_cast<double>(m));
  return out / sum;
}

// The trapezoid: stocks linear from start to end over the starts of months 0..m-1.
double trapezoid(const stage_counts& x, int m) {
  const double end = x.start + x.entries - x.leavers - x.completing;
  return std::max(m * x.start + (end - x.start) * (m - 1) / 2.0, x.leavers);
}

// The monthly chance of leaving a stage by a random move, for unit u.
double hazard(const parameter_set& r, unit_index u, std::size_t s, const pipeline& p) {
  switch (p.stages()[s].kind) {
    case stage_kind::markov:
      return r.get(u, s, param::advance) + r.get(u, s, param::exit);
    case stage_kind::fixed:
      return r.get(u, s, param::exit);
    case stage_kind::terminal:
      return r.get(u, s, param::attrition);
  }
  return 0;
}

// Each unit's posterior means over the window (not moved by the drift: the E step
// reconstructs the window's own person-months).
parameter_set window_means(const fit_result& f, const org& o, const pipeline& p) {
  auto ps = parameter_set::defaults(o, p);
  for (const auto& r : f.rates)
    for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u) {
      auto pick = [&](const rate_fit& x) { return x.mean(u); };
      double v = pick(r);
      if (r.which == param::exit && p.stages()[r.stage].kind == stage_kind::markov)
        v *= 1 - pick(f.at(r.stage, param::advance));
      ps.set(u, r.stage, r.which, v);
    }
  return ps;
}

double max_relative_change(const exposure_table& a, const exposure_table& b) {
  double worst = 0;
  for (std::size_t s = 0; s < a.at_risk.size(); ++s) {
    const auto d = (a.at_risk[s] - b.at_risk[s]).abs() / b.at_risk[s].abs().max(1e-9);
    worst = std::max(worst, d.maxCoeff());
  }
  return worst;
}

}  // namespace

namespace detail {

// Per group: p = P(leave within the window), and E[T; leave], E[T; stay].
struct group_risk {
  double leave = 0, months_if_leave = 0, months_if_stay = 0;
};

static group_risk risk_of(const Eigen::ArrayXd& windows, double h) {
  // By sums over the months (not 1 - (1 - h)^w), so that one month at risk gives exactly
  // 1 month whether the person leaves or not.
  double p = 0, t_leave = 0, t_stay = 0;
  for (Eigen::Index w = 0; w < windows.size(); ++w) {
    const double share = windows(w);
    if (share == 0) continue;
    double leave = 0, months = 0, survive = 1;  // P(leave by w), E[T; leave by w], (1 - h)^w
    for (Eigen::Index i = 1; i <= w; ++i) {
      leave += h * survive;
      months += static_cast<double>(i) * h * survive;
      survive *= 1 - h;
    }
    p += share * leave;
    t_leave += share * months;
    t_stay += share * static_cast<double>(w) * survive;
  }
  return {p, p > 0 ? t_leave / p : 1.0, p < 1 ? t_stay / (1 - p) : 0.0};
}

static double log_binomial(double n, double k, double p) {
  if (k < 0 || k > n) return -std::numeric_limits<double>::infinity();
  double v = log_gamma(n + 1) - log_gamma(k + 1) - log_gamma(n - k + 1);
  if (k > 0) v += k * std::log(p);
  if (n - k > 0) v += (n - k) * std::log1p(-p);
  return v;
}

// p(h) = sum_w share_w (1 - (1 - h)^w) of a group and its first two derivatives in h.
struct leave_chance {
  double p = 0, d1 = 0, d2 = 0;
};

static leave_chance chance_of(const Eigen::ArrayXd& windows, double h) {
  leave_chance c;
  for (Eigen::Index w = 0; w < windows.size(); ++w) {
    const double share = windows(w), wd = static_cast<double>(w);
    if (share == 0 || w == 0) continue;
    c.p += share * -std::expm1(wd * std::log1p(-h));
    c.d1 += share * wd * std::pow(1 - h, wd - 1);
    c.d2 -= share * wd * (wd - 1) * (w >= 2 ? std::pow(1 - h, wd - 2) : 0.0);
  }
  return c;
}

binomial_data matched_binomial(double S, double E, double L, double h0, const Eigen::ArrayXd& starters,
                               const Eigen::ArrayXd& entrants) {
  if (S + E <= 0) return {0, 0};
  const double h = std::clamp(h0, 1e-9, 1 - 1e-9);
  const auto c1 = chance_of(starters, h), c2 = chance_of(entrants, h);
  // For a group of n with m leaving: d/dh log Bin(m | n, p) and its second derivative.
  auto derivatives = [](double n, double m, const leave_chance& c) -> std::pair<double, double> {
    if (n <= 0) return {0, 0};
    const double p = std::clamp(c.p, 1e-300, 1 - 1e-16);
    const double score = m / p - (n - m) / (1 - p);
    const double curve = -m / (p * p) - (n - m) / ((1 - p) * (1 - p));
    return {score * c.d1, curve * c.d1 * c.d1 + score * c.d2};
  };
  // log L(h) = log sum_l w_l(h), w_l = Bin(l | S, p1) Bin(L - l | E, p2): its derivatives are
  // the posterior mean of d log w_l and the mean of d2 log w_l plus the variance of d log w_l.
  const double lo = std::max(0.0, L - E), hi = std::min(S, L);
  std::vector<double> logw, a, b;
  double top = -std::numeric_limits<double>::infinity();
  for (double l = lo; l <= hi; ++l) {
    logw.push_back(log_binomial(S, l, c1.p) + log_binomial(E, L - l, c2.p));
    top = std::max(top, logw.back());
    const auto [a1, b1] = derivatives(S, l, c1);
    const auto [a2, b2] = derivatives(E, L - l, c2);
    a.push_back(a1 + a2);
    b.push_back(b1 + b2);
  }
  // The EM's data, (L, E[N | L, h]), have the same slope (Fisher's identity) but the
  // curvature of the complete data: they stand in where the matching cannot be done.
  auto em = [&]() -> binomial_data { return {L, expected_person_months(S, E, L, h, starters, entrants)}; };
  if (!std::isfinite(top)) return em();  // counts impossible at h
  double sum = 0, ma = 0, ma2 = 0, mb = 0;
  for (std::size_t i = 0; i < logw.size(); ++i) {
    const double w = std::exp(logw[i] - top);
    sum += w, ma += w * a[i], ma2 += w * a[i] * a[i], mb += w * b[i];
  }
  ma /= sum, ma2 /= sum, mb /= sum;
  const double g = ma, c = -(mb + ma2 - ma * ma);
  // k log h + j log(1 - h) with the same slope g and curvature -c at h. A likelihood that
  // no binomial matches (not concave at h: e.g. nobody left from a group whose months at
  // risk are unknown) or that would hold more information than the complete data (which
  // it cannot) takes the EM's data.
  const double k = h * h * (g + (1 - h) * c), j = (1 - h) * (1 - h) * (h * c - g);
  const auto complete = em();
  const double complete_info = complete.events / (h * h) + (complete.trials - complete.events) / ((1 - h) * (1 - h));
  if (!(c > 0) || k < 0 || j < 0 || c > complete_info * (1 + 1e-9)) return complete;
  return {k, k + j};
}

double expected_person_months(double S, double E, double L, double h, const Eigen::ArrayXd& starters,
                              const Eigen::ArrayXd& entrants) {
  h = std::clamp(h, 1e-12, 1 - 1e-12);
  const auto g1 = risk_of(starters, h), g2 = risk_of(entrants, h);
  // E[L1 | L]: Fisher's noncentral hypergeometric over the feasible split of the leavers.
  double l1 = 0;
  if (E == 0) l1 = L;
  else if (S > 0) {
    const double lo = std::max(0.0, L - E), hi = std::min(S, L);
    double top = -std::numeric_limits<double>::infinity();
    std::vector<double> logw;
    for (double l = lo; l <= hi; ++l) {
      logw.push_back(log_binomial(S, l, g1.leave) + log_binomial(E, L - l, g2.leave));
      top = std::max(top, logw.back());
    }
    if (std::isfinite(top)) {
      double sum = 0, mean = 0;
      for (std::size_t i = 0; i < logw.size(); ++i) {
        const double w = std::exp(logw[i] - top);
        sum += w;
        mean += w * (lo + static_cast<double>(i));
      }
      l1 = mean / sum;
    } else {  // counts the model cannot produce at this h (e.g. entrants who could not leave)
      l1 = std::clamp(L * S / (S + E), lo, hi);
    }
  }
  const double l2 = L - l1;
  return l1 * g1.months_if_leave + (S - l1) * g1.months_if_stay + l2 * g2.months_if_leave +
         (E - l2) * g2.months_if_stay;
}

}  // namespace detail

namespace {

// The exposures of the counts; `year_factor` (stages x months, or empty: 1) multiplies
// each unit's monthly chance of leaving a stage in the period beginning at that month.
exposure_table exposures_of(const count_table& c, const org& o, const pipeline& p, const calendar_month& first,
                            const calendar_month& last, const parameter_set* rates, count_approximation approximation,
                            const Eigen::ArrayXXd& year_factor) {
  const long from = month_index(first), to = month_index(last);
  if (to < from) throw input_error("counts: the window " + first.str() + ".." + last.str() + " is empty");
  if (approximation != count_approximation::trapezoid && rates == nullptr)
    throw input_error("count_exposures: the model approximation needs the units' rates");
  const auto rows = window_rows(c, o, from, to);
  const auto S = p.size();
  const auto n = static_cast<Eigen::Index>(o.size());
  const auto months = static_cast<Eigen::Index>(to - from + 1);
  exposure_table x;
  x.start = first;
  x.months = static_cast<int>(months);
  for (auto* a : {&x.at_risk, &x.advanced, &x.exited, &x.completing})
    a->assign(S, Eigen::ArrayXXd::Zero(n, months));
  x.arrivals = Eigen::ArrayXXd::Zero(n, months);
  x.transfers_in = Eigen::ArrayXXd::Zero(n, months);

  problems bad;
  row_reader read(c, o, p, bad);
  for (unit_index u = 0; u < n; ++u)
    for (auto r : rows[static_cast<std::size_t>(u)]) {
      const auto& q = c.periods[r];
      const int m = q.months;
      const auto col = static_cast<Eigen::Index>(q.first - from);
      Eigen::ArrayXd timing = Eigen::ArrayXd::Constant(m, 1.0 / m);  // of the first stage's arrivals
      // A period's totals, spread evenly over its months.
      auto put = [&](Eigen::ArrayXXd& a, double total) { a.block(u, col, 1, m) = total / m; };
      for (std::size_t s = 0; s < S; ++s) {
        const auto k = read.stage(r, s);
        const auto& st = p.stages()[s];
        double N = 0, advanced = k.advanced, exited = k.exited;
        if (approximation == count_approximation::trapezoid) {
          N = trapezoid(k, m);
        } else {
          double h = hazard(*rates, u, s, p);
          if (year_factor.size() > 0) h = std::min(h * year_factor(static_cast<Eigen::Index>(s), col), 1.0);
          const auto w = windows_of(st, m, timing);
          if (approximation == count_approximation::model) {
            N = detail::expected_person_months(k.start, k.entries, k.leavers, h, w.starters, w.entrants);
          } else {
            // The binomial with the likelihood of the period's leavers near h; its
            // leavers split as the counted ones (advances and exits of a markov stage).
            const auto b = detail::matched_binomial(k.start, k.entries, k.leavers, h, w.starters, w.entrants);
            N = b.trials;
            const double share = k.leavers > 0 ? b.events / k.leavers : 0.0;
            if (st.kind == stage_kind::markov) advanced = k.advanced * share, exited = k.exited * share;
            else exited = b.events;
          }
          timing = next_timing(st, k, h, timing, s + 2 == S);
        }
        put(x.at_risk[s], N);
        put(x.advanced[s], s == p.terminal() ? 0.0 : advanced);
        put(x.exited[s], exited);
        put(x.completing[s], st.kind == stage_kind::fixed ? k.completing : 0.0);
      }
      put(x.arrivals, read.arrivals(r));
      put(x.transfers_in, read.transfers_in(r));
    }
  bad.raise("counts: fitting needs every count of each stage");
  return x;
}

// The year-to-year drift of each stage's chance of leaving, seen through the current
// exposures: per 12-month block counted back from the window's end (earlier months join
// the first block), the organisation's leavers over its person-months, relative to the
// whole window's. The E step then uses each unit's window rate times its block's factor:
// with rates that drift, a five-year average would misplace the leavers of a year.
Eigen::ArrayXXd year_factors(const exposure_table& x, const pipeline& p) {
  const auto S = static_cast<Eigen::Index>(p.size());
  const Eigen::Index months = x.months;
  Eigen::ArrayXXd f = Eigen::ArrayXXd::Ones(S, months);
  const Eigen::Index blocks = months / 12;
  if (blocks < 2) return f;
  auto block_of = [&](Eigen::Index t) { return std::max<Eigen::Index>(0, blocks - 1 - (months - 1 - t) / 12); };
  for (Eigen::Index s = 0; s < S; ++s) {
    const auto si = static_cast<std::size_t>(s);
    const bool markov = p.stages()[si].kind == stage_kind::markov;
    Eigen::ArrayXd leavers = x.exited[si].colwise().sum();
    if (markov) leavers += x.advanced[si].colwise().sum();
    const Eigen::ArrayXd at_risk = x.at_risk[si].colwise().sum();
    if (!(at_risk.sum() > 0) || !(leavers.sum() > 0)) continue;
    const double window = leavers.sum() / at_risk.sum();
    std::vector<double> l(static_cast<std::size_t>(blocks)), n(static_cast<std::size_t>(blocks));
    for (Eigen::Index t = 0; t < months; ++t)
      l[static_cast<std::size_t>(block_of(t))] += leavers(t), n[static_cast<std::size_t>(block_of(t))] += at_risk(t);
    for (Eigen::Index t = 0; t < months; ++t) {
      const auto b = static_cast<std::size_t>(block_of(t));
      if (n[b] > 0 && l[b] > 0) f(s, t) = l[b] / n[b] / window;
    }
  }
  return f;
}

}  // namespace

exposure_table count_exposures(const count_table& c, const org& o, const pipeline& p, const calendar_month& first,
                               const calendar_month& last, const parameter_set* rates,
                               count_approximation approximation) {
  return exposures_of(c, o, p, first, last, rates, approximation, Eigen::ArrayXXd());
}

count_fit fit_counts(const count_table& c, const org& o, const pipeline& p, const calendar_month& first,
                     const calendar_month& last, const fit_options& options, const count_options& counts) {
  count_fit out;
  out.exposures = exposures_of(c, o, p, first, last, nullptr, count_approximation::trapezoid, Eigen::ArrayXXd());
  if (counts.approximation != count_approximation::trapezoid) {
    // EM: the trials given the counts and the previous fit's rates, then the fit on them.
    // The drift does not enter the E step (it uses the window's own rates), so the
    // iterations fit without it and only the last fit has it.
    auto inner = options;
    inner.drift = false;
    auto fit = fit_pooled(out.exposures, o, p, inner);
    auto factors = year_factors(out.exposures, p);
    std::optional<parameter_set> previous;
    for (out.iterations = 1; out.iterations <= counts.max_iterations; ++out.iterations) {
      auto rates = window_means(fit, o, p);
      if (previous && counts.approximation == count_approximation::matched) {
        // Damped: half way from the previous rates (the matched data's own estimate can
        // overshoot, as a Newton step does)
        for (auto* a : {&rates.advance, &rates.exit, &rates.pass_rate, &rates.attrition}) {
          auto& b = a == &rates.advance ? previous->advance : a == &rates.exit ? previous->exit
                    : a == &rates.pass_rate ? previous->pass_rate : previous->attrition;
          *a = 0.5 * (*a + b);
        }
      }
      previous = rates;
      auto next = exposures_of(c, o, p, first, last, &rates, counts.approximation, factors);
      if (counts.approximation == count_approximation::matched)  // the years' rates from the EM's data, real rates
        factors = year_factors(exposures_of(c, o, p, first, last, &rates, count_approximation::model, factors), p);
      else
        factors = year_factors(next, p);
      const double change = max_relative_change(next, out.exposures);
      out.exposures = std::move(next);
      if (change < counts.tolerance) break;
      fit = fit_pooled(out.exposures, o, p, inner);
    }
    out.iterations = std::min(out.iterations, counts.max_iterations);
  }
  out.fit = fit_pooled(out.exposures, o, p, options);
  return out;
}

fit_result fit_pooled(const count_table& c, const org& o, const pipeline& p, const calendar_month& first,
                      const calendar_month& last, const fit_options& options, const count_options& counts) {
  return fit_counts(c, o, p, first, last, options, counts).fit;
}

namespace {

// A stage's stock at the end of a period: <stage>_end, else the balance of the period's
// counts (start + entries - moves out), NaN when a term is unknown too.
double end_stock(const count_table& c, const pipeline& p, Eigen::Index r, std::size_t s) {
  const auto si = static_cast<Eigen::Index>(s);
  if (!std::isnan(c.end(r, si))) return c.end(r, si);
  int fixed_stages = 0;
  for (const auto& st : p.stages()) fixed_stages += st.kind == stage_kind::fixed;
  const bool terminal = s == p.terminal(), fixed = p.stages()[s].kind == stage_kind::fixed;
  double v = c.start(r, si) + c.entries(r, si) - c.exits(r, si);
  if (!terminal) v -= c.entries(r, si + 1);
  if (fixed) v -= fixed_stages == 1 ? c.not_confirmed(r) : nan;
  if (terminal) v += c.transfers_in(r) - c.transfers_out(r);
  return v;
}

}  // namespace

Eigen::ArrayXXd count_stocks(const count_table& c, const org& o, const pipeline& p, const calendar_month& month) {
  const long at = month_index(month);
  const auto n = o.size();
  std::vector<std::vector<std::size_t>> rows(n);
  for (std::size_t r = 0; r < c.periods.size(); ++r) rows[static_cast<std::size_t>(c.periods[r].unit)].push_back(r);
  Eigen::ArrayXXd stocks = Eigen::ArrayXXd::Zero(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(p.state_size()));
  problems bad;
  for (std::size_t u = 0; u < n; ++u) {
    const auto ui = static_cast<unit_index>(u);
    // The period ending just before `month` (its ends), else the one beginning at it.
    const count_table::period* q = nullptr;
    std::size_t row = 0;
    bool at_end = false;
    for (auto r : rows[u]) {
      const auto& x = c.periods[r];
      if (x.first + x.months == at) q = &x, row = r, at_end = true;
      else if (x.first == at && !at_end) q = &x, row = r;
    }
    if (q == nullptr) {
      bad.add("unit '" + o.id(ui) + "': no period of the counts ends just before " + month.str() + " or begins with it");
      continue;
    }
    // The admissions per month of month t into stage s (NaN where the counts do not say).
    auto entries_in = [&](long t, std::size_t s) {
      for (auto r : rows[u]) {
        const auto& x = c.periods[r];
        if (t >= x.first && t < x.first + x.months) return c.entries(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(s)) / x.months;
      }
      return nan;
    };
    for (std::size_t s = 0; s < p.size(); ++s) {
      const auto& st = p.stages()[s];
      const auto r = static_cast<Eigen::Index>(row);
      const double total = at_end ? end_stock(c, p, r, s) : c.start(r, static_cast<Eigen::Index>(s));
      if (std::isnan(total)) {
        bad.add(row_place(c, o, row) + ": column '" + st.name + (at_end ? "_end" : "_start") +
                "' is unknown" + (at_end ? " (and so is a count it balances with)" : "") + ", and the stocks at " +
                month.str() + " need it");
        continue;
      }
      const auto slot = static_cast<Eigen::Index>(p.offset(s));
      if (st.kind != stage_kind::fixed) {
        stocks(ui, slot) = total;
        continue;
      }
      // Ages: by the entries of the months the people entered in, uniform without them.
      std::vector<double> weight(static_cast<std::size_t>(st.months));
      bool known = true;
      for (int a = 0; a < st.months; ++a) {
        weight[static_cast<std::size_t>(a)] = entries_in(at - 1 - a, s);
        known = known && !std::isnan(weight[static_cast<std::size_t>(a)]);
      }
      double sum = 0;
      for (double w : weight) sum += known ? w : 0;
      if (!known || sum <= 0) std::fill(weight.begin(), weight.end(), 1.0);
      const auto people = apportion(static_cast<long long>(total), weight);
      for (int a = 0; a < st.months; ++a) stocks(ui, slot + a) = static_cast<double>(people[static_cast<std::size_t>(a)]);
    }
  }
  bad.raise("counts: the stocks at " + month.str() + " are not all known");
  return stocks;
}

}  // namespace memberflow
