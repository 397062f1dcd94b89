"""A scenario: organisation, pipeline, per-unit parameters, current stocks, targets."""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Union, overload

import numpy as np
import pandas as pd

from . import _core
from ._checks import month_text
from ._tables import columns_frame, load_table
from .errors import InputError
from .org import Org
from .pipeline import Pipeline

__all__ = ["Scenario", "ParameterWarning", "MANIFEST"]

#: The manifest file of a scenario directory (see :meth:`Scenario.read`).
MANIFEST = "scenario.json"


class ParameterWarning(UserWarning):
    """A parameter row that changes nothing: more specific rows of the same table set
    the parameter for every unit it covers. The message names both rows."""

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
    start : str or pandas.Period, optional
        The calendar month of month 0 (``"2021-01"``); forecasts then carry real dates.

    Notes
    -----
    Errors name the file and line (or DataFrame row) and what is wrong. A parameter row
    that changes nothing (shadowed by more specific rows) gives a :class:`ParameterWarning`.
    """

    def __init__(self, org: Org, pipeline: Pipeline | None = None, *, stocks: TableLike | None = None,
                 params: TableLike | None = None, targets: Mapping[str, float] | pd.Series | TableLike | None = None,
                 start: str | pd.Period | None = None):
        pipeline = pipeline if pipeline is not None else Pipeline.party()
        core = _core.Scenario(org._core, pipeline._core)
        if params is not None:
            _warn(load_table(params, "params", core.apply_params_csv, core.apply_params_columns))
        if stocks is not None:
            load_table(stocks, "stocks", core.set_stocks_csv, core.set_stocks_columns)
        if targets is not None:
            if isinstance(targets, (Mapping, pd.Series)):
                # As text, so that the core parses each value and names the unit of a bad one.
                items = list(targets.items())
                targets = pd.DataFrame({"unit_id": pd.Series([k for k, _ in items], dtype=object),
                                        "target": pd.Series([v for _, v in items], dtype=object)})
            load_table(targets, "targets", core.set_targets_csv, core.set_targets_columns)
        core.start = month_text(start)
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
    def read(cls, path: PathLike, *, units: PathLike | None = None, overseers: PathLike | None = None,
             params: PathLike | None = None, stocks: PathLike | None = None,
             targets: PathLike | None = None) -> Scenario:
        """Read a scenario directory (or its ``scenario.json`` manifest), as written by
        :meth:`to_files` or ``memberflow example DIR``.

        The manifest holds the pipeline (stages, durations, default parameters) and
        names the CSV files; see docs/scenario-files.md. A file given here replaces the
        one the manifest names.
        """
        core, notes = _core.Scenario.read_dir(
            os.fspath(path), **{k: "" if v is None else os.fspath(v) for k, v in
                                dict(units=units, overseers=overseers, params=params, stocks=stocks,
                                     targets=targets).items()})
        _warn(notes)
        return cls._wrap(core)

    @classmethod
    def from_files(cls, units: PathLike, *, params: PathLike | None = None, stocks: PathLike | None = None,
                   targets: PathLike | None = None, overseers: PathLike | None = None,
                   pipeline: Pipeline | PathLike | None = None) -> Scenario:
        """Read a scenario from loose CSV files (units may also be a .json organisation).

        Loose files do not hold the pipeline, so give it: a :class:`Pipeline`, the path
        of a pipeline JSON file, or ``Pipeline.party()`` for the preset. A scenario
        directory (with its manifest) is read by :meth:`read`, which this calls when
        ``units`` is a directory or a manifest.
        """
        if os.path.isdir(units) or os.fspath(units).endswith(MANIFEST):
            if pipeline is not None:
                raise InputError(f"{os.fspath(units)}: a scenario directory carries its own pipeline; "
                                 "do not pass pipeline=")
            return cls.read(units, params=params, stocks=stocks, targets=targets, overseers=overseers)
        if pipeline is None:
            raise InputError(f"{os.fspath(units)}: loose files do not say which pipeline they follow; pass pipeline= "
                             "(a Pipeline, a pipeline JSON file, or Pipeline.party() for the preset), or read a "
                             "scenario directory with Scenario.read")
        if not isinstance(pipeline, Pipeline):
            pipeline = Pipeline.read_json(pipeline)
        org = Org.from_json(units) if os.fspath(units).endswith(".json") else Org.from_csv(units, overseers)
        if overseers is not None and os.fspath(units).endswith(".json"):
            org._core.read_overseers_csv(os.fspath(overseers))
        return cls(org, pipeline, params=params, stocks=stocks, targets=targets)

    def to_files(self, directory: PathLike) -> dict[str, Path]:
        """Write the scenario as a directory: ``scenario.json`` (the manifest, with the
        pipeline and the calendar start) and units.csv, overseers.csv, params.csv,
        stocks.csv, targets.csv. :meth:`read` gives back the same scenario: the same
        forecast, to the bit. Parameters are written in the most general scope that
        holds (``*``, then ``kind:``, then units that differ)."""
        paths = {name: Path(p) for name, p in self._core.write_dir(os.fspath(directory)).items()}
        return {"manifest": Path(directory) / MANIFEST, **paths}

    def explain(self, unit: str | Sequence[str] | None = None) -> pd.DataFrame:
        """Where each parameter's value comes from: for the unit(s) given (every unit by
        default), one row per stage and parameter with columns ``unit_id, stage, param,
        value, scope, source``; ``source`` is the file line (or DataFrame row) that set
        it, the pipeline's default, or "set in memory" for a value changed afterwards."""
        ids = [] if unit is None else [unit] if isinstance(unit, str) else list(unit)
        for u in ids:
            self.org._index(u)  # UnknownIdError naming it
        frame = columns_frame(self._core.explain_columns(ids))
        frame["value"] = frame["value"].astype(float)
        return frame

    def replace(self, changes: Sequence[Mapping[str, Any]] | pd.DataFrame | None = None, /, *, scope: str = "*",
                stage: str | None = None, what: str | None = None, value: float | None = None,
                scale: float | None = None, add: float | None = None,
                month_in_stage: int | None = None) -> Scenario:
        """A what-if: a copy of this scenario with parameters, stocks, arrivals or
        targets changed for one unit, a kind, a subtree or every unit. This scenario is
        left as it was; the copy shares its organisation and pipeline, so it costs the
        parameter arrays, stocks and targets only.

        One change by keywords::

            scn.replace(scope="kind:cell", stage="training", what="advance", scale=1.1)
            scn.replace(scope="subtree:C01", what="inflow", value=0.5)   # arrivals a month
            scn.replace(scope="C01-03", stage="source", what="stock", add=5)
            scn.replace(scope="C01-03", stage="probation", what="stock", value=2, month_in_stage=0)
            scn.replace(scope="D", what="target", value=180)

        ``scope`` is ``"*"`` (every unit), ``"kind:<kind>"``, ``"subtree:<unit id>"``
        (the unit and all below it) or a unit id. ``what`` is a parameter (advance, exit,
        pass_rate, attrition, inflow, transfer_in), ``"stock"`` or ``"target"``. Exactly
        one of ``value`` (set), ``scale`` (multiply) or ``add`` (stocks and targets). A
        fixed-duration stage's stock needs ``month_in_stage`` to set or add; scaled
        stocks are rounded to whole people (half to even). A target is set on every node
        in scope (NaN removes it); scale and add change only nodes that have one.

        Several changes, applied in order: a list of dicts with those keys (or ``op``
        and ``value``), or a DataFrame with columns ``scope, stage, what, op, value`` and
        optionally ``month_in_stage``. A change that makes the scenario invalid raises
        :class:`InputError`, :class:`ParameterError` or :class:`UnknownIdError` naming
        the change by position and in words. :meth:`explain` then says "set by replace:
        <the change>" for each value a change set.
        """
        keywords = dict(scope=scope, stage=stage, what=what, value=value, scale=scale, add=add,
                        month_in_stage=month_in_stage)
        if changes is None:
            rows = [_change_row(keywords, 1)]
        else:
            if any(v is not None for k, v in keywords.items() if k != "scope") or scope != "*":
                raise InputError("replace: give the changes as a list or DataFrame, or one change by keywords, "
                                 "not both")
            if isinstance(changes, pd.DataFrame):
                missing = [c for c in ("scope", "what", "op", "value") if c not in changes.columns]
                if missing:
                    raise InputError(f"replace: the changes DataFrame lacks column(s) {', '.join(missing)} "
                                     "(columns: scope, stage, what, op, value[, month_in_stage])")
                changes = [{str(k): v for k, v in row.items()} for row in changes.to_dict("records")]
            elif isinstance(changes, Mapping) or isinstance(changes, (str, bytes)):
                raise InputError("replace: changes must be a list of dicts or a DataFrame (one change: keywords)")
            rows = [_change_row(c, i + 1) for i, c in enumerate(changes)]
        obj = type(self).__new__(type(self))
        obj._init(self._core.replace(rows), self._org, self._pipeline)
        return obj

    @property
    def start(self) -> pd.Period | None:
        """The calendar month of month 0 (a monthly ``pandas.Period``), or None."""
        text = self._core.start
        return None if text is None else pd.Period(text, freq="M")

    @start.setter
    def start(self, value: str | pd.Period | None) -> None:
        self._core.start = month_text(value)

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

    @overload
    def param(self, name: Literal["inflow", "transfer_in"]) -> pd.Series: ...  # type: ignore[overload-overlap]

    @overload
    def param(self, name: str) -> pd.DataFrame: ...

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

    # -- pickling -----------------------------------------------------------------------
    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles as its files (:meth:`to_files`, held in memory), so that a copy (on a
        Dask worker, say) gives the same forecasts to the bit. The copy's
        :meth:`explain` names those files' lines as its sources."""
        with tempfile.TemporaryDirectory(prefix="memberflow-pickle-") as directory:
            self.to_files(directory)
            files = {p.name: p.read_bytes() for p in sorted(Path(directory).iterdir())}
        return (_from_files, (type(self), files))

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


