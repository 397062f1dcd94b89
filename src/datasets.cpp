#include "memberflow/datasets.hpp"

#include <Random123/philox.h>
#include <Random123/uniform.hpp>

#include <cmath>
#include <map>

#include "memberflow/apportion.hpp"
#include "memberflow/expected.hpp"
#include "memberflow/funnel.hpp"

namespace memberflow::datasets {

namespace {

// Four uniforms in (0, 1) for (unit, purpose), from Philox-4x64 keyed by the seed: a
// counter-based generator, so every unit's draws are fixed whatever the order of work.
std::array<double, 4> uniforms(std::uint64_t seed, std::uint64_t unit, std::uint64_t purpose) {
  using philox = r123::Philox4x64;
  const philox::ctr_type ctr{{unit, purpose, 0, 0}};
  const philox::key_type key{{seed, 0x6d656d626572666cULL}};  // "memberfl"
  const auto r = philox()(ctr, key);
  return {r123::u01<double>(r[0]), r123::u01<double>(r[1]), r123::u01<double>(r[2]), r123::u01<double>(r[3])};
}

stage_rates unit_rates(const parameter_set& ps, unit_index u, const pipeline& p) {
  stage_rates r;
  for (std::size_t s = 0; s < p.size(); ++s) {
    const auto si = static_cast<Eigen::Index>(s);
    r.advance.push_back(ps.advance(u, si));
    r.exit.push_back(ps.exit(u, si));
    r.pass_rate.push_back(ps.pass_rate(u, si));
    r.attrition.push_back(ps.attrition(u, si));
  }
  return r;
}

// Steady state of a constant arrival stream of one person a month into the first stage:
// expected occupancy of every non-terminal slot (the first row of the fundamental
// matrix) and the expected admissions a month (the chance of reaching admission).
struct steady_state {
  Eigen::VectorXd occupancy;
  double admissions = 0;
};

steady_state steady_state_per_arrival(const pipeline& p, const stage_rates& rates) {
  const auto chain = pipeline_chain(p, rates);
  steady_state ss;
  ss.occupancy = chain.fundamental().row(0).transpose();
  const auto entry = static_cast<Eigen::Index>(p.offset(p.admission()));
  ss.admissions = p.admission() == p.terminal() ? chain.absorption_probabilities()(0, 1)
                                                 : chain.reach_probabilities()(0, entry);
  return ss;
}

// Steady states cached by rate class: units of one kind share rates.
class steady_states {
 public:
  explicit steady_states(const pipeline& p) : p_(p) {}
  const steady_state& of(const parameter_set& ps, unit_index u) {
    const auto r = unit_rates(ps, u, p_);
    std::vector<double> key;
    for (const auto* v : {&r.advance, &r.exit, &r.pass_rate}) key.insert(key.end(), v->begin(), v->end());
    auto it = cache_.find(key);
    if (it == cache_.end()) it = cache_.emplace(key, steady_state_per_arrival(p_, r)).first;
    return it->second;
  }

