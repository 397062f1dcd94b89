"""Scenario directories: lossless round trips (the same forecast to the bit, the same
exact pmfs), pipelines written by hand, provenance of parameters, shadowed rows."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from helpers import tree_frames
from hypothesis import given
from hypothesis import strategies as st

import memberflow as mf
from memberflow import cli, stage

PARAMS = ("advance", "exit", "pass_rate", "attrition", "inflow", "transfer_in")


def assert_same_forecasts(a: mf.Scenario, b: mf.Scenario, horizon: int = 6) -> None:
    fa, fb = mf.forecast(a, horizon), mf.forecast(b, horizon)
    assert fa.quantities == fb.quantities
    for q in fa.quantities:
        np.testing.assert_array_equal(fa.own(q), fb.own(q))  # to the bit
    ea, eb = mf.forecast(a, horizon, method="exact"), mf.forecast(b, horizon, method="exact")
    for q in ("admissions", "confirmations"):
        da, db = ea.distribution(q), eb.distribution(q)
        for unit in (a.org.root, a.org.ids[-1]):
            pd.testing.assert_series_equal(da.pmf(unit), db.pmf(unit), check_exact=True)


def assert_same_scenario(a: mf.Scenario, b: mf.Scenario) -> None:
    pd.testing.assert_frame_equal(a.org.to_frame(), b.org.to_frame())
    assert a.pipeline.to_json() == b.pipeline.to_json()
    for name in PARAMS:
        np.testing.assert_array_equal(np.asarray(a.param(name)), np.asarray(b.param(name)))
    np.testing.assert_array_equal(a._core.stocks, b._core.stocks)
    pd.testing.assert_series_equal(a.targets, b.targets)
    assert a.start == b.start


@st.composite
def pipelines(draw) -> mf.Pipeline:
    """Custom pipelines of 2-4 stages: markov or fixed stages, then a terminal one."""
    n = draw(st.integers(2, 4))
    prob = st.floats(0, 1, allow_subnormal=False)
    stages = []
    for i in range(n - 1):
        inflow = draw(st.floats(0, 5)) if i == 0 else 0.0
        if draw(st.booleans()):
            adv = draw(prob)
            stages.append(stage.markov(f"s{i}", adv, draw(prob) * (1 - adv), inflow=inflow))
        else:
            stages.append(stage.fixed(f"s{i}", draw(st.integers(1, 4)), draw(prob) * 0.3, draw(prob)))
    stages.append(stage.terminal("member", draw(prob) * 0.1, transfer_in=draw(st.floats(0, 2))))
    return mf.Pipeline(stages, admission=stages[draw(st.integers(1, n - 1))].name)


@st.composite
def scenarios(draw) -> mf.Scenario:
    frame = draw(tree_frames(max_size=12))
    org = mf.Org.from_frame(frame)
    pipe = draw(pipelines())
    sc = mf.Scenario(org, pipe, start=draw(st.sampled_from([None, "2021-01", "1999-12"])))
    # per-unit values drawn in their domains (full double precision), some shared by kind
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    for name in PARAMS:
        arr = sc._core.param_array(name)
        if name == "inflow":
            arr[:] = rng.choice([0.0, 1 / 3, 2.5], size=arr.shape)
        elif name == "transfer_in":
            arr[:] = rng.uniform(0, 2, size=arr.shape)
    for s, st_ in enumerate(sc.pipeline._core.stages):
        if st_.kind == mf._core.StageKind.markov:
            adv = sc._core.param_array("advance")
            ext = sc._core.param_array("exit")
            adv[:, s] = rng.choice([st_.advance, 0.1, rng.uniform()], size=len(org))
            ext[:, s] = rng.uniform(0, 1, size=len(org)) * (1 - adv[:, s])
    sc._core.stocks[:] = rng.integers(0, 6, size=sc._core.stocks.shape)
    sc._core.targets[:] = np.where(rng.uniform(size=len(org)) < 0.5, np.nan, rng.integers(0, 30, len(org)))
    sc._core.validate()
    return sc


@given(scenarios())
def test_random_scenarios_with_custom_pipelines_round_trip_through_the_files(tmp_path_factory, sc):
    d = tmp_path_factory.mktemp("scn")
    sc.to_files(d)
    back = mf.Scenario.read(d)
    assert_same_scenario(sc, back)
    assert_same_forecasts(sc, back)
    again = tmp_path_factory.mktemp("again")
    back.to_files(again)
    for name in ("scenario.json", "units.csv", "params.csv", "stocks.csv", "targets.csv"):
        assert (d / name).read_bytes() == (again / name).read_bytes(), name


@pytest.mark.parametrize("make", [lambda: mf.datasets.example_district(2020), mf.datasets.example_district,
                                  lambda: mf.datasets.synthetic("district", seed=3)])
def test_presets_round_trip_to_the_bit(tmp_path, make):
    sc = make()
    sc.to_files(tmp_path)
    back = mf.Scenario.read(tmp_path / "scenario.json")  # the manifest itself also reads
    assert_same_scenario(sc, back)
    assert_same_forecasts(sc, back, horizon=12)


def test_example_files_hold_their_pipeline_not_the_presets(tmp_path):
    sc = mf.datasets.example_district()
    sc.to_files(tmp_path)
    manifest = json.loads((tmp_path / "scenario.json").read_text())
    assert manifest["memberflow_scenario"] == 1 and manifest["start"] == "2021-01"
    full = manifest["pipeline"]["stages"][-1]
    assert full == {"name": "full", "kind": "terminal", "attrition": 0.0015, "transfer_in": 0.0}
    assert mf.forecast(mf.Scenario.read(tmp_path), 12).mean("admissions")["D"] == pytest.approx(88.9, abs=0.05)


def test_a_union_pipeline_written_by_hand_forecasts_without_python_objects(tmp_path):
    (tmp_path / "scenario.json").write_text(json.dumps({
        "memberflow_scenario": 1,
        "pipeline": {"admission": "member", "stages": [
            {"name": "applicant", "kind": "markov", "advance": 0.25, "exit": 0.05, "inflow": 4},
            {"name": "member", "kind": "terminal", "attrition": 0.01}]},
        "files": {"units": "units.csv", "stocks": "stocks.csv"}}))
    (tmp_path / "units.csv").write_text("unit_id,parent_id,name,kind\nU,,Union,union\nL1,U,Local 1,local\n")
    (tmp_path / "stocks.csv").write_text("unit_id,stage,count\nL1,applicant,40\nL1,member,100\n")
    sc = mf.Scenario.read(tmp_path)
    fc = mf.forecast(sc, 1)
    # month 0: 40 applicants, each joins with p = 0.25
    assert fc.mean("admissions")["U"] == pytest.approx(10.0, rel=1e-15)
    assert fc.mean("member", month=1)["L1"] == pytest.approx(100 * 0.99 + 10, rel=1e-15)


def test_loose_files_need_a_pipeline(tmp_path):
    sc = mf.datasets.example_district()
    paths = sc.to_files(tmp_path)
    with pytest.raises(mf.InputError, match="loose files do not say which pipeline they follow"):
        mf.Scenario.from_files(paths["units"], stocks=paths["stocks"])
    (tmp_path / "pipe.json").write_text(sc.pipeline.to_json())
    loose = mf.Scenario.from_files(paths["units"], params=paths["params"], stocks=paths["stocks"],
                                   targets=paths["targets"], overseers=paths["overseers"],
                                   pipeline=tmp_path / "pipe.json")
    assert_same_forecasts(sc, loose, horizon=3)
    # a directory given to from_files is read with its manifest
    assert_same_scenario(sc, mf.Scenario.from_files(tmp_path))


def test_a_loose_file_replaces_the_one_the_manifest_names(tmp_path):
    mf.datasets.example_district().to_files(tmp_path)
    (tmp_path / "t.csv").write_text("unit_id,target\nD,200\n")
    sc = mf.Scenario.read(tmp_path, targets=tmp_path / "t.csv")
    assert sc.targets.to_dict() == {"D": 200.0}


def test_a_shadowed_row_warns_naming_both_rows(tmp_path):
    sc = mf.datasets.example_district()
    sc.to_files(tmp_path)
    subcells = sc.org.units_of_kind("sub_cell")
    rows = [f"{u},source,inflow,0.1" for u in subcells] + ["kind:sub_cell,source,inflow,0.2"]
    (tmp_path / "params.csv").write_text("scope,stage,param,value\n" + "\n".join(rows) + "\n")
    with pytest.warns(mf.ParameterWarning, match=r"params.csv line 220: scope 'kind:sub_cell', stage 'source', "
                                                 r"param 'inflow' changes nothing: .* all 218 units .*line 2 "):
        mf.Scenario.read(tmp_path)


def test_an_edit_to_the_written_params_takes_effect(tmp_path):
    """The issue's case: rows appended to the exported params.csv used to change nothing."""
    sc = mf.datasets.example_district()
    sc.to_files(tmp_path)
    with open(tmp_path / "params.csv", "a") as fh:
        fh.write("*,training,advance,0.3\n")
    back = mf.Scenario.read(tmp_path)
    explained = back.explain()
    training = explained[(explained.stage == "training") & (explained.param == "advance")]
    changed = (training.value == 0.3).sum()
    assert changed > 0
    # the units still at another value are exactly those a more specific row names
    assert set(training[training.value != 0.3].scope) <= {s for s in back.params.scope if s != "*"}


