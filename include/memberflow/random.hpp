#pragma once
// Random numbers for the simulation engine, defined by memberflow down to the bit.
//
// Generator: Philox-4x64-10 (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as
// easy as 1, 2, 3", SC'11), through Random123. It is counter-based: the numbers for
// (path, unit, month) are a pure function of the seed and those three counters, so a
// path's draws do not depend on which thread runs it, in which order, or how the paths
// are split into batches or machines.
//
// Samplers: our own, not the standard library's (whose algorithms differ between
// implementations and whose binomial is slow). Both are inversion methods, exact up to
// floating-point rounding (detail::small_mean = 18):
//   mean < 18   bottom-up inversion: one uniform, compared with the pmf's first 8 to 24
//               partial sums at once (by the mean), then walked on from there;
//   mean >= 18  mode-outward inversion: one uniform, walk the pmf in the fixed order
//               m, m+1, m-1, m+2, m-2, ... from the mode m. Inversion is valid for any
//               fixed order of the outcomes; this one needs O(standard deviation) steps.
// A binomial with p > 1/2 is drawn as n minus a binomial with 1 - p. The count regime's
// binomial_count / poisson_count add transformed rejection from mean 18, and Exp(1) is
// drawn by the ziggurat (exponential).
#include <Random123/philox.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "memberflow/error.hpp"
#include "memberflow/math.hpp"

namespace memberflow::random {

// The uniforms of one (path, unit, month): an endless sequence, four 64-bit words per
// Philox call. `domain` separates independent uses of the same counters.
class stream {
 public:
  using philox = r123::Philox4x64;

  stream(std::uint64_t seed, std::uint64_t path, std::uint64_t unit, std::uint64_t month, std::uint64_t domain = 0)
      : ctr_{{path, unit, month, 0}}, key_{{seed, domain}} {}

  std::uint64_t next_u64() {
    if (used_ == 4) refill();
    const auto x = block_[used_++];
    // A stream past its first two blocks (a busy unit's) makes its next block as it takes
    // the last number of this one, so that the Philox rounds run while the caller uses
    // that number, not while it waits for the next (the same numbers; a dense run 2.4%
    // faster). Quiet streams, which mostly stop within a block or two, make none ahead.
    if (used_ == 4 && ctr_[3] > 1) refill();
    return x;
  }
  // A uniform in the open interval (0, 1): the top 52 bits k, centred in their cell,
  // (k + 1/2) / 2^52. Exact in a double, so never 0 or 1. (With 53 bits the centres of
  // the upper half's cells are not doubles: they round to a cell edge, the last to 1.)
  static double to_uniform(std::uint64_t bits) { return (static_cast<double>(bits >> 12) + 0.5) * 0x1.0p-52; }
  double uniform() { return to_uniform(next_u64()); }

