"""Bar vertical acceleration, velocity and position from a bar-mounted IMU.

Vertical acceleration is the specific force projected on world-up minus the local gravity
measured at rest. Integrating it drifts, so velocity is pinned to zero where the bar is known to
be stationary ("anchors"):

* still periods (the bar rests on the floor, in the rack, or is held at lockout), and
* turnaround points: the lowest and highest points of every stroke, where vertical velocity is
  zero by definition. They are found on the drift-corrected position itself and refined twice,
  which handles touch-and-go sets that never rest.

Between anchors the integration error is removed as a piecewise-linear function of time, which is
exact for a constant or linearly drifting accelerometer bias and tilt leak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from analysis.imu import FloatArray
from analysis.orientation import Attitude, rotate_to_world
from analysis.timebase import UniformStream


@dataclass(frozen=True)
class BarTrack:
    t_s: FloatArray
    fs_hz: float
    acc_z_wf_mps2: FloatArray  # vertical acceleration, gravity removed
    vel_z_wf_mps: FloatArray
    pos_z_wf_m: FloatArray
    acc_h_wf_mps2: FloatArray  # (N, 2) horizontal acceleration, forward-pass world frame
    still: np.ndarray
    valid: np.ndarray
    anchors_idx: np.ndarray  # sample indices where velocity was pinned to zero (turnarounds)


def _cumtrapz(y: np.ndarray, dt: float) -> np.ndarray:
    out = np.empty_like(y)
    out[0] = 0.0
    np.cumsum(0.5 * (y[1:] + y[:-1]) * dt, out=out[1:], axis=0)
    return out


def anchored_velocity(acc: np.ndarray, fs_hz: float, zero_idx: np.ndarray,
                      valid: np.ndarray | None = None) -> np.ndarray:
    """Integrate acceleration and subtract the piecewise-linear error that makes velocity zero at
    every index in `zero_idx` (sorted). Without anchors, the raw integral is returned.

    A data gap (`valid` False) breaks the integration: what was lost in it is unknown, so each
    stretch between gaps is pinned by its own anchors (held constant beyond the outermost)."""
    n = len(acc)
    if valid is None or valid.all():
        pieces = [(0, n)]
    else:
        starts = np.flatnonzero(np.diff(valid.astype(np.int8)) == -1) + 1  # first invalid sample
        bounds = np.concatenate([[0], starts, [n]])
        pieces = list(zip(bounds[:-1], bounds[1:]))
    out = np.empty(n)
    for a, b in pieces:
        v = _cumtrapz(acc[a:b], 1.0 / fs_hz)
        z = zero_idx[(zero_idx >= a) & (zero_idx < b)] - a
        if len(z):
            v = v - np.interp(np.arange(b - a), z, v[z])
        out[a:b] = v
    return out


@njit(cache=True, nogil=True)
def _zigzag(x, swing):  # pragma: no cover - compiled
    """Alternating extrema of x whose swings are at least `swing` (hysteresis). Returns indices
    and kinds (+1 high, -1 low); the last, still-open extremum is included."""
    n = x.shape[0]
    idx = np.empty(n, np.int64)
    kind = np.empty(n, np.int64)
    m = 0
    if n == 0:
        return idx[:0], kind[:0]
    hi_i = lo_i = 0
    direction = 0  # 0 unknown, +1 rising (tracking a high), -1 falling (tracking a low)
    for i in range(1, n):
        if direction >= 0:
            if x[i] > x[hi_i]:
                hi_i = i
            if direction == 1 and x[hi_i] - x[i] >= swing:
                idx[m] = hi_i
                kind[m] = 1
                m += 1
                direction = -1
                lo_i = i
                continue
        if direction <= 0:
            if x[i] < x[lo_i]:
                lo_i = i
            if direction == -1 and x[i] - x[lo_i] >= swing:
                idx[m] = lo_i
                kind[m] = -1
                m += 1
                direction = 1
                hi_i = i
                continue
        if direction == 0:
            if x[hi_i] - x[lo_i] >= swing:
                if hi_i > lo_i:
                    idx[m] = lo_i
                    kind[m] = -1
                    m += 1
                    direction = 1
                else:
                    idx[m] = hi_i
                    kind[m] = 1
                    m += 1
                    direction = -1
    if direction == 1:
        idx[m] = hi_i
        kind[m] = 1
        m += 1
    elif direction == -1:
        idx[m] = lo_i
        kind[m] = -1
        m += 1
    return idx[:m], kind[:m]


def extrema(pos_m: np.ndarray, swing_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Alternating lowest and highest points separated by at least `swing_m` of travel."""
    return _zigzag(np.ascontiguousarray(pos_m, dtype=np.float64), float(swing_m))


