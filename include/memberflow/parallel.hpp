#pragma once
// Independent items of work shared between threads: the one pool of the library (the
// estimation's per-rate fits and figures, the expected-value engine's blocks of units).
// Each item writes only its own output, so results do not depend on the number of
// threads.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace memberflow::detail {

// The number of threads an engine runs on when asked for `requested`: `requested` if it
// is positive, otherwise (0 or negative) one per core (hardware_concurrency, at least 1).
// The one rule every engine and option struct uses.
inline int thread_count(int requested) {
  if (requested > 0) return requested;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// Calls work(i) for every i in [0, count), on up to thread_count(threads) threads (never
// more than there are items), the items handed out one at a time (a national fit's rates
// differ tenfold in cost, so a fixed split would leave a core idle). The calling thread
// is one of them. An exception an item throws is rethrown here once every thread has
// stopped (one of them if several items throw); after it no thread takes a new item.
template <class Work>
void for_each_item(std::size_t count, int threads, Work work) {
  const std::size_t used = std::clamp<std::size_t>(static_cast<std::size_t>(thread_count(threads)), 1,
                                                   std::max<std::size_t>(count, 1));
  std::atomic<std::size_t> next{0};
  std::vector<std::exception_ptr> failed(used);
  auto run = [&](std::size_t t) {
    try {
      for (std::size_t i = next++; i < count; i = next++) work(i);
    } catch (...) {
      failed[t] = std::current_exception();
      next = count;  // the others stop at their next item
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(used - 1);
  try {
    for (std::size_t t = 1; t < used; ++t) pool.emplace_back(run, t);
  } catch (const std::system_error&) {
    // No more threads to be had: those started and this one share the items (the
    // result does not depend on how many there are).
  }
  run(0);
  for (auto& t : pool) t.join();
  for (const auto& e : failed)
    if (e) std::rethrow_exception(e);
}

// The same on one thread per core.
template <class Work>
void for_each_item(std::size_t count, Work work) {
  for_each_item(count, 0, std::move(work));
}

}  // namespace memberflow::detail
