"""memberflow.datasets.example_history: reproducible; the yearly counts and end stocks are
what the event log says (recounted here with pandas); every person's events are a path
the model can take; 2020 is near the article's 89 admissions and 141 confirmations; and
each year's admissions match, on average over seeds, the expected-value engine run on
that year's truth from the state the log gives at its start."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import memberflow as mf

STAGES = ["source", "training", "probation", "full"]
FIRST = 2016 * 12  # the history's first month, as months since year 0


@pytest.fixture(scope="module")
def history() -> mf.datasets.History:
    return mf.datasets.example_history()


def with_months(events: pd.DataFrame) -> pd.DataFrame:
    """The log with `month` (months since year 0), the stage each entry puts the person in
    (`entered`; NaN for leaving events) and the stage they were in before (`before`)."""
    ev = events.copy()
    date = ev["date"].str.split("-", expand=True).astype(int)
    ev["month"] = date[0] * 12 + date[1] - 1
    ev["entered"] = ev["event"].map({**{s: s for s in STAGES}, "transfer_in": "full"})
    ev["before"] = ev.groupby("person_id")["entered"].ffill().groupby(ev["person_id"]).shift()
    return ev


def stocks_at(ev: pd.DataFrame, month: int) -> pd.DataFrame:
    """People per unit and stage at the start of `month` (months since year 0), with
    each fixed stage's age: the stage of the last entry before it, unless they left."""
    last = ev[ev["month"] < month].groupby("person_id").tail(1)
    last = last[last["entered"].notna()]
    age = np.where(last["entered"] == "probation", month - 1 - last["month"], 0)
    return last.assign(age=age).groupby(["unit_id", "entered", "age"]).size()


def recount(h: mf.datasets.History) -> pd.DataFrame:
    """The yearly table rebuilt from the events alone."""
    ev = with_months(h.events)
    ev["year"] = ev["month"] // 12
    inside = ev[ev["month"] >= FIRST]
    present = ev.loc[ev["month"] < FIRST, "person_id"]
    first_event = ~inside["person_id"].duplicated() & ~inside["person_id"].isin(present)
    kinds = {
        "arrivals": (inside["event"] == "source") & first_event,
        "training_entries": inside["event"] == "training",
        "admissions": inside["event"] == "probation",
        "confirmations": inside["event"] == "full",
        "not_confirmed": inside["event"] == "not_confirmed",
        "transfers_in": inside["event"] == "transfer_in",
        "transfers_out": inside["event"] == "transfer_out",
        **{f"{s}_exits": (inside["event"] == "left") & (inside["before"] == s) for s in STAGES},
    }
    parts = [inside[mask].groupby(["unit_id", "year"]).size().rename(name) for name, mask in kinds.items()]
    for year in h.yearly["year"].unique():
        for column, month in (("_start", year * 12), ("_end", (year + 1) * 12)):
            s = stocks_at(ev, month).groupby(level=["unit_id", "entered"]).sum().unstack(fill_value=0)
            s.columns = [c + column for c in s.columns]
            parts.append(s.assign(year=year).set_index("year", append=True).stack().rename("n"))
    counts = pd.concat([p for p in parts if p.name != "n"], axis=1)
    stocks = pd.concat([p for p in parts if p.name == "n"]).unstack()
    return counts.join(stocks, how="outer").fillna(0).astype("int64")


def test_same_seed_same_history_other_seed_other():
    a, b = mf.datasets.example_history(seed=7), mf.datasets.example_history(seed=7)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.yearly, b.yearly)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    c = mf.datasets.example_history(seed=8)
    assert not a.events.equals(c.events)
    assert not np.array_equal(a.truth["value"], c.truth["value"])


