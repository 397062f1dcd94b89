#pragma once
// The funnel: the pipeline seen as an absorbing Markov chain (Kemeny & Snell, Finite
// Markov Chains, 1960; Grinstead & Snell, Introduction to Probability, 2nd ed., 1997,
// section 11.2). In canonical form P = [[Q, R], [0, I]] with Q among transient states
// and R into absorbing ones:
//   N = (I - Q)^-1     fundamental matrix: N(i, j) = expected visits to j from i
//   t = N 1            expected steps before absorption
//   B = N R            absorption probabilities
//   h(i, j) = N(i, j) / N(j, j), i != j: probability of ever reaching transient j
// and, conditioning on reaching a target (Doob's h-transform), the expected number of
// steps until it is reached: w = (I - Q')^-1 h' with Q', h' restricted to the states
// other than the target, then t(i) = w(i) / h(i).
#include <Eigen/Dense>
#include <limits>
#include <string>
#include <vector>

#include "memberflow/error.hpp"
#include "memberflow/pipeline.hpp"

namespace memberflow {

class absorbing_chain {
 public:
  // Q: transient x transient, R: transient x absorbing; rows of [Q R] must sum to 1.
  absorbing_chain(Eigen::MatrixXd q, Eigen::MatrixXd r);

  Eigen::Index transient_count() const { return q_.rows(); }
  Eigen::Index absorbing_count() const { return r_.cols(); }
  const Eigen::MatrixXd& fundamental() const { return n_; }
  Eigen::VectorXd expected_steps() const { return n_.rowwise().sum(); }
  Eigen::MatrixXd absorption_probabilities() const { return n_ * r_; }
  // P(ever reaching transient state j | start in i); 1 on the diagonal.
  Eigen::MatrixXd reach_probabilities() const;
  // E[steps until first entering transient state j | start in i, j is reached];
  // 0 on the diagonal, NaN where j is unreachable.
  Eigen::VectorXd steps_to_transient(Eigen::Index j) const;
  // E[steps until absorption in absorbing state k | start in i, absorbed in k].
  Eigen::VectorXd steps_to_absorbing(Eigen::Index k) const;

 private:
  Eigen::VectorXd conditional_steps(const Eigen::VectorXd& h, Eigen::Index exclude) const;
  Eigen::MatrixXd q_, r_, n_;
};

// One row per stage from `from` onwards, for one person now in stage `from` (at age
// `age` if it is a fixed stage):
//   prob_reach              P(ever entering the stage) (1 for `from` itself)
//   expected_time           expected months spent in the stage (for the terminal stage:
//                           prob_reach / attrition, infinite if attrition is 0)
//   expected_time_to_reach  expected months until entering it, given that it is entered
struct funnel_row {
  std::string stage;
  double prob_reach = 0, expected_time = 0, expected_time_to_reach = 0;
};

struct stage_rates {
  // Per stage, as in `stage`: advance, exit, pass_rate, attrition (other fields unused).
  std::vector<double> advance, exit, pass_rate, attrition;
  static stage_rates defaults(const pipeline& p);
};

// The chain of a pipeline: transient states are the non-terminal state slots; absorbing
// states are 0 = left the pipeline, 1 = entered the terminal stage.
absorbing_chain pipeline_chain(const pipeline& p, const stage_rates& rates);
std::vector<funnel_row> funnel(const pipeline& p, const stage_rates& rates, std::size_t from, int age = 0);

}  // namespace memberflow
