"""The barback DIY sensor profile (`profile.toml`), as Python data."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

TYPES = {"u8": ("B", 1), "i8": ("b", 1), "u16": ("H", 2), "i16": ("h", 2), "u32": ("I", 4), "u64": ("Q", 8)}
C_TYPES = {"u8": "uint8_t", "i8": "int8_t", "u16": "uint16_t", "i16": "int16_t", "u32": "uint32_t", "u64": "uint64_t"}


@dataclass(frozen=True)
class FieldDef:
    name: str
    offset: int
    type: str
    doc: str = ""

    @property
    def size(self) -> int:
        return TYPES[self.type][1]


def _fields(items) -> tuple[FieldDef, ...]:
    out = tuple(FieldDef(f["name"], f["offset"], f["type"], f.get("doc", "")) for f in items)
    pos = 0
    for f in out:  # contiguous, no gaps or overlaps
        if f.offset != pos:
            raise ValueError(f"profile field {f.name} at offset {f.offset}, expected {pos}")
        pos += f.size
    return out


def struct_format(fields: tuple[FieldDef, ...]) -> str:
    return "<" + "".join(TYPES[f.type][0] for f in fields)


@dataclass(frozen=True)
class Profile:
    raw: dict
    header: tuple[FieldDef, ...]
    sample: tuple[FieldDef, ...]
    status_payload: tuple[FieldDef, ...]

    @property
    def header_size(self) -> int:
        return sum(f.size for f in self.header)

    @property
    def sample_size(self) -> int:
        return sum(f.size for f in self.sample)

    @property
    def uuids(self) -> dict[str, str]:
        return self.raw["uuids"]

    @property
    def version(self) -> int:
        return int(self.raw["profile"]["protocol_version"])

    @property
    def commands(self) -> dict[str, dict]:
        return {c["name"]: c for c in self.raw["command"]}

    @property
    def status(self) -> dict[str, int]:
        return self.raw["status"]

    @property
    def acc_ranges_g(self) -> dict[int, float]:
        return {int(k): float(v) for k, v in self.raw["acc_ranges"].items()}

    @property
    def gyro_ranges_dps(self) -> dict[int, float]:
        return {int(k): float(v) for k, v in self.raw["gyro_ranges"].items()}

    @property
    def rates(self) -> dict:
        return self.raw["rates"]


def parse_profile(text: str) -> Profile:
    raw = tomllib.loads(text)
    return Profile(raw, _fields(raw["data_header"]), _fields(raw["sample"]), _fields(raw["status_payload"]))


@lru_cache(maxsize=1)
def load_profile() -> Profile:
    return parse_profile(resources.files("barback.firmware_spec").joinpath("profile.toml").read_text())
