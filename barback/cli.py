"""barback command line: a thin layer over the `analysis` and `sensor` libraries.

Errors in the input end the command with one line on stderr and exit code 2; warnings go to
stderr and into the output files; tracebacks never reach the user (use --debug to see one).
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import contextmanager
from pathlib import Path

PROG = "barback"
EXIT_INPUT = 2
HERE = Path(__file__).resolve().parent
DEMO_RECORDING = HERE.parent / "recordings" / "demo_deadlift"


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


def _err(msg: str) -> None:
    print(f"{PROG}: error: {msg}", file=sys.stderr)


def _warn(msg: str) -> None:
    print(f"{PROG}: warning: {msg}", file=sys.stderr)


@contextmanager
def _progress(label: str, quiet: bool = False):
    """A spinner on an interactive terminal, nothing when piped."""
    if quiet or not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(label):
        yield


def _thresholds(args):
    from analysis.config import load_thresholds

    overrides = {}
    for item in args.threshold or []:
        key, sep, val = item.partition("=")
        if not sep:
            raise SystemExit(_usage_error(f"--threshold expects section.key=value, got {item!r}"))
        try:
            overrides[key.strip()] = float(val)
        except ValueError:
            raise SystemExit(_usage_error(f"--threshold {key}: {val!r} is not a number")) from None
    try:
        return load_thresholds(args.thresholds, overrides)
    except KeyError as exc:
        raise SystemExit(_usage_error(str(exc).strip("'\""))) from None
    except (OSError, ValueError) as exc:
        raise SystemExit(_usage_error(f"{args.thresholds}: {exc}")) from None


def _usage_error(msg: str) -> int:
    _err(msg)
    return EXIT_INPUT


def _analyze_path(path, th, quiet=False):
    from analysis.load import open_session
    from analysis.pipeline import analyze

    with _progress(f"reading {path}", quiet):
        session = open_session(path)
    with _progress("analysing", quiet):
        loads = {int(k): float(v) for k, v in (session.meta.get("loads_kg") or {}).items()}
        return session, analyze(session, thresholds=th, loads_kg=loads)


def print_table(result, file=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file or sys.stdout, width=140)
    t = Table(title=f"{result.exercise.replace('_', ' ')}: {len(result.reps)} reps in {len(result.sets)} set(s)")
    for col, just in (("set", "right"), ("rep", "right"), ("MV m/s", "right"), ("PV m/s", "right"),
                      ("ROM m", "right"), ("VL %", "right"), ("flex °", "right"), ("incl °", "right"),
                      ("flags", "left")):
        t.add_column(col, justify=just)

    def f(v, nd=2):
        return "–" if v is None else f"{v:.{nd}f}"

    for r in result.reps:
        t.add_row(str(r.set), str(r.rep), f(r.mean_velocity_mps), f(r.peak_velocity_mps), f(r.rom_m),
                  f(r.velocity_loss_pct, 0), f(r.peak_lumbar_flexion_deg, 1), f(r.peak_trunk_inclination_deg, 1),
                  ", ".join(r.flag_names) or "ok")
    console.print(t)
    for r in result.reps:
        for fl in r.flags:
            console.print(f"  set {r.set} rep {r.rep} [bold]{fl.name}[/bold]: {fl.explanation} Cue: {fl.cue}",
                          highlight=False)


def cmd_analyze(args) -> int:
    from analysis.export import write_json, write_reps_csv

    th = _thresholds(args)
    _, result = _analyze_path(args.session, th, args.quiet)
    for w in result.warnings:
        _warn(w)
    if args.json:
        write_json(result, args.json)
    if args.csv:
        write_reps_csv(result, args.csv)
    if args.report:
        from analysis.report import write_report

        write_report(result, args.report, th)
    if not args.json or args.table:
        print_table(result)
    return 0


def cmd_demo(args) -> int:
    from analysis.export import write_json
    from analysis.report import write_report

    th = _thresholds(args)
    src = Path(args.recording) if args.recording else DEMO_RECORDING
    _, result = _analyze_path(src, th)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(result, out / "demo.json")
    report = write_report(result, out / "demo_report.html", th)
    print_table(result)
    for w in result.warnings:
        _warn(w)
    print(f"\nreport: {report}\njson:   {out / 'demo.json'}")
    return 0


def cmd_simulate(args) -> int:
    from dataclasses import replace

    from analysis.simulate import SCENARIOS, scenario, simulate, write_recording, write_session

    if args.scenario not in SCENARIOS:
        return _usage_error(f"unknown scenario {args.scenario!r}; choose from {', '.join(SCENARIOS)}")
    cfg = scenario(args.scenario, seed=args.seed)
    over = {k: v for k, v in (("sets", args.sets), ("reps_per_set", args.reps), ("fs_hz", args.rate),
                              ("lumbar_sensors", args.lumbar), ("exercise", args.exercise)) if v is not None}
    cfg = replace(cfg, **over)
    with _progress("simulating"):
        sim = simulate(cfg)
        out = (write_recording if args.format == "native" else write_session)(sim, args.out_dir)
    print(f"wrote {args.format} session with {len(sim.truth)} reps to {out} (ground truth in truth.json)")
    return 0


def cmd_export(args) -> int:
    from analysis.export import write_session_csv
    from analysis.load import open_session

    session = open_session(args.recording)
    for w in session.warnings:
        _warn(w)
    out = write_session_csv(session, args.out)
    print(f"wrote decoded samples of {len(session.streams)} sensor(s) to {out}")
    return 0


def cmd_report(args) -> int:
    from analysis.export import write_reps_csv
    from analysis.report import write_report, write_series_csv

    th = _thresholds(args)
    _, result = _analyze_path(args.session, th)
    for w in result.warnings:
        _warn(w)
    with _progress("drawing the report"):
        p = write_report(result, args.out, th, png_dir=args.png, pdf=args.pdf)
    print(f"report: {p}")
    if args.png:
        print(f"figures: {args.png}/")
    if args.pdf:
        print(f"pdf: {args.pdf}")
    if args.csv:
        base = Path(args.csv)
        base.parent.mkdir(parents=True, exist_ok=True)
        reps = base.with_name(base.stem + "_reps.csv")
        series = base.with_name(base.stem + "_series.csv")
        write_reps_csv(result, reps)
        write_series_csv(result, series)
        print(f"csv: {reps}, {series}")
    return 0


def _add_threshold_args(p) -> None:
    p.add_argument("--thresholds", metavar="FILE", help="threshold file (default: the bundled, versioned one)")
    p.add_argument("--threshold", action="append", metavar="SECTION.KEY=VALUE",
                   help="override one threshold, e.g. --threshold lumbar_flexion.peak_deg=35 (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, formatter_class=_Formatter,
                                description="Barbell velocity and lower-back form from wearable IMUs.",
                                epilog="example:\n  barback demo\n  barback analyze recordings/demo_deadlift --json out.json")
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    a = sub.add_parser("analyze", formatter_class=_Formatter, help="analyse a session or recording",
                       description="Analyse a session folder (session.json + CSVs) or a native recording: "
                                   "sets, reps, phases, bar velocity, lumbar flexion and form flags.",
                       epilog="example:\n  barback analyze recordings/demo_deadlift --json reps.json --csv reps.csv")
    a.add_argument("session", help="session folder, its session.json, or a native recording folder")
    a.add_argument("--json", metavar="OUT.json", help="write the full result as JSON")
    a.add_argument("--csv", metavar="OUT.csv", help="write the per-rep table as CSV")
    a.add_argument("--report", metavar="OUT.html", help="also write the HTML report")
    a.add_argument("--table", action="store_true", help="print the table even when writing --json")
    a.add_argument("--quiet", action="store_true", help="no progress display")
    _add_threshold_args(a)
    a.set_defaults(func=cmd_analyze)

    d = sub.add_parser("demo", formatter_class=_Formatter, help="analyse the bundled recording and write a report",
                       description="Analyse the bundled demo recording (three WitMotion sensors, deadlifts) "
                                   "and write an HTML report and JSON.",
                       epilog="example:\n  barback demo --out out/")
    d.add_argument("--out", default="out", help="output folder")
    d.add_argument("--recording", help="another recording or session instead of the bundled one")
    _add_threshold_args(d)
    d.set_defaults(func=cmd_demo)

    s = sub.add_parser("simulate", formatter_class=_Formatter, help="write a synthetic session with ground truth",
                       description="Simulate a physically consistent session (bar and lumbar IMUs, consumer "
                                   "noise, faults, fatigue) and write it with its ground truth.",
                       epilog="example:\n  barback simulate out/sim --scenario deadlift_touch_and_go --seed 3")
    s.add_argument("out_dir")
    s.add_argument("--scenario", default="deadlift_100hz", help="named scenario")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--exercise", choices=("deadlift", "romanian_deadlift", "squat", "bench_press"))
    s.add_argument("--sets", type=int)
    s.add_argument("--reps", type=int, help="reps per set")
    s.add_argument("--rate", type=float, help="sample rate in Hz")
    s.add_argument("--lumbar", type=int, choices=(0, 1, 2), help="number of lumbar sensors")
    s.add_argument("--format", choices=("csv", "native"), default="csv")
    s.set_defaults(func=cmd_simulate)

    e = sub.add_parser("export", formatter_class=_Formatter, help="decode a native recording to CSV",
                       description="Decode a native recording's raw bytes into a generic IMU CSV session.",
                       epilog="example:\n  barback export recordings/demo_deadlift --out out/demo_csv")
    e.add_argument("recording")
    e.add_argument("--out", required=True, help="output session folder")
    e.set_defaults(func=cmd_export)

    r = sub.add_parser("report", formatter_class=_Formatter, help="write the HTML report of a session",
                       description="Analyse a session or recording and write a self-contained HTML report.",
                       epilog="example:\n  barback report recordings/demo_deadlift --out report.html --png figs --pdf report.pdf")
    r.add_argument("session", help="session folder, its session.json, or a native recording folder")
    r.add_argument("--out", required=True, metavar="report.html")
    r.add_argument("--png", metavar="DIR", help="also write each figure as a PNG into DIR")
    r.add_argument("--pdf", metavar="report.pdf", help="also write the whole report as a PDF")
    r.add_argument("--csv", metavar="PREFIX.csv",
                   help="also write PREFIX_reps.csv (per-rep table) and PREFIX_series.csv (time series)")
    _add_threshold_args(r)
    r.set_defaults(func=cmd_report)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_INPUT
    from analysis.errors import InputError

    try:
        return int(args.func(args) or 0)
    except SystemExit as exc:
        return int(exc.code or 0)
    except InputError as exc:
        _err(str(exc))
        return EXIT_INPUT
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except OSError as exc:
        _err(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
        return EXIT_INPUT
    except Exception as exc:  # never a traceback for the user
        if args.debug:
            raise
        _err(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)")
        return 1


if __name__ == "__main__":
    sys.exit(main())
