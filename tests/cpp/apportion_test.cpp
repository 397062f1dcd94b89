// Largest-remainder apportionment and cumulative rounding.
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "catch.hpp"
#include "memberflow/apportion.hpp"

using namespace memberflow;

namespace {
std::vector<long long> split(long long total, const std::vector<double>& w) {
  return apportion(total, std::span<const double>(w));
}
}  // namespace

TEST_CASE("apportion gives hand-computed largest-remainder splits, ties to the lower index", "[apportion]") {
  CHECK(split(7, {0.5, 0.3, 0.2}) == std::vector<long long>{4, 2, 1});  // quotas 3.5, 2.1, 1.4
  CHECK(split(100, {1, 1, 1}) == std::vector<long long>{34, 33, 33});
  CHECK(split(5, {1, 1, 1}) == std::vector<long long>{2, 2, 1});
  CHECK(split(1, {1, 1, 1, 1}) == std::vector<long long>{1, 0, 0, 0});
  CHECK(split(10, {0, 3, 0, 1}) == std::vector<long long>{0, 8, 0, 2});  // quotas 7.5, 2.5
  CHECK(split(4, {2, 2}) == std::vector<long long>{2, 2});
  CHECK(split(0, {0, 0}) == std::vector<long long>{0, 0});
  CHECK(split(0, {}).empty());
  // The Alabama paradox of Hamilton's method (Balinski & Young): one more seat to share,
  // and the third part gets fewer.
  CHECK(split(10, {6, 6, 2}) == std::vector<long long>{4, 4, 2});   // quotas 4.29, 4.29, 1.43
  CHECK(split(11, {6, 6, 2}) == std::vector<long long>{5, 5, 1});   // quotas 4.71, 4.71, 1.57
}

TEST_CASE("apportion sums to the total and keeps every part within one of its exact quota", "[apportion]") {
  std::mt19937 rng(1982);
  std::uniform_real_distribution<double> unif(0, 1);
  for (int trial = 0; trial < 2000; ++trial) {
    const int n = 1 + static_cast<int>(unif(rng) * 40);
    std::vector<double> w(n);
    for (auto& x : w) x = unif(rng) < 0.2 ? 0.0 : std::pow(10.0, 4 * unif(rng) - 2);
    if (std::all_of(w.begin(), w.end(), [](double x) { return x == 0; })) w[0] = 1;
    const long long total = std::uniform_int_distribution<long long>(0, trial % 2 ? 1000 : 1000000)(rng);
    const auto parts = split(total, w);
    REQUIRE(parts.size() == w.size());
    long double sum_w = 0;
    for (double x : w) sum_w += x;
    long long sum = 0;
    long double min_up = std::numeric_limits<long double>::infinity(), max_down = -1;
    for (int i = 0; i < n; ++i) {
      const long double quota = static_cast<long double>(total) * w[i] / sum_w;
      INFO("trial " << trial << ", part " << i << ": " << parts[i] << " for quota " << static_cast<double>(quota));
      REQUIRE(std::fabs(static_cast<long double>(parts[i]) - quota) < 1);
      REQUIRE(parts[i] >= 0);
      if (w[i] == 0) REQUIRE(parts[i] == 0);
      const long double remainder = quota - std::floor(quota);
      if (static_cast<long double>(parts[i]) > quota) min_up = std::min(min_up, remainder);
      else max_down = std::max(max_down, remainder);
      sum += parts[i];
    }
    REQUIRE(sum == total);
    // Largest remainders were rounded up: none rounded down beats one rounded up.
    REQUIRE(max_down <= min_up + 1e-9L);
  }
}

TEST_CASE("apportion refuses negative, infinite or NaN weights and a total it cannot place", "[apportion]") {
  const auto weights = mf_test::contains("apportion: weights must be finite and >= 0");
  REQUIRE_THROWS_AS_WITH(split(5, {1, -1}), input_error, weights);
  REQUIRE_THROWS_AS_WITH(split(5, {1, std::numeric_limits<double>::quiet_NaN()}), input_error, weights);
  REQUIRE_THROWS_AS_WITH(split(5, {std::numeric_limits<double>::infinity(), 1}), input_error, weights);
  REQUIRE_THROWS_AS_WITH(split(-1, {1, 1}), input_error, mf_test::contains("apportion: the total must be >= 0"));
  REQUIRE_THROWS_AS_WITH(split(3, {0, 0}), input_error,
                         mf_test::contains("apportion: a positive total needs a positive weight"));
  REQUIRE_THROWS_AS_WITH(split(3, {}), input_error,
                         mf_test::contains("apportion: a positive total needs a positive weight"));
}

TEST_CASE("cumulative_round keeps every prefix sum at its rounded value", "[apportion]") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> unif(0, 3);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<double> v(1 + trial % 50);
    for (auto& x : v) x = unif(rng);
    const auto out = cumulative_round(std::span<const double>(v));
    REQUIRE(out.size() == v.size());
    long double exact = 0;
    long long running = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
      exact += v[i];
      running += out[i];
      REQUIRE(std::fabs(static_cast<long double>(running) - exact) <= 0.5L + 1e-9L);
      REQUIRE(std::fabs(static_cast<long double>(out[i]) - v[i]) < 1);
      REQUIRE(out[i] >= 0);
    }
  }
  const std::vector<double> thirds{1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3};
  CHECK(cumulative_round(std::span<const double>(thirds)) == std::vector<long long>{0, 1, 0, 0, 1, 0});
  const std::vector<double> bad{1, -0.5};
  REQUIRE_THROWS_AS_WITH(cumulative_round(std::span<const double>(bad)), input_error,
                         mf_test::contains("cumulative_round: values must be finite and >= 0"));
}
