"""Typed containers for IMU data flowing through the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


class Role(str, Enum):
    """Where a sensor sits on the lifter or the bar."""

    BAR = "bar"
    LUMBAR_UPPER = "lumbar_upper"  # about T12/L1
    LUMBAR_LOWER = "lumbar_lower"  # about S1/S2


EXERCISES = ("deadlift", "romanian_deadlift", "squat", "bench_press", "sumo_deadlift", "trap_bar_deadlift")
# pulls from the floor, concentric first (a squat, bench or RDL lowers the bar first)
FLOOR_PULLS = ("deadlift", "sumo_deadlift", "trap_bar_deadlift")
# lifts that load a bending spine: the lumbar flags apply
HINGES = (*FLOOR_PULLS, "romanian_deadlift", "squat")


@dataclass(frozen=True)
class ImuStream:
    """Samples of one 6-axis IMU, sensor frame, SI units, on the session clock.

    `t_s` (N,) strictly increasing seconds; `acc_sf_mps2` (N, 3) specific force in m/s²
    (gravity included, as an accelerometer measures it); `gyro_sf_rps` (N, 3) rad/s.
    """

    t_s: FloatArray
    acc_sf_mps2: FloatArray
    gyro_sf_rps: FloatArray

    def __post_init__(self) -> None:
        n = self.t_s.shape[0]
        if self.acc_sf_mps2.shape != (n, 3) or self.gyro_sf_rps.shape != (n, 3):
            raise ValueError("ImuStream arrays must be (N,), (N, 3), (N, 3)")

    def __len__(self) -> int:
        return int(self.t_s.shape[0])


@dataclass(frozen=True)
class Session:
    """A recorded session: exercise, one stream per sensor role, metadata and load warnings."""

    exercise: str
    streams: dict[Role, ImuStream]
    source: str = ""
    meta: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def loads_kg(self) -> dict[int, float]:
        """Load per set number, from the metadata's optional `loads_kg` (validated on load)."""
        return parse_loads_kg(self.meta.get("loads_kg"))


EVERY_SET = 0  # the key of `loads_kg` for the load of every set not named ("all" in the metadata)


def load_of_set(loads_kg: dict[int, float], set_no: int) -> float | None:
    """The load of set `set_no`: its own, else the load of every set, else None."""
    return loads_kg.get(set_no, loads_kg.get(EVERY_SET))


def parse_loads_kg(raw) -> dict[int, float]:
    """`loads_kg` of a session's metadata: set number -> load in kg, both positive; the key "all"
    gives the load of every set not named (`EVERY_SET`). Raises ValueError naming what is wrong."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"loads_kg must map set numbers to kilograms, e.g. {{\"1\": 100}}, not {raw!r:.40}")
    out = {}
    for k, v in raw.items():
        if k == "all":
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 < float(v) < 10_000):
                raise ValueError(f"loads_kg['all']: {v!r:.40} is not a load in kg")
            out[EVERY_SET] = float(v)
            continue
        try:
            set_no = int(k)
        except (TypeError, ValueError):
            raise ValueError(f"loads_kg: {k!r} is not a set number") from None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 < float(v) < 10_000):
            raise ValueError(f"loads_kg[{k!r}]: {v!r:.40} is not a load in kg") from None
        if set_no < 1:
            raise ValueError(f"loads_kg: set numbers start at 1, not {k!r}")
        out[set_no] = float(v)
    return out


def parse_load_entry(line: str) -> float | None:
    """A load typed during a live capture: "l 120", "l120", "load 120", "120" or "120 kg". None
    for anything else."""
    t = line.strip().lower().removeprefix("load").removeprefix("l").strip().removesuffix("kg").strip()
    try:
        kg = float(t)
    except ValueError:
        return None
    return kg if 0 < kg < 10_000 else None


def parse_load_arg(text: str) -> dict[str, float]:
    """A load as typed on the command line, as metadata `loads_kg`: "100" for every set,
    "1=100,2=120" per set, or both ("100,3=120"). Raises ValueError naming what is wrong."""
    out: dict[str, float] = {}
    for part in text.replace(" ", "").split(","):
        key, sep, value = part.rpartition("=")
        key = key if sep else "all"
        try:
            kg = float(value.lower().removesuffix("kg"))
        except ValueError:
            raise ValueError(f"{part!r} is not a load: use 100 (every set) or 1=100,2=120 (per set)") from None
        out[key] = kg
    parse_loads_kg(out)  # the same checks as the metadata's
    return out
