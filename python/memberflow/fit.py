"""The result of fitting the model to records (:class:`Fit`), shared by the fit of an
event log (:func:`memberflow.estimate`) and of aggregate counts
(:mod:`memberflow.estimate_counts`): its frames and its predictive forecasts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import pandas as pd

from . import _core
from ._checks import whole_number
from .distribution import interval_levels, level_name
from .errors import InputError
from .exact import ExactForecast
from .forecast import forecast
from .results import Forecast
from .scenario import Scenario
from .simulate import SimulationForecast
from .types import Level, Method, PathLike

__all__ = ["Fit", "one_level", "fit_exposures", "fit_result"]


@dataclass(frozen=True)
class Fit:
    """The result of :func:`estimate`.

    ``scenario``: the log's organisation and pipeline with every unit's parameters set to
    their posterior means, the stocks the log implies at the start of the month after
    the fitting window, and that month as its calendar start; ready for every engine
    and for :meth:`Scenario.to_files`.
    ``rates``: tidy, one row per unit, stage and parameter: the unit's own ``events``
    and ``exposure`` (trials, or months for arrival rates), ``mle`` (events / exposure),
    ``centre`` (the prior mean: the rest of its parent's subtree), the posterior
    ``mean`` and central interval ``lo-L`` / ``hi-L`` (the unit's rate over the window),
    and ``predictive``, the mean for the year after the window (moved by the drift; what
    the scenario holds). For markov stages, ``exit`` is
    the chance of leaving given not advancing (the scenario holds
    ``exit = q (1 - advance)``).
    ``pooling``: the strength of pooling ``kappa`` by parameter and depth (large: units
    of that level hardly differ).
    ``drift``: per stage and parameter, the year-to-year drift of the organisation's
    rate (docs/estimation.md, "Drift"): ``tau`` (the sd of a year's step on the logit
    or log scale, one for the organisation), the predictive shift of next year's rate
    from the window's (``shift_mean``, ``shift_sd``) and the observed yearly rates.
    ``seasonal``: the arrivals' seasonal profile, one per organisation, by calendar
    month: ``arrivals`` over the window, ``factor`` (12 x the month's share of a year's
    arrivals; mean 1) and its central interval; empty with a window under a year.
    ``first`` / ``last``: the months fitted.
    """

    scenario: Scenario
    rates: pd.DataFrame
    pooling: pd.DataFrame
    drift: pd.DataFrame
    seasonal: pd.DataFrame
    first: pd.Period
    last: pd.Period
    _core: _core.FitResult = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    @overload
    def predict(self, horizon: int = 12, method: Literal["exact"] = "exact", *, draws: int = 200, seed: int = 0,
                tolerance: float = 1e-12) -> ExactForecast: ...

    @overload
    def predict(self, horizon: int, method: Literal["expected"], *, draws: int = 200, seed: int = 0) -> Forecast: ...

    @overload
    def predict(self, horizon: int = 12, *, method: Literal["expected"], draws: int = 200,
                seed: int = 0) -> Forecast: ...

    @overload
    def predict(self, horizon: int, method: Literal["simulate"], *, draws: int = 200, seed: int = 0,
                seasonal: bool = False, **simulation: Any) -> SimulationForecast: ...

    @overload
    def predict(self, horizon: int = 12, *, method: Literal["simulate"], draws: int = 200, seed: int = 0,
                seasonal: bool = False, **simulation: Any) -> SimulationForecast: ...

    def predict(self, horizon: int = 12, method: Method = "exact", *, draws: int = 200, seed: int = 0,
                tolerance: float = 1e-12, seasonal: bool = False, **simulation: Any) -> Forecast:
        """The forecast for the months after the window with the parameters' uncertainty
        and the year's drift in it (docs/estimation.md, "Predictive distribution"):
        ``draws`` parameter sets are drawn from the posterior and the drift
        (C++ ``draw_parameters``, reproducible from ``seed``).

        ``method="exact"``: each node's pmf is the average of the exact engine's pmfs
        under each set, an exact mixture (the draws are a Monte Carlo sample of the
        parameters: their number sets that error, not the pmfs').
        ``method="expected"``: the means only. Both give, month by month, the mean over
        the sets of the expected engine's forecasts: the mixture's exact mean (not the
        forecast at the parameters' means, which ``mf.forecast(fit.scenario)`` gives).
        ``method="simulate"``: path i runs with set i mod ``draws`` (``paths``, default
        1000, and the other options of :func:`memberflow.forecast` pass through).
        ``seasonal=True`` (simulate only: the exact and expected engines take a constant
        monthly inflow): arrivals follow ``fit.seasonal`` from the scenario's start month."""
        if method not in ("exact", "expected", "simulate"):
            raise InputError(f"predict: method must be 'exact', 'simulate' or 'expected', got {method!r}")
        if seasonal:
            if method != "simulate":
                raise InputError("predict: seasonal=True needs method='simulate' (the exact and expected engines "
                                 "take a constant monthly inflow)")
            if self.seasonal.empty:
                raise InputError("predict: the fit has no seasonal profile (its window is under a year, or has no "
                                 "arrivals)")
            simulation["inflow_profile"] = self._core.profile(str(self.scenario.start))
        horizon = whole_number("horizon", horizon, 1)
        sets = self._core.draw(draws, seed)
        if method == "simulate":
            simulated: SimulationForecast = forecast(self.scenario, horizon, "simulate", parameter_sets=sets, seed=seed,
                                                     **simulation)
            return simulated
        if simulation:
            raise InputError(f"predict: {sorted(simulation)} apply to method='simulate' only")
        means = _core.forecast_expected_mixture(self.scenario._core, sets, horizon)
        if method == "expected":
            return Forecast(self.scenario, means, "expected")
        mixture = _core.ExactMixture(self.scenario._core, sets, horizon, tolerance)
        return ExactForecast(self.scenario, means, tolerance, engine=mixture)

    def to_files(self, directory: PathLike) -> dict[str, Path]:
        """Writes the fitted scenario (:meth:`Scenario.to_files`) and the fit beside it
        (``fit.json``: each unit's posterior, the pooling, the drift, the seasonal
        profile; docs/estimation.md, "Files"), so that :meth:`Fit.read` gives the same
        predictive distribution to the bit. Returns the scenario's paths and ``fit``."""
        paths = self.scenario.to_files(directory)
        _core.write_fit(self._core, str(directory))
        return {**paths, "fit": Path(directory) / "fit.json"}

    @classmethod
    def read(cls, directory: PathLike, *, level: float = 90) -> "Fit":
        """A fit written by :meth:`to_files` (or ``memberflow fit``): the scenario and the
        fit, checked against each other (docs/estimation.md, "Files")."""
        level = one_level(level)
        scenario = Scenario.read(directory)
        rates, core = _core.read_fit(scenario._core, str(directory), (1 - level / 100) / 2)
        return fit_result(scenario, rates, core, core.first, core.last, level)

    def __repr__(self) -> str:
        return (f"<memberflow.Fit: {len(self.scenario.org)} units, {self.first} to {self.last}, "
                f"{self.rates.param.nunique()} parameters per unit>")


def one_level(level: Level) -> float:
    """The one interval level (in percent) of a fit's posterior intervals."""
    levels = interval_levels(level)
    if len(levels) != 1:
        raise InputError(f"estimate: give one interval level in percent (e.g. level=90), got {level!r}")
    return levels[0]


def fit_exposures(scenario: Scenario, x: dict[str, Any], first_text: str, last_text: str, level: float, drift: bool) -> Fit:
    """The fit of an exposure table (EventLog.exposures' arrays, or those reconstructed
    from counts) into `scenario`, whose parameters become the predictive means."""
    rates, core = _core.fit_exposures(scenario._core, x["start"], x["months"], list(x["at_risk"]),
                                      list(x["advanced"]), list(x["exited"]), list(x["completing"]),
                                      np.asarray(x["arrivals"]), np.asarray(x["transfers_in"]), (1 - level / 100) / 2,
                                      bool(drift))
    return fit_result(scenario, rates, core, first_text, last_text, level)


def fit_result(scenario: Scenario, rates: list[dict[str, Any]], core: _core.FitResult, first_text: str, last_text: str, level: float) -> Fit:
    scenario._core.validate()
    return Fit(scenario, _rates_frame(rates, scenario, level), _pooling_frame(rates), _drift_frame(rates),
               _seasonal_frame(core.seasonal((1 - level / 100) / 2), level),
               pd.Period(first_text, freq="M"), pd.Period(last_text, freq="M"), core)


def _rates_frame(rates: list[dict[str, Any]], source: Any, level: float) -> pd.DataFrame:
    """``source``: what holds the organisation (a scenario, an event log, a count table)."""
    ids = np.asarray(source.org.ids, dtype=object)
    name = level_name(level)
    parts = [pd.DataFrame({"unit_id": ids, "stage": r["stage"], "param": r["param"], "events": r["events"],
                           "exposure": r["exposure"], "mle": r["mle"], "centre": r["centre"], "mean": r["mean"],
                           f"lo-{name}": r["lo"], f"hi-{name}": r["hi"], "predictive": r["predictive"]}) for r in rates]
    return pd.concat(parts, ignore_index=True)


def _drift_frame(rates: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [(r["stage"], r["param"], "logit" if r["probability"] else "log", r["tau"], r["shift_mean"],
             float(np.sqrt(r["shift_var"])), list(r["drift_observed"])) for r in rates]
    return pd.DataFrame(rows, columns=["stage", "param", "scale", "tau", "shift_mean", "shift_sd", "yearly"])


def _seasonal_frame(s: dict[str, Any], level: float) -> pd.DataFrame:
    name = level_name(level)
    months = range(1, 13) if s["factor"] else []
    return pd.DataFrame({"month": list(months), "arrivals": s["arrivals"], "factor": s["factor"],
                         f"lo-{name}": s["lo"], f"hi-{name}": s["hi"]})


def _pooling_frame(rates: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [(r["stage"], r["param"], depth, kappa) for r in rates for depth, kappa in enumerate(r["kappa"])]
    return pd.DataFrame(rows, columns=["stage", "param", "depth", "kappa"])
