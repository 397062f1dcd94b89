"""mf.diagnose and `memberflow plan --diagnose`: each flag's rule on small scenarios built by
hand whose answers are known independently (closed forms, brute-force convolutions, an exact
dynamic programme of the target rule), the plan argument, refusals, the command line."""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
from math import comb

import numpy as np
import pandas as pd
import pytest

import memberflow as mf
from memberflow import stage
from memberflow.cli import main

H = 12
PASS = 0.9
UNITS = pd.DataFrame({"unit_id": ["D", "A", "B", "C", "E"], "parent_id": [None, "D", "D", "D", "D"],
                      "name": ["District", "Cell A", "Cell B", "Cell C", "Cell E"],
                      "kind": ["district"] + ["cell"] * 4})


def pipeline() -> mf.Pipeline:
    """training -> probation (12 months, no exits, pass 0.9) -> full: every admission comes
    from training, so a person there now is admitted within H months with probability
    a / (a + e) * (1 - (1 - a - e)^H)."""
    return mf.Pipeline([stage.markov("training", 0.0, 0.0), stage.fixed("probation", 12, 0.0, PASS),
                        stage.terminal("full", 0.0)], admission="probation")


def scenario(training: dict, advance: dict, *, exit: dict | None = None, inflow: dict | None = None,
             probation: dict | None = None, targets: dict | None = None) -> mf.Scenario:
    stocks = [(u, "training", n, None) for u, n in training.items()]
    stocks += [(u, "probation", n, 0) for u, n in (probation or {}).items()]
    params = [(u, "training", "advance", v) for u, v in advance.items()]
    params += [(u, "training", "exit", v) for u, v in (exit or {}).items()]
    params += [(u, "training", "inflow", v) for u, v in (inflow or {}).items()]
    return mf.Scenario(mf.Org.from_frame(UNITS), pipeline(),
                       stocks=pd.DataFrame(stocks, columns=["unit_id", "stage", "count", "months_in_stage"]),
                       params=pd.DataFrame(params, columns=["scope", "stage", "param", "value"]), targets=targets)


def q(a: float, e: float = 0.0, months: int = H) -> float:
    """P(a person in training now is admitted within `months` months)."""
    return 0.0 if a + e == 0 else a / (a + e) * (1 - (1 - a - e) ** months)


def binomial(n: int, p: float) -> np.ndarray:
    return np.array([comb(n, k) * p ** k * (1 - p) ** (n - k) for k in range(n + 1)])


def poisson(mu: float, kmax: int = 80) -> np.ndarray:
    return np.array([math.exp(-mu) * mu ** k / math.factorial(k) for k in range(kmax)])


def at_least(pmf: np.ndarray, t: float) -> float:
    return float(pmf[math.ceil(t):].sum())


