"""What every device decoder returns, and the shared field-table machinery."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Field:
    """One value in a packet: byte offset, struct format (little-endian), scale to SI."""

    name: str
    offset: int
    fmt: str
    scale: float
    unit: str


@dataclass
class SampleBlock:
    """Decoded samples of one notification. `t_s` is on the sensor clock when `host_timed` is
    False, else the host arrival time (the device sends no timestamp)."""

    t_s: np.ndarray
    acc_sf_mps2: np.ndarray
    gyro_sf_rps: np.ndarray
    host_timed: bool


@dataclass
class DecodeStats:
    packets: int = 0
    samples: int = 0
    malformed: int = 0
    duplicates: int = 0
    resync_bytes: int = 0
    unpaired: int = 0  # samples of one sensor dropped because the other (ACC or GYRO) sent none to pair
    errors: list[str] = field(default_factory=list)

    def error(self, msg: str) -> None:
        self.malformed += 1
        if len(self.errors) < 20:
            self.errors.append(msg)


@dataclass
class SensorClock:
    """A sensor's stamps against the host's arrival times. A stamp that leaps further ahead of the
    last accepted one than the host's clock moved (plus `slack_s` for queued notifications) is a
    glitch (a flipped bit, a bad counter): it must not become the reference that every later,
    honest stamp would then fall behind (and be dropped as a repeat) or wrap around."""

    slack_s: float = 5.0
    last_sensor_s: float | None = None
    last_host_s: float = 0.0

    def jumps_ahead(self, sensor_s: float, host_s: float) -> bool:
        if self.last_sensor_s is None:
            return False
        return sensor_s - self.last_sensor_s > max(host_s - self.last_host_s, 0.0) + self.slack_s

    def accept(self, sensor_s: float, host_s: float) -> None:
        self.last_sensor_s, self.last_host_s = sensor_s, host_s


class DecodeError(ValueError):
    """A packet that cannot be decoded (wrong length, unknown type, bad value)."""


def unpack_fields(table: tuple[Field, ...], packet: bytes) -> dict[str, float]:
    return {f.name: struct.unpack_from(f.fmt, packet, f.offset)[0] * f.scale for f in table}


class Decoder(Protocol):
    """What every device's decoder offers: bytes in, samples out, with running statistics."""

    stats: DecodeStats

    def feed(self, host_time_ns: int, payload: bytes, channel: int = 0) -> SampleBlock | None: ...
