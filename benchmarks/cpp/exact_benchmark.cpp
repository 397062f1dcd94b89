// Exact-distribution engine (memberflow::exact_forecast): the pmf of admissions over
// months [0, 12) for every node of a synthetic organisation, the nation
// (datasets::synthetic({}), ~302,000 units) and a province (fanout {11, 74.3, 4.8},
// ~4,700 units).
//
// Timed: constructing exact_forecast(sc, 12) (it validates and copies the scenario) and
// events("admissions", {0, 12}), i.e. the backward chance recursion and the bottom-up
// convolution over the tree, as a caller pays for it. Not timed: building the scenario,
// the reference expected-value forecast, the checks and freeing the pmfs.
//
// Every result is checked outside the timed region before its time counts:
//  * the root pmf's mean equals forecast_expected's root admissions over months 0..11
//    within 1e-9 relative;
//  * every node's tail (the mass its pmf dropped) is <= 1e-12, the default tolerance.
// A failed check skips the benchmark with the reason and makes the program exit with 1.
// Reported, not asserted: the worst relative difference of any node's pmf mean from its
// expected admissions (`worst_node_mean_rel`, relative to max(expected, 1)) and the worst
// |kept mass + tail - 1| over nodes (`worst_mass_err`).
//
// Counters: seconds (per iteration, wall clock), pmf_bytes (8 bytes x the pmf entries of all nodes: the payload), pmf_entries,
// pmf_heap_bytes (what the node_distributions holds: the vectors' capacities plus the
// pmf structs), peak_rss (the process's peak RSS over the benchmark; reset before it
// through /proc/self/clear_refs when that works, peak_rss_reset = 1 then), rss_before
// (RSS before the first iteration: program, scenario), root_mean, root_sd, root_width
// (entries of the root pmf), max_tail, units.
#include <cmath>
#include <optional>
#include <sstream>
#include <string>

#include "bench_util.hpp"
#include "memberflow/datasets.hpp"
#include "memberflow/exact.hpp"
#include "memberflow/expected.hpp"

namespace {

using namespace memberflow;
using memberflow::bench::national;
using memberflow::bench::province;
constexpr int horizon = 12;
constexpr month_window window{0, 12};
const double tolerance = exact_options{}.tolerance;  // exact_forecast's default

struct sizes {
  double entries = 0, heap_bytes = 0;
};

sizes pmf_sizes(const node_distributions& d) {
  sizes s;
  s.heap_bytes = static_cast<double>(d.nodes.capacity() * sizeof(pmf));
  for (const auto& f : d.nodes) {
    s.entries += static_cast<double>(f.p.size());
    s.heap_bytes += static_cast<double>(f.p.capacity() * sizeof(double));
  }
  return s;
}

struct findings {
  std::string error;  // empty: the checks passed
  double worst_node_mean_rel = 0, worst_mass_err = 0;
};

// `expected`: forecast_expected's admissions over the window, every node (rolled up).
findings check(const node_distributions& d, const Eigen::ArrayXd& expected, unit_index root) {
  findings f;
  std::ostringstream why;
  if (d.nodes.size() != static_cast<std::size_t>(expected.size())) {
    why << d.nodes.size() << " pmfs for " << expected.size() << " units";
    f.error = why.str();
    return f;
  }
  const double root_mean = d.nodes[static_cast<std::size_t>(root)].mean(), root_expected = expected(root);
  const double root_rel = std::abs(root_mean - root_expected) / std::abs(root_expected);
  if (!(root_rel <= 1e-9)) {
    why.precision(17);
    why << "root pmf mean " << root_mean << " != expected admissions " << root_expected << " (relative "
        << root_rel << " > 1e-9)";
    f.error = why.str();
    return f;
  }
  for (std::size_t u = 0; u < d.nodes.size(); ++u) {
    const auto& node = d.nodes[u];
    if (!(node.tail <= tolerance)) {  // also catches NaN
      why << "node " << u << " dropped tail mass " << node.tail << " > " << tolerance;
      f.error = why.str();
      return f;
    }
    const double e = expected(static_cast<Eigen::Index>(u));
    f.worst_node_mean_rel = std::max(f.worst_node_mean_rel, std::abs(node.mean() - e) / std::max(std::abs(e), 1.0));
    f.worst_mass_err = std::max(f.worst_mass_err, std::abs(node.sum() + node.tail - 1.0));
  }
  return f;
}

void BM_ExactAdmissions(benchmark::State& state, const scenario& (*make)()) {
  const scenario& sc = make();  // built once, outside the timed region
  const auto root = sc.units().root();
  // The reference: expected admissions over the window at every node (its result is
  // freed before the peak RSS is reset).
  const Eigen::ArrayXd expected = forecast_expected(sc, horizon).total("admissions", window);
  const bool reset = memberflow::bench::reset_peak_rss();
  const double rss_before = memberflow::bench::current_rss_bytes();
  sizes size;
  findings found;
  double root_mean = 0, root_sd = 0, root_width = 0, max_tail = 0;
  for (auto _ : state) {
    std::optional<node_distributions> d;
    {
      const exact_forecast ef(sc, horizon, {.tolerance = tolerance});
      d.emplace(ef.events("admissions", window));
    }
    benchmark::DoNotOptimize(d->nodes.data());
    state.PauseTiming();
    found = check(*d, expected, root);
    if (!found.error.empty()) {
      memberflow::bench::fail(state, found.error);
      break;
    }
    size = pmf_sizes(*d);
    const auto& r = d->nodes[static_cast<std::size_t>(root)];
    root_mean = r.mean();
    root_sd = std::sqrt(r.variance());
    root_width = static_cast<double>(r.p.size());
    max_tail = d->max_tail();
    d.reset();  // freeing the pmfs is not timed
    state.ResumeTiming();
  }
  const auto kib = [](double v) {
    return benchmark::Counter(v, benchmark::Counter::kDefaults, benchmark::Counter::kIs1024);
  };
  // Seconds per iteration (wall clock, as the time column with UseRealTime).
  state.counters["seconds"] =
      benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["units"] = static_cast<double>(sc.units().size());
  state.counters["pmf_bytes"] = kib(size.entries * sizeof(double));
  state.counters["pmf_entries"] = size.entries;
  state.counters["pmf_heap_bytes"] = kib(size.heap_bytes);
  state.counters["peak_rss"] = kib(memberflow::bench::peak_rss_bytes());
  state.counters["peak_rss_reset"] = reset ? 1 : 0;
  state.counters["rss_before"] = kib(rss_before);
  state.counters["root_mean"] = root_mean;
  state.counters["root_sd"] = root_sd;
  state.counters["root_width"] = root_width;
  state.counters["max_tail"] = max_tail;
  state.counters["worst_node_mean_rel"] = found.worst_node_mean_rel;
  state.counters["worst_mass_err"] = found.worst_mass_err;
}

void add_statistics(benchmark::internal::Benchmark* b) {
  b->Unit(benchmark::kMillisecond)->UseRealTime()->ComputeStatistics("min", [](const std::vector<double>& v) {
    return memberflow::bench::min_of(v);
  });
}

BENCHMARK_CAPTURE(BM_ExactAdmissions, province, &province)->Apply(add_statistics);
BENCHMARK_CAPTURE(BM_ExactAdmissions, national, &national)->Apply(add_statistics);

}  // namespace

MEMBERFLOW_BENCHMARK_MAIN();
