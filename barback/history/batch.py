"""Analyse every session in a folder tree into the history database, in parallel.

Workers (processes, or a Dask distributed cluster) only analyse; the main process alone writes to
SQLite, one transaction per session, so a failing session, a crash or a kill loses nothing that
was already stored. Sessions already stored (same content hash) are skipped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from barback.history.store import Store


@dataclass
class BatchReport:
    stored: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    not_followed: list[str] = field(default_factory=list)  # symbolic links to folders, left alone




def find_sessions(root: str | Path, links: list[str] | None = None) -> list[Path]:
    """Folders holding a CSV session (session.json) or a native recording (recording.json).

    A symbolic link to a folder is not followed (it may lead out of the tree, or round in a
    loop): it is listed in `links`, so that it is named rather than skipped in silence."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        if "session.json" in filenames or ("recording.json" in filenames and "stream.bbr" in filenames):
            out.append(Path(dirpath))
            dirnames[:] = []  # a session folder is a leaf
            continue
        if links is not None:
            links += [os.path.join(dirpath, d) for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        dirnames.sort()
    return sorted(out)


def _session_files(path: Path) -> list[Path]:
    if (path / "recording.json").exists():
        return [path / "recording.json", path / "stream.bbr"]
    files = [path / "session.json"]
    try:
        meta = json.loads((path / "session.json").read_text())
        files += [path / str(f) for f in sorted((meta.get("sensors") or {}).values())]
    except (json.JSONDecodeError, OSError, AttributeError):
        pass
    return files


def content_hash(path: Path) -> str:
    """SHA-256 over the session's own files (names and bytes), so moved or renamed folders are
    still recognised and any change to the data is not."""
    h = hashlib.sha256()
    for f in _session_files(path):
        h.update(f.name.encode() + b"\0")
        if f.exists():
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()


def session_info(path: Path) -> tuple[str | None, str]:
    """(athlete, ISO date) from the session's metadata (date falls back to the file time)."""
    athlete, date = None, None
    try:
        if (path / "recording.json").exists():
            meta = json.loads((path / "recording.json").read_text())
            athlete = meta.get("athlete") or None
            if meta.get("date"):
                date = meta["date"]
            elif meta.get("started_unix_ns"):
                date = dt.datetime.fromtimestamp(meta["started_unix_ns"] / 1e9, dt.UTC).date().isoformat()
        else:
            meta = json.loads((path / "session.json").read_text())
            athlete = meta.get("athlete") or None
            date = meta.get("date")
    except (json.JSONDecodeError, OSError):
        pass
    if not date:
        date = dt.date.fromtimestamp((path / ("recording.json" if (path / "recording.json").exists()
                                              else "session.json")).stat().st_mtime).isoformat()
    return athlete, str(date)


def analyse_one(path: str, overrides: dict[str, float] | None = None, max_flexion_deg: float | None = None,
                strength: dict[str, tuple[float | None, float | None]] | None = None) -> dict:
    """Worker: analyse one session folder. Never raises: errors come back as data. `strength`:
    exercise -> the athlete's (e1RM, velocity at a heavy load) from the history, for the warm-up check."""
    from barback.analysis.config import load_thresholds
    from barback.analysis.errors import InputError
    from barback.analysis.pipeline import analyze
    from barback.sessions.load import open_session

    try:
        th = load_thresholds(overrides=overrides or {})
        session = open_session(path)
        loads = session.loads_kg
        e1rm, v_heavy = (strength or {}).get(session.exercise, (None, None))
        result = analyze(session, thresholds=th, loads_kg=loads, max_flexion_deg=max_flexion_deg,
                         e1rm_kg=e1rm, heavy_velocity_mps=v_heavy)
        return {"path": path, "result": result.to_dict()}
    except InputError as exc:
        return {"path": path, "error": str(exc)}
    except Exception as exc:  # a bad session must not stop the batch
        return {"path": path, "error": f"{type(exc).__name__}: {exc}"}


def _strengths(store: Store, athlete: str, mvt_mps: float | None, overrides: dict[str, float]) -> dict:
    from barback.analysis.config import load_thresholds
    from barback.analysis.imu import EXERCISES
    from barback.history.trends import athlete_strength

    heavy = load_thresholds(overrides=overrides).warm_up.heavy_pct_e1rm
    rows = store.sessions(athlete)
    return {ex: athlete_strength(rows, athlete, ex, heavy, mvt_mps) for ex in EXERCISES}


def run_batch(root: str | Path, store: Store, workers: int = 1, scheduler: str | None = None,
              athlete: str | None = None, on_progress: Callable[[int, int, str], None] | None = None) -> BatchReport:
    report = BatchReport()
    todo: list[tuple[Path, str, str | None, str, dict, float | None, dict]] = []
    strengths: dict[str | None, dict] = {}
    for path in find_sessions(root, report.not_followed):
        h = content_hash(path)
        if store.has_hash(h):
            report.skipped.append(str(path))
            continue
        who, date = session_info(path)
        who = who or athlete
        overrides, max_flex = {}, None
        if who and who in store.athletes():
            a = store.athlete(who)
            overrides, max_flex = a["thresholds"], a["max_flexion_deg"]
            if who not in strengths:  # the athlete's e1RM per lift, from what is stored already
                strengths[who] = _strengths(store, who, a["mvt_mps"], overrides)
        todo.append((path, h, who, date, overrides, max_flex, strengths.get(who, {})))
    total = len(todo)
    by_path = {str(p): (h, who, date) for p, h, who, date, _, _, _ in todo}

    def store_one(res: dict) -> None:
        h, who, date = by_path[res["path"]]
        if "error" in res:
            report.failed.append((res["path"], res["error"]))
        else:
            if store.add_session(h, res["path"], who, date, res["result"]) is None:
                report.skipped.append(res["path"])  # stored meanwhile (another batch, or a copy)
            else:
                report.stored.append(res["path"])
        if on_progress:
            on_progress(len(report.stored) + len(report.failed), total, res["path"])

    args = [(str(p), o, m, st) for p, _, _, _, o, m, st in todo]
    for res in _execute(args, workers, scheduler):
        store_one(res)
    return report


def _execute(args: list[tuple], workers: int, scheduler: str | None) -> Iterable[dict]:
    if not args:
        return
    if scheduler:
        from barback.extras import require

        distributed = require("dask.distributed", "cluster", "batch --scheduler")
        Client, dask_completed = distributed.Client, distributed.as_completed

        with Client(scheduler) as client:
            futures = [client.submit(analyse_one, *a, pure=False) for a in args]
            for fut in dask_completed(futures):
                yield fut.result()
        return
    if workers <= 1:
        for a in args:
            yield analyse_one(*a)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_end_with, initargs=(os.getpid(),)) as pool:
        futures = [pool.submit(analyse_one, *a) for a in args]
        for fut in as_completed(futures):
            yield fut.result()


def _end_with(parent_pid: int) -> None:
    """A pool worker's first step: end when the batch that started it ends, however it ends (a
    kill -9 gives the pool no chance to stop its workers, which otherwise run on to finish what
    they were handed). Linux's parent-death signal; elsewhere workers end when their queue closes."""
    import signal
    import sys

    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the signal was asked for
        os._exit(1)
