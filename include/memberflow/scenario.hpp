#pragma once
// A scenario bundles what a forecast needs: the organisation, the pipeline, the
// parameters of every unit, the current stocks and (optionally) targets.
//
// Parameters resolve from the general to the specific: the pipeline's stage defaults,
// then overrides for a unit kind (scope "kind:<kind>"), then overrides for one unit
// (scope "<unit id>"). A scope "*" overrides the stage default for every unit.
#include <Eigen/Core>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
  // the same (scope, stage, param) twice; advance + exit > 1 (naming the rows that set
  // both). A refused table leaves the set unchanged.
  // Returns warnings, one per row that changes nothing because more specific rows of the
  // same table cover every unit it names (each warning names both rows).
  std::vector<std::string> apply(const text_table& overrides, const org& o, const pipeline& p);

  // The overrides that turn `defaults(o, p)` into this set, in the most general scope
  // that holds: for each (stage, param) a "*" row where most units share a value other
  // than the stage default, then "kind:" rows where most units of a kind differ from
  // that, then unit rows only for the units that differ from their kind. Values are
  // written in the shortest text that reads back to the same double.
  text_table to_table(const org& o, const pipeline& p) const;

  // For the given units (all when empty), every parameter each stage takes: columns
  // unit_id, stage, param, value, scope, source, where source is the file line (or
  // table row) that set the value, `defaults_source` for a stage default, "set by
  // replace: <the change in words>" for a value a what-if set (replace.hpp), or "set in
  // memory" when the value was changed otherwise after the tables were applied.
  text_table explain(const org& o, const pipeline& p, const std::vector<unit_index>& units = {}) const;

  // Provenance: the override tables applied so far, in order, and what the stage
  // defaults are called in explain() (e.g. "scenario.json: pipeline").
  std::vector<text_table> applied;
  std::string defaults_source = "pipeline default";

  // Provenance of the values replace() (replace.hpp) set, applied after the tables, in
  // order: the scope's units (resolved by explain()), the (stage, param), and whether
  // the value was set or multiplied by `value`.
  struct replacement {
    std::string scope;        // "*", "kind:<kind>", "subtree:<unit id>" or a unit id
    std::size_t stage = 0;
    param which = param::advance;
    bool scaled = false;      // false: set to value; true: multiplied by value
    double value = 0;
    std::string description;  // the change in words
    // scaled: the value each unit of the scope got, in index order (shared by copies).
    std::shared_ptr<const std::vector<double>> results;
  };
  std::vector<replacement> replaced;

  // Throws parameter_error naming the unit and stage of the first invalid value.
  void validate(const org& o, const pipeline& p) const;
};

namespace detail {
// Counts are held as doubles, which hold every whole number up to 2^53 exactly.
inline constexpr long long max_count = 1LL << 53;
}  // namespace detail

// Current stocks: units x state slots (pipeline::offset/width), counts of people.
// Table columns: unit_id, stage, count and, for fixed stages, months_in_stage (0..D-1).
Eigen::ArrayXXd stocks_from_table(const text_table& t, const org& o, const pipeline& p);
text_table stocks_to_table(const Eigen::ArrayXXd& stocks, const org& o, const pipeline& p);

// Targets: admissions wanted over the year, per node (the node's subtree). NaN = none.
// Table columns: unit_id, target.
Eigen::ArrayXd targets_from_table(const text_table& t, const org& o);
text_table targets_to_table(const Eigen::ArrayXd& targets, const org& o);

// A calendar month such as 2021-01: where month 0 of a forecast falls, when known.
struct calendar_month {
  int year = 0;
  int month = 1;  // 1..12

  // Parses "YYYY-MM" (years 1..9999); throws input_error prefixed by `context`.
  static calendar_month parse(std::string_view text, const std::string& context);
  std::string str() const;  // "YYYY-MM"
  calendar_month plus(long months) const;
  bool operator==(const calendar_month&) const = default;
};

struct scenario {
  std::shared_ptr<const org> organisation;
  std::shared_ptr<const pipeline> stages;
  parameter_set params;
  Eigen::ArrayXXd stocks;  // units x pipeline::state_size()
  Eigen::ArrayXd targets;  // units; NaN = no target
  std::optional<calendar_month> start;  // the calendar month of month 0, if known

  // A scenario with default parameters, no one in any stage and no targets.
  scenario(std::shared_ptr<const org> o, std::shared_ptr<const pipeline> p);

  const org& units() const { return *organisation; }
  const pipeline& model() const { return *stages; }
  // Shape and domain of every member; throws naming the unit and stage.
  void validate() const;
};

}  // namespace memberflow
