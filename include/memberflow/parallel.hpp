#pragma once
// Independent items of work shared between threads: the one pool of the library (the
// estimation's per-rate fits and figures, the expected-value engine's blocks of units).
// Each item writes only its own output, so results do not depend on the number of
// threads.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sys/resource.h>
#include <unistd.h>
#endif

namespace memberflow::detail {

// The number of threads an engine runs on when asked for `requested`: `requested` if it
// is positive, otherwise (0 or negative) one per core (hardware_concurrency, at least 1).
// The one rule every engine and option struct uses.
inline int thread_count(int requested) {
  if (requested > 0) return requested;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// How many of `threads` new threads fit in the address space the process may still map
// (RLIMIT_AS; all of them when there is no limit, or off Linux). Under a limit glibc can
// map a thread's stack and then fail to allocate its thread-local block, and it aborts
// the process ("cannot allocate memory for thread-local data") instead of failing to
// start the thread; so the room is checked before any thread starts. A thread is counted
// as its stack (RLIMIT_STACK, glibc's default stack size) plus 64 MiB, the address space
// glibc reserves for a thread's malloc arena.
inline int threads_that_fit(int threads) {
#if defined(__linux__)
  rlimit space{}, stack{};
  if (getrlimit(RLIMIT_AS, &space) != 0 || space.rlim_cur == RLIM_INFINITY) return threads;
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  double mapped = 0;  // the address space in use now: the first field of /proc/self/statm, in pages
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    unsigned long pages = 0;
    if (std::fscanf(f, "%lu", &pages) == 1) mapped = static_cast<double>(pages) * page;
    std::fclose(f);
  }
  const double mib = 1024.0 * 1024.0;
  const double stack_size = getrlimit(RLIMIT_STACK, &stack) == 0 && stack.rlim_cur != RLIM_INFINITY
                                ? static_cast<double>(stack.rlim_cur) : 8 * mib;
  const double room = static_cast<double>(space.rlim_cur) - mapped;
  const double fit = room / (stack_size + 64 * mib);
  return fit >= threads ? threads : std::max(0, static_cast<int>(fit));
#else
  return threads;
#endif
}

// Calls work(i) for every i in [0, count), on up to thread_count(threads) threads (never
// more than there are items), the items handed out one at a time (a national fit's rates
// differ tenfold in cost, so a fixed split would leave a core idle). The calling thread
// is one of them. An exception an item throws is rethrown here once every thread has
// stopped (one of them if several items throw); after it no thread takes a new item.
template <class Work>
void for_each_item(std::size_t count, int threads, Work work) {
  const std::size_t wanted = std::clamp<std::size_t>(static_cast<std::size_t>(thread_count(threads)), 1,
                                                     std::max<std::size_t>(count, 1));
  // Under an address-space limit, no more than fit (the calling thread is one of them).
  const std::size_t used = std::clamp<std::size_t>(static_cast<std::size_t>(threads_that_fit(static_cast<int>(wanted - 1))) + 1, 1, wanted);
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
