"""A bleak backend over Google's bumble stack, on an in-process virtual radio.

`BleakClient(address, backend=BumbleClient, radio=radio)` and
`BleakScanner(backend=BumbleScanner, radio=radio)` behave like bleak on real hardware, but talk to
emulated peripherals (`barback.sensor.emulators`) over bumble's virtual controllers and link. The capture
code never knows the difference: it is the same code that drives real sensors.

A `VirtualRadio` owns one bumble `LocalLink`, the central's controller and host, and the emulated
peripherals placed on it. Nothing here needs a kernel, a Bluetooth adapter or root.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError
from bleak.uuids import normalize_uuid_str

from barback.extras import require

require("bumble", "emulate", "emulated sensors")

from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Device, Peer
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

_counter = itertools.count(1)


def _uuid_str(u) -> str:
    return normalize_uuid_str(u.to_hex_str("-"))


class VirtualRadio:
    """An in-process BLE world: one central (this host) and any number of emulated peripherals."""

    def __init__(self, link: LocalLink | None = None) -> None:
        self.link = link or LocalLink()
        self._central: Device | None = None
        self._lock = asyncio.Lock()
        self.peripherals: dict[str, Any] = {}
        self.epoch = __import__("time").monotonic()  # emulated sensors measure one shared world

    def new_device(self, name: str, address: str | None = None) -> Device:
        addr = address or ":".join([f"{0xC0 | (next(_counter) % 0x3F):02X}"] + [f"{next(_counter) % 256:02X}" for _ in range(5)])
        ctrl = Controller(name, link=self.link, public_address=addr)
        return Device(name=name, address=Address(addr), host=Host(ctrl, AsyncPipeSink(ctrl)))

    async def central(self) -> Device:
        async with self._lock:
            if self._central is None:
                self._central = self.new_device("barback-host", "F0:F0:F0:F0:F0:F0")
                await self._central.power_on()
            return self._central

    async def add(self, emulator) -> None:
        """Power an emulated peripheral on and start it advertising."""
        await emulator.start(self)
        self.peripherals[emulator.address] = emulator


class BumbleScanner(BaseBleakScanner):
    def __init__(self, detection_callback=None, service_uuids=None, scanning_mode="active", *,
                 radio: VirtualRadio, **kwargs: Any) -> None:
        super().__init__(detection_callback, service_uuids)
        self._radio = radio
        self._device: Device | None = None

    def _on_adv(self, adv) -> None:
        data = adv.data
        name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(AdvertisingData.SHORTENED_LOCAL_NAME)
        uuids = []
        for key in (AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                    AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                    AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS):
            uuids += [_uuid_str(u) for u in (data.get(key) or [])]
        if not self.is_allowed_uuid(uuids):
            return
        address = str(adv.address).split("/")[0]
        ad = AdvertisementData(local_name=name, manufacturer_data={}, service_data={}, service_uuids=uuids,
                               tx_power=None, rssi=adv.rssi, platform_data=(adv,))
        device = self.create_or_update_device(address, address, name, adv, ad)
        self.call_detection_callbacks(device, ad)

    async def start(self) -> None:
        self.seen_devices = {}
        self._device = await self._radio.central()
        self._device.on("advertisement", self._on_adv)
        await self._device.start_scanning(filter_duplicates=False)

    async def stop(self) -> None:
        if self._device is not None:
            await self._device.stop_scanning()
            self._device.remove_listener("advertisement", self._on_adv)

    def set_scanning_filter(self, **kwargs: Any) -> None:  # pragma: no cover - bleak API
        pass


class BumbleClient(BaseBleakClient):
    """bleak's client interface, implemented with a bumble central on a VirtualRadio."""

    def __init__(self, address_or_ble_device, *, disconnected_callback=None, timeout: float = 10.0,
                 radio: VirtualRadio | None = None, **kwargs: Any) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        if radio is None:
            raise BleakError("BumbleClient needs radio=VirtualRadio(...)")
        self._radio = radio
        self._conn: Any = None  # a bumble Connection while connected
        self._peer: Peer | None = None
        self._proxies: dict[int, Any] = {}
        self._subs: dict[int, Callable] = {}

    @property
    def name(self) -> str:
        return self.address

    @property
    def mtu_size(self) -> int:
        return self._conn.att_mtu if self._conn is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._conn is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        central = await self._radio.central()
        try:
            self._conn = await asyncio.wait_for(central.connect(Address(self.address.upper())), self._timeout)
        except TimeoutError:
            raise BleakDeviceNotFoundError(self.address, f"no answer from {self.address}: not in range or off") from None
        self._conn.on("disconnection", self._on_disconnection)
        self._peer = Peer(self._conn)
        await asyncio.wait_for(self._peer.request_mtu(247), self._timeout)  # as BlueZ/CoreBluetooth do
        await asyncio.wait_for(self._peer.discover_all(), self._timeout)
        self.services = self._build_services()

    def _on_disconnection(self, reason) -> None:
        was = self._conn is not None
        self._conn = None
        self._peer = None
        if was and self._disconnected_callback is not None:
            self._disconnected_callback()

    def _build_services(self) -> BleakGATTServiceCollection:
        coll = BleakGATTServiceCollection()
        assert self._peer is not None, "services are built once connected"
        for s in self._peer.services:
            svc = BleakGATTService(s, s.handle, _uuid_str(s.uuid))
            coll.add_service(svc)
            for c in s.characteristics:
                props = [p.name.lower().replace("_", "-") for p in type(c.properties) if p in c.properties and p.name]
                ch = BleakGATTCharacteristic(c, c.handle, _uuid_str(c.uuid), props, lambda: 244, svc)  # type: ignore[arg-type]
                self._proxies[c.handle] = c
                coll.add_characteristic(ch)
                for d in getattr(c, "descriptors", []):
                    coll.add_descriptor(BleakGATTDescriptor(d, d.handle, _uuid_str(d.type), ch))
        return coll

    async def disconnect(self) -> None:
        conn = self._conn
        if conn is not None:
            self._conn = None
            try:
                await conn.disconnect()
            except Exception:  # already gone
                pass

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("pairing is not emulated")

    async def unpair(self) -> None:
        raise NotImplementedError("pairing is not emulated")

    def _need(self):
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, **kwargs: Any) -> bytearray:
        peer = self._need()
        return bytearray(await peer.read_value(self._proxies[characteristic.handle]))

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor, **kwargs: Any) -> bytearray:
        return bytearray(await self._need().read_value(descriptor.handle))

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data, response: bool) -> None:
        peer = self._need()
        await peer.write_value(self._proxies[characteristic.handle], bytes(data), with_response=response)

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data) -> None:
        await self._need().write_value(descriptor.handle, bytes(data), with_response=True)

    async def start_notify(self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any) -> None:
        peer = self._need()
        proxy = self._proxies[characteristic.handle]

        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        self._subs[characteristic.handle] = on_value
        await peer.subscribe(proxy, on_value)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._need()
        cb = self._subs.pop(characteristic.handle, None)
        await peer.unsubscribe(self._proxies[characteristic.handle], cb)
