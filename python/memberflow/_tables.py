"""Conversion between pandas DataFrames and the text tables the C++ core reads.

Every input (CSV file, JSON, DataFrame) reaches the core as columns of text, so one
parser checks them all and reports problems by file line or DataFrame row.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputError

#: Columns that hold ids. pandas turns an integer column with a missing cell (the root's
#: parent_id) into floats, so there an integral float is written as the integer it stood
#: for: ids 1, 2 with parents NaN, 1.0 must match.
ID_COLUMNS = frozenset({"unit_id", "parent_id", "overseer_id", "scope"})


def cell_text(value: Any) -> str:
    """The canonical text of one cell: '' for missing, true/false, integers without '.0'."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        return repr(float(value))
    if value is pd.NA or value is pd.NaT:
        return ""
    return str(value)


def id_text(value: Any) -> str:
    """The text of an id cell: as :func:`cell_text`, but 1.0 -> '1'."""
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return cell_text(value)


def frame_columns(frame: pd.DataFrame, what: str) -> tuple[list[str], list[list[str]]]:
    """Column names and text cells of a DataFrame (its index is ignored)."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what}: expected a pandas DataFrame, got {type(frame).__name__}")
    names = [str(c) for c in frame.columns]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(f"{what} DataFrame: column '{twice[0]}' appears twice")
    columns = [[(id_text if name in ID_COLUMNS else cell_text)(v) for v in frame.iloc[:, i].tolist()]
               for i, name in enumerate(names)]
    return names, columns


def columns_frame(columns: dict[str, list[str]]) -> pd.DataFrame:
    """A DataFrame of text columns, as returned by the core's *_columns() methods."""
    return pd.DataFrame({name: pd.Series(cells, dtype=object) for name, cells in columns.items()})
