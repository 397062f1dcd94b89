"""The ``memberflow`` command line.

``memberflow forecast`` with no arguments forecasts the embedded example district for
the next 12 months; ``memberflow forecast DIR`` forecasts a scenario directory (its
``scenario.json`` manifest names the pipeline and the CSV files; see
docs/scenario-files.md), which ``memberflow example DIR`` writes for a start.

Output for scripts (``--format csv|json``) keeps one fixed set of columns per command,
in a fixed order, whatever the horizon or method: what a method does not compute is an
empty cell (``null`` in JSON) in the columns at the end. JSON is one object,
``{"memberflow": VERSION, "command": ..., ..., "columns": [...], "rows": [...]}``, for
every command, with floats at full (round-trip) precision; frames (``--monthly``) are
newline-delimited JSON, one record per line. Exit status: 0 on success, 2 on a usage or
input error (with ``memberflow: error: ...`` on standard error).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Callable, TypeVar, cast

import pandas as pd

from . import _core, datasets
from .errors import Error
from .distribution import DistributionMethods, interval_columns, interval_levels, level_name
from .exact import ExactForecast
from .forecast import METHODS, forecast
from .results import YEAR, Forecast
from .estimate import Fit, estimate
from .backtest import backtest, backtest_summary
from .pipeline import Pipeline
from .records import CountTable, EventLog
from .report import quarter_end, report
from .scenario import ParameterWarning, Scenario
from .simulate import SimulationForecast

Records = TypeVar("Records", EventLog, CountTable)

# Bounds of the numeric options: wide enough for any real use, narrow enough that a
# typo is refused at once instead of running for hours or exhausting memory.
HORIZON_MAX = 1200  # months: a century
PATHS_MAX = 10_000_000
THREADS_MAX = 1024
DEPTH_MAX = 1_000_000
SEED_MAX = 2**64 - 1  # the engine's seed is a 64-bit unsigned integer


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (argparse's own exits included)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help / --version (0) and usage errors (2), as a status
        return e.code if isinstance(e.code, int) else 2
    try:
        code: int = args.run(args)
        return code
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        return 0
    except KeyboardInterrupt:
        print("memberflow: interrupted", file=sys.stderr)
        return 130
    except MemoryError as e:
        detail = f" ({e})" if str(e) else ""
        return _fail(f"out of memory{detail}: try a shorter --horizon, fewer --paths or a smaller organisation")
    except (Error, OSError, ValueError, KeyError) as e:
        return _fail(e.args[0] if isinstance(e, KeyError) and e.args else e)


def _fail(message: object) -> int:
    print(f"memberflow: error: {message}", file=sys.stderr)
    return 2


# -- arguments -------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memberflow",
        description="Forecast an organisation's membership pipeline (source -> training -> probation -> full), "
                    "per unit and for every level above it.",
        epilog="Run 'memberflow COMMAND --help' for the options of a command. Exit status: 0 on success, "
               "2 on a usage or input error.")
    p.add_argument("--version", action="version", version=f"memberflow {_core.__version__}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND", dest="command", required=True)
    _forecast_parser(sub)
    _funnel_parser(sub)
    _example_parser(sub)
    _params_parser(sub)
    _fit_parser(sub)
    _backtest_parser(sub)
    _plan_parser(sub)
    _required_parser(sub)
    _report_parser(sub)
    return p


def _forecast_parser(sub: Any) -> None:
    f = sub.add_parser("forecast", help="forecast admissions, confirmations and stocks (default: the example district)",
                       description="Forecast the scenario HORIZON months ahead. Without --units, the embedded example "
                                   "district (267 units, target 160) is used. Targets are yearly: with a horizon "
                                   "under 12 months they count pro rata (target x months / 12, the target_window "
                                   "column) and the shortfall is against that share.")
    _data_options(f)
    f.add_argument("--horizon", type=_integer(1, HORIZON_MAX), default=12,
                   help=f"months ahead, 1 to {HORIZON_MAX} (default 12)")
    f.add_argument("--method", choices=METHODS, default="expected",
                   help="expected: exact expected values of the model (default); exact: also the full "
                        "distribution of admissions, the chance of meeting each target and intervals; "
                        "simulate: Monte Carlo paths, with --policy")
    f.add_argument("--level", type=_level, action="append", metavar="PERCENT",
                   help="exact/simulate: central interval level in percent, in (0, 100), repeatable "
                        "(default 90); columns admissions-lo-90, admissions-hi-90")
    f.add_argument("--paths", type=_integer(1, PATHS_MAX), default=2000,
                   help=f"simulate: number of paths, 1 to {PATHS_MAX:,} (default 2000)")
    f.add_argument("--seed", type=_integer(0, SEED_MAX), default=0,
                   help="simulate: random seed, 0 to 2**64-1 (default 0); same seed, same result")
    f.add_argument("--threads", type=_integer(0, THREADS_MAX), default=0,
                   help=f"threads, 0 to {THREADS_MAX} (default 0: one per core); results do not depend on it")
    f.add_argument("--policy", action="append", default=[], metavar="SPEC",
                   help="simulate: a policy, repeatable. course:seats=15,months=2/5/8/11 | "
                        "target:stop=1,margin=1,boost=0.05,penalty=0.1 | profile:1/1/1/1/1/1/1/1/1/1/1/3 | "
                        "uncertainty:FILE.csv (columns scope,stage,param,distribution,a,b)")
    f.add_argument("--no-progress", action="store_true",
                   help="simulate: no progress bar (there is one only when standard error is a terminal)")
    _output_options(f, "table: a readable summary (default); csv/json: one row per node, for scripts")
    f.add_argument("--monthly", action="store_true",
                   help="with csv/json: the tidy monthly frame (unit_id, month[, ds], quantity, value) instead; "
                        "json is then newline-delimited, one record per line")
    f.add_argument("--depth", type=_integer(0, DEPTH_MAX), default=1,
                   help="table: depth of the units listed under the root (default 1: base organisations)")
    f.add_argument("--draws", type=_integer(1, 1_000_000), default=200,
                   help="a fitted scenario (with fit.json, from memberflow fit): parameter sets drawn from the fit's "
                        "posterior and drift, whose mixture is the forecast (default 200; seed: --seed)")
    f.add_argument("--plug-in", action="store_true",
                   help="a fitted scenario: ignore the fit's uncertainty, forecast at the parameters' means")
    f.set_defaults(run=_run_forecast)


def _funnel_parser(sub: Any) -> None:
    u = sub.add_parser("funnel", help="chances and times of reaching each stage (absorbing-chain view)",
                       description="For one person now in STAGE: probability of reaching each later stage, expected "
                                   "months spent in each, expected months until reaching it (given it is reached).")
    _data_options(u)
    u.add_argument("--stage", help="the starting stage (default: the first)")
    u.add_argument("--unit", help="use this unit's parameters (default: the stage defaults)")
    _output_options(u, "table (default), csv or json")
    u.set_defaults(run=_run_funnel)


def _example_parser(sub: Any) -> None:
    e = sub.add_parser("example", help="write the example district as a scenario directory to start your own",
                       description="Write the example district into DIRECTORY: scenario.json (the pipeline, the "
                                   "calendar start and the files) and units.csv, overseers.csv, params.csv, "
                                   "stocks.csv, targets.csv. `memberflow forecast DIRECTORY` reads it back to the "
                                   "same forecast.")
    e.add_argument("directory")
    e.add_argument("--year", type=int, default=2021, choices=(2020, 2021))
    e.set_defaults(run=_run_example)


def _params_parser(sub: Any) -> None:
    p = sub.add_parser("params", help="each parameter's value per unit and the file line that set it",
                       description="For the units given (every unit by default), one row per stage and parameter: "
                                   "the value, the scope that set it (`*`, `kind:<kind>`, the unit, or default) and its "
                                   "source (the params file and line, or the manifest's pipeline default).")
    _data_options(p)
    p.add_argument("--unit", action="append", metavar="ID", help="a unit to show, repeatable (default: every unit)")
    _output_options(p, "table (default), csv or json")
    p.set_defaults(run=_run_params)


def _required_parser(sub: Any) -> None:
    r = sub.add_parser("required", help="the extra source a target needs: candidates a month (or now) for a node to "
                                        "reach its target with a chosen probability",
                       description="The smallest number of extra candidates, arriving each month into the first "
                                   "stage (--when monthly) or there today (--when now), for NODE's admissions over "
                                   "--horizon months to reach --target (default: the node's target) with at least "
                                   "--probability; found by a monotone search on the exact engine and re-checked "
                                   "by an exact forecast of the changed scenario. See docs/planning.md.")
    _data_options(r)
    r.add_argument("--target", type=_integer(0, 10**12), help="admissions to reach (default: the node's target)")
    r.add_argument("--node", metavar="ID", help="the unit whose admissions count (default: the root)")
    r.add_argument("--probability", type=_probability_arg, default=0.8,
                   help="the chance to reach, in (0, 1) (default 0.8)")
    r.add_argument("--when", choices=("monthly", "now"), default="monthly",
                   help="monthly: extra arrivals a month (default); now: extra people in the first stage today")
    r.add_argument("--to", metavar="SCOPE", dest="receivers",
                   help="who gets them: kind:<kind>, subtree:<id> or a unit id, within NODE's subtree "
                        "(default: all of it)")
    r.add_argument("--spread", default="inflow", metavar="HOW",
                   help="how the total is divided: inflow (default: in proportion to current arrivals), equal, "
                        "members or a stage name (its stock now)")
    r.add_argument("--horizon", type=_integer(1, HORIZON_MAX), default=12, help="months (default 12)")
    _output_options(r, "table (default), csv or json")
    r.set_defaults(run=_run_required)


def _report_parser(sub: Any) -> None:
    r = sub.add_parser("report", help="a quarter's progress report for a committee, Markdown or HTML (default: the "
                                      "example district's 2021 records)",
                       description="Where every unit stands against its target after a quarter (or a month): "
                                   "admissions so far against pro rata and the January forecast, the rest of the "
                                   "year re-forecast from the current state, roll-ups by level and by overseer, "
                                   "and the risks for the months left. DIR is the year's scenario at its start "
                                   "(its January); the records come from --events or --counts. Without DIR: the "
                                   "example district with its simulated 2021 records. See docs/progress.md.")
    _data_options(r)
    when = r.add_mutually_exclusive_group()
    when.add_argument("--quarter", metavar="YYYYQn", help="report through the end of this quarter (default 2021Q2 "
                                                          "for the example; else the records' last month)")
    when.add_argument("--through", metavar="YYYY-MM", help="report through this month")
    records = r.add_mutually_exclusive_group()
    records.add_argument("--events", metavar="CSV", help="the event log of the year so far (docs/records.md)")
    records.add_argument("--counts", metavar="CSV", help="counts per unit and month of the year so far")
    r.add_argument("--current-stocks", metavar="CSV",
                   help="who is where at the start of the month after the report's last (default: the event log's "
                        "snapshot; required with --counts)")
    r.add_argument("--plan", metavar="CSV", help="the targets per unit: a plan as `memberflow plan --format csv` "
                                                 "writes it (columns unit_id, share); default: the scenario's targets")
    r.add_argument("--quarantine", action="store_true", help="set bad record rows aside (listed) instead of failing")
    r.add_argument("--paths", type=_integer(1, PATHS_MAX), default=2000, help="paths of the risk simulation (default 2000)")
    r.add_argument("--seed", type=_integer(0, SEED_MAX), default=0, help="seed of the risk simulation (default 0)")
    r.add_argument("--format", choices=("markdown", "html"),
                   help="markdown (default) or html; default from --output's suffix")
    r.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    r.add_argument("--into", metavar="DIR", help="write report.md, report.html and the tables as CSV into DIR")
    r.set_defaults(run=_run_report)


def _probability_arg(text: str) -> float:
    """An argparse type: a probability strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability such as 0.8, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be strictly between 0 and 1, got {text}")
    return value


