"""Bad input: the right exception class, and a message that says where (file line or
DataFrame row) and what is wrong. Finally the whole battery runs in a child process to
show that none of it crashes the interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import memberflow as mf
from memberflow import stage

F = pd.DataFrame


def test_hierarchy():
    assert issubclass(mf.InputError, mf.Error) and issubclass(mf.InputError, ValueError)
    assert issubclass(mf.ParameterError, mf.Error) and issubclass(mf.ParameterError, ValueError)
    assert issubclass(mf.UnknownIdError, mf.Error) and issubclass(mf.UnknownIdError, KeyError)
    assert not issubclass(mf.UnknownIdError, ValueError)
    assert not issubclass(mf.InputError, KeyError)
    # KeyError would quote the message; ours reads as written
    assert str(mf.UnknownIdError("unknown unit 'X'")) == "unknown unit 'X'"


def check(exc_info, cls, *fragments):
    e = exc_info.value
    assert type(e) is cls, f"{type(e).__name__}: {e}"
    assert isinstance(e, mf.Error)
    message = str(e)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


# -- organisations: CSV files (file and line) and DataFrames (row) ---------------------------

HEADER = "unit_id,parent_id,name,kind\n"

ORG_CSV_CASES = {
    "duplicate id": (HEADER + "D,,d,district\nA,D,a,cell\nB,D,b,cell\nA,D,a2,cell\n",
                     mf.InputError, ["line 5", "duplicate unit id 'A'", "line 3"]),
    "unknown parent": (HEADER + "D,,d,district\nA,D,a,cell\nB,X,b,cell\n",
                       mf.InputError, ["line 4", "unit 'B'", "unknown parent 'X'"]),
    "cycle": (HEADER + "D,,d,district\nA,D,a,cell\nB,C,b,cell\nC,B,c,cell\nE,B,e,cell\n",
              mf.InputError, ["line 4", "cycle", "'B' -> 'C' -> 'B'"]),
    "several roots": (HEADER + "D,,d,district\nA,D,a,cell\nE,,e,district\n",
                      mf.InputError, ["2 roots", "'D'", "line 2", "'E'", "line 4"]),
    "empty id": (HEADER + "D,,d,district\n,D,a,cell\n", mf.InputError, ["line 3", "empty unit id"]),
    "wrong field count": (HEADER + "D,,d,district\nA,D,a\nB,D,b,cell\n",
                          mf.InputError, ["line 3", "3 fields where the header has 4"]),
    "too many fields": (HEADER + "D,,d,district\nA,D,a,cell\nB,D,b,cell,extra\n",
                        mf.InputError, ["line 4", "5 fields where the header has 4"]),
    "wrong field count after a quoted newline": (HEADER + 'D,,"two\nlines",district\nA,D\n',
                                                 mf.InputError, ["line 4", "2 fields"]),
    "wrong field count, first field over two lines": (HEADER + 'D,,d,district\n"X\nY",D,a\nB,D,b,cell\n',
                                                      mf.InputError, ["line 3:", "3 fields"]),
    "unterminated quote": (HEADER + 'D,,d,district\nA,D,"a,cell\n', mf.InputError, ["line 3", "malformed CSV"]),
    "missing column": ("unit_id,name,kind\nD,d,district\n", mf.InputError, ["missing column 'parent_id'"]),
    "duplicate column": ("unit_id,parent_id,name,name\nD,,d,e\n", mf.InputError, ["line 1", "'name' appears twice"]),
    "no units": (HEADER, mf.InputError, ["no units"]),
    "empty file": ("", mf.InputError, ["empty"]),
}


@pytest.mark.parametrize("case", list(ORG_CSV_CASES))
def test_org_csv_errors(tmp_path, case):
    text, cls, fragments = ORG_CSV_CASES[case]
    path = tmp_path / "units.csv"
    path.write_text(text)
    with pytest.raises(cls) as info:
        mf.Org.from_csv(path)
    check(info, cls, str(path), *fragments)


def test_org_csv_missing_file(tmp_path):
    path = tmp_path / "absent.csv"
    with pytest.raises(mf.InputError) as info:
        mf.Org.from_csv(path)
    check(info, mf.InputError, str(path), "cannot open")


def units(ids, parents):
    return F({"unit_id": ids, "parent_id": parents})


ORG_FRAME_CASES = {
    "duplicate id": (units(["D", "A", "B", "A"], [None, "D", "D", "D"]),
                     mf.InputError, ["DataFrame row 4", "duplicate unit id 'A'", "row 2"]),
    "unknown parent": (units(["D", "A", "B"], [None, "D", "X"]),
                       mf.InputError, ["DataFrame row 3", "unit 'B'", "unknown parent 'X'"]),
    "cycle": (units(["D", "A", "B", "C"], [None, "D", "C", "B"]), mf.InputError, ["row 3", "cycle", "'B' -> 'C'"]),
    "self parent": (units(["D", "A"], [None, "A"]), mf.InputError, ["row 2", "cycle", "'A' -> 'A'"]),
    "several roots": (units(["D", "A", "E"], [None, "D", None]), mf.InputError, ["2 roots", "row 1", "row 3"]),
    "empty id": (units(["D", "", "B"], [None, "D", "D"]), mf.InputError, ["DataFrame row 2", "empty unit id"]),
    "missing id": (units(["D", None, "B"], [None, "D", "D"]), mf.InputError, ["DataFrame row 2", "empty unit id"]),
    "missing column": (F({"unit_id": ["D"], "name": ["d"]}),
                       mf.InputError, ["DataFrame", "missing column 'parent_id'"]),
    "no units": (units([], []), mf.InputError, ["DataFrame", "no units"]),
    "duplicate column": (F([["D", None, "x", "y"]], columns=["unit_id", "parent_id", "name", "name"]),
                         mf.InputError, ["DataFrame", "'name' appears twice"]),
}


@pytest.mark.parametrize("case", list(ORG_FRAME_CASES))
def test_org_frame_errors(case):
    frame, cls, fragments = ORG_FRAME_CASES[case]
    with pytest.raises(cls) as info:
        mf.Org.from_frame(frame)
    check(info, cls, *fragments)


def test_no_root_names_the_problem():
    with pytest.raises(mf.InputError) as info:
        mf.Org.from_frame(units(["A", "B", "C"], ["B", "C", "A"]))
    check(info, mf.InputError, "no root")


def test_no_root_names_the_file_and_line(tmp_path):
    path = tmp_path / "units.csv"
    path.write_text(HEADER + "A,B,a,cell\nB,C,b,cell\nC,A,c,cell\n")
    with pytest.raises(mf.InputError) as info:
        mf.Org.from_csv(path)
    check(info, mf.InputError, str(path), "line ")


def test_json_errors(tmp_path):
    path = tmp_path / "org.json"
    path.write_text('{"units": [{"unit_id": "D"}, {"unit_id": "A", "parent_id": "X"}]}')
    with pytest.raises(mf.InputError) as info:
        mf.Org.from_json(path)
    check(info, mf.InputError, str(path), "unit 2", "unknown parent 'X'")
    path.write_text('{"units": [')
    with pytest.raises(mf.InputError) as info:
        mf.Org.from_json(path)
    check(info, mf.InputError, str(path), "malformed JSON")
    path.write_text('{"units": [{"unit_id": "D", "name": [1]}]}')
    with pytest.raises(mf.InputError) as info:
        mf.Org.from_json(path)
    check(info, mf.InputError, "unit 1", "'name' must be")


# -- parameters -------------------------------------------------------------------------------


@pytest.fixture
def org3(tri_org):
    return tri_org


def params(*rows):
    return F(list(rows), columns=["scope", "stage", "param", "value"])


PARAM_CASES = {
    "probability above 1": (params(["*", "source", "exit", 0.01], ["A", "training", "advance", 1.5]),
                            mf.ParameterError, ["params DataFrame row 2", "'training'", "advance = 1.5", "[0, 1]"]),
    "probability below 0": (params(["kind:cell", "probation", "exit", -0.25]),
                            mf.ParameterError, ["row 1", "'probation'", "exit = -0.25", "[0, 1]"]),
    "pass rate above 1": (params(["*", "probation", "pass_rate", 1.01]),
                          mf.ParameterError, ["row 1", "pass_rate = 1.01"]),
    "negative inflow": (params(["A", "source", "inflow", -1]), mf.ParameterError, ["row 1", "inflow = -1"]),
    "advance + exit > 1": (params(["*", "training", "advance", 0.6], ["A", "training", "exit", 0.5]),
                           mf.ParameterError, ["unit 'A'", "stage 'training'", "advance + exit", "1.1 > 1"]),
    "unknown stage": (params(["*", "trainig", "advance", 0.1]),
                      mf.UnknownIdError, ["row 1", "unknown stage 'trainig'", "source, training, probation, full"]),
    "unknown unit in scope": (params(["*", "source", "exit", 0.1], ["Z9", "training", "advance", 0.1]),
                              mf.UnknownIdError, ["row 2", "unknown unit 'Z9'"]),
    "unknown kind": (params(["kind:province", "training", "advance", 0.1]),
                     mf.UnknownIdError, ["row 1", "kind 'province'"]),
    "unknown parameter": (params(["*", "training", "speed", 0.1]),
                          mf.UnknownIdError, ["row 1", "unknown parameter 'speed'"]),
    "param not taken by stage": (params(["*", "source", "exit", 0.1], ["R", "full", "advance", 0.1]),
                                 mf.InputError, ["row 2", "stage 'full' does not take parameter 'advance'"]),
    "pass_rate on a markov stage": (params(["*", "training", "pass_rate", 0.5]),
                                    mf.InputError, ["row 1", "'training' does not take parameter 'pass_rate'"]),
    "inflow on a later stage": (params(["*", "training", "inflow", 0.5]),
                                mf.InputError, ["row 1", "'training' does not take parameter 'inflow'"]),
    "same override twice": (params(["B", "training", "advance", 0.1], ["B", "training", "advance", 0.2]),
                            mf.InputError, ["row 2", "already set at params DataFrame row 1"]),
    "not a number": (params(["*", "training", "advance", "fast"]),
                     mf.InputError, ["row 1", "column 'value'", "'fast'"]),
    "missing column": (F({"scope": ["*"], "stage": ["training"], "value": [0.1]}),
                       mf.InputError, ["params DataFrame", "missing column 'param'"]),
}


@pytest.mark.parametrize("case", list(PARAM_CASES))
def test_param_errors(org3, case):
    table, cls, fragments = PARAM_CASES[case]
    with pytest.raises(cls) as info:
        mf.Scenario(org3, params=table)
    check(info, cls, *fragments)


def test_param_errors_in_a_csv_file(org3, tmp_path):
    path = tmp_path / "params.csv"
    path.write_text("scope,stage,param,value\n*,source,inflow,2\nkind:cell,training,advance,0.2\nB,training,exit,7\n")
    with pytest.raises(mf.ParameterError) as info:
        mf.Scenario(org3, params=path)
    check(info, mf.ParameterError, str(path), "line 4", "exit = 7")
    path.write_text("scope,stage,param,value\n*,source,inflow,2\n\nQ,training,exit,0.1\n")
    with pytest.raises(mf.UnknownIdError) as info:
        mf.Scenario(org3, params=path)
    check(info, mf.UnknownIdError, str(path), "line 4", "unknown unit 'Q'")


# -- pipelines ----------------------------------------------------------------------------------

S, T, P = stage.markov("s", 0.1, 0.1), stage.terminal("f", 0.01), stage.fixed("p", 3, 0.0, 1.0)

PIPELINE_CASES = {
    "duration 0": (lambda: mf.Pipeline([S, stage.fixed("p", 0, 0.0, 1.0), T], admission="p"),
                   mf.ParameterError, ["stage 'p'", "months = 0", "from 1 to 1200"]),
    "negative duration": (lambda: mf.Pipeline([S, stage.fixed("p", -2, 0.0, 1.0), T], admission="p"),
                          mf.ParameterError, ["stage 'p'", "months = -2"]),
    "terminal not last": (lambda: mf.Pipeline([S, T, P], admission="p"),
                          mf.ParameterError, ["stage 'f'", "only the last stage may be terminal"]),
    "no terminal": (lambda: mf.Pipeline([S, P], admission="p"),
                    mf.ParameterError, ["stage 'p'", "the last stage must be terminal"]),
    "one stage": (lambda: mf.Pipeline([T], admission="f"), mf.ParameterError, ["at least two stages"]),
    "two stages of one name": (lambda: mf.Pipeline([S, stage.fixed("s", 2, 0, 1), T], admission="s"),
                               mf.ParameterError, ["two stages are named 's'"]),
    "event name as stage name": (lambda: mf.Pipeline([S, stage.fixed("admissions", 2, 0, 1), T],
                                                     admission="admissions"),
                                 mf.ParameterError, ["'admissions'", "reserved"]),
    "default outside [0, 1]": (lambda: mf.Pipeline([stage.markov("s", 1.2, 0.0), P, T], admission="p"),
                               mf.ParameterError, ["stage 's'", "advance = 1.2"]),
    "default advance + exit > 1": (lambda: mf.Pipeline([stage.markov("s", 0.7, 0.4), P, T], admission="p"),
                                   mf.ParameterError, ["stage 's'", "advance + exit", "> 1"]),
    "unknown admission stage": (lambda: mf.Pipeline([S, P, T], admission="probation"),
                                mf.UnknownIdError, ["unknown stage 'probation'", "s, p, f"]),
    "admission at the first stage": (lambda: mf.Pipeline([S, P, T], admission="s"),
                                     mf.ParameterError, ["admission stage 's'", "first"]),
}


@pytest.mark.parametrize("case", list(PIPELINE_CASES))
def test_pipeline_errors(case):
    build, cls, fragments = PIPELINE_CASES[case]
    with pytest.raises(cls) as info:
        build()
    check(info, cls, *fragments)


# -- stocks and targets ----------------------------------------------------------------------------


def stocks(*rows):
    return F(list(rows), columns=["unit_id", "stage", "count", "months_in_stage"])


STOCK_CASES = {
    "months_in_stage missing for probation": (stocks(["A", "full", 3, None], ["A", "probation", 4, None]),
                                              mf.InputError, ["stocks DataFrame row 2", "'probation'",
                                                              "months_in_stage (0..11) is required"]),
    "negative count": (stocks(["A", "full", 3, None], ["B", "full", -3, None]),
                       mf.InputError, ["row 2", "column 'count' must be >= 0", "-3"]),
    "fractional count": (stocks(["A", "training", 2.5, None]), mf.InputError, ["row 1", "'count'", "2.5"]),
    "age beyond the stage": (stocks(["A", "probation", 1, 12]), mf.InputError, ["row 1", "months_in_stage = 12"]),
    "negative age": (stocks(["A", "probation", 1, -1]), mf.InputError, ["row 1", "months_in_stage", "-1"]),
    "age on a markov stage": (stocks(["A", "training", 1, 0]),
                              mf.InputError, ["row 1", "'training' is not a fixed-duration stage"]),
    "unknown unit": (stocks(["A", "full", 3, None], ["Q", "full", 3, None]), mf.UnknownIdError, ["row 2", "'Q'"]),
    "unknown stage": (stocks(["A", "members", 3, None]), mf.UnknownIdError, ["row 1", "unknown stage 'members'"]),
    "same slot twice": (stocks(["A", "probation", 3, 4], ["A", "probation", 1, 4]),
                        mf.InputError, ["row 2", "months_in_stage 4", "already given at stocks DataFrame row 1"]),
    "missing column": (F({"unit_id": ["A"], "stage": ["full"]}), mf.InputError, ["missing column 'count'"]),
}


@pytest.mark.parametrize("case", list(STOCK_CASES))
def test_stock_errors(org3, case):
    table, cls, fragments = STOCK_CASES[case]
    with pytest.raises(cls) as info:
        mf.Scenario(org3, stocks=table)
    check(info, cls, *fragments)


def test_stock_errors_in_a_csv_file(org3, tmp_path):
    path = tmp_path / "stocks.csv"
    path.write_text("unit_id,stage,count,months_in_stage\nA,full,10,\nB,probation,2,\n")
    with pytest.raises(mf.InputError) as info:
        mf.Scenario(org3, stocks=path)
    check(info, mf.InputError, str(path), "line 3", "months_in_stage")


def test_target_errors(org3):
    with pytest.raises(mf.UnknownIdError) as info:
        mf.Scenario(org3, targets={"R": 3, "Q": 1})
    check(info, mf.UnknownIdError, "targets DataFrame row 2", "unknown unit 'Q'")
    with pytest.raises(mf.InputError) as info:
        mf.Scenario(org3, targets=F({"unit_id": ["A", "B"], "target": [1, -2]}))
    check(info, mf.InputError, "row 2", "target must be >= 0")
    with pytest.raises(mf.InputError) as info:
        mf.Scenario(org3, targets=F({"unit_id": ["A", "A"], "target": [1, 2]}))
    check(info, mf.InputError, "row 2", "'A' has a target already")


# -- forecasts --------------------------------------------------------------------------------------


@pytest.fixture
def fc(org3):
    return mf.forecast(mf.Scenario(org3, stocks=stocks(["A", "training", 3, None])), horizon=12)


def test_unknown_quantity(fc):
    for call in (lambda: fc.mean("members"), lambda: fc.own("members"), lambda: fc.monthly("members"),
                 lambda: fc.to_frame(["admissions", "members"])):
        with pytest.raises(mf.UnknownIdError) as info:
            call()
        check(info, mf.UnknownIdError, "unknown quantity 'members'", "admissions, confirmations")


@pytest.mark.parametrize("window", [(5, 3), (3, 3), (-1, 4), (0, 13), (12, 13)])
def test_bad_window(fc, window):
    with pytest.raises(mf.InputError) as info:
        fc.mean("admissions", window=window)
    check(info, mf.InputError, f"window [{window[0]}, {window[1]})", "0 <= first < last <= horizon = 12")


def test_window_and_month_mixed_up(fc):
    with pytest.raises(mf.InputError) as info:
        fc.mean("full", window=(0, 3))
    check(info, mf.InputError, "'full' is a stock")
    with pytest.raises(mf.InputError) as info:
        fc.mean("admissions", month=3)
    check(info, mf.InputError, "'admissions' is an event")
    for month in (-1, 13):
        with pytest.raises(mf.InputError) as info:
            fc.mean("full", month=month)
        check(info, mf.InputError, f"month {month} is outside 0..12")
    with pytest.raises(mf.InputError) as info:
        fc.monthly("admissions", scope="tree")
    check(info, mf.InputError, "scope", "'tree'")


def test_method_not_offered(org3):
    with pytest.raises(mf.ParameterError) as info:
        mf.forecast(mf.Scenario(org3), horizon=12, method="montecarlo")
    check(info, mf.ParameterError, "unknown method 'montecarlo'", "expected")


@pytest.mark.parametrize("horizon", [0, -5])
def test_bad_horizon(org3, horizon):
    with pytest.raises(mf.InputError) as info:
        mf.forecast(mf.Scenario(org3), horizon=horizon)
    check(info, mf.InputError, "horizon", str(horizon))


def test_other_lookups(small_org):
    with pytest.raises(mf.UnknownIdError) as info:
        small_org.children("Q")
    check(info, mf.UnknownIdError, "unknown unit 'Q'")
    with pytest.raises(mf.UnknownIdError):
        small_org.lca(["C1", "Q"])
    with pytest.raises(mf.InputError) as info:
        small_org.lca([])
    check(info, mf.InputError, "empty")
    with pytest.raises(mf.InputError) as info:
        mf.datasets.example_district(2019)
    check(info, mf.InputError, "2019")
    with pytest.raises(mf.ParameterError) as info:
        mf.datasets.synthetic("galaxy")
    check(info, mf.ParameterError, "'galaxy'")
    with pytest.raises(mf.InputError) as info:
        mf.datasets.synthetic(None, fanout=[2, 0.5], kinds=["a", "b", "c"])
    check(info, mf.InputError, "fanout")


def test_wrong_types_are_type_errors(org3):
    with pytest.raises(TypeError):
        mf.Org.from_frame({"unit_id": ["D"], "parent_id": [None]})
    with pytest.raises(TypeError):
        mf.Scenario(org3, stocks=[("A", "full", 3)])
    with pytest.raises(TypeError):
        mf.forecast(org3)


# -- no crash -------------------------------------------------------------------------------------------

BATTERY = r"""
import gc, sys, tempfile, pathlib
import numpy as np, pandas as pd
import memberflow as mf
from memberflow import stage

