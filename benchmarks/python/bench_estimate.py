#!/usr/bin/env python3
"""From an event log CSV on disk to a fitted, partially pooled scenario, against pandas.

memberflow: ``mf.EventLog.from_csv(path, scenario)`` (parse: read, check every person's
history against the model, cut it into spells) then ``mf.estimate(log, first, last)``
(fit: exposures in 12-month blocks, partial pooling of every rate along the tree, the
drift between years, the seasonal profile, posterior means and 90% intervals for every
unit, the stocks at the month after, the fitted scenario).

The peer is what a pandas user would write for the *no-pooling* estimates only (k / n
maximum likelihood per unit, stage and parameter): ``pd.read_csv``, sort by person and
date, ``groupby().shift(-1)`` to find where each stay in a stage ends, the months at risk
of each stay inside the window, then ``groupby`` sums per unit and stage. memberflow does
far more in its fit; the peer is the floor of what anyone must compute from these
records. The script ASSERTS, before timing, that the peer's events, exposures and k / n
equal memberflow's ``fit.rates`` ``events``, ``exposure`` and ``mle`` for every unit,
stage and parameter (exactly: they are counts).

The logs are ``mf.datasets.write_synthetic_history``: the national synthetic
organisation (~300,000 units) or a tenth of it (~30,000: 6.3 provinces), 2016-2020,
unit effects and drift, written once under --data (reused when present).

Times are best of --repeat, each side in a fresh subprocess (so that its peak memory,
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` at its end, is its own): parse, fit, total.
The scenario that names units and stages (``mf.Scenario.read``, also for the peer, which
takes the unit ids and stage kinds from it) is read before and reported apart. Memory:
the resident size after the imports and the scenario (baseline, VmRSS), the peak of the
work alone (VmHWM after resetting it through /proc/self/clear_refs), so peak - baseline
is what parsing and fitting took; and the subprocess's lifetime peak (ru_maxrss), which
includes reading the scenario.

    python benchmarks/python/bench_estimate.py [--sizes 30k,300k] [--repeat 3] [--data /tmp/mf-bench-estimate]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

import memberflow as mf
from bench_common import machine

SIZES = {"30k": (6.3, 11.1, 74.3, 4.8), "300k": (63, 11.1, 74.3, 4.8)}
FIRST, LAST = "2016-01", "2020-12"


def rss_mib() -> float:
    """The process's peak resident size so far (Linux: KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":")) / 1024


