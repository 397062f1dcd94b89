// The event log reader: each row parsed on its own, then each person's history replayed
// month by month against the model (records.hpp lists the rules), cut into spells from
// which stocks and exposures are counted.
#include "memberflow/records.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <optional>

#include "memberflow/org_io.hpp"

namespace memberflow {

namespace {

constexpr std::size_t listed_errors = 20;

std::string quoted(const std::string& s) { return "'" + s + "'"; }
std::string month_text(long m) { return calendar_month{}.plus(m).str(); }

// A row, parsed; `bad` holds the reason when it could not be.
struct parsed_row {
  event_record rec;
  std::string event_text;
  std::string bad;
};

// "YYYY-MM" or "YYYY-MM-DD" -> month index; nullopt for anything else.
std::optional<long> parse_date(const std::string& text) {
  if (text.size() != 7 && text.size() != 10) return std::nullopt;
  calendar_month m;
  try {
    m = calendar_month::parse(std::string_view(text).substr(0, 7), "date");
  } catch (const input_error&) {
    return std::nullopt;
  }
  if (text.size() == 10) {
    if (text[7] != '-' || text[8] < '0' || text[8] > '9' || text[9] < '0' || text[9] > '9') return std::nullopt;
    const int day = (text[8] - '0') * 10 + (text[9] - '0');
    static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (m.year % 4 == 0 && m.year % 100 != 0) || m.year % 400 == 0;
    if (day < 1 || day > days[m.month - 1] + (m.month == 2 && leap)) return std::nullopt;
  }
  return month_index(m);
}

std::string id_problem(const std::string& id) {
  for (unsigned char c : id)
    if (c < 0x20 || c == 0x7F) return "contains a control character";
  if (id.find_first_not_of(' ') == std::string::npos) return "is blank";
  if (id.front() == ' ' || id.back() == ' ') return "has a space at the start or end";
  return {};
}

parsed_row parse_row(const std::vector<std::string>& cells, const std::size_t col[5], const org& o,
                     const pipeline& p) {
  parsed_row out;
  auto& r = out.rec;
  auto cell = [&](int i) -> const std::string& {
    static const std::string empty;
    return col[i] == text_table::npos ? empty : cells[col[i]];
  };
  r.person = cell(0);
  out.event_text = cell(2);
  if (auto why = id_problem(r.person); !why.empty()) return out.bad = "person_id " + quoted(r.person) + " " + why, out;
  if (!o.contains(cell(1))) return out.bad = "unknown unit " + quoted(cell(1)), out;
  r.unit = o.index(cell(1));
  const auto& ev = cell(2);
  const auto& st = p.stages();
  auto stage_named = [&](const std::string& name) -> std::optional<std::size_t> {
    for (std::size_t s = 0; s < st.size(); ++s)
      if (st[s].name == name) return s;
    return std::nullopt;
  };
  if (auto s = stage_named(ev)) r.kind = record_kind::enter, r.stage = *s;
  else if (ev == "candidate") r.kind = record_kind::enter, r.stage = 0;
  else if (ev == "admitted") r.kind = record_kind::enter, r.stage = p.admission();
  else if (ev == "confirmed") r.kind = record_kind::enter, r.stage = p.terminal();
  else if (ev == "left") r.kind = record_kind::left;
  else if (ev == "not_confirmed") r.kind = record_kind::not_confirmed;
  else if (ev == "transfer_in") r.kind = record_kind::transfer_in;
  else if (ev == "transfer_out") r.kind = record_kind::transfer_out;
  else if (ev == "moved") r.kind = record_kind::moved;
  else {
    std::string names;
    for (const auto& s : st) names += s.name + ", ";
    return out.bad = "unknown event " + quoted(ev) + " (a stage: " + names +
                     "or candidate, admitted, confirmed, left, not_confirmed, transfer_in, transfer_out, moved)",
           out;
  }
  const auto month = parse_date(cell(3));
  if (!month) return out.bad = "date " + quoted(cell(3)) + " is not a date YYYY-MM-DD or a month YYYY-MM", out;
  r.month = *month;
  const auto& to = cell(4);
  if (r.kind == record_kind::moved) {
    if (to.empty()) return out.bad = "moved needs to_unit_id", out;
    if (!o.contains(to)) return out.bad = "unknown to_unit_id " + quoted(to), out;
    r.to_unit = o.index(to);
    if (r.to_unit == r.unit) return out.bad = "moved to its own unit " + quoted(to), out;
  } else if (!to.empty()) {
    return out.bad = "to_unit_id " + quoted(to) + " is only for moved events", out;
  }
  return out;
}

// The default for bad rows: an input_error counting them and listing the first 20.
void refuse(const text_table& t, const std::vector<std::string>& why, const std::vector<bool>& primary,
            const std::string& what) {
  const auto count = static_cast<std::size_t>(std::count(primary.begin(), primary.end(), true));
  if (count == 0) return;
  std::string msg = t.source + ": " + std::to_string(count) + " bad row" + (count == 1 ? "" : "s") + " in " + what +
                    (count > listed_errors ? " (the first 20)" : "") +
                    "; read with quarantine to set them aside with their reasons";
  for (std::size_t r = 0, listed = 0; r < why.size() && listed < listed_errors; ++r)
    if (primary[r]) msg += "\n  " + t.where(r).describe() + ": " + why[r], ++listed;
  throw input_error(msg);
}

bool same_record(const event_record& a, const event_record& b) {
  return a.person == b.person && a.unit == b.unit && a.kind == b.kind && a.month == b.month &&
         (a.kind != record_kind::enter || a.stage == b.stage) &&
         (a.kind != record_kind::moved || a.to_unit == b.to_unit);
}

// Replays one person's events (date order) against the model. Returns the index (into
// `events`) of the first event the model cannot produce and the reason; spells of a
// valid history are appended to `out`.
struct replay_result {
  std::size_t bad = static_cast<std::size_t>(-1);
  std::string reason;
};

replay_result replay(const std::vector<event_record>& ev, const std::vector<std::string>& event_text, const org& o,
                     const pipeline& p, long records_end, const std::string& noun, std::size_t base,
                     std::vector<spell>& out) {
  auto at = [&](long line) { return noun + " " + std::to_string(line); };
  const auto& st = p.stages();
  const auto first_out = out.size();
  replay_result res;
  std::optional<spell> cur;  // where the person is now
  long entered_line = 0;     // the row that put them in the current stage
  long last_month = LONG_MIN, last_line = 0;
  std::optional<long> gone;  // the line of the event by which the person left
  auto fail = [&](std::size_t i, std::string why) {
    out.resize(first_out);
    res.bad = i;
    res.reason = std::move(why);
    return res;
  };
  auto close = [&](long month, spell::end how) {
    cur->to = month;
    cur->ends = how;
    out.push_back(*cur);
  };
  for (std::size_t i = 0; i < ev.size(); ++i) {
    const auto& e = ev[i];
    // The messages' pieces are built only for a bad row: for the 1.5 million good rows
    // of a national log, building them took a third of the reading.
    auto what = [&] { return quoted(event_text[i]) + " in " + month_text(e.month); };
    if (gone) return fail(i, what() + " after the person left (" + at(*gone) + ")");
    if (e.month == last_month)
      return fail(i, what() + ": a second event in that month (" + at(last_line) +
                         "); the model moves a person at most once a month");
    last_month = e.month, last_line = e.line;
    if (!cur) {
      if (e.kind != record_kind::enter && e.kind != record_kind::transfer_in)
        return fail(i, what() + " for a person in no stage: a history starts by entering a stage or transfer_in");
      cur = spell{e.unit, e.kind == record_kind::enter ? e.stage : p.terminal(), e.month, e.month + 1};
      cur->event = base + i;
      entered_line = e.line;
      continue;
    }
    const auto& s = st[cur->stage];
    auto in = [&] {
      return " (in " + quoted(s.name) + " of unit " + quoted(o.id(cur->unit)) + " since " + at(entered_line) + ")";
    };
    if (e.unit != cur->unit)
      return fail(i, what() + " in unit " + quoted(o.id(e.unit)) + ", but the person is in unit " +
                         quoted(o.id(cur->unit)) + in());
    const bool fixed = s.kind == stage_kind::fixed;
    const long ends = cur->entered + s.months;  // a fixed stage's last month
    auto entry = [&] {
      return quoted(s.name) + " entered in " + month_text(cur->entered) + " (" + at(entered_line) + ")";
    };
    if (fixed && e.month > ends)
      return fail(i, what() + ", but " + entry() + " ends in " + month_text(ends) + " (" +
                         std::to_string(s.months) + " months later) with a pass, not_confirmed or left");
    switch (e.kind) {
      case record_kind::enter: {
        if (e.stage != cur->stage + 1) {
          std::string why = what() + " enters " + quoted(st[e.stage].name) + " from " + quoted(s.name) + in();
          if (cur->stage + 1 < st.size())
            why += "; the stage after " + quoted(s.name) + " is " + quoted(st[cur->stage + 1].name);
          if (e.stage <= p.admission() && cur->stage >= p.admission() && e.stage <= cur->stage)
            why += " (admitted again without leaving)";
          if (e.stage == p.terminal() && cur->stage < p.admission()) why += " (confirmed before admitted)";
          return fail(i, why);
        }
        if (fixed && e.month != ends)
          return fail(i, what() + " passes " + quoted(s.name) + " before its " + std::to_string(s.months) +
                             " months: entered in " + month_text(cur->entered) + " (" + at(entered_line) +
                             "), it is passed in " + month_text(ends));
        close(e.month, spell::end::advanced);
        cur = spell{e.unit, e.stage, e.month, e.month + 1};
        cur->event = base + i;
        entered_line = e.line;
        break;
      }
      case record_kind::left:
        close(e.month, spell::end::exited);
        gone = e.line;
        break;
      case record_kind::not_confirmed:
        if (!fixed) return fail(i, what() + ", but " + quoted(s.name) + " is not a fixed-duration stage" + in());
        if (e.month != ends)
          return fail(i, what() + " before the end of " + quoted(s.name) + ": entered in " + month_text(cur->entered) +
                             " (" + at(entered_line) + "), it ends in " + month_text(ends));
        close(e.month, spell::end::failed);
        gone = e.line;
        break;
      case record_kind::transfer_in:
        return fail(i, what() + " for a person already present" + in());
      case record_kind::transfer_out:
        if (cur->stage != p.terminal())
          return fail(i, what() + " from " + quoted(s.name) + in() + ": only the terminal stage " +
                             quoted(st[p.terminal()].name) + " transfers out (use left)");
        close(e.month, spell::end::exited);
        gone = e.line;
        break;
      case record_kind::moved: {
        if (fixed && e.month == ends)
          return fail(i, what() + ": " + entry() + " ends that month with a pass, not_confirmed or left");
        close(e.month, spell::end::moved);
        const long entered = cur->entered;
        cur = spell{e.to_unit, cur->stage, entered, e.month + 1};
        cur->event = base + i;
        break;
      }
    }
  }
  if (cur && !gone) {
    const auto& s = st[cur->stage];
    const long ends = cur->entered + s.months;
    if (s.kind == stage_kind::fixed && ends <= records_end) {
      // The entry row is the one at fault: point at it.
      std::size_t i = 0;
      while (i + 1 < ev.size() && ev[i].line != entered_line) ++i;
      return fail(i, quoted(event_text[i]) + " in " + month_text(ev[i].month) + ": the person should pass or fail " +
                         quoted(s.name) + " in " + month_text(ends) +
                         " but has no event then, while the records run to " + month_text(records_end));
    }
    out.push_back(*cur);
  }
  return res;
}

}  // namespace

event_log::event_log(const text_table& t, std::shared_ptr<const org> o, std::shared_ptr<const pipeline> p,
                     const read_options& options)
    : org_(std::move(o)), pipeline_(std::move(p)) {
  if (!org_ || !pipeline_) throw input_error("an event log needs an organisation and a pipeline");
  const std::size_t col[5] = {t.require_column("person_id"), t.require_column("unit_id"), t.require_column("event"),
                              t.require_column("date"), t.find_column("to_unit_id")};
  const auto n = t.rows.size();
  rows_read_ = n;
  std::vector<parsed_row> rows(n);
  std::vector<std::string> why(n);  // the reason a row is set aside ("" = used)
  std::vector<bool> primary(n, false);
  long records_end = LONG_MIN;
  for (std::size_t r = 0; r < n; ++r) {
    rows[r] = parse_row(t.rows[r], col, *org_, *pipeline_);
    rows[r].rec.line = t.lines[r];
    if (!rows[r].bad.empty()) why[r] = rows[r].bad, primary[r] = true;
    else records_end = std::max(records_end, rows[r].rec.month);
  }
  // By person, month, then row. Persons compare first by their first 8 bytes as one
  // big-endian number (the order of std::string's compare), the whole ids only on a tie:
  // most ids are decided there, and string compares were a fifth of the reading.
  std::vector<std::uint64_t> prefix(n);
  for (std::size_t r = 0; r < n; ++r) {
    const auto& id = rows[r].rec.person;
    std::uint64_t key = 0;
    for (std::size_t i = 0; i < 8; ++i) key = key << 8 | (i < id.size() ? static_cast<unsigned char>(id[i]) : 0u);
    prefix[r] = key;
  }
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (prefix[a] != prefix[b]) return prefix[a] < prefix[b];
    const auto &x = rows[a].rec, &y = rows[b].rec;
    if ((x.person.size() > 8 || y.person.size() > 8 || x.person.size() != y.person.size()) && x.person != y.person)
      return x.person < y.person;
    return x.month < y.month;
  });
  std::vector<event_record> ev;
  std::vector<std::string> text;
  std::vector<std::size_t> at;  // row of each event in ev
  for (std::size_t begin = 0, end = 0; begin < n; begin = end) {
    const auto& person = rows[order[begin]].rec.person;
    end = begin;
    while (end < n && rows[order[end]].rec.person == person) ++end;
    ev.clear(), text.clear(), at.clear();
    std::optional<std::size_t> bad;  // the person's first bad row
    for (auto k = begin; k < end; ++k) {
      const auto r = order[k];
      if (!why[r].empty()) {
        if (!bad) bad = r;
        continue;
      }
      // An exact duplicate goes alone; its first copy stays. Two different events of one
      // month already fail the replay, so looking back two events is enough (and keeps a
      // month with thousands of rows linear).
      std::optional<std::size_t> twin;
      for (auto j = at.size(); j-- > 0 && j + 2 >= at.size() && ev[j].month == rows[r].rec.month;)
        if (same_record(ev[j], rows[r].rec)) twin = at[j];
      if (twin) {
        why[r] = "duplicate of " + std::string(t.noun) + " " + std::to_string(t.lines[*twin]), primary[r] = true;
        continue;
      }
      ev.push_back(rows[r].rec), text.push_back(rows[r].event_text), at.push_back(r);
    }
    if (!bad && id_problem(person).empty()) {
      const auto res = replay(ev, text, *org_, *pipeline_, records_end, t.noun, events_.size(), spells_);
      if (res.reason.empty()) {
        events_.insert(events_.end(), ev.begin(), ev.end());
        continue;
      }
      bad = at[res.bad];
      why[*bad] = "person " + quoted(person) + ": " + res.reason, primary[*bad] = true;
    }
    if (!id_problem(person).empty()) continue;  // rows without a usable person stand alone
    for (auto r : at)
      if (why[r].empty())
        why[r] = "with " + std::string(t.noun) + " " + std::to_string(t.lines[*bad]) + ", a bad row of person " +
                 quoted(person);
  }
  for (std::size_t r = 0; r < n; ++r)
    if (!why[r].empty()) quarantined_.push_back({t.lines[r], why[r], t.rows[r]});
  if (!options.quarantine) refuse(t, why, primary, "the event log");
}

