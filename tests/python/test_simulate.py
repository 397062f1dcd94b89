"""memberflow.forecast(method="simulate"): the generator against published vectors, the
simulation against the exact engine (chi-square, standard errors), reproducibility
across threads and path counts, the policies' arguments and refusals, progress
reporting, Ctrl-C, and the command line.

Thresholds are derived, not tuned: a chi-square statistic is held to its 0.999 quantile
(Wilson-Hilferty), a mean to 5 standard errors. scipy is not used.
"""

from __future__ import annotations

import math
import os
import textwrap
import time
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from helpers import child_report

import memberflow as mf
from memberflow import _core
from memberflow.cli import main

# -- statistics ---------------------------------------------------------------------------------


def chi_square_quantile(dof: int, tail: float = 1e-3) -> float:
    """(1 - tail) quantile of chi-square(dof), Wilson & Hilferty (1931)."""
    k = max(dof, 1)
    h = 2.0 / (9.0 * k)
    z = NormalDist().inv_cdf(1 - tail)
    return k * (1 - h + z * math.sqrt(h)) ** 3


def chi_square(observed: dict[int, int], n: int, reference: pd.Series) -> tuple[float, int, float]:
    """Pearson's statistic of counts against a pmf (index k), adjacent values merged from
    the left until each bin expects >= 5, a short last bin joined to the one before;
    observations outside the reference's support count in the end bins."""
    expected, seen = [], []
    e = o = 0.0
    for k, p in reference.items():
        e += n * p
        o += observed.get(int(k), 0)
        if e >= 5:
            expected.append(e)
            seen.append(o)
            e = o = 0.0
    expected[-1] += e
    seen[-1] += o
    lo, hi = int(reference.index.min()), int(reference.index.max())
    seen[0] += sum(c for k, c in observed.items() if k < lo)
    seen[-1] += sum(c for k, c in observed.items() if k > hi)
    stat = sum((s - x) ** 2 / x for s, x in zip(seen, expected))
    dof = len(expected) - 1
    return stat, dof, chi_square_quantile(dof)


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def district() -> mf.Scenario:
    return mf.datasets.example_district()


def simulate(scn, horizon=12, **kw):
    kw.setdefault("progress", False)
    return mf.forecast(scn, horizon, method="simulate", **kw)


# -- the generator ---------------------------------------------------------------------------------


def test_philox_reproduces_the_published_known_answer_vectors():
    # Random123 distribution (D. E. Shaw Research), examples/kat_vectors, "philox 4 64 10";
    # Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC'11.
    ones = 0xFFFFFFFFFFFFFFFF
    vectors = [
        ([0, 0, 0, 0], [0, 0], [0x16554D9ECA36314C, 0xDB20FE9D672D0FDC, 0xD7E772CEE186176B, 0x7E68B68AEC7BA23B]),
        ([ones] * 4, [ones] * 2, [0x87B092C3013FE90B, 0x438C3C67BE8D0224, 0x9CC7D7C69CD777B6, 0xA09CAEBF594F0BA0]),
        ([0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89],
         [0x452821E638D01377, 0xBE5466CF34E90C6C],
         [0xA528F45403E61D95, 0x38C72DBD566E9788, 0xA5A1610E72FD18B5, 0x57BD43B5E52B7FE6]),
    ]
    for counter, key, expected in vectors:
        assert list(_core.philox4x64(counter, key)) == expected


# -- against the exact engine ---------------------------------------------------------------------


