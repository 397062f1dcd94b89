"""Scale-out over Dask (memberflow.scale_out): a run spread over a LocalCluster of two
worker processes gives the same bits as the run in one process with the same seed, for
any split of the paths into batches, with the policies, for sweeps of scenarios; the
scenario pickles to the same forecast; refusals (a misspelt option, a client that is not
one) come at the call; progress and cancellation.

The Dask tests need the optional extra memberflow[dask] (``dask[distributed]``); they
are skipped, saying so, only when it is not installed. Pickling needs no Dask.
"""

from __future__ import annotations

import logging
import pickle
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from helpers import child_report

import memberflow as mf

try:
    import distributed
except ImportError:  # the optional extra memberflow[dask]
    distributed = None

needs_dask = pytest.mark.skipif(distributed is None, reason="dask.distributed is not installed "
                                "(pip install 'memberflow[dask]'); the scale-out tests need it")

POLICIES = {"course": {"seats": 6, "months": [2, 5, 8, 11]},
            "target_rule": {"advance_boost": 0.05, "pass_penalty": 0.1},
            "inflow_profile": [1, 0, 2],
            "uncertainty": [{"scope": "kind:cell", "stage": "training", "param": "advance", "distribution": "beta",
                             "a": 3, "b": 17}]}


@pytest.fixture(scope="module")
def district() -> mf.Scenario:
    return mf.datasets.example_district()


@pytest.fixture(scope="module")
def client():
    if distributed is None:
        pytest.skip("dask.distributed is not installed (pip install 'memberflow[dask]')")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                       silence_logs=logging.ERROR)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def simulate(scn, horizon=12, **kw):
    kw.setdefault("progress", False)
    return mf.forecast(scn, horizon, method="simulate", **kw)


def bits(fc) -> dict:
    """Every number of a simulation: means of every quantity, every tracked pmf (and the
    kept paths)."""
    out = {q: fc.own(q).copy() for q in fc.quantities}
    for i, key in enumerate(fc.tracked):
        out[("dist", key)] = {k: np.asarray(v).copy() for k, v in fc._result.distribution(i).items()}
        try:
            out[("paths", key)] = fc._result.paths(i).copy()
        except mf.InputError:  # paths not kept
            pass
    out["path_count"] = fc.paths
    out["tracked"] = fc.tracked
    return out


def assert_same_bits(a, b) -> None:
    a, b = bits(a), bits(b)
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict):
            assert a[key].keys() == b[key].keys()
            for part in a[key]:
                np.testing.assert_array_equal(a[key][part], b[key][part], err_msg=str((key, part)))
        elif isinstance(a[key], np.ndarray):
            np.testing.assert_array_equal(a[key], b[key], err_msg=str(key))  # exact: bit for bit
        else:
            assert a[key] == b[key]


# -- pickling (no Dask needed) ------------------------------------------------------------------


def test_a_pickled_scenario_gives_the_same_forecasts_to_the_bit(district):
    copy = pickle.loads(pickle.dumps(district))
    assert copy is not district and copy.start == district.start
    pd.testing.assert_frame_equal(copy.stocks, district.stocks)
    pd.testing.assert_series_equal(copy.targets, district.targets)
    for q in ("admissions", "full"):
        np.testing.assert_array_equal(mf.forecast(copy, 12).own(q), mf.forecast(district, 12).own(q))
    assert_same_bits(simulate(copy, paths=200, seed=4, keep_paths=True, **POLICIES),
                     simulate(district, paths=200, seed=4, keep_paths=True, **POLICIES))