calendar_month event_log::first_month() const {
  if (events_.empty()) throw input_error("the event log holds no event");
  long m = LONG_MAX;
  for (const auto& e : events_) m = std::min(m, e.month);
  return calendar_month{}.plus(m);
}

calendar_month event_log::complete_from() const {
  if (events_.empty()) throw input_error("the event log holds no event");
  long m = LONG_MIN;
  const std::string* person = nullptr;
  for (const auto& e : events_) {  // by person, then month: a person's first event opens their history
    const bool first = person == nullptr || *person != e.person;
    person = &e.person;
    if (first && e.kind == record_kind::enter && e.stage != 0) m = std::max(m, e.month + 1);
  }
  return m == LONG_MIN ? first_month() : calendar_month{}.plus(m);
}

calendar_month event_log::last_month() const {
  if (events_.empty()) throw input_error("the event log holds no event");
  long m = LONG_MIN;
  for (const auto& e : events_) m = std::max(m, e.month);
  return calendar_month{}.plus(m);
}

Eigen::ArrayXXd event_log::stocks_at(const calendar_month& month) const {
  const auto& p = *pipeline_;
  Eigen::ArrayXXd stocks = Eigen::ArrayXXd::Zero(static_cast<Eigen::Index>(org_->size()),
                                                 static_cast<Eigen::Index>(p.state_size()));
  const long m = month_index(month);
  if (!events_.empty() && m > month_index(last_month()) + 1)
    throw input_error("stocks at the start of " + month.str() + ": the records end in " + last_month().str() +
                      ", so the latest start of a month they describe is " + last_month().plus(1).str());
  for (const auto& s : spells_)
    if (s.from <= m && m <= s.to) {
      const bool fixed = p.stages()[s.stage].kind == stage_kind::fixed;
      stocks(s.unit, static_cast<Eigen::Index>(p.offset(s.stage) + (fixed ? m - s.entered - 1 : 0))) += 1;
    }
  return stocks;
}

