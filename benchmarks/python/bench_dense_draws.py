#!/usr/bin/env python3
"""The dense end of the density sweep (issue 11) against its floor: what one unit-month
at scale 100 (~3,740 people a unit) costs in random draws alone, for memberflow and for
numpy, beside each engine's whole unit-month, in the same run.

The laws are those of one busy unit-month of bench_simulate_density.py at scale 100:
source advance and exit, training advance and exit, probation's 12 cohorts' exits and
its last cohort's failures, full members' attrition, inflow and transfers.
  memberflow: C++ BM_DenseDraw (benchmarks/cpp/simulate_benchmark.cpp), each law drawn
              as the engine draws it (counted above mean 1, raced below; the 12 cohorts'
              exits raced as one group first), one unit-month at a time;
  numpy:      Generator.binomial / poisson over an array of a million draws, as the numpy
              peer draws them (vectorised, so numpy pays no per-call cost; each cohort a
              draw of its own).
Then the density sweep's unit-month at scale 100 for both: numpy's peer (all paths at
once) and memberflow with 1 thread (CPU time). The last line is the bound these figures
set: the ratio "memberflow with 2 threads / the numpy peer" of an engine whose
unit-month cost nothing but its draws, with 2 threads 1.9x one.

    PYTHONPATH=<overlay> python3 benchmarks/python/bench_dense_draws.py \\
        --cpp-benchmark build/benchmarks/memberflow_simulate_benchmark [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_simulate_density as density  # noqa: E402
from bench_common import machine  # noqa: E402

SCALE = 100.0
# (name, n or 0 for a Poisson, p or the mean, numpy's draws a unit-month): as BM_DenseDraw's
# dense_laws, each timed a unit-month at a time (memberflow races the 12 cohorts as one group)
LAWS = [("source advance Bin(800, 0.05)", 800, 0.05, 1),
        ("source exit Bin(760, 0.02/0.95)", 760, 0.02 / 0.95, 1),
        ("training advance Bin(200, 0.1)", 200, 0.1, 1),
        ("training exit Bin(180, 0.02/0.9)", 180, 0.02 / 0.9, 1),
        ("probation exits: 12 cohorts Bin(20, 0.002)", 20, 0.002, 12),
        ("probation fail Bin(20, 0.03)", 20, 0.03, 1),
        ("full attrition Bin(2500, 0.0015)", 2500, 0.0015, 1),
        ("inflow Poisson(30)", 0, 30.0, 1),
        ("transfer Poisson(1.5)", 0, 1.5, 1)]
THREAD_SCALING = 1.9


def numpy_draw_ns(repeat: int, size: int = 1_000_000) -> list[float]:
    """numpy's nanoseconds a draw of each law, best of `repeat`, n drifting as in C++."""
    rng = np.random.default_rng(1)
    drift = np.arange(size) & 7
    out = []
    for _, n, p, _ in LAWS:
        ns = n + drift
        draw = (lambda: rng.binomial(ns, p)) if n else (lambda: rng.poisson(p, size))
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            draw()
            best = min(best, time.perf_counter() - t0)
        out.append(best / size * 1e9)
    return out


def memberflow_draw_ns(benchmark: str, repeat: int) -> list[float]:
    """BM_DenseDraw/<law>'s nanoseconds a unit-month (the minimum over `repeat` repetitions),
    each checked to be the law of LAWS at its index (the two lists are written twice, in
    C++ and here: a law changed in one only is refused)."""
    out = subprocess.run([benchmark, "--benchmark_filter=BM_DenseDraw/", f"--benchmark_repetitions={repeat}",
                          "--benchmark_format=csv"], capture_output=True, text=True, check=True).stdout
    best: dict[int, float] = {}
    for row in csv.DictReader(out[out.index("name,"):].splitlines()):
        name = row["name"]
        index = name.removeprefix("BM_DenseDraw/")
        if index == name or not index.isdigit():  # another benchmark, or an aggregate (0_mean ...)
            continue
        law = int(index)
        if law >= len(LAWS) or row["label"] != LAWS[law][0]:
            raise SystemExit(f"{benchmark}: BM_DenseDraw/{law} is {row['label']!r}, not the law listed here")
        best[law] = min(best.get(law, float("inf")), float(row["cpu_time"]))
    if sorted(best) != list(range(len(LAWS))):
        raise SystemExit(f"{benchmark} gave no BM_DenseDraw for every law: {sorted(best)}")
    return [best[i] for i in range(len(LAWS))]


def unit_month_ns(repeat: int) -> tuple[float, float]:
    """(numpy peer's wall ns, memberflow's 1-thread CPU ns) a unit-month at SCALE."""
    scn = density.scenario(SCALE)
    d = density.numpy_inputs(scn)
    numpy_paths, mf_paths = 20, 60
    density.numpy_run(np.random.default_rng(1), d, 2, density.HORIZON)  # warm
    density.mf_simulate(scn, 4, 1)
    best_np = best_mf = float("inf")
    for r in range(repeat):
        t0 = time.perf_counter()
        density.numpy_run(np.random.default_rng(r), d, numpy_paths, density.HORIZON)
        best_np = min(best_np, time.perf_counter() - t0)
        c0 = time.process_time()
        density.mf_simulate(scn, mf_paths, 1)
        best_mf = min(best_mf, time.process_time() - c0)
    per = density.UNITS * density.HORIZON
    return best_np / (numpy_paths * per) * 1e9, best_mf / (mf_paths * per) * 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpp-benchmark", required=True, help="path of memberflow_simulate_benchmark")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC\n")
    mf_ns = memberflow_draw_ns(args.cpp_benchmark, args.repeat)
    np_ns = numpy_draw_ns(args.repeat)
    print(f"| law (scale {SCALE:g}) | numpy's draws a unit-month | numpy ns a unit-month | memberflow ns a unit-month "
          "| numpy / memberflow |")
    print("|---|---:|---:|---:|---:|")
    for (name, _, _, k), a, b in zip(LAWS, np_ns, mf_ns):
        print(f"| {name} | {k} | {k * a:.1f} | {b:.1f} | {k * a / b:.2f}x |")
    np_draws = sum(k * a for (_, _, _, k), a in zip(LAWS, np_ns))
    mf_draws = sum(mf_ns)
    print(f"| a unit-month's draws | | {np_draws:.1f} | {mf_draws:.1f} | {np_draws / mf_draws:.2f}x |\n")
    np_um, mf_um = unit_month_ns(args.repeat)
    print(f"whole unit-month: numpy peer {np_um:.1f} ns (wall; its draws {np_draws / np_um:.0%} of it), "
          f"memberflow 1 thread {mf_um:.1f} ns (CPU; its draws {mf_draws / mf_um:.0%} of it)")
    print(f"2 threads vs numpy at this density: {np_um / (mf_um / THREAD_SCALING):.1f}x now (2 threads taken as "
          f"{THREAD_SCALING}x one); an engine that did nothing but these draws: {np_um / (mf_draws / THREAD_SCALING):.1f}x")


if __name__ == "__main__":
    main()
