"""The type aliases memberflow's signatures share, for readers and type checkers.

>>> from memberflow.types import Method
>>> import typing
>>> typing.get_args(Method)
('expected', 'exact', 'simulate')
"""

from __future__ import annotations

import os
from typing import Callable, Literal, Optional, Sequence, Tuple, Union

import pandas as pd

__all__ = ["UnitId", "Quantity", "Method", "Level", "Window", "MonthLike", "PathLike", "TableLike",
           "ProgressOption", "Scope", "Regime", "Track"]

#: A unit's id as the organisation table spells it.
UnitId = str
#: A stage's stock (named by the stage) or an event (``admissions``, ``confirmations``, ...).
Quantity = str
#: The forecast engines (expected values, the exact distribution, Monte Carlo).
Method = Literal["expected", "exact", "simulate"]
#: Interval levels in percent, ``90`` or ``[80, 90]``.
Level = Union[float, Sequence[float]]
#: Months ``(first, last)``, first .. last - 1; None for the default window.
Window = Optional[Tuple[int, int]]
#: A calendar month, ``"2021-01"`` or a monthly ``pandas.Period``.
MonthLike = Union[str, pd.Period]
#: A file or directory path.
PathLike = Union[str, "os.PathLike[str]"]
#: A table, as a DataFrame or the path of a CSV file.
TableLike = Union[pd.DataFrame, PathLike]
#: A simulation's progress, True (a bar), False (none), None (a bar when interactive)
#: or a callable ``progress(done, total)``.
ProgressOption = Union[bool, None, Callable[[int, int], object]]
#: A forecast's figures, each node's whole ``"subtree"`` or each unit's ``"own"``.
Scope = Literal["subtree", "own"]
#: How the simulation draws a unit's month (``SimulationOptions.regime``).
Regime = Literal["auto", "race", "counts"]
#: Tracked quantities of a simulation, ``(stage, month)`` or ``(event, first, last)``.
Track = Sequence[Union[Tuple[str, int], Tuple[str, int, int]]]
