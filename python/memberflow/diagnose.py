"""Risk diagnosis per unit: the chance of meeting its target, units with no source or a
source that does not convert, targets out of reach at current rates, and the price of a
target met only by lowering the bar (docs/planning.md, "Risk diagnosis").

Every flag comes with its reason in words and the numbers behind it. The chances and
expectations are the exact engine's; the lowered-bar price is the simulation engine's
target rule (the only engine that can make people depend on the running count), run
twice with the same seed, with and without the rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from numbers import Real

import numpy as np
import pandas as pd

from .errors import InputError, UnknownIdError
from ._checks import INT_MAX, real_number, whole_number
from .forecast import forecast
from .results import YEAR
from .scenario import Scenario

__all__ = ["diagnose", "LOWERED_BAR", "FLAGS"]

#: The default lowered bar: when a node is behind its target at a quarter's end, its
#: units' monthly chance of admission from training rises by 0.1 for the next quarter
#: (at the example district's training advance of 0.10-0.15 a month, about double: the
#: expected time in training halves), and the people admitted in those months pass
#: probation with a chance 0.2 lower (0.77 instead of 0.97). Units do not stop admitting
#: once a target is met (stop_when_met False), so the rule only ever lowers the bar.
LOWERED_BAR = {"advance_boost": 0.1, "pass_penalty": 0.2, "margin": 0.0, "stop_when_met": False}

#: The flags, in the order of the ``flags`` column.
FLAGS = ("no_source", "source_no_admissions", "infeasible", "low_chance", "lowered_bar")


def diagnose(scenario: Scenario, plan: pd.DataFrame | None = None, *, horizon: int = 12,
             pool_threshold: float = 5, infeasible_below: float = 0.05, low_below: float = 0.5,
             lowered_bar: Mapping[str, Any] | bool | None = None, price_above: float = 0.05, paths: int = 2000,
             seed: int = 0, threads: int | None = None) -> pd.DataFrame:
    """One row per unit (the organisation's preorder) with its target, the exact chance of
    meeting it, its source, and five flags, each with a reason in words.

    ``plan``: a frame from :func:`memberflow.allocate` (columns ``unit_id``, ``share``):
    the targets are its shares (units it does not list have none); by default the
    scenario's targets, pro rata over ``horizon`` months (``Forecast.target_window``).

    Flags: ``no_source`` (nobody in the stages before admission in the unit's subtree
    and no arrivals: nobody can be admitted); ``source_no_admissions`` (the unit's own
    pool >= ``pool_threshold`` but fewer than 1 own admission expected);
    ``infeasible`` (P(meet) < ``infeasible_below``); ``low_chance``
    (``infeasible_below`` <= P(meet) < ``low_below``: more likely missed than met);
    ``lowered_bar`` (at least ``price_above`` of the target met only by lowering the
    bar). ``lowered_bar``: the simulation's target rule (keys ``advance_boost``,
    ``pass_penalty``, ``margin``, ``stop_when_met``; default ``LOWERED_BAR`` of this module), or
    False to skip the simulation. ``paths``, ``seed``, ``threads``: the simulation's.

    ``attrs``: horizon, thresholds, lowered_bar (the rule used, or None), exact_evaluations,
    simulations, paths, seed.
    """
    if not isinstance(scenario, Scenario):
        raise InputError(f"diagnose: expected a memberflow.Scenario, got {type(scenario).__name__}")
    horizon = whole_number("diagnose: horizon", horizon, low=1, high=INT_MAX)
    pool_threshold = real_number("diagnose: pool_threshold", pool_threshold, 0, math.inf)
    infeasible_below = real_number("diagnose: infeasible_below", infeasible_below, 0, 1)
    low_below = real_number("diagnose: low_below", low_below, infeasible_below, 1)
    price_above = real_number("diagnose: price_above", price_above, 0, math.inf)
    rule = _rule(scenario, lowered_bar)
    if rule is not None:
        paths = whole_number("diagnose: paths", paths, low=1)
        seed = whole_number("diagnose: seed", seed, low=0)

    org = scenario.org
    order = org.subtree(org.root)  # preorder
    fc = forecast(scenario, horizon, method="exact", threads=threads)
    target = fc.target_window((0, horizon)) if plan is None else _plan_targets(scenario, plan, horizon)
    admissions = fc.distribution("admissions")
    stages = scenario.pipeline.stages
    before = stages[:stages.index(scenario.pipeline.admission)]
    pool = scenario.stock_totals()[before].sum(axis=1)
    inflow = scenario.param("inflow")
    frame = pd.DataFrame({
        "parent_id": [org.parent(u) for u in org.ids],
        "depth": [org.depth(u) for u in org.ids],
        "name": org.names, "kind": org.kinds,
        "target": target.astype(float),
        "expected": fc.mean("admissions"),
        "own_expected": fc.own("admissions").sum(axis=1),
        "p_meet": admissions.prob_at_least(target),
        "pool": pool, "inflow": inflow,
        "subtree_pool": org.rollup(pool), "subtree_inflow": org.rollup(inflow),
    }, index=org.ids)
    has = frame["target"].notna()
    frame["no_source"] = (frame["subtree_pool"] == 0) & (frame["subtree_inflow"] == 0)
    frame["source_no_admissions"] = (frame["pool"] >= pool_threshold) & (frame["own_expected"] < 1)
    frame["infeasible"] = has & (frame["p_meet"] < infeasible_below)
    frame["low_chance"] = has & (frame["p_meet"] >= infeasible_below) & (frame["p_meet"] < low_below)

    simulations = 0
    lowered = {c: np.nan for c in ("p_meet_sim", "p_meet_lowered", "lowered_bar_admissions", "lowered_bar_share",
                                   "lowered_bar_not_confirmed")}
    if rule is not None and has.any():
        lowered = _lowered_bar(scenario, frame["target"], horizon, rule, paths, seed, threads, plan is not None)
        simulations = 2
    for column, values in lowered.items():
        frame[column] = values
    frame["lowered_bar"] = has & (frame["target"] > 0) & (frame["lowered_bar_share"] >= price_above)

    words = _Words(horizon, before, rule, infeasible_below, low_below)
    flags = frame[list(FLAGS)].to_numpy()
    frame["flags"] = [", ".join(f for f, on in zip(FLAGS, row) if on) for row in flags]
    frame["reasons"] = [" ".join(getattr(words, f)(r) for f, on in zip(FLAGS, row) if on)
                        for row, (_, r) in zip(flags, frame.iterrows())]
    frame = frame.loc[order].rename_axis("unit_id").reset_index()
    frame.attrs.update(horizon=horizon, thresholds={"pool_threshold": pool_threshold,
                                                    "infeasible_below": infeasible_below,
                                                    "low_below": low_below, "price_above": price_above},
                       lowered_bar=None if rule is None or not simulations else dict(rule),
                       exact_evaluations=1, simulations=simulations,
                       paths=paths if simulations else 0, seed=seed)
    return frame


def _rule(scenario: Scenario, lowered_bar: Mapping[str, Any] | bool | None) -> dict[str, Any] | None:
    """The target rule of the lowered bar, checked, or None to skip the simulation."""
    if lowered_bar is False:
        return None
    if lowered_bar is None or lowered_bar is True:
        rule = dict(LOWERED_BAR)
    elif isinstance(lowered_bar, Mapping):
        unknown = sorted(set(lowered_bar) - set(LOWERED_BAR))
        if unknown:
            raise InputError(f"diagnose: lowered_bar has unknown key(s) {unknown} (keys: {', '.join(LOWERED_BAR)})")
        rule = {**LOWERED_BAR, **lowered_bar}
    else:
        raise InputError(f"diagnose: lowered_bar must be a dict of the target rule, None (the default rule) or "
                         f"False (no simulation), got {lowered_bar!r}")
    for key in ("advance_boost", "pass_penalty"):
        rule[key] = real_number(f"diagnose: lowered_bar {key}", rule[key], 0, 1)
    rule["margin"] = real_number("diagnose: lowered_bar margin", rule["margin"], -math.inf, math.inf)
    if not isinstance(rule["stop_when_met"], (bool, np.bool_)):
        raise InputError(f"diagnose: lowered_bar stop_when_met must be True or False, got {rule['stop_when_met']!r}")
    pipe = scenario.pipeline
    kinds = pipe.to_frame()["kind"]
    stage_before = pipe.stages[pipe.stages.index(pipe.admission) - 1] if pipe.stages.index(pipe.admission) else None
    if stage_before is None or kinds[stage_before] != "markov":
        raise InputError("diagnose: the lowered bar (the simulation's target rule) needs a markov stage before "
                         f"admission ('{pipe.admission}'); give lowered_bar=False")
    if rule["pass_penalty"] > 0 and kinds[pipe.admission] != "fixed":
        raise InputError(f"diagnose: lowered_bar pass_penalty needs a fixed-duration admission stage "
                         f"('{pipe.admission}' is {kinds[pipe.admission]}); give pass_penalty=0")
    return rule


def _plan_targets(scenario: Scenario, plan: Any, horizon: int) -> pd.Series:
    """Targets by unit id from a plan's shares (NaN for the units it does not list)."""
    if not isinstance(plan, pd.DataFrame) or not {"unit_id", "share"} <= set(plan.columns):
        raise InputError("diagnose: plan must be a DataFrame from mf.allocate (columns unit_id and share)")
    planned = plan.attrs.get("horizon")
    if planned is not None and planned != horizon:
        raise InputError(f"diagnose: the plan splits admissions over {planned} months (plan.attrs['horizon']) "
                         f"but horizon={horizon}")
    ids = plan["unit_id"]
    unknown = [u for u in ids if u not in scenario.org]
    if unknown:
        raise UnknownIdError(f"diagnose plan: unknown unit(s) {unknown[:5]}")
    if ids.duplicated().any():
        raise InputError(f"diagnose plan: unit(s) listed twice: {list(ids[ids.duplicated()][:5])}")
    for u, v in zip(ids, plan["share"]):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, Real) or not math.isfinite(v) or v < 0 \
                or not float(v).is_integer():
            raise InputError(f"diagnose plan: the share of '{u}' must be a whole number >= 0, got {v!r}")
    return pd.Series(plan["share"].to_numpy(dtype=float), index=ids.to_numpy()).reindex(scenario.org.ids)


