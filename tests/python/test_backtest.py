"""Backtests (memberflow.backtest): the frame's shape, the actual counts against the
synthetic history's yearly table, the baselines' point forecasts worked out by hand
from that table, the summary recomputed from the frame, reproducibility and refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import memberflow as mf
from memberflow.backtest import BASELINES, METHODS, backtest_columns, default_cutoffs, pit_coverage

DRAWS = 20


@pytest.fixture(scope="module")
def history():
    return mf.datasets.example_history(seed=0)  # 2016-01 to 2020-12


@pytest.fixture(scope="module")
def log(history):
    return mf.EventLog.from_frame(history.events, history.start)


@pytest.fixture(scope="module")
def bt(log):
    return mf.backtest(log, draws=DRAWS, quantities=("admissions", "confirmations"))


def rolled(log, history, column: str, year: int) -> pd.Series:
    """Every node's subtree total of a column of the yearly table."""
    y = history.yearly[history.yearly.year == year].set_index("unit_id")[column]
    return log.org.rollup(y)


def test_columns_dtypes_and_one_row_per_cutoff_quantity_method_node(bt, log):
    assert list(bt.columns) == ["cutoff", "unit_id", "depth", "method", "quantity", "years", "actual", "mean",
                                "median", "lo-50", "hi-50", "lo-90", "hi-90", "abs_error", "crps", "in_50",
                                "in_90", "pit_lo", "pit_hi", "dispersion"]
    assert list(bt.columns) == backtest_columns()
    assert bt["cutoff"].dtype == pd.PeriodDtype("M")
    for c in ("unit_id", "method", "quantity"):
        assert isinstance(bt[c].dtype, pd.CategoricalDtype), c
    assert list(bt["method"].cat.categories) == list(METHODS)
    assert list(bt["unit_id"].cat.categories) == list(log.org.ids)
    for c in ("depth", "years", "actual", "median", "lo-50", "hi-50", "lo-90", "hi-90"):
        assert bt[c].dtype == np.int64, c
    for c in ("in_50", "in_90"):
        assert bt[c].dtype == bool, c
    # the default cut-offs: every January with two whole years of records before it
    assert sorted(bt["cutoff"].astype(str).unique()) == ["2018-01", "2019-01", "2020-01"]
    assert len(bt) == 3 * 2 * 4 * len(log.org)
    assert not bt.duplicated(["cutoff", "quantity", "method", "unit_id"]).any()
    depth = pd.Series([log.org.depth(u) for u in log.org.ids], index=log.org.ids)
    assert (bt["depth"].to_numpy() == depth.reindex(bt["unit_id"].astype(str)).to_numpy()).all()


def test_scores_are_consistent_with_the_intervals_and_the_mean(bt):
    assert (bt["abs_error"] == (bt["mean"] - bt["actual"]).abs()).all()
    for level in ("50", "90"):
        inside = (bt[f"lo-{level}"] <= bt["actual"]) & (bt["actual"] <= bt[f"hi-{level}"])
        assert (bt[f"in_{level}"] == inside).all()
    assert (bt["lo-90"] <= bt["lo-50"]).all() and (bt["lo-50"] <= bt["median"]).all()
    assert (bt["median"] <= bt["hi-50"]).all() and (bt["hi-50"] <= bt["hi-90"]).all()
    assert (bt["crps"] >= 0).all()
    assert (bt["pit_lo"] <= bt["pit_hi"]).all()
    mf_rows = bt["method"] == "memberflow"
    assert bt.loc[mf_rows, "dispersion"].isna().all()
    assert (bt.loc[~mf_rows, "dispersion"] >= 0).all()


def test_actual_counts_are_the_yearly_tables_rolled_up(bt, log, history):
    for quantity in ("admissions", "confirmations"):
        for year in (2018, 2019, 2020):
            expected = rolled(log, history, quantity, year)
            rows = bt[(bt.cutoff == pd.Period(f"{year}-01", freq="M")) & (bt.quantity == quantity)]
            for method in METHODS:
                got = rows[rows.method == method].set_index("unit_id")["actual"]
                got.index = got.index.astype(str)
                assert (got == expected.reindex(got.index)).all(), (quantity, year, method)
    root = bt[(bt.unit_id == "D") & (bt.quantity == "admissions") & (bt.method == "memberflow")]
    assert root.set_index(root.cutoff.astype(str))["actual"].to_dict() == {
        "2018-01": 176, "2019-01": 141, "2020-01": 97}  # docs/history.md, seed 0


