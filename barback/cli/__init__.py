"""barback command line: a thin layer over the `barback.analysis` and `barback.sensor` libraries.

Errors in the input end the command with one line on stderr and exit code 2; warnings go to
stderr and into the output files; tracebacks never reach the user (use --debug to see one).
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

PROG = "barback"
EXIT_INPUT = 2
# the bundled demo recording, shipped as package data (pip installs unpack it as files)
DEMO_RECORDING = Path(str(resources.files("barback.recordings").joinpath("demo_deadlift")))


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


def _overrides(items) -> dict[str, float]:
    """`--threshold section.key=value` options as a dict (a usage error ends the command)."""
    out = {}
    for item in items or []:
        key, sep, val = item.partition("=")
        if not sep:
            raise SystemExit(_usage_error(f"--threshold expects section.key=value, got {item!r}"))
        try:
            out[key.strip()] = float(val)
        except ValueError:
            raise SystemExit(_usage_error(f"--threshold {key}: {val!r} is not a number")) from None
    return out


def _thresholds(args):
    from barback.analysis.config import load_thresholds

    overrides = _overrides(args.threshold)
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
    from barback.sessions.load import open_session
    from barback.analysis.pipeline import analyze

    with _progress(f"reading {path}", quiet):
        session = open_session(path)
    with _progress("analysing", quiet):
        loads = session.loads_kg
        return session, analyze(session, thresholds=th, loads_kg=loads)


def print_table(result, file=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file or sys.stdout, width=140)
    t = Table(title=f"{result.exercise.replace('_', ' ')}: {len(result.reps)} reps in {len(result.sets)} set(s), "
                    f"data quality {result.quality_grade}")
    for col, just in (("set", "right"), ("rep", "right"), ("MV m/s", "right"), ("PV m/s", "right"),
                      ("ROM m", "right"), ("VL %", "right"), ("flex °", "right"), ("incl °", "right"),
                      ("quality", "left"), ("flags", "left")):
        t.add_column(col, justify=just)

    def f(v, nd=2):
        return "–" if v is None or v != v else f"{v:.{nd}f}"

    for r in result.reps:
        mv = f(r.mean_velocity_mps)
        if r.quality_grade == "fair" and r.mean_velocity_uncertainty_mps is not None and mv != "–":
            mv += f" ±{r.mean_velocity_uncertainty_mps:.2f}"
        t.add_row(str(r.set), str(r.rep), mv, f(r.peak_velocity_mps), f(r.rom_m),
                  f(r.velocity_loss_pct, 0), f(r.peak_lumbar_flexion_deg, 1), f(r.peak_trunk_inclination_deg, 1),
                  r.quality_grade, ", ".join(r.flag_names) or "ok")
    console.print(t)
    for r in result.reps:
        if r.quality_grade == "poor":
            console.print(f"  set {r.set} rep {r.rep}: {'; '.join(r.quality)}", highlight=False)
    for r in result.reps:
        for fl in r.flags:
            console.print(f"  set {r.set} rep {r.rep} [bold]{fl.name}[/bold]: {fl.explanation} Cue: {fl.cue}",
                          highlight=False)


def cmd_analyze(args) -> int:
    from barback.reporting.export import write_json, write_reps_csv

    th = _thresholds(args)
    _, result = _analyze_path(args.session, th, args.quiet)
    for w in result.warnings:
        _warn(w)
    if args.json:
        write_json(result, args.json)
    if args.csv:
        write_reps_csv(result, args.csv)
    if args.report:
        from barback.reporting.report import write_report

        write_report(result, args.report, th)
    if not args.json or args.table:
        print_table(result)
    return 0


def cmd_demo(args) -> int:
    from barback.reporting.export import write_json
    from barback.reporting.report import write_report

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

    from barback.simulation.simulate import SCENARIOS, scenario, simulate, write_recording, write_session

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
    from barback.reporting.export import write_session_csv
    from barback.sessions.load import open_session

    session = open_session(args.recording)
    for w in session.warnings:
        _warn(w)
    out = write_session_csv(session, args.out)
    print(f"wrote decoded samples of {len(session.streams)} sensor(s) to {out}")
    return 0


def cmd_report(args) -> int:
    from barback.reporting.export import write_reps_csv
    from barback.reporting.report import write_report, write_series_csv

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


def _emulated_radio(roles_rates: list[tuple[str, str, float]], source=None):
    """A virtual radio with one emulated sensor per (role, kind, rate), serving the samples of a
    recording or session (the bundled demo by default)."""
    import asyncio  # noqa: F401

    import numpy as np

    from barback.sessions.load import open_session
    from barback.analysis.units import G0_MPS2
    from barback.sensor.ble.bumble_backend import VirtualRadio
    from barback.sensor.emulators import EMULATORS, Samples

    session = open_session(source or DEMO_RECORDING)
    radio = VirtualRadio()
    emus = []
    for k, (role, kind, rate) in enumerate(roles_rates):
        from barback.analysis.imu import Role

        st = session.streams.get(Role(role)) or next(iter(session.streams.values()))
        # resample the source to the emulated rate
        t = np.arange(st.t_s[0], st.t_s[-1], 1.0 / rate)
        acc = np.column_stack([np.interp(t, st.t_s, st.acc_sf_mps2[:, i]) for i in range(3)]) / G0_MPS2
        gyro = np.column_stack([np.interp(t, st.t_s, np.rad2deg(st.gyro_sf_rps[:, i])) for i in range(3)])
        names = {"witmotion": "WT901BLE", "polar_pmd": "Polar Sense", "movesense": "Movesense"}
        emus.append(EMULATORS[kind](f"C0:FF:EE:00:00:{k + 1:02X}", f"{names[kind]} {role}", Samples(acc, gyro, rate), rate))
    return radio, emus


def cmd_scan(args) -> int:

    from bleak import BleakScanner

    from barback.sensor.devices import kind_from_advertisement

    async def run():
        kw = {}
        if args.emulate:
            from barback.sensor.ble.bumble_backend import BumbleScanner

            radio, emus = _emulated_radio([("bar", "witmotion", 100.0), ("lumbar_upper", "polar_pmd", 52.0),
                                           ("lumbar_lower", "movesense", 52.0)])
            for e in emus:
                await radio.add(e)
            kw = {"backend": BumbleScanner, "radio": radio}
        found = await BleakScanner.discover(timeout=args.timeout, return_adv=True, **kw)
        rows = []
        for dev, adv in found.values():
            kind = kind_from_advertisement(adv.local_name, adv.service_uuids)
            if kind or args.all:
                rows.append((adv.local_name or "?", dev.address, kind or "unsupported", adv.rssi))
        return rows

    rows = _run_ble(run)
    if not rows:
        print("no supported sensors found (WitMotion, Polar PMD, Movesense); are they on and not connected elsewhere?")
        return 0
    print(f"{'name':<24} {'address':<20} {'kind':<12} {'rssi':>5}")
    for name, addr, kind, rssi in sorted(rows, key=lambda r: -r[3]):
        print(f"{name:<24} {addr:<20} {kind:<12} {rssi:>5}")
    return 0


def _run_ble(coro_fn):
    """Run a BLE coroutine; a missing adapter or stack becomes one clear line (exit 2)."""
    import asyncio

    from bleak.exc import BleakError

    try:
        return asyncio.run(coro_fn())
    except BleakError as exc:
        raise _BleProblem(f"Bluetooth: {exc}") from None
    except (FileNotFoundError, PermissionError, OSError) as exc:
        if "dbus" in str(exc).lower() or "bluetooth" in str(exc).lower() or isinstance(exc, FileNotFoundError):
            raise _BleProblem(f"Bluetooth is not available on this machine ({exc}); "
                              "try --emulate to use emulated sensors") from None
        raise


class _BleProblem(Exception):
    pass


def cmd_capture(args) -> int:
    import asyncio
    import signal

    from barback.sensor.capture import Capture, CaptureError, Target
    from barback.sensor.live import LiveAnalyzer
    from barback.sensor.view import LiveView

    th = _thresholds(args)
    roles = [(r, a) for r, a in (("bar", args.bar), ("lumbar_upper", args.lumbar_upper),
                                  ("lumbar_lower", args.lumbar_lower)) if a]
    view = LiveView(th["velocity_loss"]["threshold_pct"], bell=not args.no_bell)

    async def run():
        kw: dict = {}
        targets = [Target(role, addr) for role, addr in roles]
        if args.emulate:
            from barback.sensor.ble.bumble_backend import BumbleClient, BumbleScanner

            kinds = {"bar": "witmotion", "lumbar_upper": "polar_pmd", "lumbar_lower": "movesense"}
            radio, emus = _emulated_radio([(role, kinds[role], args.rate) for role, _ in roles], args.source)
            for e in emus:
                await radio.add(e)
            targets = [Target(role, e.address) for (role, _), e in zip(roles, emus)]
            kw = {"backend": BumbleClient, "scanner_backend": BumbleScanner, "backend_kwargs": {"radio": radio}}
        live = LiveAnalyzer(args.exercise, bar_sensor_id=0, on_rep=view.rep, thresholds=th)
        live.warm_up()
        cap = Capture(targets, args.exercise, args.out, rate_hz=args.rate, on_message=view.message, live=live, **kw)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if args.duration:
            loop.call_later(args.duration, stop.set)
        view.header(f"recording to {args.out}; Ctrl-C to stop")
        try:
            await cap.run(stop)
        except CaptureError as exc:
            raise _BleProblem(str(exc)) from None
        return cap, live

    if not roles:
        return _usage_error("give at least --bar ADDR (see barback scan)")
    cap, live = _run_ble(run)
    print(f"\nrecorded {sum(s.notifications for s in cap.stats.values())} notifications to {args.out}; "
          f"{len(live.reps)} reps. Replay: barback replay {args.out}")
    return 0


def cmd_replay(args) -> int:
    from barback.reporting.export import write_json
    from barback.analysis.pipeline import analyze
    from barback.sensor.recording import is_recording
    from barback.sensor.replay import read_warnings, replay

    th = _thresholds(args)
    if not is_recording(args.recording):
        return _usage_error(f"{args.recording}: not a native recording (needs recording.json and stream.bbr)")
    speed = None if args.speed == "max" else float(args.speed)
    live = None
    if speed is not None or args.live:
        from barback.sensor.live import LiveAnalyzer
        from barback.sensor.recording import read_recording
        from barback.sensor.view import LiveView

        meta = read_recording(args.recording)[0]
        bar = next((s.id for s in meta.sensors if s.role == "bar"), -1)
        view = LiveView(th["velocity_loss"]["threshold_pct"], bell=False)
        live = LiveAnalyzer(meta.exercise, bar, on_rep=view.rep, thresholds=th)
        live.warm_up()
    ing, report = replay(args.recording, speed=speed, live=live)
    session = ing.session(source=str(args.recording), extra_warnings=read_warnings(args.recording, report))
    loads = session.loads_kg
    result = analyze(session, thresholds=th, loads_kg=loads)
    for w in result.warnings:
        _warn(w)
    if args.json:
        write_json(result, args.json)
    elif live is None:
        print_table(result)
    return 0


def _store(args):
    from barback.history.store import DEFAULT_DB, Store

    return Store(args.db or DEFAULT_DB)


def cmd_batch(args) -> int:
    from barback.history.batch import run_batch

    store = _store(args)
    from pathlib import Path as _P

    if not _P(args.dir).is_dir():
        return _usage_error(f"{args.dir}: not a folder")
    progress = None
    bar = None
    if sys.stderr.isatty():
        from rich.progress import Progress

        bar = Progress(transient=True)
        task = bar.add_task("analysing", total=None)
        bar.start()

        def progress(done, total, path):
            bar.update(task, completed=done, total=total, description=f"analysing {_P(path).name}")
    try:
        rep = run_batch(args.dir, store, workers=args.workers, scheduler=args.scheduler, athlete=args.athlete,
                        on_progress=progress)
    finally:
        if bar is not None:
            bar.stop()
    for path, err in rep.failed:
        _warn(f"{path}: {err}")
    print(f"stored {len(rep.stored)}, skipped {len(rep.skipped)} already stored, failed {len(rep.failed)} "
          f"-> {store.path}")
    return 0 if not rep.failed else 1


def cmd_history(args) -> int:
    import json as _json

    from barback.history.trends import history

    store = _store(args)
    rows = store.sessions(args.athlete)
    mvt = {a: store.athlete(a)["mvt_mps"] for a in store.athletes()}
    h = history(rows, store.journal(args.athlete), mvt)
    if args.json:
        Path(args.json).write_text(_json.dumps(h, indent=2) + "\n")
    if args.report:
        from barback.reporting.history_report import write_history_report

        write_history_report(h, args.report)
        print(f"report: {args.report}")
    if not args.json:
        print(f"{'id':>4} {'date':<11} {'athlete':<14} {'exercise':<18} {'reps':>4} {'best MV':>8} {'flex °':>7} {'flags/rep':>9}")
        for s in h["sessions"]:
            fl = "–" if s["mean_peak_lumbar_flexion_deg"] is None else f"{s['mean_peak_lumbar_flexion_deg']:.1f}"
            mv = "–" if s["best_mean_velocity_mps"] is None else f"{s['best_mean_velocity_mps']:.2f}"
            print(f"{s['id']:>4} {s['date']:<11} {(s['athlete'] or '–'):<14} {s['exercise']:<18} {s['n_reps']:>4} "
                  f"{mv:>8} {fl:>7} {s['flags_per_rep']:>9.2f}")
        for p in h["load_velocity"]:
            e1 = "–" if p["e1rm_kg"] is None else f"{p['e1rm_kg']:.0f} kg"
            print(f"\n{p['athlete'] or ''} {p['exercise']}: load-velocity slope {p['slope_mps_per_kg'] * 100:.2f} m/s per "
                  f"100 kg, R² {p['r2']:.2f}, estimated 1RM {e1} (at {p['mvt_mps']:.2f} m/s)")
        for line in h["pain"]["patterns"]:
            print(f"pattern: {line}")
        if h["pain"]["sessions_with_pain_scores"]:
            print(h["pain"]["caution"])
    return 0


def cmd_journal(args) -> int:
    store = _store(args)
    jid = store.add_journal(args.athlete, args.before, args.after, args.next_day, args.session, args.note)
    print(f"journal entry {jid} for {args.athlete}")
    return 0


def cmd_athlete(args) -> int:
    store = _store(args)
    overrides = _overrides(args.threshold)
    if overrides:
        from barback.analysis.config import load_thresholds

        try:
            load_thresholds(overrides=overrides)
        except KeyError as exc:
            return _usage_error(str(exc).strip("'\""))
    if overrides or args.mvt is not None:
        store.set_athlete_settings(args.name, overrides, args.mvt)
    a = store.athlete(args.name) if args.name in store.athletes() else None
    if a is None:
        store.athlete_id(args.name, create=True)
        a = store.athlete(args.name)
    print(f"{a['name']}: max lumbar flexion {a['max_flexion_deg'] or '–'}°, MVT {a['mvt_mps'] or 'default'}, "
          f"thresholds {a['thresholds'] or 'default'}")
    return 0


def cmd_calibrate(args) -> int:
    from barback.analysis.calibration import STEPS, calibrate
    from barback.sessions.load import open_session

    store = _store(args)
    if args.source_recording:
        session = open_session(args.source_recording)
    else:
        import asyncio
        import tempfile

        from barback.sensor.capture import Capture, CaptureError, Target

        if not (args.lumbar_upper and args.lumbar_lower) and not args.emulate:
            return _usage_error("give --lumbar-upper ADDR and --lumbar-lower ADDR (or --from RECORDING)")
        out = Path(args.out or tempfile.mkdtemp(prefix="barback-calibration-"))

        async def run():
            kw: dict = {}
            targets = [Target("lumbar_upper", args.lumbar_upper or "x"), Target("lumbar_lower", args.lumbar_lower or "x")]
            if args.emulate:
                from barback.simulation.simulate import simulate_calibration, write_session
                from barback.sensor.ble.bumble_backend import BumbleClient, BumbleScanner

                src = write_session(simulate_calibration(), Path(tempfile.mkdtemp()) / "routine")
                radio, emus = _emulated_radio([("lumbar_upper", "polar_pmd", 100.0), ("lumbar_lower", "movesense", 104.0)], src)
                for e in emus:
                    await radio.add(e)
                targets = [Target(t.role, e.address) for t, e in zip(targets, emus)]
                kw = {"backend": BumbleClient, "scanner_backend": BumbleScanner, "backend_kwargs": {"radio": radio}}
            cap = Capture(targets, "deadlift", out, rate_hz=100.0, on_message=print, **kw)
            stop = asyncio.Event()
            task = asyncio.create_task(cap.run(stop))
            await asyncio.sleep(1.0)
            for text, secs in STEPS:
                print(f">>> {text} ({secs:.0f} s)")
                await asyncio.sleep(secs)
            stop.set()
            try:
                await task
            except CaptureError as exc:
                raise _BleProblem(str(exc)) from None

        _run_ble(run)
        session = open_session(out)
    cal = calibrate(session)
    store.set_calibration(args.athlete, cal.to_dict())
    print(f"{args.athlete}: maximal lumbar flexion {cal.max_flexion_deg:.1f}° (standing neutral at "
          f"{cal.standing_s[0]:.1f}-{cal.standing_s[1]:.1f} s); stored in {store.path}")
    return 0


def cmd_emulate(args) -> int:
    import asyncio

    from bumble.transport import open_transport

    kinds = {"witmotion": 100.0, "polar_pmd": 52.0, "movesense": 52.0, "barback_diy": 100.0}
    rate = args.rate or kinds[args.device]
    _, emus = _emulated_radio([(args.role, args.device, rate)], args.recording)
    emu = emus[0]
    if args.address:
        emu.address = args.address.upper()

    async def run():
        try:
            transport = await open_transport(args.transport)
        except Exception as exc:
            raise _BleProblem(f"cannot open Bluetooth transport {args.transport!r}: {exc}") from None
        async with transport:
            await emu.start_on_transport(transport)
            print(f"emulating {args.device} {emu.name!r} at {emu.address} on {args.transport}, playing "
                  f"{args.recording or DEMO_RECORDING} ({args.role}); Ctrl-C to stop", flush=True)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            import signal

            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            if args.duration:
                loop.call_later(args.duration, stop.set)
            await stop.wait()
            print(f"sent {emu.sent} notifications")

    _run_ble(run)
    return 0


FAULTS = ("wrong-rate", "skipped-counters", "bad-responses", "ignores-stop", "bad-timestamps")


def cmd_conformance(args) -> int:
    from barback.sensor.conformance import check_device, check_emulated
    from barback.sensor.emulators import Faults

    if args.emulate:
        faults = Faults(wrong_rate_hz=args.rate * 0.9 if args.fault == "wrong-rate" else None,
                        skip_counter_every=5 if args.fault == "skipped-counters" else 0,
                        bad_responses=args.fault == "bad-responses", ignores_stop=args.fault == "ignores-stop",
                        bad_timestamps=args.fault == "bad-timestamps")

        async def run():
            return await check_emulated(faults, rate_hz=args.rate, stream_s=args.seconds)
        target = "reference emulator" + (f" with fault {args.fault}" if args.fault else "")
    else:
        if not args.address:
            return _usage_error("give a device address, or --emulate")

        async def run():
            return await check_device(args.address, rate_hz=args.rate, stream_s=args.seconds)
        target = args.address
    checks = _run_ble(run)
    print(f"barback DIY profile conformance: {target}\n")
    print(f"{'check':<18} {'result':<7} detail")
    for c in checks:
        print(f"{c.name:<18} {'pass' if c.ok else 'FAIL':<7} {c.detail}")
    failed = [c for c in checks if not c.ok]
    print(f"\n{len(checks) - len(failed)} passed, {len(failed)} failed")
    return 0 if not failed else 1


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

    sc = sub.add_parser("scan", formatter_class=_Formatter, help="list nearby supported sensors",
                        description="Scan for WitMotion, Polar (PMD) and Movesense sensors and list name, "
                                    "address, kind and signal strength.",
                        epilog="example:\n  barback scan --timeout 5\n  barback scan --emulate   # emulated sensors, no hardware")
    sc.add_argument("--timeout", type=float, default=5.0, help="seconds to scan")
    sc.add_argument("--all", action="store_true", help="also list unsupported devices")
    sc.add_argument("--emulate", action="store_true", help="scan a virtual radio with emulated sensors")
    sc.set_defaults(func=cmd_scan)

    c = sub.add_parser("capture", formatter_class=_Formatter, help="record sensors live with feedback",
                       description="Connect to all given sensors at once, configure their rate, record every "
                                   "byte (crash-safe) and show each rep as it ends, until Ctrl-C.",
                       epilog="example:\n  barback capture --bar C1:23:45:67:89:AB --lumbar-upper A0:9E:1A:00:11:22 "
                              "--out recordings/today\n  barback capture --emulate --bar x --lumbar-upper x "
                              "--lumbar-lower x --out /tmp/rec --duration 30")
    c.add_argument("--bar", metavar="ADDR")
    c.add_argument("--lumbar-upper", metavar="ADDR")
    c.add_argument("--lumbar-lower", metavar="ADDR")
    c.add_argument("--exercise", default="deadlift", choices=("deadlift", "romanian_deadlift", "squat", "bench_press"))
    c.add_argument("--rate", type=float, default=100.0, help="sample rate to configure, Hz")
    c.add_argument("--out", required=True, help="recording folder to write")
    c.add_argument("--duration", type=float, help="stop after this many seconds")
    c.add_argument("--no-bell", action="store_true", help="no audible cue")
    c.add_argument("--emulate", action="store_true",
                   help="use emulated sensors on a virtual radio (addresses are ignored)")
    c.add_argument("--source", help="with --emulate: the recording or session the emulated sensors play")
    _add_threshold_args(c)
    c.set_defaults(func=cmd_capture)

    rp = sub.add_parser("replay", formatter_class=_Formatter, help="replay a recording through the live path",
                        description="Feed a native recording's bytes through exactly the code path of live "
                                    "capture. --speed max --json equals barback analyze --json on the same "
                                    "recording; --speed 1 shows the live view as it was.",
                        epilog="example:\n  barback replay recordings/demo_deadlift --speed 1\n"
                               "  barback replay recordings/demo_deadlift --speed max --json out.json")
    rp.add_argument("recording")
    rp.add_argument("--speed", default="max", help="1 = as recorded, 2 = twice as fast, max = as fast as possible")
    rp.add_argument("--json", metavar="OUT.json")
    rp.add_argument("--live", action="store_true", help="show the live view also at --speed max")
    _add_threshold_args(rp)
    rp.set_defaults(func=cmd_replay)

    em = sub.add_parser("emulate", formatter_class=_Formatter, help="serve a recording as a virtual sensor",
                        description="Play a recording (or session) as an emulated sensor through a Bluetooth "
                                    "transport, so other apps can be tested without hardware. Transports are "
                                    "bumble's: usb:0 (a dongle), serial:/dev/ttyACM0 (an HCI UART board), vhci "
                                    "(Linux: a virtual controller BlueZ sees), tcp-client:HOST:PORT (a virtual "
                                    "controller such as netsim or rootcanal), android-netsim.",
                        epilog="example:\n  barback emulate recordings/demo_deadlift --device witmotion --transport vhci\n"
                               "  barback emulate recordings/demo_deadlift --device polar_pmd --role lumbar_upper "
                               "--transport usb:0")
    em.add_argument("recording", nargs="?", help="recording or session to play (default: the bundled demo)")
    em.add_argument("--device", required=True, choices=("witmotion", "polar_pmd", "movesense", "barback_diy"))
    em.add_argument("--role", default="bar", choices=("bar", "lumbar_upper", "lumbar_lower"),
                    help="which sensor of the recording to play")
    em.add_argument("--transport", required=True, help="bumble HCI transport")
    em.add_argument("--address", help="Bluetooth address to use")
    em.add_argument("--rate", type=float, help="sample rate, Hz (default: the device's usual)")
    em.add_argument("--duration", type=float, help="stop after this many seconds")
    em.set_defaults(func=cmd_emulate)

    cf = sub.add_parser("conformance", formatter_class=_Formatter,
                        help="check a device against the barback DIY profile",
                        description="Connect to a device that claims the barback DIY profile (firmware_spec/) "
                                    "and check its GATT table, commands and error codes, achieved rate and "
                                    "jitter, counter continuity, timestamps, STOP and reconnect. Exit 0 when "
                                    "every check passes.",
                        epilog="example:\n  barback conformance D4:36:39:AA:BB:CC\n  barback conformance --emulate\n"
                               "  barback conformance --emulate --fault skipped-counters   # must fail")
    cf.add_argument("address", nargs="?")
    cf.add_argument("--emulate", action="store_true", help="check the reference emulator")
    cf.add_argument("--fault", choices=FAULTS, help="with --emulate: inject this fault")
    cf.add_argument("--rate", type=int, default=200, help="sample rate to test, Hz")
    cf.add_argument("--seconds", type=float, default=3.0, help="how long to stream")
    cf.set_defaults(func=cmd_conformance)

    def db_arg(p):
        p.add_argument("--db", help="history database (default ~/.barback/history.sqlite)")

    b = sub.add_parser("batch", formatter_class=_Formatter, help="analyse a folder tree into the history database",
                       description="Analyse every session (CSV folders and native recordings) under DIR into the "
                                   "history database, in parallel; sessions already stored are skipped by content "
                                   "hash; a failing session is reported and the rest go on.",
                       epilog="example:\n  barback batch ~/lifting --db history.sqlite --workers 2\n"
                              "  barback batch /archive --db team.sqlite --scheduler tcp://10.0.0.5:8786")
    b.add_argument("dir")
    db_arg(b)
    b.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes")
    b.add_argument("--scheduler", metavar="ADDR", help="a Dask distributed scheduler to run the analyses on")
    b.add_argument("--athlete", help="athlete for sessions that do not name one")
    b.set_defaults(func=cmd_batch)

    h = sub.add_parser("history", formatter_class=_Formatter, help="sessions and trends from the history database",
                       description="Sessions and trends: load-velocity profile and estimated 1RM per exercise, "
                                   "velocity at a given load over time, lumbar flexion, flag frequency, and how "
                                   "pain scores relate to what the sensors saw.",
                       epilog="example:\n  barback history --db history.sqlite --athlete Ana --report history.html")
    db_arg(h)
    h.add_argument("--athlete")
    h.add_argument("--json", metavar="OUT.json")
    h.add_argument("--report", metavar="OUT.html")
    h.set_defaults(func=cmd_history)

    j = sub.add_parser("journal", formatter_class=_Formatter, help="pain journal",
                       description="Record how the back felt before, right after and the day after a session.",
                       epilog="example:\n  barback journal add --athlete Ana --session 12 --before 1 --after 3 --next-day 2")
    j.set_defaults(func=lambda a: (j.print_help(), EXIT_INPUT)[1])
    jsub = j.add_subparsers(dest="journal_command", metavar="add")
    ja = jsub.add_parser("add", formatter_class=_Formatter, help="add a journal entry",
                         epilog="example:\n  barback journal add --athlete Ana --before 0 --after 2")
    db_arg(ja)
    ja.add_argument("--athlete", required=True)
    ja.add_argument("--session", type=int, help="session id (see barback history)")
    ja.add_argument("--before", type=int, required=True, help="pain 0-10 before the session")
    ja.add_argument("--after", type=int, required=True, help="pain 0-10 right after")
    ja.add_argument("--next-day", type=int, help="pain 0-10 the day after")
    ja.add_argument("--note")
    ja.set_defaults(func=cmd_journal)

    at = sub.add_parser("athlete", formatter_class=_Formatter, help="show or set an athlete's settings",
                        description="Show an athlete, or set per-athlete threshold overrides and their own "
                                    "velocity at 1RM (minimum velocity threshold).",
                        epilog="example:\n  barback athlete Ana --threshold lumbar_flexion.pct_of_max=65 --mvt 0.16")
    at.add_argument("name")
    db_arg(at)
    at.add_argument("--threshold", action="append", metavar="SECTION.KEY=VALUE")
    at.add_argument("--mvt", type=float, help="the athlete's own mean velocity at 1RM, m/s")
    at.set_defaults(func=cmd_athlete)

    ca = sub.add_parser("calibrate", formatter_class=_Formatter, help="measure an athlete's lumbar range",
                        description="Guided routine with both lumbar sensors on: stand tall, bend forward as far "
                                    "as comfortable and hold, stand tall again. Stores standing neutral and maximal "
                                    "lumbar flexion; flexion is then also reported as a percentage of it.",
                        epilog="example:\n  barback calibrate --athlete Ana --lumbar-upper A0:.. --lumbar-lower B1:..\n"
                               "  barback calibrate --athlete Ana --from recordings/ana-calibration")
    ca.add_argument("--athlete", required=True)
    db_arg(ca)
    ca.add_argument("--lumbar-upper", metavar="ADDR")
    ca.add_argument("--lumbar-lower", metavar="ADDR")
    ca.add_argument("--from", dest="source_recording", metavar="RECORDING",
                    help="compute from a recorded routine instead of recording one now")
    ca.add_argument("--out", help="where to keep the routine's recording")
    ca.add_argument("--emulate", action="store_true", help="use emulated sensors playing a simulated routine")
    ca.set_defaults(func=cmd_calibrate)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_INPUT
    from barback.analysis.errors import InputError
    from barback.history.store import StoreError

    try:
        return int(args.func(args) or 0)
    except SystemExit as exc:
        return int(exc.code or 0)
    except (InputError, _BleProblem, StoreError) as exc:
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
