"""Movesense with the GATT sensor-data firmware (`gatt_sensordata_app`).

Facts (shared/reference/sensor-protocols.md §3): service 34802252-…, command 34800001-… (write),
data 34800002-… (notify). Commands `[cmd][ref][data]`: HELLO 0, SUBSCRIBE 1 with an ASCII path
such as `/Meas/IMU6/52`, UNSUBSCRIBE 2. Notifications `[resp][ref][payload]`: resp 1 = command
result with a 2-byte status, resp 2 = data. IMU6 payload: uint32 LE timestamp (ms, sensor clock),
then N x (ax, ay, az) float32 LE in m/s², then N x (gx, gy, gz) in deg/s, not interleaved.
"""

from __future__ import annotations

import struct

import numpy as np

from barback.sensor.decoders.base import DecodeError, DecodeStats, SampleBlock, SensorClock

KIND = "movesense"
SERVICE_UUID = "34802252-7185-4d5d-b431-630e7050e8f0"
COMMAND_UUID = "34800001-7185-4d5d-b431-630e7050e8f0"
DATA_UUID = "34800002-7185-4d5d-b431-630e7050e8f0"
HELLO, SUBSCRIBE, UNSUBSCRIBE = 0, 1, 2
RESP_COMMAND, RESP_DATA = 1, 2
RATES_HZ = (13, 26, 52, 104, 208, 416, 833, 1666)


def subscribe_command(rate_hz: int, ref: int = 99) -> bytes:
    if rate_hz not in RATES_HZ:
        raise ValueError(f"Movesense IMU rates are {RATES_HZ} Hz, not {rate_hz}")
    return bytes([SUBSCRIBE, ref]) + f"/Meas/IMU6/{rate_hz}".encode()


def unsubscribe_command(ref: int = 99) -> bytes:
    return bytes([UNSUBSCRIBE, ref])


def encode_imu6(ref: int, timestamp_ms: int, acc_mps2: np.ndarray, gyro_dps: np.ndarray) -> bytes:
    """A data notification (for emulators and tests)."""
    a = np.asarray(acc_mps2, dtype="<f4").reshape(-1, 3)
    g = np.asarray(gyro_dps, dtype="<f4").reshape(-1, 3)
    return bytes([RESP_DATA, ref]) + struct.pack("<I", timestamp_ms & 0xFFFFFFFF) + a.tobytes() + g.tobytes()


def decode_imu6(payload: bytes) -> tuple[int, np.ndarray, np.ndarray]:
    """(timestamp ms, acc m/s² (n, 3), gyro deg/s (n, 3)) from a data notification."""
    if len(payload) < 2 or payload[0] != RESP_DATA:
        raise DecodeError(f"not a data notification: {payload[:2].hex()}")
    body = payload[2:]
    if len(body) < 4 or (len(body) - 4) % 24:
        raise DecodeError(f"IMU6 payload of {len(body)} bytes is not 4 + 24 n")
    (ts,) = struct.unpack_from("<I", body, 0)
    n = (len(body) - 4) // 24
    vals = np.frombuffer(body, dtype="<f4", offset=4).astype(np.float64)
    acc, gyro = vals[:3 * n].reshape(n, 3), vals[3 * n:].reshape(n, 3)
    if not (np.isfinite(acc).all() and np.isfinite(gyro).all()):
        raise DecodeError("non-finite sample values")
    return ts, acc, gyro


class Decoder:
    """Samples on the sensor clock. The timestamp is taken as that of the first sample of the
    notification (the firmware stamps the measurement); later samples follow at the rate."""

    kind = KIND

    def __init__(self, rate_hz: float = 52.0) -> None:
        self.rate_hz = rate_hz
        self.stats = DecodeStats()
        self._last_ts_ms: int | None = None
        self._wraps = 0
        self._clock = SensorClock()
        self.command_results: list[tuple[int, int]] = []

    def feed(self, host_time_ns: int, payload: bytes, channel: int = 0) -> SampleBlock | None:
        if payload[:1] == bytes([RESP_COMMAND]):
            if len(payload) >= 4:
                self.command_results.append((payload[1], int.from_bytes(payload[2:4], "big")))
            return None
        try:
            ts, acc, gyro = decode_imu6(payload)
        except DecodeError as exc:
            self.stats.error(str(exc))
            return None
        wraps = self._wraps
        host_s = host_time_ns * 1e-9
        if self._last_ts_ms is not None:
            if ts < self._last_ts_ms and self._last_ts_ms - ts > 2**31:
                wraps += 1  # uint32 ms counter wrapped (every 49.7 days)
            # a stamp far behind is a reboot (the clock re-bases and counts it); a little behind, a repeat
            elif not self._clock.restarted((ts + wraps * 2**32) * 1e-3, host_s) and ts <= self._last_ts_ms:
                self.stats.duplicates += 1
                return None
        t0 = (ts + wraps * 2**32) * 1e-3
        if self._clock.jumps_ahead(t0, host_s):
            self.stats.glitch(f"timestamp {ts} ms leaps ahead of the host's clock: a glitch, packet dropped", len(acc))
            return None
        self._clock.accept(t0, host_s)
        self.stats.clock_restarts = self._clock.restarts
        self._wraps, self._last_ts_ms = wraps, ts
        t = t0 + self._clock.offset_s + np.arange(len(acc)) / self.rate_hz
        self.stats.packets += 1
        self.stats.samples += len(acc)
        return SampleBlock(t, acc, np.deg2rad(gyro), host_timed=False)