 private:
  void refill() {
    block_ = philox()(ctr_, key_);
    ++ctr_[3];
    used_ = 0;
  }
  philox::ctr_type ctr_;
  philox::key_type key_;
  philox::ctr_type block_{};
  int used_ = 4;
};

namespace detail {

// Inversion in the order m, m+1, m-1, m+2, ... given f(m) and the ratios
// up(k) = f(k+1)/f(k), down(k) = f(k-1)/f(k).
template <class Up, class Down>
long long mode_outward(double u, long long lo, long long hi, long long m, double fm, Up up, Down down) {
  double f_hi = fm, f_lo = fm;
  long long k_hi = m, k_lo = m;
  u -= fm;
  if (u <= 0) return m;
  for (;;) {
    const bool can_up = k_hi < hi, can_down = k_lo > lo;
    if (!can_up && !can_down) return m;  // U beyond the rounded total mass (~1e-16)
    // The terms shrink outwards from the mode, so a round that leaves U unchanged means
    // no later term can change it: U is beyond the rounded total mass (~1e-13).
    const double before = u;
    if (can_up) {
      f_hi *= up(k_hi);
      ++k_hi;
      u -= f_hi;
      if (u <= 0) return k_hi;
    }
    if (can_down) {
      f_lo *= down(k_lo);
      --k_lo;
      u -= f_lo;
      if (u <= 0) return k_lo;
    }
    if (u == before) return m;
  }
}

// Bottom-up inversion: the smallest k with u <= f(0) + ... + f(k) = f0 S(k), where
// S(k) = 1 + R(1) + ... + R(k) and R(k) = f(k) / f(0) = ratio(0) ... ratio(k - 1); hi caps
// k. The first `unrolled` sums are made apart from f0 (their products and sums run while
// the caller's exponential is still being computed) and u / f0 is compared with all of
// them at once, so no branch depends on u there: a walk from 0 mispredicts its last step
// in most draws. Beyond them the walk goes on term by term.
//
// bottom_up's first `unrolled` sums S(0) .. S(unrolled - 1), and the last term R(unrolled - 1).
template <int unrolled, class Ratio>
void bottom_up_sums(double* sums, double& term, Ratio ratio) {
  double sum = 1;
  term = 1;
  sums[0] = 1;
#pragma GCC unroll 24
  for (int k = 1; k < unrolled; ++k) {
    term *= ratio(k - 1);
    sum += term;
    sums[k] = sum;
  }
}
// bottom_up given t = u / f0 and its first sums (bottom_up_sums). Every caller takes t as u
// times 1 / f0, the same numbers whether 1 / f0 is made for the draw or kept with a table
// (a multiplication instead of a division on the draw's dependent chain: 2.4% of a dense
// run).
template <int unrolled, class Ratio>
long long bottom_up_from(double t, const double* sums, double term, long long hi, Ratio ratio) {
  int below = 0;  // the sums below t: S never decreases, so these are S(0) .. S(below - 1)
#pragma GCC unroll 24
  for (int k = 0; k < unrolled; ++k) below += sums[k] < t;
  if (below < unrolled || hi < unrolled) return std::min<long long>(below, hi);
  double sum = sums[unrolled - 1];
  for (long long k = unrolled;; ++k) {
    const double next = term * ratio(k - 1), before = sum;
    sum += next;
    if (t <= sum || k == hi) return k;
    // Past the mode the terms only shrink: once one leaves the sum unchanged, no later one
    // changes it (u beyond the rounded total mass), so stop here.
    if (sum == before && next <= term) return k;
    term = next;
  }
}
template <int unrolled, class Ratio>
long long bottom_up(double u, long long hi, double f0, Ratio ratio) {
  double sums[unrolled], term;
  bottom_up_sums<unrolled>(sums, term, ratio);
  return bottom_up_from<unrolled>(u * (1 / f0), sums, term, hi, ratio);
}

// bottom_up with as many sums at once as the mean needs for most draws to end among them:
// 8 below mean 4, 12 below 7, 16 below 10, 20 below 14, else 24 (`BM_SmallMeanSwitch`, one
// draw alone: with 8 sums 9-11 ns up to mean 4 but 20 at mean 6 and 33-42 at 8-18, where
// most draws walked on past them; by the mean 13-27 ns from 6 to 18). Every width picks the
// same k: the sums are the same numbers.
inline constexpr int bottom_up_width(double mean) {
  return mean < 4 ? 8 : mean < 7 ? 12 : mean < 10 ? 16 : mean < 14 ? 20 : 24;
}
template <class Ratio>
long long bottom_up(double u, long long hi, double f0, double mean, Ratio ratio) {
  switch (bottom_up_width(mean)) {
    case 8: return bottom_up<8>(u, hi, f0, ratio);
    case 12: return bottom_up<12>(u, hi, f0, ratio);
    case 16: return bottom_up<16>(u, hi, f0, ratio);
    case 20: return bottom_up<20>(u, hi, f0, ratio);
    default: return bottom_up<24>(u, hi, f0, ratio);
  }
}

// f(k + 1) / f(k) of Bin(n, p), as every binomial inversion computes it (the same numbers).
struct binomial_ratio {
  double n, odds;
  binomial_ratio(long long n_, double p) : n(static_cast<double>(n_)), odds(p / (1 - p)) {}
  double operator()(long long k) const { return (n - static_cast<double>(k)) / static_cast<double>(k + 1) * odds; }
};
inline long long binomial_bottom_up(double u, long long n, double p, double f0) {
  return bottom_up(u, n, f0, static_cast<double>(n) * p, binomial_ratio(n, p));
}

inline constexpr long long poisson_bottom_up_hi = 10000;  // the walk's last k (a bound, never reached below mean 18)
inline long long poisson_bottom_up(double u, double mu, double f0) {
  return bottom_up(u, poisson_bottom_up_hi, f0, mu, [&](long long k) { return mu / static_cast<double>(k + 1); });
}

// Bottom-up inversion is used where the mean is below this; mode-outward (and in the
// count regime transformed rejection) above. With up to 24 sums at once it beats
// transformed rejection up to about here: one draw alone, 17-20 ns at means 10-12 and
// 26 at 16 against BTRS's 36-40 (benchmarks/RESULTS.md); 10 until 2026-11-29.
inline constexpr double small_mean = 18;

inline bool binomial_is_small(long long n, double p) { return p <= 0.5 && static_cast<double>(n) * p < small_mean; }

// log(k!) = log_gamma(k + 1): below log_factorial_size from a table of those very numbers
// (made once, on first use), so the mode-outward samplers' f(m) costs lookups, not three
// log_gamma calls; the bits are the same.
inline constexpr long long log_factorial_size = 1 << 15;
inline const std::vector<double>& log_factorial_table() {
  static const std::vector<double> table = [] {
    std::vector<double> t(static_cast<std::size_t>(log_factorial_size));
    for (long long k = 0; k < log_factorial_size; ++k) t[static_cast<std::size_t>(k)] = log_gamma(static_cast<double>(k) + 1);
    return t;
  }();
  return table;
}
inline double log_factorial(long long k) {
  return k < log_factorial_size ? log_factorial_table()[static_cast<std::size_t>(k)] : log_gamma(static_cast<double>(k) + 1);
}

}  // namespace detail

// Binomial(n, p). `log1p_minus_p` may pass a precomputed log1p(-p) (the same number:
// this only saves the logarithm when one p is drawn from many times).
template <class Stream>
long long binomial(Stream& s, long long n, double p, double log1p_minus_p = std::numeric_limits<double>::quiet_NaN()) {
  if (n < 0 || !(p >= 0 && p <= 1)) throw parameter_error("binomial: need n >= 0 and p in [0, 1]");
  if (n == 0 || p == 0) return 0;
  if (p == 1) return n;
  if (p > 0.5) return n - binomial(s, n, 1 - p);
  const double dn = static_cast<double>(n), odds = p / (1 - p);
  const double u = s.uniform();
  if (detail::binomial_is_small(n, p))
    return detail::binomial_bottom_up(u, n, p, std::exp(dn * (std::isnan(log1p_minus_p) ? std::log1p(-p) : log1p_minus_p)));
  const auto m = static_cast<long long>(std::floor((dn + 1) * p));
  const double dm = static_cast<double>(m);
  const double fm = std::exp(detail::log_factorial(n) - detail::log_factorial(m) - detail::log_factorial(n - m) +
                             dm * std::log(p) + (dn - dm) * (std::isnan(log1p_minus_p) ? std::log1p(-p) : log1p_minus_p));
  return detail::mode_outward(
      u, 0, n, m, fm, [&](long long k) { return (dn - static_cast<double>(k)) / static_cast<double>(k + 1) * odds; },
      [&](long long k) { return static_cast<double>(k) / ((dn - static_cast<double>(k) + 1) * odds); });
}

// Poisson(mu). `exp_minus_mu` may pass a precomputed exp(-mu) (the same number: this
// only saves the exponential when one mean is drawn from many times).
template <class Stream>
long long poisson(Stream& s, double mu, double exp_minus_mu = -1) {
  if (!(mu >= 0) || !std::isfinite(mu)) throw parameter_error("poisson: need a finite mean >= 0");
  if (mu == 0) return 0;
  const double u = s.uniform();
  if (mu < detail::small_mean) return detail::poisson_bottom_up(u, mu, exp_minus_mu >= 0 ? exp_minus_mu : std::exp(-mu));
  const auto m = static_cast<long long>(std::floor(mu));
  const double fm = std::exp(static_cast<double>(m) * std::log(mu) - mu - detail::log_factorial(m));
  return detail::mode_outward(
      u, 0, std::numeric_limits<long long>::max() / 2, m, fm,
      [&](long long k) { return mu / static_cast<double>(k + 1); },
      [&](long long k) { return static_cast<double>(k) / mu; });
}

// Binomial(n, p) and Poisson(mu) for counts drawn whole (the simulation's count regime):
// the laws of binomial() and poisson(), with other bits from mean 18, where the cost does
// not grow with the standard deviation. Below mean 18 they are binomial() and poisson()
// themselves (the same bits). From mean 18 on: transformed rejection with squeeze,
// W. Hormann, "The generation of binomial random variates", J. Statist. Comput. Simul. 46
// (1993) 101-110 (BTRS), and "The transformed rejection method for generating Poisson
// random variables", Insurance: Mathematics and Economics 12 (1993) 39-45 (PTRS): a round
// takes two uniforms and is accepted with chance ~0.8-0.9; the squeeze settles most rounds
// at large means, the pmf's logarithm (log-factorials from the table) the others.
namespace detail {

// BTRS, for p <= 1/2 and n p >= small_mean, unchecked (binomial_count checks; the
// simulation's draws call it directly). log_q: log1p(-p), or NaN to compute it.
template <class Stream>
long long binomial_btrs(Stream& s, long long n, double p, double log_q) {
  const double dn = static_cast<double>(n);
  const double spq = std::sqrt(dn * p * (1 - p));
  const double b = 1.15 + 2.53 * spq, a = -0.0873 + 0.0248 * b + 0.01 * p, c = dn * p + 0.5, v_r = 0.92 - 4.2 / b;
  // The exact test's constants: needed only in the rounds the squeeze does not settle
  // (0.38 of a draw at Bin(3000, 0.05), 0.52 at Bin(800, 0.05): the squeeze's v_r is low
  // at small means), so made on the first of them (the same numbers, so the same bits).
  double alpha = 0, log_r = 0, log_fm = 0;
  const double* table = nullptr;  // log_factorial's, when n is within it (then so are k, m, n - k, n - m)
  auto log_fact = [&](long long j) { return table ? table[j] : log_factorial(j); };
  bool exact_test_ready = false;
  for (;;) {
    const double u = s.uniform() - 0.5, v = s.uniform(), us = 0.5 - std::abs(u);
    // k = floor(x), kept when 0 <= k <= n, i.e. 0 <= x < n + 1, where truncation is the
    // floor: the same k as std::floor, without its 17 instructions on baseline x86-64.
    const double x = (2 * a / us + b) * u + c;
    if (!(x >= 0 && x < dn + 1)) continue;
    const auto k = static_cast<long long>(x);
    const double kd = static_cast<double>(k);
    if (us >= 0.07 && v <= v_r) return k;
    if (!exact_test_ready) {
      if (std::isnan(log_q)) log_q = std::log1p(-p);
      if (n < log_factorial_size) table = log_factorial_table().data();
      const auto m = static_cast<long long>(std::floor((dn + 1) * p));
      alpha = (2.83 + 5.1 / b) * spq;
      log_r = std::log(p) - log_q;
      log_fm = -log_fact(m) - log_fact(n - m) + static_cast<double>(m) * log_r;
      exact_test_ready = true;
    }
    // log f(k) / f(m), the hat's height at us against it
    const double log_fk = -log_fact(k) - log_fact(n - k) + kd * log_r;
    if (std::log(v * alpha / (a / (us * us) + b)) <= log_fk - log_fm) return k;
  }
}

// PTRS, for mu >= small_mean, unchecked (poisson_count checks).
template <class Stream>
long long poisson_ptrs(Stream& s, double mu) {
  const double slam = std::sqrt(mu);
  const double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b, v_r = 0.9277 - 3.6224 / (b - 2);
  // As in binomial_btrs: the exact test's constants on the first round that needs them.
  double log_mu = 0, log_inv_alpha = 0;
  bool exact_test_ready = false;
  for (;;) {
    const double u = s.uniform() - 0.5, v = s.uniform(), us = 0.5 - std::abs(u);
    const double x = (2 * a / us + b) * u + mu + 0.43;  // k = floor(x), by truncation as in binomial_btrs
    if (!(x >= 0)) continue;
    const auto k = static_cast<long long>(x);
    const double kd = static_cast<double>(k);
    if (us >= 0.07 && v <= v_r) return k;
    if (us < 0.013 && v > us) continue;
    if (!exact_test_ready) {
      log_mu = std::log(mu);
      log_inv_alpha = std::log(1.1239 + 1.1328 / (b - 3.4));
      exact_test_ready = true;
    }
    if (std::log(v) + log_inv_alpha - std::log(a / (us * us) + b) <= -mu + kd * log_mu - log_factorial(k)) return k;
  }
}

// binomial_count and poisson_count without their checks, for callers that made them (the
// simulation's draws, checked at setup): inversion below small_mean, as binomial() and
// poisson() draw it, else BTRS or PTRS.
template <class Stream>
long long binomial_count_unchecked(Stream& s, long long n, double p, double log1p_minus_p) {
  if (p > 0.5 && p < 1) return n - binomial_count_unchecked(s, n, 1 - p, std::numeric_limits<double>::quiet_NaN());
  if (n == 0 || p == 0) return 0;
  if (p == 1) return n;
  const double dn = static_cast<double>(n);
  if (binomial_is_small(n, p))
    return binomial_bottom_up(s.uniform(), n, p, std::exp(dn * (std::isnan(log1p_minus_p) ? std::log1p(-p) : log1p_minus_p)));
  return binomial_btrs(s, n, p, log1p_minus_p);
}

template <class Stream>
long long poisson_count_unchecked(Stream& s, double mu, double exp_minus_mu) {
  if (mu == 0) return 0;
  if (mu < small_mean) return poisson_bottom_up(s.uniform(), mu, exp_minus_mu >= 0 ? exp_minus_mu : std::exp(-mu));
  return poisson_ptrs(s, mu);
}

}  // namespace detail

template <class Stream>
long long binomial_count(Stream& s, long long n, double p, double log1p_minus_p = std::numeric_limits<double>::quiet_NaN()) {
  if (n < 0 || !(p >= 0 && p <= 1)) throw parameter_error("binomial: need n >= 0 and p in [0, 1]");
  return detail::binomial_count_unchecked(s, n, p, log1p_minus_p);
}

template <class Stream>
long long poisson_count(Stream& s, double mu, double exp_minus_mu = -1) {
  if (!(mu >= 0) || !std::isfinite(mu)) throw parameter_error("poisson: need a finite mean >= 0");
  return detail::poisson_count_unchecked(s, mu, exp_minus_mu);
}

// Draws given that the outcome is not 0, for a caller that has already spent a uniform
// u in (f0, 1) on deciding "not 0", where f0 = P(0) as the caller computed it (the same
// number the sampler would). Small means continue the bottom-up inversion with that u,
// which is exactly inversion of the conditional law; otherwise (where P(0) < e^-10, or
// the binomial's p > 1/2) fresh draws from `s` are rejected while 0.
template <class Stream>
long long binomial_positive(Stream& s, double u, long long n, double p, double f0) {
  if (detail::binomial_is_small(n, p)) return detail::binomial_bottom_up(u, n, p, f0);
  for (;;)
    if (const auto k = binomial(s, n, p); k > 0) return k;
}

template <class Stream>
long long poisson_positive(Stream& s, double u, double mu, double f0) {
  if (mu < detail::small_mean) return detail::poisson_bottom_up(u, mu, f0);
  for (;;)
    if (const auto k = poisson(s, mu); k > 0) return k;
}

namespace detail {

// Inversion from a table of partial sums S(k) = 1 + R(1) + ... + R(k), R(k) = f(k) / f(0),
// made once as bottom_up makes them (so that every u gives bottom_up's k), for a law drawn
// many times: the smallest k with u / f(0) <= S(k). The table is entered through a guide
// table (H. C. Chen and Y. Asau, "On generating random variates from an empirical
// distribution", AIIE Transactions 6 (1974) 163-166): for u in [j/G, (j+1)/G) that k is at
// least guide[j], and is among the next four sums in almost every draw (compared at once,
// as bottom_up does: no branch on u).
class inversion_table {
 public:
  inversion_table() = default;  // no table: empty() is true
  // f0 = f(0); ratio(k) = f(k + 1) / f(k); `mean` sets bottom_up's width; hi caps k.
  template <class Ratio>
  inversion_table(double f0, double mean, long long hi, Ratio ratio) : inv_f0_(1 / f0) {
    make_sums(bottom_up_width(mean), hi, ratio);
    make_guide();
  }
  bool empty() const { return sums_.empty(); }
  std::size_t bytes() const { return sums_.capacity() * sizeof(double); }

