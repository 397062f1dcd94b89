#include "memberflow/history.hpp"

#include <cmath>
#include <cstdio>
#include <string>

#include "memberflow/apportion.hpp"
#include "memberflow/datasets.hpp"
#include "memberflow/expected.hpp"
#include "memberflow/random.hpp"

namespace memberflow::datasets {

namespace {

// Stream domains: independent uses of the same (seed, unit, month) counters.
constexpr std::uint64_t domain_base = 0x6869737400000000ULL;  // "hist"
constexpr std::uint64_t records_domain = domain_base, entries_domain = domain_base + 1,
                        start_domain = domain_base + 2, effects_domain = domain_base + 3,
                        drift_domain = domain_base + 4;

struct person {
  std::uint32_t id;
  std::uint16_t stage;
  std::uint16_t age;  // months in a fixed stage
};

std::string person_id(std::uint32_t i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "P%06u", i);
  return buf;
}

// The day does not matter to the model (only the month does); it is drawn so that readers
// meet real dates.
std::string date(const calendar_month& m, random::stream& rs) {
  const int day = 1 + static_cast<int>(rs.uniform() * 28);
  return m.str() + (day < 10 ? "-0" : "-") + std::to_string(day);
}

// Columns of the yearly table, in order (see history.hpp).
struct yearly_layout {
  std::vector<std::string> names;
  std::size_t start, arrivals, entries, not_confirmed, exits, transfers_in, transfers_out, end;

  explicit yearly_layout(const pipeline& p) {
    const auto stages = p.size();
    start = 0;
    for (const auto& st : p.stages()) names.push_back(st.name + "_start");
    arrivals = names.size();
    entries = arrivals;  // entries into stage s at entries + s: arrivals into the first
    for (std::size_t s = 0; s < stages; ++s) names.push_back(entry_name(p, s));
    not_confirmed = names.size();
    names.push_back("not_confirmed");
    exits = names.size();
    for (const auto& st : p.stages()) names.push_back(st.name + "_exits");
    transfers_in = names.size();
    names.push_back("transfers_in");
    transfers_out = names.size();
    names.push_back("transfers_out");
    end = names.size();
    for (const auto& st : p.stages()) names.push_back(st.name + "_end");
  }
};

// Expected stocks of every pipeline slot in the steady state of constant parameters (the
// terminal stage left at 0): a markov stage holds its inflow / (advance + exit), age a of
// a fixed stage its inflow x (1 - exit)^a. With Poisson arrivals and people independent,
// each slot's count in that state is Poisson with this mean.
Eigen::ArrayXXd steady_pipeline(const pipeline& p, const parameter_set& ps) {
  Eigen::ArrayXXd state = Eigen::ArrayXXd::Zero(ps.inflow.size(), static_cast<Eigen::Index>(p.state_size()));
  Eigen::ArrayXd flow = ps.inflow;
  for (std::size_t s = 0; s < p.terminal(); ++s) {
    const auto& st = p.stages()[s];
    const auto off = static_cast<Eigen::Index>(p.offset(s)), si = static_cast<Eigen::Index>(s);
    if (st.kind == stage_kind::markov) {
      const Eigen::ArrayXd out = ps.advance.col(si) + ps.exit.col(si);
      state.col(off) = (flow > 0).select(flow / out, 0.0);
      flow = state.col(off) * ps.advance.col(si);
    } else {
      const Eigen::ArrayXd keep = 1.0 - ps.exit.col(si);
      for (int a = 0; a < st.months; ++a) {
        state.col(off + a) = flow;
        flow *= keep;
      }
      flow *= ps.pass_rate.col(si);
    }
  }
  return state;
}

// The expected-value engine's month, year k with truth[k], from `state`; returns the
// district's expected admissions and confirmations of each year, and leaves `state` at
// the start of the month after.
struct expected_years {
  std::vector<double> admissions, confirmations;
};

expected_years run_expected(const pipeline& p, const std::vector<parameter_set>& truth, std::size_t first_year,
                            Eigen::ArrayXXd& state) {
  Eigen::ArrayXXd next(state.rows(), state.cols()), events(state.rows(), static_cast<Eigen::Index>(event_names.size())),
      stage_stocks(state.rows(), static_cast<Eigen::Index>(p.size()));
  expected_years out;
  for (std::size_t k = first_year; k < truth.size(); ++k) {
    double admissions = 0, confirmations = 0;
    for (int t = 0; t < 12; ++t) {
      detail::expected_month(p, truth[k], state, next, events, stage_stocks);
      admissions += events.col(0).sum();
      confirmations += events.col(1).sum();
      state.swap(next);
    }
    out.admissions.push_back(admissions);
    out.confirmations.push_back(confirmations);
  }
  return out;
}

}  // namespace

