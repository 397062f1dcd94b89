// The random numbers of the simulation engine (random.hpp): Philox-4x64-10 against the
// published known-answer vectors, the stream layout, the uniform's open interval, pinned
// draws of every sampler, chi-square tests of the binomial and Poisson samplers against
// their pmfs on both sides of each algorithm switch (mean detail::small_mean = 18, the
// bottom-up inversion's widths at 4, 7, 10 and 14; p = 1/2 for the binomial),
// moments of gamma, beta and normal, and termination at the extreme uniforms.
//
// Thresholds are derived, never tuned: a chi-square statistic is held to the 0.999
// quantile of its distribution (Wilson-Hilferty), a mean to 5 standard errors.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "statistics.hpp"
#include "memberflow/random.hpp"

using namespace memberflow;
using random::stream;

namespace {

using mf_test::chi_square_quantile;
using mf_test::chi_square_result;
using mf_test::counts;
using mf_test::normal_upper_quantile;

using words = std::array<std::uint64_t, 4>;

words philox(words ctr, std::array<std::uint64_t, 2> key) {
  const auto r = stream::philox()(stream::philox::ctr_type{{ctr[0], ctr[1], ctr[2], ctr[3]}},
                                  stream::philox::key_type{{key[0], key[1]}});
  return {r[0], r[1], r[2], r[3]};
}




// Observed counts against a pmf given on [lo, hi] by a function (see statistics.hpp).
chi_square_result chi_square(const counts& observed, long long n, long long lo, long long hi,
                             const std::function<double(long long)>& pmf) {
  return mf_test::chi_square(observed, n, mf_test::tabulate(lo, hi, pmf));
}

// Reference pmfs written here from their formulas (log-space, lgamma).
double binomial_pmf_at(long long n, double p, long long k) {
  if (k < 0 || k > n) return 0;
  const double dn = static_cast<double>(n), dk = static_cast<double>(k);
  return std::exp(std::lgamma(dn + 1) - std::lgamma(dk + 1) - std::lgamma(dn - dk + 1) + dk * std::log(p) +
                  (dn - dk) * std::log1p(-p));
}
double poisson_pmf_at(double mu, long long k) {
  if (k < 0) return 0;
  const double dk = static_cast<double>(k);
  return std::exp(dk * std::log(mu) - mu - std::lgamma(dk + 1));
}

constexpr long long draws = 100000;

template <class Draw>
std::map<long long, long long> histogram_of(Draw draw, long long times = draws) {
  std::map<long long, long long> h;
  for (long long i = 0; i < times; ++i) ++h[draw()];
  return h;
}

chi_square_result binomial_chi_square(long long n, double p, std::uint64_t id, double p_reference, bool count = false) {
  stream s(20210201, id, 7, 0);
  const auto h = histogram_of([&] { return count ? random::binomial_count(s, n, p) : random::binomial(s, n, p); });
  const double mean = static_cast<double>(n) * p_reference, sd = std::sqrt(mean * (1 - p_reference));
  const auto lo = std::max(0LL, static_cast<long long>(std::floor(mean - 12 * sd - 2)));
  const auto hi = std::min(n, static_cast<long long>(std::ceil(mean + 12 * sd + 2)));
  return chi_square(h, draws, lo, hi, [&](long long k) { return binomial_pmf_at(n, p_reference, k); });
}

chi_square_result poisson_chi_square(double mu, std::uint64_t id, double mu_reference, bool count = false) {
  stream s(20210201, id, 8, 0);
  const auto h = histogram_of([&] { return count ? random::poisson_count(s, mu) : random::poisson(s, mu); });
  const double sd = std::sqrt(mu_reference);
  const auto lo = std::max(0LL, static_cast<long long>(std::floor(mu_reference - 12 * sd - 2)));
  const auto hi = static_cast<long long>(std::ceil(mu_reference + 14 * sd + 12));
  return chi_square(h, draws, lo, hi, [&](long long k) { return poisson_pmf_at(mu_reference, k); });
}

// A stream that always returns the same uniform: drives a sampler to one value of U.
struct fixed_uniform {
  double u;
  double uniform() const { return u; }
};

// Runs f on its own thread and returns its value, or nothing if it has not returned
// within `seconds` (the thread is then left behind, detached, owning all it uses: a
// sampler that never returns must fail the test, not hang it).
template <class F>
std::optional<long long> value_within(double seconds, F f) {
  auto result = std::make_shared<std::promise<long long>>();
  auto fut = result->get_future();
  std::thread([f, result] { result->set_value(f()); }).detach();
  if (fut.wait_for(std::chrono::duration<double>(seconds)) != std::future_status::ready) return std::nullopt;
  return fut.get();
}

// Raw moments E[X^k], k = 1..4, and the standard errors of a sample mean and sample
// variance of `n` draws: Var(mean) = s2 / n, Var(s2) ~ (mu4 - s2^2) / n.
struct moments {
  double mean, var, se_mean, se_var;
};
moments from_raw(const std::array<double, 4>& m, double n) {
  const double mu = m[0], var = m[1] - mu * mu;
  const double mu4 = m[3] - 4 * mu * m[2] + 6 * mu * mu * m[1] - 3 * mu * mu * mu * mu;
  return {mu, var, std::sqrt(var / n), std::sqrt((mu4 - var * var) / n)};
}

template <class Draw>
std::pair<double, double> sample_mean_var(Draw draw, long long n) {
  // Welford, in long double for the huge-shape beta whose variance is ~1e-8.
  long double mean = 0, m2 = 0;
  for (long long i = 1; i <= n; ++i) {
    const long double x = draw(), d = x - mean;
    mean += d / static_cast<long double>(i);
    m2 += d * (x - mean);
  }
  return {static_cast<double>(mean), static_cast<double>(m2 / static_cast<long double>(n - 1))};
}

}  // namespace

