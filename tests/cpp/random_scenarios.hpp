#pragma once
// Random scenarios shared by the engine tests (expected_test.cpp, exact_test.cpp): a few
// pipeline shapes, random trees, parameters drawn in their domains, whole stocks.
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "memberflow/scenario.hpp"

namespace mf_test {

using namespace memberflow;

inline std::shared_ptr<const pipeline> share(pipeline p) { return std::make_shared<const pipeline>(std::move(p)); }

// A few pipeline shapes: the party preset, one that starts with a fixed stage, one with a
// fixed stage of a single month.
inline std::vector<std::shared_ptr<const pipeline>> pipelines() {
  return {share(pipeline::party()),
          share(pipeline({stage::fixed("trial", 3, 0.1, 0.9), stage::markov("wait", 0.2, 0.1),
                          stage::fixed("probation", 5, 0.0, 1.0), stage::terminal("full", 0.0)},
                         "wait")),
          share(pipeline({stage::markov("source", 0.3, 0.1), stage::fixed("short", 1, 0.1, 0.5),
                          stage::terminal("full", 0.01)},
                         "short"))};
}

// A random tree of n units (parents before children not required by org; here they are).
inline std::shared_ptr<const org> random_org(int n, std::mt19937& rng) {
  std::vector<unit_record> records;
  for (int i = 0; i < n; ++i) {
    const int parent = i == 0 ? -1 : std::uniform_int_distribution<int>(0, i - 1)(rng);
    records.push_back({"u" + std::to_string(i), parent < 0 ? "" : "u" + std::to_string(parent), "", "k"});
  }
  return std::make_shared<const org>(records);
}

// Random parameters in their domains and random whole stocks.
inline scenario random_scenario(std::shared_ptr<const org> o, std::shared_ptr<const pipeline> p, std::mt19937& rng) {
  scenario sc(std::move(o), std::move(p));
  std::uniform_real_distribution<double> unif(0, 1);
  const auto& pl = sc.model();
  for (unit_index u = 0; u < static_cast<unit_index>(sc.units().size()); ++u) {
    for (std::size_t s = 0; s < pl.size(); ++s) {
      const auto si = static_cast<Eigen::Index>(s);
      switch (pl.stages()[s].kind) {
        case stage_kind::markov:
          sc.params.advance(u, si) = unif(rng);
          sc.params.exit(u, si) = unif(rng) * (1 - sc.params.advance(u, si));
          break;
        case stage_kind::fixed:
          sc.params.exit(u, si) = 0.3 * unif(rng);
          sc.params.pass_rate(u, si) = unif(rng);
          break;
        case stage_kind::terminal:
          sc.params.attrition(u, si) = 0.1 * unif(rng);
          break;
      }
    }
    sc.params.inflow(u) = 5 * unif(rng);
    sc.params.transfer_in(u) = 2 * unif(rng);
    for (Eigen::Index c = 0; c < sc.stocks.cols(); ++c)
      sc.stocks(u, c) = std::uniform_int_distribution<int>(0, 20)(rng);
  }
  return sc;
}

}  // namespace mf_test
