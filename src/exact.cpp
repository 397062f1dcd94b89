#include "memberflow/exact.hpp"
#include "memberflow/parallel.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <span>

namespace memberflow {

double node_distributions::max_tail() const {
  double m = 0;
  for (const auto& f : nodes) m = std::max(m, f.tail);
  return m;
}

namespace detail {

void backward_month(const pipeline& p, const parameter_set& ps, const Eigen::ArrayXXd& g, const Eigen::ArrayXXd& d,
                    Eigen::ArrayXXd& next) {
  for (std::size_t s = 0; s < p.size(); ++s) {
    const auto& st = p.stages()[s];
    const auto off = static_cast<Eigen::Index>(p.offset(s));
    const auto si = static_cast<Eigen::Index>(s);
    const auto entry_next = st.kind == stage_kind::terminal ? 0 : static_cast<Eigen::Index>(p.offset(s + 1));
    switch (st.kind) {
      case stage_kind::markov:
        next.col(off) = d.col(off) + (1.0 - ps.advance.col(si) - ps.exit.col(si)) * g.col(off) +
                        ps.advance.col(si) * g.col(entry_next);
        break;
      case stage_kind::fixed: {
        const auto keep = 1.0 - ps.exit.col(si);
        for (Eigen::Index a = 0; a + 1 < st.months; ++a) next.col(off + a) = d.col(off + a) + keep * g.col(off + a + 1);
        const auto last = off + st.months - 1;
        next.col(last) = d.col(last) + keep * ps.pass_rate.col(si) * g.col(entry_next);
        break;
      }
      case stage_kind::terminal:
        next.col(off) = d.col(off) + (1.0 - ps.attrition.col(si)) * g.col(off);
        break;
    }
  }
}

Eigen::ArrayXXd direct_event_chance(const pipeline& p, const parameter_set& ps, std::string_view event) {
  const auto n = ps.inflow.size();
  Eigen::ArrayXXd d = Eigen::ArrayXXd::Zero(n, static_cast<Eigen::Index>(p.state_size()));
  // The chance that a move from stage s's slots enters stage s + 1 (by slot).
  auto entering_next = [&](std::size_t s) {
    const auto& st = p.stages()[s];
    const auto off = static_cast<Eigen::Index>(p.offset(s));
    const auto si = static_cast<Eigen::Index>(s);
    if (st.kind == stage_kind::markov) d.col(off) = ps.advance.col(si);
    else d.col(off + st.months - 1) = (1.0 - ps.exit.col(si)) * ps.pass_rate.col(si);
  };
  const auto e = event_index(event);  // throws unknown_id listing the events
  if (e == event_at::admissions) {
    entering_next(p.admission() - 1);
  } else if (e == event_at::confirmations) {
    entering_next(p.terminal() - 1);
  } else if (e == event_at::exits) {
    for (std::size_t s = 0; s < p.terminal(); ++s) {
      const auto& st = p.stages()[s];
      const auto off = static_cast<Eigen::Index>(p.offset(s));
      const auto si = static_cast<Eigen::Index>(s);
      for (Eigen::Index a = 0; a < static_cast<Eigen::Index>(p.width(s)); ++a) d.col(off + a) = ps.exit.col(si);
      if (st.kind == stage_kind::fixed) {
        const auto last = off + st.months - 1;
        d.col(last) += (1.0 - ps.exit.col(si)) * (1.0 - ps.pass_rate.col(si));
      }
    }
  } else if (e == event_at::leavers) {
    d.col(static_cast<Eigen::Index>(p.offset(p.terminal()))) = ps.attrition.col(static_cast<Eigen::Index>(p.terminal()));
  } else {  // arrivals: a person arrives once, but arrivals are not moves between slots
    throw unknown_id("'" + std::string(event) + "' is not a move between slots (events with one: admissions, "
                     "confirmations, exits, leavers)");
  }
  return d;
}

}  // namespace detail

exact_forecast::exact_forecast(scenario sc, int horizon, const exact_options& options)
    : scenario_(std::move(sc)), horizon_(horizon), options_(options) {
  scenario_.validate();
  check_horizon(horizon);
  if (!(options.tolerance > 0 && options.tolerance < 1)) throw input_error("the tail tolerance must be in (0, 1)");
  // events() keeps two columns of units a month (the first and terminal slots' G(m)).
  const double units = static_cast<double>(scenario_.units().size());
  detail::check_fits_memory(units * (2.0 * (horizon + 1) + 4.0 * static_cast<double>(scenario_.model().state_size())) * 8,
                            "exact over " + std::to_string(horizon) + " months of " + std::to_string(scenario_.units().size()) +
                                " units");
}

node_distributions exact_forecast::events(std::string_view event, month_window w) const {
  return event_pmfs(event, w, true);
}

node_distributions exact_forecast::own_events(std::string_view event, month_window w) const {
  return event_pmfs(event, w, false);
}

node_distributions exact_forecast::event_pmfs(std::string_view event, month_window w, bool subtree) const {
  check_window(w, horizon_);
  const auto e = event_index(event);  // throws unknown_id listing the events
  const auto& p = scenario_.model();
  const auto& ps = scenario_.params;
  const auto n = static_cast<Eigen::Index>(scenario_.units().size());
  const auto months = static_cast<double>(w.last - w.first);
  if (e == event_at::arrivals) {  // people arrive; no one already here is counted
    return assemble("arrivals", w, Eigen::ArrayXXd::Zero(n, static_cast<Eigen::Index>(p.state_size())),
                    (ps.inflow + ps.transfer_in) * months, subtree);
  }
  const Eigen::ArrayXXd d = detail::direct_event_chance(p, ps, event);
  // G(0) = 0; keep G(first), G(last) and the first slot's G(m) for the arrivals.
  Eigen::ArrayXXd g = Eigen::ArrayXXd::Zero(n, d.cols()), next(n, d.cols()), g_first = g;
  // G(m) of the first slot and of the terminal slot, where arrivals land.
  const auto term = static_cast<Eigen::Index>(p.offset(p.terminal()));
  std::vector<Eigen::ArrayXd> first_slot{g.col(0)}, term_slot{g.col(term)};
  for (int m = 1; m <= w.last; ++m) {
    detail::backward_month(p, ps, g, d, next);
    g.swap(next);
    first_slot.push_back(g.col(0));
    term_slot.push_back(g.col(term));
    if (m == w.first) g_first = g;
  }
  // Arrivals of month t land in the first slot at the start of month t + 1 and so have
  // months t + 1 .. last - 1 left, of which those from `first` on count.
  Eigen::ArrayXd per_arrival = Eigen::ArrayXd::Zero(n);
  for (int t = 0; t + 1 < w.last; ++t)
    per_arrival += first_slot[static_cast<std::size_t>(w.last - t - 1)] -
                   first_slot[static_cast<std::size_t>(std::max(0, w.first - t - 1))];
  // Transfers in land in the terminal stage, which produces only `leavers`.
  Eigen::ArrayXd arrival_mean = ps.inflow * per_arrival;
  if (e == event_at::leavers)
    for (int t = 0; t + 1 < w.last; ++t)
      arrival_mean += ps.transfer_in * (term_slot[static_cast<std::size_t>(w.last - t - 1)] -
                                        term_slot[static_cast<std::size_t>(std::max(0, w.first - t - 1))]);
  return assemble(std::string(event), w, g - g_first, arrival_mean, subtree);
}

node_distributions exact_forecast::stock(std::string_view stage, int month) const {
  const auto& p = scenario_.model();
  const auto& ps = scenario_.params;
  const auto s = p.index(stage);
  check_month(month, horizon_);
  const auto n = static_cast<Eigen::Index>(scenario_.units().size());
  const auto slots = static_cast<Eigen::Index>(p.state_size());
  // H(0) = 1 on the stage's slots; H(m) = T H(m - 1) is P(in the stage m months on).
  Eigen::ArrayXXd h = Eigen::ArrayXXd::Zero(n, slots), next(n, slots);
  h.middleCols(static_cast<Eigen::Index>(p.offset(s)), static_cast<Eigen::Index>(p.width(s))).setOnes();
  const Eigen::ArrayXXd none = Eigen::ArrayXXd::Zero(n, slots);
  const auto term = static_cast<Eigen::Index>(p.offset(p.terminal()));
  Eigen::ArrayXd arrival_mean = Eigen::ArrayXd::Zero(n);
  // An arrival of month t is in the first (or terminal) slot at month t + 1, so at
  // `month` it has had month - t - 1 months of moves: sum H(m) over m = 0 .. month - 1.
  for (int m = 0; m < month; ++m) {
    arrival_mean += ps.inflow * h.col(0) + ps.transfer_in * h.col(term);
    detail::backward_month(p, ps, h, none, next);
    h.swap(next);
  }
  return assemble(std::string(stage), {month, month}, h, arrival_mean);
}

namespace {

std::string sd_text(double x) {
  char out[32];
  std::snprintf(out, sizeof out, "%.3g", x);
  return out;
}

// Refuses (see detail::max_pmf_entries) a quantity whose pmfs would be too wide, too
// many or too slow to convolve, estimating each node's pmf width from its variance.
void check_size(const org& o, const Eigen::ArrayXXd& stocks, const Eigen::ArrayXXd& chance,
                const Eigen::ArrayXd& arrival_mean, const std::string& quantity) {
  const auto n = o.size();
  std::vector<double> var(n);
  for (std::size_t u = 0; u < n; ++u) {
    const auto ui = static_cast<Eigen::Index>(u);
    const auto q = chance.row(ui).max(0.0).min(1.0);
    var[u] = arrival_mean(ui) + (stocks.row(ui) * q * (1 - q)).sum();
  }
  const auto width = [](double v) { return 20 * std::sqrt(v) + 20; };
  double cells = 0, work = 0;
  const auto subtree = o.rollup(std::span<const double>(var));
  for (std::size_t u = 0; u < n; ++u) {
    const double w = width(subtree[u]);
    if (!(w <= detail::max_pmf_entries))
      throw input_error("exact " + quantity + ": the pmf of node '" + o.id(static_cast<unit_index>(u)) +
                        "' would need about " + detail::format_bytes(w * 8) + " (" + sd_text(w) +
                        " entries; standard deviation " + sd_text(std::sqrt(subtree[u])) +
                        "), above the limit of 2^24 entries: its counts are too large for exact pmfs; use "
                        "method 'expected' or 'simulate'");
    cells += w;
    // Convolving the children one after another into the node's own pmf.
    double acc = width(var[u]), acc_var = var[u];
    for (auto c : o.children(static_cast<unit_index>(u))) {
      work += acc * width(subtree[static_cast<std::size_t>(c)]);
      acc_var += subtree[static_cast<std::size_t>(c)];
      acc = width(acc_var);
    }
  }
  if (work > detail::max_convolution_work)
    throw input_error("exact " + quantity + ": convolving the pmfs up the tree would take about " +
                      std::to_string(std::llround(work / 1e9)) +
                      " billion multiply-adds, above the limit of 10^12; use method 'expected' or 'simulate'");
  detail::check_fits_memory(cells * 8, "exact " + quantity + ": the pmfs of " + std::to_string(n) +
                                           " nodes (about " + std::to_string(std::llround(cells)) + " entries)");
}

}  // namespace

node_distributions exact_forecast::assemble(std::string quantity, month_window w, const Eigen::ArrayXXd& chance,
                                            const Eigen::ArrayXd& arrival_mean, bool subtree) const {
  const auto& o = scenario_.units();
  const auto& stocks = scenario_.stocks;
  const auto n = o.size();
  const auto slots = static_cast<std::size_t>(stocks.cols());
  check_size(o, stocks, chance, arrival_mean, quantity);
  // Every truncation drops at most 2 eps; a node's pmf results from at most
  // (2 slots + 3) truncations per unit of its subtree, so its tail stays <= tolerance.
  const double eps = options_.tolerance / (2.0 * static_cast<double>(n) * static_cast<double>(2 * slots + 4));
  node_distributions out{std::move(quantity), w, std::vector<pmf>(n)};
  // Each unit's own count first, then each node's children convolved into it, the
  // deepest nodes first: within a step every node writes only its own pmf, always with
  // the same arithmetic in the same order, so the pmfs are the same for any number of
  // threads.
  detail::for_each_item(n, options_.threads, [&](std::size_t i) {
    const auto u = static_cast<unit_index>(i);
    pmf own = poisson_pmf(arrival_mean(u), eps);
    for (std::size_t j = 0; j < slots; ++j) {
      const auto c = static_cast<long long>(stocks(u, static_cast<Eigen::Index>(j)));
      const double q = std::clamp(chance(u, static_cast<Eigen::Index>(j)), 0.0, 1.0);  // rounding only
      if (c > 0 && q > 0) own = convolve(own, binomial_pmf(c, q, eps), eps);
    }
    out.nodes[i] = std::move(own);
  });
  if (subtree) {
    std::vector<std::vector<unit_index>> by_depth;  // the nodes with children, by depth
    for (auto u : o.preorder()) {
      if (o.children(u).empty()) continue;
      const auto d = static_cast<std::size_t>(o.depth(u));
      if (by_depth.size() <= d) by_depth.resize(d + 1);
      by_depth[d].push_back(u);
    }
    for (auto level = by_depth.rbegin(); level != by_depth.rend(); ++level)
      detail::for_each_item(level->size(), options_.threads, [&](std::size_t i) {
        const auto u = (*level)[i];
        pmf& own = out.nodes[static_cast<std::size_t>(u)];
        for (auto child : o.children(u)) own = convolve(own, out.nodes[static_cast<std::size_t>(child)], eps);
      });
  }
  // Never expected (check_size keeps the counts in range); the deepest such node named.
  for (auto it = o.preorder().rbegin(); it != o.preorder().rend(); ++it)
    if (!std::isfinite(out.nodes[static_cast<std::size_t>(*it)].sum()))
      throw error("exact " + out.quantity + ": the pmf of node '" + o.id(*it) + "' is not finite");
  return out;
}

}  // namespace memberflow

