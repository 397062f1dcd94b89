"""An organisation's records: the event log (docs/records.md).

One row per event: ``person_id, unit_id, event, date`` and, for ``moved``, ``to_unit_id``.
The log is checked against the model person by person; :meth:`EventLog.snapshot` gives
the stocks at the start of any month and :meth:`EventLog.exposures` the person-months at
risk and the moves per unit, stage and month, which estimation starts from.
"""

from __future__ import annotations

import os
from typing import Any, Union

import numpy as np
import pandas as pd

from . import _core
from ._checks import month_text
from ._tables import columns_frame, frame_columns, frame_labels, id_text, row_name
from .errors import InputError
from .org import Org
from .pipeline import Pipeline
from .scenario import Scenario

__all__ = ["CountTable", "EventLog"]

PathLike = Union[str, "os.PathLike[str]"]
MonthLike = Union[str, pd.Period]


def _org_and_pipeline(where: Scenario | Org, pipeline: Pipeline | None) -> tuple[Org, Pipeline]:
    if isinstance(where, Scenario):
        if pipeline is not None:
            raise InputError("a Scenario carries its own pipeline; do not pass pipeline=")
        return where.org, where.pipeline
    if isinstance(where, Org):
        if pipeline is None:
            raise InputError("the events name the stages of a pipeline: pass pipeline= (e.g. Pipeline.party()) "
                             "beside the Org, or a Scenario")
        if not isinstance(pipeline, Pipeline):
            raise TypeError(f"pipeline: expected a memberflow.Pipeline, got {type(pipeline).__name__}")
        return where, pipeline
    raise TypeError(f"expected a memberflow.Scenario or Org, got {type(where).__name__}")


def _date_text(value: Any) -> Any:
    if isinstance(value, pd.Period):
        return f"{value.year:04d}-{value.month:02d}" + ("" if value.freqstr in ("M", "ME") else f"-{value.day:02d}")
    if isinstance(value, (pd.Timestamp, np.datetime64)) and not pd.isna(value):
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    return value


class _Records:
    """What event logs and count tables share: the checked rows in C++, the organisation
    and pipeline they were read for, and the rows set aside."""

    def __init__(self, core: Any, org: Org, pipeline: Pipeline):
        self._core = core
        self._org = org
        self._pipeline = pipeline

    @property
    def rows_read(self) -> int:
        return int(self._core.rows_read)

    @property
    def quarantined(self) -> pd.DataFrame:
        """The rows set aside: ``line`` (a file's line) or ``row`` (a DataFrame's 1-based
        row), ``reason``, then the row's own cells."""
        return _quarantined_frame(self._core)

    @property
    def org(self) -> Org:
        return self._org

    @property
    def pipeline(self) -> Pipeline:
        return self._pipeline