F = pd.DataFrame
org = mf.Org.from_frame(F({"unit_id": ["R", "A", "B"], "parent_id": [None, "R", "R"], "kind": ["d", "c", "c"]}))
tmp = pathlib.Path(tempfile.mkdtemp())
calls = [
    lambda: mf.Org.from_frame(F({"unit_id": ["A", "B"], "parent_id": ["B", "A"]})),
    lambda: mf.Org.from_frame(F({"unit_id": ["A", "A"], "parent_id": [None, "A"]})),
    lambda: mf.Org.from_frame(F({"unit_id": [], "parent_id": []})),
    lambda: mf.Org.from_frame(F({"unit_id": ["A"]})),
    lambda: mf.Org.from_frame(F()),
    lambda: mf.Org.from_csv(tmp / "none.csv"),
    lambda: (tmp / "e.csv").write_text("") and mf.Org.from_csv(tmp / "e.csv"),
    lambda: (tmp / "q.csv").write_text('unit_id,parent_id\n"A,\n') and mf.Org.from_csv(tmp / "q.csv"),
    lambda: (tmp / "j.json").write_text('[1, 2]') and mf.Org.from_json(tmp / "j.json"),
    lambda: (tmp / "j.json").write_text('{"units": [3]}') and mf.Org.from_json(tmp / "j.json"),
    lambda: (tmp / "j.json").write_text('{"units": [{"unit_id": "A"}], "overseers": [{"x": 1}]}') and mf.Org.from_json(tmp / "j.json"),
    lambda: org.children("Q"), lambda: org.lca([]), lambda: org.lca(["R", "Q"]),
    lambda: org._core.children(10**6), lambda: org._core.children(-1), lambda: org._core.depth(99),
    lambda: org._core.lca(np.array([0, 7])), lambda: org._core.lca(np.array([], dtype=np.int64)),
    lambda: org._core.subtree(-3), lambda: org._core.overseers_of(5),
    lambda: org._core.rollup(np.ones(2)), lambda: org._core.rollup(np.ones((3, 2, 2))),
    lambda: org.rollup(np.ones(7)), lambda: org.rollup({"Q": 1}),
    lambda: mf.Scenario(org, params=F({"scope": ["*"], "stage": ["training"], "param": ["advance"], "value": [2]})),
    lambda: mf.Scenario(org, params=F({"scope": ["*"], "stage": ["full"], "param": ["advance"], "value": [0.1]})),
    lambda: mf.Scenario(org, params=F({"scope": ["*"], "stage": [""], "param": ["exit"], "value": [0.1]})),
    lambda: mf.Scenario(org, params=F({"scope": [], "stage": [], "param": [], "value": []})),
    lambda: mf.Scenario(org, stocks=F({"unit_id": ["A"], "stage": ["probation"], "count": [3]})),
    lambda: mf.Scenario(org, stocks=F({"unit_id": ["A"], "stage": ["full"], "count": [-3]})),
    lambda: mf.Scenario(org, stocks=F({"unit_id": ["A"], "stage": ["probation"], "count": [3], "months_in_stage": [99]})),
    lambda: mf.Scenario(org, targets={"Q": 1}),
    lambda: mf.Pipeline([stage.markov("s", .1, .1), stage.fixed("p", 0, 0, 1), stage.terminal("f", 0)], "p"),
    lambda: mf.Pipeline([stage.markov("s", .1, .1), stage.terminal("f", 0), stage.fixed("p", 2, 0, 1)], "p"),
    lambda: mf.Pipeline([], "p"),
    lambda: mf.Pipeline([stage.terminal("f", 0)], "f"),
    lambda: mf.Pipeline.party().funnel("full"), lambda: mf.Pipeline.party().funnel("probation", age=12),
    lambda: mf.Pipeline.party().funnel("probation", age=-1), lambda: mf.Pipeline.party().funnel("nope"),
    lambda: mf.forecast(mf.Scenario(org), horizon=0),
    lambda: mf.forecast(mf.Scenario(org), horizon=-(2**31)),
    lambda: mf.forecast(mf.Scenario(org), method="mc"),
    lambda: mf.datasets.example_district(1999),
    lambda: mf.datasets.synthetic(None, fanout=[], kinds=[]),
    lambda: mf.datasets.synthetic(None, fanout=[2], kinds=["a"]),
    lambda: mf.datasets.synthetic(None, fanout=[0.0], kinds=["a", "b"]),
    lambda: mf.datasets.synthetic(None, fanout=[float("nan")], kinds=["a", "b"]),
    lambda: mf.datasets.synthetic(None, fanout=[2], kinds=["a", "b"], members_per_leaf=-1),
]
fc = mf.forecast(mf.Scenario(org), horizon=3)
calls += [lambda: fc.mean("x"), lambda: fc.mean("admissions", window=(2, 1)), lambda: fc.mean("full", month=4),
          lambda: fc._core.total("admissions", 0, 99), lambda: fc._core.stock("full", -1),
          lambda: fc._core.total("full", 0, 1), lambda: fc._core.stock("admissions", 0)]
for i, call in enumerate(calls):
    try:
        call()
    except (mf.Error, ValueError, KeyError, TypeError, IndexError, OverflowError) as e:
        pass
    except Exception as e:
        print(f"call {i}: unexpected {type(e).__name__}: {e}")
        sys.exit(3)
# numpy views outlive the objects they view
own = fc.own("full"); parents = org._core.parents
del fc, org
gc.collect()
assert own.shape == (3, 4) and float(own.sum()) == 0.0 and parents.tolist() == [-1, 0, 0]
print("survived", len(calls))
"""


def test_no_crash_on_bad_input():
    result = subprocess.run([sys.executable, "-c", BATTERY], capture_output=True, text=True, timeout=300,
                            cwd=Path(__file__).parent)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "survived" in result.stdout