TEST_CASE("Philox-4x64-10 reproduces the published known-answer vectors", "[random]") {
  // Random123 distribution (D. E. Shaw Research), file examples/kat_vectors, lines
  // "philox 4 64 10"; Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy
  // as 1, 2, 3", SC'11.
  REQUIRE(philox({0, 0, 0, 0}, {0, 0}) ==
          words{0x16554d9eca36314cULL, 0xdb20fe9d672d0fdcULL, 0xd7e772cee186176bULL, 0x7e68b68aec7ba23bULL});
  const std::uint64_t ones = 0xffffffffffffffffULL;
  REQUIRE(philox({ones, ones, ones, ones}, {ones, ones}) ==
          words{0x87b092c3013fe90bULL, 0x438c3c67be8d0224ULL, 0x9cc7d7c69cd777b6ULL, 0xa09caebf594f0ba0ULL});
  REQUIRE(philox({0x243f6a8885a308d3ULL, 0x13198a2e03707344ULL, 0xa4093822299f31d0ULL, 0x082efa98ec4e6c89ULL},
                 {0x452821e638d01377ULL, 0xbe5466cf34e90c6cULL}) ==
          words{0xa528f45403e61d95ULL, 0x38c72dbd566e9788ULL, 0xa5a1610e72fd18b5ULL, 0x57bd43b5e52b7fe6ULL});
}

TEST_CASE("A stream is Philox of (path, unit, month, block) keyed by (seed, domain), four words a block",
          "[random]") {
  const std::uint64_t seed = 0x243f6a8885a308d3ULL, path = 12345, unit = 678, month = 9, domain = 2;
  stream s(seed, path, unit, month, domain);
  for (std::uint64_t block = 0; block < 3; ++block) {
    const auto expected = philox({path, unit, month, block}, {seed, domain});
    for (int w = 0; w < 4; ++w) REQUIRE(s.next_u64() == expected[static_cast<std::size_t>(w)]);
  }
  // The default domain is 0; every counter and the seed change the words.
  REQUIRE(stream(seed, path, unit, month).next_u64() == philox({path, unit, month, 0}, {seed, 0})[0]);
  const auto first = stream(seed, path, unit, month, domain).next_u64();
  REQUIRE(stream(seed + 1, path, unit, month, domain).next_u64() != first);
  REQUIRE(stream(seed, path + 1, unit, month, domain).next_u64() != first);
  REQUIRE(stream(seed, path, unit + 1, month, domain).next_u64() != first);
  REQUIRE(stream(seed, path, unit, month + 1, domain).next_u64() != first);
  REQUIRE(stream(seed, path, unit, month, domain + 1).next_u64() != first);
}

TEST_CASE("uniform() is the top 52 bits centred in their cell: strictly inside (0, 1)", "[random]") {
  // The extreme words: the cell centres next to 0 and 1 are exact doubles.
  REQUIRE(stream::to_uniform(0) == 0x1.0p-53);
  REQUIRE(stream::to_uniform(0xfffULL) == 0x1.0p-53);  // the low 12 bits are dropped
  REQUIRE(stream::to_uniform(~0ULL) == 1 - 0x1.0p-53);
  REQUIRE(stream::to_uniform(~0ULL) < 1.0);
  REQUIRE(stream::to_uniform(1ULL << 63) == 0.5 + 0x1.0p-53);
  REQUIRE(stream::to_uniform((1ULL << 63) - 1) == 0.5 - 0x1.0p-53);
  // Every cell centre is exact: (to_uniform(w) - 2^-53) * 2^52 is the integer w >> 12.
  stream words_stream(1, 2, 3, 4);
  for (int i = 0; i < 10000; ++i) {
    const auto w = words_stream.next_u64();
    const double u = stream::to_uniform(w);
    REQUIRE(u > 0);
    REQUIRE(u < 1);
    REQUIRE((u - 0x1.0p-53) * 0x1.0p52 == static_cast<double>(w >> 12));
  }
  // uniform() is to_uniform of the next word.
  stream a(5, 6, 7, 8), b(5, 6, 7, 8);
  for (int i = 0; i < 100; ++i) REQUIRE(a.uniform() == stream::to_uniform(b.next_u64()));
  // A million uniforms: all inside (0, 1), mean 1/2 within 5 standard errors, and a
  // chi-square over 100 equal cells.
  stream s(20210201, 0, 0, 0);
  const long long n = 1000000;
  std::map<long long, long long> cells;
  double sum = 0;
  bool inside = true;
  for (long long i = 0; i < n; ++i) {
    const double u = s.uniform();
    inside = inside && u > 0 && u < 1;
    sum += u;
    ++cells[static_cast<long long>(u * 100)];
  }
  REQUIRE(inside);
  REQUIRE(std::abs(sum / n - 0.5) <= 5 * std::sqrt(1.0 / 12 / n));
  const auto r = chi_square(cells, n, 0, 99, [](long long) { return 0.01; });
  INFO(r.describe());
  REQUIRE(r.dof == 99);
  REQUIRE(r.statistic < r.threshold);
}

