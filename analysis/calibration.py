"""Athlete calibration: standing neutral and maximal voluntary lumbar flexion.

The routine: stand tall (quiet, a few seconds), bend forward as far as comfortable and hold,
stand tall again. Both lumbar sensors are needed. The zero is the first quiet standing (as in
every session); the maximum is the largest flexion reached during the bend.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from barback.analysis.config import PipelineSettings
from barback.analysis.errors import InputError
from barback.analysis.imu import Role, Session
from barback.analysis.lumbar import LumbarAngles, lumbar_angles
from barback.analysis.orientation import prepare_stream
from barback.analysis.timebase import TimestampError

STEPS = (("stand tall and still", 5.0), ("bend forward as far as comfortable and hold", 6.0),
         ("stand tall again", 4.0))


@dataclass(frozen=True)
class Calibration:
    max_flexion_deg: float
    max_trunk_inclination_deg: float
    standing_s: tuple[float, float]
    bend_at_s: float

    def to_dict(self) -> dict:
        return asdict(self)


def routine_angles(session: Session, routine: str, settings: PipelineSettings = PipelineSettings()) -> LumbarAngles:
    """Trunk inclination and lumbar flexion of a guided routine (the calibration, a movement
    screen): both lumbar sensors through the one lumbar-angle chain, or one clear line naming
    what is missing."""
    missing = [r.value for r in (Role.LUMBAR_UPPER, Role.LUMBAR_LOWER) if r not in session.streams]
    if missing:
        raise InputError(session.source or routine, f"the {routine} needs both lumbar sensors; missing {', '.join(missing)}")
    sensors = {}
    for role in (Role.LUMBAR_UPPER, Role.LUMBAR_LOWER):
        try:
            u, att, _ = prepare_stream(session.streams[role], role, settings)
        except TimestampError as exc:
            raise InputError(session.source or routine, f"{role.value}: {exc}") from None
        sensors[role] = (u.t_s, att, u.fs_hz)
    return lumbar_angles(sensors, settings=settings)


def calibrate(session: Session, settings: PipelineSettings = PipelineSettings()) -> Calibration:
    angles = routine_angles(session, "calibration", settings)
    assert angles.t_s is not None and angles.inclination_deg is not None and angles.flexion_deg is not None
    t_ref, flex, standing = angles.t_s, angles.flexion_deg, angles.standing_s
    k = int(np.argmax(flex))
    if flex[k] < 10.0:
        raise InputError(session.source or "calibration",
                         f"no forward bend found (largest flexion {flex[k]:.0f}°): bend as far as comfortable")
    bends = count_bends(angles.inclination_deg)
    if bends > settings.calibration_max_bends:
        raise InputError(session.source or "calibration",
                         f"this is not the calibration routine: the trunk bent forward {bends} times (the routine "
                         "bends once and holds); a lifting session's flexion is not the athlete's maximum")
    return Calibration(float(flex[k]), float(angles.inclination_deg.max()), standing or (float("nan"), float("nan")),
                       float(t_ref[k]))



def count_bends(inclination_deg: np.ndarray) -> int:
    """Forward bends: rises past half the deepest inclination, each after coming back up past a
    quarter of it."""
    top = float(np.max(inclination_deg))
    if not top > 0:
        return 0
    n, down = 0, False
    for x in inclination_deg[:: max(1, len(inclination_deg) // 20_000)]:
        if not down and x > 0.5 * top:
            n, down = n + 1, True
        elif down and x < 0.25 * top:
            down = False
    return n