  long long draw(double u) const {
    const double t = u * inv_f0_;
    const std::size_t g = guide_[static_cast<std::size_t>(u * static_cast<double>(guide_cells))];
    const double* s = &sums_[g];
    std::size_t k = g + (s[0] < t) + (s[1] < t) + (s[2] < t) + (s[3] < t);
    if (s[3] < t)
      while (sums_[k] < t) ++k;
    return static_cast<long long>(k);
  }

 private:
  static constexpr std::size_t guide_cells = 128;
  static constexpr double beyond = std::numeric_limits<double>::infinity();

  // The sums to the K at which bottom_up stops (past its first `width` sums, where a term
  // leaves the sum unchanged on the way down from the mode, or at hi) and returns K
  // whatever u: S(K) is stored as infinity, and so are the three slots after it, read by
  // draw. Terms as bottom_up makes them, so the same numbers.
  template <class Ratio>
  void make_sums(int width, long long hi, Ratio ratio) {
    double term = 1, sum = 1;
    sums_.push_back(sum);
    for (long long k = 1; k <= hi; ++k) {
      const double next = term * ratio(k - 1), before = sum;
      sum += next;
      if (k == hi || (k >= width && sum == before && next <= term)) break;
      sums_.push_back(sum);
      term = next;
    }
    sums_.insert(sums_.end(), 4, beyond);
  }
  // guide[j]: the smallest k with S(k) >= (j / G) / f(0), which no u >= j / G is below
  // (the product rounds monotonically).
  void make_guide() {
    std::size_t k = 0;
    for (std::size_t j = 0; j < guide_cells; ++j) {
      const double t = static_cast<double>(j) / static_cast<double>(guide_cells) * inv_f0_;
      while (sums_[k] < t) ++k;
      guide_[j] = static_cast<std::uint16_t>(k);
    }
  }

