#pragma once
// Scenarios on disk. A scenario is a directory holding one small manifest,
// `scenario.json`, and the CSV files it names:
//
//   {
//     "memberflow_scenario": 1,
//     "start": "2021-01",                        (optional: the calendar month of month 0)
//     "pipeline": {
//       "admission": "probation",
//       "stages": [
//         {"name": "source",    "kind": "markov",   "advance": 0.05, "exit": 0.02, "inflow": 0.4},
//         {"name": "training",  "kind": "markov",   "advance": 0.15, "exit": 0.02},
//         {"name": "probation", "kind": "fixed",    "months": 12, "exit": 0.002, "pass_rate": 0.97},
//         {"name": "full",      "kind": "terminal", "attrition": 0.0015, "transfer_in": 0}
//       ]
//     },
//     "files": {"units": "units.csv", "overseers": "overseers.csv", "params": "params.csv",
//               "stocks": "stocks.csv", "targets": "targets.csv"}
//   }
//
// The pipeline holds the stages in order with their kind, duration and default
// parameters (a parameter left out is 0, pass_rate 1); `"pipeline": "party"` names the
// preset instead. Only "units" is required among the files; paths are relative to the
// manifest. Unknown keys are refused, so a typo cannot be silently ignored. The writer
// emits everything the forecast depends on, so directory -> scenario -> directory ->
// scenario gives the same forecast to the bit.
#include <string>
#include <vector>

#include "memberflow/pipeline.hpp"
#include "memberflow/scenario.hpp"

namespace memberflow {

inline constexpr const char* manifest_file_name = "scenario.json";
inline constexpr int manifest_version = 1;

// Paths of a scenario's files; an empty path means "not given".
struct scenario_files {
  std::string units, overseers, params, stocks, targets;
};

// Reads a scenario directory (or its manifest file). Each non-empty path of `overrides`
// replaces the file the manifest names for that part. Warnings about parameter rows that
// change nothing (see parameter_set::apply) are appended to `warnings` when given.
scenario read_scenario(const std::string& path, const scenario_files& overrides = {},
                       std::vector<std::string>* warnings = nullptr);

// Reads loose files with a pipeline given in code: units CSV (or organisation JSON),
// optional parameter overrides, stocks and targets CSVs (empty path = none).
scenario read_scenario(const std::string& units_path, const pipeline& p, const std::string& params_path,
                       const std::string& stocks_path, const std::string& targets_path,
                       std::vector<std::string>* warnings = nullptr);

// Writes the manifest and every file into `directory` (created if needed); returns the
// paths written (units, overseers, params, stocks, targets).
scenario_files write_scenario(const scenario& sc, const std::string& directory);

// The pipeline as the manifest's JSON object, and back (`source` names the text in
// messages). A JSON string "party" reads as the preset.
std::string pipeline_to_json(const pipeline& p);
pipeline pipeline_from_json(const std::string& text, const std::string& source = "pipeline JSON");
pipeline read_pipeline_json(const std::string& path);

}  // namespace memberflow
