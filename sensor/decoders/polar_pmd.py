"""Polar Verity Sense / H10 over PMD (Polar Measurement Data): control point and data frames.

Facts (shared/reference/sensor-protocols.md §2, from polar-ble-sdk): service FB005C80, control
point FB005C81 (write; responses arrive as notifications), data FB005C82 (notify). Commands
`01 <type>` get settings, `02 <type> {setting, count, value}...` start, `03 <type>` stop. Response
`F0 <op> <type> <status> <more> <params>`; the start response may carry FACTOR (setting 5,
float32), which must be applied to samples. Data frame: `[type][u64 timestamp ns, LAST sample,
epoch 2000-01-01][frame type][payload]`; frame type bit 0x80 = delta-compressed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from barback.analysis.units import G0_MPS2
from barback.sensor.decoders.base import DecodeError, DecodeStats, SampleBlock, SensorClock

KIND = "polar_pmd"
SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
CONTROL_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
ACC, GYRO = 2, 5
EPOCH_OFFSET_NS = 946_684_800_000_000_000  # 2000-01-01 in Unix ns
SETTING_SIZES = {0: 2, 1: 2, 2: 2, 4: 1, 5: 4, 6: 16}  # sample rate, resolution, range, channels, factor, security
SAMPLE_RATE, RESOLUTION, RANGE, CHANNELS, FACTOR = 0, 1, 2, 4, 5


def start_command(mtype: int, rate_hz: int, resolution: int = 16, range_: int | None = None,
                  channels: int | None = None) -> bytes:
    """`02 <type> 00 01 <rate u16> 01 01 <res u16> [02 01 <range u16>] [04 01 <ch u8>]`."""
    out = bytearray([0x02, mtype, SAMPLE_RATE, 1]) + struct.pack("<H", rate_hz)
    out += bytes([RESOLUTION, 1]) + struct.pack("<H", resolution)
    if range_ is not None:
        out += bytes([RANGE, 1]) + struct.pack("<H", range_)
    if channels is not None:
        out += bytes([CHANNELS, 1, channels])
    return bytes(out)


def parse_settings(data: bytes) -> dict[int, list]:
    """`{setting type: [values...]}` from a run of (type, count, values) triples."""
    out: dict[int, list] = {}
    i = 0
    while i < len(data):
        st, count = data[i], data[i + 1] if i + 1 < len(data) else 0
        size = SETTING_SIZES.get(st)
        if size is None or i + 2 + count * size > len(data):
            raise DecodeError(f"bad setting {st} at byte {i}")
        vals = []
        for k in range(count):
            chunk = data[i + 2 + k * size:i + 2 + (k + 1) * size]
            vals.append(struct.unpack("<f", chunk)[0] if st == FACTOR else int.from_bytes(chunk, "little"))
        out[st] = vals
        i += 2 + count * size
    return out


@dataclass(frozen=True)
class ControlResponse:
    opcode: int
    mtype: int
    status: int
    params: dict[int, list]


def parse_control_response(data: bytes) -> ControlResponse:
    if len(data) < 4 or data[0] != 0xF0:
        raise DecodeError(f"not a control point response: {data[:4].hex()}")
    params = parse_settings(data[5:]) if len(data) > 5 else {}
    return ControlResponse(data[1], data[2], data[3], params)


def _sign_extend(v: np.ndarray, bits: int) -> np.ndarray:
    sign = 1 << (bits - 1)
    return (v ^ sign) - sign


def unpack_bits(data: bytes, bit_width: int, count: int) -> np.ndarray:
    """`count` signed integers of `bit_width` bits packed LSB-first."""
    bits = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")[:bit_width * count]
    if len(bits) < bit_width * count:
        raise DecodeError("delta block shorter than its header says")
    vals = bits.reshape(count, bit_width).astype(np.int64) << np.arange(bit_width, dtype=np.int64)
    return _sign_extend(vals.sum(axis=1), bit_width)


def decode_delta_frame(payload: bytes, channels: int, resolution_bits: int) -> np.ndarray:
    """Reference sample, then blocks `[bit width][count][packed deltas]`; cumulative sums."""
    ref_bytes = (resolution_bits + 7) // 8
    need = channels * ref_bytes
    if len(payload) < need:
        raise DecodeError("delta frame shorter than its reference sample")
    ref = [int.from_bytes(payload[k * ref_bytes:(k + 1) * ref_bytes], "little", signed=True) for k in range(channels)]
    last = np.asarray(ref, dtype=np.int64)
    blocks = [last[None, :]]
    i = need
    while i + 2 <= len(payload):
        width, count = payload[i], payload[i + 1]
        if width == 0 or width > 32:
            raise DecodeError(f"bad delta bit width {width}")
        nbytes = (width * count * channels + 7) // 8
        block = payload[i + 2:i + 2 + nbytes]
        deltas = unpack_bits(block, width, count * channels).reshape(count, channels)
        vals = last + np.cumsum(deltas, axis=0)
        blocks.append(vals)
        last = vals[-1]
        i += 2 + nbytes
    if i != len(payload):
        raise DecodeError("trailing bytes after the last delta block")
    return np.vstack(blocks)


def encode_delta_frame(samples: np.ndarray, resolution_bits: int = 16) -> bytes:
    """Inverse of decode_delta_frame with one block (for emulators and tests)."""
    s = np.asarray(samples, dtype=np.int64)
    ref_bytes = (resolution_bits + 7) // 8
    out = bytearray()
    for v in s[0]:
        out += int(v).to_bytes(ref_bytes, "little", signed=True)
    d = np.diff(s, axis=0)
    if len(d):
        width = max(2, int(np.max(np.abs(d))).bit_length() + 1)
        bits = ((d.reshape(-1)[:, None] >> np.arange(width)) & 1).astype(np.uint8).reshape(-1)
        out += bytes([width, len(d)]) + np.packbits(bits, bitorder="little").tobytes()
    return bytes(out)


def data_frame(mtype: int, timestamp_ns: int, frame_type: int, payload: bytes) -> bytes:
    return bytes([mtype]) + struct.pack("<Q", timestamp_ns) + bytes([frame_type]) + payload


@dataclass
class _Stream:
    rate_hz: float = 52.0
    factor: float = 1.0
    resolution: int = 16
    last_ts: int | None = None
    t: list = field(default_factory=list)
    v: list = field(default_factory=list)
    pending: int = 0  # samples in t/v not yet paired
    clock: SensorClock = field(default_factory=SensorClock)


def decode_data_frame(frame: bytes, factor: float = 1.0, resolution: int = 16) -> tuple[int, int, np.ndarray]:
    """(measurement type, last-sample timestamp ns since 2000, samples in SI units (n, 3))."""
    if len(frame) < 10:
        raise DecodeError(f"data frame of {len(frame)} bytes is too short")
    mtype = frame[0] & 0x3F
    (ts,) = struct.unpack_from("<Q", frame, 1)
    ftype = frame[9]
    payload = frame[10:]
    compressed = bool(ftype & 0x80)
    num = ftype & 0x7F
    if mtype == ACC:
        if not compressed:
            width = {0: 1, 1: 2, 2: 3}.get(num)
            if width is None or len(payload) % (3 * width):
                raise DecodeError(f"ACC raw frame type {num} with {len(payload)} payload bytes")
            raw = np.array([int.from_bytes(payload[i:i + width], "little", signed=True)
                            for i in range(0, len(payload), width)], dtype=np.float64).reshape(-1, 3)
            return mtype, ts, raw * 1e-3 * G0_MPS2  # mG
        raw = decode_delta_frame(payload, 3, resolution).astype(np.float64)
        if num == 0:
            return mtype, ts, raw * factor * G0_MPS2  # value x factor = G
        if num == 1:
            return mtype, ts, raw * factor * 1e-3 * G0_MPS2  # mG
        raise DecodeError(f"ACC compressed frame type {num} not supported")
    if mtype == GYRO:
        if not compressed:
            raise DecodeError("GYRO frames are always compressed")
        if num == 0:
            raw = decode_delta_frame(payload, 3, resolution).astype(np.float64)
        elif num == 1:
            bits = decode_delta_frame(payload, 3, 32).astype(np.int64) & 0xFFFFFFFF
            raw = bits.astype(np.uint32).view(np.float32).astype(np.float64)
        else:
            raise DecodeError(f"GYRO compressed frame type {num} not supported")
        return mtype, ts, np.deg2rad(raw * factor)
    raise DecodeError(f"measurement type {mtype} is not an IMU stream")


class Decoder:
    """Stateful PMD decoder: control point responses (factors) and ACC/GYRO data frames, merged
    into 6-axis samples on the sensor clock (ACC and GYRO run at the same rate)."""

    kind = KIND
    CONTROL, DATA = 1, 0  # channels

    def __init__(self, rate_hz: float = 52.0) -> None:
        self.stats = DecodeStats()
        self.streams = {ACC: _Stream(rate_hz), GYRO: _Stream(rate_hz)}

    def feed_control(self, payload: bytes) -> ControlResponse | None:
        try:
            resp = parse_control_response(payload)
        except DecodeError as exc:
            self.stats.error(str(exc))
            return None
        if resp.opcode == 0x02 and resp.status == 0 and resp.mtype in self.streams:
            st = self.streams[resp.mtype]
            if FACTOR in resp.params:
                st.factor = float(resp.params[FACTOR][0])
            if SAMPLE_RATE in resp.params:
                st.rate_hz = float(resp.params[SAMPLE_RATE][0])
        return resp

    def feed(self, host_time_ns: int, payload: bytes, channel: int = 0) -> SampleBlock | None:
        if channel == self.CONTROL:
            self.feed_control(payload)
            return None
        try:
            mtype, ts, vals = decode_data_frame(payload, self.streams.get(payload[0] & 0x3F, _Stream()).factor,
                                                self.streams.get(payload[0] & 0x3F, _Stream()).resolution)
        except (DecodeError, IndexError, ValueError) as exc:
            self.stats.error(str(exc))
            return None
        st = self.streams[mtype]
        n = len(vals)
        host_s = host_time_ns * 1e-9
        if st.last_ts is not None and st.clock.restarted(ts * 1e-9, host_s):
            st.last_ts = None
        if st.clock.jumps_ahead(ts * 1e-9, host_s):
            self.stats.glitch(f"timestamp {ts} ns leaps ahead of the host's clock: a glitch, frame dropped", n)
            return None
        if st.last_ts is not None and ts <= st.last_ts:
            self.stats.duplicates += 1
            return None
        st.clock.accept(ts * 1e-9, host_s)
        self.stats.clock_restarts = sum(x.clock.restarts for x in self.streams.values())
        expected = n * 1e9 / st.rate_hz
        if st.last_ts is not None and 0.5 * expected <= ts - st.last_ts <= 1.5 * expected:
            step = (ts - st.last_ts) / n  # back-fill between the previous frame and this one
        else:  # first frame, or frames lost in between: nominal spacing, and the gap stays a gap
            step = 1e9 / st.rate_hz
        t = (ts - step * np.arange(n - 1, -1, -1)) * 1e-9 + st.clock.offset_s
        st.last_ts = ts
        self.stats.packets += 1
        st.t.append(t)
        st.v.append(vals)
        st.pending += n
        return self._merge(host_time_ns)

    # a stream may run this far ahead of the other (one stopped, or lost frames) before its
    # oldest samples are dropped unpaired, and counted: memory and time stay bounded
    MAX_UNPAIRED_S = 5.0

    def _merge(self, host_time_ns: int) -> SampleBlock | None:
        """Pair ACC and GYRO samples in order (same rate, same clock)."""
        a, g = self.streams[ACC], self.streams[GYRO]
        n = min(a.pending, g.pending)
        if n == 0:
            for st in (a, g):  # the other stream sends nothing: keep a bounded backlog
                limit = int(self.MAX_UNPAIRED_S * st.rate_hz)
                if st.pending > 2 * limit:
                    tt, vv = np.concatenate(st.t), np.vstack(st.v)
                    drop = st.pending - limit
                    st.t, st.v, st.pending = [tt[drop:]], [vv[drop:]], limit
                    self.stats.unpaired += drop
            return None
        ta, va = np.concatenate(a.t), np.vstack(a.v)
        tg, vg = np.concatenate(g.t), np.vstack(g.v)
        a.t, a.v, a.pending = [ta[n:]], [va[n:]], a.pending - n
        g.t, g.v, g.pending = [tg[n:]], [vg[n:]], g.pending - n
        self.stats.samples += n
        return SampleBlock(ta[:n], va[:n], vg[:n], host_timed=False)
