#pragma once
// The pipeline model of shared/spec/pipeline-model.md: a chain of stages that people
// pass through, one move per month at most.
//
//   markov   each month: advance to the next stage (p = advance), leave (p = exit),
//            or stay; advance + exit <= 1.
//   fixed    a stage of D months (probation): entered at age 0; each month spent there
//            the person leaves with p = exit; at the end of the month in which its age
//            reaches D it passes on with p = pass_rate, else leaves. An entry at the end
//            of month t therefore passes on at the end of month t + D, never otherwise.
//   terminal the last stage (full members): each month the person leaves with
//            p = attrition.
//
// Arrivals: Poisson(inflow) people a month into the first stage and Poisson(transfer_in)
// straight into the terminal stage. Entries into the stage marked as admission are
// admissions; entries into the terminal stage from the stage before it are confirmations.
//
// State layout, shared by every engine: each markov or terminal stage is one slot; a
// fixed stage of D months is D slots, one per age 0..D-1.
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "memberflow/error.hpp"

namespace memberflow {

enum class stage_kind { markov, fixed, terminal };

// Bounds that no organisation reaches and that keep every engine's arithmetic and memory
// finite: a century-long fixed stage, a billion arrivals a unit a month.
inline constexpr int max_stage_months = 1200;
inline constexpr double max_arrival_rate = 1e9;

// The per-unit parameters of the model. Which ones a stage takes depends on its kind;
// inflow belongs to the first stage and transfer_in to the terminal stage.
enum class param { advance, exit, pass_rate, attrition, inflow, transfer_in };
inline constexpr std::array<param, 6> all_params{param::advance,   param::exit,   param::pass_rate,
                                                 param::attrition, param::inflow, param::transfer_in};
std::string_view param_name(param p);
param param_from_name(std::string_view name);  // throws unknown_id listing the valid names

struct stage {
  std::string name;
  stage_kind kind = stage_kind::markov;
  int months = 0;  // fixed stages only: the duration D >= 1
  // Defaults of the per-unit parameters (a unit kind or a unit may override them).
  double advance = 0, exit = 0, pass_rate = 1, attrition = 0, inflow = 0, transfer_in = 0;

  static stage markov(std::string name, double advance, double exit, double inflow = 0);
  static stage fixed(std::string name, int months, double exit, double pass_rate);
  static stage terminal(std::string name, double attrition, double transfer_in = 0);

  double get(param p) const;
  void set(param p, double value);
};

// Names of the event quantities engines report; stage names must differ from them
// because a stage's name also names its stock.
inline constexpr std::array<std::string_view, 5> event_names{"admissions", "confirmations", "arrivals",
                                                             "exits", "leavers"};

// Where each event sits in event_names, and so in every engine's per-event arrays:
// events.col(event_at::admissions).
namespace event_at {
inline constexpr std::size_t admissions = 0, confirmations = 1, arrivals = 2, exits = 3, leavers = 4;
}
static_assert(event_names[event_at::admissions] == "admissions" &&
              event_names[event_at::confirmations] == "confirmations" &&
              event_names[event_at::arrivals] == "arrivals" && event_names[event_at::exits] == "exits" &&
              event_names[event_at::leavers] == "leavers");

// The position of an event in event_names, or event_names.size() if `name` is not an
// event (a stage's name, say).
constexpr std::size_t find_event(std::string_view name) {
  std::size_t e = 0;
  while (e < event_names.size() && event_names[e] != name) ++e;
  return e;
}
// The position of an event in event_names; throws unknown_id listing the event names:
//   "unknown event 'admission' (events: admissions, confirmations, arrivals, exits, leavers)".
std::size_t event_index(std::string_view name);
// The event names joined by ", ", for messages.
std::string event_list();

class pipeline;
// The name of the entries into stage s, as count tables and histories spell them: the
// event they are where there is one (arrivals into the first stage, admissions into the
// admission stage, confirmations into the terminal stage), "<stage>_entries" otherwise.
std::string entry_name(const pipeline& p, std::size_t s);

class pipeline {
 public:
  // Throws parameter_error unless: at least two stages; unique, non-empty names that are
  // not event names; exactly one terminal stage, and it is the last; every parameter in
  // its domain; the admission stage exists and is not the first.
  pipeline(std::vector<stage> stages, std::string admission_stage);

  // The standard party pipeline: source (markov) -> training (markov) ->
  // probation (fixed, 12 months) -> full (terminal); admission = entry into probation.
  // The default rates are placeholders of the right order; real ones come from data.
  static pipeline party();

  const std::vector<stage>& stages() const { return stages_; }
  std::size_t size() const { return stages_.size(); }
  std::size_t index(std::string_view stage_name) const;  // throws unknown_id
  const stage& at(std::string_view stage_name) const { return stages_[index(stage_name)]; }
  std::size_t admission() const { return admission_; }
  std::size_t terminal() const { return stages_.size() - 1; }

  // State layout.
  std::size_t state_size() const { return state_size_; }
  std::size_t offset(std::size_t s) const { return offset_[s]; }
  std::size_t width(std::size_t s) const { return stages_[s].kind == stage_kind::fixed ? stages_[s].months : 1; }

  // Whether a stage takes a parameter (inflow: the first stage; transfer_in: the terminal).
  bool takes(std::size_t s, param p) const;

 private:
  std::vector<stage> stages_;
  std::size_t admission_ = 0;
  std::vector<std::size_t> offset_;
  std::size_t state_size_ = 0;
};

namespace detail {
// Throws parameter_error (prefixed by `context`) unless value is in the domain of p:
// probabilities in [0, 1], rates >= 0, all finite.
void check_param_domain(param p, double value, const std::string& context);
// advance + exit <= 1 for a markov stage (with a little tolerance for rounding).
void check_markov_total(double advance, double exit, const std::string& context);
}  // namespace detail

}  // namespace memberflow
