#!/usr/bin/env python3
"""Time the exact distribution of 12-month admissions against a numpy Monte Carlo.

(a) memberflow: ``mf.forecast(scn, 12, method="exact").distribution("admissions",
    window=(0, 12))``, the pmf of admissions over months 0..11 at every node, best of
    --repeat calls (time.perf_counter), first call reported apart. Memory: the rise of
    ru_maxrss over the first call (run first in the process; the pmfs live in C++ and
    then numpy arrays) and the nbytes of the flat arrays the binding returns (offsets,
    starts, probs, tails) plus the per-entry values the Python layer derives from them.

(b) in the same run, the obvious alternative: a vectorised numpy Monte Carlo of the same
    model (docs/pipeline-model.md) with numpy's Generator, --paths paths (10,000), that
    estimates P(root admissions over the 12 months >= k). Per month and per unit-slot
    it draws binomials: the people leaving a markov stage ~ Binomial(count, advance +
    exit), and of those the ones advancing ~ Binomial(leavers, advance / (advance +
    exit)); arrivals ~ Poisson(inflow) per unit; moves land at the start of the next
    month. It is vectorised over units and over a batch of paths at once (arrays
    batch x units, batch = --batch-elements // units: 2 paths nationally, ~2,100 for
    the district), so memory stays bounded whatever the number of paths; the time per
    path hardly depends on the batch (within 10% from 1 to 8 paths a batch nationally):
    numpy's binomial and Poisson draws (~13 ns each) are the cost. To make it as fast as reasonable it simulates only what admissions depend on: the
    stages before the admission stage (source, training) of the units that have anyone
    there or any inflow; probation and full, which cannot change admissions, are left
    out. It gives the root only (per-node estimates would need a roll-up per path).

For information, a second Monte Carlo sums the units that share all parameters of those
stages into one group per distinct parameter tuple before simulating (exact in
distribution: independent people with the same chances, Poisson arrivals add up); it is
fast here only because the synthetic organisations have two such groups.

The threshold k: near the exact root distribution's 95th percentile for the synthetic
organisation (it has no targets); for the example district (``--district``, default on)
both its target, 160 (P ~ 0), and a threshold near its mean.

Checks (the script fails with AssertionError otherwise): every Monte Carlo estimate of
P(root >= k) lies within 5 standard errors sqrt(p (1 - p) / paths) of the exact p, and
the Monte Carlo mean of root admissions within 5 standard errors (exact sd / sqrt(paths))
of the exact mean; the exact mean equals the expected-value forecast's to 1e-9 relative
and every node's tail is <= 1e-12.

    python benchmarks/python/bench_exact.py [--scale national|province] [--repeat 3]
        [--paths 10000] [--batch-elements 524288] [--seed 1] [--no-district]
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import time
import tracemalloc

import numpy as np

import memberflow as mf
from bench_common import best_of, machine, maxrss_bytes

MONTHS = 12
WINDOW = (0, MONTHS)
MAX_SE = 5.0








# -- the exact side ---------------------------------------------------------------------------
def exact_distribution(scn: mf.Scenario):
    return mf.forecast(scn, MONTHS, method="exact").distribution("admissions", window=WINDOW)


def flat_bytes(d) -> tuple[int, int]:
    """(bytes of the binding's flat arrays, bytes the Python layer derives: values per entry)."""
    flat = sum(a.nbytes for a in (d._offsets, d._starts, d._probs, d._tails))
    return flat, d._values.nbytes


# -- the Monte Carlo ---------------------------------------------------------------------------
def mc_inputs(scn: mf.Scenario) -> dict:
    """Counts and chances of the stages before admission, per unit, from the public API;
    only the units where admissions can happen (someone there, or inflow)."""
    pipe = scn.pipeline.to_frame()
    kinds = list(pipe["kind"])
    if kinds != ["markov", "markov", "fixed", "terminal"]:
        raise SystemExit(f"this Monte Carlo is written for markov, markov, fixed, terminal; got {kinds}")
    source, training = scn.pipeline.stages[:2]
    ids = scn.org.ids
    stocks = scn.stocks
    unit = ids.get_indexer(stocks["unit_id"])
    count = stocks["count"].to_numpy(dtype=float)
    assert np.all(count == np.round(count)), "stocks must be whole people"
    src = np.zeros(len(ids), np.int64)
    trn = np.zeros(len(ids), np.int64)
    for arr, stage in ((src, source), (trn, training)):
        rows = (stocks["stage"] == stage).to_numpy()
        np.add.at(arr, unit[rows], count[rows].astype(np.int64))
    advance, exit_ = scn.param("advance"), scn.param("exit")
    inflow = scn.param("inflow").to_numpy(dtype=float)
    active = (src > 0) | (trn > 0) | (inflow > 0)

    def split(a, e):  # chance of leaving the stage, and of advancing given leaving
        leave = a + e
        return leave, np.divide(a, leave, out=np.zeros_like(a), where=leave > 0)

    l_s, r_s = split(advance[source].to_numpy(float), exit_[source].to_numpy(float))
    l_t, r_t = split(advance[training].to_numpy(float), exit_[training].to_numpy(float))
    return {k: v[active] for k, v in dict(src=src, trn=trn, inflow=inflow, l_s=l_s, r_s=r_s, l_t=l_t,
                                          r_t=r_t).items()}


def mc_root_admissions(x: dict, paths: int, batch: int, rng: np.random.Generator, progress=None) -> np.ndarray:
    """Root admissions over MONTHS months on each of `paths` simulated paths."""
    out = np.empty(paths, np.int64)
    lam = x["inflow"]
    for b0 in range(0, paths, batch):
        b = min(batch, paths - b0)
        src = np.tile(x["src"], (b, 1))  # batch x units
        trn = np.tile(x["trn"], (b, 1))
        total = np.zeros(b, np.int64)
        lam_b = np.broadcast_to(lam, src.shape)
        for _ in range(MONTHS):
            leave_s = rng.binomial(src, x["l_s"])
            to_training = rng.binomial(leave_s, x["r_s"])
            leave_t = rng.binomial(trn, x["l_t"])
            admitted = rng.binomial(leave_t, x["r_t"])
            total += admitted.sum(axis=1)
            src -= leave_s
            src += rng.poisson(lam_b)  # this month's arrivals land at the start of the next
            trn -= leave_t
            trn += to_training
        out[b0:b0 + b] = total
        if progress:
            progress(b0 + b)
    return out


def mc_grouped_inputs(x: dict) -> dict:
    """Units with the same (l_s, r_s, l_t, r_t) summed into one group each."""
    keys = np.stack([x["l_s"], x["r_s"], x["l_t"], x["r_t"]], axis=1)
    uniq, group = np.unique(keys, axis=0, return_inverse=True)
    group = group.ravel()
    g = len(uniq)
    return {"src": np.bincount(group, x["src"], g).round().astype(np.int64),
            "trn": np.bincount(group, x["trn"], g).round().astype(np.int64),
            "inflow": np.bincount(group, x["inflow"], g),
            "l_s": uniq[:, 0], "r_s": uniq[:, 1], "l_t": uniq[:, 2], "r_t": uniq[:, 3]}


# -- one case -----------------------------------------------------------------------------------
def compare(label: str, totals: np.ndarray, k: int, p: float, mean: float, sd: float) -> dict:
    n = len(totals)
    p_hat = float(np.mean(totals >= k))
    se = math.sqrt(p * (1 - p) / n)
    err = p_hat - p
    z = err / se if se > 0 else (0.0 if err == 0 else math.inf)
    m_hat = float(totals.mean())
    m_se = sd / math.sqrt(n)
    mz = (m_hat - mean) / m_se
    return dict(label=label, k=k, p=p, p_hat=p_hat, err=err, se=se, z=z, mean=mean, m_hat=m_hat, m_se=m_se, mz=mz)


def check(row: dict, what: str) -> None:
    assert abs(row["z"]) <= MAX_SE, (
        f"{what}: Monte Carlo P(root >= {row['k']}) = {row['p_hat']:.6g} is {row['z']:.2f} standard errors from the "
        f"exact {row['p']:.6g}")
    assert abs(row["mz"]) <= MAX_SE, (
        f"{what}: Monte Carlo mean {row['m_hat']:.6g} is {row['mz']:.2f} standard errors from the exact "
        f"{row['mean']:.6g}")


def exact_checks(scn: mf.Scenario, d, root: str) -> None:
    expected = mf.forecast(scn, MONTHS).mean("admissions", window=WINDOW)
    mean = d.mean()
    rel = abs(mean[root] - expected[root]) / abs(expected[root])
    assert rel <= 1e-9, f"root pmf mean {mean[root]!r} != expected admissions {expected[root]!r} ({rel:.3g})"
    assert float(d.tail.max()) <= 1e-12, f"a node dropped tail mass {float(d.tail.max()):.3g} > 1e-12"


def run_scale(name: str, scn: mf.Scenario, thresholds, args, rng) -> list[dict]:
    """Times exact and Monte Carlo on one scenario; thresholds: list of (label, k or None
    for the 95th percentile)."""
    org = scn.org
    root = org.root
    print(f"\n== {name}: {len(org):,} units, root {root!r} ==")

    rss0 = maxrss_bytes()
    ex_first, ex_best, d = best_of(lambda: exact_distribution(scn), args.repeat)
    rss_delta = maxrss_bytes() - rss0
    flat, derived = flat_bytes(d)
    exp_first, exp_best, _ = best_of(lambda: mf.forecast(scn, MONTHS), args.repeat)
    exact_checks(scn, d, root)

    pmf = d.pmf(root)
    mean, sd = float(d.mean()[root]), float(d.std()[root])
    q95 = int(d.quantile(0.95)[root])
    print(f"exact: root admissions over months 0-11: mean {mean:,.3f}, sd {sd:,.3f}, support {pmf.index[0]:,}.."
          f"{pmf.index[-1]:,} ({len(pmf):,} entries), 95th percentile {q95:,}; max tail over nodes "
          f"{float(d.tail.max()):.2g}")
    print(f"exact: first call {ex_first:.3f} s, best of {args.repeat} {ex_best:.3f} s "
          f"(of which the expected-value forecast mf.forecast(scn, 12) alone: best {exp_best:.3f} s)")
    gib, mib = 1024 ** 3, 1024 ** 2
    print(f"exact memory: flat arrays from the binding {flat / mib:,.1f} MiB ({len(d._probs):,} probabilities), "
          f"per-entry values derived in Python {derived / mib:,.1f} MiB; ru_maxrss rose by {rss_delta / mib:,.1f} MiB "
          f"over the first call (process peak now {maxrss_bytes() / gib:.3f} GiB)")

    t0 = time.perf_counter()
    x = mc_inputs(scn)
    setup_s = time.perf_counter() - t0
    units = len(x["src"])
    batch = max(1, args.batch_elements // units)
    print(f"Monte Carlo inputs (stocks and chances of the stages before admission; not timed below): "
          f"{setup_s:.3f} s; {units:,} units simulated, batches of {batch:,} paths")

    # Memory of the Monte Carlo: tracemalloc peak over one batch (untimed; numpy reports
    # its allocations to tracemalloc), which is what any number of paths needs.
    tracemalloc.start()
    mc_root_admissions(x, min(batch, args.paths), batch, np.random.default_rng(0))
    _, mc_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    start = time.perf_counter()
    step = max(args.paths // 10, batch)
    marks = iter(range(step, args.paths + step, step))
    mark = [next(marks)]

    def progress(done):
        if done >= mark[0]:
            el = time.perf_counter() - start
            print(f"  ... {done:,}/{args.paths:,} paths, {el:,.0f} s", file=sys.stderr, flush=True)
            mark[0] = next(marks, args.paths + 1)

    mc_s = time.perf_counter()
    totals = mc_root_admissions(x, args.paths, batch, rng, progress if units > 10_000 else None)
    mc_s = time.perf_counter() - mc_s

    g = mc_grouped_inputs(x)
    gr_s = time.perf_counter()
    gtotals = mc_root_admissions(g, args.paths, args.paths, rng)
    gr_s = time.perf_counter() - gr_s

    rows = []
    for label, k in thresholds:
        k = q95 if k is None else int(k)
        p = float(d.prob_at_least(k)[root])
        # Cross-check the Python layer against the root pmf itself (upper sum).
        p_direct = float(pmf[pmf.index >= k].sum())
        assert abs(p - p_direct) <= 1e-12 + 1e-9 * p, (p, p_direct)
        for mc_label, tot, secs in (("per-unit MC", totals, mc_s), ("grouped MC (info)", gtotals, gr_s)):
            row = compare(f"{name}, {label}", tot, k, p, mean, sd)
            row.update(mc=mc_label, threshold=label, mc_s=secs, ex_s=ex_best, ex_first=ex_first, groups=len(g["src"]))
            check(row, f"{name}, {label}, {mc_label}")
            rows.append(row)

    if any(r["p"] == 0 for r in rows):
        print(f"(exact P = 0: k lies beyond the root pmf's kept support, so the true P(>=k) is at most the mass "
              f"the root dropped, {float(d.tail[root]):.2g}; a single Monte Carlo path reaching k would fail the check)")
    print(f"Monte Carlo: {args.paths:,} paths in {mc_s:,.2f} s (one run; {mc_s / args.paths * 1e3:.2f} ms a path), "
          f"tracemalloc peak of one batch {mc_peak / mib:,.1f} MiB; grouped ({len(g['src'])} groups): {gr_s:.3f} s")
    print(f"{'threshold':<16} {'Monte Carlo':<18} {'k':>7} {'exact P(>=k)':>13} {'MC estimate':>12} "
          f"{'MC - exact':>11} {'SE':>9} {'err/SE':>7} {'MC s':>9} {'exact s':>8} {'MC/exact':>9}")
    for r in rows:
        print(f"{r['threshold']:<16} {r['mc']:<18} {r['k']:>7,} {r['p']:>13.6g} {r['p_hat']:>12.6g} "
              f"{r['err']:>11.2g} {r['se']:>9.2g} {r['z']:>7.2f} {r['mc_s']:>9.3f} {r['ex_s']:>8.4f} "
              f"{r['mc_s'] / r['ex_s']:>8.1f}x")
    for mc_label in ("per-unit MC", "grouped MC (info)"):
        r = next(r for r in rows if r["mc"] == mc_label)
        print(f"mean of root admissions, {mc_label}: MC {r['m_hat']:,.3f} vs exact {r['mean']:,.3f}: "
              f"difference {r['m_hat'] - r['mean']:+.3f} = {r['mz']:+.2f} standard errors ({r['m_se']:.3f})")
    del d
    gc.collect()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", choices=["national", "province"], default="national")
    ap.add_argument("--repeat", type=int, default=3, help="exact calls; the best is reported")
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--batch-elements", type=int, default=2 ** 19,
                    help="paths x units simulated at once (memory: ~10 int64 arrays of this size)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-district", dest="district", action="store_false",
                    help="skip the example district")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    print(f"machine: {machine()}")
    print(f"Monte Carlo: {args.paths:,} paths, numpy.random.default_rng({args.seed}); checks: |MC - exact| <= "
          f"{MAX_SE:g} standard errors")
    t0 = time.perf_counter()
    scn = mf.datasets.synthetic(args.scale)
    print(f"scenario: mf.datasets.synthetic({args.scale!r}) built in {time.perf_counter() - t0:.2f} s")
    rows = run_scale(f"synthetic {args.scale}", scn, [("95th percentile", None)], args, rng)

    if args.district:
        dist = mf.datasets.example_district()
        root = dist.org.root
        target = float(dist.targets[root])
        mean = float(mf.forecast(dist, MONTHS).mean("admissions", window=WINDOW)[root])
        rows += run_scale("example district", dist,
                          [(f"target {target:g}", math.ceil(target)), ("near the mean", round(mean))], args, rng)

    print("\nsummary (time ratio: Monte Carlo one run / exact best of "
          f"{args.repeat}; every estimate within {MAX_SE:g} SE of the exact value)")
    for r in rows:
        print(f"  {r['label']:<40} {r['mc']:<18} P(>={r['k']:,}) exact {r['p']:.6g}, MC {r['p_hat']:.6g} "
              f"({r['z']:+.2f} SE); MC/exact time {r['mc_s'] / r['ex_s']:,.1f}x")


if __name__ == "__main__":
    main()