TEST_CASE("The samplers' first draws are pinned", "[random]") {
  // These numbers were computed once by this code (after the fixes of issue 4) and are
  // written here to pin memberflow's definition of every sampler: a change to the
  // generator, the uniform or a sampler's algorithm changes them, and must be deliberate
  // (it changes every simulation's result for a given seed).
  stream s(20210201, 1, 2, 3);
  std::vector<double> uniforms;
  for (int i = 0; i < 4; ++i) uniforms.push_back(s.uniform());
  REQUIRE(uniforms ==
          std::vector<double>{0x1.be31e29819b12p-2, 0x1.63f25e791ab56p-2, 0x1.7a488608b30cp-7, 0x1.7da6c42370c3bp-1});
  auto take = [](int k, auto draw) {
    std::vector<long long> out;
    for (int i = 0; i < k; ++i) out.push_back(draw());
    return out;
  };
  stream b(20210201, 1, 2, 3, 1);
  REQUIRE(take(8, [&] { return random::binomial(b, 20, 0.3); }) == std::vector<long long>{2, 7, 5, 7, 5, 8, 3, 6});
  REQUIRE(take(8, [&] { return random::binomial(b, 20, 0.7); }) ==
          std::vector<long long>{16, 13, 13, 16, 16, 15, 15, 10});
  REQUIRE(take(8, [&] { return random::binomial(b, 1000, 0.3); }) ==
          std::vector<long long>{298, 322, 291, 304, 300, 345, 319, 308});
  REQUIRE(take(8, [&] { return random::binomial(b, 100000, 0.999); }) ==
          std::vector<long long>{99900, 99896, 99889, 99905, 99898, 99896, 99905, 99903});
  stream p(20210201, 1, 2, 3, 2);
  REQUIRE(take(8, [&] { return random::poisson(p, 3.5); }) == std::vector<long long>{4, 4, 5, 1, 3, 1, 1, 1});
  REQUIRE(take(8, [&] { return random::poisson(p, 55.5); }) == std::vector<long long>{64, 49, 53, 57, 59, 54, 52, 61});
  REQUIRE(take(8, [&] { return random::poisson(p, 1000); }) ==
          std::vector<long long>{991, 1048, 997, 991, 1012, 1040, 993, 1022});
  // Means between 10 and 18, bottom-up inversion with 20 and 24 sums at once (pinned when
  // the switch to mode-outward inversion moved from mean 10 to 18).
  stream w(20210201, 1, 2, 3, 4);
  REQUIRE(take(8, [&] { return random::binomial(w, 40, 0.3); }) == std::vector<long long>{8, 13, 15, 15, 8, 12, 14, 8});
  REQUIRE(take(8, [&] { return random::poisson(w, 15.5); }) == std::vector<long long>{17, 11, 22, 11, 10, 18, 8, 17});
  // Gamma, beta and normal go through log, cos and pow, whose last bit may differ
  // between C libraries: pinned to 1e-12 relative.
  stream g(20210201, 1, 2, 3, 3);
  const std::vector<double> gammas{random::gamma(g, 0.5, 2.0), random::gamma(g, 2.5, 1.0), random::gamma(g, 30, 0.1)};
  const std::vector<double> betas{random::beta(g, 2, 6), random::beta(g, 0.5, 0.5)};
  const double normal = random::normal(g);
  const std::vector<double> pinned_gammas{0.1305678180049033, 3.5342957648878706, 3.1996493394383818};
  const std::vector<double> pinned_betas{0.2797345682157743, 0.70055264049795429};
  for (std::size_t i = 0; i < gammas.size(); ++i) REQUIRE(gammas[i] == Catch::Approx(pinned_gammas[i]).epsilon(1e-12));
  for (std::size_t i = 0; i < betas.size(); ++i) REQUIRE(betas[i] == Catch::Approx(pinned_betas[i]).epsilon(1e-12));
  REQUIRE(normal == Catch::Approx(-0.8399030529723972).epsilon(1e-12));
}

TEST_CASE("The binomial sampler matches the binomial pmf on both sides of each switch", "[random]") {
  // Below n p = 18 (detail::small_mean): bottom-up inversion, 8 to 24 sums at once by the
  // mean (switching at 4, 7, 10, 14); from 18 on: mode-outward inversion; p > 1/2 is drawn
  // as n minus a binomial with 1 - p. Cases on either side of each switch, and n from 1
  // to 10^5.
  struct binomial_case {
    long long n;
    double p;
  };
  const std::vector<binomial_case> cases{
      {1, 0.5},          {3, 0.9},        {20, 0.3},       {20, 0.7},        {100, 0.0999},       {100, 0.1},
      {100, 0.9001},     {40, 0.3},       {40, 0.7},       {1000, 0.5},      {100000, 9.99e-5},   {100000, 0.3},
      {100000, 0.99991}, {100000, 0.9999}, {100000, 0.5},  {7, 0.999999},  {100, 0.0399},       {100, 0.04},
      {100, 0.0699},     {100, 0.07},     {100, 0.1399},   {100, 0.14},      {100, 0.1799},       {100, 0.18},
      {36, 0.5},         {100, 0.8201}};
  std::uint64_t id = 0;
  for (const auto& c : cases) {
    const auto r = binomial_chi_square(c.n, c.p, id++, c.p);
    INFO("Binomial(" << c.n << ", " << c.p << "): " << r.describe());
    REQUIRE(r.statistic < r.threshold);
  }
}

