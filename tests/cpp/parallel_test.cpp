// The library's one pool (parallel.hpp): the thread-count rule, every item run once
// whatever the number of threads, and an item's exception rethrown after the others stop.
#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "memberflow/parallel.hpp"

using memberflow::detail::for_each_item;
using memberflow::detail::thread_count;

TEST_CASE("thread_count: a positive request as given, otherwise one per core", "[parallel]") {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  CHECK(thread_count(1) == 1);
  CHECK(thread_count(3) == 3);
  CHECK(thread_count(0) == cores);
  CHECK(thread_count(-4) == cores);
  CHECK(thread_count(0) >= 1);
}

TEST_CASE("for_each_item runs every item exactly once for any number of threads", "[parallel]") {
  for (int threads : {-1, 0, 1, 2, 3, 16}) {
    for (std::size_t count : {0u, 1u, 2u, 5u, 100u}) {
      INFO("threads " << threads << ", items " << count);
      std::vector<std::atomic<int>> runs(count);
      for_each_item(count, threads, [&](std::size_t i) { ++runs[i]; });
      for (const auto& r : runs) CHECK(r.load() == 1);
    }
  }
  // The overload without a thread count: one per core.
  std::vector<std::atomic<int>> runs(50);
  for_each_item(runs.size(), [&](std::size_t i) { ++runs[i]; });
  for (const auto& r : runs) CHECK(r.load() == 1);
}

TEST_CASE("for_each_item rethrows an item's exception after every thread has stopped", "[parallel]") {
  for (int threads : {1, 2, 3}) {
    INFO("threads " << threads);
    std::atomic<int> running{0}, finished{0};
    auto work = [&](std::size_t i) {
      ++running;
      if (i == 7) {
        --running;
        throw std::runtime_error("item 7 failed");
      }
      std::this_thread::yield();
      --running;
      ++finished;
    };
    CHECK_THROWS_WITH(for_each_item(100000, threads, work), "item 7 failed");
    CHECK(running.load() == 0);  // nothing still running when the exception arrives
    CHECK(finished.load() < 99999);  // and the threads stopped taking items
  }
}
