"""Ready-made scenarios: the example district and synthetic organisations."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, NamedTuple

import pandas as pd

from . import _core
from .errors import ParameterError
from .history import History, example_history  # noqa: F401 (the synthetic history: docs/history.md)
from .progress import month_of
from .records import EventLog
from .scenario import Scenario
from .types import PathLike

__all__ = ["example_district", "synthetic", "SCALES"]
__all__ += ["History", "example_history", "write_synthetic_history"]
__all__ += ["ExampleYear", "example_year"]

#: Fanouts (mean children per unit, level by level) and kinds of preset scales.
SCALES = {
    "national": ((63, 11.1, 74.3, 4.8), ("nation", "province", "district", "base", "cell")),
    "province": ((11, 74.3, 4.8), ("province", "district", "base", "cell")),
    "district": ((48, 4.5), ("district", "base", "cell")),
}


def example_district(year: int = 2021) -> Scenario:
    """A synthetic district built to the shape and numbers of a real one (Tam Duong
    district party committee, Vinh Phuc, Vietnam; article of February 2021).

    The district committee; 13 commune/township committees, 4 agency committees and 31
    cells under it (48 base organisations); 218 sub-cells under the 17 committees;
    about 6,000 members; a thinner source and slower training in rural units; seven
    standing-committee members as overseers.

    Calibrated to the article's 2020 figures: ``example_district(2020)`` is the state
    at the start of 2020 whose expected-value forecast gives 89 admissions and 141
    confirmations over 2020. The default, 2021, is the expected state a year later in
    whole people, with the 2021 target of 160 admissions at the district split over
    the 48 base organisations in proportion to their members.
    """
    return Scenario._wrap(_core.example_district(year))


def synthetic(scale: str | None = "national", *, fanout: Sequence[float] | None = None,
              kinds: Sequence[str] | None = None, members_per_leaf: float = 20.0,
              rural_share: float = 0.6, seed: int = 0) -> Scenario:
    """A synthetic organisation of any size, the same for the same arguments.

    ``scale`` picks a preset: ``"national"`` (~300,000 units, ~5 million members: 63
    provinces, ~700 districts, ~52,000 base organisations, ~250,000 cells),
    ``"province"`` (~4,700 units) or ``"district"`` (~270 units). Or give ``fanout``
    (mean children per unit at each level) and ``kinds`` (one per level, root first).
    Members sit in the leaves; rural units have a thinner source. No targets.
    """
    fanout, kinds = _shape(scale, fanout, kinds)
    return Scenario._wrap(_core.synthetic(list(map(float, fanout)), list(kinds), float(members_per_leaf),
                                          float(rural_share), int(seed)))


def _shape(scale: str | None, fanout: Sequence[float] | None, kinds: Sequence[str] | None) -> tuple[list[float], list[str]]:
    """(fanout, kinds) of a synthetic organisation: a preset ``scale``'s unless ``fanout``
    is given; kinds default to the preset's, or root, level1, level2, ..."""
    if fanout is None:
        if scale not in SCALES:
            raise ParameterError(f"unknown scale {scale!r}; choose one of {sorted(SCALES)} or give fanout=")
        fanout, default_kinds = SCALES[scale]
        kinds = kinds if kinds is not None else default_kinds
    if kinds is None:
        kinds = ["root"] + [f"level{i + 1}" for i in range(len(fanout))]
    return list(fanout), list(kinds)


def write_synthetic_history(directory: PathLike, scale: str | None = "national", *, fanout: Sequence[float] | None = None,
                            kinds: Sequence[str] | None = None, members_per_leaf: float = 3.5,
                            rural_share: float = 0.6, org_seed: int = 0, seed: int = 0, years: int = 5,
                            level_sd: Sequence[float] = (0.3, 0.2), year_sd: float = 0.15,
                            unit_drift_sd: float = 0.05, transfer_out_share: float = 1 / 3) -> dict[str, Any]:
    """Simulate the history of a synthetic organisation and write it to ``directory``:
    ``events.csv`` (the event log of docs/records.md) and ``start/`` (the scenario at the
    first month: organisation, pipeline, stocks, the first year's parameters).

    The organisation is :func:`synthetic` (``scale``, or ``fanout`` and ``kinds``; its
    ``members_per_leaf``, ``rural_share`` and ``org_seed``); the records cover ``years``
    years ending with 2020, with unit effects and drift as in :func:`example_history`
    (``level_sd``, ``year_sd``, ``unit_drift_sd``, ``seed``), uncalibrated. Nationally
    (the default) that is ~300,000 units and ~1.5 million rows. Everything is done in C++
    (no DataFrame is built); returns the paths (``events``, ``start``), ``units``, ``rows``
    and the ``first`` / ``last`` months.
    """
    fanout, kinds = _shape(scale, fanout, kinds)
    return dict(_core.write_synthetic_history(os.fspath(directory), list(map(float, fanout)), list(kinds),
                                              float(members_per_leaf), float(rural_share), org_seed, seed, years,
                                              [float(x) for x in level_sd], float(year_sd), float(unit_drift_sd),
                                              float(transfer_out_share)))


class ExampleYear(NamedTuple):
    """A year in progress: ``scenario`` at its start, ``log`` (an EventLog of the records
    through the month asked for) and ``events`` (the log's rows)."""

    scenario: Scenario
    log: EventLog
    events: pd.DataFrame


def example_year(through: str | pd.Period = "2021-06", seed: int = 0) -> ExampleYear:
    """The example district's 2021 so far: ``example_history(seed).end`` (stocks at
    2021-01, the 2021 targets, the parameters of 2020) and the records of 2021-01 to
    ``through`` (a month, or a quarter meaning its last month) simulated person by
    person from it (``datasets::simulate_history`` with 2020's parameters for 2021, the
    history's generator), then cut after ``through``; the opening entries of everybody
    present at 2021-01 are kept (docs/history.md, "A year in progress"). For
    :func:`memberflow.progress`.
    """
    month = month_of(through)  # "2021-06", "2021Q2" or a Period
    if month.year != 2021:
        raise ParameterError(f"example_year: through must be a month of 2021, got {through!r}")
    scenario = example_history(seed).end
    core = _core.simulate_history(scenario._core, [scenario._core], seed, 1 / 3)
    events = pd.DataFrame(core["events"])
    events = events[events["date"].str[:7] <= str(month)].reset_index(drop=True)
    events["to_unit_id"] = None
    return ExampleYear(scenario, EventLog.from_frame(events, scenario), events)
