"""Commands that talk Bluetooth, to real or emulated sensors: scan, capture, emulate, conformance."""

from __future__ import annotations

import argparse
import sys

from barback.analysis.imu import EXERCISES, Role
from barback.cli.common import (
    DEMO_RECORDING,
    BleProblem,
    Formatter,
    add_audio_args,
    add_screen_args,
    add_session_args,
    add_threshold_args,
    audio_cues,
    finish_audio,
    live_view,
    loads_from_args,
    on_rep,
    positive_float,
    run_ble,
    stop_on_signal_or_after,
    thresholds,
    usage_error,
)

ROLES = tuple(r.value for r in Role)
# the device each role is played by when sensors are emulated
EMULATED_KINDS = {"bar": "witmotion", "lumbar_upper": "polar_pmd", "lumbar_lower": "movesense"}
FAULTS = ("wrong-rate", "skipped-counters", "bad-responses", "ignores-stop", "bad-timestamps")


async def emulated_radio(specs: list[tuple[str, str, float]], source=None):
    """A virtual radio with one emulated sensor per (role, kind, rate) on it, playing a recording
    or session (the bundled demo by default)."""
    from barback.sensor.ble.bumble_backend import VirtualRadio
    from barback.sensor.emulators import emulators_for
    from barback.sessions.load import open_session

    radio = VirtualRadio()
    emus = emulators_for(open_session(source or DEMO_RECORDING), specs)
    for e in emus:
        await radio.add(e)
    return radio, emus


def emulated_backend(radio) -> dict:
    """Capture's keyword arguments that route its BLE traffic through the virtual radio."""
    from barback.sensor.ble.bumble_backend import BumbleClient, BumbleScanner

    return {"backend": BumbleClient, "scanner_backend": BumbleScanner, "backend_kwargs": {"radio": radio}}


def cmd_scan(args) -> int:
    from bleak import BleakScanner

    from barback.sensor.devices import kind_from_advertisement

    async def run():
        kw = {}
        if args.emulate:
            from barback.sensor.ble.bumble_backend import BumbleScanner

            radio, _ = await emulated_radio([("bar", "witmotion", 100.0), ("lumbar_upper", "polar_pmd", 52.0),
                                             ("lumbar_lower", "movesense", 52.0)])
            kw = {"backend": BumbleScanner, "radio": radio}
        found = await BleakScanner.discover(timeout=args.timeout, return_adv=True, **kw)
        rows = []
        for dev, adv in found.values():
            kind = kind_from_advertisement(adv.local_name, adv.service_uuids)
            if kind or args.all:
                rows.append((adv.local_name or "?", dev.address, kind or "unsupported", adv.rssi))
        return rows

    rows = run_ble(run)
    if not rows:
        print("no supported sensors found (WitMotion, Polar PMD, Movesense); are they on and not connected elsewhere?")
        return 0
    print(f"{'name':<24} {'address':<20} {'kind':<12} {'rssi':>5}")
    for name, addr, kind, rssi in sorted(rows, key=lambda r: -r[3]):
        print(f"{name:<24} {addr:<20} {kind:<12} {rssi:>5}")
    return 0


def _history_context(args, th) -> dict:
    """What the history knows of the athlete's lift: e1RM (for the warm-up check) and load ceiling."""
    if not getattr(args, "db", None) or not args.athlete:
        return {}
    from barback.cli.history import _store
    from barback.history.trends import athlete_strength, load_ceiling

    store = _store(args, existing=True)
    rows = store.sessions(args.athlete)
    e1rm, _ = athlete_strength(rows, args.athlete, args.exercise, th.warm_up.heavy_pct_e1rm)
    return {"e1rm_kg": e1rm, "ceiling": load_ceiling(rows, args.athlete, args.exercise, th.load_ceiling, e1rm)}


def _before_set(live, view, loads_kg: dict[int, float], target: int, kg: float, context: dict) -> None:
    """As a set's load is entered: the warm-up check and the load ceiling."""
    from barback.history.trends import ceiling_warning

    wu = live.warm_up_preview(target, loads_kg, context.get("e1rm_kg"))
    if wu is not None and wu.heavy_set == target and wu.warned:
        view.message(f"warm-up: {wu.explanation} {wu.cue}")
    if context.get("ceiling"):
        line = ceiling_warning(context["ceiling"], kg, live.thresholds.load_ceiling)
        if line:
            view.message(f"load ceiling: {line}")