  double inv_f0_ = 0;  // 1 / f(0)
  std::vector<double> sums_;
  std::array<std::uint16_t, guide_cells> guide_{};
};

}  // namespace detail

// Poisson(mu), drawn many times with one mean (the simulation's arrivals where the rate
// changes neither by month nor by path): poisson_bottom_up's inversion from a table of its
// partial sums (detail::inversion_table), made once, instead of making them at every draw.
// Every u gives poisson_bottom_up's k: below mean 18 the bits of poisson() and
// poisson_count(); above, the same law by inversion (poisson_count draws PTRS there).
class poisson_table {
 public:
  // The sums run to about mean + 9 standard deviations (~420 at this mean: 3.4 KB).
  static constexpr double max_mean = 256;

  poisson_table() = default;  // no table: operator bool is false
  explicit poisson_table(double mu)
      : mean_(check(mu)),
        table_(std::exp(-mu), mu, detail::poisson_bottom_up_hi, [mu](long long k) { return mu / static_cast<double>(k + 1); }) {}
  explicit operator bool() const { return !table_.empty(); }
  double mean() const { return mean_; }
  // The k of u in (0, 1).
  long long draw(double u) const { return table_.draw(u); }
  template <class Stream>
  long long operator()(Stream& s) const {
    return draw(s.uniform());
  }