def test_explain_names_the_line_or_the_default(tmp_path):
    mf.datasets.example_district().to_files(tmp_path)
    (tmp_path / "params.csv").write_text("scope,stage,param,value\nkind:sub_cell,source,inflow,0.2\n")
    sc = mf.Scenario.read(tmp_path)
    table = sc.explain("C01-01").set_index(["stage", "param"])
    assert list(sc.explain("C01-01").columns) == ["unit_id", "stage", "param", "value", "scope", "source"]
    assert table.loc[("source", "inflow"), "source"] == f"{tmp_path / 'params.csv'} line 2"
    assert table.loc[("source", "inflow"), "value"] == 0.2
    assert table.loc[("full", "attrition"), "source"] == f"{tmp_path / 'scenario.json'}: pipeline, stage 'full'"
    sc.param("attrition").loc["C01-01"]  # a copy; edit the view instead
    sc._core.param_array("attrition")[sc.org._index("C01-01"), 3] = 0.01
    assert sc.explain(["C01-01"]).set_index(["stage", "param"]).loc[("full", "attrition"), "source"] == "set in memory"
    with pytest.raises(mf.UnknownIdError, match="nowhere"):
        sc.explain("nowhere")


def test_start_month(tmp_path):
    sc = mf.datasets.example_district(2020)
    assert sc.start == pd.Period("2020-01", freq="M")
    sc.start = pd.Period("2020-07", freq="M")
    assert sc.start == pd.Period("2020-07", freq="M")
    sc.start = None
    assert sc.start is None
    with pytest.raises(mf.InputError, match="expected a calendar month YYYY-MM"):
        sc.start = "July 2020"
    with pytest.raises(mf.InputError, match="expected a monthly period"):
        sc.start = pd.Period("2020Q3", freq="Q")


