"""The Python layer's structure (issue 12, point 3): the package's modules import
downward only (no cycle) and none imports another's private names; the C++ exceptions
are the classes memberflow exports; the version is written in one place."""

from __future__ import annotations

import ast
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest

import memberflow as mf
from memberflow import _core

PACKAGE = Path(mf.__file__).resolve().parent
ROOT = Path(__file__).resolve().parents[2]


def _modules() -> dict[str, Path]:
    """The package's Python modules by name (the overlay used in development links them)."""
    return {p.stem: p.resolve() for p in PACKAGE.glob("*.py")}


def _type_checking_block(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.Module) -> list[ast.ImportFrom | ast.Import]:
    """Every import the module executes, at its top or in a function; those under
    ``if TYPE_CHECKING:`` never run and are left out (annotations only)."""
    found: list = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_block(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph(modules: dict[str, Path]) -> tuple[dict[str, set[str]], list[str]]:
    """(module -> the package's modules it imports, private names imported across modules
    as 'importer: module.name'). ``from . import x`` names module x (or the compiled
    ``_core``); ``from .x import y`` names module x and y, a private name if it starts with
    one underscore (dunders such as __version__ are public)."""
    known = set(modules) | {"_core"}
    edges: dict[str, set[str]] = {name: set() for name in modules}
    private: list[str] = []
    for name, path in modules.items():
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name.split(".")[1] for a in node.names if a.name.startswith("memberflow.")]
                edges[name].update(t for t in targets if t in known)
                continue
            if node.level == 0 and (node.module or "").startswith("memberflow"):
                module = node.module.split(".")[1] if "." in node.module else None
            elif node.level == 1:
                module = node.module
            else:
                continue
            if module is None:  # from . import a, b: modules, or names of the package's __init__
                for alias in node.names:
                    target = alias.name if alias.name in known else "__init__"
                    edges[name].add(target)
                    if target == "__init__" and _private(alias.name):
                        private.append(f"{name}: __init__.{alias.name}")
                continue
            edges[name].add(module)
            private += [f"{name}: {module}.{a.name}" for a in node.names if _private(a.name)]
    for name in edges:
        edges[name].discard(name)
    return edges, private


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return sorted(found)


def test_the_checker_finds_a_cycle_and_a_private_import(tmp_path):
    """The checks below can fail: on a made-up package with both faults they report them."""
    (tmp_path / "a.py").write_text("from .b import _helper\n")
    (tmp_path / "b.py").write_text("def f():\n    from .a import thing\n")
    (tmp_path / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import x\n"
                                   "from . import _core, b\n")
    edges, private = import_graph({p.stem: p for p in tmp_path.glob("*.py")})
    assert cycles(edges) == [["a", "b"]]
    assert private == ["a: b._helper"]
    assert edges["c"] == {"_core", "b"}  # the TYPE_CHECKING import does not run


def test_the_package_imports_downward_only():
    edges, _ = import_graph(_modules())
    assert cycles(edges) == []
    # the layers the issue names: the dispatcher on top of the engines' results
    assert "forecast" not in edges["exact"] | edges["simulate"] | edges["results"] | edges["distribution"]
    assert "scale_out" not in edges["simulate"]
    assert "__init__" not in set().union(*(edges[m] for m in edges if m != "__init__"))


def test_no_module_imports_another_modules_private_names():
    _, private = import_graph(_modules())
    assert private == []


# -- errors: the compiled core's classes, under memberflow.Error ---------------------------

ERRORS = {"Error": (Exception,), "InputError": (ValueError,), "ParameterError": (ValueError,),
          "UnknownIdError": (KeyError,), "CancelledError": (RuntimeError,)}


@pytest.mark.parametrize("name", list(ERRORS))
def test_each_error_class_is_the_cores_and_documented(name):
    cls = getattr(mf, name)
    assert cls is getattr(_core, name) is getattr(mf.errors, name)
    assert issubclass(cls, mf.Error) and all(issubclass(cls, b) for b in ERRORS[name])
    assert cls.__module__ == "memberflow" and cls.__doc__
    error = cls("what went wrong")
    assert pickle.loads(pickle.dumps(error)).args == error.args  # as from a Dask worker
    assert type(pickle.loads(pickle.dumps(error))) is cls


def test_cpp_exceptions_arrive_as_these_classes():
    with pytest.raises(mf.UnknownIdError) as info:
        mf.datasets.example_district().org.parent("no such unit")
    assert type(info.value) is mf.UnknownIdError and "no such unit" in str(info.value)
    with pytest.raises(mf.InputError):
        mf.Org.from_frame(__import__("pandas").DataFrame({"unit_id": ["A", "A"], "parent_id": [None, "A"]}))


def test_a_run_stopped_by_its_callback_is_cancelled_by_the_callbacks_exception():
    """A callable's exception stops the run and is what the caller sees (not a CancelledError)."""
    class Stop(Exception):
        pass

    def stop(done, total):
        raise Stop()

    with pytest.raises(Stop):
        mf.forecast(mf.datasets.example_district(), 12, method="simulate", paths=5_000, progress=stop)


# -- the version, in one place --------------------------------------------------------------

def _cmake_version() -> str:
    match = re.search(r"project\(memberflow VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text())
    assert match, "CMakeLists.txt: project(memberflow VERSION x.y.z ...)"
    return match.group(1)


def test_the_version_is_written_once_and_agrees_everywhere():
    version = _cmake_version()
    assert mf.__version__ == _core.__version__ == version
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^dynamic = \["version"\]', pyproject, re.M), "pyproject.toml must not repeat the version"
    assert not re.search(r"^version\s*=", pyproject, re.M)
    assert re.search(r"^input = \"CMakeLists.txt\"", pyproject, re.M)
    cli = subprocess.run([sys.executable, "-m", "memberflow", "--version"], capture_output=True, text=True, check=True)
    assert cli.stdout.strip() == f"memberflow {version}"


def test_an_installed_distribution_has_the_same_version():
    """When this memberflow was installed by pip (CI), its metadata says the same."""
    from importlib import metadata

    try:
        dist = metadata.distribution("memberflow")
    except metadata.PackageNotFoundError:
        pytest.skip("memberflow is not installed as a distribution (a development overlay)")
    files = [Path(dist.locate_file(f)).resolve() for f in dist.files or () if f.name == "__init__.py"]
    if PACKAGE / "__init__.py" not in files:
        pytest.skip("the imported memberflow is not the installed distribution (a development overlay)")
    assert dist.version == mf.__version__
