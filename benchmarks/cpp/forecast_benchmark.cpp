// Expected-value forecast (memberflow::forecast_expected), 60 months, of the synthetic
// organisations: a province (fanout {11, 74.3, 4.8}, ~4,700 units) and the nation
// (datasets::synthetic({}), ~302,000 units).
//
// Every forecast is checked before its time counts (outside the timed region): at every
// month the people in all stages of all units (the root's subtree) must follow
//   people(t + 1) = people(t) + arrivals(t) - exits(t) - leavers(t)
// within 1e-6 relative, month 0 must hold the scenario's stocks, the roll-up of
// admissions to the root must equal their plain sum, and admissions must be > 0. A
// failed check skips the benchmark with the reason and makes the program exit with 1.
//
// Counters: result_bytes (the result's arrays: units x (H + 1) per stage, units x H per
// event, 8 bytes each), peak_rss (the process's peak RSS over the benchmark, reset
// before it when /proc/self/clear_refs allows; peak_rss_reset = 1 then), rss_before
// (RSS before the first iteration: scenario and program), unit_months/s.
//
// Two more benchmarks split the national cost: ExpectedMonth is one month of the model
// on preallocated state (no result arrays), ResultWriteOnly allocates the result arrays
// and writes every entry once (no model): the floor set by the output's size.
// BlockedPrototype (bottom of this file) measures a suggested restructuring of the engine
// (since fc562dc the engine itself runs blocks of 4,096 units, shared between threads).
//
// ForecastExpectedThreads times forecast_expected(sc, 60, threads) with threads = 1 and
// 2 (BM_ForecastExpected uses the default, 0: one thread per core), after checking the
// result bit for bit against the one-thread result; ThreadsPaired runs both thread counts
// in every iteration (alternating which goes first) and reports the ratio of their best
// times, which a shared machine's drifting load disturbs less than two separate runs.
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>

#include "bench_util.hpp"
#include "memberflow/datasets.hpp"
#include "memberflow/expected.hpp"
#include "memberflow/parallel.hpp"