text_table event_log::people_at(const calendar_month& month) const {
  stocks_at(month);  // the same range check
  const long m = month_index(month);
  text_table t;
  t.source = "people at the start of " + month.str();
  t.columns = {"person_id", "unit_id", "stage", "months_in_stage"};
  for (const auto& s : spells_)
    if (s.from <= m && m <= s.to)
      t.add_row({events_[s.event].person, org_->id(s.unit), pipeline_->stages()[s.stage].name,
                 std::to_string(m - s.entered - 1)});
  return t;
}

int exposure_table::column_start(int c) const {
  if (block <= 1 || c <= 0) return std::max(c, 0);
  const int lead = months - (columns() - 1) * block;  // months in the first column
  return std::min(months, lead + (c - 1) * block);
}

Eigen::ArrayXd exposure_table::unit_totals(const Eigen::ArrayXXd& a, int from, int count) const {
  if (block <= 1) return a.middleCols(from, count).rowwise().sum();
  int c0 = 0, c1 = 0;
  while (c0 < columns() && column_start(c0) < from) ++c0;
  c1 = c0;
  while (c1 < columns() && column_start(c1) < from + count) ++c1;
  if (count < 0 || column_start(c0) != from || column_start(c1) != from + count)
    throw error("exposure_table: months " + std::to_string(from) + ".." + std::to_string(from + count - 1) +
                " of the window are not whole columns of " + std::to_string(block) + " months (the columns end with " +
                "the window's last month, " + std::to_string(months - 1) + ")");
  return a.middleCols(c0, c1 - c0).rowwise().sum();
}

