#include "simulate_tally.hpp"

#include <algorithm>
#include <cstring>

#define XXH_INLINE_ALL  // header-only: nothing to link, nothing for users of the library to find
#include <xxhash.h>

#include "memberflow/parallel.hpp"
#include "simulate_setup.hpp"

namespace memberflow::detail {

// Counts of people, events and paths are >= 0 and far below 2^62, so that no window's,
// histogram's or path range's end read from bytes overflows.
constexpr long long beyond_counts = 1LL << 62;

void cell_budget::spend(long long cells) {
  if ((used += cells) > limit)
    throw input_error("simulate: the distributions of the tracked counts need more than " +
                      format_bytes(static_cast<double>(limit) * 24) +
                      " of memory (each node's histogram spans the values of its subtree's total; deep or "
                      "large trees widen them): track fewer quantities or simulate a subtree");
}

void histogram::add(long long k, std::int64_t times) {
  if (counts.empty()) offset = k;
  if (k < offset) {
    counts.insert(counts.begin(), static_cast<std::size_t>(offset - k), 0);
    offset = k;
  }
  const auto i = static_cast<std::size_t>(k - offset);
  if (i >= counts.size()) counts.resize(i + 1, 0);
  counts[i] += static_cast<std::uint32_t>(times);
}

void window_histograms::merge(const window_histograms& other) {
  for (std::size_t u = 0; u < lo_.size(); ++u) {
    for (long long i = 0; i < width; ++i)
      if (const auto c = other.window_[u * width + static_cast<std::size_t>(i)]) add(u, other.lo_[u] + i, c);
  }
  for (const auto& [u, w] : other.wide_)
    for (std::size_t i = 0; i < w.counts.size(); ++i)
      if (w.counts[i]) add(u, w.offset + static_cast<long long>(i), w.counts[i]);
}

void window_histograms::add_outside(std::size_t u, long long k, std::int64_t times) {
  if (lo_[u] == unset) {
    lo_[u] = std::max(0LL, k - width / 2);
    add(u, k, times);
  } else {
    auto* w = wide_of(u);
    auto& h = w ? *w : make_wide(u);
    const auto before = h.counts.size();
    if (budget_) {  // charge the growth before making it
      const long long after = h.counts.empty() ? 1
                              : k < h.offset ? static_cast<long long>(before) + (h.offset - k)
                                             : std::max<long long>(static_cast<long long>(before), k - h.offset + 1);
      if (after > static_cast<long long>(before)) budget_->spend(after - static_cast<long long>(before));
    }
    h.add(k, times);
  }
}

histogram& window_histograms::make_wide(std::size_t u) {
  if (wide_at_.empty()) wide_at_.assign(lo_.size(), 0);
  if (wide_.size() >= 0xFFFFFFFFULL) throw input_error("simulate: too many histograms");
  wide_.push_back({u, {}});
  wide_at_[u] = static_cast<std::uint32_t>(wide_.size());
  return wide_.back().second;
}

std::pair<long long, long long> window_histograms::range(std::size_t u) const {
  const cell* window = &window_[u * width];
  const histogram* wide = wide_of(u);
  long long first = std::numeric_limits<long long>::max(), last = std::numeric_limits<long long>::min();
  for (long long i = 0; i < width; ++i)
    if (window[i]) first = std::min(first, lo_[u] + i), last = std::max(last, lo_[u] + i);
  if (wide && !wide->counts.empty())  // its ends hold values (add widens it only to hold one)
    first = std::min(first, wide->offset),
    last = std::max(last, wide->offset + static_cast<long long>(wide->counts.size()) - 1);
  return {first, last};
}

void window_histograms::append_pmf(std::size_t u, std::int64_t paths, pmf_table& table) const {
  const cell* window = &window_[u * width];
  const histogram* wide = wide_of(u);
  // A run's tally holds one value of each count per path; one read from bytes is checked
  // for it (no count empty or over-full; its cells are unsigned), so that the pmf sums to 1.
  std::int64_t seen = 0;
  auto count = [&](std::int64_t c) {
    if (c > paths - seen)
      throw input_error("finish: the tally is not of this run (tracked count " + std::to_string(u) + " holds more values than its " +
                        std::to_string(paths) + " paths)");
    seen += c;
  };
  for (long long i = 0; i < width; ++i)
    if (window[i]) count(window[i]);
  if (wide)
    for (const auto c : wide->counts)
      if (c) count(c);
  if (seen != paths)
    throw input_error("finish: the tally is not of this run (tracked count " + std::to_string(u) + " holds " +
                      std::to_string(seen) + " values for " + std::to_string(paths) + " paths)");
  const auto [first, last] = range(u);
  const auto at = table.probs.size();
  table.offsets.push_back(first);
  table.tails.push_back(0);
  table.probs.resize(at + static_cast<std::size_t>(last - first + 1), 0.0);
  double* p = &table.probs[at];
  const auto whole = static_cast<double>(paths);
  for (long long i = 0; i < width; ++i)
    if (window[i]) p[lo_[u] + i - first] += static_cast<double>(window[i]) / whole;
  if (wide)
    for (std::size_t i = 0; i < wide->counts.size(); ++i)
      if (wide->counts[i]) p[wide->offset + static_cast<long long>(i) - first] += static_cast<double>(wide->counts[i]) / whole;
  table.starts.push_back(table.probs.size());
}

// Bytes: fixed-width little-endian words (the hosts memberflow builds on), vectors as a
// length then their elements; read() checks every length against what is left.
namespace {

template <class T>
void put(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <class T>
void put_vector(std::string& out, const std::vector<T>& v) {
  put(out, static_cast<std::uint64_t>(v.size()));
  if (!v.empty()) out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

[[noreturn]] void bad_bytes(const std::string& why) {
  throw input_error("simulation tally: not a valid tally buffer (" + why + ")");
}
template <class T>
T get(std::string_view in, std::size_t& at) {
  if (in.size() - at < sizeof(T)) bad_bytes("cut short");
  T v;
  std::memcpy(&v, in.data() + at, sizeof v);
  at += sizeof v;
  return v;
}
template <class T>
std::vector<T> get_vector(std::string_view in, std::size_t& at) {
  const auto n = get<std::uint64_t>(in, at);
  if (n > (in.size() - at) / sizeof(T)) bad_bytes("a length beyond the buffer");
  std::vector<T> v(static_cast<std::size_t>(n));
  if (n) std::memcpy(static_cast<void*>(v.data()), in.data() + at, v.size() * sizeof(T));
  at += v.size() * sizeof(T);
  return v;
}

}  // namespace

void window_histograms::write(std::string& out) const {
  put_vector(out, lo_);
  put_vector(out, window_);
  std::vector<std::size_t> order(wide_.size());  // by count, whatever the order they were made in
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return wide_[a].first < wide_[b].first; });
  put(out, static_cast<std::uint64_t>(order.size()));
  for (auto i : order) {
    const auto& [u, h] = wide_[i];
    put(out, static_cast<std::uint64_t>(u));
    put(out, static_cast<std::int64_t>(h.offset));
    put_vector(out, std::vector<std::int64_t>(h.counts.begin(), h.counts.end()));
  }
}

window_histograms window_histograms::read(std::string_view in, std::size_t& at) {
  window_histograms h;
  h.lo_ = get_vector<long long>(in, at);
  h.window_ = get_vector<cell>(in, at);
  if (h.window_.size() != h.lo_.size() * width) bad_bytes("histogram windows of the wrong size");
  for (auto lo : h.lo_)
    if (lo != unset && !(lo >= 0 && lo < beyond_counts)) bad_bytes("a histogram window out of range");
  const auto wide = get<std::uint64_t>(in, at);
  for (std::uint64_t i = 0; i < wide; ++i) {
    const auto u = get<std::uint64_t>(in, at);
    if (u >= h.lo_.size()) bad_bytes("a histogram beyond the counts");
    if (h.wide_of(static_cast<std::size_t>(u))) bad_bytes("a histogram twice");
    auto& w = h.make_wide(static_cast<std::size_t>(u));
    w.offset = get<std::int64_t>(in, at);
    const auto counts = get_vector<std::int64_t>(in, at);
    if (!(w.offset >= 0 && w.offset < beyond_counts)) bad_bytes("a histogram out of range");
    for (const auto c : counts)
      if (c < 0 || c > std::numeric_limits<std::uint32_t>::max()) bad_bytes("a histogram count out of range");
    w.counts.assign(counts.begin(), counts.end());
  }
  return h;
}

}  // namespace memberflow::detail