def test_a_shipped_scenario_is_unpickled_once_per_worker_and_forecasts_alike(district):
    # What the workers receive: the driver's pickle as bytes (one per call), unpickled at
    # a worker's first batch and kept for the next ones.
    from memberflow import scale_out
    first, second = scale_out._Shipped(district), scale_out._Shipped(district)
    assert first.token != second.token and first.data == pickle.dumps(district, protocol=pickle.HIGHEST_PROTOCOL)
    # a wire copy, as a worker gets it
    copy = scale_out._scenario_of(pickle.loads(pickle.dumps(first)))
    assert scale_out._scenario_of(first) is copy and copy is not district
    assert_same_bits(simulate(copy, paths=100, seed=4), simulate(district, paths=100, seed=4))
    shipments = [scale_out._Shipped(district) for _ in range(scale_out._KEPT_SCENARIOS + 1)]
    for s in shipments:
        scale_out._scenario_of(s)
    assert first.token not in scale_out._unpickled and shipments[-1].token in scale_out._unpickled
    with pytest.raises(mf.InputError, match="unpickled to a str"):
        bad = scale_out._Shipped(district)
        bad.data = pickle.dumps("not a scenario")
        scale_out._scenario_of(bad)


def test_a_replaced_scenario_and_values_set_in_memory_pickle_to_the_same_bits(district):
    what_if = district.replace([{"scope": "kind:cell", "stage": "training", "what": "advance", "scale": 1.1},
                                {"scope": "subtree:C01", "what": "inflow", "value": 0.37},
                                {"scope": "D", "what": "target", "value": 181}])
    what_if._core.param_array("exit")[3, 1] = 0.012345678901234567  # a value set in memory: 17 digits
    copy = pickle.loads(pickle.dumps(what_if))
    assert copy.param("exit").iloc[3, 1] == what_if.param("exit").iloc[3, 1]
    assert copy.targets["D"] == 181
    np.testing.assert_array_equal(mf.forecast(copy, 12).own("admissions"), mf.forecast(what_if, 12).own("admissions"))
    assert_same_bits(simulate(copy, paths=150, seed=9), simulate(what_if, paths=150, seed=9))
    without_calendar = mf.datasets.synthetic("district")
    again = pickle.loads(pickle.dumps(without_calendar))
    assert again.start == without_calendar.start
    np.testing.assert_array_equal(mf.forecast(again, 6).own("full"), mf.forecast(without_calendar, 6).own("full"))


def test_options_pickle_and_compare_by_value():
    opts = mf.SimulationOptions(paths=300, seed=7, course={"seats": 4, "months": [1, 7]},
                                target_rule=mf.TargetRule(margin=1), uncertainty=POLICIES["uncertainty"])
    assert pickle.loads(pickle.dumps(opts)) == opts
    assert opts.replace(seed=8) != opts


# -- refusals at the call ------------------------------------------------------------------------


def test_a_misspelt_option_is_refused_at_the_call_naming_it_and_the_valid_ones(district):
    with pytest.raises(TypeError, match=r"forecast\(\) got an unexpected keyword argument 'path'"):
        mf.forecast(district, 12, method="simulate", path=100, client="local")  # type: ignore[call-overload]
    with pytest.raises(mf.InputError, match=r"simulate_many: unknown option 'sed' \(did you mean 'seed'\?\)"):
        mf.simulate_many([district], 12, sed=1)


@pytest.mark.parametrize("client, message", [
    (42, r"client must be a dask.distributed.Client or 'local', got int"),
    ("tcp://scheduler:8786", r"client must be a dask.distributed.Client or 'local', got 'tcp://scheduler:8786'"),
])
def test_a_client_that_is_not_a_client_is_refused(district, client, message):
    if distributed is None and not isinstance(client, str):
        with pytest.raises(ImportError, match=r"memberflow\[dask\]"):
            simulate(district, paths=10, client=client)
        return
    with pytest.raises(mf.InputError, match=message):
        simulate(district, paths=10, client=client)


@needs_dask
def test_without_zstandard_a_client_is_refused_before_any_work(district, monkeypatch):
    # The tallies come back compressed with Zstandard, part of the [dask] extra: without
    # it the call stops before a cluster starts, naming what to install.
    monkeypatch.setitem(sys.modules, "zstandard", None)  # `import zstandard` now fails
    clusters = []
    monkeypatch.setattr(distributed, "LocalCluster", lambda *a, **k: clusters.append(1))
    with pytest.raises(ImportError, match=r"zstandard: pip install 'memberflow\[dask\]'"):
        simulate(district, paths=10, client="local")
    assert clusters == []  # refused before a cluster was started