def turnarounds(pos_m: np.ndarray, still: np.ndarray, fs_hz: float, prominence_m: float,
                min_segment_s: float) -> np.ndarray:
    """Indices of highest and lowest points (swings of at least `prominence_m`) inside long
    motion segments.

    Short segments are already pinned by the still periods on both sides; a turnaround anchor
    there could only add error."""
    idx, _ = extrema(pos_m, prominence_m)
    moving = ~still
    d = np.diff(np.concatenate([[0], moving.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    keep = np.zeros(len(idx), bool)
    margin = int(0.3 * fs_hz)
    for a, b in zip(starts, ends):
        if b - a >= min_segment_s * fs_hz:
            keep |= (idx >= a + margin) & (idx < b - margin)
    return idx[keep]


def confirm_rests(acc_up: np.ndarray, still: np.ndarray, fs_hz: float, max_speed_mps: float = 0.05,
                  max_run_s: float = 8.0, horizon_s: float = 5.0, valid: np.ndarray | None = None) -> np.ndarray:
    """Drop still runs that are really steady motion.

    An accelerometer cannot tell rest from constant velocity, and a slow grinding rep can look
    still for seconds. Integrating from the neighbouring rests, forwards and backwards, tells them
    apart: at a true rest the speed carried in from either side is near zero. Only neighbours
    within `horizon_s`, and no integration across a data gap, are used, so neither drift nor a
    gap can condemn a true rest."""
    still = still.copy()
    dt = 1.0 / fs_hz
    for _ in range(2):
        d = np.diff(np.concatenate([[0], still.astype(np.int8), [0]]))
        runs: list[tuple[int, int]] = []
        for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
            if runs and a - runs[-1][1] < 0.15 * fs_hz:  # fragments of one rest (or one fake)
                runs[-1] = (runs[-1][0], b)
            else:
                runs.append((a, b))
        changed = False
        for k, (a, b) in enumerate(runs):
            if b - a >= max_run_s * fs_hz:
                continue
            prev_end = runs[k - 1][1] if k > 0 else None
            next_start = runs[k + 1][0] if k + 1 < len(runs) else None
            v_f = v_b = np.inf
            if prev_end is not None and a - prev_end <= horizon_s * fs_hz and (valid is None or valid[prev_end:a].all()):
                v_f = abs(float(np.sum(acc_up[prev_end:a]) * dt))
            if next_start is not None and next_start - b <= horizon_s * fs_hz and (
                    valid is None or valid[b:next_start].all()):
                v_b = abs(float(np.sum(acc_up[b:next_start]) * dt))
            if min(v_f, v_b) > max_speed_mps and np.isfinite(min(v_f, v_b)):
                still[a:b] = False
                changed = True
        if not changed:
            break
    return still


def track_bar(s: UniformStream, att: Attitude, prominence_m: float = 0.04,
              min_segment_s: float = 0.0) -> BarTrack:
    """Vertical kinematics of the bar sensor on its uniform grid."""
    acc_sf = s.acc_sf_mps2 - att.acc_bias_sf_mps2
    acc_up = np.einsum("ij,ij->i", acc_sf, att.up_sf) - att.gravity_mps2
    still = confirm_rests(acc_up, att.still, s.fs_hz, valid=s.valid)
    acc_up[still] = 0.0
    still_idx = np.flatnonzero(still)
    # first pass: still periods only; then add the turnarounds it shows, and refine them once
    vel = anchored_velocity(acc_up, s.fs_hz, still_idx, s.valid)
    pos = _cumtrapz(vel, 1.0 / s.fs_hz)
    turn = np.zeros(0, dtype=np.int64)
    for _ in range(2):
        turn = turnarounds(pos, still, s.fs_hz, prominence_m, min_segment_s)
        if not len(turn):
            break
        vel = anchored_velocity(acc_up, s.fs_hz, np.union1d(still_idx, turn), s.valid)
        pos = _cumtrapz(vel, 1.0 / s.fs_hz)
    acc_wf = rotate_to_world(att.quat_ws, acc_sf)
    return BarTrack(t_s=s.t_s, fs_hz=s.fs_hz, acc_z_wf_mps2=acc_up, vel_z_wf_mps=vel, pos_z_wf_m=pos,
                    acc_h_wf_mps2=acc_wf[:, :2], still=still, valid=s.valid, anchors_idx=turn)


def horizontal_drift(track: BarTrack, i0: int, i1: int) -> tuple[float, np.ndarray]:
    """Largest horizontal distance of the bar from the straight start-to-end chord during
    samples [i0, i1], and the horizontal path (N, 2) relative to the start.

    Horizontal velocity is pinned to zero at both ends (the bar is at rest off the floor and at
    lockout), which also removes any constant tilt leak of gravity. Measuring against the chord
    rather than a vertical line makes the result immune to a small residual tilt error, which
    would lean the whole path."""
    a = track.acc_h_wf_mps2[i0:i1 + 1]
    dt = 1.0 / track.fs_hz
    v = _cumtrapz(a, dt)
    frac = np.linspace(0.0, 1.0, len(v))[:, None]
    v = v - frac * v[-1]
    p = _cumtrapz(v, dt)
    z = track.pos_z_wf_m[i0:i1 + 1]
    rom = z[-1] - z[0]
    if rom <= 0:
        return float("nan"), p
    lam = ((z - z[0]) / rom)[:, None]
    dev = p - lam * p[-1]
    return float(np.max(np.linalg.norm(dev, axis=1))), p
