"""The pipeline: the chain of stages people pass through, and its funnel analytics."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

from . import _core
from .errors import InputError
from .types import PathLike

if TYPE_CHECKING:
    from .scenario import Scenario

__all__ = ["Pipeline"]


class Pipeline:
    """A chain of stages, e.g. source -> training -> probation (12 months) -> full.

    ``admission`` names the stage whose entries count as admissions; entries into the
    last (terminal) stage count as confirmations.

    >>> from memberflow import stage
    >>> pipe = Pipeline([stage.markov("source", advance=0.08, exit=0.01),
    ...                  stage.markov("training", advance=0.12, exit=0.01),
    ...                  stage.fixed("probation", months=12, exit=0.002, pass_rate=0.97),
    ...                  stage.terminal("full", attrition=0.002)], admission="probation")
    >>> pipe.stages
    ['source', 'training', 'probation', 'full']
    """

    def __init__(self, stages: Iterable[_core.Stage], admission: str):
        self._core = _core.Pipeline(list(stages), admission)

    @classmethod
    def party(cls) -> Pipeline:
        """The standard party pipeline: source -> training -> probation (12 months)
        -> full, admission = entry into probation (placeholder default rates)."""
        return cls._wrap(_core.Pipeline.party())

    @classmethod
    def from_json(cls, text: str) -> Pipeline:
        """A pipeline from the JSON object a scenario manifest holds (see
        docs/scenario-files.md), or the string ``"party"`` for the preset."""
        return cls._wrap(_core.Pipeline.from_json(text))

    @classmethod
    def read_json(cls, path: PathLike) -> Pipeline:
        """A pipeline from a JSON file holding the object :meth:`to_json` writes."""
        return cls._wrap(_core.Pipeline.read_json(os.fspath(path)))

    def to_json(self) -> str:
        """The pipeline as JSON: stages in order with kind, months and default parameters."""
        return self._core.to_json()

    @classmethod
    def _wrap(cls, core: _core.Pipeline) -> Pipeline:
        obj = cls.__new__(cls)
        obj._core = core
        return obj

    @property
    def stages(self) -> list[str]:
        return [s.name for s in self._core.stages]

    @property
    def admission(self) -> str:
        return self.stages[self._core.admission]

    def __len__(self) -> int:
        return len(self._core.stages)

    def to_frame(self) -> pd.DataFrame:
        """One row per stage: kind, months and the default parameters it takes."""
        rows = []
        for i, s in enumerate(self._core.stages):
            row = {"stage": s.name, "kind": s.kind.name, "months": s.months if s.kind.name == "fixed" else None}
            for p in _core.PARAM_NAMES:
                row[p] = getattr(s, p) if self._core.takes(i, p) else None
            rows.append(row)
        return pd.DataFrame(rows).set_index("stage")

    def funnel(self, stage: str | None = None, *, age: int = 0, scenario: Scenario | None = None,
               unit: str | None = None) -> pd.DataFrame:
        """The pipeline as an absorbing Markov chain, for one person now in ``stage``
        (the first stage by default; at ``age`` months if it is a fixed stage).

        One row per stage from ``stage`` on: ``prob_reach`` (chance of ever entering
        it), ``expected_time`` (expected months spent in it), ``expected_time_to_reach``
        (expected months until entering it, given that it is entered). With
        ``scenario`` and ``unit``, that unit's resolved parameters are used; otherwise
        the stage defaults.
        """
        from_stage = self._core.index(stage if stage is not None else self.stages[0])
        if (scenario is None) != (unit is None):
            raise InputError("funnel: give both scenario and unit, or neither")
        if scenario is None:
            cols = _core.funnel(self._core, from_stage, age)
        else:
            cols = _core.funnel(scenario._core.pipeline, from_stage, age, scenario._core, scenario.org._index(str(unit)))
        return pd.DataFrame(cols).set_index("stage")

    def __repr__(self) -> str:
        return f"<memberflow.Pipeline: {' -> '.join(self.stages)}; admission = {self.admission}>"

    def _repr_html_(self) -> str:
        return f"<p><b>memberflow.Pipeline</b>, admission = <code>{self.admission}</code></p>" + self.to_frame().to_html()