def test_shape_and_calendar(history):
    h = history
    assert list(h.events.columns) == ["person_id", "unit_id", "event", "date", "to_unit_id"]
    assert h.events["to_unit_id"].isna().all()
    assert h.events["date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert sorted(h.yearly["year"].unique()) == [2016, 2017, 2018, 2019, 2020]
    assert len(h.yearly) == 267 * 5
    assert str(h.start.start) == "2016-01" and str(h.end.start) == "2021-01"
    assert set(h.truth.columns) == {"unit_id", "year", "stage", "param", "value"}
    # every parameter each stage takes, for every unit and year
    assert len(h.truth) == 267 * 5 * 9
    full_end = h.end.stock_totals()["full"].sum()
    assert abs(full_end - 6113) < 150  # expected: example_district(2021)'s 6,113
    assert len(mf.datasets.example_history(years=2).yearly) == 267 * 2
    assert h.calibration["inflow_scale"] > 0 and h.calibration["last_year_shift"] < 0  # 2020 is the thin year


def test_yearly_counts_are_the_event_logs(history):
    h = history
    mine = h.yearly.set_index(["unit_id", "year"])
    theirs = recount(h).reindex(mine.index, fill_value=0)[mine.columns]
    pd.testing.assert_frame_equal(mine, theirs, check_names=False)
    # stocks balance: end = start + in - out, stage by stage
    y = h.yearly
    assert (y.source_end == y.source_start + y.arrivals - y.training_entries - y.source_exits).all()
    assert (y.training_end == y.training_start + y.training_entries - y.admissions - y.training_exits).all()
    assert (y.probation_end == y.probation_start + y.admissions - y.confirmations - y.not_confirmed
            - y.probation_exits).all()
    assert (y.full_end == y.full_start + y.confirmations + y.transfers_in - y.full_exits - y.transfers_out).all()


def test_end_stocks_are_what_the_log_implies(history):
    h = history
    ev = with_months(h.events)
    mine = stocks_at(ev, 2021 * 12)
    theirs = h.end.stocks
    theirs = theirs[theirs["count"] > 0]
    theirs = theirs.assign(age=theirs["months_in_stage"].fillna(0).astype(int)).set_index(
        ["unit_id", "stage", "age"])["count"]
    assert mine.sort_index().to_dict() == theirs.sort_index().to_dict()


def test_the_records_reader_takes_the_log(history):
    h = history
    log = mf.EventLog.from_frame(h.events, h.start)
    assert log.rows_read == len(h.events) and len(log.quarantined) == 0
    for when, scn in (("2016-01", h.start), ("2021-01", h.end)):
        snap = log.snapshot(when)
        pd.testing.assert_frame_equal(snap[snap["count"] > 0].reset_index(drop=True),
                                      scn.stocks[scn.stocks["count"] > 0].reset_index(drop=True))


def test_every_history_is_a_path_of_the_model(history):
    ev = with_months(history.events).sort_values(["person_id", "month"], kind="stable")
    end = 2021 * 12
    nxt = {s: STAGES[i + 1] for i, s in enumerate(STAGES[:-1])}
    person = None
    for r in ev.itertuples():
        if r.person_id != person:  # the person's first event: an entry
            person, stage, entered, unit = r.person_id, r.entered, r.month, r.unit_id
            assert isinstance(stage, str), person
            if r.month < FIRST:  # present at the start: entered the month before, probation within a year
                assert r.month >= (FIRST - 12 if stage == "probation" else FIRST - 1), person
            else:
                assert r.event in ("source", "transfer_in"), person
            continue
        assert stage is not None, person  # nothing after leaving
        assert r.unit_id == unit, person
        assert entered < r.month < end and r.month >= FIRST, person  # one move a month, inside the history
        if isinstance(r.entered, str):
            assert r.event != "transfer_in" and r.entered == nxt[stage], person
            if stage == "probation":
                assert r.month == entered + 12, person
            stage = r.entered
        else:
            assert r.event in ("left", "not_confirmed", "transfer_out"), person
            if r.event == "not_confirmed":
                assert stage == "probation" and r.month == entered + 12, person
            if r.event == "transfer_out":
                assert stage == "full", person
            stage = None
        entered = r.month


def test_2020_near_the_article(history):
    totals = history.yearly.groupby("year")[["admissions", "confirmations"]].sum()
    # Expected 89 and 141 by calibration; the noise has sd about 9 and 12: within 2 sd.
    assert abs(totals.loc[2020, "admissions"] - 89) <= 18
    assert abs(totals.loc[2020, "confirmations"] - 141) <= 24
    assert totals.loc[2019, "admissions"] > totals.loc[2020, "admissions"] + 25


def year_scenario(h: mf.datasets.History, ev: pd.DataFrame, year: int) -> mf.Scenario:
    """The district at the start of `year`: stocks from the log `ev` (with_months), that
    year's truth."""
    stocks = stocks_at(ev, year * 12).rename("count").reset_index()
    stocks = stocks.rename(columns={"entered": "stage"})
    stocks["months_in_stage"] = stocks["age"].where(stocks["stage"] == "probation").astype("Int64")
    truth = h.truth[h.truth["year"] == year].rename(columns={"unit_id": "scope"})
    return mf.Scenario(h.start.org, h.start.pipeline, stocks=stocks[["unit_id", "stage", "count", "months_in_stage"]],
                       params=truth[["scope", "stage", "param", "value"]], start=f"{year}-01")


def test_mean_over_seeds_is_the_expected_engines_on_the_truth():
    # For each seed: the year's admissions minus what the expected-value engine predicts
    # for it from the log's state at the start of the year and the year's truth. The
    # differences have mean 0 if the simulation follows the model.
    diffs = {2018: [], 2020: []}
    for seed in range(40):
        h = mf.datasets.example_history(seed=seed)
        realised = h.yearly.groupby("year")["admissions"].sum()
        ev = with_months(h.events)
        for year in diffs:
            fc = mf.forecast(year_scenario(h, ev, year), horizon=12, method="expected")
            diffs[year].append(realised[year] - fc.mean("admissions")["D"])
    for year, d in diffs.items():
        d = np.asarray(d)
        se = d.std(ddof=1) / np.sqrt(len(d))
        assert abs(d.mean()) < 4 * se, (year, d.mean(), se)


def test_calibration_over_seeds():
    totals = pd.DataFrame([mf.datasets.example_history(seed=s).yearly.groupby("year")[["admissions", "confirmations"]]
                           .sum().loc[2020] for s in range(200, 240)])
    for column, target in (("admissions", 89), ("confirmations", 141)):
        se = totals[column].std(ddof=1) / np.sqrt(len(totals))
        assert abs(totals[column].mean() - target) < 4 * se, (column, totals[column].mean(), se)


@pytest.mark.parametrize("kwargs, match", [({"years": 1}, "years must be from 2 to 30"),
                                           ({"seed": -1}, "seed must be from 0"),
                                           ({"years": 5.0}, "years must be an integer")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(mf.InputError, match=match):
        mf.datasets.example_history(**kwargs)


def test_no_heterogeneity_no_drift():
    h = mf.datasets.example_history(seed=1, level_sd=[0.0], year_sd=0.0, unit_drift_sd=0.0)
    advance = h.truth[(h.truth["stage"] == "training") & (h.truth["param"] == "advance")]
    kinds = h.start.org.to_frame().set_index("unit_id")["kind"]
    # without effects or drift: one value for rural sub-cells and one for the others, the
    # same every year but the last, which carries the calibrated drop
    per_year = advance[advance["unit_id"].isin(kinds.index[kinds == "sub_cell"])].groupby("year")["value"]
    assert (per_year.nunique() == 2).all()
    assert advance[advance["year"] < 2020].groupby("unit_id")["value"].nunique().eq(1).all()
    by_year = advance.pivot(index="unit_id", columns="year", values="value")
    assert (by_year[2020] < by_year[2019]).all()


@pytest.mark.parametrize("kwargs, match", [({"level_sd": []}, "level_sd"), ({"year_sd": -0.1}, ">= 0"),
                                           ({"transfer_out_share": 2.0}, "transfer_out_share")])
def test_bad_sizes(kwargs, match):
    with pytest.raises(mf.InputError, match=match):
        mf.datasets.example_history(**kwargs)


def test_to_files_round_trip(history, tmp_path):
    paths = history.to_files(tmp_path)
    events = pd.read_csv(paths["events"], dtype=str, keep_default_na=False)
    assert (events.drop(columns="to_unit_id").to_numpy() == history.events.drop(columns="to_unit_id").to_numpy()).all()
    assert mf.Scenario.read(paths["end"]).stock_totals().equals(history.end.stock_totals())
    log = mf.EventLog.from_csv(paths["events"], history.start)
    assert len(log.quarantined) == 0


def test_write_synthetic_history_reads_back_whole(tmp_path):
    # the national-scale generator of benchmarks/python/bench_estimate.py, on a small tree
    out = mf.datasets.write_synthetic_history(tmp_path, fanout=(3, 3, 3), kinds=("root", "a", "b", "c"),
                                              members_per_leaf=6, seed=4, years=3)
    start = mf.Scenario.read(out["start"])
    assert out["units"] == len(start.org) and (out["first"], out["last"]) == ("2018-01", "2020-12")
    assert start.start == pd.Period("2018-01", freq="M")
    log = mf.EventLog.from_csv(out["events"], start)
    assert log.rows_read == out["rows"] > 0 and len(log.quarantined) == 0
    snap = log.snapshot("2018-01").groupby(["unit_id", "stage"])["count"].sum().unstack(fill_value=0)
    totals = start.stock_totals()
    totals = totals[totals.sum(axis=1) > 0]
    assert (snap.reindex(index=totals.index, columns=totals.columns, fill_value=0) == totals).all().all()
    again = tmp_path / "again"
    mf.datasets.write_synthetic_history(again, fanout=(3, 3, 3), kinds=("root", "a", "b", "c"),
                                        members_per_leaf=6, seed=4, years=3)
    assert (again / "events.csv").read_bytes() == (tmp_path / "events.csv").read_bytes()
    with pytest.raises(mf.InputError, match="years must be from 2 to 30"):
        mf.datasets.write_synthetic_history(tmp_path / "bad", scale="district", years=1)
