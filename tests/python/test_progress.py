"""Quarterly progress (issue 10, point 5): admissions so far against the plan and the
forecast, the status rules, the re-forecast of the rest of the year, roll-ups.

The constructed cases have closed forms: people in a markov training stage with advance
p and exit e, nobody arriving, are admitted independently, each within h months with
probability q(h) = p (1 - (1 - p - e)^h) / (p + e) (memoryless), so a unit's admissions
over h months are Binomial(people in training, q(h))."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import memberflow as mf
from memberflow import stage
from memberflow.progress import LEVELS, STATUSES

P, E = 0.1, 0.02  # training's advance and exit


def q(h: int, p: float = P, e: float = E) -> float:
    """P(a person in training now is admitted within h months)."""
    return p * (1 - (1 - p - e) ** h) / (p + e)


def binom_pmf(n: int, prob: float) -> np.ndarray:
    return np.array([math.comb(n, k) * prob ** k * (1 - prob) ** (n - k) for k in range(n + 1)])


def at_least(pmf: np.ndarray, offset: int, k: float) -> float:
    """P(X >= k) for X = offset + (index of pmf)."""
    return float(pmf[max(0, math.ceil(k) - offset):].sum())


def quantile(pmf: np.ndarray, prob: float) -> int:
    return int(np.searchsorted(np.cumsum(pmf), prob * (1 - 1e-15)))


def pipeline(p: float = P, e: float = E) -> mf.Pipeline:
    return mf.Pipeline([stage.markov("source", 0.0, 0.0), stage.markov("training", p, e),
                        stage.fixed("probation", 12, 0.0, 1.0), stage.terminal("full", 0.0)],
                       admission="probation")


UNITS = pd.DataFrame({"unit_id": ["D", "A", "A1", "B"], "parent_id": [None, "D", "A", "D"],
                      "name": ["District", "Unit A", "Cell A1", "Unit B"], "kind": ["d", "u", "c", "u"]})
# X oversees A and A1 (A1 is inside A: counted once), Y oversees A1 and B.
OVERSEERS = pd.DataFrame({"overseer_id": ["X", "X", "Y", "Y"], "unit_id": ["A", "A1", "A1", "B"]})
TRAINING = {"A": 12, "A1": 8, "B": 20}  # people in training at 2021-01, own
TARGETS = {"D": 13, "A": 7, "A1": 3, "B": 6}  # A + B = D


def world(training=TRAINING, targets=TARGETS, p=P, e=E, start="2021-01"):
    org = mf.Org.from_frame(UNITS, overseers=OVERSEERS)
    stocks = pd.DataFrame({"unit_id": list(training), "stage": "training", "count": list(training.values())})
    return mf.Scenario(org, pipeline(p, e), stocks=stocks, targets=targets, start=start)


def events(training=TRAINING, admitted=None, after=None):
    """Opening entries into training (2020-12) for everybody, then ``admitted``: unit ->
    list of months in which one of its people enters probation; ``after``: the same, dated
    later (records beyond through)."""
    rows, admitted, after = [], admitted or {}, after or {}
    for unit, n in training.items():
        ids = [f"{unit}-{i}" for i in range(n)]
        rows += [(pid, unit, "training", "2020-12") for pid in ids]
        dates = list(admitted.get(unit, [])) + list(after.get(unit, []))
        rows += [(pid, unit, "probation", d) for pid, d in zip(ids, dates)]
    return pd.DataFrame(rows, columns=["person_id", "unit_id", "event", "date"])


ADMITTED = {"A": ["2021-01", "2021-03", "2021-03"], "A1": ["2021-02"], "B": ["2021-01", "2021-02", "2021-04",
                                                                          "2021-05", "2021-06"]}


@pytest.fixture(scope="module")
def tiny():
    scn = world()
    log = mf.EventLog.from_frame(events(admitted=ADMITTED), scn)
    return scn, log


def subtree_counts(own: dict) -> dict:
    """Subtree totals on the tiny tree, by hand."""
    return {"A1": own.get("A1", 0), "A": own.get("A", 0) + own.get("A1", 0), "B": own.get("B", 0),
            "D": own.get("A", 0) + own.get("A1", 0) + own.get("B", 0)}


# -- the conditional re-forecast against the closed form -------------------------------------

@pytest.mark.parametrize("through, months", [("2021Q1", 3), ("2021-05", 5), ("2021Q2", 6)])
def test_reforecast_is_admissions_so_far_plus_a_binomial_of_those_left(tiny, through, months):
    scn, log = tiny
    pr = mf.progress(scn, log, through=through)
    own_done = {u: sum(d <= str(pr.through) for d in ds) for u, ds in ADMITTED.items()}
    done = subtree_counts(own_done)
    left = subtree_counts({u: TRAINING[u] - own_done[u] for u in TRAINING})
    total = subtree_counts(TRAINING)
    units = pr.units.set_index("unit_id")
    assert pr.months == months and pr.year == 2021
    for u in ["D", "A", "A1", "B"]:
        row = units.loc[u]
        rest = binom_pmf(left[u], q(12 - months))
        assert row["admitted"] == done[u]
        assert row["expected_year"] == pytest.approx(done[u] + left[u] * q(12 - months), rel=1e-9)
        assert row["p_meet"] == pytest.approx(at_least(rest, done[u], TARGETS[u]), abs=1e-10)
        assert row["year_lo"] == done[u] + quantile(rest, 0.05)
        assert row["year_hi"] == done[u] + quantile(rest, 0.95)
        pmf = pr.year_pmf(u)
        assert pmf.index[0] >= done[u]
        np.testing.assert_allclose(pmf.to_numpy(), rest[pmf.index - done[u]], atol=1e-12)
        # against the forecast made in January: Binomial(everybody, q(months))
        before = binom_pmf(total[u], q(months))
        assert row["expected_so_far"] == pytest.approx(total[u] * q(months), rel=1e-9)
        assert row["so_far_lo"] == quantile(before, 0.05) and row["so_far_hi"] == quantile(before, 0.95)
        expected_side = ("below" if done[u] < row["so_far_lo"] else "above" if done[u] > row["so_far_hi"]
                         else "within")
        assert row["vs_forecast"] == expected_side


def test_pro_rata_and_vs_plan(tiny):
    scn, log = tiny
    for through, months in [("2021-01", 1), ("2021Q1", 3), ("2021-05", 5)]:
        u = mf.progress(scn, log, through=through).units.set_index("unit_id")
        for unit, target in TARGETS.items():
            assert u.loc[unit, "pro_rata"] == pytest.approx(target * months / 12)
            assert u.loc[unit, "vs_plan"] == pytest.approx(u.loc[unit, "admitted"] - target * months / 12)
            assert u.loc[unit, "months"] == months and u.loc[unit, "target"] == target


def test_through_december_leaves_nothing_to_forecast():
    training = {"A": 3, "A1": 1, "B": 2}
    scn = world(training=training)
    admitted = {"A": ["2021-02", "2021-12"], "B": ["2021-07"]}
    log = mf.EventLog.from_frame(events(training, admitted), scn)
    pr = mf.progress(scn, log, through="2021-12")
    u = pr.units.set_index("unit_id")
    assert pr.months == 12
    assert list(u["admitted"]) == [3, 2, 0, 1]
    assert list(u["expected_year"]) == [3, 2, 0, 1]
    assert list(u["p_meet"]) == [0.0, 0.0, 0.0, 0.0]  # targets 13, 7, 3, 6 not met
    assert (u["status"] == "behind").all()
    assert pr.year_pmf("A").to_dict() == {2: 1.0}


# -- the status rules --------------------------------------------------------------------------

def one_unit(n: int, target: float, p: float = 0.1, admitted_months=()):
    org = mf.Org.from_frame(pd.DataFrame({"unit_id": ["U"], "parent_id": [None]}))
    stocks = pd.DataFrame({"unit_id": ["U"], "stage": ["training"], "count": [n]})
    targets = {} if target is None else {"U": target}
    scn = mf.Scenario(org, pipeline(p, 0.0), stocks=stocks, targets=targets, start="2021-01")
    # a candidate arriving in June into the source stage, where nobody advances: the log
    # then runs to June (its last event) whatever else happened, and nothing else changes
    marker = pd.DataFrame([("marker", "U", "source", "2021-06")], columns=["person_id", "unit_id", "event", "date"])
    log = mf.EventLog.from_frame(pd.concat([events({"U": n}, {"U": list(admitted_months)}), marker]), scn)
    return scn, log


@pytest.mark.parametrize("n, target, done, status", [
    (10, 5, 3, "on track"),    # P(Bin(7, q6) >= 2) = 0.98
    (10, 6, 0, "at risk"),     # P(Bin(10, q6) >= 6) ~ 0.26
    (10, 9, 0, "behind"),      # ~ 0.003
    (4, 2, 2, "on track"),     # met already: P = 1
    (10, None, 1, "no target"),
])
def test_status_follows_the_stated_rule_on_p_meet(n, target, done, status):
    scn, log = one_unit(n, target, admitted_months=["2021-02"] * done)
    row = mf.progress(scn, log, through="2021-06").units.iloc[0]
    if target is None:
        assert np.isnan(row["p_meet"]) and np.isnan(row["target"]) and np.isnan(row["pro_rata"])
    else:
        p = at_least(binom_pmf(n - done, 1 - 0.9 ** 6), done, target)
        assert row["p_meet"] == pytest.approx(p, abs=1e-12)
        rule = "on track" if p >= LEVELS[0] else "behind" if p < LEVELS[1] else "at risk"
        assert rule == status
        assert f"{p:.2f}" in row["status_reason"] and status in row["status_reason"]
    assert row["status"] == status


def test_status_thresholds_are_parameters():
    scn, log = one_unit(10, 6)
    p = at_least(binom_pmf(10, 1 - 0.9 ** 6), 0, 6)
    assert 0.2 < p < 0.5
    assert mf.progress(scn, log, through="2021-06").units["status"].iat[0] == "at risk"
    assert mf.progress(scn, log, through="2021-06", levels=(p, 0.1)).units["status"].iat[0] == "on track"
    assert mf.progress(scn, log, through="2021-06", levels=(0.9, p + 1e-9)).units["status"].iat[0] == "behind"
    pr = mf.progress(scn, log, through="2021-06", levels=(0.6, 0.3))
    assert pr.rules == {"on_track": 0.6, "behind": 0.3}
    for bad in [(0.2, 0.5), (1.5, 0.2), (0.5,), "high"]:
        with pytest.raises(mf.InputError, match="levels"):
            mf.progress(scn, log, through="2021-06", levels=bad)


# -- roll-ups ------------------------------------------------------------------------------------

def test_levels_add_up_and_overseers_are_convolutions(tiny):
    scn, log = tiny
    pr = mf.progress(scn, log, through="2021Q2")
    units, levels = pr.units.set_index("unit_id"), pr.levels.set_index("depth")
    assert list(pr.units["unit_id"]) == ["D", "A", "A1", "B"]  # preorder
    assert list(pr.units["depth"]) == [0, 1, 2, 1]
    assert units.loc["A1", "overseers"] == "X, Y" and units.loc["B", "overseers"] == "Y"
    assert units.loc["D", "overseers"] == ""
    # the root has no people of its own: depth 1's sums are the root's figures
    for column in ["admitted", "expected_year", "target", "pro_rata"]:
        assert levels.loc[1, column] == pytest.approx(levels.loc[0, column])
        assert levels.loc[0, column] == pytest.approx(units.loc["D", column])
    assert list(levels["units"]) == [1, 2, 1] and list(levels["with_target"]) == [1, 2, 1]
    for depth, group in pr.units.groupby("depth"):
        counts = group["status"].value_counts()
        assert [levels.loc[depth, c] for c in ["on_track", "at_risk", "behind"]] == \
               [counts.get(s, 0) for s in ["on track", "at risk", "behind"]]
    # overseers: X = A's subtree alone (A1 inside it), Y = A1 and B, independent
    o = pr.overseers.set_index("overseer_id")
    assert list(pr.overseers.columns) == ["overseer_id", "units", "target", "admitted", "pro_rata",
                                          "expected_year", "p_meet", "status", "status_reason"]
    assert o.loc["X", "units"] == "A, A1" and o.loc["X", "target"] == TARGETS["A"]
    assert o.loc["X", "p_meet"] == pytest.approx(units.loc["A", "p_meet"], abs=1e-12)
    assert o.loc["X", "admitted"] == units.loc["A", "admitted"]
    a1, b = pr.year_pmf("A1"), pr.year_pmf("B")
    joint = np.convolve(a1.to_numpy(), b.to_numpy())
    offset = a1.index[0] + b.index[0]
    target_y = TARGETS["A1"] + TARGETS["B"]
    assert o.loc["Y", "target"] == target_y
    assert o.loc["Y", "p_meet"] == pytest.approx(at_least(joint, offset, target_y), abs=1e-12)
    # and against the closed form: the sum of two binomials with the same q is one binomial
    left = (TRAINING["A1"] - 1) + (TRAINING["B"] - 5)
    done = 1 + 5
    assert o.loc["Y", "p_meet"] == pytest.approx(at_least(binom_pmf(left, q(6)), done, target_y), abs=1e-10)
    assert o.loc["Y", "admitted"] == done
    assert o.loc["Y", "pro_rata"] == pytest.approx(target_y / 2)
    assert o.loc["Y", "expected_year"] == pytest.approx(done + left * q(6))
    assert o.loc["Y", "status"] == ("on track" if o.loc["Y", "p_meet"] >= 0.5 else
                                    "behind" if o.loc["Y", "p_meet"] < 0.2 else "at risk")


def test_plan_replaces_the_targets(tiny):
    scn, log = tiny
    plan = pd.DataFrame({"unit_id": ["D", "A", "B"], "share": [20, 12, 8]})
    u = mf.progress(scn, log, through="2021Q2", plan=plan).units.set_index("unit_id")
    assert u.loc["D", "target"] == 20 and u.loc["B", "target"] == 8
    assert np.isnan(u.loc["A1", "target"]) and u.loc["A1", "status"] == "no target"
    left_b = TRAINING["B"] - 5
    assert u.loc["B", "p_meet"] == pytest.approx(at_least(binom_pmf(left_b, q(6)), 5, 8), abs=1e-12)


def test_plan_from_allocate_is_taken(tiny):
    scn, log = tiny
    plan = mf.allocate(scn, 14)
    u = mf.progress(scn, log, through="2021Q2", plan=plan).units.set_index("unit_id")
    shares = plan.set_index("unit_id")["share"]
    assert u["target"].to_dict() == {k: float(v) for k, v in shares.items()}
    assert (u["pro_rata"] == shares.reindex(u.index) / 2).all()


# -- event log and counts agree -------------------------------------------------------------

def monthly_counts(log: mf.EventLog, scn: mf.Scenario, first: str, last: str, by: str = "month") -> pd.DataFrame:
    """A count table of the log's months (or quarters): stocks at the start of each period
    from snapshots, admissions from the raw events (not through memberflow's exposures)."""
    stages = list(scn.pipeline.stages)
    rows = []
    periods = pd.period_range(first, last, freq="M" if by == "month" else "Q")
    for period in periods:
        m0 = period.asfreq("M", how="start")
        snap = log.snapshot(m0).groupby(["unit_id", "stage"])["count"].sum()
        for unit in scn.org.ids:
            row = {"unit_id": unit, "period": str(period)}
            for s in stages:
                row[f"{s}_start"] = int(snap.get((unit, s), 0))
            rows.append(row)
    return pd.DataFrame(rows)


def add_admissions(counts: pd.DataFrame, events_frame: pd.DataFrame, admission: str = "probation") -> pd.DataFrame:
    ev = events_frame[events_frame["event"] == admission].copy()
    ev["month"] = ev["date"].str[:7]
    out = counts.copy()

    def count(row):
        period = pd.Period(row["period"], freq="Q" if "Q" in row["period"] else "M")
        months = {str(m) for m in pd.period_range(period.asfreq("M", how="start"), period.asfreq("M", how="end"),
                                                   freq="M")}
        return int(((ev["unit_id"] == row["unit_id"]) & ev["month"].isin(months)).sum())

    out["admissions"] = out.apply(count, axis=1)
    return out


@pytest.mark.parametrize("by, through", [("month", "2021-05"), ("quarter", "2021Q2")])
def test_event_log_and_count_table_give_the_same_result(tiny, by, through):
    scn, log = tiny
    last = pd.Period(through, freq="Q").asfreq("M", how="end") if "Q" in through else pd.Period(through, freq="M")
    first_period = "2021-01" if by == "month" else "2021Q1"
    last_period = str(last) if by == "month" else through
    counts = add_admissions(monthly_counts(log, scn, first_period, last_period, by), events(admitted=ADMITTED))
    table = mf.CountTable.from_frame(counts, scn)
    from_log = mf.progress(scn, log, through=through)
    from_counts = mf.progress(scn, table, stocks=log.snapshot(last + 1))
    assert from_counts.through == from_log.through
    pd.testing.assert_frame_equal(from_log.units, from_counts.units)
    pd.testing.assert_frame_equal(from_log.levels, from_counts.levels)
    pd.testing.assert_frame_equal(from_log.overseers, from_counts.overseers)


def test_records_after_through_are_not_counted_and_said_so(tiny):
    scn, _ = tiny
    log = mf.EventLog.from_frame(events(admitted=ADMITTED, after={"A1": ["2021-08"]}), scn)
    pr = mf.progress(scn, log, through="2021Q2")
    assert pr.units.set_index("unit_id").loc["A1", "admitted"] == 1
    assert pr.notes == ("records of 2021-07 to 2021-08 not counted (after through=2021-06)",)
    assert mf.progress(scn, log).through == pd.Period("2021-08", freq="M")  # default: the records' last month


# -- bad input -----------------------------------------------------------------------------------

def test_bad_input_is_refused_with_typed_errors_naming_it(tiny):
    scn, log = tiny
    with pytest.raises(mf.InputError, match=r"through=2022-01 is outside the scenario's year 2021"):
        mf.progress(scn, log, through="2022-01")
    with pytest.raises(mf.InputError, match=r"through=2020-12 is outside"):
        mf.progress(scn, log, through="2020-12")
    with pytest.raises(mf.InputError, match=r"through=2021-09, but the records end in 2021-06"):
        mf.progress(scn, log, through="2021-09")
    with pytest.raises(mf.InputError, match="through must be a month"):
        mf.progress(scn, log, through="2021Q5")
    with pytest.raises(mf.InputError, match="starts in 2021-02"):
        mf.progress(world(start="2021-02"), mf.EventLog.from_frame(events(admitted=ADMITTED), world(start="2021-02")))
    with pytest.raises(mf.UnknownIdError, match="'Z'"):
        mf.progress(scn, log, plan=pd.DataFrame({"unit_id": ["D", "Z"], "share": [3, 1]}))
    with pytest.raises(mf.InputError, match=r"plan gives unit\(s\) twice: \['A'\]"):
        mf.progress(scn, log, plan=pd.DataFrame({"unit_id": ["A", "A"], "share": [3, 1]}))
    with pytest.raises(mf.InputError, match="share of 'B' must be a number >= 0"):
        mf.progress(scn, log, plan=pd.DataFrame({"unit_id": ["A", "B"], "share": [3, -1]}))
    with pytest.raises(mf.InputError, match="columns unit_id and share"):
        mf.progress(scn, log, plan={"A": 3})
    with pytest.raises(mf.UnknownIdError, match="'Z'"):
        mf.progress(scn, log, stocks=pd.DataFrame({"unit_id": ["Z"], "stage": ["training"], "count": [1]}))
    with pytest.raises(mf.InputError, match="so_far must be"):
        mf.progress(scn, events(admitted=ADMITTED))
    with pytest.raises(mf.InputError, match="another organisation"):
        other = mf.Scenario(mf.Org.from_frame(pd.DataFrame({"unit_id": ["R"], "parent_id": [None]})),
                            pipeline(), start="2021-01")
        mf.progress(other, log)
    # a log that knows everybody only from 2021-03 on
    late = events(admitted=ADMITTED)
    late = late[~late["unit_id"].eq("B") | late["event"].ne("training")]
    late = pd.concat([late, pd.DataFrame({"person_id": [f"B-{i}" for i in range(20)], "unit_id": "B",
                                          "event": "training", "date": "2021-02"})])
    late = late[late["event"].ne("probation") | late["unit_id"].ne("B")]
    with pytest.raises(mf.InputError, match="only from 2021-03"):
        mf.progress(scn, mf.EventLog.from_frame(late, scn), through="2021-03")


def test_count_tables_refused_where_they_cannot_say(tiny):
    scn, log = tiny
    counts = add_admissions(monthly_counts(log, scn, "2021Q1", "2021Q2", "quarter"), events(admitted=ADMITTED))
    table = mf.CountTable.from_frame(counts, scn)
    with pytest.raises(mf.InputError, match=r"give stocks= \(the stocks at the start of 2021-07\)"):
        mf.progress(scn, table)
    with pytest.raises(mf.InputError, match=r"unit 'D', period 2021Q2 \(2021-04 to 2021-06\) is partly outside "
                                            r"2021-01 to 2021-05"):
        mf.progress(scn, table, through="2021-05", stocks=log.snapshot("2021-06"))
    short = mf.CountTable.from_frame(counts[~((counts.unit_id == "A1") & (counts.period == "2021Q1"))], scn)
    with pytest.raises(mf.InputError, match=r"cover 3 of the 6 months 2021-01 to 2021-06 for unit 'A1'"):
        mf.progress(scn, short, stocks=log.snapshot("2021-07"))
    unknown = mf.CountTable.from_frame(counts.drop(columns="admissions"), scn)
    with pytest.raises(mf.InputError, match=r"admissions of unit 'D' in 2021Q1 are unknown"):
        mf.progress(scn, unknown, stocks=log.snapshot("2021-07"))


# -- the example year ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def example():
    year = mf.datasets.example_year("2021-06", seed=0)
    return year, mf.progress(year.scenario, year.log, through="2021Q2")


def test_example_year_is_the_history_continued(example):
    year, pr = example
    scn, log = year.scenario, year.log
    assert scn.start == pd.Period("2021-01", freq="M") and scn.targets["D"] == 160
    assert log.last_month == pd.Period("2021-06", freq="M") and len(log.quarantined) == 0
    assert log.complete_from <= scn.start
    pd.testing.assert_frame_equal(log.snapshot("2021-01"), scn.stocks, check_dtype=False)
    dates = year.events["date"].str[:7]
    assert dates.max() == "2021-06"
    again = mf.datasets.example_year("2021-03", seed=0).events
    cut = year.events[dates <= "2021-03"].reset_index(drop=True)
    pd.testing.assert_frame_equal(again, cut)  # the same records, cut earlier


def test_example_year_progress(example):
    year, pr = example
    assert pr.months == 6 and str(pr.through) == "2021-06" and pr.notes == ()
    assert set(pr.units["status"]) <= set(STATUSES)
    units = pr.units.set_index("unit_id")
    # admitted, recounted from the raw events and rolled up by walking parents
    ev = year.events
    own = ev[(ev["event"] == "probation") & (ev["date"].str[:7] >= "2021-01")].groupby("unit_id").size()
    parents = dict(zip(pr.units["unit_id"], pr.units["parent_id"]))
    totals = dict.fromkeys(parents, 0)
    for unit, n in own.items():
        while unit is not None:
            totals[unit] += n
            unit = parents[unit]
    assert units["admitted"].to_dict() == totals
    levels = pr.levels.set_index("depth")
    assert levels.loc[1, "admitted"] + own.get("D", 0) == units.loc["D", "admitted"]
    assert levels.loc[1, "target"] == units.loc["D", "target"] == 160
    assert levels["units"].sum() == len(pr.units)
    assert (levels[["on_track", "at_risk", "behind"]].sum(axis=1) <= levels["with_target"]).all()
    # every overseer's p_meet is the convolution of its units' year pmfs
    for row in pr.overseers.itertuples():
        pmfs = [pr.year_pmf(u) for u in row.units.split(", ")]
        joint, offset = np.ones(1), 0
        for pmf in pmfs:
            joint, offset = np.convolve(joint, pmf.to_numpy()), offset + int(pmf.index[0])
        assert row.p_meet == pytest.approx(at_least(joint, offset, row.target), abs=1e-9)
    assert 0 <= units.loc["D", "p_meet"] <= 1


def test_example_year_from_counts_equals_from_the_log(example):
    year, pr = example
    counts = add_admissions(monthly_counts(year.log, year.scenario, "2021Q1", "2021Q2", "quarter"), year.events)
    table = mf.CountTable.from_frame(counts, year.scenario)
    from_counts = mf.progress(year.scenario, table, stocks=year.log.snapshot("2021-07"))
    pd.testing.assert_frame_equal(pr.units, from_counts.units)
    pd.testing.assert_frame_equal(pr.overseers, from_counts.overseers)


def test_a_fit_stands_for_its_scenario(example):
    year, _ = example
    h = mf.datasets.example_history(0)
    fit = mf.estimate(mf.EventLog.from_frame(h.events, h.start))
    plan = mf.allocate(fit.scenario, 160)
    pd.testing.assert_frame_equal(mf.progress(fit, year.log, plan=plan).units,
                                  mf.progress(fit.scenario, year.log, plan=plan).units)


def test_example_year_and_the_bound_generator_refuse_what_they_cannot_do():
    assert str(mf.datasets.example_year("2021Q1").log.last_month) == "2021-03"
    with pytest.raises(mf.ParameterError, match="through must be a month of 2021"):
        mf.datasets.example_year("2022-01")
    scn = world()
    with pytest.raises(mf.InputError, match="the start's organisation"):
        mf._core.simulate_history(scn._core, [world()._core], 0, 1 / 3)
    march = world(start="2021-03")
    with pytest.raises(mf.InputError, match="must be a January"):
        mf._core.simulate_history(march._core, [march._core], 0, 1 / 3)
    # the generator on the tiny world: everybody present starts with an opening entry
    h = mf._core.simulate_history(scn._core, [scn._core], 7, 1 / 3)
    frame = pd.DataFrame(h["events"])
    log = mf.EventLog.from_frame(frame, scn)
    pd.testing.assert_frame_equal(log.snapshot("2021-01"), scn.stocks, check_dtype=False)


def test_a_scenario_whose_stocks_are_not_the_logs_is_noted(tiny):
    _, log = tiny
    other = world(training={"A": 12, "A1": 8, "B": 21})
    pr = mf.progress(other, log, through="2021Q2")
    assert pr.notes == ("the scenario's stocks differ from the log's snapshot of 2021-01 in 1 unit(s) (first 'B'; "
                        "41 people against 40); the January forecast starts from the scenario's",)
    assert pr.units.set_index("unit_id").loc["B", "expected_so_far"] == pytest.approx(21 * q(6))
