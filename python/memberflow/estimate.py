"""Parameters learned from records, with partial pooling along the organisation tree.

The model and its equations: docs/estimation.md. In short, each unit's monthly rates
are drawn around its parent's (beta-binomial for probabilities, gamma-Poisson for
arrival rates), with a strength of pooling per level of the tree estimated from the
data, so that a rural cell with three candidates in five years borrows from its
commune and a large unit keeps its own rates.
"""

from __future__ import annotations

import pandas as pd

from . import _core
from ._checks import month_text
from .estimate_counts import estimate_counts
from .fit import Fit, fit_result, one_level
from .records import CountTable, EventLog, MonthLike
from .scenario import Scenario

__all__ = ["Fit", "estimate"]


def estimate(log: EventLog | CountTable, first: MonthLike | None = None, last: MonthLike | None = None, *,
             level: float = 90, drift: bool = True) -> Fit:
    """Fit every rate of the model from an event log, with partial pooling along the tree.

    ``first`` / ``last``: the months to fit; by default every whole year of the log up to
    its last month (12-month blocks counted back from ``last``, from the month the log
    is complete: :attr:`EventLog.complete_from`). Units are pooled over
    the whole window; the drift of the organisation's rates from year to year is fitted
    on its 12-month blocks (two or more; with ``drift=False``, or a shorter window, none)
    and carried into the scenario's parameters (the predictive means for the year after
    the window) and into :meth:`Fit.predict`.
    ``level``: the central posterior interval in ``rates``, in percent.

    >>> import memberflow as mf
    >>> h = mf.datasets.example_history()
    >>> log = mf.EventLog.from_frame(h.events, h.start)
    >>> fit = mf.estimate(log)
    >>> round(fit.scenario.start.year)
    2021
    """
    if isinstance(log, CountTable):  # aggregate counts: person-months reconstructed (estimate_counts.py)
        return estimate_counts(log, first, last, level=level, drift=drift)
    if not isinstance(log, EventLog):
        raise TypeError(f"estimate: expected a memberflow.EventLog or CountTable, got {type(log).__name__}")
    level = one_level(level)
    last_text = log._core.last_month if last is None else month_text(last)
    if first is None:
        span = pd.Period(last_text, freq="M") - pd.Period(log._core.complete_from, freq="M")
        years = max(1, (span.n + 1) // 12)
        first_text = str(pd.Period(last_text, freq="M") - (12 * years - 1))
    else:
        first_text = month_text(first)
    after = pd.Period(last_text, freq="M") + 1
    scenario = Scenario(log.org, log.pipeline, start=after)
    # The stocks of log.snapshot(after), as an array: nationally the snapshot's 300,000
    # rows of text would take longer than the fit.
    scenario._core.stocks[:] = log._core.stocks_at(str(after))
    # The exposures stay in C++, in 12-month blocks (records.hpp): nationally a monthly
    # table would be 2.6 GB, and copied to numpy and back twice over.
    rates, core = _core.fit_event_log(scenario._core, log._core, first_text, last_text, (1 - level / 100) / 2,
                                      bool(drift))
    return fit_result(scenario, rates, core, first_text, last_text, level)