TEST_CASE("binomial_count and poisson_count (BTRS, PTRS from mean 18) match their pmfs", "[random]") {
  // Below mean 18 (detail::small_mean) they are binomial() and poisson(), bit for bit;
  // from 18 on transformed rejection, on both sides of the switch, p > 1/2 as n minus a
  // count with 1 - p, means up to 10^5.
  const std::vector<std::pair<long long, double>> binomials{
      {100, 0.0999}, {100, 0.1},  {100, 0.9001},   {40, 0.3},      {40, 0.7},     {1000, 0.5},
      {3500, 0.05},  {800, 0.02}, {100000, 0.3},   {100000, 0.99}, {2000000, 0.01}, {25, 0.45},
      {100, 0.1799}, {100, 0.18}, {100, 0.8201},   {36, 0.5}};
  std::uint64_t id = 200;
  for (const auto& [n, p] : binomials) {
    const auto r = binomial_chi_square(n, p, id++, p, true);
    INFO("binomial_count(" << n << ", " << p << "): " << r.describe());
    REQUIRE(r.statistic < r.threshold);
  }
  for (double mu : {3.5, 9.999999, 10.0, 10.5, 16.0, 17.999999, 18.0, 18.5, 30.0, 55.5, 1000.0, 1e5}) {
    const auto r = poisson_chi_square(mu, id++, mu, true);
    INFO("poisson_count(" << mu << "): " << r.describe());
    REQUIRE(r.statistic < r.threshold);
  }
  // Power: the same draws against a mean 3% off (1% at the large ones).
  for (const auto& [n, p] : std::vector<std::pair<long long, double>>{{40, 0.3}, {3500, 0.05}}) {
    const auto r = binomial_chi_square(n, p, 300, p * 1.03, true);
    INFO("binomial_count(" << n << ", " << p << ") against a perturbed pmf: " << r.describe());
    REQUIRE(r.statistic > r.threshold);
  }
  for (double mu : {16.0, 1000.0}) {
    const auto r = poisson_chi_square(mu, 301, mu * (mu > 100 ? 1.01 : 1.03), true);
    INFO("poisson_count(" << mu << ") against a perturbed pmf: " << r.describe());
    REQUIRE(r.statistic > r.threshold);
  }
  // Below mean 18: the inversions' bits.
  stream a(5, 6, 7, 8), b(5, 6, 7, 8);
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(random::binomial_count(a, 30, 0.2) == random::binomial(b, 30, 0.2));
    REQUIRE(random::binomial_count(a, 100, 0.15) == random::binomial(b, 100, 0.15));
    REQUIRE(random::poisson_count(a, 4.5) == random::poisson(b, 4.5));
    REQUIRE(random::poisson_count(a, 16.5) == random::poisson(b, 16.5));
  }
  // Moments at a large mean (a check of the tails beyond the chi-square's bins).
  stream c(9, 9, 9, 9);
  const auto [mean, var] = sample_mean_var([&] { return static_cast<double>(random::binomial_count(c, 3500, 0.05)); }, 200000);
  REQUIRE(std::abs(mean - 175) < 5 * std::sqrt(166.25 / 200000));
  REQUIRE(std::abs(var / 166.25 - 1) < 5 * std::sqrt(2.0 / 200000));
}

TEST_CASE("The binomial chi-square test rejects a slightly wrong p (it has power)", "[random]") {
  // The same draws held to a pmf whose p is 3% off: the statistic must exceed the
  // threshold, on both sides of the switch.
  for (const auto& [n, p] : std::vector<std::pair<long long, double>>{{20, 0.3}, {40, 0.3}, {100000, 0.3}}) {
    const auto r = binomial_chi_square(n, p, 100, p * (n == 100000 ? 1.001 : 1.03));
    INFO("Binomial(" << n << ", " << p << ") against a perturbed pmf: " << r.describe());
    REQUIRE(r.statistic > r.threshold);
  }
}

TEST_CASE("The Poisson sampler matches the Poisson pmf on both sides of each switch", "[random]") {
  // The bottom-up inversion's widths switch at means 4, 7, 10 and 14, mode-outward
  // inversion takes over at 18.
  std::uint64_t id = 0;
  for (double mu : {0.3, 3.5, 3.999999, 4.0, 6.999999, 7.0, 9.9, 9.999999, 10.0, 10.5, 13.999999, 14.0, 17.999999, 18.0,
                    18.5, 55.5, 1000.0}) {
    const auto r = poisson_chi_square(mu, id++, mu);
    INFO("Poisson(" << mu << "): " << r.describe());
    REQUIRE(r.statistic < r.threshold);
  }
}

TEST_CASE("The Poisson chi-square test rejects a slightly wrong mean (it has power)", "[random]") {
  for (double mu : {3.5, 55.5}) {
    const auto r = poisson_chi_square(mu, 200, mu * 1.03);
    INFO("Poisson(" << mu << ") against Poisson(" << mu * 1.03 << "): " << r.describe());
    REQUIRE(r.statistic > r.threshold);
  }
}

// Draws given "not 0" as the simulation engine makes them: a uniform u from the stream,
// kept when u > f(0), passed on to the *_positive sampler (see random.hpp).
chi_square_result positive_chi_square(std::uint64_t id, double f0, const std::function<long long(stream&, double)>& draw,
                                      const std::function<double(long long)>& pmf, long long hi) {
  stream s(20210202, id, 9, 0);
  const auto h = histogram_of([&] {
    double u;
    do u = s.uniform();
    while (u <= f0);
    return draw(s, u);
  });
  return chi_square(h, draws, 1, hi, [&](long long k) { return pmf(k) / (1 - f0); });
}

TEST_CASE("Draws given not 0 match the conditional pmf in every regime", "[random]") {
  // Small means continue the bottom-up inversion with the caller's uniform; large means
  // and binomials with p > 1/2 reject fresh draws of 0.
  std::uint64_t id = 0;
  for (const auto& [n, p] : std::vector<std::pair<long long, double>>{
           {1, 0.3}, {16, 0.0015}, {20, 0.3}, {40, 0.3}, {20, 0.7}, {3, 0.9}, {1000, 0.02}, {100, 0.175}, {100, 0.185}}) {
    const double f0 = std::exp(static_cast<double>(n) * std::log1p(-p));
    const auto r = positive_chi_square(
        id++, f0, [&, n = n, p = p](stream& s, double u) { return random::binomial_positive(s, u, n, p, f0); },
        [&, n = n, p = p](long long k) { return binomial_pmf_at(n, p, k); }, n);
    INFO("Binomial(" << n << ", " << p << ") given >= 1: " << r.describe());
    REQUIRE(r.statistic < r.threshold);
  }
  for (double mu : {0.0125, 0.5, 3.5, 9.9, 10.5, 17.5, 18.5, 55.5}) {
    const double f0 = std::exp(-mu);
    const auto r = positive_chi_square(
        id++, f0, [&](stream& s, double u) { return random::poisson_positive(s, u, mu, f0); },
        [&](long long k) { return poisson_pmf_at(mu, k); }, static_cast<long long>(mu + 14 * std::sqrt(mu) + 12));
    INFO("Poisson(" << mu << ") given >= 1: " << r.describe());
    REQUIRE(r.statistic < r.threshold);
  }
}

