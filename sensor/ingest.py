"""Records in, per-sensor sample streams out: the one path shared by live capture and replay.

`Ingest.push(record)` is what the BLE layer calls for every notification it stores, and what
replay calls for every record it reads back, so replay equals live, bit for bit.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from barback.analysis.imu import Role, Session
from barback.analysis.timebase import clean_samples
from barback.sensor.decoders import make_decoder
from barback.sensor.decoders.base import Decoder
from barback.sensor.recording import Record, RecordingMeta, RecordType


@dataclass
class _SensorBuffer:
    role: str
    decoder: Decoder
    t: list[np.ndarray] = field(default_factory=list)
    acc: list[np.ndarray] = field(default_factory=list)
    gyro: list[np.ndarray] = field(default_factory=list)
    host_timed: bool = True
    sync: list[tuple[float, float]] = field(default_factory=list)  # (sensor time of last sample, arrival)
    arrival_s: list[float] = field(default_factory=list)  # host arrival time of each block


class Ingest:
    def __init__(self, meta: RecordingMeta):
        self.meta = meta
        self.sensors = {s.id: _SensorBuffer(s.role, make_decoder(s.kind, s.rate_hz)) for s in meta.sensors}
        self.events: list[tuple[int, int, bytes]] = []

    def push(self, rec: Record):
        """Decode one record; returns the SampleBlock it produced (or None)."""
        buf = self.sensors.get(rec.sensor)
        if buf is None:
            return None
        if rec.type is RecordType.NOTIFICATION:
            block = buf.decoder.feed(rec.host_time_ns, rec.payload, rec.channel)
            if block is not None:
                buf.t.append(block.t_s)
                buf.acc.append(block.acc_sf_mps2)
                buf.gyro.append(block.gyro_sf_rps)
                buf.host_timed = block.host_timed
                buf.arrival_s.append(rec.host_time_ns * 1e-9)
                if not block.host_timed:
                    buf.sync.append((float(block.t_s[-1]), rec.host_time_ns * 1e-9))
            return block
        if rec.type in (RecordType.EVENT, RecordType.MARK):
            self.events.append((rec.sensor, rec.host_time_ns, rec.payload))
        return None

    def session(self, source: str = "", extra_warnings: list[str] | None = None,
                since_s: float | None = None) -> Session:
        """Everything decoded so far as a Session (or only the samples after `since_s` on the
        session clock, for live analysis of a recent window)."""
        streams = {}
        warnings = list(extra_warnings or [])
        for buf in self.sensors.values():
            if since_s is not None:
                k = bisect.bisect_left(buf.arrival_s, since_s)
                parts = (buf.t[k:], buf.acc[k:], buf.gyro[k:])
            else:
                parts = (buf.t, buf.acc, buf.gyro)
            st = buf.decoder.stats
            if st.malformed or st.resync_bytes:
                warnings.append(f"{buf.role}: skipped {st.malformed} malformed packet(s), "
                                f"{st.resync_bytes} stray byte(s)")
            if st.duplicates:
                warnings.append(f"{buf.role}: skipped {st.duplicates} repeated packet(s)")
            if st.clock_glitches:
                warnings.append(f"{buf.role}: dropped {st.clock_glitches} packet(s) ({st.glitched_samples} sample(s)) "
                                "stamped far ahead of the host's clock (a glitch in the sensor's clock)")
            if st.clock_restarts:
                warnings.append(f"{buf.role}: the sensor's clock began again {st.clock_restarts} time(s) "
                                "(a reboot); its later samples were re-timed to follow on")
            if st.unpaired:
                warnings.append(f"{buf.role}: dropped {st.unpaired} sample(s) of one sensor that the other "
                                "(accelerometer or gyroscope) sent nothing to pair with")
            if not parts[0]:
                warnings.append(f"{buf.role}: no samples recorded")
                continue
            t = np.concatenate(parts[0])
            if not buf.host_timed:
                t = to_session_clock(t, np.asarray(buf.sync))
            stream, rep = clean_samples(t, np.concatenate(parts[1]), np.concatenate(parts[2]),
                                        collapse_repeats=buf.host_timed)
            if rep.n_duplicates:
                warnings.append(f"{buf.role}: dropped {rep.n_duplicates} duplicated sample(s)")
            if rep.n_stray:
                warnings.append(f"{buf.role}: dropped {rep.n_stray} sample(s) stamped far from all the others "
                                f"(at {', '.join(f'{s:.0f}' for s in rep.stray_s[:3])} s): a clock glitch, not data")
            if rep.n_stale:
                warnings.append(f"{buf.role}: interpolated {rep.n_stale} stale accelerometer or gyroscope value(s)")
            streams[Role(buf.role)] = stream
        if not streams:
            raise ValueError("the recording holds no decodable samples")
        return Session(exercise=self.meta.exercise, streams=streams, source=source,
                       meta={"athlete": self.meta.athlete, "loads_kg": self.meta.loads_kg,
                             "date": _iso_date(self.meta.started_unix_ns)},
                       warnings=tuple(warnings))


def _iso_date(unix_ns: int) -> str | None:
    """The recording's start date (UTC), or None when it was not stamped."""
    import datetime as dt

    if not isinstance(unix_ns, int) or unix_ns <= 0:
        return None
    try:
        return dt.datetime.fromtimestamp(unix_ns / 1e9, dt.UTC).date().isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def to_session_clock(t_sensor: np.ndarray, sync: np.ndarray) -> np.ndarray:
    """Map sensor-clock times onto the session (host) clock.

    Each notification gives one pair (sensor time of its last sample, host arrival time). Arrival
    is never earlier than sampling, so the offset host - sensor is the link latency plus the
    clock offset: its lower envelope, a straight line in sensor time (offset and crystal drift),
    is the mapping. Fitted by least squares, then refitted three times on the points at or below
    the line."""
    s, h = sync[:, 0], sync[:, 1]
    d = h - s
    keep = np.ones(len(s), bool)
    coef = np.array([0.0, float(np.min(d))])
    if np.ptp(s) >= 60.0:  # drift is only observable (and only matters) over minutes
        for _ in range(4):
            if keep.sum() < 2 or np.ptp(s[keep]) == 0:
                break
            coef = np.polyfit(s[keep], d[keep], 1)
            coef[0] = float(np.clip(coef[0], -500e-6, 500e-6))  # crystals: tens of ppm
            resid = d - np.polyval(coef, s)
            keep = resid <= np.quantile(resid, 0.2)
    # the envelope passes through the fastest deliveries
    resid = d - np.polyval(coef, s)
    return t_sensor + np.polyval(coef, t_sensor) + float(np.min(resid))