exposure_totals exposure_table::organisation_monthly() const {
  if (monthly.arrivals.size() == months) return monthly;
  if (block > 1) throw error("exposure_table: blocks of " + std::to_string(block) + " months without monthly totals");
  exposure_totals out;
  auto sums = [](const Eigen::ArrayXXd& a) -> Eigen::ArrayXd { return a.colwise().sum().transpose(); };
  for (std::size_t s = 0; s < at_risk.size(); ++s) {
    out.at_risk.push_back(sums(at_risk[s]));
    out.advanced.push_back(sums(advanced[s]));
    out.exited.push_back(sums(exited[s]));
    out.completing.push_back(sums(completing[s]));
  }
  out.arrivals = sums(arrivals);
  out.transfers_in = sums(transfers_in);
  return out;
}

exposure_table exposures(const event_log& log, const calendar_month& first, const calendar_month& last, int block) {
  const auto& p = log.model();
  const long f = month_index(first), l = month_index(last);
  if (l < f) throw input_error("exposures: the last month " + last.str() + " is before the first " + first.str());
  if (l > month_index(log.last_month()))
    throw input_error("exposures up to " + last.str() + ": the records end in " + log.last_month().str());
  if (block < 1 || block > 1200) throw input_error("exposures: block must be 1 to 1200 months, got " + std::to_string(block));
  const auto units = static_cast<Eigen::Index>(log.units().size());
  exposure_table x;
  x.start = first;
  x.months = static_cast<int>(l - f + 1);
  x.block = block;
  const auto columns = static_cast<Eigen::Index>(x.columns());
  detail::check_fits_memory(8.0 * units * columns * (4.0 * p.size() + 2),
                            "exposures of " + std::to_string(units) + " units over " + std::to_string(columns) +
                                (block == 1 ? " months" : " blocks of " + std::to_string(block) + " months"));
  for (auto* a : {&x.at_risk, &x.advanced, &x.exited, &x.completing})
    a->assign(p.size(), Eigen::ArrayXXd::Zero(units, columns));
  x.arrivals = x.transfers_in = Eigen::ArrayXXd::Zero(units, columns);
  auto& total = x.monthly;
  for (auto* a : {&total.at_risk, &total.advanced, &total.exited, &total.completing})
    a->assign(p.size(), Eigen::ArrayXd::Zero(x.months));
  total.arrivals = total.transfers_in = Eigen::ArrayXd::Zero(x.months);
  // Column of each month of the window, and the columns' first months.
  std::vector<Eigen::Index> column(static_cast<std::size_t>(x.months));
  for (Eigen::Index c = 0; c < columns; ++c)
    for (int t = x.column_start(static_cast<int>(c)); t < x.column_start(static_cast<int>(c) + 1); ++t)
      column[static_cast<std::size_t>(t)] = c;
  // A spell's months at risk go to the columns in runs (one addition per column, not per
  // month: a member present for five years is 60 months but 5 blocks), and to the monthly
  // totals through a difference array (+1 at the first month, -1 after the last).
  Eigen::ArrayXd at_risk_change = Eigen::ArrayXd::Zero(static_cast<Eigen::Index>(p.size()) * (x.months + 1));
  auto count = [&](Eigen::ArrayXXd& a, Eigen::ArrayXd& monthly, unit_index u, long t) {
    a(u, column[static_cast<std::size_t>(t)]) += 1;
    monthly(t) += 1;
  };
  for (const auto& s : log.spells()) {
    const auto& st = p.stages()[s.stage];
    const long a = std::max(s.from, f) - f, b = std::min(s.to, l) - f;  // the spell's months in the window
    if (a > b) continue;
    for (long t = a; t <= b;) {
      const auto c = column[static_cast<std::size_t>(t)];
      const long run_end = std::min<long>(b, x.column_start(static_cast<int>(c) + 1) - 1);
      x.at_risk[s.stage](s.unit, c) += static_cast<double>(run_end - t + 1);
      t = run_end + 1;
    }
    at_risk_change(static_cast<Eigen::Index>(s.stage) * (x.months + 1) + a) += 1;
    at_risk_change(static_cast<Eigen::Index>(s.stage) * (x.months + 1) + b + 1) -= 1;
    const bool ends_inside = s.to <= l;  // the spell's last month is in the window (s.to >= from holds)
    // The pass_rate trial: at the last age, unless the person left during the month.
    const long last_age = s.entered + st.months - f;
    if (st.kind == stage_kind::fixed && last_age >= a && last_age <= b &&
        !(last_age == s.to - f && s.ends == spell::end::exited))
      count(x.completing[s.stage], total.completing[s.stage], s.unit, last_age);
    if (ends_inside && s.ends == spell::end::advanced) count(x.advanced[s.stage], total.advanced[s.stage], s.unit, b);
    if (ends_inside && s.ends == spell::end::exited) count(x.exited[s.stage], total.exited[s.stage], s.unit, b);
  }
  for (std::size_t s = 0; s < p.size(); ++s) {
    double running = 0;
    for (int t = 0; t < x.months; ++t)
      total.at_risk[s](t) = running += at_risk_change(static_cast<Eigen::Index>(s) * (x.months + 1) + t);
  }
  for (const auto& e : log.events()) {
    if (e.month < f || e.month > l) continue;
    // Entering the first stage is always a person's first event (nothing leads back to it).
    if (e.kind == record_kind::enter && e.stage == 0) count(x.arrivals, total.arrivals, e.unit, e.month - f);
    if (e.kind == record_kind::transfer_in) count(x.transfers_in, total.transfers_in, e.unit, e.month - f);
  }
  return x;
}

