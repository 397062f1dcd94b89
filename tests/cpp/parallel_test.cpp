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

#if defined(__linux__)
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

TEST_CASE("threads_that_fit: all without an address-space limit, fewer under one", "[parallel]") {
  rlimit space{};
  REQUIRE(getrlimit(RLIMIT_AS, &space) == 0);
  if (space.rlim_cur == RLIM_INFINITY) CHECK(memberflow::detail::threads_that_fit(1000) == 1000);
  // Under a 1 GiB limit (in a child, so that the limit does not reach the other tests):
  // at most 1 GiB / (stack + 64 MiB) threads fit, fewer than 1000.
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    rlimit one_gib{1ul << 30, 1ul << 30};
    const bool ok = setrlimit(RLIMIT_AS, &one_gib) == 0;
    const int fit = memberflow::detail::threads_that_fit(1000);
    _exit(ok && fit >= 0 && fit < 16 ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
}
#endif