def _fit_parser(sub: Any) -> None:
    f = sub.add_parser("fit", help="learn every unit's parameters from an event log or aggregate counts (partial "
                                   "pooling along the tree)",
                       description="Fit each unit's rates from an event log (person_id,unit_id,event,date[,to_unit_id]; "
                                   "docs/records.md) with partial pooling along the organisation tree "
                                   "(docs/estimation.md), and write the fitted scenario as a directory: the "
                                   "organisation and pipeline of DIR, the posterior means as parameters, the stocks "
                                   "the log implies at the month after the window; and the fit beside it (fit.json: "
                                   "each unit's posterior, the pooling, the drift, the seasonal profile), which "
                                   "`memberflow forecast OUT_DIR` draws parameters from. Also writes rates.csv (each "
                                   "unit's data, estimate and interval), a report.")
    _data_options(f)
    source = f.add_mutually_exclusive_group(required=True)
    source.add_argument("--events", metavar="CSV", help="the event log")
    source.add_argument("--counts", metavar="CSV",
                        help="aggregate counts per unit and period instead (unit_id,period,<stage>_start,...; "
                             "docs/records.md): person-months reconstructed under the model")
    f.add_argument("--first", metavar="YYYY-MM",
                   help="first month fitted (default: every whole year of the log before --last; the drift between "
                        "years is fitted on them)")
    f.add_argument("--last", metavar="YYYY-MM", help="last month fitted (default: the log's last)")
    f.add_argument("--quarantine", action="store_true",
                   help="set bad rows aside (listed on standard error) instead of refusing the log")
    f.add_argument("--level", type=_level, default=90.0, metavar="PERCENT",
                   help="posterior interval in rates.csv, in percent (default 90)")
    f.add_argument("--into", required=True, metavar="OUT_DIR", help="where to write the fitted scenario")
    f.set_defaults(run=_run_fit)


