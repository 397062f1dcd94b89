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
// on return `next` holds the start of month t + 1, `events` (units x 5, in the order of
// event_names) the expected events of month t, and `stage_stocks` (units x stages) the
// stock of every stage at the start of month t. The move rules are those of
// pipeline-model.md, written so that each output column is assigned once (one pass
// over memory per column: this loop is the whole cost of a national forecast).
template <class State, class Next, class Events, class Stocks>
void expected_month(const pipeline& p, const parameter_set& ps, const State& state, Next& next, Events& events,
                    Stocks& stage_stocks) {
  Eigen::ArrayXd entering = ps.inflow;  // people entering stage s this month
  Eigen::ArrayXd leaving = Eigen::ArrayXd::Zero(state.rows());
  for (std::size_t s = 0; s < p.size(); ++s) {
    const auto& st = p.stages()[s];
    const auto off = static_cast<Eigen::Index>(p.offset(s));
    const auto si = static_cast<Eigen::Index>(s);
    auto stock = stage_stocks.col(si);
    Eigen::ArrayXd moving_on;  // people leaving stage s for stage s + 1 this month
    switch (st.kind) {
      case stage_kind::markov: {
        const auto x = state.col(off);
        stock = x;
        moving_on = x * ps.advance.col(si);
        leaving += x * ps.exit.col(si);
        next.col(off) = x * (1.0 - ps.advance.col(si) - ps.exit.col(si)) + entering;
        break;
      }
      case stage_kind::fixed: {
        // Ages 0..D-1; a month's exits hit every age alike, then age D-1 passes or fails.
        const Eigen::ArrayXd keep = 1.0 - ps.exit.col(si);
        const auto last = state.col(off + st.months - 1);
        stock = last;
        for (Eigen::Index a = st.months - 1; a >= 1; --a) {
          next.col(off + a) = state.col(off + a - 1) * keep;
          stock += state.col(off + a - 1);
        }
        next.col(off) = entering;
        moving_on = last * keep * ps.pass_rate.col(si);
        leaving += stock * ps.exit.col(si) + last * keep * (1.0 - ps.pass_rate.col(si));
        break;
      }
      case stage_kind::terminal: {
        const auto x = state.col(off);
        stock = x;
        events.col(event_at::leavers) = x * ps.attrition.col(si);
        next.col(off) = x * (1.0 - ps.attrition.col(si)) + entering + ps.transfer_in;
        break;
      }
    }
    if (st.kind == stage_kind::terminal) break;
    if (s + 1 == p.admission()) events.col(event_at::admissions) = moving_on;
    if (s + 1 == p.terminal()) events.col(event_at::confirmations) = moving_on;
    entering = std::move(moving_on);
  }
  events.col(event_at::exits) = leaving;
  events.col(event_at::arrivals) = ps.inflow + ps.transfer_in;
}

}  // namespace detail

// How the expected-value engine runs (the defaults are here only).
struct expected_options {
  // Threads sharing blocks of units (detail::thread_count: 0 or less, one per core);
  // the result does not depend on it, to the bit.
  int threads = 0;
};

// Expected stocks and events of every unit for months 0..horizon-1 (stocks to month
// `horizon`). Throws what scenario::validate throws, and input_error for horizon < 1.
forecast_result forecast_expected(const scenario& sc, int horizon, const expected_options& options = {});

// The mean forecast over parameter sets drawn from their uncertainty (draw_parameters,
// estimate.hpp): the average of forecast_expected under each set, i.e. the exact mean of
// the predictive mixture (expectations are linear in the mixture's weights, not in the
// parameters, so this differs from the forecast at the parameters' means).
forecast_result forecast_expected(const scenario& sc, const std::vector<parameter_set>& draws, int horizon,
                                  const expected_options& options = {});

}  // namespace memberflow