def test_simulated_admissions_agree_with_the_exact_engine(district):
    paths = 4000
    sim = simulate(district, paths=paths, seed=20210201, keep_paths=True)
    exact = mf.forecast(district, 12, method="exact")
    root = district.org.root
    for quantity, kw in [("admissions", {}), ("admissions", {"window": (3, 6)}), ("confirmations", {}),
                         ("probation", {"month": 12})]:
        values = sim.path_values(quantity, **kw)[:, 0]  # the root is node 0
        observed = pd.Series(values).value_counts().to_dict()
        stat, dof, threshold = chi_square(observed, paths, exact.pmf(quantity, root, **kw))
        assert dof >= 3
        assert stat < threshold, (quantity, stat, dof, threshold)
    # Every node's mean within 5 standard errors of the exact mean.
    d_sim, d_exact = sim.distribution("admissions"), exact.distribution("admissions")
    se = np.sqrt(d_exact.var() / paths)
    assert (np.abs(d_sim.mean() - d_exact.mean()) <= 5 * se + 1e-9).all()
    # The simulated means (monthly sums) and the distributions' means are the same numbers.
    np.testing.assert_allclose(sim.mean("admissions"), d_sim.mean(), rtol=1e-12, atol=1e-12)


def test_simulated_distributions_are_the_histograms_of_the_kept_paths(district):
    sim = simulate(district, paths=500, seed=3, keep_paths=True)
    values = sim.path_values("admissions")
    assert values.shape == (500, len(district.org))
    d = sim.distribution("admissions")
    np.testing.assert_allclose(d.total_mass(), 1.0, rtol=1e-12)
    for j, unit in enumerate(district.org.ids[:40]):
        counts = pd.Series(values[:, j]).value_counts(normalize=True).sort_index()
        pmf = d.pmf(unit)
        pmf = pmf[pmf > 0]
        np.testing.assert_array_equal(pmf.index.to_numpy(), counts.index.to_numpy())
        np.testing.assert_allclose(pmf.to_numpy(), counts.to_numpy(), rtol=1e-12)
    # P(admissions >= k) is the share of paths with at least k.
    k = 85
    assert sim.prob_at_least("admissions", k, unit=district.org.root) == pytest.approx(np.mean(values[:, 0] >= k))
    frame = sim.paths_frame("admissions")
    assert list(frame.columns) == ["path", "unit_id", "ds", "quantity", "value"]  # the example starts 2021-01
    assert (frame["ds"] == pd.Timestamp("2021-01-01")).all()
    assert len(frame) == 500 * len(district.org)
    assert frame["value"].to_numpy().tolist() == values.reshape(-1).tolist()
    assert sim.paths == 500 and sim.seed == 3
    assert "simulate, 500 paths, seed 3" in repr(sim)


def test_untracked_quantities_and_unkept_paths_are_refused(district):
    sim = simulate(district, paths=20, seed=1)
    with pytest.raises(mf.InputError, match="was not tracked"):
        sim.distribution("exits")
    with pytest.raises(mf.InputError, match="keep_paths=True"):
        sim.path_values("admissions")
    tracked = simulate(district, paths=20, seed=1, track=[("exits", 0, 6), ("training", 3)])
    assert tracked.tracked == [("exits", 0, 6), ("training", 3)]
    assert tracked.distribution("exits", window=(0, 6)).total_mass().iloc[0] == pytest.approx(1.0)


# -- reproducibility ------------------------------------------------------------------------------


def _bits(fc) -> dict:
    out = {q: fc.own(q).copy() for q in fc.quantities}
    for i, key in enumerate(fc.tracked):
        flat = fc._result.distribution(i)
        out[("dist", key)] = {k: np.asarray(v).copy() for k, v in flat.items()}
        out[("paths", key)] = fc._result.paths(i).copy()
    return out


def _assert_same_bits(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict):
            for part in a[key]:
                np.testing.assert_array_equal(a[key][part], b[key][part])
        else:
            np.testing.assert_array_equal(a[key], b[key])  # exact: bit for bit


@pytest.mark.parametrize("policies", [{}, {"course": {"seats": 6, "months": [2, 5, 8, 11]},
                                           "target_rule": {"advance_boost": 0.05, "pass_penalty": 0.1},
                                           "inflow_profile": [1, 0, 2],
                                           "uncertainty": [{"scope": "kind:cell", "stage": "training",
                                                            "param": "advance", "distribution": "beta",
                                                            "a": 3, "b": 17}]}])
