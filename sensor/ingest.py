"""Records in, per-sensor sample streams out: the one path shared by live capture and replay.

`Ingest.push(record)` is what the BLE layer calls for every notification it stores, and what
replay calls for every record it reads back, so replay equals live, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.imu import ImuStream, Role, Session
from analysis.timebase import clean_samples
from sensor.decoders import make_decoder
from sensor.recording import Record, RecordingMeta, RecordType, read_recording


@dataclass
class _SensorBuffer:
    role: str
    decoder: object
    t: list[np.ndarray] = field(default_factory=list)
    acc: list[np.ndarray] = field(default_factory=list)
    gyro: list[np.ndarray] = field(default_factory=list)
    host_timed: bool = True


class Ingest:
    def __init__(self, meta: RecordingMeta):
        self.meta = meta
        self.sensors = {s.id: _SensorBuffer(s.role, make_decoder(s.kind)) for s in meta.sensors}
        self.events: list[tuple[int, int, bytes]] = []

    def push(self, rec: Record):
        """Decode one record; returns the SampleBlock it produced (or None)."""
        buf = self.sensors.get(rec.sensor)
        if buf is None:
            return None
        if rec.type is RecordType.NOTIFICATION:
            block = buf.decoder.feed(rec.host_time_ns, rec.payload)
            if block is not None:
                buf.t.append(block.t_s)
                buf.acc.append(block.acc_sf_mps2)
                buf.gyro.append(block.gyro_sf_rps)
                buf.host_timed = block.host_timed
            return block
        if rec.type in (RecordType.EVENT, RecordType.MARK):
            self.events.append((rec.sensor, rec.host_time_ns, rec.payload))
        return None

    def session(self, source: str = "", extra_warnings: list[str] | None = None) -> Session:
        streams = {}
        warnings = list(extra_warnings or [])
        for sid, buf in self.sensors.items():
            st = buf.decoder.stats
            if st.malformed or st.resync_bytes:
                warnings.append(f"{buf.role}: skipped {st.malformed} malformed packet(s), "
                                f"{st.resync_bytes} stray byte(s)")
            if not buf.t:
                warnings.append(f"{buf.role}: no samples recorded")
                continue
            stream, rep = clean_samples(np.concatenate(buf.t), np.concatenate(buf.acc), np.concatenate(buf.gyro))
            if rep.n_duplicates:
                warnings.append(f"{buf.role}: dropped {rep.n_duplicates} duplicated sample(s)")
            streams[Role(buf.role)] = stream
        if not streams:
            raise ValueError("the recording holds no decodable samples")
        return Session(exercise=self.meta.exercise, streams=streams, source=source,
                       meta={"athlete": self.meta.athlete, "loads_kg": self.meta.loads_kg},
                       warnings=tuple(warnings))


def session_from_recording(folder) -> Session:
    meta, records, rep = read_recording(folder)
    ing = Ingest(meta)
    for rec in records:
        ing.push(rec)
    warnings = []
    if rep.corrupt_records or rep.skipped_bytes:
        warnings.append(f"{folder}: skipped {rep.corrupt_records} corrupt record(s) and "
                        f"{rep.skipped_bytes} unreadable byte(s)")
    if rep.truncated_tail:
        warnings.append(f"{folder}: the last record was cut short (recording interrupted); it was dropped")
    return ing.session(source=str(folder), extra_warnings=warnings)
