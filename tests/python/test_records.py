"""The event log from Python: the CSV and DataFrame readers agree, a snapshot goes into a
Scenario unchanged, exposures match a small history counted by hand, bad records are
refused or quarantined with every row accounted for."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import memberflow as mf
from memberflow import stage

HEADER = "person_id,unit_id,event,date,to_unit_id\n"

# p1 arrives in A (2021-01), trains (03), is admitted (04), moves to B (05), is confirmed
# (07: probation of 3 months at ages 0..2 in May..July); p2 was in training before the
# records and leaves in 02; p3 transfers in to B in 06; p4 was in probation at age 1 at
# the start of 2021-01 (entered 2020-11) and fails in 2021-02.
HISTORY = (HEADER
           + "p1,A,candidate,2021-01-15,\n"
           + "p1,A,training,2021-03,\n"
           + "p1,A,admitted,2021-04-30,\n"
           + "p1,A,moved,2021-05,B\n"
           + "p1,B,confirmed,2021-07,\n"
           + "p2,A,training,2020-12,\n"
           + "p2,A,left,2021-02,\n"
           + "p3,B,transfer_in,2021-06,\n"
           + "p4,B,probation,2020-11-03,\n"
           + "p4,B,not_confirmed,2021-02,\n")


@pytest.fixture
def scn():
    org = mf.Org.from_frame(pd.DataFrame({"unit_id": ["D", "A", "B"], "parent_id": [None, "D", "D"]}))
    pipe = mf.Pipeline([stage.markov("source", 0.1, 0.1), stage.markov("training", 0.1, 0.1),
                        stage.fixed("probation", 3, 0.05, 0.9), stage.terminal("full", 0.01)], admission="probation")
    return mf.Scenario(org, pipe, start="2021-01")


def write(tmp_path, text: str):
    path = tmp_path / "events.csv"
    path.write_text(text)
    return path


def test_csv_and_dataframe_readers_agree(scn, tmp_path):
    path = write(tmp_path, HISTORY)
    from_csv = mf.EventLog.from_csv(path, scn)
    frame = pd.read_csv(path)  # to_unit_id: floats NaN; dates as text
    frame["date"] = frame["date"].astype(object)
    frame.loc[0, "date"] = pd.Timestamp("2021-01-15")
    from_frame = mf.EventLog.from_frame(frame, scn.org, scn.pipeline)
    assert from_csv.rows_read == from_frame.rows_read == 10
    assert from_csv.events_used == from_frame.events_used == 10
    assert from_csv.first_month == pd.Period("2020-11", freq="M")
    assert from_csv.last_month == pd.Period("2021-07", freq="M")
    pd.testing.assert_frame_equal(from_csv.exposures(), from_frame.exposures())
    for month in ["2020-12", "2021-03", "2021-06", "2021-08"]:
        pd.testing.assert_frame_equal(from_csv.snapshot(month), from_frame.snapshot(month))


def test_exposures_are_the_counts_of_the_history(scn, tmp_path):
    x = mf.EventLog.from_csv(write(tmp_path, HISTORY), scn).exposures("2021-01", "2021-07")
    assert list(x.columns) == ["unit_id", "stage", "ds", "at_risk", "advanced", "exited", "completing", "arrivals",
                               "transfers_in"]
    assert len(x) == 3 * 4 * 7

    def series(unit, stage, column):
        rows = x[(x.unit_id == unit) & (x.stage == stage)].sort_values("ds")
        return rows[column].tolist()

    assert series("A", "source", "arrivals") == [1, 0, 0, 0, 0, 0, 0]
    assert series("A", "source", "at_risk") == [0, 1, 1, 0, 0, 0, 0]
    assert series("A", "training", "at_risk") == [1, 1, 0, 1, 0, 0, 0]
    assert series("A", "training", "exited") == [0, 1, 0, 0, 0, 0, 0]
    assert series("A", "training", "advanced") == [0, 0, 0, 1, 0, 0, 0]
    assert series("A", "probation", "at_risk") == [0, 0, 0, 0, 1, 0, 0]
    assert series("B", "probation", "at_risk") == [1, 1, 0, 0, 0, 1, 1]  # p4 Jan (age 1), Feb (age 2); p1
    assert series("B", "probation", "completing") == [0, 1, 0, 0, 0, 0, 1]
    assert series("B", "probation", "advanced") == [0, 0, 0, 0, 0, 0, 1]
    assert series("B", "probation", "exited") == [0] * 7  # a failure is not an exit
    assert series("B", "full", "transfers_in") == [0, 0, 0, 0, 0, 1, 0]
    assert series("B", "full", "at_risk") == [0, 0, 0, 0, 0, 0, 1]
    assert x["ds"].iloc[0] == pd.Timestamp("2021-01-01")


def test_a_snapshot_is_a_stocks_table_a_scenario_takes_unchanged(scn, tmp_path):
    log = mf.EventLog.from_csv(write(tmp_path, HISTORY), scn)
    snap = log.snapshot(pd.Period("2021-01", freq="M"))
    assert snap["unit_id"].tolist() == ["A", "B"]
    assert snap["stage"].tolist() == ["training", "probation"]
    assert snap["count"].tolist() == [1, 1]
    assert snap["months_in_stage"].isna().tolist() == [True, False] and snap["months_in_stage"][1] == 1
    for month in ["2021-01", "2021-06", "2021-08"]:
        snap = log.snapshot(month)
        again = mf.Scenario(scn.org, scn.pipeline, stocks=snap, start=month)
        pd.testing.assert_frame_equal(again.stocks, snap)
        assert again.stock_totals().to_numpy().sum() == snap["count"].sum()
    with pytest.raises(mf.InputError, match="the records end in 2021-07"):
        log.snapshot("2021-09")


def test_people_says_who_is_where_and_for_how_long(scn, tmp_path):
    log = mf.EventLog.from_csv(write(tmp_path, HISTORY), scn)
    people = log.people("2021-02")
    assert people.values.tolist() == [["p1", "A", "source", 0], ["p2", "A", "training", 1],
                                      ["p4", "B", "probation", 2]]
    snap = log.snapshot("2021-02")
    assert len(people) == snap["count"].sum()


@pytest.fixture(scope="module")
def short_history():
    return mf.datasets.example_history(years=2, seed=3)


def test_the_example_history_loads_cleanly_and_its_snapshots_match(short_history):
    h = short_history
    log = mf.EventLog.from_frame(h.events, h.start)
    assert log.rows_read == log.events_used
    pd.testing.assert_frame_equal(log.snapshot(h.start.start), h.start.stocks)


BAD = {
    "unknown unit": ("p1,Z,source,2021-01,\n", r"line 2: unknown unit 'Z'"),
    "unknown to_unit": ("p1,A,source,2021-01,\np1,A,moved,2021-02,Q\n", r"line 3: unknown to_unit_id 'Q'"),
    "unknown event": ("p1,A,joined,2021-01,\n", r"line 2: unknown event 'joined'"),
    "unparseable date": ("p1,A,source,2021-02-30,\n", r"line 2: date '2021-02-30' is not a date"),
    "duplicate row": ("p1,A,source,2021-01,\np1,A,source,2021-01,\n", r"line 3: duplicate of line 2"),
    "a stage skipped": ("p1,A,source,2021-01,\np1,A,admitted,2021-03,\n",
                        r"line 3: person 'p1': 'admitted' in 2021-03 enters 'probation' from 'source'"),
    "confirmed before admitted": ("p1,A,training,2021-01,\np1,A,confirmed,2021-03,\np1,A,admitted,2021-05,\n",
                                  r"\(confirmed before admitted\)"),
    "admitted twice": ("p1,A,admitted,2021-01,\np1,A,admitted,2021-02,\n", r"\(admitted again without leaving\)"),
    "an event after leaving": ("p1,A,source,2021-01,\np1,A,left,2021-02,\np1,A,training,2021-03,\n",
                               r"line 4: person 'p1': 'training' in 2021-03 after the person left \(line 3\)"),
    "two moves in a month": ("p1,A,full,2021-01,\np1,A,moved,2021-03,B\np1,B,moved,2021-03,A\n",
                             r"a second event in that month \(line 3\)"),
    "probation passed early": ("p1,A,admitted,2021-01,\np1,A,confirmed,2021-02,\n",
                               r"passes 'probation' before its 3 months: entered in 2021-01 \(line 2\), it is "
                               r"passed in 2021-04"),
    "a confirmation missing": ("p1,A,admitted,2021-01,\np2,A,source,2021-06,\n",
                               r"should pass or fail 'probation' in 2021-04 but has no event then"),
    "a person in no stage": ("p1,A,left,2021-01,\n", r"'left' in 2021-01 for a person in no stage"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_a_bad_record_is_an_error_naming_its_line_or_quarantined_with_its_reason(name, scn, tmp_path):
    rows, message = BAD[name]
    path = write(tmp_path, HEADER + rows)
    with pytest.raises(mf.InputError, match=r"events\.csv: \d+ bad rows? in the event log") as error:
        mf.EventLog.from_csv(path, scn)
    assert re.search(message, str(error.value)), str(error.value)
    log = mf.EventLog.from_csv(path, scn, quarantine=True)
    q = log.quarantined
    assert list(q.columns[:2]) == ["line", "reason"]
    assert log.rows_read == log.events_used + len(q)
    located = [f"line {line}: {reason}" for line, reason in zip(q["line"], q["reason"])]
    assert any(re.search(message, text) for text in located), located
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    from_frame = mf.EventLog.from_frame(frame, scn, quarantine=True)
    assert from_frame.quarantined["row"].tolist() == (q["line"] - 1).tolist()
    as_lines = [re.sub(r"row (\d+)", lambda m: f"line {int(m[1]) + 1}", r) for r in from_frame.quarantined["reason"]]
    assert as_lines == q["reason"].tolist()


def test_quarantine_accounts_for_every_row(scn, tmp_path):
    rows = HISTORY + "p5,A,source,2021-01,\np5,A,probation,2021-02,\np5,A,left,2021-03,\np6,Z,source,2021-01,\n" \
        + "p1,A,training,2021-03,\n"
    log = mf.EventLog.from_csv(write(tmp_path, rows), scn, quarantine=True)
    q = log.quarantined
    assert log.rows_read == 15
    assert log.events_used == 10  # the history; p1 keeps it (a duplicate goes alone)
    assert len(q) == 5
    assert log.rows_read == log.events_used + len(q)
    reasons = dict(zip(q["line"], q["reason"]))
    assert reasons[16] == "duplicate of line 3"
    assert reasons[13].startswith("person 'p5': 'probation' in 2021-02 enters 'probation' from 'source'")
    assert reasons[12] == reasons[14] == "with line 13, a bad row of person 'p5'"
    assert reasons[15] == "unknown unit 'Z'"
    assert q.loc[q["line"] == 15, ["person_id", "unit_id", "event", "date"]].values.tolist() == \
        [["p6", "Z", "source", "2021-01"]]


def test_the_error_lists_the_first_20_bad_rows_and_counts_all(scn, tmp_path):
    rows = "".join(f"p{i},Z,source,2021-01,\n" for i in range(30))
    with pytest.raises(mf.InputError, match=r"30 bad rows in the event log \(the first 20\)") as error:
        mf.EventLog.from_csv(write(tmp_path, HEADER + rows), scn)
    text = str(error.value)
    assert "line 21: unknown unit 'Z'" in text and "line 22:" not in text


def test_an_org_needs_its_pipeline(scn, tmp_path):
    with pytest.raises(mf.InputError, match="pass pipeline="):
        mf.EventLog.from_csv(write(tmp_path, HISTORY), scn.org)
    with pytest.raises(TypeError, match="Scenario or Org"):
        mf.EventLog.from_csv(write(tmp_path, HISTORY), "units.csv")


def test_integer_person_ids_and_period_dates_from_a_frame(scn):
    frame = pd.DataFrame({"person_id": [1, 1], "unit_id": ["A", "A"], "event": ["source", "training"],
                          "date": [pd.Period("2021-01", freq="M"), pd.Period("2021-03", freq="M")]})
    log = mf.EventLog.from_frame(frame, scn)
    assert log.events_used == 2
    assert log.snapshot("2021-04")["stage"].tolist() == ["training"]


COUNTS = ("unit_id,period,source_start,training_start,probation_start,full_start,arrivals,training_entries,"
          "admissions,confirmations,not_confirmed,source_exits,training_exits,probation_exits,full_exits,"
          "transfers_in,transfers_out,full_end\n"
          "A,2020,5,2,1,10,3,2,1,1,0,1,0,0,1,1,0,11\n"
          "A,2021Q1,5,2,1,11,,,,,,,,,,,,\n"
          "B,2021-03,0,0,0,4,0,0,0,0,0,0,0,0,0,0,1,3\n")


def test_counts_from_csv_and_frame_agree_and_keep_unknowns(scn, tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text(COUNTS)
    from_csv = mf.CountTable.from_csv(path, scn)
    from_frame = mf.CountTable.from_frame(pd.read_csv(path), scn.org, scn.pipeline)
    pd.testing.assert_frame_equal(from_csv.frame, from_frame.frame)
    f = from_csv.frame
    assert f["period"].tolist() == ["2020", "2021Q1", "2021-03"]
    assert f["months"].tolist() == [12, 3, 1]
    assert f["first"].tolist() == [pd.Period("2020-01", freq="M"), pd.Period("2021-01", freq="M"),
                                   pd.Period("2021-03", freq="M")]
    assert f.loc[0, "admissions"] == 1 and pd.isna(f.loc[1, "admissions"])  # unknown, not 0
    assert f["source_end"].isna().all()  # a column not given


def test_bad_counts_are_refused_or_quarantined(scn, tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text(COUNTS + "A,2020Q3,1,0,0,0,,,,,,,,,,,,\n" + "B,2020,5,2,1,10,0,9,,,,,,,,,,\n"
                    + "Z,2020,1,0,0,0,,,,,,,,,,,,\n")
    with pytest.raises(mf.InputError, match=r"counts\.csv: 3 bad rows in the counts") as error:
        mf.CountTable.from_csv(path, scn)
    assert "counts.csv line 5: unit 'A', period 2020Q3 overlaps 2020 of" in str(error.value)
    assert "line 6: more people leave 'source' (9) than were there: 5 at the start and 0 entering" in str(error.value)
    assert "line 7: unknown unit 'Z'" in str(error.value)
    counts = mf.CountTable.from_csv(path, scn, quarantine=True)
    assert counts.rows_read == len(counts) + len(counts.quarantined) == 6
    assert counts.quarantined["line"].tolist() == [5, 6, 7]


def test_the_example_history_counts_load_cleanly(short_history):
    h = short_history
    counts = mf.CountTable.from_frame(h.yearly, h.start)
    assert len(counts) == counts.rows_read == len(h.yearly)


def test_exposures_in_blocks_sum_the_months():
    # what mf.estimate reads: 12-month blocks counted back from the last month (records.hpp)
    h = mf.datasets.example_history(seed=2)
    log = mf.EventLog.from_frame(h.events, h.start)
    months = log._core.exposures("2016-04", "2020-12")
    blocks = log._core.exposures("2016-04", "2020-12", 12)
    assert (blocks["months"], blocks["block"]) == (57, 12)
    edges = [0, 9, 21, 33, 45, 57]  # the first column holds what is left
    for name in ("at_risk", "advanced", "exited", "completing"):
        for by_month, by_block in zip(months[name], blocks[name]):
            assert by_block.shape == (len(h.start.org), 5)
            for c in range(5):
                assert (by_block[:, c] == by_month[:, edges[c]:edges[c + 1]].sum(axis=1)).all()
    for name in ("arrivals", "transfers_in"):
        assert (blocks[name][:, -1] == months[name][:, 45:].sum(axis=1)).all()
    tidy = log.exposures("2016-04", "2020-12")  # the per unit and month frame stays
    assert len(tidy) == len(h.start.org) * 4 * 57
    assert tidy["arrivals"].sum() == months["arrivals"].sum() == blocks["arrivals"].sum()
