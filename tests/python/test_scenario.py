"""memberflow.Scenario: parameter resolution, stocks, targets, files and display."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import memberflow as mf

ORG = pd.DataFrame({
    "unit_id": ["D", "C1", "C1-1", "C1-2", "C2", "C2-1", "B1"],
    "parent_id": [None, "D", "C1", "C1", "D", "C2", "D"],
    "kind": ["district", "committee", "sub_cell", "sub_cell", "committee", "sub_cell", "cell"],
})

PARAMS = pd.DataFrame([
    ["C1-2", "training", "advance", 0.4],
    ["kind:sub_cell", "training", "advance", 0.3],
    ["*", "training", "advance", 0.2],
    ["*", "probation", "pass_rate", 0.9],
    ["kind:cell", "probation", "pass_rate", 0.95],
    ["C2-1", "full", "attrition", 0.01],
    ["kind:committee", "source", "inflow", 0.0],
    ["B1", "", "inflow", 2.5],
    ["kind:sub_cell", "", "transfer_in", 0.25],
], columns=["scope", "stage", "param", "value"])

STOCKS = pd.DataFrame([
    ["C1-1", "source", 4, None], ["C1-1", "training", 2, None], ["C1-1", "probation", 3, 0],
    ["C1-1", "probation", 1, 11], ["C1-1", "full", 25, None], ["C1-2", "full", 18, None],
    ["B1", "probation", 2, 5], ["B1", "full", 12, None], ["D", "training", 1, None],
], columns=["unit_id", "stage", "count", "months_in_stage"])


@pytest.fixture
def org():
    return mf.Org.from_frame(ORG)


@pytest.fixture
def scenario(org):
    return mf.Scenario(org, params=PARAMS, stocks=STOCKS, targets={"D": 30, "C1": 12})


def test_parameters_resolve_from_general_to_specific(scenario):
    advance = scenario.param("advance")
    assert list(advance.columns) == ["source", "training", "probation", "full"]
    assert advance["training"].to_dict() == {"D": 0.2, "C1": 0.2, "C1-1": 0.3, "C1-2": 0.4, "C2": 0.2, "C2-1": 0.3,
                                             "B1": 0.2}
    assert (advance["source"] == 0.05).all()  # the party default, untouched
    assert scenario.param("pass_rate")["probation"].to_dict() == {"D": 0.9, "C1": 0.9, "C1-1": 0.9, "C1-2": 0.9,
                                                                   "C2": 0.9, "C2-1": 0.9, "B1": 0.95}
    attrition = scenario.param("attrition")["full"]
    assert attrition["C2-1"] == 0.01 and (attrition.drop("C2-1") == 0.002).all()
    assert scenario.param("inflow").to_dict() == {"D": 1.0, "C1": 0.0, "C1-1": 1.0, "C1-2": 1.0, "C2": 0.0,
                                                  "C2-1": 1.0, "B1": 2.5}
    assert scenario.param("transfer_in").to_dict() == {"D": 0.0, "C1": 0.0, "C1-1": 0.25, "C1-2": 0.25, "C2": 0.0,
                                                       "C2-1": 0.25, "B1": 0.0}
    with pytest.raises(mf.UnknownIdError, match="unknown parameter 'speed'"):
        scenario.param("speed")


def test_params_table_is_general_and_every_row_matters(scenario):
    table = scenario.params
    assert list(table.columns) == ["scope", "stage", "param", "value"]
    # brute force: the per-unit rows it replaces (every resolved value that differs from the default)
    defaults = mf.Scenario(scenario.org)
    per_unit = 0
    for name in ("advance", "exit", "pass_rate", "attrition", "inflow", "transfer_in"):
        got, base = pd.DataFrame(scenario.param(name)), pd.DataFrame(defaults.param(name))
        per_unit += int((got != base).to_numpy().sum())
    assert 0 < len(table) < per_unit
    # each row matters: without it, some unit's value changes
    for i in range(len(table)):
        fewer = mf.Scenario(scenario.org, params=table.drop(index=i))
        assert any(not np.array_equal(fewer.param(n).to_numpy(), scenario.param(n).to_numpy())
                   for n in ("advance", "exit", "pass_rate", "attrition", "inflow", "transfer_in")), table.iloc[i]
    # and it rebuilds the same scenario
    again = mf.Scenario(scenario.org, params=table)
    for name in ("advance", "exit", "pass_rate", "attrition", "inflow", "transfer_in"):
        pd.testing.assert_frame_equal(pd.DataFrame(again.param(name)), pd.DataFrame(scenario.param(name)))


def test_stocks_round_trip(scenario):
    stocks = scenario.stocks
    assert list(stocks.columns) == ["unit_id", "stage", "count", "months_in_stage"]
    assert stocks["count"].dtype == np.int64 and str(stocks["months_in_stage"].dtype) == "Int64"
    key = ["unit_id", "stage", "months_in_stage"]
    given = STOCKS.assign(months_in_stage=STOCKS["months_in_stage"].astype("Int64"))
    norm = lambda f: (f.assign(unit_id=f["unit_id"].astype(object), stage=f["stage"].astype(object))
                      .sort_values(key).reset_index(drop=True))
    pd.testing.assert_frame_equal(norm(stocks), norm(given), check_dtype=False)


def test_stock_totals(scenario):
    totals = scenario.stock_totals()
    assert list(totals.columns) == ["source", "training", "probation", "full"]
    expected = STOCKS.groupby(["unit_id", "stage"])["count"].sum().unstack(fill_value=0)
    for u in scenario.org.ids:
        for s in totals.columns:
            want = expected.loc[u, s] if u in expected.index and s in expected.columns else 0
            assert totals.loc[u, s] == want, (u, s)


def test_stocks_with_float_counts_and_no_age_column(org):
    # pandas turns integer columns with gaps into floats: 3.0 is a whole number
    frame = pd.DataFrame({"unit_id": ["C1-1", "C2-1"], "stage": ["full", "training"], "count": [3.0, 7.0]})
    sc = mf.Scenario(org, stocks=frame)
    assert sc.stock_totals().loc["C1-1", "full"] == 3 and sc.stock_totals().loc["C2-1", "training"] == 7


@pytest.mark.parametrize("form", ["mapping", "series", "frame", "csv"])
def test_targets_in_every_form(org, tmp_path, form):
    targets = {"D": 30.0, "C1": 12.5, "B1": 0.0}
    if form == "series":
        value = pd.Series(targets)
    elif form == "frame":
        value = pd.DataFrame({"unit_id": list(targets), "target": list(targets.values())})
    elif form == "csv":
        value = tmp_path / "targets.csv"
        value.write_text("unit_id,target\nD,30\nC1,12.5\nB1,0\n")
    else:
        value = targets
    sc = mf.Scenario(org, targets=value)
    assert sc.targets.to_dict() == targets
    assert sc.targets.name == "target"


def test_tables_from_csv_paths_equal_dataframes(org, tmp_path):
    PARAMS.to_csv(tmp_path / "params.csv", index=False)
    STOCKS.to_csv(tmp_path / "stocks.csv", index=False)
    a = mf.Scenario(org, params=PARAMS, stocks=STOCKS)
    b = mf.Scenario(org, params=tmp_path / "params.csv", stocks=str(tmp_path / "stocks.csv"))
    pd.testing.assert_frame_equal(a.stock_totals(), b.stock_totals())
    pd.testing.assert_frame_equal(a.params, b.params)


def test_files_round_trip(tmp_path, district2021):
    sc = district2021
    paths = sc.to_files(tmp_path / "scenario")
    assert sorted(paths) == ["manifest", "overseers", "params", "stocks", "targets", "units"]
    assert all(p.exists() for p in paths.values())
    back = mf.Scenario.read(tmp_path / "scenario")  # the pipeline comes from the manifest, nothing is handed over
    assert back.pipeline.to_json() == sc.pipeline.to_json()
    assert back.start == sc.start == pd.Period("2021-01", freq="M")
    pd.testing.assert_frame_equal(back.org.to_frame(), sc.org.to_frame())
    assert back.org.overseers == sc.org.overseers
    pd.testing.assert_series_equal(back.targets, sc.targets)
    pd.testing.assert_frame_equal(back.stock_totals(), sc.stock_totals())
    for name in ("advance", "exit", "pass_rate", "attrition", "inflow", "transfer_in"):
        pd.testing.assert_frame_equal(pd.DataFrame(back.param(name)), pd.DataFrame(sc.param(name)))
    a, b = mf.forecast(sc, 12), mf.forecast(back, 12)
    for q in a.quantities:
        np.testing.assert_array_equal(a.own(q), b.own(q))


def test_custom_pipeline(org):
    from memberflow import stage
    pipe = mf.Pipeline([stage.markov("lead", 0.5, 0.1, inflow=3.0), stage.fixed("trial", 2, 0.0, 1.0),
                        stage.terminal("member", 0.0, transfer_in=0.5)], admission="trial")
    sc = mf.Scenario(org, pipe, stocks=pd.DataFrame({"unit_id": ["B1"], "stage": ["lead"], "count": [10]}))
    assert sc.pipeline.stages == ["lead", "trial", "member"]
    assert sc.param("inflow").eq(3.0).all() and sc.param("transfer_in").eq(0.5).all()
    fc = mf.forecast(sc, horizon=4)
    assert fc.quantities == ["lead", "trial", "member", "admissions", "confirmations", "arrivals", "exits", "leavers"]
    b1 = list(org.ids).index("B1")
    # 10 leads: 5 admitted in month 0, confirmed in month 2 (a 2-month trial)
    assert fc.own("admissions")[b1, 0] == pytest.approx(5.0)
    assert fc.own("confirmations")[b1, 2] == pytest.approx(5.0)
    assert fc.own("confirmations")[b1, :2].tolist() == [0.0, 0.0]


def test_scenario_display(scenario):
    text = repr(scenario)
    assert "7 units" in text and "full 55" in text and "probation 6" in text and "2 targets" in text
    html = scenario._repr_html_()
    assert "7 units" in html and "2 targets" in html and "<table" in html and "55" in html
    assert "source &rarr; training &rarr; probation &rarr; full" in html