class EventLog(_Records):
    """The event log of an organisation, checked against the model.

    Read it with :meth:`from_csv` or :meth:`from_frame`. By default a bad row is an
    :class:`InputError` listing the first 20 and counting them all; with
    ``quarantine=True`` bad rows are set aside with their reasons (:attr:`quarantined`)
    and ``rows_read == events_used + len(quarantined)``. A bad row sets aside the
    person's whole history with it, except an exact duplicate, which goes alone.
    """

    @classmethod
    def from_csv(cls, path: PathLike, scenario_or_org: Scenario | Org, pipeline: Pipeline | None = None, *,
                 quarantine: bool = False) -> EventLog:
        """Read an event log CSV; units and stages are those of the Scenario, or of the
        Org and Pipeline given."""
        org, pipe = _org_and_pipeline(scenario_or_org, pipeline)
        return cls(_core.EventLog.read_csv(os.fspath(path), org._core, pipe._core, bool(quarantine)), org, pipe)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, scenario_or_org: Scenario | Org, pipeline: Pipeline | None = None, *,
                   quarantine: bool = False) -> EventLog:
        """The same from a DataFrame. Dates may be text (YYYY-MM-DD or YYYY-MM),
        Timestamps or Periods; integer ids are taken as their digits."""
        org, pipe = _org_and_pipeline(scenario_or_org, pipeline)
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"events: expected a pandas DataFrame, got {type(frame).__name__}")
        frame = frame.copy(deep=False)
        if "date" in frame.columns:
            frame["date"] = pd.Series([_date_text(v) for v in frame["date"].tolist()], dtype=object, index=frame.index)
        for name in ("person_id", "to_unit_id"):  # integral floats (a column with gaps) as the ids they stand for
            if name in frame.columns:
                cells = []
                for position, value in enumerate(frame[name].tolist()):
                    try:
                        cells.append(id_text(value))
                    except ValueError:
                        raise InputError(f"{row_name(frame, 'events', position)}: column '{name}' holds the float "
                                         f"{value!r}, above 2^53, where floats no longer tell integer ids apart; read "
                                         "the ids as text (dtype=str)") from None
                frame[name] = pd.Series(cells, dtype=object, index=frame.index)
        names, columns = frame_columns(frame, "events")
        core = _core.EventLog.from_columns("events DataFrame", names, columns, frame_labels(frame), org._core,
                                           pipe._core, bool(quarantine))
        return cls(core, org, pipe)

    # -- what was read -----------------------------------------------------------------
    @property
    def events_used(self) -> int:
        return int(self._core.events_used)

    @property
    def first_month(self) -> pd.Period:
        return pd.Period(self._core.first_month, freq="M")

    @property
    def complete_from(self) -> pd.Period:
        """The first month the records describe in full: the month after the latest
        opening entry (people already in the pipeline when the records begin)."""
        return pd.Period(self._core.complete_from, freq="M")

    @property
    def last_month(self) -> pd.Period:
        return pd.Period(self._core.last_month, freq="M")

    # -- derived -------------------------------------------------------------------------
    def snapshot(self, month: MonthLike) -> pd.DataFrame:
        """Who is where at the start of ``month``, in the stocks-table format
        (``unit_id, stage, count, months_in_stage``) that :class:`Scenario` takes."""
        frame = columns_frame(self._core.snapshot_columns(month_text(month)))
        frame["count"] = frame["count"].astype(float).astype("int64")
        frame["months_in_stage"] = pd.to_numeric(frame["months_in_stage"].replace("", None)).astype("Int64")
        return frame

    def people(self, month: MonthLike) -> pd.DataFrame:
        """Who is where at the start of ``month``, and for how long: one row per person,
        ``person_id, unit_id, stage, months_in_stage`` (months since entering the stage,
        for every stage; for a fixed-duration stage, its age)."""
        frame = columns_frame(self._core.people_columns(month_text(month)))
        frame["months_in_stage"] = frame["months_in_stage"].astype("int64")
        return frame

    def exposures(self, first: MonthLike | None = None, last: MonthLike | None = None) -> pd.DataFrame:
        """Person-months at risk and moves, one row per unit, stage and month from
        ``first`` to ``last`` (default: the log's first and last months): ``unit_id,
        stage, ds`` (the month's first day), ``at_risk`` (in the stage at the start of
        the month), ``advanced`` (to the next stage; fixed stages: passes), ``exited``
        (left from the stage; not the failures at the end of a fixed stage),
        ``completing`` (fixed stages: at the last age and not leaving, the pass_rate
        trials), ``arrivals`` (on the first stage's rows: candidates from outside) and
        ``transfers_in`` (on the terminal stage's rows)."""
        first = self._core.first_month if first is None else month_text(first)
        last = self._core.last_month if last is None else month_text(last)
        x = self._core.exposures(first, last)
        stages = list(self.pipeline.stages)
        units, months = len(self.org), x["months"]
        ids = np.asarray(self.org.ids, dtype=object)
        ds = pd.period_range(x["start"], periods=months, freq="M").to_timestamp()
        parts = []
        for s, name in enumerate(stages):
            def flat(a: Any) -> np.ndarray:  # units x months -> unit-major rows
                return np.asarray(a).reshape(units, months).ravel()
            zeros = np.zeros(units * months)
            parts.append(pd.DataFrame({
                "unit_id": np.repeat(ids, months),
                "stage": name,
                "ds": np.tile(ds, units),
                "at_risk": flat(x["at_risk"][s]),
                "advanced": flat(x["advanced"][s]),
                "exited": flat(x["exited"][s]),
                "completing": flat(x["completing"][s]),
                "arrivals": flat(x["arrivals"]) if s == 0 else zeros,
                "transfers_in": flat(x["transfers_in"]) if s == len(stages) - 1 else zeros,
            }))
        frame = pd.concat(parts, ignore_index=True)
        count_columns = ["at_risk", "advanced", "exited", "completing", "arrivals", "transfers_in"]
        frame[count_columns] = frame[count_columns].astype("int64")
        return frame

    def __len__(self) -> int:
        return self.events_used

    def __repr__(self) -> str:
        return (f"<memberflow.EventLog: {self.rows_read} rows read, {self.events_used} events used, "
                f"{self.rows_read - self.events_used} quarantined>")


