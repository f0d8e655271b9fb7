"""What every command shares: messages, exit codes, progress, thresholds from the command line."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from barback.analysis.config import Thresholds

PROG = "barback"
EXIT_INPUT = 2
# the bundled demo recording, shipped as package data (pip installs unpack it as files)
DEMO_RECORDING = Path(str(resources.files("barback.recordings").joinpath("demo_deadlift")))


class Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


class BleProblem(Exception):
    """A Bluetooth adapter, stack or device problem: one line for the user, exit 2."""


class AudioProblem(Exception):
    """No speech engine, or a cue track that cannot be written: one line for the user, exit 2."""


def err(msg: str) -> None:
    print(f"{PROG}: error: {msg}", file=sys.stderr)


def warn(msg: str) -> None:
    print(f"{PROG}: warning: {msg}", file=sys.stderr)


def usage_error(msg: str) -> int:
    err(msg)
    return EXIT_INPUT


@contextmanager
def progress(label: str, quiet: bool = False) -> Iterator[None]:
    """A spinner on an interactive terminal, nothing when piped."""
    if quiet or not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(label):
        yield


def overrides(items: list[str] | None) -> dict[str, float]:
    """`--threshold section.key=value` options as a dict (a usage error ends the command)."""
    out = {}
    for item in items or []:
        key, sep, val = item.partition("=")
        if not sep:
            raise SystemExit(usage_error(f"--threshold expects section.key=value, got {item!r}"))
        try:
            out[key.strip()] = float(val)
        except ValueError:
            raise SystemExit(usage_error(f"--threshold {key}: {val!r} is not a number")) from None
    return out


def thresholds(args: argparse.Namespace) -> Thresholds:
    from barback.analysis.config import load_thresholds

    over = overrides(args.threshold)
    where = f"{args.thresholds}: " if args.thresholds else ""
    try:
        return load_thresholds(args.thresholds, over)
    except KeyError as exc:
        raise SystemExit(usage_error(where + str(exc).strip("'\""))) from None
    except (OSError, ValueError) as exc:
        raise SystemExit(usage_error(f"{where}{exc}")) from None


def positive_float(text: str) -> float:
    """An argparse type: a finite number above zero (a rate, a duration, a speed)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (v > 0 and v != float("inf")):
        raise argparse.ArgumentTypeError(f"{text!r} must be above zero")
    return v


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be above zero")
    return v


def speed(text: str) -> float | None:
    """Replay speed: `max` (None: as fast as possible) or a positive factor of recorded time."""
    return None if text == "max" else positive_float(text)


def load_spec(text: str) -> dict[str, float]:
    """`--load`: 100 (every set) or 1=100,2=120 (per set), in kg."""
    from barback.analysis.imu import parse_load_arg

    try:
        return parse_load_arg(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def iso_date(text: str) -> str:
    """`--date`: YYYY-MM-DD."""
    import datetime as dt

    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def add_session_args(p: argparse.ArgumentParser, date: bool = True) -> None:
    """Who lifted, how heavy, when: stored with the session (and in the history)."""
    p.add_argument("--athlete", metavar="NAME", help="who lifted (stored with the session and in the history)")
    p.add_argument("--load", action="append", type=load_spec, metavar="KG",
                   help="the load: --load 100 for every set, or per set --load 1=100,2=120 (repeatable)")
    if date:
        p.add_argument("--date", type=iso_date, metavar="YYYY-MM-DD", help="the session's date (default: as recorded)")


def loads_from_args(args) -> dict[str, float]:
    out: dict[str, float] = {}
    for spec in getattr(args, "load", None) or []:
        out.update(spec)
    return out


def refuse_overwrite(args, *paths, folder: bool = False) -> None:
    """Outputs never replace what is there without --force: a regular file at an output path, or
    (`folder`) an output folder that holds files already."""
    from barback.analysis.errors import InputError

    if getattr(args, "force", False):
        return
    for p in paths:
        if p is None:
            continue
        p = Path(p)
        if folder and p.is_dir() and any(p.iterdir()):
            raise InputError(p, "holds files already; choose a new folder, or add --force to write over them")
        if not folder and p.is_file():
            raise InputError(p, "exists; add --force to overwrite it")


def add_force_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true", help="write over outputs that exist")


def add_audio_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--audio", choices=("off", "tones", "speech"), default="off",
                   help="a cue every rep: tones (a beep a rep, two low beeps for a flag, a falling call to stop) "
                        "or speech (the velocity, the flag in words, 'stop'; needs espeak-ng or macOS say)")
    p.add_argument("--audio-out", metavar="CUES.wav", help="also write every cue, on the session's clock, to a WAV file")