def _from_files(cls: type[Scenario], files: Mapping[str, bytes]) -> Scenario:
    """A scenario back from the files of :meth:`Scenario.__reduce__`."""
    with tempfile.TemporaryDirectory(prefix="memberflow-pickle-") as directory:
        for name, data in files.items():
            if os.path.basename(name) != name:
                raise InputError(f"a pickled scenario names the file {name!r} outside its directory")
            (Path(directory) / name).write_bytes(data)
        return cls.read(directory)


_CHANGE_KEYS = ("scope", "stage", "what", "op", "value", "scale", "add", "month_in_stage")


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA


def _change_row(change: Any, position: int) -> tuple[str, str, str, str, float, int | None]:
    """One change for the core: (scope, stage, what, op, value, month_in_stage)."""
    where = f"replace, change {position}"
    if not isinstance(change, Mapping):
        raise InputError(f"{where}: expected a dict with keys scope, stage, what, op, value; got "
                         f"{type(change).__name__}")
    unknown = [k for k in change if k not in _CHANGE_KEYS]
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))} (valid: {', '.join(_CHANGE_KEYS)})")
    scope = change.get("scope", "*")
    stage = change.get("stage")
    what = change.get("what")
    stage = "" if _missing(stage) else stage
    if not isinstance(scope, str) or not isinstance(stage, str):
        raise InputError(f"{where}: scope and stage must be text, got {scope!r} and {stage!r}")
    if not isinstance(what, str):
        raise InputError(f"{where}: say what to change: what= a parameter (advance, exit, pass_rate, attrition, "
                         f"inflow, transfer_in), 'stock' or 'target'; got {what!r}")
    given = {k: change[k] for k in ("value", "scale", "add") if k in change and change[k] is not None}
    op = change.get("op")
    if not _missing(op):
        if op not in ("set", "scale", "add"):
            raise InputError(f"{where}: unknown op {op!r} (valid: set, scale, add)")
        if set(given) != {"value"}:
            raise InputError(f"{where}: with op={op!r} give value= (and not scale= or add=)")
        number = given["value"]
    else:
        if len(given) != 1:
            raise InputError(f"{where}: give exactly one of value= (set), scale= or add=; got "
                             f"{', '.join(given) or 'none'}")
        (key, number), = given.items()
        op = {"value": "set", "scale": "scale", "add": "add"}[key]
    if isinstance(number, (bool, np.bool_)) or not isinstance(number, (int, float, np.integer, np.floating)):
        raise InputError(f"{where}: the value must be a number, got {number!r}")
    month = change.get("month_in_stage")
    if _missing(month):
        month = None
    elif (isinstance(month, (bool, np.bool_)) or not isinstance(month, (int, float, np.integer, np.floating))
          or not float(month).is_integer()):
        raise InputError(f"{where}: month_in_stage must be a whole number, got {month!r}")
    else:
        month = int(month)
    return (scope, stage, what, op, float(number), month)


def _warn(messages: Sequence[str] | None) -> None:
    for message in messages or ():
        warnings.warn(message, ParameterWarning, stacklevel=3)
