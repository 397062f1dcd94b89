"""The organisation: a tree of units with kinds, typed attributes and overseers."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple, Union

import numpy as np
import pandas as pd

from . import _core
from ._tables import columns_frame, frame_columns, frame_labels, parent_ids
from .errors import InputError, UnknownIdError

__all__ = ["Org"]

PathLike = Union[str, "os.PathLike[str]"]

_DTYPES = {"boolean": "boolean", "integer": "Int64", "real": "float64", "text": object}



def _checked_id(unit_id: object) -> str:
    """Unit ids are str; anything else (None, 5) names no unit."""
    if not isinstance(unit_id, str):
        raise UnknownIdError(f"unknown unit {unit_id!r} (unit ids are str, got {type(unit_id).__name__})")
    return unit_id


class _TreeObjects(NamedTuple):
    """What every Org over one compiled tree shares: its ids as str objects and the
    compiled ancestors function that answers with them (a reference each, no new str)."""

    ids: tuple[str, ...]
    ancestors: Callable[[str], tuple[str, ...]]


# Made once per compiled tree: the Orgs over one tree (a scenario's, a wrapper made again)
# share them rather than hold a copy each. Neither refers to the core's Python object, so
# an entry goes with the tree.
_TREE_OBJECTS: weakref.WeakKeyDictionary[_core.Org, _TreeObjects] = weakref.WeakKeyDictionary()


def _tree_objects(core: _core.Org) -> _TreeObjects:
    shared = _TREE_OBJECTS.get(core)
    if shared is None:
        ids = tuple(core.ids)
        shared = _TREE_OBJECTS[core] = _TreeObjects(ids, core.ancestors_function(ids))
    return shared


class Org:
    """An organisation's hierarchy of units (district -> committees -> cells ...).

    Units have a string id, a parent (the root has none), a name, a free-text kind and
    typed attributes such as ``rural``. Overseers (e.g. standing-committee members) are
    a second relation beside the tree, each assigned to a set of units.

    Build one with :meth:`from_csv`, :meth:`from_json` or :meth:`from_frame`. Queries
    take and return unit ids; :meth:`rollup` gives every node its subtree total.

    >>> org = Org.from_frame(pd.DataFrame({"unit_id": ["D", "C1", "C2"],
    ...                                    "parent_id": [None, "D", "D"]}))
    >>> org.children("D")
    ['C1', 'C2']
    """

    #: ``ancestors(unit_id)``: the ancestors' ids, nearest first, the root last; empty for
    #: the root; an unknown id raises UnknownIdError. A tuple of the org's own id objects,
    #: shared by siblings: the compiled tree's function makes one for each unit with
    #: children when it is first wrapped (a few ms for 302,000 units), so a first call costs
    #: what a repeated one does. Set on each Org as that compiled function: a Python
    #: method around it would double a call's cost.
    ancestors: Callable[[str], tuple[str, ...]]

    def __init__(self, core: _core.Org):
        self._core = core
        # The same str objects as in self._ids, so that lookups with ids taken from org.ids
        # compare by identity; tuple indexing is ~5x faster than pd.Index for single ids.
        shared = _tree_objects(core)
        self._id_list = shared.ids
        self._ids = pd.Index(self._id_list, name="unit_id")
        # The ids in preorder: every subtree is a contiguous slice of it (Org.descendants).
        self._preorder_ids: list[str] = np.asarray(self._id_list, dtype=object)[core.preorder].tolist()
        self.ancestors = shared.ancestors
        self._by_address: _core.IdsByAddress | None = None  # see _by_position

    # -- loading and saving ---------------------------------------------------------
    @classmethod
    def from_csv(cls, path: PathLike, overseers: PathLike | None = None) -> Org:
        """Read a units CSV (``unit_id,parent_id,name,kind,<attributes>...``; the
        root's parent_id is empty) and optionally an overseers CSV
        (``overseer_id,unit_id``). Errors name the file and line."""
        core = _core.Org.read_csv(os.fspath(path))
        if overseers is not None:
            core.read_overseers_csv(os.fspath(overseers))
        return cls(core)

    @classmethod
    def from_json(cls, path: PathLike) -> Org:
        """Read an organisation JSON file (see :meth:`to_json` for the format)."""
        return cls(_core.Org.read_json(os.fspath(path)))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, overseers: pd.DataFrame | None = None) -> Org:
        """Build from a DataFrame with columns ``unit_id, parent_id`` and optional
        ``name, kind`` and attribute columns (missing parent = root). Errors name the
        row (1-based) and, unless the index is the default 0..n-1, its index label.
        Ids are text: read a CSV of numeric ids with ``dtype=str`` (a float id above
        2^53, which pandas makes of large integer ids beside a missing cell, is refused)."""
        core = _core.Org.from_columns("DataFrame", *frame_columns(frame, "units"), frame_labels(frame))
        if overseers is not None:
            core.set_overseers_columns("overseers DataFrame", *frame_columns(overseers, "overseers"),
                                       frame_labels(overseers))
        return cls(core)

    def to_frame(self) -> pd.DataFrame:
        """One row per unit, in input order: unit_id, parent_id (None for the root),
        name, kind and the attributes with their types (nullable where missing)."""
        parents = self._core.parents
        ids = np.asarray(self._core.ids, dtype=object)
        data = {
            "unit_id": pd.Series(ids, dtype=object),
            "parent_id": pd.Series(parent_ids(ids, parents), dtype="object"),
            "name": pd.Series(self._core.names, dtype=object),
            "kind": pd.Series(self._core.kinds, dtype=object),
        }
        for name, kind, values in self._core.attributes():
            data[name] = pd.Series(values, dtype=_DTYPES[kind])  # type: ignore[call-overload]  # nullable kinds
        return pd.DataFrame(data)

    def to_csv(self, path: PathLike) -> None:
        """Write the units CSV that :meth:`from_csv` reads."""
        self._core.write_csv(os.fspath(path))

    def to_json(self, path: PathLike | None = None) -> str | None:
        """Write (or, without a path, return) the JSON form:
        ``{"units": [{"unit_id", "parent_id", "name", "kind", "attributes": {...}}],
        "overseers": [{"overseer_id", "units": [...]}]}``."""
        if path is None:
            return self._core.to_json_text()
        self._core.write_json(os.fspath(path))
        return None

    # -- units ------------------------------------------------------------------------
    def __len__(self) -> int:
        """Number of units."""
        return len(self._core)

    def __contains__(self, unit_id: object) -> bool:
        """Whether a unit id exists."""
        return isinstance(unit_id, str) and self._core.contains(unit_id)

    @property
    def ids(self) -> pd.Index:
        """Unit ids in input order; every per-unit Series uses this index."""
        return self._ids

    @property
    def root(self) -> str:
        """Id of the root unit."""
        return self._ids[self._core.root]

    @property
    def height(self) -> int:
        """Depth of the deepest unit (the root has depth 0)."""
        return self._core.height

    @property
    def kinds(self) -> pd.Series:
        """Kind of every unit (free text such as 'district' or 'cell')."""
        return pd.Series(self._core.kinds, index=self._ids, name="kind")

    @property
    def names(self) -> pd.Series:
        """Name of every unit."""
        return pd.Series(self._core.names, index=self._ids, name="name")

    def attribute(self, name: str) -> pd.Series:
        """One attribute over every unit, with its type."""
        for attr, kind, values in self._core.attributes():
            if attr == name:
                return pd.Series(values, index=self._ids, name=name, dtype=_DTYPES[kind])  # type: ignore[no-any-return,call-overload]  # nullable kinds
        raise UnknownIdError(f"unknown attribute '{name}'")

    def units_of_kind(self, kind: str) -> list[str]:
        """Ids of the units of one kind, in input order."""
        return [u for u, k in zip(self._ids, self._core.kinds) if k == kind]

    def units_in_scope(self, scope: str) -> list[str]:
        """Ids of the units a scope names, in input order: ``"*"`` (every unit),
        ``"kind:<kind>"``, ``"subtree:<unit id>"`` (the unit and all below it) or a unit id
        (the scopes of :meth:`Scenario.replace`). UnknownIdError names an unknown scope."""
        return self._names(self._core.units_in_scope(str(scope)))

    # -- tree queries ---------------------------------------------------------------
    def _index(self, unit_id: str) -> int:
        return self._core.index(_checked_id(unit_id))

    def _names(self, indices: Iterable[int]) -> list[str]:
        ids = self._id_list
        return [ids[i] for i in indices]

    def parent(self, unit_id: str) -> str | None:
        """The parent's id, or None for the root."""
        parent: str | None = self._core.parent_id(_checked_id(unit_id))
        return parent

    def children(self, unit_id: str) -> list[str]:
        """Ids of the units directly below, in input order."""
        return self._core.children_ids(_checked_id(unit_id))

    def ancestors_of(self, unit_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """:meth:`ancestors` of many units: unit id -> its ancestors, nearest first."""
        return {u: self.ancestors(u) for u in unit_ids}

    def descendants(self, unit_id: str) -> list[str]:
        """Every unit strictly below, in depth-first preorder."""
        first, stop = self._core.subtree_range(_checked_id(unit_id))
        return self._preorder_ids[first + 1:stop]

    def subtree(self, unit_id: str) -> list[str]:
        """The unit and its descendants, in preorder."""
        first, stop = self._core.subtree_range(_checked_id(unit_id))
        return self._preorder_ids[first:stop]

    def depth(self, unit_id: str) -> int:
        """Number of edges from the root (the root has depth 0)."""
        return self._core.depth(self._index(unit_id))

    def lca(self, unit_ids: Iterable[str]) -> str:
        """Lowest common ancestor of a set of units (a unit is its own ancestor)."""
        idx = self._core.indices([_checked_id(u) for u in unit_ids])
        return self._ids[self._core.lca(idx)]

    def rollup(self, values: pd.Series | Mapping[str, float] | np.ndarray) -> pd.Series:
        """Subtree totals: every node gets its own value plus all values below it.

        ``values`` is a Series or mapping by unit id (units it does not name count as
        0; an unknown id raises UnknownIdError) or an array in the order of :attr:`ids`.
        """
        own = self.align(values, "rollup")
        return pd.Series(self._core.rollup(own), index=self._ids, name=getattr(values, "name", None))

    def align(self, values: pd.Series | Mapping[str, float] | np.ndarray, what: str) -> np.ndarray:
        """Per-unit values as a float array in the order of :attr:`ids` (missing = 0)."""
        if isinstance(values, np.ndarray):
            if values.shape[:1] != (len(self),):
                raise InputError(f"{what}: array of {values.shape[0] if values.ndim else 0} values for {len(self)} units")
            own = values.astype(float, copy=False)
        else:
            own = self._by_position(pd.Series(values, dtype=float) if isinstance(values, Mapping) else values, what)
        if np.isnan(own).any():
            bad = self._ids[np.isnan(own) if own.ndim == 1 else np.isnan(own).any(axis=1)][:5]
            raise InputError(f"{what}: NaN values for unit(s) {list(bad)}")
        return own

    def _by_position(self, series: pd.Series | pd.DataFrame, what: str) -> np.ndarray:
        """A Series (or a frame's rows) by unit id as a float array in the order of
        :attr:`ids`, units it does not name 0. Each id is looked up in the compiled
        core's table of ids (nothing to build first), not by aligning two indexes."""
        index = series.index
        if index.equals(self._ids):  # already in the org's order: no lookup at all
            return series.to_numpy(dtype=float)
        if self._by_address is None:  # built on the first Series placed (a few ms nationally)
            self._by_address = _core.IdsByAddress(self._ids.to_numpy(dtype=object))
        positions = self._by_address.find(self._core, index.to_numpy(dtype=object))
        if (positions < 0).any():  # -1: names no unit; -2: a unit named before
            if (positions == -1).any():
                raise UnknownIdError(f"{what}: unknown unit(s) {list(index[positions == -1].difference(self._ids)[:5])}")
            raise InputError(f"{what}: unit(s) given twice: {list(index[index.duplicated()][:5])}")
        given = series.to_numpy(dtype=float)
        own = np.zeros((len(self),) + given.shape[1:])
        own[positions] = given
        return own

    # -- overseers ------------------------------------------------------------------
    @property
    def overseers(self) -> dict[str, list[str]]:
        """Overseer id -> the units assigned to them."""
        return {o: self._names(units) for o, units in self._core.overseers().items()}

    def overseers_of(self, unit_id: str) -> list[str]:
        """Ids of the overseers assigned to a unit."""
        return list(self._core.overseers_of(self._index(unit_id)))

    def overseers_frame(self) -> pd.DataFrame:
        """The overseer relation as a table: overseer_id, unit_id."""
        return columns_frame(self._core.overseers_columns())

    # -- display ----------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"<memberflow.Org: {len(self)} units, height {self.height}, root '{self.root}'>"

    def _repr_html_(self) -> str:
        counts = self.kinds.value_counts().rename("units").to_frame()
        return (f"<p><b>memberflow.Org</b>: {len(self)} units, height {self.height}, root "
                f"<code>{self.root}</code>, {len(self.overseers)} overseers</p>" + counts.to_html())

