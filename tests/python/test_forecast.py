"""memberflow.forecast(method="expected") against the model: conservation of people,
subtree sums, windows, the tidy frame, an exact matrix reference, a Monte Carlo over
individual people, the fixed-stage rule and the precedence of parameter overrides."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from helpers import nx_tree, random_tree_frame
from builders import scenario_of
from model_reference import EVENTS, Model, expected_reference, simulate

import memberflow as mf

PARTY_STAGES = [("source", "markov", 1), ("training", "markov", 1), ("probation", "fixed", 12), ("full", "terminal", 1)]
SHORT_STAGES = [("lead", "markov", 1), ("course", "markov", 1), ("trial", "fixed", 4), ("member", "terminal", 1)]


def random_model(rng: np.random.Generator, units: list[str], stages, admission: int) -> Model:
    model = Model(stages=stages, admission=admission, units=units)
    for u in units:
        adv, ex, pr = {}, {}, {}
        for s, (_, kind, months) in enumerate(stages):
            if kind == "markov":
                adv[s] = float(rng.uniform(0, 0.6))
                ex[s] = float(rng.uniform(0, 1 - adv[s]))
            elif kind == "fixed":
                ex[s] = float(rng.uniform(0, 0.1))
                pr[s] = float(rng.uniform(0.5, 1))
        model.params[u] = {"advance": adv, "exit": ex, "pass_rate": pr, "attrition": float(rng.uniform(0, 0.05)),
                           "inflow": float(rng.choice([0, rng.uniform(0, 3)])),
                           "transfer_in": float(rng.choice([0, rng.uniform(0, 1)]))}
        model.stocks[u] = {slot: int(rng.integers(0, 6)) for slot in model.slots() if rng.random() < 0.6}
    return model


# -- an exact reference ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("stages, admission", [(PARTY_STAGES, 2), (SHORT_STAGES, 2), (SHORT_STAGES, 1)])
def test_expected_matches_matrix_reference(seed, stages, admission):
    rng = np.random.default_rng(seed)
    frame = random_tree_frame(rng, int(rng.integers(1, 12)))
    org = mf.Org.from_frame(frame)
    model = random_model(rng, list(frame["unit_id"]), stages, admission)
    horizon = int(rng.integers(1, 20))
    fc = mf.forecast(scenario_of(model, org), horizon=horizon)
    ref = expected_reference(model, horizon)
    assert fc.quantities == [name for name, _, _ in stages] + list(EVENTS)
    for q, expected in ref.items():
        np.testing.assert_allclose(fc.own(q), expected, rtol=1e-10, atol=1e-10, err_msg=q)


# -- conservation, subtree sums, windows ------------------------------------------------------------------


def check_conservation(fc: mf.Forecast) -> None:
    stocks = [q for q in fc.quantities if q not in EVENTS]
    total = sum(np.asarray(fc.own(s)) for s in stocks)  # units x (H + 1)
    change = np.diff(total, axis=1)
    flow = np.asarray(fc.own("arrivals")) - np.asarray(fc.own("exits")) - np.asarray(fc.own("leavers"))
    assert change.shape == flow.shape == (len(fc.org), fc.horizon)
    np.testing.assert_allclose(change, flow, rtol=0, atol=1e-9)


def test_people_conserved_example_district(district2020_forecast):
    check_conservation(district2020_forecast)


def test_people_conserved_synthetic():
    check_conservation(mf.forecast(mf.datasets.synthetic(None, fanout=[4, 3.5, 2.2], seed=3), horizon=30))


@pytest.mark.parametrize("seed", range(4))
def test_people_conserved_random(seed):
    rng = np.random.default_rng(100 + seed)
    frame = random_tree_frame(rng, 20)
    model = random_model(rng, list(frame["unit_id"]), PARTY_STAGES, 2)
    check_conservation(mf.forecast(scenario_of(model, mf.Org.from_frame(frame)), horizon=25))


def test_mean_is_the_subtree_sum_of_own_values(district2020_forecast):
    fc = district2020_forecast
    g = nx_tree(fc.org.to_frame())
    row = {u: i for i, u in enumerate(fc.org.ids)}
    for q in fc.quantities:
        own = np.asarray(fc.own(q))
        mean = fc.mean(q, month=7) if q in fc.scenario.pipeline.stages else fc.mean(q, window=(2, 9))
        for u in fc.org.ids:
            members = [row[v] for v in nx.descendants(g, u) | {u}]
            expected = own[members, 7].sum() if q in fc.scenario.pipeline.stages else own[members, 2:9].sum()
            assert mean[u] == pytest.approx(expected, rel=1e-12, abs=1e-12), (q, u)
    # and the defaults: events over the whole horizon, stocks at its end
    adm = fc.mean("admissions")
    assert adm["D"] == pytest.approx(np.asarray(fc.own("admissions")).sum(), rel=1e-12)
    full = fc.mean("full")
    assert full["D"] == pytest.approx(np.asarray(fc.own("full"))[:, 12].sum(), rel=1e-12)


def test_windows_add_up(district2020):
    fc = mf.forecast(district2020, horizon=24)
    for event in fc.events:
        year = fc.mean(event, window=(0, 12))
        quarters = [fc.mean(event, window=(3 * q, 3 * q + 3)) for q in range(4)]
        np.testing.assert_allclose(sum(quarters), year, rtol=1e-12, atol=1e-12)
        for k in (1, 5, 11, 23):
            np.testing.assert_allclose(fc.mean(event, window=(0, k)) + fc.mean(event, window=(k, 24)),
                                       fc.mean(event), rtol=1e-12, atol=1e-12)
        monthly = fc.monthly(event)
        np.testing.assert_allclose(monthly.iloc[:, 12:24].sum(axis=1), fc.mean(event, window=(12, 24)),
                                   rtol=1e-12, atol=1e-12)
    by_quarter = fc.by_quarter("admissions")  # the 2020 example starts in January 2020: calendar quarters
    assert list(by_quarter.columns) == [f"{y}Q{q}" for y in (2020, 2021) for q in range(1, 5)]
    np.testing.assert_allclose(by_quarter[["2020Q1", "2020Q2", "2020Q3", "2020Q4"]].sum(axis=1),
                               fc.mean("admissions", window=(0, 12)), rtol=1e-12)
    np.testing.assert_allclose(by_quarter.sum(axis=1), fc.mean("admissions"), rtol=1e-12)


def test_by_quarter_short_horizon(tri_org):
    sc = mf.Scenario(tri_org, stocks=pd.DataFrame({"unit_id": ["A"], "stage": ["training"], "count": [10]}))
    fc = mf.forecast(sc, horizon=7)
    q = fc.by_quarter("admissions")
    assert list(q.columns) == ["Q1", "Q2", "Q3"]
    np.testing.assert_allclose(q["Q3"], fc.mean("admissions", window=(6, 7)))


def test_to_frame_tidy(district2020_forecast):
    fc = district2020_forecast
    frame = fc.to_frame()
    assert list(frame.columns) == ["unit_id", "month", "ds", "quantity", "value"]  # the example has a calendar
    n, h = len(fc.org), fc.horizon
    assert (frame["ds"] == pd.to_datetime([f"{2020 + m // 12}-{m % 12 + 1:02d}-01" for m in frame["month"]])).all()
    n_stocks = len(fc.scenario.pipeline.stages)
    assert len(frame) == n * (n_stocks * (h + 1) + len(EVENTS) * h)
    assert set(frame["quantity"]) == set(fc.quantities)
    assert frame.duplicated(["unit_id", "month", "quantity"]).sum() == 0
    assert frame["value"].dtype == np.float64
    wide = frame.set_index(["quantity", "unit_id", "month"])["value"]
    for q in fc.events:
        months = wide.loc[q].unstack("month")
        assert list(months.columns) == list(range(h))
        pd.testing.assert_series_equal(months.sum(axis=1).reindex(fc.org.ids), fc.mean(q), check_names=False,
                                       rtol=1e-12)
        pd.testing.assert_series_equal(months[[3, 4, 5]].sum(axis=1).reindex(fc.org.ids),
                                       fc.mean(q, window=(3, 6)), check_names=False, rtol=1e-12)
    for s in fc.scenario.pipeline.stages:
        months = wide.loc[s].unstack("month")
        assert list(months.columns) == list(range(h + 1))
        for m in (0, 5, h):
            pd.testing.assert_series_equal(months[m].reindex(fc.org.ids), fc.mean(s, month=m), check_names=False,
                                           rtol=1e-12)
    own = fc.to_frame(["confirmations"], scope="own")
    np.testing.assert_array_equal(own["value"].to_numpy().reshape(n, h), fc.own("confirmations"))
    assert own["unit_id"].tolist()[:h + 1] == ["D"] * h + [fc.org.ids[1]]


def test_monthly_and_summary(district2021):
    fc = mf.forecast(district2021, horizon=18)
    m = fc.monthly("admissions")
    assert m.shape == (len(fc.org), 18) and m.index.equals(fc.org.ids)
    np.testing.assert_array_equal(fc.monthly("admissions", scope="own").to_numpy(), fc.own("admissions"))
    summary = fc.summary()
    np.testing.assert_allclose(summary["admissions"], fc.mean("admissions", window=(0, 12)), rtol=1e-12)
    np.testing.assert_allclose(summary["full_at_end"], fc.mean("full", month=12), rtol=1e-12)
    targets = district2021.targets
    for u in fc.org.ids:
        if u in targets.index:
            assert summary.loc[u, "target"] == targets[u]
            assert summary.loc[u, "shortfall"] == pytest.approx(max(targets[u] - summary.loc[u, "admissions"], 0))
        else:
            assert pd.isna(summary.loc[u, "target"]) and pd.isna(summary.loc[u, "shortfall"])
    assert summary.loc["D", "depth"] == 0 and summary.loc["C01-01", "depth"] == 2


def test_own_is_a_read_only_view_that_outlives_the_forecast(tri_org):
    fc = mf.forecast(mf.Scenario(tri_org), horizon=5)
    own = fc.own("source")
    assert not own.flags.writeable
    with pytest.raises(ValueError):
        own[0, 0] = 1.0
    expected = own.copy()
    del fc
    np.testing.assert_array_equal(own, expected)
    assert expected[:, 0].tolist() == [0, 0, 0] and expected[0, 1] == 1.0  # default inflow 1 a month


# -- the fixed-stage rule, by hand ------------------------------------------------------------------------


def test_fixed_stage_admission_in_month_t_confirmed_in_t_plus_D():
    """Certain moves: source and training advance with probability 1, nobody leaves."""
    org = mf.Org.from_frame(pd.DataFrame({"unit_id": ["R", "A", "B"], "parent_id": [None, "R", "R"]}))
    rows = [["*", "source", "advance", 1.0], ["*", "source", "exit", 0.0], ["*", "training", "advance", 1.0],
            ["*", "training", "exit", 0.0], ["*", "probation", "exit", 0.0], ["*", "probation", "pass_rate", 1.0],
            ["*", "full", "attrition", 0.0], ["*", "source", "inflow", 0.0], ["B", "", "inflow", 2.0]]
    stocks = pd.DataFrame([["A", "training", 1, None], ["R", "probation", 1, 11], ["R", "probation", 3, 4],
                           ["A", "source", 5, None]], columns=["unit_id", "stage", "count", "months_in_stage"])
    sc = mf.Scenario(org, params=pd.DataFrame(rows, columns=["scope", "stage", "param", "value"]), stocks=stocks)
    fc = mf.forecast(sc, horizon=16)
    adm = np.asarray(fc.own("admissions"))
    conf = np.asarray(fc.own("confirmations"))
    R, A, B = 0, 1, 2
    expected_adm = np.zeros((3, 16))
    expected_adm[A, 0] = 1  # from training in month 0
    expected_adm[A, 1] = 5  # the source people: training at the start of month 1, admitted in month 1
    expected_adm[B, 2:] = 2  # arrivals of month t land at t + 1, train in t + 1, are admitted in t + 2
    np.testing.assert_allclose(adm, expected_adm, atol=1e-12)
    expected_conf = np.zeros((3, 16))
    expected_conf[R, 0] = 1  # age 11: its last month is month 0
    expected_conf[R, 7] = 3  # age 4: months 0..7 are ages 4..11
    expected_conf[A, 12] = 1  # admitted in month 0 -> confirmed in month 12
    expected_conf[A, 13] = 5
    expected_conf[B, 14:] = 2
    np.testing.assert_allclose(conf, expected_conf, atol=1e-12)
    # the probation stock holds each cohort for exactly 12 months
    prob = np.asarray(fc.own("probation"))
    assert prob[A].tolist() == [0] + [1] + [6] * 11 + [5, 0, 0, 0]
    assert prob[R].tolist() == [4] * 1 + [3] * 7 + [0] * 9


@pytest.mark.parametrize("age", [0, 3, 11])
def test_fixed_stage_with_exits_and_failures(tri_org, age):
    x, p, attr = 0.03, 0.8, 0.01
    rows = [["*", "probation", "exit", x], ["*", "probation", "pass_rate", p], ["*", "full", "attrition", attr],
            ["*", "source", "inflow", 0.0]]
    sc = mf.Scenario(tri_org, params=pd.DataFrame(rows, columns=["scope", "stage", "param", "value"]),
                     stocks=pd.DataFrame([["A", "probation", 100, age]],
                                         columns=["unit_id", "stage", "count", "months_in_stage"]))
    fc = mf.forecast(sc, horizon=14)
    left = 12 - age
    conf = np.asarray(fc.own("confirmations"))[1]
    expected = np.zeros(14)
    expected[left - 1] = 100 * (1 - x) ** left * p
    np.testing.assert_allclose(conf, expected, rtol=1e-12, atol=1e-12)
    prob = np.asarray(fc.own("probation"))[1]
    np.testing.assert_allclose(prob, [100 * (1 - x) ** t if t < left else 0 for t in range(15)], rtol=1e-12, atol=1e-12)
    full = np.asarray(fc.own("full"))[1]
    np.testing.assert_allclose(full, [0 if t < left else 100 * (1 - x) ** left * p * (1 - attr) ** (t - left)
                                      for t in range(15)], rtol=1e-12, atol=1e-12)
    exits = np.asarray(fc.own("exits"))[1]
    expected_exits = [100 * (1 - x) ** t * x if t < left else 0 for t in range(14)]
    expected_exits[left - 1] += 100 * (1 - x) ** left * (1 - p)
    np.testing.assert_allclose(exits, expected_exits, rtol=1e-12, atol=1e-12)


# -- parameter precedence, visible in the forecast -----------------------------------------------------------


def test_override_precedence_in_the_forecast():
    org = mf.Org.from_frame(pd.DataFrame({
        "unit_id": ["R", "A1", "A2", "K"], "parent_id": [None, "R", "R", "R"],
        "kind": ["district", "cell", "cell", "committee"]}))
    # rows deliberately from specific to general: the order must not matter
    rows = [["A1", "training", "advance", 0.4], ["A1", "source", "inflow", 3.0],
            ["*", "training", "advance", 0.2], ["*", "source", "inflow", 1.0],
            ["kind:cell", "training", "advance", 0.3], ["kind:cell", "", "inflow", 2.0],
            ["kind:committee", "full", "transfer_in", 0.5]]
    stocks = pd.DataFrame({"unit_id": ["R", "A1", "A2", "K"], "stage": "training", "count": 10})
    sc = mf.Scenario(org, params=pd.DataFrame(rows, columns=["scope", "stage", "param", "value"]), stocks=stocks)
    advance = {"R": 0.2, "A1": 0.4, "A2": 0.3, "K": 0.2}  # unit > kind > *
    inflow = {"R": 1.0, "A1": 3.0, "A2": 2.0, "K": 1.0}
    transfer = {"R": 0.0, "A1": 0.0, "A2": 0.0, "K": 0.5}
    assert sc.param("advance")["training"].to_dict() == advance
    assert sc.param("inflow").to_dict() == inflow
    assert sc.param("transfer_in").to_dict() == transfer
    fc = mf.forecast(sc, horizon=3)
    own_adm = pd.DataFrame(fc.own("admissions"), index=org.ids)
    for u in org.ids:
        assert own_adm.loc[u, 0] == pytest.approx(10 * advance[u], rel=1e-12)
    own_arr = pd.DataFrame(fc.own("arrivals"), index=org.ids)
    for u in org.ids:
        assert own_arr.loc[u].tolist() == pytest.approx([inflow[u] + transfer[u]] * 3, rel=1e-12)
    # source stock at month 1 = month 0's inflow
    assert fc.mean("source", month=1).to_dict() == pytest.approx({"R": 7.0, "A1": 3.0, "A2": 2.0, "K": 1.0})


# -- Monte Carlo over individual people --------------------------------------------------------------------


def mc_model(stages) -> Model:
    units = ["R", "A", "B"]
    model = Model(stages=stages, admission=2, units=units)
    D = stages[2][2]
    model.params = {
        "R": {"advance": {0: 0.15, 1: 0.25}, "exit": {0: 0.05, 1: 0.05, 2: 0.01}, "pass_rate": {2: 0.9},
              "attrition": 0.01, "inflow": 0.5, "transfer_in": 0.1},
        "A": {"advance": {0: 0.3, 1: 0.4}, "exit": {0: 0.1, 1: 0.02, 2: 0.03}, "pass_rate": {2: 0.8},
              "attrition": 0.02, "inflow": 1.5, "transfer_in": 0.2},
        "B": {"advance": {0: 0.1, 1: 0.2}, "exit": {0: 0.02, 1: 0.1, 2: 0.0}, "pass_rate": {2: 1.0},
              "attrition": 0.0, "inflow": 0.8, "transfer_in": 0.0},
    }
    model.stocks = {
        "R": {(0, 0): 3, (1, 0): 2, (2, 0): 1, (2, D // 2): 1, (2, D - 1): 2, (3, 0): 20},
        "A": {(0, 0): 6, (1, 0): 4, (2, 1): 2, (2, D - 2): 1, (2, D - 1): 1, (3, 0): 30},
        "B": {(0, 0): 2, (1, 0): 5, (2, 0): 2, (2, D - 1): 1, (3, 0): 10},
    }
    return model


@pytest.mark.parametrize("stages", [PARTY_STAGES, SHORT_STAGES], ids=["party D=12", "short D=4"])
def test_expected_against_monte_carlo(tri_org, stages):
    model = mc_model(stages)
    horizon, paths = 14, 20_000
    sim = simulate(model, horizon, paths, np.random.default_rng(20210201))
    fc = mf.forecast(scenario_of(model, tri_org), horizon=horizon)
    units = list(tri_org.ids)
    assert units == model.units
    checks = [("admissions", fc.mean("admissions")), ("confirmations", fc.mean("confirmations"))]
    checks += [(name, fc.mean(name, month=horizon)) for name, _, _ in stages]
    for q, expected in checks:
        samples = dict(zip(units, sim[q].T))
        samples["R"] = sim[q].sum(axis=1)  # R's subtree is the whole organisation
        for u in units:
            x = samples[u]
            se = x.std(ddof=1) / np.sqrt(paths)
            assert se > 0, (q, u)
            assert abs(x.mean() - expected[u]) <= 5 * se, \
                f"{q} at {u}: MC {x.mean():.4f} ± {se:.4f}, expected {expected[u]:.4f}"


def test_monte_carlo_reference_agrees_with_matrix_reference():
    """The two references agree with each other too (so neither is vacuous)."""
    model = mc_model(SHORT_STAGES)
    sim = simulate(model, 14, 20_000, np.random.default_rng(5))
    ref = expected_reference(model, 14)
    for q in ("admissions", "confirmations"):
        mean, se = sim[q].mean(axis=0), sim[q].std(axis=0, ddof=1) / np.sqrt(20_000)
        assert (np.abs(mean - ref[q].sum(axis=1)) <= 5 * se).all(), q


# -- display -------------------------------------------------------------------------------------------------


def test_forecast_display(district2020_forecast):
    fc = district2020_forecast
    text = repr(fc)
    adm = fc.mean("admissions")["D"]
    assert "267 units" in text and "12 months" in text and "expected" in text and f"{adm:.1f}" in text
    html = fc._repr_html_()
    assert "267 units" in html and "12 months" in html and "<table" in html
    assert f"{adm:,.1f}" in html and "C13" in html and "C01-01" not in html  # root and its children only


# -- whole numbers, the calendar, pro-rata targets ---------------------------------------------------


@pytest.mark.parametrize("horizon", [12.5, 12.0, np.float64(12), True, "12", None])
def test_horizon_must_be_an_int_not_truncated(tri_org, horizon):
    with pytest.raises(mf.InputError, match=r"horizon must be a whole number \(an int\), got"):
        mf.forecast(mf.Scenario(tri_org), horizon=horizon)


def test_numpy_integers_are_whole_numbers(tri_org):
    fc = mf.forecast(mf.Scenario(tri_org), horizon=np.int64(5), threads=np.int32(1))
    assert fc.horizon == 5
    for threads in (1.0, -1, True):
        with pytest.raises(mf.InputError, match="threads must be"):
            mf.forecast(mf.Scenario(tri_org), horizon=5, threads=threads)
    with pytest.raises(mf.InputError, match="horizon must be at most 2147483647"):
        mf.forecast(mf.Scenario(tri_org), horizon=2**31)


def calendar_forecast(tri_org, start, horizon):
    stocks = pd.DataFrame({"unit_id": ["A", "B"], "stage": ["training", "source"], "count": [10, 7]})
    return mf.forecast(mf.Scenario(tri_org, stocks=stocks, targets={"R": 12, "A": 5}, start=start), horizon=horizon)


def test_without_a_calendar_months_are_numbers_and_quarters_q1_to_qn(tri_org):
    fc = calendar_forecast(tri_org, None, 7)
    assert fc.start is None and fc.dates() is None
    assert "ds" not in fc.to_frame().columns
    q = fc.quarters()
    assert list(q.index) == ["Q1", "Q2", "Q3"]
    assert q[["first", "last", "months"]].values.tolist() == [[0, 3, 3], [3, 6, 3], [6, 7, 1]]
    assert q["partial"].tolist() == [False, False, True]
    assert fc.window_label(0, 7) == "months 0-6"


def test_a_start_month_gives_dates_and_calendar_quarters(tri_org):
    fc = calendar_forecast(tri_org, "2021-02", 14)
    assert fc.start == pd.Period("2021-02", freq="M")
    frame = fc.to_frame(["admissions", "full"])
    assert list(frame.columns) == ["unit_id", "month", "ds", "quantity", "value"]
    expected = [pd.Timestamp(year=2021 + (1 + m) // 12, month=(1 + m) % 12 + 1, day=1) for m in frame["month"]]
    assert frame["ds"].tolist() == expected
    assert frame.loc[frame["quantity"] == "full", "ds"].max() == pd.Timestamp("2022-04-01")  # stocks: 0..horizon
    # Feb 2021 .. Mar 2022: the first quarter is partial (Feb, Mar), the last is whole
    q = fc.quarters()
    assert list(q.index) == ["2021Q1", "2021Q2", "2021Q3", "2021Q4", "2022Q1"]
    assert q["months"].tolist() == [2, 3, 3, 3, 3]
    assert q["partial"].tolist() == [True, False, False, False, False]
    by_quarter = fc.by_quarter("admissions")
    assert list(by_quarter.columns) == list(q.index)
    np.testing.assert_allclose(by_quarter["2021Q1"], fc.mean("admissions", window=(0, 2)), rtol=1e-15)
    np.testing.assert_allclose(by_quarter.sum(axis=1), fc.mean("admissions"), rtol=1e-12)
    assert fc.window_label(0, 12) == "2021-02 to 2022-01"
    # a quarter cut by the horizon: covered months only, marked partial
    short = calendar_forecast(tri_org, "2021-11", 4).quarters()
    assert list(short.index) == ["2021Q4", "2022Q1"] and short["months"].tolist() == [2, 2]
    assert short["partial"].all()
    assert calendar_forecast(tri_org, pd.Period("2021-04", freq="M"), 6).quarters()["partial"].tolist() == [False,
                                                                                                            False]


def test_targets_are_yearly_and_count_pro_rata_over_a_shorter_window(tri_org):
    fc = calendar_forecast(tri_org, None, 6)
    table = fc.summary()
    assert table.loc["R", "target"] == 12 and table.loc["R", "target_window"] == 6
    assert table.loc["A", "target_window"] == 2.5
    assert pd.isna(table.loc["B", "target_window"])
    np.testing.assert_array_equal(table["shortfall"].dropna(),
                                  (table["target_window"] - table["admissions"]).clip(lower=0).dropna())
    year = calendar_forecast(tri_org, None, 24).summary()
    assert (year["target_window"].dropna() == year["target"].dropna()).all()  # a 12-month window: the target itself
    assert calendar_forecast(tri_org, None, 24).target_window((0, 24))["R"] == 24
