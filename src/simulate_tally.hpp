#pragma once
// The simulation's tallies (src/simulate_setup.hpp lists the engine's files): histograms
// of the tracked counts, kept by batches of paths and merged by integer addition.
#include <atomic>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "memberflow/distribution.hpp"
#include "memberflow/simulate.hpp"

namespace memberflow::detail {

// The cells the histograms of one run may hold in all (the memory they and the pmfs
// made of them may take): a deep tree's nodes have ever wider ranges of subtree totals,
// so that a chain of 200,000 units would fill any memory. Shared by the workers.
struct cell_budget {
  std::atomic<long long> used{0};
  long long limit = 0;
  void spend(long long cells);
};

// A growing histogram of integer counts. 32-bit cells, as the windows' (a run's paths
// < 2^32): a dense run's wide histograms are most of its tallies' memory, and with 64-bit
// cells a 2-thread run at ~3,740 people a unit was 1.4% slower (1 thread 1.1%). Tally
// bytes keep 64-bit counts.
struct histogram {
  long long offset = 0;
  std::vector<std::uint32_t> counts;
  void add(long long k, std::int64_t times = 1);
};

// The histograms of many counts (every node x every tracked count, node-major). Most
// counts stay within a few values of the first one seen: they are counted in a window
// of `width` cells, laid out count after count, so that tallying the paths of a batch
// node by node walks memory in order (one heap histogram each made this a cache miss a
// count). Values outside a count's window go to a growing histogram of its own.
class window_histograms {
 public:
  static constexpr long long width = 8;
  using cell = std::uint32_t;  // a run's paths < 2^32 (make_setup, merge)

  explicit window_histograms(std::size_t counts = 0, cell_budget* budget = nullptr)
      : lo_(counts, unset), window_(counts * width, 0), budget_(budget) {}

  std::size_t size() const { return lo_.size(); }
  void set_budget(cell_budget* budget) { budget_ = budget; }

  void add(std::size_t u, long long k, std::int64_t times = 1) {
    const auto i = static_cast<unsigned long long>(k - lo_[u]);  // past the window: huge
    if (i < static_cast<unsigned long long>(width)) window_[u * width + i] += static_cast<cell>(times);
    else add_outside(u, k, times);
  }

  // Counts first .. first + m - 1 see the values k[0 .. m - 1] once.
  void add_each(std::size_t first, const std::int64_t* k, std::size_t m) {
    const long long* lo = &lo_[first];
    cell* window = &window_[first * width];
    for (std::size_t j = 0; j < m; ++j) {
      const auto i = static_cast<unsigned long long>(k[j] - lo[j]);
      if (i < static_cast<unsigned long long>(width)) ++window[j * width + i];
      else add_outside(first + j, k[j], 1);
    }
  }

  void merge(const window_histograms& other);

  // Appends count u's histogram divided by `paths` to `table`; input_error unless it holds
  // exactly `paths` values.
  void append_pmf(std::size_t u, std::int64_t paths, pmf_table& table) const;
  // The least and the greatest value count u holds (first > last: none), as its window and
  // its wide histogram's ends say.
  std::pair<long long, long long> range(std::size_t u) const;
  // The cells count u's pmf takes: its range's width, 0 when it holds no value.
  std::size_t pmf_cells(std::size_t u) const {
    const auto [first, last] = range(u);
    return first <= last ? static_cast<std::size_t>(last - first) + 1 : 0;
  }

  void write(std::string& out) const;
  // Reads what write() wrote at `at`, advancing it; throws input_error on a bad buffer.
  static window_histograms read(std::string_view in, std::size_t& at);

 private:
  [[gnu::noinline]] void add_outside(std::size_t u, long long k, std::int64_t times);

  static constexpr long long unset = std::numeric_limits<long long>::min() / 2;  // no value yet
  std::vector<long long> lo_;                        // per count: the value of its window's first cell
  std::vector<cell> window_;                         // counts x width
  // The values outside the windows: wide_[wide_at_[u] - 1] is count u's (wide_at_[u] = 0:
  // none), made on first use; a vector, not a hash map, as dense units leave their windows
  // in most paths.
  std::vector<std::uint32_t> wide_at_;
  std::vector<std::pair<std::size_t, histogram>> wide_;
  histogram* wide_of(std::size_t u) { return wide_at_.empty() || !wide_at_[u] ? nullptr : &wide_[wide_at_[u] - 1].second; }
  const histogram* wide_of(std::size_t u) const {
    return wide_at_.empty() || !wide_at_[u] ? nullptr : &wide_[wide_at_[u] - 1].second;
  }
  histogram& make_wide(std::size_t u);
  cell_budget* budget_ = nullptr;
};

}  // namespace memberflow::detail

namespace memberflow::sim {

struct setup;

// An empty tally for the paths [first, first + count) of a run.
simulation_tally make_tally(const setup& su, long long first, long long count, detail::cell_budget* budget);
// Adds the sums and histograms of `other` (a worker's) into `into`.
void add_counts(simulation_tally& into, const simulation_tally& other);

}  // namespace memberflow::sim
