"""Writes python/memberflow/_core.pyi, the type stubs of the compiled module, with
pybind11-stubgen (PyPI; the `typing` extra), then the two things it cannot write:

- the error classes: the core makes them as memberflow.<Name> (python/src/bind_errors.cpp),
  so stubgen would import them from the package that imports them from _core (a cycle
  type checkers cannot resolve); here they are written as classes, from the live ones;
- ``__version__``'s value: the version is written once, in CMakeLists.txt;
- what pybind11 leaves untyped or wrong for a strict checker: a bare ``py::dict``,
  ``py::list`` or ``py::tuple`` (``dict`` -> ``dict[str, typing.Any]``, ``list[typing.Any]``,
  ``tuple[typing.Any, ...]``; their contents are documented per function), and an
  argument defaulting to None that is not marked optional (``X = None`` -> ``X | None = None``).

Usage: python3 scripts/core_stubs.py [--check]  (with memberflow importable, built).
--check exits 1 if the committed stubs differ from freshly generated ones;
tests/python/test_typing.py runs the same comparison.
"""

from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

STUBS = Path(__file__).resolve().parents[1] / "python" / "memberflow" / "_core.pyi"


def _error_classes() -> str:
    from memberflow import _core

    lines = []
    for name in sorted(vars(_core), key=lambda n: (len(getattr(getattr(_core, n), "__mro__", ())), n)):
        cls = getattr(_core, name)
        if not (isinstance(cls, type) and issubclass(cls, BaseException)):
            continue
        bases = ", ".join(b.__name__ for b in cls.__bases__)
        lines += [f"class {name}({bases}):", f'    """{cls.__doc__}"""']
        if "__str__" in cls.__dict__:
            lines.append("    def __str__(self) -> str: ...")
    return "\n".join(lines) + "\n"


def _typed(line: str) -> str:
    """A signature or attribute line with its bare containers parameterised and its None
    defaults optional; docstrings and other lines as they are."""
    if not re.match(r"\s*(def |\w+: )", line):
        return line
    line = re.sub(r"(?<![\w.])dict\b(?!\[)", "dict[str, typing.Any]", line)
    line = re.sub(r"(?<![\w.])list\b(?!\[)", "list[typing.Any]", line)
    line = re.sub(r"(?<![\w.])tuple\b(?!\[)", "tuple[typing.Any, ...]", line)
    return re.sub(r": ([\w.]+) = None\b", r": \1 | None = None", line)


def generate() -> str:
    """The stubs of memberflow._core as the installed (or overlaid) build makes them."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "pybind11_stubgen", "memberflow._core", "-o", out, "--exit-code"],
                       check=True, capture_output=True, text=True)
        text = (Path(out) / "memberflow" / "_core.pyi").read_text()
    text = re.sub(r"^from memberflow import \w+\n", "", text, flags=re.M)
    text = re.sub(r"^__version__: str = .*$", "__version__: str", text, flags=re.M)
    text = "".join(_typed(line) for line in text.splitlines(True))
    first_class = text.index("\nclass ") + 1
    return text[:first_class] + _error_classes() + text[first_class:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed stubs instead of writing")
    args = parser.parse_args()
    fresh = generate()
    if not args.check:
        STUBS.write_text(fresh)
        return 0
    old = STUBS.read_text() if STUBS.exists() else ""
    if old == fresh:
        return 0
    sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), fresh.splitlines(True), str(STUBS), "generated"))
    return 1


if __name__ == "__main__":
    sys.exit(main())
