#!/usr/bin/env python3
"""Time the required-source search (mf.required_source) on the example district and a
synthetic province, over a sweep of targets, with the number of exact-engine
evaluations, beside the search a user writes without it, in the same run.

  memberflow  mf.required_source(scn, target, probability=0.8, when=...): doubling then
              bisection on the exact engine, each step Scenario.replace + an exact
              forecast, and a re-check at the end
  by hand     the same doubling and bisection (the same steps, so the same number of
              evaluations), each step rebuilding the scenario from its frames with the
              extra source in the stocks or the params frame (mf.Scenario(org, pipeline,
              stocks=..., params=..., ...)), as one does without replace

Targets: the root's expected admissions over 12 months times 1.05, 1.1, 1.25 and 1.5;
extra source `monthly` (arrivals a month, to 0.01) and `now` (whole people). Before
timing, the script ASSERTS that both searches give the same total.

    python benchmarks/python/bench_required.py [--scales example,province] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np
import pandas as pd

import memberflow as mf
from bench_common import machine
from memberflow.required import _receivers, _smallest_sufficient, _split

FACTORS = (1.05, 1.1, 1.25, 1.5)


def load(scale: str) -> mf.Scenario:
    return mf.datasets.example_district() if scale == "example" else mf.datasets.synthetic(scale)


def by_hand(scn: mf.Scenario, target: float, when: str, probability: float = 0.8) -> tuple[float, int]:
    """The same search with the scenario rebuilt from frames at every step."""
    org, first = scn.org, scn.pipeline.stages[0]
    receivers, weights = _receivers(scn, org.root, None, "inflow")
    params, stocks, targets, start = scn.params, scn.stocks, scn.targets, scn.start
    inflow = scn.param("inflow")
    calls = 0

    def chance(total: float) -> float:
        nonlocal calls
        calls += 1
        extra = _split(total, weights, when)
        if when == "monthly":
            add = pd.DataFrame({"scope": receivers, "stage": first, "param": "inflow",
                                "value": [float(inflow[u]) + float(x) for u, x in zip(receivers, extra)]})
            p = params[~((params["param"] == "inflow") & params["scope"].isin(receivers))]
            s = mf.Scenario(org, scn.pipeline, stocks=stocks, params=pd.concat([p, add], ignore_index=True),
                            targets=targets, start=start)
        else:
            more = pd.DataFrame({"unit_id": receivers, "stage": first, "count": extra})
            more = more[more["count"] > 0]
            st = pd.concat([stocks, more], ignore_index=True).groupby(
                [c for c in stocks.columns if c != "count"], dropna=False, sort=False, as_index=False)["count"].sum()
            s = mf.Scenario(org, scn.pipeline, stocks=st, params=params, targets=targets, start=start)
        fc = mf.forecast(s, 12, method="exact")
        return float(fc.prob_at_least("admissions", math.ceil(target), unit=org.root))

    if chance(0.0) >= probability:
        return 0.0, calls
    total = _smallest_sufficient(chance, probability, 0.01 if when == "monthly" else 1.0, whole=when == "now",
                                 node=org.root, target=target, horizon=12, when=when)
    chance(total)  # the re-check, as memberflow does it
    return total, calls


def best(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    # The frames rebuild sets inflow per unit, so kind rows it leaves in the frame change
    # nothing: Scenario says so, once per build; the numbers are not affected.
    warnings.simplefilter("ignore", mf.ParameterWarning)
    ap = argparse.ArgumentParser()
    ap.add_argument("--scales", default="example,province")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(machine())
    print("| scenario | units | when | target (x expected) | extra found | evaluations | memberflow, s "
          "| by hand, s | by hand / memberflow |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    ratios = []
    for scale in args.scales.split(","):
        scn = load(scale)
        root = scn.org.root
        expected = float(mf.forecast(scn, 12, method="exact").mean("admissions")[root])
        for when in ("monthly", "now"):
            for f in FACTORS:
                target = round(expected * f)
                t_mf, r = best(lambda: mf.required_source(scn, target, probability=0.8, when=when), args.repeat)
                t_hand, (total, calls) = best(lambda: by_hand(scn, target, when), args.repeat)
                assert np.isclose(total, r.attrs["total"]) and calls == r.attrs["evaluations"], \
                    (scale, when, f, total, r.attrs["total"], calls, r.attrs["evaluations"])
                ratios.append(t_hand / t_mf)
                print(f"| {scale} | {len(scn.org):,} | {when} | {target} ({f}) | {r.attrs['total']:.4g} | "
                      f"{r.attrs['evaluations']} | {t_mf:.3f} | {t_hand:.3f} | {t_hand / t_mf:.1f}x |")
    print(f"\nby hand / memberflow: {min(ratios):.1f}x to {max(ratios):.1f}x (best of {args.repeat} each)")


if __name__ == "__main__":
    main()
