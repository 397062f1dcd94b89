"""Monte Carlo forecasts with policies that break the model's independence.

``forecast(scn, horizon, method="simulate", paths=..., seed=..., threads=...)`` runs the
model path by path in C++ (without the GIL), summarising as it goes: monthly means of
every quantity for every unit, and the distribution of tracked counts at every node.
The same seed gives the same bits whatever the number of threads.

Policies (see ``include/memberflow/simulate.hpp`` for their exact semantics):

- ``inflow_profile=[f0, f1, ...]``: arrivals in month t are scaled by f[t mod len].
- ``uncertainty=[{"scope", "stage", "param", "distribution": "beta"|"gamma", "a", "b"}]``:
  each path draws the parameter once per entry.
- ``parameter_sets``: parameter sets drawn from a fit's predictive distribution; path
  i runs with set i mod their number (:meth:`memberflow.Fit.predict` passes them).
- ``course={"seats": 15, "months": [2, 5, 8, 11]}``: training completes only at
  sessions, with a cap on seats across the organisation.
- ``target_rule={"stop_when_met": True, "margin": 1, "advance_boost": 0.05,
  "pass_penalty": 0.1}``: units stop admitting once their node's yearly target is met,
  and lower the bar when behind at a quarter's end.

``progress``: ``True`` for a tqdm bar, ``False`` for none, ``None`` (default) for a bar
when interactive (a notebook, or standard error is a terminal); the bar opens at the
engine's first report, after every argument has been checked. Or a callable
``progress(done, total)``, called about ten times a second with the paths done and
once more with ``done == total`` at the end (an exception it raises stops the run, as
Ctrl-C does).

``paths``, ``seed`` and ``threads`` are ints: 100.0 or "100" is refused, not truncated.

The options are also one typed object, :class:`memberflow.SimulationOptions` (its
policies :class:`~memberflow.CoursePolicy`, :class:`~memberflow.TargetRule`,
:class:`~memberflow.ParameterDraw`), with the C++ engine's defaults:
``forecast(scn, h, method="simulate", options=SimulationOptions(paths=..., ...))``;
keywords given beside ``options`` override it. A misspelt keyword is refused at the
call (Python's TypeError, and type checkers flag it). ``client=`` (a ``dask.distributed.Client`` or
``"local"``) spreads batches of paths over a Dask cluster, with the same bits
(:mod:`memberflow.scale_out`, docs/scale-out.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from ._checks import check_names
from ._progress_bar import reporter
from .distribution import DistributionMethods, Distributions, Key, distribution_key, key_first_day, key_label
from .errors import InputError
from .frames import label_column, unit_column
from .options import SimulationOptions
from .scenario import Scenario
from .types import Quantity, Window

__all__ = ["SimulationForecast", "SimulationOptions", "simulate_in_process", "simulation_options", "DRIVER_KEYWORDS"]

class SimulationForecast(DistributionMethods):
    """The result of ``forecast(..., method="simulate")``.

    Means (``mean``, ``monthly``, ``to_frame``, ``summary``) are averages over paths.
    Distributions are the empirical ones of the tracked quantities (by default:
    admissions and confirmations over the horizon, the first year and each quarter,
    and each stage's stock at the horizon; pass ``track=`` for others).
    """

    def __init__(self, scenario: Scenario, result: _core.SimulationResult, seed: int):
        super().__init__(scenario, result.means, "simulate")
        self.paths: int = result.path_count
        self.seed = seed
        self._result = result
        self._tracked: dict[Key, int] = {}
        for i, (q, first, last) in enumerate(result.tracked):
            is_stock = first == last and q in scenario.pipeline.stages
            self._tracked[(q, first) if is_stock else (q, first, last)] = i
        self._cache: dict[Key, Distributions] = {}

    @property
    def tracked(self) -> list[Key]:
        """(quantity, month) for stocks and (quantity, first, last) for events."""
        return list(self._tracked)

    def _index(self, quantity: Quantity, window: Window, month: int | None) -> Key:
        key = distribution_key(self, quantity, window, month)
        if key not in self._tracked:
            raise InputError(f"{key} was not tracked in this simulation; tracked: {self.tracked} "
                             f"(pass track=[...] to forecast)")
        return key

    def distribution(self, quantity: Quantity, window: Window = None, month: int | None = None) -> Distributions:
        """The empirical distribution of a tracked count at every node."""
        key = self._index(quantity, window, month)
        if key not in self._cache:
            self._cache[key] = Distributions(self.org, quantity, key_label(key),
                                             self._result.distribution(self._tracked[key]), key_first_day(self, key))
        return self._cache[key]

    def path_values(self, quantity: str, window: Window = None, month: int | None = None) -> np.ndarray:
        """Paths x nodes of a tracked count (subtree totals); needs ``keep_paths=True``."""
        return self._result.paths(self._tracked[self._index(quantity, window, month)])

    def paths_frame(self, quantity: str, window: Window = None, month: int | None = None) -> pd.DataFrame:
        """Long frame: path, unit_id, quantity, value (needs ``keep_paths=True``); with a
        calendar, ``ds`` after ``unit_id``: the first day of the window (of the stock's month)."""
        values = self.path_values(quantity, window, month)
        n_paths, n_nodes = values.shape
        frame = pd.DataFrame({"path": np.repeat(np.arange(n_paths), n_nodes),
                              "unit_id": unit_column(self.org.ids, np.tile(np.arange(n_nodes, dtype=np.int32), n_paths)),
                              "quantity": label_column([quantity], 0, n_paths * n_nodes), "value": values.reshape(-1)})
        ds = key_first_day(self, distribution_key(self, quantity, window, month))
        if ds is not None:
            frame.insert(2, "ds", ds)
        return frame

    def __repr__(self) -> str:
        root = self.org.root
        return (f"<memberflow.Forecast (simulate, {self.paths} paths, seed {self.seed}): {len(self.org)} units, "
                f"{self.horizon} months; mean admissions at '{root}': {self.mean('admissions')[root]:.1f}>")


#: The keywords of ``forecast(..., method="simulate")`` besides the options' own:
#: ``options`` (a SimulationOptions), ``client`` and ``batch_size`` (scale-out).
DRIVER_KEYWORDS = ("options", "client", "batch_size")


def simulation_options(options: SimulationOptions | None, keywords: Mapping[str, Any], where: str = "forecast",
                       extra: Sequence[str] = ()) -> SimulationOptions:
    """The options of a call: ``options`` (or the defaults) with the keywords given beside
    it; a keyword that is neither an option nor in ``extra`` is refused, naming it and
    the valid ones."""
    check_names(where, keywords, SimulationOptions._fields + tuple(extra))
    if options is None:
        return SimulationOptions(**keywords)
    if not isinstance(options, SimulationOptions):
        raise InputError(f"{where}: options must be a memberflow.SimulationOptions, got {type(options).__name__}")
    return options.replace(**keywords) if keywords else options


def simulate_in_process(scenario: Scenario, horizon: int, opts: SimulationOptions) -> SimulationForecast:
    """forecast(method="simulate") in this process."""
    report, bar = reporter(opts.progress)
    try:
        result = _core.simulate(scenario._core, horizon, opts._to_core(), report)
    finally:
        bar.close()
    return SimulationForecast(scenario, result, opts.seed)
