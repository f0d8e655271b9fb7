"""The native barback recording: raw BLE bytes with host timestamps, lossless and append-only.

A recording is a folder holding `recording.json` (who, what, which sensors) and `stream.bbr`
(every notification and command, as it crossed the radio). The byte layout is specified in
`recordings/FORMAT.md`; this module is its reference implementation.

Writers append framed, CRC-checked records and flush them to disk at least every
`flush_interval_s`, so a crash, `kill -9` or power loss costs at most that much. Readers stop at
nothing: a torn or corrupted record is skipped (and counted) and reading resumes at the next valid
record.
"""

from __future__ import annotations

import json
import os
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from pathlib import Path

from barback.analysis.imu import parse_loads_kg

MAGIC = b"BBREC"
FORMAT_VERSION = 1
FILE_HEADER = struct.Struct("<5sHB")  # magic, version, reserved
SYNC = 0xA5
RECORD_HEAD = struct.Struct("<BBBBqH")  # sync, type, sensor, channel, host_time_ns, length
CRC = struct.Struct("<I")
MAX_PAYLOAD = 4096
STREAM_FILE = "stream.bbr"
META_FILE = "recording.json"


class RecordType(IntEnum):
    NOTIFICATION = 1  # bytes received from the sensor
    WRITE = 2  # bytes the host wrote to the sensor
    EVENT = 3  # JSON: connected, disconnected, reconnecting, error
    MARK = 4  # JSON: annotation (set start, load, note)


@dataclass(frozen=True)
class Record:
    type: RecordType
    sensor: int
    channel: int
    host_time_ns: int
    payload: bytes


@dataclass
class SensorInfo:
    id: int
    role: str  # bar | lumbar_upper | lumbar_lower
    kind: str  # witmotion | polar_pmd | movesense | barback_diy
    address: str = ""
    name: str = ""
    rate_hz: float = 100.0
    channels: dict[str, int] = field(default_factory=dict)  # characteristic uuid -> channel
    settings: dict = field(default_factory=dict)


@dataclass
class RecordingMeta:
    exercise: str
    sensors: list[SensorInfo]
    started_unix_ns: int = 0
    athlete: str = ""
    notes: str = ""
    format_version: int = FORMAT_VERSION
    loads_kg: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> RecordingMeta:
        """Parse and check recording.json; ValueError names what is wrong."""
        d = json.loads(text)
        if not isinstance(d, dict) or not isinstance(d.get("sensors"), list):
            raise ValueError("expected an object with a list of 'sensors'")
        sensors = []
        for s in d["sensors"]:
            if not isinstance(s, dict):
                raise ValueError("each sensor must be an object")
            info = SensorInfo(**s)
            rate = info.rate_hz
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (0 < float(rate) <= 10_000):
                raise ValueError(f"sensor {info.id}: rate_hz {rate!r:.20} is not a rate in Hz")
            if not isinstance(info.id, int) or not isinstance(info.role, str) or not isinstance(info.kind, str):
                raise ValueError("each sensor needs an integer id, a role and a kind")
            sensors.append(info)
        d["sensors"] = sensors
        parse_loads_kg(d.get("loads_kg"))
        return cls(**d)


def encode_record(rec: Record) -> bytes:
    if len(rec.payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(rec.payload)} bytes exceeds {MAX_PAYLOAD}")
    head = RECORD_HEAD.pack(SYNC, int(rec.type), rec.sensor, rec.channel, rec.host_time_ns, len(rec.payload))
    body = head + rec.payload
    return body + CRC.pack(zlib.crc32(body[1:]))


def holds_recording(folder: str | Path) -> bool:
    folder = Path(folder)
    return (folder / META_FILE).exists() or (folder / STREAM_FILE).exists() or (folder / STREAM_FILE).is_symlink()


def fresh_folder(folder: str | Path) -> Path:
    """`folder`, or where it already holds a recording, the first free `folder-2`, `folder-3`, ...
    beside it: a capture never mixes two sessions (two clocks, two sensor sets) in one stream."""
    folder = Path(folder)
    if not holds_recording(folder):
        return folder
    k = 2
    while holds_recording(folder.with_name(f"{folder.name}-{k}")):
        k += 1
    return folder.with_name(f"{folder.name}-{k}")


