"""How to talk to each supported sensor over bleak: which characteristics, which commands.

A driver never decodes samples (decoders do, on the recorded bytes); it only brings the sensor
into streaming and tells the capture which characteristic is which channel. Every byte it writes
is recorded too.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable

from barback.sensor.decoders import movesense as ms
from barback.sensor.decoders import polar_pmd as pmd
from barback.sensor.decoders import witmotion as wm

Write = Callable[[str, bytes, bool], Awaitable[None]]


class SetupError(Exception):
    """The sensor refused or never answered a command."""


class Driver:
    kind = ""
    service_uuid = ""
    channels: dict[str, int] = {}
    name_prefixes: tuple[str, ...] = ()

    def __init__(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        self.responses: asyncio.Queue[bytes] = asyncio.Queue()

    def on_control(self, payload: bytes) -> None:
        """Called with every notification on a command/response channel."""
        self.responses.put_nowait(payload)

    async def _response(self, timeout: float, accept: Callable[[bytes], bool]) -> bytes:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise SetupError("the sensor did not answer")
            try:
                r = await asyncio.wait_for(self.responses.get(), left)
            except TimeoutError:
                raise SetupError("the sensor did not answer") from None
            if accept(r):
                return r

    async def setup(self, client, subscribe, write: Write, timeout: float = 5.0) -> None:
        raise NotImplementedError

    async def teardown(self, write: Write) -> None:
        """Stop the sensor's stream before disconnecting (the capture is ending)."""


class WitMotionDriver(Driver):
    kind = wm.KIND
    service_uuid = wm.SERVICE_UUID
    channels = {wm.NOTIFY_UUID: 0, wm.WRITE_UUID: 1}
    name_prefixes = ("WT",)
    control_channels = ()

    async def setup(self, client, subscribe, write: Write, timeout: float = 5.0) -> None:
        await subscribe(wm.NOTIFY_UUID)
        code = wm.rate_command(int(self.rate_hz) if self.rate_hz >= 1 else self.rate_hz)
        for cmd in (wm.UNLOCK, code, wm.SAVE):  # the official SDK waits 100 ms between steps
            await write(wm.WRITE_UUID, cmd, True)
            await asyncio.sleep(0.1)


def _is_start_response(b: bytes, mtype: int) -> bool:
    """A PMD control-point response to the start command for measurement type `mtype`."""
    return len(b) >= 4 and b[0] == 0xF0 and b[1] == 2 and b[2] == mtype


class PolarDriver(Driver):
    kind = pmd.KIND
    service_uuid = pmd.SERVICE_UUID
    channels = {pmd.DATA_UUID: 0, pmd.CONTROL_UUID: 1}
    name_prefixes = ("Polar",)
    control_channels = (1,)

    async def setup(self, client, subscribe, write: Write, timeout: float = 5.0) -> None:
        await subscribe(pmd.CONTROL_UUID)  # both before any command (the SDK's rule)
        await subscribe(pmd.DATA_UUID)
        for mtype, rng in ((pmd.ACC, 8), (pmd.GYRO, 2000)):
            await write(pmd.CONTROL_UUID, pmd.start_command(mtype, int(self.rate_hz), 16, rng, 3), True)
            r = await self._response(timeout, functools.partial(_is_start_response, mtype=mtype))
            status = r[3]
            if status not in (0, 6):  # 6 = already running
                raise SetupError(f"start of measurement {mtype} refused with status {status}")

    async def teardown(self, write: Write) -> None:
        for mtype in (pmd.ACC, pmd.GYRO):
            await write(pmd.CONTROL_UUID, bytes([0x03, mtype]), True)


class MovesenseDriver(Driver):
    kind = ms.KIND
    service_uuid = ms.SERVICE_UUID
    channels = {ms.DATA_UUID: 0, ms.COMMAND_UUID: 1}
    name_prefixes = ("Movesense",)
    control_channels = (0,)  # command results arrive on the data characteristic

    def on_control(self, payload: bytes) -> None:
        if payload[:1] == bytes([ms.RESP_COMMAND]):
            self.responses.put_nowait(payload)

    async def setup(self, client, subscribe, write: Write, timeout: float = 5.0) -> None:
        await subscribe(ms.DATA_UUID)
        await write(ms.COMMAND_UUID, bytes([ms.HELLO, 1]), True)
        await self._response(timeout, lambda b: b[1:2] == b"\x01")
        rate = min(ms.RATES_HZ, key=lambda r: abs(r - self.rate_hz))
        self.rate_hz = float(rate)
        await write(ms.COMMAND_UUID, ms.subscribe_command(rate), True)
        r = await self._response(timeout, lambda b: b[1:2] == bytes([99]))
        status = int.from_bytes(r[2:4], "big")
        if status != 200:
            raise SetupError(f"subscribe to /Meas/IMU6/{rate} refused with status {status}")

    async def teardown(self, write: Write) -> None:
        await write(ms.COMMAND_UUID, ms.unsubscribe_command(), True)


class DiyDriver(Driver):
    """The barback DIY profile (firmware_spec/): time sync, rate, ranges, placement, start."""

    from barback.sensor.decoders import barback_diy as diy

    kind = diy.KIND
    service_uuid = diy.SERVICE_UUID
    channels = {diy.DATA_UUID: 0, diy.CONTROL_UUID: 1}
    name_prefixes = ("barback",)
    control_channels = (1,)

    async def command(self, write: Write, name: str, *args: int, timeout: float = 5.0) -> tuple[int, bytes]:
        await write(self.diy.CONTROL_UUID, self.diy.command(name, *args), True)
        op = self.diy.OPCODES[name]
        r = await self._response(timeout, lambda b: len(b) >= 2 and b[0] == (op | 0x80))
        return r[1], r[2:]

    async def setup(self, client, subscribe, write: Write, timeout: float = 5.0) -> None:
        import time as _time

        await subscribe(self.diy.CONTROL_UUID)
        await subscribe(self.diy.DATA_UUID)
        await self.command(write, "STOP", timeout=timeout)
        steps = [("TIME_SYNC", int(_time.monotonic() * 1e6)), ("SET_RATE", int(self.rate_hz)),
                 ("SET_ACC_RANGE", 2), ("SET_GYRO_RANGE", 3)]
        for name, arg in steps:
            status, _ = await self.command(write, name, arg, timeout=timeout)
            if status != self.diy.STATUS["OK"]:
                raise SetupError(f"{name} refused with status {status}")
        status, _ = await self.command(write, "START", timeout=timeout)
        if status != self.diy.STATUS["OK"]:
            raise SetupError(f"START refused with status {status}")

    async def teardown(self, write: Write) -> None:
        await write(self.diy.CONTROL_UUID, self.diy.command("STOP"), True)


DRIVERS = {d.kind: d for d in (WitMotionDriver, PolarDriver, MovesenseDriver, DiyDriver)}
SERVICE_TO_KIND = {d.service_uuid: d.kind for d in DRIVERS.values()}


def kind_from_advertisement(name: str | None, service_uuids: list[str]) -> str | None:
    for u in service_uuids:
        if u.lower() in SERVICE_TO_KIND:
            return SERVICE_TO_KIND[u.lower()]
    for d in DRIVERS.values():
        if name and any(name.startswith(p) for p in d.name_prefixes):
            return d.kind
    return None