def _backtest_parser(sub: Any) -> None:
    b = sub.add_parser("backtest", help="score forecasts from past cut-offs against what happened, beside naive baselines",
                       description="Rolling-origin backtest (docs/backtest.md): for each cut-off, fit the event log's "
                                   "whole years before it, forecast the next HORIZON months' admissions at every node "
                                   "(the exact predictive mixture over DRAWS parameter sets) and score it against the "
                                   "log: absolute error, central 50% and 90% intervals, CRPS; beside last year's "
                                   "count, the mean of the last three years and last year's conversion rate times "
                                   "the current pool. csv/json: one row per cut-off, quantity, method and node, or "
                                   "with --summary one per quantity, depth and method; table: the summary.")
    _data_options(b)
    b.add_argument("--events", required=True, metavar="CSV", help="the event log")
    b.add_argument("--quarantine", action="store_true",
                   help="set bad rows aside (listed on standard error) instead of refusing the log")
    b.add_argument("--cutoffs", type=_months, metavar="YYYY-MM,...",
                   help="the cut-offs, comma-separated (default: every 12 months back from the last the log can "
                        "score, while two whole years of records lie before it)")
    b.add_argument("--horizon", type=_integer(1, 12), default=12, help="months after each cut-off, 1 to 12 (default 12)")
    b.add_argument("--quantity", action="append", choices=("admissions", "confirmations"),
                   help="what to forecast, repeatable (default: admissions)")
    b.add_argument("--years", type=_integer(1, 1000), metavar="N",
                   help="fit N whole years before each cut-off (default: every whole year of records)")
    b.add_argument("--draws", type=_integer(1, 1_000_000), default=200,
                   help="parameter sets of the predictive mixture (default 200)")
    b.add_argument("--seed", type=_integer(0, SEED_MAX), default=0,
                   help="seed of the draws, 0 to 2**64-1 (default 0); same seed, same result")
    b.add_argument("--summary", action="store_true",
                   help="csv/json: the summary per quantity, depth and method instead of every row")
    _output_options(b, "table: the summary per depth and method (default); csv/json: the tidy rows (or --summary)")
    b.set_defaults(run=_run_backtest)