def test_batch_size_needs_a_client_and_must_be_a_whole_number(district):
    with pytest.raises(mf.InputError, match="batch_size applies to a run spread over a Dask client"):
        simulate(district, paths=10, batch_size=5)


@needs_dask
def test_batch_size_is_checked(district, client):
    with pytest.raises(mf.InputError, match=r"batch_size must be at least 1, got 0"):
        simulate(district, paths=10, client=client, batch_size=0)
    with pytest.raises(mf.InputError, match=r"batch_size must be a whole number \(an int\), got 2.5"):
        simulate(district, paths=10, client=client, batch_size=2.5)


# -- bit-identity -------------------------------------------------------------------------------------


@needs_dask
@pytest.mark.parametrize("batch_size", [None, 1, 7, 64, 250, 1000])
def test_the_distributed_run_is_the_in_process_run_to_the_bit(district, client, batch_size):
    paths = 250 if batch_size != 1 else 12
    alone = simulate(district, 15, paths=paths, seed=42, keep_paths=True)
    spread = simulate(district, 15, paths=paths, seed=42, keep_paths=True, client=client, batch_size=batch_size)
    assert_same_bits(spread, alone)


@needs_dask
def test_with_policies_the_distributed_run_is_the_same_bits(district, client):
    for batch_size in (33, 100):
        alone = simulate(district, 15, paths=200, seed=3, threads=2, **POLICIES)
        spread = simulate(district, 15, paths=200, seed=3, client=client, batch_size=batch_size, **POLICIES)
        assert_same_bits(spread, alone)


@needs_dask
def test_options_travel_and_a_first_path_offset_is_kept(district, client):
    opts = mf.SimulationOptions(paths=90, seed=11, first_path=1000, keep_paths=True,
                                track=[("exits", 0, 6), ("training", 3)], progress=False)
    alone = mf.forecast(district, 12, method="simulate", options=opts)
    spread = mf.forecast(district, 12, method="simulate", options=opts, client=client, batch_size=40)
    assert_same_bits(spread, alone)
    assert spread.tracked == [("exits", 0, 6), ("training", 3)]


@needs_dask
def test_an_engine_refusal_on_a_worker_comes_back_as_itself(district, client):
    with pytest.raises(mf.ParameterError, match="seats must be >= 0"):
        simulate(district, paths=50, client=client, course={"seats": -1, "months": [2]})
    with pytest.raises(mf.InputError, match=r"paths must be in 1 \.\. 4,294,967,295, got 0"):
        simulate(district, paths=0, client=client)


@needs_dask
def test_client_local_starts_and_closes_its_own_cluster(district):
    alone = simulate(district, paths=60, seed=2)
    assert_same_bits(simulate(district, paths=60, seed=2, client="local"), alone)


@needs_dask
def test_a_fits_parameter_sets_travel_to_the_workers(client):
    h = mf.datasets.example_history(seed=0)
    fit = mf.estimate(mf.EventLog.from_frame(h.events, h.start), first="2016-01", last="2020-12")
    alone = fit.predict(12, "simulate", draws=30, seed=4, paths=120, progress=False)
    spread = fit.predict(12, "simulate", draws=30, seed=4, paths=120, progress=False, client=client, batch_size=50)
    assert_same_bits(spread, alone)
    opts = mf.SimulationOptions(paths=10, parameter_sets=fit._core.draw(5, 1))
    copy = pickle.loads(pickle.dumps(opts))
    assert len(copy.parameter_sets) == 5 and copy.replace(parameter_sets=None) == opts.replace(parameter_sets=None)


# -- sweeps -------------------------------------------------------------------------------------------


