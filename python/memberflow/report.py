"""A quarter's report for a committee: where every unit stands against its plan, the
rest of the year re-forecast, roll-ups by level and by overseer, and the risks of the
current state, as tidy frames, as Markdown and as one self-contained HTML page
(docs/progress.md, "Reports").

Tables are pandas' (Markdown through ``tabulate``). The small chart per overseer is
inline SVG written here, so that the HTML page needs nothing beside itself: no scripts,
no image files, and no plotting library on the machine that writes it.
"""

from __future__ import annotations

import html
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import pandas as pd

from .diagnose import diagnose
from .errors import InputError
from .progress import Progress, month_of, progress
from .records import CountTable, EventLog
from .results import YEAR
from .scenario import Scenario
from .types import MonthLike, TableLike

__all__ = ["Report", "report", "quarter_end"]

PathLike = Union[str, "os.PathLike[str]"]

STATUS_COLOURS = {"on track": "#2e7d32", "at risk": "#ef6c00", "behind": "#c62828", "no target": "#9e9e9e"}
UNIT_COLUMNS = {"unit_id": "unit", "name": "name", "target": "target", "admitted": "admitted",
                "pro_rata": "pro rata", "expected_so_far": "forecast so far", "vs_forecast": "vs forecast",
                "expected_year": "expected year", "year_lo": "90% from", "year_hi": "90% to",
                "p_meet": "P(target)", "status": "status"}
OVERSEER_COLUMNS = {"overseer_id": "overseer", "units": "units", "target": "target", "admitted": "admitted",
                    "pro_rata": "pro rata", "expected_year": "expected year", "p_meet": "P(target)",
                    "status": "status"}
LEVEL_COLUMNS = {"depth": "level", "units": "units", "with_target": "with a target", "target": "target",
                 "admitted": "admitted", "pro_rata": "pro rata", "expected_year": "expected year",
                 "on_track": "on track", "at_risk": "at risk", "behind": "behind"}
FLAG_COLUMNS = {"unit_id": "unit", "name": "name", "flags": "flags", "reasons": "why"}
FRAMES = ("units", "levels", "overseers", "flags")


def quarter_end(quarter: str) -> pd.Period:
    """The last month of a quarter given as ``2021Q2`` (or ``2021-Q2``)."""
    text = str(quarter).replace("-", "")
    if not re.fullmatch(r"\d{4}Q[1-4]", text):
        raise InputError(f"quarter must look like 2021Q2, got {quarter!r}")
    return month_of(text)


