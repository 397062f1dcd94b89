// The simulation engine against its own floor: the cost of a path, of one unit-month,
// and of one random draw, next to the cost of the generator's numbers (Philox-4x64-10,
// four 64-bit words a call). Province-sized synthetic organisation, 12 months.
#include <memberflow/memberflow.hpp>

#include "bench_util.hpp"

namespace {

using namespace memberflow;
using memberflow::bench::province;


// One Philox call: four 64-bit numbers.
void BM_PhiloxNumber(benchmark::State& state) {
  random::stream s(1, 2, 3, 4);
  std::uint64_t x = 0;
  for (auto _ : state) x ^= s.next_u64();
  benchmark::DoNotOptimize(x);
  state.counters["numbers/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PhiloxNumber);

void BM_Uniform(benchmark::State& state) {
  random::stream s(1, 2, 3, 4);
  double x = 0;
  for (auto _ : state) x += s.uniform();
  benchmark::DoNotOptimize(x);
  state.counters["draws/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Uniform);

// Binomial draws of the sizes the engine meets: a cell's full members (n = 20, tiny p),
// a small stage (n = 3), and large means on both sides of the algorithm switch.
void BM_Binomial(benchmark::State& state) {
  const long long n = state.range(0);
  const double p = static_cast<double>(state.range(1)) / 10000.0;
  random::stream s(1, 2, 3, 4);
  long long x = 0;
  for (auto _ : state) x += random::binomial(s, n, p);
  benchmark::DoNotOptimize(x);
  state.counters["draws/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Binomial)->Args({20, 15})->Args({3, 500})->Args({200, 400})->Args({1000, 3000})->Args({100000, 3000});

void BM_Poisson(benchmark::State& state) {
  const double mu = static_cast<double>(state.range(0)) / 100.0;
  random::stream s(1, 2, 3, 4);
  long long x = 0;
  for (auto _ : state) x += random::poisson(s, mu);
  benchmark::DoNotOptimize(x);
  state.counters["draws/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Poisson)->Arg(3)->Arg(990)->Arg(1000)->Arg(100000);

// The engine: paths of the province, 12 months, with 1 and 2 threads.
void BM_SimulateProvince(benchmark::State& state) {
  const auto& sc = province();
  simulation_options o;
  o.paths = 200;
  o.seed = 1;
  o.threads = static_cast<int>(state.range(0));
  double admissions = 0;
  for (auto _ : state) {
    const auto r = simulate(sc, 12, o);
    admissions = r.means.total("admissions", {0, 12})(sc.units().root());
  }
  const auto expected = forecast_expected(sc, 12).total("admissions", {0, 12})(sc.units().root());
  if (!(std::abs(admissions - expected) < 0.05 * expected))  // 200 paths: a loose sanity check
    bench::fail(state, "simulated mean admissions far from the expected engine");
  const double unit_path_months = static_cast<double>(sc.units().size()) * 12.0 * static_cast<double>(o.paths);
  state.counters["unit-path-months/s"] =
      benchmark::Counter(unit_path_months * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SimulateProvince)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

MEMBERFLOW_BENCHMARK_MAIN();
