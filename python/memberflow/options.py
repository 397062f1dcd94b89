"""The simulation's options as typed, keyword-only classes.

:class:`SimulationOptions` holds every option of ``forecast(..., method="simulate")``;
:class:`CoursePolicy`, :class:`TargetRule` and :class:`ParameterDraw` are its policies.
Each is frozen (``replace(...)`` gives a changed copy), compares by value, pickles (so
that it travels to Dask workers, see :mod:`memberflow.scale_out`) and checks its values
when built, naming the option. A misspelt keyword is refused at the call (Python's
TypeError; type checkers flag it before), a misspelt key of a policy given as a dict or
of ``replace`` with the valid names.

The defaults are those of the C++ structs (``simulation_options``, ``course_policy``,
``target_policy`` in include/memberflow/simulate.hpp), read from default-constructed
instances (``memberflow._core.SimulationOptions()`` ...): they are written in one place.
:meth:`SimulationOptions._to_core` fills the C++ struct the engine takes.

Why Python classes on the C++ structs rather than the bound structs themselves: the
options accept the forms the keywords always accepted (a DataFrame of uncertainty rows,
dicts for the policies, a progress callable, ``(stage, month)`` pairs in ``track``), and
they must pickle for Dask without C++ code per field; the bound structs stay the one
conversion point to the engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, Union

import numpy as np
import pandas as pd

from . import _core
from ._checks import INT_MAX, check_names, real_number, whole_number
from .errors import InputError
from .types import ProgressOption, Regime, Track

__all__ = ["SimulationOptions", "CoursePolicy", "TargetRule", "ParameterDraw", "REGIMES"]

#: How a unit's month is drawn (include/memberflow/simulate.hpp, ``simulation_regime``).
REGIMES = ("auto", "race", "counts")

_CPP_OPTIONS = _core.SimulationOptions()  # the defaults, from the C++ struct
_CPP_COURSE = _core.CoursePolicy()
_CPP_RULE = _core.TargetRule()


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise InputError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InputError(f"{name} must be text, got {value!r} ({type(value).__name__})")
    return value


Options = TypeVar("Options", bound="_Options")


class _Options:
    """Frozen keyword classes: equality by value, repr of the values that differ from the
    defaults, ``replace``, pickling by keywords."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def _set(self, **values: Any) -> None:
        for k, v in values.items():
            object.__setattr__(self, k, v)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: use .replace({name}=...)")

    def _values(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._fields}

    def replace(self: Options, **changes: Any) -> Options:
        """A copy with some values changed (checked as in the constructor)."""
        check_names(f"{type(self).__name__}.replace", changes, self._fields)
        return type(self)(**{**self._values(), **changes})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Options) and type(other) is type(self) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(self._values().items())))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self._values()))

    def __repr__(self) -> str:
        defaults = type(self)()._values() if type(self)._has_defaults else {}
        shown = [f"{k}={v!r}" for k, v in self._values().items() if k not in defaults or defaults[k] != v]
        return f"{type(self).__name__}({', '.join(shown)})"

    _has_defaults = True


class _DrawsState(tuple[Any, ...]):
    """A fit's parameter sets as arrays, as they pickle (``_core.parameter_draws_state``)."""


def _rebuild(cls: type[Options], values: dict[str, Any]) -> Options:
    if isinstance(values.get("parameter_sets"), _DrawsState):
        values = {**values, "parameter_sets": _core.parameter_draws_from_state(list(values["parameter_sets"]))}
    return cls(**values)