def _plan_parser(sub: Any) -> None:
    p = sub.add_parser("plan", help="split a target among the units, down to the cells (default: the example district)",
                       description="Split NODE's target (default: the root's target in the scenario, --target to "
                                   "give one) among its children and on down to the leaves, in whole numbers that "
                                   "add up exactly at every node: --method risk (default) maximises the chance that "
                                   "every unit meets its share (exact engine), expected splits in proportion to "
                                   "expected admissions, weight in proportion to --weights. See docs/planning.md.")
    _data_options(p)
    p.add_argument("--target", type=_integer(0, 10**12), help="the target to split (default: the node's target)")
    p.add_argument("--node", metavar="ID", help="the unit whose target is split (default: the root)")
    p.add_argument("--method", choices=("risk", "expected", "weight"), default="risk",
                   help="risk (default), expected or weight")
    p.add_argument("--weights", metavar="COLUMN",
                   help="for --method weight: a stage whose stock weighs each unit, 'members' (the default: "
                        "full members) or a numeric column of the units file")
    p.add_argument("--minimum", type=_integer(0, 10**12), help="every unit's share at least this")
    p.add_argument("--maximum", type=_integer(0, 10**12), help="every unit's share at most this")
    p.add_argument("--horizon", type=_integer(1, HORIZON_MAX), default=12,
                   help="months of admissions the target is for (default 12)")
    p.add_argument("--depth", type=_integer(0, DEPTH_MAX), help="table: show units down to this depth (default: all)")
    p.add_argument("--diagnose", action="store_true",
                   help="add each unit's risk flags and their reasons for its planned share (no source, a source "
                        "without admissions, infeasible, low chance, the price of lowering the bar: mf.diagnose "
                        "with its defaults, 2000 simulated paths, seed 0; see docs/planning.md)")
    _output_options(p, "table (default), csv or json")
    p.set_defaults(run=_run_plan)


def _months(text: str) -> list[str]:
    """An argparse type: comma-separated months YYYY-MM."""
    months = [m.strip() for m in text.split(",") if m.strip()]
    if not months:
        raise argparse.ArgumentTypeError("give at least one month YYYY-MM")
    for m in months:
        try:
            pd.Period(m, freq="M")
        except ValueError:
            raise argparse.ArgumentTypeError(f"{m!r} is not a month YYYY-MM") from None
        if len(m) != 7 or m[4] != "-":
            raise argparse.ArgumentTypeError(f"{m!r} is not a month YYYY-MM")
    return months


def _data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", metavar="DIR",
                   help="a scenario directory (or its scenario.json manifest), as `memberflow example DIR` writes; "
                        "default: the embedded example district")
    g = p.add_argument_group("loose files (beside DIR: each replaces the file the manifest names)")
    g.add_argument("--units", help="units CSV (unit_id,parent_id,name,kind,...) or organisation JSON")
    g.add_argument("--pipeline", metavar="JSON|party",
                   help="without DIR: the pipeline the loose files follow, a JSON file (the manifest's pipeline "
                        "object) or 'party' for the built-in preset")
    g.add_argument("--overseers", help="overseers CSV (overseer_id,unit_id)")
    g.add_argument("--params", help="parameter overrides CSV (scope,stage,param,value)")
    g.add_argument("--stocks", help="current stocks CSV (unit_id,stage,count[,months_in_stage])")
    g.add_argument("--targets", help="targets CSV (unit_id,target)")
    g.add_argument("--start", metavar="YYYY-MM",
                   help="the calendar month of month 0 (replaces the scenario's): dates (ds) and calendar quarters")


def _output_options(p: argparse.ArgumentParser, formats: str) -> None:
    p.add_argument("--format", choices=("table", "csv", "json"), default="table", help=formats)
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")


def _integer(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number in [low, high], else a message saying so."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {value}")
        return value
    return parse


def _level(text: str) -> float:
    """An argparse type: an interval level in percent, as :func:`interval_levels` checks it."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage such as 90, got {text!r}") from None
    if 0 < value < 1:  # a fraction: say which option the percentage goes to
        raise argparse.ArgumentTypeError(f"in percent: for a {value * 100:g}% interval give --level {value * 100:g}, "
                                         f"not {text}")
    try:
        return interval_levels(value)[0]
    except Error as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _fit_of(args: argparse.Namespace) -> Fit | None:
    """The fit of a fitted scenario directory (its fit.json), unless --plug-in or files
    that override the directory's own are given."""
    if args.plug_in or args.scenario is None or not (Path(args.scenario) / "fit.json").exists():
        return None
    overrides = [f"--{o}" for o in ("units", "overseers", "params", "stocks", "targets") if getattr(args, o)]
    if overrides:
        raise ValueError(f"{args.scenario} holds a fit: {overrides[0]} would forecast another scenario with its "
                         "parameters' uncertainty; add --plug-in to forecast at the given parameters")
    return Fit.read(args.scenario)


def _scenario(args: argparse.Namespace) -> tuple[Scenario, str]:
    """The scenario the data options name, and how to call it in a report. Warnings
    about parameter rows that change nothing go to standard error."""
    files = {o: getattr(args, o) for o in ("units", "overseers", "params", "stocks", "targets")}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ParameterWarning)
        if args.scenario is not None:
            if args.pipeline is not None:
                raise ValueError(f"{args.scenario}: a scenario directory carries its own pipeline; drop --pipeline "
                                 "(or edit the manifest)")
            scn, label = Scenario.read(args.scenario, **files), args.scenario
        elif args.units is not None:
            if args.pipeline is None:
                raise ValueError("--units without a scenario directory needs --pipeline (a pipeline JSON file, or "
                                 "'party' for the built-in preset): loose files do not say which pipeline they follow")
            pipeline = Pipeline.party() if args.pipeline == "party" else Pipeline.read_json(args.pipeline)
            scn = Scenario.from_files(pipeline=pipeline, **files)
            label = args.units
        else:
            given = [f"--{o}" for o, v in files.items() if v] + (["--pipeline"] if args.pipeline else [])
            if given:
                raise ValueError(f"{given[0]} needs a scenario directory or --units (the example district is used "
                                 "only without files)")
            scn, label = datasets.example_district(), "the example district"
    for w in caught:
        print(f"memberflow: warning: {w.message}", file=sys.stderr)
    if args.start is not None:
        scn.start = args.start
    return scn, label


# -- forecast --------------------------------------------------------------------------------------