TEST_CASE("at_least_minus_log1p decides as r >= h - log1p(a / b) does, at and around every boundary", "[random]") {
  // The race settles an event's "exactly one" by this test (a = n p, b = 1 - p for a
  // binomial; a = the mean, b = 1 for a Poisson); its series bounds must never change the
  // answer of the direct expression, above all for r a few ulps from the boundary, where
  // only the logarithm can decide.
  stream s(3, 1, 4, 1);
  long long checked = 0, near = 0;
  for (int i = 0; i < 200000; ++i) {
    const double x = i % 5 == 0 ? s.uniform() * 2.2 : std::pow(10.0, -8 * s.uniform()) * 0.6;  // 1e-8 .. 2.2
    const double b = i % 2 ? 1.0 : 1 - s.uniform() * 0.5, a = x * b;
    const double h = a / b + s.uniform() * 3;
    const double boundary = h - std::log1p(a / b);
    std::vector<double> rs{s.uniform() * h, boundary};
    double below = boundary, above = boundary;
    for (int k = 0; k < 9; ++k) rs.push_back(below = std::nextafter(below, 0.0)), rs.push_back(above = std::nextafter(above, 10.0));
    for (double r : rs) {
      const bool direct = r >= h - std::log1p(a / b);
      if (at_least_minus_log1p(r, h, a, b) != direct)
        FAIL_CHECK("a " << a << " b " << b << " h " << h << " r " << r << " direct " << direct);
      ++checked;
      near += std::abs(r - boundary) < 1e-12 * h;
    }
  }
  CHECK(checked == 200000 * 20);
  CHECK(near > 200000 * 18);  // the ulp neighbours of the boundary were among them
}

TEST_CASE("Bottom-up inversion compares with its first 8 to 24 sums at once and picks the walk's k", "[random]") {
  // The walk from 0, term by term, written out: the smallest k with u - f(0) - ... - f(k) <= 0.
  auto walk = [](double u, long long hi, double f0, auto ratio) {
    double f = f0, rest = u;
    for (long long k = 0;; ++k) {
      const double before = rest;
      rest -= f;
      if (rest <= 0 || k == hi) return k;
      const double next = f * ratio(k);
      if (rest == before && next <= f) return k;
      f = next;
    }
  };
  stream s(7, 7, 7, 7);
  long long compared = 0, tail = 0, tail16 = 0, tail24 = 0;
  auto check = [&](long long hi, double f0, auto ratio, const char* law) {
    for (int i = 0; i < 20000; ++i) {
      const double u = s.uniform();
      const auto k = random::detail::bottom_up<8>(u, hi, f0, ratio);
      INFO(law << " at u = " << u);
      REQUIRE(k == walk(u, hi, f0, ratio));
      REQUIRE(random::detail::bottom_up<12>(u, hi, f0, ratio) == k);
      REQUIRE(random::detail::bottom_up<16>(u, hi, f0, ratio) == k);
      REQUIRE(random::detail::bottom_up<20>(u, hi, f0, ratio) == k);
      REQUIRE(random::detail::bottom_up<24>(u, hi, f0, ratio) == k);
      ++compared;
      tail += k >= 8;
      tail16 += k >= 16;
      tail24 += k >= 24;
    }
    // at and beside each cumulative sum, where the two orders of rounding may part by one
    // (not where the sum has reached 1 within 1e-9: there u lies beyond the rounded total
    // mass, a chance of ~1e-16, and each stops near the bulk by its own rule)
    double cdf = 0, f = f0;
    for (long long k = 0; k <= std::min(hi, 40LL); ++k) {
      cdf += f;
      for (double u : {std::nextafter(cdf, 0.0), cdf, std::nextafter(cdf, 1.0)})
        if (u > 0 && u < 1 - 1e-9) {
          INFO(law << " at the sum up to " << k << ", u = " << u);
          const auto k = random::detail::bottom_up<8>(u, hi, f0, ratio);
          CHECK(std::abs(k - walk(u, hi, f0, ratio)) <= 1);
          CHECK(random::detail::bottom_up<12>(u, hi, f0, ratio) == k);
          CHECK(random::detail::bottom_up<16>(u, hi, f0, ratio) == k);
          CHECK(random::detail::bottom_up<20>(u, hi, f0, ratio) == k);
          CHECK(random::detail::bottom_up<24>(u, hi, f0, ratio) == k);
        }
      f *= ratio(k);
    }
  };
  for (const auto& [n, p] : std::vector<std::pair<long long, double>>{
           {1, 0.5}, {3, 0.4}, {7, 0.5}, {20, 0.3}, {180, 0.0222}, {2500, 0.0015}, {100, 0.0999}, {36, 0.49}, {100, 0.1799}}) {
    const double dn = static_cast<double>(n), odds = p / (1 - p);
    check(n, std::exp(dn * std::log1p(-p)),
          [&](long long k) { return (dn - static_cast<double>(k)) / static_cast<double>(k + 1) * odds; }, "binomial");
  }
  for (double mu : {0.3, 1.5, 3.5, 7.0, 9.9, 13.0, 17.9})
    check(10000, std::exp(-mu), [&](long long k) { return mu / static_cast<double>(k + 1); }, "Poisson");
  REQUIRE(tail > 1000);  // the walk beyond the first eight sums was exercised
  REQUIRE(tail16 > 100);  // and beyond sixteen
  REQUIRE(tail24 > 100);  // and beyond twenty-four
}

