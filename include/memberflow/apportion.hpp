#pragma once
// Splitting a whole number across parts in proportion to weights, in whole numbers:
// Hamilton's largest-remainder method (Balinski & Young, Fair Representation, 1982).
// Each part gets floor(total * w / sum w), and the units left over go to the largest
// remainders, ties to the lower index. Used to round expected counts into whole stocks
// that keep their total, and to split a target down the tree.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>
#include <vector>

#include "memberflow/error.hpp"

namespace memberflow {

inline std::vector<long long> apportion(long long total, std::span<const double> weights) {
  if (total < 0) throw input_error("apportion: the total must be >= 0");
  double sum = 0;
  for (double w : weights) {
    if (!std::isfinite(w) || w < 0) throw input_error("apportion: weights must be finite and >= 0");
    sum += w;
  }
  std::vector<long long> parts(weights.size(), 0);
  if (total == 0) return parts;
  if (sum <= 0) throw input_error("apportion: a positive total needs a positive weight");
  std::vector<double> remainder(weights.size());
  long long given = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const double exact = static_cast<double>(total) * weights[i] / sum;
    parts[i] = static_cast<long long>(std::floor(exact));
    remainder[i] = exact - static_cast<double>(parts[i]);
    given += parts[i];
  }
  std::vector<std::size_t> order(weights.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return remainder[a] > remainder[b]; });
  for (std::size_t k = 0; given < total; ++k, ++given) ++parts[order[k % order.size()]];
  return parts;
}

// Whole numbers whose every prefix sum is the rounded prefix sum of `values`
// (cumulative, or systematic, rounding): x_i = round(S_i) - round(S_{i-1}). The total
// and every run of neighbours keep their expected size within one, so in units listed
// tree-wise each committee keeps its share, where largest-remainder rounding of many
// small values would give every leftover to the first units of equal remainder.
inline std::vector<long long> cumulative_round(std::span<const double> values) {
  std::vector<long long> out(values.size());
  double sum = 0;
  long long previous = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]) || values[i] < 0)
      throw input_error("cumulative_round: values must be finite and >= 0");
    sum += values[i];
    const auto rounded = std::llround(sum);
    out[i] = rounded - previous;
    previous = rounded;
  }
  return out;
}

}  // namespace memberflow