def _run_forecast(args: argparse.Namespace) -> int:
    if args.policy and args.method != "simulate":
        raise ValueError("--policy needs --method simulate")
    if args.monthly and args.format == "table":
        raise ValueError("--monthly needs --format csv or --format json")
    levels = interval_levels(args.level or [90])
    extra = {}
    if args.method == "simulate":  # policies checked before any file is read
        # progress None: a bar only when standard error is a terminal (not into a file or pipe)
        extra = dict(paths=args.paths, seed=args.seed, progress=False if args.no_progress else None,
                     **_policies(args.policy))
    scn, label = _scenario(args)
    fit = _fit_of(args)
    if fit is None:
        fc = forecast(scn, horizon=args.horizon, method=args.method, threads=args.threads, **extra)
    else:
        label += f" (predictive: {args.draws} parameter draws from its fit, seed {args.seed})"
        extra.pop("seed", None)
        if args.method == "simulate":
            extra["threads"] = args.threads
        fc = fit.predict(args.horizon, args.method, draws=args.draws, seed=args.seed, **extra)
    if args.monthly:
        text = _csv(fc.to_frame()) if args.format == "csv" else _ndjson(fc.to_frame())
    elif args.format == "table":
        table = _node_frame(fc, levels).set_index("unit_id").rename_axis(None)  # no index-name line in the text
        text = _forecast_table(fc, table, label, args.depth)
        if args.method in ("exact", "simulate"):
            text += _risk_table(fc, table, args.depth, levels)
    elif args.format == "csv":
        text = _csv(_node_frame(fc, levels))
    else:
        months = min(YEAR, fc.horizon)
        meta = {"method": fc.method, "horizon": fc.horizon, "start": None if fc.start is None else str(fc.start),
                "window": [0, months], "levels": [int(v) if v.is_integer() else v for v in levels]}
        if fc.method == "simulate":
            meta.update(paths=fc.paths, seed=fc.seed)
        if fit is not None:
            meta.update(draws=args.draws, draws_seed=args.seed)
        text = _json_document("forecast", meta, _node_frame(fc, levels))
    _emit(text, args.output)
    return 0


def _node_columns(fc: Forecast, levels: list[float]) -> list[str]:
    """The columns of ``forecast --format csv|json``: fixed for a scenario, whatever the
    horizon and method; the method-specific ones last."""
    stages = fc.scenario.pipeline.stages
    return (["unit_id", "parent_id", "name", "kind", "depth", "months", "target", "target_window",
             "admissions", "shortfall", "confirmations"]
            + [f"admissions_{q}" for q in fc.quarters(YEAR).index]
            + [f"{s}_now" for s in stages] + [f"{s}_at_end" for s in stages]
            + interval_columns(levels, "admissions-") + ["p_target", "tail"])


def _node_frame(fc: Forecast, levels: list[float]) -> pd.DataFrame:
    """One row per node over the first year (months 0-11, or the whole horizon if
    shorter): the columns of :func:`_node_columns`. A quarter of that year the horizon
    does not cover, and what the method does not compute (intervals and p_target for
    ``expected``, tail for all but ``exact``), are empty."""
    months = min(YEAR, fc.horizon)
    if not isinstance(fc, DistributionMethods):  # method="expected"
        table = fc.summary(window=(0, months))
    else:
        table = fc.summary(window=(0, months), level=levels)
        if isinstance(fc, ExactForecast):  # the mass its pmfs dropped; a simulation drops none
            table["tail"] = fc.distribution("admissions", window=(0, months)).tail
    for q, row in fc.quarters(YEAR).iterrows():
        if row["last"] <= fc.horizon:
            table[f"admissions_{q}"] = fc.mean("admissions", window=(row["first"], row["last"]))
    for stage in fc.scenario.pipeline.stages:
        table[f"{stage}_now"] = fc.mean(stage, month=0)
    table["months"] = months
    table["parent_id"] = [fc.org.parent(u) for u in fc.org.ids]
    table = table.rename_axis("unit_id").reset_index().reindex(columns=_node_columns(fc, levels))
    bounds = [c for c in table.columns if c.startswith("admissions-")]
    table[bounds] = table[bounds].astype("Int64")  # counts: 12, not 12.0; empty where not computed
    return table


def _forecast_table(fc: Forecast, table: pd.DataFrame, label: str, depth: int) -> str:
    """The readable summary: the root, then the units at ``depth``; ``table`` is
    :func:`_node_frame` indexed by unit."""
    org, scn = fc.org, fc.scenario
    months = min(YEAR, fc.horizon)
    window = fc.window_label(0, months)
    root = org.root
    r = cast(pd.Series, table.loc[root])  # one row: the root's
    full = scn.pipeline.stages[-1]
    lines = [f"memberflow {_core.__version__} - {fc.method} forecast of {label}: {len(org)} units, "
             f"{fc.horizon} months ahead (month 0 = {'now' if fc.start is None else fc.start})", ""]
    lines.append(f"{r['name'] or root} ({root})")
    lines.append(f"  expected admissions, {window}: {r['admissions']:.1f}   ({_target_text(r, months)})")
    quarters = fc.quarters(YEAR)
    shown = [q for q in quarters.index if not pd.isna(r[f"admissions_{q}"])]
    partial = [q for q in shown if quarters.loc[q, "partial"]]
    if shown:
        lines.append("  by quarter: " + "  ".join(f"{q}{'*' if q in partial else ''} {r[f'admissions_{q}']:.1f}"
                                                  for q in shown)
                     + ("   (* part of the quarter: its months within the year)" if partial else "")
                     + (f"   (later quarters: beyond the {fc.horizon}-month horizon)"
                        if len(shown) < len(quarters) else ""))
    lines.append(f"  expected confirmations: {r['confirmations']:.1f}")
    end = f"month {months}" if fc.start is None else f"the start of {fc.start + months}"
    lines.append(f"  {full} members: {r[f'{full}_now']:,.0f} now -> {r[f'{full}_at_end']:,.1f} expected at {end}")
    stages = scn.pipeline.stages[:-1]
    lines.append("  in the pipeline now: " + ", ".join(f"{s} {r[f'{s}_now']:,.0f}" for s in stages))
    rows = table[table["depth"] == depth]
    if len(rows):
        lines += ["", f"Units at depth {depth} ({len(rows)}): expected over {window}"]
        listed = pd.DataFrame({
            "name": rows["name"].str.slice(0, 28),
            "kind": rows["kind"],
            "target": rows["target_window"] if months < YEAR else rows["target"],
            "admissions": rows["admissions"],
            **{q: rows[f"admissions_{q}"] for q in shown},
            "confirm.": rows["confirmations"],
            f"{full}_now": rows[f"{full}_now"],
            "shortfall": rows["shortfall"],
        })
        lines.append(listed.to_string(float_format=lambda v: f"{v:,.1f}", na_rep="-"))
        if months < YEAR:
            lines.append(f"(target: the yearly target x {months}/{YEAR})")
        behind = rows.dropna(subset=["target"]).sort_values("shortfall", ascending=False)
        behind = behind[behind["shortfall"] > 0]
        if len(behind):
            lines += ["", "Furthest behind their targets (expected shortfall): " +
                      ", ".join(f"{u} {v:.1f}" for u, v in behind["shortfall"].head(5).items())]
    return "\n".join(lines) + "\n"


