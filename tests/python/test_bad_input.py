"""The bad-input catalogue: every input either works or is refused with a memberflow
error whose message says where (file and line, JSON unit, DataFrame row and index
label, unit id) and what is wrong. Nothing crashes, hangs or comes out silently wrong.

Each case is one input a user could plausibly give, found by probing as a new user
(issue 8, item 7) or by the loaders' fuzzer (tests/fuzz). Cases that need a big
organisation or a resource limit run in a child process, under an address-space limit,
so that a regression fails the test instead of exhausting the machine.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import memberflow as mf
from memberflow import _core

UNITS = "unit_id,parent_id,name,kind\nD,,District,district\nC01,D,Commune 01,commune\n"


def write(tmp_path, name: str, data: str | bytes):
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def scenario_with_params(rows):
    scn = mf.datasets.example_district()
    return mf.Scenario(scn.org, scn.pipeline, stocks=scn.stocks,
                       params=pd.DataFrame(rows, columns=["scope", "stage", "param", "value"]))


def with_stocks(tmp_path, text: str):
    scn = mf.datasets.example_district()
    return mf.Scenario(scn.org, scn.pipeline, stocks=write(tmp_path, "stocks.csv", text))


def events(tmp_path, rows: str | bytes, **kwargs):
    header = b"person_id,unit_id,event,date,to_unit_id\n"
    data = header + (rows.encode() if isinstance(rows, str) else rows)
    return mf.EventLog.from_csv(write(tmp_path, "events.csv", data), mf.datasets.example_district(), **kwargs)


def events_frame(**columns):
    frame = pd.DataFrame({"person_id": ["p1"], "unit_id": ["C01-01"], "event": ["source"], "date": ["2021-01"]})
    for name, values in columns.items():
        frame[name] = pd.Series(values, dtype=object)
    return mf.EventLog.from_frame(frame, mf.datasets.example_district())


def chain_frame(n: int, loop: bool = False) -> pd.DataFrame:
    ids = [f"U{i}" for i in range(n)]
    return pd.DataFrame({"unit_id": ids, "parent_id": [ids[-1] if loop else None] + ids[:-1]})


# name -> (function of tmp_path that should raise, exception class, regex on the message)
CASES = {
    # -- text that is not UTF-8 ------------------------------------------------------
    "units CSV with invalid UTF-8 in a name": (
        lambda p: mf.Org.from_csv(write(p, "units.csv", b"unit_id,parent_id,name\nD,,Dis\xfftrict\n")),
        mf.InputError, r"units\.csv line 2, byte 7: invalid UTF-8 \(byte 0xFF\)"),
    "units CSV with a truncated UTF-8 sequence at the end": (
        lambda p: mf.Org.from_csv(write(p, "units.csv", b"unit_id,parent_id\nD,\nA,D\xc3")),
        mf.InputError, r"units\.csv line 3, byte 4: invalid UTF-8 \(byte 0xC3\)"),
    "organisation JSON with invalid UTF-8": (
        lambda p: mf.Org.from_json(write(p, "org.json", b'{"units": [\n{"unit_id": "D\xe9"}]}')),
        mf.InputError, r"org\.json line 2, byte 15: invalid UTF-8 \(byte 0xE9\)"),
    "params CSV with invalid UTF-8": (
        lambda p: mf.Scenario(mf.datasets.example_district().org,
                              params=write(p, "params.csv", b"scope,stage,param,value\n\x80,x,y,1\n")),
        mf.InputError, r"params\.csv line 2, byte 1: invalid UTF-8 \(byte 0x80\)"),
    "units CSV saved as UTF-16 with a byte-order mark": (
        lambda p: mf.Org.from_csv(write(p, "units.csv", UNITS.encode("utf-16"))),
        mf.InputError, r"units\.csv: looks like UTF-16 \(it starts with a UTF-16 byte-order mark\); save it as UTF-8"),
    "units CSV saved as UTF-16 without a byte-order mark": (
        lambda p: mf.Org.from_csv(write(p, "units.csv", UNITS.encode("utf-16-le"))),
        mf.InputError, r"units\.csv: looks like UTF-16 \(\d+ of its first \d+ bytes are NUL\); save it as UTF-8"),
    "a NUL byte in a quoted id": (
        lambda p: mf.Org.from_csv(write(p, "units.csv", b'unit_id,parent_id\nD,\n"A\x00B",D\n')),
        mf.InputError, r"units\.csv line 3, byte 3: a NUL byte"),
    # -- files that are not files ----------------------------------------------------
    "a directory given as the units file": (
        lambda p: mf.Org.from_csv(p), mf.InputError, r": is a directory, not a file"),
    "a directory given as the overseers file": (
        lambda p: mf.Org.from_csv(write(p, "units.csv", UNITS), overseers=p), mf.InputError, r"is a directory"),
    "a file that does not exist": (
        lambda p: mf.Org.from_csv(p / "nope.csv"), mf.InputError,
        r"nope\.csv: cannot open the file for reading \(No such file or directory\)"),
    # -- ids that do not read the same to a person and to a program ---------------------
    "a quoted whitespace-only id": (
        lambda p: mf.Org.from_csv(write(p, "units.csv", 'unit_id,parent_id\nD,\n"   ",D\n')),
        mf.InputError, r"units\.csv line 3: unit_id '   ' is blank"),
    "an id with a trailing space beside the same id without": (
        lambda p: mf.Org.from_csv(write(p, "units.csv", 'unit_id,parent_id\nD,\n"C01-01 ",D\nC01-01,D\n')),
        mf.InputError, r"units\.csv line 3: unit_id 'C01-01 ' has a space at the start or end"),
    "an unquoted id with a trailing space (CSV keeps spaces, RFC 4180)": (
        lambda p: mf.Org.from_csv(write(p, "units.csv", 'unit_id,parent_id\nD,\nC01-01 ,D\n')),
        mf.InputError, r"units\.csv line 3: unit_id 'C01-01 ' has a space at the start or end"),
    "a parent id with a leading space": (
        lambda p: mf.Org.from_csv(write(p, "units.csv", 'unit_id,parent_id\nD,\nA," D"\n')),
        mf.InputError, r"units\.csv line 3: parent_id ' D' has a space at the start or end"),
    "an id with a tab inside": (
        lambda p: mf.Org.from_csv(write(p, "units.csv", 'unit_id,parent_id\nD,\n"A\tB",D\n')),
        mf.InputError, r"units\.csv line 3: unit_id 'A\\x09B' contains a control character"),
    "a JSON id with a control character": (
        lambda p: mf.Org.from_json(write(p, "org.json", '{"units": [{"unit_id": "D"}, {"unit_id": "A\\u0001", '
                                                        '"parent_id": "D"}]}')),
        mf.InputError, r"org\.json unit 2: unit_id 'A\\x01' contains a control character"),
    "a JSON id that is a real number": (
        lambda p: mf.Org.from_json(write(p, "org.json", '{"units": [{"unit_id": 1.5}]}')),
        mf.InputError, r"org\.json unit 1: 'unit_id' must be a string or an integer, got 1\.5"),
    "a JSON id that is a boolean": (
        lambda p: mf.Org.from_json(write(p, "org.json", '{"units": [{"unit_id": true}]}')),
        mf.InputError, r"org\.json unit 1: 'unit_id' must be a string or an integer, got true"),
    "a JSON overseer assigned to a real number": (
        lambda p: mf.Org.from_json(write(p, "org.json", '{"units": [{"unit_id": "D"}], "overseers": '
                                                        '[{"overseer_id": "S", "units": [1e3]}]}')),
        mf.InputError, r"org\.json overseers entry 1: 'units' must be a string or an integer"),
    "JSON overseers that are not an array": (
        lambda p: mf.Org.from_json(write(p, "org.json", '{"units": [{"unit_id": "D"}], "overseers": 5}')),
        mf.InputError, r"org\.json: \"overseers\" must be an array"),
    "a JSON number too large for a double": (
        lambda p: mf.Org.from_json(write(p, "org.json", '{"units": [{"unit_id": "D", "attributes": {"x": 1e400}}]}')),
        mf.InputError, r"org\.json: malformed JSON: .*number overflow"),
    "18-digit numeric ids read by pandas as floats": (
        lambda p: mf.Org.from_frame(pd.DataFrame({"unit_id": [123456789012345678, 123456789012345679],
                                                  "parent_id": [np.nan, 123456789012345678]})),
        mf.InputError, r"units DataFrame row 2: column 'parent_id' holds the float 1\.2345678901234568e\+17, "
                       r"above 2\^53.*dtype=str"),
    "18-digit float ids with an index": (
        lambda p: mf.Org.from_frame(pd.DataFrame({"unit_id": [1.0, 2.0**60], "parent_id": [np.nan, 1.0]},
                                                 index=["root", "deep"])),
        mf.InputError, r"units DataFrame row 2 \(index label 'deep'\): column 'unit_id'"),
    "a name with a lone surrogate in a DataFrame": (
        lambda p: mf.Org.from_frame(pd.DataFrame({"unit_id": ["D", "A"], "parent_id": [None, "D"],
                                                  "name": ["ok", "bad\udcff"]})),
        mf.InputError, r"units DataFrame row 2: column 'name' holds 'bad\\udcff', which is not valid Unicode text"),
    # -- counts a double cannot hold ---------------------------------------------------
    "a stock of 2^63 - 1": (
        lambda p: with_stocks(p, "unit_id,stage,count,months_in_stage\nC01-01,full,9223372036854775807,\n"),
        mf.InputError, r"stocks\.csv line 2: column 'count' must be an integer of at most 2\^53 = 9007199254740992"),
    "a stock just above 2^53": (
        lambda p: with_stocks(p, "unit_id,stage,count,months_in_stage\nC01-01,full,9007199254740993,\n"),
        mf.InputError, r"stocks\.csv line 2: column 'count' must be an integer of at most 2\^53"),
    "a stock written as 1e20": (
        lambda p: with_stocks(p, "unit_id,stage,count,months_in_stage\nC01-01,full,1e20,\n"),
        mf.InputError, r"stocks\.csv line 2: column 'count' must be an integer of at most 2\^53"),
    # -- DataFrames are named by row and index label ------------------------------------
    "a duplicate id in a DataFrame with an index": (
        lambda p: mf.Org.from_frame(pd.DataFrame({"unit_id": ["D", "A", "A"], "parent_id": [None, "D", "D"]},
                                                 index=["x", "y", "z"])),
        mf.InputError, r"DataFrame row 3 \(index label 'z'\): duplicate unit id 'A' "
                       r"\(first given at DataFrame row 2 \(index label 'y'\)\)"),
    "an unknown parent in a DataFrame with an integer index": (
        lambda p: mf.Org.from_frame(pd.DataFrame({"unit_id": ["D", "A"], "parent_id": [None, "X"]}, index=[10, 20])),
        mf.InputError, r"DataFrame row 2 \(index label 20\): unit 'A' has unknown parent 'X'"),
    "an overseer of an unknown unit, indexed": (
        lambda p: mf.Org.from_frame(pd.DataFrame({"unit_id": ["D"], "parent_id": [None]}),
                                    overseers=pd.DataFrame({"overseer_id": ["S"], "unit_id": ["Q"]}, index=["s1"])),
        mf.InputError, r"overseers DataFrame row 1 \(index label 's1'\): overseer 'S' is assigned to unknown unit 'Q'"),
    # -- queries with ids that are not str ----------------------------------------------
    "org.children(None)": (
        lambda p: mf.datasets.example_district().org.children(None), mf.UnknownIdError, r"unknown unit None"),
    "org.parent(5)": (
        lambda p: mf.datasets.example_district().org.parent(5), mf.UnknownIdError, r"unknown unit 5"),
    "org.depth(1.5)": (
        lambda p: mf.datasets.example_district().org.depth(1.5), mf.UnknownIdError, r"unknown unit 1\.5"),
    "org.lca with None": (
        lambda p: mf.datasets.example_district().org.lca(["D", None]), mf.UnknownIdError, r"unknown unit None"),
    "org.ancestors of an unknown id": (
        lambda p: mf.datasets.example_district().org.ancestors("nope"), mf.UnknownIdError, r"unknown unit 'nope'"),
    # -- a long cycle is named briefly ---------------------------------------------------
    "a cycle through 20,000 units": (
        lambda p: mf.Org.from_frame(chain_frame(20000, loop=True)),
        mf.InputError, r"^[^\n]{0,200}'U0' -> 'U19999' -> .{0,80} -> \.\.\. \(a loop of 20000 units\)\); [^\n]{0,60}$"),
    # -- magnitudes the engines cannot handle, refused up front ----------------------------
    "simulate with 40,000 threads": (
        lambda p: mf.forecast(mf.datasets.example_district(), horizon=12, method="simulate", paths=100, threads=40000),
        mf.InputError, r"threads must be"),
    "inflow 1e300 in a params table": (
        lambda p: scenario_with_params([["*", "source", "inflow", 1e300]]),
        mf.ParameterError, r"params DataFrame row 1: scope '\*', stage 'source': inflow = 1e\+300 is outside "
                           r"\[0, 1e9\] \(people per month\)"),
    "transfer_in 9.2e18 in a params table": (
        lambda p: scenario_with_params([["*", "full", "transfer_in", 9.2e18]]),
        mf.ParameterError, r"params DataFrame row 1: scope '\*', stage 'full': transfer_in = 9\.2e\+18 is outside"),
    "simulate with inflow 1e9": (
        lambda p: mf.forecast(scenario_with_params([["*", "source", "inflow", 1e9]]), horizon=12,
                              method="simulate", paths=10, seed=1),
        mf.InputError, r"unit 'D' could see 1\.2e\+10 people over 12 months .* at most 10\^9 people per unit"),
    "simulate with transfer_in 1e9": (
        lambda p: mf.forecast(scenario_with_params([["*", "full", "transfer_in", 1e9]]), horizon=12,
                              method="simulate", paths=10, seed=1),
        mf.InputError, r"could see 1\.2e\+10 people .*transfer_in 1e\+09 a month"),
    "simulate with 10**9 paths": (
        lambda p: mf.forecast(mf.datasets.example_district(), horizon=12, method="simulate", paths=10**9, seed=1),
        mf.InputError, r"paths x units x months = 1000000000 x 267 x 12 = 3\.2e\+12 unit-months, above the limit"),
    "simulate keeping 300,000,000 paths of every node": (
        lambda p: mf.forecast(mf.datasets.example_district(), horizon=12, method="simulate", paths=300_000_000,
                              keep_paths=True, seed=1, threads=1),
        mf.InputError, r"keep_paths' 14 x paths x nodes counts\) would need 8\.97 TB of memory, more than"),
    "exact with a pmf wider than 2^24": (
        lambda p: mf.forecast(with_stocks(p, "unit_id,stage,count,months_in_stage\nC01-01,full,9007199254740992,\n"),
                              horizon=12, method="exact").interval("full", level=90, month=12),
        mf.InputError, r"the pmf of node '.*' would need about [\d.]+ [KMGT]?B .* above the limit of 2\^24"),
    # -- event logs (docs/records.md): the first bad rows and their count, each located ---
    "event log with an unknown unit": (
        lambda p: events(p, "p1,Z9,source,2021-01,\n"),
        mf.InputError, r"events\.csv: 1 bad row in the event log.*\n  .*events\.csv line 2: unknown unit 'Z9'"),
    "event log moving to an unknown unit": (
        lambda p: events(p, "p1,C01-01,source,2021-01,\np1,C01-01,moved,2021-02,Z9\n"),
        mf.InputError, r"events\.csv line 3: unknown to_unit_id 'Z9'"),
    "event log with an unknown event": (
        lambda p: events(p, "p1,C01-01,joined,2021-01,\n"),
        mf.InputError, r"events\.csv line 2: unknown event 'joined' \(a stage: source, training, probation, full"),
    "event log with an unparseable date": (
        lambda p: events(p, "p1,C01-01,source,01/03/2021,\n"),
        mf.InputError, r"events\.csv line 2: date '01/03/2021' is not a date YYYY-MM-DD or a month YYYY-MM"),
    "event log with a duplicate row": (
        lambda p: events(p, "p1,C01-01,source,2021-01,\np1,C01-01,source,2021-01,\n"),
        mf.InputError, r"events\.csv line 3: duplicate of line 2"),
    "event log skipping a stage": (
        lambda p: events(p, "p1,C01-01,source,2021-01,\np1,C01-01,admitted,2021-02,\n"),
        mf.InputError, r"line 3: person 'p1': 'admitted' in 2021-02 enters 'probation' from 'source'"),
    "event log confirming before admitting": (
        lambda p: events(p, "p1,C01-01,training,2020-12,\np1,C01-01,confirmed,2021-02,\n"),
        mf.InputError, r"enters 'full' from 'training'.*\(confirmed before admitted\)"),
    "event log with an event after leaving": (
        lambda p: events(p, "p1,C01-01,full,2020-12,\np1,C01-01,left,2021-02,\np1,C01-01,left,2021-03,\n"),
        mf.InputError, r"line 4: person 'p1': 'left' in 2021-03 after the person left \(line 3\)"),
    "event log with two moves in a month": (
        lambda p: events(p, "p1,C01-01,full,2020-12,\np1,C01-01,moved,2021-02,C01-02\n"
                            "p1,C01-02,moved,2021-02,C01-03\n"),
        mf.InputError, r"line 4: .*a second event in that month \(line 3\)"),
    "event log confirming before probation's 12 months": (
        lambda p: events(p, "p1,C01-01,admitted,2021-01,\np1,C01-01,confirmed,2021-06,\n"),
        mf.InputError, r"passes 'probation' before its 12 months: entered in 2021-01 \(line 2\), it is passed in "
                       r"2022-01"),
    "event log with 30 bad rows": (
        lambda p: events(p, "".join(f"p{i},Z9,source,2021-01,\n" for i in range(30))),
        mf.InputError, r"30 bad rows in the event log \(the first 20\)"),
    "event log with invalid UTF-8": (
        lambda p: events(p, b"p\xff,C01-01,source,2021-01,\n"),
        mf.InputError, r"events\.csv line 2, byte 2: invalid UTF-8"),
    "event log without a date column": (
        lambda p: mf.EventLog.from_csv(write(p, "events.csv", "person_id,unit_id,event\np1,C01-01,source\n"),
                                       mf.datasets.example_district()),
        mf.InputError, r"events\.csv: missing column 'date'"),
    "event log DataFrame with a padded person id": (
        lambda p: events_frame(person_id=["p1 "]),
        mf.InputError, r"events DataFrame row 1: person_id 'p1 ' has a space at the start or end"),
    "event log DataFrame with a float person id above 2^53": (
        lambda p: events_frame(person_id=[2.0**60]),
        mf.InputError, r"events DataFrame row 1: column 'person_id' holds the float 1\.152921504606847e\+18"),
    "event log from an Org without its pipeline": (
        lambda p: mf.EventLog.from_csv(write(p, "events.csv", "person_id,unit_id,event,date\n"),
                                       mf.datasets.example_district().org),
        mf.InputError, r"the events name the stages of a pipeline: pass pipeline="),
    # -- integers out of range at the compiled boundary -----------------------------------
    "core simulate with seed 2**70": (
        lambda p: _core.simulate(mf.datasets.example_district()._core, 12, 10, 2**70, 1, False, [], [], [],
                                 None, None, None),
        mf.InputError, r"seed must be from 0 to 18446744073709551615, got 1180591620717411303424"),
    "core simulate with threads -1": (
        lambda p: _core.simulate(mf.datasets.example_district()._core, 12, 10, 1, -1, False, [], [], [],
                                 None, None, None),
        mf.InputError, r"threads must be 0 \(one per core\) \.\. 1024, got -1"),
    "core simulate with a float horizon": (
        lambda p: _core.simulate(mf.datasets.example_district()._core, 12.5, 10, 1, 1, False, [], [], [],
                                 None, None, None),
        mf.InputError, r"horizon must be an integer, got 12\.5 \(float\)"),
    "core exact with horizon True": (
        lambda p: _core.ExactForecast(mf.datasets.example_district()._core, True),
        mf.InputError, r"horizon must be an integer, got True \(bool\)"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_with_a_located_message(name, tmp_path):
    make, error, pattern = CASES[name]
    with pytest.raises(error) as info:
        make(tmp_path)
    assert isinstance(info.value, mf.Error)
    assert re.search(pattern, str(info.value)), str(info.value)


# -- inputs that look odd but are right, and must come out exactly -----------------------

def test_a_json_id_above_2_63_is_read_exactly(tmp_path):
    org = mf.Org.from_json(write(tmp_path, "org.json", '{"units": [{"unit_id": "D"}, '
                                                       '{"unit_id": 18446744073709551615, "parent_id": "D"}]}'))
    assert list(org.ids) == ["D", "18446744073709551615"]
    assert org.parent("18446744073709551615") == "D"


def test_18_digit_ids_read_as_text_attach_to_the_right_parent():
    frame = pd.DataFrame({"unit_id": ["123456789012345678", "123456789012345679"],
                          "parent_id": [None, "123456789012345678"]})
    assert mf.Org.from_frame(frame).parent("123456789012345679") == "123456789012345678"


def test_integral_float_ids_below_2_53_still_match_their_parent():
    frame = pd.DataFrame({"unit_id": [1, 2], "parent_id": [np.nan, 1.0]})
    assert mf.Org.from_frame(frame).parent("2") == "1"


def test_an_integer_attribute_beyond_64_bits_stays_text(tmp_path):
    org = mf.Org.from_csv(write(tmp_path, "units.csv", "unit_id,parent_id,code\nD,,18446744073709551615\n"))
    assert org.attribute("code").tolist() == ["18446744073709551615"]


def test_a_utf8_byte_order_mark_and_non_ascii_names_are_fine(tmp_path):
    org = mf.Org.from_csv(write(tmp_path, "units.csv", "\ufeffunit_id,parent_id,name\nD,,Zürich – Città\n"))
    assert org.names["D"] == "Zürich – Città"


# -- in a child process, under an address-space limit -----------------------------------

def run_child(code: str, limit_gb: float = 3, timeout: float = 120) -> subprocess.CompletedProcess:
    prelude = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, ({int(limit_gb * 2**30)}, {int(limit_gb * 2**30)}))
        import memberflow as mf, pandas as pd
    """)
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def test_a_worker_thread_that_cannot_start_is_an_error_not_an_abort():
    child = run_child("""
        try:
            mf.forecast(mf.datasets.example_district(), horizon=12, method="simulate", paths=2000, threads=1000)
        except mf.Error as e:
            print(type(e).__name__, e)
        else:
            print("ran")  # enough address space on this machine: also fine
    """, limit_gb=2)
    assert child.returncode == 0, child.stderr
    assert "could not start worker thread" in child.stdout or child.stdout.strip() == "ran", child.stdout


