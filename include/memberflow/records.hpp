#pragma once
// An organisation's records, the raw material of estimation (docs/records.md,
// docs/estimation.md).
//
// The event log has one row per event, columns person_id, unit_id, event, date and,
// for `moved` only, to_unit_id (the column may be left out when nobody moves; other
// columns are ignored). `event` is one of:
//   <stage name>   the person entered that stage of the pipeline (e.g. source, training,
//                  probation, full); aliases: candidate = the first stage, admitted = the
//                  admission stage, confirmed = the terminal stage entered from the stage
//                  before it (a stage's own name wins over an alias);
//   left           left from whatever stage the person is in (from the terminal stage:
//                  attrition: death, expulsion, lapse);
//   not_confirmed  failed at the end of a fixed-duration stage (probation);
//   transfer_in    arrived from outside straight into the terminal stage;
//   transfer_out   left the terminal stage for outside (attrition, like `left`);
//   moved          changed unit within the organisation (to_unit_id), same stage, same age.
// `date` is YYYY-MM-DD or YYYY-MM; only its month counts, because the model moves people
// once a month: an event dated in month t is a move of month t, and the person is in the
// new stage (or unit) at the start of month t + 1 (docs/pipeline-model.md).
//
// A person's history is checked against the model, in date order:
//   - it starts with an entry: `transfer_in`, or entering a stage. Entering the first
//     stage is an arrival (a candidate). Entering any other stage as a first event is an
//     OPENING ENTRY: the person was in the pipeline before the records begin; it places
//     them in that stage from the next month on and counts as no move (neither an
//     arrival nor an advance). So a log that starts at month L carries, for everybody
//     present at the start of L, an entry of their stage dated before L: for a fixed
//     stage dated when they entered it (age a at the start of L -> dated L - 1 - a),
//     for the other stages any month before L (e.g. L - 1).
//   - then each stage is entered only from the stage before it; a fixed stage of D
//     months entered in month e is passed (the next stage entered) or failed
//     (`not_confirmed`) in month e + D exactly, or left earlier; a person still in it
//     after e + D while the records run on is refused (a missing confirmation);
//   - the event's unit_id is the unit the person is in; at most one event a month;
//     nothing after `left`, `not_confirmed` or `transfer_out` (a person who comes back
//     needs a new person_id).
// A bad row takes the person's whole history with it (their other rows are set aside
// "with" it), except an exact duplicate (same person, unit, event, month, to_unit),
// which is set aside alone while its first copy is used.
#include <Eigen/Core>
#include <climits>
#include <memory>
#include <string>
#include <vector>

#include "memberflow/org.hpp"
#include "memberflow/pipeline.hpp"
#include "memberflow/scenario.hpp"
#include "memberflow/table.hpp"

namespace memberflow {

enum class record_kind { enter, left, not_confirmed, transfer_in, transfer_out, moved };

struct event_record {
  std::string person;
  unit_index unit = 0;
  record_kind kind = record_kind::enter;
  std::size_t stage = 0;  // for enter: the stage entered
  long month = 0;         // months since year 0, see month_index()
  unit_index to_unit = 0; // for moved
  long line = 0;          // the row of the source table
};

// A row refused while reading, with the reason in words.
struct quarantined_row {
  long line = 0;                    // as the table counts rows (file line, or 1-based row)
  std::string reason;               // without the location
  std::vector<std::string> cells;   // the row as read, in the table's column order
};

// A stretch of a person's history in one unit and one stage: the person is there at the
// start of months from..to, and the event of month `to` ends it (end::open: nothing
// ended it, to = LONG_MAX).
struct spell {
  enum class end { open, advanced, exited, failed, moved };
  unit_index unit = 0;
  std::size_t stage = 0;
  long entered = 0;  // the month of the entry into the stage (fixed stages: age 0 at entered + 1)
  long from = 0, to = LONG_MAX;
  end ends = end::open;
  std::size_t event = 0;  // in event_log::events(): the entry or move that began the spell
};

struct read_options {
  // false: the first bad rows (up to 20, and the count of all) are an input_error.
  // true: bad rows are set aside with their reasons; rows in = rows used + quarantined.
  bool quarantine = false;
};

// months since January of year 0: calendar_month{2021, 3} -> 2021 * 12 + 2.
inline long month_index(const calendar_month& m) { return static_cast<long>(m.year) * 12 + (m.month - 1); }

class event_log {
 public:
  // Reads and checks the events: unknown units or stages, unparseable dates, duplicate
  // rows, and histories that the model cannot produce (an event for a person in no
  // stage, entering a stage other than the next, confirmed before admitted, two moves in
  // one month, ...). Rows of a person with a bad row are quarantined together.
  event_log(const text_table& events, std::shared_ptr<const org> o, std::shared_ptr<const pipeline> p,
            const read_options& options = {});

  const std::vector<event_record>& events() const { return events_; }  // by person, then month
  const std::vector<spell>& spells() const { return spells_; }         // by person, then month
  const std::vector<quarantined_row>& quarantined() const { return quarantined_; }
  std::size_t rows_read() const { return rows_read_; }
  // Of the earliest and the latest event used; input_error if no event was.
  calendar_month first_month() const;
  calendar_month last_month() const;
  // The first month the records describe in full: the month after the latest opening
  // entry (the people already there when the records begin), or first_month() without
  // opening entries. Before it, arrivals and moves were not recorded.
  calendar_month complete_from() const;
  const org& units() const { return *org_; }
  const pipeline& model() const { return *pipeline_; }

