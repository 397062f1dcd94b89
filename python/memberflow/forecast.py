"""Forecasts of the membership pipeline, per unit and for every node above it."""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import pandas as pd

from . import _core
from .errors import InputError, ParameterError
from .scenario import Scenario

__all__ = ["forecast", "Forecast", "METHODS"]

METHODS = ("expected", "exact", "simulate")

Window = Optional[Tuple[int, int]]


def forecast(scenario: Scenario, horizon: int = 12, method: str = "expected", *,
             threads: int | None = None, tolerance: float = 1e-12, **simulation) -> Forecast:
    """Forecast a scenario ``horizon`` months ahead.

    ``method="exact"`` adds the full distribution of every count at every node
    (:class:`memberflow.exact.ExactForecast`): probabilities of meeting targets,
    quantiles, intervals; ``tolerance`` bounds the mass each pmf may drop from its tails.

    ``method="simulate"`` runs the Monte Carlo engine (:mod:`memberflow.simulate`) with
    ``paths``, ``seed``, ``keep_paths``, ``track``, ``progress`` and the policies
    ``inflow_profile``, ``uncertainty``, ``course``, ``target_rule``.

    ``threads``: how many threads share the work (default: one per core); the result
    is the same, bit for bit, whatever the number.

    ``method="expected"``: the exact expected value of every stock and event under the
    model (shared/spec/pipeline-model.md), computed month by month, not simulated.

    >>> import memberflow as mf
    >>> fc = mf.forecast(mf.datasets.example_district(), horizon=12)
    >>> fc.mean("admissions")["D"] > 0
    True
    """
    if method not in METHODS:
        raise ParameterError(f"unknown method {method!r}; this version offers: {', '.join(METHODS)}")
    if not isinstance(scenario, Scenario):
        raise TypeError(f"forecast: expected a memberflow.Scenario, got {type(scenario).__name__}")
    if simulation and method != "simulate":
        raise InputError(f"{sorted(simulation)} apply to method='simulate' only")
    if method == "simulate":
        from .simulate import _simulate

        return _simulate(scenario, horizon, threads=threads, **simulation)
    expected = _core.forecast_expected(scenario._core, int(horizon), int(threads or 0))
    if method == "exact":
        from .exact import _exact

        return _exact(scenario, expected, float(tolerance))
    return Forecast(scenario, expected, method)


class Forecast:
    """The result of :func:`forecast`.

    Quantities: the stock of each stage (named by the stage, at the start of months
    0..horizon) and the events of months 0..horizon-1: ``admissions``,
    ``confirmations``, ``arrivals``, ``exits`` (leaving a pipeline stage) and
    ``leavers`` (leaving the terminal stage). A node's figure is its subtree's total.
    """

    def __init__(self, scenario: Scenario, core: _core.ForecastResult, method: str):
        self.scenario = scenario
        self.method = method
        self._core = core

    @property
    def horizon(self) -> int:
        return self._core.horizon

    @property
    def quantities(self) -> list[str]:
        return list(self._core.quantities)

    @property
    def events(self) -> list[str]:
        return [q for q in self.quantities if not self._core.is_stock(q)]

    @property
    def org(self):
        return self.scenario.org

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
        return self._core.own(quantity)

    def monthly(self, quantity: str, scope: str = "subtree") -> pd.DataFrame:
        """Units x months of one quantity; ``scope="own"`` for each unit's own figures."""
        _check_scope(scope)
        arr = self._core.own(quantity) if scope == "own" else self._core.rolled(quantity)
        return pd.DataFrame(arr, index=self.org.ids, columns=pd.RangeIndex(arr.shape[1], name="month"))

    def by_quarter(self, event: str = "admissions") -> pd.DataFrame:
        """Expected events per quarter (Q1 = months 0-2, ...) for every node."""
        quarters = {f"Q{q + 1}": self.mean(event, window=(3 * q, min(3 * q + 3, self.horizon)))
                    for q in range((self.horizon + 2) // 3)}
        return pd.DataFrame(quarters)

    def to_frame(self, quantities: list[str] | None = None, scope: str = "subtree") -> pd.DataFrame:
        """Tidy: one row per unit, month and quantity, with columns
        ``unit_id, month, quantity, value`` (subtree totals, or ``scope="own"``)."""
        _check_scope(scope)
        frames = []
        for q in quantities if quantities is not None else self.quantities:
            arr = self._core.own(q) if scope == "own" else self._core.rolled(q)
            n_units, n_months = arr.shape
            frames.append(pd.DataFrame({
                "unit_id": np.repeat(self.org.ids.to_numpy(dtype=object), n_months),
                "month": np.tile(np.arange(n_months), n_units),
                "quantity": q,
                "value": arr.reshape(-1),  # C order: unit-major, months within
            }))
        return pd.concat(frames, ignore_index=True)

    def summary(self, window: Window = None) -> pd.DataFrame:
        """Per node: expected admissions and confirmations over ``window`` (the first 12
        months by default, or the horizon if shorter), the stock of each stage at the
        window's end, the target and the expected shortfall against it."""
        first, last = window if window is not None else (0, min(12, self.horizon))
        frame = pd.DataFrame({"name": self.org.names, "kind": self.org.kinds})
        frame["admissions"] = self.mean("admissions", window=(first, last))
        frame["confirmations"] = self.mean("confirmations", window=(first, last))
        for stage in self.scenario.pipeline.stages:
            frame[f"{stage}_at_end"] = self.mean(stage, month=last)
        frame["target"] = self.scenario.targets.reindex(self.org.ids)
        frame["shortfall"] = (frame["target"] - frame["admissions"]).clip(lower=0)
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


def _check_scope(scope: str) -> None:
    if scope not in ("subtree", "own"):
        raise InputError(f"scope must be 'subtree' or 'own', got {scope!r}")
