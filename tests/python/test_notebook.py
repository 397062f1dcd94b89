"""The example notebook, examples/district.ipynb (issue 12, point 5): it runs top to
bottom in a fresh python3 kernel (nbclient; any error fails the test), it is committed
without outputs, and the numbers it prints are those of the API called here directly."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import memberflow as mf

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "district.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    workdir = tmp_path_factory.mktemp("notebook")  # whatever the notebook writes goes here
    # the kernel imports the memberflow this test imports (an install, or a development
    # overlay, whose files are links: the path is not resolved)
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(mf.__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_dir, os.environ.get("PYTHONPATH", "")])}
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir)}}).execute(env=env)
    return notebook


def printed(notebook) -> str:
    return "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                   for output in cell.get("outputs", []) if output.output_type == "stream")


def number_after(text: str, label: str) -> float:
    match = re.search(re.escape(label) + r"\s*=?\s*([-+0-9.e]+)", text)
    assert match, f"the notebook did not print {label!r}"
    return float(match.group(1))


@pytest.fixture(scope="module")
def story():
    """The notebook's scenario, made here with the API: fitted to the example history,
    with the 2021 targets."""
    history = mf.datasets.example_history()
    fit = mf.estimate(mf.EventLog.from_frame(history.events, history.start))
    scenario = fit.scenario.replace([{"scope": unit, "what": "target", "value": float(target)}
                                     for unit, target in history.end.targets.items()])
    return fit, scenario


def test_the_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_the_notebook_runs_and_prints_the_apis_numbers(executed, story):
    fit, scenario = story
    text = printed(executed)
    p160 = mf.forecast(scenario, 12, method="exact").prob_at_least("admissions", 160, unit="D")
    assert number_after(text, "P(at least 160 admissions in 2021) =") == p160  # printed with repr: every digit
    predictive = fit.predict(12).prob_at_least("admissions", 160, unit="D")
    assert number_after(text, "P(at least 160 admissions in 2021), with the rates' uncertainty =") == predictive
    plan = mf.allocate(scenario, 160)
    assert number_after(text, "shares of the 48 base organisations add up to") == plan.loc[plan["depth"] == 1,
                                                                                          "share"].sum() == 160
    needed = mf.required_source(scenario, 160, probability=0.8)
    assert number_after(text, "extra candidates a month, district-wide:") == round(needed.attrs["total"], 1)
    year = mf.datasets.example_year("2021-06")
    state = mf.progress(scenario, year.log, through="2021Q2")
    assert state.units.iloc[0]["status_reason"] in text


def test_the_notebook_shows_its_plots_and_the_report(executed):
    code = [cell for cell in executed.cells if cell.cell_type == "code"]
    plotting = [cell for cell in code if "mf.plot." in cell.source]
    for cell in plotting:
        assert any("image/png" in output.get("data", {}) for output in cell.outputs), cell.source
    assert len(plotting) == 8
    (last,) = code[-1].outputs
    assert "Admissions 2021, Q2: District party committee" in last["data"]["text/html"]
