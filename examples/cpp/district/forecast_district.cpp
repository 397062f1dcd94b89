// Reads a scenario directory, forecasts it with the exact engine and prints the root's
// admissions over the next 12 months: expected, central 90% interval, and the chance of
// reaching the root's own (yearly) target.
//
//   forecast_district mydistrict/      a directory from `memberflow example mydistrict/`,
//                                      Scenario.to_files or memberflow::write_scenario
#include <memberflow/memberflow.hpp>

#include <cmath>
#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SCENARIO_DIR\n", argv[0]);
    return 2;
  }
  try {
    const memberflow::scenario scn = memberflow::read_scenario(argv[1]);
    const int months = 12;
    const memberflow::exact_forecast fc(scn, months);
    const memberflow::node_distributions admissions = fc.events("admissions", {0, months});

    const memberflow::unit_index root = scn.units().root();
    const memberflow::pmf& total = admissions.nodes[root];  // the sum over the whole tree
    std::printf("%s (%s), admissions over %d months", scn.units().name(root).c_str(),
                scn.units().id(root).c_str(), months);
    if (scn.start) std::printf(" from %s", scn.start->str().c_str());
    std::printf("\n  expected %.2f, 90%% interval %lld to %lld\n", total.mean(), total.quantile(0.05),
                total.quantile(0.95));

    const double target = scn.targets[root];  // NaN: no target
    if (std::isnan(target)) {
      std::printf("  no target\n");
    } else {  // a count reaches a target of 159.5 only at 160
      const auto needed = static_cast<long long>(std::ceil(target));
      const double p = total.prob_at_least(needed);
      // The engine drops at most 1e-12 of each pmf's tails: a smaller chance is not zero.
      if (p < 1e-12)
        std::printf("  target %g: P(admissions >= %lld) < 1e-12\n", target, needed);
      else
        std::printf("  target %g: P(admissions >= %lld) = %.6g\n", target, needed, p);
    }
  } catch (const memberflow::error& e) {  // names the file, line or unit that is wrong
    std::fprintf(stderr, "forecast_district: %s\n", e.what());
    return 1;
  }
  return 0;
}