def _lowered_bar(scenario: Scenario, target: pd.Series, horizon: int, rule: dict[str, Any], paths: int, seed: int,
                 threads: int | None, from_plan: bool) -> dict[str, Any]:
    """Two simulations with the same seed, without and with the target rule; per node:
    P(meet) in each, the rule's extra admissions, the part of the target met only by it,
    and its extra probation failures (admissions of months [0, horizon) never confirmed,
    read as confirmations over [D, horizon + D): an admission in month t is confirmed in
    month t + D, and no one in probation now is confirmed that late)."""
    pipe = scenario.pipeline
    stages = pipe.to_frame()
    fixed = stages.loc[pipe.admission, "kind"] == "fixed"
    months = int(stages.loc[pipe.admission, "months"]) if fixed else 0  # type: ignore[arg-type]  # a fixed stage's
    track = [("admissions", 0, horizon)] + ([("confirmations", months, horizon + months)] if fixed else [])
    if from_plan:  # the rule reads targets as yearly: the plan's shares over the horizon, per year
        changes = [{"scope": "*", "what": "target", "value": math.nan}]
        changes += [{"scope": u, "what": "target", "value": v * YEAR / horizon} for u, v in target.dropna().items()]
        scenario = scenario.replace(changes)
    runs = [forecast(scenario, horizon + months, method="simulate", paths=paths, seed=seed, threads=threads,
                     track=track, progress=False, target_rule=r)
            for r in (None, rule)]
    out = {}
    capped, failures = [], []
    for name, sim in zip(("p_meet_sim", "p_meet_lowered"), runs):
        d = sim.distribution("admissions", window=(0, horizon))
        out[name] = d.prob_at_least(target)
        tidy = d.to_frame()
        cap = np.minimum(tidy["k"].to_numpy(dtype=float), tidy["unit_id"].map(target).to_numpy(dtype=float))
        capped.append(pd.Series(cap * tidy["probability"].to_numpy(), index=tidy["unit_id"])
                      .groupby(level=0).sum().reindex(target.index))
        if fixed:
            failures.append(sim.mean("admissions", window=(0, horizon))
                            - sim.mean("confirmations", window=(months, horizon + months)))
    out["lowered_bar_admissions"] = runs[1].mean("admissions", window=(0, horizon)) \
        - runs[0].mean("admissions", window=(0, horizon))
    share = (capped[1] - capped[0]) / target
    out["lowered_bar_share"] = share.where(target != 0, 0.0).where(target.notna())
    out["lowered_bar_not_confirmed"] = failures[1] - failures[0] if fixed else pd.Series(np.nan, index=target.index)
    return out


