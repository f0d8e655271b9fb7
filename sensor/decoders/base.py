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
    clock_restarts: int = 0  # the sensor's clock began again (a reboot); later samples re-based to follow
    clock_glitches: int = 0  # packets dropped: their stamp leapt ahead of the host's clock
    glitched_samples: int = 0  # ... and the samples they held
    errors: list[str] = field(default_factory=list)

    def error(self, msg: str) -> None:
        self.malformed += 1
        self._note(msg)

    def glitch(self, msg: str, n_samples: int) -> None:
        """A well-formed packet dropped because its stamp cannot be placed in time."""
        self.clock_glitches += 1
        self.glitched_samples += n_samples
        self._note(msg)

    def _note(self, msg: str) -> None:
        if len(self.errors) < 20:
            self.errors.append(msg)


@dataclass
class SensorClock:
    """A sensor's stamps against the host's arrival times, kept on one continuous clock.

    A stamp that leaps further ahead of the last accepted one than the host's clock moved (plus
    `slack_s` for queued notifications) is a glitch (a flipped bit, a bad counter): it must not
    become the reference that every later, honest stamp would then fall behind (and be dropped as
    a repeat) or wrap around. A stamp that falls more than `restart_s` behind the last accepted
    one is a restart (the sensor rebooted and its clock began again): its stamps are re-based to
    continue where the old ones stopped, moved on by the host's clock, and counted. A single stamp
    that only looked like a restart (the next one continues the old clock) is undone."""

    slack_s: float = 5.0
    restart_s: float = 2.0
    last_sensor_s: float | None = None  # on the continuous clock
    last_host_s: float = 0.0
    offset_s: float = 0.0  # continuous = raw + offset
    restarts: int = 0
    _before_restart: float | None = None  # the offset before the last restart, while unconfirmed
    _restarting: bool = False  # the stamp being placed is the one that restarted the clock

    def jumps_ahead(self, sensor_s: float, host_s: float) -> bool:
        """`sensor_s` raw. True for a glitch, to be dropped."""
        if self.last_sensor_s is None:
            return False
        ahead = max(host_s - self.last_host_s, 0.0) + self.slack_s
        if sensor_s + self.offset_s - self.last_sensor_s <= ahead:
            if not self._restarting:
                self._before_restart = None  # a later stamp follows the new clock: confirmed
            return False
        if self._before_restart is not None and sensor_s + self._before_restart - self.last_sensor_s <= ahead:
            self.offset_s, self._before_restart = self._before_restart, None  # it was one bad stamp
            self.restarts -= 1
            return False
        return True

    def restarted(self, sensor_s: float, host_s: float) -> bool:
        """`sensor_s` raw. True (and the clock re-based) when it falls far behind."""
        if self.last_sensor_s is None or self.last_sensor_s - (sensor_s + self.offset_s) <= self.restart_s:
            return False
        self._before_restart, self._restarting = self.offset_s, True
        self.offset_s = self.last_sensor_s + max(host_s - self.last_host_s, 0.0) - sensor_s
        self.restarts += 1
        return True

    def accept(self, sensor_s: float, host_s: float) -> None:
        """`sensor_s` raw."""
        self.last_sensor_s, self.last_host_s = sensor_s + self.offset_s, host_s
        self._restarting = False


class DecodeError(ValueError):
    """A packet that cannot be decoded (wrong length, unknown type, bad value)."""


def unpack_fields(table: tuple[Field, ...], packet: bytes) -> dict[str, float]:
    return {f.name: struct.unpack_from(f.fmt, packet, f.offset)[0] * f.scale for f in table}


class Decoder(Protocol):
    """What every device's decoder offers: bytes in, samples out, with running statistics."""

    stats: DecodeStats

    def feed(self, host_time_ns: int, payload: bytes, channel: int = 0) -> SampleBlock | None: ...
