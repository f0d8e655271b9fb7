"""Live capture: connect to every sensor at once with bleak, record every byte, feed the pipeline.

The BLE notification callback only stamps and queues the bytes. One consumer task appends each
record to the recording (crash-safe, see `barback.sensor.recording`), pushes it through `Ingest` (the
same call replay makes) and lets the live analyser look for finished reps.

A sensor that drops out is reconnected with a fresh client and its stream restarted; the gap is
marked in the recording; the other sensors keep recording throughout.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from barback.sensor.devices import DRIVERS, Driver, SetupError, kind_from_advertisement
from barback.sensor.ingest import Ingest
from barback.sensor.recording import Record, RecordingMeta, RecordingWriter, RecordType, SensorInfo, fresh_folder


@dataclass(frozen=True)
class Target:
    role: str
    address: str
    kind: str | None = None  # found from the advertisement when not given


@dataclass
class LinkStats:
    connects: int = 0
    disconnects: int = 0
    notifications: int = 0
    errors: list[str] = field(default_factory=list)


class CaptureError(Exception):
    pass


def _event(kind: str, **kw) -> bytes:
    return json.dumps({"event": kind, **kw}).encode()


def _set_on_disconnect(lost: asyncio.Event, _client) -> None:
    """bleak's disconnect callback, bound to the event of its own connection attempt."""
    lost.set()


