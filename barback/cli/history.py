"""Commands over the history database: batch, history, journal, athlete, calibrate, screen."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from barback.cli.common import (
    EXIT_INPUT,
    BleProblem,
    Formatter,
    add_threshold_args,
    iso_date,
    overrides,
    positive_float,
    run_ble,
    thresholds,
    usage_error,
    warn,
)


def _store(args, existing: bool = False):
    """The history database. `existing`: only to read, so a mistyped path is named, not created."""
    from barback.history.store import DEFAULT_DB, Store, StoreError

    path = Path(args.db or DEFAULT_DB)
    if existing and not path.exists():
        raise StoreError(path, "no history database here (batch, calibrate or athlete settings create one)")
    return Store(path)


def cmd_batch(args) -> int:
    import sys

    from barback.history.batch import run_batch

    if not Path(args.dir).is_dir():
        return usage_error(f"{args.dir}: not a folder")
    store = _store(args)
    on_progress = None
    bar = None
    if sys.stderr.isatty():
        from rich.progress import Progress

        bar = Progress(transient=True)
        task = bar.add_task("analysing", total=None)
        bar.start()

        def on_progress(done, total, path):
            bar.update(task, completed=done, total=total, description=f"analysing {Path(path).name}")
    try:
        rep = run_batch(args.dir, store, workers=args.workers, scheduler=args.scheduler, athlete=args.athlete,
                        on_progress=on_progress)
    finally:
        if bar is not None:
            bar.stop()
    for path, err in rep.failed:
        warn(f"{path}: {err}")
    for path in rep.not_followed:
        warn(f"{path}: a symbolic link; not followed (batch the folder it points to instead)")
    print(f"stored {len(rep.stored)}, skipped {len(rep.skipped)} already stored, failed {len(rep.failed)} "
          f"-> {store.path}")
    return 0 if not rep.failed else 1


def _screen_summary(result: dict) -> dict:
    return {"hinges": len(result.get("hinges", [])), "hip_share": result.get("hip_share"),
            "max_lumbar_flexion_deg": result.get("max_lumbar_flexion_deg"),
            "flexion_limit_deg": result.get("flexion_limit_deg"), "reasons": result.get("reasons", []),
            "cues": result.get("cues", [])}


def cmd_history(args) -> int:
    import json

    from barback.history.trends import history
    from barback.reporting.table import print_history

    store = _store(args, existing=True)
    mvt = {a: store.athlete(a)["mvt_mps"] for a in store.athletes()}
    h = history(store.sessions(args.athlete), store.journal(args.athlete), mvt)
    h["screens"] = [{k: v for k, v in sc.items() if k != "result"} | _screen_summary(sc["result"])
                    for sc in store.screens(args.athlete)]
    if args.json:
        Path(args.json).write_text(json.dumps(h, indent=2) + "\n")
    if args.report:
        from barback.reporting.history_report import write_history_report

        write_history_report(h, args.report)
        print(f"report: {args.report}")
    if not args.json:
        print_history(h)
    return 0


def cmd_journal(args) -> int:
    store = _store(args)
    jid = store.add_journal(args.athlete, args.before, args.after, args.next_day, args.session, args.note)
    print(f"journal entry {jid} for {args.athlete}")
    return 0


def cmd_athlete(args) -> int:
    over = overrides(args.threshold)
    looking = not over and args.mvt is None  # only to look: nothing is created
    store = _store(args, existing=looking)
    if looking and args.name not in store.athletes():
        from barback.history.store import StoreError

        known = ", ".join(store.athletes()) or "none yet"
        raise StoreError(store.path, f"no athlete {args.name!r} (known: {known})")
    if over:
        from barback.analysis.config import load_thresholds

        try:
            load_thresholds(overrides=over)
        except (KeyError, ValueError) as exc:
            return usage_error(str(exc.args[0]) if exc.args else str(exc))
    if over or args.mvt is not None:
        store.set_athlete_settings(args.name, over, args.mvt)
    if args.name not in store.athletes():
        store.athlete_id(args.name, create=True)
    a = store.athlete(args.name)
    flex = "–" if a["max_flexion_deg"] is None else f"{a['max_flexion_deg']:.1f}"
    mvt = "default" if a["mvt_mps"] is None else f"{a['mvt_mps']:.2f} m/s"
    print(f"{a['name']}: max lumbar flexion {flex}°, MVT {mvt}, "
          f"thresholds {a['thresholds'] or 'default'}")
    return 0


def _record_routine(args, out: Path, steps=None, simulated=None) -> Path:
    """Record a guided routine (the calibration's by default) from both lumbar sensors, or from
    emulated ones playing `simulated()` (a simulated routine), into `out`."""
    import tempfile

    from barback.analysis.calibration import STEPS
    from barback.sensor.capture import Capture, CaptureError, Target, record_guided

    async def run():
        kw: dict = {}
        targets = [Target("lumbar_upper", args.lumbar_upper or "x"), Target("lumbar_lower", args.lumbar_lower or "x")]
        if args.emulate:
            from barback.cli.ble import emulated_backend, emulated_radio
            from barback.simulation.simulate import simulate_calibration, write_session

            src = write_session((simulated or simulate_calibration)(), Path(tempfile.mkdtemp()) / "routine")
            radio, emus = await emulated_radio([("lumbar_upper", "polar_pmd", 100.0), ("lumbar_lower", "movesense", 104.0)],
                                               src)
            targets = [Target(t.role, e.address) for t, e in zip(targets, emus)]
            kw = emulated_backend(radio)
        cap = Capture(targets, "deadlift", out, rate_hz=100.0, on_message=print, **kw)
        try:
            await record_guided(cap, steps or STEPS, print)
        except CaptureError as exc:
            raise BleProblem(str(exc)) from None
        return cap.out_dir

    return run_ble(run)


_NO_ROUTINE_SOURCE = "give --lumbar-upper ADDR and --lumbar-lower ADDR (or --from RECORDING)"


def _routine_source(args, prefix: str, steps=None, simulated=None) -> Path | None:
    """The guided routine's recording: --from, or recorded now (emulated sensors playing
    `simulated()` with --emulate); None when there is neither a recording nor both sensors."""
    import tempfile

    if args.source_recording:
        return Path(args.source_recording)
    if not (args.lumbar_upper and args.lumbar_lower) and not args.emulate:
        return None
    return _record_routine(args, Path(args.out or tempfile.mkdtemp(prefix=prefix)), steps, simulated)


def cmd_calibrate(args) -> int:
    from barback.analysis.calibration import calibrate
    from barback.sessions.load import open_session

    store = _store(args)
    source = _routine_source(args, "barback-calibration-")
    if source is None:
        return usage_error(_NO_ROUTINE_SOURCE)
    cal = calibrate(open_session(source))
    store.set_calibration(args.athlete, cal.to_dict())
    print(f"{args.athlete}: maximal lumbar flexion {cal.max_flexion_deg:.1f}° (standing neutral at "
          f"{cal.standing_s[0]:.1f}-{cal.standing_s[1]:.1f} s); stored in {store.path}")
    return 0


def cmd_screen_hinge(args) -> int:
    import datetime as dt
    import json

    from barback.analysis.screen import HINGE_STEPS, hinge_screen
    from barback.sessions.load import open_session
    from barback.simulation.simulate import simulate_hinge_drill

    th = thresholds(args)
    store = _store(args)
    source = _routine_source(args, "barback-hinge-", HINGE_STEPS, simulate_hinge_drill)
    if source is None:
        return usage_error(_NO_ROUTINE_SOURCE)
    max_flex = store.athlete(args.athlete)["max_flexion_deg"] if args.athlete in store.athletes() else None
    res = hinge_screen(open_session(source), th, max_flex)
    date = args.date or dt.date.today().isoformat()
    store.add_screen(args.athlete, "hinge", date, res.to_dict())
    verdict = "PASS" if res.passed else "FAIL"
    print(f"{args.athlete}, hip-hinge screen {date}: {verdict}; {len(res.hinges)} hinge(s)")
    for k, h in enumerate(res.hinges, start=1):
        print(f"  hinge {k}: trunk {h.trunk_deg:.0f}°, hips {h.pelvis_deg:.0f}° ({100 * h.hip_share:.0f} %), "
              f"lumbar flexion {h.lumbar_flexion_deg:.0f}°")
    if res.hip_share is not None:
        print(f"  from the hips: {100 * res.hip_share:.0f} % (median); lumbar flexion at most "
              f"{res.max_lumbar_flexion_deg:.0f}° (safe range {res.flexion_limit_deg:.0f}°, "
              f"{'calibrated' if res.limit_from == 'calibration' else 'default: calibrate for your own'})")
    for why in res.reasons:
        print(f"  {why}")
    for cue in res.cues:
        print(f"  Cue: {cue}")
    if args.json:
        Path(args.json).write_text(json.dumps({"athlete": args.athlete, "date": date, **res.to_dict()}, indent=2) + "\n")
    print(f"stored in {store.path}")
    return 0


def _routine_args(p: argparse.ArgumentParser, what: str) -> None:
    """The arguments of a guided routine: who, the history, the two lumbar sensors (or a
    recording, or emulated sensors) and where to keep what is recorded."""
    p.add_argument("--athlete", required=True)
    _db_arg(p)
    p.add_argument("--lumbar-upper", metavar="ADDR")
    p.add_argument("--lumbar-lower", metavar="ADDR")
    p.add_argument("--from", dest="source_recording", metavar="RECORDING",
                   help=f"use a recorded {what} instead of recording one now")
    p.add_argument("--out", help=f"where to keep the {what}'s recording")
    p.add_argument("--emulate", action="store_true", help=f"use emulated sensors playing a simulated {what}")


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help="history database (default ~/.barback/history.sqlite)")


def _command_group(sub: argparse._SubParsersAction, name: str, metavar: str, **kw) -> argparse._SubParsersAction:
    """A command that only holds subcommands: alone, it prints its help (exit 2)."""
    p = sub.add_parser(name, formatter_class=Formatter, **kw)
    p.set_defaults(func=lambda a: (p.print_help(), EXIT_INPUT)[1])
    return p.add_subparsers(dest=f"{name}_command", metavar=metavar)


def register(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser("batch", formatter_class=Formatter, help="analyse a folder tree into the history database",
                       description="Analyse every session (CSV folders and native recordings) under DIR into the "
                                   "history database, in parallel; sessions already stored are skipped by content "
                                   "hash; a failing session is reported and the rest go on.",
                       epilog="example:\n  barback batch ~/lifting --db history.sqlite --workers 2\n"
                              "  barback batch /archive --db team.sqlite --scheduler tcp://10.0.0.5:8786")
    b.add_argument("dir")
    _db_arg(b)
    b.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes")
    b.add_argument("--scheduler", metavar="ADDR",
                   help="a Dask distributed scheduler to run the analyses on (needs barback[cluster])")
    b.add_argument("--athlete", help="athlete for sessions that do not name one")
    b.set_defaults(func=cmd_batch)

    h = sub.add_parser("history", formatter_class=Formatter, help="sessions and trends from the history database",
                       description="Sessions and trends: load-velocity profile and estimated 1RM per exercise, "
                                   "velocity at a given load over time, lumbar flexion, flag frequency, and how "
                                   "pain scores relate to what the sensors saw.",
                       epilog="example:\n  barback history --db history.sqlite --athlete Ana --report history.html")
    _db_arg(h)
    h.add_argument("--athlete")
    h.add_argument("--json", metavar="OUT.json")
    h.add_argument("--report", metavar="OUT.html")
    h.set_defaults(func=cmd_history)

    jsub = _command_group(sub, "journal", "add", help="pain journal",
                          description="Record how the back felt before, right after and the day after a session.",
                          epilog="example:\n  barback journal add --athlete Ana --session 12 --before 1 --after 3 --next-day 2")
    ja = jsub.add_parser("add", formatter_class=Formatter, help="add a journal entry",
                         epilog="example:\n  barback journal add --athlete Ana --before 0 --after 2")
    _db_arg(ja)
    ja.add_argument("--athlete", required=True)
    ja.add_argument("--session", type=int, help="session id (see barback history)")
    ja.add_argument("--before", type=int, required=True, help="pain 0-10 before the session")
    ja.add_argument("--after", type=int, required=True, help="pain 0-10 right after")
    ja.add_argument("--next-day", type=int, help="pain 0-10 the day after")
    ja.add_argument("--note")
    ja.set_defaults(func=cmd_journal)

    at = sub.add_parser("athlete", formatter_class=Formatter, help="show or set an athlete's settings",
                        description="Show an athlete, or set per-athlete threshold overrides and their own "
                                    "velocity at 1RM (minimum velocity threshold).",
                        epilog="example:\n  barback athlete Ana --threshold lumbar_flexion.pct_of_max=65 --mvt 0.16")
    at.add_argument("name")
    _db_arg(at)
    at.add_argument("--threshold", action="append", metavar="SECTION.KEY=VALUE")
    at.add_argument("--mvt", type=positive_float, help="the athlete's own mean velocity at 1RM, m/s")
    at.set_defaults(func=cmd_athlete)

    ca = sub.add_parser("calibrate", formatter_class=Formatter, help="measure an athlete's lumbar range",
                        description="Guided routine with both lumbar sensors on: stand tall, bend forward as far "
                                    "as comfortable and hold, stand tall again. Stores standing neutral and maximal "
                                    "lumbar flexion; flexion is then also reported as a percentage of it.",
                        epilog="example:\n  barback calibrate --athlete Ana --lumbar-upper A0:.. --lumbar-lower B1:..\n"
                               "  barback calibrate --athlete Ana --from recordings/ana-calibration")
    _routine_args(ca, "routine")
    ca.set_defaults(func=cmd_calibrate)

    ssub = _command_group(sub, "screen", "hinge", help="movement screens (the hip-hinge screen)",
                          description="Guided, unloaded movement screens, stored in the history.",
                          epilog="example:\n  barback screen hinge --athlete Ana --lumbar-upper A0:.. --lumbar-lower B1:..")
    hi = ssub.add_parser("hinge", formatter_class=Formatter, help="the hip-hinge screen",
                         description="A dowel along the back, five slow hip hinges, both lumbar sensors on: how much "
                                     "of the trunk's forward tilt comes from the hips (the sacral sensor) and how much "
                                     "from the lower back, and whether lumbar flexion stays in the athlete's safe "
                                     "range. A pass or fail with the numbers and a cue, stored in the history.",
                         epilog="example:\n  barback screen hinge --athlete Ana --lumbar-upper A0:.. --lumbar-lower B1:..\n"
                                "  barback screen hinge --athlete Ana --from recordings/ana-hinge")
    _routine_args(hi, "drill")
    hi.add_argument("--date", type=iso_date, metavar="YYYY-MM-DD", help="the screen's date (default: today)")
    hi.add_argument("--json", metavar="OUT.json")
    add_threshold_args(hi)
    hi.set_defaults(func=cmd_screen_hinge)
