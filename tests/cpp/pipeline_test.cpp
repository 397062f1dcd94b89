// The pipeline: the party() preset's layout, and refusal of every invalid definition.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "catch.hpp"
#include "memberflow/pipeline.hpp"

using namespace memberflow;

namespace {

std::vector<stage> valid_stages() {
  return {stage::markov("source", 0.05, 0.02, 1.0), stage::markov("training", 0.15, 0.02),
          stage::fixed("probation", 12, 0.002, 0.97), stage::terminal("full", 0.002)};
}

pipeline with(std::size_t s, param p, double value) {
  auto stages = valid_stages();
  stages[s].set(p, value);
  return pipeline(stages, "probation");
}

}  // namespace

TEST_CASE("party() is source, training, probation of 12 months, full, with 15 state slots", "[pipeline]") {
  const auto p = pipeline::party();
  REQUIRE(p.size() == 4);
  CHECK(p.stages()[0].name == "source");
  CHECK(p.stages()[1].name == "training");
  CHECK(p.stages()[2].name == "probation");
  CHECK(p.stages()[3].name == "full");
  CHECK(p.stages()[0].kind == stage_kind::markov);
  CHECK(p.stages()[1].kind == stage_kind::markov);
  CHECK(p.stages()[2].kind == stage_kind::fixed);
  CHECK(p.stages()[2].months == 12);
  CHECK(p.stages()[3].kind == stage_kind::terminal);
  CHECK(p.admission() == 2);
  CHECK(p.terminal() == 3);
  CHECK(p.state_size() == 15);
  CHECK(p.offset(0) == 0);
  CHECK(p.offset(1) == 1);
  CHECK(p.offset(2) == 2);
  CHECK(p.offset(3) == 14);
  CHECK(p.width(0) == 1);
  CHECK(p.width(2) == 12);
  CHECK(p.width(3) == 1);
  CHECK(p.index("probation") == 2);
  CHECK(p.at("training").advance == 0.15);
  // Rates: every markov stage has advance + exit <= 1 and every probability is one.
  for (const auto& st : p.stages()) {
    INFO(st.name);
    CHECK(st.advance + st.exit <= 1);
    CHECK((st.pass_rate >= 0 && st.pass_rate <= 1));
  }
  CHECK(p.stages()[0].inflow > 0);
}

TEST_CASE("each stage kind takes exactly its own parameters", "[pipeline]") {
  const auto p = pipeline::party();
  using P = param;
  // rows: source, training, probation, full; columns: all_params order
  const bool expected[4][6] = {
      // advance exit  pass   attr   inflow transfer_in
      {true, true, false, false, true, false},    // source (markov, first)
      {true, true, false, false, false, false},   // training (markov)
      {false, true, true, false, false, false},   // probation (fixed)
      {false, false, false, true, false, true}};  // full (terminal)
  for (std::size_t s = 0; s < 4; ++s)
    for (std::size_t k = 0; k < all_params.size(); ++k) {
      INFO("stage " << p.stages()[s].name << ", param " << param_name(all_params[k]));
      CHECK(p.takes(s, all_params[k]) == expected[s][k]);
    }
  CHECK(param_from_name("pass_rate") == P::pass_rate);
  CHECK(param_name(P::transfer_in) == "transfer_in");
}

TEST_CASE("unknown stage and parameter names are refused listing the valid ones", "[pipeline]") {
  const auto p = pipeline::party();
  REQUIRE_THROWS_AS_WITH(p.index("novice"), unknown_id,
                         mf_test::contains("unknown stage 'novice' (stages: source, training, probation, full)"));
  REQUIRE_THROWS_AS_WITH(param_from_name("speed"), unknown_id,
                         mf_test::contains("unknown parameter 'speed' (valid: advance, exit, pass_rate, attrition, "
                                           "inflow, transfer_in)"));
  REQUIRE_THROWS_AS_WITH(pipeline(valid_stages(), "admitted"), unknown_id,
                         mf_test::contains("unknown stage 'admitted'"));
}

