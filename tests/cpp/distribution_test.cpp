// The pmf type and its building blocks (distribution.hpp): binomial and Poisson pmfs
// against their direct formulas, convolution against the O(n^2) Poisson-binomial
// recursion and a naive double loop, the summaries (mean, variance, quantile, P(X >= k),
// cdf) on hand-made pmfs, the tail bookkeeping, and refusals.
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "memberflow/distribution.hpp"

using namespace memberflow;

namespace {

const double nan_value = std::numeric_limits<double>::quiet_NaN();
const double inf_value = std::numeric_limits<double>::infinity();

// C(n, k) p^k (1 - p)^(n - k), the binomial coefficient as a product of exact integers
// in double (exact while C(n, k) < 2^53, i.e. n <= 50 here).
double binomial_direct(int n, int k, double p) {
  if (k < 0 || k > n) return 0;
  double c = 1;
  for (int j = 1; j <= k; ++j) c = c * (n - k + j) / j;
  return c * std::pow(p, k) * std::pow(1 - p, n - k);
}

// e^-mu mu^k / k!, with k! an exact product (k <= 170).
double poisson_direct(double mu, int k) {
  if (k < 0) return 0;
  double factorial = 1;
  for (int j = 2; j <= k; ++j) factorial *= j;
  return std::exp(-mu) * std::pow(mu, k) / factorial;
}

// The full, untruncated pmf of a sum of independent pmfs given as plain vectors (from 0),
// by the textbook double loop.
std::vector<double> naive_convolution(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> c(a.size() + b.size() - 1, 0.0);
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = 0; j < b.size(); ++j) c[i + j] += a[i] * b[j];
  return c;
}

std::vector<double> binomial_vector(int n, double p) {
  std::vector<double> v(static_cast<std::size_t>(n) + 1);
  for (int k = 0; k <= n; ++k) v[static_cast<std::size_t>(k)] = binomial_direct(n, k, p);
  return v;
}

pmf make_pmf(long long offset, std::vector<double> p, double tail = 0) {
  pmf f;
  f.offset = offset;
  f.p = std::move(p);
  f.tail = tail;
  return f;
}

// Every entry of `f` against the reference `ref` (indexed from 0): inside f's support
// to `rel` relatively (and 1e-300 absolutely); the mass ref puts outside f's support
// returned. binomial_pmf and poisson_pmf walk out from the mode until the terms fall
// below eps / 1000 and normalise what they visited: the terms never visited (far below
// eps, but not counted in `tail`) scale every kept entry up by their mass, hence the
// callers' relative tolerance 1e-12 + eps / 100.
double compare_to_reference(const pmf& f, const std::vector<double>& ref, double rel) {
  double outside = 0;
  for (long long k = 0; k < static_cast<long long>(ref.size()); ++k) {
    const double r = ref[static_cast<std::size_t>(k)];
    if (k < f.first() || k > f.last()) {
      outside += r;
      continue;
    }
    INFO("k = " << k << ", reference " << r << ", pmf " << f.at(k));
    REQUIRE(std::abs(f.at(k) - r) <= rel * r + 1e-300);
  }
  REQUIRE(f.first() >= 0);
  REQUIRE(f.last() < static_cast<long long>(ref.size()));
  return outside;
}

}  // namespace

