#pragma once
// What a forecast reports (shared/spec/pipeline-model.md, "Events and stocks"): for every
// unit, the stock of each stage at the start of months 0..H and the events of months
// 0..H-1 (admissions, confirmations, arrivals, exits from the pipeline's stages, leavers
// from the terminal stage). A node's figure is the sum over its subtree; results keep
// each unit's own figures and roll them up on request, in O(units).
#include <Eigen/Core>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "memberflow/org.hpp"
#include "memberflow/pipeline.hpp"

namespace memberflow {

// Months [first, last) of a forecast; {0, 12} is the first year, {0, 3} its first quarter.
struct month_window {
  int first = 0;
  int last = 0;
};

// The checks every engine makes of what it is asked for, with one wording. `what`, if
// given, names the request and leads the message ("tracked 'admissions': window ...").
// Throws input_error naming the window unless 0 <= first < last <= horizon:
//   "window [3, 14) must satisfy 0 <= first < last <= horizon = 12".
void check_window(month_window w, int horizon, std::string_view what = {});
// Throws input_error unless 0 <= month <= horizon (a stock's month; the horizon's own
// start included): "month 13 is outside 0..12".
void check_month(int month, int horizon, std::string_view what = {});
// Throws input_error unless horizon >= 1: "the horizon must be at least 1 month, got 0".
void check_horizon(int horizon);

class forecast_result {
 public:
  // Each quantity's values are a units x months view into one block of memory.
  using series = Eigen::Map<Eigen::ArrayXXd>;

  forecast_result(std::shared_ptr<const org> o, std::shared_ptr<const pipeline> p, int horizon);
  // Movable, not copyable: a national forecast holds about a gigabyte.
  forecast_result(forecast_result&&) noexcept = default;
  forecast_result& operator=(forecast_result&&) noexcept = default;
  forecast_result(const forecast_result&) = delete;
  forecast_result& operator=(const forecast_result&) = delete;

  const org& units() const { return *org_; }
  const pipeline& model() const { return *pipeline_; }
  std::shared_ptr<const org> units_ptr() const { return org_; }
  int horizon() const { return horizon_; }

  // Quantity names: the stage names (stocks), then the event names.
  std::vector<std::string> quantities() const;
  bool is_stock(std::string_view quantity) const;
  // A unit's own expected figures, units x months (H + 1 months for stocks, H for events).
  // Throws unknown_id for an unknown quantity.
  const series& own(std::string_view quantity) const;
  series& own(std::string_view quantity);
  // Bytes held by the per-unit series.
  std::size_t bytes() const { return bytes_; }

  // Expected event count summed over a window of months, for every node (subtree total).
  Eigen::ArrayXd total(std::string_view event, month_window w) const;
  // Expected stock of a stage at the start of `month` (0..H), for every node.
  Eigen::ArrayXd stock(std::string_view stage, int month) const;
  // Every month at once, rolled up: units x months.
  Eigen::ArrayXXd rolled(std::string_view quantity) const;

  month_window whole() const { return {0, horizon_}; }
  // memberflow::check_window against this result's horizon.
  void check_window(month_window w) const { memberflow::check_window(w, horizon_); }

 private:
  std::size_t slot(std::string_view quantity) const;

  std::shared_ptr<const org> org_;
  std::shared_ptr<const pipeline> pipeline_;
  int horizon_;
  std::unique_ptr<double, void (*)(double*)> block_;
  std::size_t bytes_ = 0;
  std::vector<series> values_;  // stages first, then events, as quantities()
};

}  // namespace memberflow