TEST_CASE("poisson_table picks poisson_bottom_up's k for every u and draws the Poisson law", "[random]") {
  // Its sums are the bottom-up inversion's own numbers: the same k for random uniforms, the
  // extreme ones, and at and beside every cumulative sum (where a table built otherwise
  // would part by one), at every width of bottom_up, either side of mean 18 and up to
  // max_mean.
  stream s(11, 11, 11, 11);
  const double lowest = stream::to_uniform(0), highest = stream::to_uniform(~std::uint64_t{0});
  long long compared = 0;
  for (double mu : {0.3, 1.5, 3.999999, 4.0, 6.5, 9.5, 13.9, 14.0, 17.9, 18.0, 30.0, 55.5, 100.0, 256.0}) {
    const random::poisson_table table(mu);
    const double f0 = std::exp(-mu);
    REQUIRE(table.mean() == mu);
    std::vector<double> us{lowest, highest};
    for (int i = 0; i < 20000; ++i) us.push_back(s.uniform());
    double cdf = 0, f = f0;
    for (long long k = 0; k <= static_cast<long long>(mu + 12 * std::sqrt(mu) + 10); ++k, f *= mu / static_cast<double>(k)) {
      cdf += f;
      for (double u : {std::nextafter(cdf, 0.0), cdf, std::nextafter(cdf, 1.0)})
        if (u > 0 && u < 1) us.push_back(u);
    }
    for (double u : us) {
      INFO("mean " << mu << ", u = " << u);
      REQUIRE(table.draw(u) == random::detail::poisson_bottom_up(u, mu, f0));
      ++compared;
    }
  }
  REQUIRE(compared > 280000);
  // So below mean 18 a table's draws are poisson_count's, bit for bit, on one stream.
  for (double mu : {1.5, 9.5, 17.9}) {
    const random::poisson_table table(mu);
    stream a(5, 6, 7, 8), b(5, 6, 7, 8);
    for (int i = 0; i < 2000; ++i) REQUIRE(table(a) == random::poisson_count(b, mu));
  }
  // The law, where it is not poisson_count's bits (and below, once more): the pmf, and
  // no fit to a mean 1% off.
  std::uint64_t id = 400;
  for (double mu : {3.5, 17.9, 18.0, 30.0, 100.0, 256.0}) {
    const random::poisson_table table(mu);
    stream t(20210201, id++, 9, 0);
    const auto h = histogram_of([&] { return table(t); });
    const double sd = std::sqrt(mu);
    const auto lo = std::max(0LL, static_cast<long long>(std::floor(mu - 12 * sd - 2)));
    const auto hi = static_cast<long long>(std::ceil(mu + 14 * sd + 12));
    const auto r = chi_square(h, draws, lo, hi, [&](long long k) { return poisson_pmf_at(mu, k); });
    INFO("poisson_table(" << mu << "): " << r.describe());
    REQUIRE(r.statistic < r.threshold);
    if (mu >= 30) {
      const auto off = chi_square(h, draws, lo, hi, [&](long long k) { return poisson_pmf_at(mu * 1.01, k); });
      INFO("against a mean 1% off: " << off.describe());
      REQUIRE(off.statistic > off.threshold);
    }
  }
  for (double mu : {0.0, -1.0, 256.0001, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()})
    REQUIRE_THROWS_AS(random::poisson_table(mu), parameter_error);
  REQUIRE_FALSE(random::poisson_table());
}

TEST_CASE("binomial_ladder draws Bin(n, p) from its rungs' tables, whatever it drew before", "[random]") {
  using ladder_t = random::binomial_ladder;
  const double lowest = stream::to_uniform(0), highest = stream::to_uniform(~std::uint64_t{0});
  stream s(12, 12, 12, 12);
  // At a rung (n = j L, L = rung_mean / p people, no remainder) a draw is one uniform
  // inverted from the rung's table: bottom-up inversion's k for random uniforms, the extreme
  // ones and at and beside every cumulative sum.
  long long compared = 0;
  for (double p : {0.05, 0.1, 0.3, 0.5}) {
    ladder_t ladder(p, std::log1p(-p));
    const auto step = static_cast<long long>(ladder_t::rung_mean / p);
    for (long long j : {3, 1, 12, 5}) {
      const long long m = j * step;
      const double dm = static_cast<double>(m), f0 = std::exp(dm * std::log1p(-p));
      std::vector<double> us{lowest, highest};
      for (int i = 0; i < 3000; ++i) us.push_back(s.uniform());
      double cdf = 0;
      for (long long k = 0; k <= m; ++k) {
        cdf += binomial_pmf_at(m, p, k);
        for (double u : {std::nextafter(cdf, 0.0), cdf, std::nextafter(cdf, 1.0)})
          if (u > 0 && u < 1) us.push_back(u);
      }
      for (double u : us) {
        INFO("p " << p << ", n " << m << ", u = " << u);
        fixed_uniform one{u};
        REQUIRE(ladder(one, m) == random::detail::binomial_bottom_up(u, m, p, f0));
        ++compared;
      }
    }
  }
  REQUIRE(compared > 20000);
  // Below the first rung (n p < rung_mean) and above max_mean, binomial_count's draws, bit
  // for bit (remainders from kept rows, and at p = 0.0005 beyond rows_kept, from rows made
  // for the draw); in between a draw depends on n, p and its uniforms only: a fresh
  // ladder, one that has drawn at other n, and one whose tables were forgotten draw alike.
  for (double p : {0.0005, 0.002, 0.05, 0.3}) {
    ladder_t fresh(p, std::log1p(-p)), used(p, std::log1p(-p));
    const auto step = static_cast<long long>(ladder_t::rung_mean / p);
    for (long long n = step * 40; n > 0; n = n * 7 / 10) used(s, n);
    for (long long n : {1LL, step / 2, step - 1, static_cast<long long>(ladder_t::max_mean / p) + 1, 3 * step}) {
      stream a(3, 4, 5, 6), b(3, 4, 5, 6), c(3, 4, 5, 6);
      for (int i = 0; i < 500; ++i) {
        INFO("p " << p << ", n " << n);
        const auto k = fresh(a, n);
        REQUIRE(k == used(b, n));
        if (n < step || static_cast<double>(n) * p > ladder_t::max_mean) REQUIRE(k == random::binomial_count(c, n, p));
      }
      used.clear();
      REQUIRE(used.bytes() == 0);
    }
  }
  for (double p : {0.0, -0.1, 0.51, 1.0, std::numeric_limits<double>::quiet_NaN()})
    REQUIRE_THROWS_AS(ladder_t(p, std::log1p(-p)), parameter_error);
  ladder_t ladder(0.1, std::log1p(-0.1));
  REQUIRE_THROWS_AS(ladder(s, -1), parameter_error);
  REQUIRE(ladder(s, 0) == 0);
  // The law, rungs and remainders: the pmf at means from 0.9 to 255, and no fit to a p 1%
  // off at the larger ones.
  std::uint64_t id = 500;
  for (auto [n, p] : std::vector<std::pair<long long, double>>{
           {45, 0.02}, {200, 0.1}, {233, 0.1}, {800, 0.05}, {759, 0.021}, {2670, 0.0015}, {100, 0.5}, {5100, 0.05}}) {
    ladder_t ladder(p, std::log1p(-p));
    stream t(20210201, id++, 10, 0);
    const auto h = histogram_of([&] { return ladder(t, n); });
    const double mean = static_cast<double>(n) * p, sd = std::sqrt(mean * (1 - p));
    const auto lo = std::max(0LL, static_cast<long long>(std::floor(mean - 12 * sd - 2)));
    const auto hi = std::min(n, static_cast<long long>(std::ceil(mean + 12 * sd + 2)));
    const auto r = chi_square(h, draws, lo, hi, [&](long long k) { return binomial_pmf_at(n, p, k); });
    INFO("ladder Bin(" << n << ", " << p << "): " << r.describe());
    REQUIRE(r.statistic < r.threshold);
    if (mean >= 40) {
      const auto off = chi_square(h, draws, lo, hi, [&](long long k) { return binomial_pmf_at(n, p * 1.01, k); });
      INFO("against a p 1% off: " << off.describe());
      REQUIRE(off.statistic > off.threshold);
    }
  }
}

