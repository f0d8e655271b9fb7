"""Physical constants and unit conversions. SI inside the pipeline; convert once at the edges."""

from __future__ import annotations

import numpy as np

G0_MPS2 = 9.80665
"""Standard gravity (m/s²); the unit of `*_g` columns."""

DEG_PER_RAD = 180.0 / np.pi


def g_to_mps2(acc_g):
    return np.asarray(acc_g, dtype=np.float64) * G0_MPS2


def dps_to_rps(gyro_dps):
    return np.deg2rad(np.asarray(gyro_dps, dtype=np.float64))