class CoursePolicy(_Options):
    """Training completes only at course sessions: in each of ``months`` (forecast months,
    0-based) trainees are ready with their unit's advance probability, and at most
    ``seats`` of them across the organisation advance (a random subset of the ready)."""

    __slots__ = ("seats", "months")
    _fields = ("seats", "months")
    seats: int
    months: tuple[int, ...]

    def __init__(self, *, seats: int = _CPP_COURSE.seats, months: Sequence[int] = tuple(_CPP_COURSE.months)):
        if isinstance(months, (str, bytes)) or not isinstance(months, (Sequence, np.ndarray)):
            raise InputError(f"course months must be a list of forecast months, got {months!r}")
        self._set(seats=whole_number("course seats", seats),  # the engine checks seats >= 0
                  months=tuple(whole_number("course months", m, high=INT_MAX) for m in months))

    def _to_core(self) -> _core.CoursePolicy:
        core = _core.CoursePolicy()
        core.seats = self.seats
        core.months = list(self.months)
        return core


class TargetRule(_Options):
    """For every node with a target: once its subtree has admitted the year's target, its
    units admit no one until the year ends (``stop_when_met``); at each quarter's end, if
    the year's admissions are below ``target x q/4 - margin``, the advance into admission
    rises by ``advance_boost`` for the next quarter and those admitted under that lowered
    bar pass probation with ``pass_rate - pass_penalty``."""

    __slots__ = ("stop_when_met", "margin", "advance_boost", "pass_penalty")
    _fields = ("stop_when_met", "margin", "advance_boost", "pass_penalty")
    stop_when_met: bool
    margin: float
    advance_boost: float
    pass_penalty: float

    def __init__(self, *, stop_when_met: bool = _CPP_RULE.stop_when_met, margin: float = _CPP_RULE.margin,
                 advance_boost: float = _CPP_RULE.advance_boost, pass_penalty: float = _CPP_RULE.pass_penalty):
        self._set(stop_when_met=_flag("target_rule stop_when_met", stop_when_met),
                  margin=real_number("target_rule margin", margin),
                  advance_boost=real_number("target_rule advance_boost", advance_boost),
                  pass_penalty=real_number("target_rule pass_penalty", pass_penalty))

    def _to_core(self) -> _core.TargetRule:
        core = _core.TargetRule()
        for k in self._fields:
            setattr(core, k, getattr(self, k))
        return core


class ParameterDraw(_Options):
    """A parameter drawn once per path: ``scope`` (a unit id, ``kind:<kind>`` or ``*``),
    ``stage``, ``param``, ``distribution`` ``"beta"`` (probabilities: alpha ``a``, beta
    ``b``) or ``"gamma"`` (rates: shape ``a``, scale ``b``). All six are required."""

    __slots__ = ("scope", "stage", "param", "distribution", "a", "b")
    _fields = ("scope", "stage", "param", "distribution", "a", "b")
    _has_defaults = False
    scope: str
    stage: str
    param: str
    distribution: str
    a: float
    b: float

    def __init__(self, *, scope: str, stage: str, param: str, distribution: str, a: float, b: float):
        self._set(scope=_text("uncertainty scope", scope), stage=_text("uncertainty stage", stage),
                  param=_text("uncertainty param", param),
                  distribution=_text("uncertainty distribution", distribution),
                  a=real_number("uncertainty a", a), b=real_number("uncertainty b", b))

    def _to_core(self) -> _core.ParameterDraw:
        core = _core.ParameterDraw()
        for k in self._fields:
            setattr(core, k, getattr(self, k))
        return core


#: uncertainty=: ParameterDraw rows, dicts with their six keys, or a DataFrame of them.
Uncertainty = Union[Sequence[Union[ParameterDraw, Mapping[str, Any]]], pd.DataFrame, None]
#: course= / target_rule=: the policy, a dict of its keywords, or None for none.
Course = Union[CoursePolicy, Mapping[str, Any], None]
Rule = Union[TargetRule, Mapping[str, Any], None]