history simulate_history(const scenario& start, const std::vector<parameter_set>& truth, std::uint64_t seed,
                         double transfer_out_share, bool yearly) {
  start.validate();
  const auto& o = start.units();
  const auto& p = start.model();
  if (!start.start || start.start->month != 1)
    throw input_error("simulate_history: the start must be a January (the counts are by calendar year)");
  if (truth.empty()) throw input_error("simulate_history: give the parameters of at least one year");
  for (const auto& ps : truth) ps.validate(o, p);
  if (!(transfer_out_share >= 0 && transfer_out_share <= 1))
    throw input_error("simulate_history: transfer_out_share must be in [0, 1]");

  const auto n = static_cast<unit_index>(o.size());
  const auto years = truth.size();
  const calendar_month first = *start.start;
  const yearly_layout layout(p);
  const auto columns = layout.names.size();
  // Without the yearly table its counts go to a sink (at national scale they would take
  // years x units x 23 x 8 bytes, ~280 MB).
  std::vector<long long> counts(yearly ? years * static_cast<std::size_t>(n) * columns : 0, 0);
  long long sink = 0;
  auto count = [&](std::size_t k, unit_index u, std::size_t c) -> long long& {
    return yearly ? counts[(k * static_cast<std::size_t>(n) + static_cast<std::size_t>(u)) * columns + c] : sink;
  };

  history h{.events = {}, .yearly = {}, .years = {}, .truth = truth, .start = start, .end = start};
  h.start.params = truth.front();
  h.end.params = truth.back();
  h.end.start = first.plus(static_cast<long>(12 * years));
  auto& ev = h.events;
  ev.source = "simulated history";
  ev.noun = "row";
  ev.columns = {"person_id", "unit_id", "event", "date", "to_unit_id"};
  auto emit = [&](std::uint32_t who, unit_index u, const std::string& what, const calendar_month& m,
                  random::stream& rs) { ev.add_row({person_id(who), o.id(u), what, date(m, rs), ""}); };

  // Everybody present at the start enters their stage in the month before it; age a of a
  // fixed stage was entered a months earlier (entry in month t = age 0 at the start of t+1).
  std::vector<std::vector<person>> people(static_cast<std::size_t>(n));
  std::uint32_t next_id = 1;
  for (unit_index u = 0; u < n; ++u) {
    random::stream rs(seed, 0, static_cast<std::uint64_t>(u), 0, entries_domain);
    for (std::size_t s = 0; s < p.size(); ++s)
      for (std::size_t a = 0; a < p.width(s); ++a) {
        const auto c = static_cast<long long>(start.stocks(u, static_cast<Eigen::Index>(p.offset(s) + a)));
        for (long long i = 0; i < c; ++i) {
          people[u].push_back({next_id, static_cast<std::uint16_t>(s), static_cast<std::uint16_t>(a)});
          emit(next_id++, u, p.stages()[s].name, first.plus(-1 - static_cast<long>(a)), rs);
        }
      }
  }

  auto tally_stocks = [&](std::size_t k, unit_index u, std::size_t column0) {
    for (const auto& x : people[u]) ++count(k, u, column0 + x.stage);
  };
  const auto& first_stage = p.stages().front().name;
  for (long t = 0; t < static_cast<long>(12 * years); ++t) {
    const auto k = static_cast<std::size_t>(t / 12);
    const auto& ps = truth[k];
    const auto month = first.plus(t);
    for (unit_index u = 0; u < n; ++u) {
      if (t % 12 == 0) tally_stocks(k, u, layout.start);
      random::stream rs(seed, 0, static_cast<std::uint64_t>(u), static_cast<std::uint64_t>(t), records_domain);
      auto& here = people[u];
      std::size_t kept = 0;
      // Each person present at the start of the month makes at most one move, decided by
      // one uniform against the cumulative chances of the outcomes.
      for (auto x : here) {
        const auto s = x.stage;
        const auto si = static_cast<Eigen::Index>(s);
        const auto& st = p.stages()[s];
        const double r = rs.uniform();
        bool stays = true;
        auto advance = [&] {
          ++count(k, u, layout.entries + s + 1u);
          emit(x.id, u, p.stages()[s + 1u].name, month, rs);
          x = {x.id, static_cast<std::uint16_t>(s + 1), 0};
        };
        auto leave = [&](const char* what, std::size_t column) {
          ++count(k, u, column);
          emit(x.id, u, what, month, rs);
          stays = false;
        };
        switch (st.kind) {
          case stage_kind::markov:
            if (r < ps.advance(u, si)) advance();
            else if (r < ps.advance(u, si) + ps.exit(u, si)) leave("left", layout.exits + s);
            break;
          case stage_kind::fixed: {
            // Exit during the month at any age; at the last age the rest pass or fail.
            const double exit = ps.exit(u, si);
            if (r < exit) leave("left", layout.exits + s);
            else if (x.age + 1 < st.months) ++x.age;
            else if (r < exit + (1 - exit) * ps.pass_rate(u, si)) advance();
            else leave("not_confirmed", layout.not_confirmed);
            break;
          }
          case stage_kind::terminal: {
            const double attrition = ps.attrition(u, si);
            if (r < attrition * transfer_out_share) leave("transfer_out", layout.transfers_out);
            else if (r < attrition) leave("left", layout.exits + s);
            break;
          }
        }
        if (stays) here[kept++] = x;
      }
      here.resize(kept);
      // Arrivals of the month: Poisson(inflow) candidates, Poisson(transfer_in) full members.
      for (auto c = random::poisson(rs, ps.inflow(u)); c > 0; --c) {
        ++count(k, u, layout.arrivals);
        here.push_back({next_id, 0, 0});
        emit(next_id++, u, first_stage, month, rs);
      }
      for (auto c = random::poisson(rs, ps.transfer_in(u)); c > 0; --c) {
        ++count(k, u, layout.transfers_in);
        here.push_back({next_id, static_cast<std::uint16_t>(p.terminal()), 0});
        emit(next_id++, u, "transfer_in", month, rs);
      }
      if (t % 12 == 11) tally_stocks(k, u, layout.end);
    }
  }

  h.end.stocks.setZero();
  for (unit_index u = 0; u < n; ++u)
    for (const auto& x : people[u]) h.end.stocks(u, static_cast<Eigen::Index>(p.offset(x.stage) + x.age)) += 1;

  auto& y = h.yearly;
  y.source = "simulated history: yearly counts";
  y.noun = "row";
  y.columns = {"unit_id", "year"};
  y.columns.insert(y.columns.end(), layout.names.begin(), layout.names.end());
  for (std::size_t k = 0; k < years; ++k) h.years.push_back(first.year + static_cast<int>(k));
  for (unit_index u = 0; u < n && yearly; ++u)
    for (std::size_t k = 0; k < years; ++k) {
      std::vector<std::string> row{o.id(u), std::to_string(h.years[k])};
      for (std::size_t c = 0; c < columns; ++c) row.push_back(std::to_string(count(k, u, c)));
      y.add_row(std::move(row));
    }
  return h;
}