 private:
  const pipeline& p_;
  std::map<std::vector<double>, steady_state> cache_;
};

// Rounds expected counts to whole people: each stage's per-unit totals by cumulative
// rounding in unit order (so every committee keeps its expected share), then each
// unit's total over the stage's slots (ages) the same way.
std::vector<long long> spread(long long total, const Eigen::ArrayXd& weights) {
  const double sum = weights.sum();
  const Eigen::ArrayXd scaled = sum > 0 ? Eigen::ArrayXd(weights * (static_cast<double>(total) / sum))
                                        : Eigen::ArrayXd::Constant(weights.size(), static_cast<double>(total) / weights.size());
  return cumulative_round(std::span<const double>(scaled.data(), scaled.size()));
}

Eigen::ArrayXXd whole_people(const Eigen::ArrayXXd& expected, const pipeline& p) {
  Eigen::ArrayXXd out(expected.rows(), expected.cols());
  for (std::size_t s = 0; s < p.size(); ++s) {
    const auto off = static_cast<Eigen::Index>(p.offset(s)), width = static_cast<Eigen::Index>(p.width(s));
    const Eigen::ArrayXXd slots = expected.middleCols(off, width).max(0.0);
    const Eigen::ArrayXd totals = slots.rowwise().sum();
    const auto per_unit = cumulative_round(std::span<const double>(totals.data(), totals.size()));
    for (Eigen::Index u = 0; u < expected.rows(); ++u) {
      const auto parts = spread(per_unit[u], slots.row(u).transpose());
      for (Eigen::Index a = 0; a < width; ++a) out(u, off + a) = static_cast<double>(parts[a]);
    }
  }
  return out;
}

pipeline example_pipeline() {
  return pipeline({stage::markov("source", 0.05, 0.02), stage::markov("training", 0.15, 0.02),
                   stage::fixed("probation", 12, 0.002, 0.97), stage::terminal("full", 0.0015)},
                  "probation");
}

struct example_units {
  std::vector<unit_record> records;
  std::vector<attribute_value> rural;
  std::vector<double> inflow_weight;  // relative source strength; 0 for committees
  std::vector<double> members;        // full members at the start of 2020
};

std::string two_digits(int i) { return (i < 10 ? "0" : "") + std::to_string(i); }

example_units example_tree() {
  example_units e;
  auto add = [&](std::string id, std::string parent, std::string name, std::string kind, attribute_value rural,
                 double weight, double members) {
    e.records.push_back({std::move(id), std::move(parent), std::move(name), std::move(kind)});
    e.rural.push_back(std::move(rural));
    e.inflow_weight.push_back(weight);
    e.members.push_back(members);
  };
  add("D", "", "District party committee", "district", false, 0, 0);
  // 13 commune/township committees (the last 3 are townships), 14 sub-cells each.
  for (int c = 1; c <= 13; ++c) {
    const bool township = c > 10;
    const auto id = "C" + two_digits(c);
    add(id, "D", std::string(township ? "Township " : "Commune ") + two_digits(c) + " committee",
        "commune_committee", !township, 0, 0);
    for (int s = 1; s <= 14; ++s)
      add(id + "-" + two_digits(s), id, (township ? "Residential group " : "Village ") + two_digits(s) + " cell",
          "sub_cell", !township, township ? 3.0 : 1.0, (township ? 24 : 21) + (c * 7 + s * 5) % 9);
  }
  // 4 agency committees (offices, schools, hospital), 9 sub-cells each: 182 + 36 = 218.
  for (int a = 1; a <= 4; ++a) {
    const auto id = "A" + two_digits(a);
    add(id, "D", "Agency committee " + two_digits(a), "agency_committee", false, 0, 0);
    for (int s = 1; s <= 9; ++s)
      add(id + "-" + two_digits(s), id, "Agency " + two_digits(a) + " cell " + two_digits(s), "sub_cell", false,
          3.5, 20 + (a * 3 + s * 7) % 9);
  }
  // 31 cells directly under the district (schools, enterprises, police, co-operatives).
  for (int b = 1; b <= 31; ++b) {
    const bool rural = b > 25;  // farm and co-operative cells
    add("B" + two_digits(b), "D", "Base cell " + two_digits(b), "cell", rural, rural ? 1.0 : 2.5,
        12 + (b * 5) % 9);
  }
  return e;
}

void set_example_parameters(scenario& sc, const example_units& e) {
  const auto& p = sc.model();
  const auto training = static_cast<Eigen::Index>(p.index("training"));
  for (unit_index u = 0; u < static_cast<unit_index>(e.records.size()); ++u) {
    if (std::get<bool>(e.rural[u])) sc.params.advance(u, training) = 0.10;  // slow to convert the source
    sc.params.inflow(u) = e.inflow_weight[u];                               // scaled below
    sc.params.transfer_in(u) = e.inflow_weight[u] > 0 ? 0.015 : 0.0;
  }
  // Scale inflow so that steady-state admissions are 89 a year.
  steady_states ss(p);
  double admissions_per_year = 0;
  for (unit_index u = 0; u < static_cast<unit_index>(e.records.size()); ++u)
    admissions_per_year += 12 * sc.params.inflow(u) * ss.of(sc.params, u).admissions;
  sc.params.inflow *= example_admissions_2020 / admissions_per_year;
}

void set_example_stocks_2020(scenario& sc, const example_units& e) {
  const auto& p = sc.model();
  const auto n = static_cast<Eigen::Index>(e.records.size());
  Eigen::ArrayXXd expected = Eigen::ArrayXXd::Zero(n, static_cast<Eigen::Index>(p.state_size()));
  steady_states ss(p);
  Eigen::ArrayXd admission_rate(n);
  for (unit_index u = 0; u < n; ++u) {
    const auto& st = ss.of(sc.params, u);
    const auto pre = static_cast<Eigen::Index>(p.offset(p.admission()));  // slots before probation
    expected.row(u).head(pre) = sc.params.inflow(u) * st.occupancy.head(pre).transpose().array();
    admission_rate(u) = sc.params.inflow(u) * st.admissions;
    expected(u, static_cast<Eigen::Index>(p.offset(p.terminal()))) = e.members[u];
  }
  Eigen::ArrayXXd stocks = whole_people(expected, p);
  // Probation: the 2019 cohort, over units by admission rate and evenly over ages 0..11,
  // sized so that its expected confirmations in 2020 are 141.
  const auto& prob = p.stages()[p.admission()];
  const auto months = prob.months;
  double mean_factor = 0;  // chance that a person of age a now is confirmed, averaged over a
  for (int a = 0; a < months; ++a) mean_factor += std::pow(1 - prob.exit, months - a) * prob.pass_rate / months;
  const auto cohort = std::llround(example_confirmations_2020 / mean_factor);
  const auto per_unit = spread(cohort, admission_rate);
  const auto first = static_cast<Eigen::Index>(p.offset(p.admission()));
  for (unit_index u = 0; u < n; ++u) {
    const auto parts = spread(per_unit[u], Eigen::ArrayXd::Ones(months));
    for (int a = 0; a < months; ++a) stocks(u, first + a) = static_cast<double>(parts[a]);
  }
  sc.stocks = stocks;
}

}  // namespace

scenario example_district(int year) {
  if (year != 2020 && year != 2021)
    throw input_error("example_district: year must be 2020 (the calibration year) or 2021, got " +
                      std::to_string(year));
  const auto e = example_tree();
  std::vector<attribute_column> attrs{{"rural", attribute_type::boolean, e.rural}};
  auto o = std::make_shared<org>(e.records, attrs);
  text_table overseers;
  overseers.source = "example overseers";
  overseers.columns = {"overseer_id", "unit_id"};
  const auto bases = o->children(o->root());
  for (std::size_t i = 0; i < bases.size(); ++i)
    overseers.add_row({"SC" + std::to_string(1 + i % 7), o->id(bases[i])});
  o->set_overseers(overseers);

  scenario sc(o, std::make_shared<const pipeline>(example_pipeline()));
  set_example_parameters(sc, e);
  set_example_stocks_2020(sc, e);
  sc.params.defaults_source = "example_district(): pipeline";
  sc.start = calendar_month{year, 1};  // the article's figures are by calendar year
  if (year == 2020) return sc;

  // One year of the expected model, then whole people again.
  Eigen::ArrayXXd state = sc.stocks, next(state.rows(), state.cols()),
                  events(state.rows(), static_cast<Eigen::Index>(event_names.size())),
                  stage_stocks(state.rows(), static_cast<Eigen::Index>(sc.model().size()));
  for (int t = 0; t < 12; ++t) {
    detail::expected_month(sc.model(), sc.params, state, next, events, stage_stocks);
    state.swap(next);
  }
  sc.stocks = whole_people(state, sc.model());
  // The 2021 target: 160 at the district, split over the base organisations by members.
  const auto full = static_cast<Eigen::Index>(sc.model().offset(sc.model().terminal()));
  const Eigen::ArrayXd members = sc.stocks.col(full);
  const auto subtree_members = o->rollup(std::span<const double>(members.data(), members.size()));
  std::vector<double> weights;
  for (auto b : bases) weights.push_back(subtree_members[b]);
  const auto split = apportion(static_cast<long long>(example_target_2021), weights);
  sc.targets(o->root()) = example_target_2021;
  for (std::size_t i = 0; i < bases.size(); ++i) sc.targets(bases[i]) = static_cast<double>(split[i]);
  sc.validate();
  return sc;
}

scenario synthetic(const synthetic_options& opt) {
  const auto levels = opt.fanout.size();
  if (opt.kinds.size() != levels + 1)
    throw input_error("synthetic: give one kind per level (" + std::to_string(levels + 1) + "), got " +
                      std::to_string(opt.kinds.size()));
  for (double f : opt.fanout)
    if (!(f >= 1)) throw input_error("synthetic: every fanout must be >= 1");
  if (!(opt.members_per_leaf >= 0) || !(opt.rural_share >= 0 && opt.rural_share <= 1))
    throw input_error("synthetic: members_per_leaf must be >= 0 and rural_share in [0, 1]");

  std::vector<unit_record> records{{"0", "", opt.kinds[0] + " 0", opt.kinds[0]}};
  std::vector<attribute_value> rural{std::monostate{}};
  std::size_t level_begin = 0, level_end = 1;
  for (std::size_t l = 0; l < levels; ++l) {
    // round(parents x fanout) children, split over the parents in proportion to
    // 0.5 + U (so between about half and one and a half times the mean), at least one.
    std::vector<double> weight;
    for (std::size_t p = level_begin; p < level_end; ++p) weight.push_back(0.5 + uniforms(opt.seed, p, 0)[0]);
    const auto parents = static_cast<double>(level_end - level_begin);
    const auto split = apportion(std::max(std::llround(parents * opt.fanout[l]), static_cast<long long>(parents)) -
                                     static_cast<long long>(parents), weight);
    for (std::size_t p = level_begin; p < level_end; ++p) {
      const auto k = 1 + split[p - level_begin];
      const bool leaf_level = l + 1 == levels;
      for (long long j = 1; j <= k; ++j) {
        const auto id = (p == 0 ? std::string() : records[p].id + ".") + std::to_string(j);
        records.push_back({id, records[p].id, opt.kinds[l + 1] + " " + id, opt.kinds[l + 1]});
        if (leaf_level) rural.push_back(rural[p]);
        else if (l + 2 == levels) rural.push_back(uniforms(opt.seed, records.size() - 1, 1)[0] < opt.rural_share);
        else rural.push_back(std::monostate{});
      }
    }
    level_begin = level_end;
    level_end = records.size();
  }
  const auto n = static_cast<Eigen::Index>(records.size());
  std::vector<attribute_column> attrs{{"rural", attribute_type::boolean, rural}};
  auto o = std::make_shared<const org>(std::move(records), std::move(attrs));

  scenario sc(o, std::make_shared<const pipeline>(example_pipeline()));
  const auto& p = sc.model();
  const auto training = static_cast<Eigen::Index>(p.index("training"));
  const auto full = static_cast<Eigen::Index>(p.offset(p.terminal()));
  Eigen::ArrayXXd expected = Eigen::ArrayXXd::Zero(n, static_cast<Eigen::Index>(p.state_size()));
  steady_states ss(p);
  sc.params.inflow.setZero();
  sc.params.transfer_in.setZero();
  for (unit_index u = static_cast<unit_index>(level_begin); u < n; ++u) {  // leaves
    const auto r = uniforms(opt.seed, static_cast<std::uint64_t>(u), 2);
    const bool is_rural = std::holds_alternative<bool>(rural[u]) && std::get<bool>(rural[u]);
    if (is_rural) sc.params.advance(u, training) = 0.10;
    sc.params.inflow(u) = (is_rural ? 0.025 : 0.08) * (0.5 + r[0]) * opt.members_per_leaf / 20;
    sc.params.transfer_in(u) = 0.015 * opt.members_per_leaf / 20;
    const auto& st = ss.of(sc.params, u);
    const auto pre = static_cast<Eigen::Index>(p.offset(p.terminal()));
    expected.row(u).head(pre) = sc.params.inflow(u) * st.occupancy.transpose().array();
    expected(u, full) = opt.members_per_leaf * (0.5 + r[1]);
  }
  // Random rounding keeps every unit's expected stock: floor(x + U).
  sc.stocks.resize(n, expected.cols());
  for (Eigen::Index u = 0; u < n; ++u)
    for (Eigen::Index c = 0; c < expected.cols(); ++c)
      sc.stocks(u, c) = std::floor(expected(u, c) + uniforms(opt.seed, static_cast<std::uint64_t>(u), 3 + c)[0]);
  sc.validate();
  return sc;
}

}  // namespace memberflow::datasets
