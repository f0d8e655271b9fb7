"""Trunk inclination and lumbar flexion in the body's sagittal plane.

Each lumbar sensor gives world-up in its own frame (`Attitude.up_sf`). At quiet upright standing at
the start of the recording, that direction is the segment's long axis `axis_sf`. The
medio-lateral axis `ml_sf` (about which the segment pitches forward) is found from the data: it is
the mean direction of axis_sf x up_sf over the samples where the segment bends far forward.
The segment's sagittal inclination is the signed angle from axis_sf to up_sf about ml_sf, after
projecting both onto the sagittal plane: positive forward, zero at standing.

Lumbar flexion = inclination of the upper sensor (T12/L1) - inclination of the lower sensor
(S1/S2). Only tilt enters, never heading, so turning around and walking between sets do not
disturb it, and each sensor may be mounted in any orientation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from barback.analysis.config import PipelineSettings
from barback.analysis.imu import FloatArray, Role
from barback.analysis.orientation import Attitude, still_periods


@dataclass(frozen=True)
class SagittalFrame:
    axis_sf: FloatArray  # segment long axis (world-up at standing), sensor frame
    ml_sf: FloatArray  # medio-lateral axis, sensor frame; rotation about it = forward bend
    standing_s: tuple[float, float]  # the quiet-standing period used as zero
    warnings: tuple[str, ...]


LOCKOUTS = (-np.inf, -np.inf)  # the standing "window" that stands for the reps' lockouts


def standing_reference(att: Attitude, t_s: np.ndarray, fs_hz: float,
                       window_s: tuple[float, float] | None = None,
                       lockouts_s: list[tuple[float, float]] | None = None,
                       settings: PipelineSettings = PipelineSettings()
                       ) -> tuple[FloatArray, tuple[float, float], list[str]]:
    """The segment's long axis (world-up in the sensor frame) at quiet upright standing.

    Normally the first still period of at least 1 s in the first minute. Upright standing is also
    the posture a lifter holds longest between sets, so still periods are grouped by orientation
    (within 12°) and that first period is used only if it belongs to the group held longest;
    otherwise (a recording that starts mid-set, bent over the bar) the first period of the
    longest-held group is used, with a warning. `window_s` imposes a time window instead (so the
    two lumbar sensors share one standing moment). A sensor that is never still (a recording that
    starts and ends mid-set, a lifter who never stands quietly) takes the mean posture at the reps'
    lockouts (`lockouts_s`, from the bar), where a lifter stands upright."""
    warnings: list[str] = []
    if window_s is not None and window_s != LOCKOUTS:
        sel = (t_s >= window_s[0]) & (t_s <= window_s[1])
        if sel.sum() >= 3:
            axis = att.up_sf[sel].mean(axis=0)
            return axis / np.linalg.norm(axis), window_s, warnings
    periods = still_periods(att, fs_hz, min_s=1.0)
    at_lockout = None
    if lockouts_s:
        sel = np.zeros(len(t_s), bool)
        for a_s, b_s in lockouts_s:
            sel[np.searchsorted(t_s, a_s):np.searchsorted(t_s, b_s)] = True
        if sel.sum() >= 3:
            at_lockout = att.up_sf[sel].mean(axis=0)
            at_lockout /= np.linalg.norm(at_lockout)
    lockout_note = (f"the zero of flexion and inclination is the posture at the {len(lockouts_s or [])} "
                    "lockouts (upright)")
    if at_lockout is not None and (not periods or window_s == LOCKOUTS):
        return at_lockout, LOCKOUTS, warnings + [f"never still: {lockout_note}"]
    if not periods:
        a, b = 0, min(len(t_s), int(fs_hz))
        warnings.append("no still period found: the zero of flexion and inclination is the first second")
        axis = att.up_sf[a:b].mean(axis=0)
        return axis / np.linalg.norm(axis), (float(t_s[a]), float(t_s[b - 1])), warnings
    ups = [att.up_sf[a:b].mean(axis=0) for a, b in periods]
    ups = [u / np.linalg.norm(u) for u in ups]
    groups: list[list[int]] = []
    for k, u in enumerate(ups):
        for g in groups:
            if np.dot(u, ups[g[0]]) > np.cos(np.deg2rad(12.0)):
                g.append(k)
                break
        else:
            groups.append([k])
    held = [sum(periods[k][1] - periods[k][0] for k in g) for g in groups]
    best = groups[int(np.argmax(held))]
    early = [k for k, (a, _) in enumerate(periods) if t_s[a] - t_s[0] < 60.0]
    if early and early[0] in best:
        k = early[0]
    else:
        k = best[0]
        warnings.append("no quiet standing at the start: the zero of flexion and inclination is the posture "
                        f"held longest when still, first at {t_s[periods[k][0]]:.1f} s")
    if at_lockout is not None and np.dot(ups[k], at_lockout) < np.cos(np.deg2rad(settings.lockout_agreement_deg)):
        # the posture held still is not the one the lifter locks out in: not standing
        return at_lockout, LOCKOUTS, [f"no quiet standing found: {lockout_note}"]
    a, b = periods[k]
    return ups[k], (float(t_s[a]), float(t_s[b - 1])), warnings


def sagittal_frame(att: Attitude, t_s: np.ndarray, fs_hz: float, min_bend_deg: float = 20.0,
                   axis_sf: np.ndarray | None = None,
                   standing_window_s: tuple[float, float] | None = None,
                   lockouts_s: list[tuple[float, float]] | None = None,
                   settings: PipelineSettings = PipelineSettings()) -> SagittalFrame:
    """The segment's sagittal frame. `axis_sf` gives the standing long axis when it is already
    known (live analysis of a window that does not contain the quiet standing at the start)."""
    if axis_sf is None:
        axis, standing, warnings = standing_reference(att, t_s, fs_hz, standing_window_s, lockouts_s, settings)
    else:
        axis, standing, warnings = axis_sf / np.linalg.norm(axis_sf), (float("nan"), float("nan")), []
    cr = np.cross(axis, att.up_sf)
    s = np.linalg.norm(cr, axis=1)
    bent = s > np.sin(np.deg2rad(min_bend_deg))
    if np.count_nonzero(bent) < 0.5 * fs_hz:
        bent = s > np.sin(np.deg2rad(8.0))
        warnings.append("little forward bending seen: the sagittal plane is less certain")
    if not bent.any():
        # no bending at all: any horizontal axis; inclination will stay near zero
        ml = np.cross(axis, [1.0, 0.0, 0.0] if abs(axis[0]) < 0.9 else [0.0, 1.0, 0.0])
        return SagittalFrame(axis, ml / np.linalg.norm(ml), standing, tuple(warnings))
    dirs = cr[bent] / s[bent, None]
    # the dominant direction is forward bending; backward lean points the other way
    ref = dirs[np.argmax(s[bent])]
    signs = np.sign(dirs @ ref)
    ml = (dirs * (signs * s[bent])[:, None]).sum(axis=0)
    forward = signs > 0
    if np.sum(s[bent][forward]) < np.sum(s[bent][~forward]):
        ml = -ml
    ml -= axis * np.dot(ml, axis)
    return SagittalFrame(axis, ml / np.linalg.norm(ml), standing, tuple(warnings))


def inclination_deg(up_sf: np.ndarray, frame: SagittalFrame) -> np.ndarray:
    """Signed sagittal inclination of the segment from standing, degrees, forward positive."""
    ml = frame.ml_sf
    a = frame.axis_sf - ml * np.dot(frame.axis_sf, ml)
    u = up_sf - np.outer(up_sf @ ml, ml)
    sin = np.cross(a, u) @ ml
    cos = u @ a
    return np.rad2deg(np.arctan2(sin, cos))


@dataclass(frozen=True)
class LumbarAngles:
    """Trunk inclination and lumbar flexion of a session, on the grid of the upper lumbar sensor
    (or of the only one)."""

    t_s: np.ndarray | None
    inclination_deg: np.ndarray | None  # of the upper (or only) sensor's segment, forward positive
    flexion_deg: np.ndarray | None  # upper minus lower inclination; None without both sensors
    standing_s: tuple[float, float] | None  # the standing moment that is the zero of both
    warnings: tuple[str, ...]


def lumbar_angles(sensors: dict[Role, tuple[np.ndarray, Attitude, float]],
                  standing_axes: dict[Role, np.ndarray] | None = None,
                  lockouts_s: list[tuple[float, float]] | None = None,
                  settings: PipelineSettings = PipelineSettings()) -> LumbarAngles:
    """The one lumbar-angle chain, for the pipeline (offline and live) and the calibration.

    `sensors` maps lumbar roles to (grid times, attitude, rate). Both sensors take their zero
    from the same standing moment: the first sensor's standing window is imposed on the second.
    `standing_axes` fixes the zero where it is already known (a live window); `lockouts_s` are
    the reps' lockouts, the zero of sensors that never rest upright."""
    frames: dict[Role, tuple[np.ndarray, np.ndarray]] = {}
    warnings: list[str] = []
    window = None
    standing = None
    for role in (Role.LUMBAR_UPPER, Role.LUMBAR_LOWER):
        if role not in sensors:
            continue
        t_s, att, fs_hz = sensors[role]
        fr = sagittal_frame(att, t_s, fs_hz, axis_sf=(standing_axes or {}).get(role), standing_window_s=window,
                            lockouts_s=lockouts_s, settings=settings)
        if window is None and (np.isfinite(fr.standing_s[0]) or fr.standing_s == LOCKOUTS):
            window = fr.standing_s
        if standing is None:
            standing = fr.standing_s
        frames[role] = (t_s, inclination_deg(att.up_sf, fr))
        warnings.extend(f"{role.value}: {w}" for w in fr.warnings)
    if not frames:
        return LumbarAngles(None, None, None, None, ())
    top = Role.LUMBAR_UPPER if Role.LUMBAR_UPPER in frames else Role.LUMBAR_LOWER
    t_s, incl = frames[top]
    flex = None
    if len(frames) == 2:
        t_lo, incl_lo = frames[Role.LUMBAR_LOWER]
        flex = incl - np.interp(t_s, t_lo, incl_lo)
    else:
        warnings.append("one lumbar sensor: trunk inclination is reported, lumbar flexion needs both "
                        "lumbar_upper and lumbar_lower")
    return LumbarAngles(t_s, incl, flex, standing, tuple(warnings))
