"""Open whatever the user points at: a CSV session folder, its session.json, or a native recording."""

from __future__ import annotations

from pathlib import Path

from barback.analysis.errors import InputError
from barback.analysis.imu import Session


def open_session(path: str | Path) -> Session:
    from barback.sensor.recording import is_recording
    from barback.sessions.csv_format import load_session

    p = Path(path)
    if not p.exists():
        raise InputError(p, "not found")
    if is_recording(p):
        from barback.sensor.replay import session_from_recording

        try:
            return session_from_recording(p)
        except (ValueError, FileNotFoundError) as exc:
            msg = str(exc)
            raise InputError(p, msg.split(": ", 1)[-1] if msg.startswith(str(p)) else msg) from None
    return load_session(p)
