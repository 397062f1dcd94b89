"""Plots: fan charts, a count's distribution, the organisation tree, the funnel, the
backtest and the quarter's progress (docs/plots.md).

matplotlib is an optional dependency (``pip install memberflow[plot]``), imported on the
first plot, so that memberflow imports without it. Every function draws on ``ax=`` (an
Axes; for the two-panel :func:`backtest`, two Axes) or on a new figure, and returns the
Axes (the Figure for :func:`backtest`).

>>> import memberflow as mf
>>> ex = mf.forecast(mf.datasets.example_district(), 12, method="exact")
>>> ax = mf.plot.fan(ex, "admissions", unit="D")                # doctest: +SKIP
>>> ax = mf.plot.distribution(ex, "admissions", unit="D")       # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import pandas as pd

from .distribution import Distributions
from .errors import InputError, UnknownIdError
from .exact import ExactForecast
from .org import Org
from .pipeline import Pipeline
from .progress import STATUSES, Progress
from .records import CountTable, EventLog
from .results import Forecast
from .scenario import Scenario
from .simulate import SimulationForecast

if TYPE_CHECKING:
    import matplotlib.axes
    import matplotlib.figure

__all__ = ["fan", "fan_track", "distribution", "tree", "funnel", "backtest", "progress", "STATUS_COLOURS"]

History = Union[EventLog, CountTable, pd.Series]

#: The colours of :func:`progress`'s statuses (memberflow.progress.STATUSES).
STATUS_COLOURS = {"on track": "#1a9850", "at risk": "#fdae61", "behind": "#d73027", "no target": "#bdbdbd"}

#: Fan bands: central intervals in percent, widest first (the lighter shade).
FAN_LEVELS = (90, 50)

_FAN_COLOUR = "#2c7fb8"
_ACTUAL_COLOUR = "black"
_NO_VALUE_COLOUR = "#d9d9d9"


def _pyplot() -> Any:
    """matplotlib.pyplot, imported on first use: an optional dependency."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("memberflow's plots need matplotlib, an optional dependency: "
                          "pip install memberflow[plot]") from error
    return plt


def _axes(ax: matplotlib.axes.Axes | None, size: tuple[float, float] = (7.0, 4.0)) -> matplotlib.axes.Axes:
    if ax is not None:
        return ax
    new: matplotlib.axes.Axes = _pyplot().subplots(figsize=size)[1]
    return new


# -- shared checks --------------------------------------------------------------------------

def _forecast(value: object, what: str) -> Forecast:
    if not isinstance(value, Forecast):
        raise InputError(f"plot.{what}: expected a forecast (mf.forecast(...)), got {type(value).__name__}")
    return value


def _unit(org: Org, unit: str | None, what: str) -> str:
    """The unit asked for (default: the root), checked."""
    if unit is None:
        return org.root
    if unit not in org:
        raise UnknownIdError(f"plot.{what}: unknown unit {unit!r}")
    return unit


def _is_stock(fc: Forecast, quantity: str, what: str) -> bool:
    if quantity not in fc.quantities:
        raise UnknownIdError(f"plot.{what}: unknown quantity {quantity!r} (quantities: {', '.join(fc.quantities)})")
    return quantity in fc.scenario.pipeline.stages


def _probability_text(p: float, resolution: float = 0.0) -> str:
    """What follows "P(...)": "= " and 3 decimals, a small probability in scientific
    notation rather than as 0.000; below ``resolution`` (an exact forecast's tail bound, a
    simulation's 1 / paths) the computed value carries no digits, so "< " and the bound
    (as the command line does)."""
    if p < resolution:
        return f"< {resolution:g}"
    if p == 0 or p >= 1e-3:
        return f"= {p:.3f}"
    return f"= {p:.1e}"


def _resolution(fc: ExactForecast | SimulationForecast) -> float:
    """The smallest probability a forecast's distributions can tell from 0."""
    return fc.tolerance if isinstance(fc, ExactForecast) else 1.0 / fc.paths


# -- fan chart --------------------------------------------------------------------------------

def _fan_points(horizon: int, stock: bool, cumulative: bool) -> list[tuple[int, dict[str, Any]]]:
    """(x, selection) for each point of a fan: x in months from month 0 (the start of
    month x), the selection the ``window=``/``month=`` of the count drawn there. A stock
    at the start of months 0..horizon; an event's count within each month (drawn at
    the month's start) or, cumulative, over months 0..m-1 (drawn at the start of month m,
    when it is complete)."""
    if stock:
        return [(m, {"month": m}) for m in range(horizon + 1)]
    if cumulative:
        return [(m, {"window": (0, m)}) for m in range(1, horizon + 1)]
    return [(m, {"window": (m, m + 1)}) for m in range(horizon)]


def fan_track(quantity: str, horizon: int, *, stock: bool = False, cumulative: bool = True) -> list[tuple[Any, ...]]:
    """The ``track=`` of ``mf.forecast(..., method="simulate")`` that a :func:`fan` of
    ``quantity`` needs (a stage's ``stock=True``; an event's monthly counts with
    ``cumulative=False``), e.g. ``track=mf.plot.fan_track("admissions", 12)``."""
    return [(quantity, sel["month"]) if "month" in sel else (quantity, *sel["window"])
            for _, sel in _fan_points(horizon, stock, cumulative)]


