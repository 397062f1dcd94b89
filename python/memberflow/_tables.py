"""Conversion between pandas DataFrames and the text tables the C++ core reads.

Every input (CSV file, JSON, DataFrame) reaches the core as columns of text, so one
parser checks them all and reports problems by file line or DataFrame row.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable

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


#: Above 2^53 a float no longer holds every integer: 123456789012345679.0 is
#: 123456789012345680.0, so a float id there may stand for any of several integer ids.
_EXACT_FLOAT_INTEGERS = 2.0**53


class _AmbiguousId(ValueError):
    pass


def id_text(value: Any) -> str:
    """The text of an id cell: as :func:`cell_text`, but 1.0 -> '1'. An integral float
    above 2^53 raises (it cannot say which integer id it was read from)."""
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        if abs(float(value)) >= _EXACT_FLOAT_INTEGERS:
            raise _AmbiguousId(value)
        return str(int(value))
    return cell_text(value)


def frame_labels(frame: pd.DataFrame) -> list[str]:
    """The index label of every row, for messages ('x', 17), or [] for a default
    RangeIndex 0..n-1, where the 1-based row number says it all."""
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return []
    return [repr(label.item() if isinstance(label, np.generic) else label) for label in index]


def row_name(frame: pd.DataFrame, what: str, position: int) -> str:
    """'units DataFrame row 3' (1-based), with the index label unless the index is the default."""
    labels = frame_labels(frame)
    return f"{what} DataFrame row {position + 1}" + (f" (index label {labels[position]})" if labels else "")


def frame_columns(frame: pd.DataFrame, what: str) -> tuple[list[str], list[list[str]]]:
    """Column names and text cells of a DataFrame (its index is not a column; see
    :func:`frame_labels` for naming rows by it)."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what}: expected a pandas DataFrame, got {type(frame).__name__}")
    names = [str(c) for c in frame.columns]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(f"{what} DataFrame: column '{twice[0]}' appears twice")
    columns = []
    for i, name in enumerate(names):
        values = frame.iloc[:, i].tolist()
        convert = id_text if name in ID_COLUMNS else cell_text
        try:
            # A str cell is its own text (convert would return it unchanged): skipping the
            # call makes a national units frame's text columns ~20x faster to convert.
            columns.append([v if v.__class__ is str else convert(v) for v in values])
        except _AmbiguousId as e:
            position = next(r for r, v in enumerate(values) if v is e.args[0] or v == e.args[0])
            raise InputError(
                f"{row_name(frame, what, position)}: column '{name}' holds the float {e.args[0]!r}, above 2^53, "
                "where a float no longer tells integer ids apart (pandas reads a column of integer ids with a "
                "missing cell as floats); read the ids as text, e.g. pd.read_csv(..., dtype=str)") from None
    for name, cells in zip(names, columns):
        _check_unicode(frame, what, name, cells)
    return names, columns


def _check_unicode(frame: pd.DataFrame, what: str, name: str, cells: list[str]) -> None:
    """Text the core can take: str with a lone surrogate (from bytes decoded with
    errors='surrogateescape', say) has no UTF-8 form."""
    try:
        "".join(cells).encode("utf-8")
    except UnicodeEncodeError:
        for r, cell in enumerate(cells):
            try:
                cell.encode("utf-8")
            except UnicodeEncodeError as e:
                raise InputError(f"{row_name(frame, what, r)}: column '{name}' holds {cell!r}, which is not valid "
                                 f"Unicode text (a lone surrogate at character {e.start + 1})") from None


def columns_frame(columns: dict[str, list[str]]) -> pd.DataFrame:
    """A DataFrame of text columns, as returned by the core's *_columns() methods."""
    return pd.DataFrame({name: pd.Series(cells, dtype=object) for name, cells in columns.items()})


def load_table(table: Any, what: str, from_csv: Callable[[str], Any],
               from_columns: Callable[[str, list[str], list[list[str]], list[str]], Any]) -> Any:
    """Hands ``table`` (a DataFrame, or a CSV file's path) to the core's reader of that
    form: the DataFrame's columns as text with its row labels, or the file's path."""
    if isinstance(table, pd.DataFrame):
        return from_columns(f"{what} DataFrame", *frame_columns(table, what), frame_labels(table))
    elif isinstance(table, (str, os.PathLike)):
        return from_csv(os.fspath(table))
    else:
        raise TypeError(f"{what}: expected a DataFrame or a CSV path, got {type(table).__name__}")


def parent_ids(ids: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """Each row's parent id (``ids`` an object array, ``parents`` row indices, -1 for the
    root): an object array with None for the root, for a ``parent_id`` column."""
    out: np.ndarray = ids[np.maximum(parents, 0)]
    out[parents < 0] = None
    return out
