"""Parameters learned from records, with partial pooling along the organisation tree.

The model and its equations: docs/estimation.md. In short, each unit's monthly rates
are drawn around its parent's (beta-binomial for probabilities, gamma-Poisson for
arrival rates), with a strength of pooling per level of the tree estimated from the
data, so that a rural cell with three candidates in five years borrows from its
commune and a large unit keeps its own rates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import _core
from .errors import InputError
from .exact import ExactForecast, interval_levels, level_name
from .forecast import Forecast, forecast, whole_number
from .records import CountTable, EventLog, MonthLike
from .scenario import Scenario, _month_text

__all__ = ["Fit", "estimate"]


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
    _core: object = field(default=None, repr=False, compare=False)

    def predict(self, horizon: int = 12, method: str = "exact", *, draws: int = 200, seed: int = 0,
                tolerance: float = 1e-12, seasonal: bool = False, **simulation) -> Forecast:
        """The forecast for the months after the window with the parameters' uncertainty
        and the year's drift in it (docs/estimation.md, "Predictive distribution"):
        ``draws`` parameter sets are drawn from the posterior and the drift
        (:func:`draw_parameters`, reproducible from ``seed``).

        ``method="exact"``: each node's pmf is the average of the exact engine's pmfs
        under each set, an exact mixture (the draws are a Monte Carlo sample of the
        parameters: their number sets that error, not the pmfs').
        ``method="expected"``: the means only. Both give, month by month, the mean over
        the sets of the expected engine's forecasts: the mixture's exact mean (not the
        forecast at the parameters' means, which ``mf.forecast(fit.scenario)`` gives).
        ``method="simulate"``: path i runs with set i mod ``draws`` (``paths``, default
        1000, and the other options of :func:`memberflow.forecast` pass through).
        ``seasonal=True`` (simulate only: the exact and expected engines take a constant
        monthly inflow): arrivals follow :attr:`seasonal` from the scenario's start month."""
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
            return forecast(self.scenario, horizon, "simulate", parameter_sets=sets, seed=seed, **simulation)
        if simulation:
            raise InputError(f"predict: {sorted(simulation)} apply to method='simulate' only")
        means = _core.forecast_expected_mixture(self.scenario._core, sets, horizon)
        if method == "expected":
            return Forecast(self.scenario, means, "expected")
        mixture = _core.ExactMixture(self.scenario._core, sets, horizon, tolerance)
        return ExactForecast(self.scenario, means, tolerance, engine=mixture)

    def to_files(self, directory) -> dict:
        """Writes the fitted scenario (:meth:`Scenario.to_files`) and the fit beside it
        (``fit.json``: each unit's posterior, the pooling, the drift, the seasonal
        profile; docs/estimation.md, "Files"), so that :meth:`Fit.read` gives the same
        predictive distribution to the bit. Returns the scenario's paths and ``fit``."""
        paths = self.scenario.to_files(directory)
        _core.write_fit(self._core, str(directory))
        return {**paths, "fit": Path(directory) / "fit.json"}

    @classmethod
    def read(cls, directory, *, level: float = 90) -> "Fit":
        """A fit written by :meth:`to_files` (or ``memberflow fit``): the scenario and the
        fit, checked against each other (docs/estimation.md, "Files")."""
        level = one_level(level)
        scenario = Scenario.read(directory)
        rates, core = _core.read_fit(scenario._core, str(directory), (1 - level / 100) / 2)
        return _fit_result(scenario, rates, core, core.first, core.last, level)

    def __repr__(self) -> str:
        return (f"<memberflow.Fit: {len(self.scenario.org)} units, {self.first} to {self.last}, "
                f"{self.rates.param.nunique()} parameters per unit>")


def estimate(log: EventLog, first: MonthLike | None = None, last: MonthLike | None = None, *,
             level: float = 90, drift: bool = True) -> Fit:
    """Fit every rate of the model from an event log, with partial pooling along the tree.

    ``first`` / ``last``: the months to fit; by default every whole year of the log up to
    its last month (12-month blocks counted back from ``last``, from the month the log
    is complete: :attr:`EventLog.complete_from`). Units are pooled over
    the whole window; the drift of the organisation's rates from year to year is fitted
    on its 12-month blocks (two or more; with ``drift=False``, or a shorter window, none)
    and carried into the scenario's parameters (the predictive means for the year after
    the window) and into :meth:`Fit.predict`.
    ``level``: the central posterior interval in ``rates``, in percent.

    >>> import memberflow as mf
    >>> h = mf.datasets.example_history()
    >>> log = mf.EventLog.from_frame(h.events, h.start)
    >>> fit = mf.estimate(log)
    >>> round(fit.scenario.start.year)
    2021
    """
    if isinstance(log, CountTable):  # aggregate counts: person-months reconstructed (estimate_counts.py)
        from .estimate_counts import estimate_counts
        return estimate_counts(log, first, last, level=level, drift=drift)
    if not isinstance(log, EventLog):
        raise TypeError(f"estimate: expected a memberflow.EventLog or CountTable, got {type(log).__name__}")
    level = one_level(level)
    last_text = log._core.last_month if last is None else _month_text(last)
    if first is None:
        span = pd.Period(last_text, freq="M") - pd.Period(log._core.complete_from, freq="M")
        years = max(1, (span.n + 1) // 12)
        first_text = str(pd.Period(last_text, freq="M") - (12 * years - 1))
    else:
        first_text = _month_text(first)
    after = pd.Period(last_text, freq="M") + 1
    scenario = Scenario(log.org, log.pipeline, start=after)
    # The stocks of log.snapshot(after), as an array: nationally the snapshot's 300,000
    # rows of text would take longer than the fit.
    scenario._core.stocks[:] = log._core.stocks_at(str(after))
    # The exposures stay in C++, in 12-month blocks (records.hpp): nationally a monthly
    # table would be 2.6 GB, and copied to numpy and back twice over.
    rates, core = _core.fit_event_log(scenario._core, log._core, first_text, last_text, (1 - level / 100) / 2,
                                      bool(drift))
    return _fit_result(scenario, rates, core, first_text, last_text, level)


def one_level(level) -> float:
    """The one interval level (in percent) of a fit's posterior intervals."""
    levels = interval_levels(level)
    if len(levels) != 1:
        raise InputError(f"estimate: give one interval level in percent (e.g. level=90), got {level!r}")
    return levels[0]


def _fit_exposures(scenario: Scenario, x: dict, first_text: str, last_text: str, level: float, drift: bool) -> Fit:
    """The fit of an exposure table (EventLog.exposures' arrays, or those reconstructed
    from counts) into `scenario`, whose parameters become the predictive means."""
    rates, core = _core.fit_exposures(scenario._core, x["start"], x["months"], list(x["at_risk"]),
                                      list(x["advanced"]), list(x["exited"]), list(x["completing"]),
                                      np.asarray(x["arrivals"]), np.asarray(x["transfers_in"]), (1 - level / 100) / 2,
                                      bool(drift))
    return _fit_result(scenario, rates, core, first_text, last_text, level)


def _fit_result(scenario: Scenario, rates: list[dict], core, first_text: str, last_text: str, level: float) -> Fit:
    scenario._core.validate()
    return Fit(scenario, _rates_frame(rates, scenario, level), _pooling_frame(rates), _drift_frame(rates),
               _seasonal_frame(core.seasonal((1 - level / 100) / 2), level),
               pd.Period(first_text, freq="M"), pd.Period(last_text, freq="M"), core)


def _rates_frame(rates: list[dict], source, level: float) -> pd.DataFrame:
    """``source``: what holds the organisation (a scenario, an event log, a count table)."""
    ids = np.asarray(source.org.ids, dtype=object)
    name = level_name(level)
    parts = [pd.DataFrame({"unit_id": ids, "stage": r["stage"], "param": r["param"], "events": r["events"],
                           "exposure": r["exposure"], "mle": r["mle"], "centre": r["centre"], "mean": r["mean"],
                           f"lo-{name}": r["lo"], f"hi-{name}": r["hi"], "predictive": r["predictive"]}) for r in rates]
    return pd.concat(parts, ignore_index=True)


def _drift_frame(rates: list[dict]) -> pd.DataFrame:
    rows = [(r["stage"], r["param"], "logit" if r["probability"] else "log", r["tau"], r["shift_mean"],
             float(np.sqrt(r["shift_var"])), list(r["drift_observed"])) for r in rates]
    return pd.DataFrame(rows, columns=["stage", "param", "scale", "tau", "shift_mean", "shift_sd", "yearly"])


def _seasonal_frame(s: dict, level: float) -> pd.DataFrame:
    name = level_name(level)
    months = range(1, 13) if s["factor"] else []
    return pd.DataFrame({"month": list(months), "arrivals": s["arrivals"], "factor": s["factor"],
                         f"lo-{name}": s["lo"], f"hi-{name}": s["hi"]})


def _pooling_frame(rates: list[dict]) -> pd.DataFrame:
    rows = [(r["stage"], r["param"], depth, kappa) for r in rates for depth, kappa in enumerate(r["kappa"])]
    return pd.DataFrame(rows, columns=["stage", "param", "depth", "kappa"])
