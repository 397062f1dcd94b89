"""Estimation from aggregate counts per unit and period (docs/estimation.md, "From
aggregate counts"): what most organisations and every published statistic have.

The counts give the events of each rate directly (admissions are training's advances,
...), but not the person-months at risk; these are reconstructed under the monthly model
(the expected person-months given the period's start stock, entries and leavers, at each
unit's fitted rate, iterated with the pooled fit: EM), then the fit is the event log's
(:func:`memberflow.estimate`), drift included. ``approximation="trapezoid"`` takes
stocks linear between a period's start and end instead, for comparison.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ._checks import month_text
from ._tables import columns_frame
from .errors import InputError
from .fit import Fit, fit_exposures, one_level
from .records import CountTable, MonthLike
from .scenario import Scenario

__all__ = ["estimate_counts"]


def estimate_counts(counts: CountTable, first: MonthLike | None = None, last: MonthLike | None = None, *,
                    level: float = 90, drift: bool = True, approximation: str = "model") -> Fit:
    """Fit every rate of the model from a :class:`CountTable`, with partial pooling along
    the tree; :func:`memberflow.estimate` calls this for a count table.

    ``first`` / ``last``: the months to fit, whole periods of every unit; by default the
    table's whole 12-month blocks counted back from the end of its latest period (the
    table's whole span when shorter than a year). The scenario's stocks are each unit's
    ``<stage>_end`` of the period ending with ``last`` (or ``<stage>_start`` of the one
    beginning after it); a fixed-duration stage's stock is spread over its ages by the
    admissions of the months its people were admitted in. ``seasonal`` is empty unless
    every period of the window is a month (a year's counts say nothing about its season).
    """
    if not isinstance(counts, CountTable):
        raise TypeError(f"estimate_counts: expected a memberflow.CountTable, got {type(counts).__name__}")
    if approximation not in ("model", "matched", "trapezoid"):
        raise InputError(f"estimate: approximation must be 'model', 'matched' or 'trapezoid', got {approximation!r}")
    level = one_level(level)
    first_text, last_text = _window(counts, first, last)
    org, pipe = counts.org, counts.pipeline
    x = counts._core.exposures(org._core, pipe._core, first_text, last_text, approximation)
    after = pd.Period(last_text, freq="M") + 1
    scenario = Scenario(org, pipe, stocks=_snapshot(counts, str(after)), start=after)
    fit = fit_exposures(scenario, x, first_text, last_text, level, drift)
    if not _monthly(counts, first_text, last_text):
        # a period's arrivals are spread evenly over its months: the counts say nothing
        # about the season within it, so no seasonal profile (not a flat one)
        fit = dataclasses.replace(fit, seasonal=fit.seasonal.iloc[0:0])
    return fit


def _monthly(counts: CountTable, first_text: str, last_text: str) -> bool:
    """Whether every period of the window is a month."""
    a = counts._core.arrays()
    starts = np.asarray(a["first"], dtype=np.int64)
    first, last = (pd.Period(t, freq="M") for t in (first_text, last_text))
    inside = (starts >= first.year * 12 + first.month - 1) & (starts <= last.year * 12 + last.month - 1)
    return bool((np.asarray(a["months"])[inside] == 1).all())


def _window(counts: CountTable, first: MonthLike | None, last: MonthLike | None) -> tuple[str, str]:
    a = counts._core.arrays()
    if len(a["first"]) == 0:
        raise InputError("estimate: the count table holds no row")
    starts = np.asarray(a["first"], dtype=np.int64)
    ends = starts + np.asarray(a["months"], dtype=np.int64) - 1

    def month(m: int) -> str:  # a month index as YYYY-MM
        return f"{m // 12:04d}-{m % 12 + 1:02d}"

    last_text = month(int(ends.max())) if last is None else month_text(last)
    if first is not None:
        return month_text(first), last_text
    span = (pd.Period(last_text, freq="M") - pd.Period(month(int(starts.min())), freq="M")).n + 1
    if span < 12:
        return month(int(starts.min())), last_text
    return str(pd.Period(last_text, freq="M") - (12 * (span // 12) - 1)), last_text


def _snapshot(counts: CountTable, month: str) -> pd.DataFrame:

    frame = columns_frame(counts._core.snapshot_columns(counts.org._core, counts.pipeline._core, month))
    frame["count"] = frame["count"].astype(float).astype("int64")
    frame["months_in_stage"] = pd.to_numeric(frame["months_in_stage"].replace("", None)).astype("Int64")
    return frame