def _quarantined_frame(core: Any) -> pd.DataFrame:
    lines, reasons, cells = core.quarantined()
    frame = pd.DataFrame({core.noun: pd.Series(lines, dtype="int64"), "reason": pd.Series(reasons, dtype=object)})
    for i, name in enumerate(core.columns):
        if name not in frame.columns:
            frame[name] = pd.Series([c[i] for c in cells], dtype=object)
    return frame


class CountTable(_Records):
    """Aggregate counts per unit and period (docs/records.md): ``unit_id``, ``period``
    (``2020``, ``2020Q1`` or ``2020-03``; or a ``year`` column), ``<stage>_start`` for
    every stage, and optional counts: ``arrivals``, the entries into each later stage
    (``admissions``, ``confirmations``, ``<stage>_entries``), ``not_confirmed``,
    ``<stage>_exits``, ``transfers_in``, ``transfers_out``, ``<stage>_end``. A missing
    column or empty cell is unknown (NaN), never 0. Bad rows (unknown unit, bad period,
    overlapping periods, counts that are not whole numbers, more people leaving a stage
    than were there, stocks that do not add up) are an :class:`InputError`, or with
    ``quarantine=True`` set aside in :attr:`quarantined` with their reasons.
    """

    @classmethod
    def from_csv(cls, path: PathLike, scenario_or_org: Scenario | Org, pipeline: Pipeline | None = None, *,
                 quarantine: bool = False) -> CountTable:
        org, pipe = _org_and_pipeline(scenario_or_org, pipeline)
        return cls(_core.CountTable.read_csv(os.fspath(path), org._core, pipe._core, bool(quarantine)), org, pipe)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, scenario_or_org: Scenario | Org, pipeline: Pipeline | None = None, *,
                   quarantine: bool = False) -> CountTable:
        org, pipe = _org_and_pipeline(scenario_or_org, pipeline)
        names, columns = frame_columns(frame, "counts")
        return cls(_core.CountTable.from_columns("counts DataFrame", names, columns, frame_labels(frame), org._core,
                                                 pipe._core, bool(quarantine)), org, pipe)

    @property
    def frame(self) -> pd.DataFrame:
        """The rows used, checked: ``unit_id, period, first`` (the first month, a
        Period), ``months`` (12, 3 or 1), then every count column (floats, NaN unknown)."""
        a = self._core.arrays()
        stages, admission = list(self._pipeline.stages), self._pipeline.admission
        first = [pd.Period(year=m // 12, month=m % 12 + 1, freq="M") for m in a["first"]]
        period = [str(f.year) if n == 12 else f"{f.year}Q{f.quarter}" if n == 3 else str(f)
                  for f, n in zip(first, a["months"])]
        out = {"unit_id": pd.Series(np.asarray(self._org.ids, dtype=object)[np.asarray(a["unit"], dtype=int)],
                                    dtype=object),
               "period": pd.Series(period, dtype=object), "first": pd.Series(first, dtype="period[M]"),
               "months": pd.Series(a["months"], dtype="int64")}
        for s, name in enumerate(stages):
            out[f"{name}_start"] = a["start"][:, s]
        for s, name in enumerate(stages):
            entry = ("arrivals" if s == 0 else "admissions" if name == admission
                     else "confirmations" if s == len(stages) - 1 else f"{name}_entries")
            out[entry] = a["entries"][:, s]
        out["not_confirmed"] = a["not_confirmed"]
        for s, name in enumerate(stages):
            out[f"{name}_exits"] = a["exits"][:, s]
        out["transfers_in"] = a["transfers_in"]
        out["transfers_out"] = a["transfers_out"]
        for s, name in enumerate(stages):
            out[f"{name}_end"] = a["end"][:, s]
        return pd.DataFrame(out)

    def __len__(self) -> int:
        return len(self._core.arrays()["unit"])

    def __repr__(self) -> str:
        return f"<memberflow.CountTable: {self.rows_read} rows read, {len(self)} used>"