  // Who is where at the start of `month`: units x state slots (ages of fixed stages:
  // months since entering), as scenario::stocks. Any month up to last_month() + 1 (after
  // that the records say nothing); before the first event it is empty.
  Eigen::ArrayXXd stocks_at(const calendar_month& month) const;
  // The same person by person: person_id, unit_id, stage, months_in_stage (months since
  // entering the stage, for every stage; for a fixed stage its age), in person order.
  text_table people_at(const calendar_month& month) const;

 private:
  std::shared_ptr<const org> org_;
  std::shared_ptr<const pipeline> pipeline_;
  std::vector<event_record> events_;
  std::vector<quarantined_row> quarantined_;
  std::vector<spell> spells_;
  std::size_t rows_read_ = 0;
};

// The organisation's totals of an exposure table (units summed), month by month.
struct exposure_totals {
  std::vector<Eigen::ArrayXd> at_risk, advanced, exited, completing;  // [stage]: months
  Eigen::ArrayXd arrivals, transfers_in;                                // months
};

// Person-months at risk and the moves they made, per unit (rows) and month (columns
// 0..months-1 from `start`), for each stage of the pipeline:
//   at_risk[s]     people in stage s at the start of the month (all ages of a fixed stage)
//   advanced[s]    moves from s to s + 1 in the month (fixed stages: passes)
//   exited[s]      people who left from s in the month (terminal stage: attrition;
//                  fixed stages: exits during the stage, not failures at its end)
//   completing[s]  fixed stages: people at the last age who did not exit, i.e. the
//                  trials of pass_rate (passes are advanced[s]); 0 for other stages
// and per unit and month the arrivals: candidates entering the first stage from outside
// (`arrivals`) and transfer_in (`transfers_in`). A person who moves between units is at
// risk in the old unit up to the month of the move and in the new one after it. An opening
// entry is not an arrival. Months from `first` to `last` (at most log.last_month()).
//
// With block > 1 a column holds a block of `block` months instead of one: the blocks end
// with the window's last month and the first column holds what is left (months % block,
// if not 0). Per unit and month, a national table (300,000 units, 60 months, 4 stages)
// is 2.6 GB of doubles; in 12-month blocks it is 0.2 GB, and estimation needs no more:
// per-unit totals over the window (fit_pooled), the organisation's totals per 12-month
// block ending with the window (drift) and per calendar month (seasonality). So readers
// take sums through unit_totals() and organisation_monthly(), whatever the block.
struct exposure_table {
  calendar_month start;
  int months = 0;  // months in the window
  int block = 1;   // months per column (see above)
  std::vector<Eigen::ArrayXXd> at_risk, advanced, exited, completing;  // [stage]: units x columns
  Eigen::ArrayXXd arrivals, transfers_in;                                // units x columns
  // The organisation's monthly totals, kept by exposures() (needed when block > 1; a table
  // built by hand with block 1 may leave them empty).
  exposure_totals monthly;

  int columns() const { return block <= 1 ? months : (months + block - 1) / block; }
  // The first month (0 = start) of column c; columns() gives `months`.
  int column_start(int c) const;
  // Each unit's total of `a` (one of the arrays above) over months [from, from + count) of
  // the window, which must be whole columns (any months with block 1; with block 12, the
  // whole window or 12-month blocks counted back from its end); an error otherwise.
  Eigen::ArrayXd unit_totals(const Eigen::ArrayXXd& a, int from, int count) const;
  // The organisation's totals month by month: `monthly`, or with block 1 and `monthly`
  // left empty, the column sums.
  exposure_totals organisation_monthly() const;
};

// block: months per column (1: per unit and month; 12: per unit and year counted back from
// `last`, what estimation needs, at a twelfth of the memory).
exposure_table exposures(const event_log& log, const calendar_month& first, const calendar_month& last,
                         int block = 1);

// Aggregate counts, one row per unit and period (docs/records.md): what most
// organisations and every published statistic have. Columns: unit_id; period (2020,
// 2020Q1 or 2020-03; a column `year` is taken for a yearly table without `period`);
// <stage>_start for every stage (the stocks at the start of the period, required); and
// the counts of the period, each optional (a missing column or an empty cell is unknown,
// NaN, never 0): arrivals (entries into the first stage from outside), the entries into
// every later stage (named `admissions` for the admission stage, `confirmations` for the
// terminal stage, `<stage>_entries` otherwise), not_confirmed, <stage>_exits (`left` from
// the stage), transfers_in, transfers_out and <stage>_end (the stocks at the start of the
// next period). This is the yearly table of datasets::history.
// Checks, each a bad row: unknown unit, a period that does not parse, the same unit in
// overlapping periods, counts that are not whole numbers >= 0, more people leaving a
// stage than were there (start + entries < moves out + exits), and, where every term is
// given, start + entries - moves out - exits != end. Bad rows are an input_error (the
// first 20 and a count) or, with quarantine, set aside with their reasons.
struct count_table {
  struct period {
    unit_index unit = 0;
    long first = 0;  // month index of the first month (month_index)
    int months = 1;  // 1, 3 or 12
    long line = 0;
  };
  std::vector<period> periods;              // the rows used, in table order
  Eigen::ArrayXXd start, entries, exits, end;  // periods x stages; entries.col(0) = arrivals
  Eigen::ArrayXd not_confirmed, transfers_in, transfers_out;  // periods
  std::vector<quarantined_row> quarantined;
  std::size_t rows_read = 0;
  std::string source;         // the table's file or name, for messages (with periods[i].line)
  const char* noun = "line";  // "line" for a file, "row" for a DataFrame

  count_table(const text_table& counts, const org& o, const pipeline& p, const read_options& options = {});
};

}  // namespace memberflow
