"""Splitting a node's target down the tree, in whole numbers that add up exactly.

See docs/planning.md for the methods, the proof that the risk-balanced greedy is
optimal, the tie rule and the errors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any, Optional, Union

import numpy as np
import pandas as pd

from . import _core
from ._tables import parent_ids
from .errors import InputError, UnknownIdError
from .scenario import Scenario

__all__ = ["InfeasibleTargetError", "allocate"]

METHODS = ("risk", "expected", "weight")
Bound = Union[None, int, Mapping[str, int], pd.Series]


class InfeasibleTargetError(InputError):
    """A target that cannot be split within the minimums and maximums. ``unit`` is the
    unit whose constraint fails, ``constraint`` which one: ``minimum``, ``maximum``,
    ``children's minimums``, ``children's maximums`` or ``minimum above maximum``."""

    def __init__(self, message: str, unit: str, constraint: str):
        super().__init__(message)
        self.unit = unit
        self.constraint = constraint


def _weights(scenario: Scenario, weights: Any) -> np.ndarray:
    """Per-unit weights: None = full members (the terminal stage's stock); a stage name
    (its stock), ``members``, a numeric attribute of the org, or values by unit id."""
    if weights is None or (isinstance(weights, str) and weights == "members"):
        weights = scenario.pipeline.stages[-1]
    if isinstance(weights, str):
        totals = scenario.stock_totals()
        if weights in totals.columns:
            return totals[weights].to_numpy(dtype=float)
        try:
            column = scenario.org.attribute(weights)
        except UnknownIdError:
            raise UnknownIdError(f"allocate: weights '{weights}' is neither a stage ({', '.join(totals.columns)}), "
                                 "'members' nor an attribute of the units") from None
        values = pd.to_numeric(column, errors="coerce")
        if values.isna().any():
            raise InputError(f"allocate: attribute '{weights}' is not a number for unit(s) "
                             f"{list(values.index[values.isna()][:5])}")
        return values.to_numpy(dtype=float)
    out = scenario.org.align(weights, "allocate weights")
    if not np.isfinite(out).all() or (out < 0).any():
        raise InputError("allocate: weights must be finite and >= 0")
    return out


def _bound(scenario: Scenario, value: Bound, what: str, default: int) -> list[int]:
    n = len(scenario.org)
    if value is None:
        return [default] * n
    if isinstance(value, (Integral, np.integer)) and not isinstance(value, bool):
        if value < 0:
            raise InputError(f"allocate: {what} must be >= 0, got {value}")
        return [int(value)] * n
    if isinstance(value, Real) and not isinstance(value, bool):
        raise InputError(f"allocate: {what} must be a whole number, got {value!r}")
    series = pd.Series(value, dtype=object) if isinstance(value, Mapping) else value
    if not isinstance(series, pd.Series):
        raise InputError(f"allocate: {what} must be an integer or a mapping from unit id to integer")
    unknown = series.index.difference(scenario.org.ids)
    if len(unknown):
        raise UnknownIdError(f"allocate {what}: unknown unit(s) {list(unknown[:5])}")
    out = [default] * n
    index = {u: i for i, u in enumerate(scenario.org.ids)}
    for unit, v in series.items():
        if isinstance(v, bool) or not isinstance(v, (Integral, np.integer, Real)) or \
                (isinstance(v, Real) and not float(v).is_integer()) or v < 0:
            raise InputError(f"allocate: the {what} of '{unit}' must be a whole number >= 0, got {v!r}")
        out[index[unit]] = int(v)  # type: ignore[arg-type]  # checked whole above
    return out


def allocate(scenario: Scenario, target: Optional[int] = None, *, node: Optional[str] = None,
             method: str = "risk", weights: Any = None, minimum: Bound = None, maximum: Bound = None,
             horizon: int = 12) -> pd.DataFrame:
    """Split ``target`` admissions of ``node`` (default: the root, and its target from
    ``scenario.targets``) among its children, recursively to the leaves, in whole numbers
    that add up exactly at every node.

    ``method``: ``"risk"`` (default) maximises, at every node, the sum over its parts of
    log P(admissions >= share) with the exact engine's pmfs over months 0..horizon-1;
    ``"expected"`` splits in proportion to expected admissions; ``"weight"`` in proportion
    to ``weights`` (a child weighs its subtree's total): a Series or mapping by unit id,
    a stage name (its current stock), ``"members"`` (the default: the terminal stage) or
    a numeric attribute of the units. A node whose own people can be admitted takes part
    in its split beside its children (``own_share``).

    ``minimum`` and ``maximum`` bound every unit's share (its subtree's target): one
    integer for all units or a mapping by unit id. If they make the target impossible,
    :class:`InfeasibleTargetError` names the unit and the constraint.

    Returns one row per unit of the node's subtree (preorder): unit_id, parent_id,
    depth, name, kind, share, own_share, expected, own_expected, p_meet (P(the
    subtree's admissions >= share)), own_p_meet, minimum, maximum. ``attrs`` holds
    node, target, method, horizon, exact_evaluations and greedy_steps.
    """
    if not isinstance(scenario, Scenario):
        raise InputError(f"allocate: expected a memberflow.Scenario, got {type(scenario).__name__}")
    if method not in METHODS:
        raise InputError(f"allocate: unknown method {method!r} (methods: {', '.join(METHODS)})")
    org = scenario.org
    node = org.root if node is None else node
    if node not in org:
        raise UnknownIdError(f"allocate: unknown unit '{node}'")
    if target is None:
        targets = scenario.targets
        if node not in targets.index or not np.isfinite(targets[node]):
            raise InputError(f"allocate: '{node}' has no target in the scenario; give target=")
        target = targets[node]
    if isinstance(target, bool) or not isinstance(target, (Integral, np.integer, Real)) or \
            not math.isfinite(float(target)) or not float(target).is_integer() or target < 0:
        raise InputError(f"allocate: the target must be a whole number >= 0, got {target!r}")
    w = _weights(scenario, weights).tolist() if method == "weight" else []
    if weights is not None and method != "weight":
        raise InputError(f"allocate: weights are for method='weight', not {method!r}")
    lo = _bound(scenario, minimum, "minimum", 0)
    hi = _bound(scenario, maximum, "maximum", _core.NO_MAXIMUM)
    whole_target = int(target)  # type: ignore[arg-type]  # a whole number >= 0, checked above
    out = _core.allocate(scenario._core, node, whole_target, method, horizon, w, lo, hi)
    if "error" in out:
        raise InfeasibleTargetError(out["error"], out["unit"], out["constraint"])
    order = np.asarray(org._core.subtree(org._index(node)), dtype=np.int64)  # preorder
    parents = np.asarray(org._core.parents, dtype=np.int64)
    depth = np.zeros(len(parents), dtype=np.int64)  # one pass a level
    up = parents.copy()
    while (up >= 0).any():
        depth += up >= 0
        up = np.where(up >= 0, parents[np.maximum(up, 0)], -1)
    ids = np.asarray(org._core.ids, dtype=object)
    own_parent = parents[order]
    hi_arr = np.asarray(hi, dtype=np.int64)[order]
    frame = pd.DataFrame({
        "unit_id": pd.Series(ids[order], dtype=object),
        "parent_id": pd.Series(parent_ids(ids, own_parent), dtype="object"),
        "depth": depth[order],
        "name": np.asarray(org._core.names, dtype=object)[order],
        "kind": np.asarray(org._core.kinds, dtype=object)[order],
        "share": np.asarray(out["share"], dtype=np.int64)[order],
        "own_share": np.asarray(out["own_share"], dtype=np.int64)[order],
        "expected": np.asarray(out["expected"])[order],
        "own_expected": np.asarray(out["own_expected"])[order],
        "p_meet": np.asarray(out["p_meet"])[order],
        "own_p_meet": np.asarray(out["own_p_meet"])[order],
        "minimum": np.asarray(lo, dtype=np.int64)[order],
        "maximum": pd.array(np.where(hi_arr == _core.NO_MAXIMUM, 0, hi_arr), dtype="Int64"),
    })
    frame.loc[hi_arr == _core.NO_MAXIMUM, "maximum"] = pd.NA
    frame.attrs.update(node=node, target=whole_target, method=method, horizon=horizon,
                       exact_evaluations=int(out["exact_evaluations"]), greedy_steps=int(out["greedy_steps"]))
    return frame