std::vector<parameter_set> drifting_parameters(const scenario& base, const history_options& opt) {
  if (opt.years < 1 || opt.years > 30)
    throw input_error("drifting_parameters: years must be from 1 to 30, got " + std::to_string(opt.years));
  bool sds_ok = !opt.level_sd.empty() && std::isfinite(opt.year_sd) && opt.year_sd >= 0 &&
                std::isfinite(opt.unit_drift_sd) && opt.unit_drift_sd >= 0;
  for (double sd : opt.level_sd) sds_ok = sds_ok && std::isfinite(sd) && sd >= 0;
  if (!sds_ok) throw input_error("history: give at least one level_sd; every sd must be finite and >= 0");
  const auto& o = base.units();
  const auto& p = base.model();
  const auto n = static_cast<unit_index>(o.size());
  const auto years = static_cast<std::size_t>(opt.years);

  // Every (stage, parameter) a unit has, in a fixed order: the order of the draws.
  std::vector<std::pair<std::size_t, param>> slots;
  for (std::size_t s = 0; s < p.size(); ++s)
    for (auto prm : all_params)
      if (p.takes(s, prm)) slots.emplace_back(s, prm);
  const auto m = static_cast<Eigen::Index>(slots.size());

  // Unit effects: own normal draw x the sd of the unit's level, summed down the tree.
  Eigen::ArrayXXd own(n, m), effect = Eigen::ArrayXXd::Zero(n, m);
  for (unit_index v = 0; v < n; ++v) {
    random::stream rs(opt.seed, 0, static_cast<std::uint64_t>(v), 0, effects_domain);
    const auto d = o.depth(v);
    const auto level = std::min<std::size_t>(static_cast<std::size_t>(d), opt.level_sd.size());
    const double sd = d == 0 ? 0.0 : opt.level_sd[level - 1];
    for (Eigen::Index j = 0; j < m; ++j) own(v, j) = sd * random::normal(rs);
  }
  for (unit_index u = 0; u < n; ++u)
    for (auto v = u; v != no_unit; v = o.parent(v)) effect.row(u) += own.row(v);

  // Drift: the district's and each unit's random walks, 0 in the first year.
  std::vector<parameter_set> truth(years, base.params);
  Eigen::ArrayXd district = Eigen::ArrayXd::Zero(m);
  Eigen::ArrayXXd walk = Eigen::ArrayXXd::Zero(n, m);
  for (std::size_t k = 0; k < years; ++k) {
    if (k > 0) {
      random::stream rd(opt.seed, 0, static_cast<std::uint64_t>(n), k, drift_domain);
      for (Eigen::Index j = 0; j < m; ++j) district(j) += opt.year_sd * random::normal(rd);
      for (unit_index u = 0; u < n; ++u) {
        random::stream rs(opt.seed, 0, static_cast<std::uint64_t>(u), k, drift_domain);
        for (Eigen::Index j = 0; j < m; ++j) walk(u, j) += opt.unit_drift_sd * random::normal(rs);
      }
    }
    for (unit_index u = 0; u < n; ++u)
      for (Eigen::Index j = 0; j < m; ++j) {
        const auto [s, prm] = slots[static_cast<std::size_t>(j)];
        const double b = base.params.get(u, s, prm), x = effect(u, j) + district(j) + walk(u, j);
        const bool rate = prm == param::inflow || prm == param::transfer_in;
        truth[k].set(u, s, prm, rate ? b * std::exp(x) : b > 0 && b < 1 ? logistic(logit(b) + x) : b);
      }
  }

  return truth;
}