class RecordingWriter:
    """Append-only writer of a new recording. Use as a context manager; `append` is cheap and never
    blocks on fsync more often than every `flush_interval_s`. The folder must not hold a
    recording already (see `fresh_folder`): the stream is created, never appended to or followed
    through a symlink."""

    def __init__(self, folder: str | Path, meta: RecordingMeta, flush_interval_s: float = 0.5):
        self.folder = Path(folder)
        if holds_recording(self.folder):
            raise FileExistsError(f"{self.folder}: already holds a recording; record into a new folder")
        self.folder.mkdir(parents=True, exist_ok=True)
        if not meta.started_unix_ns:
            meta.started_unix_ns = time.time_ns()
        tmp = self.folder / (META_FILE + ".tmp")
        tmp.write_text(meta.to_json())
        os.replace(tmp, self.folder / META_FILE)
        path = self.folder / STREAM_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        self._fh = open(fd, "ab")
        self._fh.write(FILE_HEADER.pack(MAGIC, FORMAT_VERSION, 0))
        self._flush_interval_s = flush_interval_s
        self._last_sync = time.monotonic()
        self.n_records = 0

    def update_meta(self, meta: RecordingMeta) -> None:
        """Rewrite recording.json (atomically): what was learnt while recording, such as a set's
        load entered between sets."""
        tmp = self.folder / (META_FILE + ".tmp")
        tmp.write_text(meta.to_json())
        os.replace(tmp, self.folder / META_FILE)

    def append(self, rec: Record) -> None:
        self._fh.write(encode_record(rec))
        self.n_records += 1
        now = time.monotonic()
        if now - self._last_sync >= self._flush_interval_s:
            self.sync()
            self._last_sync = now

    def sync(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if not self._fh.closed:
            self.sync()
            self._fh.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class ReadReport:
    n_records: int = 0
    skipped_bytes: int = 0  # bytes outside every intact record (after the file header)
    corrupt_records: int = 0
    truncated_tail: bool = False
    header_damaged: bool = False


def iter_records(data: bytes, report: ReadReport | None = None) -> Iterator[Record]:
    """Decode records from the bytes of a stream file, resynchronising after damage.

    Every record carries its own CRC, so neither a damaged file header nor a record whose length
    field lies costs the intact records around it: a header whose magic is damaged is read on if
    intact records follow it (noted in the report), and a length that runs past the end of the
    file is the truncated tail only if no intact record follows."""
    rep = report if report is not None else ReadReport()
    if len(data) < FILE_HEADER.size:
        raise ValueError("not a barback stream (shorter than its header)")
    magic, version, _ = FILE_HEADER.unpack_from(data)
    if magic == MAGIC and version <= FORMAT_VERSION:
        yield from _scan(data, rep)
        return
    # a damaged magic, or a version this reader does not know (newer, or a damaged field): records
    # laid out and checksummed as this reader's are read; with none, the stream is refused
    records = _scan(data, rep)
    first = next(records, None)
    if first is None:
        if magic == MAGIC:
            raise ValueError(f"stream format version {version} is newer than this reader ({FORMAT_VERSION})")
        raise ValueError("not a barback stream (bad magic)")
    rep.header_damaged = True
    yield first
    yield from records


def _scan(data: bytes, rep: ReadReport) -> Iterator[Record]:
    pos = last_end = FILE_HEADER.size
    n = len(data)
    hs, cs = RECORD_HEAD.size, CRC.size
    cut_at: int | None = None  # a record head whose length runs past the end of the file
    while pos < n:
        if data[pos] != SYNC:
            nxt = data.find(bytes([SYNC]), pos + 1)
            if nxt < 0:
                break
            pos = nxt
            continue
        if pos + hs > n:
            cut_at = pos if cut_at is None else cut_at
            break
        _, rtype, sensor, channel, t_ns, length = RECORD_HEAD.unpack_from(data, pos)
        end = pos + hs + length + cs
        if length > MAX_PAYLOAD or end > n:
            if length <= MAX_PAYLOAD and cut_at is None:
                cut_at = pos  # the tail cut short, or a lying length: what follows tells
            else:
                rep.corrupt_records += 1
            pos += 1
            continue
        (crc,) = CRC.unpack_from(data, end - cs)
        if crc != zlib.crc32(data[pos + 1:end - cs]) or rtype not in RecordType._value2member_map_:
            rep.corrupt_records += 1
            pos += 1
            continue
        if cut_at is not None:  # an intact record after it: its length lied
            rep.corrupt_records += 1
            cut_at = None
        rep.n_records += 1
        rep.skipped_bytes += pos - last_end
        yield Record(RecordType(rtype), sensor, channel, t_ns, bytes(data[pos + hs:end - cs]))
        pos = last_end = end
    rep.skipped_bytes += n - last_end
    rep.truncated_tail = cut_at is not None


def read_recording(folder: str | Path) -> tuple[RecordingMeta, list[Record], ReadReport]:
    """Read a recording folder. Raises FileNotFoundError/ValueError with a clear message."""
    folder = Path(folder)
    meta_path = folder / META_FILE
    if not meta_path.exists():
        raise FileNotFoundError(f"{meta_path}: not found (a recording folder holds {META_FILE} and {STREAM_FILE})")
    try:
        meta = RecordingMeta.from_json(meta_path.read_text())
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{meta_path}: invalid recording metadata ({exc})") from None
    stream = folder / STREAM_FILE
    if not stream.exists():
        raise FileNotFoundError(f"{stream}: not found")
    rep = ReadReport()
    records = list(iter_records(stream.read_bytes(), rep))
    return meta, records, rep


def is_recording(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / META_FILE).exists() and (p / STREAM_FILE).exists()
