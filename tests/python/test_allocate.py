"""mf.allocate and `memberflow plan`: whole shares that add up exactly at every node,
within the bounds, or an InfeasibleTargetError naming the unit and the constraint."""

from __future__ import annotations

import io
import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import memberflow as mf
from memberflow.cli import main

from helpers import tree_frames

CONSTRAINTS = {"minimum", "maximum", "children's minimums", "children's maximums", "minimum above maximum"}


@pytest.fixture(scope="module")
def district() -> mf.Scenario:
    return mf.datasets.example_district()


def small_scenario(frame: pd.DataFrame, counts: list[int]) -> mf.Scenario:
    org = mf.Org.from_frame(frame)
    rows = [[u, stage, c, None] for u, c in zip(frame["unit_id"], counts) for stage in ("source", "training") if c]
    stocks = pd.DataFrame(rows, columns=["unit_id", "stage", "count", "months_in_stage"])
    return mf.Scenario(org, stocks=stocks if rows else None)


def check_sums(plan: pd.DataFrame, target: int) -> None:
    share = plan.set_index("unit_id")["share"]
    below = plan.groupby("parent_id")["share"].sum()
    for u, row in plan.set_index("unit_id").iterrows():
        assert row["share"] == row["own_share"] + below.get(u, 0), u
    assert plan["own_share"].sum() == target
    assert share.iloc[0] == target
    assert (plan["share"] >= 0).all() and (plan["own_share"] >= 0).all()


@given(frame=tree_frames(1, 12), data=st.data())
def test_shares_add_up_within_feasible_bounds(frame, data):
    n = len(frame)
    counts = data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    scn = small_scenario(frame, counts)
    org = scn.org
    # Bounds around a split that exists: leaves get random values, nodes their sums.
    leaf_values = {u: data.draw(st.integers(0, 8)) for u in org.ids if not org.children(u)}
    totals = org.rollup(pd.Series(leaf_values, dtype=float)).astype(int)
    slack = data.draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=n, max_size=n))
    minimum = {u: max(0, int(totals[u]) - a) for u, (a, _) in zip(org.ids, slack)}
    maximum = {u: int(totals[u]) + b for u, (_, b) in zip(org.ids, slack)}
    target = int(totals[org.root])
    method = data.draw(st.sampled_from(["risk", "expected", "weight"]))
    weights = {u: float(c) for u, c in zip(frame["unit_id"], counts)} if method == "weight" else None
    plan = mf.allocate(scn, target, method=method, weights=weights, minimum=minimum, maximum=maximum)
    check_sums(plan, target)
    assert (plan["share"] >= plan["minimum"]).all()
    assert (plan["share"] <= plan["maximum"].astype(float)).all()
    assert set(plan["unit_id"]) == set(org.ids)


@given(frame=tree_frames(1, 10), data=st.data())
def test_any_bounds_either_hold_or_the_error_names_a_unit_and_constraint(frame, data):
    n = len(frame)
    scn = small_scenario(frame, data.draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)))
    ids = list(scn.org.ids)
    minimum = {u: data.draw(st.integers(0, 4)) for u in data.draw(st.lists(st.sampled_from(ids), max_size=3))}
    maximum = {u: data.draw(st.integers(0, 6)) for u in data.draw(st.lists(st.sampled_from(ids), max_size=3))}
    target = data.draw(st.integers(0, 25))
    try:
        plan = mf.allocate(scn, target, minimum=minimum, maximum=maximum)
    except mf.InfeasibleTargetError as e:
        assert e.unit in ids and e.constraint in CONSTRAINTS
        assert f"'{e.unit}'" in str(e)
        return
    check_sums(plan, target)
    by_id = plan.set_index("unit_id")["share"]
    for u, v in minimum.items():
        assert by_id[u] >= v
    for u, v in maximum.items():
        assert by_id[u] <= v


def test_district_split_of_160_by_every_method(district):
    for method in ("risk", "expected", "weight"):
        plan = mf.allocate(district, 160, method=method)
        check_sums(plan, 160)
        assert len(plan) == len(district.org)
        assert plan.attrs["exact_evaluations"] == 2
        assert plan["p_meet"].between(0, 1).all()
    # The default target is the scenario's (160 for the district).
    assert mf.allocate(district, method="expected")["share"].iloc[0] == 160


def test_expected_method_is_largest_remainder_of_expected_admissions(district):
    plan = mf.allocate(district, 160, method="expected").set_index("unit_id")
    children = district.org.children("D")
    expected = plan.loc[children, "expected"].to_numpy()
    quotas = 160 * expected / expected.sum()
    assert np.all(np.abs(plan.loc[children, "share"].to_numpy() - quotas) < 1)


def test_risk_split_beats_expected_on_the_objective_and_matches_brute_force_on_a_small_tree():
    frame = pd.DataFrame({"unit_id": ["R", "a", "b", "c"], "parent_id": [None, "R", "R", "R"]})
    scn = small_scenario(frame, [0, 6, 2, 4])
    ex = mf.forecast(scn, horizon=12, method="exact").distribution("admissions")
    target = 9
    best = -math.inf
    for split in itertools.product(range(target + 1), repeat=3):
        if sum(split) != target:
            continue
        value = sum(math.log(max(ex.prob_at_least(k)[u], 1e-300)) for u, k in zip("abc", split))
        best = max(best, value)
    plan = mf.allocate(scn, target).set_index("unit_id")
    got = sum(math.log(plan.loc[u, "p_meet"]) for u in "abc")
    assert got == pytest.approx(best, abs=1e-9)


def test_errors(district):
    with pytest.raises(mf.InfeasibleTargetError) as e:
        mf.allocate(district, 160, minimum=1)
    assert e.value.unit == "D" and e.value.constraint == "children's minimums"
    assert isinstance(e.value, mf.InputError)
    with pytest.raises(mf.InfeasibleTargetError) as e:
        mf.allocate(district, 160, minimum={"C01": 9}, maximum={"C01": 3})
    assert e.value.unit == "C01" and e.value.constraint == "minimum above maximum"
    with pytest.raises(mf.InputError, match="method"):
        mf.allocate(district, 160, method="fair")
    with pytest.raises(mf.InputError, match="whole number"):
        mf.allocate(district, 160.5)
    with pytest.raises(mf.UnknownIdError):
        mf.allocate(district, 10, node="nope")
    with pytest.raises(mf.UnknownIdError):
        mf.allocate(district, 10, method="weight", weights="nope")


def test_subtree_split_and_weights_by_stage(district):
    plan = mf.allocate(district, 12, node="C01", method="weight", weights="full")
    assert list(plan["unit_id"]) == district.org.subtree("C01")
    check_sums(plan, 12)


def test_cli_plan_defaults_to_the_district(capsys):
    assert main(["plan", "--target", "160", "--format", "csv"]) == 0
    out, _ = capsys.readouterr()
    plan = pd.read_csv(io.StringIO(out))
    check_sums(plan.astype({"parent_id": object}), 160)
    assert main(["plan", "--target", "160", "--method", "weight", "--weights", "members", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr()[0])
    assert doc["command"] == "plan" and doc["method"] == "weight" and doc["target"] == 160
    assert sum(r[doc["columns"].index("own_share")] if isinstance(r, list) else r["own_share"]
               for r in doc["rows"]) == 160
    assert main(["plan"]) == 0
    assert "exact-engine evaluations: 2" in capsys.readouterr()[0]
    assert main(["plan", "--target", "160", "--minimum", "1"]) == 2
    assert "'D'" in capsys.readouterr()[1]
