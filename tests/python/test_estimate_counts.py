"""Estimation from aggregate counts (docs/estimation.md, "From aggregate counts"): the
yearly counts of the synthetic history give the event log's events and nearly its rates,
recover the truth about as well, agree with the exact likelihood of the organisation's
yearly admissions, and round-trip as a scenario; bad counts are refused, never dropped."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import memberflow as mf
from memberflow.estimate_counts import estimate_counts

RECONSTRUCTED = [("source", "advance"), ("source", "exit"), ("training", "advance"), ("training", "exit"),
                 ("probation", "exit"), ("full", "attrition")]


@pytest.fixture(scope="module")
def history():
    return mf.datasets.example_history(seed=0)


@pytest.fixture(scope="module")
def counts(history):
    return mf.CountTable.from_frame(history.yearly, history.start)


WINDOWS = {"2016-2020": ("2016-01", "2020-12"), "2020": ("2020-01", "2020-12")}


@pytest.fixture(scope="module", params=list(WINDOWS))
def fits(request, history, counts):
    first, last = WINDOWS[request.param]
    log = mf.EventLog.from_frame(history.events, history.start)
    return {"window": request.param, "log": mf.estimate(log, first, last, drift=False),
            "model": mf.estimate(counts, first, last, drift=False),
            "trapezoid": estimate_counts(counts, first, last, drift=False, approximation="trapezoid")}


def org_rate(fit, stage, param):
    r = fit.rates[(fit.rates.stage == stage) & (fit.rates.param == param)]
    return r.events.sum() / r.exposure.sum()


def test_estimate_takes_a_count_table(counts, history, fits):
    fit = mf.estimate(counts)  # every whole year of the table: 2016-2020, with the drift
    assert (fit.first, fit.last) == (pd.Period("2016-01", freq="M"), pd.Period("2020-12", freq="M"))
    assert fit.scenario.start == pd.Period("2021-01", freq="M")
    # the stocks are the counts' ends of 2020, which are the log's stocks at 2021-01
    pd.testing.assert_frame_equal(fit.scenario.stock_totals(), history.end.stock_totals())
    assert list(fit.rates.columns) == list(fits["log"].rates.columns)
    assert not fit.drift.empty
    assert mf.forecast(fit.scenario, 12).mean("admissions")["D"] > 0


def test_events_are_counted_and_exposures_reconstructed(fits):
    log, model = (f.rates.set_index(["unit_id", "stage", "param"]) for f in (fits["log"], fits["model"]))
    pd.testing.assert_series_equal(model.events, log.events)
    # pass_rate, inflow and transfer_in need no reconstruction: the same trials
    for stage, param in [("probation", "pass_rate"), ("source", "inflow"), ("full", "transfer_in")]:
        pd.testing.assert_series_equal(model.exposure.xs((stage, param), level=[1, 2]),
                                       log.exposure.xs((stage, param), level=[1, 2]))
    # person-months are never fewer than the moves made from them
    assert (model.exposure >= model.events - 1e-9).all()


# The organisation's rate from counts relative to the log's, measured on seed 0 (model,
# trapezoid): 2016-2020 source -0.6%, -1.3%; training advance -4.7%, -6.2% (a seed's noise:
# averaged over seeds 0-39 -0.3%, -1.9%); probation exit +0.0%, -0.6%; 2020 source -1.3%,
# -2.1%; training -0.1%, +4.4%; probation exit -0.3%, -4.1%; attrition within 0.01%.
BOUNDS = {"2016-2020": {"source": 0.01, "training": 0.06, "probation": 0.01, "full": 0.002},
          "2020": {"source": 0.02, "training": 0.01, "probation": 0.01, "full": 0.002}}


@pytest.mark.parametrize("stage, param", RECONSTRUCTED)
def test_the_organisations_rates_from_counts_are_the_logs(fits, stage, param):
    bound = BOUNDS[fits["window"]][stage]
    assert org_rate(fits["model"], stage, param) == pytest.approx(org_rate(fits["log"], stage, param), rel=bound)


def test_the_model_beats_the_trapezoid(fits):
    # the trapezoid misplaces the person-months of stages whose entries come unevenly
    for stage, param in [("training", "advance"), ("training", "exit"), ("probation", "exit"), ("source", "advance")]:
        log = org_rate(fits["log"], stage, param)
        model = abs(org_rate(fits["model"], stage, param) / log - 1)
        trapezoid = abs(org_rate(fits["trapezoid"], stage, param) / log - 1)
        assert model < trapezoid, (stage, param, model, trapezoid)


@pytest.mark.parametrize("stage, param", [("source", "advance"), ("training", "advance"), ("full", "attrition")])
def test_counts_recover_the_truth_about_as_well_as_the_log(history, fits, stage, param):
    first, last = WINDOWS[fits["window"]]
    truth = history.truth[(history.truth.stage == stage) & (history.truth.param == param)
                          & history.truth.year.between(int(first[:4]), int(last[:4]))]
    true_rate = truth.groupby("unit_id")["value"].mean()
    base = fits["log"].rates
    has = base[(base.stage == stage) & (base.param == param)].set_index("unit_id").exposure > 0
    mse, bias = {}, {}
    for name in ("log", "model"):
        r = fits[name].rates
        r = r[(r.stage == stage) & (r.param == param)].set_index("unit_id")[has]
        err = r["mean"] - true_rate.reindex(r.index)
        mse[name], bias[name] = (err ** 2).mean(), err.mean()
    # measured on seed 0: the counts' MSE at most 24% above the log's (training,
    # 2016-2020), the mean errors apart by at most 0.27 of the log's root MSE
    assert mse["model"] < 1.3 * mse["log"], mse
    assert abs(bias["model"] - bias["log"]) < 0.35 * np.sqrt(mse["log"]), (bias, mse)


def test_the_exact_likelihood_of_the_yearly_admissions_agrees(history, counts):
    """The exact engine's pmf of the district's 2020 admissions, given the stocks at
    2020-01 and the rates fitted from the 2020 counts with training's advance rate times
    c, profiled over c: the counts' estimate (c = 1) is inside the exact 95% likelihood
    interval and near its maximum (seed 0: c-hat 0.997)."""
    from memberflow.estimate_counts import _snapshot

    fit = mf.estimate(counts, "2020-01", "2020-12", drift=False)
    stocks = _snapshot(counts, "2020-01")
    observed = int(history.yearly[history.yearly.year == 2020].admissions.sum())
    grid = np.round(np.arange(0.7, 1.41, 0.05), 3)
    ll = np.array([_admissions_loglik(fit.scenario, stocks, c, observed) for c in grid])
    inside = grid[2 * (ll.max() - ll) <= 3.84]
    assert inside.min() < 1 < inside.max()
    assert abs(grid[ll.argmax()] - 1) <= 0.05
    assert 0.1 < inside.max() - inside.min() < 0.6  # the count says something, not everything


def _admissions_loglik(scn: mf.Scenario, stocks: pd.DataFrame, c: float, observed: int) -> float:
    adv, ex = scn.param("advance"), scn.param("exit")
    pas, att = scn.param("pass_rate"), scn.param("attrition")
    inflow, tin = scn.param("inflow"), scn.param("transfer_in")
    rows = []
    for u in scn.org.ids:
        a = adv.loc[u, "training"]
        q = ex.loc[u, "training"] / (1 - a)  # leaving given not advancing, kept
        rows += [(u, "source", "advance", adv.loc[u, "source"]), (u, "source", "exit", ex.loc[u, "source"]),
                 (u, "training", "advance", c * a), (u, "training", "exit", q * (1 - c * a)),
                 (u, "probation", "exit", ex.loc[u, "probation"]),
                 (u, "probation", "pass_rate", pas.loc[u, "probation"]), (u, "full", "attrition", att.loc[u, "full"]),
                 (u, "source", "inflow", inflow[u]), (u, "full", "transfer_in", tin[u])]
    params = pd.DataFrame(rows, columns=["scope", "stage", "param", "value"])
    check = mf.Scenario(scn.org, scn.pipeline, stocks=stocks, params=params)
    pmf = mf.forecast(check, 12, method="exact").distribution("admissions").pmf("D")
    return float(np.log(pmf.get(observed, 0.0) + 1e-300))


def test_the_fitted_scenario_round_trips(counts, tmp_path):
    fit = mf.estimate(counts, "2019-01", "2020-12")
    fit.scenario.to_files(tmp_path / "fitted")
    back = mf.Scenario.read(tmp_path / "fitted")
    assert back.start == fit.scenario.start
    pd.testing.assert_frame_equal(back.stocks, fit.scenario.stocks)
    a = mf.forecast(fit.scenario, 12, method="exact")
    b = mf.forecast(back, 12, method="exact")
    pd.testing.assert_series_equal(a.mean("admissions"), b.mean("admissions"))
    pd.testing.assert_frame_equal(a.interval("admissions", level=90), b.interval("admissions", level=90))


def test_probation_ages_follow_the_admissions(counts, history):
    fit = mf.estimate(counts, "2020-01", "2020-12", drift=False)
    s = fit.scenario.stocks
    p = s[(s.stage == "probation")]
    assert p.groupby("unit_id")["count"].sum().reindex(history.end.org.ids, fill_value=0).sum() == \
        history.end.stock_totals()["probation"].sum()
    assert set(p.months_in_stage.dropna()) <= set(range(12))


def test_the_command_line_fits_counts(history, tmp_path):
    history.to_files(tmp_path / "hist")
    out = subprocess.run([sys.executable, "-m", "memberflow", "fit", str(tmp_path / "hist" / "start"), "--counts",
                          str(tmp_path / "hist" / "yearly.csv"), "--into", str(tmp_path / "fitted")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "from 1,335 rows of counts" in out.stdout
    scn = mf.Scenario.read(tmp_path / "fitted")
    assert scn.start == pd.Period("2021-01", freq="M")
    rates = pd.read_csv(tmp_path / "fitted" / "rates.csv")
    assert set(rates.param) >= {"advance", "exit", "pass_rate", "attrition", "inflow", "transfer_in"}
    both = subprocess.run([sys.executable, "-m", "memberflow", "fit", str(tmp_path / "hist" / "start"), "--counts",
                           "a.csv", "--events", "b.csv", "--into", str(tmp_path / "x")], capture_output=True, text=True)
    assert both.returncode != 0 and "not allowed with" in both.stderr


def test_bad_counts_are_refused_with_the_unit_and_row(history):
    yearly = history.yearly
    without = mf.CountTable.from_frame(yearly.drop(columns="training_exits"), history.start)
    with pytest.raises(mf.InputError, match=r"column 'training_exits' is unknown"):
        mf.estimate(without, "2020-01", "2020-12")
    gap = mf.CountTable.from_frame(yearly[~((yearly.unit_id == "C01-03") & (yearly.year == 2019))], history.start)
    with pytest.raises(mf.InputError, match=r"unit 'C01-03': no counts for 2019-01..2019-12"):
        mf.estimate(gap, "2019-01", "2020-12")
    counts = mf.CountTable.from_frame(yearly, history.start)
    with pytest.raises(mf.InputError, match=r"period 2020\) the period runs over the window|runs over the window"):
        mf.estimate(counts, "2020-01", "2020-06")
    with pytest.raises(mf.InputError, match="approximation must be"):
        estimate_counts(counts, approximation="linear")
    with pytest.raises(TypeError, match="EventLog or CountTable"):
        mf.estimate(yearly)


def monthly_counts(history, first: str, last: str) -> pd.DataFrame:
    """The event log's exposures as a count table of months (a month's at-risk people are
    its start stocks)."""
    log = mf.EventLog.from_frame(history.events, history.start)
    x = log.exposures(first, last).pivot_table(index=["unit_id", "ds"], columns="stage",
                                               values=["at_risk", "advanced", "exited", "completing", "arrivals",
                                                       "transfers_in"], aggfunc="sum")
    out = pd.DataFrame({"unit_id": x.index.get_level_values(0),
                        "period": [f"{d.year}-{d.month:02d}" for d in x.index.get_level_values(1)]})
    for s in ("source", "training", "probation", "full"):
        out[f"{s}_start"] = x[("at_risk", s)].to_numpy()
        out[f"{s}_exits"] = x[("exited", s)].to_numpy()
    out["arrivals"] = x[("arrivals", "source")].to_numpy()
    out["training_entries"] = x[("advanced", "source")].to_numpy()
    out["admissions"] = x[("advanced", "training")].to_numpy()
    out["confirmations"] = x[("advanced", "probation")].to_numpy()
    out["not_confirmed"] = (x[("completing", "probation")] - x[("advanced", "probation")]).to_numpy()
    out["transfers_in"] = x[("transfers_in", "full")].to_numpy()
    out["transfers_out"] = 0  # counted in full_exits
    return out


def test_monthly_counts_give_the_logs_fit_exactly(history):
    # A month's counts leave nothing to reconstruct: the people at risk are the start
    # stocks (entries of the month are at risk from the next), so the fit is the log's.
    counts = mf.CountTable.from_frame(monthly_counts(history, "2019-01", "2020-12"), history.start)
    log = mf.EventLog.from_frame(history.events, history.start)
    a = mf.estimate(log, "2019-01", "2020-12")
    b = mf.estimate(counts, "2019-01", "2020-12")
    pd.testing.assert_frame_equal(a.rates, b.rates, rtol=1e-9)
    pd.testing.assert_frame_equal(a.drift, b.drift, rtol=1e-9)
    assert not b.seasonal.empty  # months say when people arrive
    pd.testing.assert_frame_equal(a.seasonal, b.seasonal, rtol=1e-9)


def test_yearly_counts_have_no_seasonal_profile(counts):
    fit = mf.estimate(counts)
    assert fit.seasonal.empty
    with pytest.raises(mf.InputError, match="no seasonal profile"):
        fit.predict(12, "simulate", paths=10, seasonal=True)


def test_the_default_pools_the_sub_cells_completely_and_matched_does_not(counts, history):
    """A known limit of the default (docs/estimation.md, "From aggregate counts"): the
    expected person-months at each unit's pooled rate make the sub-cells' rates agree with
    that rate, so training's advance is pooled completely at depth 2 (kappa at its bound)
    where the event log finds kappa near 100; the matched approximation keeps some of their
    spread (seed 0: kappa 995)."""
    log = mf.EventLog.from_frame(history.events, history.start)
    kappa = {}
    for name, fit in [("log", mf.estimate(log, drift=False)), ("model", mf.estimate(counts, drift=False)),
                      ("matched", estimate_counts(counts, drift=False, approximation="matched"))]:
        p = fit.pooling
        kappa[name] = float(p[(p.stage == "training") & (p.param == "advance") & (p.depth == 2)].kappa.iloc[0])
    assert kappa["log"] < 1e3, kappa
    assert kappa["model"] > 1e7, kappa
    assert kappa["matched"] < 1e4, kappa


def test_quarterly_counts(history):
    # quarters summed from the monthly counts; seed 0, 2019-2020 measured within 1.7% of
    # the log's organisation rates (probation exit), stocks from the balance of the counts
    m = monthly_counts(history, "2019-01", "2020-12")
    m["period"] = [f"{p[:4]}Q{(int(p[5:7]) - 1) // 3 + 1}" for p in m.period]
    groups = m.groupby(["unit_id", "period"], sort=False)
    q = groups.sum(numeric_only=True)
    for s in ("source", "training", "probation", "full"):
        q[f"{s}_start"] = groups[f"{s}_start"].first()
    counts = mf.CountTable.from_frame(q.reset_index(), history.start)
    log = mf.EventLog.from_frame(history.events, history.start)
    a = mf.estimate(log, "2019-01", "2020-12", drift=False)
    b = mf.estimate(counts, "2019-01", "2020-12", drift=False)
    for stage, param in RECONSTRUCTED:
        assert org_rate(b, stage, param) == pytest.approx(org_rate(a, stage, param), rel=0.03), (stage, param)
    pd.testing.assert_frame_equal(b.scenario.stock_totals(), history.end.stock_totals())
    assert b.seasonal.empty  # quarters do not say which month
