"""Backtests with a rolling origin: fit on the records before a cut-off, forecast the
next months, and score the forecast against what the records say happened, at every
node of the tree, beside naive baselines on the same cut-offs (docs/backtest.md).

>>> import memberflow as mf
>>> h = mf.datasets.example_history(seed=0)
>>> log = mf.EventLog.from_frame(h.events, h.start)
>>> bt = mf.backtest(log, ["2020-01"], draws=20)
>>> sorted(bt.method.cat.categories)
['conversion', 'last_year', 'mean_3y', 'memberflow']
>>> s = mf.backtest_summary(bt)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from .errors import InputError
from ._checks import month_text, whole_number
from .distribution import interval_levels, level_name
from .records import EventLog, MonthLike

__all__ = ["METHODS", "BASELINES", "backtest", "backtest_columns", "backtest_summary", "default_cutoffs"]

METHODS = ("memberflow", "last_year", "mean_3y", "conversion")
BASELINES = METHODS[1:]
QUANTITIES = ("admissions", "confirmations")
SEED_MAX = 2**64 - 1


def backtest_columns(levels: Sequence[float] = (50, 90)) -> list[str]:
    """The frame's columns, in order, for the interval ``levels`` (percent)."""
    names = [level_name(v) for v in interval_levels(levels)]
    return (["cutoff", "unit_id", "depth", "method", "quantity", "years", "actual", "mean", "median"]
            + [c for v in names for c in (f"lo-{v}", f"hi-{v}")] + ["abs_error", "crps"]
            + [f"in_{v}" for v in names] + ["pit_lo", "pit_hi", "dispersion"])


def _check_log(log: Any) -> None:
    if not isinstance(log, EventLog):
        raise TypeError(f"backtest: expected a memberflow.EventLog, got {type(log).__name__}")


def default_cutoffs(log: EventLog, *, horizon: int = 12, min_years: int = 2,
                    first: MonthLike | None = None) -> list[pd.Period]:
    """The cut-offs :func:`backtest` uses by default: from the last whose ``horizon``
    months the records cover back by 12 months, while ``min_years`` whole years of records
    lie before it (from ``first``, by default the month after the latest opening entry)."""
    _check_log(log)
    horizon = whole_number("horizon", horizon, 1, 12)
    min_years = whole_number("min_years", min_years, 1, 1000)
    first_text = "" if first is None else month_text(first)
    return [pd.Period(c, freq="M") for c in _core.default_cutoffs(log._core, horizon, min_years, first_text)]


def backtest(log: EventLog, cutoffs: Sequence[MonthLike] | MonthLike | None = None, *, horizon: int = 12,
             quantities: Sequence[str] | str = ("admissions",), draws: int = 200, seed: int = 0,
             years: int | None = None, levels: Sequence[float] = (50, 90), first: MonthLike | None = None,
             min_years: int = 2, drift: bool = True) -> pd.DataFrame:
    """Rolling-origin backtest of memberflow against naive baselines, at every node.

    For each cut-off c (default: ``default_cutoffs(log)``, every January-to-December year
    of the example history after its first two): memberflow fits the ``years`` whole
    years of records before c (default: all of them) with partial pooling and the drift
    model, draws ``draws`` parameter sets from the predictive distribution (seed derived
    from ``seed`` and c) and takes the exact engine's mixture over them from the stocks
    at c; the baselines are last year's count over the same months (``last_year``), the
    mean of the last three years' (``mean_3y``; ``years`` says how many existed) and last
    year's conversion of the pool (``conversion``), each a negative binomial whose
    dispersion is fitted to the method's own earlier errors at the nodes of the same
    depth (``dispersion``; 0 is Poisson). See docs/backtest.md.

    Returns a tidy frame, one row per cut-off, quantity, method and node: ``cutoff``
    (Period), ``unit_id``, ``depth``, ``method``, ``quantity`` (categoricals), ``years``,
    ``actual``, the predictive ``mean`` and ``median``, central intervals ``lo-50``,
    ``hi-50``, ``lo-90``, ``hi-90``, ``abs_error`` (``|mean - actual|``), ``crps``, ``in_50``,
    ``in_90``, and ``pit_lo`` / ``pit_hi`` = F(actual - 1), F(actual).
    """
    _check_log(log)
    horizon = whole_number("horizon", horizon, 1, 12)
    draws = whole_number("draws", draws, 1, 1_000_000)
    seed = whole_number("seed", seed, 0, SEED_MAX)
    years = 0 if years is None else whole_number("years", years, 1, 1000)
    min_years = whole_number("min_years", min_years, 1, 1000)
    levels = interval_levels(levels)
    quantities = [quantities] if isinstance(quantities, str) else list(quantities)
    for q in quantities:
        if q not in QUANTITIES:
            raise InputError(f"backtest: unknown quantity {q!r} (admissions, confirmations)")
    if cutoffs is None:
        cutoff_texts = []
    else:
        cutoff_texts = [month_text(c) for c in ([cutoffs] if isinstance(cutoffs, (str, pd.Period)) else cutoffs)]
        if not cutoff_texts:
            raise InputError("backtest: cutoffs is empty (give None for the default cut-offs)")
    cols = _core.backtest(log._core, cutoff_texts, horizon, quantities, draws, seed, years, levels,
                          "" if first is None else month_text(first), min_years, bool(drift))
    return _frame(cols, log, levels, quantities)