TEST_CASE("binomial_pmf matches C(n,k) p^k (1-p)^(n-k) entry by entry and keeps its tail to eps per side",
          "[distribution]") {
  for (int n : {1, 2, 3, 7, 20, 50}) {
    for (double p : {0.001, 0.05, 0.3, 0.5, 0.77, 0.999}) {
      for (double eps : {1e-16, 1e-12, 1e-6, 1e-2}) {
        INFO("n = " << n << ", p = " << p << ", eps = " << eps);
        const auto f = binomial_pmf(n, p, eps);
        std::vector<double> ref = binomial_vector(n, p);
        const double outside = compare_to_reference(f, ref, 1e-12 + 1e-2 * eps);
        // Each side drops at most eps, and `tail` records exactly what was dropped.
        REQUIRE(f.tail <= 2 * eps);
        REQUIRE(outside <= f.tail * (1 + 1e-12) + 1e-15);  // tail bounds the mass outside
        double below = 0, above = 0;
        for (long long k = 0; k < f.first(); ++k) below += ref[static_cast<std::size_t>(k)];
        for (long long k = f.last() + 1; k <= n; ++k) above += ref[static_cast<std::size_t>(k)];
        REQUIRE(below <= eps * (1 + 1e-9));
        REQUIRE(above <= eps * (1 + 1e-9));
        // ... and the support is the narrowest such: one more entry would exceed eps.
        if (f.first() > 0) REQUIRE(below + ref[static_cast<std::size_t>(f.first())] > eps * (1 - 1e-9));
        if (f.last() < n) REQUIRE(above + ref[static_cast<std::size_t>(f.last())] > eps * (1 - 1e-9));
        REQUIRE(f.sum() <= 1 + 1e-12);              // kept entries are not inflated
        REQUIRE(f.sum() + f.tail >= 1 - 1e-12);     // and the tail covers what they miss
      }
    }
  }
}

TEST_CASE("binomial_pmf for large n agrees with the O(n^2) Poisson-binomial recursion", "[distribution]") {
  for (auto [n, p] : {std::pair{1000, 0.3}, std::pair{400, 0.01}, std::pair{2500, 0.93}}) {
    INFO("n = " << n << ", p = " << p);
    const auto f = binomial_pmf(n, p, 1e-15);
    const auto ref = poisson_binomial_pmf(std::vector<double>(static_cast<std::size_t>(n), p));
    REQUIRE(ref.offset == 0);
    REQUIRE(ref.p.size() == static_cast<std::size_t>(n) + 1);
    double worst = 0;
    for (long long k = 0; k <= n; ++k) {
      const double r = ref.at(k), v = f.at(k);
      if (k >= f.first() && k <= f.last()) worst = std::max(worst, std::abs(v - r));
    }
    REQUIRE(worst <= 1e-13);
    REQUIRE(f.tail <= 2e-15);
    REQUIRE(f.mean() == Catch::Approx(n * p).epsilon(1e-12));
    REQUIRE(f.variance() == Catch::Approx(n * p * (1 - p)).epsilon(1e-9));
  }
}

TEST_CASE("binomial_pmf degenerate cases: n = 0, p = 0 and p = 1 are point masses", "[distribution]") {
  for (const auto& f : {binomial_pmf(0, 0.4, 1e-12), binomial_pmf(9, 0.0, 1e-12)}) {
    REQUIRE(f.offset == 0);
    REQUIRE(f.p == std::vector<double>{1.0});
    REQUIRE(f.tail == 0);
  }
  const auto f = binomial_pmf(9, 1.0, 1e-12);
  REQUIRE(f.offset == 9);
  REQUIRE(f.p == std::vector<double>{1.0});
  REQUIRE(f.tail == 0);
  // Binomial(1, p) is Bernoulli: both entries, exactly.
  const auto b = binomial_pmf(1, 0.25, 1e-12);
  REQUIRE(b.offset == 0);
  REQUIRE(b.p.size() == 2);
  REQUIRE(b.p[0] == Catch::Approx(0.75).epsilon(1e-15));
  REQUIRE(b.p[1] == Catch::Approx(0.25).epsilon(1e-15));
}

