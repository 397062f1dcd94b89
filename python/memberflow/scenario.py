"""A scenario: organisation, pipeline, per-unit parameters, current stocks, targets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Union

import numpy as np
import pandas as pd

from . import _core
from ._tables import columns_frame, frame_columns
from .org import Org
from .pipeline import Pipeline

__all__ = ["Scenario"]

PathLike = Union[str, "os.PathLike[str]"]
TableLike = Union[pd.DataFrame, PathLike]


class Scenario:
    """Everything a forecast needs.

    Parameters
    ----------
    org : Org
    pipeline : Pipeline, optional
        Defaults to :meth:`Pipeline.party`.
    stocks : DataFrame or CSV path, optional
        Who is where now: ``unit_id, stage, count`` and, for fixed-duration stages,
        ``months_in_stage`` (0 .. months-1). Units and stages not listed hold nobody.
    params : DataFrame or CSV path, optional
        Overrides of the stage defaults: ``scope, stage, param, value`` where scope is
        ``*`` (every unit), ``kind:<kind>`` or a unit id; the more specific scope wins.
        Params: advance, exit, pass_rate, attrition, inflow (first stage, people a
        month), transfer_in (terminal stage, people a month).
    targets : mapping, Series, DataFrame (``unit_id, target``) or CSV path, optional
        Admissions wanted over the year per node (its whole subtree).

    Errors name the file and line (or DataFrame row) and what is wrong.
    """

    def __init__(self, org: Org, pipeline: Pipeline | None = None, *, stocks: TableLike | None = None,
                 params: TableLike | None = None, targets: Mapping[str, float] | pd.Series | TableLike | None = None):
        pipeline = pipeline if pipeline is not None else Pipeline.party()
        core = _core.Scenario(org._core, pipeline._core)
        if params is not None:
            _load(params, "params", core.apply_params_csv, core.apply_params_columns)
        if stocks is not None:
            _load(stocks, "stocks", core.set_stocks_csv, core.set_stocks_columns)
        if targets is not None:
            if isinstance(targets, Mapping) or isinstance(targets, pd.Series):
                series = pd.Series(targets, dtype=float)
                targets = pd.DataFrame({"unit_id": series.index.astype(str), "target": series.to_numpy()})
            _load(targets, "targets", core.set_targets_csv, core.set_targets_columns)
        core.validate()
        self._init(core, org, pipeline)

    def _init(self, core: _core.Scenario, org: Org, pipeline: Pipeline) -> None:
        self._core = core
        self._org = org
        self._pipeline = pipeline

    @classmethod
    def _wrap(cls, core: _core.Scenario) -> Scenario:
        obj = cls.__new__(cls)
        obj._init(core, Org(core.org), Pipeline._wrap(core.pipeline))
        return obj

    @classmethod
    def from_files(cls, units: PathLike, *, params: PathLike | None = None, stocks: PathLike | None = None,
                   targets: PathLike | None = None, overseers: PathLike | None = None,
                   pipeline: Pipeline | None = None) -> Scenario:
        """Read a scenario from CSV files (units may also be a .json organisation)."""
        org = Org.from_json(units) if os.fspath(units).endswith(".json") else Org.from_csv(units, overseers)
        if overseers is not None and os.fspath(units).endswith(".json"):
            org._core.read_overseers_csv(os.fspath(overseers))
        return cls(org, pipeline, params=params, stocks=stocks, targets=targets)

    def to_files(self, directory: PathLike) -> dict[str, Path]:
        """Write units.csv, overseers.csv, params.csv, stocks.csv and targets.csv into
        ``directory`` (created if needed); :meth:`from_files` reads them back."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        paths = {name: d / f"{name}.csv" for name in ("units", "overseers", "params", "stocks", "targets")}
        self.org.to_csv(paths["units"])
        self.org.overseers_frame().to_csv(paths["overseers"], index=False)
        self._core.write_csv(str(paths["params"]), str(paths["stocks"]), str(paths["targets"]))
        return paths

    # -- parts --------------------------------------------------------------------------
    @property
    def org(self) -> Org:
        return self._org

    @property
    def pipeline(self) -> Pipeline:
        return self._pipeline

    @property
    def stocks(self) -> pd.DataFrame:
        """Current stocks: unit_id, stage, count, months_in_stage (fixed stages only)."""
        frame = columns_frame(self._core.stocks_columns())
        frame["count"] = frame["count"].astype(float).astype("int64")
        frame["months_in_stage"] = pd.to_numeric(frame["months_in_stage"].replace("", None)).astype("Int64")
        return frame

    def stock_totals(self) -> pd.DataFrame:
        """People per unit (rows) and stage (columns), each unit's own."""
        arr = self._core.stocks
        pipe = self._core.pipeline
        data = {s.name: arr[:, pipe.offset(i):pipe.offset(i) + pipe.width(i)].sum(axis=1)
                for i, s in enumerate(pipe.stages)}
        return pd.DataFrame(data, index=self.org.ids)

    @property
    def params(self) -> pd.DataFrame:
        """The per-unit parameters that differ from the stage defaults, one row per
        (unit, stage, param): scope, stage, param, value."""
        frame = columns_frame(self._core.params_columns())
        frame["value"] = frame["value"].astype(float)
        return frame

    def param(self, name: str) -> pd.DataFrame | pd.Series:
        """One parameter for every unit: units x stages (inflow, transfer_in: a Series)."""
        arr = np.array(self._core.param_array(name))
        if arr.ndim == 1:
            return pd.Series(arr, index=self.org.ids, name=name)
        return pd.DataFrame(arr, index=self.org.ids, columns=self.pipeline.stages)

    @property
    def targets(self) -> pd.Series:
        """Targets of the nodes that have one (admissions over the year, subtree)."""
        t = pd.Series(np.array(self._core.targets), index=self.org.ids, name="target")
        return t.dropna()

    # -- display ----------------------------------------------------------------------
    def __repr__(self) -> str:
        totals = self.stock_totals().sum()
        people = ", ".join(f"{k} {int(v)}" for k, v in totals.items())
        return f"<memberflow.Scenario: {len(self.org)} units; {people}; {len(self.targets)} targets>"

    def _repr_html_(self) -> str:
        totals = self.stock_totals().sum().rename("people").to_frame().T
        return (f"<p><b>memberflow.Scenario</b>: {len(self.org)} units, pipeline "
                f"{' &rarr; '.join(self.pipeline.stages)}, {len(self.targets)} targets</p>"
                + totals.to_html(float_format=lambda v: f"{v:,.0f}"))


def _load(table: TableLike, what: str, from_csv, from_columns) -> None:
    if isinstance(table, pd.DataFrame):
        from_columns(f"{what} DataFrame", *frame_columns(table, what))
    elif isinstance(table, (str, os.PathLike)):
        from_csv(os.fspath(table))
    else:
        raise TypeError(f"{what}: expected a DataFrame or a CSV path, got {type(table).__name__}")