def _frame(cols: dict[str, Any], log: EventLog, levels: list[float], quantities: list[str]) -> pd.DataFrame:
    ids = list(log.org.ids)
    names = [level_name(v) for v in levels]
    lo, hi, inside = np.asarray(cols["lo"]), np.asarray(cols["hi"]), np.asarray(cols["inside"])
    data = {
        "cutoff": pd.PeriodIndex(cols["cutoff"], freq="M"),
        "unit_id": pd.Categorical.from_codes(np.asarray(cols["unit"], dtype=np.int64), categories=pd.Index(ids)),
        "depth": np.asarray(cols["depth"], dtype=np.int64),
        "method": pd.Categorical(cols["method"], categories=list(METHODS)),
        "quantity": pd.Categorical(cols["quantity"], categories=quantities),
        "years": np.asarray(cols["years"], dtype=np.int64),
        "actual": np.rint(np.asarray(cols["actual"])).astype(np.int64),
        "mean": np.asarray(cols["mean"]),
        "median": np.asarray(cols["median"], dtype=np.int64),
    }
    for j, v in enumerate(names):
        data[f"lo-{v}"] = lo[:, j].astype(np.int64)
        data[f"hi-{v}"] = hi[:, j].astype(np.int64)
    data["abs_error"] = np.asarray(cols["abs_error"])
    data["crps"] = np.asarray(cols["crps"])
    for j, v in enumerate(names):
        data[f"in_{v}"] = inside[:, j].astype(bool)
    data["pit_lo"] = np.asarray(cols["pit_lo"])
    data["pit_hi"] = np.asarray(cols["pit_hi"])
    data["dispersion"] = np.asarray(cols["dispersion"])
    frame = pd.DataFrame(data)
    return frame[backtest_columns(levels)]


def _levels_of(frame: pd.DataFrame) -> list[str]:
    return [c[len("in_"):] for c in frame.columns if c.startswith("in_")]


def pit_coverage(pit_lo: np.ndarray, pit_hi: np.ndarray, level: float) -> np.ndarray:
    """The chance that the randomised PIT, uniform on [F(y - 1), F(y)], falls in the
    central ``level`` percent band [a, 1 - a]: the coverage of a continuous central
    interval, free of the discreteness of counts (Czado, Gneiting & Held 2009)."""
    a = (1 - level / 100) / 2
    lo, hi = np.asarray(pit_lo, dtype=float), np.asarray(pit_hi, dtype=float)
    width = hi - lo
    overlap = np.clip(np.minimum(hi, 1 - a) - np.maximum(lo, a), 0, None)
    point = ((lo >= a) & (lo <= 1 - a)).astype(float)  # y had no mass: the PIT is one value
    return np.where(width > 0, overlap / np.where(width > 0, width, 1), point)


def backtest_summary(frame: pd.DataFrame, by: Sequence[str] = ("quantity", "depth", "method")) -> pd.DataFrame:
    """Scores per group (default: quantity, depth and method) of a :func:`backtest` frame:
    ``n`` (rows), ``mae`` (mean absolute error of the mean), ``coverage_50`` /
    ``coverage_90`` (share of actual counts inside the central intervals), ``pit_50`` /
    ``pit_90`` (the same for the randomised PIT: what a continuous interval would cover),
    ``crps`` (mean CRPS), ``best_naive`` (the baseline with the lowest mean CRPS in the
    same quantity and depth) and ``crps_ratio`` (crps / that baseline's crps)."""
    by = list(by)
    if "method" not in by:
        raise InputError("backtest_summary: group by 'method' (the ratio compares methods)")
    names = _levels_of(frame)
    scored = frame.assign(**{f"pit_{v}": pit_coverage(frame["pit_lo"].to_numpy(), frame["pit_hi"].to_numpy(), float(v)) for v in names})
    aggregations = {"n": ("crps", "size"), "mae": ("abs_error", "mean"),
                    **{f"coverage_{v}": (f"in_{v}", "mean") for v in names},
                    **{f"pit_{v}": (f"pit_{v}", "mean") for v in names},
                    "crps": ("crps", "mean")}
    out = scored.groupby(by, observed=True, sort=True).agg(**aggregations)
    rest = [b for b in by if b != "method"]
    crps = out["crps"]
    # Mean CRPS of each baseline per group of the other keys: rows = those groups.
    table = crps.unstack("method") if rest else crps.to_frame().T
    naive = table.reindex(columns=[m for m in BASELINES if m in table.columns]).astype(float)
    has = naive.notna().any(axis=1)
    best = pd.Series(None, index=naive.index, dtype=object)
    best[has] = naive[has].idxmin(axis=1)
    best_crps = naive.min(axis=1)
    if rest:
        keys = out.index.droplevel("method")  # type: ignore[arg-type]  # a level's name
        out["best_naive"] = best.reindex(keys).to_numpy()
        out["crps_ratio"] = crps.to_numpy() / best_crps.reindex(keys).to_numpy()
    else:
        out["best_naive"] = best.iloc[0]
        out["crps_ratio"] = crps.to_numpy() / best_crps.iloc[0]
    return out
