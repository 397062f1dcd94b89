// The simulation engine's entry points (include/memberflow/simulate.hpp): the options'
// checks and the run's setup, and the workers that simulate batches of paths. The
// engine's other files are listed in src/simulate_setup.hpp.
#include "memberflow/simulate.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>

#include "memberflow/parallel.hpp"
#include "memberflow/replace.hpp"
#include "simulate_setup.hpp"
#include "simulate_step.hpp"
#include "simulate_tally.hpp"

namespace memberflow {

namespace sim {

unit_chances make_chances(const setup& su, const parameter_set& ps) {
  const auto& p = su.sc.model();
  const auto n = su.sc.units().size();
  unit_chances c;
  c.stage.resize(n * p.size());
  for (std::size_t u = 0; u < n; ++u) {
    const auto ui = static_cast<Eigen::Index>(u);
    for (std::size_t s = 0; s < p.size(); ++s) {
      const auto si = static_cast<Eigen::Index>(s);
      auto& ch = c.stage[u * p.size() + s];
      switch (p.stages()[s].kind) {
        case stage_kind::markov: ch = chances::markov(ps.advance(ui, si), ps.exit(ui, si)); break;
        case stage_kind::fixed: ch = chances::of(ps.exit(ui, si), 1 - ps.pass_rate(ui, si)); break;
        case stage_kind::terminal: ch = chances::of(ps.attrition(ui, si), 0); break;
      }
    }
    for (std::size_t s = 0; s < p.size(); ++s) {
      const auto& ch = c.stage[u * p.size() + s];
      c.person_h.push_back(p.stages()[s].kind == stage_kind::markov ? -(ch.log_q1 + ch.log_q2) : -ch.log_q1);
    }
    if (su.low_class) {
      const auto a = static_cast<Eigen::Index>(p.admission());
      c.low.push_back(
          chances::of(ps.exit(ui, a), 1 - std::max(0.0, ps.pass_rate(ui, a) - su.opt.target_rule->pass_penalty)));
    }
  }
  for (std::size_t u = 0; u < n; ++u) {
    const auto ui = static_cast<Eigen::Index>(u);
    c.inflow.push_back(ps.inflow(ui));
    c.exp_inflow.push_back(std::exp(-ps.inflow(ui)));
    c.transfer.push_back(ps.transfer_in(ui));
    c.exp_transfer.push_back(std::exp(-ps.transfer_in(ui)));
  }
  return c;
}

void add_arrival_tables(unit_chances& c, const setup& su) {
  const double counted_above = count_threshold(su.opt.regime, true);
  // One table per mean, however many units' streams have it: units of one rate read one
  // table, which stays in the cache.
  std::unordered_map<double, std::uint32_t> made;
  // Each unit's mean is rate x factor, the number inflow_rate makes every month.
  auto add = [&](const std::vector<double>& rates, double factor, std::vector<std::uint32_t>& at) {
    for (std::size_t u = 0; u < rates.size(); ++u)
      if (const double mean = rates[u] * factor; draws::counted(mean, counted_above) && mean <= random::poisson_table::max_mean) {
        if (at.empty()) at.assign(rates.size(), 0);
        auto [it, first] = made.try_emplace(mean, 0);
        if (first) {
          c.tables.emplace_back(mean);
          it->second = static_cast<std::uint32_t>(c.tables.size());
        }
        at[u] = it->second;
      }
  };
  // A profile of one factor throughout is a constant mean too (all ones: the tables of no
  // profile, so its bits).
  const auto& f = su.opt.inflow_profile;
  if (std::adjacent_find(f.begin(), f.end(), std::not_equal_to<>()) == f.end())
    add(c.inflow, f.empty() ? 1.0 : f[0], c.inflow_table_at);
  add(c.transfer, 1.0, c.transfer_table_at);
}

void number_ladder_chances(setup& su) {
  std::unordered_map<double, std::size_t> count, near;
  auto add = [&](double p) {
    if (p > 0 && p <= 0.5) ++count[p];
  };
  for (const auto& c : su.chances.stage) add(c.p1), add(c.p2);
  for (const auto& c : su.chances.low) add(c.p1), add(c.p2);
  auto& out = su.ladder_chances;
  for (const auto& [p, k] : count)
    if (k >= ladder_sharing) out.push_back(p);
    else near[ladder_grid(p)] += k;
  for (const auto& [g, k] : near)
    if (k >= ladder_sharing) out.push_back(g);
  std::sort(out.begin(), out.end());  // numbered in one order whatever the hashing
  out.erase(std::unique(out.begin(), out.end()), out.end());  // a grid point many hold exactly too
}

namespace {

// The stocks in path_simulator's layout (a fixed stage's age a at month 0 in slot -a mod D),
// and each stage's total per unit.
void set_initial_state(setup& su) {
  const auto& p = su.sc.model();
  const auto n = su.sc.units().size(), slots = p.state_size();
  su.x0.assign(n * slots, 0);
  su.total0.assign(p.size() * n, 0);
  for (std::size_t u = 0; u < n; ++u)
    for (std::size_t s = 0; s < p.size(); ++s)
      for (std::size_t a = 0; a < p.width(s); ++a) {
        const auto count = static_cast<std::int64_t>(
            su.sc.stocks(static_cast<Eigen::Index>(u), static_cast<Eigen::Index>(p.offset(s) + a)));
        su.x0[u * slots + p.offset(s) + (p.width(s) - a) % p.width(s)] = count;
        su.total0[u * p.size() + s] += count;
      }
}

std::string format_count(double x) {
  char out[32];
  std::snprintf(out, sizeof out, "%.3g", x);
  return out;
}

// Refuses a unit that could see more than max_people_per_unit people (see simulate.hpp),
// and a total that, summed over the paths, would overflow the 64-bit tallies.
void check_people(const setup& su) {
  const auto& sc = su.sc;
  const auto& p = sc.model();
  const auto n = sc.units().size();
  double profile = su.opt.inflow_profile.empty() ? 1.0 : 0.0;
  for (double f : su.opt.inflow_profile) profile = std::max(profile, f);
  std::vector<double> inflow(sc.params.inflow.begin(), sc.params.inflow.end()),
      transfer(sc.params.transfer_in.begin(), sc.params.transfer_in.end());
  for (std::size_t k = 0; k < su.opt.uncertainty.size(); ++k) {  // a drawn rate: its mean + 10 sd
    const auto& d = su.opt.uncertainty[k];
    const double high = d.a * d.b + 10 * std::sqrt(d.a) * d.b;
    auto* rate = su.draw_param[k] == param::inflow ? &inflow : su.draw_param[k] == param::transfer_in ? &transfer : nullptr;
    if (rate)
      for (auto u : su.draw_units[k]) (*rate)[static_cast<std::size_t>(u)] = std::max((*rate)[static_cast<std::size_t>(u)], high);
  }
  for (const auto& ps : su.opt.parameter_sets)  // the largest rates any path runs with
    for (std::size_t u = 0; u < n; ++u) {
      inflow[u] = std::max(inflow[u], ps.inflow(static_cast<Eigen::Index>(u)));
      transfer[u] = std::max(transfer[u], ps.transfer_in(static_cast<Eigen::Index>(u)));
    }
  double total = 0;
  for (std::size_t u = 0; u < n; ++u) {
    double stock = 0;
    for (std::size_t s = 0; s < p.size(); ++s) stock += static_cast<double>(su.total0[u * p.size() + s]);
    const double arrivals = su.horizon * (inflow[u] * profile + transfer[u]);
    const double people = stock + arrivals;
    if (!(people <= max_people_per_unit))
      throw input_error("unit '" + sc.units().id(static_cast<unit_index>(u)) + "' could see " + format_count(people) +
                        " people over " + std::to_string(su.horizon) + " months (stocks " + format_count(stock) +
                        ", arrivals " + format_count(arrivals) + " at inflow " + format_count(inflow[u]) +
                        " and transfer_in " + format_count(transfer[u]) +
                        " a month); the simulation handles at most 10^9 people per unit");
    total += people;
  }
  if (total * static_cast<double>(su.opt.paths) > 4e18)
    throw input_error("the organisation could see " + format_count(total) + " people over the horizon; summed over " +
                      std::to_string(su.opt.paths) + " paths that overflows 64-bit counts: use fewer paths");
}

}  // namespace

setup make_setup(const scenario& sc, int horizon, const simulation_options& opt, bool to_draw) {
  sc.validate();
  check_horizon(horizon);
  if (opt.paths < 1 || opt.paths > 0xFFFFFFFFLL)
    throw input_error("paths must be in 1 .. 4,294,967,295, got " + std::to_string(opt.paths));
  if (opt.first_path < 0 || opt.first_path > (1LL << 62) - opt.paths)
    throw input_error("first_path must be in 0 .. 2^62 - paths, got " + std::to_string(opt.first_path));
  if (opt.threads < 0 || opt.threads > max_threads)
    throw input_error("threads must be 0 (one per core) .. " + std::to_string(max_threads) + ", got " +
                      std::to_string(opt.threads));
  if (opt.regime != simulation_regime::automatic && opt.regime != simulation_regime::race &&
      opt.regime != simulation_regime::counts)
    throw input_error("regime must be automatic, race or counts");
  const auto& p = sc.model();
  const auto& o = sc.units();
  if (const double work = static_cast<double>(opt.paths) * static_cast<double>(o.size()) * horizon;
      work > max_unit_months)
    throw input_error("paths x units x months = " + std::to_string(opt.paths) + " x " + std::to_string(o.size()) +
                      " x " + std::to_string(horizon) + " = " + format_count(work) +
                      " unit-months, above the limit of 10^12 (hours of work): use fewer paths");
  setup su{sc, horizon, opt, opt.track.empty() ? default_tracking(p, horizon) : opt.track, {}, {}, {}, {}, {}, {}, false, {}, {}, {}, {}, {}, {}};
  for (const auto& t : su.tracked) {
    const auto e = find_event(t.quantity);
    if (e < n_events) {
      check_window(t.window, horizon, "tracked '" + t.quantity + "'");
      su.tracked_event.push_back(e);
      su.tracked_stage.push_back(static_cast<std::size_t>(-1));
    } else {
      su.tracked_stage.push_back(p.index(t.quantity));  // throws unknown_id
      su.tracked_event.push_back(n_events);
      check_month(t.window.first, horizon, "tracked stock '" + t.quantity + "'");
    }
  }
  for (double f : opt.inflow_profile)
    if (!(f >= 0) || !std::isfinite(f)) throw parameter_error("inflow_profile: every factor must be finite and >= 0");
  for (const auto& d : opt.uncertainty) {
    if (d.distribution != "beta" && d.distribution != "gamma")
      throw parameter_error("uncertainty: distribution must be 'beta' or 'gamma', got '" + d.distribution + "'");
    if (!(d.a > 0) || !(d.b > 0)) throw parameter_error("uncertainty: both parameters of the distribution must be > 0");
    const auto s = p.index(d.stage);
    const auto q = param_from_name(d.param);
    if (!p.takes(s, q)) throw input_error("uncertainty: stage '" + d.stage + "' does not take '" + d.param + "'");
    const bool probability = q != param::inflow && q != param::transfer_in;
    if (probability != (d.distribution == "beta"))
      throw parameter_error("uncertainty: use beta for probabilities and gamma for rates ('" + d.param + "')");
    try {
      su.draw_units.push_back(units_in_scope(o, d.scope));
    } catch (const unknown_id& e) {
      throw unknown_id("uncertainty: scope '" + d.scope + "' names no unit (" + e.what() + ")");
    }
    su.draw_stage.push_back(s);
    su.draw_param.push_back(q);
  }
  if (opt.course) {
    if (opt.course->seats < 0) throw parameter_error("course: seats must be >= 0");
    if (p.stages()[p.admission() - 1].kind != stage_kind::markov)
      throw parameter_error("course: the stage before admission must be a markov (training) stage");
  }
  if (opt.target_rule) {
    const auto& r = *opt.target_rule;
    if (!(r.advance_boost >= 0 && r.advance_boost <= 1) || !(r.pass_penalty >= 0 && r.pass_penalty <= 1) ||
        !std::isfinite(r.margin))
      throw parameter_error("target rule: advance_boost and pass_penalty must be in [0, 1]");
    for (unit_index u = 0; u < static_cast<unit_index>(o.size()); ++u)
      if (!std::isnan(sc.targets(u))) su.target_nodes.push_back(u);
    if (su.target_nodes.empty()) throw input_error("target rule: the scenario has no targets");
    if (p.stages()[p.admission() - 1].kind != stage_kind::markov)
      throw parameter_error("target rule: the stage before admission must be a markov stage");
    su.low_class = r.pass_penalty > 0;
    if (su.low_class && p.stages()[p.admission()].kind != stage_kind::fixed)
      throw parameter_error("target rule: pass_penalty needs a fixed-duration admission stage");
  }
  if (!opt.parameter_sets.empty()) {
    if (!opt.uncertainty.empty())
      throw input_error("parameter_sets and uncertainty: give one or the other (each sets every path's parameters)");
    for (std::size_t i = 0; i < opt.parameter_sets.size(); ++i) {
      const auto& ps = opt.parameter_sets[i];
      if (ps.advance.rows() != static_cast<Eigen::Index>(o.size()) || ps.advance.cols() != static_cast<Eigen::Index>(p.size()))
        throw input_error("parameter set " + std::to_string(i) + " does not match the scenario's units and stages");
      ps.validate(o, p);
    }
  }
  if (to_draw && !su.per_path_parameters()) {
    su.chances = make_chances(su, sc.params);
    add_arrival_tables(su.chances, su);
    number_ladder_chances(su);
  }
  set_initial_state(su);
  check_people(su);
  su.tracked_at.assign(n_events, std::vector<std::vector<std::size_t>>(static_cast<std::size_t>(horizon)));
  for (std::size_t i = 0; i < su.tracked.size(); ++i)
    if (const auto e = su.tracked_event[i]; e < n_events)
      for (int t = su.tracked[i].window.first; t < su.tracked[i].window.last; ++t)
        su.tracked_at[e][static_cast<std::size_t>(t)].push_back(i);
  su.stocks_tracked_at.resize(static_cast<std::size_t>(horizon) + 1);
  for (std::size_t i = 0; i < su.tracked.size(); ++i)
    if (su.tracked_event[i] == n_events) su.stocks_tracked_at[static_cast<std::size_t>(su.tracked[i].window.first)].push_back(i);
  return su;
}

namespace {

// Runs work(id) on `threads` workers, id = 0 .. threads - 1, while the calling thread
// reports progress every 100 ms (progress(); false stops the run) and wakes as soon as
// the last worker is done. (Not detail::for_each_item: the calling thread is not a worker
// here, so that progress and a stop request are seen on it while every worker runs.) `stop` is set when a worker throws or the caller stops the
// run; the first exception is rethrown. Returns false when the caller stopped it.
template <class Work, class Progress>
bool run_workers(int threads, std::atomic<bool>& stop, Work work, Progress progress) {
  std::exception_ptr failure;
  std::mutex failure_mutex, finished_mutex;
  std::condition_variable finished_cv;
  int finished = 0;
  auto run = [&](int id) {
    try {
      work(id);
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      stop = true;
    }
    {
      std::lock_guard<std::mutex> lock(finished_mutex);
      ++finished;
    }
    finished_cv.notify_one();
  };
  if (const int fit = detail::threads_that_fit(threads); fit < threads)
    throw error("simulate: could not start worker thread " + std::to_string(fit + 1) + " of " +
                std::to_string(threads) + " (the address-space limit, RLIMIT_AS, leaves room for " +
                std::to_string(fit) + "); use fewer threads");
  std::vector<std::thread> pool;
  try {
    for (int i = 0; i < threads; ++i) pool.emplace_back(run, i);
  } catch (const std::system_error& e) {  // out of threads or of address space: stop those started
    stop = true;
    for (auto& t : pool) t.join();
    throw error("simulate: could not start worker thread " + std::to_string(pool.size() + 1) + " of " +
                std::to_string(threads) + " (" + e.what() + "); use fewer threads");
  }
  bool cancelled_by_caller = false;
  {
    std::unique_lock<std::mutex> lock(finished_mutex);
    while (!finished_cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return finished == threads; })) {
      lock.unlock();
      try {  // a callback that throws stops the run like a worker that throws
        if (!stop && !progress()) {
          cancelled_by_caller = true;
          stop = true;
        }
      } catch (...) {
        std::lock_guard<std::mutex> failed(failure_mutex);
        if (!failure) failure = std::current_exception();
        stop = true;
      }
      lock.lock();
    }
  }
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
  return !cancelled_by_caller;
}

}  // namespace

}  // namespace sim

