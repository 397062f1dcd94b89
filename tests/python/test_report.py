"""The quarter's report (issue 10, point 6) end to end: the example district's 2021
records through a quarter, as frames, Markdown, one self-contained HTML page with a
chart per overseer whose drawn data are the frames', files that read back, and
`memberflow report` giving the same report from files as from memory."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import memberflow as mf
from memberflow.cli import main
from memberflow.report import Report, quarter_end, report


@pytest.fixture(scope="module")
def year():
    return mf.datasets.example_year(through="2021-06")


@pytest.fixture(scope="module")
def q2(year) -> Report:
    return report(year.scenario, year.log, quarter="2021Q2", paths=500)


def test_the_report_is_the_progress_of_the_quarter(year, q2):
    direct = mf.progress(year.scenario, year.log, through="2021-06")
    pd.testing.assert_frame_equal(q2.units, direct.units)
    pd.testing.assert_frame_equal(q2.overseers, direct.overseers)
    assert q2.progress.through == pd.Period("2021-06", "M") and q2.progress.months == 6
    root = q2.units.iloc[0]
    md = q2.to_markdown()
    assert md.startswith("# Admissions 2021, Q2: District party committee")
    assert f"Admitted {root['admitted']} by 2021-06 against a target of 160 (pro rata 80)" in md
    assert f"Expected for the year: {root['expected_year']:.1f}" in md
    for _, o in q2.overseers.iterrows():  # a section per overseer with a row per unit overseen
        section = md.split(f"\n### {o['overseer_id']}:")[1].split("\n#")[0]
        for unit in o["units"].split(", "):
            assert re.search(rf"^\| {unit} +\|", section, re.M), (o["overseer_id"], unit)
            assert re.search(rf"^ +{unit} ", section, re.M)  # its line in the text chart


def test_the_flags_are_the_diagnosis_of_what_is_left(q2):
    state = q2.progress
    units = q2.units.set_index("unit_id")
    has = units["target"].notna()
    left = pd.DataFrame({"unit_id": units.index[has],
                         "share": (units.loc[has, "target"] - units.loc[has, "admitted"]).clip(lower=0).to_numpy()})
    again = mf.diagnose(state.now, left, horizon=6, paths=500, seed=0)
    flagged = again[again["flags"] != ""]
    assert q2.flags["unit_id"].tolist() == flagged["unit_id"].tolist()
    assert q2.flags["reasons"].tolist() == flagged["reasons"].tolist()
    assert len(q2.flags) > 0  # the example's ambitious targets leave units flagged
    assert state.now.start == pd.Period("2021-07", "M")


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.external.append(value)


def test_html_is_self_contained_with_a_chart_per_overseer_drawing_the_frames(q2):
    page = q2.to_html()
    parser = _Collect()
    parser.feed(page)
    assert parser.external == [] and "script" not in parser.tags  # nothing to fetch, nothing to run
    charts = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(charts) == len(q2.overseers)
    units = q2.units.set_index("unit_id")
    ns = {"s": "http://www.w3.org/2000/svg"}
    for svg, (_, o) in zip(charts, q2.overseers.iterrows()):
        root = ET.fromstring(svg)  # well-formed XML
        names = o["units"].split(", ")
        labels = [t.text for t in root.findall("s:text", ns)]
        assert [x for x in labels if x in names] == names
        admitted = [t.text for t in root.findall("s:rect/s:title", ns) if t.text.startswith("admitted")]
        assert admitted == [f"admitted {units.loc[u, 'admitted']}" for u in names]
        widths = [float(r.get("width")) for r in root.findall("s:rect", ns)
                  if r.find("s:title", ns).text.startswith("admitted")]
        # widths proportional to the admissions, one scale for the chart
        scale = [w / units.loc[u, "admitted"] for w, u in zip(widths, names) if units.loc[u, "admitted"] > 0]
        assert np.allclose(scale, scale[0], rtol=0.02)
        targets = [t.text for t in root.findall("s:line/s:title", ns) if t.text.startswith("target")]
        assert targets == [f"target {units.loc[u, 'target']:g}" for u in names if not np.isnan(units.loc[u, "target"])]


def _read_back(path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"unit_id": str, "parent_id": str})


def _same(read: pd.DataFrame, frame: pd.DataFrame) -> None:
    assert list(read.columns) == list(frame.columns)
    for c in frame.columns:
        a, b = read[c], frame[c]
        if pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(b):
            assert np.array_equal(a.to_numpy(dtype=float), b.to_numpy(dtype=float), equal_nan=True), c
        else:
            assert a.fillna("").astype(str).tolist() == b.fillna("").astype(str).tolist(), c


def test_files_read_back_to_the_frames(q2, tmp_path):
    paths = q2.to_files(tmp_path)
    for name in ("units", "levels", "overseers", "flags"):
        _same(_read_back(paths[name]), getattr(q2, name))
    assert paths["markdown"].read_text(encoding="utf-8") == q2.to_markdown()
    assert paths["html"].read_text(encoding="utf-8") == q2.to_html()
    with pytest.raises(mf.InputError, match="write .html or .md"):
        q2.write(tmp_path / "report.pdf")


def test_the_command_line_reads_files_to_the_same_report(year, q2, tmp_path, capsys):
    assert main(["report", "--quarter", "2021Q2", "--paths", "500"]) == 0
    default = capsys.readouterr().out
    assert default == q2.to_markdown()
    # the same year from files: the scenario directory and the event log as CSV
    year.scenario.to_files(tmp_path / "scn")
    year.events.to_csv(tmp_path / "events.csv", index=False)
    assert main(["report", str(tmp_path / "scn"), "--events", str(tmp_path / "events.csv"), "--quarter", "2021Q2",
                 "--paths", "500", "-o", str(tmp_path / "q2.html")]) == 0
    assert (tmp_path / "q2.html").read_text(encoding="utf-8") == q2.to_html()
    assert main(["report", "--quarter", "2021Q2", "--paths", "500", "--into", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    _same(_read_back(tmp_path / "out" / "units.csv"), q2.units)


def test_a_plan_from_the_plan_command_sets_the_targets(year, tmp_path, capsys):
    year.scenario.to_files(tmp_path / "scn")
    year.events.to_csv(tmp_path / "events.csv", index=False)
    assert main(["plan", str(tmp_path / "scn"), "--target", "160", "--format", "csv",
                 "-o", str(tmp_path / "plan.csv")]) == 0
    assert main(["report", str(tmp_path / "scn"), "--events", str(tmp_path / "events.csv"), "--through",
                 "2021-03", "--plan", str(tmp_path / "plan.csv"), "--paths", "200", "--into",
                 str(tmp_path / "out")]) == 0
    capsys.readouterr()
    units = _read_back(tmp_path / "out" / "units.csv").set_index("unit_id")
    written = pd.read_csv(tmp_path / "plan.csv", dtype={"unit_id": str}).set_index("unit_id")["share"]
    assert units["target"].reindex(written.index).tolist() == written.astype(float).tolist()
    direct = mf.allocate(year.scenario, 160).set_index("unit_id")["share"]
    assert written.tolist() == direct.reindex(written.index).tolist()


def test_bad_requests_say_what_is_wrong(year, tmp_path, capsys):
    assert quarter_end("2021Q3") == pd.Period("2021-09", "M")
    with pytest.raises(mf.InputError, match="quarter must look like 2021Q2"):
        quarter_end("Q2 of 2021")
    with pytest.raises(mf.InputError, match="quarter or through"):
        report(year.scenario, year.log, quarter="2021Q2", through="2021-06")
    assert main(["report", "--quarter", "2021Q7"]) == 2
    assert "quarter must look like 2021Q2" in capsys.readouterr().err
    year.scenario.to_files(tmp_path / "scn")
    assert main(["report", str(tmp_path / "scn")]) == 2
    assert "--events CSV or --counts CSV" in capsys.readouterr().err
    assert main(["report", "--events", "x.csv"]) == 2
    assert "need the year's scenario" in capsys.readouterr().err
    (tmp_path / "p1.csv").write_text("unit_id,shares\nD,160\n")
    (tmp_path / "p2.csv").write_text("unit_id,share\nD,160\nC01,nine\n")
    assert main(["report", "--plan", str(tmp_path / "p1.csv")]) == 2
    assert f"{tmp_path / 'p1.csv'}: a plan needs the columns unit_id and share" in capsys.readouterr().err
    assert main(["report", "--plan", str(tmp_path / "p2.csv")]) == 2
    assert f"{tmp_path / 'p2.csv'} line 3: share 'nine' of unit 'C01' is not a number" in capsys.readouterr().err