def reset_peak() -> bool:
    """Resets the peak resident size (VmHWM) to the current one, so that the peak of the
    work alone can be read after it (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def month_number(text: str) -> int:
    return int(text[:4]) * 12 + int(text[5:7]) - 1


# -- the pandas peer ---------------------------------------------------------------------------
def pandas_parse(path: str) -> pd.DataFrame:
    ev = pd.read_csv(path, dtype=str, keep_default_na=False)
    ev["month"] = ev["date"].str[:4].astype("int64") * 12 + ev["date"].str[5:7].astype("int64") - 1
    return ev


def pandas_fit(ev: pd.DataFrame, units: pd.Index, pipeline: pd.DataFrame, admission: str) -> pd.DataFrame:
    """k, n and k / n for every unit, stage and parameter, as mf.estimate's rates name them."""
    stages = list(pipeline.index)
    kinds = pipeline["kind"]
    first, terminal = stages[0], stages[-1]
    f, l = month_number(FIRST), month_number(LAST)
    if (ev["event"] == "moved").any():
        raise SystemExit("this pandas version does not follow moves between units")
    # Who is in which stage after each event: entries (a stage's name or an alias) and transfer_in.
    entered = {**{s: s for s in stages}, "candidate": first, "admitted": admission, "confirmed": terminal,
               "transfer_in": terminal}
    ev = ev.sort_values(["person_id", "month"], kind="stable")
    nxt = ev.groupby("person_id", sort=False)[["event", "month"]].shift(-1)
    ev["stage"] = ev["event"].map(entered)
    ev["next_event"], ev["next_month"] = nxt["event"], nxt["month"]
    stays = ev[ev["stage"].notna()].copy()
    # A stay: in the stage from the month after the entry to the month of the next event
    # (which ends it), or to the end of the records.
    start = np.maximum(stays["month"] + 1, f)
    end = np.minimum(stays["next_month"].fillna(l), l)
    stays["at_risk"] = (end - start + 1).clip(lower=0)
    inside = stays["next_month"].between(f, l)
    is_entry = stays["next_event"].map(entered).notna() & (stays["next_event"] != "transfer_in")
    stays["advanced"] = inside & is_entry
    stays["exited"] = inside & stays["next_event"].isin(["left", "transfer_out"])
    fixed = stays["stage"].map(kinds) == "fixed"
    stays["completing"] = fixed & inside & (is_entry | (stays["next_event"] == "not_confirmed"))
    counts = ["at_risk", "advanced", "exited", "completing"]
    per_stage = stays.groupby(["unit_id", "stage"])[counts].sum()
    in_window = ev[ev["month"].between(f, l)]
    arrivals = in_window[in_window["stage"].eq(first) & in_window["event"].ne("transfer_in")].groupby("unit_id").size()
    transfers = in_window[in_window["event"] == "transfer_in"].groupby("unit_id").size()

    grid = pd.MultiIndex.from_product([units, stages], names=["unit_id", "stage"])
    x = per_stage.reindex(grid, fill_value=0).astype("float64")
    months = float(l - f + 1)
    parts = []

    def part(stage, param, k, n):
        parts.append(pd.DataFrame({"unit_id": units, "stage": stage, "param": param, "events": k.to_numpy(),
                                   "exposure": n.to_numpy()}))

    for s in stages:
        y = x.xs(s, level="stage").reindex(units)
        if kinds[s] == "markov":
            part(s, "advance", y["advanced"], y["at_risk"])
            part(s, "exit", y["exited"], y["at_risk"] - y["advanced"])  # given not advancing
        elif kinds[s] == "fixed":
            part(s, "exit", y["exited"], y["at_risk"])
            part(s, "pass_rate", y["advanced"], y["completing"])
        else:
            part(s, "attrition", y["exited"], y["at_risk"])
    part(first, "inflow", arrivals.reindex(units, fill_value=0).astype("float64"), pd.Series(months, index=units))
    part(terminal, "transfer_in", transfers.reindex(units, fill_value=0).astype("float64"),
         pd.Series(months, index=units))
    out = pd.concat(parts, ignore_index=True)
    out["mle"] = (out["events"] / out["exposure"]).where(out["exposure"] > 0)
    return out


# -- one side in a subprocess ------------------------------------------------------------------
def child(side: str, data: str, repeat: int) -> dict:
    t = time.perf_counter()
    scn = mf.Scenario.read(os.path.join(data, "start"))
    scenario_s = time.perf_counter() - t
    events = os.path.join(data, "events.csv")
    units = pd.Index(scn.org.ids, name="unit_id")
    pipeline = scn.pipeline.to_frame()
    admission = scn.pipeline.admission
    baseline = status_mib("VmRSS")  # what the work starts from: interpreter, modules, scenario
    reset = reset_peak()
    parse, fit, rows = [], [], 0
    for _ in range(repeat):
        if side == "memberflow":
            t0 = time.perf_counter()
            log = mf.EventLog.from_csv(events, scn)
            t1 = time.perf_counter()
            result = mf.estimate(log, FIRST, LAST)
            t2 = time.perf_counter()
            rows = log.rows_read
        else:
            t0 = time.perf_counter()
            ev = pandas_parse(events)
            t1 = time.perf_counter()
            result = pandas_fit(ev, units, pipeline, admission)
            t2 = time.perf_counter()
            rows = len(ev)
        parse.append(t1 - t0)
        fit.append(t2 - t1)
        del result
    return {"side": side, "scenario_s": scenario_s, "parse_s": min(parse), "fit_s": min(fit),
            "total_s": min(p + f for p, f in zip(parse, fit)), "first_total_s": parse[0] + fit[0],
            "baseline_mib": baseline, "work_peak_mib": status_mib("VmHWM") if reset else float("nan"),
            "lifetime_peak_mib": rss_mib(), "rows": rows, "units": len(units)}


