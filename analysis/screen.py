"""The hip-hinge screen: a guided, unloaded drill (a dowel along the back, five slow hinges) that
scores where the trunk's forward tilt comes from.

At the bottom of each hinge the upper lumbar sensor (T12/L1) tilts by the trunk's angle; the
sacral sensor (S1/S2) by the pelvis's, the hips' part; their difference is lumbar flexion, the
spine's part. A sound hinge takes most of the tilt from the hips and keeps the lumbar flexion
inside the athlete's safe range. The same lumbar-angle chain as every session (analysis.lumbar).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from barback.analysis.calibration import routine_angles
from barback.analysis.config import HingeScreenRule, PipelineSettings, Thresholds
from barback.analysis.imu import Session

HINGE_STEPS = (("stand tall, the dowel along your back (head, upper back, sacrum)", 5.0),
               ("five slow hip hinges: push the hips back, then stand tall; repeat", 30.0),
               ("stand tall and still", 3.0))


@dataclass(frozen=True)
class Hinge:
    bottom_s: float
    trunk_deg: float  # the upper lumbar sensor's forward inclination at the bottom
    pelvis_deg: float  # the sacral sensor's
    lumbar_flexion_deg: float  # their difference
    hip_share: float  # pelvis / trunk


@dataclass(frozen=True)
class HingeScreen:
    hinges: tuple[Hinge, ...]
    hip_share: float | None  # the median over the hinges
    max_lumbar_flexion_deg: float | None
    flexion_limit_deg: float  # the athlete's safe range
    limit_from: str  # "calibration" or "default"
    passed: bool
    reasons: tuple[str, ...]  # why it failed, with the numbers
    cues: tuple[str, ...]

    def to_dict(self) -> dict:
        return asdict(self)


def find_hinges(t_s: np.ndarray, trunk_deg: np.ndarray, min_trunk_deg: float) -> list[int]:
    """The bottom (deepest sample) of each forward bend past `min_trunk_deg`, each bend ended by a
    return below half of it."""
    out, start, down = [], 0, False
    for k, x in enumerate(trunk_deg):
        if not down and x >= min_trunk_deg:
            start, down = k, True
        elif down and x < 0.5 * min_trunk_deg:
            out.append(start + int(np.argmax(trunk_deg[start:k])))
            down = False
    if down:
        out.append(start + int(np.argmax(trunk_deg[start:])))
    return out


def hinge_screen(session: Session, th: Thresholds, max_flexion_deg: float | None = None,
                 settings: PipelineSettings = PipelineSettings()) -> HingeScreen:
    """Score a recorded hinge drill. `max_flexion_deg`: the athlete's calibrated maximum, which
    sets the safe range (th.lumbar_flexion.pct_of_max of it); without one, the deadlift's limit."""
    rule: HingeScreenRule = th.hinge_screen
    angles = routine_angles(session, "hinge screen", settings)
    assert angles.t_s is not None and angles.inclination_deg is not None and angles.flexion_deg is not None
    t, trunk, flex = angles.t_s, angles.inclination_deg, angles.flexion_deg
    hinges = []
    for k in find_hinges(t, trunk, rule.min_trunk_deg):
        pelvis = float(trunk[k] - flex[k])
        hinges.append(Hinge(float(t[k]), float(trunk[k]), pelvis, float(flex[k]), pelvis / float(trunk[k])))
    if max_flexion_deg:
        limit, limit_from = th.lumbar_flexion.pct_of_max / 100.0 * max_flexion_deg, "calibration"
    else:
        limit, limit_from = th.exercise["deadlift"].lumbar_flexion_peak_deg, "default"
    reasons, cues = [], []
    if len(hinges) < rule.min_hinges:
        reasons.append(f"{len(hinges)} hinge(s) found of the {rule.hinges:g} asked for (each must tip the trunk "
                       f"{rule.min_trunk_deg:g}° or more): do the drill again")
        return HingeScreen(tuple(hinges), None, None, limit, limit_from, False, tuple(reasons), ())
    share = float(np.median([h.hip_share for h in hinges]))
    peak = float(max(h.lumbar_flexion_deg for h in hinges))
    if share < rule.min_hip_share:
        reasons.append(rule.explanation.format(hip_pct=100 * share, min_hip_pct=100 * rule.min_hip_share))
        cues.append(rule.cue)
    if peak > limit:
        reasons.append(rule.explanation_flexion.format(flexion=peak, limit=limit))
        cues.append(rule.cue_flexion)
    return HingeScreen(tuple(hinges), share, peak, limit, limit_from, not reasons, tuple(reasons), tuple(cues))