 private:
  static double check(double mu) {
    if (!(mu > 0 && mu <= max_mean)) throw parameter_error("poisson_table: need a mean in (0, 256]");
    return mu;
  }
  double mean_ = 0;
  detail::inversion_table table_;
};

// Binomial(n, p) for one p and many n (the simulation's large stocks, whose size changes
// from month to month and path to path, so that no one table serves them): with L people
// a rung (L p = rung_mean), n = j L + r is drawn as Bin(j L, p) by inversion from a table
// made on the first draw at rung j (as bottom-up inversion would draw it), plus Bin(r, p)
// by bottom-up inversion (mean below rung_mean; (1 - p)^r from a table too): the law of
// Bin(n, p), as independent binomials of one p add up. 12-17 ns a draw at means 4-250
// against 15-36 for binomial_count (BM_BinomialLadder; rungs of mean 8 were 1-2 ns slower,
// of mean 2 no faster). Below the first rung (n p < rung_mean) a draw is binomial_count's,
// bit for bit; above max_mean (where the tables would grow long and (1 - p)^n underflow)
// it is binomial_count's BTRS. A draw depends on (n, p) and its uniforms only, never on
// which rungs were made before: the same bits however the draws are spread over ladders,
// batches and threads. p in (0, 1/2].
class binomial_ladder {
 public:
  static constexpr double rung_mean = 4, max_mean = 256;

