// Tree queries on the national synthetic organisation (datasets::synthetic({}), ~302,000
// units, 5 levels): roll-up of one value per unit, ancestors of every leaf, descendants
// of every province (depth 1), lca of 1,000 random pairs. Each benchmark checks its
// answers against a naive computation on the parent array (outside the timed region);
// a wrong answer skips the benchmark with the reason and the program exits with 1.
// items_per_second counts units rolled up, leaves, descendants visited and pairs.
#include <numeric>
#include <random>
#include <string>

#include "bench_util.hpp"
#include "memberflow/datasets.hpp"
#include "memberflow/org.hpp"

namespace {

using namespace memberflow;

const org& national() {
  static const std::shared_ptr<const org> o = datasets::synthetic({}).organisation;
  return *o;
}

std::vector<unit_index> leaves(const org& o) {
  std::vector<int> children(o.size(), 0);
  for (auto p : o.parents())
    if (p != no_unit) ++children[p];
  std::vector<unit_index> out;
  for (std::size_t u = 0; u < o.size(); ++u)
    if (children[u] == 0) out.push_back(static_cast<unit_index>(u));
  return out;
}

std::vector<unit_index> at_depth(const org& o, int d) {
  std::vector<unit_index> out;
  for (std::size_t u = 0; u < o.size(); ++u)
    if (o.depth(static_cast<unit_index>(u)) == d) out.push_back(static_cast<unit_index>(u));
  return out;
}

void add_statistics(benchmark::internal::Benchmark* b) {
  b->Unit(benchmark::kMicrosecond)->UseRealTime()->ComputeStatistics("min", [](const std::vector<double>& v) {
    return memberflow::bench::min_of(v);
  });
}

void BM_Rollup(benchmark::State& state) {
  const org& o = national();
  std::vector<double> own(o.size());
  for (std::size_t u = 0; u < o.size(); ++u) own[u] = static_cast<double>(u % 97);  // whole numbers: exact sums
  std::vector<double> total;
  for (auto _ : state) {
    total = o.rollup(std::span<const double>(own));
    benchmark::DoNotOptimize(total.data());
  }
  // Naive check: add every unit's value to each of its ancestors and itself.
  std::vector<double> naive(o.size(), 0.0);
  for (std::size_t u = 0; u < o.size(); ++u)
    for (auto a = static_cast<unit_index>(u); a != no_unit; a = o.parent(a)) naive[a] += own[u];
  if (total != naive) memberflow::bench::fail(state, "rollup differs from the naive subtree sums");
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(o.size()));
  state.counters["units"] = static_cast<double>(o.size());
}
BENCHMARK(BM_Rollup)->Apply(add_statistics);

void BM_AncestorsOfEveryLeaf(benchmark::State& state) {
  const org& o = national();
  const auto leaf = leaves(o);
  std::vector<std::vector<unit_index>> answers(leaf.size());
  for (auto _ : state) {
    for (std::size_t i = 0; i < leaf.size(); ++i) answers[i] = o.ancestors(leaf[i]);
    benchmark::DoNotOptimize(answers.data());
  }
  for (std::size_t i = 0; i < leaf.size(); ++i) {
    std::vector<unit_index> naive;
    for (auto a = o.parent(leaf[i]); a != no_unit; a = o.parent(a)) naive.push_back(a);
    if (answers[i] != naive) {
      memberflow::bench::fail(state, "ancestors of " + o.id(leaf[i]) + " differ from the parent chain");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(leaf.size()));
  state.counters["leaves"] = static_cast<double>(leaf.size());
}
BENCHMARK(BM_AncestorsOfEveryLeaf)->Apply(add_statistics);

// descendants() is a span of the preorder; the benchmark reads every unit of it, as a
// caller that uses the answer would.
void BM_DescendantsOfEveryProvince(benchmark::State& state) {
  const org& o = national();
  const auto provinces = at_depth(o, 1);
  std::int64_t visited = 0, checksum = 0;
  for (auto _ : state) {
    visited = 0;
    checksum = 0;
    for (auto p : provinces) {
      const auto d = o.descendants(p);
      checksum = std::accumulate(d.begin(), d.end(), checksum);
      visited += static_cast<std::int64_t>(d.size());
    }
    benchmark::DoNotOptimize(checksum);
  }
  // Naive check: every unit below depth 1 is a descendant of exactly one province.
  std::int64_t below = 0, below_sum = 0;
  for (std::size_t u = 0; u < o.size(); ++u)
    if (o.depth(static_cast<unit_index>(u)) >= 2) ++below, below_sum += static_cast<std::int64_t>(u);
  bool ok = visited == below && checksum == below_sum;
  for (auto p : provinces)
    for (auto v : o.descendants(p)) ok = ok && o.is_ancestor_or_self(p, v) && v != p;
  if (!ok) memberflow::bench::fail(state, "descendants of the provinces are not the units below them");
  state.SetItemsProcessed(state.iterations() * visited);
  state.counters["provinces"] = static_cast<double>(provinces.size());
}
BENCHMARK(BM_DescendantsOfEveryProvince)->Apply(add_statistics);

void BM_LcaRandomPairs(benchmark::State& state) {
  const org& o = national();
  std::mt19937_64 rng(20210201);
  std::uniform_int_distribution<unit_index> pick(0, static_cast<unit_index>(o.size()) - 1);
  std::vector<std::pair<unit_index, unit_index>> pairs(1000);
  for (auto& [a, b] : pairs) a = pick(rng), b = pick(rng);
  std::vector<unit_index> answers(pairs.size());
  for (auto _ : state) {
    for (std::size_t i = 0; i < pairs.size(); ++i) answers[i] = o.lca(pairs[i].first, pairs[i].second);
    benchmark::DoNotOptimize(answers.data());
  }
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    auto [a, b] = pairs[i];
    while (o.depth(a) > o.depth(b)) a = o.parent(a);
    while (o.depth(b) > o.depth(a)) b = o.parent(b);
    while (a != b) a = o.parent(a), b = o.parent(b);
    if (answers[i] != a) {
      memberflow::bench::fail(state, "lca of pair " + std::to_string(i) + " differs from the parent walk");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(pairs.size()));
}
BENCHMARK(BM_LcaRandomPairs)->Apply(add_statistics);

}  // namespace

MEMBERFLOW_BENCHMARK_MAIN();
