#!/usr/bin/env python3
"""Tree queries: memberflow.Org against networkx on the same tree, in the same run.

Builds mf.datasets.synthetic(scale) once, then the SAME tree as a networkx.DiGraph
(edges parent -> child from org.to_frame()), and times (time.perf_counter, best of
--repeat) the same work in both:

  (a) roll-up of one value per unit to every node (subtree totals)
        memberflow: org.rollup(Series)    networkx: dfs_postorder_nodes, adding each
        child's total into its parent's, in a dict
  (b) ancestors of 1,000 random leaves      org.ancestors   vs nx.ancestors
  (c) descendants of every depth-1 unit     org.descendants vs nx.descendants
      (the provinces at national scale, the districts at province scale)
  (d) lowest common ancestor of 1,000 random pairs
        memberflow: org.lca([a, b]) per pair
        networkx: one batched call for all pairs, the faster of
        tree_all_pairs_lowest_common_ancestor and all_pairs_lowest_common_ancestor
        (nx.lowest_common_ancestor, one pair per call, re-checks the whole graph is a
        DAG on every call; it is timed on a sample and extrapolated, for information)
  (e) building the tree from the units frame: Org.from_frame vs nx.DiGraph(edges)

Also at the raw level (memberflow._core, integer indices and numpy arrays, no id
mapping): _core.rollup(ndarray), _core.ancestors(i), _core.descendants(i), _core.lca.

Every answer is CHECKED equal between the implementations (exact: the roll-up uses whole
numbers) before the table is printed. Ratios are networkx time / memberflow time: above
1 means memberflow is faster.

    python benchmarks/python/bench_org_vs_networkx.py [--scale national|province] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import networkx as nx
import numpy as np
import pandas as pd

import memberflow as mf
from bench_common import best_of as timed
from bench_common import machine


def best_of(fn, repeat: int, cold: bool = False):
    """(best seconds over `repeat` calls, last result)."""
    return timed(fn, repeat, cold)[1:]






# -- networkx, the way an analyst would ----------------------------------------------------
def nx_rollup(G: nx.DiGraph, root: str, own: dict) -> dict:
    total = dict(own)
    for node in nx.dfs_postorder_nodes(G, root):  # children before their parent
        for child in G.successors(node):
            total[node] += total[child]
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", choices=["national", "province"], default="national")
    ap.add_argument("--repeat", type=int, default=3, help="calls per measurement; the best is reported")
    ap.add_argument("--pairs", type=int, default=1000, help="random leaves for (b) and random pairs for (d)")
    ap.add_argument("--nx-lca-sample", type=int, default=5,
                    help="pairs timed with nx.lowest_common_ancestor one call each (extrapolated; 0 = skip)")
    ap.add_argument("--seed", type=int, default=20210201)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    t0 = time.perf_counter()
    scn = mf.datasets.synthetic(args.scale)
    build_s = time.perf_counter() - t0
    org = scn.org
    core = org._core
    root = org.root
    frame = org.to_frame()
    edges = list(zip(frame["parent_id"][frame["parent_id"].notna()], frame["unit_id"][frame["parent_id"].notna()]))
    G = nx.DiGraph(edges)
    assert G.number_of_nodes() == len(org) and G.number_of_edges() == len(org) - 1

    print(f"machine: {machine()}")
    print(f"tree: mf.datasets.synthetic({args.scale!r}): {len(org):,} units, height {org.height}, "
          f"scenario built in {build_s:.2f} s; repeat {args.repeat} (best of)")

    ids = org.ids
    is_parent = np.zeros(len(org), bool)
    parents = core.parents
    is_parent[parents[parents >= 0]] = True
    leaves = ids[~is_parent]
    depth1 = [u for u, d in zip(ids, core.depths) if d == 1]
    sample_leaves = list(rng.choice(leaves.to_numpy(dtype=object), size=min(args.pairs, len(leaves)), replace=False))
    pairs = [tuple(p) for p in rng.choice(ids.to_numpy(dtype=object), size=(args.pairs, 2))]
    leaf_idx = core.indices(sample_leaves)
    depth1_idx = core.indices(depth1)
    pair_idx = [np.array(p, dtype=np.int64) for p in core.indices([u for p in pairs for u in p]).reshape(-1, 2)]

    own_values = rng.integers(0, 100, size=len(org)).astype(float)  # whole numbers: sums are exact
    own_series = pd.Series(own_values, index=ids)
    own_dict = dict(zip(ids, own_values))

    rows = []  # (operation, networkx s, memberflow s, memberflow raw s or None)

    # (a) roll-up
    t_nx, nx_total = best_of(lambda: nx_rollup(G, root, own_dict), args.repeat)
    t_mf, mf_total = best_of(lambda: org.rollup(own_series), args.repeat)
    t_raw, raw_total = best_of(lambda: core.rollup(own_values), args.repeat)
    assert mf_total.to_dict() == nx_total, "rollup: memberflow and networkx differ"
    assert np.array_equal(raw_total, mf_total.to_numpy()), "rollup: _core and Org differ"
    assert nx_total[root] == own_values.sum()
    rows.append(("(a) roll-up, one value per unit", t_nx, t_mf, t_raw))

    # (b) ancestors of random leaves; the first call fills Org's table of ancestor tuples
    t0 = time.perf_counter()
    org.ancestors(sample_leaves[0])
    t_table = time.perf_counter() - t0
    t_nx, nx_anc = best_of(lambda: [nx.ancestors(G, u) for u in sample_leaves], args.repeat)
    t_mf, mf_anc = best_of(lambda: [org.ancestors(u) for u in sample_leaves], args.repeat)
    t_raw, raw_anc = best_of(lambda: [core.ancestors(i) for i in leaf_idx], args.repeat)
    assert all(set(m) == n and len(m) == len(n) for m, n in zip(mf_anc, nx_anc)), "ancestors differ"
    assert all(tuple(ids[r]) == m for r, m in zip(raw_anc, mf_anc)), "ancestors: _core and Org differ"
    rows.append((f"(b) ancestors of {len(sample_leaves):,} random leaves", t_nx, t_mf, t_raw))
    t_batch, batch_anc = best_of(lambda: org.ancestors_of(sample_leaves), args.repeat)
    assert [batch_anc[u] for u in sample_leaves] == mf_anc, "ancestors_of and ancestors differ"
    rows.append((f"(b') the same, one call: Org.ancestors_of", t_nx, t_batch, None))
    t_nx_one = t_nx / len(sample_leaves)
    t_nx_cold, _ = best_of(lambda: [nx.ancestors(G, u) for u in sample_leaves], args.repeat, cold=True)
    t_mf_cold, _ = best_of(lambda: [org.ancestors(u) for u in sample_leaves], args.repeat, cold=True)

    # (c) descendants of every depth-1 unit
    t_nx, nx_desc = best_of(lambda: [nx.descendants(G, u) for u in depth1], args.repeat)
    t_mf, mf_desc = best_of(lambda: [org.descendants(u) for u in depth1], args.repeat)
    # The raw answer is a view of the preorder (no copy): the table times reading every
    # value of it (.sum()), as a caller that uses the answer would; the view alone is printed below.
    t_raw_view, raw_desc = best_of(lambda: [core.descendants(i) for i in depth1_idx], args.repeat)
    t_raw, raw_sums = best_of(lambda: [int(core.descendants(i).sum()) for i in depth1_idx], args.repeat)
    assert all(set(m) == n and len(m) == len(n) for m, n in zip(mf_desc, nx_desc)), "descendants differ"
    assert all(np.array_equal(ids[r], m) for r, m in zip(raw_desc, mf_desc)), "descendants: _core and Org differ"
    assert raw_sums == [int(r.sum()) for r in raw_desc]
    assert sum(map(len, mf_desc)) == sum(1 for d in core.depths if d >= 2)
    rows.append((f"(c) descendants of {len(depth1)} depth-1 units", t_nx, t_mf, t_raw))

    # (d) lca of random pairs
    t_tree, nx_lca = best_of(lambda: dict(nx.tree_all_pairs_lowest_common_ancestor(G, root=root, pairs=pairs)),
                             args.repeat)
    t_all, nx_lca_all = best_of(lambda: dict(nx.all_pairs_lowest_common_ancestor(G, pairs=pairs)), args.repeat)
    t_mf, mf_lca = best_of(lambda: [org.lca(p) for p in pairs], args.repeat)
    t_raw, raw_lca = best_of(lambda: [core.lca(p) for p in pair_idx], args.repeat)
    assert all(nx_lca[p] == m == nx_lca_all[p] for p, m in zip(pairs, mf_lca)), "lca differs"
    assert list(ids[raw_lca]) == mf_lca, "lca: _core and Org differ"
    t_nx = min(t_tree, t_all)
    rows.append((f"(d) lca of {len(pairs):,} random pairs", t_nx, t_mf, t_raw))
    t_one = None
    if args.nx_lca_sample > 0:
        sample = pairs[: args.nx_lca_sample]
        t0 = time.perf_counter()
        one = [nx.lowest_common_ancestor(G, a, b) for a, b in sample]
        t_one = (time.perf_counter() - t0) / len(sample)
        assert one == mf_lca[: len(sample)], "nx.lowest_common_ancestor differs"

    # (e) building the tree from the same frame
    units = frame[["unit_id", "parent_id"]]
    t_nx, _ = best_of(lambda: nx.DiGraph(zip(units["parent_id"][units["parent_id"].notna()],
                                             units["unit_id"][units["parent_id"].notna()])), args.repeat)
    t_mf, built = best_of(lambda: mf.Org.from_frame(units), args.repeat)
    assert list(built.ids) == list(ids) and np.array_equal(built._core.parents, parents)
    rows.append(("(e) build the tree from the units frame", t_nx, t_mf, None))

    print("check: every answer equal between networkx, memberflow.Org and memberflow._core: OK")
    print()
    head = (f"{'operation':<42} {'networkx s':>11} {'memberflow s':>13} {'nx/mf':>8} "
            f"{'mf raw s':>10} {'nx/raw':>8}")
    print(head)
    print("-" * len(head))
    for name, tn, tm, tr in rows:
        raw = f"{tr:>10.5f} {tn / tr:>7.1f}x" if tr is not None else f"{'-':>10} {'-':>8}"
        print(f"{name:<42} {tn:>11.5f} {tm:>13.5f} {tn / tm:>7.1f}x {raw}")
    print()
    print(f"(d) networkx batched: tree_all_pairs_lowest_common_ancestor {t_tree:.4f} s, "
          f"all_pairs_lowest_common_ancestor {t_all:.4f} s (the table uses the faster)")
    if t_one is not None:
        print(f"    nx.lowest_common_ancestor, one pair per call: {t_one:.4f} s a pair (mean of "
              f"{args.nx_lca_sample}), i.e. ~{t_one * len(pairs):.1f} s for {len(pairs):,} pairs "
              f"(extrapolated; {t_one * len(pairs) / rows[3][2]:,.0f}x memberflow)")
    print(f"(b) cold caches (a full gc.collect() before each timed call): networkx {t_nx_cold:.5f} s, "
          f"memberflow {t_mf_cold:.5f} s, {t_nx_cold / t_mf_cold:.1f}x")
    print(f"(b) Org's table of ancestor tuples, filled by its first ancestors() call (once per Org; not in "
          f"the table): {t_table:.3f} s, the cost of {t_table / t_nx_one:,.0f} nx.ancestors calls")
    print(f"(c) memberflow raw: the table times reading every value of the views (.sum()); getting the "
          f"views alone (no copy) takes {t_raw_view:.5f} s")
    print("raw = memberflow._core with integer indices and numpy arrays (no unit-id mapping); "
          "memberflow s = the public memberflow.Org API with unit ids")


if __name__ == "__main__":
    main()
