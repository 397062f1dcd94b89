"""Frames in the ecosystem's shape (issue 12, point 4): the long frame of statsforecast and
hierarchicalforecast (unique_id, ds, the value, <value>-lo-90/-hi-90), ids and labels as
categoricals in the organisation's order, and CSV round trips through mf.read_frame."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

import memberflow as mf
from memberflow import stage


@pytest.fixture(scope="module")
def district():
    return mf.datasets.example_district()


@pytest.fixture(scope="module")
def exact(district):
    return mf.forecast(district, 12, method="exact")


def round_trip(frame: pd.DataFrame, org: mf.Org | None = None) -> pd.DataFrame:
    return mf.read_frame(io.StringIO(frame.to_csv(index=False)), org=org)


def test_to_frame_ids_and_quantities_are_categoricals_in_the_orgs_order(exact):
    frame = exact.to_frame()
    assert isinstance(frame["unit_id"].dtype, pd.CategoricalDtype)
    assert list(frame["unit_id"].cat.categories) == list(exact.org.ids)
    assert list(frame["quantity"].cat.categories) == exact.quantities
    assert list(frame.columns) == ["unit_id", "month", "ds", "quantity", "value"]
    # the values of every unit, month and quantity, against the forecast's own accessors
    for q in ("admissions", "probation"):
        rows = frame[frame["quantity"] == q]
        table = rows.pivot(index="unit_id", columns="month", values="value")
        np.testing.assert_array_equal(table.loc[list(exact.org.ids)].to_numpy(), exact.monthly(q).to_numpy())
    # strings compare as before
    assert (frame.loc[frame["unit_id"] == "D", "unit_id"].astype(str) == "D").all()
    assert frame["unit_id"].isin(["D", "C01"]).sum() == 2 * (4 * 13 + 5 * 12)


def test_to_long_is_the_statsforecast_shape_with_intervals(exact):
    long = exact.to_long("admissions", level=[80, 90])
    assert list(long.columns) == ["unique_id", "ds", "admissions", "admissions-lo-90", "admissions-lo-80",
                                  "admissions-hi-80", "admissions-hi-90"]
    assert isinstance(long["unique_id"].dtype, pd.CategoricalDtype)
    assert list(long["unique_id"].cat.categories) == list(exact.org.ids)
    assert pd.api.types.is_datetime64_any_dtype(long["ds"])
    assert (long["ds"].dt.day == 1).all() and long["ds"].min() == pd.Timestamp("2021-01-01")
    march = long[long["ds"] == pd.Timestamp("2021-03-01")].set_index("unique_id")
    interval = exact.interval("admissions", [80, 90], window=(2, 3))
    np.testing.assert_array_equal(march.loc[list(exact.org.ids), "admissions-lo-90"].to_numpy(),
                                  interval["lo-90"].to_numpy())
    np.testing.assert_allclose(march.loc[list(exact.org.ids), "admissions"].to_numpy(),
                               exact.mean("admissions", window=(2, 3)).to_numpy(), rtol=1e-12)


def test_every_result_type_gives_the_long_frame(district):
    expected = mf.forecast(district, 6)
    assert list(expected.to_long("admissions").columns) == ["unique_id", "ds", "admissions"]
    with pytest.raises(mf.InputError, match="intervals need method='exact' or 'simulate'"):
        expected.to_long("admissions", level=90)
    track = [("admissions", m, m + 1) for m in range(6)]
    sim = mf.forecast(district, 6, method="simulate", paths=200, seed=3, track=track, progress=False)
    long = sim.to_long("admissions", level=90)
    assert list(long.columns) == ["unique_id", "ds", "admissions", "admissions-lo-90", "admissions-hi-90"]
    assert isinstance(long["unique_id"].dtype, pd.CategoricalDtype)
    assert (long["admissions-lo-90"] <= long["admissions-hi-90"]).all()


@pytest.mark.parametrize("make", ["to_frame", "to_frame own", "to_long", "to_long levels", "distribution",
                                  "distribution some units", "stock distribution", "paths"])
def test_a_frame_written_to_csv_reads_back_equal(district, exact, make):
    if make == "paths":
        sim = mf.forecast(district, 12, method="simulate", paths=20, seed=1, keep_paths=True, progress=False)
        frame = sim.paths_frame("admissions")
    else:
        frame = {"to_frame": lambda: exact.to_frame(), "to_frame own": lambda: exact.to_frame(scope="own"),
                 "to_long": lambda: exact.to_long("full"),
                 "to_long levels": lambda: exact.to_long("admissions", level=[50, 90]),
                 "distribution": lambda: exact.distribution("admissions").to_frame(),
                 "distribution some units": lambda: exact.distribution("admissions").to_frame(units=["C01", "D"]),
                 "stock distribution": lambda: exact.distribution("full", month=6).to_frame()}[make]()
    pd.testing.assert_frame_equal(round_trip(frame, exact.org), frame)
    if make != "distribution some units":  # every unit in it: categories in order of appearance are the org's
        pd.testing.assert_frame_equal(round_trip(frame), frame)


def numeric_looking_scenario(start: str | None) -> mf.Scenario:
    """Ids that a CSV reader would take for numbers: they must come back as text."""
    org = mf.Org.from_frame(pd.DataFrame({"unit_id": ["001", "01", "1", "1.0", "2e3"],
                                          "parent_id": [None, "001", "001", "01", "01"]}))
    pipe = mf.Pipeline([stage.markov("source", advance=0.2, exit=0.05), stage.terminal("full", attrition=0.01)],
                       admission="full")
    stocks = pd.DataFrame({"unit_id": ["1", "1.0", "2e3"], "stage": "source", "count": [4, 7, 2]})
    return mf.Scenario(org, pipe, stocks=stocks, start=start)


@pytest.mark.parametrize("start", ["2021-04", None])
def test_ids_that_look_like_numbers_come_back_as_text(start):
    fc = mf.forecast(numeric_looking_scenario(start), 5, method="exact")
    for frame in (fc.to_frame(), fc.to_long("admissions", level=90)):
        back = round_trip(frame)
        pd.testing.assert_frame_equal(back, frame)
        assert list(back.iloc[:, 0].cat.categories) == ["001", "01", "1", "1.0", "2e3"]
    if start is None:  # without a calendar ds holds the month numbers
        assert fc.to_long("admissions")["ds"].tolist()[:5] == [0, 1, 2, 3, 4]


def test_the_categories_are_the_whole_org_whatever_rows_a_frame_keeps(exact):
    frame = exact.distribution("admissions").to_frame(units=["C01-03"])
    assert frame["unit_id"].astype(str).unique().tolist() == ["C01-03"]
    assert len(frame["unit_id"].cat.categories) == len(exact.org)
    # without the org, only the ids the file holds can be known
    assert list(round_trip(frame)["unit_id"].cat.categories) == ["C01-03"]