def by_unit(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("unit_id")


# -- no source -------------------------------------------------------------------------------------


def test_no_source_when_nobody_can_be_admitted():
    # E: nobody in training and no arrivals (three people in probation cannot be admitted
    # again); C: nobody in training but arrivals; A: people in training; B: people who never
    # advance are still a source (the other flags speak for them).
    scn = scenario({"A": 3, "B": 2}, {"A": 0.1, "B": 0.0}, inflow={"C": 0.4}, probation={"E": 3}, targets={"E": 1})
    d = by_unit(mf.diagnose(scn, lowered_bar=False))
    assert d.loc["E", "no_source"] and d.loc["E", "pool"] == 0 and d.loc["E", "inflow"] == 0
    assert d.loc["E", "expected"] == 0 and d.loc["E", "p_meet"] == 0  # nobody admitted, so P(>= 1) = 0
    assert d.loc["E", "flags"] == "no_source, infeasible"
    assert d.loc["E", "reasons"].startswith("Nobody in training and no arrivals in its subtree: no one can be "
                                            "admitted against a target of 1.")
    assert not d.loc[["A", "B", "C", "D"], "no_source"].any()  # D: its subtree has a source
    # the root of an organisation with no one to admit anywhere
    empty = scenario({}, {}, probation={"A": 2})
    assert by_unit(mf.diagnose(empty, lowered_bar=False))["no_source"].all()


# -- a source but no admissions --------------------------------------------------------------------


def test_source_but_no_admissions_against_the_closed_form():
    # A: 6 in training at advance 0.01 -> 6 (1 - 0.99^12) = 0.68 expected: flagged;
    # B: 6 at 0.02 -> 1.09: not; C: 4 at 0.001 -> 0.05, but a pool below 5: not.
    scn = scenario({"A": 6, "B": 6, "C": 4}, {"A": 0.01, "B": 0.02, "C": 0.001})
    d = by_unit(mf.diagnose(scn, lowered_bar=False))
    for u, n, a in (("A", 6, 0.01), ("B", 6, 0.02), ("C", 4, 0.001)):
        assert d.loc[u, "own_expected"] == pytest.approx(n * q(a), rel=1e-12)
        assert d.loc[u, "pool"] == n
    assert d.loc["A", "own_expected"] < 1 < d.loc["B", "own_expected"]
    assert d["source_no_admissions"].to_dict() == {"D": False, "A": True, "B": False, "C": False, "E": False}
    assert d.loc["A", "reasons"] == "6 people in training but 0.68 admissions expected in 12 months."
    # the threshold is a parameter: a pool of 4 counts from 4 on
    d4 = by_unit(mf.diagnose(scn, pool_threshold=4, lowered_bar=False))
    assert d4.loc["C", "source_no_admissions"] and d4.loc["A", "source_no_admissions"]
    # a longer horizon admits more: B's 6 people give 6 (1 - 0.99^24) > 1 over 24 months
    d24 = by_unit(mf.diagnose(scn, horizon=24, lowered_bar=False))
    assert d24.loc["A", "own_expected"] == pytest.approx(6 * q(0.01, months=24), rel=1e-12)
    assert not d24.loc["A", "source_no_admissions"]


# -- P(meet), infeasible, low chance ---------------------------------------------------------------


def brute_force_case():
    """Targets chosen so that A is infeasible, B has a low chance and D is likely; P by
    convolving binomials and a Poisson (the arrivals of C, thinned by the months left)."""
    a = {"A": 0.01, "B": 0.02, "C": 0.05}
    scn = scenario({"A": 6, "B": 6, "C": 4}, a, exit={"A": 0.01}, inflow={"C": 0.3},
                   targets={"D": 4, "A": 3, "B": 2, "C": 5})
    pmf = {"A": binomial(6, q(0.01, 0.01)), "B": binomial(6, q(0.02))}
    # an arrival of month t is in training from month t + 1: H - 1 - t months to be admitted
    mu = 0.3 * sum(q(0.05, months=H - 1 - t) for t in range(H))
    pmf["C"] = np.convolve(binomial(4, q(0.05)), poisson(mu))
    pmf["E"] = np.array([1.0])
    pmf["D"] = np.convolve(np.convolve(pmf["A"], pmf["B"]), pmf["C"])
    return scn, pmf


def test_p_meet_equals_a_brute_force_convolution_and_flags_follow_it():
    scn, pmf = brute_force_case()
    targets = {"D": 4, "A": 3, "B": 2, "C": 5}
    d = by_unit(mf.diagnose(scn, lowered_bar=False))
    for u, t in targets.items():
        k = np.arange(len(pmf[u]))
        assert d.loc[u, "target"] == t
        assert d.loc[u, "p_meet"] == pytest.approx(at_least(pmf[u], t), abs=1e-10), u
        assert d.loc[u, "expected"] == pytest.approx(float((k * pmf[u]).sum()), rel=1e-9), u
    assert math.isnan(d.loc["E", "p_meet"]) and math.isnan(d.loc["E", "target"])  # no target, no P
    p = {u: at_least(pmf[u], t) for u, t in targets.items()}
    # the cases are on the sides they are meant to be
    assert p["A"] < 0.05 <= p["B"] < 0.5 <= p["D"] and 0.05 <= p["C"] < 0.5
    for u in targets:
        assert d.loc[u, "infeasible"] == (p[u] < 0.05)
        assert d.loc[u, "low_chance"] == (0.05 <= p[u] < 0.5)
    assert not d.loc["E", ["infeasible", "low_chance"]].any()
    # A: also 6 people in training expected to give 6 q(0.01, 0.01) = 0.65 < 1 admission
    assert d.loc["A", "flags"] == "source_no_admissions, infeasible"
    assert d.loc["B", "flags"] == "low_chance" and d.loc["D", "flags"] == ""
    assert d.loc["A", "reasons"] == (f"6 people in training but {6 * q(0.01, 0.01):.2g} admissions expected in 12 "
                                     f"months. P(at least 3 admissions in 12 months) = {100 * p['A']:.3g}% "
                                     f"({d.loc['A', 'expected']:.3g} expected), below 5%: infeasible at current rates.")
    assert "more likely missed than met" in d.loc["B", "reasons"]
    # the thresholds are parameters
    d2 = by_unit(mf.diagnose(scn, infeasible_below=0.5, low_below=0.99, lowered_bar=False))
    assert d2.loc["B", "infeasible"] and d2.loc["D", "low_chance"] == (p["D"] < 0.99)
    assert d2.attrs["thresholds"] == {"pool_threshold": 5.0, "infeasible_below": 0.5, "low_below": 0.99,
                                      "price_above": 0.05}


def test_scenario_targets_count_pro_rata_over_another_horizon():
    scn, _ = brute_force_case()
    d = by_unit(mf.diagnose(scn, horizon=6, lowered_bar=False))
    assert d.loc["D", "target"] == 2 and d.loc["B", "target"] == 1  # yearly targets over 6 months
    pmf_b6 = binomial(6, q(0.02, months=6))
    assert d.loc["B", "p_meet"] == pytest.approx(at_least(pmf_b6, 1), abs=1e-10)


# -- the plan argument -----------------------------------------------------------------------------


def test_a_plan_sets_the_targets():
    scn, pmf = brute_force_case()
    plan = mf.allocate(scn, 5)
    d = by_unit(mf.diagnose(scn, plan, lowered_bar=False))
    shares = plan.set_index("unit_id")["share"]
    assert (d.loc[shares.index, "target"] == shares).all()
    # allocate computes P(meet its share) with the exact engine too
    assert np.allclose(d.loc[shares.index, "p_meet"], plan.set_index("unit_id")["p_meet"], atol=1e-12)
    for u in shares.index:
        assert d.loc[u, "p_meet"] == pytest.approx(at_least(pmf[u], shares[u]), abs=1e-10)
    # a plan for a part of the tree: the units it does not list have no target
    hand = pd.DataFrame({"unit_id": ["A", "B"], "share": [1, 4]})
    d = by_unit(mf.diagnose(scn, hand, lowered_bar=False))
    assert d["target"].isna().tolist() == [True, False, False, True, True]
    assert d.loc["B", "infeasible"] and d.loc["B", "p_meet"] == pytest.approx(at_least(pmf["B"], 4), abs=1e-10)


# -- the lowered bar -------------------------------------------------------------------------------


def rule_reference(n, a, e, target, boost, penalty, margin=0.0):
    """The target rule on one unit holding n people in training (and nothing else), by an
    exact dynamic programme over (in training, admitted normally, admitted under the lowered
    bar, boosted): at the end of quarters 1-3 a unit with fewer than target * q / 4 - margin
    admissions this year has its advance raised by `boost` (capped at 1 - e) for the next
    quarter, and the people it admits then pass probation with PASS - penalty.
    Returns the pmf of admissions over 12 months and the expected number not confirmed."""
    states = {(n, 0, 0, False): 1.0}
    for t in range(H):
        nxt: dict = {}
        for (r, kn, kl, boosted), p in states.items():
            adv = min(a + boost, 1 - e) if boosted else a
            for j in range(r + 1):  # j advance, x exit: a multinomial
                for x in range(r - j + 1):
                    w = p * comb(r, j) * comb(r - j, x) * adv ** j * e ** x * (1 - adv - e) ** (r - j - x)
                    key = (r - j - x, kn + (0 if boosted else j), kl + (j if boosted else 0), boosted)
                    nxt[key] = nxt.get(key, 0.0) + w
        if (t + 1) % 3 == 0:  # a quarter's end: boosted for the next quarter if behind
            quarter = (t + 1) // 3
            nxt2: dict = {}
            for (r, kn, kl, _), p in nxt.items():
                behind = (t + 1) % 12 != 0 and kn + kl < target * quarter / 4 - margin
                key = (r, kn, kl, behind)
                nxt2[key] = nxt2.get(key, 0.0) + p
            nxt = nxt2
        states = nxt
    pmf = np.zeros(n + 1)
    failures = 0.0
    for (r, kn, kl, _), p in states.items():
        pmf[kn + kl] += p
        failures += p * (kn * (1 - PASS) + kl * (1 - max(0.0, PASS - penalty)))
    return pmf, failures


def test_the_lowered_bar_against_an_exact_dynamic_programme():
    n, a, e, target, boost, penalty = 10, 0.03, 0.02, 4, 0.2, 0.3
    scn = scenario({"A": n, "B": 5}, {"A": a, "B": 0.1}, exit={"A": e}, targets={"A": target})
    paths = 20_000
    d = by_unit(mf.diagnose(scn, lowered_bar={"advance_boost": boost, "pass_penalty": penalty},
                            paths=paths, seed=7))
    base = binomial(n, q(a, e))
    ruled, failures_ruled = rule_reference(n, a, e, target, boost, penalty)
    ruled_nothing, failures_base = rule_reference(n, a, e, target, 0.0, 0.0)
    assert np.allclose(ruled_nothing, base, atol=1e-12)  # the reference without the rule is the binomial
    k = np.arange(n + 1)
    mean_b, mean_r = (k * base).sum(), (k * ruled).sum()
    sd = math.sqrt(((k - mean_r) ** 2 * ruled).sum() / paths) + math.sqrt(((k - mean_b) ** 2 * base).sum() / paths)
    row = d.loc["A"]
    assert mean_r - mean_b > 0.5  # the rule matters here
    assert row["lowered_bar_admissions"] == pytest.approx(mean_r - mean_b, abs=5 * sd)
    for column, pmf in (("p_meet_sim", base), ("p_meet_lowered", ruled)):
        p = at_least(pmf, target)
        assert row[column] == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / paths)), column
    capped = lambda pmf: float((np.minimum(k, target) * pmf).sum())  # noqa: E731
    assert row["lowered_bar_share"] == pytest.approx((capped(ruled) - capped(base)) / target, abs=5 * sd / target)
    assert row["lowered_bar_not_confirmed"] == pytest.approx(failures_ruled - failures_base, abs=5 * sd)
    assert row["lowered_bar"] and "lowered_bar" in row["flags"]
    assert row["reasons"].endswith("more expected probation failures.")
    # B is under no target: the rule never touches it, so with the same seed its paths are the same
    assert d.loc["B", "lowered_bar_admissions"] == 0 and d.loc["B", "lowered_bar_not_confirmed"] == 0
    assert math.isnan(d.loc["B", "lowered_bar_share"]) and not d.loc["B", "lowered_bar"]
    assert d.attrs["lowered_bar"] == {"advance_boost": boost, "pass_penalty": penalty, "margin": 0.0,
                                      "stop_when_met": False}
    assert d.attrs["simulations"] == 2 and d.attrs["paths"] == paths and d.attrs["seed"] == 7


