"""Stage constructors for a :class:`memberflow.Pipeline` (see the pipeline model).

- :func:`markov`: each month advance with probability ``advance``, leave with ``exit``.
- :func:`fixed`: a stage of ``months`` months (probation); each month leave with
  ``exit``; at the end of the last month pass on with ``pass_rate``, else leave.
- :func:`terminal`: the last stage (full members); each month leave with ``attrition``.

The numbers given here are defaults; a scenario may override them per unit kind or unit.
"""

from __future__ import annotations

from . import _core

__all__ = ["markov", "fixed", "terminal"]


def markov(name: str, advance: float, exit: float, inflow: float = 0.0) -> _core.Stage:
    """A memoryless stage. ``inflow`` (people a month) applies only to the first stage."""
    return _core.Stage.markov(name, advance, exit, inflow)


def fixed(name: str, months: int, exit: float, pass_rate: float) -> _core.Stage:
    """A stage of fixed duration: an entry at the end of month t passes on at the end
    of month t + months, with probability pass_rate (after surviving the monthly exits)."""
    return _core.Stage.fixed(name, months, exit, pass_rate)


def terminal(name: str, attrition: float, transfer_in: float = 0.0) -> _core.Stage:
    """The last stage; ``transfer_in`` people a month arrive straight into it."""
    return _core.Stage.terminal(name, attrition, transfer_in)
