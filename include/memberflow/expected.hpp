#pragma once
// The expected-value engine: the exact mean of every stock and event of the model, by
// linearity of expectation. Each month the expected state of all units (units x state
// slots, one Eigen column per slot) is pushed through the model's moves, one column
// operation per slot, so a month costs O(units x slots) and no simulation is involved.
#include "memberflow/forecast.hpp"
#include "memberflow/scenario.hpp"

namespace memberflow {

namespace detail {

// One month of the model applied to expected counts. `state` holds the start of month t;
// on return `next` holds the start of month t + 1 and `events` (units x 5, in the order
// of event_names) the expected events of month t. The same move rules as
// pipeline-model.md, so the other engines are checked against it.
template <class State, class Next, class Events>
void expected_month(const pipeline& p, const parameter_set& ps, const State& state, Next& next,
                    Events& events) {
  enum { admissions, confirmations, arrivals, exits, leavers };
  next.setZero();
  events.setZero();
  for (std::size_t s = 0; s < p.size(); ++s) {
    const auto& st = p.stages()[s];
    const auto off = static_cast<Eigen::Index>(p.offset(s));
    const auto si = static_cast<Eigen::Index>(s);
    Eigen::ArrayXd moving_on;  // people leaving stage s for stage s + 1 this month
    switch (st.kind) {
      case stage_kind::markov: {
        const auto x = state.col(off);
        moving_on = x * ps.advance.col(si);
        events.col(exits) += x * ps.exit.col(si);
        next.col(off) += x * (1.0 - ps.advance.col(si) - ps.exit.col(si));
        break;
      }
      case stage_kind::fixed: {
        const auto e = ps.exit.col(si);
        for (Eigen::Index a = 0; a + 1 < st.months; ++a) {
          next.col(off + a + 1) += state.col(off + a) * (1.0 - e);
          events.col(exits) += state.col(off + a) * e;
        }
        // Age D-1: survive the month's exit, then pass (or fail and leave) at its end.
        const auto last = state.col(off + st.months - 1);
        const Eigen::ArrayXd survivors = last * (1.0 - e);
        moving_on = survivors * ps.pass_rate.col(si);
        events.col(exits) += last * e + survivors * (1.0 - ps.pass_rate.col(si));
        break;
      }
      case stage_kind::terminal: {
        const auto x = state.col(off);
        events.col(leavers) += x * ps.attrition.col(si);
        next.col(off) += x * (1.0 - ps.attrition.col(si));
        break;
      }
    }
    if (st.kind == stage_kind::terminal) continue;
    next.col(static_cast<Eigen::Index>(p.offset(s + 1))) += moving_on;  // a fixed stage starts at age 0
    if (s + 1 == p.admission()) events.col(admissions) += moving_on;
    if (s + 1 == p.terminal()) events.col(confirmations) += moving_on;
  }
  next.col(0) += ps.inflow;
  next.col(static_cast<Eigen::Index>(p.offset(p.terminal()))) += ps.transfer_in;
  events.col(arrivals) += ps.inflow + ps.transfer_in;
}

}  // namespace detail

// Expected stocks and events of every unit for months 0..horizon-1 (stocks to month
// `horizon`). Throws what scenario::validate throws, and input_error for horizon < 1.
forecast_result forecast_expected(const scenario& sc, int horizon);

}  // namespace memberflow
