"""Forecasts of the membership pipeline, per unit and for every node above it:
:func:`forecast` checks the call and hands it to the engine the method names. The
results live below it: :mod:`memberflow.results` (expected values),
:mod:`memberflow.exact`, :mod:`memberflow.simulate` and :mod:`memberflow.scale_out`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, overload

import pandas as pd

from . import _core
from ._checks import INT_MAX, whole_number
from .errors import InputError, ParameterError
from .exact import ExactForecast, exact_forecast
from .options import CoursePolicy, ParameterDraw, SimulationOptions, TargetRule
from .results import YEAR, Forecast
from .scale_out import simulate_distributed
from .scenario import Scenario
from .simulate import SimulationForecast, simulate_in_process, simulation_options
from .types import Method, ProgressOption, Regime, Track

__all__ = ["forecast", "Forecast", "METHODS", "YEAR"]

METHODS: tuple[Method, ...] = ("expected", "exact", "simulate")

Uncertainty = Sequence[ParameterDraw | Mapping[str, Any]] | pd.DataFrame | None
Course = CoursePolicy | Mapping[str, Any] | None
Rule = TargetRule | Mapping[str, Any] | None


@overload
def forecast(scenario: Scenario, horizon: int = 12, method: Literal["expected"] = "expected", *,
             threads: int | None = None) -> Forecast: ...


@overload
def forecast(scenario: Scenario, horizon: int, method: Literal["exact"], *, threads: int | None = None,
             tolerance: float = 1e-12) -> ExactForecast: ...


@overload
def forecast(scenario: Scenario, horizon: int = 12, *, method: Literal["exact"], threads: int | None = None,
             tolerance: float = 1e-12) -> ExactForecast: ...


@overload
def forecast(scenario: Scenario, horizon: int, method: Literal["simulate"], *, threads: int | None = None,
             options: SimulationOptions | None = None, paths: int | None = None, seed: int | None = None,
             first_path: int | None = None, regime: Regime | None = None, keep_paths: bool | None = None,
             track: Track | None = None, inflow_profile: Sequence[float] | None = None,
             uncertainty: Uncertainty = None, parameter_sets: _core.ParameterDraws | None = None,
             course: Course = None, target_rule: Rule = None, progress: ProgressOption = None,
             client: Any = None, batch_size: int | None = None) -> SimulationForecast: ...


@overload
def forecast(scenario: Scenario, horizon: int = 12, *, method: Literal["simulate"], threads: int | None = None,
             options: SimulationOptions | None = None, paths: int | None = None, seed: int | None = None,
             first_path: int | None = None, regime: Regime | None = None, keep_paths: bool | None = None,
             track: Track | None = None, inflow_profile: Sequence[float] | None = None,
             uncertainty: Uncertainty = None, parameter_sets: _core.ParameterDraws | None = None,
             course: Course = None, target_rule: Rule = None, progress: ProgressOption = None,
             client: Any = None, batch_size: int | None = None) -> SimulationForecast: ...


def forecast(scenario: Scenario, horizon: int = 12, method: Method = "expected", *, threads: int | None = None,
             tolerance: float | None = None, options: SimulationOptions | None = None, paths: int | None = None,
             seed: int | None = None, first_path: int | None = None, regime: Regime | None = None,
             keep_paths: bool | None = None, track: Track | None = None,
             inflow_profile: Sequence[float] | None = None, uncertainty: Uncertainty = None,
             parameter_sets: _core.ParameterDraws | None = None, course: Course = None, target_rule: Rule = None,
             progress: ProgressOption = None, client: Any = None, batch_size: int | None = None) -> Forecast:
    """Forecast a scenario ``horizon`` months ahead.

    ``method="exact"`` adds the full distribution of every count at every node
    (:class:`memberflow.ExactForecast`): probabilities of meeting targets,
    quantiles, intervals; ``tolerance`` bounds the mass each pmf may drop from its tails.

    ``method="simulate"`` runs the Monte Carlo engine (docs/simulation.md) with
    ``options=SimulationOptions(...)`` or its keywords, the fields of
    :class:`~memberflow.SimulationOptions` (``paths``, ``seed``, ``first_path``,
    ``regime``, ``keep_paths``, ``track``, ``progress`` and the policies
    ``inflow_profile``, ``uncertainty``, ``parameter_sets``, ``course``,
    ``target_rule``): a keyword given (not None) overrides ``options``. In this process,
    or over a Dask cluster with ``client=`` (docs/scale-out.md, the same bits;
    ``batch_size`` paths a batch). The simulation's keywords with another method are
    refused.

    The return type follows ``method``: :class:`~memberflow.Forecast`,
    :class:`~memberflow.ExactForecast` or :class:`~memberflow.SimulationForecast`
    (type checkers know which from the literal).

    ``horizon`` and ``threads`` are whole numbers (``int``): 12.5, 12.0, True and "12"
    are refused, not truncated.

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
    keywords = {"paths": paths, "seed": seed, "first_path": first_path, "regime": regime, "keep_paths": keep_paths,
                "track": track, "inflow_profile": inflow_profile, "uncertainty": uncertainty,
                "parameter_sets": parameter_sets, "course": course, "target_rule": target_rule, "progress": progress}
    simulation = {k: v for k, v in keywords.items() if v is not None}
    driver = {k: v for k, v in (("options", options), ("client", client), ("batch_size", batch_size)) if v is not None}
    if method != "simulate" and (simulation or driver):
        raise InputError(f"{sorted(simulation) + sorted(driver)} apply to method='simulate' only")
    if method != "exact" and tolerance is not None:
        raise InputError("tolerance applies to method='exact' only")
    horizon = whole_number("horizon", horizon, high=INT_MAX)  # the engines check horizon >= 1
    if method == "simulate":  # the options (threads too) are checked as SimulationOptions
        if threads is not None:
            simulation["threads"] = threads
        return _simulate(scenario, horizon, options, simulation, client, batch_size)
    threads = 0 if threads is None else whole_number("threads", threads, low=0, high=INT_MAX)
    expected = _core.forecast_expected(scenario._core, horizon, threads)
    if method == "exact":
        return exact_forecast(scenario, expected, 1e-12 if tolerance is None else float(tolerance))
    return Forecast(scenario, expected, method)


def _simulate(scenario: Scenario, horizon: int, options: SimulationOptions | None, keywords: dict[str, Any],
              client: Any, batch_size: int | None) -> SimulationForecast:
    """method="simulate": in this process, or spread over a Dask client."""
    opts = simulation_options(options, keywords)
    if client is not None:
        return simulate_distributed(scenario, horizon, opts, client, batch_size)
    if batch_size is not None:
        raise InputError("batch_size applies to a run spread over a Dask client (client=...)")
    return simulate_in_process(scenario, horizon, opts)
