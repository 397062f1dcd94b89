#pragma once
// Ready-made scenarios: the example district of shared/seed/summary.md, and synthetic
// organisations of any size, reproducible from a seed.
#include <cstdint>
#include <string>
#include <vector>

#include "memberflow/scenario.hpp"

namespace memberflow::datasets {

// A synthetic district built to the shape and numbers of a real district party
// committee (Tam Duong, Vinh Phuc, Vietnam; article of February 2021): the district
// committee at the root; 13 commune/township committees, 4 agency committees and 31
// cells under it (48 base organisations); 218 sub-cells under the 17 committees; about
// 6,000 members; a thinner source and slower training in rural units.
//
// Calibration: inflow rates are scaled so that the pipeline's steady-state admissions
// are 89 a year, and the probation stock at the start of 2020 holds the 2019 cohort
// sized so that the expected 2020 confirmations are 141, the article's figures for
// 2020. example_district(2020) is that state; example_district(2021) (the default) is
// the expected state one year later, rounded to whole people, with the 2021 target of
// 160 admissions at the district and split over the 48 base organisations in
// proportion to their members. Seven standing-committee members oversee the base
// organisations.
scenario example_district(int year = 2021);

inline constexpr double example_admissions_2020 = 89;
inline constexpr double example_confirmations_2020 = 141;
inline constexpr double example_target_2021 = 160;

struct synthetic_options {
  // Mean number of children per unit at each level below the root; the default is a
  // national organisation: 63 provinces, ~700 districts, ~52,000 base organisations,
  // ~250,000 cells (~300,000 units).
  std::vector<double> fanout{63, 11.1, 74.3, 4.8};
  // Kind of the units at each level, root first (fanout.size() + 1 names).
  std::vector<std::string> kinds{"nation", "province", "district", "base", "cell"};
  double members_per_leaf = 20;  // mean full members per leaf unit (~5 million nationally)
  double rural_share = 0.6;      // share of rural units at the level above the leaves
  std::uint64_t seed = 0;
};

// Units, parameters (by kind, rural units with a thinner source) and stocks near the
// pipeline's steady state; no targets. The same options give the same scenario.
scenario synthetic(const synthetic_options& options = {});

}  // namespace memberflow::datasets
