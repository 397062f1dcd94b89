// A fit on disk (fit_io.hpp): written and read back it gives the same posterior, drift,
// seasonal profile and so the same drawn parameter sets to the bit; damaged files are
// refused with the file and line.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "catch.hpp"
#include "memberflow/datasets.hpp"
#include "memberflow/fit_io.hpp"
#include "memberflow/history.hpp"
#include "memberflow/org_io.hpp"
#include "memberflow/records.hpp"

using namespace memberflow;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("memberflow_fit_io_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

struct fitted {
  datasets::history h;
  fit_result fit;
};

const fitted& example_fit() {
  static const fitted f = [] {
    datasets::history_options options;
    options.years = 4;
    options.seed = 21;
    auto h = datasets::example_history(options);
    const event_log log(h.events, h.start.organisation, h.start.stages);
    const auto first = log.complete_from();
    auto fit = fit_pooled(exposures(log, first, log.last_month()), *h.start.organisation, *h.start.stages);
    return fitted{std::move(h), std::move(fit)};
  }();
  return f;
}

void check_same(const rate_fit& a, const rate_fit& b) {
  CHECK(a.stage == b.stage);
  CHECK(a.which == b.which);
  CHECK(a.is_probability == b.is_probability);
  CHECK(a.no_data == b.no_data);
  CHECK((a.events == b.events).all());
  CHECK((a.exposure == b.exposure).all());
  CHECK((a.centre == b.centre).all());
  CHECK((a.shape == b.shape).all());
  CHECK((a.scale == b.scale).all());
  CHECK(a.kappa == b.kappa);
  CHECK(a.drift.observed == b.drift.observed);
  CHECK(a.drift.sampling_var == b.drift.sampling_var);
  CHECK(a.drift.tau_grid == b.drift.tau_grid);
  CHECK(a.drift.tau_weight == b.drift.tau_weight);
  CHECK(a.drift.grid_shift_mean == b.drift.grid_shift_mean);
  CHECK(a.drift.grid_shift_var == b.drift.grid_shift_var);
  CHECK(a.drift.tau == b.drift.tau);
  CHECK(a.drift.shift_mean == b.drift.shift_mean);
  CHECK(a.drift.shift_var == b.drift.shift_var);
}

}  // namespace

TEST_CASE("a fit written and read back is the same to the bit, and so are its draws", "[fit_io]") {
  const auto& [h, fit] = example_fit();
  const auto& o = *h.start.organisation;
  const auto& p = *h.start.stages;
  REQUIRE(!fit.rates.front().drift.tau_grid.empty());  // four years: the drift is there to round-trip
  REQUIRE(!fit.seasonal.empty());
  const auto dir = fresh_dir("roundtrip");
  write_fit(fit, o, p, dir.string());
  CHECK(has_fit(dir.string()));
  const auto back = read_fit(dir.string(), o, p);
  REQUIRE(back.rates.size() == fit.rates.size());
  for (std::size_t i = 0; i < fit.rates.size(); ++i) check_same(fit.rates[i], back.rates[i]);
  CHECK(back.seasonal.arrivals == fit.seasonal.arrivals);
  CHECK(back.seasonal.kappa == fit.seasonal.kappa);
  CHECK(back.first == fit.first);
  CHECK(back.last == fit.last);
  const auto a = fit.means(o, p), b = back.means(o, p);
  CHECK((a.advance == b.advance).all());
  CHECK((a.inflow == b.inflow).all());
  const auto da = draw_parameters(fit, o, p, 5, 3), db = draw_parameters(back, o, p, 5, 3);
  for (std::size_t i = 0; i < da.size(); ++i) {
    CHECK((da[i].advance == db[i].advance).all());
    CHECK((da[i].exit == db[i].exit).all());
    CHECK((da[i].pass_rate == db[i].pass_rate).all());
    CHECK((da[i].attrition == db[i].attrition).all());
    CHECK((da[i].inflow == db[i].inflow).all());
    CHECK((da[i].transfer_in == db[i].transfer_in).all());
  }
  // written twice: the same bytes
  const auto again = fresh_dir("roundtrip_again");
  write_fit(back, o, p, again.string());
  for (auto name : {"fit.json", "posterior.csv", "pooling.csv", "drift.csv", "drift_years.csv", "seasonal.csv"})
    CHECK(read_file(dir / name) == read_file(again / name));
  fs::remove_all(dir);
  fs::remove_all(again);
}

