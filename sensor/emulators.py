"""Emulated sensors on bumble: their GATT tables and behaviour, fed from recorded or simulated
samples, with injectable faults. Used by the end-to-end BLE tests and by `barback emulate`.

- WitMotion: streams `55 61` packets once notifications are on; honours unlock, rate and save.
- Polar PMD: control point handshake (both CP and DATA notifications must be on), start with
  settings, start response with the conversion factor, delta-compressed ACC and GYRO frames
  stamped with the last sample's time (ns since 2000-01-01).
- Movesense (GATT sensor-data firmware): HELLO and SUBSCRIBE `/Meas/IMU6/<rate>`, float arrays.
"""

from __future__ import annotations

import asyncio
import struct
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from barback.extras import require

require("bumble", "emulate", "emulated sensors")

from bumble import gatt
from bumble.core import UUID, AdvertisingData

from barback.analysis.imu import Role, Session
from barback.analysis.units import G0_MPS2
from barback.sensor.decoders import movesense as ms
from barback.sensor.decoders import polar_pmd as pmd
from barback.sensor.decoders import witmotion as wm


@dataclass
class Faults:
    """Misbehaviour to inject (all off by default)."""

    drop_after_s: float | None = None  # break the link once, this long after streaming starts
    malformed_every: int = 0  # every k-th notification is cut short
    duplicate_every: int = 0  # every k-th notification is sent twice
    reorder_every: int = 0  # every k-th pair of notifications swaps places
    burst: int = 1  # notifications go out in bursts of this many
    silent: bool = False  # never answers commands and never streams
    wrong_rate_hz: float | None = None  # streams at this rate whatever was asked
    skip_counter_every: int = 0  # (DIY profile) every k-th packet, the sample counter jumps by 3
    bad_responses: bool = False  # (DIY profile) answers every command with a wrong status
    ignores_stop: bool = False  # (DIY profile) keeps streaming after STOP
    bad_timestamps: bool = False  # (DIY profile) timestamps advance at twice the real rate


