"""The barback DIY sensor profile (firmware_spec/profile.toml): decoder built from the definition.

Packet and command layouts are not written here: they come from the profile's field tables, so
the decoder, the C header and the README cannot drift apart (tests/test_firmware_spec.py).
"""

from __future__ import annotations

import struct

import numpy as np

from barback.analysis.units import G0_MPS2
from barback.firmware_spec import load_profile, struct_format
from barback.sensor.decoders.base import DecodeError, DecodeStats, SampleBlock, SensorClock

KIND = "barback_diy"
P = load_profile()
SERVICE_UUID = P.uuids["service"]
DATA_UUID = P.uuids["data"]
CONTROL_UUID = P.uuids["control"]
HEADER = struct.Struct(struct_format(P.header))
SAMPLE_DTYPE = np.dtype([(f.name, "<i2") for f in P.sample])
STATUS_PAYLOAD = struct.Struct(struct_format(P.status_payload))
OPCODES = {c["name"]: c["opcode"] for c in P.raw["command"]}
STATUS = P.status


def command(name: str, *args: int) -> bytes:
    """Encode a command from the profile's table."""
    c = P.commands[name]
    if len(args) != len(c["args"]):
        raise ValueError(f"{name} takes {len(c['args'])} argument(s)")
    fmt = "<B" + "".join({"u8": "B", "u16": "H", "u32": "I", "u64": "Q"}[t] for _, t in c["args"])
    return struct.pack(fmt, c["opcode"], *args)


def parse_response(payload: bytes) -> tuple[int, int, bytes]:
    """(opcode, status, payload) of a control notification."""
    if len(payload) < 2 or not payload[0] & 0x80:
        raise DecodeError(f"not a response: {payload[:2].hex()}")
    return payload[0] & 0x7F, payload[1], payload[2:]


def parse_status(payload: bytes) -> dict[str, int]:
    if len(payload) != STATUS_PAYLOAD.size:
        raise DecodeError(f"status payload of {len(payload)} bytes, expected {STATUS_PAYLOAD.size}")
    return dict(zip((f.name for f in P.status_payload), STATUS_PAYLOAD.unpack(payload)))


def decode_packet(packet: bytes) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """(header fields, acc m/s² (n, 3), gyro rad/s (n, 3)). Raises DecodeError on a bad packet."""
    if len(packet) < HEADER.size:
        raise DecodeError(f"packet of {len(packet)} bytes is shorter than the {HEADER.size}-byte header")
    head = dict(zip((f.name for f in P.header), HEADER.unpack_from(packet)))
    if head["version"] != P.version:
        raise DecodeError(f"unknown protocol version {head['version']}")
    n = head["n_samples"]
    if n == 0 or n > P.rates["max_samples_per_packet"] or len(packet) != HEADER.size + n * P.sample_size:
        raise DecodeError(f"packet of {len(packet)} bytes does not hold {n} samples")
    acc_code, gyro_code = head["flags"] & 0x3, (head["flags"] >> 2) & 0x3
    s = np.frombuffer(packet, dtype=SAMPLE_DTYPE, offset=HEADER.size)
    acc = np.column_stack([s["acc_x"], s["acc_y"], s["acc_z"]]) * (P.acc_ranges_g[acc_code] / 32768 * G0_MPS2)
    gyro = np.column_stack([s["gyro_x"], s["gyro_y"], s["gyro_z"]]) * np.deg2rad(P.gyro_ranges_dps[gyro_code] / 32768)
    return head, acc, gyro


def encode_packet(counter: int, timestamp_us: int, acc_counts: np.ndarray, gyro_counts: np.ndarray,
                  acc_code: int = 2, gyro_code: int = 3, synced: bool = True, version: int | None = None) -> bytes:
    n = len(acc_counts)
    head = HEADER.pack(P.version if version is None else version, acc_code | (gyro_code << 2) | (0x80 if synced else 0),
                       counter & 0xFFFF, timestamp_us & 0xFFFFFFFF, n)
    body = np.empty(n, SAMPLE_DTYPE)
    for k, name in enumerate(("acc_x", "acc_y", "acc_z")):
        body[name] = acc_counts[:, k]
    for k, name in enumerate(("gyro_x", "gyro_y", "gyro_z")):
        body[name] = gyro_counts[:, k]
    return head + body.tobytes()


class Decoder:
    """Samples on the sensor clock, re-timed from the sample counter (which never skips unless a
    packet was lost on the radio: then the gap shows as a counter jump)."""

    kind = KIND

    def __init__(self, rate_hz: float = 100.0) -> None:
        self.rate_hz = rate_hz
        self.stats = DecodeStats()
        self._clock = SensorClock()
        self._last: tuple[int, int] | None = None  # (unwrapped counter after the packet, unwrapped ts)
        self._cwrap = 0
        self._twrap = 0
        self._t0_us: int | None = None
        self.lost_samples = 0

    def feed(self, host_time_ns: int, payload: bytes, channel: int = 0) -> SampleBlock | None:
        if channel != 0:  # control responses
            return None
        try:
            head, acc, gyro = decode_packet(payload)
        except DecodeError as exc:
            self.stats.error(str(exc))
            return None
        c, ts, n = head["counter"], head["timestamp_us"], head["n_samples"]
        if self._last is not None and self._clock.restarted((ts + self._twrap) * 1e-6, host_time_ns * 1e-9):
            self._last, self._cwrap = None, 0
        if self._last is not None:
            last_c, last_t = self._last
            cu = c + self._cwrap
            if cu < last_c - 32768:
                self._cwrap += 65536
                cu += 65536
            if cu < last_c:  # duplicated or reordered: already covered
                self.stats.duplicates += 1
                return None
            if cu > last_c:
                self.lost_samples += cu - last_c
            twrap = self._twrap
            tu = ts + twrap
            if tu < last_t - 2**31:
                twrap += 2**32
                tu += 2**32
        else:
            cu, tu, twrap = c, ts, self._twrap
        if self._clock.jumps_ahead(tu * 1e-6, host_time_ns * 1e-9):
            self.stats.glitch(f"timestamp {ts} us leaps ahead of the host's clock: a glitch, packet dropped", n)
            return None
        self._clock.accept(tu * 1e-6, host_time_ns * 1e-9)
        self.stats.clock_restarts = self._clock.restarts
        self._twrap = twrap
        self._last = (cu + n, tu + int(round(n * 1e6 / self.rate_hz)))
        t = (tu + np.arange(n) * 1e6 / self.rate_hz) * 1e-6 + self._clock.offset_s
        self.stats.packets += 1
        self.stats.samples += n
        return SampleBlock(t, acc, gyro, host_timed=False)