TEST_CASE("damaged fit files are refused naming the file and line", "[fit_io]") {
  const auto& [h, fit] = example_fit();
  const auto& o = *h.start.organisation;
  const auto& p = *h.start.stages;
  const auto dir = fresh_dir("damaged");
  write_fit(fit, o, p, dir.string());
  const auto posterior = read_file(dir / "posterior.csv"), drift = read_file(dir / "drift.csv"),
             manifest = read_file(dir / "fit.json");
  auto refused = [&](const fs::path& file, const std::string& text, const std::string& message) {
    const auto original = read_file(file);
    write_file(file, text);
    INFO(file.filename().string() << ": " << message);
    CHECK_THROWS_WITH(read_fit(dir.string(), o, p), mf_test::contains(message));
    write_file(file, original);
  };
  const auto first_row = posterior.find('\n') + 1;
  const auto second_row = posterior.find('\n', first_row) + 1;
  const std::string row = posterior.substr(first_row, second_row - first_row);
  refused(dir / "posterior.csv", posterior.substr(0, first_row) + "NOPE" + row.substr(row.find(',')) +
                                     posterior.substr(second_row), "posterior.csv line 2: unknown unit 'NOPE'");
  refused(dir / "posterior.csv", posterior + row, "has this rate twice");
  refused(dir / "posterior.csv", posterior.substr(0, first_row) + posterior.substr(second_row), "no row for unit");
  refused(dir / "posterior.csv", std::regex_replace(posterior, std::regex(",beta,"), ",gamma,",
                                                    std::regex_constants::format_first_only),
          "distribution must be 'beta' or 'point'");
  refused(dir / "posterior.csv", "unit_id,stage\n", "the columns must be");
  const auto drift_row = drift.find('\n') + 1;
  const auto drift_next = drift.find('\n', drift_row) + 1;
  std::string heavier = drift;
  {
    // the first grid point's weight set to 0.5: the weights no longer sum to 1
    const std::string r = drift.substr(drift_row, drift_next - drift_row);
    std::vector<std::string> cells;
    std::size_t at = 0;
    for (std::size_t next; (next = r.find_first_of(",\n", at)) != std::string::npos; at = next + 1)
      cells.push_back(r.substr(at, next - at));
    cells[3] = "0.5";
    std::string changed;
    for (std::size_t i = 0; i < cells.size(); ++i) changed += (i ? "," : "") + cells[i];
    heavier = drift.substr(0, drift_row) + changed + "\n" + drift.substr(drift_next);
  }
  refused(dir / "drift.csv", heavier, "sum to");
  refused(dir / "fit.json", std::regex_replace(manifest, std::regex("\"memberflow_fit\": 1"), "\"memberflow_fit\": 2"),
          "format version 1");
  refused(dir / "fit.json", std::regex_replace(manifest, std::regex("\"first\""), "\"firts\""), "unknown key 'firts'");
  // another organisation: its units are not in the files
  const auto other = datasets::synthetic({{3, 2}, {"root", "branch", "cell"}, 20, 0.6, 5});
  CHECK_THROWS_WITH(read_fit(dir.string(), other.units(), p), mf_test::contains("unknown unit"));
  CHECK_THROWS_WITH(read_fit((dir / "nowhere").string(), o, p), mf_test::contains("no fit here"));
  fs::remove_all(dir);
}

TEST_CASE("the fuzz corpus's fit seed is a valid fit, so the fuzzer starts from the reading path", "[fit_io]") {
  const auto text = read_file(fs::path(MEMBERFLOW_TEST_DATA) / ".." / "fuzz" / "corpus" / "fit").substr(1);
  fit_tables t;
  text_table* parts[] = {&t.posterior, &t.pooling, &t.drift, &t.drift_years, &t.seasonal};
  std::size_t at = 0;
  for (std::size_t i = 0; i < 5; ++i) {
    const auto end = i < 4 ? text.find('\f', at) : text.size();
    REQUIRE(end != std::string::npos);
    *parts[i] = read_csv_text(text.substr(at, end - at), "part " + std::to_string(i));
    at = end + 1;
  }
  t.first = {2016, 1};
  t.last = {2020, 12};
  const auto o = org_from_json(R"({"units": [
    {"unit_id": "D", "parent_id": null, "kind": "district"},
    {"unit_id": "C1", "parent_id": "D", "kind": "commune"},
    {"unit_id": "C2", "parent_id": "D", "kind": "commune"},
    {"unit_id": "X1", "parent_id": "C1", "kind": "cell"}]})");
  const auto f = fit_from_tables(t, o, pipeline::party());
  CHECK(f.rates.size() == 9);
  CHECK(f.rates[0].drift.tau == Catch::Approx(0.1));
  CHECK(draw_parameters(f, o, pipeline::party(), 2, 0).size() == 2);
}
