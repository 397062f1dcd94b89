#include "memberflow/expected.hpp"
#include "memberflow/forecast.hpp"
#include "memberflow/parallel.hpp"

#include <cstdlib>
#include <new>
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace memberflow {

namespace {

// The results of a national forecast fill about a gigabyte, written once. On Linux, ask
// for transparent huge pages: the first touch of 2 MiB pages costs about a third of
// that of 4 KiB pages (benchmarks/RESULTS.md), a large share of the whole forecast.
double* allocate_large(std::size_t bytes) {
  constexpr std::size_t huge = std::size_t{2} << 20;
  const std::size_t rounded = (bytes + huge - 1) / huge * huge;
  void* p = std::aligned_alloc(huge, rounded == 0 ? huge : rounded);
  if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure leaves ordinary pages
#endif
  return static_cast<double*>(p);
}

void free_large(double* p) { std::free(p); }

std::string lead(std::string_view what) { return what.empty() ? std::string() : std::string(what) + ": "; }

}  // namespace

void check_window(month_window w, int horizon, std::string_view what) {
  if (w.first < 0 || w.last > horizon || w.first >= w.last)
    throw input_error(lead(what) + "window [" + std::to_string(w.first) + ", " + std::to_string(w.last) +
                      ") must satisfy 0 <= first < last <= horizon = " + std::to_string(horizon));
}

void check_month(int month, int horizon, std::string_view what) {
  if (month < 0 || month > horizon)
    throw input_error(lead(what) + "month " + std::to_string(month) + " is outside 0.." + std::to_string(horizon));
}

void check_horizon(int horizon) {
  if (horizon < 1) throw input_error("the horizon must be at least 1 month, got " + std::to_string(horizon));
}

forecast_result::forecast_result(std::shared_ptr<const org> o, std::shared_ptr<const pipeline> p, int horizon)
    : org_(std::move(o)), pipeline_(std::move(p)), horizon_(horizon), block_(nullptr, free_large) {
  check_horizon(horizon);
  const auto n = static_cast<Eigen::Index>(org_->size());
  const auto stocks = static_cast<std::size_t>(n) * static_cast<std::size_t>(horizon + 1);
  const auto events = static_cast<std::size_t>(n) * static_cast<std::size_t>(horizon);
  bytes_ = sizeof(double) * (stocks * pipeline_->size() + events * event_names.size());
  // Left uninitialised: the engines write every entry.
  block_.reset(allocate_large(bytes_));
  double* next = block_.get();
  for (std::size_t s = 0; s < pipeline_->size(); ++s, next += stocks) values_.emplace_back(next, n, horizon + 1);
  for (std::size_t e = 0; e < event_names.size(); ++e, next += events) values_.emplace_back(next, n, horizon);
}

std::vector<std::string> forecast_result::quantities() const {
  std::vector<std::string> out;
  for (const auto& st : pipeline_->stages()) out.push_back(st.name);
  for (auto e : event_names) out.emplace_back(e);
  return out;
}

std::size_t forecast_result::slot(std::string_view quantity) const {
  if (const auto e = find_event(quantity); e < event_names.size()) return pipeline_->size() + e;
  for (std::size_t s = 0; s < pipeline_->size(); ++s)
    if (pipeline_->stages()[s].name == quantity) return s;
  std::string valid;
  for (const auto& q : quantities()) valid += (valid.empty() ? "" : ", ") + q;
  throw unknown_id("unknown quantity '" + std::string(quantity) + "' (quantities: " + valid + ")");
}

bool forecast_result::is_stock(std::string_view quantity) const { return slot(quantity) < pipeline_->size(); }

const forecast_result::series& forecast_result::own(std::string_view quantity) const { return values_[slot(quantity)]; }
forecast_result::series& forecast_result::own(std::string_view quantity) { return values_[slot(quantity)]; }

Eigen::ArrayXd forecast_result::total(std::string_view event, month_window w) const {
  if (is_stock(event))
    throw input_error("'" + std::string(event) + "' is a stock: ask for it at a month, not summed over a window");
  check_window(w);
  Eigen::ArrayXd sum = own(event).middleCols(w.first, w.last - w.first).rowwise().sum();
  org_->rollup_inplace(sum);
  return sum;
}

Eigen::ArrayXd forecast_result::stock(std::string_view stage, int month) const {
  if (!is_stock(stage)) throw input_error("'" + std::string(stage) + "' is an event, not a stage's stock");
  check_month(month, horizon_);
  Eigen::ArrayXd v = own(stage).col(month);
  org_->rollup_inplace(v);
  return v;
}

Eigen::ArrayXXd forecast_result::rolled(std::string_view quantity) const {
  Eigen::ArrayXXd v = own(quantity);
  org_->rollup_inplace(v);
  return v;
}

namespace {

// The parameters of units [begin, begin + count) (no provenance: the engine reads values).
parameter_set rows_of(const parameter_set& ps, Eigen::Index begin, Eigen::Index count) {
  parameter_set out;
  out.advance = ps.advance.middleRows(begin, count);
  out.exit = ps.exit.middleRows(begin, count);
  out.pass_rate = ps.pass_rate.middleRows(begin, count);
  out.attrition = ps.attrition.middleRows(begin, count);
  out.inflow = ps.inflow.segment(begin, count);
  out.transfer_in = ps.transfer_in.segment(begin, count);
  return out;
}

// All months for units [begin, begin + count). Units never interact in this engine, so
// a block small enough for the cache runs its whole horizon before the next block
// starts: 1.6x faster than month-major order at national scale (benchmarks/RESULTS.md).
void forecast_block(const scenario& sc, int horizon, Eigen::Index begin, Eigen::Index count,
                    const std::vector<forecast_result::series*>& stock_out,
                    const std::vector<forecast_result::series*>& event_out) {
  const auto& p = sc.model();
  const parameter_set ps = rows_of(sc.params, begin, count);
  Eigen::ArrayXXd state = sc.stocks.middleRows(begin, count), next(count, state.cols()),
                  events(count, static_cast<Eigen::Index>(event_names.size())),
                  stage_stocks(count, static_cast<Eigen::Index>(p.size()));
  for (int t = 0; t <= horizon; ++t) {
    // Month `horizon` is run for the stocks at its start; its events lie beyond the horizon.
    detail::expected_month(p, ps, state, next, events, stage_stocks);
    for (std::size_t s = 0; s < p.size(); ++s)
      stock_out[s]->col(t).segment(begin, count) = stage_stocks.col(static_cast<Eigen::Index>(s));
    if (t == horizon) break;
    for (std::size_t e = 0; e < event_names.size(); ++e)
      event_out[e]->col(t).segment(begin, count) = events.col(static_cast<Eigen::Index>(e));
    state.swap(next);
  }
}

}  // namespace

forecast_result forecast_expected(const scenario& sc, int horizon, const expected_options& options) {
  sc.validate();
  forecast_result result(sc.organisation, sc.stages, horizon);
  const auto& p = sc.model();
  const auto n = static_cast<Eigen::Index>(sc.units().size());
  std::vector<forecast_result::series*> stock_out, event_out;
  for (const auto& st : p.stages()) stock_out.push_back(&result.own(st.name));
  for (auto e : event_names) event_out.push_back(&result.own(e));
  constexpr Eigen::Index block = 4096;
  const auto blocks = static_cast<std::size_t>((n + block - 1) / block);
  // Each block writes its own rows with the same arithmetic whichever thread runs it,
  // so the result is bit-identical for any thread count.
  detail::for_each_item(blocks, options.threads, [&](std::size_t b) {
    const auto first = static_cast<Eigen::Index>(b) * block;
    forecast_block(sc, horizon, first, std::min(block, n - first), stock_out, event_out);
  });
  return result;
}

forecast_result forecast_expected(const scenario& sc, const std::vector<parameter_set>& draws, int horizon,
                                  const expected_options& options) {
  if (draws.empty()) throw input_error("forecast_expected: give at least one parameter set");
  forecast_result mean(sc.organisation, sc.stages, horizon);
  const auto names = mean.quantities();
  for (const auto& name : names) mean.own(name).setZero();
  const double weight = 1.0 / static_cast<double>(draws.size());
  for (const auto& ps : draws) {
    scenario one = sc;
    one.params = ps;
    const auto f = forecast_expected(one, horizon, options);
    for (const auto& name : names) mean.own(name) += weight * f.own(name);
  }
  return mean;
}

}  // namespace memberflow