def test_the_lowered_bar_can_be_skipped_and_needs_targets():
    scn, _ = brute_force_case()
    d = mf.diagnose(scn, lowered_bar=False)
    assert d[["p_meet_lowered", "lowered_bar_admissions", "lowered_bar_share"]].isna().all().all()
    assert not d["lowered_bar"].any() and d.attrs["simulations"] == 0 and d.attrs["lowered_bar"] is None
    none = scenario({"A": 3}, {"A": 0.1})  # no targets: the rule has nothing to act on
    d = mf.diagnose(none)
    assert d.attrs["simulations"] == 0 and d["lowered_bar_share"].isna().all()
    # a plan's shares are the rule's targets (a scenario without targets of its own)
    plan = mf.allocate(none, 2)
    d = by_unit(mf.diagnose(none, plan, paths=200))
    assert d.attrs["simulations"] == 2 and not math.isnan(d.loc["A", "p_meet_lowered"])


# -- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, error, words", [
    ({"horizon": 0}, mf.InputError, "horizon"),
    ({"horizon": 12.5}, mf.InputError, "horizon"),
    ({"pool_threshold": -1}, mf.InputError, "pool_threshold"),
    ({"infeasible_below": 1.5}, mf.InputError, "infeasible_below"),
    ({"low_below": 0.01}, mf.InputError, "low_below"),
    ({"lowered_bar": {"boost": 0.1}}, mf.InputError, "unknown key(s) ['boost']"),
    ({"lowered_bar": {"pass_penalty": 2}}, mf.InputError, "pass_penalty"),
    ({"lowered_bar": "yes"}, mf.InputError, "lowered_bar"),
    ({"paths": 0}, mf.InputError, "paths"),
    ({"plan": pd.DataFrame({"unit_id": ["A", "Z9"], "share": [1, 2]})}, mf.UnknownIdError, "Z9"),
    ({"plan": pd.DataFrame({"unit_id": ["A", "B"], "share": [1, 2.5]})}, mf.InputError, "share of 'B'"),
    ({"plan": pd.DataFrame({"unit_id": ["A", "A"], "share": [1, 2]})}, mf.InputError, "twice"),
    ({"plan": pd.DataFrame({"unit": ["A"]})}, mf.InputError, "unit_id and share"),
])
def test_refusals_name_the_argument_or_unit(kwargs, error, words):
    scn, _ = brute_force_case()
    with pytest.raises(error) as info:
        mf.diagnose(scn, **kwargs)
    assert words in str(info.value)