def run_child(side: str, data: str, repeat: int) -> dict:
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", side, "--data", data,
                          "--repeat", str(repeat)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- checks -------------------------------------------------------------------------------------
def check(data: str) -> dict:
    """memberflow's events, exposure and mle equal the peer's, for every unit, stage and param."""
    scn = mf.Scenario.read(os.path.join(data, "start"))
    events = os.path.join(data, "events.csv")
    log = mf.EventLog.from_csv(events, scn)
    assert len(log.quarantined) == 0, log.quarantined.head()
    fit = mf.estimate(log, FIRST, LAST)
    ours = fit.rates.set_index(["unit_id", "stage", "param"])
    peer = pandas_fit(pandas_parse(events), pd.Index(scn.org.ids, name="unit_id"), scn.pipeline.to_frame(),
                      scn.pipeline.admission).set_index(["unit_id", "stage", "param"])
    assert len(peer) == len(ours) and peer.index.sort_values().equals(ours.index.sort_values())
    peer = peer.reindex(ours.index)
    for column in ("events", "exposure"):
        assert (peer[column].to_numpy() == ours[column].to_numpy()).all(), column
    a, b = peer["mle"].to_numpy(), ours["mle"].to_numpy()
    assert (np.isnan(a) == np.isnan(b)).all() and (a[~np.isnan(a)] == b[~np.isnan(b)]).all(), "mle"
    with_data = int((~np.isnan(b)).sum())
    return {"rows": log.rows_read, "units": len(scn.org), "unit_rates": len(ours), "with_data": with_data,
            "events_in_window": float(ours.loc[(slice(None), slice(None), ["advance", "attrition"]), "events"].sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="30k,300k", help="comma-separated: " + ", ".join(SIZES))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", default="/tmp/mf-bench-estimate", help="where the synthetic logs are written")
    ap.add_argument("--child", choices=["memberflow", "pandas"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.data, args.repeat)))
        return

    print(machine())
    print(f"pandas {pd.__version__}; load average {os.getloadavg()}")
    for size in args.sizes.split(","):
        data = os.path.join(args.data, size)
        if not os.path.exists(os.path.join(data, "events.csv")):
            t = time.perf_counter()
            info = mf.datasets.write_synthetic_history(data, fanout=SIZES[size])
            print(f"[{size}] wrote {info['rows']:,} rows, {info['units']:,} units in {time.perf_counter() - t:.1f} s")
        c = check(data)
        print(f"\n[{size}] {c['units']:,} units, {c['rows']:,} rows ({os.path.getsize(os.path.join(data, 'events.csv')) / 2**20:.0f} MiB); "
              f"checked: {c['unit_rates']:,} unit-rates, {c['with_data']:,} with data: events, exposure and k/n "
              "equal to pandas'")
        results = {side: run_child(side, data, args.repeat) for side in ("memberflow", "pandas")}
        print(f"{'':12}{'parse s':>9}{'fit s':>9}{'total s':>9}{'first s':>9}{'scenario s':>11}"
              f"{'baseline MiB':>14}{'work peak':>11}{'peak-base':>11}{'lifetime peak':>15}")
        for side, r in results.items():
            print(f"{side:12}{r['parse_s']:9.2f}{r['fit_s']:9.2f}{r['total_s']:9.2f}{r['first_total_s']:9.2f}"
                  f"{r['scenario_s']:11.2f}{r['baseline_mib']:14.0f}{r['work_peak_mib']:11.0f}"
                  f"{r['work_peak_mib'] - r['baseline_mib']:11.0f}{r['lifetime_peak_mib']:15.0f}")
        m, p = results["memberflow"], results["pandas"]
        work = {k: r["work_peak_mib"] - r["baseline_mib"] for k, r in results.items()}
        print(f"ratio pandas / memberflow: total {p['total_s'] / m['total_s']:.2f}, parse "
              f"{p['parse_s'] / m['parse_s']:.2f}, fit {p['fit_s'] / m['fit_s']:.2f}; memory of the work "
              f"(peak - baseline) {work['pandas'] / work['memberflow']:.2f}, lifetime peak "
              f"{p['lifetime_peak_mib'] / m['lifetime_peak_mib']:.2f}")


if __name__ == "__main__":
    main()