TEST_CASE("Binomial and Poisson: edge parameters and refusals", "[random]") {
  stream s(1, 2, 3, 4);
  for (int i = 0; i < 100; ++i) {
    REQUIRE(random::binomial(s, 0, 0.3) == 0);
    REQUIRE(random::binomial(s, 25, 0.0) == 0);
    REQUIRE(random::binomial(s, 25, 1.0) == 25);
    REQUIRE(random::poisson(s, 0.0) == 0);
    const auto k = random::binomial(s, 5, 0.5);
    REQUIRE((k >= 0 && k <= 5));
  }
  REQUIRE_THROWS_AS_WITH(random::binomial(s, -1, 0.5), parameter_error, mf_test::contains("n >= 0"));
  REQUIRE_THROWS_AS_WITH(random::binomial(s, 5, 1.5), parameter_error, mf_test::contains("p in [0, 1]"));
  REQUIRE_THROWS_AS(random::binomial(s, 5, -0.1), parameter_error);
  REQUIRE_THROWS_AS(random::binomial(s, 5, std::nan("")), parameter_error);
  REQUIRE_THROWS_AS_WITH(random::poisson(s, -1.0), parameter_error, mf_test::contains("mean >= 0"));
  REQUIRE_THROWS_AS(random::poisson(s, std::nan("")), parameter_error);
  REQUIRE_THROWS_AS(random::poisson(s, HUGE_VAL), parameter_error);
  REQUIRE_THROWS_AS_WITH(random::gamma(s, 0.0, 1.0), parameter_error, mf_test::contains("shape and scale"));
  REQUIRE_THROWS_AS(random::gamma(s, 1.0, -2.0), parameter_error);
  REQUIRE_THROWS_AS(random::beta(s, 1.0, 0.0), parameter_error);
}

TEST_CASE("The samplers return a sane value for the extreme uniforms, and return", "[random]") {
  // U at the largest (and smallest) value uniform() gives. The pmf summed in floating
  // point can fall short of U by ~1e-13; an inversion must then still stop near the
  // bulk, not walk on to n, to a cap, or (mode-outward Poisson) practically forever.
  const double extremes[] = {stream::to_uniform(~0ULL), stream::to_uniform(0)};
  for (double u : extremes) {
    const char* at = u > 0.5 ? "U = 1 - 2^-53" : "U = 2^-53";
    for (double mu : {0.3, 5.0, 9.9, 10.0, 55.5, 1000.0, 1e6}) {
      const auto k = value_within(5.0, [u, mu] {
        fixed_uniform f{u};
        return random::poisson(f, mu);
      });
      INFO("Poisson(" << mu << ") at " << at << " gave " << (k ? std::to_string(*k) : "no answer"));
      CHECK(k.has_value());
      CHECK(k.value_or(-1) >= 0);
      CHECK(static_cast<double>(k.value_or(-1)) <= mu + 40 * std::sqrt(mu) + 40);
    }
    const std::vector<std::pair<long long, double>> binomials{
        {20, 0.3}, {1000, 0.009}, {100000, 1e-5}, {100000, 0.3}, {100000, 0.7}, {40, 0.3}, {1000000, 5e-6}};
    for (const auto& [n, p] : binomials) {
      const auto k = value_within(5.0, [u, n = n, p = p] {
        fixed_uniform f{u};
        return random::binomial(f, n, p);
      });
      const double mean = static_cast<double>(n) * p, sd = std::sqrt(mean * (1 - p));
      INFO("Binomial(" << n << ", " << p << ") at " << at << " gave "
                       << (k ? std::to_string(*k) : "no answer"));
      CHECK(k.has_value());
      CHECK(k.value_or(-1) >= 0);
      CHECK(k.value_or(-1) <= n);
      CHECK(std::abs(static_cast<double>(k.value_or(-1)) - mean) <= 40 * sd + 40);
    }
  }
}