namespace {

// "2020" -> (2020-01, 12), "2020Q2" -> (2020-04, 3), "2020-03" -> (2020-03, 1).
std::optional<std::pair<long, int>> parse_period(const std::string& text) {
  auto digits = [&](std::size_t from, std::size_t n) {
    if (text.size() < from + n) return false;
    for (std::size_t i = from; i < from + n; ++i)
      if (text[i] < '0' || text[i] > '9') return false;
    return true;
  };
  if (!digits(0, 4)) return std::nullopt;
  const int year = std::stoi(text.substr(0, 4));
  if (year < 1) return std::nullopt;
  if (text.size() == 4) return std::make_pair(month_index({year, 1}), 12);
  if (text.size() == 6 && text[4] == 'Q' && text[5] >= '1' && text[5] <= '4')
    return std::make_pair(month_index({year, 1}) + 3 * (text[5] - '1'), 3);
  if (text.size() == 7 && text[4] == '-' && digits(5, 2)) {
    const int month = std::stoi(text.substr(5, 2));
    if (month >= 1 && month <= 12) return std::make_pair(month_index({year, month}), 1);
  }
  return std::nullopt;
}

std::string period_text(long first, int months) {
  const auto m = calendar_month{}.plus(first);
  if (months == 12) return std::to_string(m.year);
  if (months == 3) return std::to_string(m.year) + "Q" + std::to_string((m.month + 2) / 3);
  return m.str();
}

}  // namespace

