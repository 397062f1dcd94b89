"""A synthetic history with a known truth: five years of the example district's records.

See docs/history.md for the generating model. Exposed as
``memberflow.datasets.example_history``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import pandas as pd

from . import _core
from .scenario import Scenario

__all__ = ["History", "example_history"]

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class History:
    """Records simulated from known parameters, and those parameters.

    ``events``: the event log, one row per event (person_id, unit_id, event, date as
    ``YYYY-MM-DD`` text, to_unit_id always empty); everybody present at
    the start has an entry of their stage dated before the first month. Rows: those
    opening entries, then the months in order (within a month, unit by unit).
    ``yearly``: one row per unit and year: ``<stage>_start`` stocks, arrivals,
    training_entries, admissions, confirmations, not_confirmed, ``<stage>_exits``,
    transfers_in, transfers_out, ``<stage>_end`` stocks.
    ``truth``: the parameters that generated them, tidy (unit_id, year, stage, param, value).
    ``start`` / ``end``: scenarios at the first month and at the month after the last
    (stocks the log implies; parameters of the first / last year; ``end`` carries the
    2021 targets).
    ``calibration``: ``inflow_scale`` (the factor on every unit's inflow) and
    ``last_year_shift`` (added to the logit of training's advance rate in the last year),
    solved so that the last year's expected admissions and confirmations are 89 and 141.
    """

    events: pd.DataFrame
    yearly: pd.DataFrame
    truth: pd.DataFrame
    start: Scenario
    end: Scenario
    calibration: dict[str, float]

    def to_files(self, directory: PathLike) -> dict[str, Path]:
        """Write events.csv, yearly.csv, truth.csv and the start/ and end/ scenario
        directories under ``directory``; returns the paths."""
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        paths = {name: root / f"{name}.csv" for name in ("events", "yearly", "truth")}
        for name, path in paths.items():
            getattr(self, name).to_csv(path, index=False)
        self.start.to_files(root / "start")
        self.end.to_files(root / "end")
        return {**paths, "start": root / "start", "end": root / "end"}


def example_history(seed: int = 0, years: int = 5, *, level_sd: Sequence[float] = (0.3, 0.2),
                    year_sd: float = 0.15, unit_drift_sd: float = 0.05,
                    transfer_out_share: float = 1 / 3) -> History:
    """Synthetic records of the example district for ``years`` (2-30) years ending with
    2020 (default 2016-01 to 2020-12), simulated person by person from parameters that
    differ between units (rural units thinner, unit effects per level of the tree) and
    drift from year to year, calibrated so that 2020 is expected to have the article's 89
    admissions and 141 confirmations. The same arguments give the same records, to the bit.

    On the logit of probabilities and the log of arrival rates: ``level_sd`` are the
    standard deviations of the unit effects of the base organisations, the sub-cells
    (deeper levels would use the last); ``year_sd`` the step of the district-wide random
    walk a year, ``unit_drift_sd`` that of each unit's own. ``transfer_out_share`` of the
    full members' attrition is written as ``transfer_out``, the rest as ``left``.
    See docs/history.md.
    """
    core = _core.example_history(seed, years, [float(x) for x in level_sd], float(year_sd), float(unit_drift_sd),
                                 float(transfer_out_share))
    yearly = pd.DataFrame(core["yearly"])
    counts = [c for c in yearly.columns if c != "unit_id"]
    yearly[counts] = yearly[counts].astype("int64")
    events = pd.DataFrame(core["events"])
    events["to_unit_id"] = None
    return History(events=events, yearly=yearly, truth=pd.DataFrame(core["truth"]),
                   start=Scenario._wrap(core["start"]), end=Scenario._wrap(core["end"]),
                   calibration=dict(core["calibration"]))