def _read_load(cap, live, view, context: dict | None = None) -> None:
    """A line typed during capture: the next set's load (the set after the last rep's)."""
    from barback.analysis.imu import parse_load_entry, parse_loads_kg

    line = sys.stdin.readline()
    kg = parse_load_entry(line)
    if kg is None:
        if line.strip():
            view.message(f"{line.strip()!r} is not a load: type l 120 (kg) and Enter")
        return
    target = live.reps[-1].set + 1 if live.reps else 1
    cap.set_load(target, kg)
    if hasattr(view, "loads_kg"):
        view.loads_kg[target] = kg
    view.message(f"set {target}: {kg:g} kg")
    _before_set(live, view, parse_loads_kg(cap.loads_kg), target, kg, context or {})


def cmd_capture(args) -> int:

    from barback.sensor.capture import Capture, CaptureError, Target
    from barback.sensor.live import LiveAnalyzer
    th = thresholds(args)
    roles = [(r, a) for r, a in (("bar", args.bar), ("lumbar_upper", args.lumbar_upper),
                                  ("lumbar_lower", args.lumbar_lower)) if a]
    if not roles:
        return usage_error("give at least --bar ADDR (see barback scan)")
    import contextlib

    from barback.analysis.imu import parse_loads_kg

    cues = audio_cues(args, th)
    view = live_view(args, th, parse_loads_kg(loads_from_args(args)))
    context = _history_context(args, th)

    async def run():
        kw: dict = {}
        targets = [Target(role, addr) for role, addr in roles]
        if args.emulate:
            radio, emus = await emulated_radio([(role, EMULATED_KINDS[role], args.rate) for role, _ in roles], args.source)
            targets = [Target(role, e.address) for (role, _), e in zip(roles, emus)]
            kw = emulated_backend(radio)
        live = LiveAnalyzer(args.exercise, bar_sensor_id=0, on_rep=on_rep(view, cues), thresholds=th)
        live.warm_up()
        cap = Capture(targets, args.exercise, args.out, rate_hz=args.rate, on_message=view.message, live=live,
                      athlete=args.athlete or "", loads_kg=loads_from_args(args), **kw)
        stop = stop_on_signal_or_after(args.duration)
        moved = "" if cap.out_dir == cap.requested_dir else f" ({cap.requested_dir} already holds a recording)"
        typing = sys.stdin is not None and sys.stdin.isatty()
        view.header(f"recording to {cap.out_dir}{moved}; Ctrl-C to stop"
                    + ("; between sets type the next set's load, e.g. l 120, and Enter" if typing else ""))
        if typing:
            import asyncio

            asyncio.get_running_loop().add_reader(sys.stdin.fileno(), _read_load, cap, live, view, context)
        first = parse_loads_kg(cap.loads_kg)
        if first and context:  # a load given on the command line: the first set's check now
            from barback.analysis.imu import load_of_set

            kg0 = load_of_set(first, 1)
            if kg0:
                _before_set(live, view, first, 1, kg0, context)
        try:
            await cap.run(stop)
        except CaptureError as exc:
            raise BleProblem(str(exc)) from None
        return cap, live

    with view if args.screen == "big" else contextlib.nullcontext():
        cap, live = run_ble(run)
    if cues is not None and args.audio_out:
        try:
            session = cap.ingest.session(source=str(cap.out_dir)) if cap.ingest is not None else None
        except ValueError:  # nothing was recorded: the cues heard, if any, still go to the file
            session = None
        end_s = max((float(s.t_s[-1]) for s in session.streams.values()), default=0.0) if session else 0.0
        finish_audio(cues, args, end_s)
    print(f"\nrecorded {sum(s.notifications for s in cap.stats.values())} notifications to {cap.out_dir}; "
          f"{len(live.reps)} reps. Replay: barback replay {cap.out_dir}")
    return 0


def cmd_emulate(args) -> int:

    from barback.extras import require
    from barback.sensor.emulators import DEFAULT_RATES_HZ, emulators_for
    from barback.sessions.load import open_session

    transport_mod = require("bumble.transport", "emulate", "barback emulate")
    rate = args.rate or DEFAULT_RATES_HZ[args.device]
    (emu,) = emulators_for(open_session(args.recording or DEMO_RECORDING), [(args.role, args.device, rate)])
    if args.address:
        emu.address = args.address.upper()

    async def run():
        try:
            transport = await transport_mod.open_transport(args.transport)
        except Exception as exc:
            raise BleProblem(f"cannot open Bluetooth transport {args.transport!r}: {exc}") from None
        async with transport:
            await emu.start_on_transport(transport)
            print(f"emulating {args.device} {emu.name!r} at {emu.address} on {args.transport}, playing "
                  f"{args.recording or DEMO_RECORDING} ({args.role}); Ctrl-C to stop", flush=True)
            await stop_on_signal_or_after(args.duration).wait()
            print(f"sent {emu.sent} notifications")

    run_ble(run)
    return 0


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
            return usage_error("give a device address, or --emulate")

        async def run():
            return await check_device(args.address, rate_hz=args.rate, stream_s=args.seconds)
        target = args.address
    checks = run_ble(run)
    print(f"barback DIY profile conformance: {target}\n")
    print(f"{'check':<18} {'result':<7} detail")
    for c in checks:
        print(f"{c.name:<18} {'pass' if c.ok else 'FAIL':<7} {c.detail}")
    failed = [c for c in checks if not c.ok]
    print(f"\n{len(checks) - len(failed)} passed, {len(failed)} failed")
    return 0 if not failed else 1


