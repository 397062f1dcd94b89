"""Estimation from an event log: the fitted scenario, recovery of the known truth of the
synthetic history (partial pooling against no pooling and complete pooling), and the
lossless round trip of the fitted scenario."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

import memberflow as mf


@pytest.fixture(scope="module")
def history():
    return mf.datasets.example_history(seed=0)


@pytest.fixture(scope="module")
def fit(history):
    log = mf.EventLog.from_frame(history.events, history.start)
    return mf.estimate(log, first="2016-01", last="2020-12")


def test_the_fitted_scenario_starts_where_the_log_ends(fit, history):
    scn = fit.scenario
    assert scn.start == pd.Period("2021-01", freq="M")
    pd.testing.assert_frame_equal(scn.stock_totals(), history.end.stock_totals())
    assert (fit.first, fit.last) == (pd.Period("2016-01", freq="M"), pd.Period("2020-12", freq="M"))
    # every engine takes it
    assert mf.forecast(scn, 12).mean("admissions")[scn.org.root] > 0
    assert list(fit.rates.columns) == ["unit_id", "stage", "param", "events", "exposure", "mle", "centre", "mean",
                                       "lo-90", "hi-90", "predictive"]


def test_the_data_behind_each_rate_are_the_logs_exposures(fit, history):
    log = mf.EventLog.from_frame(history.events, history.start)
    x = log.exposures("2016-01", "2020-12")
    totals = x.groupby(["unit_id", "stage"])[["at_risk", "advanced", "exited", "completing", "arrivals"]].sum()
    r = fit.rates.set_index(["unit_id", "stage", "param"])
    for unit in ("D", "C01", "C01-01", "B01"):
        t = totals.loc[(unit, "training")]
        assert r.loc[(unit, "training", "advance"), "events"] == t.advanced
        assert r.loc[(unit, "training", "advance"), "exposure"] == t.at_risk
        assert r.loc[(unit, "training", "exit"), "exposure"] == t.at_risk - t.advanced  # given not advancing
        p = totals.loc[(unit, "probation")]
        assert r.loc[(unit, "probation", "pass_rate"), "exposure"] == p.completing
        assert r.loc[(unit, "source", "inflow"), "events"] == totals.loc[(unit, "source")].arrivals
        assert r.loc[(unit, "source", "inflow"), "exposure"] == 60  # months


def test_markov_exit_in_the_scenario_is_q_times_one_minus_advance(fit):
    r = fit.rates.set_index(["unit_id", "stage", "param"])["predictive"]
    adv, ex = fit.scenario.param("advance"), fit.scenario.param("exit")
    for unit in ("D", "C05-03"):
        assert adv.loc[unit, "source"] == r[(unit, "source", "advance")]
        assert ex.loc[unit, "source"] == pytest.approx(r[(unit, "source", "exit")] * (1 - adv.loc[unit, "source"]),
                                                      rel=1e-15)


@pytest.mark.parametrize("stage, param", [("source", "advance"), ("training", "advance"), ("source", "inflow")])
def test_partial_pooling_recovers_the_truth_better_than_no_or_complete_pooling(fit, history, stage, param):
    truth = history.truth[(history.truth.stage == stage) & (history.truth.param == param)]
    true_rate = truth.groupby("unit_id")["value"].mean()  # the rate averaged over the five years
    r = fit.rates[(fit.rates.stage == stage) & (fit.rates.param == param)].set_index("unit_id")
    r = r[r.exposure > 0]
    if param == "inflow":  # own arrivals only: units without own members have no candidates
        r = r[true_rate.reindex(r.index) > 0]
    t = true_rate.reindex(r.index)
    complete = r.events.sum() / r.exposure.sum()
    mse = {"pooled": ((r["mean"] - t) ** 2).mean(), "none": ((r.mle - t) ** 2).mean(),
           "complete": ((complete - t) ** 2).mean()}
    assert mse["pooled"] < mse["none"], mse
    assert mse["pooled"] < mse["complete"], mse


def test_the_fitted_scenario_round_trips_through_its_files(fit, tmp_path):
    fit.scenario.to_files(tmp_path)
    back = mf.Scenario.read(tmp_path)
    a, b = mf.forecast(fit.scenario, 12), mf.forecast(back, 12)
    for q in a.quantities:
        np.testing.assert_array_equal(a.own(q), b.own(q))


def test_bad_arguments(fit, history):
    log = mf.EventLog.from_frame(history.events, history.start)
    with pytest.raises(mf.InputError, match="for a 90% interval give level=90"):
        mf.estimate(log, level=0.9)
    with pytest.raises(TypeError, match="expected a memberflow.EventLog"):
        mf.estimate(history.events)
    with pytest.raises(mf.InputError, match="YYYY-MM"):
        mf.estimate(log, first="January")


def test_the_default_window_is_every_whole_year_the_log_describes_in_full(history):
    log = mf.EventLog.from_frame(history.events, history.start)
    # opening entries are dated before 2016-01 (probation's back to 2014-12): the log is
    # complete from 2016-01 on, the month after the latest of them
    assert log.first_month < pd.Period("2015-12", freq="M")
    assert log.complete_from == pd.Period("2016-01", freq="M")
    fit = mf.estimate(log)
    assert (fit.first, fit.last) == (pd.Period("2016-01", freq="M"), pd.Period("2020-12", freq="M"))
    later = mf.estimate(log, last="2019-12")
    assert (later.first, later.last) == (pd.Period("2016-01", freq="M"), pd.Period("2019-12", freq="M"))
    partial = mf.estimate(log, last="2019-06")  # 3.5 years: the whole 3 before 2019-06
    assert (partial.first, partial.last) == (pd.Period("2016-07", freq="M"), pd.Period("2019-06", freq="M"))


def test_memberflow_fit_writes_a_scenario_that_forecasts(history, tmp_path, capsys):
    from memberflow import cli

    paths = history.to_files(tmp_path / "history")
    out = tmp_path / "fitted"
    assert cli.main(["fit", str(paths["start"]), "--events", str(paths["events"]), "--first", "2016-01",
                     "--last", "2020-12", "--into", str(out)]) == 0
    assert f"forecast it with: memberflow forecast {out}" in capsys.readouterr().out
    rates = pd.read_csv(out / "rates.csv", dtype={"unit_id": str})
    log = mf.EventLog.from_csv(paths["events"], history.start)
    expected = mf.estimate(log, first="2016-01", last="2020-12").rates
    np.testing.assert_array_equal(rates["mean"].to_numpy(), expected["mean"].to_numpy())
    assert cli.main(["forecast", str(out), "--format", "json"]) == 0
    assert json_rows(capsys)[0]["admissions"] > 0
    # a bad log: refused, or quarantined with every row accounted for
    bad = tmp_path / "bad.csv"
    bad.write_text("person_id,unit_id,event,date,to_unit_id\nP1,C01-01,source,2019-03-02,\nP1,ZZ,training,2019-05-01,\n"
                   "P2,C01-02,source,2019-04-02,\n")
    assert cli.main(["fit", str(paths["start"]), "--events", str(bad), "--into", str(tmp_path / "x")]) == 2
    assert "unknown unit 'ZZ'" in capsys.readouterr().err
    assert cli.main(["fit", str(paths["start"]), "--events", str(bad), "--into", str(tmp_path / "y"),
                     "--quarantine"]) == 0
    err = capsys.readouterr().err
    assert "line 3: unknown unit 'ZZ'" in err and "line 2: with line 3" in err


def json_rows(capsys):
    import json

    return json.loads(capsys.readouterr().out)["rows"]


@pytest.fixture(scope="module")
def long_fit():
    h = mf.datasets.example_history(seed=3, years=8)
    return mf.estimate(mf.EventLog.from_frame(h.events, h.start), last="2019-12")


def test_the_drift_is_fitted_on_yearly_blocks_with_one_step_size_for_the_organisation(long_fit):
    d = long_fit.drift
    assert list(d.columns) == ["stage", "param", "scale", "tau", "shift_mean", "shift_sd", "yearly"]
    assert (long_fit.first, long_fit.last) == (pd.Period("2013-01", freq="M"), pd.Period("2019-12", freq="M"))
    assert d.yearly.map(len).eq(7).all()  # 2013..2019
    assert d.tau.nunique() == 1 and 0 < d.tau.iloc[0] < 1
    # one step ahead: the level's own uncertainty plus a year's step
    assert (d.shift_sd > d.tau).all()
    assert set(d.scale) == {"logit", "log"}


def test_without_drift_the_scenario_holds_the_posterior_means():
    h = mf.datasets.example_history(seed=3, years=4)
    log = mf.EventLog.from_frame(h.events, h.start)
    fit = mf.estimate(log, drift=False)
    assert (fit.drift.tau == 0).all() and (fit.drift.shift_sd == 0).all()
    assert (fit.rates["predictive"] == fit.rates["mean"]).all()
    drifting = mf.estimate(log)
    assert (drifting.rates["predictive"] != drifting.rates["mean"]).any()


def test_the_predictive_mixture_is_reproducible_and_wider_than_the_plug_in_forecast(long_fit):
    root = long_fit.scenario.org.root
    mixture = long_fit.predict(12, draws=100, seed=1).distribution("admissions")
    again = long_fit.predict(12, draws=100, seed=1).distribution("admissions")
    other = long_fit.predict(12, draws=100, seed=2).distribution("admissions")
    plug_in = mf.forecast(long_fit.scenario, 12, method="exact").distribution("admissions")
    assert mixture.pmf(root).equals(again.pmf(root))
    assert not mixture.pmf(root).equals(other.pmf(root))
    assert mixture.total_mass()[root] == pytest.approx(1, abs=1e-12)
    # parameter uncertainty and the year's drift widen the distribution at every level
    assert mixture.std()[root] > 1.2 * plug_in.std()[root]
    assert (mixture.std() / plug_in.std()).median() > 1
    # and leave its centre near the plug-in forecast (the means are the predictive ones)
    assert mixture.mean()[root] == pytest.approx(plug_in.mean()[root], rel=0.05)


def test_the_simulation_runs_each_path_with_a_drawn_set_and_agrees_with_the_exact_mixture(long_fit):
    root = long_fit.scenario.org.root
    exact = long_fit.predict(12, draws=40, seed=4).distribution("admissions")
    sim = long_fit.predict(12, "simulate", draws=40, seed=4, paths=4000)
    again = long_fit.predict(12, "simulate", draws=40, seed=4, paths=4000, threads=1)
    d = sim.distribution("admissions")
    assert d.pmf(root).equals(again.distribution("admissions").pmf(root))  # same bits, 1 or 2 threads
    # the same 40 sets, 100 paths each: the simulated mean is the mixture's within Monte Carlo error
    se = exact.std()[root] / np.sqrt(4000)
    assert abs(d.mean()[root] - exact.mean()[root]) < 4 * se
    assert d.std()[root] == pytest.approx(exact.std()[root], rel=0.1)
    plain = mf.forecast(long_fit.scenario, 12, "simulate", paths=4000, seed=4).distribution("admissions")
    assert d.std()[root] > 1.2 * plain.std()[root]
    with pytest.raises(mf.InputError, match="simulate"):
        long_fit.predict(12, paths=10)


def test_the_seasonal_profile_is_by_calendar_month_and_feeds_the_simulation(long_fit):
    s = long_fit.seasonal
    assert list(s.columns) == ["month", "arrivals", "factor", "lo-90", "hi-90"]
    assert list(s.month) == list(range(1, 13))
    assert s.factor.mean() == pytest.approx(1, abs=1e-12)
    assert (s["lo-90"] <= s.factor).all() and (s.factor <= s["hi-90"]).all()
    # the history has no season: every factor's interval holds 1
    assert ((s["lo-90"] < 1) & (s["hi-90"] > 1)).all()
    # the window's arrivals, by calendar month
    log_arrivals = long_fit.rates.query("param == 'inflow'").events.sum()
    assert s.arrivals.sum() == log_arrivals
    seasonal = long_fit.predict(12, "simulate", draws=20, paths=200, seasonal=True)
    assert seasonal.mean("admissions")[long_fit.scenario.org.root] > 0
    with pytest.raises(mf.InputError, match="simulate"):
        long_fit.predict(12, seasonal=True)


def test_the_predictive_means_are_the_mixtures_means(long_fit):
    root = long_fit.scenario.org.root
    fc = long_fit.predict(12, draws=60, seed=8)
    d = fc.distribution("admissions")
    # the month-by-month means are the mixture's: they agree with its pmfs' means at every node
    np.testing.assert_allclose(fc.mean("admissions").to_numpy(), d.mean().to_numpy(), rtol=1e-9, atol=1e-9)
    expected = long_fit.predict(12, "expected", draws=60, seed=8)
    assert expected.mean("admissions")[root] == fc.mean("admissions")[root]
    # ... and not the plug-in forecast at the parameters' predictive means (nonlinear in them)
    assert mf.forecast(long_fit.scenario, 12).mean("admissions")[root] != fc.mean("admissions")[root]
    with pytest.raises(mf.InputError, match="method"):
        long_fit.predict(12, "bogus")


def test_a_fit_written_to_files_reads_back_to_the_same_predictive_distribution(long_fit, tmp_path):
    paths = long_fit.to_files(tmp_path / "fitted")
    assert paths["fit"].name == "fit.json"
    back = mf.Fit.read(tmp_path / "fitted")
    assert (back.first, back.last) == (long_fit.first, long_fit.last)
    pd.testing.assert_frame_equal(back.rates, long_fit.rates)
    pd.testing.assert_frame_equal(back.pooling, long_fit.pooling)
    pd.testing.assert_frame_equal(back.drift, long_fit.drift)
    pd.testing.assert_frame_equal(back.seasonal, long_fit.seasonal)
    pd.testing.assert_frame_equal(back.scenario.params, long_fit.scenario.params)
    for name in ("advance", "exit"):
        pd.testing.assert_frame_equal(back.scenario.param(name), long_fit.scenario.param(name))
    pd.testing.assert_series_equal(back.scenario.param("inflow"), long_fit.scenario.param("inflow"))
    root = long_fit.scenario.org.root
    a = long_fit.predict(12, draws=30, seed=5).distribution("admissions")
    b = back.predict(12, draws=30, seed=5).distribution("admissions")
    assert a.pmf(root).equals(b.pmf(root))
    assert (a.mean() == b.mean()).all()


def test_memberflow_fit_then_forecast_uses_the_fits_uncertainty(tmp_path, capsys):
    from memberflow import cli

    h = mf.datasets.example_history(seed=3, years=4)
    paths = h.to_files(tmp_path / "history")
    out = tmp_path / "fitted"
    assert cli.main(["fit", str(paths["start"]), "--events", str(paths["events"]), "--into", str(out)]) == 0
    assert "fit.json" in capsys.readouterr().out
    assert cli.main(["forecast", str(out), "--method", "exact", "--draws", "50", "--seed", "2",
                     "--format", "csv"]) == 0
    text = capsys.readouterr().out
    frame = pd.read_csv(io.StringIO(text), dtype={"unit_id": str}).set_index("unit_id")
    fit = mf.Fit.read(out)
    d = fit.predict(12, draws=50, seed=2).distribution("admissions")
    root = fit.scenario.org.root
    assert frame.loc[root, "admissions-hi-90"] == d.quantile(0.95)[root]
    assert frame.loc[root, "admissions"] == pytest.approx(d.mean()[root], rel=1e-12)
    # --plug-in: the parameters' means, as any scenario
    assert cli.main(["forecast", str(out), "--method", "exact", "--plug-in", "--format", "csv"]) == 0
    plug = pd.read_csv(io.StringIO(capsys.readouterr().out), dtype={"unit_id": str}).set_index("unit_id")
    plain = mf.forecast(fit.scenario, 12, method="exact").distribution("admissions")
    assert plug.loc[root, "admissions-hi-90"] == plain.quantile(0.95)[root]
    assert plug.loc[root, "admissions-hi-90"] < frame.loc[root, "admissions-hi-90"]
