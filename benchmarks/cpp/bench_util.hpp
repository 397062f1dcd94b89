#pragma once
// Helpers shared by the benchmark programs: process memory figures, a "min" statistic
// for --benchmark_repetitions (the least disturbed run on a shared, noisy machine) and a
// main() that returns non-zero when any benchmark failed its sanity check.
#include <benchmark/benchmark.h>
#include <memberflow/datasets.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <vector>

namespace memberflow::bench {

// Set by a benchmark whose result failed its check (next to state.SkipWithError, which
// alone does not change the exit status).
inline std::atomic<bool> failed{false};

inline void fail(benchmark::State& state, const std::string& message) {
  failed = true;
  state.SkipWithError(message.c_str());
}

// Peak resident set size of this process so far, in bytes (getrusage reports KiB on Linux).
inline double peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) * 1024.0;
}

// Current resident set size, in bytes (/proc/self/statm; 0 if unreadable).
inline double current_rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  long long size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

// Resets the peak RSS to the current RSS (Linux >= 4.0: "5" > /proc/self/clear_refs), so
// that a later peak_rss_bytes() is the peak of what ran in between. False if not possible,
// in which case the peak is the process's whole lifetime so far.
inline bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  if (!f) return false;
  f << "5" << std::flush;
  return static_cast<bool>(f);
}

// The synthetic organisations the benchmarks share, built once per program: national
// (~302,000 units) and a province (~4,750 units).
inline const scenario& national() {
  static const scenario sc = datasets::synthetic({});
  return sc;
}

inline const scenario& province() {
  static const scenario sc =
      datasets::synthetic({.fanout = {11, 74.3, 4.8}, .kinds = {"province", "district", "base", "cell"}});
  return sc;
}

inline double min_of(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end()); }

}  // namespace memberflow::bench

// main(): as BENCHMARK_MAIN(), but exits with 1 when a sanity check failed.
#define MEMBERFLOW_BENCHMARK_MAIN()                                                   \
  int main(int argc, char** argv) {                                                   \
    benchmark::Initialize(&argc, argv);                                               \
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;                 \
    benchmark::RunSpecifiedBenchmarks();                                              \
    benchmark::Shutdown();                                                            \
    return memberflow::bench::failed ? 1 : 0;                                         \
  }
