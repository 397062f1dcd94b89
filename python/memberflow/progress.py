"""Progress during the year: each unit's admissions so far against its plan and its
forecast, a status, and the rest of the year re-forecast from where things stand
(docs/progress.md).

The re-forecast is the exact engine started from the current stocks in the month after
the last month of the records; a node's year total is its admissions so far plus the
rest-of-year count, so its pmf is the engine's pmf shifted by what was admitted.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Union

import numpy as np
import pandas as pd

from .errors import InputError, UnknownIdError
from ._checks import month_text
from ._tables import load_table, parent_ids
from .distribution import Distributions
from .forecast import forecast
from .results import YEAR
from .records import CountTable, EventLog
from .org import Org
from .scenario import Scenario
from .types import TableLike

__all__ = ["Progress", "progress", "month_of", "STATUSES", "LEVELS"]

#: The statuses, best first; "no target" for a node without one.
STATUSES = ("on track", "at risk", "behind", "no target")

#: The default status thresholds on p_meet = P(year total >= target): on track from the
#: first, behind below the second, at risk between (docs/progress.md, "Status").
LEVELS = (0.5, 0.2)

#: The central intervals: 90% (the 5% and 95% quantiles).
_LO, _HI = 0.05, 0.95

MonthLike = Union[str, pd.Period]


@dataclass(frozen=True, eq=False)
class Progress:
    """The result of :func:`progress`.

    ``units``: one row per unit in preorder (figures of the unit's whole subtree);
    ``levels``: roll-up by depth; ``overseers``: one row per overseer, their units
    together. ``year`` (int), ``through`` (the last month counted, a monthly Period),
    ``months`` (months elapsed, 1-12), ``rules`` (the status thresholds: ``on_track``,
    ``behind``), ``notes`` (what of the records was not counted, and why) and ``now``
    (the scenario at the month after ``through`` with the current stocks, from which the
    rest of the year is forecast; None when the year is over).
    """

    units: pd.DataFrame
    levels: pd.DataFrame
    overseers: pd.DataFrame
    year: int
    through: pd.Period
    months: int
    rules: dict[str, Any]
    notes: tuple[str, ...] = ()
    now: Scenario | None = None  # the scenario at the month after `through`, current stocks (None after December)
    _rest: Distributions | None = field(default=None, repr=False, compare=False)
    _admitted: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _overseen: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def year_pmf(self, unit: str) -> pd.Series:
        """P(the node's admissions over the year = k): the rest-of-year pmf of the exact
        engine shifted by the admissions so far (its kept support; index k)."""
        if unit not in self._admitted:
            raise UnknownIdError(f"progress: unknown unit '{unit}'")
        done = self._admitted[unit]
        if self._rest is None:  # through December: nothing left to happen
            return pd.Series([1.0], index=pd.Index([done], name="k"), name="probability")
        pmf = self._rest.pmf(unit)
        pmf.index = pd.Index(pmf.index.to_numpy() + done, name="k")
        return pmf

    def overseer_pmf(self, overseer: str) -> pd.Series:
        """P(the overseer's units together admit k over the year): the convolution of the
        year pmfs of its units, each subtree once (units inside another overseen unit's
        subtree are counted in it)."""
        if overseer not in self._overseen:
            raise UnknownIdError(f"progress: unknown overseer '{overseer}'")
        return _convolve([self.year_pmf(u) for u in self._overseen[overseer]])

    def __repr__(self) -> str:
        counts = self.units["status"].value_counts()
        parts = ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES)
        root = self.units.iloc[0]
        return (f"<memberflow.Progress {self.year} through {self.through} ({self.months} months): "
                f"{root['unit_id']} admitted {root['admitted']}, P(target) {root['p_meet']:.3f}; units: {parts}>")

    def _repr_html_(self) -> str:
        root = self.units.iloc[0]
        head = (f"<p><b>memberflow.Progress</b> {self.year} through {self.through} ({self.months} months): "
                f"<code>{html.escape(str(root['unit_id']))}</code> {html.escape(root['status_reason'])}</p>")
        return head + self.levels.to_html(index=False) + self.overseers.to_html(index=False)


def progress(scenario: Scenario, so_far: EventLog | CountTable, *, through: MonthLike | None = None,
             plan: pd.DataFrame | None = None, stocks: TableLike | None = None, levels: Sequence[float] = LEVELS) -> Progress:
    """Each unit's position during the year: admissions so far against the pro-rata
    target and against the forecast made at the start of the year, a status, and the
    rest of the year re-forecast from the current state (docs/progress.md).

    ``scenario``: the year's scenario at its start (its calendar start a January; a
    :class:`Fit` gives its scenario). Targets are its targets, or ``plan``'s ``share``
    per ``unit_id`` (a frame from :func:`allocate`) when given.

    ``so_far``: an :class:`EventLog` or :class:`CountTable` of the same organisation
    holding the year's months up to ``through`` ("2021-06", a quarter "2021Q2" meaning
    its last month, or a Period; default: the records' last month). A log's earlier
    months are its past (they set the state); records after ``through`` are not counted
    and say so in ``notes``; a count period partly outside [January, through] is refused.

    ``stocks``: who is where at the start of the month after ``through`` (a stocks frame
    or CSV as :class:`Scenario` takes); by default an event log's snapshot of that month.
    Required with a count table.

    ``levels``: the status thresholds on p_meet = P(year total >= target), (on track
    from, behind below); at risk between.
    """
    if not isinstance(scenario, Scenario) and isinstance(getattr(scenario, "scenario", None), Scenario):
        scenario = scenario.scenario  # a Fit
    if not isinstance(scenario, Scenario):
        raise InputError(f"progress: expected a memberflow.Scenario (or Fit), got {type(scenario).__name__}")
    on_track, behind = _levels(levels)
    start = scenario.start
    if start is None:
        raise InputError("progress: the scenario has no calendar start; it must start in January of the year "
                         "(Scenario(..., start='2021-01'))")
    if start.month != 1:
        raise InputError(f"progress: the scenario starts in {start}; give the year's scenario at its start, "
                         f"a January (e.g. {start.year}-01)")
    year_end = start + (YEAR - 1)
    org = scenario.org
    _same_org(scenario, so_far)
    last = _records_last(so_far)
    through = last if through is None else month_of(through)
    if not start <= through <= year_end:
        raise InputError(f"progress: through={through} is outside the scenario's year {start.year} "
                         f"({start} to {year_end})")
    if through > last:
        raise InputError(f"progress: through={through}, but the records end in {last}")
    months = int((through - start).n) + 1
    notes: list[str] = []
    own = _admitted_own(so_far, start, through, notes)
    if last > through:
        notes.append(f"records of {through + 1} to {last} not counted (after through={through})")
    if isinstance(so_far, EventLog):
        _compare_start(scenario, so_far, notes)
    if stocks is None:
        if not isinstance(so_far, EventLog):
            raise InputError(f"progress: a count table does not say who is where in each stage and month of it: "
                             f"give stocks= (the stocks at the start of {through + 1})")
        stocks = so_far.snapshot(through + 1)
    targets = _targets(scenario, plan)

    # Against the forecast made at the start of the year: months [0, m).
    before = forecast(scenario, months, method="exact").distribution("admissions", window=(0, months))
    # The rest of the year, from the current state.
    rest = now = None
    if months < YEAR:
        now = _scenario_at(scenario, stocks, through + 1)
        rest = forecast(now, YEAR - months, method="exact").distribution("admissions", window=(0, YEAR - months))

    admitted = org.rollup(pd.Series(own, index=org.ids)).to_numpy().round().astype(np.int64)
    tgt = targets.to_numpy(dtype=float)
    has = ~np.isnan(tgt)
    pro_rata = tgt * months / YEAR
    so_far_lo = before.quantile(_LO).to_numpy()
    so_far_hi = before.quantile(_HI).to_numpy()
    if rest is None:
        rest_mean = rest_lo = rest_hi = np.zeros(len(org))
        p_meet = np.where(has, (admitted >= np.ceil(np.nan_to_num(tgt))).astype(float), np.nan)
    else:
        rest_mean, rest_lo, rest_hi = (rest.mean().to_numpy(), rest.quantile(_LO).to_numpy(),
                                       rest.quantile(_HI).to_numpy())
        p_meet = rest.prob_at_least(pd.Series(np.ceil(tgt) - admitted, index=org.ids)).to_numpy()
    vs_forecast = np.where(admitted < so_far_lo, "below", np.where(admitted > so_far_hi, "above", "within"))
    status = [_status(p, on_track, behind) for p in p_meet]
    expected_year = admitted + rest_mean
    reasons = [_reason(s, p, t, a, pr, r, through, year_end, on_track, behind, (lo, hi))
               for s, p, t, a, pr, r, lo, hi in zip(status, p_meet, tgt, admitted, pro_rata, rest_mean, so_far_lo,
                                                    so_far_hi)]

    order = np.asarray(org._core.preorder, dtype=np.int64)
    ids = np.asarray(org.ids, dtype=object)
    parents = np.asarray(org._core.parents, dtype=np.int64)
    overseers_of = org.overseers_frame().groupby("unit_id")["overseer_id"].agg(", ".join)
    units = pd.DataFrame({
        "unit_id": pd.Series(ids, dtype=object),
        "parent_id": pd.Series(parent_ids(ids, parents), dtype="object"),
        "depth": np.asarray(org._core.depths, dtype=np.int64),
        "name": pd.Series(org.names.to_numpy(), dtype=object),
        "kind": pd.Series(org.kinds.to_numpy(), dtype=object),
        "overseers": pd.Series(overseers_of.reindex(ids).fillna("").to_numpy(), dtype=object),
        "target": tgt,
        "months": months,
        "admitted": admitted,
        "pro_rata": pro_rata,
        "vs_plan": admitted - pro_rata,
        "expected_so_far": before.mean().to_numpy(),
        "so_far_lo": so_far_lo.astype(np.int64),
        "so_far_hi": so_far_hi.astype(np.int64),
        "vs_forecast": pd.Series(vs_forecast, dtype=object),
        "expected_year": expected_year,
        "year_lo": (admitted + rest_lo).astype(np.int64),
        "year_hi": (admitted + rest_hi).astype(np.int64),
        "p_meet": p_meet,
        "status": pd.Series(status, dtype=object),
        "status_reason": pd.Series(reasons, dtype=object),
    }).iloc[order].reset_index(drop=True)

    result = Progress(units=units, levels=_levels_frame(units), overseers=pd.DataFrame(), year=int(start.year),
                      through=through, months=months, rules={"on_track": on_track, "behind": behind},
                      notes=tuple(notes), now=now, _rest=rest, _admitted=dict(zip(org.ids, admitted.tolist())),
                      _overseen=_top_units(org))
    object.__setattr__(result, "overseers", _overseers_frame(result, org, on_track, behind, through, year_end))
    return result


# -- inputs ------------------------------------------------------------------------------

def _levels(levels: Sequence[float]) -> tuple[float, float]:
    try:
        on_track, behind = (float(v) for v in levels)
    except (TypeError, ValueError):
        raise InputError(f"progress: levels must be two probabilities (on track from, behind below), "
                         f"got {levels!r}") from None
    if not 0 <= behind <= on_track <= 1:
        raise InputError(f"progress: levels must satisfy 0 <= behind ({behind}) <= on track ({on_track}) <= 1")
    return on_track, behind


def month_of(value: MonthLike) -> pd.Period:
    """A month: 'YYYY-MM', a quarter 'YYYYQn' (its last month) or a Period."""
    if isinstance(value, pd.Period):
        if value.freqstr.startswith("Q"):
            return value.asfreq("M", how="end")
        return pd.Period(month_text(value), freq="M")
    if isinstance(value, str):
        if re.fullmatch(r"\d{4}Q[1-4]", value):
            return pd.Period(value, freq="Q").asfreq("M", how="end")
        if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
            return pd.Period(value, freq="M")
    raise InputError(f"progress: through must be a month 'YYYY-MM', a quarter 'YYYYQn' or a Period, got {value!r}")


def _same_org(scenario: Scenario, so_far: EventLog | CountTable) -> None:
    if not isinstance(so_far, (EventLog, CountTable)):
        raise InputError(f"progress: so_far must be a memberflow.EventLog or CountTable, got {type(so_far).__name__}")
    if so_far.org is not scenario.org and list(so_far.org.ids) != list(scenario.org.ids):
        raise InputError("progress: the records were read for another organisation than the scenario's "
                         "(read them with the scenario: EventLog.from_frame(df, scenario))")
    if list(so_far.pipeline.stages) != list(scenario.pipeline.stages):
        raise InputError(f"progress: the records' stages {list(so_far.pipeline.stages)} are not the scenario's "
                         f"{list(scenario.pipeline.stages)}")


def _compare_start(scenario: Scenario, log: EventLog, notes: list[str]) -> None:
    """A note if the log's people at the start of the year are not the scenario's stocks
    (the January forecast starts from the scenario's, the admissions are the log's)."""
    keys = ["unit_id", "stage", "months_in_stage"]

    def people(frame: pd.DataFrame) -> pd.Series:
        return frame.assign(months_in_stage=frame["months_in_stage"].fillna(-1)).groupby(keys)["count"].sum()

    assert scenario.start is not None  # progress refuses a scenario without a calendar
    ours, theirs = people(scenario.stocks), people(log.snapshot(scenario.start))
    diff = ours.sub(theirs, fill_value=0)
    diff = diff[diff != 0]
    if len(diff):
        units = diff.index.get_level_values("unit_id").unique()
        notes.append(f"the scenario's stocks differ from the log's snapshot of {scenario.start} in {len(units)} "
                     f"unit(s) (first '{units[0]}'; {int(ours.sum())} people against {int(theirs.sum())}); the "
                     "January forecast starts from the scenario's")


def _records_last(so_far: EventLog | CountTable) -> pd.Period:
    if isinstance(so_far, EventLog):
        return so_far.last_month
    frame = so_far.frame
    if frame.empty:
        raise InputError("progress: the count table has no rows")
    last: pd.Period = max(f + (n - 1) for f, n in zip(frame["first"], frame["months"]))
    return last


def _admitted_own(so_far: EventLog | CountTable, start: pd.Period, through: pd.Period,
                  notes: list[str]) -> np.ndarray:
    """Each unit's own admissions in months start..through."""
    org, pipe = so_far.org, so_far.pipeline
    if isinstance(so_far, EventLog):
        if so_far.complete_from > start:
            raise InputError(f"progress: the event log describes everybody only from {so_far.complete_from} "
                             f"(its latest opening entry), after the year's start {start}: the admissions of "
                             f"{start} to {so_far.complete_from - 1} may be missing")
        x = so_far.exposures(start, through)
        a = pipe.stages.index(pipe.admission)
        if a == 0:  # admission into the first stage: the arrivals
            rows, column = x[x["stage"] == pipe.stages[0]], "arrivals"
        else:  # the moves out of the stage before it (exposures' `advanced`)
            rows, column = x[x["stage"] == pipe.stages[a - 1]], "advanced"
        own: np.ndarray = rows.groupby("unit_id", sort=False)[column].sum().reindex(org.ids).to_numpy(dtype=float)
        return own
    frame = so_far.frame
    end = frame["first"] + (frame["months"] - 1)
    firsts, ends = frame["first"].tolist(), end.tolist()
    outside = [(f > through or e < start) for f, e in zip(firsts, ends)]
    straddle = [not o and (f < start or e > through) for o, f, e in zip(outside, firsts, ends)]
    if any(straddle):
        i = straddle.index(True)
        raise InputError(f"progress: unit '{frame['unit_id'].iat[i]}', period {frame['period'].iat[i]} "
                         f"({firsts[i]} to {ends[i]}) is partly outside {start} to {through}; give counts by month "
                         "or quarter that end with through")
    if any(outside):
        notes.append(f"{sum(outside)} count row(s) outside {start} to {through} not counted")
    inside = frame[[not o for o in outside]]
    unknown = inside[inside["admissions"].isna()]
    if len(unknown):
        raise InputError(f"progress: the admissions of unit '{unknown['unit_id'].iat[0]}' in "
                         f"{unknown['period'].iat[0]} are unknown (empty or no admissions column)")
    covered = inside.groupby("unit_id")["months"].sum().reindex(org.ids, fill_value=0)
    months = int((through - start).n) + 1
    short = covered[covered != months]
    if len(short):
        raise InputError(f"progress: the counts cover {int(short.to_numpy()[0])} of the {months} months {start} to "
                         f"{through} for unit '{short.index[0]}' ({len(short)} unit(s) short); every unit needs "
                         "its months counted (rows with admissions 0 where none)")
    counted: np.ndarray = inside.groupby("unit_id")["admissions"].sum().reindex(org.ids).to_numpy(dtype=float)
    return counted


def _targets(scenario: Scenario, plan: pd.DataFrame | None) -> pd.Series:
    ids = scenario.org.ids
    if plan is None:
        return scenario.targets.reindex(ids)
    if not isinstance(plan, pd.DataFrame) or not {"unit_id", "share"} <= set(plan.columns):
        raise InputError("progress: plan must be a DataFrame with columns unit_id and share (from mf.allocate)")
    unknown = [u for u in plan["unit_id"] if u not in scenario.org]
    if unknown:
        raise UnknownIdError(f"progress: plan names unknown unit(s) {unknown[:5]}")
    if plan["unit_id"].duplicated().any():
        twice = plan["unit_id"][plan["unit_id"].duplicated()]
        raise InputError(f"progress: plan gives unit(s) twice: {list(twice[:5])}")
    share = pd.to_numeric(plan["share"], errors="coerce")
    if share.isna().any() or (share < 0).any():
        bad = plan["unit_id"][share.isna() | (share < 0)].iat[0]
        raise InputError(f"progress: the plan's share of '{bad}' must be a number >= 0")
    return pd.Series(share.to_numpy(dtype=float), index=plan["unit_id"].to_numpy()).reindex(ids)


def _scenario_at(scenario: Scenario, stocks: TableLike, month: pd.Period) -> Scenario:
    """The scenario's organisation, pipeline, parameters and targets with ``stocks`` and
    calendar start ``month``: a copy, the original unchanged."""
    core = scenario._core.replace([])
    load_table(stocks, "stocks", core.set_stocks_csv, core.set_stocks_columns)
    core.start = month_text(month)
    core.validate()
    obj = Scenario.__new__(Scenario)
    obj._init(core, scenario.org, scenario.pipeline)
    return obj


# -- status --------------------------------------------------------------------------------

def _status(p: float, on_track: float, behind: float) -> str:
    if np.isnan(p):
        return "no target"
    return "on track" if p >= on_track else "behind" if p < behind else "at risk"


def _reason(status: str, p: float, target: float, admitted: float, pro_rata: float, rest_mean: float,
            through: pd.Period, year_end: pd.Period, on_track: float, behind: float,
            forecast_range: tuple[float, float] | None = None) -> str:
    """The status in a sentence with its numbers; ``forecast_range``: the 90% interval of
    the admissions so far forecast at the start of the year, if there is one."""
    if status == "no target":
        return f"no target; admitted {admitted} by {through}, {rest_mean:.1f} more expected by {year_end}"
    rule = {"on track": f"P >= {on_track:g}", "behind": f"P < {behind:g}",
            "at risk": f"{behind:g} <= P < {on_track:g}"}[status]
    against = f"pro rata {pro_rata:.1f}" + ("" if forecast_range is None else
                                            f", forecast 90% {int(forecast_range[0])}-{int(forecast_range[1])}")
    return (f"P(year >= {math.ceil(target):g}) = {p:.2f}: {status} ({rule}); admitted {admitted} by {through} "
            f"({against}), {rest_mean:.1f} more expected by {year_end}")


# -- roll-ups --------------------------------------------------------------------------------

def _levels_frame(units: pd.DataFrame) -> pd.DataFrame:
    g = units.groupby("depth", sort=True)
    frame = pd.DataFrame({
        "units": g.size(),
        "with_target": g["target"].count(),
        "target": g["target"].sum(min_count=1),
        "admitted": g["admitted"].sum(),
        "pro_rata": g["pro_rata"].sum(min_count=1),
        "expected_year": g["expected_year"].sum(),
    })
    for status, column in (("on track", "on_track"), ("at risk", "at_risk"), ("behind", "behind")):
        frame[column] = g["status"].apply(_counter(status))
    return frame.reset_index()


def _counter(status: str) -> Callable[[pd.Series], int]:
    """How many of a group's units have ``status``."""
    return lambda s: int((s == status).sum())


def _top_units(org: Org) -> dict[str, list[str]]:
    """Each overseer's units without those inside another of its units' subtrees."""
    out = {}
    for overseer, units in org.overseers.items():
        chosen = set(units)
        out[overseer] = [u for u in units if not chosen.intersection(org.ancestors(u))]
    return out


def _convolve(pmfs: list[pd.Series]) -> pd.Series:
    """The pmf of a sum of independent counts, each a pmf Series indexed by k."""
    offset, probs = 0, np.ones(1)
    for pmf in pmfs:
        offset += int(pmf.index[0])
        probs = np.convolve(probs, pmf.to_numpy())
    return pd.Series(probs, index=pd.Index(np.arange(offset, offset + len(probs)), name="k"), name="probability")


def _overseers_frame(result: Progress, org: Org, on_track: float, behind: float, through: pd.Period,
                     year_end: pd.Period) -> pd.DataFrame:
    units = result.units.set_index("unit_id")
    rows = []
    for overseer, assigned in org.overseers.items():
        top = result._overseen[overseer]
        u = units.loc[top]
        target = u["target"].sum(min_count=1)
        pmf = result.overseer_pmf(overseer)
        admitted = int(u["admitted"].sum())
        if np.isnan(target):
            p = math.nan
        else:
            p = float(min(pmf[pmf.index >= math.ceil(target)].sum(), 1.0))
        status = _status(p, on_track, behind)
        pro_rata = target * result.months / YEAR
        expected_year = float(u["expected_year"].sum())
        reason = _reason(status, p, target, admitted, pro_rata, expected_year - admitted, through, year_end,
                         on_track, behind)
        rows.append({"overseer_id": overseer, "units": ", ".join(assigned), "target": target,
                     "admitted": admitted, "pro_rata": pro_rata, "expected_year": expected_year,
                     "p_meet": p, "status": status, "status_reason": reason})
    columns = ["overseer_id", "units", "target", "admitted", "pro_rata", "expected_year", "p_meet", "status",
               "status_reason"]
    return pd.DataFrame(rows, columns=columns)
