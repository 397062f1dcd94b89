"""Distributions of a count at every node (:class:`Distributions`), the accessors the
forecasts with distributions share (:class:`DistributionMethods`: the exact and the
simulated), and interval levels in statsforecast's convention (``level=90``,
columns ``lo-90``/``hi-90``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, overload

import numpy as np
import pandas as pd

from .errors import InputError, UnknownIdError
from .frames import label_column, unit_column
from .org import Org
from .results import Forecast
from .types import Level, Quantity, UnitId, Window

__all__ = ["Distributions", "DistributionMethods", "interval_levels", "level_name", "interval_columns",
           "distribution_key", "key_label", "key_first_day"]

#: A distribution's key: (stage, month) for a stock, (event, first, last) for an event.
Key = tuple[Any, ...]
#: P(count >= k): k one number for every node, or per node.
Threshold = float | Mapping[UnitId, float] | pd.Series


def interval_levels(level: Level) -> list[float]:
    """Interval levels in percent, statsforecast's convention: ``90`` or ``[80, 90]``,
    each in (0, 100). A fraction such as 0.9 is refused (with the percentage it
    probably means), not guessed. Returned sorted, without repeats."""
    levels: list[Any] = list(level) if isinstance(level, (list, tuple, np.ndarray, pd.Series)) else [level]
    if not levels:
        raise InputError("level: give at least one interval level in percent, e.g. level=90")
    for value in levels:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise InputError(f"level must be a number in percent (e.g. level=90), got {value!r}")
        if 0 < value < 1:
            raise InputError(f"level is in percent: for a {value * 100:g}% interval give level={value * 100:g}, "
                             f"not {value:g}")
        if not 0 < value < 100:
            raise InputError(f"level must be in (0, 100) percent, got {value}")
    return sorted({float(v) for v in levels})


def level_name(level: float) -> str:
    """90.0 -> "90", 99.5 -> "99.5": the suffix of the ``lo-90``/``hi-90`` columns."""
    return f"{level:g}"


def interval_columns(level: Level, prefix: str = "") -> list[str]:
    """Column names of central intervals at ``level``, from the lowest bound to the highest
    as statsforecast orders them: ``[80, 90]`` -> lo-90, lo-80, hi-80, hi-90."""
    levels = [level_name(v) for v in interval_levels(level)]
    return [f"{prefix}lo-{v}" for v in reversed(levels)] + [f"{prefix}hi-{v}" for v in levels]


class Distributions:
    """The distributions of one quantity for every node (its subtree total).

    ``quantity`` is an event summed over ``window`` months [first, last) or a stage's
    stock at the start of ``month``. Each node's pmf is kept on the support where its
    mass is not negligible; ``tail`` is the mass dropped (an upper bound, at most the
    forecast's tolerance), so P(count outside the support) <= tail.
    """

    def __init__(self, org: Org, quantity: Quantity, label: str, flat: Mapping[str, Any], ds: pd.Timestamp | None = None):
        self.quantity = quantity
        self.label = label  # "months 0-11" or "month 12"
        self.ds = ds  # with a calendar: the first day of the window, or of the stock's month
        self._ids = org.ids
        self._index = {u: i for i, u in enumerate(org._id_list)}
        self._offsets = np.asarray(flat["offsets"])
        self._starts = np.asarray(flat["starts"])
        self._probs = np.asarray(flat["probs"])
        self._tails = np.asarray(flat["tails"])
        lengths = np.diff(self._starts)
        self._values = np.arange(len(self._probs)) - np.repeat(self._starts[:-1], lengths) \
            + np.repeat(self._offsets, lengths)

    def _segment_sum(self, x: np.ndarray) -> np.ndarray:
        return np.add.reduceat(x, self._starts[:-1])

    def _series(self, values: Any, name: str) -> pd.Series:
        return pd.Series(values, index=self._ids, name=name)

    def pmf(self, unit: str) -> pd.Series:
        """P(count = k) for one node, indexed by k over the kept support."""
        i = self._unit(unit)
        a, b = self._starts[i], self._starts[i + 1]
        k = np.arange(self._offsets[i], self._offsets[i] + (b - a))
        return pd.Series(self._probs[a:b], index=pd.Index(k, name="k"), name="probability")

    def _unit(self, unit: str) -> int:
        try:
            return self._index[unit]
        except KeyError:
            raise UnknownIdError(f"unknown unit '{unit}'") from None

    @property
    def tail(self) -> pd.Series:
        """Mass each node's pmf dropped from its tails (an upper bound)."""
        return self._series(self._tails, "tail")

    def total_mass(self) -> pd.Series:
        """Sum of each node's kept pmf (1 up to rounding and the tail)."""
        return self._series(self._segment_sum(self._probs), "mass")

    def mean(self) -> pd.Series:
        return self._series(self._segment_sum(self._probs * self._values) / self._segment_sum(self._probs), "mean")

    def var(self) -> pd.Series:
        mean = np.repeat(self.mean().to_numpy(), np.diff(self._starts))
        return self._series(self._segment_sum(self._probs * (self._values - mean) ** 2)
                            / self._segment_sum(self._probs), "var")

    def std(self) -> pd.Series:
        return self._series(np.sqrt(self.var().to_numpy()), "std")

    def quantile(self, q: float) -> pd.Series:
        """The smallest k with P(count <= k) >= q, for every node."""
        if not 0 <= q <= 1:
            raise InputError(f"quantile: q must be in [0, 1], got {q}")
        lengths = np.diff(self._starts)
        below = self._segment_sum((self._node_cumsum() < q * (1 - 1e-15)).astype(np.int64))
        return self._series(self._offsets + np.minimum(below, lengths - 1), f"q{q:g}")

    def _node_cumsum(self) -> np.ndarray:
        """Each node's running sum of its own pmf, np.cumsum node by node (nodes grouped
        by pmf length): a running sum over all nodes minus the previous nodes' total
        would carry their rounding, ~1e-16 times the number of nodes, into every cdf."""
        lengths = np.diff(self._starts)
        out = np.empty_like(self._probs)
        for n in np.unique(lengths):
            idx = self._starts[:-1][lengths == n][:, None] + np.arange(n)
            out[idx] = np.cumsum(self._probs[idx], axis=1)
        return out

    def interval(self, level: Level = 90, prefix: str = "") -> pd.DataFrame:
        """Central intervals holding at least ``level`` percent of the mass, ``level``
        one number or a list (``[80, 90]``): columns ``lo-90`` = q(a) and ``hi-90`` =
        q(1 - a), a = (1 - level/100) / 2, lowest bound first (``lo-90, lo-80, hi-80, hi-90``);
        ``prefix`` goes before each name (``admissions-lo-90``)."""
        out = {}
        for value in interval_levels(level):
            a = (1 - value / 100) / 2
            out[f"{prefix}lo-{level_name(value)}"] = self.quantile(a)
            out[f"{prefix}hi-{level_name(value)}"] = self.quantile(1 - a)
        return pd.DataFrame(out)[interval_columns(level, prefix)]

    def prob_at_least(self, k: Threshold) -> pd.Series:
        """P(count >= k) for every node; ``k`` is one number or a Series / mapping by
        unit id (nodes it does not name get NaN). Non-integer k counts as ceil(k)."""
        if isinstance(k, (Mapping, pd.Series)):
            ks = pd.Series(k, dtype=float).reindex(self._ids)
        else:
            ks = pd.Series(float(k), index=self._ids)
        thresholds = np.ceil(ks.to_numpy())
        per_entry = np.repeat(np.nan_to_num(thresholds, nan=np.inf), np.diff(self._starts))
        p = self._segment_sum(np.where(self._values >= per_entry, self._probs, 0.0))
        p = np.where(np.isnan(thresholds), np.nan, np.minimum(p, 1.0))
        return self._series(p, f"P(>={k!s})" if np.isscalar(k) else "P(>=target)")

    def to_frame(self, units: Sequence[UnitId] | None = None) -> pd.DataFrame:
        """Tidy: unit_id, window (or month), quantity, k, probability; with a calendar,
        ``ds`` after ``window``: the first day of the window's first month (of the
        stock's month). ``unit_id``, ``window`` and ``quantity`` are categoricals
        (:mod:`memberflow.frames`)."""
        lengths = np.diff(self._starts)
        rows = len(self._values)
        frame = pd.DataFrame({
            "unit_id": unit_column(self._ids, np.repeat(np.arange(len(self._ids), dtype=np.int32), lengths)),
            "window": label_column([self.label], 0, rows),
            "quantity": label_column([self.quantity], 0, rows),
            "k": self._values,
            "probability": self._probs,
        })
        if self.ds is not None:
            frame.insert(2, "ds", self.ds)
        if units is not None:
            frame = frame[frame["unit_id"].isin(list(units))].reset_index(drop=True)
        return frame

    def summary(self, level: Level = 90) -> pd.DataFrame:
        """Per node: mean, sd, median (q50), central intervals (lo-90, hi-90) and the tail bound."""
        frame = pd.DataFrame({"mean": self.mean(), "sd": self.std(), "q50": self.quantile(0.5)})
        return pd.concat([frame, self.interval(level), self.tail], axis=1)

    def __repr__(self) -> str:
        return f"<memberflow.Distributions: {self.quantity}, {self.label}, {len(self._ids)} nodes>"


class DistributionMethods(Forecast):
    """Accessors shared by the forecasts that carry distributions (exact, simulated);
    each defines ``distribution(quantity, window=None, month=None)``."""

    def distribution(self, quantity: Quantity, window: Window = None, month: int | None = None) -> Distributions:
        """Distributions of ``quantity`` for every node (each engine's result says how)."""
        raise NotImplementedError

    def pmf(self, quantity: str, unit: str, window: Window = None, month: int | None = None) -> pd.Series:
        """P(count = k) at one node."""
        return self.distribution(quantity, window, month).pmf(unit)

    @overload
    def prob_at_least(self, quantity: Quantity, k: Threshold, unit: UnitId, window: Window = None,
                      month: int | None = None) -> float: ...

    @overload
    def prob_at_least(self, quantity: Quantity, k: Threshold, unit: None = None, window: Window = None,
                      month: int | None = None) -> pd.Series: ...

    def prob_at_least(self, quantity: Quantity, k: Threshold, unit: UnitId | None = None, window: Window = None,
                      month: int | None = None) -> float | pd.Series:
        """P(count >= k): a number for one ``unit``, else a Series over every node."""
        d = self.distribution(quantity, window, month)
        p = d.prob_at_least(k)
        return float(p.iloc[d._unit(unit)]) if unit is not None else p

    def quantile(self, quantity: str, q: float, window: Window = None, month: int | None = None) -> pd.Series:
        """The q-quantile of a count at every node."""
        return self.distribution(quantity, window, month).quantile(q)

    def interval(self, quantity: str, level: Level = 90, window: Window = None,
                 month: int | None = None) -> pd.DataFrame:
        """Central intervals holding at least ``level`` percent of the mass (``90`` or
        ``[80, 90]``), at every node: columns ``lo-90``, ``hi-90``."""
        return self.distribution(quantity, window, month).interval(level)

    def to_long(self, quantity: str = "admissions", level: Level | None = None) -> pd.DataFrame:
        """:meth:`Forecast.to_long`, with ``level`` each month's central intervals
        (``admissions-lo-90``, ``admissions-hi-90``): an event's count within the month,
        a stock's at its start. A simulation must track each month (``track=``)."""
        frame = Forecast.to_long(self, quantity)
        if level is None:
            return frame
        stock = self._core.is_stock(quantity)
        months = range(self.horizon + 1) if stock else range(self.horizon)
        intervals = [self.interval(quantity, level, **({"month": m} if stock else {"window": (m, m + 1)}))
                     for m in months]
        for column in intervals[0].columns:  # units x months, flattened unit by unit as to_frame is
            frame[f"{quantity}-{column}"] = np.column_stack([iv[column].to_numpy() for iv in intervals]).reshape(-1)
        return frame

    def target_probabilities(self, window: Window = None, level: Level = 90) -> pd.DataFrame:
        """For every node with a target: the yearly target, the target over ``window``
        (the first 12 months by default; pro rata, see :meth:`Forecast.target_window`),
        the expected admissions over the window, central intervals (``lo-90``,
        ``hi-90``) and the probability of meeting the target (admissions >= target_window)."""
        window = self._year(window)
        targets = self.scenario.targets
        d = self.distribution("admissions", window=window)
        due = self.target_window(window)
        frame = pd.concat([pd.DataFrame({"name": self.org.names, "target": targets.reindex(self.org.ids),
                                         "target_window": due, "mean": d.mean()}),
                           d.interval(level), d.prob_at_least(due).rename("p_target")], axis=1)
        return frame.loc[targets.index]

    def summary(self, window: Window = None, level: Level = 90) -> pd.DataFrame:
        """:meth:`Forecast.summary` plus central intervals of admissions
        (``admissions-lo-90``, ``admissions-hi-90``) and the probability of meeting each
        target over the window (``p_target``, against ``target_window``)."""
        window = self._year(window)
        frame = super().summary(window)
        d = self.distribution("admissions", window=window)
        return pd.concat([frame, d.interval(level, prefix="admissions-"),
                          d.prob_at_least(frame["target_window"]).rename("p_target")], axis=1)


def distribution_key(fc: Forecast, quantity: Quantity, window: Window, month: int | None) -> Key:
    """(stage, month) for a stock, (event, first, last) for an event, with defaults."""
    if fc._core.is_stock(quantity):
        if window is not None:
            raise InputError(f"'{quantity}' is a stock: give month=, not window=")
        return (quantity, fc.horizon if month is None else int(month))
    if month is not None:
        raise InputError(f"'{quantity}' is an event: give window=(first, last), not month=")
    first, last = (0, fc.horizon) if window is None else (int(window[0]), int(window[1]))
    return (quantity, first, last)


def key_label(key: Key) -> str:
    """"months 0-11" or "month 12", calendar or not (``ds`` carries the date)."""
    return f"month {key[1]}" if len(key) == 2 else f"months {key[1]}-{key[2] - 1}"


def key_first_day(fc: Forecast, key: Key) -> pd.Timestamp | None:
    """With a calendar, the first day of the key's (first) month."""
    return None if fc.start is None else (fc.start + key[1]).to_timestamp()
