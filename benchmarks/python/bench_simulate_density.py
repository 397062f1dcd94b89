"""Monte Carlo speed against people per unit (issue 11, the density sweep): memberflow's
simulation engine with 1 and 2 threads against an independent numpy implementation of
the same model, vectorised over paths x units (all paths at once), in the same run.

The scenario at scale s: 2,000 units (a root, 40 branches, 1,959 cells; every unit
holds people), the standard party pipeline (source -> training (markov) -> probation
(fixed, 12 months) -> full (terminal)) with the example district's sub-cell parameters,
and per unit 8 s in source, 2 s in training, 2.4 s in probation (0.2 s at each of the 12
ages: the steady state of training's advance of 0.10) and 25 s full members, so 37.4 s
people (~35 s outside probation: s = 0.1 is "~4 people", s = 100 "~3,500"). Arrivals:
0.3 s a month into source, 0.015 s into full. A unit at scale s is, in law, s units at
scale 1 put together; fractional stocks are spread evenly (some units one more).

For each scale: (1) both implementations' mean root admissions over 12 months are
asserted within 5 standard errors (the exact engine's sd / sqrt(paths)) of the exact
mean, and 1 and 2 threads bit-identical; (2) unit-path-months per second, best of
--repeat, each timing at least --min-seconds (paths chosen per scale and
implementation), the repetitions interleaved (numpy, 2 threads, 1 thread, numpy, ...)
so that a change of load falls on all alike; (3) the floor: the random draws a
unit-month needs, from the expected engine (events) and an untimed counting run of the
numpy model (non-empty components), against the engine's cost of a unit-month in
Philox numbers.

    PYTHONPATH=<overlay> python3 benchmarks/python/bench_simulate_density.py [--repeat 3] [--quick] [--own-chances]
"""

from __future__ import annotations

import argparse
import inspect
import math
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import memberflow as mf  # noqa: E402
from bench_common import machine  # noqa: E402

HORIZON = 12
UNITS = 2000
BRANCHES = 40
SCALES = (0.1, 0.316, 1.0, 3.16, 10.0, 31.6, 100.0)
QUICK_SCALES = (0.1, 10.0, 100.0)
# The example district's sub-cell parameters (mf.datasets.example_district(), unit C01-01).
PARAMS = {("source", "advance"): 0.05, ("source", "exit"): 0.02,
          ("training", "advance"): 0.10, ("training", "exit"): 0.02,
          ("probation", "exit"): 0.002, ("probation", "pass_rate"): 0.97,
          ("full", "attrition"): 0.0015}
PER_SCALE = {"source": 8.0, "training": 2.0, "probation_age": 0.2, "full": 25.0,
             "inflow": 0.3, "transfer_in": 0.015}
D = 12  # probation's months


# --- the scenario ------------------------------------------------------------------------
def spread(total_per_unit: float, phase: float) -> np.ndarray:
    """Whole counts per unit averaging total_per_unit, spread evenly over the units."""
    k = np.arange(UNITS + 1) * total_per_unit + phase
    return np.diff(np.floor(k)).astype(np.int64)


def own_factor(i: int) -> float:
    """Unit i's factor on every rate with --own-chances: 1 to 1.3, spread evenly (no two
    units alike), as rates estimated unit by unit are."""
    return 1 + 0.3 * ((math.sqrt(5) - 1) / 2 * (i + 1) % 1)