def _x_values(fc: Forecast, months: Sequence[int]) -> Any:
    """Calendar dates (the first day of each month) with a calendar, else month numbers."""
    dates = fc.dates(fc.horizon + 2)
    return np.asarray(months) if dates is None else dates[list(months)]


def _fan_distributions(fc: ExactForecast | SimulationForecast, quantity: str, points: list[tuple[int, dict[str, Any]]],
                       stock: bool, cumulative: bool) -> list[Distributions]:
    if isinstance(fc, SimulationForecast):
        tracked = set(fc.tracked)
        missing = [sel for _, sel in points
                   if ((quantity, sel["month"]) if "month" in sel else (quantity, *sel["window"])) not in tracked]
        if missing:
            raise InputError(f"plot.fan: the simulation did not track {quantity!r} at {len(missing)} of the fan's "
                             f"{len(points)} months (first {missing[0]}); simulate with track=mf.plot.fan_track("
                             f"{quantity!r}, {fc.horizon}" + (", stock=True" if stock else "")
                             + ("" if cumulative or stock else ", cumulative=False") + ")")
    return [fc.distribution(quantity, **sel) for _, sel in points]


def fan(forecast: Forecast, quantity: str = "admissions", unit: str | None = None, *, cumulative: bool = True,
        history: History | None = None, target: bool = True,
        ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
    """A fan chart of ``quantity`` at ``unit`` (default: the root) over the horizon: the
    median, the central 50% and 90% bands month by month; with ``history`` the actual
    figures on top.

    ``quantity``: a stage (its stock at the start of each month) or an event; an event is
    drawn cumulatively from month 0 (``cumulative=True``: admissions so far, reaching the
    horizon's total at its end) or month by month (``cumulative=False``). With a
    calendar the x axis is dates, each point at the first day of its month (a cumulative
    count at the start of the month after its last).

    An exact forecast gives every band; a simulation those of the months it tracked
    (``track=mf.plot.fan_track(quantity, horizon)``, else an error naming it); an
    expected-value forecast its mean only (the legend says so).

    ``history``: an :class:`~memberflow.EventLog`, a :class:`~memberflow.CountTable` (the records of the same
    organisation, placed on the forecast's calendar) or a Series of the unit's monthly
    actuals (an event's count in each month, a stock at each month's start) indexed by
    forecast month (0, 1, ...) or by calendar month. ``target``: with cumulative
    admissions, a line at the unit's yearly target if it has one.
    """
    fc = _forecast(forecast, "fan")
    unit = _unit(fc.org, unit, "fan")
    stock = _is_stock(fc, quantity, "fan")
    points = _fan_points(fc.horizon, stock, cumulative)
    months = [m for m, _ in points]
    ax = _axes(ax)
    if not stock and cumulative:  # nothing has happened yet at the start of month 0
        months = [0] + months
    x = _x_values(fc, months)
    origin = [0.0] if not stock and cumulative else []
    if isinstance(fc, (ExactForecast, SimulationForecast)):
        dists = _fan_distributions(fc, quantity, points, stock, cumulative)
        for level, alpha in zip(FAN_LEVELS, (0.18, 0.38)):
            a = (1 - level / 100) / 2
            lo = origin + [float(d.quantile(a)[unit]) for d in dists]
            hi = origin + [float(d.quantile(1 - a)[unit]) for d in dists]
            ax.fill_between(x, lo, hi, color=_FAN_COLOUR, alpha=alpha, linewidth=0, label=f"{level}%", step=None)
        median = origin + [float(d.quantile(0.5)[unit]) for d in dists]
        ax.plot(x, median, color=_FAN_COLOUR, linewidth=2, label="median")
    else:
        means = origin + [float(fc.mean(quantity, **sel)[unit]) for _, sel in points]
        ax.plot(x, means, color=_FAN_COLOUR, linewidth=2, linestyle="--",
                label=f"expected value (method={fc.method!r}: mean only, no bands)")
    if history is not None:
        at, values = _actuals(history, fc, quantity, unit, stock, cumulative)
        ax.plot(_x_values(fc, at), values, color=_ACTUAL_COLOUR, marker="o", markersize=3, linewidth=1.5,
                label="actual")
    if target and quantity == "admissions" and cumulative and unit in fc.scenario.targets.index:
        ax.axhline(float(fc.scenario.targets[unit]), color="#d73027", linestyle=":", linewidth=1.2,
                   label=f"yearly target {fc.scenario.targets[unit]:g}")
    how = "stock at the start of the month" if stock else ("cumulative" if cumulative else "per month")
    kind = "exact predictive (the rates' uncertainty in it)" if getattr(fc, "predictive", False) else fc.method
    ax.set_title(f"{quantity} at {unit} ({how}), {kind} forecast")
    ax.set_xlabel("month" if fc.start is None else "")
    if fc.start is not None:  # matplotlib's default date labels ("2021-01") run into each other past a year
        from matplotlib import dates as mdates

        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)  # type: ignore[no-untyped-call]  # unannotated
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_ylabel(quantity)
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.3)
    return ax


