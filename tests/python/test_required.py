"""Required source (issue 10, point 3): the smallest extra source that reaches a target
with a chosen probability, found by a monotone search on the exact engine and re-checked
by an exact forecast of the changed scenario."""

from __future__ import annotations

import math

import pytest

import memberflow as mf
from memberflow.required import _split, _with_extra, required_source


@pytest.fixture(scope="module")
def district():
    return mf.datasets.example_district()


def _chance(scn, receivers, weights, total, when, target=160, node="D"):
    changed = _with_extra(scn, receivers, _split(total, weights, when), when)
    return float(mf.forecast(changed, 12, method="exact").prob_at_least("admissions", target, unit=node))


@pytest.mark.parametrize("when, step", [("monthly", 0.01), ("now", 1.0)])
def test_the_amount_found_is_the_smallest_that_reaches_the_probability(district, when, step):
    r = required_source(district, probability=0.8, when=when)
    total = r.attrs["total"]
    assert r.attrs["chance_before"] < 0.8 <= r.attrs["chance_after"]
    weights = r.share.to_numpy()
    receivers = list(r.unit_id)
    # re-checked independently: enough, and one step less is not
    assert _chance(district, receivers, weights, total, when) >= 0.8
    assert _chance(district, receivers, weights, total - step, when) < 0.8
    assert r.extra.sum() == pytest.approx(total)
    if when == "now":
        assert (r.extra == r.extra.round()).all()  # whole people


def test_the_chance_rises_with_the_source(district):
    r = required_source(district, probability=0.5)
    receivers, weights = list(r.unit_id), r.share.to_numpy()
    chances = [_chance(district, receivers, weights, x, "monthly") for x in (0, 20, 40, 80, 160)]
    assert all(a <= b for a, b in zip(chances, chances[1:]))
    assert chances[-1] > chances[0]


def test_a_target_already_likely_needs_nothing_and_units_can_be_named(district):
    r = required_source(district, target=60, probability=0.8)
    assert r.attrs["total"] == 0 and (r.extra == 0).all()
    named = required_source(district, probability=0.6, units=["C01-02", "C02-01"], when="now")
    assert list(named.unit_id) == ["C01-02", "C02-01"]
    assert named.attrs["chance_after"] >= 0.6


def test_refused_inputs_name_what_is_wrong(district):
    with pytest.raises(mf.InputError, match="probability"):
        required_source(district, probability=80)
    with pytest.raises(mf.InputError, match="when"):
        required_source(district, when="yearly")
    with pytest.raises(mf.InputError, match="unknown unit 'NOPE'"):
        required_source(district, units=["NOPE"])
    with pytest.raises(mf.InputError, match="no target"):
        required_source(district, node="C01-01")
