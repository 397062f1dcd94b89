"""Scale-out: paths per second of the simulation spread over a Dask LocalCluster of 2
single-threaded worker processes, against the in-process engine with 1 and 2 threads,
same seed, on a province and on the national organisation (fewer paths).

Before any timing is reported, the distributed result is asserted bit-identical to the
in-process one (means of every quantity, every tracked pmf). The distribution's
overhead is reported two ways: the distributed run's wall time minus the compute time of
its batches on the workers divided by the workers (what a perfect spread would take),
and the ratio to the in-process run with as many threads as the cluster has workers.
Cluster start-up is timed apart (client="local" pays it on every call; a client you
keep pays it once). At national scale the run is measured twice: with the tallies
merged by the driver (the default for 4 batches) and merged in pairs on the workers
first (scale_out.DRIVER_TALLIES = 1, what a large cluster does).

    python benchmarks/python/bench_scale_out.py [--province-paths 4000] [--national-paths 24 96] [--repeat 2]
"""

from __future__ import annotations

import argparse
import logging
import pickle
import time

import numpy as np

import memberflow as mf
from bench_common import best_of, machine
from memberflow import scale_out

try:
    import distributed
except ImportError:
    raise SystemExit("needs dask.distributed: pip install 'memberflow[dask]'") from None


def same_bits(a, b) -> None:
    for q in a.quantities:
        np.testing.assert_array_equal(a.own(q), b.own(q), err_msg=q)
    assert a.tracked == b.tracked
    for i in range(len(a.tracked)):
        da, db = a._result.distribution(i), b._result.distribution(i)
        for k in da:
            np.testing.assert_array_equal(np.asarray(da[k]), np.asarray(db[k]), err_msg=str((a.tracked[i], k)))


def run(name: str, scn, paths: int, horizon: int, client, repeat: int, batch_size: int | None,
        driver_tallies: int = scale_out.DRIVER_TALLIES) -> dict:
    scale_out.DRIVER_TALLIES = driver_tallies
    opts = mf.SimulationOptions(paths=paths, seed=1, progress=False)
    sim = lambda **kw: mf.forecast(scn, horizon, method="simulate", options=opts, **kw)  # noqa: E731
    _, t1, one = best_of(lambda: sim(threads=1), repeat)
    _, t2, two = best_of(lambda: sim(threads=2), repeat)
    spread = sim(client=client, batch_size=batch_size)  # a first run: the workers import memberflow
    same_bits(spread, one)
    same_bits(two, one)
    walls, computes, merges, tasks = [], [], [], 0
    for _ in range(repeat):
        with distributed.get_task_stream(client=client) as ts:
            t0 = time.perf_counter()
            spread = sim(client=client, batch_size=batch_size)
            walls.append(time.perf_counter() - t0)
        same_bits(spread, one)
        def spans(prefix):
            return [s for task in ts.data if str(task["key"]).startswith(prefix)
                    for s in task["startstops"] if s["action"] == "compute"]

        tasks = len(spans("memberflow-tally"))
        computes.append(sum(s["stop"] - s["start"] for s in spans("memberflow-tally")))
        merges.append(sum(s["stop"] - s["start"] for s in spans("memberflow-merge")))
    i = int(np.argmin(walls))
    wall, compute, merge = walls[i], computes[i], merges[i]
    workers = sum(client.nthreads().values())
    t0 = time.perf_counter()
    blob = pickle.dumps(scn)
    pickle_s = time.perf_counter() - t0
    merged = "driver" if tasks <= driver_tallies else f"workers to {driver_tallies}, then driver"
    return dict(name=name, units=len(scn.org), paths=paths, horizon=horizon, t1=t1, t2=t2, wall=wall,
                compute=compute, merge=merge, merged=merged, tasks=tasks, workers=workers,
                overhead=wall - compute / workers, pickle_mb=len(blob) / 1e6, pickle_s=pickle_s)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--province-paths", type=int, default=4000)
    ap.add_argument("--national-paths", type=int, nargs="+", default=[24, 96])
    ap.add_argument("--horizon", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--skip-national", action="store_true")
    args = ap.parse_args()
    print(machine())
    t0 = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                       silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    client.run(lambda: __import__("memberflow") and None)
    print(f"LocalCluster(n_workers=2, threads_per_worker=1) up, memberflow imported on the workers: "
          f"{time.perf_counter() - t0:.2f} s")
    rows = []
    try:
        rows.append(run("province", mf.datasets.synthetic("province"), args.province_paths, args.horizon, client,
                        args.repeat, None))
        if not args.skip_national:
            national = mf.datasets.synthetic("national")
            for paths in args.national_paths:
                rows.append(run("national", national, paths, args.horizon, client, args.repeat, None))
            rows.append(run("national", national, args.national_paths[0], args.horizon, client, args.repeat,
                            None, driver_tallies=1))
    finally:
        client.close()
        cluster.close()
    print("\nbit-identical to the in-process run (1 and 2 threads): asserted for every row\n")
    print("| scale | units | paths | batches | tallies merged on | in-process 1 thread, paths/s | in-process 2 threads, paths/s "
          "| LocalCluster 2 workers, paths/s | cluster / 1 thread | cluster / 2 threads | wall, s "
          "| batches' compute on workers, s | merges on workers, s | overhead = wall - compute/2, s "
          "| scenario pickled, MB (s) |")
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['name']} | {r['units']:,} | {r['paths']:,} | {r['tasks']} | {r['merged']} "
              f"| {r['paths'] / r['t1']:,.1f} "
              f"| {r['paths'] / r['t2']:,.1f} | {r['paths'] / r['wall']:,.1f} | {r['t1'] / r['wall']:.2f}x "
              f"| {r['t2'] / r['wall']:.2f}x | {r['wall']:.2f} | {r['compute']:.2f} | {r['merge']:.2f} | {r['overhead']:.2f} "
              f"({100 * r['overhead'] / r['wall']:.0f}% of wall) | {r['pickle_mb']:.1f} ({r['pickle_s']:.2f}) |")


if __name__ == "__main__":
    main()