def scenario(scale: float, own_chances: bool = False) -> mf.Scenario:
    ids = ["R"] + [f"B{b:02d}" for b in range(BRANCHES)] + [f"B{i % BRANCHES:02d}-{i // BRANCHES:02d}"
                                                            for i in range(UNITS - 1 - BRANCHES)]
    parents = [None] + ["R"] * BRANCHES + [i.split("-")[0] for i in ids[1 + BRANCHES:]]
    kinds = ["root"] + ["branch"] * BRANCHES + ["cell"] * (UNITS - 1 - BRANCHES)
    org = mf.Org.from_frame(pd.DataFrame({"unit_id": ids, "parent_id": parents, "name": ids, "kind": kinds}))
    rows = []
    golden = (math.sqrt(5) - 1) / 2
    for j, stage in enumerate(("source", "training", "full")):
        counts = spread(PER_SCALE[stage] * scale, (golden * (j + 1)) % 1)
        rows += [(u, stage, int(c), None) for u, c in zip(ids, counts) if c]
    for age in range(D):
        counts = spread(PER_SCALE["probation_age"] * scale, (golden * (age + 4)) % 1)
        rows += [(u, "probation", int(c), age) for u, c in zip(ids, counts) if c]
    stocks = pd.DataFrame(rows, columns=["unit_id", "stage", "count", "months_in_stage"])
    stocks["months_in_stage"] = stocks["months_in_stage"].astype("Int64")
    # With own chances every unit gets its own rates (not probation's: its pass rate is
    # near 1), so those are not given for '*' too (a row every unit overrides is warned of).
    def own(stage: str) -> bool:
        return own_chances and stage != "probation"

    params = [("*", stage, param, value) for (stage, param), value in PARAMS.items() if not own(stage)]
    params += [("*", "source", "inflow", PER_SCALE["inflow"] * scale),
               ("*", "full", "transfer_in", PER_SCALE["transfer_in"] * scale)]
    params += [(u, stage, param, value * own_factor(i)) for i, u in enumerate(ids)
               for (stage, param), value in PARAMS.items() if own(stage)]
    params = pd.DataFrame(params, columns=["scope", "stage", "param", "value"])
    return mf.Scenario(org, mf.Pipeline.party(), stocks=stocks, params=params)


# --- the numpy peer ----------------------------------------------------------------------
def numpy_inputs(scn: mf.Scenario) -> dict:
    """Per-unit stocks and parameters as numpy arrays (units in the scenario's order)."""
    core = scn._core
    pipe = core.pipeline
    if [s.kind.name for s in pipe.stages] != ["markov", "markov", "fixed", "terminal"]:
        raise SystemExit("the numpy model is written for source -> training -> probation -> full")
    x = np.array(core.stocks).astype(np.int64)
    months = pipe.stages[2].months
    adv, ex = np.array(core.param_array("advance")), np.array(core.param_array("exit"))
    return {"src": x[:, 0], "trn": x[:, 1], "prob": x[:, 2:2 + months], "full": x[:, 2 + months],
            "a0": adv[:, 0], "e0": ex[:, 0] / (1 - adv[:, 0]), "a1": adv[:, 1], "e1": ex[:, 1] / (1 - adv[:, 1]),
            "e2": ex[:, 2:3], "pass": np.array(core.param_array("pass_rate"))[:, 2],
            "att": np.array(core.param_array("attrition"))[:, 3],
            "inflow": np.array(core.param_array("inflow")), "tin": np.array(core.param_array("transfer_in"))}


