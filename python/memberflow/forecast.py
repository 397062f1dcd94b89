"""Forecasts of the membership pipeline, per unit and for every node above it:
:func:`forecast` checks the call and hands it to the engine the method names. The
results live below it: :mod:`memberflow.results` (expected values),
:mod:`memberflow.exact`, :mod:`memberflow.simulate` and :mod:`memberflow.scale_out`."""

from __future__ import annotations

from typing import Any

from . import _core
from ._checks import INT_MAX, check_names, whole_number
from .errors import InputError, ParameterError
from .exact import exact_forecast
from .options import SimulationOptions
from .results import YEAR, Forecast
from .scale_out import simulate_distributed
from .scenario import Scenario
from .simulate import DRIVER_KEYWORDS, SimulationForecast, simulate_in_process, simulation_options

__all__ = ["forecast", "Forecast", "METHODS", "YEAR"]

METHODS = ("expected", "exact", "simulate")


def forecast(scenario: Scenario, horizon: int = 12, method: str = "expected", *,
             threads: int | None = None, tolerance: float = 1e-12, **simulation) -> Forecast:
    """Forecast a scenario ``horizon`` months ahead.

    ``method="exact"`` adds the full distribution of every count at every node
    (:class:`memberflow.exact.ExactForecast`): probabilities of meeting targets,
    quantiles, intervals; ``tolerance`` bounds the mass each pmf may drop from its tails.

    ``method="simulate"`` runs the Monte Carlo engine (docs/simulation.md) with
    ``options=SimulationOptions(...)`` or its keywords (``paths``, ``seed``,
    ``keep_paths``, ``track``, ``progress`` and the policies ``inflow_profile``,
    ``uncertainty``, ``course``, ``target_rule``; keywords override ``options``), in this
    process or over a Dask cluster with ``client=`` (docs/scale-out.md, the
    same bits). A keyword that is none of these is refused, naming the valid ones.

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
    if simulation:
        check_names("forecast", simulation, ("tolerance",) + SimulationOptions._fields + DRIVER_KEYWORDS)
        if method != "simulate":
            raise InputError(f"{sorted(simulation)} apply to method='simulate' only")
    horizon = whole_number("horizon", horizon, high=INT_MAX)  # the engines check horizon >= 1
    if method == "simulate":  # the options (threads too) are checked as SimulationOptions
        return _simulate(scenario, horizon, threads=threads, **simulation)
    threads = 0 if threads is None else whole_number("threads", threads, low=0, high=INT_MAX)
    expected = _core.forecast_expected(scenario._core, horizon, threads)
    if method == "exact":
        return exact_forecast(scenario, expected, float(tolerance))
    return Forecast(scenario, expected, method)


def _simulate(scenario: Scenario, horizon: int, *, options: SimulationOptions | None = None, client: Any = None,
              batch_size: int | None = None, **keywords) -> SimulationForecast:
    """method="simulate": in this process, or spread over a Dask client."""
    opts = simulation_options(options, {k: v for k, v in keywords.items() if k != "threads" or v is not None})
    if client is not None:
        return simulate_distributed(scenario, horizon, opts, client, batch_size)
    if batch_size is not None:
        raise InputError("batch_size applies to a run spread over a Dask client (client=...)")
    return simulate_in_process(scenario, horizon, opts)
