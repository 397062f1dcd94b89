#!/usr/bin/env python3
"""Tree queries as users write them: memberflow.Org against NetworkX, same tree, same run.

For each scale (mf.datasets.synthetic: district ~270 units, province ~4,700, national
~302,000) the SAME tree is built as a networkx.DiGraph (edges parent -> child from
org.to_frame()), and the same work is timed in both (time.perf_counter, best of
--repeat, the garbage collector off during each call):

  (a) roll-up of a Series with its own index (the ids shuffled: not the org's order) to
      every node's subtree total
        memberflow: org.rollup(series)
        networkx:   series.to_dict(), then dfs_postorder_nodes adding each child's total
                    into its parent's, in a dict
      (a') the same with a Series on org.ids (the org's own order)
      (a'') the shuffled Series written to CSV and read back with pandas.read_csv, as a
      user's per-unit figures arrive: its ids are new str objects, laid out in memory in
      the file's order ((a) reuses org.ids' own objects in shuffled order: every id read
      is a cache miss, the worst case for both)
  (b) descendants of every depth-1 unit (the provinces nationally), one call each
        org.descendants(u)  vs  nx.descendants(G, u)
  (c) ancestors of 1,000 random leaves, one call each, nearest first
        memberflow: org.ancestors(u) on an Org that has answered nothing yet
                    (mf.Org(core): a fresh Python Org; every repeat a new one)
        networkx:   the faster of nx.ancestors(G, u) (a set) and
                    nx.shortest_path(G, root, u)[-2::-1] (the ordered path to the root)
      (c') the same leaves asked again of the same Org (memberflow keeps no answers: every
      call walks the parent links, so (c) and (c') differ only by noise)
      (c'') (c) with a full garbage collection before each repeat, for both: it walks the
      whole heap and so evicts the caches, the cost of calls that find nothing cached
  (d) lowest common ancestor of 1,000 random pairs: org.lca([a, b]) per pair against
      networkx's faster batched call (tree_all_pairs_lowest_common_ancestor,
      all_pairs_lowest_common_ancestor)
  (e) building the tree from the units frame: Org.from_frame vs nx.DiGraph(edges)

Every answer is CHECKED equal between the two before the table is printed (the roll-up
sums whole numbers, so exactly). Ratios are networkx time / memberflow time: above 1
means memberflow is faster.

    python benchmarks/python/bench_org_vs_networkx.py [--scales district,province,national] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import time

import networkx as nx
import numpy as np
import pandas as pd

import memberflow as mf
from bench_common import best_of as timed
from bench_common import machine


def best_of(fn, repeat: int):
    """(best seconds over `repeat` calls, last result)."""
    return timed(fn, repeat)[1:]


# -- networkx, the way its users write it ------------------------------------------------
def nx_rollup(G: nx.DiGraph, root: str, values: pd.Series) -> dict:
    own = values.to_dict()
    total = {u: own.get(u, 0.0) for u in G}
    for node in nx.dfs_postorder_nodes(G, root):  # children before their parent
        for child in G.successors(node):
            total[node] += total[child]
    return total


def nx_ancestors_by_path(G: nx.DiGraph, root: str, u: str) -> list:
    return nx.shortest_path(G, root, u)[-2::-1]


def fresh_orgs(core, n: int) -> list:
    """n Python Orgs over the same compiled tree, none of which has answered a query."""
    return [mf.Org(core) for _ in range(n)]


def measure(scale: str, repeat: int, pairs: int, rng: np.random.Generator) -> list:
    """[(scale, operation, networkx s, memberflow s)] for one tree."""
    org = mf.datasets.synthetic(scale).org
    core, root, ids = org._core, org.root, org.ids
    frame = org.to_frame()
    inner = frame["parent_id"].notna()
    G = nx.DiGraph(zip(frame["parent_id"][inner], frame["unit_id"][inner]))
    assert G.number_of_nodes() == len(org) and G.number_of_edges() == len(org) - 1
    print(f"{scale}: {len(org):,} units, height {org.height}")
    rows = []

    # (a) roll-up of a Series in its own order, and on the org's ids
    values = rng.integers(0, 100, size=len(org)).astype(float)  # whole numbers: sums are exact
    own_order = pd.Series(values, index=ids)
    shuffled = own_order.iloc[rng.permutation(len(org))]
    t_nx, nx_total = best_of(lambda: nx_rollup(G, root, shuffled), repeat)
    t_mf, mf_total = best_of(lambda: org.rollup(shuffled), repeat)
    assert mf_total.to_dict() == nx_total and nx_total[root] == values.sum(), "rollup differs"
    rows.append((scale, "(a) roll-up, a Series in its own order", t_nx, t_mf))
    t_nx_own, _ = best_of(lambda: nx_rollup(G, root, own_order), repeat)
    t_mf_own, mf_own = best_of(lambda: org.rollup(own_order), repeat)
    assert mf_own.equals(mf_total), "rollup of the org-ordered Series differs"
    rows.append((scale, "(a') roll-up, a Series on org.ids", t_nx_own, t_mf_own))
    text = io.StringIO()
    shuffled.rename("value").to_csv(text, index_label="unit_id")
    text.seek(0)
    from_csv = pd.read_csv(text, index_col="unit_id", dtype={"unit_id": str})["value"]
    t_nx_csv, nx_csv = best_of(lambda: nx_rollup(G, root, from_csv), repeat)
    t_mf_csv, mf_csv = best_of(lambda: org.rollup(from_csv), repeat)
    assert mf_csv.to_dict() == nx_csv == nx_total, "rollup of the Series read from CSV differs"
    rows.append((scale, "(a'') roll-up, the shuffled Series read from a CSV file", t_nx_csv, t_mf_csv))

    # (b) descendants of every depth-1 unit
    depth1 = [u for u, d in zip(ids, core.depths) if d == 1]
    t_nx, nx_desc = best_of(lambda: [nx.descendants(G, u) for u in depth1], repeat)
    t_mf, mf_desc = best_of(lambda: [org.descendants(u) for u in depth1], repeat)
    assert all(set(m) == n and len(m) == len(n) for m, n in zip(mf_desc, nx_desc)), "descendants differ"
    rows.append((scale, f"(b) descendants of the {len(depth1)} depth-1 units", t_nx, t_mf))

    # (c) ancestors of random leaves, on fresh Orgs and again on the same Org
    is_parent = np.zeros(len(org), bool)
    is_parent[core.parents[core.parents >= 0]] = True
    leaves = list(rng.choice(ids[~is_parent].to_numpy(dtype=object), size=min(pairs, int((~is_parent).sum())),
                             replace=False))
    t_set, nx_sets = best_of(lambda: [nx.ancestors(G, u) for u in leaves], repeat)
    t_path, nx_paths = best_of(lambda: [nx_ancestors_by_path(G, root, u) for u in leaves], repeat)
    orgs = iter(fresh_orgs(core, repeat))
    t_fresh, mf_anc = best_of(lambda: (lambda o: [o.ancestors(u) for u in leaves])(next(orgs)), repeat)
    t_again, mf_again = best_of(lambda: [org.ancestors(u) for u in leaves], repeat)
    assert all(set(m) == s and list(m) == p for m, s, p in zip(mf_anc, nx_sets, nx_paths)), "ancestors differ"
    assert mf_again == mf_anc
    rows.append((scale, f"(c) ancestors of {len(leaves):,} leaves, fresh Org", min(t_set, t_path), t_fresh))
    rows.append((scale, "(c') the same leaves again, same Org", min(t_set, t_path), t_again))
    cold_set = timed(lambda: [nx.ancestors(G, u) for u in leaves], repeat, cold=True)[1]
    cold_path = timed(lambda: [nx_ancestors_by_path(G, root, u) for u in leaves], repeat, cold=True)[1]
    orgs = iter(fresh_orgs(core, repeat))
    cold_mf, mf_cold = timed(lambda: (lambda o: [o.ancestors(u) for u in leaves])(next(orgs)), repeat, cold=True)[1:]
    assert mf_cold == mf_anc
    rows.append((scale, "(c'') (c) with the caches evicted, both", min(cold_set, cold_path), cold_mf))

    # (d) lca of random pairs
    some = [tuple(p) for p in rng.choice(ids.to_numpy(dtype=object), size=(pairs, 2))]
    t_tree, nx_lca = best_of(lambda: dict(nx.tree_all_pairs_lowest_common_ancestor(G, root=root, pairs=some)),
                             repeat)
    t_all, _ = best_of(lambda: dict(nx.all_pairs_lowest_common_ancestor(G, pairs=some)), repeat)
    t_mf, mf_lca = best_of(lambda: [org.lca(p) for p in some], repeat)
    assert all(nx_lca[p] == m for p, m in zip(some, mf_lca)), "lca differs"
    rows.append((scale, f"(d) lca of {len(some):,} random pairs", min(t_tree, t_all), t_mf))

    # (e) building the tree from the same frame
    units = frame[["unit_id", "parent_id"]]
    t_nx, _ = best_of(lambda: nx.DiGraph(zip(units["parent_id"][inner], units["unit_id"][inner])), repeat)
    t_mf, built = best_of(lambda: mf.Org.from_frame(units), repeat)
    assert list(built.ids) == list(ids) and np.array_equal(built._core.parents, core.parents)
    rows.append((scale, "(e) build the tree from the units frame", t_nx, t_mf))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", default="district,province,national",
                    help="comma-separated synthetic presets, smallest first")
    ap.add_argument("--repeat", type=int, default=3, help="calls per measurement; the best is reported")
    ap.add_argument("--pairs", type=int, default=1000, help="random leaves for (c) and random pairs for (d)")
    ap.add_argument("--seed", type=int, default=20210201)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    print(f"machine: {machine()}")
    print(f"networkx {nx.__version__}, pandas {pd.__version__}; repeat {args.repeat} (best of); "
          f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC")
    rows = [row for scale in args.scales.split(",") for row in measure(scale, args.repeat, args.pairs, rng)]
    print("check: every answer equal between networkx and memberflow.Org: OK")
    print()
    head = f"{'scale':<9} {'operation':<46} {'networkx s':>11} {'memberflow s':>13} {'nx/mf':>9}"
    print(head)
    print("-" * len(head))
    for scale, name, tn, tm in rows:
        print(f"{scale:<9} {name:<46} {tn:>11.6f} {tm:>13.6f} {tn / tm:>8.1f}x")
    print()
    print("(c) networkx: the faster of nx.ancestors and nx.shortest_path(G, root, u)[-2::-1]; memberflow: "
          "each repeat on a new mf.Org(core), so every call is a first one (c': the same Org again; "
          "c'': a full collection before each repeat of either)")


if __name__ == "__main__":
    main()
