"""``memberflow backtest``: the tidy rows and the summary in CSV and JSON with stable
columns, equal to mf.backtest on the same log; the readable summary; refusals."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

import memberflow as mf
from memberflow.backtest import backtest_columns
from memberflow.cli import main

SUMMARY_COLUMNS = ["quantity", "depth", "method", "n", "mae", "coverage_50", "coverage_90", "pit_50", "pit_90",
                   "crps", "best_naive", "crps_ratio"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("history")
    h = mf.datasets.example_history(seed=0)
    paths = h.to_files(root)
    return paths["start"], paths["events"], h


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_csv_rows_have_stable_columns_and_equal_the_python_frame(capsys, files):
    scenario, events, h = files
    code, out, err = run(capsys, "backtest", str(scenario), "--events", str(events), "--cutoffs", "2019-01,2020-01",
                         "--draws", "10", "--seed", "3", "--format", "csv")
    assert code == 0, err
    got = pd.read_csv(io.StringIO(out), keep_default_na=False, na_values=[""])
    assert list(got.columns) == backtest_columns()
    log = mf.EventLog.from_frame(h.events, h.start)
    want = mf.backtest(log, ["2019-01", "2020-01"], draws=10, seed=3)
    assert len(got) == len(want)
    assert list(got["cutoff"].unique()) == ["2019-01", "2020-01"]
    assert (got["unit_id"] == want["unit_id"].astype(str)).all()
    assert (got["method"] == want["method"].astype(str)).all()
    for c in ("actual", "median", "lo-90", "hi-90", "in_90"):
        assert (got[c].to_numpy() == want[c].to_numpy()).all(), c
    for c in ("mean", "crps", "pit_hi"):  # floats written at full precision read back equal
        assert (got[c].to_numpy() == want[c].to_numpy()).all(), c


def test_summary_csv_and_json(capsys, files):
    scenario, events, _ = files
    args = ["backtest", str(scenario), "--events", str(events), "--cutoffs", "2020-01", "--draws", "5", "--summary"]
    code, out, err = run(capsys, *args, "--format", "csv")
    assert code == 0, err
    s = pd.read_csv(io.StringIO(out))
    assert list(s.columns) == SUMMARY_COLUMNS
    assert sorted(s["depth"].unique()) == [0, 1, 2]
    assert set(s["method"]) == {"memberflow", "last_year", "mean_3y", "conversion"}
    code, out, err = run(capsys, *args, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["command"] == "backtest" and doc["cutoffs"] == ["2020-01"] and doc["draws"] == 5
    assert doc["columns"] == SUMMARY_COLUMNS
    assert len(doc["rows"]) == len(s)
    code, out, err = run(capsys, "backtest", str(scenario), "--events", str(events), "--cutoffs", "2020-01",
                         "--draws", "5", "--quantity", "confirmations", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["columns"] == backtest_columns()
    assert {r["quantity"] for r in doc["rows"]} == {"confirmations"}
    assert isinstance(doc["rows"][0]["in_90"], bool) and doc["rows"][0]["cutoff"] == "2020-01"
    mf_row = next(r for r in doc["rows"] if r["method"] == "memberflow")
    assert mf_row["dispersion"] is None


def test_table_prints_the_summary(capsys, files):
    scenario, events, _ = files
    code, out, err = run(capsys, "backtest", str(scenario), "--events", str(events), "--cutoffs", "2020-01",
                         "--draws", "5")
    assert code == 0, err
    assert "backtest of" in out and "cut-offs 2020-01" in out
    assert "crps_ratio" in out and "memberflow" in out and "last_year" in out


@pytest.mark.parametrize("args, message", [
    (["--cutoffs", "2020-13"], "YYYY-MM"),
    (["--cutoffs", "2016-06"], "cut-off 2016-06"),
    (["--horizon", "13"], "from 1 to 12"),
    (["--draws", "0"], "from 1"),
])
def test_refusals(capsys, files, args, message):
    scenario, events, _ = files
    code, out, err = run(capsys, "backtest", str(scenario), "--events", str(events), *args)
    assert code == 2
    assert message in err
