"""Synthetic signals with analytic answers, built here independently of the simulator."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from synthetic import FS, _imu
from synthetic import bar_session as _bar_session

from barback.analysis.imu import ImuStream, Role, Session
from barback.analysis.pipeline import analyze


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
    # each sensor sits on its segment, off the hip joint it turns about (the sacrum 5 cm up and
    # 10 cm back, T12/L1 30 cm up): bending swings it, adding tangential and centripetal acceleration
    lower_seg = _segment(pelvis, yaw, Rotation.identity())
    upper_seg = _segment(pelvis + flex, yaw, Rotation.identity())
    f_l, w_l = _imu(hip + lower_seg.apply([-0.1, 0, 0.05]), lower, seed=1)
    f_u, w_u = _imu(hip + upper_seg.apply([-0.05, 0, 0.3]), upper, seed=2)
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