namespace {

using namespace memberflow;
using memberflow::bench::national;
using memberflow::bench::province;
constexpr int horizon = 60;

double result_bytes(const forecast_result& r) {
  double bytes = 0;
  for (const auto& q : r.quantities()) bytes += static_cast<double>(r.own(q).size()) * sizeof(double);
  return bytes;
}

bool close(double a, double b, double rel) { return std::abs(a - b) <= rel * std::max({std::abs(a), std::abs(b), 1.0}); }

// Empty if the forecast is sane, else what is wrong.
std::string check(const forecast_result& r, const scenario& sc) {
  const auto& p = r.model();
  const int h = r.horizon();
  auto people = [&](int t) {
    double sum = 0;
    for (const auto& st : p.stages()) sum += r.own(st.name).col(t).sum();
    return sum;
  };
  std::ostringstream why;
  double before = people(0);
  if (!close(before, sc.stocks.sum(), 1e-9)) {
    why << "month 0 holds " << before << " people, the scenario " << sc.stocks.sum();
    return why.str();
  }
  double admissions = 0;
  for (int t = 0; t < h; ++t) {
    const double flow =
        r.own("arrivals").col(t).sum() - r.own("exits").col(t).sum() - r.own("leavers").col(t).sum();
    const double after = people(t + 1);
    if (!close(after, before + flow, 1e-6)) {
      why << "people not conserved in month " << t << ": " << before << " + " << flow << " != " << after;
      return why.str();
    }
    admissions += r.own("admissions").col(t).sum();
    before = after;
  }
  const double at_root = r.total("admissions", r.whole())(r.units().root());
  if (!(admissions > 0) || !std::isfinite(admissions)) {
    why << "admissions over " << h << " months: " << admissions;
    return why.str();
  }
  if (!close(at_root, admissions, 1e-9)) {
    why << "admissions rolled up to the root " << at_root << " != their sum " << admissions;
    return why.str();
  }
  return {};
}

// Times run() (one forecast) in each iteration; checks each result and frees it outside
// the timed region. Returns the size of the last result's arrays.
template <class Run>
double time_checked(benchmark::State& state, const scenario& sc, Run run) {
  double bytes = 0;
  for (auto _ : state) {
    std::optional<forecast_result> r;
    r.emplace(run());
    benchmark::DoNotOptimize(r->own("admissions").data());
    state.PauseTiming();
    if (auto why = check(*r, sc); !why.empty()) {
      memberflow::bench::fail(state, why);
      break;
    }
    bytes = result_bytes(*r);
    r.reset();  // freeing the result is not timed
    state.ResumeTiming();
  }
  return bytes;
}

void add_statistics(benchmark::internal::Benchmark* b) {
  b->Unit(benchmark::kMillisecond)->UseRealTime()->ComputeStatistics("min", [](const std::vector<double>& v) {
    return memberflow::bench::min_of(v);
  });
}

void BM_ForecastExpected(benchmark::State& state, const scenario& (*make)()) {
  const scenario& sc = make();  // built once, outside the timed region
  const bool reset = memberflow::bench::reset_peak_rss();
  const double rss_before = memberflow::bench::current_rss_bytes();
  const double bytes = time_checked(state, sc, [&] { return forecast_expected(sc, horizon); });
  const auto units = static_cast<double>(sc.units().size());
  state.counters["units"] = units;
  state.counters["result_bytes"] = benchmark::Counter(bytes, benchmark::Counter::kDefaults, benchmark::Counter::kIs1024);
  state.counters["peak_rss"] = benchmark::Counter(memberflow::bench::peak_rss_bytes(), benchmark::Counter::kDefaults,
                                                  benchmark::Counter::kIs1024);
  state.counters["peak_rss_reset"] = reset ? 1 : 0;
  state.counters["rss_before"] =
      benchmark::Counter(rss_before, benchmark::Counter::kDefaults, benchmark::Counter::kIs1024);
  state.counters["unit_months/s"] = benchmark::Counter(units * horizon, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK_CAPTURE(BM_ForecastExpected, province, &province)->Apply(add_statistics);
BENCHMARK_CAPTURE(BM_ForecastExpected, national, &national)->Apply(add_statistics);

// True if both results hold the same bits in every entry.
bool bit_identical(const forecast_result& a, const forecast_result& b) {
  for (const auto& q : a.quantities()) {
    const auto& x = a.own(q);
    const auto& y = b.own(q);
    if (x.rows() != y.rows() || x.cols() != y.cols() ||
        std::memcmp(x.data(), y.data(), static_cast<std::size_t>(x.size()) * sizeof(double)) != 0)
      return false;
  }
  return true;
}

// forecast_expected with a given number of threads (argument), checked bit-identical to
// the one-thread result before timing and then as BM_ForecastExpected.
void BM_ForecastExpectedThreads(benchmark::State& state, const scenario& (*make)()) {
  const scenario& sc = make();
  const int threads = static_cast<int>(state.range(0));
  if (!bit_identical(forecast_expected(sc, horizon, {.threads = threads}), forecast_expected(sc, horizon, {.threads = 1}))) {
    memberflow::bench::fail(state, std::to_string(threads) + " threads: result not bit-identical to 1 thread");
    return;
  }
  time_checked(state, sc, [&] { return forecast_expected(sc, horizon, {.threads = threads}); });
  const auto units = static_cast<double>(sc.units().size());
  state.counters["threads"] = threads;
  state.counters["unit_months/s"] = benchmark::Counter(units * horizon, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK_CAPTURE(BM_ForecastExpectedThreads, national, &national)
    ->Apply(add_statistics)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2);

// Both thread counts in every iteration (1 then 2 threads in odd iterations, 2 then 1 in
// even ones); the iteration time is the sum. Counters: the best time of each and
// speedup = best(1 thread) / best(2 threads). Every result is checked as above, and the
// two results of an iteration must be bit-identical.
void BM_ThreadsPaired(benchmark::State& state, const scenario& (*make)()) {
  const scenario& sc = make();
  double best1 = 1e300, best2 = 1e300;
  bool first_one = true;
  for (auto _ : state) {
    std::optional<forecast_result> r1, r2;
    double seconds = 0;
    for (int k = 0; k < 2; ++k) {
      const bool one = (k == 0) == first_one;
      const auto t0 = std::chrono::steady_clock::now();
      (one ? r1 : r2).emplace(forecast_expected(sc, horizon, {.threads = one ? 1 : 2}));
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      seconds += s;
      (one ? best1 : best2) = std::min(one ? best1 : best2, s);
    }
    first_one = !first_one;
    state.SetIterationTime(seconds);
    std::string why = check(*r1, sc);
    if (why.empty() && !bit_identical(*r1, *r2)) why = "1 and 2 threads: results not bit-identical";
    if (!why.empty()) {
      memberflow::bench::fail(state, why);
      break;
    }
  }
  state.counters["best_1_thread_s"] = best1;
  state.counters["best_2_threads_s"] = best2;
  state.counters["speedup"] = best1 / best2;
}
BENCHMARK_CAPTURE(BM_ThreadsPaired, national, &national)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime()
    ->Iterations(6);

// One month of the model on preallocated arrays: the arithmetic without the result.
void BM_ExpectedMonth(benchmark::State& state, const scenario& (*make)()) {
  const scenario& sc = make();
  const auto& p = sc.model();
  const auto n = static_cast<Eigen::Index>(sc.units().size());
  Eigen::ArrayXXd now = sc.stocks, next(n, now.cols()), events(n, static_cast<Eigen::Index>(event_names.size())),
      stage_stocks(n, static_cast<Eigen::Index>(p.size()));
  for (auto _ : state) {
    detail::expected_month(p, sc.params, now, next, events, stage_stocks);
    benchmark::DoNotOptimize(next.data());
    benchmark::DoNotOptimize(events.data());
    now.swap(next);
  }
  if (!(events.col(0).sum() > 0)) memberflow::bench::fail(state, "no admissions in the last month");
  state.counters["units"] = static_cast<double>(n);
  state.counters["unit_months/s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK_CAPTURE(BM_ExpectedMonth, national, &national)->Apply(add_statistics)->Unit(benchmark::kMicrosecond);

// Allocate the national result arrays and write each entry once: what storing a
// 60-month forecast of every unit costs before any model arithmetic.
void BM_ResultWriteOnly(benchmark::State& state, const scenario& (*make)()) {
  const scenario& sc = make();
  double bytes = 0;
  for (auto _ : state) {
    std::optional<forecast_result> r;
    r.emplace(sc.organisation, sc.stages, horizon);
    for (const auto& q : r->quantities())
      for (Eigen::Index t = 0; t < r->own(q).cols(); ++t) r->own(q).col(t).setConstant(1.0);
    benchmark::DoNotOptimize(r->own("admissions").data());
    state.PauseTiming();
    bytes = result_bytes(*r);
    r.reset();
    state.ResumeTiming();
  }
  state.counters["result_bytes"] = benchmark::Counter(bytes, benchmark::Counter::kDefaults, benchmark::Counter::kIs1024);
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes) * state.iterations());
}
BENCHMARK_CAPTURE(BM_ResultWriteOnly, national, &national)->Apply(add_statistics);

// A PROTOTYPE, here only to measure a suggestion for src/forecast.cpp: the expected-value
// recursion never mixes units, so the national forecast can run block by block of units,
// all months of a block before the next block. A block's state, parameters and
// temporaries (~60 columns x block x 8 bytes: ~0.5 MB for 1,024 units) then stay in the
// L2 cache for all 61 months, and only the result arrays go to memory. It calls the same
// detail::expected_month on slices, so it does the same arithmetic on every entry; it is
// checked equal to forecast_expected (max relative difference <= 1e-12) before timing.
// Blocks may be shared among threads (each writes its own rows of the result).
forecast_result blocked_forecast(const scenario& sc, int h, Eigen::Index block, int threads) {
  sc.validate();
  forecast_result result(sc.organisation, sc.stages, h);
  const auto& p = sc.model();
  const auto n = static_cast<Eigen::Index>(sc.units().size());
  // Pointers to the result's per-quantity arrays (their type is the result's business).
  std::vector<decltype(&result.own(""))> stock_out, event_out;
  for (const auto& st : p.stages()) stock_out.push_back(&result.own(st.name));
  for (auto e : event_names) event_out.push_back(&result.own(e));
  const auto blocks = (n + block - 1) / block;
  auto work = [&](Eigen::Index first_block, Eigen::Index last_block) {
    parameter_set ps;
    Eigen::ArrayXXd state, next, events, stage_stocks;
    for (Eigen::Index b = first_block; b < last_block; ++b) {
      const auto r0 = b * block, m = std::min(block, n - r0);
      ps.advance = sc.params.advance.middleRows(r0, m);
      ps.exit = sc.params.exit.middleRows(r0, m);
      ps.pass_rate = sc.params.pass_rate.middleRows(r0, m);
      ps.attrition = sc.params.attrition.middleRows(r0, m);
      ps.inflow = sc.params.inflow.segment(r0, m);
      ps.transfer_in = sc.params.transfer_in.segment(r0, m);
      state = sc.stocks.middleRows(r0, m);
      next.resize(m, state.cols());
      events.resize(m, static_cast<Eigen::Index>(event_names.size()));
      stage_stocks.resize(m, static_cast<Eigen::Index>(p.size()));
      for (int t = 0; t <= h; ++t) {
        detail::expected_month(p, ps, state, next, events, stage_stocks);
        for (std::size_t s = 0; s < p.size(); ++s)
          stock_out[s]->col(t).segment(r0, m) = stage_stocks.col(static_cast<Eigen::Index>(s));
        if (t < h)
          for (std::size_t e = 0; e < event_names.size(); ++e)
            event_out[e]->col(t).segment(r0, m) = events.col(static_cast<Eigen::Index>(e));
        state.swap(next);
      }
    }
  };
  // A fixed split of the blocks, one share per thread, on the library's pool.
  const int shares = std::max(threads, 1);
  detail::for_each_item(static_cast<std::size_t>(shares), shares, [&](std::size_t i) {
    const auto k = static_cast<Eigen::Index>(i);
    work(blocks * k / shares, blocks * (k + 1) / shares);
  });
  return result;
}

double max_relative_difference(const forecast_result& a, const forecast_result& b) {
  double worst = 0;
  for (const auto& q : a.quantities()) {
    const auto& x = a.own(q);
    const auto& y = b.own(q);
    const double scale = std::max(y.abs().maxCoeff(), 1e-300);
    worst = std::max(worst, (x - y).abs().maxCoeff() / scale);
  }
  return worst;
}

// Arguments: units per block, threads.
void BM_BlockedPrototype(benchmark::State& state, const scenario& (*make)()) {
  const scenario& sc = make();
  const auto block = static_cast<Eigen::Index>(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  {
    const auto reference = forecast_expected(sc, horizon);
    const auto blocked = blocked_forecast(sc, horizon, block, threads);
    if (const double d = max_relative_difference(blocked, reference); !(d <= 1e-12)) {
      memberflow::bench::fail(state, "blocked prototype differs from forecast_expected by " + std::to_string(d));
      return;
    }
  }
  time_checked(state, sc, [&] { return blocked_forecast(sc, horizon, block, threads); });
  const auto units = static_cast<double>(sc.units().size());
  state.counters["unit_months/s"] = benchmark::Counter(units * horizon, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK_CAPTURE(BM_BlockedPrototype, national, &national)
    ->Apply(add_statistics)
    ->ArgNames({"block", "threads"})
    ->Args({256, 1})
    ->Args({1024, 1})
    ->Args({4096, 1})
    ->Args({32768, 1})
    ->Args({1024, 2});

}  // namespace

MEMBERFLOW_BENCHMARK_MAIN();
