#pragma once
// A scenario bundles what a forecast needs: the organisation, the pipeline, the
// parameters of every unit, the current stocks and (optionally) targets.
//
// Parameters resolve from the general to the specific: the pipeline's stage defaults,
// then overrides for a unit kind (scope "kind:<kind>"), then overrides for one unit
// (scope "<unit id>"). A scope "*" overrides the stage default for every unit.
#include <Eigen/Core>
#include <memory>
#include <string>

#include "memberflow/org.hpp"
#include "memberflow/pipeline.hpp"
#include "memberflow/table.hpp"

namespace memberflow {

// Resolved per-unit parameters: arrays of units x stages (a stage that does not take a
// parameter holds 0 there, 1 for pass_rate) and per-unit arrival rates.
struct parameter_set {
  Eigen::ArrayXXd advance, exit, pass_rate, attrition;  // units x stages
  Eigen::ArrayXd inflow, transfer_in;                   // units

  // Every unit gets the pipeline's stage defaults.
  static parameter_set defaults(const org& o, const pipeline& p);

  double get(unit_index u, std::size_t stage, param p) const;
  void set(unit_index u, std::size_t stage, param p, double value);

  // Applies an override table with columns scope, stage, param, value (see above).
  // Throws input_error / unknown_id / parameter_error naming the row: unknown unit, kind,
  // stage or parameter; a parameter the stage does not take; a value outside its domain;
  // the same (scope, stage, param) twice. Checks advance + exit <= 1 for every unit after.
  // A refused table leaves the set unchanged.
  void apply(const text_table& overrides, const org& o, const pipeline& p);
  // The overrides that turn `defaults(o, p)` into this set, one row per differing
  // (scope, stage, param), by unit.
  text_table to_table(const org& o, const pipeline& p) const;

  // Throws parameter_error naming the unit and stage of the first invalid value.
  void validate(const org& o, const pipeline& p) const;
};

// Current stocks: units x state slots (pipeline::offset/width), counts of people.
// Table columns: unit_id, stage, count and, for fixed stages, months_in_stage (0..D-1).
Eigen::ArrayXXd stocks_from_table(const text_table& t, const org& o, const pipeline& p);
text_table stocks_to_table(const Eigen::ArrayXXd& stocks, const org& o, const pipeline& p);

// Targets: admissions wanted over the year, per node (the node's subtree). NaN = none.
// Table columns: unit_id, target.
Eigen::ArrayXd targets_from_table(const text_table& t, const org& o);
text_table targets_to_table(const Eigen::ArrayXd& targets, const org& o);

struct scenario {
  std::shared_ptr<const org> organisation;
  std::shared_ptr<const pipeline> stages;
  parameter_set params;
  Eigen::ArrayXXd stocks;  // units x pipeline::state_size()
  Eigen::ArrayXd targets;  // units; NaN = no target

  // A scenario with default parameters, no one in any stage and no targets.
  scenario(std::shared_ptr<const org> o, std::shared_ptr<const pipeline> p);

  const org& units() const { return *organisation; }
  const pipeline& model() const { return *stages; }
  // Shape and domain of every member; throws naming the unit and stage.
  void validate() const;
};

// Reads a scenario from files: units CSV (or JSON), optional parameter overrides,
// stocks and targets CSVs (empty path = none).
scenario read_scenario(const std::string& units_path, const pipeline& p, const std::string& params_path,
                       const std::string& stocks_path, const std::string& targets_path);

}  // namespace memberflow