def test_the_same_seed_gives_the_same_bits_for_any_thread_count(district, policies):
    runs = [_bits(simulate(district, 15, paths=300, seed=42, threads=t, keep_paths=True, **policies))
            for t in (1, 2, 16)]
    _assert_same_bits(runs[0], runs[1])
    _assert_same_bits(runs[0], runs[2])


def test_a_paths_outcome_depends_only_on_seed_and_path(district):
    short = simulate(district, paths=100, seed=5, threads=3, keep_paths=True)
    long = simulate(district, paths=300, seed=5, threads=2, keep_paths=True)
    for key in short.tracked:
        q, *rest = key
        kw = {"month": rest[0]} if len(rest) == 1 else {"window": tuple(rest)}
        np.testing.assert_array_equal(short.path_values(q, **kw), long.path_values(q, **kw)[:100])
    other = simulate(district, paths=100, seed=6, keep_paths=True)
    assert not np.array_equal(other.path_values("admissions"), short.path_values("admissions"))


def test_seeds_outside_64_bits_are_refused(district):
    for seed in (-1, 2**64):
        with pytest.raises(mf.InputError, match=r"seed must be in \[0, 2\*\*64\)"):
            simulate(district, paths=10, seed=seed)
    simulate(district, paths=10, seed=2**64 - 1)


# -- policies through Python ------------------------------------------------------------------------


def _one_unit(trainees: int, advance: float, inflow: float = 0.0, target: float | None = None) -> mf.Scenario:
    org = mf.Org.from_frame(pd.DataFrame({"unit_id": ["U"], "parent_id": [None], "kind": ["cell"]}))
    pipe = mf.Pipeline([mf.stage.markov("source", 0.0, 0.0), mf.stage.markov("training", advance, 0.0),
                        mf.stage.fixed("probation", 12, 0.0, 1.0), mf.stage.terminal("full", 0.0)],
                       admission="probation")
    params = pd.DataFrame({"scope": ["U"], "stage": ["source"], "param": ["inflow"], "value": [inflow]})
    stocks = pd.DataFrame({"unit_id": ["U"], "stage": ["training"], "count": [trainees]})
    return mf.Scenario(org, pipe, params=params, stocks=stocks,
                       targets=None if target is None else {"U": target})


def test_inflow_profile_zero_months_get_no_arrivals():
    scn = _one_unit(0, 0.0, inflow=3.0)
    paths = 4000
    sim = simulate(scn, 6, paths=paths, seed=1, inflow_profile=[2, 0, 1],
                   track=[("arrivals", t, t + 1) for t in range(6)])
    for t in range(6):
        d = sim.distribution("arrivals", window=(t, t + 1))
        mean = 3.0 * [2, 0, 1][t % 3]
        if mean == 0:
            assert d.pmf("U").to_dict() == {0: 1.0}
        else:
            assert abs(d.mean()["U"] - mean) <= 5 * math.sqrt(mean / paths)


def test_uncertainty_accepts_frames_and_records_and_its_mean_is_a_over_a_plus_b():
    # Month-0 admissions are Binomial(1000, A), A ~ Beta(2, 6): mean 1000 a / (a + b).
    scn = _one_unit(1000, 0.25)
    rows = [{"scope": "U", "stage": "training", "param": "advance", "distribution": "beta", "a": 2.0, "b": 6.0}]
    paths = 5000
    as_records = simulate(scn, 1, paths=paths, seed=2, uncertainty=rows, keep_paths=True)
    as_frame = simulate(scn, 1, paths=paths, seed=2, uncertainty=pd.DataFrame(rows), keep_paths=True)
    values = as_records.path_values("admissions")[:, 0]
    np.testing.assert_array_equal(values, as_frame.path_values("admissions")[:, 0])
    m, var_a = 0.25, 2 * 6 / (64 * 9)
    var = 1000 * (m - var_a - m * m) + 1000**2 * var_a
    assert abs(values.mean() - 1000 * m) <= 5 * math.sqrt(var / paths)
    assert values.var(ddof=1) > 10 * 1000 * m * (1 - m)  # far wider than the binomial