def _target_text(r: pd.Series, months: int) -> str:
    if pd.isna(r["target"]):
        return "no target"
    if months < YEAR:  # say which share of the yearly target the figures are held to
        return (f"target {r['target']:g} a year, {r['target_window']:.1f} pro rata over {months} months; "
                f"expected shortfall {r['shortfall']:.1f}")
    return f"target {r['target']:g}, expected shortfall {r['shortfall']:.1f}"


def _risk_table(fc: ExactForecast | SimulationForecast, table: pd.DataFrame, depth: int, levels: list[float]) -> str:
    """The distribution's answers: the chance of meeting the root's target, central
    intervals, and the units at ``depth`` least likely to meet their own targets."""
    months = min(YEAR, fc.horizon)
    root = fc.org.root
    r = cast(pd.Series, table.loc[root])  # one row: the root's
    window = fc.window_label(0, months)
    if isinstance(fc, ExactForecast):
        what = f"Exact distribution of admissions over {window} (tail mass <= {fc.tolerance:g} per node)"
        floor = fc.tolerance
    else:
        what = f"Simulated distribution of admissions over {window} ({fc.paths} paths, seed {fc.seed})"
        floor = 1.0 / fc.paths  # below one path in `paths` the estimate is 0
    lines = ["", what]
    for v in levels:
        name = level_name(v)
        lines.append(f"  {root}: {name}% central interval [{r[f'admissions-lo-{name}']}, "
                     f"{r[f'admissions-hi-{name}']}] around a mean of {r['admissions']:.1f}")
    if not pd.isna(r["target"]):
        target = f"the target of {r['target']:g}" if months == YEAR else \
            f"the target pro rata, {r['target_window']:.1f}"
        lines.append(f"  P(reaching {target}) = {_probability(r['p_target'], floor)}")
    rows = table[(table["depth"] == depth) & table["target"].notna()]
    if len(rows):
        risky = rows.sort_values("p_target").head(10)
        lines += ["", f"Units at depth {depth} least likely to meet their own targets:"]
        bounds = interval_columns(levels, "admissions-")
        shown = pd.DataFrame({"name": risky["name"].str.slice(0, 28), "target": risky["target_window"],
                              "mean": risky["admissions"],
                              **{c.removeprefix("admissions-"): risky[c] for c in bounds},
                              "P(target)": [_probability(p, floor) for p in risky["p_target"]]})
        lines.append(shown.to_string(float_format=lambda v: f"{v:,.1f}"))
    return "\n".join(lines) + "\n"


def _probability(p: float, tolerance: float) -> str:
    # Below the tail bound the computed value carries no digits: say so.
    if p < tolerance:
        return f"< {tolerance:g}"
    return f"{p:.4f}" if p >= 1e-3 else f"{p:.2e}"


def _policies(specs: list[str]) -> dict[str, Any]:
    """--policy NAME:key=value,... (see --help) -> keyword arguments of forecast()."""
    out: dict[str, Any] = {}
    for spec in specs:
        name, _, rest = spec.partition(":")
        try:
            if name == "profile":
                out["inflow_profile"] = [float(f) for f in rest.split("/")]
            elif name == "uncertainty":
                out["uncertainty"] = pd.read_csv(rest)
            elif name in ("course", "target"):
                kv = dict(item.split("=", 1) for item in rest.split(",") if item)
                if name == "course":
                    out["course"] = {"seats": int(kv.pop("seats")), "months": [int(m) for m in kv.pop("months").split("/")]}
                else:
                    out["target_rule"] = {"stop_when_met": kv.pop("stop", "1") not in ("0", "false", "no"),
                                          "margin": float(kv.pop("margin", 0)),
                                          "advance_boost": float(kv.pop("boost", 0)),
                                          "pass_penalty": float(kv.pop("penalty", 0))}
                if kv:
                    raise ValueError(f"unknown keys {sorted(kv)}")
            else:
                raise ValueError("unknown policy (course, target, profile, uncertainty)")
        except (ValueError, KeyError) as e:
            raise ValueError(f"--policy {spec!r}: {e}") from None
    return out


# -- funnel and example ----------------------------------------------------------------------------


