#pragma once
// Independent items of work shared between threads, for the estimation's per-rate fits
// and figures. Each item writes only its own output, so results do not depend on the
// number of threads.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

namespace memberflow::detail {

// Calls work(i) for every i in [0, count), on up to one thread per core, the items handed
// out one at a time (a national fit's rates differ tenfold in cost, so a fixed split
// would leave a core idle). The first exception an item throws is rethrown here once
// every thread has stopped.
template <class Work>
void for_each_item(std::size_t count, Work work) {
  const std::size_t threads = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, std::max<std::size_t>(count, 1));
  std::atomic<std::size_t> next{0};
  std::vector<std::exception_ptr> failed(threads);
  auto run = [&](std::size_t t) {
    try {
      for (std::size_t i = next++; i < count; i = next++) work(i);
    } catch (...) {
      failed[t] = std::current_exception();
      next = count;  // the others stop at their next item
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(run, t);
  run(0);
  for (auto& t : pool) t.join();
  for (const auto& e : failed)
    if (e) std::rethrow_exception(e);
}

}  // namespace memberflow::detail