TEST_CASE("The ziggurat exponential matches Exp(1), its tail beyond r included", "[random]") {
  // The strips close at the top: the last one reaches height f(0) = 1.
  const auto& z = random::detail::exponential_strips;
  REQUIRE(z.f[255] + z.v / z.x[255] == Catch::Approx(1.0).epsilon(1e-12));
  // 2,000,000 draws in 64 bins of equal chance (edges -log(1 - j/64)), the last bin
  // split at r so that the tail's own draws (r + Exp(1)) are counted apart, and bins
  // straddling the strips' edges; chi-square at the 0.999 quantile.
  std::vector<double> edges;
  for (int j = 1; j < 64; ++j) edges.push_back(-std::log(1 - j / 64.0));
  edges.push_back(z.r);
  std::vector<double> chance(edges.size() + 1);
  double below = 0;
  for (std::size_t j = 0; j < edges.size(); ++j) {
    const double to = 1 - std::exp(-edges[j]);
    chance[j] = to - below;
    below = to;
  }
  chance.back() = 1 - below;
  stream s(11, 12, 13, 14);
  const int n = 2000000;
  std::vector<long long> seen(chance.size());
  for (int i = 0; i < n; ++i) {
    const double x = random::exponential(s);
    REQUIRE(x > 0);
    ++seen[static_cast<std::size_t>(std::upper_bound(edges.begin(), edges.end(), x) - edges.begin())];
  }
  double statistic = 0;
  for (std::size_t j = 0; j < chance.size(); ++j) {
    const double expected = n * chance[j];
    statistic += (seen[j] - expected) * (seen[j] - expected) / expected;
  }
  const int dof = static_cast<int>(chance.size()) - 1;
  INFO("chi-square " << statistic << " on " << dof << " dof; beyond r: " << seen.back() << " of " << n);
  REQUIRE(statistic < chi_square_quantile(dof));
  REQUIRE(seen.back() > 0);  // the tail was drawn
}

TEST_CASE("Gamma, beta and normal draws have their means and variances", "[random]") {
  const long long n = 200000;
  SECTION("gamma, shape below and above 1") {
    std::uint64_t id = 0;
    for (const auto& params : std::vector<std::pair<double, double>>{
             {0.3, 1.0}, {0.5, 2.0}, {1.0, 1.0}, {2.5, 0.5}, {30.0, 0.1}}) {
      const double shape = params.first, scale = params.second;  // lambdas below capture them
      stream s(20210201, id++, 9, 0);
      bool positive = true;
      const auto [mean, var] = sample_mean_var(
          [&] {
            const double x = random::gamma(s, shape, scale);
            positive = positive && x > 0 && std::isfinite(x);
            return x;
          },
          n);
      // E[X^k] = scale^k shape (shape + 1) ... (shape + k - 1).
      std::array<double, 4> raw{};
      double r = 1;
      for (int k = 0; k < 4; ++k) raw[static_cast<std::size_t>(k)] = r *= scale * (shape + k);
      const auto m = from_raw(raw, static_cast<double>(n));
      INFO("Gamma(" << shape << ", " << scale << "): mean " << mean << " vs " << m.mean << " (se " << m.se_mean
                    << "), var " << var << " vs " << m.var << " (se " << m.se_var << ")");
      REQUIRE(positive);
      REQUIRE(std::abs(mean - m.mean) <= 5 * m.se_mean);
      REQUIRE(std::abs(var - m.var) <= 5 * m.se_var);
    }
  }
  SECTION("beta") {
    std::uint64_t id = 0;
    for (const auto& params : std::vector<std::pair<double, double>>{
             {0.5, 0.5}, {0.05, 0.2}, {2.0, 6.0}, {30.0, 10.0}, {0.3 * 1e7, 0.7 * 1e7}}) {
      const double a = params.first, b = params.second;  // lambdas below capture them
      stream s(20210201, id++, 10, 0);
      bool inside = true;
      const auto [mean, var] = sample_mean_var(
          [&] {
            const double x = random::beta(s, a, b);
            inside = inside && x >= 0 && x <= 1;
            return x;
          },
          n);
      // E[X^k] = prod_{i<k} (a + i) / (a + b + i).
      std::array<double, 4> raw{};
      double r = 1;
      for (int k = 0; k < 4; ++k) raw[static_cast<std::size_t>(k)] = r *= (a + k) / (a + b + k);
      const auto m = from_raw(raw, static_cast<double>(n));
      // For the huge shapes the variance (2e-8) is below what raw moments resolve:
      // use the closed forms there (mu4 = 3 var^2 to first order: nearly normal).
      const double true_var = a * b / ((a + b) * (a + b) * (a + b + 1));
      const double se_var = a + b > 1e6 ? true_var * std::sqrt(2.0 / n) : m.se_var;
      INFO("Beta(" << a << ", " << b << "): mean " << mean << " vs " << a / (a + b) << ", var " << var << " vs "
                   << true_var);
      REQUIRE(inside);
      REQUIRE(std::abs(mean - a / (a + b)) <= 5 * std::sqrt(true_var / n));
      REQUIRE(std::abs(var - true_var) <= 5 * se_var);
    }
  }
  SECTION("normal") {
    stream s(20210201, 0, 11, 0);
    const auto [mean, var] = sample_mean_var([&] { return random::normal(s); }, n);
    REQUIRE(std::abs(mean) <= 5 * std::sqrt(1.0 / n));
    REQUIRE(std::abs(var - 1) <= 5 * std::sqrt(2.0 / n));  // mu4 = 3
  }
}

TEST_CASE("Beta with shapes near 0 draws 0 or 1 with the mean's chances, never 0 / 0", "[random]") {
  // A pooled prior with no information (estimate.cpp's floor): Beta(1e-13 m, 1e-13 (1 - m)).
  const double m = 0.3, c = 1e-13;
  stream s(20210201, 7, 7, 7);
  const int n = 20000;
  int ones = 0;
  for (int i = 0; i < n; ++i) {
    const double x = random::beta(s, c * m, c * (1 - m));
    REQUIRE(std::isfinite(x));
    REQUIRE((x < 1e-100 || x > 1 - 1e-15));
    ones += x > 0.5;
  }
  CHECK(std::abs(static_cast<double>(ones) / n - m) <= 5 * std::sqrt(m * (1 - m) / n));
}