class _Words:
    """The reason of each flag in one sentence with the numbers."""

    def __init__(self, horizon: int, before: list[str], rule: dict[str, Any] | None, infeasible_below: float,
                 low_below: float):
        self.months = f"{horizon} month{'s' if horizon != 1 else ''}"
        self.stages = " and ".join(before) or "the stages before admission"
        self.rule = rule
        self.infeasible_below = infeasible_below
        self.low_below = low_below

    def no_source(self, r: Any) -> str:
        against = f" against a target of {r.target:g}" if r.target > 0 else ""
        return f"Nobody in {self.stages} and no arrivals in its subtree: no one can be admitted{against}."

    def source_no_admissions(self, r: Any) -> str:
        return (f"{r.pool:g} people in {self.stages} but {r.own_expected:.2g} admissions expected "
                f"in {self.months}.")

    def _chance(self, r: Any) -> str:
        wanted = math.ceil(r.target)
        return (f"P(at least {wanted:g} admission{'s' if wanted != 1 else ''} in {self.months}) {_equals(r.p_meet)} "
                f"({r.expected:.3g} expected)")

    def infeasible(self, r: Any) -> str:
        return f"{self._chance(r)}, below {_percent(self.infeasible_below)}: infeasible at current rates."

    def low_chance(self, r: Any) -> str:
        return f"{self._chance(r)}, below {_percent(self.low_below)}: more likely missed than met."

    def lowered_bar(self, r: Any) -> str:
        assert self.rule is not None  # the flag is raised only where a rule ran
        failures = "" if math.isnan(r.lowered_bar_not_confirmed) else \
            f", at {r.lowered_bar_not_confirmed:.3g} more expected probation failures"
        return (f"Lowering the bar (training advance +{self.rule['advance_boost']:g}, probation pass "
                f"-{self.rule['pass_penalty']:g} when behind) adds {r.lowered_bar_admissions:.3g} expected "
                f"admissions: {_percent(r.lowered_bar_share)} of the target of {r.target:g} met only that way, "
                f"P(meet) {_percent(r.p_meet_sim)} -> {_percent(r.p_meet_lowered)}{failures}.")


def _percent(p: float) -> str:
    return "under 0.01%" if 0 < p < 1e-4 else f"{100 * p:.3g}%"


def _equals(p: float) -> str:
    """'= 18.3%', or '< 0.01%' for a chance too small to print."""
    return "< 0.01%" if 0 < p < 1e-4 else f"= {_percent(p)}"