# -- actuals ------------------------------------------------------------------------------------

def _actuals(history: object, fc: Forecast, quantity: str, unit: str, stock: bool,
             cumulative: bool) -> tuple[list[int], np.ndarray]:
    """(x months, values) of the unit's actual figures within the forecast's months,
    drawn as :func:`fan` draws the forecast."""
    if isinstance(history, pd.Series):
        monthly = _series_months(history, fc)
        return _drawn(monthly, stock, cumulative)
    if isinstance(history, (EventLog, CountTable)):
        if list(history.org.ids) != list(fc.org.ids):
            raise InputError("plot.fan: the history was read for another organisation than the forecast's")
        if fc.start is None:
            raise InputError("plot.fan: records are placed by calendar month, and the forecast's scenario has no "
                             "start month (Scenario(..., start='2021-01'))")
        if isinstance(history, EventLog):
            return _drawn(_log_months(history, fc, quantity, unit, stock), stock, cumulative)
        return _count_points(history, fc, quantity, unit, stock, cumulative)
    raise InputError(f"plot.fan: history must be a memberflow.EventLog, CountTable or a pandas Series of monthly "
                     f"actuals, got {type(history).__name__}")


def _series_months(series: pd.Series, fc: Forecast) -> pd.Series:
    """The actuals by forecast month (int), from month numbers or calendar months."""
    index = series.index
    if isinstance(index, (pd.PeriodIndex, pd.DatetimeIndex)):
        if fc.start is None:
            raise InputError("plot.fan: the actuals are indexed by date, and the forecast has no calendar start; "
                             "index them by forecast month (0, 1, ...)")
        periods = index.to_period("M") if isinstance(index, pd.DatetimeIndex) else index.asfreq("M")
        months = np.array([(p - fc.start).n for p in periods], dtype=np.int64)
    elif pd.api.types.is_integer_dtype(index):
        months = index.to_numpy(dtype=np.int64)
    else:
        raise InputError(f"plot.fan: index the actuals by forecast month (0, 1, ...) or by calendar month "
                         f"(Periods or Timestamps), got an index of {index.dtype}")
    values = pd.to_numeric(pd.Series(series.to_numpy()), errors="coerce")
    if values.isna().any():
        raise InputError(f"plot.fan: actual value at month {months[int(np.flatnonzero(values.isna())[0])]} is not "
                         "a number")
    out = pd.Series(values.to_numpy(dtype=float), index=months).sort_index()
    if out.index.has_duplicates:
        raise InputError(f"plot.fan: the actuals give month {out.index[out.index.duplicated()][0]} twice")
    return out


def _drawn(monthly: pd.Series, stock: bool, cumulative: bool) -> tuple[list[int], np.ndarray]:
    """Monthly actuals drawn as the fan is: a stock and a monthly count at their month,
    a cumulative count (from month 0, no month missing) at the start of the next month."""
    if len(monthly) == 0:
        raise InputError("plot.fan: the history holds no month of the forecast")
    months = monthly.index.to_numpy(dtype=np.int64)
    if stock or not cumulative:
        return months.tolist(), monthly.to_numpy(dtype=float)
    if months[0] != 0 or (np.diff(months) != 1).any():
        gap = 0 if months[0] != 0 else int(months[np.flatnonzero(np.diff(months) != 1)[0]]) + 1
        raise InputError(f"plot.fan: cumulative actuals need every month from the forecast's month 0; month {gap} "
                         "is missing (give cumulative=False to draw the months given)")
    return [0] + (months + 1).tolist(), np.concatenate([[0.0], np.cumsum(monthly.to_numpy(dtype=float))])


def _entered_stage(fc: Forecast, quantity: str) -> int:
    """The stage an event enters: arrivals the first, admissions the admission stage,
    confirmations the last; the records count no other event."""
    stages = fc.scenario.pipeline.stages
    entered = {"arrivals": 0, "admissions": stages.index(fc.scenario.pipeline.admission),
               "confirmations": len(stages) - 1}
    if quantity not in entered:
        raise InputError(f"plot.fan: actuals of {quantity!r} are not read from records (they give stocks, arrivals, "
                         "admissions and confirmations); pass a Series of monthly actuals")
    return entered[quantity]


def _log_months(log: EventLog, fc: Forecast, quantity: str, unit: str, stock: bool) -> pd.Series:
    """The subtree's monthly figures from an event log, forecast months from 0."""
    assert fc.start is not None
    last = fc.start + (fc.horizon if stock else fc.horizon - 1)
    first, last = max(fc.start, log.first_month), min(last, log.last_month)
    if first > last:
        raise InputError(f"plot.fan: the event log covers {log.first_month} to {log.last_month}, outside the "
                         f"forecast's months from {fc.start}")
    if not stock and log.complete_from > fc.start:
        raise InputError(f"plot.fan: the event log describes everybody only from {log.complete_from}, after the "
                         f"forecast's start {fc.start}: its {quantity} before then may be missing")
    x = log.exposures(first, last)
    x = x[x["unit_id"].isin(fc.org.subtree(unit))]
    stages = fc.scenario.pipeline.stages
    if stock:
        rows, column = x[x["stage"] == quantity], "at_risk"
    else:
        s = _entered_stage(fc, quantity)
        rows, column = (x[x["stage"] == stages[0]], "arrivals") if s == 0 else (x[x["stage"] == stages[s - 1]],
                                                                                 "advanced")
    totals = rows.groupby("ds")[column].sum()
    months = [(pd.Period(ds, freq="M") - fc.start).n for ds in totals.index]
    return pd.Series(totals.to_numpy(dtype=float), index=months).sort_index()