namespace memberflow {

node_distributions mix(const std::vector<node_distributions>& parts) {
  if (parts.empty()) throw input_error("mix: no distributions to mix");
  const auto& first = parts.front();
  for (const auto& part : parts)
    if (part.quantity != first.quantity || part.window.first != first.window.first ||
        part.window.last != first.window.last || part.nodes.size() != first.nodes.size())
      throw input_error("mix: the distributions are of different quantities, windows or organisations");
  const double weight = 1.0 / static_cast<double>(parts.size());
  node_distributions out{first.quantity, first.window, std::vector<pmf>(first.nodes.size())};
  for (std::size_t u = 0; u < out.nodes.size(); ++u) {
    long long lo = first.nodes[u].first(), hi = first.nodes[u].last();
    for (const auto& part : parts) lo = std::min(lo, part.nodes[u].first()), hi = std::max(hi, part.nodes[u].last());
    pmf& m = out.nodes[u];
    m.offset = lo;
    m.p.assign(static_cast<std::size_t>(hi - lo + 1), 0.0);
    m.tail = 0;
    for (const auto& part : parts) {
      const pmf& f = part.nodes[u];
      for (std::size_t k = 0; k < f.p.size(); ++k) m.p[static_cast<std::size_t>(f.offset - lo) + k] += weight * f.p[k];
      m.tail += weight * f.tail;
    }
  }
  return out;
}

exact_mixture::exact_mixture(const scenario& sc, const std::vector<parameter_set>& draws, int horizon,
                             const exact_options& options) {
  if (draws.empty()) throw input_error("exact_mixture: give at least one parameter set");
  parts_.reserve(draws.size());
  for (const auto& ps : draws) {
    scenario s = sc;
    s.params = ps;
    parts_.emplace_back(std::move(s), horizon, options);
  }
}

node_distributions exact_mixture::events(std::string_view event, month_window w) const {
  std::vector<node_distributions> each;
  each.reserve(parts_.size());
  for (const auto& f : parts_) each.push_back(f.events(event, w));
  return mix(each);
}

node_distributions exact_mixture::stock(std::string_view stage, int month) const {
  std::vector<node_distributions> each;
  each.reserve(parts_.size());
  for (const auto& f : parts_) each.push_back(f.stock(stage, month));
  return mix(each);
}

}  // namespace memberflow
