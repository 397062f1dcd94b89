"""The documentation site: it builds with warnings as errors, and it says what the code does.

The build is the user's command, ``bash scripts/docs.sh OUT`` (Sphinx with -W and
--keep-going; docs/conf.py sets nitpicky, so a reference that does not resolve is a
warning too), run once in a subprocess; the built pages are then read as a reader would
find them: every page of docs/ reachable from the index, every command and option of the
argument parser in the command-line reference, every public name of ``memberflow`` in the
API reference, the model's equations as MathJax markup. The guide's ``pycon`` examples
are run as doctests against the package, so the numbers a reader sees are the package's.

Needs the ``docs`` extra (sphinx, myst-parser, sphinx-argparse, matplotlib), which
scripts/test.sh installs; without it the build tests are skipped, saying so.
"""

from __future__ import annotations

import argparse
import doctest
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

import memberflow as mf
from memberflow import cli

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"

try:
    import matplotlib  # noqa: F401
    import myst_parser  # noqa: F401
    import sphinx  # noqa: F401
    import sphinxarg  # noqa: F401
    missing = None
except ImportError as e:  # the docs extra is not installed
    missing = e.name

needs_sphinx = pytest.mark.skipif(missing is not None,
                                  reason=f"{missing} is not installed (pip install 'memberflow[docs]')")


class Links(HTMLParser):
    """The href of every <a>, the id of every element and the text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()
        self.scripts: list[str] = []
        self.images: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        if tag == "img" and a.get("src"):
            self.images.append(a["src"])

    def handle_data(self, data):
        self.text.append(data)


def read_page(path: Path) -> Links:
    page = Links()
    page.feed(path.read_text(encoding="utf-8"))
    return page


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site built by scripts/docs.sh; fails on any warning, showing Sphinx's output."""
    out = tmp_path_factory.mktemp("docs") / "html"
    run = subprocess.run(["bash", str(REPO / "scripts" / "docs.sh"), str(out)], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    log = run.stdout + run.stderr
    assert run.returncode == 0, f"the docs build failed:\n{log[-6000:]}"
    warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    assert not warnings, "\n".join(warnings)
    return out


def source_pages() -> list[str]:
    """Every Markdown page of docs/, as Sphinx names it (``guide/model``)."""
    return sorted(str(p.relative_to(DOCS).with_suffix("")) for p in DOCS.rglob("*.md"))


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


@needs_sphinx
def test_every_page_is_built_and_reachable_from_the_index(site):
    assert "index" in source_pages() and len(source_pages()) >= 15
    reached = {"index"}
    frontier = ["index"]
    while frontier:  # follow the links a reader can click, from the index on
        name = frontier.pop()
        for href in read_page(site / f"{name}.html").hrefs:
            target = href.split("#")[0]
            if not target or "://" in target or not target.endswith(".html"):
                continue
            resolved = (site / name).parent.joinpath(target).resolve()
            page = str(resolved.relative_to(site.resolve()).with_suffix(""))
            if page not in reached and (DOCS / f"{page}.md").exists():
                reached.add(page)
                frontier.append(page)
    assert set(source_pages()) <= reached, f"not reachable from the index: {set(source_pages()) - reached}"
    index_links = {h.split("#")[0] for h in read_page(site / "index.html").hrefs}
    assert {f"{p}.html" for p in source_pages() if p != "index"} <= index_links, "the index links every page"


@needs_sphinx
def test_the_command_line_reference_has_every_command_and_option(site):
    page = read_page(site / "guide" / "cli.html")
    text = "".join(page.text)
    commands = subcommands(cli._parser())
    assert {"forecast", "example", "fit", "backtest", "plan", "required", "report"} <= set(commands)
    assert not re.search(r"\u2013[a-z]", text), "an option in the help text turned into an en dash"
    for name, parser in commands.items():
        assert f"memberflow-{name}" in page.ids, f"no section for `memberflow {name}`"
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):  # -h/--help: every command has it
                continue
            for option in action.option_strings:
                assert option in text, f"`memberflow {name} {option}` is not in the reference"


