"""Backtests of memberflow against naive baselines on the synthetic history
(docs/backtest.md, benchmarks/RESULTS.md).

For each seed, ``mf.datasets.example_history(seed=s, years=Y)`` gives Y years of records
ending with 2020 (with the calibrated drop of training's advance rate in 2020: the last
cut-off, 2020-01, forecasts a year nobody could see coming from the records). The
rolling-origin backtest (``mf.backtest``, default cut-offs: every January with two whole
years of records before it) scores memberflow and the three baselines at every node; this
script prints, per depth (0 district, 1 base organisations, 2 cells) and method: MAE,
coverage of the central 50% and 90% intervals, the randomised-PIT coverage (free of the
discreteness of small counts), mean CRPS and its ratio to the best baseline's, over all
cut-offs, without 2020-01, and for 2020-01 alone.

    PYTHONPATH=... python benchmarks/python/backtest_history.py --seeds 0-14 --years 8 --draws 200
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import pandas as pd

import memberflow as mf
from bench_common import machine


def seeds_arg(text: str) -> list[int]:
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(s) for s in text.split(",")]


def run(seeds: list[int], years: int, draws: int, fit_years: int | None, drift: bool, quantity: str) -> pd.DataFrame:
    frames = []
    for s in seeds:
        h = mf.datasets.example_history(seed=s, years=years)
        log = mf.EventLog.from_frame(h.events, h.start)
        t0 = time.perf_counter()
        bt = mf.backtest(log, draws=draws, seed=s, years=fit_years, drift=drift, quantities=(quantity,))
        print(f"  seed {s}: {bt.cutoff.nunique()} cut-offs in {time.perf_counter() - t0:.1f} s", flush=True)
        frames.append(bt.assign(seed=s))
    return pd.concat(frames, ignore_index=True)


def table(frame: pd.DataFrame) -> str:
    s = mf.backtest_summary(frame, by=["depth", "method"]).reset_index()
    s = s[["depth", "method", "n", "mae", "coverage_50", "coverage_90", "pit_50", "pit_90", "crps", "crps_ratio",
           "best_naive"]]
    return s.to_string(index=False, float_format=lambda v: f"{v:.3f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=seeds_arg, default=list(range(15)), help="e.g. 0-14 or 0,3,5 (default 0-14)")
    p.add_argument("--years", type=int, default=8, help="years of history per seed (default 8: 2013-2020)")
    p.add_argument("--draws", type=int, default=200, help="parameter sets of memberflow's mixture (default 200)")
    p.add_argument("--fit-years", type=int, default=None, help="whole years fitted before a cut-off (default all)")
    p.add_argument("--no-drift", action="store_true", help="fit without the drift model")
    p.add_argument("--quantity", default="admissions", choices=("admissions", "confirmations"))
    p.add_argument("--save", metavar="CSV", help="write the tidy frame of every seed here")
    args = p.parse_args()
    try:
        commit = subprocess.run(["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    print(machine())
    print(f"commit {commit}; seeds {args.seeds[0]}..{args.seeds[-1]} ({len(args.seeds)}), {args.years} years each, "
          f"{args.draws} draws, fit years {args.fit_years or 'all'}, drift {not args.no_drift}, {args.quantity}")
    t0 = time.perf_counter()
    frame = run(args.seeds, args.years, args.draws, args.fit_years, not args.no_drift, args.quantity)
    print(f"total {time.perf_counter() - t0:.0f} s; cut-offs {', '.join(sorted(frame.cutoff.astype(str).unique()))}")
    if args.save:
        frame.to_csv(args.save, index=False)
    shock = frame.cutoff == pd.Period("2020-01", freq="M")
    for title, part in (("all cut-offs", frame), ("without 2020-01 (the calibrated drop)", frame[~shock]),
                        ("2020-01 alone", frame[shock])):
        print(f"\n## {title}: {part.cutoff.nunique()} cut-offs x {len(args.seeds)} seeds\n")
        print(table(part))


if __name__ == "__main__":
    main()
