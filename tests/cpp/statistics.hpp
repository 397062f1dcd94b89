#pragma once
// Goodness-of-fit helpers shared by the tests that compare draws or simulations with an
// exact pmf. Thresholds are derived, never tuned: the (1 - tail) quantile of chi-square
// by Wilson & Hilferty (1931), (X/k)^(1/3) nearly normal with mean 1 - 2/(9k) and
// variance 2/(9k) (it errs high by 1.2% at 5 degrees of freedom, less above).
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "memberflow/distribution.hpp"

namespace mf_test {

// z with P(Z > z) = tail for a standard normal Z, by bisection on erfc.
inline double normal_upper_quantile(double tail) {
  double lo = 0, hi = 40;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (0.5 * std::erfc(mid / std::sqrt(2.0)) > tail ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

// The (1 - tail) quantile of chi-square with `dof` degrees of freedom.
inline double chi_square_quantile(int dof, double tail = 1e-3) {
  const double k = std::max(dof, 1), h = 2.0 / (9.0 * k), z = normal_upper_quantile(tail);
  return k * std::pow(1 - h + z * std::sqrt(h), 3);
}

struct chi_square_result {
  double statistic = 0;
  int dof = 0;
  double threshold = 0;
  bool passes() const { return statistic < threshold; }
  std::string describe() const {
    return "chi-square " + std::to_string(statistic) + " on " + std::to_string(dof) + " dof, threshold " +
           std::to_string(threshold);
  }
};

using counts = std::map<long long, long long>;

// A pmf tabulated from a function over [lo, hi] (the mass outside must be negligible).
inline memberflow::pmf tabulate(long long lo, long long hi, const std::function<double(long long)>& f) {
  memberflow::pmf out;
  out.offset = lo;
  out.p.clear();
  for (long long k = lo; k <= hi; ++k) out.p.push_back(f(k));
  return out;
}

// Pearson's statistic of `observed` (value -> count, n in all) against the pmf `ref`:
// adjacent values merged from the left until each bin expects >= 5, a short last bin
// joined to the one before; observations outside ref's support count in the end bins.
// Threshold: the (1 - tail) quantile for the bins' degrees of freedom.
inline chi_square_result chi_square(const counts& observed, long long n, const memberflow::pmf& ref,
                                    double tail = 1e-3) {
  std::vector<double> expected, seen;
  double e = 0, o = 0;
  for (long long k = ref.first(); k <= ref.last(); ++k) {
    e += static_cast<double>(n) * ref.at(k);
    if (auto it = observed.find(k); it != observed.end()) o += static_cast<double>(it->second);
    if (e >= 5) {
      expected.push_back(e);
      seen.push_back(o);
      e = o = 0;
    }
  }
  if (expected.empty()) {
    expected.push_back(e);
    seen.push_back(o);
  } else {
    expected.back() += e;
    seen.back() += o;
  }
  for (const auto& [k, c] : observed) {
    if (k < ref.first()) seen.front() += static_cast<double>(c);
    if (k > ref.last()) seen.back() += static_cast<double>(c);
  }
  chi_square_result r;
  for (std::size_t i = 0; i < expected.size(); ++i)
    r.statistic += (seen[i] - expected[i]) * (seen[i] - expected[i]) / expected[i];
  r.dof = static_cast<int>(expected.size()) - 1;
  r.threshold = chi_square_quantile(r.dof, tail);
  return r;
}

}  // namespace mf_test
