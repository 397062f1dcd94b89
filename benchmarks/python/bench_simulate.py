"""Monte Carlo speed: memberflow's simulation engine against a vectorised numpy
implementation of the same model, written the way an analyst would (numpy's Generator,
binomial and Poisson draws over arrays of units, one path at a time), in the same run.

Reports unit-path-months per second for numpy and for memberflow with 1 and 2 threads,
the ratios, and the 1 -> 2 thread speed-up; asserts that both agree with the exact
expected value of root admissions within 5 standard errors.

    python benchmarks/python/bench_simulate.py [--scale province] [--paths 400] [--numpy-paths 100]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import memberflow as mf


def numpy_inputs(scn):
    core = scn._core
    pipe = core.pipeline
    kinds = [s.kind.name for s in pipe.stages]
    if kinds != ["markov", "markov", "fixed", "terminal"]:
        raise SystemExit("the numpy reference is written for source -> training -> probation -> full")
    return {
        "x0": np.array(core.stocks).astype(np.int64),
        "adv": np.array(core.param_array("advance")), "ex": np.array(core.param_array("exit")),
        "pass": np.array(core.param_array("pass_rate")), "att": np.array(core.param_array("attrition")),
        "inflow": np.array(core.param_array("inflow")), "tin": np.array(core.param_array("transfer_in")),
        "D": pipe.stages[2].months,
    }


def numpy_path(rng, d, horizon):
    """One path of the model for every unit; returns each unit's admissions."""
    x = d["x0"].copy()
    adv, ex, D = d["adv"], d["ex"], d["D"]
    admissions = np.zeros(x.shape[0], np.int64)
    for _ in range(horizon):
        nxt = np.zeros_like(x)
        a0 = rng.binomial(x[:, 0], adv[:, 0])
        e0 = rng.binomial(x[:, 0] - a0, ex[:, 0] / (1 - adv[:, 0]))
        a1 = rng.binomial(x[:, 1], adv[:, 1])
        e1 = rng.binomial(x[:, 1] - a1, ex[:, 1] / (1 - adv[:, 1]))
        nxt[:, 0] = x[:, 0] - a0 - e0 + rng.poisson(d["inflow"])
        nxt[:, 1] = x[:, 1] - a1 - e1 + a0
        ages = x[:, 2:2 + D]
        survivors = ages - rng.binomial(ages, ex[:, 2:3])
        nxt[:, 3:2 + D] = survivors[:, :-1]
        passed = rng.binomial(survivors[:, -1], d["pass"][:, 2])
        nxt[:, 2] = a1
        admissions += a1
        full = x[:, 2 + D]
        nxt[:, 2 + D] = full - rng.binomial(full, d["att"][:, 3]) + passed + rng.poisson(d["tin"])
        x = nxt
    return admissions


def best_of(fn, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="province")
    ap.add_argument("--paths", type=int, default=400)
    ap.add_argument("--numpy-paths", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    horizon = 12
    scn = mf.datasets.synthetic(args.scale)
    units = len(scn.org)
    d = numpy_inputs(scn)
    expected = mf.forecast(scn, horizon).mean("admissions")[scn.org.root]
    print(f"machine: {platform.platform()}; os.cpu_count() = {os.cpu_count()}; numpy {np.__version__}")
    print(f"scenario: synthetic({args.scale!r}), {units:,} units, {horizon} months; expected root admissions {expected:.2f}")

    rng = np.random.default_rng(1)
    t_np, np_roots = best_of(lambda: [numpy_path(rng, d, horizon).sum() for _ in range(args.numpy_paths)], args.repeat)
    np_rate = units * horizon * args.numpy_paths / t_np

    rates, means = {}, {}
    for threads in (1, 2):
        t, fc = best_of(lambda: mf.forecast(scn, horizon, method="simulate", paths=args.paths, seed=1,
                                            threads=threads, progress=False), args.repeat)
        rates[threads] = units * horizon * args.paths / t
        means[threads] = fc
    dist = means[1].distribution("admissions", window=(0, horizon))
    sd = float(dist.std()[scn.org.root])
    for name, mean, n in (("numpy", float(np.mean(np_roots)), args.numpy_paths),
                          ("memberflow", float(means[1].mean("admissions")[scn.org.root]), args.paths)):
        se = sd / np.sqrt(n)
        assert abs(mean - expected) <= 5 * se, f"{name}: mean root admissions {mean:.2f} vs expected {expected:.2f}"
        print(f"check {name}: mean root admissions {mean:.2f}, expected {expected:.2f}, |diff| = {abs(mean - expected) / se:.2f} SE: OK")
    same = all(np.array_equal(means[1].own(q), means[2].own(q)) for q in means[1].quantities)
    assert same, "1 and 2 threads differ"
    print("check: 1 and 2 threads give bit-identical means: OK\n")
    print(f"{'implementation':34s} {'unit-path-months/s':>20s} {'vs numpy':>10s}")
    print(f"{'numpy (one path at a time)':34s} {np_rate:20,.0f} {1.0:9.1f}x")
    for threads in (1, 2):
        print(f"{'memberflow, %d thread%s' % (threads, 's' if threads > 1 else ''):34s} {rates[threads]:20,.0f} "
              f"{rates[threads] / np_rate:9.1f}x")
    print(f"\nspeed-up from 1 to 2 threads: {rates[2] / rates[1]:.2f}x")


if __name__ == "__main__":
    main()
