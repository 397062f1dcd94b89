#pragma once
// A fit on disk, beside the fitted scenario, so that what `memberflow fit` learned (each
// unit's posterior, the pooling, the drift, the seasonal profile) reads back to the same
// predictive distribution to the bit, not only to the same posterior means. A fitted
// directory is a scenario directory (scenario_io.hpp) plus one manifest, `fit.json`:
//
//   {
//     "memberflow_fit": 1,
//     "first": "2016-01", "last": "2020-12",             (the months fitted)
//     "files": {"posterior": "posterior.csv", "pooling": "pooling.csv",
//               "drift": "drift.csv", "drift_years": "drift_years.csv",
//               "seasonal": "seasonal.csv"}
//   }
//
//   posterior.csv    unit_id, stage, param, distribution (beta | gamma | point), shape,
//                    scale, centre, events, exposure: one row per unit and rate; a
//                    `point` rate (nobody at risk anywhere) is its centre
//   pooling.csv      stage, param, depth, kappa
//   drift.csv        stage, param, tau, weight, shift_mean, shift_var: tau's posterior
//                    grid and, per point, the normal of next year's shift
//   drift_years.csv  stage, param, year (0 = the oldest block), observed, sampling_var
//   seasonal.csv     month (1-12), arrivals, kappa; no rows without a profile
//
// Numbers are written in the shortest text that reads back to the same double. Every
// file is checked on reading: unknown units, stages, parameters or columns, a rate a
// stage does not take, a unit and rate given twice or not at all, values outside their
// domain; the error names the file and line.
#include <string>

#include "memberflow/estimate.hpp"
#include "memberflow/table.hpp"

namespace memberflow {

inline constexpr const char* fit_manifest_file_name = "fit.json";

// Writes fit.json and its files into `directory` (created if needed; the scenario's own
// files are write_scenario's).
void write_fit(const fit_result& f, const org& o, const pipeline& p, const std::string& directory);

// Reads a fit written by write_fit for this organisation and pipeline. `path` is the
// directory or its fit.json.
fit_result read_fit(const std::string& path, const org& o, const pipeline& p);

// The same from tables already read (each names its source in messages).
struct fit_tables {
  text_table posterior, pooling, drift, drift_years, seasonal;
  calendar_month first, last;
};
fit_result fit_from_tables(const fit_tables& t, const org& o, const pipeline& p);

// Whether `directory` holds a fit.json.
bool has_fit(const std::string& directory);

}  // namespace memberflow