def test_policies_reach_the_engine():
    # Course: nothing outside the session month 1, never more than 7 seats.
    sim = simulate(_one_unit(100, 0.3), 3, paths=300, seed=3, course={"seats": 7, "months": [1]},
                   track=[("admissions", t, t + 1) for t in range(3)])
    assert sim.distribution("admissions", window=(0, 1)).pmf("U").to_dict() == {0: 1.0}
    assert sim.distribution("admissions", window=(2, 3)).pmf("U").to_dict() == {0: 1.0}
    assert sim.distribution("admissions", window=(1, 2)).pmf("U").to_dict() == {7: 1.0}
    # Target rule: stop once 5 are admitted (about 30 a month here): month 1 and on admit no one.
    sim = simulate(_one_unit(100, 0.3, target=5), 4, paths=300, seed=4, target_rule={"stop_when_met": True},
                   track=[("admissions", 1, 4)])
    assert sim.distribution("admissions", window=(1, 4)).pmf("U").to_dict() == {0: 1.0}


@pytest.mark.parametrize("kwargs, error, message", [
    ({"uncertainty": [{"scope": "*", "stage": "training", "param": "advance", "distribution": "normal",
                       "a": 1, "b": 1}]}, mf.ParameterError, "must be 'beta' or 'gamma'"),
    ({"uncertainty": [{"scope": "*", "stage": "source", "param": "inflow", "distribution": "beta",
                       "a": 1, "b": 1}]}, mf.ParameterError, "use beta for probabilities and gamma for rates"),
    ({"uncertainty": [{"scope": "*", "stage": "training", "param": "advance", "distribution": "beta",
                       "a": 1}]}, mf.InputError, "missing 'b'"),
    ({"uncertainty": [{"scope": "nowhere", "stage": "training", "param": "advance", "distribution": "beta",
                       "a": 1, "b": 1}]}, mf.UnknownIdError, "names no unit"),
    ({"course": {"seats": -1, "months": [2]}}, mf.ParameterError, "seats must be >= 0"),
    ({"target_rule": {"boost": 0.1}}, mf.InputError, "unknown keys"),
    ({"target_rule": {"advance_boost": 2.0}}, mf.ParameterError, "target rule"),
    ({"inflow_profile": [1, -1]}, mf.ParameterError, "inflow_profile"),
    ({"paths": 0}, mf.InputError, r"paths must be in 1 \.\. 4,294,967,295, got 0"),
    ({"paths": 100.0}, mf.InputError, r"paths must be a whole number \(an int\), got 100.0"),
    ({"paths": "100"}, mf.InputError, r"paths must be a whole number \(an int\), got '100'"),
    ({"seed": 1.5}, mf.InputError, r"seed must be a whole number \(an int\), got 1.5"),
    ({"seed": True}, mf.InputError, r"seed must be a whole number \(an int\), got True"),
    ({"threads": 2.0}, mf.InputError, r"threads must be a whole number \(an int\), got 2.0"),
])
def test_invalid_policy_inputs_raise_clear_errors(district, kwargs, error, message):
    kwargs = {"paths": 10, **kwargs}
    with pytest.raises(error, match=message):
        simulate(district, **kwargs)


def test_a_target_rule_needs_targets():
    with pytest.raises(mf.InputError, match="the scenario has no targets"):
        simulate(_one_unit(10, 0.1), paths=10, target_rule={})


# -- progress ---------------------------------------------------------------------------------------