TEST_CASE("a probability outside [0, 1] is refused naming the stage and parameter", "[pipeline]") {
  REQUIRE_THROWS_AS_WITH(with(1, param::advance, 1.2), parameter_error,
                         mf_test::contains("stage 'training': advance = 1.2 is outside [0, 1]"));
  REQUIRE_THROWS_AS_WITH(with(0, param::exit, -0.1), parameter_error,
                         mf_test::contains("stage 'source': exit = -0.1 is outside [0, 1]"));
  REQUIRE_THROWS_AS_WITH(with(2, param::pass_rate, 1.5), parameter_error,
                         mf_test::contains("stage 'probation': pass_rate = 1.5 is outside [0, 1]"));
  REQUIRE_THROWS_AS_WITH(with(3, param::attrition, 2), parameter_error,
                         mf_test::contains("stage 'full': attrition = 2 is outside [0, 1]"));
  REQUIRE_THROWS_AS_WITH(with(2, param::exit, std::numeric_limits<double>::quiet_NaN()), parameter_error,
                         mf_test::contains("stage 'probation': exit = nan is outside [0, 1]"));
  REQUIRE_THROWS_AS_WITH(with(0, param::inflow, -1), parameter_error,
                         mf_test::contains("stage 'source': inflow = -1 is outside [0, 1e9]"));
  REQUIRE_THROWS_AS_WITH(with(3, param::transfer_in, std::numeric_limits<double>::infinity()), parameter_error,
                         mf_test::contains("stage 'full': transfer_in = inf is outside [0, 1e9]"));
  // Rates above 1 are fine.
  CHECK_NOTHROW(with(0, param::inflow, 25.0));
  CHECK_NOTHROW(with(1, param::advance, 0.98));  // with exit 0.02: exactly 1
}

TEST_CASE("advance + exit above 1 in a markov stage is refused", "[pipeline]") {
  auto stages = valid_stages();
  stages[0].advance = 0.7;
  stages[0].exit = 0.4;
  REQUIRE_THROWS_AS_WITH(pipeline(stages, "probation"), parameter_error,
                         mf_test::contains("stage 'source': advance + exit = 0.7 + 0.4 = 1.1 > 1"));
  stages[0].exit = 0.3;  // exactly 1 is allowed
  CHECK_NOTHROW(pipeline(stages, "probation"));
}

TEST_CASE("a fixed stage shorter than one month or longer than a century is refused", "[pipeline]") {
  auto stages = valid_stages();
  stages[2].months = 0;
  REQUIRE_THROWS_AS_WITH(pipeline(stages, "probation"), parameter_error,
                         mf_test::contains("stage 'probation': months = 0 must be from 1 to 1200"));
  stages[2].months = -3;
  REQUIRE_THROWS_AS_WITH(pipeline(stages, "probation"), parameter_error,
                         mf_test::contains("stage 'probation': months = -3 must be from 1 to 1200"));
  stages[2].months = 1201;
  REQUIRE_THROWS_AS_WITH(pipeline(stages, "probation"), parameter_error,
                         mf_test::contains("stage 'probation': months = 1201 must be from 1 to 1200"));
  stages[2].months = 1;
  const pipeline one(stages, "probation");
  CHECK(one.state_size() == 4);
  CHECK(one.offset(3) == 3);
}

TEST_CASE("a terminal stage that is not last, or a last stage that is not terminal, is refused", "[pipeline]") {
  REQUIRE_THROWS_AS_WITH(pipeline({stage::markov("source", 0.1, 0.1), stage::terminal("full", 0.01),
                                   stage::markov("after", 0.1, 0.1)},
                                  "full"),
                         parameter_error, mf_test::contains("stage 'full': only the last stage may be terminal"));
  REQUIRE_THROWS_AS_WITH(pipeline({stage::markov("source", 0.1, 0.1), stage::markov("training", 0.1, 0.1)},
                                  "training"),
                         parameter_error, mf_test::contains("stage 'training': the last stage must be terminal"));
}