def test_bad_manifest_is_located(tmp_path):
    mf.datasets.example_district().to_files(tmp_path)
    manifest = tmp_path / "scenario.json"
    doc = json.loads(manifest.read_text())
    doc["pipeline"]["stages"][1]["advnce"] = 0.2
    manifest.write_text(json.dumps(doc))
    with pytest.raises(mf.InputError, match=r"scenario.json: pipeline stage 2: unknown key 'advnce'"):
        mf.Scenario.read(tmp_path)
    with pytest.raises(mf.InputError, match="no scenario manifest here"):
        mf.Scenario.read(tmp_path / "elsewhere")


def test_a_target_that_is_not_a_number_names_the_unit():
    org = mf.datasets.example_district().org
    with pytest.raises(mf.InputError, match=r"targets DataFrame row 2: column 'target' .*'lots'"):
        mf.Scenario(org, targets={"D": 160, "C01": "lots"})


# -- through the command line ------------------------------------------------------------


@given(scenarios())
def test_random_scenarios_round_trip_through_the_command_line(tmp_path_factory, sc):
    d = tmp_path_factory.mktemp("cli")
    sc.to_files(d)
    out = d / "nodes.csv"
    assert cli.main(["forecast", str(d), "--horizon", "5", "--format", "csv", "-o", str(out)]) == 0
    nodes = pd.read_csv(out, dtype={"unit_id": str}, keep_default_na=False, na_values=[""]).set_index("unit_id")
    fc = mf.forecast(sc, 5)  # the scenario in memory, never written
    for q in ("admissions", "confirmations"):
        np.testing.assert_array_equal(nodes.loc[list(sc.org.ids), q].to_numpy(), fc.mean(q).to_numpy())