def test_a_progress_callback_sees_increasing_counts_ending_at_the_total():
    # A run of about a second (reports come every 100 ms): a province, 1,500 paths.
    province = mf.datasets.synthetic("province")
    seen = []
    simulate(province, paths=1500, seed=1, threads=2, progress=lambda done, total: seen.append((done, total)))
    assert len(seen) >= 2
    assert all(total == 1500 for _, total in seen)
    done = [d for d, _ in seen]
    assert done == sorted(done)
    assert done[-1] == 1500
    assert done[0] < 2000  # reported while running, not only at the end


def test_progress_false_and_true(district, capsys):
    simulate(district, paths=50, seed=1, progress=False)
    assert capsys.readouterr().err == ""
    simulate(district, paths=50, seed=1, progress=True)
    err = capsys.readouterr().err
    assert "memberflow simulate" in err and "50/50" in err


def test_no_bar_before_an_argument_the_engine_refuses(district, capsys):
    # progress=True, but the engine refuses the course before its first report: no bar
    with pytest.raises(mf.ParameterError, match="seats must be >= 0"):
        simulate(district, paths=50, seed=1, progress=True, course={"seats": -1, "months": [2]})
    assert capsys.readouterr().err == ""


class _Stop(Exception):
    pass


def test_an_exception_from_the_progress_callback_stops_the_run(district):
    def stop(done, total):
        raise _Stop(f"stopped at {done}")

    started = time.monotonic()
    with pytest.raises(_Stop):
        simulate(district, paths=10_000_000, seed=1, progress=stop)
    assert time.monotonic() - started < 30  # not the ten million paths


def test_an_exception_from_the_final_progress_call_is_raised(district):
    # The callback raises once all paths are done: usually in the final call, made after
    # the run (done == total), else in the last call of the run. Either way its exception
    # must surface as itself, not as a SystemError.
    calls = []

    def progress(done, total):
        calls.append(done)
        if done == total:
            raise _Stop("at the end")

    with pytest.raises(_Stop, match="at the end"):
        simulate(district, paths=20, seed=1, threads=1, progress=progress)
    assert calls[-1] == 20


CTRL_C_CHILD = textwrap.dedent("""
    import json, os, signal, sys, threading, time
    import memberflow as mf
    # Ctrl-C raises KeyboardInterrupt even when the test run was started with SIGINT ignored
    # (a background job of a non-interactive shell inherits SIG_IGN, and Python then keeps it).
    signal.signal(signal.SIGINT, signal.default_int_handler)

    scn = mf.datasets.example_district()
    tasks_before = len(os.listdir("/proc/self/task"))
    sent, during = [], []

    def interrupt():
        time.sleep(0.5)
        during.append(len(os.listdir("/proc/self/task")))
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    sender = threading.Thread(target=interrupt)
    started = time.monotonic()
    sender.start()
    try:
        mf.forecast(scn, 24, method="simulate", paths=10_000_000, seed=1, threads=2, progress=False)
    except KeyboardInterrupt:
        caught = time.monotonic()
        sender.join()
        print(json.dumps({"latency": caught - sent[0], "running": sent[0] - started,
                          "tasks_before": tasks_before, "tasks_during": during[0],
                          "tasks_after": len(os.listdir("/proc/self/task")),
                          "python_threads": threading.active_count()}))
        sys.exit(0)
    print(json.dumps({"error": "the simulation finished without being interrupted"}))
    sys.exit(3)
""")


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through /proc")
def test_ctrl_c_stops_a_simulation_within_a_second_and_leaves_no_threads(tmp_path):
    report = child_report(tmp_path, CTRL_C_CHILD, timeout=120)
    assert report["running"] >= 0.4  # the signal came while the paths were running
    assert report["latency"] < 1.0, report
    # While running: the sender and the two workers on top; afterwards all gone.
    assert report["tasks_during"] >= report["tasks_before"] + 3, report
    assert report["tasks_after"] == report["tasks_before"], report
    assert report["python_threads"] == 1


# -- typed options ---------------------------------------------------------------------------------