@needs_dask
def test_a_sweep_gives_each_scenario_its_own_runs_bits(district, client):
    what_ifs = {"base": district,
                "more inflow": district.replace(what="inflow", scale=1.25),
                "faster training": district.replace(scope="kind:cell", stage="training", what="advance", scale=1.2)}
    opts = mf.SimulationOptions(paths=120, seed=5, progress=False)
    swept = mf.simulate_many(what_ifs, 12, opts, client=client)
    assert list(swept) == list(what_ifs)
    for name, scn in what_ifs.items():
        assert_same_bits(swept[name], mf.forecast(scn, 12, method="simulate", options=opts))
    # one options per scenario, keywords over them all; in process without a client
    per = [opts.replace(seed=s) for s in (1, 2, 3)]
    listed = mf.simulate_many(list(what_ifs.values()), 12, per, client=client, batch_size=50, **POLICIES)
    here = mf.simulate_many(list(what_ifs.values()), 12, per, **POLICIES)
    for a, b in zip(listed, here):
        assert_same_bits(a, b)
    assert [r.seed for r in here] == [1, 2, 3]


def test_sweep_refusals(district):
    with pytest.raises(mf.InputError, match="2 options for 1 scenarios"):
        mf.simulate_many([district], 12, [mf.SimulationOptions(), mf.SimulationOptions()])
    with pytest.raises(mf.InputError, match="scenario 2 is a str, not a memberflow.Scenario"):
        mf.simulate_many([district, "elsewhere"], 12)


# -- progress and cancelling --------------------------------------------------------------------------


@needs_dask
def test_progress_counts_paths_per_batch_up_to_the_total(district, client):
    seen = []
    simulate(district, paths=100, seed=1, client=client, batch_size=30, progress=lambda d, t: seen.append((d, t)))
    assert [t for _, t in seen] == [100] * 4
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[-1] == 100
    assert sorted(b - a for a, b in zip([0] + done, done)) == [10, 30, 30, 30]  # one report per batch


class _Stop(Exception):
    pass


@needs_dask
def test_an_exception_from_progress_cancels_the_outstanding_batches(district, client):
    def stop(done, total):
        raise _Stop(f"stopped at {done}")

    with pytest.raises(_Stop):
        simulate(district, 24, paths=4000, seed=1, client=client, batch_size=20, progress=stop)

    def ours(dask_scheduler):
        return [k for k in dask_scheduler.tasks if str(k).startswith("memberflow-")]

    left = client.run_on_scheduler(ours)
    for _ in range(100):  # the scheduler forgets cancelled tasks soon after
        if not left:
            break
        time.sleep(0.1)
        left = client.run_on_scheduler(ours)
    assert left == []


CTRL_C_CHILD = textwrap.dedent("""
    import json, logging, os, signal, sys, threading, time
    import distributed
    import memberflow as mf
    # Ctrl-C raises KeyboardInterrupt even when the test run was started with SIGINT ignored
    # (a background job of a non-interactive shell inherits SIG_IGN, and Python then keeps it).
    signal.signal(signal.SIGINT, signal.default_int_handler)


    def main():
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                           silence_logs=logging.ERROR)
        client = distributed.Client(cluster)
        scn = mf.datasets.example_district()
        sent = []

        def interrupt():
            time.sleep(1.5)
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGINT)

        def ours(dask_scheduler):
            return [str(k) for k in dask_scheduler.tasks if str(k).startswith("memberflow-")]

        threading.Thread(target=interrupt, daemon=True).start()
        try:
            mf.forecast(scn, 24, method="simulate", paths=2_000_000, seed=1, client=client, batch_size=20_000,
                        progress=False)
        except KeyboardInterrupt:
            latency = time.monotonic() - sent[0]
            left = ours_at_start = client.run_on_scheduler(ours)
            for _ in range(300):  # a batch already running on a worker finishes, then is forgotten
                if not left:
                    break
                time.sleep(0.1)
                left = client.run_on_scheduler(ours)
            print(json.dumps({"latency": latency, "at_interrupt": len(ours_at_start), "left": len(left)}))
            client.close()
            cluster.close()
            sys.exit(0)
        print(json.dumps({"error": "the run finished without being interrupted"}))
        sys.exit(3)


    if __name__ == "__main__":  # the workers are spawned processes
        main()
""")


@needs_dask
def test_ctrl_c_in_the_driver_cancels_the_outstanding_batches(tmp_path):
    report = child_report(tmp_path, CTRL_C_CHILD, timeout=300)
    assert report["left"] == 0, report  # nothing of the run is left on the cluster
