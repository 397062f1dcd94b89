"""The ``memberflow`` command line.

``memberflow forecast`` with no arguments forecasts the embedded example district for
the next 12 months; give your own units, parameters, stocks and targets as CSV files.
``--format csv|json`` prints machine-readable per-node results for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import pandas as pd

from . import __version__, datasets
from .errors import Error
from .forecast import METHODS, Forecast, forecast
from .scenario import Scenario


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except (Error, OSError, ValueError, KeyError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"memberflow: error: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into `head`
        return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memberflow",
        description="Forecast an organisation's membership pipeline (source -> training -> probation -> full), "
                    "per unit and for every level above it.",
        epilog="Run 'memberflow COMMAND --help' for the options of a command.")
    p.add_argument("--version", action="version", version=f"memberflow {__version__}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND", dest="command")

    f = sub.add_parser("forecast", help="forecast admissions, confirmations and stocks (default: the example district)",
                       description="Forecast the scenario HORIZON months ahead. Without --units, the embedded example "
                                   "district (267 units, target 160) is used.")
    _data_options(f)
    f.add_argument("--horizon", type=int, default=12, help="months ahead (default 12)")
    f.add_argument("--method", choices=METHODS, default="expected",
                   help="expected: exact expected values of the model (default); exact: also the full "
                        "distribution of admissions, the chance of meeting each target and intervals; "
                        "simulate: Monte Carlo paths, with --policy")
    f.add_argument("--paths", type=int, default=2000, help="simulate: number of paths (default 2000)")
    f.add_argument("--seed", type=int, default=0, help="simulate: random seed (default 0); same seed, same result")
    f.add_argument("--threads", type=int, default=0, help="threads (default: one per core); results do not depend on it")
    f.add_argument("--policy", action="append", default=[], metavar="SPEC",
                   help="simulate: a policy, repeatable. course:seats=15,months=2/5/8/11 | "
                        "target:stop=1,margin=1,boost=0.05,penalty=0.1 | profile:1/1/1/1/1/1/1/1/1/1/1/3 | "
                        "uncertainty:FILE.csv (columns scope,stage,param,distribution,a,b)")
    f.add_argument("--no-progress", action="store_true", help="simulate: no progress bar")
    f.add_argument("--format", choices=("table", "csv", "json"), default="table",
                   help="table: a readable summary (default); csv/json: every node, for scripts")
    f.add_argument("--monthly", action="store_true",
                   help="with csv/json: the tidy monthly frame (unit_id, month, quantity, value) instead")
    f.add_argument("--level", type=int, default=1,
                   help="table: depth of the units listed under the root (default 1: base organisations)")
    f.add_argument("--output", "-o", help="write to this file instead of standard output")
    f.set_defaults(run=_run_forecast)

    u = sub.add_parser("funnel", help="chances and times of reaching each stage (absorbing-chain view)",
                       description="For one person now in STAGE: probability of reaching each later stage, expected "
                                   "months spent in each, expected months until reaching it (given it is reached).")
    _data_options(u)
    u.add_argument("--stage", help="the starting stage (default: the first)")
    u.add_argument("--unit", help="use this unit's parameters (default: the stage defaults)")
    u.add_argument("--format", choices=("table", "csv", "json"), default="table")
    u.set_defaults(run=_run_funnel)

    e = sub.add_parser("example", help="write the example district as CSV files to start your own",
                       description="Write units.csv, overseers.csv, params.csv, stocks.csv and targets.csv of the "
                                   "example district into DIRECTORY.")
    e.add_argument("directory")
    e.add_argument("--year", type=int, default=2021, choices=(2020, 2021))
    e.set_defaults(run=_run_example)
    return p


def _data_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data (default: the embedded example district)")
    g.add_argument("--units", help="units CSV (unit_id,parent_id,name,kind,...) or organisation JSON")
    g.add_argument("--overseers", help="overseers CSV (overseer_id,unit_id)")
    g.add_argument("--params", help="parameter overrides CSV (scope,stage,param,value)")
    g.add_argument("--stocks", help="current stocks CSV (unit_id,stage,count[,months_in_stage])")
    g.add_argument("--targets", help="targets CSV (unit_id,target)")


def _scenario(args: argparse.Namespace) -> tuple[Scenario, str]:
    given = [o for o in ("overseers", "params", "stocks", "targets") if getattr(args, o)]
    if args.units is None:
        if given:
            raise ValueError(f"--{given[0]} needs --units (the example district is used only without files)")
        return datasets.example_district(), "the example district"
    scn = Scenario.from_files(args.units, params=args.params, stocks=args.stocks, targets=args.targets,
                              overseers=args.overseers)
    return scn, args.units


def _run_forecast(args: argparse.Namespace) -> int:
    scn, label = _scenario(args)
    if args.policy and args.method != "simulate":
        raise ValueError("--policy needs --method simulate")
    extra = {}
    if args.method == "simulate":
        extra = dict(paths=args.paths, seed=args.seed, progress=not args.no_progress, **_policies(args.policy))
    fc = forecast(scn, horizon=args.horizon, method=args.method, threads=args.threads or None, **extra)
    if args.format == "table":
        text = _forecast_table(fc, label, args.level)
        if args.method in ("exact", "simulate"):
            text += _risk_table(fc, args.level)
    elif args.monthly:
        frame = fc.to_frame()
        text = frame.to_csv(index=False) if args.format == "csv" else frame.to_json(orient="records", indent=1)
    else:
        text = _forecast_records(fc, args.format)
    _emit(text, args.output)
    return 0


def _node_frame(fc: Forecast) -> pd.DataFrame:
    year = (0, min(12, fc.horizon))
    table = fc.summary(window=year)
    quarters = fc.by_quarter("admissions")
    for q in quarters.columns[:4]:
        table[f"admissions_{q}"] = quarters[q]
    for stage in fc.scenario.pipeline.stages:
        table[f"{stage}_now"] = fc.mean(stage, month=0)
    table.insert(0, "parent_id", [fc.org.parent(u) for u in fc.org.ids])
    return table


def _forecast_records(fc: Forecast, fmt: str) -> str:
    table = _node_frame(fc).reset_index()
    if fmt == "csv":
        return table.to_csv(index=False, float_format="%.6g")
    doc = {"method": fc.method, "horizon": fc.horizon, "window": [0, min(12, fc.horizon)],
           "nodes": json.loads(table.to_json(orient="records"))}
    return json.dumps(doc, indent=1)


def _forecast_table(fc: Forecast, label: str, level: int) -> str:
    org, scn = fc.org, fc.scenario
    table = _node_frame(fc)
    months = min(12, fc.horizon)
    root = org.root
    r = table.loc[root]
    full = scn.pipeline.stages[-1]
    lines = [f"memberflow {__version__} - {fc.method} forecast of {label}: {len(org)} units, "
             f"{fc.horizon} months ahead (month 0 = now)", ""]
    lines.append(f"{r['name'] or root} ({root})")
    target = "no target" if pd.isna(r["target"]) else f"target {r['target']:.0f}, expected shortfall {r['shortfall']:.1f}"
    lines.append(f"  expected admissions, months 0-{months - 1}: {r['admissions']:.1f}   ({target})")
    quarter_cols = [c for c in table.columns if c.startswith("admissions_Q")]
    lines.append("  by quarter: " + "  ".join(f"{c[-2:]} {r[c]:.1f}" for c in quarter_cols))
    lines.append(f"  expected confirmations: {r['confirmations']:.1f}")
    lines.append(f"  {full} members: {r[f'{full}_now']:,.0f} now -> {r[f'{full}_at_end']:,.1f} expected at month {months}")
    stages = scn.pipeline.stages[:-1]
    lines.append("  in the pipeline now: " + ", ".join(f"{s} {r[f'{s}_now']:,.0f}" for s in stages))
    rows = table[table["depth"] == level]
    if len(rows):
        lines += ["", f"Units at depth {level} ({len(rows)}): expected over months 0-{months - 1}"]
        shown = pd.DataFrame({
            "name": rows["name"].str.slice(0, 28),
            "kind": rows["kind"],
            "target": rows["target"],
            "admissions": rows["admissions"],
            **{c[-2:]: rows[c] for c in quarter_cols},
            "confirm.": rows["confirmations"],
            f"{full}_now": rows[f"{full}_now"],
            "shortfall": rows["shortfall"],
        })
        lines.append(shown.to_string(float_format=lambda v: f"{v:,.1f}", na_rep="-"))
        behind = rows.dropna(subset=["target"]).sort_values("shortfall", ascending=False)
        behind = behind[behind["shortfall"] > 0]
        if len(behind):
            lines += ["", f"Furthest behind their targets (expected shortfall): " +
                      ", ".join(f"{u} {v:.1f}" for u, v in behind["shortfall"].head(5).items())]
    return "\n".join(lines) + "\n"


def _policies(specs: list[str]) -> dict:
    """--policy NAME:key=value,... (see --help) -> keyword arguments of forecast()."""
    out: dict = {}
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


def _risk_table(fc, level: int) -> str:
    """The exact engine's answers: the chance of meeting the root's target, a central
    90% interval, and the units at `level` least likely to meet their own targets."""
    months = min(12, fc.horizon)
    table = fc.summary(window=(0, months))
    root = fc.org.root
    r = table.loc[root]
    if fc.method == "exact":
        what = f"Exact distribution of admissions over months 0-{months - 1} (tail mass <= {fc.tolerance:g} per node)"
        floor = fc.tolerance
    else:
        what = f"Simulated distribution of admissions over months 0-{months - 1} ({fc.paths} paths, seed {fc.seed})"
        floor = 1.0 / fc.paths  # below one path in `paths` the estimate is 0
    lines = ["", what]
    lines.append(f"  {root}: 90% central interval [{r['admissions_lower90']:.0f}, {r['admissions_upper90']:.0f}] "
                 f"around a mean of {r['admissions']:.1f}")
    if not pd.isna(r["target"]):
        lines.append(f"  P(reaching the target of {r['target']:.0f}) = {_probability(r['p_target'], floor)}")
    rows = table[(table["depth"] == level) & table["target"].notna()]
    if len(rows):
        risky = rows.sort_values("p_target").head(10)
        lines += ["", f"Units at depth {level} least likely to meet their own targets:"]
        shown = pd.DataFrame({"name": risky["name"].str.slice(0, 28), "target": risky["target"],
                              "mean": risky["admissions"], "lower90": risky["admissions_lower90"],
                              "upper90": risky["admissions_upper90"],
                              "P(target)": [_probability(p, floor) for p in risky["p_target"]]})
        lines.append(shown.to_string(float_format=lambda v: f"{v:,.1f}"))
    return "\n".join(lines) + "\n"


def _probability(p: float, tolerance: float) -> str:
    # Below the tail bound the computed value carries no digits: say so.
    if p < tolerance:
        return f"< {tolerance:g}"
    return f"{p:.4f}" if p >= 1e-3 else f"{p:.2e}"


def _run_funnel(args: argparse.Namespace) -> int:
    scn, _ = _scenario(args)
    if args.unit is not None:
        frame = scn.pipeline.funnel(args.stage, scenario=scn, unit=args.unit)
    else:
        frame = scn.pipeline.funnel(args.stage)
    if args.format == "table":
        text = frame.to_string(float_format=lambda v: f"{v:.4g}") + "\n"
    elif args.format == "csv":
        text = frame.to_csv()
    else:
        text = frame.reset_index().to_json(orient="records", indent=1)
    _emit(text, None)
    return 0


def _run_example(args: argparse.Namespace) -> int:
    paths = datasets.example_district(args.year).to_files(args.directory)
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    print(f"forecast them with: memberflow forecast --units {paths['units']} --overseers {paths['overseers']} "
          f"--params {paths['params']} --stocks {paths['stocks']} --targets {paths['targets']}")
    return 0


def _emit(text: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    sys.exit(main())