TEST_CASE("duplicate, empty or event-like stage names are refused", "[pipeline]") {
  REQUIRE_THROWS_AS_WITH(pipeline({stage::markov("a", 0.1, 0.1), stage::markov("a", 0.1, 0.1),
                                   stage::terminal("full", 0.01)},
                                  "full"),
                         parameter_error, mf_test::contains("two stages are named 'a'"));
  REQUIRE_THROWS_AS_WITH(pipeline({stage::markov("", 0.1, 0.1), stage::terminal("full", 0.01)}, "full"),
                         parameter_error, mf_test::contains("stage 1 has an empty name"));
  for (const char* event : {"admissions", "confirmations", "arrivals", "exits", "leavers"}) {
    INFO(event);
    REQUIRE_THROWS_AS_WITH(pipeline({stage::markov("source", 0.1, 0.1), stage::terminal(event, 0.01)}, event),
                           parameter_error,
                           mf_test::contains("stage '" + std::string(event) +
                                             "': the name is reserved for an event quantity"));
  }
}

TEST_CASE("too few stages, an admission at the first stage, or a parameter the stage does not take is refused",
          "[pipeline]") {
  REQUIRE_THROWS_AS_WITH(pipeline({stage::terminal("full", 0.01)}, "full"), parameter_error,
                         mf_test::contains("a pipeline needs at least two stages"));
  REQUIRE_THROWS_AS_WITH(pipeline(valid_stages(), "source"), parameter_error,
                         mf_test::contains("the admission stage 'source' cannot be the first stage"));
  REQUIRE_THROWS_AS_WITH(with(1, param::inflow, 1.0), parameter_error,
                         mf_test::contains("stage 'training': a markov stage does not take inflow"));
  REQUIRE_THROWS_AS_WITH(with(3, param::advance, 0.5), parameter_error,
                         mf_test::contains("stage 'full': a terminal stage does not take advance"));
  REQUIRE_THROWS_AS_WITH(with(2, param::attrition, 0.5), parameter_error,
                         mf_test::contains("stage 'probation': a fixed stage does not take attrition"));
}

TEST_CASE("a general chain lays out one slot per markov or terminal stage and D per fixed stage", "[pipeline]") {
  const pipeline p({stage::fixed("trial", 3, 0.1, 0.9), stage::markov("wait", 0.2, 0.1),
                    stage::fixed("probation", 5, 0.0, 1.0), stage::terminal("full", 0.0, 2.0)},
                   "wait");
  CHECK(p.state_size() == 3 + 1 + 5 + 1);
  CHECK(p.offset(1) == 3);
  CHECK(p.offset(2) == 4);
  CHECK(p.offset(3) == 9);
  CHECK(p.admission() == 1);
  CHECK(p.takes(0, param::inflow));  // inflow belongs to the first stage whatever its kind
  CHECK(p.takes(0, param::pass_rate));
  CHECK_FALSE(p.takes(1, param::inflow));
}

TEST_CASE("events are found by name; an unknown one is refused listing the events", "[pipeline]") {
  for (std::size_t e = 0; e < event_names.size(); ++e) {
    CHECK(event_index(event_names[e]) == e);
    CHECK(find_event(event_names[e]) == e);
  }
  CHECK(event_index("admissions") == event_at::admissions);
  CHECK(event_index("leavers") == event_at::leavers);
  static_assert(find_event("exits") == event_at::exits);
  CHECK(find_event("probation") == event_names.size());
  CHECK(event_list() == "admissions, confirmations, arrivals, exits, leavers");
  for (const char* name : {"admission", "probation", "", "Admissions"}) {
    INFO(name);
    REQUIRE_THROWS_AS_WITH(event_index(name), unknown_id,
                           mf_test::contains("unknown event '" + std::string(name) +
                                             "' (events: admissions, confirmations, arrivals, exits, leavers)"));
  }
}

TEST_CASE("entries into a stage are named by their event where they have one", "[pipeline]") {
  const auto p = pipeline::party();
  CHECK(entry_name(p, 0) == "arrivals");
  CHECK(entry_name(p, 1) == "training_entries");
  CHECK(entry_name(p, 2) == "admissions");
  CHECK(entry_name(p, 3) == "confirmations");
}
