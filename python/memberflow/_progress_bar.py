"""The simulation's progress bar, shared by the run in this process and the run over a
Dask cluster (:mod:`memberflow.simulate`, :mod:`memberflow.scale_out`)."""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Union

__all__ = ["ProgressBar", "wants_bar", "reporter"]

ProgressOption = Union[bool, None, Callable[[int, int], object]]


def wants_bar(progress: Any) -> bool:
    """progress=True/False as given; None: a bar when interactive (a notebook, or standard
    error is a terminal outside CI)."""
    if progress is not None:
        return bool(progress)
    if "ipykernel" in sys.modules:  # a notebook
        return True
    return sys.stderr.isatty() and not os.environ.get("CI")


class ProgressBar:
    """A tqdm bar fed from the engine's progress callback (if tqdm is installed). It opens
    at the first report: the engine reports only once it has accepted its arguments, so
    an argument error is never preceded by a bar."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None and self.enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:  # progress is optional
                self.enabled = False
                return
            self.bar = tqdm(total=total, unit="path", desc="memberflow simulate")
        if self.bar is not None:
            self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def reporter(progress: ProgressOption) -> tuple[Callable[[int, int], object], ProgressBar]:
    """(what the engine calls with (done, total), the bar to close after the run): the
    user's callable itself, or a bar (opened or not as :func:`wants_bar` says)."""
    bar = ProgressBar(False if callable(progress) else wants_bar(progress))
    return (progress if callable(progress) else bar), bar
