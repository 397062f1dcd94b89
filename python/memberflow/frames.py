"""The tidy and long frames memberflow returns, in the shape the pandas forecasting
ecosystem passes around, and read back from CSV.

Ids are categoricals: a unit column (``unit_id``, ``unique_id``) holds one small integer
code a row and the organisation's ids once, in the organisation's order, as its
categories; a quantity (``quantity``) or window label (``window``) likewise. A national
monthly frame (300,000 units x 13 months x 9 quantities) is then hundreds of megabytes of
numbers rather than gigabytes of repeated strings (benchmarks/python/bench_frames.py).
Sorting and grouping follow the organisation's order; comparisons with plain strings
(``frame["unit_id"] == "D"``, ``isin``) work as before.

A frame written with ``frame.to_csv(path, index=False)`` reads back equal with
:func:`read_frame` (ids as text, never as guessed numbers; categories restored; ``ds``
as dates).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .org import Org
from .types import PathLike

__all__ = ["UNIT_COLUMNS", "LABEL_COLUMNS", "unit_column", "label_column", "read_frame"]

#: Columns that hold unit ids (the organisation's ids are their categories).
UNIT_COLUMNS = ("unit_id", "unique_id", "parent_id")
#: Columns that hold a few labels, such as a quantity's name or a window's (their
#: categories are the labels in order of first appearance).
LABEL_COLUMNS = ("quantity", "window")


def unit_column(ids: pd.Index, codes: np.ndarray) -> pd.Categorical[Any]:
    """Unit ids as a categorical: ``codes`` index ``ids`` (the organisation's, in its
    order), one a row."""
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(ids.rename(None)))


def label_column(labels: Sequence[str], codes: np.ndarray | int, rows: int) -> pd.Categorical[Any]:
    """Labels as a categorical: ``codes`` (one a row, or one for every row) index
    ``labels``."""
    if isinstance(codes, (int, np.integer)):
        codes = np.full(rows, codes, dtype=np.int8 if len(labels) < 128 else np.int32)
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(pd.Index(list(labels))))


def read_frame(path: PathLike, *, org: Org | None = None) -> pd.DataFrame:
    """A frame memberflow returned, back from the CSV ``frame.to_csv(path, index=False)``
    wrote: the unit columns (``unit_id``, ``unique_id``, ``parent_id``) and the label
    columns (``quantity``, ``window``) read as text and made categoricals again, ``ds``
    parsed as dates, numbers as written (floats to the bit).

    The categories of a unit column are ``org``'s ids in its order when ``org`` is given
    (a frame of some units only keeps the whole organisation as categories, as it was
    made); without ``org``, the ids in order of first appearance, which is the
    organisation's order in a frame that holds every unit. Labels: in order of first
    appearance.

    >>> import memberflow as mf, io
    >>> fc = mf.forecast(mf.datasets.example_district(), 12)
    >>> frame = fc.to_long("admissions")
    >>> text = io.StringIO(frame.to_csv(index=False))
    >>> mf.read_frame(text, org=fc.org).equals(frame)
    True
    """
    header = pd.read_csv(path, nrows=0).columns
    if hasattr(path, "seek"):  # a buffer: read it again from its start
        path.seek(0)
    text_columns = [c for c in header if c in UNIT_COLUMNS + LABEL_COLUMNS]
    frame: pd.DataFrame = pd.read_csv(path, dtype={c: object for c in text_columns}, keep_default_na=False,
                                      na_values={c: [""] for c in header if c not in text_columns}, **_EXACT_FLOATS)
    for column in text_columns:
        values = frame[column].to_numpy(dtype=object, copy=True)
        missing = values == ""  # the root's parent_id
        values[missing] = None
        if column in UNIT_COLUMNS and org is not None:
            categories = org.ids.rename(None)
        else:
            categories = pd.Index(pd.unique(values[~missing]))
        frame[column] = pd.Categorical(values, dtype=pd.CategoricalDtype(categories))
    if "ds" in frame.columns:
        frame["ds"] = _dates(frame["ds"])
    return frame


def _dates(column: pd.Series) -> Any:
    """The ``ds`` column: the first day of a month (``2021-01-01``), as memberflow makes it;
    a frame without a calendar has month numbers there, kept as they are."""
    if pd.api.types.is_numeric_dtype(column):
        return column
    return pd.to_datetime(column, format="%Y-%m-%d").astype(_DATE_DTYPE)


#: Floats read back to the bit: pandas 3 does so by default (and deprecates the option).
_EXACT_FLOATS: dict[str, Any] = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}

#: The dtype of memberflow's ``ds`` columns (the first days of calendar months).
_DATE_DTYPE = pd.period_range("2021-01", periods=1, freq="M").to_timestamp().dtype
