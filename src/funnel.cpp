#include "memberflow/funnel.hpp"

#include <cmath>

namespace memberflow {

absorbing_chain::absorbing_chain(Eigen::MatrixXd q, Eigen::MatrixXd r) : q_(std::move(q)), r_(std::move(r)) {
  if (q_.rows() != q_.cols() || r_.rows() != q_.rows())
    throw input_error("absorbing chain: Q must be square and R must have as many rows as Q");
  if ((q_.array() < 0).any() || (r_.array() < 0).any())
    throw parameter_error("absorbing chain: negative transition probability");
  const Eigen::VectorXd rows = q_.rowwise().sum() + r_.rowwise().sum();
  for (Eigen::Index i = 0; i < rows.size(); ++i)
    if (std::abs(rows(i) - 1) > 1e-9)
      throw parameter_error("absorbing chain: row " + std::to_string(i) + " of [Q R] sums to " +
                            std::to_string(rows(i)) + ", not 1");
  const Eigen::MatrixXd a = Eigen::MatrixXd::Identity(q_.rows(), q_.cols()) - q_;
  Eigen::FullPivLU<Eigen::MatrixXd> lu(a);
  if (!lu.isInvertible())
    throw parameter_error("absorbing chain: I - Q is singular, so some transient state is never left");
  n_ = lu.inverse();
}

Eigen::MatrixXd absorbing_chain::reach_probabilities() const {
  Eigen::MatrixXd h = n_;
  for (Eigen::Index j = 0; j < n_.cols(); ++j) h.col(j) /= n_(j, j);
  h.diagonal().setOnes();
  return h;
}

Eigen::VectorXd absorbing_chain::conditional_steps(const Eigen::VectorXd& h, Eigen::Index exclude) const {
  // w = h + Q' w on the states other than `exclude`; then t = w / h.
  const Eigen::Index m = q_.rows();
  std::vector<Eigen::Index> keep;
  for (Eigen::Index i = 0; i < m; ++i)
    if (i != exclude) keep.push_back(i);
  const auto k = static_cast<Eigen::Index>(keep.size());
  Eigen::MatrixXd a = Eigen::MatrixXd::Identity(k, k);
  Eigen::VectorXd b(k);
  for (Eigen::Index x = 0; x < k; ++x) {
    b(x) = h(keep[x]);
    for (Eigen::Index y = 0; y < k; ++y) a(x, y) -= q_(keep[x], keep[y]);
  }
  const Eigen::VectorXd w = a.fullPivLu().solve(b);
  Eigen::VectorXd t = Eigen::VectorXd::Constant(m, std::numeric_limits<double>::quiet_NaN());
  for (Eigen::Index x = 0; x < k; ++x)
    if (h(keep[x]) > 0) t(keep[x]) = w(x) / h(keep[x]);
  return t;
}

Eigen::VectorXd absorbing_chain::steps_to_transient(Eigen::Index j) const {
  Eigen::VectorXd t = conditional_steps(reach_probabilities().col(j), j);
  t(j) = 0;
  return t;
}

Eigen::VectorXd absorbing_chain::steps_to_absorbing(Eigen::Index k) const {
  return conditional_steps(absorption_probabilities().col(k), -1);
}

stage_rates stage_rates::defaults(const pipeline& p) {
  stage_rates r;
  for (const auto& st : p.stages()) {
    r.advance.push_back(st.advance);
    r.exit.push_back(st.exit);
    r.pass_rate.push_back(st.pass_rate);
    r.attrition.push_back(st.attrition);
  }
  return r;
}

absorbing_chain pipeline_chain(const pipeline& p, const stage_rates& rates) {
  const auto m = static_cast<Eigen::Index>(p.offset(p.terminal()));  // non-terminal slots
  Eigen::MatrixXd q = Eigen::MatrixXd::Zero(m, m), r = Eigen::MatrixXd::Zero(m, 2);
  auto into = [&](std::size_t s, Eigen::Index from, double prob) {
    // Entering stage s (age 0 if fixed): the terminal stage is absorbing state 1.
    if (s == p.terminal()) r(from, 1) += prob;
    else q(from, static_cast<Eigen::Index>(p.offset(s))) += prob;
  };
  for (std::size_t s = 0; s < p.terminal(); ++s) {
    const auto& st = p.stages()[s];
    const auto off = static_cast<Eigen::Index>(p.offset(s));
    if (st.kind == stage_kind::markov) {
      q(off, off) += 1 - rates.advance[s] - rates.exit[s];
      r(off, 0) += rates.exit[s];
      into(s + 1, off, rates.advance[s]);
    } else {  // fixed
      for (Eigen::Index a = 0; a + 1 < st.months; ++a) {
        q(off + a, off + a + 1) += 1 - rates.exit[s];
        r(off + a, 0) += rates.exit[s];
      }
      const auto last = off + st.months - 1;
      const double survive = 1 - rates.exit[s];
      r(last, 0) += rates.exit[s] + survive * (1 - rates.pass_rate[s]);
      into(s + 1, last, survive * rates.pass_rate[s]);
    }
  }
  return absorbing_chain(std::move(q), std::move(r));
}

std::vector<funnel_row> funnel(const pipeline& p, const stage_rates& rates, std::size_t from, int age) {
  if (from >= p.terminal())
    throw input_error("funnel: start from a stage before the terminal stage '" + p.stages().back().name + "'");
  const auto& start_stage = p.stages()[from];
  const int width = static_cast<int>(p.width(from));
  if (age < 0 || age >= width)
    throw input_error("funnel: age " + std::to_string(age) + " is outside 0.." + std::to_string(width - 1) +
                      " for stage '" + start_stage.name + "'");
  const auto chain = pipeline_chain(p, rates);
  const auto start = static_cast<Eigen::Index>(p.offset(from)) + age;
  const Eigen::MatrixXd h = chain.reach_probabilities();
  const Eigen::MatrixXd& n = chain.fundamental();
  std::vector<funnel_row> rows;
  for (std::size_t s = from; s < p.terminal(); ++s) {
    const auto entry = static_cast<Eigen::Index>(p.offset(s)) + (s == from ? age : 0);
    funnel_row row{p.stages()[s].name, 0, 0, 0};
    row.prob_reach = s == from ? 1.0 : h(start, entry);
    for (auto j = static_cast<Eigen::Index>(p.offset(s)); j < static_cast<Eigen::Index>(p.offset(s) + p.width(s)); ++j)
      row.expected_time += n(start, j);
    row.expected_time_to_reach = s == from ? 0.0 : chain.steps_to_transient(entry)(start);
    rows.push_back(row);
  }
  const double reach_terminal = chain.absorption_probabilities()(start, 1);
  const double attrition = rates.attrition[p.terminal()];
  rows.push_back({p.stages().back().name, reach_terminal,
                  attrition > 0 ? reach_terminal / attrition
                                : (reach_terminal > 0 ? std::numeric_limits<double>::infinity() : 0.0),
                  chain.steps_to_absorbing(1)(start)});
  return rows;
}

}  // namespace memberflow
