"""Exact forecast distributions: the full pmf of a count at every node.

Under the model's independence assumption each unit's count (admissions over a
window, a stage's stock at a month, ...) is a sum of binomials and a Poisson, and a
node's count the sum over its subtree: memberflow computes its distribution exactly,
up to a stated tail mass (default at most 1e-12 per node), instead of simulating it.
"""

from __future__ import annotations

import math

from . import _core
from .distribution import (DistributionMethods, Distributions, Key, distribution_key, interval_levels, key_first_day,
                           key_label)
from .errors import InputError
from .scenario import Scenario
from .types import Quantity, Window

# Distributions and the interval helpers live in memberflow.distributions; named here too
# because this is where they were first documented.
__all__ = ["Distributions", "ExactForecast", "exact_forecast", "interval_levels"]



class ExactForecast(DistributionMethods):
    """The result of ``forecast(..., method="exact")``: everything a
    :class:`Forecast` gives (exact means month by month), plus the full distribution of
    any event over any window and of any stage's stock at any month, for every node.

    >>> import memberflow as mf
    >>> fc = mf.forecast(mf.datasets.example_district(), 12, method="exact")
    >>> p = fc.prob_at_least("admissions", 80, unit="D")
    >>> 0 < p < 1
    True
    """

    def __init__(self, scenario: Scenario, expected: _core.ForecastResult, tolerance: float,
                 engine: _core.ExactForecast | _core.ExactMixture | None = None):
        """``engine``: what computes the pmfs; by default the exact engine at the
        scenario's parameters (``Fit.draws_forecast`` gives its predictive mixture)."""
        super().__init__(scenario, expected, "exact")
        self.tolerance = tolerance
        #: True for a fit's predictive forecast (:meth:`Fit.predict`): the pmfs mix the
        #: forecasts under parameter sets drawn from the posterior, not one set's.
        self.predictive: bool = isinstance(engine, _core.ExactMixture)
        self._exact = engine if engine is not None else _core.ExactForecast(scenario._core, expected.horizon, tolerance)
        self._cache: dict[Key, Distributions] = {}

    def distribution(self, quantity: Quantity, window: Window = None, month: int | None = None) -> Distributions:
        """Distributions of ``quantity`` for every node: an event over ``window`` (the
        whole horizon by default) or a stage's stock at ``month`` (default: the horizon)."""
        key = distribution_key(self, quantity, window, month)
        if key not in self._cache:
            if len(key) == 2:
                flat = self._exact.stock(quantity, key[1])
            else:
                flat = self._exact.events(quantity, key[1], key[2])
            self._cache[key] = Distributions(self.org, quantity, key_label(key), flat, key_first_day(self, key))
        return self._cache[key]


def exact_forecast(scenario: Scenario, expected: _core.ForecastResult, tolerance: float) -> ExactForecast:
    """forecast(method="exact") from the expected engine's result: ``tolerance`` checked."""
    if not (0 < tolerance < 1) or math.isnan(tolerance):
        raise InputError(f"tolerance must be in (0, 1), got {tolerance}")
    return ExactForecast(scenario, expected, tolerance)