def numpy_run(rng: np.random.Generator, d: dict, paths: int, horizon: int, count: dict | None = None) -> np.ndarray:
    """All paths at once, arrays of shape (paths, units) ((paths, units, ages) for probation's
    cohorts); returns each path's admissions at the root (the sum over units). With `count`,
    also tallies the events and the non-empty components of every unit-month (not timed)."""
    units = d["src"].shape[0]
    src = np.broadcast_to(d["src"], (paths, units)).copy()
    trn = np.broadcast_to(d["trn"], (paths, units)).copy()
    prob = np.broadcast_to(d["prob"], (paths,) + d["prob"].shape).copy()
    full = np.broadcast_to(d["full"], (paths, units)).copy()
    admissions = np.zeros(paths, np.int64)
    for _ in range(horizon):
        # source and training: advance ~ Bin(n, a), exit ~ Bin(n - advance, e / (1 - a))
        adv0 = rng.binomial(src, d["a0"])
        out0 = rng.binomial(src - adv0, d["e0"])
        adv1 = rng.binomial(trn, d["a1"])
        out1 = rng.binomial(trn - adv1, d["e1"])
        # probation: each cohort loses Bin(c, exit); at the last age the survivors pass ~ Bin(s, pass)
        left = rng.binomial(prob, d["e2"])
        survivors = prob - left
        passed = rng.binomial(survivors[:, :, -1], d["pass"])
        # full: attrition ~ Bin(n, attrition); arrivals ~ Poisson
        gone = rng.binomial(full, d["att"])
        inflow = rng.poisson(d["inflow"], (paths, units))
        tin = rng.poisson(d["tin"], (paths, units))
        if count is not None:
            events = (adv0 + out0 + adv1 + out1 + left.sum(axis=2) + (survivors[:, :, -1] - passed)
                      + gone + inflow + tin)
            components = ((src > 0).astype(np.int64) + (src - adv0 > 0) + (trn > 0) + (trn - adv1 > 0)
                          + (prob > 0).sum(axis=2) + (survivors[:, :, -1] > 0) + (full > 0) + 2)
            count["events"] += events.sum()
            count["components"] += components.sum()
            count["floor"] += np.minimum(events + 1, components).sum()
            count["unit_months"] += events.size
        src = src - adv0 - out0 + inflow
        trn = trn - adv1 - out1 + adv0
        prob[:, :, 1:] = survivors[:, :, :-1]
        prob[:, :, 0] = adv1
        full = full - gone + passed + tin
        admissions += adv1.sum(axis=1)
    return admissions


# --- memberflow --------------------------------------------------------------------------
def regimes() -> list:
    """The simulation regimes the installed memberflow offers ([None] if it has no choice)."""
    options = getattr(mf, "SimulationOptions", None)
    fields = tuple(getattr(options, "_fields", ())) + tuple(getattr(options, "__dataclass_fields__", ()))
    if "regime" in fields or "regime" in inspect.signature(mf.simulate._simulate).parameters:
        offered = getattr(mf, "REGIMES", None) or getattr(getattr(mf, "options", None), "REGIMES", None)
        return list(offered or ("auto", "race", "counts"))
    return [None]


def mf_simulate(scn, paths: int, threads: int, regime=None, seed: int = 1):
    """mf.forecast(..., method="simulate") through the public API of the installed version:
    options=mf.SimulationOptions(...) if it exists, else keywords."""
    kw = {"paths": paths, "seed": seed, "threads": threads, "progress": False}
    if regime is not None:
        kw["regime"] = regime
    options = getattr(mf, "SimulationOptions", None)
    if options is not None:
        return mf.forecast(scn, HORIZON, method="simulate", options=options(**kw))
    return mf.forecast(scn, HORIZON, method="simulate", **kw)


# --- timing ------------------------------------------------------------------------------
def calibrate(fn, paths: int, min_seconds: float) -> tuple[int, list]:
    """Paths for which one call of fn(paths) takes at least min_seconds (grown from `paths`),
    and the results of the calls made on the way."""
    results = []
    while True:
        t0 = time.perf_counter()
        results.append(fn(paths))
        t = time.perf_counter() - t0
        if t >= min_seconds:
            return paths, results
        paths = max(paths + 1, int(math.ceil(paths * 1.2 * min_seconds / max(t, 1e-6))))


def interleaved(runs: dict, repeat: int) -> tuple[dict, dict]:
    """Best seconds of each of `runs` (name -> zero-argument callable) over `repeat` rounds,
    one call of each per round, so that a change of the machine's load falls on all of
    them alike; also every call's result."""
    best = {k: float("inf") for k in runs}
    results = {k: [] for k in runs}
    for _ in range(repeat):
        for k, fn in runs.items():
            t0 = time.perf_counter()
            results[k].append(fn())
            best[k] = min(best[k], time.perf_counter() - t0)
    return best, results