def test_a_200000_deep_chain_stays_linear_or_is_refused_up_front():
    child = run_child("""
        ids = [f"U{i}" for i in range(200000)]
        org = mf.Org.from_frame(pd.DataFrame({"unit_id": ids, "parent_id": [None] + ids[:-1]}))
        assert len(org.ancestors(ids[-1])) == 199999 and org.ancestors(ids[-1])[-1] == "U0"
        assert len(org.ancestors(ids[1000])) == 1000
        print("ancestors ok")
        scn = mf.Scenario(org, mf.Pipeline.party())
        for method in ("exact", "simulate"):
            try:
                fc = mf.forecast(scn, horizon=12, method=method, **({"paths": 100} if method == "simulate" else {}))
                if method == "exact":
                    fc.interval("admissions", level=90)
                print(method, "ran")
            except mf.InputError as e:
                print(method, "refused:", e)
    """, limit_gb=3, timeout=240)
    assert child.returncode == 0, child.stderr[-2000:]
    out = child.stdout
    assert "ancestors ok" in out
    assert "exact refused:" in out and "of memory" in out, out
    assert "simulate refused:" in out and "distributions of the tracked counts need more than" in out, out


# -- through the command line ---------------------------------------------------------------

CLI_CASES = {
    "units file with invalid UTF-8": (b"unit_id,parent_id,name\nD,,Dis\xfftrict\n", r"units\.csv line 2, byte 7: "
                                                                                 r"invalid UTF-8"),
    "units file in UTF-16": (UNITS.encode("utf-16"), r"looks like UTF-16"),
    "units file with a space-padded id": (b'unit_id,parent_id\nD,\n" A",D\n', r"units\.csv line 3: unit_id ' A'"),
}


@pytest.mark.parametrize("name", list(CLI_CASES))
def test_the_command_line_reports_bad_files_without_a_traceback(name, tmp_path):
    data, pattern = CLI_CASES[name]
    units = write(tmp_path, "units.csv", data)
    child = subprocess.run([sys.executable, "-m", "memberflow", "forecast", "--units", str(units), "--pipeline", "party"],
                           capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert child.returncode not in (0, 134), child.stderr
    assert "Traceback" not in child.stderr, child.stderr
    assert re.search(pattern, child.stderr), child.stderr


def test_a_pipeline_json_number_beyond_a_double_is_an_input_error(tmp_path):
    path = write(tmp_path, "pipeline.json", '{"admission": "probation", "stages": '
                                            '[{"name": "s", "kind": "markov", "advance": 1e400}]}')
    # found by the fuzzer (tests/fuzz/corpus/finding_pipeline_json_number_overflow): nlohmann's
    # out_of_range escaped as a RuntimeError
    with pytest.raises(mf.InputError, match=r"pipeline\.json: not valid JSON \(number overflow"):
        mf.Pipeline.read_json(path)