def register(sub: argparse._SubParsersAction) -> None:
    from barback.sensor.devices import DRIVERS

    sc = sub.add_parser("scan", formatter_class=Formatter, help="list nearby supported sensors",
                        description="Scan for WitMotion, Polar (PMD) and Movesense sensors and list name, "
                                    "address, kind and signal strength.",
                        epilog="example:\n  barback scan --timeout 5\n  barback scan --emulate   # emulated sensors, no hardware")
    sc.add_argument("--timeout", type=positive_float, default=5.0, help="seconds to scan")
    sc.add_argument("--all", action="store_true", help="also list unsupported devices")
    sc.add_argument("--emulate", action="store_true", help="scan a virtual radio with emulated sensors")
    sc.set_defaults(func=cmd_scan)

    c = sub.add_parser("capture", formatter_class=Formatter, help="record sensors live with feedback",
                       description="Connect to all given sensors at once, configure their rate, record every "
                                   "byte (crash-safe) and show each rep as it ends, until Ctrl-C.",
                       epilog="example:\n  barback capture --bar C1:23:45:67:89:AB --lumbar-upper A0:9E:1A:00:11:22 "
                              "--out recordings/today\n  barback capture --emulate --bar x --lumbar-upper x "
                              "--lumbar-lower x --out /tmp/rec --duration 30")
    c.add_argument("--bar", metavar="ADDR")
    c.add_argument("--lumbar-upper", metavar="ADDR")
    c.add_argument("--lumbar-lower", metavar="ADDR")
    c.add_argument("--exercise", default="deadlift", choices=EXERCISES)
    c.add_argument("--rate", type=positive_float, default=100.0, help="sample rate to configure, Hz")
    c.add_argument("--out", required=True, help="recording folder to write")
    c.add_argument("--duration", type=positive_float, help="stop after this many seconds")
    c.add_argument("--no-bell", action="store_true", help="no terminal bell on a flag")
    add_audio_args(c)
    c.add_argument("--emulate", action="store_true",
                   help="use emulated sensors on a virtual radio (addresses are ignored)")
    c.add_argument("--source", help="with --emulate: the recording or session the emulated sensors play")
    add_session_args(c, date=False)
    c.add_argument("--db", help="history database: the athlete's e1RM and load ceiling, for the warm-up check and "
                                "a warning when a set's load is above the ceiling (with --athlete)")
    add_screen_args(c)
    add_threshold_args(c)
    c.set_defaults(func=cmd_capture)

    em = sub.add_parser("emulate", formatter_class=Formatter, help="serve a recording as a virtual sensor",
                        description="Play a recording (or session) as an emulated sensor through a Bluetooth "
                                    "transport, so other apps can be tested without hardware. Transports are "
                                    "bumble's: usb:0 (a dongle), serial:/dev/ttyACM0 (an HCI UART board), vhci "
                                    "(Linux: a virtual controller BlueZ sees), tcp-client:HOST:PORT (a virtual "
                                    "controller such as netsim or rootcanal), android-netsim.",
                        epilog="example:\n  barback emulate recordings/demo_deadlift --device witmotion --transport vhci\n"
                               "  barback emulate recordings/demo_deadlift --device polar_pmd --role lumbar_upper "
                               "--transport usb:0")
    em.add_argument("recording", nargs="?", help="recording or session to play (default: the bundled demo)")
    em.add_argument("--device", required=True, choices=tuple(DRIVERS))
    em.add_argument("--role", default="bar", choices=ROLES, help="which sensor of the recording to play")
    em.add_argument("--transport", required=True, help="bumble HCI transport")
    em.add_argument("--address", help="Bluetooth address to use")
    em.add_argument("--rate", type=positive_float, help="sample rate, Hz (default: the device's usual)")
    em.add_argument("--duration", type=positive_float, help="stop after this many seconds")
    em.set_defaults(func=cmd_emulate)

    cf = sub.add_parser("conformance", formatter_class=Formatter,
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
    cf.add_argument("--seconds", type=positive_float, default=3.0, help="how long to stream")
    cf.set_defaults(func=cmd_conformance)