def philox_ns(benchmark: str | None) -> tuple[float, str]:
    """Nanoseconds per 64-bit Philox-4x64-10 number: from the C++ BM_PhiloxNumber if its
    program is given, else numpy's own Philox-4x64-10 (the same generator) timed here."""
    if benchmark:
        out = subprocess.run([benchmark, "--benchmark_filter=BM_PhiloxNumber$", "--benchmark_repetitions=3",
                              "--benchmark_report_aggregates_only=true", "--benchmark_format=csv"],
                             capture_output=True, text=True, check=True).stdout
        rows = [r.split(",") for r in out.splitlines() if r.startswith('"BM_PhiloxNumber_min"')
                or r.startswith('"BM_PhiloxNumber_mean"')]
        if rows:
            return float(rows[0][3]), "C++ BM_PhiloxNumber"
    bg = np.random.Philox(1)
    bg.random_raw(1000)
    best = float("inf")
    n = 4_000_000
    for _ in range(5):
        t0 = time.perf_counter()
        bg.random_raw(n)
        best = min(best, time.perf_counter() - t0)
    return best / n * 1e9, "numpy Philox-4x64-10 random_raw"


def exact_admissions(scn) -> tuple[float, float]:
    """The exact engine's mean and standard deviation of root admissions over the horizon."""
    dist = mf.forecast(scn, HORIZON, method="exact").distribution("admissions", window=(0, HORIZON))
    root = scn.org.root
    return float(dist.mean()[root]), float(dist.std()[root])


def expected_events(scn) -> float:
    """Expected random events a unit-month, from the expected engine: arrivals, exits
    (markov stages, probation, failures at the end of probation), leavers, admissions
    (training's advances) and source's advances (its stock x advance)."""
    fc = mf.forecast(scn, HORIZON)
    root = scn.org.root
    a0 = float(scn.param("advance")["source"].iloc[0])
    src = sum(fc.mean("source", month=t)[root] for t in range(HORIZON))
    events = sum(fc.mean(q)[root] for q in ("arrivals", "exits", "leavers", "admissions")) + a0 * src
    return events / (UNITS * HORIZON)


