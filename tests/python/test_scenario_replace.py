"""What-ifs: Scenario.replace against the same scenario built by hand through the
existing API (rebuilt from its frames, then set through the writable arrays)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import memberflow as mf


@pytest.fixture(scope="module")
def scn() -> mf.Scenario:
    return mf.datasets.example_district()


def rebuild(s: mf.Scenario) -> mf.Scenario:
    """The same scenario built again from its frames (what a user does without replace)."""
    return mf.Scenario(s.org, s.pipeline, stocks=s.stocks, params=s.params, targets=s.targets, start=s.start)


def mask(s: mf.Scenario, scope: str) -> np.ndarray:
    ids = list(s.org.ids)
    if scope == "*":
        return np.ones(len(ids), dtype=bool)
    if scope.startswith("kind:"):
        return (s.org.kinds == scope[5:]).to_numpy()
    if scope.startswith("subtree:"):
        inside = set(s.org.subtree(scope[8:]))
        return np.array([u in inside for u in ids])
    return np.array([u == scope for u in ids])


def state(s: mf.Scenario) -> list[np.ndarray]:
    core = s._core
    return ([np.array(core.param_array(p)) for p in ("advance", "exit", "pass_rate", "attrition", "inflow",
                                                      "transfer_in")]
            + [np.array(core.stocks), np.array(core.targets)])


def assert_same(a: mf.Scenario, b: mf.Scenario, horizon: int = 12) -> None:
    for x, y in zip(state(a), state(b)):
        np.testing.assert_array_equal(x, y)  # exact; NaN equals NaN
    fa = mf.forecast(a, horizon=horizon, method="expected")
    fb = mf.forecast(b, horizon=horizon, method="expected")
    for q in fa.quantities:
        np.testing.assert_array_equal(fa.own(q), fb.own(q))


SCOPES = ["*", "kind:sub_cell", "subtree:C01", "C01-03"]


@pytest.mark.parametrize("scope", SCOPES)
def test_set_and_scale_parameters(scn, scope):
    s = scn.pipeline.stages.index("training")
    m = mask(scn, scope)
    what_if = scn.replace(scope=scope, stage="training", what="advance", value=0.2)
    hand = rebuild(scn)
    hand._core.param_array("advance")[m, s] = 0.2
    assert_same(what_if, hand)

    what_if = scn.replace(scope=scope, stage="training", what="exit", scale=1.5)
    hand = rebuild(scn)
    hand._core.param_array("exit")[m, s] *= 1.5
    assert_same(what_if, hand)


@pytest.mark.parametrize("scope", SCOPES)
def test_arrivals(scn, scope):
    m = mask(scn, scope)
    what_if = scn.replace([{"scope": scope, "what": "inflow", "value": 0.75},
                           {"scope": scope, "what": "transfer_in", "op": "scale", "value": 2.0}])
    hand = rebuild(scn)
    hand._core.param_array("inflow")[m] = 0.75
    hand._core.param_array("transfer_in")[m] *= 2.0
    assert_same(what_if, hand)
    assert not np.array_equal(mf.forecast(what_if, horizon=12).own("arrivals"),
                              mf.forecast(scn, horizon=12).own("arrivals"))


def test_stocks(scn):
    pipe = scn._core.pipeline
    stages = scn.pipeline.stages
    src, prob = pipe.offset(stages.index("source")), pipe.offset(stages.index("probation"))
    width = pipe.width(stages.index("probation"))
    changes = pd.DataFrame({
        "scope": ["C01-03", "subtree:C02", "kind:sub_cell", "*"],
        "stage": ["source", "source", "probation", "probation"],
        "what": ["stock"] * 4,
        "op": ["set", "add", "add", "scale"],
        "value": [7, 3, 2, 1.5],
        "month_in_stage": [None, None, 4, None],
    })
    what_if = scn.replace(changes)
    hand = rebuild(scn)
    st = hand._core.stocks
    st[mask(scn, "C01-03"), src] = 7
    st[mask(scn, "subtree:C02"), src] += 3
    st[mask(scn, "kind:sub_cell"), prob + 4] += 2
    st[:, prob:prob + width] = np.rint(st[:, prob:prob + width] * 1.5)  # half to even, as documented
    assert_same(what_if, hand)
    assert (what_if.stock_totals() >= 0).all().all()


def test_targets(scn):
    what_if = scn.replace([{"scope": "D", "what": "target", "value": 180},
                           {"scope": "kind:commune_committee", "what": "target", "scale": 2},
                           {"scope": "C01", "what": "target", "add": 1}])
    hand = rebuild(scn)
    t = hand._core.targets
    t[mask(scn, "D")] = 180
    t[mask(scn, "kind:commune_committee")] *= 2
    t[mask(scn, "C01")] += 1
    assert_same(what_if, hand)
    assert what_if.targets["D"] == 180 and scn.targets["D"] == 160
    assert "D" not in scn.replace(scope="D", what="target", value=float("nan")).targets.index


def test_original_unchanged_and_parts_shared(scn):
    before = state(scn)
    what_if = scn.replace([{"what": "advance", "stage": "training", "scale": 1.1},
                           {"what": "stock", "stage": "source", "add": 1},
                           {"scope": "D", "what": "target", "value": 200}])
    for x, y in zip(before, state(scn)):
        np.testing.assert_array_equal(x, y)
    assert what_if.org is scn.org and what_if.pipeline is scn.pipeline
    assert what_if._core.shares_parts_with(scn._core)
    assert what_if.start == scn.start
    assert not np.array_equal(state(what_if)[0], before[0])


def test_explain_names_the_change(scn):
    what_if = scn.replace([{"scope": "kind:sub_cell", "stage": "training", "what": "advance", "scale": 1.1},
                           {"scope": "C01-03", "what": "inflow", "value": 2}])
    ex = what_if.explain("C01-03").set_index(["stage", "param"])
    assert ex.loc[("training", "advance"), "source"] == \
        "set by replace: scale advance of stage 'training' by 1.1 for kind 'sub_cell'"
    assert ex.loc[("training", "advance"), "scope"] == "kind:sub_cell"
    assert ex.loc[("source", "inflow"), "source"] == "set by replace: set inflow to 2 for unit 'C01-03'"
    assert ex.loc[("training", "advance"), "value"] == what_if.param("advance").loc["C01-03", "training"]
    assert not scn.explain("C01-03")["source"].str.contains("replace").any()


@pytest.mark.parametrize("change, error, words", [
    ([{"what": "exit", "stage": "training", "value": 0.05},
      {"scope": "C01-03", "what": "advance", "stage": "training", "value": 0.99}], mf.ParameterError,
     ["unit 'C01-03', stage 'training': advance + exit",
      "advance set by replace, change 2 of 2 (set advance of stage 'training' to 0.99 for unit 'C01-03')"]),
    ([{"what": "pass_rate", "stage": "probation", "scale": 2}], mf.ParameterError,
     ["change 1 of 1 (scale pass_rate of stage 'probation' by 2 for every unit)", "outside [0, 1]"]),
    ([{"scope": "C01-03", "what": "stock", "stage": "source", "add": -10**6}], mf.InputError,
     ["add -1000000 to the stock of stage 'source' for unit 'C01-03'", "the stock would be"]),
    ([{"what": "advance", "stage": "full", "value": 0.1}], mf.InputError,
     ["stage 'full' does not take parameter 'advance'"]),
    ([{"scope": "nowhere", "what": "advance", "stage": "training", "value": 0.1}], mf.UnknownIdError,
     ["change 1 of 1", "unknown unit 'nowhere'"]),
    ([{"scope": "kind:villa", "what": "advance", "stage": "training", "value": 0.1}], mf.UnknownIdError,
     ["no unit has kind 'villa'"]),
    ([{"scope": "subtree:Q", "what": "advance", "stage": "training", "value": 0.1}], mf.UnknownIdError,
     ["unknown unit 'Q' (scope 'subtree:Q')"]),
    ([{"what": "advance", "stage": "schooling", "value": 0.1}], mf.UnknownIdError, ["schooling"]),
    ([{"what": "speed", "stage": "training", "value": 0.1}], mf.UnknownIdError, ["unknown quantity 'speed'"]),
    ([{"what": "stock", "stage": "probation", "value": 1}], mf.InputError, ["say which month_in_stage (0..11)"]),
    ([{"what": "advance", "stage": "training", "add": 0.1}], mf.InputError, ["set or scale a parameter"]),
    ([{"what": "advance", "stage": "training", "value": 0.1, "scale": 2}], mf.InputError,
     ["replace, change 1", "exactly one of value= (set), scale= or add="]),
    ([{"what": "advance", "stage": "training", "op": "times", "value": 2}], mf.InputError, ["unknown op 'times'"]),
    ([{"what": "advance", "stage": "training", "value": "0.1"}], mf.InputError, ["the value must be a number"]),
    ([{"what": "advance", "stge": "training", "value": 0.1}], mf.InputError, ["unknown key(s) 'stge'"]),
])
def test_refusals_name_the_change(scn, change, error, words):
    before = state(scn)
    with pytest.raises(error) as info:
        scn.replace(change)
    text = str(info.value)
    for w in words:
        assert w in text
    for x, y in zip(before, state(scn)):
        np.testing.assert_array_equal(x, y)


def test_keywords_and_list_not_both(scn):
    with pytest.raises(mf.InputError, match="not both"):
        scn.replace([{"what": "inflow", "value": 1}], what="inflow", value=2)


def test_round_trip_through_files(scn, tmp_path):
    what_if = scn.replace([{"scope": "kind:sub_cell", "stage": "training", "what": "advance", "scale": 1.1},
                           {"scope": "subtree:C01", "what": "inflow", "value": 0.3},
                           {"scope": "C02", "stage": "probation", "what": "stock", "add": 2, "month_in_stage": 0},
                           {"scope": "D", "what": "target", "value": 170}])
    what_if.to_files(tmp_path / "what_if")
    back = mf.Scenario.read(tmp_path / "what_if")
    assert_same(back, what_if, horizon=24)
    assert back.start == what_if.start


def test_chained_replaces_equal_one_call(scn):
    a = scn.replace(scope="kind:sub_cell", stage="training", what="advance", scale=1.1) \
           .replace(scope="C01", what="target", add=2)
    b = scn.replace([{"scope": "kind:sub_cell", "stage": "training", "what": "advance", "scale": 1.1},
                     {"scope": "C01", "what": "target", "add": 2}])
    assert_same(a, b)
