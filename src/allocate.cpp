#include "memberflow/allocate.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>

#include "memberflow/apportion.hpp"
#include "memberflow/exact.hpp"

namespace memberflow {

allocation_method parse_allocation_method(std::string_view name) {
  if (name == "risk") return allocation_method::risk;
  if (name == "expected") return allocation_method::expected;
  if (name == "weight") return allocation_method::weight;
  throw input_error("unknown allocation method '" + std::string(name) + "' (methods: risk, expected, weight)");
}

namespace {

constexpr double minus_inf = -std::numeric_limits<double>::infinity();

// log P(X >= t) of one pmf in O(1) a call: prefix sums from both ends, each probability
// taken from the smaller side so that small tails keep their relative accuracy.
class log_survival {
 public:
  explicit log_survival(const pmf& f) : offset_(f.offset), lower_(f.p.size() + 1, 0.0), upper_(f.p.size() + 1, 0.0) {
    for (std::size_t k = 0; k < f.p.size(); ++k) lower_[k + 1] = lower_[k] + f.p[k];
    for (std::size_t k = f.p.size(); k-- > 0;) upper_[k] = upper_[k + 1] + f.p[k];
  }
  double operator()(long long t) const {
    if (t <= offset_) return 0.0;
    const auto i = static_cast<std::size_t>(t - offset_);
    if (i >= upper_.size() - 1) return minus_inf;
    const double up = upper_[i], low = lower_[i];
    if (up <= 0) return minus_inf;
    return up <= low ? std::log(up) : std::log1p(-low);
  }

