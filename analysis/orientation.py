"""Still periods, gyro bias, and the direction of gravity in the sensor frame.

No magnetometer (gym steel distorts it), so heading is not observable: everything downstream uses
the tilt (world "up" in the sensor frame) and, within a rep, a gyro-propagated frame.

The tilt comes from a two-pass (forward and backward in time) Mahony-style complementary filter
over the bias-corrected gyroscope, pulled towards the accelerometer's direction with a gain that
is high while the sensor is still and low while it moves. Linear acceleration during a lift
integrates to zero between rest and rest, so its pull on the tilt stays small; averaging the two
passes cancels the filter's lag.

Quaternions are scalar-first (w, x, y, z) and rotate sensor-frame vectors into the world frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit
from scipy.ndimage import maximum_filter1d, uniform_filter1d

from barback.analysis.config import PipelineSettings
from barback.analysis.imu import FloatArray, ImuStream, Role
from barback.analysis.timebase import UniformStream, decimate, to_uniform
from barback.analysis.units import G0_MPS2


@dataclass(frozen=True)
class Attitude:
    """Per-sample attitude on a uniform stream's grid."""

    up_sf: FloatArray  # (N, 3) unit world-up in the sensor frame (two-pass estimate)
    quat_ws: FloatArray  # (N, 4) forward-pass attitude, sensor -> world, arbitrary heading
    still: np.ndarray  # (N,) bool
    gyro_bias_sf_rps: FloatArray  # (N, 3) bias that was removed
    gravity_mps2: FloatArray  # (N,) local |specific force| at rest (absorbs accelerometer scale)
    n_still_periods: int
    acc_bias_sf_mps2: FloatArray = field(default_factory=lambda: np.zeros(3))  # removed before all else
    # the gyroscope's offset was measured at rest (every axis); otherwise it came from how the tilt
    # moved, which leaves the heading's share unknown
    gyro_bias_from_rests: bool = False


def row_norm(x: np.ndarray) -> np.ndarray:
    """Euclidean norm of each row of an (N, 3) array: np.linalg.norm(x, axis=1) in a third of the
    time on an hour's samples."""
    return np.sqrt(np.einsum("ij,ij->i", x, x))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index ranges where mask is True."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), ends.tolist()))