def test_a_plan_for_another_horizon_and_a_pipeline_the_rule_cannot_run_on_are_refused():
    scn, _ = brute_force_case()
    with pytest.raises(mf.InputError, match=r"over 6 months .* but horizon=12"):
        mf.diagnose(scn, mf.allocate(scn, 4, horizon=6))
    with pytest.raises(mf.InputError, match="expected a memberflow.Scenario"):
        mf.diagnose("scenario")
    markov = mf.Pipeline([stage.markov("training", 0.1, 0.0), stage.markov("probation", 0.1, 0.0),
                          stage.terminal("full", 0.0)], admission="probation")
    stocks = pd.DataFrame({"unit_id": ["A"], "stage": ["training"], "count": [3]})
    scn = mf.Scenario(mf.Org.from_frame(UNITS), markov, stocks=stocks, targets={"A": 1})
    with pytest.raises(mf.InputError, match="pass_penalty needs a fixed-duration admission stage"):
        mf.diagnose(scn)
    d = mf.diagnose(scn, lowered_bar={"pass_penalty": 0}, paths=100)  # without failures to count: NaN
    assert d["lowered_bar_not_confirmed"].isna().all() and not d["p_meet_lowered"].isna().all()


# -- the example district and the command line -----------------------------------------------------


def test_the_example_district():
    scn = mf.datasets.example_district()
    d = mf.diagnose(scn, lowered_bar=False)
    assert d["unit_id"].tolist() == scn.org.subtree(scn.org.root)
    exact = mf.forecast(scn, 12, method="exact").target_probabilities()["p_target"]
    assert np.allclose(d.set_index("unit_id").loc[exact.index, "p_meet"], exact, atol=1e-12)
    assert (d["flags"] != "").sum() > 0 and (d["reasons"] != "").eq(d["flags"] != "").all()