  // log1p_minus_p: log1p(-p), as the caller has it (the same number).
  binomial_ladder(double p, double log1p_minus_p) : p_(check(p)), log_q_(log1p_minus_p), step_(static_cast<long long>(rung_mean / p)) {}

  template <class Stream>
  long long operator()(Stream& s, long long n) {
    if (n < 0) throw parameter_error("binomial_ladder: need n >= 0");
    if (static_cast<double>(n) * p_ > max_mean) return detail::binomial_count_unchecked(s, n, p_, log_q_);
    const long long j = n / step_;
    long long k = j ? rung(j).draw(s.uniform()) : 0;
    if (const long long r = n - j * step_) k += remainder(s.uniform(), r);
    return k;
  }
  // The memory its tables take.
  std::size_t bytes() const {
    std::size_t b = rungs_.capacity() * sizeof(detail::inversion_table) + rows_.capacity() * sizeof(row);
    for (const auto& t : rungs_) b += t.bytes();
    return b;
  }
  // Forgets its tables (made again when needed: the same numbers).
  void clear() {
    std::vector<detail::inversion_table>().swap(rungs_);  // their memory too, not only their size
    std::vector<row>().swap(rows_);
  }

 private:
  static double check(double p) {
    if (!(p > 0 && p <= 0.5)) throw parameter_error("binomial_ladder: need p in (0, 1/2]");
    return p;
  }
  // Rung j's table, made on first use (j <= max_mean / rung_mean + 1 = 65).
  const detail::inversion_table& rung(long long j) {
    const auto i = static_cast<std::size_t>(j);
    return i < rungs_.size() && !rungs_[i].empty() ? rungs_[i] : make_rung(i);
  }
  [[gnu::noinline]] const detail::inversion_table& make_rung(std::size_t i) {
    if (i >= rungs_.size()) rungs_.resize(i + 1);
    const long long m = static_cast<long long>(i) * step_;
    rungs_[i] = detail::inversion_table(std::exp(static_cast<double>(m) * log_q_), static_cast<double>(m) * p_, m,
                                        detail::binomial_ratio(m, p_));
    return rungs_[i];
  }