def _count_points(table: CountTable, fc: Forecast, quantity: str, unit: str, stock: bool,
                  cumulative: bool) -> tuple[list[int], np.ndarray]:
    """The subtree's figures from a count table, period by period: a stock at a period's
    first month, an event's count cumulative to each period's end (or, for monthly rows,
    month by month)."""
    assert fc.start is not None
    column = f"{quantity}_start" if stock else quantity
    if not stock:
        _entered_stage(fc, quantity)
    frame = table.frame
    subtree = fc.org.subtree(unit)
    frame = frame[frame["unit_id"].isin(subtree)]
    offset = np.array([(f - fc.start).n for f in frame["first"]], dtype=np.int64)
    end = offset + frame["months"].to_numpy(dtype=np.int64)
    inside = (offset >= 0) & (end <= fc.horizon)
    frame, offset = frame[inside], offset[inside]
    if frame.empty:
        raise InputError(f"plot.fan: the count table has no period within the forecast's months from {fc.start}")
    rows = frame.assign(offset=offset)
    periods = rows.groupby(["offset", "months"], sort=True)
    points: list[int] = []
    values: list[float] = []
    for (first, length), group in periods:
        absent = sorted(set(subtree) - set(group["unit_id"]))
        if absent:
            raise InputError(f"plot.fan: the count table has no row for unit '{absent[0]}' in the period starting "
                             f"{fc.start + int(first)}: the subtree's total is unknown")
        if group[column].isna().any():
            raise InputError(f"plot.fan: the {column} of unit '{group.loc[group[column].isna(), 'unit_id'].iat[0]}' "
                             f"in the period starting {fc.start + int(first)} is unknown")
        points.append(int(first) if stock or not cumulative else int(first) + int(length))
        values.append(float(group[column].sum()))
    if not stock and not cumulative and (rows["months"] != 1).any():
        raise InputError("plot.fan: cumulative=False needs monthly counts; the count table has longer periods")
    if not stock and cumulative:
        starts = [int(f) for f, _ in periods.groups]
        ends = [p for p in points]
        if starts[0] != 0 or any(s != e for s, e in zip(starts[1:], ends[:-1])):
            raise InputError("plot.fan: cumulative actuals need consecutive periods from the forecast's month 0")
        return [0] + points, np.concatenate([[0.0], np.cumsum(values)])
    return points, np.asarray(values)


# -- a count's distribution ------------------------------------------------------------------

#: The mass left out of a distribution plot's x range in each tail: bars below a
#: millionth are invisible beside the mode at any figure size, yet an exact pmf runs on to
#: its 1e-12 tail (the example district's year: 65-225 drawn where 100-180 shows anything).
_INVISIBLE_MASS = 1e-6


def _visible_range(k: np.ndarray, p: np.ndarray, target: float | None) -> tuple[float, float]:
    """x limits over the counts that carry all but ``_INVISIBLE_MASS`` in each tail, and
    the target."""
    cdf = np.cumsum(p)
    lo = float(k[min(int(np.searchsorted(cdf, _INVISIBLE_MASS)), len(k) - 1)])
    hi = float(k[min(int(np.searchsorted(cdf, cdf[-1] - _INVISIBLE_MASS)), len(k) - 1)])
    if target is not None:
        lo, hi = min(lo, target), max(hi, target)
    return lo - 1, hi + 1


