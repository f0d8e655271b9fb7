"""Conformance checker for devices that claim the barback DIY profile (firmware_spec/).

Drives the device through bleak (any backend: the platform's, or bumble for the reference
emulator) and checks the GATT table, every command and its error codes, the achieved rate and
packet timing, counter continuity, timestamps, STOP, and behaviour after a reconnect.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import numpy as np
from bleak import BleakClient

from barback.sensor.decoders import barback_diy as diy
from barback.sensor.decoders.base import DecodeError


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


class _Session:
    def __init__(self, client: BleakClient, timeout: float) -> None:
        self.client = client
        self.timeout = timeout
        self.responses: asyncio.Queue = asyncio.Queue()
        self.packets: list[tuple[float, bytes]] = []

    async def subscribe(self) -> None:
        await self.client.start_notify(diy.CONTROL_UUID, lambda c, d: self.responses.put_nowait(bytes(d)))
        await self.client.start_notify(diy.DATA_UUID, lambda c, d: self.packets.append((time.monotonic(), bytes(d))))

    async def raw(self, payload: bytes) -> tuple[int, int, bytes] | None:
        while not self.responses.empty():
            self.responses.get_nowait()
        await self.client.write_gatt_char(diy.CONTROL_UUID, payload, response=True)
        try:
            r = await asyncio.wait_for(self.responses.get(), self.timeout)
        except TimeoutError:
            return None
        try:
            return diy.parse_response(r)
        except DecodeError:
            return (-1, -1, r)

    async def cmd(self, name: str, *args: int):
        return await self.raw(diy.command(name, *args))


def _status_name(code) -> str:
    return next((k for k, v in diy.STATUS.items() if v == code), f"{code}")


async def check_device(address, rate_hz: int = 200, stream_s: float = 3.0, timeout: float = 2.0,
                       backend=None, **backend_kwargs) -> list[Check]:
    checks: list[Check] = []

    def add(name, ok, detail):
        checks.append(Check(name, bool(ok), detail))

    st = diy.STATUS
    client = BleakClient(address, timeout=10.0, backend=backend, **backend_kwargs)
    await client.connect()
    try:
        # GATT table
        svc = client.services.get_service(diy.SERVICE_UUID)
        data = client.services.get_characteristic(diy.DATA_UUID)
        ctrl = client.services.get_characteristic(diy.CONTROL_UUID)
        battery = client.services.get_characteristic(diy.P.uuids["battery_level"])
        fw = client.services.get_characteristic(diy.P.uuids["firmware_revision"])
        ok = svc is not None and data is not None and "notify" in data.properties and ctrl is not None \
            and "write" in ctrl.properties and "notify" in ctrl.properties and battery is not None and fw is not None
        add("gatt_table", ok, "service, data (notify), control (write+notify), battery, device info"
            if ok else "missing or wrong characteristics")
        if not ok:
            return checks
        assert battery is not None  # checked in ok above
        level = (await client.read_gatt_char(battery))[0]
        add("battery", 0 <= level <= 100, f"{level} %")

        s = _Session(client, timeout)
        await s.subscribe()
        r = await s.cmd("GET_STATUS")
        status = None
        if r is not None and r[0] == diy.OPCODES["GET_STATUS"] and r[1] == st["OK"]:
            try:
                status = diy.parse_status(r[2])
            except DecodeError as exc:
                r = (r[0], r[1], b"")
                add("status", False, str(exc))
        add("status", status is not None and status["version"] == diy.P.version,
            f"protocol version {status['version']}, state {status['state']}" if status else f"answer {r}")

        expect = [("unknown opcode", bytes([0x7E]), st["UNKNOWN_COMMAND"]),
                  ("short SET_RATE", bytes([diy.OPCODES["SET_RATE"], 100]), st["BAD_LENGTH"]),
                  ("SET_RATE 10 Hz", diy.command("SET_RATE", 10), st["OUT_OF_RANGE"]),
                  ("SET_ACC_RANGE code 9", diy.command("SET_ACC_RANGE", 9), st["OUT_OF_RANGE"])]
        bad = []
        for label, payload, want in expect:
            r = await s.raw(payload)
            if r is None or r[1] != want:
                bad.append(f"{label}: {'no answer' if r is None else _status_name(r[1])} (want {_status_name(want)})")
        add("error_codes", not bad, "; ".join(bad) or "UNKNOWN_COMMAND, BAD_LENGTH, OUT_OF_RANGE as specified")

        cfg = [("TIME_SYNC", int(time.monotonic() * 1e6)), ("SET_RATE", rate_hz), ("SET_ACC_RANGE", 2),
               ("SET_GYRO_RANGE", 3), ("SET_PLACEMENT", 1)]
        bad = []
        for name, arg in cfg:
            r = await s.cmd(name, arg)
            if r is None or r[1] != st["OK"]:
                bad.append(f"{name}: {'no answer' if r is None else _status_name(r[1])}")
        add("commands", not bad, "; ".join(bad) or "TIME_SYNC, SET_RATE, SET_ACC_RANGE, SET_GYRO_RANGE, SET_PLACEMENT")

        s.packets.clear()
        r = await s.cmd("START")
        add("start", r is not None and r[1] == st["OK"], "streaming" if r and r[1] == st["OK"] else f"answer {r}")
        await asyncio.sleep(0.3)
        r = await s.cmd("SET_RATE", rate_hz)
        add("state_rules", r is not None and r[1] == st["INVALID_STATE"],
            "SET_RATE while streaming is refused" if r and r[1] == st["INVALID_STATE"] else f"answer {r}")
        await asyncio.sleep(stream_s)
        r = await s.cmd("STOP")
        stop_t = time.monotonic()
        packets = [p for p in s.packets if p[0] <= stop_t]
        decoded, errors = [], 0
        for t_arr, p in packets:
            try:
                decoded.append((t_arr,) + diy.decode_packet(p))
            except DecodeError:
                errors += 1
        add("packets", decoded and errors == 0, f"{len(decoded)} packets, {errors} undecodable")
        if decoded:
            counters = np.array([d[1]["counter"] for d in decoded], dtype=np.int64)
            ns = np.array([d[1]["n_samples"] for d in decoded], dtype=np.int64)
            ts = np.array([d[1]["timestamp_us"] for d in decoded], dtype=np.int64)
            arr = np.array([d[0] for d in decoded])
            dc = (np.diff(counters) % 65536)
            jumps = int(np.count_nonzero(dc != ns[:-1]))
            add("counter", jumps == 0 and counters[0] == 0,
                f"starts at {counters[0]}, {jumps} discontinuities in {len(decoded)} packets")
            span_s = (arr[-1] - arr[0]) if len(arr) > 1 else float("nan")
            achieved = (counters[-1] - counters[0]) / span_s if len(arr) > 1 else float("nan")
            add("rate", abs(achieved / rate_hz - 1) < 0.03, f"{achieved:.1f} Hz achieved for {rate_hz} Hz asked")
            expected_dt = np.diff(counters) % 65536 * 1e6 / rate_hz
            dt = np.diff(ts) % 2**32
            err = np.max(np.abs(dt - expected_dt) / np.maximum(expected_dt, 1)) if len(dt) else 0.0
            add("timestamps", err < 0.01, f"largest deviation of Δtimestamp from Δcounter/rate: {100 * err:.2f} %")
            gaps = np.diff(arr)
            limit = 2 * diy.P.rates["max_packet_interval_ms"] / 1000 + 0.05
            add("jitter", len(gaps) and gaps.max() < limit,
                f"packet interval p50 {1000 * np.median(gaps):.0f} ms, max {1000 * gaps.max():.0f} ms (limit {1000 * limit:.0f})"
                if len(gaps) else "too few packets")
        await asyncio.sleep(0.5)
        late = [p for p in s.packets if p[0] > stop_t + 0.1]
        add("stop", r is not None and r[1] == st["OK"] and not late,
            f"{len(late)} packet(s) after STOP" if late else "no packets after STOP")
    finally:
        await client.disconnect()

    # behaviour after reconnect: idle, configuration kept, streaming restarts from counter 0
    await asyncio.sleep(0.3)
    client = BleakClient(address, timeout=10.0, backend=backend, **backend_kwargs)
    await client.connect()
    try:
        s = _Session(client, timeout)
        await s.subscribe()
        r = await s.cmd("GET_STATUS")
        status = diy.parse_status(r[2]) if r and r[1] == st["OK"] and len(r[2]) == diy.STATUS_PAYLOAD.size else None
        add("reconnect_idle", status is not None and status["state"] == diy.P.raw["state"]["IDLE"]
            and status["rate_hz"] == rate_hz,
            f"state {status['state']}, rate {status['rate_hz']} Hz" if status else f"answer {r}")
        s.packets.clear()
        r = await s.cmd("START")
        await asyncio.sleep(0.5)
        await s.cmd("STOP")
        first = None
        for _, p in s.packets:
            try:
                first = diy.decode_packet(p)[0]["counter"]
                break
            except DecodeError:
                continue
        add("reconnect_stream", r is not None and r[1] == st["OK"] and first == 0,
            f"restarted, first counter {first}" if first is not None else "no data after reconnect")
    finally:
        await client.disconnect()
    return checks


async def check_emulated(faults=None, rate_hz: int = 200, stream_s: float = 2.0) -> list[Check]:
    """Run the checker against the reference emulator (optionally with injected faults)."""
    from barback.sensor.ble.bumble_backend import BumbleClient, VirtualRadio
    from barback.sensor.emulators import DiyEmulator, Faults, Samples

    radio = VirtualRadio()
    n = 400
    t = np.arange(n) / 100.0
    acc = np.column_stack([0.1 * np.sin(t), np.zeros(n), np.ones(n)])
    emu = DiyEmulator("C0:DE:00:00:00:01", "barback ref", Samples(acc, np.zeros((n, 3)), 100.0), 100.0,
                      faults or Faults())
    await radio.add(emu)
    return await check_device(emu.address, rate_hz=rate_hz, stream_s=stream_s, backend=BumbleClient, radio=radio)


__all__ = ["Check", "check_device", "check_emulated"]