class SimulationOptions(_Options):
    """Every option of the simulation, by keyword; the defaults are the C++ engine's.

    ``paths`` (simulated paths), ``seed`` (0 .. 2**64-1: the same seed, the same bits),
    ``threads`` (0: one per core; the bits do not depend on it), ``first_path`` (the run
    simulates paths first_path .. first_path + paths - 1: a batch of a larger run),
    ``regime`` (how a unit's month is drawn: ``"auto"``, ``"race"``, ``"counts"``;
    each draws from the model exactly, with other bits), ``keep_paths`` (keep every
    path's tracked counts), ``track`` (the tracked quantities: ``(stage, month)`` or
    ``(event, first, last)``; default: see :class:`memberflow.SimulationForecast`),
    ``inflow_profile``, ``uncertainty`` (:class:`ParameterDraw` rows, dicts or a
    DataFrame), ``parameter_sets`` (from a fit, see :meth:`memberflow.Fit.predict`),
    ``course`` (:class:`CoursePolicy` or a dict), ``target_rule`` (:class:`TargetRule`
    or a dict) and ``progress`` (True, False, None: a bar when interactive; or a
    callable ``progress(done, total)``). See :func:`memberflow.forecast`.

    >>> import memberflow as mf
    >>> opts = mf.SimulationOptions(paths=500, seed=1, course={"seats": 15, "months": [2, 5, 8, 11]})
    >>> opts.course
    CoursePolicy(seats=15, months=(2, 5, 8, 11))
    >>> opts.replace(seed=2).seed
    2
    """

    __slots__ = ("paths", "seed", "threads", "first_path", "regime", "keep_paths", "track", "inflow_profile",
                 "uncertainty", "parameter_sets", "course", "target_rule", "progress")
    _fields = __slots__
    paths: int
    seed: int
    threads: int
    first_path: int
    regime: Regime
    keep_paths: bool
    track: tuple[tuple[str, int, int], ...]
    inflow_profile: tuple[float, ...]
    uncertainty: tuple[ParameterDraw, ...]
    parameter_sets: _core.ParameterDraws | None
    course: CoursePolicy | None
    target_rule: TargetRule | None
    progress: ProgressOption

    def __init__(self, *, paths: int = _CPP_OPTIONS.paths, seed: int = _CPP_OPTIONS.seed,
                 threads: int | None = _CPP_OPTIONS.threads, first_path: int = _CPP_OPTIONS.first_path,
                 regime: Regime = _CPP_OPTIONS.regime,  # type: ignore[assignment]  # a str the C++ side checks
                 keep_paths: bool = _CPP_OPTIONS.keep_paths,
                 track: Track | None = tuple(_CPP_OPTIONS.track),
                 inflow_profile: Sequence[float] | None = tuple(_CPP_OPTIONS.inflow_profile),
                 uncertainty: Uncertainty = (), parameter_sets: _core.ParameterDraws | None = None,
                 course: Course = None, target_rule: Rule = None,  # the C++ defaults: none
                 progress: ProgressOption = None):
        seed = whole_number("seed", seed)
        if not 0 <= seed < 2**64:  # the engine's seed is a 64-bit unsigned integer
            raise InputError(f"seed must be in [0, 2**64), got {seed}")
        if regime not in REGIMES:
            raise InputError(f"regime must be one of {', '.join(map(repr, REGIMES))}, got {regime!r}")
        if parameter_sets is not None and not isinstance(parameter_sets, _core.ParameterDraws):
            raise InputError(f"parameter_sets must be drawn by a fit (Fit.predict passes them), got "
                             f"{type(parameter_sets).__name__}")
        if not (progress is None or isinstance(progress, (bool, np.bool_)) or callable(progress)):
            raise InputError(f"progress must be True, False, None or a callable progress(done, total), got "
                             f"{progress!r}")
        self._set(paths=whole_number("paths", paths),  # the engine checks its range
                  seed=seed,
                  threads=0 if threads is None else whole_number("threads", threads, low=0, high=INT_MAX),
                  first_path=whole_number("first_path", first_path, low=0),
                  regime=regime, keep_paths=_flag("keep_paths", keep_paths),
                  track=_track(track), inflow_profile=_profile(inflow_profile),
                  uncertainty=_uncertainty(uncertainty), parameter_sets=parameter_sets,
                  course=_policy("course", course, CoursePolicy),
                  target_rule=_policy("target_rule", target_rule, TargetRule),
                  progress=progress)

    def __reduce__(self) -> tuple[Any, ...]:
        values = self._values()
        if self.parameter_sets is not None:  # a fit's draws travel as arrays
            values["parameter_sets"] = _DrawsState(_core.parameter_draws_state(self.parameter_sets))
        return (_rebuild, (type(self), values))

    def _to_core(self) -> _core.SimulationOptions:
        """The C++ struct the engine takes (progress is passed beside it)."""
        core = _core.SimulationOptions()
        core.paths = self.paths
        core.seed = self.seed
        core.threads = self.threads
        core.first_path = self.first_path
        core.regime = self.regime
        core.keep_paths = self.keep_paths
        core.track = list(self.track)
        core.inflow_profile = list(self.inflow_profile)
        core.uncertainty = [u._to_core() for u in self.uncertainty]
        core.parameter_sets = self.parameter_sets  # type: ignore[assignment]  # None: no sets (a shared_ptr)
        core.course = None if self.course is None else self.course._to_core()
        core.target_rule = None if self.target_rule is None else self.target_rule._to_core()
        return core


