"""Memory of a national monthly forecast frame (issue 12, point 4): Forecast.to_frame()
with ids and quantities as categoricals against the same frame with them as strings
(the frame memberflow made before: one id string a row, built the way it was).

The national synthetic organisation (datasets.synthetic("national"), ~300,000 units),
the expected-value forecast over 12 months, every quantity: ~34 million rows. Each
variant runs in a fresh process, one after the other: the frame's own bytes as pandas
counts them (memory_usage(deep=True), which counts a repeated string at every row) and
the process's resident memory it holds once built (what the machine pays while the
frame is in use), the peak while it is built, and the time to build it.

Usage: PYTHONPATH=... python3 benchmarks/python/bench_frames.py [--scale national|province]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import machine, maxrss_bytes  # noqa: E402

import memberflow as mf  # noqa: E402


def frame_with_string_ids(fc: mf.Forecast) -> pd.DataFrame:
    """to_frame() as memberflow built it before ids became categoricals (the same rows)."""
    frames = []
    dates = fc.dates()
    for q in fc.quantities:
        arr = fc._core.rolled(q)
        n_units, n_months = arr.shape
        months = np.tile(np.arange(n_months), n_units)
        frame = pd.DataFrame({"unit_id": np.repeat(fc.org.ids.to_numpy(dtype=object), n_months), "month": months,
                              "quantity": q, "value": arr.reshape(-1)})
        if dates is not None:
            frame.insert(2, "ds", dates[months])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def current_rss_bytes() -> int:
    """The process's resident memory now (Linux: /proc/self/statm, in pages)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(variant: str, scale: str) -> dict[str, float | str | int]:
    scn = mf.datasets.synthetic(scale)
    scn.start = "2021-01"  # a calendar: the frame carries ds, as users' forecasts do
    fc = mf.forecast(scn, 12)
    gc.collect()
    before, resident = maxrss_bytes(), current_rss_bytes()
    t = time.perf_counter()
    frame = fc.to_frame() if variant == "categorical" else frame_with_string_ids(fc)
    seconds = time.perf_counter() - t
    grown = maxrss_bytes() - before
    gc.collect()
    kept = current_rss_bytes() - resident  # what the frame holds once built
    return {"variant": variant, "units": len(scn.org), "rows": len(frame), "seconds": seconds,
            "deep_bytes": int(frame.memory_usage(deep=True).sum()), "rss_growth_bytes": grown, "rss_kept_bytes": kept,
            "unit_id": str(frame["unit_id"].dtype.name), "quantity": str(frame["quantity"].dtype.name)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="national", choices=["national", "province", "district"])
    parser.add_argument("--variant", help=argparse.SUPPRESS)  # one measurement, in a child process
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(measure(args.variant, args.scale)))
        return
    print(machine())
    results = []
    for variant in ("strings", "categorical"):
        out = subprocess.run([sys.executable, __file__, "--scale", args.scale, "--variant", variant],
                             capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    for r in results:
        print(f"{r['variant']:>11}: {r['units']:,} units, {r['rows']:,} rows (unit_id {r['unit_id']}, quantity "
              f"{r['quantity']}); deep {r['deep_bytes'] / 1e9:.2f} GB, resident +{r['rss_kept_bytes'] / 1e9:.2f} GB "
              f"(peak +{r['rss_growth_bytes'] / 1e9:.2f} GB while built), "
              f"built in {r['seconds']:.2f} s")
    old, new = results
    print(f"categorical / strings: deep {new['deep_bytes'] / old['deep_bytes']:.3f}, "
          f"resident {new['rss_kept_bytes'] / old['rss_kept_bytes']:.3f}, "
          f"peak RSS growth {new['rss_growth_bytes'] / old['rss_growth_bytes']:.3f}, "
          f"time {new['seconds'] / old['seconds']:.2f}")


if __name__ == "__main__":
    main()