class Capture:
    """Records a session from several sensors. `backend`/`scanner_backend`/`backend_kwargs` are
    passed to bleak unchanged (None = the platform's own Bluetooth stack)."""

    def __init__(self, targets: list[Target], exercise: str, out_dir, rate_hz: float = 100.0,
                 backend=None, scanner_backend=None, backend_kwargs: dict | None = None,
                 on_message: Callable[[str], None] = print, live=None, connect_timeout_s: float = 10.0,
                 reconnect_delay_s: float = 0.5, flush_interval_s: float = 0.5, athlete: str = "",
                 loads_kg: dict[str, float] | None = None) -> None:
        self.targets = targets
        self.athlete = athlete
        self.loads_kg = dict(loads_kg or {})  # as in recording.json: "1" -> kg, "all" -> kg
        self.meta: RecordingMeta | None = None
        self.exercise = exercise
        self.requested_dir = Path(out_dir)
        self.out_dir = fresh_folder(out_dir)  # never into a folder that holds a recording already
        self.rate_hz = rate_hz
        self.backend = backend
        self.scanner_backend = scanner_backend
        self.backend_kwargs = backend_kwargs or {}
        self.say = on_message
        self.live = live
        self.connect_timeout_s = connect_timeout_s
        self.reconnect_delay_s = reconnect_delay_s
        self.flush_interval_s = flush_interval_s
        self.stats: dict[str, LinkStats] = {t.role: LinkStats() for t in targets}
        self._queue: asyncio.Queue = asyncio.Queue()
        self._t0_ns = time.monotonic_ns()
        self._connect_lock = asyncio.Lock()  # one connection attempt at a time per adapter
        self.writer: RecordingWriter | None = None
        self.ingest: Ingest | None = None

    def _now_ns(self) -> int:
        return time.monotonic_ns() - self._t0_ns

    async def _discover(self) -> dict[str, tuple[BLEDevice, str]]:
        """Find each target (scanning stops as soon as all are seen); role -> (BLEDevice, kind)."""
        want = {t.address.upper(): t for t in self.targets}
        seen: dict[str, tuple[BLEDevice, AdvertisementData]] = {}
        all_seen = asyncio.Event()

        def on_adv(dev, adv) -> None:
            if dev.address.upper() in want:
                seen[dev.address.upper()] = (dev, adv)
                if len(seen) == len(want):
                    all_seen.set()

        async with BleakScanner(on_adv, backend=self.scanner_backend, **self.backend_kwargs):
            try:
                await asyncio.wait_for(all_seen.wait(), self.connect_timeout_s)
            except TimeoutError:
                pass
        found: dict[str, tuple[BLEDevice, str]] = {}
        for addr, (dev, adv) in seen.items():
            t = want[addr]
            kind = t.kind or kind_from_advertisement(adv.local_name, adv.service_uuids)
            if kind is None:
                raise CaptureError(f"{t.role} sensor {t.address} ({adv.local_name}) is not a supported sensor")
            found[t.role] = (dev, kind)
        missing = [t for t in self.targets if t.role not in found]
        if missing:
            raise CaptureError("not found: " + ", ".join(f"{t.role} sensor {t.address}" for t in missing)
                               + " (is it on, charged, and not connected to a phone?)")
        return found

    def set_load(self, set_no: int, kg: float) -> None:
        """A set's load, entered while recording: kept in recording.json at once."""
        self.loads_kg[str(set_no)] = float(kg)
        if self.meta is not None and self.writer is not None:
            self.meta.loads_kg = dict(self.loads_kg)
            self.writer.update_meta(self.meta)

    async def run(self, stop: asyncio.Event) -> RecordingMeta:
        found = await self._discover()
        infos = []
        drivers: dict[str, Driver] = {}
        for sid, t in enumerate(self.targets):
            dev, kind = found[t.role]
            drv = DRIVERS[kind](self.rate_hz)
            drivers[t.role] = drv
            infos.append(SensorInfo(id=sid, role=t.role, kind=kind, address=t.address.upper(),
                                    name=getattr(dev, "name", "") or "", rate_hz=self.rate_hz, channels=dict(drv.channels)))
        meta = RecordingMeta(exercise=self.exercise, sensors=infos, athlete=self.athlete, loads_kg=self.loads_kg)
        self.meta = meta
        self.writer = RecordingWriter(self.out_dir, meta, flush_interval_s=self.flush_interval_s)
        self.ingest = Ingest(meta)
        consumer = asyncio.create_task(self._consume(stop))
        links = [asyncio.create_task(self._link(info, found[info.role][0], drivers[info.role], stop))
                 for info in infos]
        try:
            await stop.wait()
            await asyncio.wait(links, timeout=3.0)  # let each link stop its sensor and disconnect
        finally:
            for task in links:
                task.cancel()
            await asyncio.gather(*links, return_exceptions=True)
            await self._queue.put(None)
            await consumer
            self.writer.close()
        return meta

    async def _consume(self, stop: asyncio.Event) -> None:
        writer, ingest = self.writer, self.ingest
        assert writer is not None and ingest is not None, "run() opens the recording first"
        last_sync = time.monotonic()
        while True:
            try:
                item = await asyncio.wait_for(self._queue.get(), 0.25)
            except TimeoutError:
                item = ...
            if item is None:
                break
            if item is not ...:
                rec: Record = item
                try:
                    writer.append(rec)
                except OSError as exc:  # disk full, card pulled: keep what is on disk, stop cleanly
                    self.say(f"cannot write the recording ({exc.strerror or exc}); stopping. "
                             "Everything written so far is kept.")
                    stop.set()
                    continue
                block = ingest.push(rec)
                if self.live is not None and block is not None:
                    self.live.on_block(rec.sensor, ingest)
            if time.monotonic() - last_sync >= self.flush_interval_s:  # also when the radio is quiet
                try:
                    writer.sync()
                except OSError:
                    stop.set()
                last_sync = time.monotonic()

    def _put(self, rtype: RecordType, sid: int, channel: int, payload: bytes) -> None:
        self._queue.put_nowait(Record(rtype, sid, channel, self._now_ns(), payload))

    async def _link(self, info: SensorInfo, device, driver: Driver, stop: asyncio.Event) -> None:
        st = self.stats[info.role]
        attempt = 0
        while not stop.is_set():
            lost = asyncio.Event()
            client = BleakClient(device, disconnected_callback=functools.partial(_set_on_disconnect, lost),
                                 timeout=self.connect_timeout_s,
                                 backend=self.backend, **self.backend_kwargs)
            try:
                async with self._connect_lock:
                    await client.connect()
                st.connects += 1
                self._put(RecordType.EVENT, info.id, 0, _event("connected", attempt=attempt))
                if attempt:
                    self.say(f"{info.role}: reconnected")

                def make_cb(channel: int):
                    control = channel in getattr(driver, "control_channels", ())

                    def cb(_char, data: bytearray) -> None:  # store bytes and a timestamp, nothing else
                        payload = bytes(data)
                        self._queue.put_nowait(Record(RecordType.NOTIFICATION, info.id, channel, self._now_ns(), payload))
                        st.notifications += 1
                        if control:
                            driver.on_control(payload)
                    return cb

                async def subscribe(uuid: str, client=client) -> None:
                    await client.start_notify(uuid, make_cb(driver.channels[uuid]))

                async def write(uuid: str, data: bytes, response: bool, client=client) -> None:
                    self._put(RecordType.WRITE, info.id, driver.channels[uuid], data)
                    await client.write_gatt_char(uuid, data, response=response)

                driver.responses = asyncio.Queue()
                await driver.setup(client, subscribe, write, timeout=self.connect_timeout_s)
                await asyncio.wait([asyncio.create_task(lost.wait()), asyncio.create_task(stop.wait())],
                                   return_when=asyncio.FIRST_COMPLETED)
                if stop.is_set():
                    if client.is_connected:
                        try:
                            await asyncio.wait_for(driver.teardown(write), 2.0)
                        except Exception:  # stopping anyway
                            pass
                    break
                st.disconnects += 1
                self._put(RecordType.EVENT, info.id, 0, _event("disconnected"))
                self.say(f"{info.role}: connection lost, reconnecting")
            except SetupError as exc:
                st.errors.append(str(exc))
                self._put(RecordType.EVENT, info.id, 0, _event("error", message=str(exc)))
                self.say(f"{info.role} ({info.address}): {exc}; retrying")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # BleakError, timeouts, device gone
                st.errors.append(f"{type(exc).__name__}: {exc}")
                self._put(RecordType.EVENT, info.id, 0, _event("error", message=str(exc)))
                self.say(f"{info.role} ({info.address}): {exc or type(exc).__name__}; retrying")
            finally:
                try:
                    await client.disconnect()
                except Exception:
                    pass
            attempt += 1
            await asyncio.sleep(min(self.reconnect_delay_s * attempt, 5.0))


async def record_guided(cap: Capture, steps: tuple[tuple[str, float], ...], say, settle_s: float = 1.0) -> None:
    """Record while the lifter follows timed instructions (the lumbar calibration routine): each
    step is said, then held for its seconds; the capture stops after the last one."""
    stop = asyncio.Event()
    task = asyncio.create_task(cap.run(stop))
    await asyncio.sleep(settle_s)
    for text, secs in steps:
        say(f">>> {text} ({secs:.0f} s)")
        await asyncio.sleep(secs)
    stop.set()
    await task