@needs_sphinx
def test_the_api_reference_documents_every_public_name(site):
    ids = read_page(site / "api.html").ids
    for name in mf.__all__:
        obj = getattr(mf, name)
        if isinstance(obj, type(mf)):  # a module: each of its public names, there or at the top
            for member in obj.__all__:
                assert {f"memberflow.{name}.{member}", f"memberflow.{member}"} & ids, f"memberflow.{name}.{member}"
        else:
            assert f"memberflow.{name}" in ids, f"memberflow.{name} is not in the API reference"
    assert "memberflow.Forecast.mean" in ids and "memberflow.ExactForecast.prob_at_least" in ids


@needs_sphinx
def test_equations_are_mathjax_markup(site):
    html = (site / "guide" / "model.html").read_text(encoding="utf-8")
    page = read_page(site / "guide" / "model.html")
    assert any("mathjax" in s.lower() for s in page.scripts), "MathJax is not loaded"
    displayed = re.findall(r'<div class="math[^"]*">\s*(.*?)</div>', html, flags=re.S)
    inline = re.findall(r'<span class="math[^"]*">(.*?)</span>', html, flags=re.S)
    assert len(displayed) >= 8 and len(inline) >= 20, (len(displayed), len(inline))
    assert all(d.strip().startswith(r"\[") for d in displayed)
    assert r"\operatorname{Multinomial}" in html
    assert "$$" not in " ".join(page.text), "an equation left as raw $$ text"


@needs_sphinx
def test_every_image_is_there_and_the_guides_figures_are_drawn(site):
    """Figures are drawn by memberflow.plot at build time: an <img> whose PNG exists."""
    for page in source_pages():
        html = site / f"{page}.html"
        for src in read_page(html).images:
            image = html.parent / src
            assert image.is_file() and image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{page}: {src}"
    assert read_page(site / "guide" / "engines.html").images, "the engines page lost its figure"


@needs_sphinx
def test_the_cpp_page_shows_the_example_program(site):
    text = "".join(read_page(site / "guide" / "cpp.html").text)
    program = (REPO / "examples" / "cpp" / "district" / "forecast_district.cpp").read_text(encoding="utf-8")
    assert "read_scenario" in program
    assert program.strip() in text, "the page does not show examples/cpp/district/forecast_district.cpp as it is"


GUIDE = sorted((DOCS / "guide").glob("*.md"))


@pytest.mark.parametrize("page", GUIDE, ids=[p.stem for p in GUIDE])
def test_the_guides_examples_give_what_they_show(page, tmp_path, monkeypatch):
    """Each page's ```pycon blocks, in order and sharing their names, run as doctests;
    a failure names the page's line."""
    text = page.read_text(encoding="utf-8")
    blocks = [(text.count("\n", 0, m.start(1)), m.group(1))
              for m in re.finditer(r"^```pycon\n(.*?)^```", text, flags=re.S | re.M)]
    if page.stem in ("getting-started", "concepts", "model", "engines", "files"):
        assert blocks, f"{page.name} lost its examples"
    monkeypatch.chdir(tmp_path)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    names: dict = {}
    out: list[str] = []
    for line, block in blocks:
        test = doctest.DocTestParser().get_doctest(block, names, page.name, str(page), line)
        runner.run(test, out=out.append, clear_globs=False)
        names = test.globs  # the next block sees this one's names (DocTest copies them)
        assert test.examples, f"{page.name} line {line + 1}: a pycon block without >>> examples"
    assert runner.failures == 0, "".join(out)


def test_scripts_docs_sh_says_what_to_install_when_sphinx_is_missing(tmp_path):
    """Run with a Python that cannot import sphinx: a clear message and exit 2, no traceback."""
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "python3").write_text(f"#!/bin/sh\nexec {sys.executable} -c 'import sys; sys.exit(1)'\n")
    (shim / "python3").chmod(0o755)
    run = subprocess.run(["bash", str(REPO / "scripts" / "docs.sh"), str(tmp_path / "out")], cwd=REPO,
                         capture_output=True, text=True, env={"PATH": f"{shim}:/usr/bin:/bin"})
    assert run.returncode == 2
    assert 'pip install ".[docs]"' in run.stderr and "Traceback" not in run.stderr