def _track(track: Track | None) -> tuple[tuple[str, int, int], ...]:
    out = []
    for i, t in enumerate(track or ()):
        if isinstance(t, (str, bytes)) or not isinstance(t, (Sequence, np.ndarray)) or len(t) not in (2, 3):
            raise InputError(f"track entry {i + 1}: expected (stage, month) or (event, first, last), got {t!r}")
        name = _text(f"track entry {i + 1}'s quantity", t[0])
        months = [whole_number(f"track entry {i + 1}'s month", m, high=INT_MAX) for m in t[1:]]
        out.append((name, months[0], months[-1]))
    return tuple(out)


def _profile(profile: Sequence[float] | None) -> tuple[float, ...]:
    if profile is None:
        return ()
    if isinstance(profile, (str, bytes)) or not isinstance(profile, (Sequence, np.ndarray, pd.Series)):
        raise InputError(f"inflow_profile must be a list of factors, got {profile!r}")
    return tuple(real_number("inflow_profile factor", f) for f in profile)


def _uncertainty(uncertainty: Uncertainty) -> tuple[ParameterDraw, ...]:
    if uncertainty is None:
        return ()
    rows: list[Any]
    if isinstance(uncertainty, pd.DataFrame):
        rows = uncertainty.to_dict("records")
    elif isinstance(uncertainty, (ParameterDraw, Mapping, str, bytes)):
        raise InputError("uncertainty must be a list of rows (ParameterDraw or dicts) or a DataFrame")
    else:
        rows = list(uncertainty)
    out: list[ParameterDraw] = []
    for i, r in enumerate(rows):
        if isinstance(r, ParameterDraw):
            out.append(r)
            continue
        if not isinstance(r, Mapping):
            raise InputError(f"uncertainty row {i + 1}: expected a ParameterDraw or a dict, got {type(r).__name__}")
        missing = [k for k in ParameterDraw._fields if k not in r]
        if missing:
            raise InputError(f"uncertainty row {i + 1}: missing {missing[0]!r} "
                             f"(need scope, stage, param, distribution, a, b)")
        check_names(f"uncertainty row {i + 1}", r, ParameterDraw._fields, noun="keys")
        values = {str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
        for k in ("scope", "stage", "param", "distribution"):  # ids read from a CSV may be numbers
            values[k] = str(values[k])
        out.append(ParameterDraw(**values))
    return tuple(out)


def _policy(name: str, value: Any, cls: type[Options]) -> Options | None:
    if value is None or isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise InputError(f"{name} must be a {cls.__name__} or a dict, got {type(value).__name__}")
    check_names(name, value, cls._fields, noun="keys")
    return cls(**value)
