#pragma once
// Splitting a node's target down the tree, in whole numbers that add up exactly
// (docs/planning.md). At every node the node's share is split among its parts: its
// children (each share is for the child's subtree) and, when the node has people of
// its own who can be admitted, the node itself (its own share, for its own admissions).
// Then each child's share is split in turn, down to the leaves.
//
//   risk      maximise sum_j log P(X_j >= t_j) over the parts (X_j: the part's
//             admissions over the horizon, exact pmfs). Greedy: start every part at its
//             minimum and give one unit at a time to the part whose
//             log P(X >= t + 1) - log P(X >= t) is largest. Optimal because each X_j is a
//             sum of independent binomials and a Poisson, hence log-concave, and so is its
//             survival function (the proof is in docs/planning.md).
//   expected  in proportion to expected admissions,
//   weight    in proportion to given weights (a child weighs its subtree's total),
// the last two within the bounds (a clamp of lambda * weight, found by bisection) and in
// whole numbers by the largest-remainder method (apportion.hpp).
//
// Ties go to the part listed first: the node's own part, then its children in the
// organisation's order. Bounds apply to every unit's share (its subtree's target);
// impossible bounds throw infeasible_target naming the unit and the constraint.
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "memberflow/distribution.hpp"
#include "memberflow/error.hpp"
#include "memberflow/exact.hpp"
#include "memberflow/scenario.hpp"

namespace memberflow {

// A target that cannot be split within the bounds: `unit` names the unit whose
// constraint fails, `constraint` says which ("minimum", "maximum", "children's minimums",
// "children's maximums", "minimum above maximum").
class infeasible_target : public input_error {
 public:
  infeasible_target(std::string unit, std::string constraint, const std::string& message)
      : input_error(message), unit_(std::move(unit)), constraint_(std::move(constraint)) {}
  const std::string& unit() const { return unit_; }
  const std::string& constraint() const { return constraint_; }

 private:
  std::string unit_, constraint_;
};

enum class allocation_method { risk, expected, weight };

// "risk", "expected", "weight"; input_error otherwise.
allocation_method parse_allocation_method(std::string_view name);

inline constexpr long long no_maximum = std::numeric_limits<long long>::max();

struct allocation_options {
  allocation_method method = allocation_method::risk;
  int horizon = 12;                 // admissions over months [0, horizon)
  std::vector<double> weights;      // method weight: one per unit (own weight), >= 0
  std::vector<long long> minimum;   // empty, or one per unit (its share's lower bound)
  std::vector<long long> maximum;   // empty, or one per unit; no_maximum = none
  double tolerance = exact_options{}.tolerance;  // the exact engine's tail tolerance
};

struct allocation {
  unit_index node = no_unit;        // the node whose target was split
  long long target = 0;
  std::vector<char> in_plan;        // per unit: 1 inside node's subtree
  std::vector<long long> share;     // the unit's subtree's target
  std::vector<long long> own_share; // the part of it for the unit's own admissions (= share at a leaf)
  std::vector<double> expected, own_expected;  // expected admissions (subtree, own)
  std::vector<double> p_meet, own_p_meet;      // P(admissions >= share), subtree and own (risk: exact;
                                               // other methods too, when computed)
  long long exact_evaluations = 0;  // calls to the exact engine (one per kind of pmf)
  long long greedy_steps = 0;       // units placed one at a time (risk)
};

// Splits `target` of `node` down to the leaves of its subtree.
allocation allocate(const scenario& sc, unit_index node, long long target, const allocation_options& opt = {});

// One node's split, for callers with their own parts. `names` name the parts in messages.
// Risk: pmfs of the parts' counts; lo/hi are the bounds (hi may be no_maximum).
std::vector<long long> split_risk(long long total, std::span<const pmf> parts, std::span<const long long> lo,
                                  std::span<const long long> hi, long long* steps = nullptr);
// In proportion to weights within the bounds; whole numbers by largest remainder. Where
// the weights cannot carry the total (all zero, or their parts at their maximums) the
// rest is split equally among the parts with room.
std::vector<long long> split_proportional(long long total, std::span<const double> weights,
                                          std::span<const long long> lo, std::span<const long long> hi);
// sum_j log P(X_j >= t_j) (-inf when some P is 0): the risk split's objective.
double risk_objective(std::span<const pmf> parts, std::span<const long long> shares);

}  // namespace memberflow