def distribution(forecast: Forecast, quantity: str = "admissions", unit: str | None = None, *,
                 window: tuple[int, int] | None = None, month: int | None = None, target: float | None = None,
                 ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
    """The distribution of ``quantity`` at ``unit`` (default: the root): an event's
    count over ``window`` (default: the horizon) or a stage's stock at ``month``, as bars
    P(count = k), with ``target`` marked (default for admissions: the unit's target over
    the window, pro rata as ``Forecast.target_window`` says) and P(count >= target)
    written on the plot. Needs ``method="exact"`` or ``"simulate"``.
    """
    fc = _forecast(forecast, "distribution")
    unit = _unit(fc.org, unit, "distribution")
    _is_stock(fc, quantity, "distribution")
    if not isinstance(fc, (ExactForecast, SimulationForecast)):
        raise InputError(f"plot.distribution: needs a forecast with distributions (method='exact' or 'simulate'); "
                         f"this one is {fc.method!r}")
    d = fc.distribution(quantity, window=window, month=month)
    pmf = d.pmf(unit)
    if target is None and quantity == "admissions" and unit in fc.scenario.targets.index:
        target = float(fc.target_window(window)[unit])
    ax = _axes(ax)
    k = pmf.index.to_numpy()
    colours = np.full(len(k), "#9ecae1", dtype=object)
    if target is not None:
        colours[k >= math.ceil(target)] = _FAN_COLOUR
    ax.bar(k, pmf.to_numpy(), width=0.9, color=list(colours), label="P(count = k)")
    ax.set_xlim(*_visible_range(k, pmf.to_numpy(), target))
    if target is not None:
        p = float(d.prob_at_least(target).to_numpy()[fc.org.ids.get_loc(unit)])
        ax.axvline(target, color="#d73027", linestyle="--", linewidth=1.5, label=f"target {target:g}")
        ax.text(0.98, 0.95, f"P({quantity} >= {math.ceil(target)}) {_probability_text(p, _resolution(fc))}",
                transform=ax.transAxes, ha="right", va="top", fontsize="medium",
                bbox={"facecolor": "white", "edgecolor": "#d73027", "alpha": 0.9}, gid="memberflow-probability")
    ax.set_title(f"{quantity} at {unit}, {d.label}" + ("" if d.ds is None else f" (from {d.ds:%Y-%m})"))
    ax.set_xlabel(quantity)
    ax.set_ylabel("probability")
    ax.legend(loc="upper left", fontsize="small")
    return ax


# -- the organisation tree --------------------------------------------------------------------

def _tree_layout(org: Org) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Preorder ids, depths, and each node's angular span [start, end) in degrees: every
    leaf gets the same angle, a node the span of its leaves."""
    frame = org.to_frame()
    parent = dict(zip(frame["unit_id"], frame["parent_id"]))
    order = org.subtree(org.root)
    position = {u: i for i, u in enumerate(order)}
    n = len(order)
    depth = np.zeros(n, dtype=np.int64)
    leaves = np.ones(n, dtype=np.int64)
    has_children = np.zeros(n, dtype=bool)
    for i, u in enumerate(order):
        p = parent[u]
        if p is not None and not (isinstance(p, float) and math.isnan(p)):
            depth[i] = depth[position[p]] + 1
            has_children[position[p]] = True
    for i in range(n - 1, -1, -1):  # children follow their parent in preorder: sum them bottom-up
        if has_children[i]:
            leaves[i] = 0
    for i in range(n - 1, 0, -1):
        p = parent[order[i]]
        leaves[position[p]] += leaves[i]
    step = 360.0 / leaves[0]
    start = np.zeros(n)
    cursor = {0: 0.0}  # next free angle inside each node's span, by position
    for i in range(1, n):
        p = position[parent[order[i]]]
        start[i] = cursor.get(p, start[p])
        cursor[p] = start[i] + leaves[i] * step
    return order, depth, start, start + leaves * step


def _node_values(org: Org, values: object, order: list[str]) -> np.ndarray:
    """The values in preorder, NaN where a unit has none; unknown ids refused."""
    if values is None:
        return np.full(len(order), np.nan)
    if isinstance(values, Mapping) and not isinstance(values, pd.Series):
        values = pd.Series(values, dtype=float)
    if not isinstance(values, pd.Series):
        raise InputError(f"plot.tree: values must be a pandas Series or a mapping by unit id, got "
                         f"{type(values).__name__}")
    unknown = [u for u in values.index if u not in org]
    if unknown:
        raise UnknownIdError(f"plot.tree: values name unknown unit(s) {unknown[:5]}")
    if values.index.has_duplicates:
        raise InputError(f"plot.tree: values give unit(s) twice: {list(values.index[values.index.duplicated()][:5])}")
    numbers = pd.to_numeric(values, errors="coerce")
    bad = values.index[numbers.isna() & values.notna()]
    if len(bad):
        raise InputError(f"plot.tree: the value of unit '{bad[0]}' is not a number: {values[bad[0]]!r}")
    return numbers.reindex(order).to_numpy(dtype=float)


def tree(org: Org | Scenario | Forecast, values: pd.Series | Mapping[str, float] | None = None, *,
         label: str | None = None, cmap: str = "RdYlGn", vmin: float | None = None, vmax: float | None = None,
         labels: str = "fit", ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
    """The organisation as a sunburst: the root in the centre, each level a ring, each
    unit a wedge whose angle is its share of the leaves, coloured by ``values`` (a Series
    or mapping by unit id, e.g. ``ExactForecast.target_probabilities()["p_target"]``;
    units without a value are grey). ``label`` names the values on the colour bar.
    ``vmin``/``vmax``: the colour scale (default: 0 to 1 when every value is a
    probability, else their range). ``labels``: ``"fit"`` writes the ids of the leaves
    (4pt, just outside the outer ring, in line with their wedges) and of the other units
    whose wedges are wide enough, ``"all"`` every id, ``"none"`` none.

    The wedges are one PatchCollection in the org's preorder (``org.subtree(org.root)``).
    """
    _pyplot()
    import matplotlib
    from matplotlib import cm, colors
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Wedge

    if isinstance(org, (Scenario, Forecast)):
        org = org.org
    if not isinstance(org, Org):
        raise InputError(f"plot.tree: expected a memberflow.Org (or a Scenario or forecast), got {type(org).__name__}")
    if labels not in ("fit", "all", "none"):
        raise InputError(f"plot.tree: labels must be 'fit', 'all' or 'none', got {labels!r}")
    order, depth, start, end = _tree_layout(org)
    value = _node_values(org, values, order)
    known = value[~np.isnan(value)]
    probabilities = len(known) > 0 and known.min() >= 0 and known.max() <= 1
    lo = vmin if vmin is not None else (0.0 if probabilities or len(known) == 0 else float(known.min()))
    hi = vmax if vmax is not None else (1.0 if probabilities or len(known) == 0 else float(known.max()))
    norm = colors.Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1)
    colour_map = matplotlib.colormaps[cmap]
    faces = np.array([colour_map(norm(v)) if not np.isnan(v) else colors.to_rgba(_NO_VALUE_COLOUR) for v in value])
    # clockwise from the top, as a clock is read: angle a of the layout is 90 - a
    wedges = [Wedge((0.0, 0.0), float(d) + 1.0, 90.0 - float(e), 90.0 - float(s), width=1.0)
              for d, s, e in zip(depth, start, end)]
    collection = PatchCollection(wedges, facecolors=faces, edgecolors="white", linewidths=0.3)
    collection.set_gid("memberflow-tree")
    ax = _axes(ax, (9.0, 9.0))
    ax.add_collection(collection)
    rings = int(depth.max()) + 1
    ax.set_xlim(-rings - 0.6, rings + 0.6)  # room for the leaves' labels
    ax.set_ylim(-rings - 0.6, rings + 0.6)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if labels != "none":
        leaf = np.append(depth[1:] <= depth[:-1], True)  # in preorder a leaf is not followed by its child
        _tree_labels(ax, order, depth, start, end, leaf, labels == "all")
    if len(known):
        mappable = cm.ScalarMappable(norm=norm, cmap=colour_map)
        bar = ax.figure.colorbar(mappable, ax=ax, shrink=0.6, pad=0.02)
        bar.set_label((label or getattr(values, "name", None) or "value")
                      + ("" if len(known) == len(value) else " (grey: none)"))
    ax.set_title(f"{org.root}: {len(order)} units, {rings - 1} levels below")
    return ax


def _tree_labels(ax: matplotlib.axes.Axes, order: list[str], depth: np.ndarray, start: np.ndarray,
                 end: np.ndarray, leaf: np.ndarray, every: bool) -> None:
    """Ids written radially: a unit with units below it inside its wedge when the wedge
    is at least 2.5 degrees wide (6pt text on a 9-inch figure), or always with
    ``every``; a leaf just outside the outer ring, where nothing else is drawn. A leaf
    above the deepest level (the example's 31 cells without sub-cells) is labelled there
    too: at its own ring's edge the arc a leaf gets is shorter than the text is high, and
    the labels of neighbouring leaves overlap."""
    outer = float(depth.max()) + 1.0
    for u, d, s, e, is_leaf in zip(order, depth, start, end, leaf):
        if d == 0:
            ax.text(0, 0, u, ha="center", va="center", fontsize=9, fontweight="bold")
            continue
        if not (every or is_leaf or (e - s) >= 2.5):
            continue
        angle = 90.0 - (s + e) / 2  # clockwise from the top
        mid = math.radians(angle)
        r = outer + 0.05 if is_leaf else d + 0.5
        upright = -90 <= ((angle + 180) % 360) - 180 <= 90  # the right half reads outwards, the left inwards
        ax.text(r * math.cos(mid), r * math.sin(mid), u, rotation=angle if upright else angle + 180,
                rotation_mode="anchor", ha=("left" if upright else "right") if is_leaf else "center",
                va="center", fontsize=4 if is_leaf else 6)


# -- the funnel ----------------------------------------------------------------------------------

def _conversion(scenario: Scenario, stage: str, following: str, subtree: list[str], people: pd.DataFrame) -> float:
    """P(a person entering ``stage`` reaches ``following``): each unit's chance from its
    own parameters (Pipeline.funnel), averaged over the subtree weighted by the people
    now in the stage (equally where nobody is)."""
    pipeline = scenario.pipeline
    chance = np.array([pipeline.funnel(stage, scenario=scenario, unit=u)["prob_reach"][following] for u in subtree])
    weight = people.loc[subtree, stage].to_numpy(dtype=float)
    return float(np.average(chance, weights=weight if weight.sum() > 0 else None))


def funnel(source: Scenario | Forecast | Pipeline, unit: str | None = None, *, stages: Sequence[str] | None = None,
           ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
    """The pipeline as a funnel: one centred bar per stage, its width the people in it,
    and beside it the conversion to the next stage.

    From a :class:`~memberflow.Scenario` (or a forecast's): the people now in each stage in
    ``unit``'s subtree (default: the root), and P(a person entering the stage reaches the
    next one), each unit's from its own parameters (:meth:`~memberflow.Pipeline.funnel`) weighted by
    the people in the stage. From a :class:`~memberflow.Pipeline`: a cohort of 100 entering the first
    stage, P(reaching each stage) x 100 with the pipeline's default parameters.
    ``stages``: which to draw (default: every stage but the terminal one, whose members
    would dwarf the rest; the last drawn still shows its conversion to the next).
    """
    if isinstance(source, Forecast):
        source = source.scenario
    if isinstance(source, Scenario):
        pipeline = source.pipeline
    elif isinstance(source, Pipeline):
        pipeline = source
        if unit is not None:
            raise InputError("plot.funnel: a Pipeline has no units; pass the Scenario to draw a unit's funnel")
    else:
        raise InputError(f"plot.funnel: expected a memberflow.Scenario, forecast or Pipeline, got "
                         f"{type(source).__name__}")
    every = pipeline.stages
    shown = list(stages) if stages is not None else every[:-1]
    for s in shown:
        if s not in every:
            raise UnknownIdError(f"plot.funnel: unknown stage {s!r} (stages: {', '.join(every)})")
    following = [every[every.index(s) + 1] if every.index(s) + 1 < len(every) else None for s in shown]
    pairs = [(s, nxt) for s, nxt in zip(shown, following) if nxt is not None]
    if isinstance(source, Scenario):
        unit = _unit(source.org, unit, "funnel")
        people = source.stock_totals()
        subtree = source.org.subtree(unit)
        counts = people.loc[subtree, shown].sum().to_numpy(dtype=float)
        conversion = {(s, nxt): _conversion(source, s, nxt, subtree, people) for s, nxt in pairs}
        title = f"people per stage at {unit} (its subtree)"
    else:
        reach = pipeline.funnel(every[0])["prob_reach"]
        counts = 100 * reach[shown].to_numpy(dtype=float)
        conversion = {(a, b): float(reach[b] / reach[a]) if reach[a] > 0 else math.nan
                      for a, b in zip(every[:-1], every[1:])}
        title = f"of 100 entering {every[0]} (the pipeline's defaults)"
    ax = _axes(ax, (7.0, 1.0 + 0.8 * len(shown)))
    y = -np.arange(len(shown), dtype=float)
    ax.barh(y, counts, left=-counts / 2, height=0.7, color=_FAN_COLOUR, alpha=0.8)
    widest = float(counts.max()) if len(counts) and counts.max() > 0 else 1.0
    for yi, s, nxt, c in zip(y, shown, following, counts):
        ax.text(0, yi, f"{s}: {c:,.0f}", ha="center", va="center", color="white" if c > 0.3 * widest else "black",
                fontsize="small", fontweight="bold")
        if nxt is not None:
            ax.text(widest / 2 + 0.03 * widest, yi, f"\u2192 {nxt}: {100 * conversion[(s, nxt)]:.0f}%",
                    ha="left", va="center", fontsize="small", gid=f"memberflow-conversion-{s}")
    ax.set_yticks(y, shown)
    ax.set_xticks([])
    ax.set_xlim(-widest / 2 - 0.05 * widest, widest / 2 + 0.45 * widest)
    ax.set_title(f"{title}; \u2192 conversion to the next stage", fontsize="medium")
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    return ax


# -- the backtest ---------------------------------------------------------------------------------

def backtest(frame: pd.DataFrame, *, quantity: str = "admissions",
             ax: Sequence[matplotlib.axes.Axes] | None = None) -> matplotlib.figure.Figure:
    """The backtest (:func:`memberflow.backtest`'s frame, scored by
    :func:`memberflow.backtest_summary`) in two panels, by depth of the tree: each
    method's mean CRPS divided by that of the best naive baseline at the depth
    (``crps_ratio``: below 1, better than every baseline), and the share of actual counts
    inside each method's central intervals (``coverage_90`` filled circles,
    ``coverage_50`` hollow squares; dotted: the nominal levels). ``ax``: two Axes to draw
    on. Returns the Figure.
    """
    from .backtest import METHODS, backtest_summary

    if not isinstance(frame, pd.DataFrame) or not {"method", "depth", "quantity", "crps"} <= set(frame.columns):
        raise InputError(f"plot.backtest: expected the frame of mf.backtest(...), got {type(frame).__name__}"
                         + (f" with columns {list(frame.columns)[:8]}" if isinstance(frame, pd.DataFrame) else ""))
    present = [str(q) for q in pd.unique(frame["quantity"])]
    if quantity not in present:
        raise UnknownIdError(f"plot.backtest: no {quantity!r} in this backtest (quantities: {', '.join(present)})")
    summary = backtest_summary(frame).xs(quantity, level="quantity")
    levels = sorted((c[len("coverage_"):] for c in summary.columns if c.startswith("coverage_")), key=float,
                    reverse=True)  # widest first: it is drawn filled
    figure: matplotlib.figure.Figure
    if ax is None:
        figure, axes = _pyplot().subplots(1, 2, figsize=(11.0, 4.0))
    else:
        axes = list(ax)
        if len(axes) != 2:
            raise InputError(f"plot.backtest: ax must be two Axes (one per panel), got {len(axes)}")
        figure = axes[0].figure
    depths = sorted(summary.index.get_level_values("depth").unique())
    methods = [m for m in METHODS if m in summary.index.get_level_values("method")]
    width = 0.8 / len(methods)
    colours = dict(zip(METHODS, ("#2c7fb8", "#bdbdbd", "#969696", "#636363")))
    for j, method in enumerate(methods):
        rows = summary.xs(method, level="method").reindex(depths)
        x = np.arange(len(depths)) + (j - (len(methods) - 1) / 2) * width
        axes[0].bar(x, rows["crps_ratio"].to_numpy(dtype=float), width=width, color=colours[method], label=method,
                    gid=f"memberflow-crps-ratio-{method}")
        for k, level in enumerate(levels):
            shift = (k - (len(levels) - 1) / 2) * width / 3
            axes[1].plot(x + shift, rows[f"coverage_{level}"].to_numpy(dtype=float), linestyle="none",
                         marker="o" if k == 0 else "s", markersize=6, color=colours[method],
                         markerfacecolor=colours[method] if k == 0 else "white",
                         label=f"{method} {level}%", gid=f"memberflow-coverage-{level}-{method}")
    axes[0].axhline(1.0, color="#d73027", linestyle=":", linewidth=1)
    top = float(np.nanmax(summary["crps_ratio"].to_numpy(dtype=float), initial=1.0))
    axes[0].set_ylim(0, 1.35 * top)  # room for the legend above the bars
    for level in levels:
        axes[1].axhline(float(level) / 100, color="#d73027", linestyle=":", linewidth=1)
    for a in axes:
        a.set_xticks(np.arange(len(depths)), [f"depth {d}" for d in depths])
        a.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("mean CRPS / best naive baseline's")
    axes[0].set_title(f"backtest: {quantity}, error against the baselines (below 1: better)", fontsize="medium")
    axes[0].legend(fontsize="small", ncol=2, loc="upper center")
    axes[1].set_ylim(0, 1.05)
    axes[1].set_ylabel("share of actuals inside the interval")
    axes[1].set_title("interval coverage (dotted: nominal)", fontsize="medium")
    axes[1].legend(fontsize="x-small", ncol=2, loc="lower right")
    return figure


# -- progress during the year -------------------------------------------------------------------

def progress(state: Progress, *, depth: int = 1, units: Sequence[str] | None = None,
             ax: matplotlib.axes.Axes | None = None) -> matplotlib.axes.Axes:
    """Where each unit stands (:func:`memberflow.progress`'s result): one bar per unit,
    its admissions so far coloured by status (:data:`STATUS_COLOURS`; the same colour in
    a square beside the unit's id, so that a unit with none admitted shows it too), a
    tick at the pro rata target and a line over the 90% interval of admissions so far
    forecast at the start of the year. ``units``: which (default: those at ``depth``, in preorder); the
    title carries the root's figures.
    """
    if not isinstance(state, Progress):
        raise InputError(f"plot.progress: expected the result of mf.progress(...), got {type(state).__name__}")
    table = state.units.set_index("unit_id", drop=False)
    if units is None:
        rows = table[table["depth"] == depth]
        if rows.empty:
            raise InputError(f"plot.progress: no unit at depth {depth} (depths 0-{int(table['depth'].max())})")
    else:
        unknown = [u for u in units if u not in table.index]
        if unknown:
            raise UnknownIdError(f"plot.progress: unknown unit(s) {unknown[:5]}")
        rows = table.loc[list(units)]
    ax = _axes(ax, (7.0, 1.2 + 0.22 * len(rows)))
    y = -np.arange(len(rows), dtype=float)
    colours = [STATUS_COLOURS[s] for s in rows["status"]]
    ax.barh(y, rows["admitted"].to_numpy(dtype=float), height=0.7, color=colours, gid="memberflow-admitted")
    ax.hlines(y, rows["so_far_lo"].to_numpy(dtype=float), rows["so_far_hi"].to_numpy(dtype=float), color="black",
              linewidth=1, label="forecast 90% (from January)", gid="memberflow-forecast-interval")
    ax.plot(rows["pro_rata"].to_numpy(dtype=float), y, linestyle="none", marker="|", markersize=10,
            markeredgewidth=2, color="black", label="pro rata target", gid="memberflow-pro-rata")
    ax.set_yticks(y, [str(u) for u in rows["unit_id"]], fontsize="x-small")
    # the status again as a square beside each id: a unit with nothing admitted has no bar to colour
    from matplotlib.transforms import blended_transform_factory

    ax.scatter(np.full(len(rows), -0.015), y, marker="s", s=30, c=colours, clip_on=False,
               transform=blended_transform_factory(ax.transAxes, ax.transData), gid="memberflow-status")
    ax.tick_params(axis="y", pad=12)
    from matplotlib.patches import Patch

    shown = [s for s in STATUSES if s in set(rows["status"])]
    handles, names = ax.get_legend_handles_labels()
    handles += [Patch(color=STATUS_COLOURS[s]) for s in shown]
    names += shown
    ax.legend(handles, names, fontsize="x-small", loc="lower right")
    root = state.units.iloc[0]
    title = f"{state.year} through {state.through}: admissions so far"
    if not np.isnan(root["p_meet"]):
        title += (f"\n{root['unit_id']}: admitted {root['admitted']} (pro rata {root['pro_rata']:g}), "
                  f"{root['status']}, P(target) {_probability_text(float(root['p_meet']))}")
    ax.set_title(title, fontsize="medium")
    ax.set_xlabel("admissions")
    ax.grid(axis="x", alpha=0.3)
    return ax
