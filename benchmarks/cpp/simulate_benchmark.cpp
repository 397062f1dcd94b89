// The simulation engine against its own floor: the cost of a path, of one unit-month,
// and of one random draw, next to the cost of the generator's numbers (Philox-4x64-10,
// four 64-bit words a call). Province-sized synthetic organisation, 12 months; the
// density sweep of issue 11 (people per unit ~4 to ~3,500, each regime, 1 and 2
// threads) and the calibration of the cost rule (BM_Draw).
#include <memberflow/memberflow.hpp>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <vector>

#include "../../src/simulate_step.hpp"  // sim::draws, for the cost rule's calibration
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

// Binomial and Poisson draws of the sizes the engine meets: a cell's full members (n = 20,
// tiny p), a small stage (n = 3), and large means on both sides of the algorithm switch;
// the last argument 0 for random::binomial / poisson (inversion), 1 for the count
// regime's binomial_count / poisson_count (BTRS and PTRS from mean 18).
void BM_Binomial(benchmark::State& state) {
  const long long n = state.range(0);
  const double p = static_cast<double>(state.range(1)) / 10000.0;
  const bool count = state.range(2) != 0;
  random::stream s(1, 2, 3, 4);
  long long x = 0;
  for (auto _ : state) x += count ? random::binomial_count(s, n, p) : random::binomial(s, n, p);
  benchmark::DoNotOptimize(x);
  state.counters["draws/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Binomial)->ArgsProduct({{20}, {15}, {0, 1}})->ArgsProduct({{3}, {500}, {0, 1}})->ArgsProduct({{200}, {400}, {0, 1}})
    ->ArgsProduct({{1000}, {3000}, {0, 1}})->ArgsProduct({{100000}, {3000}, {0, 1}});

void BM_Poisson(benchmark::State& state) {
  const double mu = static_cast<double>(state.range(0)) / 100.0;
  const bool count = state.range(1) != 0;
  random::stream s(1, 2, 3, 4);
  long long x = 0;
  for (auto _ : state) x += count ? random::poisson_count(s, mu) : random::poisson(s, mu);
  benchmark::DoNotOptimize(x);
  state.counters["draws/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Poisson)->ArgsProduct({{3, 990, 1000, 100000}, {0, 1}});

// One arrival stream's count with a mean that does not change (the simulation's inflow
// and transfers without an inflow profile): random::poisson_count given exp(-mean) (0),
// as the engine drew it before, against random::poisson_table (1), as it draws it now.
// Args: the mean x 10, the method.
void BM_PoissonTable(benchmark::State& state) {
  const double mu = static_cast<double>(state.range(0)) / 10.0, f0 = std::exp(-mu);
  const bool table = state.range(1) != 0;
  const random::poisson_table sampler(mu);
  random::stream s(1, 2, 3, 4);
  long long x = 0;
  if (table)
    for (auto _ : state) x += sampler(s);
  else
    for (auto _ : state) x += random::detail::poisson_count_unchecked(s, mu, f0);
  benchmark::DoNotOptimize(x);
  state.SetLabel(table ? "poisson_table" : "poisson_count");
}
BENCHMARK(BM_PoissonTable)->ArgsProduct({{15, 30, 95, 170, 300, 1000, 2560}, {0, 1}});

// Where bottom-up inversion gives way (detail::small_mean) and how many of its sums it
// makes at once (detail::bottom_up's widths): Bin(200 + (i & 7), mean / 200), one draw
// alone, by bottom-up inversion with the width the mean picks (0) or a fixed one (8, 16,
// 24), or by BTRS (1), whatever the mean (BTRS is meant for means >= 10).
// Args: the mean, the method.
void BM_SmallMeanSwitch(benchmark::State& state) {
  const double mean = static_cast<double>(state.range(0)), p = mean / 200;
  const auto method = state.range(1);
  const double log_q = std::log1p(-p), odds = p / (1 - p);
  random::stream s(1, 2, 3, 4);
  long long x = 0, i = 0;
  for (auto _ : state) {
    const long long n = 200 + (i++ & 7);
    const double dn = static_cast<double>(n);
    auto ratio = [&](long long k) { return (dn - static_cast<double>(k)) / static_cast<double>(k + 1) * odds; };
    const double u = method == 1 ? 0 : s.uniform(), f0 = method == 1 ? 0 : std::exp(dn * log_q);
    switch (method) {
      case 0: x += random::detail::binomial_bottom_up(u, n, p, f0); break;
      case 1: x += random::detail::binomial_btrs(s, n, p, log_q); break;
      case 8: x += random::detail::bottom_up<8>(u, n, f0, ratio); break;
      case 16: x += random::detail::bottom_up<16>(u, n, f0, ratio); break;
      case 24: x += random::detail::bottom_up<24>(u, n, f0, ratio); break;
    }
  }
  benchmark::DoNotOptimize(x);
  static const char* names[] = {"bottom-up, width by mean", "BTRS"};
  state.SetLabel(method < 2 ? names[method] : "bottom-up, width " + std::to_string(method));
}
BENCHMARK(BM_SmallMeanSwitch)->ArgsProduct({{2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 24}, {0, 8, 16, 24, 1}});

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

// -- issue 11: the density sweep ------------------------------------------------------------------
//
// The scenario of benchmarks/python/bench_simulate_density.py at scale s: 2,000 units (a
// root, 40 branches, 1,959 cells), the standard party pipeline with the example district's
// sub-cell parameters, per unit 8 s in source, 2 s in training, 0.2 s at each of probation's
// 12 ages and 25 s full members (~35 s outside probation: s = 0.1 is "~4 people", s = 100
// "~3,500"), arrivals 0.3 s a month into source and 0.015 s into full; fractional stocks
// spread evenly (some units one more).

constexpr double density_scales[] = {0.1, 1.0, 10.0, 100.0};

// User + system CPU seconds of this process so far (every thread).
double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

scenario density_scenario(double s) {
  constexpr int units = 2000, branches = 40;
  std::vector<unit_record> records{{"R", "", "R", "root"}};
  for (int b = 0; b < branches; ++b) {
    char id[8];
    std::snprintf(id, sizeof id, "B%02d", b);
    records.push_back({id, "R", id, "branch"});
  }
  for (int i = 0; i < units - 1 - branches; ++i) {
    char id[16], parent[8];
    std::snprintf(parent, sizeof parent, "B%02d", i % branches);
    std::snprintf(id, sizeof id, "B%02d-%02d", i % branches, i / branches);
    records.push_back({id, parent, id, "cell"});
  }
  scenario sc(std::make_shared<const org>(std::move(records)), std::make_shared<const pipeline>(pipeline::party()));
  const auto& p = sc.model();
  const double golden = (std::sqrt(5.0) - 1) / 2;
  auto spread = [&](Eigen::Index slot, double per_unit, double phase) {
    for (Eigen::Index u = 0; u < units; ++u)
      sc.stocks(u, slot) = std::floor(static_cast<double>(u + 1) * per_unit + phase) - std::floor(static_cast<double>(u) * per_unit + phase);
  };
  spread(static_cast<Eigen::Index>(p.offset(0)), 8 * s, std::fmod(golden * 1, 1.0));
  spread(static_cast<Eigen::Index>(p.offset(1)), 2 * s, std::fmod(golden * 2, 1.0));
  spread(static_cast<Eigen::Index>(p.offset(3)), 25 * s, std::fmod(golden * 3, 1.0));
  for (int age = 0; age < 12; ++age)
    spread(static_cast<Eigen::Index>(p.offset(2)) + age, 0.2 * s, std::fmod(golden * (age + 4), 1.0));
  for (unit_index u = 0; u < units; ++u) {
    sc.params.set(u, 0, param::advance, 0.05);
    sc.params.set(u, 0, param::exit, 0.02);
    sc.params.set(u, 1, param::advance, 0.10);
    sc.params.set(u, 1, param::exit, 0.02);
    sc.params.set(u, 2, param::exit, 0.002);
    sc.params.set(u, 2, param::pass_rate, 0.97);
    sc.params.set(u, 3, param::attrition, 0.0015);
    sc.params.set(u, 0, param::inflow, 0.3 * s);
    sc.params.set(u, 3, param::transfer_in, 0.015 * s);
  }
  return sc;
}

const scenario& density(std::size_t i) {
  static const std::vector<scenario> all = [] {
    std::vector<scenario> v;
    for (double s : density_scales) v.push_back(density_scenario(s));
    return v;
  }();
  return all[i];
}

// The floor of a unit-month at each density, from the model (untimed): the expected
// events (the race's uniforms: about one each), the non-empty components of month 0's
// state (the counts regime's draws: one each) and, under the automatic rule, those
// drawn as counts (the rest race).
struct floor_figures {
  double events = 0, components = 0, counted = 0;
};
floor_figures floor_of(const scenario& sc) {
  floor_figures f;
  const auto units = static_cast<double>(sc.units().size());
  const auto ex = forecast_expected(sc, 12);
  for (auto e : {"admissions", "confirmations", "arrivals", "exits", "leavers"})
    f.events += ex.total(e, {0, 12})(sc.units().root());
  f.events /= units * 12;
  const auto& p = sc.model();
  for (Eigen::Index u = 0; u < static_cast<Eigen::Index>(sc.units().size()); ++u) {
    auto component = [&](double n, double prob, double counted_above = count_cost_per_component) {
      if (n > 0 && prob > 0) {
        f.components += 1;
        if (n * prob > counted_above) f.counted += 1;
      }
    };
    for (std::size_t s = 0; s < p.size(); ++s) {
      const auto si = static_cast<Eigen::Index>(s);
      const auto off = static_cast<Eigen::Index>(p.offset(s));
      switch (p.stages()[s].kind) {
        case stage_kind::markov:
          component(sc.stocks(u, off), sc.params.advance(u, si));
          component(sc.stocks(u, off), sc.params.exit(u, si));
          break;
        case stage_kind::fixed:
          for (Eigen::Index a = 0; a < static_cast<Eigen::Index>(p.width(s)); ++a) component(sc.stocks(u, off + a), sc.params.exit(u, si));
          component(sc.stocks(u, off + static_cast<Eigen::Index>(p.width(s)) - 1), 1 - sc.params.pass_rate(u, si));
          break;
        case stage_kind::terminal: component(sc.stocks(u, off), sc.params.attrition(u, si)); break;
      }
    }
    component(sc.params.inflow(u), 1, count_cost_per_table);  // a constant rate: its table
    component(sc.params.transfer_in(u), 1, count_cost_per_table);
  }
  f.components /= units;
  f.counted /= units;
  return f;
}

// Args: density index (people per unit ~4, ~35, ~350, ~3,500), regime (0 automatic,
// 1 race, 2 counts), threads.
void BM_SimulateDensity(benchmark::State& state) {
  const auto i = static_cast<std::size_t>(state.range(0));
  const auto& sc = density(i);
  simulation_options o;
  constexpr long long paths[] = {400, 200, 64, 16};
  o.paths = paths[i];
  o.seed = 1;
  o.regime = static_cast<simulation_regime>(state.range(1));
  o.threads = static_cast<int>(state.range(2));
  double admissions = 0;
  const double cpu_before = process_cpu_seconds();
  for (auto _ : state) {
    const auto r = simulate(sc, 12, o);
    admissions = r.means.total("admissions", {0, 12})(sc.units().root());
  }
  const double cpu = process_cpu_seconds() - cpu_before;
  const double expected = forecast_expected(sc, 12).total("admissions", {0, 12})(sc.units().root());
  if (!(std::abs(admissions - expected) < 0.1 * expected + 5))  // a loose sanity check
    bench::fail(state, "simulated mean admissions far from the expected engine");
  const double unit_path_months = static_cast<double>(sc.units().size()) * 12.0 * static_cast<double>(o.paths);
  state.counters["unit-path-months/s"] =
      benchmark::Counter(unit_path_months * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["people/unit"] = density_scales[i] * 37.4;
  // CPU time of the whole process (every thread) per unit-month: the cost, less disturbed
  // than the wall clock when other work shares the cores.
  state.counters["cpu-ns/unit-month"] = cpu * 1e9 / (unit_path_months * static_cast<double>(state.iterations()));
  static const char* names[] = {"auto", "race", "counts"};
  state.SetLabel(std::string(names[state.range(1)]) + ", " + std::to_string(o.threads) + " thread(s)");
}
BENCHMARK(BM_SimulateDensity)
    ->ArgsProduct({{0, 1, 2, 3}, {0, 1, 2}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(0.5);

// The floor: random numbers a unit-month needs (model figures, not timed).
void BM_DensityFloor(benchmark::State& state) {
  const auto i = static_cast<std::size_t>(state.range(0));
  floor_figures f;
  for (auto _ : state) f = floor_of(density(i));
  state.counters["people/unit"] = density_scales[i] * 37.4;
  state.counters["race: events/unit-month"] = f.events;
  state.counters["counts: components/unit-month"] = f.components;
  state.counters["auto: counted/unit-month"] = f.counted;
}
BENCHMARK(BM_DensityFloor)->DenseRange(0, 3)->Iterations(1);

// The draws of one dense unit-month (density scale 100, ~3,740 people a unit), each law
// drawn as the engine draws it (sim::draws under the automatic rule: counted above mean
// 1, raced below), independently of the last: how long the engine's unit-month would
// take if it did nothing but draw. benchmarks/python/bench_dense_draws.py sets numpy's
// draws of the same laws beside these, and both engines' whole unit-month.
// Args: the law's index in dense_laws.
struct dense_law {
  const char* name;
  long long n;  // 0 for a Poisson
  double p_or_mean;
  int cohorts = 0;  // > 0: that many cohorts of n people, raced as one group first
};
constexpr dense_law dense_laws[] = {
    {"source advance Bin(800, 0.05)", 800, 0.05},
    {"source exit Bin(760, 0.02/0.95)", 760, 0.02 / 0.95},
    {"training advance Bin(200, 0.1)", 200, 0.1},
    {"training exit Bin(180, 0.02/0.9)", 180, 0.02 / 0.9},
    {"probation exits: 12 cohorts Bin(20, 0.002)", 20, 0.002, 12},
    {"probation fail Bin(20, 0.03)", 20, 0.03},
    {"full attrition Bin(2500, 0.0015)", 2500, 0.0015},
    {"inflow Poisson(30)", 0, 30},
    {"transfer Poisson(1.5)", 0, 1.5},
};
void BM_DenseDraw(benchmark::State& state) {
  const auto& law = dense_laws[state.range(0)];
  random::stream s(1, 2, 3, 4);
  double budget = -std::log(s.uniform());
  const double log_q = law.n ? std::log1p(-law.p_or_mean) : 0, exp_minus = law.n ? 0 : std::exp(-law.p_or_mean);
  // Arrivals of a constant mean are counted from their table (sim::add_arrival_tables).
  const double count_above = sim::count_threshold(simulation_regime::automatic);
  const auto table = law.n || !sim::draws::counted(law.p_or_mean, sim::count_threshold(simulation_regime::automatic, true))
                         ? random::poisson_table()
                         : random::poisson_table(law.p_or_mean);
  // A stage's counted binomials are drawn from the ladder of their p (the engine's
  // path_simulator::stage_binomial).
  random::binomial_ladder ladder(law.n ? law.p_or_mean : 0.5, log_q);
  std::vector<std::int64_t> ring(static_cast<std::size_t>(law.cohorts));
  long long x = 0, i = 0;
  for (auto _ : state) {
    sim::draws d(s, budget, count_above);
    // n drifts as a unit's stock does from month to month
    const long long n = law.n + (i++ & 7);
    if (law.cohorts) {  // as path_simulator::step_cohorts races a fixed stage's exits
      std::fill(ring.begin(), ring.end(), n);
      const double h = -static_cast<double>(n * law.cohorts) * log_q;
      auto cohort = [&](std::size_t a) -> std::int64_t& { return ring[a]; };
      if (!d.all_default(h)) x += d.raced_each(ring.size(), law.p_or_mean, log_q, cohort);
    } else if (!law.n) {
      x += d.poisson(law.p_or_mean, exp_minus, table ? &table : nullptr);
    } else if (sim::draws::counted(static_cast<double>(n) * law.p_or_mean, count_above)) {
      x += d.binomial_from(ladder, n);
    } else {
      x += d.binomial(n, law.p_or_mean, log_q);
    }
  }
  benchmark::DoNotOptimize(x);
  state.SetLabel(law.name);
}
BENCHMARK(BM_DenseDraw)->DenseRange(0, std::size(dense_laws) - 1);

// A counted binomial of mean m, n drifting over 64 people around 800 as a stage's stock
// does from month to month and path to path: binomial_count (0: bottom-up inversion below
// mean 18, BTRS above) against random::binomial_ladder (1: a rung's table plus bottom-up
// inversion of the remainder), as the engine draws it, and (2) a unit's own chance p thinned
// from the ladder of its grid point P = sim::ladder_grid(p): X ~ Bin(n, P), then X minus
// sim::draws' binomial of X and 1 - p/P (raced under the automatic rule), as the engine
// draws the chances many units hold near one another (sim::thin_above).
void BM_BinomialLadder(benchmark::State& state) {
  const double mean = static_cast<double>(state.range(0));
  const auto way = state.range(1);
  const long long n = 800;
  const double p = mean / static_cast<double>(n), log_q = std::log1p(-p);
  const double grid = sim::ladder_grid(p), thin = 1 - p / grid, log_keep = std::log1p(-thin);
  random::stream s(1, 2, 3, 4);
  double budget = -std::log(s.uniform());
  random::binomial_ladder ladder(way == 2 ? grid : p, way == 2 ? std::log1p(-grid) : log_q);
  long long x = 0, i = 0;
  for (auto _ : state) {
    const long long k = n - 32 + (i++ * 37 & 63);
    if (way == 0) {
      x += random::detail::binomial_count_unchecked(s, k, p, log_q);
    } else if (way == 1) {
      x += ladder(s, k);
    } else {
      sim::draws d(s, budget, sim::count_threshold(simulation_regime::automatic));
      const auto kept = d.binomial_from(ladder, k);
      x += kept - d.binomial(kept, thin, log_keep);
    }
  }
  benchmark::DoNotOptimize(x);
  state.SetLabel(way == 0 ? "binomial_count" : way == 1 ? "binomial_ladder" : "thinned ladder");
}
BENCHMARK(BM_BinomialLadder)->ArgsProduct({{4, 8, 12, 16, 20, 30, 40, 100, 250}, {0, 1, 2}});

// The cost rule's calibration: one binomial component of mean m (n = 1000) drawn by the
// race (a subtraction when quiet, about a uniform per event) and as a count
// (random::binomial_count, as the engine's counts are drawn). The race's
// cost grows with m, the count's hardly; count_cost_per_component is about the mean at
// which they cross, in events.
// Args: the mean x 10; 0 for the race, 1 for a count.
void BM_Draw(benchmark::State& state) {
  const double mean = static_cast<double>(state.range(0)) / 10.0;
  const bool count = state.range(1) != 0;
  const long long n = 1000;
  const double p = mean / static_cast<double>(n), log_q = std::log1p(-p);
  random::stream s(1, 2, 3, 4);
  double budget = -std::log(s.uniform());
  random::binomial_ladder ladder(p, log_q);  // a count is drawn from the ladder of its p, as the engine draws it
  long long x = 0;
  for (auto _ : state) {
    sim::draws d(s, budget, count ? -1.0 : std::numeric_limits<double>::infinity());
    x += count ? d.binomial_from(ladder, n) : d.binomial(n, p, log_q);
  }
  benchmark::DoNotOptimize(x);
  state.counters["draws/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.SetLabel(count ? "count" : "race");
}
BENCHMARK(BM_Draw)->ArgsProduct({{1, 5, 10, 20, 30, 50, 100, 200, 400}, {0, 1}});

}  // namespace

MEMBERFLOW_BENCHMARK_MAIN();