 private:
  long long offset_;
  std::vector<double> lower_, upper_;  // lower_[i] = sum p[0..i), upper_[i] = sum p[i..)
};

void check_split_args(long long total, std::size_t n, std::span<const long long> lo, std::span<const long long> hi) {
  if (lo.size() != n || hi.size() != n) throw input_error("split: one minimum and one maximum per part");
  if (total < 0) throw input_error("split: the total must be >= 0");
  long long sum_lo = 0;
  double sum_hi = 0;
  for (std::size_t j = 0; j < n; ++j) {
    if (lo[j] < 0 || lo[j] > hi[j])
      throw input_error("split: part " + std::to_string(j) + " needs 0 <= minimum <= maximum");
    sum_lo += lo[j];
    sum_hi += hi[j] == no_maximum ? std::numeric_limits<double>::infinity() : static_cast<double>(hi[j]);
  }
  if (sum_lo > total)
    throw input_error("split: the minimums add up to " + std::to_string(sum_lo) + ", above the total " +
                      std::to_string(total));
  if (sum_hi < static_cast<double>(total))
    throw input_error("split: the maximums add up to " + std::to_string(static_cast<long long>(sum_hi)) +
                      ", below the total " + std::to_string(total));
}

double upper(long long hi) { return hi == no_maximum ? std::numeric_limits<double>::infinity() : static_cast<double>(hi); }

}  // namespace

double risk_objective(std::span<const pmf> parts, std::span<const long long> shares) {
  double sum = 0;
  for (std::size_t j = 0; j < parts.size(); ++j) {
    const double p = parts[j].prob_at_least(shares[j]);
    if (p <= 0) return minus_inf;
    sum += std::log(p);
  }
  return sum;
}

std::vector<long long> split_risk(long long total, std::span<const pmf> parts, std::span<const long long> lo,
                                  std::span<const long long> hi, long long* steps) {
  const auto n = parts.size();
  check_split_args(total, n, lo, hi);
  std::vector<long long> t(lo.begin(), lo.end());
  long long left = total - std::accumulate(lo.begin(), lo.end(), 0LL);
  std::vector<log_survival> logs;
  logs.reserve(n);
  for (const auto& f : parts) logs.emplace_back(f);
  // Phase 1: the largest marginal gain log S(t + 1) - log S(t) first; a part whose next
  // unit would have probability 0 (gain -inf) waits. Equal gains: the lower index.
  struct item {
    double key;
    std::size_t j;
  };
  auto before = [](const item& a, const item& b) { return a.key < b.key || (a.key == b.key && a.j > b.j); };
  std::priority_queue<item, std::vector<item>, decltype(before)> queue(before);
  auto offer = [&](std::size_t j) {
    if (t[j] >= hi[j]) return;
    const double next = logs[j](t[j] + 1);
    if (next == minus_inf) return;
    queue.push({next - logs[j](t[j]), j});
  };
  for (std::size_t j = 0; j < n; ++j) offer(j);
  long long placed = 0;
  while (left > 0 && !queue.empty()) {
    const auto j = queue.top().j;
    queue.pop();
    ++t[j], --left, ++placed;
    offer(j);
  }
  // Phase 2: no part can take another unit with a positive probability of meeting it,
  // so every split of the rest has objective -inf. Each further unit goes to the part
  // whose share exceeds its expected count the least (ties: the lower index).
  if (left > 0) {
    std::vector<double> mean(n);
    for (std::size_t j = 0; j < n; ++j) mean[j] = parts[j].mean();
    std::priority_queue<item, std::vector<item>, decltype(before)> excess(before);
    for (std::size_t j = 0; j < n; ++j)
      if (t[j] < hi[j]) excess.push({-(static_cast<double>(t[j] + 1) - mean[j]), j});
    while (left > 0) {
      const auto j = excess.top().j;
      excess.pop();
      ++t[j], --left, ++placed;
      if (t[j] < hi[j]) excess.push({-(static_cast<double>(t[j] + 1) - mean[j]), j});
    }
  }
  if (steps) *steps += placed;
  return t;
}

std::vector<long long> split_proportional(long long total, std::span<const double> weights,
                                          std::span<const long long> lo, std::span<const long long> hi) {
  const auto n = weights.size();
  check_split_args(total, n, lo, hi);
  for (double w : weights)
    if (!std::isfinite(w) || w < 0) throw input_error("split: weights must be finite and >= 0");
  // What the weights can carry: parts with weight up to their maximum, the rest at their minimum.
  double carry = 0;
  for (std::size_t j = 0; j < n; ++j) carry += weights[j] > 0 ? upper(hi[j]) : static_cast<double>(lo[j]);
  if (carry < static_cast<double>(total)) {
    // The weighted parts take their maximums; the rest is split equally among the others.
    std::vector<long long> lo2(lo.begin(), lo.end());
    std::vector<double> ones(n, 0.0);
    for (std::size_t j = 0; j < n; ++j) {
      if (weights[j] > 0) lo2[j] = hi[j];
      ones[j] = lo2[j] < hi[j] ? 1.0 : 0.0;
    }
    return split_proportional(total, ones, lo2, hi);
  }
  auto filled = [&](double lambda) {
    double s = 0;
    for (std::size_t j = 0; j < n; ++j) s += std::clamp(lambda * weights[j], static_cast<double>(lo[j]), upper(hi[j]));
    return s;
  };
  const double target = static_cast<double>(total);
  double a = 0, b = 1;
  for (int i = 0; i < 2100 && filled(b) < target; ++i) b *= 2;
  for (int i = 0; i < 200 && b - a > 0; ++i) {
    const double m = 0.5 * (a + b);
    if (m <= a || m >= b) break;
    (filled(m) < target ? a : b) = m;
  }
  // Above the minimums: clamp(b w_j) - lo_j, split in whole numbers by largest remainder.
  std::vector<double> extra(n);
  long long rest = total;
  for (std::size_t j = 0; j < n; ++j) {
    extra[j] = std::clamp(b * weights[j], static_cast<double>(lo[j]), upper(hi[j])) - static_cast<double>(lo[j]);
    rest -= lo[j];
  }
  std::vector<long long> out(lo.begin(), lo.end());
  if (rest == 0) return out;
  const auto parts = apportion(rest, extra);
  for (std::size_t j = 0; j < n; ++j) out[j] += parts[j];
  // Rounding can put a part a hair over its maximum only through floating-point noise;
  // move any such unit to the part with room that is furthest below its quota.
  for (std::size_t j = 0; j < n; ++j)
    while (out[j] > hi[j]) {
      std::size_t best = n;
      double gap = minus_inf;
      for (std::size_t k = 0; k < n; ++k)
        if (out[k] < hi[k] && static_cast<double>(lo[k]) + extra[k] - static_cast<double>(out[k]) > gap)
          gap = static_cast<double>(lo[k]) + extra[k] - static_cast<double>(out[k]), best = k;
      --out[j], ++out[best];
    }
  return out;
}

allocation allocate(const scenario& sc, unit_index node, long long target, const allocation_options& opt) {
  const org& o = sc.units();
  const auto n = o.size();
  const std::string& node_id = o.id(node);  // checks the index
  if (target < 0) throw input_error("allocate: the target of '" + node_id + "' must be >= 0, got " + std::to_string(target));
  if (!opt.minimum.empty() && opt.minimum.size() != n)
    throw input_error("allocate: give one minimum per unit (" + std::to_string(n) + "), got " +
                      std::to_string(opt.minimum.size()));
  if (!opt.maximum.empty() && opt.maximum.size() != n)
    throw input_error("allocate: give one maximum per unit (" + std::to_string(n) + "), got " +
                      std::to_string(opt.maximum.size()));
  std::vector<long long> lo = opt.minimum.empty() ? std::vector<long long>(n, 0) : opt.minimum;
  std::vector<long long> hi = opt.maximum.empty() ? std::vector<long long>(n, no_maximum) : opt.maximum;
  for (auto u : o.subtree(node)) {
    const auto i = static_cast<std::size_t>(u);
    if (lo[i] < 0) throw infeasible_target(o.id(u), "minimum", "allocate: the minimum of '" + o.id(u) + "' is negative");
    if (hi[i] < 0) throw infeasible_target(o.id(u), "maximum", "allocate: the maximum of '" + o.id(u) + "' is negative");
    if (lo[i] > hi[i])
      throw infeasible_target(o.id(u), "minimum above maximum",
                              "allocate: the minimum " + std::to_string(lo[i]) + " of '" + o.id(u) +
                                  "' is above its maximum " + std::to_string(hi[i]));
  }
  std::vector<double> weights;
  if (opt.method == allocation_method::weight) {
    if (opt.weights.size() != n)
      throw input_error("allocate: method 'weight' needs one weight per unit (" + std::to_string(n) + "), got " +
                        std::to_string(opt.weights.size()));
    for (std::size_t u = 0; u < n; ++u)
      if (!std::isfinite(opt.weights[u]) || opt.weights[u] < 0)
        throw input_error("allocate: the weight of '" + o.id(static_cast<unit_index>(u)) + "' must be finite and >= 0");
    weights = o.rollup(std::span<const double>(opt.weights));
  }

  allocation out;
  out.node = node;
  out.target = target;
  const exact_forecast ex(sc, opt.horizon, {.tolerance = opt.tolerance});
  const month_window window{0, opt.horizon};
  const auto own = ex.own_events("admissions", window).nodes;
  const auto sub = ex.events("admissions", window).nodes;
  out.exact_evaluations = 2;
  out.own_expected.resize(n);
  for (std::size_t u = 0; u < n; ++u) out.own_expected[u] = own[u].mean();
  out.expected = o.rollup(std::span<const double>(out.own_expected));

  // A node with children has an own part when its own people can be admitted at all.
  std::vector<char> leaf(n, 0), has_own(n, 0);
  for (auto u : o.subtree(node)) {
    const auto i = static_cast<std::size_t>(u);
    leaf[i] = o.children(u).empty();
    has_own[i] = !leaf[i] && own[i].last() > 0;
  }
  // Effective bounds, bottom-up: a share must also fit what the children can take.
  std::vector<long long> elo(n, 0), ehi(n, 0);
  const auto subtree = o.subtree(node);  // preorder: reversed, every child before its parent
  for (auto it = subtree.rbegin(); it != subtree.rend(); ++it) {
    const auto u = *it;
    const auto i = static_cast<std::size_t>(u);
    if (leaf[i]) {
      elo[i] = lo[i], ehi[i] = hi[i];
      continue;
    }
    long long clo = 0, chi = has_own[i] ? no_maximum : 0;
    for (auto c : o.children(u)) {
      const auto ci = static_cast<std::size_t>(c);
      clo += elo[ci];
      chi = chi == no_maximum || ehi[ci] == no_maximum ? no_maximum : chi + ehi[ci];
    }
    if (clo > hi[i])
      throw infeasible_target(o.id(u), "children's minimums",
                              "allocate: the minimums below the children of '" + o.id(u) + "' add up to " +
                                  std::to_string(clo) + ", above its maximum " + std::to_string(hi[i]));
    if (chi < lo[i])
      throw infeasible_target(o.id(u), "children's maximums",
                              "allocate: the maximums below the children of '" + o.id(u) + "' add up to " +
                                  std::to_string(chi) + ", below its minimum " + std::to_string(lo[i]));
    elo[i] = std::max(lo[i], clo);
    ehi[i] = std::min(hi[i], chi);
  }
  const auto ni = static_cast<std::size_t>(node);
  if (target < elo[ni])
    throw infeasible_target(node_id, lo[ni] >= elo[ni] ? "minimum" : "children's minimums",
                            "allocate: the target " + std::to_string(target) + " of '" + node_id + "' is below " +
                                (lo[ni] >= elo[ni] ? "its minimum " : "the minimums of the units below it, adding up to ") +
                                std::to_string(elo[ni]));
  if (target > ehi[ni])
    throw infeasible_target(node_id, hi[ni] <= ehi[ni] ? "maximum" : "children's maximums",
                            "allocate: the target " + std::to_string(target) + " of '" + node_id + "' is above " +
                                (hi[ni] <= ehi[ni] ? "its maximum " : "the maximums of the units below it, adding up to ") +
                                std::to_string(ehi[ni]));

  out.in_plan.assign(n, 0);
  out.share.assign(n, 0);
  out.own_share.assign(n, 0);
  out.share[ni] = target;
  std::vector<pmf> part_pmfs;
  std::vector<double> part_weights;
  std::vector<long long> plo, phi;
  for (auto u : subtree) {
    const auto i = static_cast<std::size_t>(u);
    out.in_plan[i] = 1;
    if (leaf[i]) {
      out.own_share[i] = out.share[i];
      continue;
    }
    const auto children = o.children(u);
    part_pmfs.clear(), part_weights.clear(), plo.clear(), phi.clear();
    auto add = [&](const pmf& f, double expected, double weight, long long a, long long b) {
      if (opt.method == allocation_method::risk) part_pmfs.push_back(f);
      part_weights.push_back(opt.method == allocation_method::weight ? weight : expected);
      plo.push_back(a), phi.push_back(b);
    };
    if (has_own[i]) add(own[i], out.own_expected[i], weights.empty() ? 0 : opt.weights[i], 0, no_maximum);
    for (auto c : children) {
      const auto ci = static_cast<std::size_t>(c);
      add(sub[ci], out.expected[ci], weights.empty() ? 0 : weights[ci], elo[ci], ehi[ci]);
    }
    const auto split = opt.method == allocation_method::risk
                           ? split_risk(out.share[i], part_pmfs, plo, phi, &out.greedy_steps)
                           : split_proportional(out.share[i], part_weights, plo, phi);
    std::size_t k = 0;
    if (has_own[i]) out.own_share[i] = split[k++];
    for (auto c : children) out.share[static_cast<std::size_t>(c)] = split[k++];
  }
  out.p_meet.assign(n, std::numeric_limits<double>::quiet_NaN());
  out.own_p_meet = out.p_meet;
  for (auto u : subtree) {
    const auto i = static_cast<std::size_t>(u);
    out.p_meet[i] = sub[i].prob_at_least(out.share[i]);
    if (leaf[i] || has_own[i]) out.own_p_meet[i] = own[i].prob_at_least(out.own_share[i]);
  }
  return out;
}

}  // namespace memberflow