TEST_CASE("poisson_pmf matches e^-mu mu^k / k! entry by entry and keeps its tail to eps per side",
          "[distribution]") {
  for (double mu : {1e-9, 0.01, 0.5, 1.0, 3.7, 20.0, 64.5}) {
    for (double eps : {1e-16, 1e-12, 1e-6}) {
      INFO("mu = " << mu << ", eps = " << eps);
      const auto f = poisson_pmf(mu, eps);
      REQUIRE(f.last() <= 170);
      std::vector<double> ref(171);
      for (int k = 0; k <= 170; ++k) ref[static_cast<std::size_t>(k)] = poisson_direct(mu, k);
      const double outside = compare_to_reference(f, ref, 1e-12 + 1e-2 * eps);
      REQUIRE(f.tail <= 2 * eps);
      // The walk stops at terms below eps / 1000 without counting them in `tail`; what it
      // leaves unvisited is far below eps (see distribution.hpp), hence the slack.
      REQUIRE(outside <= f.tail + 1e-2 * eps);
      double above = 0;
      for (long long k = f.last() + 1; k <= 170; ++k) above += ref[static_cast<std::size_t>(k)];
      REQUIRE(above <= eps * (1 + 1e-9));
      if (f.last() < 170 && f.last() > f.first()) REQUIRE(above + ref[static_cast<std::size_t>(f.last())] > eps * (1 - 1e-9));
      REQUIRE(f.sum() <= 1 + 1e-12);
      REQUIRE(f.sum() + f.tail >= 1 - 1e-12);
    }
  }
}

TEST_CASE("poisson_pmf for a large mean has mean and variance mu and the log-space formula's entries",
          "[distribution]") {
  for (double mu : {500.0, 12345.6}) {
    INFO("mu = " << mu);
    const auto f = poisson_pmf(mu, 1e-15);
    REQUIRE(f.mean() == Catch::Approx(mu).epsilon(1e-12));
    REQUIRE(f.variance() == Catch::Approx(mu).epsilon(1e-9));
    REQUIRE(f.sum() <= 1 + 1e-12);
    REQUIRE(f.sum() + f.tail >= 1 - 1e-12);
    // lgamma's rounding grows with its argument, hence a looser relative tolerance here.
    for (long long k = f.first(); k <= f.last(); k += 7) {
      const double direct = std::exp(static_cast<double>(k) * std::log(mu) - mu - std::lgamma(static_cast<double>(k) + 1));
      REQUIRE(f.at(k) == Catch::Approx(direct).epsilon(1e-8));
    }
  }
  const auto zero = poisson_pmf(0.0, 1e-12);
  REQUIRE(zero.offset == 0);
  REQUIRE(zero.p == std::vector<double>{1.0});
}

TEST_CASE("convolving binomials equals the Poisson-binomial recursion and a naive double loop", "[distribution]") {
  const std::vector<std::pair<int, double>> parts{{5, 0.3}, {7, 0.8}, {3, 0.5}, {10, 0.05}, {1, 0.999}, {12, 0.41}};
  std::vector<double> probs;
  std::vector<double> naive{1.0};
  pmf sum;
  const double eps = 1e-16;
  for (const auto& [n, p] : parts) {
    sum = convolve(sum, binomial_pmf(n, p, eps), eps);
    naive = naive_convolution(naive, binomial_vector(n, p));
    probs.insert(probs.end(), static_cast<std::size_t>(n), p);
  }
  const auto recursion = poisson_binomial_pmf(probs);
  REQUIRE(recursion.offset == 0);
  REQUIRE(recursion.p.size() == probs.size() + 1);
  REQUIRE(naive.size() == probs.size() + 1);
  for (long long k = 0; k <= static_cast<long long>(probs.size()); ++k) {
    INFO("k = " << k);
    REQUIRE(std::abs(recursion.at(k) - naive[static_cast<std::size_t>(k)]) <= 1e-15);
    REQUIRE(std::abs(sum.at(k) - recursion.at(k)) <= 1e-15);
  }
  // Each truncation (one per binomial, one per convolution) drops at most 2 eps.
  REQUIRE(sum.tail <= 2 * eps * 2 * static_cast<double>(parts.size()));
  REQUIRE(std::abs(sum.sum() + sum.tail - 1) <= 1e-13);
  double mean = 0, var = 0;
  for (const auto& [n, p] : parts) {
    mean += n * p;
    var += n * p * (1 - p);
  }
  REQUIRE(sum.mean() == Catch::Approx(mean).epsilon(1e-12));
  REQUIRE(sum.variance() == Catch::Approx(var).epsilon(1e-10));
}

