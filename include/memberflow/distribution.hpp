#pragma once
// Probability mass functions of counts, with the mass their truncation dropped.
//
// A count here is a sum of independent Bernoulli and Poisson parts (the exact engine's
// view of the model): one Binomial(n, p) per group of people who share a unit and a
// state slot, one Poisson per stream of arrivals. Their sum's pmf follows by direct
// convolution. Each pmf keeps only the support where the mass is not negligible; the
// mass cut from both tails is added to `tail`, so P(X = offset + k) = p[k] for the kept
// support and the true distribution puts at most `tail` outside it.
//
// Direct, not FFT, convolution: FFT's absolute rounding error (about 1e-16 times the
// largest probability, at every point of the support) would swamp the 1e-12 bound on
// the tail mass promised to callers; direct convolution keeps every entry to a few ulps
// of its own size, and the tree's convolutions stay cheap because widths grow only as
// the square root of the counts.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "memberflow/error.hpp"
#include "memberflow/math.hpp"

namespace memberflow {

struct pmf {
  long long offset = 0;         // the value of p[0]
  std::vector<double> p{1.0};   // P(X = offset + k)
  double tail = 0;              // mass dropped from the tails (an upper bound)

  long long first() const { return offset; }
  long long last() const { return offset + static_cast<long long>(p.size()) - 1; }
  double at(long long k) const {
    return k < offset || k > last() ? 0.0 : p[static_cast<std::size_t>(k - offset)];
  }
  double sum() const {
    double s = 0;
    for (double v : p) s += v;
    return s;
  }
  double mean() const {
    double m = 0, s = 0;
    for (std::size_t k = 0; k < p.size(); ++k) {
      m += p[k] * static_cast<double>(k);
      s += p[k];
    }
    return static_cast<double>(offset) + m / s;
  }
  double variance() const {
    const double mu = mean() - static_cast<double>(offset);
    double v = 0, s = 0;
    for (std::size_t k = 0; k < p.size(); ++k) {
      v += p[k] * (static_cast<double>(k) - mu) * (static_cast<double>(k) - mu);
      s += p[k];
    }
    return v / s;
  }
  // P(X >= k), summed from the smaller side so that small probabilities keep their
  // relative accuracy.
  double prob_at_least(long long k) const {
    if (k <= offset) return 1.0;
    if (k > last()) return 0.0;
    const auto i = static_cast<std::size_t>(k - offset);
    double upper = 0, lower = 0;
    for (std::size_t j = i; j < p.size(); ++j) upper += p[j];
    for (std::size_t j = 0; j < i; ++j) lower += p[j];
    return upper <= lower ? upper : 1.0 - lower;
  }
  // P(X <= k), likewise summed from the smaller side.
  double cdf(long long k) const {
    if (k < offset) return 0.0;
    if (k >= last()) return 1.0;
    const auto i = static_cast<std::size_t>(k - offset);
    double lower = 0, upper = 0;
    for (std::size_t j = 0; j <= i; ++j) lower += p[j];
    for (std::size_t j = i + 1; j < p.size(); ++j) upper += p[j];
    return lower <= upper ? lower : 1.0 - upper;
  }
  // The smallest k with P(X <= k) >= q, for q in [0, 1].
  long long quantile(double q) const {
    if (!(q >= 0 && q <= 1)) throw input_error("quantile: q must be in [0, 1]");
    double c = 0;
    for (std::size_t k = 0; k < p.size(); ++k) {
      c += p[k];
      if (c >= q * (1 - 1e-15)) return offset + static_cast<long long>(k);
    }
    return last();
  }
};

// Many pmfs in flat arrays, one allocation each rather than one a pmf (a national
// simulation tallies millions): pmf u holds probs[starts[u] .. starts[u + 1]) from the
// value offsets[u], with tail tails[u].
struct pmf_table {
  std::vector<long long> offsets;
  std::vector<std::size_t> starts{0};
  std::vector<double> probs, tails;

