"""The errors memberflow raises.

Every message names what is wrong and where: the file and line (or DataFrame row), the
unit id, the stage and the parameter.

The classes are made by the compiled core (python/src/bind_errors.cpp), which raises them
for the C++ exceptions of the same names (include/memberflow/error.hpp): one class per
error whichever layer raises it. Their docstrings are the C++ side's.

- :class:`Error`: base class of every memberflow error.
- :class:`InputError` (also a ``ValueError``): a malformed file, row or table.
- :class:`ParameterError` (also a ``ValueError``): a model parameter outside its domain.
- :class:`UnknownIdError` (also a ``KeyError``, whose ``str()`` is the message as
  written): a unit, stage, parameter or quantity name that does not exist.
- :class:`CancelledError` (also a ``RuntimeError``): a simulation stopped by its
  progress callback; Ctrl-C raises ``KeyboardInterrupt``, as everywhere in Python.
"""

from __future__ import annotations

from ._core import CancelledError, Error, InputError, ParameterError, UnknownIdError

__all__ = ["Error", "InputError", "ParameterError", "UnknownIdError", "CancelledError"]
