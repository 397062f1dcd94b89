// One libFuzzer target over every loader of text that users hand to memberflow. The
// first byte picks the loader, the rest is the file's text:
//   0 units CSV   1 organisation JSON   2 overseers CSV   3 params CSV
//   4 stocks CSV  5 targets CSV         6 pipeline JSON
//   7 event log CSV (then its stocks and exposures)   8 aggregate counts CSV
// (each of 7 and 8 read with quarantine and without)
//   9 a fit's five CSV files (fit_io.hpp), separated by form feeds: posterior, pooling,
//     drift, drift_years, seasonal (then its means and two drawn parameter sets).
//  10 a simulation tally's bytes (what a worker sends back), sealed here with their
//     checksum so that the parser behind it is reached (then written and read back, and
//     finished when it is of a 3-unit party organisation, the seed's shape, and its pmfs
//     fit in 128 MB).
// A loader may refuse its input with a memberflow::error (that is the point); anything
// else (another exception, a crash, a sanitizer report, a hang) is a finding.
// Built by tests/CMakeLists.txt with -DMEMBERFLOW_FUZZ=ON (clang, libFuzzer); the same
// entry point replays tests/fuzz/corpus in the ordinary test run (replay_main.cpp).
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "memberflow/fit_io.hpp"
#include "memberflow/memberflow.hpp"
#include "memberflow/records.hpp"
#include "memberflow/scenario_io.hpp"

namespace {

using namespace memberflow;

// A small organisation with every kind of row the tables can name.
const org& fixture_org() {
  static const org o = org_from_json(R"({"units": [
    {"unit_id": "D", "parent_id": null, "kind": "district"},
    {"unit_id": "C1", "parent_id": "D", "kind": "commune"},
    {"unit_id": "C2", "parent_id": "D", "kind": "commune"},
    {"unit_id": "X1", "parent_id": "C1", "kind": "cell"}]})");
  return o;
}

// A root and two units under it, the party pipeline, nobody in it: the shape of the
// tally seed (tests/fuzz/corpus/tally).
const scenario& three_units() {
  static const scenario sc(std::make_shared<const org>(std::vector<unit_record>{{"R", "", "R", "k"}, {"A", "R", "A", "k"},
                                                                               {"B", "R", "B", "k"}}),
                           std::make_shared<const pipeline>(pipeline::party()));
  return sc;
}

void load(std::uint8_t which, const std::string& text) {
  const auto& o = fixture_org();
  const auto p = pipeline::party();
  switch (which % 11) {
    case 0: org::from_table(read_csv_text(text, "units.csv")); break;
    case 1: org_from_json(text, "org.json"); break;
    case 2: {
      org copy = o;
      copy.set_overseers(read_csv_text(text, "overseers.csv"));
      break;
    }
    case 3: {
      auto ps = parameter_set::defaults(o, p);
      ps.apply(read_csv_text(text, "params.csv"), o, p);
      ps.validate(o, p);
      break;
    }
    case 4: stocks_from_table(read_csv_text(text, "stocks.csv"), o, p); break;
    case 5: targets_from_table(read_csv_text(text, "targets.csv"), o); break;
    case 6: pipeline_from_json(text, "pipeline.json"); break;
    case 7: {
      const auto table = read_csv_text(text, "events.csv");
      const auto po = std::make_shared<const org>(o);
      const auto pp = std::make_shared<const pipeline>(p);
      const event_log log(table, po, pp, read_options{true});
      if (log.rows_read() != log.events().size() + log.quarantined().size()) __builtin_trap();
      if (!log.events().empty()) {
        log.stocks_at(log.last_month().plus(1));
        const auto first = month_index(log.first_month()), last = month_index(log.last_month());
        exposures(log, log.last_month().plus(-std::min(last - first, 23L)), log.last_month());
      }
      event_log(table, po, pp);
      break;
    }
    case 8: {
      const auto table = read_csv_text(text, "counts.csv");
      const count_table counts(table, o, p, read_options{true});
      if (counts.rows_read != counts.periods.size() + counts.quarantined.size()) __builtin_trap();
      count_table(table, o, p);
      break;
    }
    case 9: {
      fit_tables t;
      text_table* parts[] = {&t.posterior, &t.pooling, &t.drift, &t.drift_years, &t.seasonal};
      const char* names[] = {"posterior.csv", "pooling.csv", "drift.csv", "drift_years.csv", "seasonal.csv"};
      std::size_t at = 0;
      for (std::size_t i = 0; i < 5; ++i) {
        const auto end = i < 4 ? std::min(text.find('\f', at), text.size()) : text.size();
        *parts[i] = read_csv_text(std::string_view(text).substr(std::min(at, text.size()), end - std::min(at, end)),
                                  names[i]);
        at = end == text.size() ? end : end + 1;
      }
      t.first = {2016, 1};
      t.last = {2020, 12};
      const auto f = fit_from_tables(t, o, p);
      f.means(o, p);
      draw_parameters(f, o, p, 2, 0);
      break;
    }
    case 10: {
      auto sealed = text;
      const auto sum = simulation_tally::checksum(text);
      sealed.append(reinterpret_cast<const char*>(&sum), sizeof sum);
      const auto t = simulation_tally::from_bytes(sealed);
      t.path_count();
      if (simulation_tally::from_bytes(t.to_bytes()).to_bytes() != t.to_bytes()) __builtin_trap();
      // finish reads its sums and histograms (here only where its pmfs take <= 128 MB: it
      // takes what the machine has, which is more than libFuzzer's limit)
      if (t.units == three_units().units().size() && t.pmf_cells() <= 1 << 24) {
        simulation_options run;
        run.seed = t.seed;
        run.regime = t.regime;
        run.paths = t.path_count();
        run.first_path = t.ranges.empty() ? 0 : t.ranges.front().first;
        finish(three_units(), t.horizon, run, t);
      }
      simulation_tally::from_bytes(text);  // unsealed: refused (or, by chance, a tally)
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  try {
    load(data[0], std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  } catch (const memberflow::error&) {
    // refused with a message: fine
  }
  return 0;
}
