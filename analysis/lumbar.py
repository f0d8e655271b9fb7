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

Side bend and twist need the third axis, which gravity does not give (a twist of an upright spine
turns neither sensor's tilt): they come from the two sensors' full attitudes, the upper's
orientation relative to the lower's, over the few seconds of one rep, against its own lockout
(the lifter upright). Over seconds the gyroscopes' heading is exact to a fraction of a degree;
over a session it drifts, so no longer reference is used.
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
        # each lockout's posture, then their component-wise median: a rep that leaned back at
        # lockout (a fault the analysis must see) does not move the zero the others agree on
        means, n = [], 0
        for a_s, b_s in lockouts_s:
            a, b = np.searchsorted(t_s, [a_s, b_s])
            if b > a:
                means.append(att.up_sf[a:b].mean(axis=0))
                n += b - a
        if n >= 3:
            at_lockout = np.median(np.array(means), axis=0)
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


Reference = tuple[FloatArray, tuple[float, float], list[str]]  # standing axis, its window, warnings


def segment_reference(att: Attitude, t_s: np.ndarray, fs_hz: float, axis_sf: np.ndarray | None = None,
                      standing_window_s: tuple[float, float] | None = None,
                      lockouts_s: list[tuple[float, float]] | None = None,
                      settings: PipelineSettings = PipelineSettings()) -> Reference:
    """The segment's zero: its standing long axis, the window it came from, and warnings.
    `axis_sf` gives the axis when it is already known (live analysis of a window that does not
    contain the quiet standing at the start)."""
    if axis_sf is None:
        return standing_reference(att, t_s, fs_hz, standing_window_s, lockouts_s, settings)
    return axis_sf / np.linalg.norm(axis_sf), (float("nan"), float("nan")), []


def sagittal_frame(att: Attitude, t_s: np.ndarray, fs_hz: float, min_bend_deg: float = 20.0,
                   reference: Reference | None = None,
                   settings: PipelineSettings = PipelineSettings()) -> SagittalFrame:
    """The segment's sagittal frame, from its zero (`reference`; by default the first quiet
    standing, `segment_reference`)."""
    if reference is None:
        reference = segment_reference(att, t_s, fs_hz, settings=settings)
    axis, standing, warnings = reference[0], reference[1], list(reference[2])
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
    # both segments' anatomical axes in their sensors' worlds, on t_s: (N, 2, 4) quaternions (see
    # anatomical_attitudes); None without both sensors
    anatomical_quat: np.ndarray | None = None


def lumbar_references(sensors: dict[Role, tuple[np.ndarray, Attitude, float]],
                      standing_axes: dict[Role, np.ndarray] | None = None,
                      lockouts_s: list[tuple[float, float]] | None = None,
                      settings: PipelineSettings = PipelineSettings()) -> dict[Role, Reference]:
    """Each lumbar sensor's zero (see `lumbar_angles`). Both sensors take it from the same
    standing moment: the first sensor's standing window is imposed on the second."""
    refs: dict[Role, Reference] = {}
    window = None
    for role in (Role.LUMBAR_UPPER, Role.LUMBAR_LOWER):
        if role not in sensors:
            continue
        t_s, att, fs_hz = sensors[role]
        ref = segment_reference(att, t_s, fs_hz, (standing_axes or {}).get(role), window, lockouts_s, settings)
        if window is None and (np.isfinite(ref[1][0]) or ref[1] == LOCKOUTS):
            window = ref[1]
        refs[role] = ref
    return refs


def same_references(a: dict[Role, Reference], b: dict[Role, Reference]) -> bool:
    """Whether two sets of zeros are the same (then so are the angles from them)."""
    return a.keys() == b.keys() and all(
        np.array_equal(a[r][0], b[r][0]) and a[r][1] == b[r][1] and a[r][2] == b[r][2] for r in a)


def lumbar_angles(sensors: dict[Role, tuple[np.ndarray, Attitude, float]],
                  standing_axes: dict[Role, np.ndarray] | None = None,
                  lockouts_s: list[tuple[float, float]] | None = None,
                  settings: PipelineSettings = PipelineSettings(),
                  references: dict[Role, Reference] | None = None) -> LumbarAngles:
    """The one lumbar-angle chain, for the pipeline (offline and live) and the calibration.

    `sensors` maps lumbar roles to (grid times, attitude, rate). Both sensors take their zero
    from the same standing moment (`lumbar_references`; `references` where already found).
    `standing_axes` fixes the zero where it is already known (a live window); `lockouts_s` are
    the reps' lockouts, the zero of sensors that never rest upright."""
    if references is None:
        references = lumbar_references(sensors, standing_axes, lockouts_s, settings)
    frames: dict[Role, tuple[np.ndarray, np.ndarray]] = {}
    sagittal: dict[Role, SagittalFrame] = {}
    warnings: list[str] = []
    standing = None
    for role, ref in references.items():
        t_s, att, fs_hz = sensors[role]
        fr = sagittal_frame(att, t_s, fs_hz, reference=ref, settings=settings)
        if standing is None:
            standing = fr.standing_s
        frames[role] = (t_s, inclination_deg(att.up_sf, fr))
        sagittal[role] = fr
        warnings.extend(f"{role.value}: {w}" for w in fr.warnings)
    if not frames:
        return LumbarAngles(None, None, None, None, ())
    top = Role.LUMBAR_UPPER if Role.LUMBAR_UPPER in frames else Role.LUMBAR_LOWER
    t_s, incl = frames[top]
    flex = rel = None
    if len(frames) == 2:
        t_lo, incl_lo = frames[Role.LUMBAR_LOWER]
        flex = incl - np.interp(t_s, t_lo, incl_lo)
        att_u, att_lo = sensors[Role.LUMBAR_UPPER][1], sensors[Role.LUMBAR_LOWER][1]
        if att_u.gyro_bias_from_rests and att_lo.gyro_bias_from_rests:
            rel = anatomical_attitudes(att_u.quat_ws, att_lo.quat_ws, t_s, t_lo,
                                       sagittal[Role.LUMBAR_UPPER], sagittal[Role.LUMBAR_LOWER])
        else:
            # measured on simulated commodity sensors that never rest: 6-7 deg RMS of error
            warnings.append("side bend and twist are not measured: a lumbar sensor never rested long enough "
                            "(3 s in all) to measure its gyroscope's offset, which they need")
    else:
        warnings.append("one lumbar sensor: trunk inclination is reported, lumbar flexion needs both "
                        "lumbar_upper and lumbar_lower")
    return LumbarAngles(t_s, incl, flex, standing, tuple(warnings), rel)


def _quat_mul(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hamilton products of (N, 4) or (4,) quaternions (w, x, y, z)."""
    pw, px, py, pz = np.moveaxis(np.asarray(p, float), -1, 0)
    qw, qx, qy, qz = np.moveaxis(np.asarray(q, float), -1, 0)
    return np.stack([pw * qw - px * qx - py * qy - pz * qz, pw * qx + px * qw + py * qz - pz * qy,
                     pw * qy - px * qz + py * qw + pz * qx, pw * qz + px * qy - py * qx + pz * qw], axis=-1)


def _quat_conj(q: np.ndarray) -> np.ndarray:
    return np.asarray(q, float) * np.array([1.0, -1.0, -1.0, -1.0])


def _quat_from_matrix(m: np.ndarray) -> np.ndarray:
    """The unit quaternion of a proper 3 x 3 rotation matrix (Shepperd's method)."""
    tr = float(np.trace(m))
    k = int(np.argmax([tr, m[0, 0], m[1, 1], m[2, 2]]))
    if k == 0:
        w = 0.5 * np.sqrt(1.0 + tr)
        q = np.array([w, (m[2, 1] - m[1, 2]) / (4 * w), (m[0, 2] - m[2, 0]) / (4 * w), (m[1, 0] - m[0, 1]) / (4 * w)])
    else:
        i, j, h = (k - 1), k % 3, (k + 1) % 3
        r = 0.5 * np.sqrt(1.0 + m[i, i] - m[j, j] - m[h, h])
        v = np.empty(3)
        v[i] = r
        v[j] = (m[j, i] + m[i, j]) / (4 * r)
        v[h] = (m[h, i] + m[i, h]) / (4 * r)
        q = np.array([(m[h, j] - m[j, h]) / (4 * r), *v])
    return q / np.linalg.norm(q)


def _resample_quat(q: np.ndarray, t_from: np.ndarray, t_to: np.ndarray) -> np.ndarray:
    """Quaternions on another grid: component-wise interpolation of a sign-continuous series,
    normalised (exact enough between samples 10 ms apart)."""
    q = np.array(q, float)
    flip = np.cumsum(np.r_[0, (np.einsum("ij,ij->i", q[1:], q[:-1]) < 0).astype(np.int64)]) % 2 == 1
    q[flip] *= -1.0
    out = np.column_stack([np.interp(t_to, t_from, q[:, k]) for k in range(4)])
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def _anatomical_quat(frame: SagittalFrame) -> np.ndarray:
    """The rotation from a segment's anatomical axes (x forward, y to the lifter's left, z up
    along the segment) to its sensor's frame."""
    up = frame.axis_sf / np.linalg.norm(frame.axis_sf)
    left = -frame.ml_sf  # ml_sf points to the lifter's right (forward inclination positive)
    left = left - up * np.dot(left, up)
    left /= np.linalg.norm(left)
    return _quat_from_matrix(np.column_stack([np.cross(left, up), left, up]))


def anatomical_attitudes(quat_upper_ws: np.ndarray, quat_lower_ws: np.ndarray, t_upper_s: np.ndarray,
                         t_lower_s: np.ndarray, upper_frame: SagittalFrame, lower_frame: SagittalFrame) -> np.ndarray:
    """Both segments' anatomical axes in their sensors' worlds, on the upper sensor's grid: (N, 2, 4)
    quaternions, upper then lower. The two worlds differ by an unknown heading (each sensor's
    attitude filter starts its own): `spine_angles_deg` aligns them at a reference posture."""
    q_lo = _resample_quat(quat_lower_ws, t_lower_s, t_upper_s)
    return np.stack([_quat_mul(np.asarray(quat_upper_ws, float), _anatomical_quat(upper_frame)),
                     _quat_mul(q_lo, _anatomical_quat(lower_frame))], axis=1)


def _heading(q: np.ndarray) -> float:
    """Heading of the forward (x) axis of an attitude."""
    w, x, y, z = q
    return float(np.arctan2(2 * (x * y + w * z), 1 - 2 * (y * y + z * z)))


def _matrices(q: np.ndarray) -> np.ndarray:
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack([np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
                     np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
                     np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1)], -2)


def spine_angles_deg(anatomical: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flexion, side bend and twist of the upper segment against the lower, degrees, from a
    reference posture (both (…, 2, 4) as `anatomical_attitudes` gives; the reference one pair,
    such as `mean_quat` of a lockout). The two worlds are turned to one heading at the reference
    (upright, the segments face one way); then the upper's rotation relative to the lower since
    the reference is decomposed flexion first (about the lower segment's left axis), side bend
    second (about its forward axis), twist last (about the long axis), the order the ISB
    recommends for the spine (Wu et al. 2002, J Biomech 35:543). Signs: flexion forward, side
    bend to the right, twist turning the chest to the right."""
    anatomical = np.asarray(anatomical, float)
    ref_u, ref_lo = np.asarray(reference, float)
    psi = _heading(ref_lo) - _heading(ref_u)
    turn = np.array([np.cos(0.5 * psi), 0.0, 0.0, np.sin(0.5 * psi)])  # about world up
    rel = _quat_mul(_quat_conj(anatomical[..., 1, :]), _quat_mul(turn, anatomical[..., 0, :]))
    rel_ref = _quat_mul(_quat_conj(ref_lo), _quat_mul(turn, ref_u))
    d = _matrices(_quat_mul(rel, _quat_conj(rel_ref)))
    side_bend = np.degrees(np.arcsin(np.clip(-d[..., 1, 2], -1.0, 1.0)))
    twist_left = np.degrees(np.arctan2(d[..., 1, 0], d[..., 1, 1]))
    flexion = np.degrees(np.arctan2(d[..., 0, 2], d[..., 2, 2]))
    return flexion, side_bend, -twist_left


def mean_quat(q: np.ndarray) -> np.ndarray:
    """The mean attitude of a short run of (N, ..., 4) quaternions, over the first axis (signs
    aligned to the first)."""
    q = np.asarray(q, float)
    q = q * np.sign(np.sum(q * q[:1], axis=-1, keepdims=True))
    m = q.mean(axis=0)
    return m / np.linalg.norm(m, axis=-1, keepdims=True)