std::vector<tracked_quantity> default_tracking(const pipeline& p, int horizon) {
  std::vector<tracked_quantity> out;
  for (std::string e : {"admissions", "confirmations"}) {
    out.push_back({e, {0, horizon}});
    if (horizon > 12) out.push_back({e, {0, 12}});
    for (int q = 0; 3 * q + 3 <= horizon && horizon > 3; ++q) out.push_back({e, {3 * q, 3 * q + 3}});
  }
  for (const auto& st : p.stages()) out.push_back({st.name, {horizon, horizon}});
  return out;
}

simulation_tally simulate_tally(const scenario& sc, int horizon, const simulation_options& opt) {
  const sim::setup su = sim::make_setup(sc, horizon, opt);
  const auto n = sc.units().size();
  const int threads = static_cast<int>(std::min<long long>(detail::thread_count(opt.threads), opt.paths));
  {
    // Per worker: the tallies, the state (a count per unit and slot, a few times over) and
    // the binomial ladders' index (a ladder_slot a unit, stage and slot). Not their tables:
    // a cache that grows with the distinct chances drawn and is cut back past ladder_bytes.
    const double tallies = static_cast<double>(n) *
                           (static_cast<double>(su.n_quantities() * horizon + su.tracked.size() * 4 + 4 * sc.model().state_size()) * 8 +
                            static_cast<double>(sc.model().size() * sim::path_simulator::ladder_slots *
                                                sizeof(sim::path_simulator::ladder_slot)));
    const double kept_bytes = opt.keep_paths ? static_cast<double>(su.tracked.size()) * static_cast<double>(opt.paths) * n * 8 : 0;
    detail::check_fits_memory(threads * tallies + kept_bytes,
                              "simulate (" + std::to_string(threads) + " threads' tallies of " + std::to_string(n) +
                                  " units" + (opt.keep_paths ? ", and keep_paths' " + std::to_string(su.tracked.size()) +
                                                                   " x paths x nodes counts" : std::string()) + ")");
  }
  detail::cell_budget budget;
  budget.limit = static_cast<long long>(detail::available_memory() / 24);  // int64 counts, then double pmfs
  std::vector<simulation_tally> tallies;
  for (int i = 0; i < threads; ++i) tallies.push_back(sim::make_tally(su, opt.first_path, i == 0 ? opt.paths : 0, &budget));
  std::vector<std::vector<std::int64_t>> kept;
  if (opt.keep_paths) kept.assign(su.tracked.size(), std::vector<std::int64_t>(static_cast<std::size_t>(opt.paths) * n));

  // Paths go to the workers in batches (see path_simulator::run_batch) of at most about
  // a million unit-months, so that a stop request is seen within a fraction of a second
  // (tens of milliseconds where units are small, ~0.25 s at 2,000 units of ~3,740 people),
  // and of no more paths than path_simulator::batch_paths says, and shrinking towards the
  // end (a share of what is left), so that the workers finish together. The batches do not
  // change the results: every path's draws are its own, and the tallies are integer sums.
  std::atomic<long long> next_path{0}, done{0};
  std::atomic<bool> stop{false};
  const long long unit_months = static_cast<long long>(n) * horizon;
  const long long largest = std::clamp(std::min((1LL << 20) / std::max(1LL, unit_months),
                                                static_cast<long long>(sim::path_simulator::batch_paths(su))),
                                       1LL, 32LL);
  auto take_batch = [&](long long& first) {
    long long next = next_path.load();
    for (;;) {
      const long long left = opt.paths - next;
      if (left <= 0) return 0LL;
      const long long size = std::clamp(left / (2LL * threads), 1LL, largest);
      if (next_path.compare_exchange_weak(next, next + size)) {
        first = opt.first_path + next;
        return size;
      }
    }
  };
  auto work = [&](int id) {
    sim::path_simulator simulator(su, tallies[static_cast<std::size_t>(id)], opt.keep_paths ? &kept : nullptr,
                                  opt.first_path);
    for (long long first = 0, count; !stop && (count = take_batch(first)) > 0;) {
      simulator.run_batch(static_cast<std::uint64_t>(first), static_cast<std::size_t>(count));
      done += count;
    }
  };
  const bool finished = sim::run_workers(threads, stop, work, [&] {
    return !opt.progress || opt.progress(done.load(), opt.paths);
  });
  if (!finished) throw cancelled("simulation stopped after " + std::to_string(done.load()) + " paths");
  if (opt.progress) opt.progress(opt.paths, opt.paths);

  // Merge (integer sums: the order of the workers does not matter).
  simulation_tally& total = tallies[0];
  for (std::size_t i = 1; i < tallies.size(); ++i) sim::add_counts(total, tallies[i]);
  total.histograms().set_budget(nullptr);
  if (opt.keep_paths) total.kept.push_back(std::move(kept));
  return std::move(total);
}

simulation_result simulate(const scenario& sc, int horizon, const simulation_options& opt) {
  return finish(sc, horizon, opt, simulate_tally(sc, horizon, opt));
}

}  // namespace memberflow
