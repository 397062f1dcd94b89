"""The result of a forecast: expected values of every stock and event, per unit and for
every node above it (:class:`Forecast`); the engines' results with distributions extend
it (:mod:`memberflow.exact`, :mod:`memberflow.simulate`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import _core
from ._checks import check_scope
from .errors import InputError
from .frames import label_column, unit_column
from .org import Org
from .scenario import Scenario
from .types import Level, Quantity, Scope, Window

__all__ = ["Forecast", "YEAR"]

#: Targets are yearly: admissions wanted over 12 months. Over a window of another length
#: a target counts pro rata, ``target * months / YEAR`` (the ``target_window`` column).
YEAR = 12

class Forecast:
    """The result of :func:`forecast`.

    Quantities: the stock of each stage (named by the stage, at the start of months
    0..horizon) and the events of months 0..horizon-1: ``admissions``,
    ``confirmations``, ``arrivals``, ``exits`` (leaving a pipeline stage) and
    ``leavers`` (leaving the terminal stage). A node's figure is its subtree's total.

    Calendar: if the scenario has a ``start`` month, month m is the calendar month
    ``start + m``; tidy frames then carry its first day in a ``ds`` column beside
    ``month``, and quarters are calendar quarters (``2021Q2``). Without one, months are
    0..horizon and quarters Q1 (months 0-2), Q2 (3-5), ...
    """

    def __init__(self, scenario: Scenario, core: _core.ForecastResult, method: str):
        self.scenario = scenario
        self.method = method
        self._core = core

    @property
    def horizon(self) -> int:
        return int(self._core.horizon)

    @property
    def quantities(self) -> list[str]:
        return list(self._core.quantities)

    @property
    def events(self) -> list[str]:
        return [q for q in self.quantities if not self._core.is_stock(q)]

    @property
    def org(self) -> Org:
        return self.scenario.org

    @property
    def start(self) -> pd.Period | None:
        """The calendar month of month 0 (a monthly ``pandas.Period``), or None."""
        return getattr(self.scenario, "start", None)

    def dates(self, months: int | None = None) -> pd.DatetimeIndex | None:
        """The first day of months 0..months-1 (default: 0..horizon), or None without a calendar."""
        if self.start is None:
            return None
        n = self.horizon + 1 if months is None else months
        return pd.period_range(self.start, periods=n, freq="M").to_timestamp()

    def window_label(self, first: int, last: int) -> str:
        """Months first..last-1: ``"2021-01 to 2021-12"`` with a calendar, else ``"months 0-11"``."""
        if self.start is None:
            return f"months {first}-{last - 1}"
        return f"{self.start + first} to {self.start + last - 1}"

    def quarters(self, months: int | None = None) -> pd.DataFrame:
        """The quarters of months 0..months-1 (default: the horizon), one row each, indexed
        by label: ``first, last`` (its ``window=(first, last)``), ``months`` covered and
        ``partial`` (fewer than 3 months covered).

        Without a calendar quarters are blocks of 3 months from month 0 (Q1, Q2, ...).
        With one they are calendar quarters (``2021Q1``): when the start month is not
        January, April, July or October, the first quarter (and the last) is partial.
        """
        n = self.horizon if months is None else months
        labels = [f"Q{m // 3 + 1}" if self.start is None else str((self.start + m).asfreq("Q")) for m in range(n)]
        rows: dict[str, list[int]] = {}
        for m, label in enumerate(labels):
            rows.setdefault(label, [m, m])[1] = m + 1
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=["first", "last"])
        frame.index.name = "quarter"
        frame["months"] = frame["last"] - frame["first"]
        frame["partial"] = frame["months"] < 3
        return frame

    def mean(self, quantity: str, window: Window = None, month: int | None = None) -> pd.Series:
        """Expected value for every node (its subtree total), as a Series by unit id.

        Events are summed over ``window = (first, last)``, months first..last-1 (the
        whole horizon by default; ``(0, 3)`` is the first quarter). Stocks are read at
        the start of ``month`` (default: the horizon, i.e. after the last month).
        """
        if self._core.is_stock(quantity):
            if window is not None:
                raise InputError(f"'{quantity}' is a stock: give month=, not window=")
            values = self._core.stock(quantity, self.horizon if month is None else int(month))
        else:
            if month is not None:
                raise InputError(f"'{quantity}' is an event: give window=(first, last), not month=")
            first, last = (0, self.horizon) if window is None else window
            values = self._core.total(quantity, int(first), int(last))
        return pd.Series(values, index=self.org.ids, name=quantity)

    def own(self, quantity: str) -> np.ndarray:
        """Each unit's own expected values, units x months, a read-only view (no copy)."""
        return np.asarray(self._core.own(quantity))

    def monthly(self, quantity: str, scope: Scope = "subtree") -> pd.DataFrame:
        """Units x months of one quantity; ``scope="own"`` for each unit's own figures."""
        check_scope(scope)
        arr = self._core.own(quantity) if scope == "own" else self._core.rolled(quantity)
        return pd.DataFrame(arr, index=self.org.ids, columns=pd.RangeIndex(arr.shape[1], name="month"))

    def by_quarter(self, event: str = "admissions") -> pd.DataFrame:
        """Expected events per quarter for every node: Q1 = months 0-2, Q2 = 3-5, ... or,
        with a calendar, calendar quarters (``2021Q1``, ...). A quarter the horizon or
        the start month cuts holds only its covered months (see :meth:`quarters`)."""
        return pd.DataFrame({label: self.mean(event, window=(q.first, q.last))
                             for label, q in self.quarters().iterrows()})

    def to_frame(self, quantities: list[str] | None = None, scope: Scope = "subtree") -> pd.DataFrame:
        """Tidy: one row per unit, month and quantity, with columns
        ``unit_id, month, quantity, value`` (subtree totals, or ``scope="own"``), and
        ``ds`` (the month's first day) after ``month`` when the scenario has a calendar.
        ``unit_id`` and ``quantity`` are categoricals (the organisation's ids, the
        quantities asked for, in order: :mod:`memberflow.frames`); rows quantity by
        quantity, unit by unit, month by month."""
        check_scope(scope)
        names = list(quantities) if quantities is not None else self.quantities
        n_units = len(self.org)
        widths = [self.horizon + 1 if self._core.is_stock(q) else self.horizon for q in names]
        rows = n_units * sum(widths)
        # Filled in place, quantity by quantity, and handed to the frame without copies: a
        # national frame is ~34 million rows, and each temporary copy of a column costs
        # hundreds of megabytes (benchmarks/python/bench_frames.py).
        unit = np.empty(rows, dtype=np.int32)
        month = np.empty(rows, dtype=np.int64)
        label = np.empty(rows, dtype=np.int8 if len(names) < 128 else np.int32)
        value = np.empty(rows, dtype=np.float64)
        first = 0
        for i, (q, width) in enumerate(zip(names, widths)):
            arr = self._core.own(q) if scope == "own" else self._core.rolled(q)
            block = slice(first, first + arr.size)
            unit[block].reshape(arr.shape)[:] = np.arange(n_units, dtype=np.int32)[:, None]
            month[block].reshape(arr.shape)[:] = np.arange(width)
            label[block] = i
            value[block] = arr.reshape(-1)  # C order: unit-major, months within
            first += arr.size
        columns: dict[str, Any] = {"unit_id": unit_column(self.org.ids, unit), "month": month,
                                   "quantity": label_column(names, label, rows), "value": value}
        dates = self.dates()
        if dates is not None:
            columns = {"unit_id": columns["unit_id"], "month": month, "ds": dates.to_numpy()[month],
                       "quantity": columns["quantity"], "value": value}
        return pd.DataFrame(columns, copy=False)

    def to_long(self, quantity: Quantity = "admissions", level: Level | None = None) -> pd.DataFrame:
        """One quantity month by month in the long shape of statsforecast and
        hierarchicalforecast: ``unique_id, ds, <quantity>`` (subtree totals), ``ds`` the
        month's first day with a calendar, else the month number. ``level`` (percent, one
        or a list) adds each month's central intervals, ``<quantity>-lo-90`` and
        ``<quantity>-hi-90``: for the methods with distributions only. ``unique_id`` is a
        categorical of the organisation's ids (:mod:`memberflow.frames`)."""
        if level is not None:
            raise InputError(f"intervals need method='exact' or 'simulate'; this forecast is {self.method!r}")
        frame = self.to_frame([quantity])
        time = "ds" if "ds" in frame.columns else "month"
        return pd.DataFrame({"unique_id": frame["unit_id"], "ds": frame[time], quantity: frame["value"]})

    def target_window(self, window: Window = None) -> pd.Series:
        """Each node's target over ``window`` (default: the first year): targets are
        yearly, so over a window of n months a target counts ``target * n / 12`` (the
        whole target over 12 months, half of it over 6). NaN where a node has none."""
        first, last = self._year(window)
        targets = self.scenario.targets.reindex(self.org.ids).rename("target_window")
        # 12 months: the target itself (0.2 * 12 / 12 is not 0.2); else multiplied before
        # dividing, so a whole share of a whole target (160 * 6 / 12) is exact
        return targets if last - first == YEAR else targets * (last - first) / YEAR

    def _year(self, window: Window) -> tuple[int, int]:
        return (0, min(YEAR, self.horizon)) if window is None else (int(window[0]), int(window[1]))

    def summary(self, window: Window = None) -> pd.DataFrame:
        """Per node: expected admissions and confirmations over ``window`` (the first 12
        months by default, or the horizon if shorter), the stock of each stage at the
        window's end, the yearly target, the target over the window (``target_window``,
        pro rata: see :meth:`target_window`) and the expected shortfall against it."""
        first, last = self._year(window)
        frame = pd.DataFrame({"name": self.org.names, "kind": self.org.kinds})
        frame["admissions"] = self.mean("admissions", window=(first, last))
        frame["confirmations"] = self.mean("confirmations", window=(first, last))
        for stage in self.scenario.pipeline.stages:
            frame[f"{stage}_at_end"] = self.mean(stage, month=last)
        frame["target"] = self.scenario.targets.reindex(self.org.ids)
        frame["target_window"] = self.target_window((first, last))
        frame["shortfall"] = (frame["target_window"] - frame["admissions"]).clip(lower=0)
        frame["depth"] = [self.org._core.depth(i) for i in range(len(self.org))]
        return frame

    def __repr__(self) -> str:
        root = self.org.root
        adm = self.mean("admissions")[root]
        return (f"<memberflow.Forecast ({self.method}): {len(self.org)} units, {self.horizon} months; "
                f"expected admissions at '{root}': {adm:.1f}>")

    def _repr_html_(self) -> str:
        table = self.summary()
        top = table[table["depth"] <= 1].drop(columns="depth")
        return (f"<p><b>memberflow.Forecast</b> ({self.method}), {self.horizon} months, "
                f"{len(self.org)} units; root and its children:</p>"
                + top.to_html(float_format=lambda v: f"{v:,.1f}", na_rep=""))
