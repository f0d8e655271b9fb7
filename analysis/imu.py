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


EXERCISES = ("deadlift", "romanian_deadlift", "squat", "bench_press")


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
        """Load per set number, from the metadata's optional `loads_kg`."""
        return {int(k): float(v) for k, v in (self.meta.get("loads_kg") or {}).items()}
