"""memberflow.Pipeline: structure, and the funnel against closed forms.

For a markov stage with monthly advance a and exit e, the number of months spent there
is geometric with success probability a + e, and the way out (advance or exit) is
independent of when it happens: P(advance) = a / (a + e), E[months] = 1 / (a + e), and
E[months | advance] = 1 / (a + e) too. A fixed stage of D months with monthly exit x
is survived with probability (1 - x)^D, passed with pass_rate after that, and takes
exactly D months for whoever passes.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import memberflow as mf
from memberflow import stage

PARTY = dict(a1=0.05, e1=0.02, a2=0.15, e2=0.02, D=12, x=0.002, pass_rate=0.97, attrition=0.002)


def closed_form_funnel(a1, e1, a2, e2, D, x, pass_rate, attrition):
    """Funnel of a source -> training -> probation -> full pipeline from the source."""
    p_train = a1 / (a1 + e1)
    p_prob = p_train * a2 / (a2 + e2)
    p_full = p_prob * (1 - x) ** D * pass_rate
    return pd.DataFrame({
        "prob_reach": [1.0, p_train, p_prob, p_full],
        "expected_time": [1 / (a1 + e1), p_train / (a2 + e2), p_prob * sum((1 - x) ** k for k in range(D)),
                          p_full / attrition],
        "expected_time_to_reach": [0.0, 1 / (a1 + e1), 1 / (a1 + e1) + 1 / (a2 + e2),
                                   1 / (a1 + e1) + 1 / (a2 + e2) + D],
    }, index=pd.Index(["source", "training", "probation", "full"], name="stage"))


def test_party_pipeline_structure():
    pipe = mf.Pipeline.party()
    assert pipe.stages == ["source", "training", "probation", "full"]
    assert pipe.admission == "probation"
    assert len(pipe) == 4
    frame = pipe.to_frame()
    assert frame["kind"].tolist() == ["markov", "markov", "fixed", "terminal"]
    assert frame.loc["probation", "months"] == 12
    assert frame.loc["source", "advance"] == PARTY["a1"] and frame.loc["source", "exit"] == PARTY["e1"]
    assert frame.loc["training", "advance"] == PARTY["a2"] and frame.loc["training", "exit"] == PARTY["e2"]
    assert frame.loc["probation", "exit"] == PARTY["x"] and frame.loc["probation", "pass_rate"] == PARTY["pass_rate"]
    assert frame.loc["full", "attrition"] == PARTY["attrition"]
    # parameters a stage does not take are left empty
    assert pd.isna(frame.loc["full", "advance"]) and pd.isna(frame.loc["source", "pass_rate"])
    assert pd.isna(frame.loc["training", "inflow"]) and not pd.isna(frame.loc["source", "inflow"])


def test_party_funnel_closed_forms():
    got = mf.Pipeline.party().funnel()
    pd.testing.assert_frame_equal(got, closed_form_funnel(**PARTY), rtol=1e-10, atol=1e-12)


def test_party_funnel_spelled_out():
    f = mf.Pipeline.party().funnel()
    a1, e1, a2, e2 = 0.05, 0.02, 0.15, 0.02
    assert f.loc["training", "prob_reach"] == pytest.approx(a1 / (a1 + e1), rel=1e-12)
    assert f.loc["source", "expected_time"] == pytest.approx(1 / (a1 + e1), rel=1e-12)
    full_reach = (a1 / (a1 + e1)) * (a2 / (a2 + e2)) * 0.998 ** 12 * 0.97
    assert f.loc["full", "prob_reach"] == pytest.approx(full_reach, rel=1e-12)
    assert f.loc["full", "expected_time_to_reach"] == pytest.approx(1 / (a1 + e1) + 1 / (a2 + e2) + 12, rel=1e-12)


def test_funnel_from_a_later_stage():
    pipe = mf.Pipeline.party()
    f = pipe.funnel("training")
    assert f.index.tolist() == ["training", "probation", "full"]
    assert f.loc["probation", "prob_reach"] == pytest.approx(0.15 / 0.17, rel=1e-12)
    assert f.loc["training", "expected_time"] == pytest.approx(1 / 0.17, rel=1e-12)
    assert f.loc["full", "expected_time_to_reach"] == pytest.approx(1 / 0.17 + 12, rel=1e-12)


@pytest.mark.parametrize("age", [0, 1, 5, 11])
def test_funnel_from_probation_at_an_age(age):
    f = mf.Pipeline.party().funnel("probation", age=age)
    left = 12 - age  # months still to spend, this one included
    assert f.loc["probation", "prob_reach"] == 1.0
    assert f.loc["probation", "expected_time"] == pytest.approx(sum(0.998 ** k for k in range(left)), rel=1e-12)
    assert f.loc["full", "prob_reach"] == pytest.approx(0.998 ** left * 0.97, rel=1e-12)
    assert f.loc["full", "expected_time_to_reach"] == pytest.approx(left, rel=1e-12)
    assert f.loc["full", "expected_time"] == pytest.approx(0.998 ** left * 0.97 / 0.002, rel=1e-12)


def test_funnel_custom_pipeline_with_two_markov_stages_and_no_attrition():
    pipe = mf.Pipeline([stage.markov("lead", 0.3, 0.1, inflow=2.0), stage.markov("course", 0.5, 0.25),
                        stage.markov("candidate", 0.2, 0.0), stage.fixed("trial", 3, 0.1, 0.5),
                        stage.terminal("member", 0.0)], admission="candidate")
    f = pipe.funnel()
    p = [1.0, 0.75, 0.75 * 2 / 3, 0.5]  # reach lead, course, candidate (advance only), trial
    assert f["prob_reach"].tolist()[:4] == pytest.approx(p, rel=1e-12)
    assert f.loc["member", "prob_reach"] == pytest.approx(0.5 * 0.9 ** 3 * 0.5, rel=1e-12)
    assert f.loc["member", "expected_time"] == math.inf  # nobody ever leaves
    assert f.loc["candidate", "expected_time"] == pytest.approx(0.5 * 5, rel=1e-12)
    assert f.loc["member", "expected_time_to_reach"] == pytest.approx(1 / 0.4 + 1 / 0.75 + 1 / 0.2 + 3, rel=1e-12)


def funnel_scenario(org):
    """Unit A and kind 'committee' (unit B) have their own rates; R keeps the defaults."""
    rows = [["*", "probation", "pass_rate", 0.9],
            ["A", "source", "advance", 0.1], ["A", "source", "exit", 0.05],
            ["A", "training", "advance", 0.3], ["A", "training", "exit", 0.1],
            ["A", "probation", "exit", 0.01], ["A", "full", "attrition", 0.004],
            ["kind:committee", "training", "advance", 0.25]]
    return mf.Scenario(org, params=pd.DataFrame(rows, columns=["scope", "stage", "param", "value"]))


def test_scenario_unit_funnel_uses_that_units_parameters(tri_org):
    sc = funnel_scenario(tri_org)
    pipe = sc.pipeline
    a = pipe.funnel(scenario=sc, unit="A")
    pd.testing.assert_frame_equal(a, closed_form_funnel(0.1, 0.05, 0.3, 0.1, 12, 0.01, 0.9, 0.004),
                                  rtol=1e-10, atol=1e-12)
    b = pipe.funnel(scenario=sc, unit="B")
    pd.testing.assert_frame_equal(b, closed_form_funnel(0.05, 0.02, 0.25, 0.02, 12, 0.002, 0.9, 0.002),
                                  rtol=1e-10, atol=1e-12)
    r = pipe.funnel(scenario=sc, unit="R")
    pd.testing.assert_frame_equal(r, closed_form_funnel(0.05, 0.02, 0.15, 0.02, 12, 0.002, 0.9, 0.002),
                                  rtol=1e-10, atol=1e-12)
    # and the stage defaults without a scenario
    pd.testing.assert_frame_equal(pipe.funnel(), closed_form_funnel(**PARTY), rtol=1e-10, atol=1e-12)


def test_scenario_unit_funnel_from_training(tri_org):
    sc = funnel_scenario(tri_org)
    f = sc.pipeline.funnel("training", scenario=sc, unit="A")
    assert f.loc["probation", "prob_reach"] == pytest.approx(0.3 / 0.4, rel=1e-12)
    assert f.loc["full", "prob_reach"] == pytest.approx(0.75 * 0.99 ** 12 * 0.9, rel=1e-12)


def test_funnel_needs_both_scenario_and_unit(tri_org):
    sc = funnel_scenario(tri_org)
    with pytest.raises(mf.InputError, match="both scenario and unit"):
        sc.pipeline.funnel(scenario=sc)
    with pytest.raises(mf.InputError, match="both scenario and unit"):
        sc.pipeline.funnel(unit="A")
    with pytest.raises(mf.UnknownIdError, match="unknown unit 'Q'"):
        sc.pipeline.funnel(scenario=sc, unit="Q")


def test_funnel_example_district_rural_unit(district2020):
    """A rural unit of the example district trains more slowly (advance 0.10)."""
    sc = district2020
    rural = sc.org.attribute("rural").fillna(False).astype(bool)
    sub_cell = sc.org.kinds == "sub_cell"
    unit = sc.org.ids[rural & sub_cell][0]
    urban = sc.org.ids[~rural & sub_cell][0]
    a = sc.param("advance")
    assert a.loc[unit, "training"] == 0.10 and a.loc[urban, "training"] == 0.15
    f = sc.pipeline.funnel(scenario=sc, unit=unit)
    assert f.loc["probation", "prob_reach"] == pytest.approx(0.05 / 0.07 * 0.10 / 0.12, rel=1e-12)
    g = sc.pipeline.funnel(scenario=sc, unit=urban)
    assert g.loc["probation", "prob_reach"] == pytest.approx(0.05 / 0.07 * 0.15 / 0.17, rel=1e-12)


def test_pipeline_display():
    pipe = mf.Pipeline.party()
    text = repr(pipe)
    assert "source -> training -> probation -> full" in text and "admission = probation" in text
    html = pipe._repr_html_()
    assert "probation" in html and "<table" in html and "0.97" in html and "12" in html


def test_funnel_columns_are_finite_for_the_party_pipeline():
    f = mf.Pipeline.party().funnel()
    assert list(f.columns) == ["prob_reach", "expected_time", "expected_time_to_reach"]
    assert np.isfinite(f.to_numpy()).all()
    assert (np.diff(f["prob_reach"].to_numpy()) <= 0).all()