  std::size_t size() const { return offsets.size(); }
  // A copy of pmf u.
  pmf operator[](std::size_t u) const {
    pmf f;
    f.offset = offsets.at(u);
    f.p.assign(probs.begin() + static_cast<std::ptrdiff_t>(starts[u]),
               probs.begin() + static_cast<std::ptrdiff_t>(starts[u + 1]));
    f.tail = tails[u];
    return f;
  }
  void push_back(const pmf& f) {
    offsets.push_back(f.offset);
    tails.push_back(f.tail);
    probs.insert(probs.end(), f.p.begin(), f.p.end());
    starts.push_back(probs.size());
  }
};

namespace detail {

// Drops entries from both ends while the dropped mass stays within eps per side.
inline void trim(pmf& f, double eps) {
  std::size_t lo = 0, hi = f.p.size();
  double cut = 0;
  while (hi - lo > 1 && cut + f.p[lo] <= eps) cut += f.p[lo++];
  double cut_hi = 0;
  while (hi - lo > 1 && cut_hi + f.p[hi - 1] <= eps) cut_hi += f.p[--hi];
  if (lo == 0 && hi == f.p.size()) return;
  f.p = std::vector<double>(f.p.begin() + static_cast<std::ptrdiff_t>(lo), f.p.begin() + static_cast<std::ptrdiff_t>(hi));
  f.offset += static_cast<long long>(lo);
  f.tail += cut + cut_hi;
}

// The pmf of a walk outwards from the mode: up = f(mode), f(mode + 1), ...; down =
// f(mode - 1), f(mode - 2), ...; `unvisited` bounds the mass beyond both ends. The kept
// entries are scaled to sum to 1 - unvisited (see unimodal) and trimmed to eps a tail.
inline pmf from_walk(long long mode, const std::vector<double>& up, const std::vector<double>& down, double unvisited,
                     double eps) {
  pmf f;
  f.offset = mode - static_cast<long long>(down.size());
  f.p.assign(down.rbegin(), down.rend());
  f.p.insert(f.p.end(), up.begin(), up.end());
  f.tail = unvisited;
  const double scale = (1 - unvisited) / f.sum();
  for (double& v : f.p) v *= scale;
  trim(f, eps);
  return f;
}

// A pmf given by its value at the mode and the ratio f(k+1)/f(k), walked outwards
// until the terms fall below eps / 1000. The ratios decrease (Binomial and Poisson are
// log-concave), so beyond the last term walked each side's unvisited mass is at most
// a geometric series, t / (1 - r) for the first unvisited term t and its ratio r onward;
// that bound goes into `tail`. The kept entries are then scaled to sum to 1 - tail:
// this removes the rounding of lgamma at the mode (about 1e-11 relative for means near
// 1e4), and moves no entry by more than the tail bound's slack.
template <class Ratio>
pmf unimodal(long long lo, long long hi, long long mode, double log_at_mode, Ratio ratio, double eps) {
  std::vector<double> up{std::exp(log_at_mode)}, down;
  double unvisited = 0;
  for (long long k = mode; k < hi; ++k) {
    const double next = up.back() * ratio(k);
    if (next < eps * 1e-3 || next == 0) {
      const double r = k + 1 < hi ? ratio(k + 1) : 0.0;  // < 1 past the mode
      unvisited += r < 1 ? next / (1 - r) : next * static_cast<double>(hi - k);
      break;
    }
    up.push_back(next);
  }
  for (long long k = mode; k > lo; --k) {
    const double prev = (down.empty() ? up.front() : down.back()) / ratio(k - 1);
    if (prev < eps * 1e-3 || prev == 0 || !std::isfinite(prev)) {
      const double r = k - 1 > lo ? 1.0 / ratio(k - 2) : 0.0;  // f(k-2)/f(k-1) < 1 below the mode
      if (std::isfinite(prev)) unvisited += r < 1 ? prev / (1 - r) : prev * static_cast<double>(k - lo);
      break;
    }
    down.push_back(prev);
  }
  return from_walk(mode, up, down, unvisited, eps);
}

}  // namespace detail

// Binomial(n, p), truncated to mass eps per tail.
inline pmf binomial_pmf(long long n, double prob, double eps) {
  if (n < 0 || !(prob >= 0 && prob <= 1)) throw parameter_error("binomial_pmf: need n >= 0 and p in [0, 1]");
  pmf f;
  if (n == 0 || prob == 0) return f;
  if (prob == 1) {
    f.offset = n;
    return f;
  }
  const auto mode = std::min<long long>(n, static_cast<long long>(std::floor(static_cast<double>(n + 1) * prob)));
  const double dn = static_cast<double>(n), dm = static_cast<double>(mode);
  const double log_mode = log_gamma(dn + 1) - log_gamma(dm + 1) - log_gamma(dn - dm + 1) +
                          dm * std::log(prob) + (dn - dm) * std::log1p(-prob);
  const double odds = prob / (1 - prob);
  return detail::unimodal(0, n, mode, log_mode,
                          [&](long long k) { return (dn - static_cast<double>(k)) / static_cast<double>(k + 1) * odds; }, eps);
}

// Poisson(mu), truncated to mass eps per tail.
inline pmf poisson_pmf(double mu, double eps) {
  if (!(mu >= 0) || !std::isfinite(mu)) throw parameter_error("poisson_pmf: need a finite mean >= 0");
  pmf f;
  if (mu == 0) return f;
  const auto mode = static_cast<long long>(std::floor(mu));
  const double log_mode = static_cast<double>(mode) * std::log(mu) - mu - log_gamma(static_cast<double>(mode) + 1);
  return detail::unimodal(0, std::numeric_limits<long long>::max() / 2, mode, log_mode,
                          [&](long long k) { return mu / static_cast<double>(k + 1); }, eps);
}

// The pmf of X + Y for independent X, Y; the result is trimmed to eps per tail and
// carries both inputs' tails.
inline pmf convolve(const pmf& a, const pmf& b, double eps) {
  pmf c;
  c.offset = a.offset + b.offset;
  c.tail = a.tail + b.tail;
  if (a.p.size() == 1 || b.p.size() == 1) {
    const double s = a.p.size() == 1 ? a.p[0] : b.p[0];
    c.p = a.p.size() == 1 ? b.p : a.p;
    if (s != 1.0)
      for (double& v : c.p) v *= s;
  } else {
    const auto& x = a.p.size() >= b.p.size() ? a.p : b.p;
    const auto& y = a.p.size() >= b.p.size() ? b.p : a.p;
    c.p.assign(x.size() + y.size() - 1, 0.0);
    for (std::size_t j = 0; j < y.size(); ++j) {
      const double w = y[j];
      double* out = c.p.data() + j;
      for (std::size_t i = 0; i < x.size(); ++i) out[i] += w * x[i];
    }
  }
  detail::trim(c, eps);
  // Rounding in the products adds up over a tree of 300,000 units (about 3.5e-17 a unit,
  // 1e-11 at a national root): rescale the kept mass to 1 - tail at every step, which moves
  // no entry by more than the tail bound and keeps sum + tail = 1 to a few ulps.
  const double kept = c.sum();
  if (kept > 0) {
    const double scale = (1 - c.tail) / kept;
    for (double& v : c.p) v *= scale;
  }
  return c;
}

// Poisson-binomial: the number of successes among independent trials with success
// probabilities `probs`, by the classical O(n^2) recursion (no truncation). Kept as the
// reference the tests hold the convolution engine to.
inline pmf poisson_binomial_pmf(const std::vector<double>& probs) {
  pmf f;
  f.p.assign(1, 1.0);
  for (double q : probs) {
    if (!(q >= 0 && q <= 1)) throw parameter_error("poisson_binomial_pmf: probabilities must be in [0, 1]");
    f.p.push_back(0.0);
    for (std::size_t k = f.p.size() - 1; k > 0; --k) f.p[k] = f.p[k] * (1 - q) + f.p[k - 1] * q;
    f.p[0] *= 1 - q;
  }
  return f;
}

}  // namespace memberflow
