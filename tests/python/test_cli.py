"""The ``memberflow`` command line as scripts use it: fixed columns whatever the horizon or
method, JSON floats that read back equal, one JSON shape, newline-delimited frames, the
calendar, range-checked options, exit statuses and messages, progress only on a terminal."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import memberflow as mf
from memberflow import cli
from memberflow.cli import main

HORIZONS = (3, 6, 12, 24)
FAST = {"expected": [], "exact": [], "simulate": ["--paths", "50", "--no-progress"]}


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def csv_frame(capsys, *args: str) -> pd.DataFrame:
    code, out, err = run(capsys, "forecast", "--format", "csv", *args)
    assert code == 0, err
    return pd.read_csv(io.StringIO(out), keep_default_na=False, na_values=[""])


def json_doc(capsys, *args: str) -> dict:
    code, out, err = run(capsys, *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def district() -> mf.Scenario:
    return mf.datasets.example_district()  # starts in January 2021


# -- stable columns --------------------------------------------------------------------------------


def expected_columns(quarters: list[str], levels=("90",)) -> list[str]:
    stages = ["source", "training", "probation", "full"]
    bounds = [f"admissions-lo-{v}" for v in reversed(levels)] + [f"admissions-hi-{v}" for v in levels]
    return (["unit_id", "parent_id", "name", "kind", "depth", "months", "target", "target_window",
             "admissions", "shortfall", "confirmations"] + [f"admissions_{q}" for q in quarters]
            + [f"{s}_now" for s in stages] + [f"{s}_at_end" for s in stages] + bounds + ["p_target", "tail"])


def test_csv_columns_are_the_same_for_every_horizon_and_method(capsys):
    quarters = ["2021Q1", "2021Q2", "2021Q3", "2021Q4"]
    for method, extra in FAST.items():
        for horizon in HORIZONS:
            frame = csv_frame(capsys, "--method", method, "--horizon", str(horizon), *extra)
            assert list(frame.columns) == expected_columns(quarters), (method, horizon)
            assert len(frame) == 267
            # quarters beyond the horizon (or cut by it) are empty; the others filled
            for i, q in enumerate(quarters):
                assert frame[f"admissions_{q}"].notna().all() == (3 * i + 3 <= horizon), (method, horizon, q)
            # what the method does not compute is empty, never shifted
            assert frame["admissions-lo-90"].notna().all() == (method != "expected")
            assert frame["p_target"].notna().sum() == (0 if method == "expected" else frame["target"].notna().sum())
            assert frame["tail"].notna().all() == (method == "exact")
            assert (frame["months"] == min(12, horizon)).all()


def test_csv_columns_without_a_calendar_are_q1_to_q4(capsys, tmp_path):
    scn = mf.datasets.example_district()
    scn.start = None
    scn.to_files(tmp_path)  # a scenario directory, read back as DIR
    for horizon in (3, 24):
        frame = csv_frame(capsys, "--horizon", str(horizon), "--method", "exact", "--level", "80", "--level", "95",
                          str(tmp_path))
        assert list(frame.columns) == expected_columns(["Q1", "Q2", "Q3", "Q4"], levels=("80", "95"))


def test_csv_values_are_the_python_results_to_the_bit(capsys, district):
    frame = csv_frame(capsys, "--method", "exact", "--horizon", "6").set_index("unit_id")
    fc = mf.forecast(district, 6, method="exact")
    summary = fc.summary()
    for column in ["admissions", "confirmations", "target_window", "shortfall", "full_at_end", "p_target"]:
        np.testing.assert_array_equal(frame[column].to_numpy(), summary[column].to_numpy(), err_msg=column)
    assert (frame["admissions-hi-90"] == summary["admissions-hi-90"]).all()
    np.testing.assert_array_equal(frame["tail"].to_numpy(), fc.distribution("admissions").tail.to_numpy())
    np.testing.assert_array_equal(frame["admissions_2021Q2"].to_numpy(),
                                  fc.mean("admissions", window=(3, 6)).to_numpy())
    assert pd.isna(frame.loc["D", "parent_id"]) and frame.loc["C01", "parent_id"] == "D"


# -- targets over a shorter horizon ----------------------------------------------------------------


def test_a_short_horizon_is_held_to_the_pro_rata_target(capsys, district):
    frame = csv_frame(capsys, "--horizon", "6").set_index("unit_id")
    assert frame.loc["D", "target"] == 160 and frame.loc["D", "target_window"] == 80
    fc = mf.forecast(district, 6)
    assert frame.loc["D", "shortfall"] == 80 - fc.mean("admissions")["D"]
    code, out, _ = run(capsys, "forecast", "--horizon", "6")
    assert code == 0
    shortfall = 80 - fc.mean("admissions")["D"]
    assert f"(target 160 a year, 80.0 pro rata over 6 months; expected shortfall {shortfall:.1f})" in out
    assert "(target: the yearly target x 6/12)" in out
    code, out, _ = run(capsys, "forecast", "--horizon", "4", "--method", "exact")
    assert "P(reaching the target pro rata, 53.3) =" in out


# -- JSON ------------------------------------------------------------------------------------------


def test_json_floats_read_back_equal():
    frame = pd.DataFrame({"x": [7.43768e-11, 0.1 + 0.2, 1 / 3, np.nan, 88.94751033990515], "k": pd.array(
        [1, None, 3, 4, 5], dtype="Int64"), "ds": pd.to_datetime(["2021-01-01"] * 5)})
    doc = json.loads(cli._json_document("test", {}, frame))
    assert [r["x"] for r in doc["rows"]] == [7.43768e-11, 0.1 + 0.2, 1 / 3, None, 88.94751033990515]
    assert [r["k"] for r in doc["rows"]] == [1, None, 3, 4, 5]
    assert doc["rows"][0]["ds"] == "2021-01-01"


def test_forecast_json_is_the_csv_at_full_precision(capsys, district):
    doc = json_doc(capsys, "forecast", "--method", "exact", "--horizon", "6")
    assert {k: doc[k] for k in ("memberflow", "command", "method", "horizon", "start", "window", "levels")} == {
        "memberflow": mf.__version__, "command": "forecast", "method": "exact", "horizon": 6, "start": "2021-01",
        "window": [0, 6], "levels": [90]}
    assert doc["columns"] == expected_columns(["2021Q1", "2021Q2", "2021Q3", "2021Q4"])
    assert all(list(r) == doc["columns"] for r in doc["rows"])
    summary = mf.forecast(district, 6, method="exact").summary()
    p = [r["p_target"] for r in doc["rows"]]
    assert p == [None if np.isnan(v) else v for v in summary["p_target"]]  # equal, not approximately
    assert min(v for v in p if v is not None) < 1e-9  # tiny probabilities keep their digits
    assert [r["admissions_2021Q3"] for r in doc["rows"]] == [None] * len(doc["rows"])


def test_every_command_has_the_same_json_shape(capsys):
    forecast = json_doc(capsys, "forecast")
    funnel = json_doc(capsys, "funnel", "--stage", "training", "--unit", "C01-03")
    for doc in (forecast, funnel):
        assert list(doc)[:2] == ["memberflow", "command"] and list(doc)[-2:] == ["columns", "rows"]
        assert all(list(r) == doc["columns"] for r in doc["rows"])
    assert funnel["command"] == "funnel" and funnel["stage"] == "training" and funnel["unit"] == "C01-03"
    assert funnel["columns"][0] == "stage" and [r["stage"] for r in funnel["rows"]] == ["training", "probation", "full"]


def test_monthly_json_is_one_record_per_line(capsys, district):
    code, out, _ = run(capsys, "forecast", "--monthly", "--format", "json", "--horizon", "3")
    assert code == 0
    lines = out.splitlines()
    expected = mf.forecast(district, 3).to_frame()
    assert len(lines) == len(expected)
    records = [json.loads(line) for line in lines]
    assert records[0] == {"unit_id": "D", "month": 0, "ds": "2021-01-01", "quantity": "source",
                          "value": expected["value"][0]}
    assert [r["value"] for r in records] == expected["value"].tolist()
    back = pd.read_json(io.StringIO(out), lines=True)
    assert list(back.columns) == ["unit_id", "month", "ds", "quantity", "value"]


def test_monthly_csv_and_output_file(capsys, tmp_path, district):
    target = tmp_path / "monthly.csv"
    code, out, _ = run(capsys, "forecast", "--monthly", "--format", "csv", "--horizon", "3", "-o", str(target))
    assert code == 0 and out == ""
    back = pd.read_csv(target, parse_dates=["ds"])
    expected = mf.forecast(district, 3).to_frame()
    assert list(back.columns) == list(expected.columns)
    np.testing.assert_array_equal(back["value"].to_numpy(), expected["value"].to_numpy())
    assert (back["ds"] == expected["ds"]).all()


# -- the calendar ----------------------------------------------------------------------------------


def test_a_start_month_names_calendar_quarters_partial_ones_marked(capsys):
    for horizon in (3, 12, 24):
        frame = csv_frame(capsys, "--start", "2021-02", "--horizon", str(horizon))
        assert list(frame.columns) == expected_columns(["2021Q1", "2021Q2", "2021Q3", "2021Q4", "2022Q1"])
    code, out, _ = run(capsys, "forecast", "--start", "2021-02")
    assert "expected admissions, 2021-02 to 2022-01:" in out
    assert "by quarter: 2021Q1* " in out and " 2022Q1* " in out
    assert "(* part of the quarter: its months within the year)" in out
    code, out, _ = run(capsys, "forecast", "--monthly", "--format", "csv", "--start", "2021-11", "--horizon", "3")
    frame = pd.read_csv(io.StringIO(out))
    assert sorted(set(frame["ds"])) == ["2021-11-01", "2021-12-01", "2022-01-01", "2022-02-01"]


# -- arguments, exit statuses, messages -------------------------------------------------------------


def test_bare_memberflow_prints_usage_and_exits_2(capsys):
    code, out, err = run(capsys)
    assert code == 2 and out == ""
    assert err.startswith("usage: memberflow") and "COMMAND" in err


def test_help_and_version_exit_0(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "forecast" in out and "funnel" in out
    code, out, _ = run(capsys, "forecast", "--help")
    assert code == 0 and "--depth" in out and "--level PERCENT" in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out == f"memberflow {mf.__version__}\n"


@pytest.mark.parametrize("option, value, message", [
    ("--horizon", "0", "must be from 1 to 1200, got 0"),
    ("--horizon", "1201", "must be from 1 to 1200, got 1201"),
    ("--horizon", "12.5", "expected a whole number, got '12.5'"),
    ("--paths", "0", "must be from 1 to 10000000, got 0"),
    ("--paths", "1000000000", "must be from 1 to 10000000"),
    ("--threads", "-1", "must be from 0 to 1024, got -1"),
    ("--threads", "40000", "must be from 0 to 1024, got 40000"),
    ("--seed", "-1", "must be from 0 to 18446744073709551615, got -1"),
    ("--seed", str(2**64), "must be from 0 to 18446744073709551615"),
    ("--level", "0", "level must be in (0, 100) percent, got 0.0"),
    ("--level", "100", "level must be in (0, 100) percent, got 100.0"),
    ("--level", "nan", "level must be in (0, 100) percent, got nan"),
    ("--level", "ninety", "expected a percentage such as 90"),
    ("--level", "0.9", "in percent: for a 90% interval give --level 90, not 0.9"),
    ("--depth", "-1", "must be from 0 to 1000000, got -1"),
])
def test_each_numeric_option_is_range_checked(capsys, option, value, message):
    code, out, err = run(capsys, "forecast", "--method", "simulate", option, value)
    assert code == 2 and out == ""
    assert f"argument {option}: {message}" in err
    assert "memberflow simulate" not in err  # refused before any work, so no progress bar


def test_option_combinations_are_refused(capsys):
    code, _, err = run(capsys, "forecast", "--monthly")
    assert code == 2 and err == "memberflow: error: --monthly needs --format csv or --format json\n"
    code, _, err = run(capsys, "forecast", "--start", "2021-13")
    assert code == 2 and err.startswith("memberflow: error: start:")


def test_errors_become_a_message_and_exit_2_without_a_traceback(capsys, monkeypatch):
    def out_of_memory(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(cli, "forecast", out_of_memory)
    code, out, err = run(capsys, "forecast")
    assert code == 2 and out == ""
    assert err.startswith("memberflow: error: out of memory") and "Traceback" not in err

    def refused(*args, **kwargs):
        raise mf.ParameterError("params.csv line 3: advance + exit > 1")

    monkeypatch.setattr(cli, "forecast", refused)
    code, _, err = run(capsys, "forecast")
    assert code == 2 and err == "memberflow: error: params.csv line 3: advance + exit > 1\n"


def test_no_progress_bar_unless_stderr_is_a_terminal(capsys, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    code, _, err = run(capsys, "forecast", "--method", "simulate", "--paths", "50")
    assert code == 0 and err == ""  # capsys's stderr is not a terminal
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, _, err = run(capsys, "forecast", "--method", "simulate", "--paths", "50", "--format", "csv")
    assert code == 0 and "memberflow simulate" in err
    code, _, err = run(capsys, "forecast", "--method", "simulate", "--paths", "50", "--no-progress")
    assert code == 0 and err == ""
    # an argument the engine refuses: the message alone, no bar before it
    code, _, err = run(capsys, "forecast", "--method", "simulate", "--paths", "50", "--policy",
                       "course:seats=-1,months=2")
    assert code == 2 and err.startswith("memberflow: error:") and "memberflow simulate" not in err


def test_the_installed_entry_point_in_a_subprocess():
    env = {**os.environ, "CI": ""}
    bare = subprocess.run([sys.executable, "-m", "memberflow"], capture_output=True, text=True, timeout=120, env=env)
    assert bare.returncode == 2 and bare.stdout == "" and bare.stderr.startswith("usage: memberflow")
    sim = subprocess.run([sys.executable, "-m", "memberflow", "forecast", "--method", "simulate", "--paths", "50",
                          "--format", "csv"], capture_output=True, text=True, timeout=300, env=env)
    assert sim.returncode == 0, sim.stderr
    assert sim.stderr == ""  # stderr is a pipe: no progress bar, no carriage returns
    assert sim.stdout.splitlines()[0].split(",") == expected_columns(["2021Q1", "2021Q2", "2021Q3", "2021Q4"])
    bad = subprocess.run([sys.executable, "-m", "memberflow", "forecast", "--threads", "-1"], capture_output=True,
                         text=True, timeout=120, env=env)
    assert bad.returncode == 2 and "argument --threads: must be from 0 to 1024, got -1" in bad.stderr
    assert "Traceback" not in bad.stderr
