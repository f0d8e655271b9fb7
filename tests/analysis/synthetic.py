"""Synthetic IMU signals with analytic answers, built for the tests independently of the simulator."""

import numpy as np
from scipy.spatial.transform import Rotation

from barback.analysis.imu import ImuStream
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


def bar_session(reps, rest=2.0, hold=1.0, tail=None):
    """Deadlift-like reps: cosine strokes of height A in time T, held `hold` s, lowered in 1 s,
    then `rest` s on the floor; the recording goes on `tail` s after the last (default: `rest`)."""
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
    if tail is not None:
        segs[-1] = np.zeros(int(tail * FS))
    z = np.concatenate(segs)
    n = len(z)
    pos = np.column_stack([0.02 * np.sin(np.pi * z / 0.6), np.zeros(n), z])
    roll = np.deg2rad(6) * np.sin(np.pi * z / 0.6)  # the bar rolls in the hands as it rises
    rot = Rotation.from_rotvec(np.outer(roll, [0, 1, 0])) * Rotation.from_euler("zyx", [30, 70, -120], degrees=True)
    f, w = _imu(pos, rot)
    t_s = np.arange(n) / FS
    return ImuStream(t_s, f, w), truth