@dataclass
class Samples:
    """What the emulated IMU 'measures', sampled at `rate_hz` and looped: acc in g, gyro in
    deg/s. An emulator running at another rate picks the sample nearest its own sample times."""

    acc_g: np.ndarray
    gyro_dps: np.ndarray
    rate_hz: float = 100.0

    @classmethod
    def still(cls, n: int = 200) -> Samples:
        return cls(np.tile([0.0, 0.0, 1.0], (n, 1)), np.zeros((n, 3)))

    def at(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = np.round(np.asarray(t_s) * self.rate_hz).astype(np.int64) % len(self.acc_g)
        return self.acc_g[k], self.gyro_dps[k]


class Emulator:
    kind = ""
    service_uuid = ""

    def __init__(self, address: str, name: str, samples: Samples | None = None, rate_hz: float = 100.0,
                 faults: Faults | None = None) -> None:
        self.address = address.upper()
        self.name = name
        self.samples = samples or Samples.still()
        self.rate_hz = rate_hz
        self.faults = faults or Faults()
        self.device: Any = None  # a bumble Device once brought up
        self.connection = None
        self._task: asyncio.Task | None = None
        self._dropped = False
        self.sent = 0
        self.sample_index = 0
        self.epoch = time.monotonic()  # the sensors of one radio share it: they play in step
        self.writes: list[bytes] = []

    # -- lifecycle ------------------------------------------------------------------------
    def services(self) -> list[gatt.Service]:
        raise NotImplementedError

    async def start(self, radio) -> None:
        """Power on as a peripheral of an in-process VirtualRadio."""
        self.epoch = radio.epoch
        await self._bring_up(radio.new_device(self.name, self.address))

    async def start_on_transport(self, transport) -> None:
        """Power on through a bumble HCI transport (a USB dongle, an HCI UART board, Linux VHCI,
        a netsim/rootcanal virtual controller): other apps then see this sensor for real."""
        from bumble.device import Device
        from bumble.hci import Address
        from bumble.host import Host

        await self._bring_up(Device(name=self.name, address=Address(self.address),
                                    host=Host(transport.source, transport.sink)))

    async def _bring_up(self, device) -> None:
        self.device = device
        self.device.add_services(self.services())
        self.device.on("connection", self._on_connection)
        await self.device.power_on()
        adv = [(AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode())]
        u = UUID(self.service_uuid)
        adv.append((AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, u.to_bytes()))
        self.device.advertising_data = bytes(AdvertisingData(adv))
        await self.device.start_advertising(auto_restart=True, advertising_interval_min=20)

    def _on_connection(self, connection) -> None:
        self.connection = connection
        connection.on("disconnection", lambda reason: self._on_disconnection())

    def _on_disconnection(self) -> None:
        self.connection = None
        self.stop_streaming()

    async def drop(self) -> None:
        """Break the link from the sensor's side (a dropout)."""
        if self.connection is not None:
            await self.connection.disconnect()

    def _on_write(self, connection, value: bytes) -> None:
        """A command arrived: keep it (tests read `writes`) and answer it, unless silent."""
        value = bytes(value)
        self.writes.append(value)
        if not self.faults.silent:
            asyncio.ensure_future(self._answer(value))

    async def _answer(self, cmd: bytes) -> None:
        pass

    # -- streaming ------------------------------------------------------------------------
    def start_streaming(self) -> None:
        if self.faults.silent or (self._task and not self._task.done()):
            return
        self._task = asyncio.ensure_future(self._stream())

    def stop_streaming(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def packets_for(self, n: int) -> list[tuple[gatt.Characteristic, bytes]]:
        raise NotImplementedError

    def samples_per_packet(self) -> int:
        return 1

    async def _stream(self) -> None:
        rate = self.faults.wrong_rate_hz or self.rate_hz
        per = self.samples_per_packet()
        t0 = time.monotonic()
        self.sample_index = int((t0 - self.epoch) * self.rate_hz)  # what the IMU measures now
        done = 0
        pending: list[tuple[gatt.Characteristic, bytes]] = []
        k = 0
        try:
            while self.connection is not None:
                due = int((time.monotonic() - t0) * rate) // per
                while done < due:
                    for char, payload in self.packets_for(per):
                        k += 1
                        f = self.faults
                        if f.malformed_every and k % f.malformed_every == 0:
                            payload = payload[: max(1, len(payload) // 2)]
                        pending.append((char, payload))
                        if f.duplicate_every and k % f.duplicate_every == 0:
                            pending.append((char, payload))
                        if f.reorder_every and k % f.reorder_every == 0 and len(pending) >= 2:
                            pending[-1], pending[-2] = pending[-2], pending[-1]
                    done += 1
                if len(pending) >= self.faults.burst or (pending and self.faults.burst <= 1):
                    for char, payload in pending:
                        if self.connection is None:
                            return
                        await self.device.notify_subscribers(char, payload)
                        self.sent += 1
                    pending.clear()
                if (self.faults.drop_after_s is not None and not self._dropped
                        and time.monotonic() - t0 > self.faults.drop_after_s):
                    self._dropped = True
                    await self.drop()
                    return
                await asyncio.sleep(0.004)
        except asyncio.CancelledError:
            pass

    def next_samples(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        t = (self.sample_index + np.arange(n)) / self.rate_hz
        self.sample_index += n
        return self.samples.at(t)


class WitMotionEmulator(Emulator):
    kind = wm.KIND
    service_uuid = wm.SERVICE_UUID

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.unlocked = False
        self.saved_rate_hz: float | None = None

    def services(self):
        P = gatt.Characteristic.Properties
        self.notify_char = gatt.Characteristic(wm.NOTIFY_UUID, P.NOTIFY | P.READ, gatt.Characteristic.READABLE, b"")
        self.notify_char.on("subscription", self._on_subscription)
        write = gatt.Characteristic(wm.WRITE_UUID, P.WRITE | P.WRITE_WITHOUT_RESPONSE, gatt.Characteristic.WRITEABLE,
                                    gatt.CharacteristicValue(write=self._on_write))
        return [gatt.Service(wm.SERVICE_UUID, [self.notify_char, write])]

    def _on_subscription(self, connection, notify_enabled, indicate_enabled=False) -> None:
        if notify_enabled:
            self.start_streaming()
        else:
            self.stop_streaming()

    def _on_write(self, connection, value: bytes) -> None:
        value = bytes(value)
        self.writes.append(value)
        if self.faults.silent or len(value) != 5 or value[:2] != b"\xff\xaa":
            return
        reg, lo = value[2], value[3]
        if value == wm.UNLOCK:
            self.unlocked = True
        elif reg == 0x03 and self.unlocked:
            rates = {v: k for k, v in wm.RATE_CODES.items()}
            if lo in rates:
                self.rate_hz = float(rates[lo])
                if self._task is not None:  # restart the clock at the new rate
                    self.stop_streaming()
                    self.start_streaming()
        elif value == wm.SAVE and self.unlocked:
            self.saved_rate_hz = self.rate_hz
            self.unlocked = False

    def packets_for(self, n: int):
        acc, gyro = self.next_samples(n)
        return [(self.notify_char, wm.encode_packet(a, g)) for a, g in zip(acc, gyro)]


class PolarEmulator(Emulator):
    """A Verity Sense in SDK mode: ACC and GYRO at the requested rate, delta-compressed frames."""

    kind = pmd.KIND
    service_uuid = pmd.SERVICE_UUID
    FACTOR_ACC = 2.44140625e-4  # G per count (8 g range, 16 bit)
    FACTOR_GYRO = 0.06103515625  # deg/s per count (2000 deg/s)

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.subscribed: set[str] = set()
        self.running: set[int] = set()
        self.clock_start_ns = 800_000_000_000_000_000  # sensor clock: ns since 2000-01-01

    def services(self):
        P = gatt.Characteristic.Properties
        self.cp = gatt.Characteristic(pmd.CONTROL_UUID, P.READ | P.WRITE | P.NOTIFY | P.INDICATE,
                                      gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
                                      gatt.CharacteristicValue(read=lambda c: bytes([0x0F, 0x24, 0x00]),
                                                               write=self._on_write))
        self.data = gatt.Characteristic(pmd.DATA_UUID, P.NOTIFY, gatt.Characteristic.READABLE, b"")
        self.cp.on("subscription", lambda c, n, i=False: self._sub("cp", n or i))
        self.data.on("subscription", lambda c, n, i=False: self._sub("data", n))
        return [gatt.Service(pmd.SERVICE_UUID, [self.cp, self.data])]

    def _sub(self, which: str, on: bool) -> None:
        (self.subscribed.add if on else self.subscribed.discard)(which)
        if not on:
            self.running.clear()
            self.stop_streaming()

    async def _answer(self, cmd: bytes) -> None:
        op, mtype = cmd[0], cmd[1] if len(cmd) > 1 else 0
        if {"cp", "data"} - self.subscribed:
            status = 8  # notifications not enabled (the SDK needs both)
        elif op == 0x02 and mtype in (pmd.ACC, pmd.GYRO):
            status = 6 if mtype in self.running else 0
            settings = pmd.parse_settings(cmd[2:])
            rate = settings.get(pmd.SAMPLE_RATE, [self.rate_hz])[0]
            self.rate_hz = float(rate)
            if status == 0:
                self.running.add(mtype)
        elif op == 0x03:
            status = 0
            self.running.discard(mtype)
        elif op == 0x01:
            status = 0
        else:
            status = 1  # invalid op code
        resp = bytes([0xF0, op, mtype, status, 0])
        if op == 0x02 and status == 0:
            factor = self.FACTOR_ACC if mtype == pmd.ACC else self.FACTOR_GYRO
            resp += bytes([pmd.FACTOR, 1]) + struct.pack("<f", factor)
        await self.device.notify_subscribers(self.cp, resp)
        if self.running >= {pmd.ACC, pmd.GYRO}:
            self.start_streaming()

    def samples_per_packet(self) -> int:
        return 9

    def packets_for(self, n: int):
        acc_g, gyro = self.next_samples(n)
        ts = self.clock_start_ns + int(round(self.sample_index / self.rate_hz * 1e9))
        a = np.round(acc_g / self.FACTOR_ACC).astype(np.int64)
        g = np.round(gyro / self.FACTOR_GYRO).astype(np.int64)
        return [(self.data, pmd.data_frame(pmd.ACC, ts, 0x80, pmd.encode_delta_frame(a))),
                (self.data, pmd.data_frame(pmd.GYRO, ts, 0x80, pmd.encode_delta_frame(g)))]


class MovesenseEmulator(Emulator):
    kind = ms.KIND
    service_uuid = ms.SERVICE_UUID

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.ref = 0
        self.t0 = time.monotonic()

    def services(self):
        P = gatt.Characteristic.Properties
        cmd = gatt.Characteristic(ms.COMMAND_UUID, P.WRITE | P.WRITE_WITHOUT_RESPONSE, gatt.Characteristic.WRITEABLE,
                                  gatt.CharacteristicValue(write=self._on_write))
        self.data = gatt.Characteristic(ms.DATA_UUID, P.NOTIFY, gatt.Characteristic.READABLE, b"")
        self.data.on("subscription", lambda c, n, i=False: None if n else self.stop_streaming())
        return [gatt.Service(ms.SERVICE_UUID, [cmd, self.data])]

    async def _answer(self, cmd: bytes) -> None:
        if len(cmd) < 2:
            return
        op, ref = cmd[0], cmd[1]
        if op == ms.HELLO:
            await self.device.notify_subscribers(self.data, bytes([ms.RESP_COMMAND, ref]) + b"Hello")
            return
        if op == ms.SUBSCRIBE:
            path = cmd[2:].decode(errors="replace")
            ok = path.startswith("/Meas/IMU6/") and path.rsplit("/", 1)[-1].isdigit() \
                and int(path.rsplit("/", 1)[-1]) in ms.RATES_HZ
            status = 200 if ok else 404
            await self.device.notify_subscribers(self.data, bytes([ms.RESP_COMMAND, ref]) + status.to_bytes(2, "big"))
            if ok:
                self.ref = ref
                self.rate_hz = float(path.rsplit("/", 1)[-1])
                self.start_streaming()
        elif op == ms.UNSUBSCRIBE:
            self.stop_streaming()
            await self.device.notify_subscribers(self.data, bytes([ms.RESP_COMMAND, ref]) + (200).to_bytes(2, "big"))

    def samples_per_packet(self) -> int:
        return 4 if self.rate_hz <= 104 else 8

    def packets_for(self, n: int):
        first = self.sample_index
        acc_g, gyro = self.next_samples(n)
        ts_ms = int(round(first / self.rate_hz * 1000)) + 1000
        return [(self.data, ms.encode_imu6(self.ref, ts_ms, acc_g * 9.80665, gyro))]


class DiyEmulator(Emulator):
    """The reference implementation of the barback DIY profile (firmware_spec/profile.toml)."""

    from barback.sensor.decoders import barback_diy as diy

    kind = diy.KIND
    service_uuid = diy.SERVICE_UUID

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        P = self.diy.P
        self.state = P.raw["state"]["IDLE"]
        self.acc_code, self.gyro_code, self.placement, self.battery = 2, 3, 0, 87
        self.rate_hz = float(P.rates["default_hz"])
        self.counter = 0
        self.clock_offset_us = 0
        self.synced = False
        self.packets_sent = 0

    def services(self):
        from bumble.core import UUID as BUUID

        P = gatt.Characteristic.Properties
        self.data = gatt.Characteristic(self.diy.DATA_UUID, P.NOTIFY, gatt.Characteristic.READABLE, b"")
        self.control = gatt.Characteristic(self.diy.CONTROL_UUID, P.WRITE | P.NOTIFY,
                                           gatt.Characteristic.WRITEABLE | gatt.Characteristic.READABLE,
                                           gatt.CharacteristicValue(write=self._on_write))
        battery = gatt.Characteristic(BUUID.from_16_bits(0x2A19), P.READ | P.NOTIFY, gatt.Characteristic.READABLE,
                                      gatt.CharacteristicValue(read=lambda c: bytes([self.battery])))
        info = [gatt.Characteristic(BUUID.from_16_bits(u), P.READ, gatt.Characteristic.READABLE, v)
                for u, v in ((0x2A29, b"barback"), (0x2A24, b"reference emulator"), (0x2A26, b"1.0.0"))]
        return [gatt.Service(self.diy.SERVICE_UUID, [self.data, self.control]),
                gatt.Service(BUUID.from_16_bits(0x180F), [battery]),
                gatt.Service(BUUID.from_16_bits(0x180A), info)]

    def _on_disconnection(self) -> None:
        super()._on_disconnection()
        if not self.faults.ignores_stop:
            self.state = self.diy.P.raw["state"]["IDLE"]

    async def _answer(self, cmd: bytes) -> None:
        P, st = self.diy.P, self.diy.STATUS
        idle = self.state == P.raw["state"]["IDLE"]
        spec = next((c for c in P.raw["command"] if cmd and c["opcode"] == cmd[0]), None)
        payload = b""
        if spec is None:
            status = st["UNKNOWN_COMMAND"]
        else:
            size = 1 + sum({"u8": 1, "u16": 2, "u32": 4, "u64": 8}[t] for _, t in spec["args"])
            name = spec["name"]
            if len(cmd) != size:
                status = st["BAD_LENGTH"]
            elif name == "SET_RATE":
                rate = struct.unpack_from("<H", cmd, 1)[0]
                status = st["OUT_OF_RANGE"] if not P.rates["min_hz"] <= rate <= P.rates["max_hz"] else (
                    st["OK"] if idle else st["INVALID_STATE"])
                if status == st["OK"]:
                    self.rate_hz = float(rate)
            elif name in ("SET_ACC_RANGE", "SET_GYRO_RANGE"):
                table = P.acc_ranges_g if name == "SET_ACC_RANGE" else P.gyro_ranges_dps
                status = st["OUT_OF_RANGE"] if cmd[1] not in table else (st["OK"] if idle else st["INVALID_STATE"])
                if status == st["OK"]:
                    setattr(self, "acc_code" if name == "SET_ACC_RANGE" else "gyro_code", cmd[1])
            elif name == "START":
                status = st["OK"] if idle else st["INVALID_STATE"]
                if idle:
                    self.state = P.raw["state"]["STREAMING"]
                    self.counter = 0
            elif name == "STOP":
                status = st["OK"]
                if not self.faults.ignores_stop:
                    self.state = P.raw["state"]["IDLE"]
                    self.stop_streaming()
            elif name == "TIME_SYNC":
                host_us = struct.unpack_from("<Q", cmd, 1)[0]
                self.clock_offset_us = host_us - int(time.monotonic() * 1e6)
                self.synced = True
                status = st["OK"]
            elif name == "SET_PLACEMENT":
                status = st["OK"] if cmd[1] <= 3 else st["OUT_OF_RANGE"]
                if status == st["OK"]:
                    self.placement = cmd[1]
            else:  # GET_STATUS
                status = st["OK"]
                payload = self.diy.STATUS_PAYLOAD.pack(P.version, self.state, int(self.rate_hz), self.acc_code,
                                                       self.gyro_code, self.placement, self.battery)
        if self.faults.bad_responses:
            status = (status + 1) % 6
        await self.device.notify_subscribers(self.control, bytes([(cmd[0] if cmd else 0) | 0x80, status]) + payload)
        if spec is not None and spec["name"] == "START" and status == st["OK"] or (
                self.faults.bad_responses and spec is not None and spec["name"] == "START"):
            self.start_streaming()

    def samples_per_packet(self) -> int:
        P = self.diy.P
        return min(P.rates["max_samples_per_packet"], max(1, int(self.rate_hz * P.rates["max_packet_interval_ms"] / 1000)))

    def packets_for(self, n: int):
        acc_g, gyro = self.next_samples(n)
        P = self.diy.P
        a = np.clip(np.round(acc_g / P.acc_ranges_g[self.acc_code] * 32768), -32768, 32767).astype(int)
        g = np.clip(np.round(gyro / P.gyro_ranges_dps[self.gyro_code] * 32768), -32768, 32767).astype(int)
        self.packets_sent += 1
        if self.faults.skip_counter_every and self.packets_sent % self.faults.skip_counter_every == 0:
            self.counter += 3
        period_us = 1e6 / (self.faults.wrong_rate_hz or self.rate_hz)
        if self.faults.bad_timestamps:
            period_us *= 2
        ts = int(self.counter * period_us) + (self.clock_offset_us + int(self.epoch * 1e6) if self.synced else 0)
        pkt = self.diy.encode_packet(self.counter, ts, a, g, self.acc_code, self.gyro_code, self.synced)
        self.counter += n
        return [(self.data, pkt)]


EMULATORS = {wm.KIND: WitMotionEmulator, pmd.KIND: PolarEmulator, ms.KIND: MovesenseEmulator,
             DiyEmulator.kind: DiyEmulator}
# what each emulated device advertises, and the rate it streams at unless told otherwise
ADVERTISED_NAMES = {wm.KIND: "WT901BLE", pmd.KIND: "Polar Sense", ms.KIND: "Movesense", DiyEmulator.kind: "barback DIY"}
DEFAULT_RATES_HZ = {wm.KIND: 100.0, pmd.KIND: 52.0, ms.KIND: 52.0, DiyEmulator.kind: 100.0}


def samples_from_stream(t_s: np.ndarray, acc_sf_mps2: np.ndarray, gyro_sf_rps: np.ndarray, rate_hz: float) -> Samples:
    """A recorded stream (SI units) resampled to what an emulated IMU at `rate_hz` measures."""
    t = np.arange(t_s[0], t_s[-1], 1.0 / rate_hz)
    acc_g = np.column_stack([np.interp(t, t_s, acc_sf_mps2[:, i]) for i in range(3)]) / G0_MPS2
    gyro_dps = np.column_stack([np.interp(t, t_s, np.rad2deg(gyro_sf_rps[:, i])) for i in range(3)])
    return Samples(acc_g, gyro_dps, rate_hz)


def emulators_for(session: Session, specs: list[tuple[str, str, float]]) -> list[Emulator]:
    """One emulated sensor per (role, device kind, rate), playing that role's stream of the
    session (or its first stream where the session has no such role)."""
    out = []
    for k, (role, kind, rate_hz) in enumerate(specs):
        st = session.streams.get(Role(role)) or next(iter(session.streams.values()))
        out.append(EMULATORS[kind](f"C0:FF:EE:00:00:{k + 1:02X}", f"{ADVERTISED_NAMES[kind]} {role}",
                                   samples_from_stream(st.t_s, st.acc_sf_mps2, st.gyro_sf_rps, rate_hz), rate_hz))
    return out
