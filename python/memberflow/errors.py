"""The errors memberflow raises.

Every message names what is wrong and where: the file and line (or DataFrame row), the
unit id, the stage and the parameter.
"""

from __future__ import annotations

__all__ = ["Error", "InputError", "ParameterError", "UnknownIdError"]


class Error(Exception):
    """Base class of every memberflow error."""


class InputError(Error, ValueError):
    """A malformed file, row or table: duplicate id, cycle, unknown parent, bad number."""


class ParameterError(Error, ValueError):
    """A model parameter outside its domain (a probability above 1, advance + exit > 1)."""


class UnknownIdError(Error, KeyError):
    """A unit, stage, parameter or quantity name that does not exist."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else ""