def test_example_then_forecast_dir_gives_the_embedded_example(tmp_path, capsys):
    assert cli.main(["example", str(tmp_path / "mine")]) == 0
    assert f"forecast it with: memberflow forecast {tmp_path / 'mine'}" in capsys.readouterr().out
    for args in (["forecast"], ["forecast", str(tmp_path / "mine")],
                 ["forecast", str(tmp_path / "mine" / "scenario.json")]):
        assert cli.main([*args, "--format", "json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["rows"][0]["unit_id"] == "D"
        assert doc["rows"][0]["admissions"] == mf.forecast(mf.datasets.example_district(), 12).mean("admissions")["D"]


def test_loose_files_on_the_command_line_need_a_pipeline(tmp_path, capsys):
    sc = mf.datasets.example_district()
    paths = sc.to_files(tmp_path)
    assert cli.main(["forecast", "--units", str(paths["units"]), "--stocks", str(paths["stocks"])]) == 2
    assert "--units without a scenario directory needs --pipeline" in capsys.readouterr().err
    (tmp_path / "pipe.json").write_text(sc.pipeline.to_json())
    loose = ["--units", str(paths["units"]), "--params", str(paths["params"]), "--stocks", str(paths["stocks"]),
             "--targets", str(paths["targets"]), "--pipeline", str(tmp_path / "pipe.json")]
    assert cli.main(["forecast", *loose, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["rows"][0]["admissions"] == mf.forecast(sc, 12).mean("admissions")["D"]
    assert cli.main(["forecast", str(tmp_path), "--pipeline", "party"]) == 2
    assert "carries its own pipeline" in capsys.readouterr().err
    assert cli.main(["forecast", "--stocks", str(paths["stocks"])]) == 2
    assert "--stocks needs a scenario directory or --units" in capsys.readouterr().err


def test_a_loose_file_beside_a_directory_replaces_the_manifests(tmp_path, capsys):
    mf.datasets.example_district().to_files(tmp_path)
    (tmp_path / "t.csv").write_text("unit_id,target\nD,200\n")
    assert cli.main(["forecast", str(tmp_path), "--targets", str(tmp_path / "t.csv"), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert rows[0]["target"] == 200 and rows[1]["target"] is None


def test_params_command_shows_values_and_their_lines(tmp_path, capsys):
    mf.datasets.example_district().to_files(tmp_path)
    (tmp_path / "params.csv").write_text("scope,stage,param,value\n*,training,advance,0.3\nC01-01,training,advance,0.2\n")
    assert cli.main(["params", str(tmp_path), "--unit", "C01-01", "--unit", "C01-02", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["command"] == "params" and doc["columns"] == ["unit_id", "stage", "param", "value", "scope", "source"]
    rows = {(r["unit_id"], r["stage"], r["param"]): r for r in doc["rows"]}
    assert len(rows) == 18
    assert rows[("C01-01", "training", "advance")]["source"] == f"{tmp_path / 'params.csv'} line 3"
    assert rows[("C01-02", "training", "advance")] == {
        "unit_id": "C01-02", "stage": "training", "param": "advance", "value": 0.3, "scope": "*",
        "source": f"{tmp_path / 'params.csv'} line 2"}
    assert cli.main(["params", str(tmp_path), "--format", "csv"]) == 0
    assert len(pd.read_csv(io.StringIO(capsys.readouterr().out))) == 267 * 9
    assert cli.main(["params", str(tmp_path), "--unit", "nowhere"]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_a_shadowed_row_is_a_warning_on_standard_error(tmp_path, capsys):
    mf.datasets.example_district().to_files(tmp_path)
    (tmp_path / "params.csv").write_text("scope,stage,param,value\nkind:cell,source,inflow,0.2\n"
                                         "*,source,inflow,0.1\n" +
                                         "".join(f"{u},source,inflow,0.3\n"
                                                 for u in mf.datasets.example_district().org.units_of_kind("cell")))
    assert cli.main(["forecast", str(tmp_path), "--format", "csv"]) == 0
    err = capsys.readouterr().err
    assert "memberflow: warning: " in err and "line 2: scope 'kind:cell'" in err and "changes nothing" in err
    assert "scope '*'" not in err  # the '*' row still reaches the units of other kinds


def test_a_params_dataframe_error_names_the_index_label():
    org = mf.datasets.example_district().org
    params = pd.DataFrame({"scope": ["*", "C01"], "stage": ["source", "source"], "param": ["advance", "advance"],
                           "value": [0.1, 1.5]}, index=["first", "second"])
    with pytest.raises(mf.ParameterError, match=r"params DataFrame row 2 \(index label 'second'\)"):
        mf.Scenario(org, params=params)