def test_baselines_point_forecasts_equal_hand_computation_from_the_yearly_table(bt, log, history):
    pools = {"admissions": ["source_start", "training_start"], "confirmations": ["probation_start"]}
    for quantity in ("admissions", "confirmations"):
        for year in (2018, 2019, 2020):
            rows = bt[(bt.cutoff == pd.Period(f"{year}-01", freq="M")) & (bt.quantity == quantity)]

            def means(method):
                r = rows[rows.method == method].set_index("unit_id")
                r.index = r.index.astype(str)
                return r

            last = rolled(log, history, quantity, year - 1)
            np.testing.assert_allclose(means("last_year")["mean"], last.reindex(means("last_year").index), rtol=1e-12)
            past = [y for y in (year - 1, year - 2, year - 3) if y >= 2016]
            mean3 = sum(rolled(log, history, quantity, y) for y in past) / len(past)
            got = means("mean_3y")
            np.testing.assert_allclose(got["mean"], mean3.reindex(got.index), rtol=1e-12)
            assert (got["years"] == len(past)).all()
            pool_then = sum(rolled(log, history, c, year - 1) for c in pools[quantity])
            pool_now = sum(rolled(log, history, c, year) for c in pools[quantity])
            conversion = (last / pool_then * pool_now).where(pool_then > 0, last)
            got = means("conversion")
            np.testing.assert_allclose(got["mean"], conversion.reindex(got.index), rtol=1e-12)


def test_the_summary_is_recomputed_from_the_frame(bt):
    s = mf.backtest_summary(bt)
    assert list(s.index.names) == ["quantity", "depth", "method"]
    assert list(s.columns) == ["n", "mae", "coverage_50", "coverage_90", "pit_50", "pit_90", "crps", "best_naive",
                               "crps_ratio"]
    for (quantity, depth), group in bt.groupby(["quantity", "depth"], observed=True):
        crps = group.groupby("method", observed=True)["crps"].mean()
        best = min(BASELINES, key=lambda m: crps[m])
        for method in METHODS:
            g = group[group.method == method]
            row = s.loc[(quantity, depth, method)]
            assert row["n"] == len(g)
            assert row["mae"] == pytest.approx(g["abs_error"].mean(), rel=1e-12)
            assert row["coverage_90"] == pytest.approx(g["in_90"].mean(), rel=1e-12)
            assert row["coverage_50"] == pytest.approx(g["in_50"].mean(), rel=1e-12)
            assert row["crps"] == pytest.approx(g["crps"].mean(), rel=1e-12)
            assert row["best_naive"] == best
            assert row["crps_ratio"] == pytest.approx(g["crps"].mean() / crps[best], rel=1e-12)
    # grouped by method alone: one row per method, the ratio against the best baseline overall
    overall = mf.backtest_summary(bt[bt.quantity == "admissions"], by=["method"])
    assert list(overall.index) == list(METHODS)


def test_the_randomised_pit_coverage():
    # a uniform PIT interval [0, 1] puts 90% of its mass inside [0.05, 0.95]
    assert pit_coverage(np.array([0.0]), np.array([1.0]), 90)[0] == pytest.approx(0.9)
    assert pit_coverage(np.array([0.5]), np.array([0.6]), 90)[0] == 1.0
    assert pit_coverage(np.array([0.96]), np.array([1.0]), 90)[0] == 0.0
    assert pit_coverage(np.array([0.9]), np.array([1.0]), 90)[0] == pytest.approx(0.5)


def test_a_cutoff_alone_gives_the_same_rows_and_the_same_seed_the_same_frame(bt, log):
    one = mf.backtest(log, "2020-01", draws=DRAWS, quantities=("admissions", "confirmations"))
    same = bt[bt.cutoff == pd.Period("2020-01", freq="M")].reset_index(drop=True)
    pd.testing.assert_frame_equal(one, same)
    other = mf.backtest(log, ["2020-01"], draws=DRAWS, seed=1)
    mine = one[one.quantity == "admissions"].reset_index(drop=True)
    base = other["method"] != "memberflow"
    np.testing.assert_array_equal(other.loc[base, "mean"], mine.loc[base, "mean"])  # the baselines draw nothing
    assert not np.array_equal(other.loc[~base, "mean"], mine.loc[~base, "mean"])


def test_fitting_window_in_years(log):
    bt = mf.backtest(log, ["2020-01"], draws=5, years=1, drift=False)
    assert (bt.loc[bt.method == "memberflow", "years"] == 1).all()
    assert (bt.loc[bt.method == "mean_3y", "years"] == 3).all()
    assert (bt.loc[bt.method == "last_year", "years"] == 1).all()


def test_default_cutoffs_and_refusals(log):
    assert [str(c) for c in default_cutoffs(log)] == ["2018-01", "2019-01", "2020-01"]
    assert [str(c) for c in default_cutoffs(log, min_years=1)] == ["2017-01", "2018-01", "2019-01", "2020-01"]
    assert [str(c) for c in default_cutoffs(log, horizon=6)] == ["2018-07", "2019-07", "2020-07"]
    with pytest.raises(mf.InputError, match="cut-off 2016-06"):
        mf.backtest(log, ["2016-06"], draws=2)
    with pytest.raises(mf.InputError, match="before the window of cut-off 2020-06"):
        mf.backtest(log, ["2020-06"], draws=2)
    with pytest.raises(mf.InputError, match="horizon"):
        mf.backtest(log, horizon=13)
    with pytest.raises(mf.InputError, match="percent"):
        mf.backtest(log, levels=[0.9])
    with pytest.raises(mf.InputError, match="unknown quantity"):
        mf.backtest(log, quantities=["members"])
    with pytest.raises(mf.InputError, match="draws"):
        mf.backtest(log, draws=0)
    with pytest.raises(TypeError, match="EventLog"):
        mf.backtest("events.csv")