def test_plan_diagnose_on_the_command_line(capsys):
    code = main(["plan", "--target", "160", "--diagnose", "--format", "csv"])
    out, err = capsys.readouterr()
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out), keep_default_na=False, na_values=[""])
    assert list(frame.columns[-2:]) == ["flags", "reasons"]
    scn = mf.datasets.example_district()
    direct = mf.diagnose(scn, mf.allocate(scn, 160))
    assert frame["flags"].fillna("").tolist() == direct["flags"].tolist()
    code = main(["plan", "--target", "160", "--diagnose", "--format", "json"])
    doc = json.loads(capsys.readouterr()[0])
    assert code == 0 and doc["diagnose"]["lowered_bar"]["advance_boost"] == 0.1 and "reasons" in doc["columns"]
    code = main(["plan", "--target", "160", "--diagnose", "--depth", "1"])
    out = capsys.readouterr()[0]
    assert code == 0 and "flags" in out and "Risks" in out


def test_plan_diagnose_through_the_entry_point():
    env = {**os.environ, "CI": ""}
    run = subprocess.run([sys.executable, "-m", "memberflow", "plan", "--target", "12", "--node", "C01",
                          "--diagnose", "--format", "csv"], capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    frame = pd.read_csv(io.StringIO(run.stdout), keep_default_na=False, na_values=[""])
    assert frame["unit_id"].iloc[0] == "C01" and frame.columns[-1] == "reasons"
    assert "infeasible" in frame["flags"].iloc[0]
