#!/usr/bin/env python3
"""Time mf.forecast of a synthetic organisation against a plain numpy implementation.

Both compute the expected-value recursion of the party pipeline
(source -> training -> probation (12 months) -> full) for every unit and month, and both
keep the same per-unit output: the stock of each stage at the start of months 0..H and
the five events of months 0..H-1. The numpy version is written the way an analyst
would: per month, with numpy vectors over units, arrays shaped (months, units).

The script ASSERTS that both give the same root admissions (summed over the horizon)
and the same root stocks of every stage at every month, to 1e-9 relative, then prints
the numpy/memberflow time ratio. memberflow is timed with its default threads (one per
core) and with threads=1 (numpy uses one core); the two results must be bit-identical. Times are best of --repeat (time.perf_counter); the
first call of each is reported apart because on this kind of machine the first touch of
freshly allocated memory (the ~1.2 GB result at national scale) is much dearer than later
calls that reuse memory the process just freed.

Memory: for memberflow, resource.getrusage ru_maxrss before/after its first call (the
result lives in C++ arrays that tracemalloc cannot see) and the nbytes of the result
arrays; for numpy, tracemalloc's peak over one extra, untimed run (numpy reports its
allocations to tracemalloc) and the nbytes of its arrays.

    python benchmarks/python/bench_forecast.py [--scale national|province] [--horizon 60] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import time
import tracemalloc

import numpy as np

import memberflow as mf
from bench_common import best_of, machine, maxrss_bytes

EVENTS = ("admissions", "confirmations", "arrivals", "exits", "leavers")








# -- the numpy implementation ----------------------------------------------------------------
def numpy_inputs(scn: mf.Scenario) -> dict:
    """Per-unit parameters and current stocks as numpy arrays, from the public API."""
    pipe = scn.pipeline.to_frame()
    kinds = list(pipe["kind"])
    if kinds != ["markov", "markov", "fixed", "terminal"]:
        raise SystemExit(f"this numpy version is written for markov, markov, fixed, terminal; got {kinds}")
    source, training, probation, full = scn.pipeline.stages
    months = int(pipe.loc[probation, "months"])
    ids = scn.org.ids
    n = len(ids)
    advance, exit_, pass_rate, attrition = (scn.param(p) for p in ("advance", "exit", "pass_rate", "attrition"))

    stocks = scn.stocks
    unit = ids.get_indexer(stocks["unit_id"])
    count = stocks["count"].to_numpy(dtype=float)
    state = {s: np.zeros(n) for s in (source, training, full)}
    prob = np.zeros((months, n))  # ages x units
    for s in (source, training, full):
        rows = (stocks["stage"] == s).to_numpy()
        np.add.at(state[s], unit[rows], count[rows])
    rows = (stocks["stage"] == probation).to_numpy()
    np.add.at(prob, (stocks["months_in_stage"].to_numpy(dtype=float, na_value=0)[rows].astype(int), unit[rows]),
              count[rows])
    return {
        "stages": (source, training, probation, full), "months": months, "n": n,
        "src0": state[source], "trn0": state[training], "prob0": prob, "full0": state[full],
        "a_s": advance[source].to_numpy(), "e_s": exit_[source].to_numpy(),
        "a_t": advance[training].to_numpy(), "e_t": exit_[training].to_numpy(),
        "e_p": exit_[probation].to_numpy(), "pr": pass_rate[probation].to_numpy(),
        "att": attrition[full].to_numpy(),
        "inflow": scn.param("inflow").to_numpy(), "tin": scn.param("transfer_in").to_numpy(),
    }


def numpy_forecast(x: dict, horizon: int, keep_history: bool = True) -> dict:
    """The expected-value recursion, month by month over numpy vectors of units.

    keep_history=True stores every unit's stocks (months 0..H) and events (months
    0..H-1), arrays shaped (months, units), like memberflow's result. False keeps only
    the totals over units (the root) per month.
    """
    source, training, probation, full = x["stages"]
    n = x["n"]
    src, trn, prob, ful = x["src0"].copy(), x["trn0"].copy(), x["prob0"].copy(), x["full0"].copy()
    a_s, e_s, a_t, e_t = x["a_s"], x["e_s"], x["a_t"], x["e_t"]
    keep, pr, att, inflow, tin = 1.0 - x["e_p"], x["pr"], x["att"], x["inflow"], x["tin"]
    stay_s, stay_t, stay_f = 1.0 - a_s - e_s, 1.0 - a_t - e_t, 1.0 - att
    arrivals = inflow + tin
    shape_s, shape_e = ((horizon + 1, n), (horizon, n)) if keep_history else ((horizon + 1,), (horizon,))
    out = {s: np.empty(shape_s) for s in (source, training, probation, full)}
    out.update({e: np.empty(shape_e) for e in EVENTS})
    store = (lambda arr, t, v: arr.__setitem__(t, v)) if keep_history else (lambda arr, t, v: arr.__setitem__(t, v.sum()))

    for t in range(horizon + 1):
        prob_total = prob.sum(axis=0)
        store(out[source], t, src)
        store(out[training], t, trn)
        store(out[probation], t, prob_total)
        store(out[full], t, ful)
        if t == horizon:
            break
        to_training = src * a_s
        admitted = trn * a_t
        last = prob[-1] * keep
        confirmed = last * pr
        store(out["admissions"], t, admitted)
        store(out["confirmations"], t, confirmed)
        store(out["arrivals"], t, arrivals)
        store(out["exits"], t, src * e_s + trn * e_t + prob_total * x["e_p"] + last * (1.0 - pr))
        store(out["leavers"], t, ful * att)
        src = src * stay_s + inflow
        trn = trn * stay_t + to_training
        aged = np.empty_like(prob)
        aged[1:] = prob[:-1] * keep
        aged[0] = admitted
        prob = aged
        ful = ful * stay_f + confirmed + tin
    return out


# -- the run ----------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", choices=["national", "province"], default="national")
    ap.add_argument("--horizon", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3, help="calls per implementation; the best is reported")
    args = ap.parse_args()
    H = args.horizon

    t0 = time.perf_counter()
    scn = mf.datasets.synthetic(args.scale)
    build_s = time.perf_counter() - t0
    org = scn.org
    root = org.root
    print(f"machine: {machine()}")
    print(f"scenario: mf.datasets.synthetic({args.scale!r}): {len(org):,} units, built in {build_s:.2f} s; horizon {H}")

    # memberflow: memory of the first call, then best of N.
    rss0 = maxrss_bytes()
    mf_first, mf_best, fc = best_of(lambda: mf.forecast(scn, horizon=H), args.repeat)
    rss_delta = maxrss_bytes() - rss0
    mf_bytes = sum(fc.own(q).nbytes for q in fc.quantities)
    mf_root = {q: fc.mean(q)[root] for q in fc.events}
    mf_stock = {s: np.array([fc.mean(s, month=m)[root] for m in range(H + 1)]) for s in scn.pipeline.stages}
    mf_adm_unit = fc.own("admissions").sum(axis=1)
    mf_full_end = fc.own(scn.pipeline.stages[-1])[:, H].copy()
    # One thread (the default above is one per core): same bits, and the speed-up.
    one_first, one_best, fc1 = best_of(lambda: mf.forecast(scn, horizon=H, threads=1), args.repeat)
    for q in fc.quantities:
        a, b = fc.own(q), fc1.own(q)
        assert a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64)), \
            f"mf.forecast: threads=1 and the default differ in {q}"
    del fc, fc1
    gc.collect()

    # numpy: inputs (timed apart), the recursion with the same per-unit output, and with root totals only.
    t0 = time.perf_counter()
    x = numpy_inputs(scn)
    np_setup_s = time.perf_counter() - t0
    np_first, np_best, out = best_of(lambda: numpy_forecast(x, H), args.repeat)
    np_bytes = sum(a.nbytes for a in out.values())
    np_root = {e: out[e].sum() for e in EVENTS}
    np_stock = {s: out[s].sum(axis=1) for s in scn.pipeline.stages}
    np_adm_unit = out["admissions"].sum(axis=0)
    np_full_end = out[scn.pipeline.stages[-1]][H].copy()
    del out
    gc.collect()
    tot_first, tot_best, totals = best_of(lambda: numpy_forecast(x, H, keep_history=False), args.repeat)

    tracemalloc.start()
    numpy_forecast(x, H)
    _, np_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # The same answers: root admissions and root stocks of every stage at every month.
    def rel(a, b):
        a, b = np.asarray(a, float), np.asarray(b, float)
        return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))

    worst = {}
    for e in EVENTS:
        worst[f"root {e}"] = rel(np_root[e], mf_root[e])
        worst[f"root {e} (totals-only numpy)"] = rel(totals[e].sum(), mf_root[e])
    for s in scn.pipeline.stages:
        worst[f"root {s} stock, months 0..{H}"] = rel(np_stock[s], mf_stock[s])
        worst[f"root {s} stock (totals-only numpy)"] = rel(totals[s], mf_stock[s])
    for what, err in worst.items():
        assert err <= 1e-9, f"numpy and memberflow differ: {what}: relative difference {err:.3g}"
    assert mf_root["admissions"] > 0
    unit_adm = float(np.max(np.abs(np_adm_unit - mf_adm_unit)) / max(np.max(np.abs(mf_adm_unit)), 1e-300))
    unit_full = float(np.max(np.abs(np_full_end - mf_full_end)) / max(np.max(np.abs(mf_full_end)), 1e-300))
    print(f"check: root admissions over {H} months {mf_root['admissions']:,.3f} (memberflow) vs "
          f"{np_root['admissions']:,.3f} (numpy); worst relative difference at the root over all checked "
          f"quantities {max(worst.values()):.2g} (<= 1e-9: OK); per unit: admissions {unit_adm:.2g}, "
          f"final {scn.pipeline.stages[-1]} stock {unit_full:.2g} (relative to the largest unit)")

    gib = 1024 ** 3
    print()
    print(f"{'implementation':<44} {'first call s':>12} {f'best of {args.repeat} s':>12} {'ratio vs mf (best)':>19}")
    rows = [("memberflow mf.forecast", mf_first, mf_best),
            ("memberflow mf.forecast(threads=1)", one_first, one_best),
            ("numpy, per-unit history (same output)", np_first, np_best),
            ("numpy, root totals only (no history)", tot_first, tot_best)]
    for name, first, best in rows:
        print(f"{name:<44} {first:>12.3f} {best:>12.3f} {best / mf_best:>18.2f}x")
    print()
    print(f"numpy/memberflow time ratio (same output, best of {args.repeat}): {np_best / mf_best:.2f} with the "
          f"default threads ({os.cpu_count()} cores), {np_best / one_best:.2f} with threads=1")
    print(f"memberflow threads=1 / default: {one_best / mf_best:.2f} (results bit-identical: checked)")
    print(f"numpy inputs from the Scenario (stocks pivot, parameters; not in the times above): {np_setup_s:.3f} s")
    print()
    print(f"memory: memberflow result arrays {mf_bytes / gib:.3f} GiB; ru_maxrss rose by {rss_delta / gib:.3f} GiB "
          f"over its first call (peak now {maxrss_bytes() / gib:.3f} GiB for the whole process)")
    print(f"        numpy result arrays {np_bytes / gib:.3f} GiB; tracemalloc peak of one numpy run "
          f"{np_peak / gib:.3f} GiB")


if __name__ == "__main__":
    main()
