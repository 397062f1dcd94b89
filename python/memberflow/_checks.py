"""Checks of the arguments every layer shares: whole and real numbers, option names,
months. Public names within the package (the module is private to it); the modules
above import them from here, so that no module reaches into another's private names.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from typing import Any, overload

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = ["INT_MAX", "whole_number", "real_number", "check_names", "month_text", "check_scope"]

INT_MAX = 2**31 - 1  # the engines' month counts and thread counts are C++ ints


def whole_number(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an int if it is one (or a numpy integer) within [low, high]; anything
    else is refused with a message naming ``name``, never truncated or rounded."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} must be a whole number (an int), got {value!r} ({type(value).__name__})")
    number = int(value)
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"from {low} to {high}" if low is not None and high is not None else \
            (f"at least {low}" if low is not None else f"at most {high}")
        raise InputError(f"{name} must be {bounds}, got {number}")
    return number


def real_number(name: str, value: Any, low: float = -math.inf, high: float = math.inf) -> float:
    """``value`` as a float if it is a real number (not a bool, not NaN) within [low,
    high]; anything else is refused with a message naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    if not low <= value <= high:  # NaN too
        raise InputError(f"{name} must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def check_names(where: str, given: Iterable[Any], valid: Sequence[str], noun: str = "option") -> None:
    """Refuses names not in ``valid`` with an InputError naming each (with the closest
    valid name, if one is close) and listing the valid ones."""
    unknown = [k for k in given if k not in valid]
    if not unknown:
        return
    hints = []
    for k in unknown:
        close = difflib.get_close_matches(str(k), list(valid), n=1) or [v for v in valid if str(k) in v][:1]
        hints.append(f"{k!r} (did you mean {close[0]!r}?)" if close else repr(k))
    plural = noun if noun.endswith("s") or len(unknown) == 1 else noun + "s"
    raise InputError(f"{where}: unknown {plural} {', '.join(hints)}; valid: {', '.join(valid)}")


@overload
def month_text(value: str | pd.Period) -> str: ...


@overload
def month_text(value: None) -> None: ...


def month_text(value: str | pd.Period | None) -> str | None:
    """'YYYY-MM' for a month given as text or a monthly Period; the core checks the text."""
    if value is None:
        return None
    if isinstance(value, pd.Period):
        if value.freqstr not in ("M", "ME"):
            raise InputError(f"start: expected a monthly period, got {value!r}")
        return f"{value.year:04d}-{value.month:02d}"
    if not isinstance(value, str):
        raise InputError(f"start: expected 'YYYY-MM' or a monthly pandas.Period, got {type(value).__name__}")
    return value


def check_scope(scope: str) -> None:
    """A forecast's figures are a node's whole subtree or a unit's own."""
    if scope not in ("subtree", "own"):
        raise InputError(f"scope must be 'subtree' or 'own', got {scope!r}")