def test_simulation_options_defaults_are_the_cpp_structs():
    cpp, opts = _core.SimulationOptions(), mf.SimulationOptions()
    for name in ("paths", "seed", "threads", "first_path", "regime", "keep_paths"):
        assert getattr(opts, name) == getattr(cpp, name), name
    assert opts.track == () and opts.inflow_profile == () and opts.uncertainty == ()
    assert opts.course is None and opts.target_rule is None and opts.parameter_sets is None
    assert mf.TargetRule() == mf.TargetRule(**{k: getattr(_core.TargetRule(), k) for k in mf.TargetRule._fields})
    assert mf.CoursePolicy().seats == _core.CoursePolicy().seats
    assert repr(mf.SimulationOptions(paths=5, seed=2)) == "SimulationOptions(paths=5, seed=2)"


def test_options_and_keywords_give_the_same_bits(district):
    policies = dict(course=mf.CoursePolicy(seats=6, months=[2, 5, 8, 11]),
                    target_rule=mf.TargetRule(advance_boost=0.05, pass_penalty=0.1),
                    uncertainty=[mf.ParameterDraw(scope="kind:cell", stage="training", param="advance",
                                                  distribution="beta", a=3, b=17)])
    opts = mf.SimulationOptions(paths=200, seed=42, keep_paths=True, progress=False, **policies)
    as_dicts = dict(course={"seats": 6, "months": [2, 5, 8, 11]},
                    target_rule={"advance_boost": 0.05, "pass_penalty": 0.1},
                    uncertainty=[{"scope": "kind:cell", "stage": "training", "param": "advance",
                                  "distribution": "beta", "a": 3, "b": 17}])
    by_keywords = simulate(district, paths=200, seed=42, keep_paths=True, **as_dicts)
    _assert_same_bits(_bits(mf.forecast(district, 12, method="simulate", options=opts)), _bits(by_keywords))
    # keywords beside options override them; threads beside options too
    other = mf.forecast(district, 12, method="simulate", options=opts, seed=43, threads=1)
    assert other.seed == 43
    _assert_same_bits(_bits(other), _bits(simulate(district, paths=200, seed=43, keep_paths=True, **as_dicts)))


def test_a_batch_of_paths_is_the_same_paths_of_the_whole_run(district):
    whole = simulate(district, paths=120, seed=8, keep_paths=True)
    part = simulate(district, paths=50, seed=8, first_path=40, keep_paths=True)
    np.testing.assert_array_equal(part.path_values("admissions"), whole.path_values("admissions")[40:90])


@pytest.mark.parametrize("call, message", [
    # forecast's keywords are its parameters: Python itself refuses a misspelt one, at the call
    (lambda scn: simulate(scn, path=100), r"forecast\(\) got an unexpected keyword argument 'path'"),
    (lambda scn: mf.forecast(scn, 12, "expected", tolerence=1e-9),  # type: ignore[call-overload]
     r"forecast\(\) got an unexpected keyword argument 'tolerence'"),
    (lambda scn: mf.forecast(scn, 12, "expected", paths=100),  # type: ignore[call-overload]
     r"\['paths'\] apply to method='simulate' only"),
    (lambda scn: mf.forecast(scn, 12, "simulate", tolerance=1e-9),  # type: ignore[call-overload]
     r"tolerance applies to method='exact' only"),
    (lambda scn: mf.SimulationOptions(path=100), r"unexpected keyword argument 'path'"),
    (lambda scn: mf.SimulationOptions().replace(seeds=1), r"replace: unknown option 'seeds' \(did you mean 'seed'"),
    (lambda scn: mf.CoursePolicy(seat=3), r"unexpected keyword argument 'seat'"),
    (lambda scn: simulate(scn, course={"seat": 3, "months": [2]}), r"course: unknown keys 'seat'"),
    (lambda scn: simulate(scn, target_rule={"boost": 0.1}), r"target_rule: unknown keys 'boost' \(did you mean "
                                                            r"'advance_boost'\?\)"),
    (lambda scn: simulate(scn, options={"paths": 10}), r"options must be a memberflow.SimulationOptions, got dict"),
    (lambda scn: simulate(scn, regime="fast"), r"regime must be one of 'auto', 'race', 'counts', got 'fast'"),
    (lambda scn: simulate(scn, keep_paths=1), r"keep_paths must be True or False, got 1"),
    (lambda scn: simulate(scn, first_path=-1), r"first_path must be at least 0, got -1"),
    (lambda scn: simulate(scn, track=[("admissions", 0.5, 3)]), r"track entry 1's month must be a whole number"),
    (lambda scn: simulate(scn, progress="yes"), r"progress must be True, False, None or a callable"),
    (lambda scn: mf.TargetRule(margin="1"), r"target_rule margin must be a number, got '1'"),
    (lambda scn: mf.ParameterDraw(scope="*", stage="training", param="advance", distribution="beta", a=1),
     r"missing 1 required keyword-only argument: 'b'"),
])
def test_options_refuse_misspelt_names_and_wrong_types_at_the_call(district, call, message):
    with pytest.raises((mf.InputError, TypeError), match=message):
        call(district)