def _run_plan(args: argparse.Namespace) -> int:
    from .allocate import allocate
    if args.weights is not None and args.method != "weight":
        raise ValueError("--weights needs --method weight")
    scn, label = _scenario(args)
    frame = allocate(scn, args.target, node=args.node, method=args.method,
                     weights=args.weights if args.method == "weight" else None,
                     minimum=args.minimum, maximum=args.maximum, horizon=args.horizon)
    meta = dict(frame.attrs)
    if args.diagnose:  # the flags and reasons of each unit's planned share
        from .diagnose import diagnose
        risks = diagnose(scn, frame, horizon=args.horizon)
        frame = frame.merge(risks[["unit_id", "flags", "reasons"]], on="unit_id", how="left")
        meta["diagnose"] = {k: risks.attrs[k] for k in ("thresholds", "lowered_bar", "paths", "seed")}
    if args.format == "csv":
        text = _csv(frame)
    elif args.format == "json":
        text = _json_document("plan", meta, frame)
    else:
        shown = frame if args.depth is None else frame[frame["depth"] <= args.depth]
        table = shown.set_index("unit_id").rename_axis(None)[
            ["name", "kind", "share", "own_share", "expected", "p_meet", "minimum", "maximum"]
            + (["flags"] if args.diagnose else [])]
        head = (f"memberflow {_core.__version__} - {meta['method']} split of the target {meta['target']} of "
                f"{meta['node']} in {label}: {len(frame)} units, admissions over months 0-{meta['horizon'] - 1}\n"
                f"exact-engine evaluations: {meta['exact_evaluations']}; units placed one at a time: "
                f"{meta['greedy_steps']}\n\n")
        text = head + table.to_string(float_format=lambda v: f"{v:.3g}") + "\n"
        if args.diagnose:
            flagged = shown[shown["flags"] != ""]
            text += "\nRisks:\n" + "".join(f"  {u}: {r}\n" for u, r in zip(flagged["unit_id"], flagged["reasons"])) \
                if len(flagged) else "\nRisks: none flagged\n"
    _emit(text, args.output)
    return 0


def _run_funnel(args: argparse.Namespace) -> int:
    scn, _ = _scenario(args)
    if args.unit is not None:
        frame = scn.pipeline.funnel(args.stage, scenario=scn, unit=args.unit)
    else:
        frame = scn.pipeline.funnel(args.stage)
    if args.format == "table":
        text = frame.to_string(float_format=lambda v: f"{v:.4g}") + "\n"
    elif args.format == "csv":
        text = _csv(frame.reset_index())
    else:
        stage = args.stage if args.stage is not None else scn.pipeline.stages[0]
        text = _json_document("funnel", {"stage": stage, "unit": args.unit}, frame.reset_index())
    _emit(text, args.output)
    return 0


def _run_required(args: argparse.Namespace) -> int:
    from .required import required_source
    scn, label = _scenario(args)
    frame = required_source(scn, args.target, node=args.node, probability=args.probability, horizon=args.horizon,
                            when=args.when, units=args.receivers, spread=args.spread)
    meta = dict(frame.attrs)
    if args.format == "csv":
        text = _csv(frame)
    elif args.format == "json":
        text = _json_document("required", meta, frame)
    else:
        per = "a month" if meta["when"] == "monthly" else "now, in the first stage"
        head = (f"memberflow {_core.__version__} - source for {meta['node']} in {label} to reach {meta['target']:g} "
                f"admissions in {meta['horizon']} months with P >= {meta['probability']:g}\n"
                f"extra candidates {per}: {meta['total']:.4g} over {len(frame)} units; "
                f"P before {meta['chance_before']:.4f}, after {meta['chance_after']:.4f} (re-checked); "
                f"exact-engine evaluations: {meta['evaluations']}\n\n")
        text = head + frame.set_index("unit_id").rename_axis(None).to_string(float_format=lambda v: f"{v:.4g}") + "\n"
    _emit(text, args.output)
    return 0


def _run_report(args: argparse.Namespace) -> int:
    if args.scenario is None and args.units is None:  # the example district's 2021 so far
        if args.events or args.counts:
            raise ValueError("--events/--counts need the year's scenario (DIR or loose files)")
        through = args.through or quarter_end(args.quarter or "2021Q2")
        example = datasets.example_year(through=str(through))
        so_far: EventLog | CountTable = example.log
        scn, label = example.scenario, "the example district"
    else:
        scn, label = _scenario(args)
        if not (args.events or args.counts):
            raise ValueError("give the year's records: --events CSV or --counts CSV")
        so_far = (_read_records(EventLog, args.events, scn, args.quarantine) if args.events
                  else _read_records(CountTable, args.counts, scn, args.quarantine))
    plan = _read_plan(args.plan) if args.plan else None
    made = report(scn, so_far, quarter=args.quarter, through=args.through, plan=plan, stocks=args.current_stocks,
                  paths=args.paths, seed=args.seed)
    if args.into:
        for path in made.to_files(args.into).values():
            print(f"memberflow: wrote {path}", file=sys.stderr)
        if args.output is None and args.format is None:
            return 0
    html_out = args.format == "html" or (args.format is None and args.output is not None
                                         and Path(args.output).suffix.lower() in (".html", ".htm"))
    _emit(made.to_html() if html_out else made.to_markdown(), args.output)
    return 0


