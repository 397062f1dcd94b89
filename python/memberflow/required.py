"""The source a target needs: how many more candidates, and where, for a node to reach
its target with a chosen probability within the horizon (docs/planning.md, "Required
source").

The chance that a node's admissions over the horizon reach the target rises with every
extra candidate (each is one more independent chance of an admission, and the exact
engine's pmf of a sum of binomials and Poissons moves up stochastically), so the smallest
sufficient amount is found by a monotone search on the exact engine: doubling until the
chance is reached, then bisection.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Callable

import numpy as np
import pandas as pd

from . import _core
from .errors import InputError
from .exact import ExactForecast
from .forecast import forecast
from .results import Forecast
from .scenario import Scenario

__all__ = ["required_source"]

WHEN = ("monthly", "now")


def required_source(scenario: Scenario, target: float | None = None, *, node: str | None = None,
                    probability: float = 0.8, horizon: int = 12, when: str = "monthly",
                    units: str | Iterable[str] | None = None, spread: str | Mapping[str, float] | pd.Series = "inflow",
                    tolerance: float = 0.01) -> pd.DataFrame:
    """The extra candidates for ``node`` (default: the root) to reach ``target`` (default:
    its target in the scenario) admissions within ``horizon`` months with at least
    ``probability``.

    ``when="monthly"``: extra arrivals a month into the first stage (found to
    ``tolerance``); ``when="now"``: extra people in the first stage today (whole people).

    Where they go: ``units``, the receivers, is a scope (``"kind:<kind>"``,
    ``"subtree:<id>"``, a unit id, ``"*"``) or a list of unit ids, all inside the node's
    subtree (default: the whole subtree); ``spread`` divides the total among them:
    ``"inflow"`` (default, in proportion to each unit's current arrivals), ``"equal"``,
    ``"members"`` or a stage name (its stock now), or weights by unit id. Receivers of
    weight 0 get nothing; when all weigh 0 the total is split equally among the
    receivers that are leaves (all of them if none is). The extra of ``when="now"`` is
    split in whole people by largest remainders.

    Returns one row per receiving unit: ``unit_id``, ``share`` of the total, ``extra``,
    and ``expected_before`` / ``expected_after``, the unit's own expected admissions over
    the horizon without and with the extra. ``attrs`` holds the total, the chance before
    and after (the after re-checked by an exact forecast of the changed scenario), and
    ``evaluations``, the number of exact-engine runs.
    """
    if when not in WHEN:
        raise InputError(f"when must be one of {WHEN}, got {when!r}")
    if not 0 < probability < 1:
        raise InputError(f"probability must be in (0, 1), got {probability}")
    org = scenario.org
    node = org.root if node is None else node
    if node not in org.ids:
        raise InputError(f"unknown node '{node}'")
    if target is None:
        target = float(scenario.targets.get(node, math.nan))
        if math.isnan(target):
            raise InputError(f"node '{node}' has no target in the scenario: give target=")
    receivers, weights = _receivers(scenario, node, units, spread)
    evaluations = 0

    def run(total: float) -> tuple[ExactForecast, float]:
        nonlocal evaluations
        evaluations += 1
        changed = _with_extra(scenario, receivers, _split(total, weights, when), when)
        fc = forecast(changed, horizon, method="exact")
        return fc, float(fc.prob_at_least("admissions", math.ceil(target), unit=node))

    def chance(total: float) -> float:
        return run(total)[1]

    plain, before = run(0.0)
    high = 0.0
    if before < probability:
        high = _smallest_sufficient(chance, probability, tolerance if when == "monthly" else 1.0,
                                    whole=when == "now", node=node, target=target, horizon=horizon, when=when)
    checked, after = run(high)  # the re-check: an exact forecast of the scenario with the extra in it
    frame = pd.DataFrame({"unit_id": receivers, "share": weights, "extra": _split(high, weights, when),
                          "expected_before": _own_expected(plain, receivers),
                          "expected_after": _own_expected(checked, receivers)})
    frame.attrs.update(node=node, target=target, probability=probability, when=when, horizon=horizon, total=high,
                       chance_before=before, chance_after=after, evaluations=evaluations)
    return frame


def _smallest_sufficient(chance: Callable[[float], float], probability: float, step: float, *, whole: bool, node: str,
                         target: float, horizon: int, when: str) -> float:
    """The smallest total (to ``step``) whose chance reaches ``probability``: doubling from
    1, then bisection. The chance rises with the total (module docstring)."""
    low, high = 0.0, 1.0
    while chance(high) < probability:
        low, high = high, 2 * high
        if high > 1e6:
            raise InputError(f"node '{node}': even {high:g} extra candidates "
                             f"{'a month' if when == 'monthly' else 'now'} do not reach P >= {probability} of "
                             f"{target:g} admissions within {horizon} months")
    while high - low > step:
        middle = float(math.floor((low + high) / 2)) if whole else (low + high) / 2
        if middle <= low:
            break
        (low, high) = (low, middle) if chance(middle) >= probability else (middle, high)
    return high


def _own_expected(fc: Forecast, receivers: list[str]) -> np.ndarray:
    own = pd.Series(fc.own("admissions").sum(axis=1), index=fc.org.ids)
    return own.reindex(receivers).to_numpy(dtype=float)


def _receivers(scenario: Scenario, node: str, units: Any, spread: Any) -> tuple[list[str], np.ndarray]:
    org = scenario.org
    inside = set(org.subtree(node))
    if units is None:
        scope = org.subtree(node)
    elif isinstance(units, str):
        scope = [u for u in org.units_in_scope(units) if u in inside]
        if not scope:
            raise InputError(f"units '{units}': no unit of it is in the subtree of '{node}'")
    else:
        scope = list(units)
        if not scope:
            raise InputError("units: give at least one unit")
        for u in scope:
            if u not in org.ids:
                raise InputError(f"unknown unit '{u}' in units")
            if u not in inside:
                raise InputError(f"unit '{u}' is not in the subtree of '{node}': its admissions do not count there")
    weights = _spread_weights(scenario, scope, spread)
    if weights.sum() > 0:
        keep = weights > 0
        return [u for u, k in zip(scope, keep) if k], weights[keep] / weights.sum()
    leaves = [u for u in scope if not org.children(u)] or scope
    return leaves, np.full(len(leaves), 1 / len(leaves))


def _spread_weights(scenario: Scenario, scope: list[str], spread: Any) -> np.ndarray:
    if isinstance(spread, str):
        if spread == "inflow":
            return scenario.param("inflow").reindex(scope).to_numpy(dtype=float)
        if spread == "equal":
            return np.ones(len(scope))
        totals = scenario.stock_totals()
        stage = scenario.pipeline.stages[-1] if spread == "members" else spread
        if stage not in totals.columns:
            raise InputError(f"spread '{spread}': not inflow, equal, members or a stage "
                             f"({', '.join(totals.columns)})")
        return totals[stage].reindex(scope).to_numpy(dtype=float)
    given = pd.Series(spread, dtype=float)
    unknown = given.index.difference(scenario.org.ids)
    if len(unknown):
        raise InputError(f"spread: unknown unit '{unknown[0]}'")
    values = given.reindex(scope).fillna(0.0).to_numpy(dtype=float)
    if not np.isfinite(values).all() or (values < 0).any():
        raise InputError("spread: weights must be finite and >= 0")
    return values


def _split(total: float, weights: np.ndarray, when: str) -> np.ndarray:
    """The total in proportion to the weights; whole people by largest remainders."""
    if when == "monthly":
        return total * weights
    return np.asarray(_core.apportion(round(total), weights.tolist()), dtype=float)


def _with_extra(scenario: Scenario, receivers: list[str], extra: np.ndarray, when: str) -> Scenario:
    first = scenario.pipeline.stages[0]
    if when == "monthly":  # arrivals a month: the unit's inflow raised by its part
        inflow = scenario.param("inflow")
        rows = [(u, first, "inflow", "set", float(inflow[u]) + float(x)) for u, x in zip(receivers, extra) if x > 0]
    else:  # whole people in the first stage now
        rows = [(u, first, "stock", "add", float(x)) for u, x in zip(receivers, extra) if x > 0]
    if not rows:
        return scenario
    return scenario.replace(pd.DataFrame(rows, columns=["scope", "stage", "what", "op", "value"]))