def add_screen_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--screen", choices=("lines", "big"), default="lines",
                   help="lines: a line per rep; big: the whole terminal, readable from the platform (velocity "
                        "in digits that fill it, coloured by --zone, loss, power, flag, rest timer, set summary)")
    p.add_argument("--zone", type=velocity_zone, metavar="LOW-HIGH",
                   help="the set's target mean velocity in m/s, e.g. 0.5-0.75: green inside, yellow above, red below")


def velocity_zone(text: str) -> tuple[float, float]:
    from barback.sensor.screen import parse_zone

    try:
        return parse_zone(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def live_view(args, th: Thresholds, loads_kg: dict[int, float], speed: float = 1.0):
    """The live display the command line asks for: a line per rep, or the big screen."""
    if getattr(args, "screen", "lines") == "big":
        import time

        from barback.sensor.screen import BigScreen

        return BigScreen(th.velocity_loss.threshold_pct, args.zone, loads_kg, clock=lambda: time.monotonic() * speed)
    from barback.sensor.view import LiveView

    return LiveView(th.velocity_loss.threshold_pct, bell=not getattr(args, "no_bell", True) and args.audio == "off")


def audio_cues(args, th: Thresholds):
    """The cue player the command line asks for (None for --audio off without --audio-out)."""
    if args.audio == "off" and not args.audio_out:
        return None
    from barback.sensor.cues import AudioUnavailable, CuePlayer, CueTrack

    mode = args.audio if args.audio != "off" else "tones"
    try:
        if args.audio == "off":  # only the file: nothing is played
            return CueTrack(mode, th.velocity_loss.threshold_pct)
        player = CuePlayer(mode, th.velocity_loss.threshold_pct)
    except AudioUnavailable as exc:
        raise AudioProblem(str(exc)) from None
    if player.player is None and not args.audio_out:
        warn("no sound player found (pw-play, paplay, aplay or afplay): cues are not played")
    return player


def on_rep(view, cues):
    """The live callback of capture and replay: the screen, then the rep's cues."""
    def show(rep) -> None:
        view.rep(rep)
        if cues is not None:
            cues(rep)
    return show


def finish_audio(cues, args, duration_s: float) -> None:
    """Write the session's cue track (--audio-out) once the session is over."""
    if cues is None or not args.audio_out:
        return
    from barback.sensor.cues import AudioUnavailable, CueTrack, write_wav

    track = cues if isinstance(cues, CueTrack) else cues.track
    try:
        samples = track.render(duration_s)
    except AudioUnavailable as exc:
        raise AudioProblem(str(exc)) from None
    from barback.reporting.export import open_output

    with open_output(args.audio_out, binary=True) as fh:
        write_wav(fh, samples)


def add_threshold_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--thresholds", metavar="FILE", help="threshold file (default: the bundled, versioned one)")
    p.add_argument("--threshold", action="append", metavar="SECTION.KEY=VALUE",
                   help="override one threshold, e.g. --threshold exercise.deadlift.lumbar_flexion_peak_deg=35 (repeatable)")


def _warm_kernels() -> None:
    from barback.analysis.pipeline import warm_kernels

    warm_kernels()


def analyze_path(path, th: Thresholds, quiet: bool = False, args=None):
    import threading

    # the compiled kernels take a third of a second to load from numba's cache: load them while
    # the files are read (the CSV parser leaves the interpreter free)
    threading.Thread(target=_warm_kernels, daemon=True).start()
    from barback.analysis.pipeline import analyze
    from barback.sessions.load import open_session

    with progress(f"reading {path}", quiet):
        session = open_session(path)
    if args is not None:  # what the command line says of the session overrides its metadata
        meta = dict(session.meta)
        loads = loads_from_args(args)
        if loads:
            meta["loads_kg"] = {**(meta.get("loads_kg") or {}), **loads}
        for key in ("athlete", "date"):
            if getattr(args, key, None):
                meta[key] = getattr(args, key)
        session = dataclasses.replace(session, meta=meta)
    with progress("analysing", quiet):
        return session, analyze(session, thresholds=th, loads_kg=session.loads_kg)


def stop_on_signal_or_after(duration_s: float | None):
    """An event set by Ctrl-C or SIGTERM, or after `duration_s` (call from the running loop)."""
    import asyncio
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if duration_s:
        loop.call_later(duration_s, stop.set)
    return stop


def run_ble(coro_fn):
    """Run a BLE coroutine; a missing adapter or stack becomes one clear line (exit 2)."""
    import asyncio

    from bleak.exc import BleakError

    try:
        return asyncio.run(coro_fn())
    except BleakError as exc:
        raise BleProblem(f"Bluetooth: {exc}") from None
    except OSError as exc:
        if "dbus" in str(exc).lower() or "bluetooth" in str(exc).lower() or isinstance(exc, FileNotFoundError):
            raise BleProblem(f"Bluetooth is not available on this machine ({exc}); "
                             "try --emulate to use emulated sensors") from None
        raise