def _read_plan(path: str) -> pd.DataFrame:
    """A plan CSV as `memberflow plan --format csv` writes it: unit_id and share, each
    share a number (the rest of the checks are progress's: units known, once, >= 0)."""
    plan = pd.read_csv(path, dtype={"unit_id": str}, keep_default_na=False, na_values=[""])
    missing = [c for c in ("unit_id", "share") if c not in plan.columns]
    if missing:
        raise ValueError(f"{path}: a plan needs the columns unit_id and share (as `memberflow plan --format csv` "
                         f"writes it); missing {', '.join(missing)}")
    share = pd.to_numeric(plan["share"], errors="coerce")
    bad = share.isna() & plan["share"].notna()
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise ValueError(f"{path} line {row + 2}: share {plan['share'].iloc[row]!r} of unit "
                         f"'{plan['unit_id'].iloc[row]}' is not a number")
    return plan.assign(share=share)


def _run_example(args: argparse.Namespace) -> int:
    paths = datasets.example_district(args.year).to_files(args.directory)
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    print(f"forecast it with: memberflow forecast {args.directory}")
    return 0


def _run_fit(args: argparse.Namespace) -> int:
    scn, _ = _scenario(args)
    records = (_read_records(CountTable, args.counts, scn, args.quarantine) if args.counts is not None
               else _read_records(EventLog, args.events, scn, args.quarantine))
    fit = estimate(records, args.first, args.last, level=args.level)
    paths = fit.to_files(args.into)
    fit.rates.to_csv(Path(args.into) / "rates.csv", index=False)  # a report for people: Fit.read derives it
    used = (f"{records.events_used:,} events" if isinstance(records, EventLog) else f"{len(records):,} rows of counts")
    print(f"fitted {fit.first} to {fit.last} from {used} ({len(records.quarantined):,} quarantined); "
          f"wrote {paths['manifest']}, {paths['fit']} and rates.csv in {args.into}")
    print(f"forecast it with: memberflow forecast {args.into}")
    return 0


def _read_records(kind: type[Records], path: str, scn: Scenario, quarantine: bool) -> Records:
    """An EventLog or CountTable from CSV; with --quarantine each row set aside is listed
    on standard error with its line and reason."""
    records = kind.from_csv(path, scn, quarantine=quarantine)
    for _, row in records.quarantined.iterrows():
        print(f"memberflow: quarantined: {path} {records._core.noun} {row.iloc[0]}: {row['reason']}", file=sys.stderr)
    return records


def _run_backtest(args: argparse.Namespace) -> int:
    scn, _ = _scenario(args)
    log = _read_records(EventLog, args.events, scn, args.quarantine)
    quantities = tuple(dict.fromkeys(args.quantity or ["admissions"]))
    frame = backtest(log, args.cutoffs, horizon=args.horizon, quantities=quantities, draws=args.draws,
                     seed=args.seed, years=args.years)
    summary = backtest_summary(frame).reset_index()
    if args.format == "table":
        cutoffs = ", ".join(str(c) for c in frame["cutoff"].unique())
        text = (f"memberflow {_core.__version__} - backtest of {args.events}: cut-offs {cutoffs}; {args.horizon} months "
                f"after each; {args.draws} draws (seed {args.seed})\n\n"
                + summary.to_string(index=False, float_format=lambda v: f"{v:.3f}") + "\n"
                "\n(mae: of the mean; coverage_L: actual inside the central L% interval; pit_L: the same for the "
                "randomised PIT; crps_ratio: crps / best_naive's)\n")
    else:
        out = summary if args.summary else frame.astype({"cutoff": str})  # 2020-01, not a date
        if args.format == "csv":
            text = _csv(out)
        else:
            meta = {"cutoffs": [str(c) for c in frame["cutoff"].unique()], "horizon": args.horizon,
                    "quantities": list(quantities), "draws": args.draws, "seed": args.seed, "years": args.years,
                    "summary": args.summary}
            text = _json_document("backtest", meta, out)
    _emit(text, args.output)
    return 0


def _run_params(args: argparse.Namespace) -> int:
    scn, label = _scenario(args)
    frame = scn.explain(args.unit)
    if args.format == "table":
        text = frame.to_string(index=False, float_format=lambda v: repr(float(v))) + "\n"
    elif args.format == "csv":
        text = _csv(frame)
    else:
        text = _json_document("params", {"scenario": label, "units": args.unit}, frame)
    _emit(text, args.output)
    return 0


# -- output ----------------------------------------------------------------------------------------


def _csv(frame: pd.DataFrame) -> str:
    # pandas writes floats with repr, so they read back equal; missing values are empty cells
    return frame.to_csv(index=False, date_format="%Y-%m-%d")


def _json_values(column: pd.Series) -> list[Any]:
    """A column as JSON-ready Python values: floats at repr precision (json.dumps writes
    repr, so they read back equal; pandas' to_json keeps 10 digits), None for missing
    values, dates as YYYY-MM-DD."""
    if pd.api.types.is_datetime64_any_dtype(column):
        column = column.dt.strftime("%Y-%m-%d")
    return column.astype(object).where(column.notna(), None).tolist()


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = [_json_values(frame[c]) for c in frame.columns]
    return [dict(zip(frame.columns, row)) for row in zip(*columns)]


def _json_document(command: str, meta: Mapping[Any, Any], frame: pd.DataFrame) -> str:
    """The one JSON shape of every command: {"memberflow", "command", <meta>, "columns",
    "rows"}, one row per line."""
    head = json.dumps({"memberflow": _core.__version__, "command": command, **meta, "columns": list(frame.columns)})
    rows = ",\n".join(json.dumps(r, allow_nan=False) for r in _records(frame))
    return f'{head[:-1]}, "rows": [\n{rows}\n]}}\n'


def _ndjson(frame: pd.DataFrame) -> str:
    """Newline-delimited JSON: one record per line (``pandas.read_json(f, lines=True)``)."""
    return "".join(json.dumps(r, allow_nan=False) + "\n" for r in _records(frame))


def _emit(text: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    sys.exit(main())
