"""Replay a native recording through exactly the path live capture takes: every record, in order,
through `Ingest.push`, and (optionally) the live analyser, at recorded speed or as fast as possible."""

from __future__ import annotations

import time

from barback.analysis.imu import Session
from barback.sensor.ingest import Ingest
from barback.sensor.recording import ReadReport, read_recording


def replay(folder, speed: float | None = None, live=None) -> tuple[Ingest, ReadReport]:
    """`speed` None = as fast as possible; 1.0 = as recorded; 2.0 = twice as fast."""
    meta, records, report = read_recording(folder)
    ing = Ingest(meta)
    start = time.monotonic()
    t_first = records[0].host_time_ns if records else 0
    for rec in records:
        if speed:
            due = (rec.host_time_ns - t_first) * 1e-9 / speed
            wait = due - (time.monotonic() - start)
            if wait > 0:
                time.sleep(wait)
        block = ing.push(rec)
        if live is not None and block is not None:
            live.on_block(rec.sensor, ing)
    return ing, report


def read_warnings(folder, report: ReadReport) -> list[str]:
    warnings = []
    if report.header_damaged:
        warnings.append(f"{folder}: the stream's file header is damaged; its records were read by their own checksums")
    if report.corrupt_records or report.skipped_bytes:
        warnings.append(f"{folder}: skipped {report.corrupt_records} corrupt record(s) and "
                        f"{report.skipped_bytes} unreadable byte(s)")
    if report.truncated_tail:
        warnings.append(f"{folder}: the last record was cut short (recording interrupted); it was dropped")
    return warnings


def session_from_recording(folder) -> Session:
    """Decode a whole recording: replay at full speed through the live path."""
    ing, report = replay(folder)
    return ing.session(source=str(folder), extra_warnings=read_warnings(folder, report))