  // Bin(r, p) for r < step_ (mean below rung_mean: bottom_up's width 8), by bottom-up
  // inversion from row r: (1 - p)^r and the first sums, made on the first draw with that r
  // as binomial_bottom_up makes them, so the same k for every u.
  static constexpr int row_width = 8;
  static_assert(rung_mean <= 4, "a remainder's mean, below rung_mean, is where bottom_up compares 8 sums");
  struct row {
    double inv_f0 = 0, term = 0;  // 1 / (1 - p)^r; 0: not made yet
    double sums[row_width];
  };
  // Rows are kept for a window of r (the remainders a stock's draws see cluster: at most
  // rows_kept of them, 320 KB); one outside it is made for the draw alone (the same numbers).
  static constexpr long long rows_kept = 4096;
  long long remainder(double u, long long r) {
    const long long i = r - rows_lo_;
    if (i >= 0 && i < static_cast<long long>(rows_.size()) && rows_[static_cast<std::size_t>(i)].inv_f0 != 0)
      return draw_from(rows_[static_cast<std::size_t>(i)], u, r);
    return draw_from(made_row(r), u, r);
  }
  long long draw_from(const row& w, double u, long long r) const {
    return detail::bottom_up_from<row_width>(u * w.inv_f0, w.sums, w.term, r, detail::binomial_ratio(r, p_));
  }
  void make_row(row& w, long long r) const {
    w.inv_f0 = 1 / std::exp(static_cast<double>(r) * log_q_);
    detail::bottom_up_sums<row_width>(w.sums, w.term, detail::binomial_ratio(r, p_));
  }
  // Row r, made and kept when the window can take it, else made into scratch_.
  [[gnu::noinline]] const row& made_row(long long r) {
    if (rows_.empty()) rows_lo_ = r;
    const auto size = static_cast<long long>(rows_.size());
    long long lo = std::min(rows_lo_, r);
    // Downwards by at least half the window (a shrinking stock would move it row by row).
    if (lo < rows_lo_) lo = std::max(0LL, std::min(lo, rows_lo_ - std::max(8LL, size / 2)));
    const long long hi = std::max(rows_lo_ + size, r + 1);
    if (hi - lo > rows_kept) {
      make_row(scratch_, r);
      return scratch_;
    }
    if (lo < rows_lo_) rows_.insert(rows_.begin(), static_cast<std::size_t>(rows_lo_ - lo), row{});
    rows_lo_ = lo;
    rows_.resize(static_cast<std::size_t>(hi - lo));
    auto& w = rows_[static_cast<std::size_t>(r - lo)];
    make_row(w, r);
    return w;
  }
  double p_, log_q_;
  long long step_;
  std::vector<detail::inversion_table> rungs_;
  std::vector<row> rows_;  // rows_[i]: remainder rows_lo_ + i
  long long rows_lo_ = 0;
  row scratch_;
};

namespace detail {

// The ziggurat of the exponential density e^-x (G. Marsaglia and W. W. Tsang, "The
// ziggurat method for generating random variables", J. Statist. Software 5(8), 2000):
// 256 strips of equal area v, strip i spanning [0, x[i]] between heights f[i] = e^-x[i]
// and f[i + 1]; strip 0 (pseudo-width x[0] = v / f(r)) is the rectangle [0, r] x [0, f(r)]
// and the tail beyond r. r and v are the paper's; the strips' edges are made from them.
struct exponential_ziggurat {
  static constexpr double r = 7.69711747013104972, v = 3.949659822581572e-3;
  std::array<double, 257> x{}, f{};
  exponential_ziggurat() {
    x[0] = v / std::exp(-r);
    x[1] = r;
    for (std::size_t i = 1; i < 255; ++i) x[i + 1] = -std::log(std::exp(-x[i]) + v / x[i]);
    x[256] = 0;
    for (std::size_t i = 0; i < 257; ++i) f[i] = std::exp(-x[i]);
  }
};
inline const exponential_ziggurat exponential_strips;

}  // namespace detail

// Exp(1) by the ziggurat: one 64-bit number in ~99% of draws (8 bits pick a strip, 53
// place the point in it; accepted when it lies left of the strip above), no logarithm;
// the rest test the point against the curve, or draw the tail as r + Exp(1). Exact, as
// -log(U) is: the race's budget (src/simulate_step.hpp) after each event.
template <class Stream>
double exponential(Stream& s) {
  const auto& z = detail::exponential_strips;
  for (;;) {
    const std::uint64_t bits = s.next_u64();
    const auto i = static_cast<std::size_t>(bits & 0xFF);
    const double x = (static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53 * z.x[i];  // uniform on (0, x[i])
    if (x < z.x[i + 1]) return x;
    if (i == 0) return detail::exponential_ziggurat::r - std::log(s.uniform());
    if (z.f[i] + s.uniform() * (z.f[i + 1] - z.f[i]) < std::exp(-x)) return x;
  }
}

// Standard normal by the Box-Muller transform (one value per two uniforms).
template <class Stream>
double normal(Stream& s) {
  const double u1 = s.uniform(), u2 = s.uniform();
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
}

// Gamma(shape, scale) by Marsaglia & Tsang, "A simple method for generating gamma
// variables", ACM TOMS 26 (2000); shape < 1 through Gamma(shape + 1) x U^(1/shape).
template <class Stream>
double gamma(Stream& s, double shape, double scale) {
  if (!(shape > 0) || !(scale > 0) || !std::isfinite(shape) || !std::isfinite(scale))
    throw parameter_error("gamma: shape and scale must be finite and > 0");
  if (shape < 1) {
    const double g = gamma(s, shape + 1, scale);
    return g * std::pow(s.uniform(), 1 / shape);
  }
  const double d = shape - 1.0 / 3, c = 1 / std::sqrt(9 * d);
  for (;;) {
    double x, v;
    do {
      x = normal(s);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = s.uniform();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v * scale;
    if (std::log(u) < 0.5 * x * x + d * (1 - v + std::log(v))) return d * v * scale;
  }
}

// log X for X ~ Gamma(shape, 1), shape < 1: log Gamma(shape + 1) + log(U) / shape, which
// stays finite where X itself underflows to 0 (shape 1e-13: X = G U^(1e13)).
template <class Stream>
double log_gamma_small_shape(Stream& s, double shape) {
  const double g = gamma(s, shape + 1, 1);
  return std::log(g) + std::log(s.uniform()) / shape;
}

// Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). With a shape below 1 the
// ratio is taken in logs, 1 / (1 + exp(log Y - log X)): for shapes near 0 (a fit's prior
// where pooling found no information, Beta(1e-13 m, 1e-13 (1 - m))) both gammas may
// underflow to 0, and the draw is then 0 or 1 with chances 1 - m and m, not 0 / 0.
template <class Stream>
double beta(Stream& s, double a, double b) {
  if (a >= 1 && b >= 1) {
    const double x = gamma(s, a, 1), y = gamma(s, b, 1);
    return x / (x + y);
  }
  if (!(a > 0) || !(b > 0) || !std::isfinite(a) || !std::isfinite(b))
    throw parameter_error("beta: both shapes must be finite and > 0");
  const double log_x = a < 1 ? log_gamma_small_shape(s, a) : std::log(gamma(s, a, 1));
  const double log_y = b < 1 ? log_gamma_small_shape(s, b) : std::log(gamma(s, b, 1));
  return 1 / (1 + std::exp(log_y - log_x));
}

}  // namespace memberflow::random