def test_options_are_frozen_and_replace_gives_a_checked_copy():
    opts = mf.SimulationOptions(paths=10)
    with pytest.raises(AttributeError, match=r"frozen: use .replace\(paths=...\)"):
        opts.paths = 20
    assert opts.replace(paths=20).paths == 20 and opts.paths == 10
    with pytest.raises(mf.InputError, match=r"paths must be a whole number"):
        opts.replace(paths=2.5)
    assert opts.replace(course={"seats": 2, "months": [1]}).course == mf.CoursePolicy(seats=2, months=(1,))


# -- command line ------------------------------------------------------------------------------------


def test_cli_simulate_prints_a_simulated_distribution(capsys):
    assert main(["forecast", "--method", "simulate", "--paths", "200", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "simulate forecast of the example district" in out
    assert "Simulated distribution of admissions over 2021-01 to 2021-12 (200 paths, seed 0)" in out
    assert "P(reaching the target of 160)" in out


def test_cli_simulate_with_policies_is_reproducible(capsys):
    args = ["forecast", "--method", "simulate", "--paths", "100", "--seed", "7", "--no-progress",
            "--policy", "course:seats=15,months=2/5/8/11", "--policy", "target:stop=1,boost=0.05,penalty=0.1",
            "--policy", "profile:1/1/2", "--format", "csv"]
    assert main(args + ["--threads", "1"]) == 0
    one = capsys.readouterr().out
    assert main(args + ["--threads", "2"]) == 0
    assert capsys.readouterr().out == one


@pytest.mark.parametrize("policy, message", [
    ("bogus:x=1", "unknown policy"),
    ("course:seats=x,months=2", "--policy 'course:seats=x,months=2'"),
    ("course:months=2", "'seats'"),
    ("course:seats=-1,months=2", "seats must be >= 0"),
    ("target:stop=1,foo=2", "unknown keys ['foo']"),
    ("profile:1/-1", "inflow_profile"),
    ("uncertainty:/nonexistent/file.csv", "No such file"),
])
def test_cli_bad_policy_exits_with_2_and_a_message(capsys, policy, message):
    assert main(["forecast", "--method", "simulate", "--paths", "20", "--no-progress", "--policy", policy]) == 2
    err = capsys.readouterr().err
    assert err.startswith("memberflow: error:")
    assert message in err


def test_cli_policy_needs_simulate_and_seed_must_fit(capsys):
    assert main(["forecast", "--policy", "profile:1/2"]) == 2
    assert "--policy needs --method simulate" in capsys.readouterr().err
    assert main(["forecast", "--method", "simulate", "--paths", "20", "--no-progress", "--seed", "-1"]) == 2
    assert "argument --seed: must be from 0 to 18446744073709551615, got -1" in capsys.readouterr().err