history example_history(const history_options& opt) {
  if (opt.years < 2 || opt.years > 30)
    throw input_error("example_history: years must be from 2 to 30 (ending with 2020), got " +
                      std::to_string(opt.years));

  const auto base = example_district(2020);
  const auto& o = base.units();
  const auto& p = base.model();
  const auto n = static_cast<unit_index>(o.size());
  const auto years = static_cast<std::size_t>(opt.years);
  auto truth = drifting_parameters(base, opt);

  // Calibration in expectation, from the steady state of the first year. Every pipeline
  // quantity is proportional to the inflow, so one scale gives 141 confirmations in the
  // last year (people admitted the year before); then the last year's shift of training's
  // advance logit is solved (admissions increase with it) for 89 admissions.
  Eigen::ArrayXXd mean0 = steady_pipeline(p, truth[0]);
  Eigen::ArrayXXd state = mean0;
  const double scale = example_confirmations_2020 / run_expected(p, truth, 0, state).confirmations.back();
  for (auto& ps : truth) ps.inflow *= scale;
  mean0 *= scale;
  Eigen::ArrayXXd last_start = mean0;
  run_expected(p, std::vector<parameter_set>(truth.begin(), truth.end() - 1), 0, last_start);
  const auto trained = static_cast<Eigen::Index>(p.admission() - 1);
  const Eigen::ArrayXd last_logit = truth.back().advance.col(trained).unaryExpr(&logit);
  auto last_admissions = [&](double shift) {
    truth.back().advance.col(trained) = (last_logit + shift).unaryExpr(&logistic);
    Eigen::ArrayXXd state = last_start;
    return run_expected(p, truth, years - 1, state).admissions.back();
  };
  double lo = -10, hi = 10;
  for (int i = 0; i < 60; ++i) {
    const double mid = (lo + hi) / 2;
    (last_admissions(mid) < example_admissions_2020 ? lo : hi) = mid;
  }
  const double shift = (lo + hi) / 2;
  last_admissions(shift);

  // Full members: the example's, scaled so that the expected end total is the 2021 one.
  const auto full = static_cast<Eigen::Index>(p.offset(p.terminal()));
  const Eigen::ArrayXd members = base.stocks.col(full);
  const auto end_full = [&](double factor) {
    Eigen::ArrayXXd state = mean0;
    state.col(full) = factor * members;
    run_expected(p, truth, 0, state);
    return state.col(full).sum();
  };
  const auto target = example_district(2021);
  const double from_pipeline = end_full(0), per_factor = end_full(1) - from_pipeline;
  const double factor = (target.stocks.col(full).sum() - from_pipeline) / per_factor;
  const Eigen::ArrayXd scaled = factor * members;

  scenario sc(base.organisation, base.stages);
  sc.params = truth.front();
  sc.start = calendar_month{2021 - opt.years, 1};
  const auto full_counts = cumulative_round(std::span<const double>(scaled.data(), scaled.size()));
  for (unit_index u = 0; u < n; ++u) {
    random::stream rs(opt.seed, 0, static_cast<std::uint64_t>(u), 0, start_domain);
    for (Eigen::Index c = 0; c < full; ++c) sc.stocks(u, c) = static_cast<double>(random::poisson(rs, mean0(u, c)));
    sc.stocks(u, full) = static_cast<double>(full_counts[u]);
  }
  auto h = simulate_history(sc, truth, opt.seed, opt.transfer_out_share);
  h.end.targets = target.targets;
  h.inflow_scale = scale;
  h.last_year_shift = shift;
  return h;
}

history synthetic_history(const synthetic_options& org_options, const history_options& options, bool yearly) {
  if (options.years < 2 || options.years > 30)
    throw input_error("synthetic_history: years must be from 2 to 30 (ending with 2020), got " +
                      std::to_string(options.years));
  auto start = synthetic(org_options);
  start.start = calendar_month{2021 - options.years, 1};
  const auto truth = drifting_parameters(start, options);
  start.params = truth.front();
  return simulate_history(start, truth, options.seed, options.transfer_out_share, yearly);
}

}  // namespace memberflow::datasets
