"""WitMotion BWT901BLE5.0 / WT901BLECL: `55 61` 20-byte packets, no sensor timestamp.

Facts (shared/reference/sensor-protocols.md §1): service ffe5, notify ffe4, write ffe9, UUID base
ending 9a34fb; acc int16 LE /32768*16 g, gyro /32768*2000 deg/s, angles /32768*180 deg; no
checksum; the notification stream is a byte stream re-framed on the `55 61` header. Rate register
0x03, unlock `FF AA 69 88 B5`, save `FF AA 00 00 00`.
"""

from __future__ import annotations

import numpy as np

from barback.analysis.units import G0_MPS2
from barback.sensor.decoders.base import DecodeStats, Field, SampleBlock, unpack_fields

KIND = "witmotion"
SERVICE_UUID = "0000ffe5-0000-1000-8000-00805f9a34fb"
NOTIFY_UUID = "0000ffe4-0000-1000-8000-00805f9a34fb"
WRITE_UUID = "0000ffe9-0000-1000-8000-00805f9a34fb"
HEADER = b"\x55\x61"
PACKET_LEN = 20

FIELDS = (
    Field("acc_x", 2, "<h", 16.0 / 32768 * G0_MPS2, "m/s2"),
    Field("acc_y", 4, "<h", 16.0 / 32768 * G0_MPS2, "m/s2"),
    Field("acc_z", 6, "<h", 16.0 / 32768 * G0_MPS2, "m/s2"),
    Field("gyro_x", 8, "<h", 2000.0 / 32768 * np.pi / 180, "rad/s"),
    Field("gyro_y", 10, "<h", 2000.0 / 32768 * np.pi / 180, "rad/s"),
    Field("gyro_z", 12, "<h", 2000.0 / 32768 * np.pi / 180, "rad/s"),
    Field("roll", 14, "<h", 180.0 / 32768, "deg"),
    Field("pitch", 16, "<h", 180.0 / 32768, "deg"),
    Field("yaw", 18, "<h", 180.0 / 32768, "deg"),
)

RATE_CODES = {0.2: 0x01, 0.5: 0x02, 1: 0x03, 2: 0x04, 5: 0x05, 10: 0x06, 20: 0x07, 50: 0x08, 100: 0x09, 200: 0x0B}
UNLOCK = bytes.fromhex("FFAA6988B5")
SAVE = bytes.fromhex("FFAA000000")


def rate_command(rate_hz: float) -> bytes:
    """`FF AA 03 <code> 00`: set the output rate (unlock first, save after)."""
    code = RATE_CODES.get(rate_hz)
    if code is None:
        raise ValueError(f"WitMotion rates are {sorted(RATE_CODES)} Hz, not {rate_hz}")
    return bytes([0xFF, 0xAA, 0x03, code, 0x00])


def decode_packet(packet: bytes) -> dict[str, float]:
    """One 20-byte `55 61` packet to SI values (pure)."""
    if len(packet) != PACKET_LEN or packet[:2] != HEADER:
        raise ValueError(f"not a 55 61 packet: {packet[:4].hex()} ({len(packet)} bytes)")
    return unpack_fields(FIELDS, packet)


def encode_packet(acc_g, gyro_dps, angles_deg=(0.0, 0.0, 0.0)) -> bytes:
    """The inverse of decode_packet, for emulators and tests (values clipped to int16)."""
    vals = [*(np.asarray(acc_g) / 16.0), *(np.asarray(gyro_dps) / 2000.0), *(np.asarray(angles_deg) / 180.0)]
    ints = np.clip(np.round(np.asarray(vals) * 32768), -32768, 32767).astype("<i2")
    return HEADER + ints.tobytes()


class Decoder:
    """Re-frames the notification byte stream on `55 61` and decodes each packet.

    Packets carry no timestamp: every packet of a notification is stamped with its arrival
    time; the timebase later re-times samples from the nominal rate (see analysis.timebase)."""

    kind = KIND

    def __init__(self) -> None:
        self._buf = bytearray()
        self.stats = DecodeStats()

    def feed(self, host_time_ns: int, payload: bytes, channel: int = 0) -> SampleBlock | None:
        self._buf += payload
        rows = []
        while True:
            i = self._buf.find(HEADER)
            if i < 0:
                # keep a trailing 0x55 that may start the next header
                keep = 1 if self._buf.endswith(b"\x55") else 0
                self.stats.resync_bytes += len(self._buf) - keep
                del self._buf[:len(self._buf) - keep]
                break
            if i > 0:
                self.stats.resync_bytes += i
                del self._buf[:i]
            if len(self._buf) < PACKET_LEN:
                break
            pkt = bytes(self._buf[:PACKET_LEN])
            nxt = self._buf.find(HEADER, 2)
            if 0 < nxt < PACKET_LEN:  # a header inside: this packet was cut short
                self.stats.error(f"short packet ({nxt} bytes) dropped")
                del self._buf[:nxt]
                continue
            del self._buf[:PACKET_LEN]
            v = decode_packet(pkt)
            self.stats.packets += 1
            rows.append((v["acc_x"], v["acc_y"], v["acc_z"], v["gyro_x"], v["gyro_y"], v["gyro_z"]))
        if not rows:
            return None
        arr = np.asarray(rows, dtype=np.float64)
        self.stats.samples += len(rows)
        t = np.full(len(rows), host_time_ns * 1e-9)
        return SampleBlock(t, arr[:, :3], arr[:, 3:], host_timed=True)
