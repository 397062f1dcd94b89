"""Exact forecast distributions: the full pmf of a count at every node.

Under the model's independence assumption each unit's count (admissions over a
window, a stage's stock at a month, ...) is a sum of binomials and a Poisson, and a
node's count the sum over its subtree: memberflow computes its distribution exactly,
up to a stated tail mass (default at most 1e-12 per node), instead of simulating it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Optional, Tuple

import numpy as np
import pandas as pd

from . import _core
from .errors import InputError
from .forecast import Forecast
from .scenario import Scenario

__all__ = ["Distributions", "ExactForecast"]

Window = Optional[Tuple[int, int]]


class Distributions:
    """The distributions of one quantity for every node (its subtree total).

    ``quantity`` is an event summed over ``window`` months [first, last) or a stage's
    stock at the start of ``month``. Each node's pmf is kept on the support where its
    mass is not negligible; ``tail`` is the mass dropped (an upper bound, at most the
    forecast's tolerance), so P(count outside the support) <= tail.
    """

    def __init__(self, org, quantity: str, label: str, flat: dict):
        self.quantity = quantity
        self.label = label  # "months 0-11" or "month 12"
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

    def _series(self, values, name: str) -> pd.Series:
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
            from .errors import UnknownIdError
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
        return np.sqrt(self.var()).rename("std")

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

    def interval(self, level: float = 0.9) -> pd.DataFrame:
        """Central interval holding at least ``level`` of the mass: [q(a), q(1 - a)],
        a = (1 - level) / 2."""
        if not 0 < level < 1:
            raise InputError(f"interval: level must be in (0, 1), got {level}")
        a = (1 - level) / 2
        return pd.DataFrame({"lower": self.quantile(a), "upper": self.quantile(1 - a)})

    def prob_at_least(self, k) -> pd.Series:
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
        return self._series(p, f"P(>={k if np.isscalar(k) else 'target'})")

    def to_frame(self, units=None) -> pd.DataFrame:
        """Tidy: unit_id, window (or month), quantity, k, probability."""
        lengths = np.diff(self._starts)
        frame = pd.DataFrame({
            "unit_id": np.repeat(self._ids.to_numpy(dtype=object), lengths),
            "window": self.label,
            "quantity": self.quantity,
            "k": self._values,
            "probability": self._probs,
        })
        if units is not None:
            frame = frame[frame["unit_id"].isin(list(units))].reset_index(drop=True)
        return frame

    def summary(self, level: float = 0.9) -> pd.DataFrame:
        """Per node: mean, sd, central interval, median and the tail bound."""
        iv = self.interval(level)
        return pd.DataFrame({"mean": self.mean(), "sd": self.std(), "q50": self.quantile(0.5),
                             f"lower{level:g}": iv["lower"], f"upper{level:g}": iv["upper"], "tail": self.tail})

    def __repr__(self) -> str:
        return f"<memberflow.Distributions: {self.quantity}, {self.label}, {len(self._ids)} nodes>"


class DistributionMethods:
    """Accessors shared by the forecasts that carry distributions (exact, simulated);
    each defines ``distribution(quantity, window=None, month=None)``."""

    def pmf(self, quantity: str, unit: str, window: Window = None, month: int | None = None) -> pd.Series:
        """P(count = k) at one node."""
        return self.distribution(quantity, window, month).pmf(unit)

    def prob_at_least(self, quantity: str, k, unit: str | None = None, window: Window = None,
                      month: int | None = None):
        """P(count >= k): a number for one ``unit``, else a Series over every node."""
        d = self.distribution(quantity, window, month)
        p = d.prob_at_least(k)
        return float(p.iloc[d._unit(unit)]) if unit is not None else p

    def quantile(self, quantity: str, q: float, window: Window = None, month: int | None = None) -> pd.Series:
        """The q-quantile of a count at every node."""
        return self.distribution(quantity, window, month).quantile(q)

    def interval(self, quantity: str, level: float = 0.9, window: Window = None,
                 month: int | None = None) -> pd.DataFrame:
        """Central interval holding at least ``level`` of the mass, at every node."""
        return self.distribution(quantity, window, month).interval(level)

    def target_probabilities(self, window: Window = None) -> pd.DataFrame:
        """For every node with a target: the target, the expected admissions over
        ``window`` (the first 12 months by default), a central 90% interval, and the
        probability of meeting the target (admissions >= target)."""
        window = window if window is not None else (0, min(12, self.horizon))
        targets = self.scenario.targets
        d = self.distribution("admissions", window=window)
        iv = d.interval(0.9)
        frame = pd.DataFrame({"name": self.org.names, "target": targets.reindex(self.org.ids),
                              "mean": d.mean(), "lower90": iv["lower"], "upper90": iv["upper"],
                              "p_target": d.prob_at_least(targets)})
        return frame.loc[targets.index]

    def summary(self, window: Window = None) -> pd.DataFrame:
        """:meth:`Forecast.summary` plus a central 90% interval of admissions and the
        probability of meeting each target."""
        frame = super().summary(window)
        window = window if window is not None else (0, min(12, self.horizon))
        d = self.distribution("admissions", window=window)
        iv = d.interval(0.9)
        frame["admissions_lower90"] = iv["lower"]
        frame["admissions_upper90"] = iv["upper"]
        frame["p_target"] = d.prob_at_least(self.scenario.targets)
        return frame


class ExactForecast(DistributionMethods, Forecast):
    """The result of ``forecast(..., method="exact")``: everything a
    :class:`Forecast` gives (exact means month by month), plus the full distribution of
    any event over any window and of any stage's stock at any month, for every node.

    >>> import memberflow as mf
    >>> fc = mf.forecast(mf.datasets.example_district(), 12, method="exact")
    >>> p = fc.prob_at_least("admissions", 80, unit="D")
    >>> 0 < p < 1
    True
    """

    def __init__(self, scenario: Scenario, expected: _core.ForecastResult, tolerance: float):
        super().__init__(scenario, expected, "exact")
        self.tolerance = tolerance
        self._exact = _core.ExactForecast(scenario._core, expected.horizon, tolerance)
        self._cache: dict = {}

    def distribution(self, quantity: str, window: Window = None, month: int | None = None) -> Distributions:
        """Distributions of ``quantity`` for every node: an event over ``window`` (the
        whole horizon by default) or a stage's stock at ``month`` (default: the horizon)."""
        key = _key(self, quantity, window, month)
        if key not in self._cache:
            if len(key) == 2:
                flat = self._exact.stock(quantity, key[1])
            else:
                flat = self._exact.events(quantity, key[1], key[2])
            self._cache[key] = Distributions(self.org, quantity, _label(key), flat)
        return self._cache[key]


def _key(fc: Forecast, quantity: str, window: Window, month: int | None) -> tuple:
    """(stage, month) for a stock, (event, first, last) for an event, with defaults."""
    if fc._core.is_stock(quantity):
        if window is not None:
            raise InputError(f"'{quantity}' is a stock: give month=, not window=")
        return (quantity, fc.horizon if month is None else int(month))
    if month is not None:
        raise InputError(f"'{quantity}' is an event: give window=(first, last), not month=")
    first, last = (0, fc.horizon) if window is None else (int(window[0]), int(window[1]))
    return (quantity, first, last)


def _label(key: tuple) -> str:
    return f"month {key[1]}" if len(key) == 2 else f"months {key[1]}-{key[2] - 1}"


def _exact(scenario: Scenario, expected: _core.ForecastResult, tolerance: float) -> ExactForecast:
    if not (0 < tolerance < 1) or math.isnan(tolerance):
        raise InputError(f"tolerance must be in (0, 1), got {tolerance}")
    return ExactForecast(scenario, expected, tolerance)
