"""Synthetic signals with analytic answers, built here independently of the simulator."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from barback.analysis.imu import ImuStream, Role, Session
from barback.analysis.pipeline import analyze
from barback.analysis.units import G0_MPS2

FS = 200.0


def _imu(pos, rot: Rotation, fs=FS, seed=0):
    dt = 1 / fs
    acc = np.gradient(np.gradient(pos, dt, axis=0), dt, axis=0)
    acc[:, 2] += G0_MPS2
    f = rot.apply(acc, inverse=True)
    d = (rot[:-1].inv() * rot[1:]).as_rotvec() / dt
    w = np.vstack([d[:1], 0.5 * (d[1:] + d[:-1]), d[-1:]])
    rng = np.random.default_rng(seed)
    return f + rng.normal(0, 0.01, f.shape), w + rng.normal(0, 0.002, w.shape) + np.deg2rad([0.7, -0.4, 0.2])


def _bar_session(reps, rest=2.0, hold=1.0):
    """Deadlift-like reps: cosine strokes of height A in time T, lowered in 1 s."""
    segs, truth, t = [np.zeros(int(5 * FS))], [], 5.0
    for A, T in reps:
        n = int(T * FS)
        tau = np.arange(n) / FS
        segs.append(A * (1 - np.cos(np.pi * tau / T)) / 2)
        truth.append((t, t + T, A, A / T, A * np.pi / (2 * T)))
        t += T
        segs.append(np.full(int(hold * FS), A))
        t += hold
        m = int(1.0 * FS)
        segs.append(A * (1 + np.cos(np.pi * np.arange(m) / m)) / 2)
        t += 1.0
        segs.append(np.zeros(int(rest * FS)))
        t += rest
    z = np.concatenate(segs)
    n = len(z)
    pos = np.column_stack([0.02 * np.sin(np.pi * z / 0.6), np.zeros(n), z])
    roll = np.deg2rad(6) * np.sin(np.pi * z / 0.6)  # the bar rolls in the hands as it rises
    rot = Rotation.from_rotvec(np.outer(roll, [0, 1, 0])) * Rotation.from_euler("zyx", [30, 70, -120], degrees=True)
    f, w = _imu(pos, rot)
    t_s = np.arange(n) / FS
    return ImuStream(t_s, f, w), truth


def test_cosine_strokes_give_exact_mean_and_peak_velocity():
    stream, truth = _bar_session([(0.55, 1.0), (0.60, 1.4), (0.50, 2.2), (0.58, 0.8)])
    res = analyze(Session("deadlift", {Role.BAR: stream}))
    assert len(res.reps) == len(truth)
    for r, (t0, t1, A, mv, pv) in zip(res.reps, truth):
        assert r.rom_m == pytest.approx(A, abs=0.005)
        assert r.mean_velocity_mps == pytest.approx(mv, abs=0.01)  # one 5 ms sample at each end of a 0.8 s rep
        assert r.peak_velocity_mps == pytest.approx(pv, abs=0.01)
        assert r.concentric_start_s == pytest.approx(t0, abs=0.03)
        assert r.concentric_end_s == pytest.approx(t1, abs=0.03)
    assert res.has_lumbar_flexion is False and res.reps[0].peak_lumbar_flexion_deg is None


def test_small_movements_are_not_reps():
    stream, _ = _bar_session([(0.08, 0.6), (0.05, 0.5)])
    res = analyze(Session("deadlift", {Role.BAR: stream}))
    assert res.reps == []
    assert any("no reps" in w for w in res.warnings)


def _segment(pitch_deg, yaw_deg, mount):
    return (Rotation.from_rotvec(np.outer(np.deg2rad(yaw_deg), [0, 0, 1]))
            * Rotation.from_rotvec(np.outer(np.deg2rad(pitch_deg), [0, 1, 0])) * mount)


def test_lumbar_flexion_is_pitch_difference_and_ignores_heading():
    n = int(40 * FS)
    t = np.arange(n) / FS
    bend = np.clip(np.sin(np.pi * (t - 6) / 3), 0, None) * ((t > 6) & (t < 9)) \
        + np.clip(np.sin(np.pi * (t - 20) / 3), 0, None) * ((t > 20) & (t < 23))
    pelvis = 30 * bend
    flex = 25 * bend
    yaw = np.where(t > 12, 180 * np.clip((t - 12) / 3, 0, 1), 0.0)  # turns around between bends
    lower = _segment(pelvis, yaw, Rotation.from_euler("xyz", [100, 10, -40], degrees=True))
    upper = _segment(pelvis + flex, yaw, Rotation.from_euler("xyz", [-20, 80, 15], degrees=True))
    hip = np.column_stack([np.zeros(n), np.zeros(n), np.full(n, 0.95)])
    f_l, w_l = _imu(hip + lower.apply([-0.1, 0, 0.05]) * 0, lower, seed=1)
    f_u, w_u = _imu(hip + upper.apply([-0.05, 0, 0.3]) * 0, upper, seed=2)
    from barback.analysis.lumbar import inclination_deg, sagittal_frame
    from barback.analysis.orientation import estimate_attitude
    from barback.analysis.timebase import to_uniform

    incl = {}
    for name, (f, w) in {"u": (f_u, w_u), "l": (f_l, w_l)}.items():
        u = to_uniform(ImuStream(t, f, w))
        att = estimate_attitude(u)
        incl[name] = inclination_deg(att.up_sf, sagittal_frame(att, u.t_s, u.fs_hz))
    flexion = incl["u"] - incl["l"]
    assert flexion.max() == pytest.approx(25, abs=1.0)
    assert incl["u"].max() == pytest.approx(55, abs=1.0)
    for k in (int(7.5 * FS), int(21.5 * FS)):  # the bend before and after the turn
        assert flexion[k] == pytest.approx(flex[k], abs=1.0)