def fmt_rate(r: float) -> str:
    return f"{r / 1e6:.2f} M" if r < 1e7 else f"{r / 1e6:.1f} M"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", default=None, help="comma-separated scales (default: 0.1,0.316,1,3.16,10,31.6,100)")
    ap.add_argument("--paths", type=int, default=None, help="memberflow's starting paths (grown to --min-seconds)")
    ap.add_argument("--numpy-paths", type=int, default=None, help="numpy's starting paths (grown likewise)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--min-seconds", type=float, default=0.5)
    ap.add_argument("--philox-benchmark", default=None,
                    help="path of memberflow_simulate_benchmark, for BM_PhiloxNumber (default: numpy's Philox)")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 3 scales, short timings, 1 repeat")
    ap.add_argument("--own-chances", action="store_true",
                    help="every unit its own rates (x 1 to 1.3), as estimated per unit, instead of one set for all")
    args = ap.parse_args()
    if args.quick:
        args.repeat, args.min_seconds = 1, 0.05
    scales = ([float(s) for s in args.scales.split(",")] if args.scales
              else list(QUICK_SCALES if args.quick else SCALES))
    regs = regimes()

    print(f"machine: {machine()}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC")
    print(f"regimes: {regs if regs != [None] else 'none offered (one engine)'}")
    print("chances: " + ("every unit its own (--own-chances)" if args.own_chances else "one set for every unit"))
    pns, psrc = philox_ns(args.philox_benchmark)
    print(f"one Philox number: {pns:.2f} ns ({psrc})\n")

    rows = []
    for scale in scales:
        scn = scenario(scale, args.own_chances)
        d = numpy_inputs(scn)
        people = (d["src"].sum() + d["trn"].sum() + d["prob"].sum() + d["full"].sum()) / UNITS
        expected, sd = exact_admissions(scn)
        ev = expected_events(scn)
        count = {"events": 0, "components": 0, "floor": 0, "unit_months": 0}
        numpy_run(np.random.default_rng(99), d, 20, HORIZON, count)
        um = count["unit_months"]
        row = {"scale": scale, "people": people, "expected": expected, "events": ev,
               "events_np": count["events"] / um, "components": count["components"] / um,
               "floor": count["floor"] / um}
        upm = UNITS * HORIZON

        # paths per implementation: each call at least --min-seconds
        rng = np.random.default_rng(1)
        runs, paths, probe = {}, {}, {}
        start = args.numpy_paths or max(2, int(2e5 / upm / max(1.0, people ** 0.3)))
        paths["numpy"], probe["numpy"] = calibrate(lambda p: numpy_run(rng, d, p, HORIZON), start, args.min_seconds)
        runs["numpy"] = lambda: numpy_run(rng, d, paths["numpy"], HORIZON)
        for regime in regs:
            tag = "" if regime is None else f" [{regime}]"
            start = args.paths or max(4, int(2e6 / upm / max(1.0, people ** 0.5)))
            for threads in (2, 1):  # 1 thread from 2 threads' paths
                key = f"mf{threads}{tag}"
                paths[key], probe[key] = calibrate(lambda p: mf_simulate(scn, p, threads, regime), start,
                                                   args.min_seconds)
                start = paths[key]
                runs[key] = (lambda th, rg, k: lambda: mf_simulate(scn, paths[k], th, rg))(threads, regime, key)
        best, results = interleaved(runs, args.repeat)
        for k, t in best.items():
            row[k] = upm * paths[k] / t
            row[f"paths_{k}"] = paths[k]
        roots = np.concatenate(probe["numpy"] + results["numpy"])
        checks = [("numpy", roots.mean(), roots.size)]
        for regime in regs:
            tag = "" if regime is None else f" [{regime}]"
            one, two = results[f"mf1{tag}"][-1], results[f"mf2{tag}"][-1]
            if one.paths == two.paths:
                assert all(np.array_equal(one.own(q), two.own(q)) for q in one.quantities), "1 and 2 threads differ"
                print(f"  check scale {scale:g}: memberflow{tag} 1 and 2 threads bit-identical: OK")
            checks += [(f"memberflow{tag}, {k} thread{'s' if k > 1 else ''}",
                        float(fc.mean("admissions", window=(0, HORIZON))[scn.org.root]), fc.paths)
                       for k, fc in ((1, one), (2, two))]
        for name, mean, n in checks:
            se = sd / math.sqrt(n)
            z = abs(mean - expected) / se
            assert z <= 5, f"scale {scale}: {name} mean root admissions {mean:.2f} vs expected {expected:.2f} ({z:.1f} SE)"
            print(f"  check scale {scale:g}: {name:24s} mean root admissions {mean:12.2f} vs exact mean "
                  f"{expected:12.2f} (sd {sd:.1f}): {z:.2f} SE over {n} paths: OK")
        rows.append(row)
        line = f"scale {scale:g} (~{people:,.0f} people a unit): numpy {fmt_rate(row['numpy'])} ({row['paths_numpy']} paths)"
        for regime in regs:
            tag = "" if regime is None else f" [{regime}]"
            line += (f"; memberflow{tag} 1 thread {fmt_rate(row[f'mf1{tag}'])} ({row[f'paths_mf1{tag}']} paths), "
                     f"2 threads {fmt_rate(row[f'mf2{tag}'])} ({row[f'paths_mf2{tag}']} paths)")
        line += (f"; events a unit-month: {ev:.3f} expected, {row['events_np']:.3f} counted by the numpy model")
        print(line, flush=True)

    # --- the table -----------------------------------------------------------------------
    print(f"\nunit-path-months per second; 2,000 units, {HORIZON} months; best of {args.repeat} interleaved, "
          f"each timing >= {args.min_seconds} s")
    base = rows[0]
    for regime in regs:
        tag = "" if regime is None else f" [{regime}]"
        if tag:
            print(f"\nregime {regime}:")
        print("| people a unit (scale) | numpy, paths x units | memberflow 1 thread | memberflow 2 threads "
              "| 2 threads / numpy | 1 -> 2 threads | unit-month cost vs sparsest (1 thread / 2 threads / numpy) "
              "| events a unit-month (expected) | non-empty components | draws needed (floor) "
              "| 1-thread unit-month, ns | in Philox numbers | x floor |")
        print("|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            ns = 1e9 / r[f"mf1{tag}"]
            print(f"| {r['people']:,.1f} ({r['scale']:g}) | {fmt_rate(r['numpy'])} | {fmt_rate(r[f'mf1{tag}'])} "
                  f"| {fmt_rate(r[f'mf2{tag}'])} | **{r[f'mf2{tag}'] / r['numpy']:.1f}x** "
                  f"| {r[f'mf2{tag}'] / r[f'mf1{tag}']:.2f}x "
                  f"| {base[f'mf1{tag}'] / r[f'mf1{tag}']:.1f}x / {base[f'mf2{tag}'] / r[f'mf2{tag}']:.1f}x / "
                  f"{base['numpy'] / r['numpy']:.1f}x "
                  f"| {r['events']:.2f} | {r['components']:.2f} | {r['floor']:.2f} | {ns:.1f} | {ns / pns:.1f} "
                  f"| {ns / pns / r['floor']:.1f}x |")
        ratios = [r[f"mf2{tag}"] / r["numpy"] for r in rows]
        scaling = [r[f"mf2{tag}"] / r[f"mf1{tag}"] for r in rows]
        cost = rows[-1][f"mf1{tag}"] and base[f"mf1{tag}"] / rows[-1][f"mf1{tag}"]
        print(f"\ngoals{tag}: 2 threads >= 5x numpy at every density: {'yes' if min(ratios) >= 5 else 'no'} "
              f"(min {min(ratios):.1f}x); >= 20x at the sparse end: {'yes' if ratios[0] >= 20 else 'no'} "
              f"({ratios[0]:.1f}x); densest vs sparsest unit-month cost within 10x (1 thread): "
              f"{'yes' if cost <= 10 else 'no'} ({cost:.1f}x); 1 -> 2 threads >= 1.8x at every density: "
              f"{'yes' if min(scaling) >= 1.8 else 'no'} (min {min(scaling):.2f}x)")
        print(f"memberflow{tag} 2 threads vs numpy: {ratios[0]:.1f}x at ~{rows[0]['people']:,.0f} people ... "
              f"{ratios[-1]:.1f}x at ~{rows[-1]['people']:,.0f} (range {min(ratios):.1f}-{max(ratios):.1f}x)")
    if len(regs) > 1:
        print("\nthe default regime against the fastest at each density (1 thread):")
        for r in rows:
            rates = {g: r[f"mf1 [{g}]"] for g in regs}
            fastest = max(rates, key=rates.get)
            print(f"  ~{r['people']:,.0f} people: {regs[0]} {fmt_rate(rates[regs[0]])}, fastest {fastest} "
                  f"{fmt_rate(rates[fastest])} ({rates[regs[0]] / rates[fastest]:.2f} of it)")
        best = [max(r[f"mf1 [{g}]"] for g in regs) for r in rows]
        print(f"  with the fastest regime at each density, a ~{rows[-1]['people']:,.0f}-person unit-month costs "
              f"{best[0] / best[-1]:.1f}x a ~{rows[0]['people']:,.0f}-person one")
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC")


if __name__ == "__main__":
    main()
