#!/usr/bin/env python3
"""Time what-ifs: Scenario.replace + an expected forecast, N times, against what a user
does without replace, in the same run.

Each what-if i changes two things: the inflow of one leaf unit (the i-th, cycling) to
0.5 + i / 1000 people a month, and the training advance of every unit of the leaves'
kind to 0.10 + (i % 50) / 1000. Then a 12-month expected forecast and the root's
admissions over the year.

  replace   scn.replace([...two changes...]) then mf.forecast(...)
  frames    what a user does today from frames: copy the params frame, drop the rows the
            changes override (the kind's row and the unit rows of that kind for the
            training advance; the unit's inflow row), append the two rows, and build
            mf.Scenario(org, pipeline, stocks=..., params=..., targets=..., start=...)
  files     mf.Scenario.read(dir) (a directory written once by to_files), then set the
            two values through the writable arrays (param_array views)

Before timing, the script ASSERTS that the three give bit-identical forecasts (every
quantity, every unit and month) for the first few what-ifs. Peers are slower, so they
run fewer what-ifs (--peer-n); times are reported per what-if and the ratio is per
what-if. The copy's size is the parameter arrays, stocks and targets (the organisation
and pipeline are shared, asserted).

    python benchmarks/python/bench_replace.py [--n 1000] [--peer-n 50] [--scales example,province]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import pandas as pd

import memberflow as mf
from bench_common import machine


def load(scale: str) -> mf.Scenario:
    return mf.datasets.example_district() if scale == "example" else mf.datasets.synthetic(scale)


def changes_for(i: int, leaf: str, kind: str) -> list[dict]:
    return [{"scope": leaf, "what": "inflow", "value": 0.5 + i / 1000},
            {"scope": f"kind:{kind}", "stage": "training", "what": "advance", "value": 0.10 + (i % 50) / 1000}]


def root_admissions(fc, root: str) -> float:
    return float(fc.mean("admissions").loc[root])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--peer-n", type=int, default=50)
    ap.add_argument("--scales", default="example,province")
    ap.add_argument("--horizon", type=int, default=12)
    args = ap.parse_args()
    print(machine())
    print(f"what-ifs: replace x {args.n}, peers x {args.peer_n}; expected forecast, {args.horizon} months")
    rows = []
    for scale in args.scales.split(","):
        scn = load(scale)
        org = scn.org
        kinds = org.kinds
        kind = kinds.value_counts().index[0]  # the most common kind: the leaves'
        leaves = [u for u in org.ids if kinds[u] == kind]
        root = org.root
        tstage = scn.pipeline.stages.index("training")
        H = args.horizon

        def by_replace(i):
            s = scn.replace(changes_for(i, leaves[i % len(leaves)], kind))
            return s, mf.forecast(s, horizon=H, method="expected")

        params, stocks, targets, start = scn.params, scn.stocks, scn.targets, scn.start
        kind_units = set(leaves)

        def by_frames(i):
            leaf = leaves[i % len(leaves)]
            p = params
            drop = (((p["stage"] == "training") & (p["param"] == "advance")
                     & ((p["scope"] == f"kind:{kind}") | p["scope"].isin(kind_units)))
                    | ((p["param"] == "inflow") & (p["scope"] == leaf)))
            add = pd.DataFrame({"scope": [leaf, f"kind:{kind}"], "stage": ["source", "training"],
                                "param": ["inflow", "advance"],
                                "value": [0.5 + i / 1000, 0.10 + (i % 50) / 1000]})
            s = mf.Scenario(org, scn.pipeline, stocks=stocks, params=pd.concat([p[~drop], add], ignore_index=True),
                            targets=targets, start=start)
            return s, mf.forecast(s, horizon=H, method="expected")

        tmp = tempfile.TemporaryDirectory()
        scn.to_files(tmp.name)
        kind_mask = (kinds == kind).to_numpy()
        leaf_index = {u: j for j, u in enumerate(org.ids)}

        def by_files(i):
            s = mf.Scenario.read(tmp.name)
            s._core.param_array("inflow")[leaf_index[leaves[i % len(leaves)]]] = 0.5 + i / 1000
            s._core.param_array("advance")[kind_mask, tstage] = 0.10 + (i % 50) / 1000
            return s, mf.forecast(s, horizon=H, method="expected")

        # The three agree, to the bit, on every quantity.
        for i in range(3):
            (a, fa), (b, fb), (c, fc) = by_replace(i), by_frames(i), by_files(i)
            for q in fa.quantities:
                assert np.array_equal(fa.own(q), fb.own(q)) and np.array_equal(fa.own(q), fc.own(q)), (scale, i, q)
            assert a.org is scn.org and a._core.shares_parts_with(scn._core)
        copy_bytes = sum(np.asarray(scn._core.param_array(p)).nbytes
                         for p in ("advance", "exit", "pass_rate", "attrition", "inflow", "transfer_in"))
        copy_bytes += np.asarray(scn._core.stocks).nbytes + np.asarray(scn._core.targets).nbytes

        def timed(fn, n):
            t0 = time.perf_counter()
            total = 0.0
            for i in range(n):
                total += root_admissions(fn(i)[1], root)
            return (time.perf_counter() - t0) / n, total

        t0 = time.perf_counter()
        for i in range(args.n):
            scn.replace(changes_for(i, leaves[i % len(leaves)], kind))
        t_replace_only = (time.perf_counter() - t0) / args.n
        t_forecast = timed(lambda i: (scn, mf.forecast(scn, horizon=H, method="expected")), args.n)[0]
        t_replace, _ = timed(by_replace, args.n)
        t_frames, _ = timed(by_frames, args.peer_n)
        t_files, _ = timed(by_files, args.peer_n)
        tmp.cleanup()
        rows.append((scale, len(org), copy_bytes, t_replace_only, t_forecast, t_replace, t_frames, t_files))

    print()
    print("| scenario | units | copy, KiB | replace alone, ms | forecast alone, ms | replace + forecast, ms "
          "| frames rebuild + forecast, ms | Scenario.read + set + forecast, ms | frames / replace | files / replace |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for scale, n, b, tr, tf, trf, tfr, tfi in rows:
        print(f"| {scale} | {n:,} | {b / 1024:,.0f} | {tr * 1e3:.3f} | {tf * 1e3:.3f} | {trf * 1e3:.3f} | "
              f"{tfr * 1e3:.2f} | {tfi * 1e3:.2f} | {tfr / trf:.1f}x | {tfi / trf:.1f}x |")
    print(f"\n(replace and forecast-alone: {args.n} each; peers: {args.peer_n} each; per what-if)")


if __name__ == "__main__":
    main()