TEST_CASE("convolve adds offsets, carries both tails, handles point masses and trims to eps", "[distribution]") {
  const auto a = make_pmf(3, {0.25, 0.5, 0.25}, 1e-13);
  const auto b = make_pmf(-2, {0.125, 0.375, 0.375, 0.125}, 2e-13);
  const auto c = convolve(a, b, 1e-300);
  REQUIRE(c.offset == 1);
  const auto naive = naive_convolution(a.p, b.p);
  REQUIRE(c.p.size() == naive.size());
  // The kept mass is rescaled to 1 - tail (here the inputs' 3e-13), so entries match the
  // naive convolution to that relative size, not to the bit.
  for (std::size_t k = 0; k < naive.size(); ++k) REQUIRE(c.p[k] == Catch::Approx(naive[k]).epsilon(1e-12));
  REQUIRE(c.sum() + c.tail == Catch::Approx(1.0).epsilon(1e-15));
  REQUIRE(c.tail == Catch::Approx(3e-13).epsilon(1e-15));
  // Order does not matter.
  const auto d = convolve(b, a, 1e-300);
  REQUIRE(d.offset == c.offset);
  REQUIRE(d.p == c.p);

  // A point mass shifts; a single entry below 1 scales (a defective pmf stays defective).
  const auto shifted = convolve(make_pmf(7, {1.0}), b, 1e-300);
  REQUIRE(shifted.offset == 5);
  for (std::size_t k = 0; k < b.p.size(); ++k) REQUIRE(shifted.p[k] == Catch::Approx(b.p[k]).epsilon(1e-12));
  const auto scaled = convolve(b, make_pmf(1, {0.5}, 0.5), 1e-300);
  REQUIRE(scaled.offset == -1);
  const std::vector<double> quarter_b{0.0625, 0.1875, 0.1875, 0.0625};
  for (std::size_t k = 0; k < quarter_b.size(); ++k) REQUIRE(scaled.p[k] == Catch::Approx(quarter_b[k]).epsilon(1e-12));
  REQUIRE(scaled.tail == Catch::Approx(0.5 + 2e-13));

  // Trimming: the 0.0625 ends are dropped at eps = 0.07, not at eps = 0.06.
  const auto e = convolve(make_pmf(0, {0.25, 0.75}), make_pmf(0, {0.25, 0.75}), 0.07);
  REQUIRE(e.offset == 1);
  REQUIRE(e.p.size() == 2);
  REQUIRE(e.tail == 0.0625);
  REQUIRE(convolve(make_pmf(0, {0.25, 0.75}), make_pmf(0, {0.25, 0.75}), 0.06).p.size() == 3);
}

TEST_CASE("mean, variance, quantile, P(X >= k) and cdf on a hand-made pmf", "[distribution]") {
  // P(2) = 1/8, P(3) = 1/4, P(4) = 1/8, P(5) = 1/2: exact in binary.
  const auto f = make_pmf(2, {0.125, 0.25, 0.125, 0.5});
  REQUIRE(f.first() == 2);
  REQUIRE(f.last() == 5);
  REQUIRE(f.at(1) == 0);
  REQUIRE(f.at(4) == 0.125);
  REQUIRE(f.at(6) == 0);
  REQUIRE(f.sum() == 1.0);
  // mean = 2 + (1/4 + 1/4 + 3/2) = 4; E[(X - 4)^2] = 4/8 + 1/4 + 0 + 1/2 = 1.25.
  REQUIRE(f.mean() == 4.0);
  REQUIRE(f.variance() == 1.25);
  REQUIRE(f.quantile(0.0) == 2);
  REQUIRE(f.quantile(0.125) == 2);
  REQUIRE(f.quantile(0.126) == 3);
  REQUIRE(f.quantile(0.375) == 3);
  REQUIRE(f.quantile(0.4) == 4);
  REQUIRE(f.quantile(0.5) == 4);
  REQUIRE(f.quantile(0.500001) == 5);
  REQUIRE(f.quantile(1.0) == 5);
  REQUIRE(f.prob_at_least(-100) == 1.0);
  REQUIRE(f.prob_at_least(2) == 1.0);
  REQUIRE(f.prob_at_least(3) == 0.875);
  REQUIRE(f.prob_at_least(4) == 0.625);
  REQUIRE(f.prob_at_least(5) == 0.5);
  REQUIRE(f.prob_at_least(6) == 0.0);
  REQUIRE(f.cdf(1) == 0.0);
  REQUIRE(f.cdf(2) == 0.125);
  REQUIRE(f.cdf(3) == 0.375);
  REQUIRE(f.cdf(4) == 0.5);
  REQUIRE(f.cdf(5) == 1.0);
  REQUIRE(f.cdf(1000) == 1.0);
  // quantile and cdf agree: quantile(q) is the smallest k with cdf(k) >= q.
  for (double q = 0.01; q < 1; q += 0.01) {
    const auto k = f.quantile(q);
    REQUIRE(f.cdf(k) >= q * (1 - 1e-15));
    REQUIRE(f.cdf(k - 1) < q);
  }
  // A defective pmf (kept mass 1/2, tail 1/2): mean and variance are those of the kept part.
  const auto g = make_pmf(-3, {0.25, 0.25}, 0.5);
  REQUIRE(g.mean() == -2.5);
  REQUIRE(g.variance() == 0.25);
}