namespace memberflow {

simulation_tally::simulation_tally() : hist_(std::make_unique<detail::window_histograms>()) {}
simulation_tally::~simulation_tally() = default;
simulation_tally::simulation_tally(const simulation_tally& o)
    : horizon(o.horizon), seed(o.seed), units(o.units), quantities(o.quantities), regime(o.regime), tracked(o.tracked),
      ranges(o.ranges), sums(o.sums), kept(o.kept), hist_(std::make_unique<detail::window_histograms>(*o.hist_)) {
  hist_->set_budget(nullptr);
}
simulation_tally::simulation_tally(simulation_tally&&) noexcept = default;
simulation_tally& simulation_tally::operator=(const simulation_tally& o) {
  if (this != &o) *this = simulation_tally(o);
  return *this;
}
simulation_tally& simulation_tally::operator=(simulation_tally&&) noexcept = default;

detail::window_histograms& simulation_tally::histograms() { return *hist_; }
const detail::window_histograms& simulation_tally::histograms() const { return *hist_; }

long long simulation_tally::path_count() const {
  long long n = 0;
  for (const auto& r : ranges) n += r.second;
  return n;
}

double simulation_tally::pmf_cells() const {
  double cells = 0;
  for (std::size_t u = 0; u < hist_->size(); ++u) cells += static_cast<double>(hist_->pmf_cells(u));
  return cells;
}

namespace {

constexpr char magic[8] = {'m', 'f', 't', 'a', 'l', 'l', 'y', '\0'};
// 2: the checksum is XXH3 (1 was a byte-by-byte FNV-1a: merging two national tallies took
// 4.8 s with it, 1.5 s with XXH3).
constexpr std::uint32_t tally_version = 2;

}  // namespace

// XXH3, 64 bits: catches a corrupt or truncated buffer (not an adversary).
std::uint64_t simulation_tally::checksum(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

std::string simulation_tally::to_bytes() const {
  using detail::put;
  using detail::put_vector;
  std::string out(magic, sizeof magic);
  put(out, tally_version);
  put(out, static_cast<std::int32_t>(horizon));
  put(out, seed);
  put(out, static_cast<std::uint64_t>(units));
  put(out, static_cast<std::uint64_t>(quantities));
  put(out, static_cast<std::int32_t>(regime));
  put(out, static_cast<std::uint64_t>(tracked.size()));
  for (const auto& t : tracked) {
    put(out, static_cast<std::uint64_t>(t.quantity.size()));
    out += t.quantity;
    put(out, static_cast<std::int32_t>(t.window.first));
    put(out, static_cast<std::int32_t>(t.window.last));
  }
  put_vector(out, ranges);
  put_vector(out, sums);
  hist_->write(out);
  put(out, static_cast<std::uint64_t>(kept.size()));
  for (const auto& range : kept) {
    put(out, static_cast<std::uint64_t>(range.size()));
    for (const auto& v : range) put_vector(out, v);
  }
  put(out, checksum(out));
  return out;
}

simulation_tally simulation_tally::from_bytes(std::string_view in) {
  using detail::bad_bytes;
  using detail::get;
  using detail::get_vector;
  if (in.size() < sizeof magic + 4 + 8 || std::memcmp(in.data(), magic, sizeof magic) != 0)
    bad_bytes("it does not start with a tally's mark");
  std::size_t at = sizeof magic;
  if (const auto v = get<std::uint32_t>(in, at); v != tally_version)
    bad_bytes("version " + std::to_string(v) + ", this build reads version " + std::to_string(tally_version));
  const auto body = in.substr(0, in.size() - 8);
  std::size_t end = body.size();
  if (get<std::uint64_t>(in, end) != checksum(body)) bad_bytes("its checksum does not match: corrupt or cut");
  simulation_tally t;
  t.horizon = get<std::int32_t>(body, at);
  t.seed = get<std::uint64_t>(body, at);
  t.units = static_cast<std::size_t>(get<std::uint64_t>(body, at));
  t.quantities = static_cast<std::size_t>(get<std::uint64_t>(body, at));
  const auto regime = get<std::int32_t>(body, at);
  if (regime < 0 || regime > 2) bad_bytes("an unknown regime");
  t.regime = static_cast<simulation_regime>(regime);
  const auto n_tracked = get<std::uint64_t>(body, at);
  if (n_tracked > body.size()) bad_bytes("a length beyond the buffer");
  for (std::uint64_t i = 0; i < n_tracked; ++i) {
    const auto chars = get_vector<char>(body, at);
    tracked_quantity q{std::string(chars.begin(), chars.end()), {}};
    q.window.first = get<std::int32_t>(body, at);
    q.window.last = get<std::int32_t>(body, at);
    t.tracked.push_back(std::move(q));
  }
  t.ranges = get_vector<std::pair<long long, long long>>(body, at);
  t.sums = get_vector<std::int64_t>(body, at);
  *t.hist_ = detail::window_histograms::read(body, at);
  const auto n_kept = get<std::uint64_t>(body, at);
  if (n_kept != 0 && n_kept != t.ranges.size()) bad_bytes("kept paths for some ranges only");
  for (std::uint64_t r = 0; r < n_kept; ++r) {
    const auto m = get<std::uint64_t>(body, at);
    if (m != t.tracked.size()) bad_bytes("kept paths of the wrong shape");
    std::vector<std::vector<std::int64_t>> range;
    for (std::uint64_t i = 0; i < m; ++i) range.push_back(get_vector<std::int64_t>(body, at));
    t.kept.push_back(std::move(range));
  }
  if (at != body.size()) bad_bytes("bytes left over");
  // The shapes must agree with one another (products that overflow agree with nothing).
  auto is_product = [](std::size_t want, std::size_t a, std::size_t b, std::size_t c = 1) {
    constexpr auto most = std::numeric_limits<std::size_t>::max();
    if (b != 0 && a > most / b) return false;
    if (c != 0 && a * b > most / c) return false;
    return a * b * c == want;
  };
  if (t.horizon < 1 || !is_product(t.sums.size(), t.units, t.quantities, static_cast<std::size_t>(t.horizon)) ||
      !is_product(t.histograms().size(), t.units, t.tracked.size()))
    bad_bytes("sums or histograms of the wrong size");
  for (std::size_t r = 0; r < t.ranges.size(); ++r) {
    const auto [first, count] = t.ranges[r];
    if (first < 0 || count < 1 || first >= detail::beyond_counts || count > detail::beyond_counts - first ||
        (r > 0 && t.ranges[r - 1].first + t.ranges[r - 1].second > first))
      bad_bytes("path ranges that are empty, negative, out of range or out of order");
    for (const auto& v : t.kept.empty() ? std::vector<std::vector<std::int64_t>>{} : t.kept[r])
      if (!is_product(v.size(), static_cast<std::size_t>(count), t.units)) bad_bytes("kept paths of the wrong shape");
  }
  return t;
}

void merge(simulation_tally& into, const simulation_tally& other) {
  if (into.units == 0 && into.ranges.empty()) {  // a default-constructed tally: the first batch
    into = other;
    return;
  }
  auto refuse = [](const std::string& what) {
    throw input_error("merge: the tallies are not batches of one run (" + what + ")");
  };
  if (into.horizon != other.horizon) refuse("horizons differ");
  if (into.seed != other.seed) refuse("seeds differ");
  if (into.units != other.units || into.quantities != other.quantities) refuse("organisations or pipelines differ");
  if (into.regime != other.regime) refuse("regimes differ");
  if (into.tracked.size() != other.tracked.size() ||
      !std::equal(into.tracked.begin(), into.tracked.end(), other.tracked.begin(), [](const auto& a, const auto& b) {
        return a.quantity == b.quantity && a.window.first == b.window.first && a.window.last == b.window.last;
      }))
    refuse("tracked quantities differ");
  if (into.kept.empty() != other.kept.empty() && !into.ranges.empty() && !other.ranges.empty())
    refuse("one kept its paths, the other did not");
  if (static_cast<double>(into.path_count()) + static_cast<double>(other.path_count()) > 0xFFFFFFFFLL)
    refuse("more than 4,294,967,295 paths in all");
  // The ranges, merged in order; overlapping ones are refused.
  std::vector<std::size_t> order;
  std::vector<std::pair<long long, long long>> ranges;
  std::vector<std::vector<std::vector<std::int64_t>>> kept;
  std::size_t i = 0, j = 0;
  const bool keep = !into.kept.empty() || !other.kept.empty();
  while (i < into.ranges.size() || j < other.ranges.size()) {
    const bool mine = j == other.ranges.size() || (i < into.ranges.size() && into.ranges[i].first < other.ranges[j].first);
    const auto& r = mine ? into.ranges[i] : other.ranges[j];
    if (!ranges.empty() && ranges.back().first + ranges.back().second > r.first)
      refuse("paths " + std::to_string(r.first) + " .. are in both");
    ranges.push_back(r);
    if (keep) kept.push_back(mine ? std::move(into.kept[i]) : other.kept[j]);
    (mine ? i : j)++;
  }
  sim::add_counts(into, other);
  into.ranges = std::move(ranges);
  into.kept = std::move(kept);
}

namespace {

// Every node's pmf of tracked count t (histogram u T + t), in node order, into `d`, sized
// before it is filled.
void fill_pmfs(const detail::window_histograms& h, std::size_t n, std::size_t T, std::size_t t, std::int64_t paths,
               pmf_table& d) {
  std::size_t cells = 0;
  for (std::size_t u = 0; u < n; ++u) cells += h.pmf_cells(u * T + t);
  d.probs.reserve(cells);
  d.offsets.reserve(n);
  d.tails.reserve(n);
  d.starts.reserve(n + 1);
  for (std::size_t u = 0; u < n; ++u) h.append_pmf(u * T + t, paths, d);
}

// The tracked counts' tables on `threads` threads, one count at a time (each table its
// own: the same numbers for any thread count). A tally that is not of the run is refused
// with the message of its first bad histogram in the store's order, as one thread finds it.
std::vector<pmf_table> pmfs(const detail::window_histograms& h, std::size_t n, std::size_t T, std::int64_t paths,
                            int threads) {
  std::vector<pmf_table> tables(T);
  std::vector<std::pair<std::size_t, std::exception_ptr>> failed(T);  // the histogram refused, why
  detail::for_each_item(T, threads, [&](std::size_t t) {
    try {
      fill_pmfs(h, n, T, t, paths, tables[t]);
    } catch (const input_error&) {
      failed[t] = {tables[t].size() * T + t, std::current_exception()};  // its nodes before are filled
    }
  });
  const auto first = std::min_element(failed.begin(), failed.end(), [](const auto& a, const auto& b) {
    return a.second && (!b.second || a.first < b.first);
  });
  if (first != failed.end() && first->second) std::rethrow_exception(first->second);
  return tables;
}

}  // namespace

simulation_result finish(const scenario& sc, int horizon, const simulation_options& whole_run, simulation_tally tally) {
  const sim::setup su = sim::make_setup(sc, horizon, whole_run, false);
  const auto n = sc.units().size();
  const auto stages = sc.model().size();
  auto refuse = [](const std::string& what) { throw input_error("finish: the tally is not of this run (" + what + ")"); };
  if (tally.horizon != horizon) refuse("another horizon");
  if (tally.seed != whole_run.seed) refuse("another seed");
  if (tally.regime != whole_run.regime) refuse("another regime");
  if (tally.units != n || tally.quantities != su.n_quantities()) refuse("another organisation or pipeline");
  if (tally.tracked.size() != su.tracked.size() ||
      !std::equal(su.tracked.begin(), su.tracked.end(), tally.tracked.begin(), [](const auto& a, const auto& b) {
        return a.quantity == b.quantity && a.window.first == b.window.first && a.window.last == b.window.last;
      }))
    refuse("other tracked quantities");
  {  // the ranges (sorted, disjoint) must tile [first_path, first_path + paths)
    long long next = whole_run.first_path;
    for (const auto& [first, count] : tally.ranges) {
      if (first != next) refuse("paths " + std::to_string(next) + " .. " + std::to_string(first - 1) + " are missing");
      next = first + count;
    }
    if (next != whole_run.first_path + whole_run.paths)
      refuse("it holds paths up to " + std::to_string(next) + ", the run has " +
             std::to_string(whole_run.first_path + whole_run.paths));
  }
  if (whole_run.keep_paths && tally.kept.size() != tally.ranges.size()) refuse("its paths were not kept");
  detail::check_fits_memory(tally.pmf_cells() * sizeof(double),
                            "finish (the pmfs of " + std::to_string(n) + " nodes' tracked counts)");

  std::vector<std::vector<std::int64_t>> kept;
  if (whole_run.keep_paths) {
    kept.resize(su.tracked.size());
    for (std::size_t i = 0; i < su.tracked.size(); ++i) {
      if (tally.kept.size() == 1) kept[i] = std::move(tally.kept[0][i]);
      else
        for (auto& range : tally.kept) kept[i].insert(kept[i].end(), range[i].begin(), range[i].end());
    }
  }
  simulation_result result{forecast_result(sc.organisation, sc.stages, horizon), su.tracked, {}, std::move(kept),
                           whole_run.paths};
  const auto quantities = result.means.quantities();
  const double paths = static_cast<double>(whole_run.paths);
  std::vector<decltype(&result.means.own(quantities[0]))> means;
  for (const auto& q : quantities) means.push_back(&result.means.own(q));
  for (std::size_t u = 0; u < n; ++u) {  // in the order of the sums
    const auto ui = static_cast<Eigen::Index>(u);
    for (std::size_t q = 0; q < quantities.size(); ++q) {
      auto& m = *means[q];
      const std::int64_t* sums = &tally.sums[(u * quantities.size() + q) * static_cast<std::size_t>(horizon)];
      if (q < stages) {  // stocks: month 0's, then cumulated changes (in integers: exact)
        const auto start = su.total0[u * stages + q];
        if (start > std::numeric_limits<std::int64_t>::max() / whole_run.paths) refuse("its stocks overflow");
        auto stock = whole_run.paths * start;
        m(ui, 0) = static_cast<double>(start);
        for (int t = 0; t < horizon; ++t) {
          // a tally read from bytes may hold any sums: they must not leave 64 bits
          if (sums[t] > 0 ? stock > std::numeric_limits<std::int64_t>::max() - sums[t]
                          : stock < std::numeric_limits<std::int64_t>::min() - sums[t])
            refuse("its sums overflow");
          stock += sums[t];
          m(ui, t + 1) = static_cast<double>(stock) / paths;
        }
      } else {
        for (int t = 0; t < horizon; ++t) m(ui, t) = static_cast<double>(sums[t]) / paths;
      }
    }
  }
  result.distributions = pmfs(tally.histograms(), n, su.tracked.size(), whole_run.paths, whole_run.threads);
  return result;
}

}  // namespace memberflow

namespace memberflow::sim {

simulation_tally make_tally(const setup& su, long long first, long long count, detail::cell_budget* budget) {
  simulation_tally t;
  const auto n = su.sc.units().size();
  t.horizon = su.horizon;
  t.seed = su.opt.seed;
  t.units = n;
  t.quantities = su.n_quantities();
  t.regime = su.opt.regime;
  t.tracked = su.tracked;
  if (count > 0) t.ranges.push_back({first, count});
  t.sums.assign(n * su.n_quantities() * static_cast<std::size_t>(su.horizon), 0);
  t.histograms() = detail::window_histograms(n * su.tracked.size(), budget);
  return t;
}

void add_counts(simulation_tally& into, const simulation_tally& other) {
  for (std::size_t k = 0; k < into.sums.size(); ++k) into.sums[k] += other.sums[k];
  into.histograms().merge(other.histograms());
}

}  // namespace memberflow::sim
