#pragma once
// What-ifs: a copy of a scenario with some parameters, stocks, arrivals or targets
// changed, for one unit, a kind, a subtree or every unit.
//
//   auto what_if = memberflow::replace(scn, {
//       {"kind:cell", "training", "advance", memberflow::change_op::scale, 1.1},
//       {"subtree:C01", "", "inflow", memberflow::change_op::set, 0.5},
//       {"C01-03", "source", "stock", memberflow::change_op::add, 5},
//       {"D", "", "target", memberflow::change_op::set, 180}});
//
// The copy shares the organisation and the pipeline with the original (they are
// shared_ptr<const>), so it costs the parameter arrays, stocks and targets only (units x
// stages doubles). The original is never changed; a refused change throws and leaves
// nothing half done.
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "memberflow/scenario.hpp"

namespace memberflow {

enum class change_op { set, scale, add };
std::string_view change_op_name(change_op op);
change_op change_op_from_name(std::string_view name);  // throws unknown_id listing set, scale, add

// One change. Fields:
//   scope  "*" (every unit), "kind:<kind>", "subtree:<unit id>" (the unit and every unit
//          below it) or "<unit id>".
//   stage  a stage's name; may be empty for inflow (the first stage), transfer_in (the
//          terminal stage) and target (no stage).
//   what   a parameter (advance, exit, pass_rate, attrition, inflow, transfer_in),
//          "stock" (a stage's people) or "target" (admissions wanted over the year).
//   op     set: the value; scale: times the value; add: plus the value (stocks and
//          targets only; a parameter is set or scaled).
//   value  the number.
//   month_in_stage  stocks of a fixed-duration stage: the age slot (0..D-1) that set or
//          add act on; required for set and add there, and when given to scale, only
//          that slot is scaled (else every slot).
// Stocks stay whole numbers: a scaled stock is rounded to the nearest whole number (half
// to even). A target is set on every unit in scope (NaN removes it); scale and add
// change the units in scope that have one and leave the others without one.
struct change {
  std::string scope = "*";
  std::string stage;
  std::string what;
  change_op op = change_op::set;
  double value = 0;
  std::optional<int> month_in_stage;

  // In words, for messages and provenance: "scale advance of stage 'training' by 1.1
  // for kind 'cell'".
  std::string describe() const;
};

// The scenario with the changes applied in order (each on the result of the ones
// before). Throws, naming the change by its position ("change 2 of 3") and in words:
//   unknown_id      an unknown unit, kind, stage, parameter or quantity;
//   input_error     a stage that does not take the parameter, a stage missing or given
//                   where it should not be, a fixed-stage stock without its slot, add on
//                   a parameter, a negative or non-whole resulting stock, a negative
//                   target, a value that is not finite;
//   parameter_error a resulting parameter outside its domain, or advance + exit > 1
//                   (naming the changes that set both).
// Every value a change sets is recorded in params.replaced, so that
// parameter_set::explain() says "set by replace: <the change in words>".
scenario replace(const scenario& s, std::span<const change> changes);
inline scenario replace(const scenario& s, std::initializer_list<change> changes) {
  return replace(s, std::span<const change>(changes.begin(), changes.size()));
}
inline scenario replace(const scenario& s, const change& c) { return replace(s, std::span<const change>(&c, 1)); }

// The units a scope names, in index order; throws unknown_id naming the scope.
std::vector<unit_index> units_in_scope(const org& o, std::string_view scope);

}  // namespace memberflow
