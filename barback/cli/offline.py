"""Commands over files: analyze, demo, report, export, simulate, replay."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
from pathlib import Path

from barback.analysis.imu import EXERCISES
from barback.cli.common import (
    DEMO_RECORDING,
    Formatter,
    add_audio_args,
    add_force_arg,
    add_screen_args,
    add_session_args,
    add_threshold_args,
    analyze_path,
    audio_cues,
    finish_audio,
    live_view,
    load_spec,
    loads_from_args,
    on_rep,
    positive_float,
    positive_int,
    progress,
    refuse_overwrite,
    speed,
    thresholds,
    usage_error,
    warn,
)

SESSION_HELP = "session folder, its session.json, or a native recording folder"


def cmd_analyze(args) -> int:
    from barback.reporting.export import write_json, write_reps_csv
    from barback.reporting.table import print_reps

    th = thresholds(args)
    _, result = analyze_path(args.session, th, args.quiet, args)
    for w in result.warnings:
        warn(w)
    if args.json:
        write_json(result, args.json)
    if args.csv:
        write_reps_csv(result, args.csv)
    if args.report:
        from barback.reporting.report import write_report

        write_report(result, args.report, th)
    if not args.json or args.table:
        print_reps(result)
    return 0


def cmd_demo(args) -> int:
    from barback.reporting.export import write_json
    from barback.reporting.report import write_report
    from barback.reporting.table import print_reps

    th = thresholds(args)
    _, result = analyze_path(Path(args.recording) if args.recording else DEMO_RECORDING, th)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(result, out / "demo.json")
    report = write_report(result, out / "demo_report.html", th)
    print_reps(result)
    for w in result.warnings:
        warn(w)
    print(f"\nreport: {report}\njson:   {out / 'demo.json'}")
    return 0


def cmd_simulate(args) -> int:
    from dataclasses import replace

    from barback.simulation.simulate import SCENARIOS, scenario, simulate, write_recording, write_session

    if args.scenario not in SCENARIOS:
        return usage_error(f"unknown scenario {args.scenario!r}; choose from {', '.join(SCENARIOS)}")
    cfg = scenario(args.scenario, seed=args.seed)
    over = {k: v for k, v in (("sets", args.sets), ("reps_per_set", args.reps), ("fs_hz", args.rate),
                              ("lumbar_sensors", args.lumbar), ("exercise", args.exercise)) if v is not None}
    cfg = replace(cfg, **over)
    refuse_overwrite(args, args.out_dir, folder=True)
    with progress("simulating"):
        sim = simulate(cfg)
        out = (write_recording if args.format == "native" else write_session)(sim, args.out_dir)
    print(f"wrote {args.format} session with {len(sim.truth)} reps to {out} (ground truth in truth.json)")
    return 0


def cmd_export(args) -> int:
    from barback.reporting.export import write_session_csv
    from barback.sessions.load import open_session

    refuse_overwrite(args, args.out, folder=True)
    session = open_session(args.recording)
    for w in session.warnings:
        warn(w)
    out = write_session_csv(session, args.out)
    print(f"wrote decoded samples of {len(session.streams)} sensor(s) to {out}")
    return 0


def cmd_report(args) -> int:
    from barback.reporting.export import write_reps_csv
    from barback.reporting.report import write_report, write_series_csv

    th = thresholds(args)
    csv_parts = []
    if args.csv:
        base = Path(args.csv)
        csv_parts = [base.with_name(base.stem + "_reps.csv"), base.with_name(base.stem + "_series.csv")]
    refuse_overwrite(args, args.out, args.pdf, *csv_parts)
    refuse_overwrite(args, args.png, folder=True)
    _, result = analyze_path(args.session, th)
    for w in result.warnings:
        warn(w)
    with progress("drawing the report"):
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


def cmd_replay(args) -> int:
    from barback.analysis.pipeline import analyze
    from barback.reporting.export import write_json
    from barback.reporting.table import print_reps
    from barback.sensor.recording import is_recording
    from barback.sensor.replay import read_warnings, replay

    th = thresholds(args)
    if not is_recording(args.recording):
        return usage_error(f"{args.recording}: not a native recording (needs recording.json and stream.bbr)")
    live = None
    cues = audio_cues(args, th)
    screen = contextlib.nullcontext()
    if args.speed is not None or args.live or cues is not None or args.screen == "big":
        from barback.analysis.imu import parse_loads_kg
        from barback.sensor.live import LiveAnalyzer
        from barback.sensor.recording import read_recording

        meta = read_recording(args.recording)[0]
        bar = next((s.id for s in meta.sensors if s.role == "bar"), -1)
        loads = parse_loads_kg({**meta.loads_kg, **loads_from_args(args)})
        view = live_view(args, th, loads, speed=args.speed or 1.0)
        if args.screen == "big":
            screen = view

        live = LiveAnalyzer(meta.exercise, bar, on_rep=on_rep(view, cues), thresholds=th)
        live.warm_up()
    with screen:
        ing, report = replay(args.recording, speed=args.speed, live=live)
    session = ing.session(source=str(args.recording), extra_warnings=read_warnings(args.recording, report))
    if loads_from_args(args):
        session = dataclasses.replace(session, meta={**session.meta, "loads_kg": {
            **(session.meta.get("loads_kg") or {}), **loads_from_args(args)}})
    finish_audio(cues, args, max((float(s.t_s[-1]) for s in session.streams.values()), default=0.0))
    result = analyze(session, thresholds=th, loads_kg=session.loads_kg)
    for w in result.warnings:
        warn(w)
    if args.json:
        write_json(result, args.json)
    elif live is None:
        print_reps(result)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser("analyze", formatter_class=Formatter, help="analyse a session or recording",
                       description="Analyse a session folder (session.json + CSVs) or a native recording: "
                                   "sets, reps, phases, bar velocity, lumbar flexion and form flags.",
                       epilog="example:\n  barback analyze recordings/demo_deadlift --json reps.json --csv reps.csv")
    a.add_argument("session", help=SESSION_HELP)
    a.add_argument("--json", metavar="OUT.json", help="write the full result as JSON")
    a.add_argument("--csv", metavar="OUT.csv", help="write the per-rep table as CSV")
    a.add_argument("--report", metavar="OUT.html", help="also write the HTML report")
    a.add_argument("--table", action="store_true", help="print the table even when writing --json")
    a.add_argument("--quiet", action="store_true", help="no progress display")
    add_session_args(a)
    add_threshold_args(a)
    a.set_defaults(func=cmd_analyze)

    d = sub.add_parser("demo", formatter_class=Formatter, help="analyse the bundled recording and write a report",
                       description="Analyse the bundled demo recording (three WitMotion sensors, deadlifts) "
                                   "and write an HTML report and JSON.",
                       epilog="example:\n  barback demo --out out/")
    d.add_argument("--out", default="out", help="output folder")
    d.add_argument("--recording", help="another recording or session instead of the bundled one")
    add_threshold_args(d)
    d.set_defaults(func=cmd_demo)

    s = sub.add_parser("simulate", formatter_class=Formatter, help="write a synthetic session with ground truth",
                       description="Simulate a physically consistent session (bar and lumbar IMUs, consumer "
                                   "noise, faults, fatigue) and write it with its ground truth.",
                       epilog="example:\n  barback simulate out/sim --scenario deadlift_touch_and_go --seed 3")
    s.add_argument("out_dir")
    s.add_argument("--scenario", default="deadlift_100hz", help="named scenario (an unknown name lists them)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--exercise", choices=EXERCISES)
    s.add_argument("--sets", type=positive_int)
    s.add_argument("--reps", type=positive_int, help="reps per set")
    s.add_argument("--rate", type=positive_float, help="sample rate in Hz")
    s.add_argument("--lumbar", type=int, choices=(0, 1, 2), help="number of lumbar sensors")
    s.add_argument("--format", choices=("csv", "native"), default="csv")
    add_force_arg(s)
    s.set_defaults(func=cmd_simulate)

    e = sub.add_parser("export", formatter_class=Formatter, help="decode a native recording to CSV",
                       description="Decode a native recording's raw bytes into a generic IMU CSV session.",
                       epilog="example:\n  barback export recordings/demo_deadlift --out out/demo_csv")
    e.add_argument("recording")
    e.add_argument("--out", required=True, help="output session folder")
    add_force_arg(e)
    e.set_defaults(func=cmd_export)

    r = sub.add_parser("report", formatter_class=Formatter, help="write the HTML report of a session",
                       description="Analyse a session or recording and write a self-contained HTML report.",
                       epilog="example:\n  barback report recordings/demo_deadlift --out report.html --png figs "
                              "--pdf report.pdf")
    r.add_argument("session", help=SESSION_HELP)
    r.add_argument("--out", required=True, metavar="report.html")
    r.add_argument("--png", metavar="DIR", help="also write each figure as a PNG into DIR")
    r.add_argument("--pdf", metavar="report.pdf", help="also write the whole report as a PDF")
    r.add_argument("--csv", metavar="PREFIX.csv",
                   help="also write PREFIX_reps.csv (per-rep table) and PREFIX_series.csv (time series)")
    add_force_arg(r)
    add_threshold_args(r)
    r.set_defaults(func=cmd_report)

    rp = sub.add_parser("replay", formatter_class=Formatter, help="replay a recording through the live path",
                        description="Feed a native recording's bytes through exactly the code path of live "
                                    "capture. --speed max --json equals barback analyze --json on the same "
                                    "recording; --speed 1 shows the live view as it was.",
                        epilog="example:\n  barback replay recordings/demo_deadlift --speed 1\n"
                               "  barback replay recordings/demo_deadlift --speed max --json out.json\n"
                               "  barback replay recordings/demo_deadlift --speed 1 --audio tones")
    rp.add_argument("recording")
    rp.add_argument("--speed", default="max", type=speed,
                    help="1 = as recorded, 2 = twice as fast, max = as fast as possible")
    rp.add_argument("--json", metavar="OUT.json")
    rp.add_argument("--live", action="store_true", help="show the live view also at --speed max")
    add_screen_args(rp)
    rp.add_argument("--load", action="append", type=load_spec, metavar="KG",
                    help="the load: --load 100 for every set, or per set --load 1=100,2=120 (for power)")
    add_audio_args(rp)
    add_threshold_args(rp)
    rp.set_defaults(func=cmd_replay)