def detect_still(acc_sf_mps2: FloatArray, gyro_sf_rps: FloatArray, fs_hz: float,
                 settings: PipelineSettings = PipelineSettings()) -> np.ndarray:
    """True where the sensor rests: low rotation, and a specific force that is steady and equal
    to the local gravity magnitude measured in the neighbouring long rests.

    Thresholds adapt to the sensor's own noise floor (the quietest windows of the recording), so
    a noisy sensor still finds its rests, and a smooth, sustained acceleration during a lift is
    not mistaken for rest."""
    w = max(3, int(round(settings.still_window_s * fs_hz)))
    gyro_rough = gyro_sf_rps - np.median(gyro_sf_rps, axis=0)
    gmag = row_norm(gyro_rough)
    if len(gmag) >= 3:  # single-sample spikes (some sensors have them) are not rotation
        gmag = np.minimum(gmag, np.maximum(np.r_[gmag[1:], gmag[-1]], np.r_[gmag[0], gmag[:-1]]))
    g_rms = np.sqrt(uniform_filter1d(gmag**2, w, mode="nearest"))
    # the gyroscope's own noise floor: its spread within the quietest windows (0.7 to 45 deg/s on
    # cheap boards), not its offset, which a slow turn would add to
    g_var = uniform_filter1d(gyro_rough**2, w, axis=0, mode="nearest") - uniform_filter1d(gyro_rough, w, axis=0, mode="nearest")**2
    g_spread = np.sqrt(np.maximum(g_var, 0.0).sum(axis=1))
    q, st = settings.still_noise_quantile, settings
    gyro_lim = max(np.deg2rad(st.still_gyro_dps), st.still_gyro_noise_factor * float(np.quantile(g_spread, q)))
    amag = row_norm(acc_sf_mps2)
    a_mean = uniform_filter1d(amag, w, mode="nearest")
    a_var = uniform_filter1d(amag**2, w, mode="nearest") - a_mean**2
    a_std = np.sqrt(np.maximum(a_var, 0.0))
    noise = float(np.quantile(a_std, q))
    max_std = st.still_acc_std_max_g * G0_MPS2
    std_lim = max(st.still_acc_dev_g * G0_MPS2 / 3, st.still_acc_noise_factor * noise) if noise < max_std else max_std
    std_lim = min(std_lim, max(st.still_acc_noise_cap_factor * noise, st.still_acc_std_floor_mps2))
    g_mov = maximum_filter1d(g_rms, w, mode="nearest")
    cand = (g_mov < gyro_lim) & (a_std < std_lim)
    cand &= np.abs(a_mean - np.median(amag)) < st.still_gravity_dev_g * G0_MPS2
    # a rest holds |f| constant; a slow, smooth push (a grinding rep) makes it trend
    runs = []
    for a, b in _runs(cand):
        if b - a >= 3 * w:
            # compare the mean |f| of the run's thirds: a trend well above what noise allows
            thirds = [float(np.mean(amag[a + k * (b - a) // 3:a + (k + 1) * (b - a) // 3])) for k in range(3)]
            sigma = max(float(np.median(a_std[a:b])), noise) * np.sqrt(2.0 / ((b - a) // 3))
            if max(thirds) - min(thirds) > max(st.still_trend_min_mps2, st.still_trend_sigmas * sigma):
                cand[a:b] = False
                continue
        runs.append((a, b))
    # local gravity from long candidate rests; short ones must match it closely
    long_n = int(st.still_long_rest_s * fs_hz)
    long_runs = [(a, b) for a, b in runs if b - a >= long_n]
    if not long_runs:
        return cand
    centers = [0.5 * (a + b) for a, b in long_runs]
    g_local = np.interp(np.arange(len(amag)), centers, [float(np.mean(amag[a:b])) for a, b in long_runs])
    tol = max(st.still_short_rest_tol_g * G0_MPS2, st.still_acc_noise_factor * noise)
    still = np.zeros_like(cand)
    for a, b in runs:
        if b - a >= long_n or abs(float(np.mean(amag[a:b] - g_local[a:b]))) < tol:
            still[a:b] = True
    return still


def _interp_per_period(values: list[np.ndarray] | list[float], centers: list[float], n: int, default) -> np.ndarray:
    if not centers:
        return np.tile(default, (n, 1)) if np.ndim(default) else np.full(n, default)
    v = np.asarray(values)
    x = np.arange(n)
    if v.ndim == 1:
        return np.interp(x, centers, v)
    return np.column_stack([np.interp(x, centers, v[:, k]) for k in range(v.shape[1])])


@njit(cache=True, nogil=True)
def _mahony(gyro, acc, dt, gain, q0, start, stop, step, out_q, out_up):  # pragma: no cover - compiled
    """Mahony's complementary filter over samples start, start + step, ... (not stop), from the
    attitude q0; step -1 runs back in time (the rotation rates change sign). Writes the attitude
    (sensor -> world) to out_q and world up in the sensor frame to out_up where these have rows,
    and returns the last attitude."""
    qw, qx, qy, qz = q0[0], q0[1], q0[2], q0[3]
    sign = 1.0 if step > 0 else -1.0
    keep_q = out_q.shape[0] > 0
    keep_up = out_up.shape[0] > 0
    for i in range(start, stop, step):
        ax, ay, az = acc[i, 0], acc[i, 1], acc[i, 2]
        an = np.sqrt(ax * ax + ay * ay + az * az)
        ex = ey = ez = 0.0
        if an > 0.0:
            ax /= an
            ay /= an
            az /= an
            vx = 2.0 * (qx * qz - qw * qy)
            vy = 2.0 * (qw * qx + qy * qz)
            vz = qw * qw - qx * qx - qy * qy + qz * qz
            ex = ay * vz - az * vy
            ey = az * vx - ax * vz
            ez = ax * vy - ay * vx
        k = gain[i]
        wx = sign * gyro[i, 0] + k * ex
        wy = sign * gyro[i, 1] + k * ey
        wz = sign * gyro[i, 2] + k * ez
        th = np.sqrt(wx * wx + wy * wy + wz * wz) * dt
        if th > 1e-12:
            s = np.sin(0.5 * th) / (th / dt)
            c = np.cos(0.5 * th)
            dx, dy, dz = wx * s, wy * s, wz * s
            nw = qw * c - qx * dx - qy * dy - qz * dz
            nx = qw * dx + qx * c + qy * dz - qz * dy
            ny = qw * dy - qx * dz + qy * c + qz * dx
            nz = qw * dz + qx * dy - qy * dx + qz * c
            nn = np.sqrt(nw * nw + nx * nx + ny * ny + nz * nz)
            qw, qx, qy, qz = nw / nn, nx / nn, ny / nn, nz / nn
        if keep_q:
            out_q[i, 0] = qw
            out_q[i, 1] = qx
            out_q[i, 2] = qy
            out_q[i, 3] = qz
        if keep_up:
            out_up[i, 0] = 2.0 * (qx * qz - qw * qy)
            out_up[i, 1] = 2.0 * (qw * qx + qy * qz)
            out_up[i, 2] = qw * qw - qx * qx - qy * qy + qz * qz
    q = np.empty(4)
    q[0], q[1], q[2], q[3] = qw, qx, qy, qz
    return q


def quat_from_up(up_sf: np.ndarray) -> np.ndarray:
    """A sensor->world quaternion whose world z is `up_sf` (heading arbitrary)."""
    u = up_sf / np.linalg.norm(up_sf)
    z = np.array([0.0, 0.0, 1.0])
    # rotation taking u (sensor frame) to z (world)
    c = float(np.dot(u, z))
    axis = np.cross(u, z)
    s = np.linalg.norm(axis)
    if s < 1e-9:
        return np.array([1.0, 0.0, 0.0, 0.0]) if c > 0 else np.array([0.0, 1.0, 0.0, 0.0])
    axis /= s
    ang = np.arctan2(s, c)
    return np.concatenate([[np.cos(ang / 2)], np.sin(ang / 2) * axis])


def up_from_quat(q: np.ndarray) -> np.ndarray:
    """World up (0, 0, 1) expressed in the sensor frame, for (N, 4) quaternions."""
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    return np.column_stack([2 * (x * z - w * y), 2 * (w * x + y * z), w * w - x * x - y * y + z * z])


@njit(cache=True, nogil=True)
def _rotate(q, v, out):  # pragma: no cover - compiled
    for i in range(q.shape[0]):
        w, x, y, z = q[i, 0], q[i, 1], q[i, 2], q[i, 3]
        a, b, c = v[i, 0], v[i, 1], v[i, 2]
        tx = 2.0 * (y * c - z * b)
        ty = 2.0 * (z * a - x * c)
        tz = 2.0 * (x * b - y * a)
        out[i, 0] = a + w * tx + (y * tz - z * ty)
        out[i, 1] = b + w * ty + (z * tx - x * tz)
        out[i, 2] = c + w * tz + (x * ty - y * tx)


def rotate_to_world(q: np.ndarray, v_sf: np.ndarray) -> np.ndarray:
    """Rotate (N, 3) sensor-frame vectors by (N, 4) quaternions into the world frame
    (v + 2w (u x v) + u x (2 u x v), u the quaternion's vector part), in one compiled pass."""
    out = np.empty((len(v_sf), 3))
    _rotate(np.ascontiguousarray(q, float), np.ascontiguousarray(v_sf, float), out)
    return out


def fit_acc_bias(means_sf: np.ndarray, min_spread_deg: float = 30.0, max_bias_g: float = 0.15,
                 ridge: float = 0.001) -> np.ndarray | None:
    """Accelerometer bias from rests in different orientations: at rest |f - b| is the same for
    every orientation, so the rests' mean specific forces lie on a sphere around the bias. Solved
    by Gauss-Newton for the centre and radius, with a small ridge on the bias for the direction
    the orientations do not span (a lifter mostly pitches about one axis). The ridge must stay
    small: a stronger one (0.1) shrank the bias in the bend's plane too, and the part left tilted
    every bent posture (50 mg along the trunk is 1.8 deg at 40 deg of bend; peak flexion RMSE
    2.4 deg on a poor IMU at 52 Hz, 1.1 with this ridge). None when the rests are too few or too
    alike, or the result is implausible (rests that no sphere fits, such as a never-still bar's,
    give a centre far off)."""
    m = np.asarray(means_sf, float)
    if len(m) < 4:
        return None
    u = m / np.linalg.norm(m, axis=1, keepdims=True)
    spread = np.degrees(np.arccos(np.clip(u @ u.T, -1, 1))).max()
    if spread < min_spread_deg:
        return None
    b = np.zeros(3)
    r = float(np.median(np.linalg.norm(m, axis=1)))
    for _ in range(10):
        d = m - b
        nd = np.linalg.norm(d, axis=1)
        res = nd - r
        J = np.column_stack([-d / nd[:, None], -np.ones(len(m))])
        A = J.T @ J + np.diag([ridge, ridge, ridge, 0.0])
        step = np.linalg.solve(A, -(J.T @ res) - np.concatenate([ridge * b, [0.0]]))
        b, r = b + step[:3], r + step[3]
        if np.linalg.norm(step) < 1e-6:
            break
    if np.linalg.norm(b) > max_bias_g * G0_MPS2:
        return None
    return b


def gyro_bias_from_tilt(acc_sf: np.ndarray, gyro_sf: np.ndarray, fs_hz: float, valid: np.ndarray,
                        gravity_mps2: float = G0_MPS2, window_s: float = 20.0) -> np.ndarray:
    """Gyroscope offset without a single still moment.

    Gravity is fixed in the world, so in the sensor frame its direction u moves only by the
    sensor's rotation: du/dt = u x (w_measured - b). Wherever the specific force is close to 1 g
    (little linear acceleration), u is the low-passed accelerometer direction, and the offset b
    solves sum (I - u u^T) b = sum (u x w - du/dt) x u in the least-squares sense. The component of b
    along an axis that never tilts is not observable, and does not matter for the tilt; a small
    ridge keeps it at zero. Solved over windows of `window_s` (offsets drift with temperature) and
    interpolated between their centres; (N, 3) rad/s."""
    n = len(acc_sf)
    w = max(3, int(round(0.25 * fs_hz)))
    f = uniform_filter1d(acc_sf, w, axis=0, mode="nearest")
    fn = row_norm(f)
    u = f / np.maximum(fn, 1e-9)[:, None]
    wm = uniform_filter1d(gyro_sf, w, axis=0, mode="nearest")
    du = np.gradient(u, 1.0 / fs_hz, axis=0)
    r = np.cross(u, wm) - du
    ok = valid & (np.abs(row_norm(acc_sf) - gravity_mps2) < 0.15 * G0_MPS2)
    ok &= np.abs(fn - gravity_mps2) < 0.1 * G0_MPS2
    rhs_i = np.cross(r, u) * ok[:, None]
    lhs_i = (np.eye(3)[None] - u[:, :, None] * u[:, None, :]) * ok[:, None, None]
    step = max(1, int(0.5 * window_s * fs_hz))
    centres, values = [], []
    c_l = np.cumsum(lhs_i, axis=0)
    c_r = np.cumsum(rhs_i, axis=0)
    for a in range(0, max(1, n - step), step):
        b = min(n, a + 2 * step)
        A = c_l[b - 1] - (c_l[a - 1] if a else 0)
        B = c_r[b - 1] - (c_r[a - 1] if a else 0)
        m = float(np.trace(A)) / 2.0  # samples that count
        if m < fs_hz:
            continue
        values.append(np.linalg.solve(A + 0.01 * m * np.eye(3), B))
        centres.append(0.5 * (a + b - 1))
    return _interp_per_period(values, centres, n, np.zeros(3))


@njit(cache=True, nogil=True)
def _despike(x, limit, out):  # pragma: no cover - compiled
    for i in range(1, x.shape[0] - 1):
        for k in range(x.shape[1]):
            a, b, c = x[i - 1, k], x[i, k], x[i + 1, k]
            med = max(min(a, b), min(max(a, b), c))  # median of three
            if abs(b - med) > limit[k]:
                out[i, k] = med


def despike(x: np.ndarray, min_jump: float = np.deg2rad(20.0)) -> np.ndarray:
    """Replace single-sample spikes (cheap boards have them, tens to hundreds of deg/s) by the
    median of the sample and its two neighbours. A spike stands out from both neighbours in the
    same direction by far more than the sample-to-sample noise; real rotation of a lifter or a
    bar changes smoothly at these rates."""
    if len(x) < 5:
        return x
    noise = 1.4826 * np.median(np.abs(np.diff(x, axis=0)), axis=0)
    src = np.ascontiguousarray(x, float)
    out = src.copy()
    _despike(src, np.maximum(6.0 * noise, min_jump), out)
    return out


def estimate_attitude(s: UniformStream, settings: PipelineSettings = PipelineSettings()) -> Attitude:
    """Still periods, accelerometer and gyro bias, local gravity and tilt for one stream."""
    n = len(s)
    still = detect_still(s.acc_sf_mps2, s.gyro_sf_rps, s.fs_hz, settings) & s.valid
    min_len = int(0.4 * s.fs_hz)
    periods = [(a, b) for a, b in _runs(still) if b - a >= min_len]
    acc_bias = fit_acc_bias(np.array([s.acc_sf_mps2[a:b].mean(axis=0) for a, b in periods]).reshape(-1, 3))
    if acc_bias is None:
        acc_bias = np.zeros(3)
    acc = s.acc_sf_mps2 - acc_bias
    amag = row_norm(acc)
    centers = [0.5 * (a + b - 1) for a, b in periods]
    grav = _interp_per_period([float(np.mean(amag[a:b])) for a, b in periods], centers, n, float(np.median(amag)))
    from_rests = len(periods) >= 2 and sum(b - a for a, b in periods) >= 3.0 * s.fs_hz
    if from_rests:
        bias = _interp_per_period([np.median(s.gyro_sf_rps[a:b], axis=0) for a, b in periods], centers, n,
                                  np.zeros(3))
    else:  # never (or once) still: the offset from how the tilt moves
        bias = gyro_bias_from_tilt(acc, despike(s.gyro_sf_rps), s.fs_hz, s.valid, float(np.median(grav)))
    gyro = despike(s.gyro_sf_rps - bias)
    dt = 1.0 / s.fs_hz
    gain = np.where(still, settings.tilt_gain_still_per_s, settings.tilt_gain_per_s)
    # trust the accelerometer less when the specific force is far from 1 g (impacts, jumps)
    gain = gain * (np.abs(amag - grav) < 0.5 * G0_MPS2)
    # across a long gap both sensors were interpolated: coast, then re-converge quickly on the
    # far side (each pass runs into the gap from one side)
    k = int(0.5 * s.fs_hz)
    for a, b in _runs(~s.valid):
        if b - a > settings.max_bridge_s * s.fs_hz:
            gain[a:b] = 0.0
            gain[b:b + k] = np.maximum(gain[b:b + k], 4.0)
            gain[max(0, a - k):a] = np.maximum(gain[max(0, a - k):a], 4.0)
    # a recording may start mid-set with the sensor anywhere. The backward pass must start
    # converged at the recording's end: a forward pass over the last minute (the whole recording
    # when shorter) from the mean specific force of that minute's first second gives its start.
    # The forward pass then starts from where the backward one ended, so that neither pass is
    # still converging at either end of the recording.
    empty_q, empty_up = np.empty((0, 4)), np.empty((0, 3))
    lead = max(0, n - int(settings.tilt_warmup_s * s.fs_hz))
    q0 = quat_from_up(np.mean(acc[lead:lead + min(n - lead, max(1, int(s.fs_hz)))], axis=0))
    q_end = _mahony(gyro, acc, dt, gain, q0, lead, n, 1, empty_q, empty_up)
    up_b = np.empty((n, 3))
    q_start = _mahony(gyro, acc, dt, gain, q_end, n - 1, -1, -1, empty_q, up_b)
    q_f, up = np.empty((n, 4)), np.empty((n, 3))
    _mahony(gyro, acc, dt, gain, q_start, 0, n, 1, q_f, up)
    up += up_b
    up /= row_norm(up)[:, None]
    return Attitude(up_sf=up, quat_ws=q_f, still=still, gyro_bias_sf_rps=bias, gravity_mps2=grav,
                    n_still_periods=len(periods), acc_bias_sf_mps2=acc_bias, gyro_bias_from_rests=from_rests)


def still_periods(att: Attitude, fs_hz: float, min_s: float = 0.4) -> list[tuple[int, int]]:
    return [(a, b) for a, b in _runs(att.still) if b - a >= int(min_s * fs_hz)]


def prepare_stream(stream: ImuStream, role: Role,
                   settings: PipelineSettings = PipelineSettings()) -> tuple[UniformStream, Attitude, float]:
    """One sensor's samples on a uniform grid with their attitude: the single way every caller
    (analysis, calibration, the live view's standing reference) gets them. The lumbar sensors are
    worked at `settings.lumbar_rate_hz`; the bar keeps its rate (velocity integrates every sample).
    Returns the stream, its attitude and the sensor's own sample rate."""
    u = to_uniform(stream)
    work = u if role is Role.BAR else decimate(u, settings.lumbar_rate_hz)
    return work, estimate_attitude(work, settings), u.fs_hz