TEST_CASE("P(X >= k) and P(X <= k) keep the relative accuracy of tiny probabilities", "[distribution]") {
  const auto upper = make_pmf(0, {1.0 - 1e-30, 1e-30});
  REQUIRE(upper.prob_at_least(1) == 1e-30);
  const auto lower = make_pmf(0, {1e-30, 2e-30, 1.0});
  REQUIRE(lower.prob_at_least(1) == Catch::Approx(1.0).epsilon(1e-15));
  // The cdf of a tiny lower tail is that tail, not 1 - (1 - tail) = 0.
  REQUIRE(lower.cdf(0) == Catch::Approx(1e-30).epsilon(1e-12));
  REQUIRE(lower.cdf(1) == Catch::Approx(3e-30).epsilon(1e-12));
  REQUIRE(upper.cdf(0) == Catch::Approx(1.0).epsilon(1e-15));
}

TEST_CASE("the pmf building blocks refuse invalid arguments", "[distribution]") {
  REQUIRE_THROWS_AS_WITH(binomial_pmf(-1, 0.5, 1e-12), parameter_error, mf_test::contains("n >= 0"));
  for (double p : {-0.1, 1.1, nan_value})
    REQUIRE_THROWS_AS_WITH(binomial_pmf(5, p, 1e-12), parameter_error, mf_test::contains("p in [0, 1]"));
  for (double mu : {-1.0, nan_value, inf_value})
    REQUIRE_THROWS_AS_WITH(poisson_pmf(mu, 1e-12), parameter_error, mf_test::contains("finite mean"));
  for (double p : {-0.5, 1.5, nan_value})
    REQUIRE_THROWS_AS_WITH(poisson_binomial_pmf({0.5, p}), parameter_error, mf_test::contains("[0, 1]"));
  const auto f = make_pmf(0, {0.5, 0.5});
  for (double q : {-0.01, 1.01, nan_value})
    REQUIRE_THROWS_AS_WITH(f.quantile(q), input_error, mf_test::contains("q must be in [0, 1]"));
}

TEST_CASE("A pmf table gives back the pmfs put in, offsets, tails and all", "[distribution]") {
  pmf a;
  a.offset = 3;
  a.p = {0.25, 0.5, 0.25};
  a.tail = 1e-13;
  pmf b;  // the point mass at 0
  pmf c;
  c.offset = -2;
  c.p = {0.1, 0.9};
  pmf_table table;
  for (const auto& f : {a, b, c}) table.push_back(f);
  REQUIRE(table.size() == 3);
  REQUIRE(table.starts == std::vector<std::size_t>{0, 3, 4, 6});
  for (std::size_t u = 0; u < 3; ++u) {
    const pmf& put = u == 0 ? a : u == 1 ? b : c;
    const pmf got = table[u];
    REQUIRE(got.offset == put.offset);
    REQUIRE(got.p == put.p);
    REQUIRE(got.tail == put.tail);
  }
  REQUIRE_THROWS(table[3]);
}