@dataclass(frozen=True, eq=False)
class Report:
    """A quarter's report. ``progress``: the :class:`Progress` it is made of (``units``,
    ``levels``, ``overseers`` frames); ``flags``: the risk diagnosis of the current state
    for the rest of the year (:func:`diagnose` of ``progress.now`` against what is left
    of each target), units with at least one flag; ``title``."""

    progress: Progress
    flags: pd.DataFrame
    title: str

    @property
    def units(self) -> pd.DataFrame:
        return self.progress.units

    @property
    def levels(self) -> pd.DataFrame:
        return self.progress.levels

    @property
    def overseers(self) -> pd.DataFrame:
        return self.progress.overseers

    def to_markdown(self) -> str:
        """The report as Markdown (GitHub tables), charts left out."""
        return "\n".join(_sections(self, _MarkdownWriter()))

    def to_html(self) -> str:
        """The report as one self-contained HTML page, a chart per overseer."""
        body = "\n".join(_sections(self, _HtmlWriter()))
        return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head>\n<body>\n{body}\n</body></html>\n")

    def write(self, path: PathLike) -> Path:
        """Write the report to ``path``: HTML for ``.html``/``.htm``, Markdown for ``.md``."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix in (".html", ".htm"):
            path.write_text(self.to_html(), encoding="utf-8")
        elif suffix in (".md", ".markdown"):
            path.write_text(self.to_markdown(), encoding="utf-8")
        else:
            raise InputError(f"report: {path}: write .html or .md, not '{suffix or 'no suffix'}'")
        return path

    def to_files(self, directory: PathLike) -> dict[str, Path]:
        """Write report.md, report.html and the frames (units.csv, levels.csv,
        overseers.csv, flags.csv) under ``directory``; returns the paths."""
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        paths = {"markdown": self.write(root / "report.md"), "html": self.write(root / "report.html")}
        for name in FRAMES:
            paths[name] = root / f"{name}.csv"
            getattr(self, name).to_csv(paths[name], index=False)
        return paths

    def _repr_html_(self) -> str:
        return "\n".join(_sections(self, _HtmlWriter()))


def report(scenario: Scenario, so_far: EventLog | CountTable, *, quarter: str | None = None,
           through: MonthLike | None = None, plan: pd.DataFrame | None = None,
           stocks: TableLike | None = None, title: str | None = None, lowered_bar: Any = None, paths: int = 2000, seed: int = 0) -> Report:
    """The report of the year so far: :func:`progress` through the end of ``quarter``
    (``"2021Q2"``) or through the month ``through``, and :func:`diagnose` of the current
    state against what is left of each target over the months left (``lowered_bar``,
    ``paths``, ``seed``: its simulation's). ``plan``, ``stocks``: as :func:`progress`."""
    if quarter is not None and through is not None:
        raise InputError("report: give quarter or through, not both")
    if quarter is not None:
        through = quarter_end(quarter)
    state = progress(scenario, so_far, through=through, plan=plan, stocks=stocks)
    flags = _flags(state, lowered_bar=lowered_bar, paths=paths, seed=seed)
    root = state.units.iloc[0]
    label = f"Q{state.through.quarter}" if state.through.month % 3 == 0 else f"through {state.through}"
    title = title or f"Admissions {state.year}, {label}: {root['name']}"
    return Report(progress=state, flags=flags, title=title)


def _flags(state: Progress, *, lowered_bar: Any, paths: int, seed: int) -> pd.DataFrame:
    """The diagnosis of the months left: targets are what is left of each (never below
    0); units with at least one flag."""
    columns = ["unit_id", "parent_id", "depth", "name", "kind", "target", "p_meet", "flags", "reasons"]
    left = YEAR - state.months
    if left == 0 or state.now is None:  # the year is over: nothing left to diagnose
        return pd.DataFrame(columns=columns)
    units = state.units
    has = units["target"].notna()
    rest = pd.DataFrame({"unit_id": units.loc[has, "unit_id"],
                         "share": (units.loc[has, "target"] - units.loc[has, "admitted"]).clip(lower=0)})
    found = diagnose(state.now, rest, horizon=left, lowered_bar=lowered_bar, paths=paths, seed=seed)
    flagged = found[found["flags"] != ""]
    return flagged[columns].reset_index(drop=True)


# -- writing ------------------------------------------------------------------------------

def _sections(r: Report, w: _MarkdownWriter | _HtmlWriter) -> list[str]:
    state, root = r.progress, r.units.iloc[0]
    out = [w.heading(1, r.title)]
    out.append(w.paragraph(
        f"Records through {state.through} ({state.months} of 12 months). Made by memberflow from the event "
        f"records and the current stocks; the rest of the year is forecast by the exact engine from who is where "
        f"now, at the scenario's rates (docs/progress.md)."))
    out.append(w.heading(2, "Summary"))
    out.append(w.bullets(_summary_lines(root, state)))
    out.append(w.heading(2, "By level"))
    out.append(w.table(r.levels, LEVEL_COLUMNS))
    out.append(w.heading(2, "By overseer"))
    out.append(w.table(r.overseers, OVERSEER_COLUMNS))
    by_id = r.units.set_index("unit_id", drop=False)
    for _, o in r.overseers.iterrows():
        ids = [u.strip() for u in str(o["units"]).split(",") if u.strip()]
        rows = by_id.loc[ids]
        out.append(w.heading(3, f"{o['overseer_id']}: {len(ids)} units, {o['status']}"))
        out.append(w.paragraph(o["status_reason"]))
        out.append(w.chart(rows))
        out.append(w.table(rows, UNIT_COLUMNS))
    out.append(w.heading(2, "Risks for the rest of the year"))
    if r.flags.empty:
        out.append(w.paragraph("No unit is flagged." if state.months < 12 else "The year is over."))
    else:
        out.append(w.paragraph(f"{len(r.flags)} units flagged against what is left of their targets "
                               f"over the {YEAR - state.months} months left (docs/planning.md, \"Risk diagnosis\")."))
        out.append(w.table(r.flags, FLAG_COLUMNS))
    out.append(w.heading(2, "How to read it"))
    out.append(w.bullets(_reading_notes(state)))
    return out


def _summary_lines(root: pd.Series, state: Progress) -> list[str]:
    lines = [f"Admitted {root['admitted']} by {state.through} against a target of {_num(root['target'])} "
             f"(pro rata {_num(root['pro_rata'])}); the forecast made in January expected "
             f"{root['expected_so_far']:.1f} by now (90%: {root['so_far_lo']:g}-{root['so_far_hi']:g}), "
             f"so this is {root['vs_forecast']} the forecast.",
             f"Expected for the year: {root['expected_year']:.1f} (90%: {root['year_lo']:g}-{root['year_hi']:g}); "
             f"P(reaching the target) {_p_is(root['p_meet'])}: {root['status']}."]
    counts = state.units["status"].value_counts()
    lines.append("Units: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUS_COLOURS) + ".")
    lines += [str(n) for n in state.notes]
    return lines


def _reading_notes(state: Progress) -> list[str]:
    on, behind = state.rules["on_track"], state.rules["behind"]
    return [f"Figures are for a unit's whole subtree; months {state.year}-01 to {state.through}.",
            "pro rata = target x months so far / 12; forecast so far = the exact engine's expectation from "
            "January, with its 90% interval; vs forecast says whether the admissions are below, within or "
            "above that interval.",
            f"Status from P(target) = P(admissions over the year >= target): on track from {on:g}, behind "
            f"below {behind:g}, at risk between; a unit without a target has none.",
            "An admission dated in a month counts in that month; the rest of the year assumes the scenario's "
            "rates hold and nobody is admitted below the usual bar."]


def _num(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:g}"


def _p(p: float) -> str:
    if p is None or math.isnan(p):
        return "-"
    return "< 0.001" if p < 0.001 else "> 0.999" if p > 0.999 else f"{p:.3f}"


def _p_is(p: float) -> str:
    text = _p(p)
    return text if text[0] in "<>" else f"= {text}"


def _shown(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    shown = frame[[c for c in columns if c in frame.columns]].copy()
    for c in shown.columns:
        if c == "p_meet":
            shown[c] = shown[c].map(_p)
        elif pd.api.types.is_float_dtype(shown[c]):
            shown[c] = shown[c].map(lambda v: "-" if math.isnan(v) else f"{v:.1f}" if v != round(v) else f"{v:g}")
    return shown.rename(columns=columns)


class _MarkdownWriter:
    def heading(self, level: int, text: str) -> str:
        return f"{'#' * level} {text}\n"

    def paragraph(self, text: str) -> str:
        return f"{text}\n"

    def bullets(self, lines: list[str]) -> str:
        return "".join(f"- {line}\n" for line in lines)

    def table(self, frame: pd.DataFrame, columns: dict[str, str]) -> str:
        return _shown(frame, columns).to_markdown(index=False) + "\n"

    def chart(self, rows: pd.DataFrame) -> str:
        return _text_chart(rows)


class _HtmlWriter:
    def heading(self, level: int, text: str) -> str:
        return f"<h{level}>{html.escape(text)}</h{level}>"

    def paragraph(self, text: str) -> str:
        return f"<p>{html.escape(text)}</p>"

    def bullets(self, lines: list[str]) -> str:
        return "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"

    def table(self, frame: pd.DataFrame, columns: dict[str, str]) -> str:
        return _shown(frame, columns).to_html(index=False, border=0, classes="mf")

    def chart(self, rows: pd.DataFrame) -> str:
        return _bar_chart(rows)


_CSS = ("body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;color:#222}"
        "table.mf{border-collapse:collapse;margin:.5em 0 1.5em}"
        "table.mf th,table.mf td{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:right}"
        "table.mf th{background:#f4f4f4}svg{display:block;margin:.5em 0}")


def _bar_chart(rows: pd.DataFrame) -> str:
    """One bar a unit: admitted so far (dark, the status's colour) inside the expected
    year total (light), the target as a black line and pro rata as a dashed one."""
    bar, gap, left, width = 14, 6, 90, 360
    top = max([1.0] + [float(v) for c in ("target", "year_hi", "admitted") for v in rows[c] if not pd.isna(v)])
    scale = width / top
    height = len(rows) * (bar + gap) + 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 60}" height="{height}" '
             f'role="img" aria-label="admissions against target, per unit">']
    for i, (_, r) in enumerate(rows.iterrows()):
        y = i * (bar + gap) + 4
        colour = STATUS_COLOURS.get(r["status"], "#9e9e9e")
        parts.append(f'<text x="{left - 6}" y="{y + bar - 3}" font-size="11" text-anchor="end">'
                     f'{html.escape(str(r["unit_id"]))}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{r["expected_year"] * scale:.1f}" height="{bar}" '
                     f'fill="{colour}" fill-opacity="0.25"><title>expected {r["expected_year"]:.1f}</title></rect>')
        parts.append(f'<rect x="{left}" y="{y}" width="{r["admitted"] * scale:.1f}" height="{bar}" '
                     f'fill="{colour}"><title>admitted {r["admitted"]}</title></rect>')
        if not pd.isna(r["target"]):
            tx, px = left + r["target"] * scale, left + r["pro_rata"] * scale
            parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{y - 2}" y2="{y + bar + 2}" stroke="#000" '
                         f'stroke-width="2"><title>target {r["target"]:g}</title></line>')
            parts.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{y - 2}" y2="{y + bar + 2}" stroke="#000" '
                         f'stroke-dasharray="3,2"><title>pro rata {r["pro_rata"]:g}</title></line>')
        parts.append(f'<text x="{left + width + 6}" y="{y + bar - 3}" font-size="11">{html.escape(_p(r["p_meet"]))}</text>')
    legend_y = len(rows) * (bar + gap) + 18
    parts.append(f'<text x="{left}" y="{legend_y}" font-size="10" fill="#555">dark: admitted; light: expected '
                 f'year; line: target; dashed: pro rata; right: P(target)</text></svg>')
    return "".join(parts)


def _text_chart(rows: pd.DataFrame, width: int = 40) -> str:
    """The chart in text for Markdown (a code block): admitted (#) and expected by the
    year's end (+) on a scale to the largest target or interval, the target as |."""
    top = max([1.0] + [float(v) for c in ("target", "year_hi", "admitted") for v in rows[c] if not pd.isna(v)])
    lines = []
    for _, r in rows.iterrows():
        cells = [" "] * (width + 1)
        done, expected = round(r["admitted"] / top * width), round(r["expected_year"] / top * width)
        for i in range(min(expected, width + 1)):
            cells[i] = "#" if i < done else "+"
        if not pd.isna(r["target"]):
            cells[min(round(r["target"] / top * width), width)] = "|"
        target = "" if pd.isna(r["target"]) else f", target {r['target']:g}"
        lines.append(f"{str(r['unit_id']):>8} {''.join(cells)} {r['admitted']} admitted, {r['expected_year']:.1f} "
                     f"expected{target}")
    return "```\n" + "\n".join(lines) + f"\n{'':>8} # admitted  + expected by the year's end  | target\n```\n"
