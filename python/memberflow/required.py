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

import numpy as np
import pandas as pd

from .errors import InputError
from .forecast import forecast
from .scenario import Scenario

__all__ = ["required_source"]

WHEN = ("monthly", "now")


def required_source(scenario: Scenario, target: float | None = None, *, node: str | None = None,
                    probability: float = 0.8, horizon: int = 12, when: str = "monthly",
                    units=None, tolerance: float = 0.01) -> pd.DataFrame:
    """The extra candidates for ``node`` (default: the root) to reach ``target`` (default:
    its target in the scenario) admissions within ``horizon`` months with at least
    ``probability``.

    ``when="monthly"``: extra arrivals a month into the first stage (found to
    ``tolerance``); ``when="now"``: extra people in the first stage today (whole people).
    ``units``: who gets them, a list of unit ids; by default the node's subtree in
    proportion to each unit's current inflow (equally among its leaves when no unit has
    any). The extra of ``when="now"`` is split in whole people by largest remainders.

    Returns one row per receiving unit (``unit_id``, ``share`` of the total, ``extra``);
    ``attrs`` holds the total, the chance before and after (the after re-checked by an
    exact forecast of the changed scenario), and the number of exact-engine evaluations.
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
    receivers, weights = _receivers(scenario, node, units)
    evaluations = 0

    def chance(total: float) -> float:
        nonlocal evaluations
        evaluations += 1
        changed = _with_extra(scenario, receivers, _split(total, weights, when), when)
        fc = forecast(changed, horizon, method="exact")
        return float(fc.prob_at_least("admissions", math.ceil(target), unit=node))

    before = chance(0.0)
    if before >= probability:
        return _result(receivers, weights, 0.0, when, target, probability, before, before, evaluations, node)
    low, high = 0.0, 1.0
    while chance(high) < probability:
        low, high = high, 2 * high
        if high > 1e6:
            raise InputError(f"node '{node}': even {high:g} extra candidates "
                             f"{'a month' if when == 'monthly' else 'now'} do not reach P >= {probability} of "
                             f"{target:g} admissions within {horizon} months")
    step = tolerance if when == "monthly" else 1.0
    while high - low > step:
        middle = (low + high) / 2 if when == "monthly" else float(math.floor((low + high) / 2))
        if middle <= low:
            break
        (low, high) = (low, middle) if chance(middle) >= probability else (middle, high)
    after = chance(high)  # the re-check: an exact forecast of the scenario with the extra in it
    return _result(receivers, weights, high, when, target, probability, before, after, evaluations, node)


def _receivers(scenario: Scenario, node: str, units) -> tuple[list[str], np.ndarray]:
    org = scenario.org
    if units is not None:
        units = list(units)
        unknown = [u for u in units if u not in org.ids]
        if unknown:
            raise InputError(f"unknown unit '{unknown[0]}' in units")
        if not units:
            raise InputError("units: give at least one unit")
        return units, np.full(len(units), 1 / len(units))
    subtree = list(org.subtree(node))
    inflow = scenario.param("inflow").reindex(subtree).to_numpy(dtype=float)
    if inflow.sum() > 0:
        keep = inflow > 0
        return [u for u, k in zip(subtree, keep) if k], inflow[keep] / inflow.sum()
    leaves = [u for u in subtree if not org.children(u)]
    return leaves, np.full(len(leaves), 1 / len(leaves))


def _split(total: float, weights: np.ndarray, when: str) -> np.ndarray:
    """The total in proportion to the weights; whole people by largest remainders."""
    if when == "monthly":
        return total * weights
    exact = total * weights
    whole = np.floor(exact + 1e-9)
    left = int(round(total - whole.sum()))
    order = np.argsort(-(exact - whole), kind="stable")  # ties: the first unit first
    whole[order[:left]] += 1
    return whole


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


def _result(receivers, weights, total, when, target, probability, before, after, evaluations, node) -> pd.DataFrame:
    frame = pd.DataFrame({"unit_id": receivers, "share": weights, "extra": _split(total, weights, when)})
    frame.attrs.update(node=node, target=target, probability=probability, when=when, total=total,
                       chance_before=before, chance_after=after, evaluations=evaluations)
    return frame