count_table::count_table(const text_table& t, const org& o, const pipeline& p, const read_options& options) {
  const auto& st = p.stages();
  const auto S = st.size();
  const auto unit_col = t.require_column("unit_id");
  const auto period_col = t.find_column("period") != text_table::npos ? t.require_column("period")
                          : t.find_column("year") != text_table::npos ? t.require_column("year")
                                                                       : t.require_column("period");
  const bool yearly_column = t.columns[period_col] == "year";
  // The columns of each quantity (npos: not given, unknown).
  std::vector<std::size_t> start_col(S), entry_col(S), exit_col(S), end_col(S);
  for (std::size_t s = 0; s < S; ++s) {
    start_col[s] = t.require_column(st[s].name + "_start");
    entry_col[s] = t.find_column(entry_name(p, s));
    exit_col[s] = t.find_column(st[s].name + "_exits");
    end_col[s] = t.find_column(st[s].name + "_end");
  }
  const auto failed_col = t.find_column("not_confirmed"), in_col = t.find_column("transfers_in"),
             out_col = t.find_column("transfers_out");
  std::size_t fixed_stages = 0;
  for (const auto& x : st) fixed_stages += x.kind == stage_kind::fixed;

  const auto n = t.rows.size();
  rows_read = n;
  source = t.source;
  noun = t.noun;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Eigen::ArrayXXd all_start(n, S), all_entries(n, S), all_exits(n, S), all_end(n, S);
  Eigen::ArrayXd all_failed(n), all_in(n), all_out(n);
  std::vector<period> rows(n);
  std::vector<std::string> why(n);
  for (std::size_t r = 0; r < n; ++r) {
    const auto& cells = t.rows[r];
    auto& why_r = why[r];
    // A count, or NaN for a missing column or an empty cell; a bad cell sets why_r.
    auto count = [&](std::size_t col, bool required = false) {
      if (col == text_table::npos || cells[col].empty()) {
        if (required && why_r.empty()) why_r = "column '" + t.columns[col] + "' is empty (stocks are required)";
        return nan;
      }
      long long v = -1;
      try {
        v = detail::parse_integer(cells[col], t.where(r), t.columns[col]);
      } catch (const input_error&) {
      }
      if ((v < 0 || v > detail::max_count) && why_r.empty())
        why_r = "column '" + t.columns[col] + "' must be a whole number from 0 to 2^53, got '" + cells[col] + "'";
      return static_cast<double>(v);
    };
    for (std::size_t s = 0; s < S; ++s) {
      all_start(r, s) = count(start_col[s], true);
      all_entries(r, s) = count(entry_col[s]);
      all_exits(r, s) = count(exit_col[s]);
      all_end(r, s) = count(end_col[s]);
    }
    all_failed(r) = count(failed_col), all_in(r) = count(in_col), all_out(r) = count(out_col);
    rows[r].line = t.lines[r];
    const auto& period_cell = cells[period_col];
    const auto parsed = parse_period(period_cell);
    if (!parsed || (yearly_column && parsed->second != 12)) {
      why_r = "period '" + period_cell + "' is not a year (2020), a quarter (2020Q1) or a month (2020-03)";
      if (yearly_column) why_r = "year '" + period_cell + "' is not a year such as 2020";
    } else {
      rows[r].first = parsed->first, rows[r].months = parsed->second;
    }
    if (!o.contains(cells[unit_col])) why_r = "unknown unit '" + cells[unit_col] + "'";
    else rows[r].unit = o.index(cells[unit_col]);
    if (!why_r.empty()) continue;
    // What the stocks allow: nobody leaves a stage who was not there at the start or
    // came in during the period (unknown terms are left out of the moves out, which only
    // weakens the check); with every term given, the stocks at the end must follow.
    for (std::size_t s = 0; s < S && why_r.empty(); ++s) {
      const bool terminal = s == p.terminal(), fixed = st[s].kind == stage_kind::fixed;
      const double in = all_entries(r, s) + (terminal ? all_in(r) : 0.0);
      double moves_out[] = {s + 1 < S ? all_entries(r, s + 1) : 0.0, all_exits(r, s),
                            fixed ? (fixed_stages == 1 ? all_failed(r) : nan) : 0.0, terminal ? all_out(r) : 0.0};
      double out = 0, known_out = 0;
      for (double v : moves_out) out += v, known_out += std::isnan(v) ? 0.0 : v;
      const std::string stage = "'" + st[s].name + "'";
      if (!std::isnan(in) && known_out > all_start(r, s) + in)
        why_r = "more people leave " + stage + " (" + detail::format_attribute(known_out) + ") than were there: " +
                detail::format_attribute(all_start(r, s)) + " at the start and " + detail::format_attribute(in) +
                " entering";
      else if (!std::isnan(in + out + all_end(r, s)) && all_start(r, s) + in - out != all_end(r, s))
        why_r = stage + ": start " + detail::format_attribute(all_start(r, s)) + " + entries " +
                detail::format_attribute(in) + " - moves out " + detail::format_attribute(out) + " = " +
                detail::format_attribute(all_start(r, s) + in - out) + ", but the end is " +
                detail::format_attribute(all_end(r, s));
    }
  }
  // The same unit twice in overlapping periods (2020 and 2020Q3, or the same month twice).
  std::vector<std::size_t> order;
  for (std::size_t r = 0; r < n; ++r)
    if (why[r].empty()) order.push_back(r);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return rows[a].unit != rows[b].unit ? rows[a].unit < rows[b].unit : rows[a].first < rows[b].first;
  });
  for (std::size_t k = 1; k < order.size(); ++k) {
    const auto &a = rows[order[k - 1]], &b = rows[order[k]];
    if (a.unit == b.unit && b.first < a.first + a.months) {
      const auto later = std::max(order[k - 1], order[k]), earlier = std::min(order[k - 1], order[k]);
      why[later] = "unit '" + o.id(b.unit) + "', period " + period_text(rows[later].first, rows[later].months) +
                   " overlaps " + period_text(rows[earlier].first, rows[earlier].months) + " of " +
                   t.where(earlier).describe();
    }
  }
  std::vector<bool> bad(n);
  for (std::size_t r = 0; r < n; ++r) bad[r] = !why[r].empty();
  if (!options.quarantine) refuse(t, why, bad, "the counts");
  std::vector<Eigen::Index> used;
  for (std::size_t r = 0; r < n; ++r) {
    if (!why[r].empty()) quarantined.push_back({t.lines[r], why[r], t.rows[r]});
    else used.push_back(static_cast<Eigen::Index>(r)), periods.push_back(rows[r]);
  }
  const auto m = static_cast<Eigen::Index>(used.size());
  for (auto* a : {&start, &entries, &exits, &end}) a->resize(m, static_cast<Eigen::Index>(S));
  for (auto* a : {&not_confirmed, &transfers_in, &transfers_out}) a->resize(m);
  for (Eigen::Index k = 0; k < m; ++k) {
    const auto r = used[static_cast<std::size_t>(k)];
    start.row(k) = all_start.row(r), entries.row(k) = all_entries.row(r);
    exits.row(k) = all_exits.row(r), end.row(k) = all_end.row(r);
    not_confirmed(k) = all_failed(r), transfers_in(k) = all_in(r), transfers_out(k) = all_out(r);
  }
}

}  // namespace memberflow
