"""Bias of the fit from aggregate counts, on synthetic histories with a known truth
(docs/estimation.md, "From aggregate counts").

For each seed, mf.datasets.example_history(seed) gives the event log, its yearly counts
and the true rates. Each rate whose trials the counts must reconstruct (advance and exit
of the markov stages, probation's exit, full members' attrition) is fitted three ways on
the same window: (log) from the event log, exact exposures; from the counts: (model) the
expected person-months given the counts (EM), (matched) the binomial data with the slope
and curvature of the counts' exact likelihood near each unit's rate, (trapezoid) stocks
linear within each year.
Reported, averaged over seeds:

  org_rel    the organisation's rate (the units' posterior means weighted by the log's
             person-months) relative to the log fit's: mean and largest |.| over seeds,
             in percent;
  org_bias   the same against the truth (the true unit rates, same weights), in percent;
  unit_bias  mean over units with data of (posterior mean - true rate averaged over the
             window), and unit_mse the mean square of it;
  cover90    the share of those units whose 90% posterior interval holds the true rate.

    PYTHONPATH=... python3 benchmarks/python/estimate_counts_bias.py --seeds 0-19
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import memberflow as mf
from memberflow.estimate_counts import estimate_counts

RATES = [("source", "advance"), ("source", "exit"), ("training", "advance"), ("training", "exit"),
         ("probation", "exit"), ("full", "attrition")]
WINDOWS = {"2020": ("2020-01", "2020-12"), "2016-2020": ("2016-01", "2020-12")}


def true_rates(h, years: list[int]) -> pd.DataFrame:
    """unit_id x (stage, param) of the truth averaged over the years; a markov stage's exit
    as the chance of leaving given not advancing (what the fit estimates)."""
    t = h.truth[h.truth.year.isin(years)].pivot_table(index=["unit_id", "year"], columns=["stage", "param"],
                                                      values="value")
    for stage in ("source", "training"):
        t[(stage, "exit")] = t[(stage, "exit")] / (1 - t[(stage, "advance")])
    return t.groupby("unit_id").mean()


def measure(seed: int) -> list[dict]:
    h = mf.datasets.example_history(seed=seed)
    log = mf.EventLog.from_frame(h.events, h.start)
    counts = mf.CountTable.from_frame(h.yearly, h.start)
    rows = []
    for window, (first, last) in WINDOWS.items():
        truth = true_rates(h, list(range(int(first[:4]), int(last[:4]) + 1)))
        fits = {"log": mf.estimate(log, first, last, drift=False),
                "model": estimate_counts(counts, first, last, drift=False),
                "matched": estimate_counts(counts, first, last, drift=False, approximation="matched"),
                "trapezoid": estimate_counts(counts, first, last, drift=False, approximation="trapezoid")}
        base = fits["log"].rates.set_index(["stage", "param", "unit_id"])
        for stage, param in RATES:
            b = base.loc[(stage, param)]
            t = truth[(stage, param)].reindex(b.index)
            weight = b.exposure / b.exposure.sum()  # the log's person-months, the same for every method
            org_truth = float((weight * t).sum())
            org_log = float((weight * b["mean"]).sum())
            for method, fit in fits.items():
                r = fit.rates.set_index(["stage", "param", "unit_id"]).loc[(stage, param)]
                has = b.exposure > 0
                err = (r["mean"] - t)[has]
                covered = ((r["lo-90"] <= t) & (t <= r["hi-90"]))[has]
                org = float((weight * r["mean"].reindex(weight.index)).sum())
                rows.append({"seed": seed, "window": window, "stage": stage, "param": param, "method": method,
                             "org_rel": 100 * (org / org_log - 1), "org_bias": 100 * (org / org_truth - 1),
                             "unit_bias": err.mean(), "unit_mse": (err ** 2).mean(), "cover90": covered.mean()})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0-9", help="a range a-b")
    args = ap.parse_args()
    a, b = (int(x) for x in args.seeds.split("-"))
    t0 = time.time()
    rows = [r for s in range(a, b + 1) for r in measure(s)]
    d = pd.DataFrame(rows)
    g = d.groupby(["window", "stage", "param", "method"], sort=False)
    out = g.agg(org_rel=("org_rel", "mean"), org_rel_max=("org_rel", lambda x: x.abs().max()),
                org_bias=("org_bias", "mean"), unit_bias=("unit_bias", "mean"), unit_mse=("unit_mse", "mean"),
                cover90=("cover90", "mean"))
    pd.set_option("display.width", 200)
    pd.set_option("display.float_format", lambda v: f"{v:.3g}")
    print(f"seeds {a}-{b}: {time.time() - t0:.0f} s")
    print(out.to_string())


if __name__ == "__main__":
    main()
